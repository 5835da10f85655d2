/* Semantic cases of test_fdt: what dt_parse_machine makes of the dts/ machines and of QEMU trees
 * edited with libfdt's read-write API, down to every refusal reason and table limit. */
#define HTEST_PART
#include "tests/host/test_fdt.h"
#include "platform/uart.h"

static int parse_named(const char *name, struct machine_desc *m, const char **why)
{
	struct blob *b = find_blob(name);

	*why = NULL;
	return dt_parse_machine(b->data, b->size, m, why);
}

static bool range_is(const struct mem_range *r, u64 base, u64 size, bool nomap, const char *name)
{
	return r->base == base && r->size == size && r->nomap == nomap && !strcmp(r->name, name);
}

static void expect_semantic(const char *name, const char *want)
{
	struct machine_desc m;
	const char *why;
	int r = parse_named(name, &m, &why);

	if (r != -EINVAL || !why || strcmp(why, want)) printf("# %s: %d \"%s\"\n", name, r, why ? why : "");
	CHECK(r == -EINVAL && why && !strcmp(why, want));
}

void test_dts_semantics(void)
{
	struct machine_desc m;
	const char *why;

	CHECK_EQ(parse_named("two-banks", &m, &why), 0);
	CHECK(m.nmem == 2 && m.mem_merged == 0);
	CHECK(range_is(&m.mem[0], 0x80000000, 0x07000000, false, "memory@80000000"));
	CHECK(range_is(&m.mem[1], 0x88000000, 0x08000000, false, "memory@88000000"));
	CHECK_EQ(m.nresv, 3);
	CHECK(range_is(&m.resv[0], 0x80000000, 0x40000, true, "opensbi@80000000"));
	CHECK(range_is(&m.resv[1], 0x8f000000, 0x100000, false, "carveout@8f000000"));
	CHECK(range_is(&m.resv[2], 0x8fff0000, 0x10000, false, "memreserve"));
	CHECK(m.bootargs && !strcmp(m.bootargs, "console=ttyS0 vmk.test=two-banks"));
	CHECK(m.stdout_path && !strcmp(m.stdout_path, "/soc/serial@10000000:115200n8"));
	CHECK(m.has_uart && m.uart_base == 0x10000000 && m.uart_size == 0x100);
	CHECK(m.uart_clock == 3686400 && m.uart_reg_shift == 0 && m.uart_io_width == 1);
	CHECK(m.has_test && m.test_base == 0x100000 && m.poweroff_value == 0x5555);
	CHECK(m.nharts == 2 && m.harts[0].hartid == 0 && m.harts[1].hartid == 1);
	CHECK(dt_hart_usable(&m.harts[0]) && dt_hart_usable(&m.harts[1]) && m.timebase_hz == 10000000);
	CHECK(!m.has_initrd);
	CHECK(dt_mem_contains(&m, 0x80200000, 0x200000));
	CHECK(!dt_mem_contains(&m, 0x86f00000, 0x200000)); /* runs into the hole */
	CHECK(!dt_mem_contains(&m, 0x8ff00000, 0x200000)); /* runs off the end */

	CHECK_EQ(parse_named("overlap-banks", &m, &why), 0);
	CHECK(m.nmem == 1 && m.mem_merged == 4);
	CHECK(range_is(&m.mem[0], 0x80000000, 0x10000000, false, "memory@80000000"));

	CHECK_EQ(parse_named("bad-tiny-memory", &m, &why), 0);
	CHECK(m.nmem == 1 && m.mem[0].size == 0x100000);
	CHECK(!dt_mem_contains(&m, 0x80200000, PAGE_SIZE)); /* where the kernel is loaded */

	CHECK_EQ(parse_named("no-stdout-path", &m, &why), 0);
	CHECK(!m.stdout_path && m.has_uart && m.uart_base == 0x10000000);
	CHECK_EQ(parse_named("no-uart", &m, &why), 0);
	CHECK(!m.stdout_path && !m.has_uart && m.has_test);

	expect_semantic("bad-no-memory", "no memory node");
	expect_semantic("bad-no-timebase", "missing timebase-frequency");
	expect_semantic("bad-no-sv39", "no hart supports Sv39");
}

/* ---- edited copies of a QEMU tree (libfdt's read-write API) for the semantic cases ---- */

static u8 *ed;
#define ED_CAP (1 << 17)

static void ed_open(void)
{
	free(ed);
	ed = malloc(ED_CAP);
	CHECK_EQ(fdt_open_into(find_blob("qemu-smp2-128M")->data, ed, ED_CAP), 0);
}
void ed_close(void)
{
	free(ed);
	ed = NULL;
}
static int ed_node(const char *path) { return lib_path_offset(ed, path); }
static void ed_raw(const char *path, const char *prop, const void *v, int len)
{
	CHECK_EQ(fdt_setprop(ed, ed_node(path), prop, v, len), 0);
}
static void ed_u32(const char *path, const char *prop, u32 v)
{
	CHECK_EQ(fdt_setprop_u32(ed, ed_node(path), prop, v), 0);
}
static void ed_u64(const char *path, const char *prop, u64 v)
{
	CHECK_EQ(fdt_setprop_u64(ed, ed_node(path), prop, v), 0);
}
static void ed_str(const char *path, const char *prop, const char *s)
{
	CHECK_EQ(fdt_setprop_string(ed, ed_node(path), prop, s), 0);
}
static void ed_reg(const char *path, u64 base, u64 size)
{
	u8 reg[16];

	wr32(reg, (u32)(base >> 32));
	wr32(reg + 4, (u32)base);
	wr32(reg + 8, (u32)(size >> 32));
	wr32(reg + 12, (u32)size);
	ed_raw(path, "reg", reg, 16);
}
/* Room to edit again after ed_parse packed the tree. */
static void ed_grow(void) { CHECK_EQ(fdt_open_into(ed, ed, ED_CAP), 0); }
static void ed_delnode(const char *path) { CHECK_EQ(fdt_del_node(ed, ed_node(path)), 0); }
static void ed_add(const char *parent, const char *name)
{
	CHECK(fdt_add_subnode(ed, ed_node(parent), name) >= 0);
}

static int ed_parse(struct machine_desc *m)
{
	const char *why = NULL;
	int r;

	fdt_pack(ed);
	r = dt_parse_machine(ed, fdt_totalsize(ed), m, &why);
	if (r) printf("# edited tree refused: %s\n", why);
	return r;
}

static void ed_expect(const char *want)
{
	struct machine_desc m;
	const char *why = NULL;
	int r;

	fdt_pack(ed);
	r = dt_parse_machine(ed, fdt_totalsize(ed), &m, &why);
	if (r != -EINVAL || !why || strcmp(why, want))
		printf("# want \"%s\", got %d \"%s\"\n", want, r, why ? why : "");
	CHECK(r == -EINVAL && why && !strcmp(why, want));
}

void test_console_and_devices(void)
{
	struct machine_desc m;

	ed_open();
	ed_add("/", "aliases");
	ed_str("/aliases", "serial0", "/soc/serial@10000000");
	ed_str("/aliases", "broken", "soc");
	ed_str("/chosen", "stdout-path", "serial0:115200n8");
	CHECK(ed_parse(&m) == 0 && m.has_uart && m.uart_base == 0x10000000);
	CHECK(!strcmp(m.stdout_path, "serial0:115200n8"));
	CHECK_EQ(fdt_path_offset(ed, "serial0"), lib_path_offset(ed, "serial0"));
	CHECK_EQ(fdt_path_offset(ed, "serial0/"), lib_path_offset(ed, "/soc/serial@10000000"));
	CHECK_EQ(fdt_path_offset(ed, "broken"), -EINVAL);
	CHECK_EQ(fdt_path_offset(ed, "nothere"), -ENOENT);

	ed_open(); /* stdout-path at something that is not a UART: fall back to the first one */
	ed_str("/chosen", "stdout-path", "/soc/rtc@101000");
	CHECK(ed_parse(&m) == 0 && m.has_uart && m.uart_base == 0x10000000);
	ed_open();
	ed_str("/soc/serial@10000000", "status", "disabled");
	CHECK(ed_parse(&m) == 0 && !m.has_uart && m.has_test);
	ed_open(); /* a translating bus: its devices' reg are not CPU addresses, so none is used */
	ed_raw("/soc", "ranges", "\0\0\0\0\0\0\0\0" "\0\0\0\1\0\0\0\0" "\0\0\0\0\x10\0\0\0", 24);
	CHECK(ed_parse(&m) == 0 && !m.has_uart && !m.has_test);
	ed_open();
	ed_u32("/soc/serial@10000000", "reg-io-width", 4);
	ed_u32("/soc/serial@10000000", "reg-shift", 2);
	ed_u32("/poweroff", "value", 0x1234);
	CHECK(ed_parse(&m) == 0 && m.uart_io_width == 4 && m.uart_reg_shift == 2 && m.poweroff_value == 0x1234);
	ed_open();
	ed_u32("/soc/serial@10000000", "reg-io-width", 3);
	ed_expect("bad uart reg-io-width");
	ed_open();
	ed_raw("/soc/serial@10000000", "reg", "\0\0\0\0\x10\0\0\0", 8);
	ed_expect("malformed uart reg");
}

void test_memory_semantics(void)
{
	struct machine_desc m;

	ed_open();
	ed_raw("/memory@80000000", "reg", "\0\0\0\0\x80\0\0\0\0\0\0\0", 12);
	ed_expect("malformed memory reg");
	ed_open();
	ed_reg("/memory@80000000", 0xffffffffffff0000ULL, 0x100000);
	ed_expect("memory range wraps around");
	ed_open();
	ed_reg("/memory@80000000", 0x80000000, 0);
	ed_expect("no usable memory");
	ed_open();
	ed_str("/memory@80000000", "status", "disabled");
	ed_expect("no usable memory");
	ed_open();
	ed_raw("/memory@80000000", "numa-node-id", "\0\0\0\0\0\0\0\1", 8);
	ed_expect("malformed numa-node-id");
	ed_open();
	ed_u32("/", "#address-cells", 3);
	ed_expect("unsupported root #address-cells/#size-cells");

	ed_open(); /* reserved-memory covering all of RAM */
	ed_add("/", "reserved-memory");
	ed_u32("/reserved-memory", "#address-cells", 2);
	ed_u32("/reserved-memory", "#size-cells", 2);
	ed_add("/reserved-memory", "all@80000000");
	ed_reg("/reserved-memory/all@80000000", 0x80000000, 0x8000000);
	ed_expect("no usable memory");
	ed_open(); /* reserved-memory with its own, smaller, size cells; one child disabled */
	ed_add("/", "reserved-memory");
	ed_u32("/reserved-memory", "#address-cells", 2);
	ed_u32("/reserved-memory", "#size-cells", 1);
	ed_add("/reserved-memory", "fw@80000000");
	ed_raw("/reserved-memory/fw@80000000", "reg", "\0\0\0\0\x80\0\0\0\0\0\x10\0", 12);
	ed_raw("/reserved-memory/fw@80000000", "no-map", "", 0);
	ed_add("/reserved-memory", "off@81000000");
	ed_raw("/reserved-memory/off@81000000", "reg", "\0\0\0\0\x81\0\0\0\0\0\x10\0", 12);
	ed_str("/reserved-memory/off@81000000", "status", "disabled");
	CHECK(ed_parse(&m) == 0 && m.nresv == 1 && range_is(&m.resv[0], 0x80000000, 0x1000, true, "fw@80000000"));
}

void test_cpu_semantics(void)
{
	struct machine_desc m;

	ed_open();
	ed_delnode("/cpus/cpu@0");
	ed_delnode("/cpus/cpu@1");
	ed_expect("no cpus");
	ed_open();
	ed_delnode("/cpus");
	ed_expect("no cpus");
	ed_open();
	CHECK_EQ(fdt_delprop(ed, ed_node("/cpus/cpu@1"), "reg"), 0);
	ed_expect("malformed cpu reg");
	ed_open();
	ed_u32("/cpus", "timebase-frequency", 0);
	ed_expect("missing timebase-frequency");
	ed_open(); /* only on a cpu node, and 64-bit */
	CHECK_EQ(fdt_delprop(ed, ed_node("/cpus"), "timebase-frequency"), 0);
	ed_u64("/cpus/cpu@1", "timebase-frequency", 12345678901ULL);
	CHECK(ed_parse(&m) == 0 && m.timebase_hz == 12345678901ULL);
	ed_open();
	ed_str("/cpus/cpu@0", "status", "disabled");
	ed_str("/cpus/cpu@1", "status", "fail");
	ed_expect("no enabled cpu");
	ed_open();
	ed_str("/cpus/cpu@0", "status", "disabled");
	ed_str("/cpus/cpu@1", "mmu-type", "riscv,sv32");
	ed_expect("no hart supports Sv39");
	ed_open();
	ed_str("/cpus/cpu@0", "mmu-type", "riscv,sv39");
	ed_str("/cpus/cpu@1", "mmu-type", "riscv,sv32");
	ed_u32("/cpus/cpu@1", "numa-node-id", 3);
	CHECK(ed_parse(&m) == 0 && dt_hart_usable(&m.harts[0]) && !dt_hart_usable(&m.harts[1]) && m.harts[1].enabled);
	CHECK(m.harts[0].node == 0 && m.harts[1].node == 3);
	ed_open();
	ed_raw("/cpus/cpu@0", "mmu-type", "riscv,sv39", 10);
	ed_expect("malformed string property");
}

void test_chosen_semantics(void)
{
	struct machine_desc m;

	ed_open();
	ed_u64("/chosen", "linux,initrd-start", 0x88000000);
	ed_u64("/chosen", "linux,initrd-end", 0x88001000);
	ed_str("/chosen", "bootargs", "");
	CHECK(ed_parse(&m) == 0 && m.has_initrd && m.initrd_start == 0x88000000 && m.initrd_end == 0x88001000);
	CHECK(m.bootargs && !*m.bootargs);
	ed_open();
	ed_u32("/chosen", "linux,initrd-start", 0x88001000);
	ed_u32("/chosen", "linux,initrd-end", 0x88000000);
	ed_expect("initrd ends before it starts");
	ed_open();
	ed_u32("/chosen", "linux,initrd-start", 0x88001000);
	ed_expect("incomplete initrd range");
	ed_open();
	ed_raw("/chosen", "linux,initrd-start", "\x88\0", 2);
	ed_u32("/chosen", "linux,initrd-end", 0x88000000);
	ed_expect("malformed initrd-start");
	ed_open();
	ed_raw("/chosen", "bootargs", "abc", 3);
	ed_expect("malformed string property");
}

void test_limits(void)
{
	struct machine_desc m;
	char path[64];
	int i;

	ed_open(); /* 20 disjoint banks: more than the table holds, refused by name rather than dropped */
	for (i = 0; i < 20; i++) {
		u64 base = 0x100000000ULL + 0x200000ULL * (u64)i;
		snprintf(path, sizeof(path), "memory@%llx", (unsigned long long)base);
		ed_add("/", path);
		snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)base);
		ed_str(path, "device_type", "memory");
		ed_reg(path, base, 0x100000);
	}
	ed_expect("more than 16 memory banks (DT_MAX_MEM)");
	ed_open(); /* 20 copies of the one bank merge as they come and never fill it */
	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "memory@%d", i);
		ed_add("/", path);
		snprintf(path, sizeof(path), "/memory@%d", i);
		ed_str(path, "device_type", "memory");
		ed_reg(path, 0x80000000, 0x8000000);
	}
	CHECK(ed_parse(&m) == 0 && m.nmem == 1 && m.mem_merged == 20);
	ed_open(); /* 64 harts listed in descending order: every one is kept, so hart 1 is not lost */
	for (i = 2; i < 64; i++) {
		snprintf(path, sizeof(path), "cpu@%d", i);
		ed_add("/cpus", path);
		snprintf(path, sizeof(path), "/cpus/cpu@%d", i);
		ed_str(path, "device_type", "cpu");
		ed_str(path, "mmu-type", "riscv,sv39");
		ed_u32(path, "reg", (u32)i);
	}
	CHECK(ed_parse(&m) == 0 && m.nharts == 64 && m.harts[0].hartid == 63);
	CHECK_EQ(m.harts[63].hartid, 1);
	ed_grow();
	for (i = 64; i < DT_MAX_HARTS + 1; i++) { /* one past the table: refused, naming the limit */
		snprintf(path, sizeof(path), "cpu@%d", i);
		ed_add("/cpus", path);
		snprintf(path, sizeof(path), "/cpus/cpu@%d", i);
		ed_str(path, "device_type", "cpu");
		ed_u32(path, "reg", (u32)i);
	}
	ed_expect("more than 256 cpu nodes (DT_MAX_HARTS)");
	ed_open();
	ed_add("/", "reserved-memory");
	ed_u32("/reserved-memory", "#address-cells", 2);
	ed_u32("/reserved-memory", "#size-cells", 2);
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "r@%d", i);
		ed_add("/reserved-memory", path);
		snprintf(path, sizeof(path), "/reserved-memory/r@%d", i);
		ed_reg(path, 0x80000000 + 0x1000ULL * (u64)i, 0x1000);
	}
	ed_expect("more than 32 reserved memory ranges (DT_MAX_RESV)");
}

/* Banks not on page boundaries are rounded inward (and say by how much); one with no whole page goes. */
void test_bank_trimming(void)
{
	struct machine_desc m;

	ed_open();
	ed_reg("/memory@80000000", 0x80000010, 0x8000000);
	CHECK(ed_parse(&m) == 0 && m.nmem == 1);
	CHECK(m.mem[0].base == 0x80001000 && m.mem[0].size == 0x7fff000 && m.mem[0].trimmed == 0x1000);
	CHECK(!strcmp(m.mem[0].name, "memory@80000000"));
	ed_grow();
	ed_add("/", "memory@90000000");
	ed_str("/memory@90000000", "device_type", "memory");
	ed_reg("/memory@90000000", 0x90000800, 0x400);
	CHECK(ed_parse(&m) == 0 && m.nmem == 1 && m.mem[0].base == 0x80001000);
	ed_open();
	CHECK(ed_parse(&m) == 0 && m.nmem == 1 && m.mem[0].trimmed == 0);
}

/* An initrd of zero bytes is named (the kernel refuses it); the sifive,uart0 is a console like ns16550a. */
void test_empty_initrd_and_sifive_uart(void)
{
	struct machine_desc m;

	ed_open();
	ed_u64("/chosen", "linux,initrd-start", 0x88000000);
	ed_u64("/chosen", "linux,initrd-end", 0x88000000);
	CHECK(ed_parse(&m) == 0 && !m.has_initrd && m.initrd_empty);
	ed_open();
	CHECK(ed_parse(&m) == 0 && !m.has_initrd && !m.initrd_empty && m.uart_kind == UART_NS16550);
	ed_open();
	ed_raw("/soc/serial@10000000", "compatible", "sifive,fu540-c000-uart\0sifive,uart0", 36);
	CHECK(ed_parse(&m) == 0 && m.has_uart && m.uart_kind == UART_SIFIVE && m.uart_base == 0x10000000);
}

/* The other machines QEMU emulates, as QEMU describes them: the kernel must find their console, harts
 * and power-off device (sifive_u: hart 0 an E51 without an MMU, a sifive,uart0 at stdout-path, no test
 * device; spike: no UART, an HTIF, Sstc listed). */
void test_other_machines(void)
{
	struct machine_desc m;
	const char *why = NULL;
	const struct blob *b = find_blob("sifive-u");

	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.has_uart && m.uart_kind == UART_SIFIVE && m.uart_base == 0x10010000);
	CHECK(!m.has_test && !m.has_htif && m.nharts == 3 && m.timebase_hz == 1000000);
	CHECK(m.nharts == 3 && m.harts[0].hartid == 0 && !dt_hart_usable(&m.harts[0]) && dt_hart_usable(&m.harts[1]));
	CHECK(m.nmem == 1 && m.mem[0].base == 0x80000000 && m.mem[0].size == 512ULL << 20);
	b = find_blob("spike");
	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(!m.has_uart && !m.has_test && m.has_htif && m.htif_base == 0x1000000);
	CHECK(m.nharts == 2 && strstr(m.harts[0].isa, "sstc") != NULL);
	b = find_blob("qemu-numa");
	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.nmem == 2 && m.mem[0].node == 0 && m.mem[1].node == 1 && dt_max_node(&m) == 1);
	CHECK(m.nharts == 4 && m.harts[3].node == 1);
}

/* S-mode IPI devices: each hart's register is found through the device's interrupts-extended order (cpu
 * intc phandles), the S-level IMSIC is told from the M-level one by the IRQ it is wired to, and a socket's
 * files sit in that socket's region. A plain virt has none. */
void test_smode_ipi_devices(void)
{
	struct machine_desc m;
	const char *why = NULL;
	const struct blob *b = find_blob("qemu-aclint");

	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.sipi_kind == DT_SIPI_SSWI && m.nharts == 4);
	for (int i = 0; i < m.nharts; i++) CHECK(m.harts[i].sipi_pa == 0x2f00000 + 4 * (u64)m.harts[i].hartid);
	b = find_blob("qemu-aia");
	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.sipi_kind == DT_SIPI_IMSIC && m.sipi_ipi_id == 1 && m.sipi_num_ids == 255 && m.nharts == 4);
	for (int i = 0; i < m.nharts; i++) CHECK(m.harts[i].sipi_pa == 0x28000000 + 0x1000 * (u64)m.harts[i].hartid);
	b = find_blob("qemu-aia-numa");
	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.sipi_kind == DT_SIPI_IMSIC && m.nharts == 4);
	u64 second = 0;
	for (int i = 0; i < m.nharts; i++) {
		CHECK(m.harts[i].sipi_pa != 0);
		if (m.harts[i].hartid == 2) second = m.harts[i].sipi_pa;
	}
	CHECK(second >= 0x28000000 + 0x2000); /* hart 2 is socket 1's first file, in socket 1's region */
	b = find_blob("qemu-smp4-2G");
	CHECK(b && dt_parse_machine(b->data, b->size, &m, &why) == 0);
	CHECK(m.sipi_kind == DT_SIPI_NONE);
	for (int i = 0; i < m.nharts; i++) CHECK(m.harts[i].sipi_pa == 0);
}
