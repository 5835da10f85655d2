/* Builds struct machine_desc from a validated device tree: memory banks (merged), reservations,
 * harts, /chosen, and the UART and test device the kernel drives. Malformed values of the
 * properties it reads are semantic errors, each with its own reason. An S-mode IPI device is optional:
 * one the parser cannot follow is ignored (the kernel then sends IPIs through the SBI), never an error. */
#include "platform/poweroff.h"
#include "lib/sort.h"
#include "platform/devtree.h"
#include "platform/fdt.h"
#include "lib/string.h"
#include "platform/uart.h"

struct dt_ctx {
	const void *blob;
	struct machine_desc *m;
	const char *why; /* first semantic error; parsing carries on but the result is discarded */
	int mem_added;
};

static void bad(struct dt_ctx *c, const char *why)
{
	if (!c->why) c->why = why;
}

static void copy_name(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A single NUL-terminated string, or NULL when absent or (with an error noted) malformed. */
static const char *prop_str(struct dt_ctx *c, int node, const char *name)
{
	int len;
	const char *s = fdt_getprop(c->blob, node, name, &len);

	if (!s) return NULL;
	if (len < 1 || strnlen(s, (size_t)len) != (size_t)len - 1) {
		bad(c, "malformed string property");
		return NULL;
	}
	return s;
}

static bool prop_is(struct dt_ctx *c, int node, const char *name, const char *want)
{
	const char *s = prop_str(c, node, name);

	return s && !strcmp(s, want);
}

/* A one-cell number, or a two-cell one where max_len is 8; false when absent or malformed. */
static bool prop_num(struct dt_ctx *c, int node, const char *name, int max_len, u64 *val,
		     const char *malformed)
{
	int len;
	const void *p = fdt_getprop(c->blob, node, name, &len);

	if (!p) return false;
	if (len == 4) {
		*val = fdt_be32(p);
	} else if (len == 8 && max_len == 8) {
		*val = fdt_be64(p);
	} else {
		bad(c, malformed);
		return false;
	}
	return true;
}

static u32 prop_u32(struct dt_ctx *c, int node, const char *name, u32 dflt, const char *malformed)
{
	u64 v = dflt;

	prop_num(c, node, name, 4, &v, malformed);
	return (u32)v;
}

static bool node_enabled(struct dt_ctx *c, int node)
{
	const char *s = prop_str(c, node, "status");

	return !s || !strcmp(s, "okay") || !strcmp(s, "ok");
}

static int numa_node(struct dt_ctx *c, int node)
{
	u32 id = prop_u32(c, node, "numa-node-id", 0, "malformed numa-node-id");

	if (id > 0x7fffffffU) {
		bad(c, "numa-node-id out of range");
		return 0;
	}
	return (int)id;
}

static u64 range_end(const struct mem_range *r) { return r->base + r->size; }

/* By base, then by size. */
static bool range_less(const void *a, const void *b)
{
	const struct mem_range *x = a, *y = b;
	return x->base < y->base || (x->base == y->base && x->size < y->size);
}

static void sort_ranges(struct mem_range *r, int n) { sort(r, (size_t)n, sizeof(*r), range_less); }

/* Sorts the banks and folds each into its predecessor when they overlap or touch on one node. */
static void merge_banks(struct dt_ctx *c)
{
	struct machine_desc *m = c->m;
	struct mem_range *prev;
	int i, out = 0;

	sort_ranges(m->mem, m->nmem);
	for (i = 0; i < m->nmem; i++) {
		prev = out ? &m->mem[out - 1] : NULL;
		if (prev && m->mem[i].base <= range_end(prev) && m->mem[i].node == prev->node) {
			if (range_end(&m->mem[i]) > range_end(prev))
				prev->size = range_end(&m->mem[i]) - prev->base;
			continue;
		}
		if (prev && m->mem[i].base < range_end(prev))
			bad(c, "memory banks of different NUMA nodes overlap");
		m->mem[out++] = m->mem[i];
	}
	m->nmem = out;
	m->mem_merged = c->mem_added - out;
}

/* Rounds each bank inward to whole pages (the direct map and the page allocator work in pages); a bank
 * with no whole page left is dropped. Runs after merging, so two halves of a page still make one. */
static void trim_banks(struct dt_ctx *c)
{
	struct machine_desc *m = c->m;
	int i, out = 0;

	for (i = 0; i < m->nmem; i++) {
		struct mem_range *b = &m->mem[i];
		u64 start = (b->base + DT_PAGE_SIZE - 1) & ~(u64)(DT_PAGE_SIZE - 1);
		u64 end = range_end(b) & ~(u64)(DT_PAGE_SIZE - 1);

		if (start < b->base || end <= start) continue; /* wraps at the top, or no whole page */
		b->trimmed = b->size - (end - start);
		b->base = start;
		b->size = end - start;
		m->mem[out++] = *b;
	}
	m->nmem = out;
}

static bool range_ok(struct dt_ctx *c, u64 base, u64 size, const char *wraps)
{
	if (size > ~0ULL - base) {
		bad(c, wraps);
		return false;
	}
	return size != 0; /* empty ranges are dropped */
}

static void add_bank(struct dt_ctx *c, u64 base, u64 size, int node, const char *name)
{
	struct machine_desc *m = c->m;
	struct mem_range *r;

	if (!range_ok(c, base, size, "memory range wraps around")) return;
	if (m->nmem == DT_MAX_MEM) merge_banks(c); /* duplicates should not cost slots */
	if (m->nmem == DT_MAX_MEM) {
		bad(c, "more than 16 memory banks (DT_MAX_MEM)");
		return;
	}
	r = &m->mem[m->nmem++];
	c->mem_added++;
	r->base = base;
	r->size = size;
	r->node = node;
	r->nomap = false;
	copy_name(r->name, name, sizeof(r->name));
}

static void add_resv(struct dt_ctx *c, u64 base, u64 size, bool nomap, const char *name)
{
	struct machine_desc *m = c->m;
	struct mem_range *r;

	if (!range_ok(c, base, size, "reserved range wraps around")) return;
	if (m->nresv == DT_MAX_RESV) {
		bad(c, "more than 32 reserved memory ranges (DT_MAX_RESV)");
		return;
	}
	r = &m->resv[m->nresv++];
	r->base = base;
	r->size = size;
	r->node = 0;
	r->nomap = nomap;
	copy_name(r->name, name, sizeof(r->name));
}

/* Every reg entry of node under the given cells, handed to add_bank or add_resv. */
static void read_ranges(struct dt_ctx *c, int node, int ac, int sc, bool is_mem, bool nomap,
			const char *malformed)
{
	const char *name = fdt_node_name(c->blob, node, NULL);
	u64 base, size;
	int idx, err;

	for (idx = 0; (err = fdt_read_reg(c->blob, node, ac, sc, idx, &base, &size)) == 0; idx++) {
		if (is_mem)
			add_bank(c, base, size, numa_node(c, node), name);
		else
			add_resv(c, base, size, nomap, name);
	}
	if (err == -EINVAL) bad(c, malformed);
}

static void parse_memory(struct dt_ctx *c, int root)
{
	int ac = fdt_address_cells(c->blob, root), sc = fdt_size_cells(c->blob, root), node;
	bool found = false;

	if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
		bad(c, "unsupported root #address-cells/#size-cells");
		return;
	}
	for (node = fdt_first_child(c->blob, root); node >= 0; node = fdt_next_sibling(c->blob, node)) {
		if (!prop_is(c, node, "device_type", "memory")) continue;
		found = true;
		if (node_enabled(c, node)) read_ranges(c, node, ac, sc, true, false, "malformed memory reg");
	}
	if (!found) bad(c, "no memory node");
	merge_banks(c);
	trim_banks(c);
}

static void parse_reserved(struct dt_ctx *c)
{
	int n = fdt_num_mem_rsv(c->blob), i, rm, ac, sc, node;
	u64 base, size;

	for (i = 0; i < n; i++)
		if (fdt_get_mem_rsv(c->blob, i, &base, &size) == 0) add_resv(c, base, size, false, "memreserve");

	rm = fdt_path_offset(c->blob, "/reserved-memory");
	if (rm >= 0) {
		ac = fdt_address_cells(c->blob, rm);
		sc = fdt_size_cells(c->blob, rm);
		if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
			bad(c, "unsupported /reserved-memory #address-cells/#size-cells");
		} else {
			/* Children without reg ask to be allocated dynamically; nothing to honour. */
			for (node = fdt_first_child(c->blob, rm); node >= 0;
			     node = fdt_next_sibling(c->blob, node)) {
				if (!node_enabled(c, node)) continue;
				read_ranges(c, node, ac, sc, false,
					    fdt_getprop(c->blob, node, "no-map", NULL) != NULL,
					    "malformed reserved-memory reg");
			}
		}
	}
	sort_ranges(c->m->resv, c->m->nresv);
}

static bool mmu_has_sv39(const char *mmu)
{
	return mmu && (!strcmp(mmu, "riscv,sv39") || !strcmp(mmu, "riscv,sv48") ||
		       !strcmp(mmu, "riscv,sv57"));
}

static void parse_cpus(struct dt_ctx *c)
{
	struct machine_desc *m = c->m;
	struct hart_desc *h;
	int cpus = fdt_path_offset(c->blob, "/cpus"), ac, sc, node, i;
	const char *isa;
	bool any_enabled = false, any_sv39 = false;
	u64 id, size;

	if (cpus < 0) {
		bad(c, "no cpus");
		return;
	}
	ac = fdt_address_cells(c->blob, cpus);
	sc = fdt_size_cells(c->blob, cpus);
	if (!prop_num(c, cpus, "timebase-frequency", 8, &m->timebase_hz, "malformed timebase-frequency"))
		m->timebase_hz = 0;
	for (node = fdt_first_child(c->blob, cpus); node >= 0; node = fdt_next_sibling(c->blob, node)) {
		if (!prop_is(c, node, "device_type", "cpu")) continue;
		if (fdt_read_reg(c->blob, node, ac, sc, 0, &id, &size) < 0) {
			bad(c, "malformed cpu reg");
			continue;
		}
		if (id > 0xffffffffULL) bad(c, "hartid out of range");
		if (!m->timebase_hz)
			prop_num(c, node, "timebase-frequency", 8, &m->timebase_hz,
				 "malformed timebase-frequency");
		if (m->nharts == DT_MAX_HARTS) {
			bad(c, "more than 256 cpu nodes (DT_MAX_HARTS)");
			continue;
		}
		h = &m->harts[m->nharts++];
		h->hartid = (u32)id;
		h->node = numa_node(c, node);
		h->enabled = node_enabled(c, node);
		h->sv39 = mmu_has_sv39(prop_str(c, node, "mmu-type"));
		isa = prop_str(c, node, "riscv,isa");
		copy_name(h->isa, isa ? isa : "", sizeof(h->isa));
	}
	for (i = 0; i < m->nharts; i++) {
		any_enabled |= m->harts[i].enabled;
		any_sv39 |= dt_hart_usable(&m->harts[i]);
	}
	if (!m->nharts)
		bad(c, "no cpus");
	else if (!any_enabled)
		bad(c, "no enabled cpu");
	else if (!any_sv39)
		bad(c, "no hart supports Sv39");
	if (!m->timebase_hz) bad(c, "missing timebase-frequency");
	/* The tick is timebase / 100 counts: a slower timebase would arm the timer for now, again and again. */
	else if (m->timebase_hz < DT_MIN_TIMEBASE_HZ) bad(c, "timebase-frequency below 100 Hz (DT_MIN_TIMEBASE_HZ)");
}

static void parse_chosen(struct dt_ctx *c)
{
	struct machine_desc *m = c->m;
	int ch = fdt_path_offset(c->blob, "/chosen");
	bool has_start, has_end;

	if (ch < 0) return;
	m->bootargs = prop_str(c, ch, "bootargs");
	m->stdout_path = prop_str(c, ch, "stdout-path");
	if (!m->stdout_path) m->stdout_path = prop_str(c, ch, "linux,stdout-path");
	has_start = prop_num(c, ch, "linux,initrd-start", 8, &m->initrd_start, "malformed initrd-start");
	has_end = prop_num(c, ch, "linux,initrd-end", 8, &m->initrd_end, "malformed initrd-end");
	if (has_start != has_end)
		bad(c, "incomplete initrd range");
	else if (has_start && m->initrd_end < m->initrd_start)
		bad(c, "initrd ends before it starts");
	m->has_initrd = has_start && has_end && m->initrd_end > m->initrd_start;
	m->initrd_empty = has_start && has_end && m->initrd_end == m->initrd_start;
}

/* Whether node's registers are CPU physical addresses: every bus above it maps 1:1. */
static bool identity_mapped(struct dt_ctx *c, int node)
{
	int parent = fdt_parent(c->blob, node), len;

	while (parent >= 0 && fdt_parent(c->blob, parent) >= 0) {
		if (!fdt_getprop(c->blob, parent, "ranges", &len) || len != 0) return false;
		parent = fdt_parent(c->blob, parent);
	}
	return parent >= 0;
}

static bool usable_device(struct dt_ctx *c, int node, const char *const *compat, int ncompat)
{
	bool match = false;
	int i;

	for (i = 0; i < ncompat && !match; i++)
		match = fdt_node_check_compatible(c->blob, node, compat[i]) == 0;
	return match && node_enabled(c, node) && identity_mapped(c, node);
}

/* The first usable node, in tree order, compatible with any of compat. One pass: whether the buses above
 * a node all map 1:1 is carried down the walk rather than asked of identity_mapped, whose fdt_parent
 * rescans the tree from the root: a hostile tree with 32,000 compatible nodes under a translating bus
 * took 141 s to boot (8,000: 7 s). */
static int find_device(struct dt_ctx *c, const char *const *compat, int ncompat)
{
	/* below_1to1[d]: a node at depth d (the root is 1) has only 1:1 buses between it and the root. */
	bool below_1to1[FDT_MAX_DEPTH + 2] = {false, false, true};
	int node, depth = 0, len;

	for (node = fdt_next_node(c->blob, -1, &depth); node >= 0; node = fdt_next_node(c->blob, node, &depth)) {
		if (depth < 1 || depth > FDT_MAX_DEPTH) return -EINVAL; /* fdt_check refused such trees */
		if (depth > 1) {
			const void *ranges = fdt_getprop(c->blob, node, "ranges", &len);
			below_1to1[depth + 1] = below_1to1[depth] && ranges && len == 0;
		}
		bool match = false;
		for (int i = 0; i < ncompat && !match; i++)
			match = fdt_node_check_compatible(c->blob, node, compat[i]) == 0;
		if (match && below_1to1[depth] && node_enabled(c, node)) return node;
	}
	return -ENOENT;
}

static bool device_reg(struct dt_ctx *c, int node, u64 *base, u64 *size, const char *malformed)
{
	int ac, sc;

	if (fdt_reg_cells(c->blob, node, &ac, &sc) < 0 ||
	    fdt_read_reg(c->blob, node, ac, sc, 0, base, size) < 0) {
		bad(c, malformed);
		return false;
	}
	return true;
}

static void parse_uart(struct dt_ctx *c)
{
	static const char *const uart_compat[] = { "ns16550a", "ns16550", "sifive,uart0" };
	struct machine_desc *m = c->m;
	size_t len = 0;
	int node = -ENOENT;
	u64 clock = 0;

	if (m->stdout_path) {
		while (m->stdout_path[len] && m->stdout_path[len] != ':') len++;
		node = fdt_path_offset_len(c->blob, m->stdout_path, len);
	}
	if (node < 0 || !usable_device(c, node, uart_compat, 3)) node = find_device(c, uart_compat, 3);
	if (node < 0) return; /* the kernel falls back to the SBI console */
	m->uart_kind = fdt_node_check_compatible(c->blob, node, "sifive,uart0") == 0 ? UART_SIFIVE : UART_NS16550;
	if (!device_reg(c, node, &m->uart_base, &m->uart_size, "malformed uart reg")) return;
	prop_num(c, node, "clock-frequency", 8, &clock, "malformed uart clock-frequency");
	if (clock > 0xffffffffULL) bad(c, "uart clock-frequency out of range");
	m->uart_clock = (u32)clock;
	m->uart_reg_shift = prop_u32(c, node, "reg-shift", 0, "malformed uart reg-shift");
	m->uart_io_width = prop_u32(c, node, "reg-io-width", 1, "malformed uart reg-io-width");
	if (m->uart_reg_shift > 4) bad(c, "bad uart reg-shift");
	if (m->uart_io_width != 1 && m->uart_io_width != 2 && m->uart_io_width != 4)
		bad(c, "bad uart reg-io-width");
	m->has_uart = true;
}

/* IRQ numbers of the harts' local interrupt controllers that an S-mode IPI device raises. */
#define DT_IRQ_S_SOFT 1
#define DT_IRQ_S_EXT 9

/* The hartid of the cpu whose local interrupt controller has `phandle`; false when it is not one. */
static bool intc_hartid(struct dt_ctx *c, u32 phandle, u32 *hartid)
{
	int intc = fdt_node_by_phandle(c->blob, phandle), cpu, cpus, ac, sc;
	u64 id, size;

	if (intc < 0 || (cpu = fdt_parent(c->blob, intc)) < 0 || (cpus = fdt_parent(c->blob, cpu)) < 0) return false;
	ac = fdt_address_cells(c->blob, cpus);
	sc = fdt_size_cells(c->blob, cpus);
	if (fdt_read_reg(c->blob, cpu, ac, sc, 0, &id, &size) < 0 || id > 0xffffffffULL) return false;
	*hartid = (u32)id;
	return true;
}

/* The k-th hart-sized register of node: entries are `stride` bytes apiece, laid out across the node's reg
 * regions in order (QEMU gives each socket its own region). 0 when the regions hold fewer. */
static u64 nth_register(struct dt_ctx *c, int node, u64 k, u64 stride)
{
	int ac, sc;
	u64 base, size;

	if (fdt_reg_cells(c->blob, node, &ac, &sc) < 0) return 0;
	for (int r = 0; fdt_read_reg(c->blob, node, ac, sc, r, &base, &size) == 0; r++) {
		u64 n = size / stride;
		if (k < n) return base + k * stride;
		k -= n;
	}
	return 0;
}

/*
 * Gives each hart its register in node: the node's interrupts-extended lists <intc-phandle irq> pairs,
 * one per hart file in register order, and only entries wired to `irq` are S-mode ones. True when the
 * node reaches every usable hart, each at a register below 2 GiB (the device window the kernel maps).
 */
static bool assign_sipi(struct dt_ctx *c, int node, u32 irq, u64 stride)
{
	struct machine_desc *m = c->m;
	int len, i, j;
	const u8 *ie = fdt_getprop(c->blob, node, "interrupts-extended", &len);

	if (!ie || len <= 0 || len % 8) return false; /* cpu intcs have #interrupt-cells = <1> */
	for (i = 0; i < m->nharts; i++) m->harts[i].sipi_pa = 0;
	for (u64 k = 0; k < (u64)len / 8; k++) {
		u32 id, wired = fdt_be32(ie + 8 * k + 4);
		u64 pa = nth_register(c, node, k, stride);
		if (wired != irq || !pa || pa >= (1ULL << 31) || !intc_hartid(c, fdt_be32(ie + 8 * k), &id)) continue;
		for (j = 0; j < m->nharts; j++)
			if (m->harts[j].hartid == id) m->harts[j].sipi_pa = pa;
	}
	for (i = 0; i < m->nharts; i++)
		if (dt_hart_usable(&m->harts[i]) && !m->harts[i].sipi_pa) return false;
	return true;
}

/* An ACLINT SSWI, else an S-level IMSIC (the M-level one is wired to IRQ_M_EXT and is firmware's). */
static void parse_sipi(struct dt_ctx *c)
{
	static const char *const sswi_compat[] = { "riscv,aclint-sswi" };
	struct machine_desc *m = c->m;
	int node = find_device(c, sswi_compat, 1), len;

	if (node >= 0 && assign_sipi(c, node, DT_IRQ_S_SOFT, 4)) {
		m->sipi_kind = DT_SIPI_SSWI;
		return;
	}
	for (node = fdt_find_compatible(c->blob, -1, "riscv,imsics"); node >= 0;
	     node = fdt_find_compatible(c->blob, node, "riscv,imsics")) {
		const u8 *p;
		u32 guest_bits = 0, ids = 0, ipi = 1;
		if (!node_enabled(c, node) || !identity_mapped(c, node)) continue;
		if ((p = fdt_getprop(c->blob, node, "riscv,guest-index-bits", &len)) && len == 4) guest_bits = fdt_be32(p);
		if ((p = fdt_getprop(c->blob, node, "riscv,num-ids", &len)) && len == 4) ids = fdt_be32(p);
		if ((p = fdt_getprop(c->blob, node, "riscv,ipi-id", &len)) && len == 4) ipi = fdt_be32(p);
		if (guest_bits > 8 || ids < 63 || ids > 2047 || ipi == 0 || ipi > ids) continue; /* AIA: 63..2047 */
		if (!assign_sipi(c, node, DT_IRQ_S_EXT, 4096ULL << guest_bits)) continue;
		m->sipi_kind = DT_SIPI_IMSIC;
		m->sipi_ipi_id = ipi;
		m->sipi_num_ids = ids;
		return;
	}
	for (int i = 0; i < m->nharts; i++) m->harts[i].sipi_pa = 0;
}

static void parse_devices(struct dt_ctx *c)
{
	static const char *const test_compat[] = { "sifive,test1", "sifive,test0" };
	static const char *const htif_compat[] = { "ucb,htif0" };
	struct machine_desc *m = c->m;
	u64 size;
	int node;

	parse_uart(c);
	node = find_device(c, htif_compat, 1);
	if (node >= 0 && device_reg(c, node, &m->htif_base, &size, "malformed htif reg")) m->has_htif = true;
	node = find_device(c, test_compat, 2);
	if (node >= 0 && device_reg(c, node, &m->test_base, &size, "malformed test device reg"))
		m->has_test = true;
	m->poweroff_value = QEMU_TEST_PASS;
	node = fdt_find_compatible(c->blob, -1, "syscon-poweroff");
	if (node >= 0)
		m->poweroff_value = prop_u32(c, node, "value", QEMU_TEST_PASS, "malformed syscon-poweroff value");
	parse_sipi(c);
}

/* Bytes of bank not covered by any reservation (resv is sorted by base). */
static u64 unreserved_bytes(const struct machine_desc *m, const struct mem_range *bank)
{
	u64 cur = bank->base, end = range_end(bank), free = 0;
	int i;

	for (i = 0; i < m->nresv && cur < end; i++) {
		const struct mem_range *r = &m->resv[i];

		if (range_end(r) <= cur) continue;
		if (r->base >= end) break;
		if (r->base > cur) free += r->base - cur;
		cur = range_end(r);
	}
	if (cur < end) free += end - cur;
	return free;
}

int dt_parse_machine(const void *blob, size_t bufsize, struct machine_desc *m, const char **why)
{
	struct dt_ctx c = { .blob = blob, .m = m };
	const char *sink;
	u64 usable = 0;
	int err, root, i;

	if (!why) why = &sink;
	memset(m, 0, sizeof(*m));
	if ((err = fdt_check(blob, bufsize, why)) < 0) return err;
	root = fdt_root(blob);
	parse_memory(&c, root);
	parse_reserved(&c);
	parse_cpus(&c);
	parse_chosen(&c);
	parse_devices(&c);
	for (i = 0; i < m->nmem; i++) usable += unreserved_bytes(m, &m->mem[i]);
	if (!c.why && !usable) bad(&c, "no usable memory");
	*why = c.why;
	return c.why ? -EINVAL : 0;
}

bool dt_hart_usable(const struct hart_desc *h) { return h->enabled && h->sv39; }

int dt_max_node(const struct machine_desc *m)
{
	int max = 0, i;

	for (i = 0; i < m->nmem; i++)
		if (m->mem[i].node > max) max = m->mem[i].node;
	for (i = 0; i < m->nharts; i++)
		if (m->harts[i].node > max) max = m->harts[i].node;
	return max;
}

bool dt_mem_contains(const struct machine_desc *m, u64 base, u64 size)
{
	int i;

	for (i = 0; i < m->nmem; i++) {
		const struct mem_range *b = &m->mem[i];

		if (base >= b->base && size <= b->size && base - b->base <= b->size - size) return true;
	}
	return false;
}
