/* Differential cases of test_fdt: our reader's walks, paths, memory reservations and machine
 * description against libfdt's reading of the same blobs, plus the walkers other cases reuse. */
#define HTEST_PART
#include "tests/host/test_fdt.h"

static int mismatch(const char *what, int node)
{
	printf("# mismatch: %s at node %d\n", what, node);
	return 1;
}

/* Node, properties and subtree, in lockstep with libfdt; returns the number of differences. */
static int cmp_node(const void *b, int ours, int lib)
{
	struct fdt_prop p;
	const char *on, *ln, *lname;
	int ol, ll, lo, e, op, lp, oc, lc, llen, bad = 0;
	const void *lv;

	if (ours != lib) return mismatch("offset", ours);
	on = fdt_node_name(b, ours, &ol);
	ln = fdt_get_name(b, lib, &ll);
	if (!on || !ln || ol != ll || memcmp(on, ln, (size_t)ol)) bad += mismatch("name", ours);
	op = fdt_parent(b, ours);
	lp = fdt_parent_offset(b, lib);
	/* libfdt looks for parents from offset 0, so it finds none when the blob starts with a NOP. */
	if (lib_next_node(b, -1, NULL) == 0 && ((op < 0) != (lp < 0) || (op >= 0 && op != lp)))
		bad += mismatch("parent", ours);
	if (fdt_get_phandle(b, ours) != lib_get_phandle(b, lib)) bad += mismatch("phandle", ours);
	for (e = fdt_first_prop(b, ours, &p), lo = fdt_first_property_offset(b, lib); !e && lo >= 0;
	     e = fdt_next_prop(b, &p), lo = fdt_next_property_offset(b, lo)) {
		lv = fdt_getprop_by_offset(b, lo, &lname, &llen);
		if (!lv || p.offset != lo || strcmp(p.name, lname) || (int)p.len != llen ||
		    memcmp(p.value, lv, p.len))
			bad += mismatch("property", ours);
		else if (fdt_getprop(b, ours, p.name, &ol) != lib_getprop(b, lib, lname, &ll) || ol != ll)
			bad += mismatch("getprop", ours);
	}
	if (e != -ENOENT || lo != -FDT_ERR_NOTFOUND) bad += mismatch("property count", ours);
	for (oc = fdt_first_child(b, ours), lc = fdt_first_subnode(b, lib); oc >= 0 && lc >= 0;
	     oc = fdt_next_sibling(b, oc), lc = fdt_next_subnode(b, lc))
		bad += cmp_node(b, oc, lc);
	if (oc != -ENOENT || lc != -FDT_ERR_NOTFOUND) bad += mismatch("child count", ours);
	return bad;
}

int cmp_tree(const void *b)
{
	int bad, o, l, od = 0, ld = 0, n, i;
	u64 oa, os;
	uint64_t la, ls;
	u32 ph;

	bad = cmp_node(b, fdt_root(b), lib_next_node(b, -1, NULL));
	for (o = fdt_next_node(b, -1, &od), l = lib_next_node(b, -1, &ld); o >= 0 && l >= 0;
	     o = fdt_next_node(b, o, &od), l = lib_next_node(b, l, &ld)) {
		if (o != l || od != ld) return bad + mismatch("depth-first order", o);
		ph = fdt_get_phandle(b, o);
		if (ph && ph != 0xffffffffU && fdt_node_by_phandle(b, ph) != fdt_node_offset_by_phandle(b, ph))
			bad += mismatch("node_by_phandle", o);
	}
	if (o != -ENOENT || l != -FDT_ERR_NOTFOUND) bad += mismatch("node count", o);
	n = fdt_num_mem_rsv(b);
	if (n != lib_num_mem_rsv(b)) return bad + mismatch("memreserve count", n);
	for (i = 0; i < n; i++) {
		fdt_get_mem_rsv(b, i, &oa, &os);
		lib_get_mem_rsv(b, i, &la, &ls);
		if (oa != la || os != ls) bad += mismatch("memreserve entry", i);
	}
	return bad;
}

/* Only our walkers, for blobs libfdt does not vouch for: ASan is the judge. */
int ours_walk(const void *b, int node, int depth)
{
	struct fdt_prop p;
	int n = 1, child, len;

	if (depth > 64) return n;
	fdt_node_name(b, node, &len);
	fdt_parent(b, node);
	for (int e = fdt_first_prop(b, node, &p); !e; e = fdt_next_prop(b, &p)) fdt_getprop(b, node, p.name, &len);
	fdt_getprop(b, node, "compatible", &len);
	fdt_get_phandle(b, node);
	for (child = fdt_first_child(b, node); child >= 0; child = fdt_next_sibling(b, child))
		n += ours_walk(b, child, depth + 1);
	return n;
}

static void *v16_copy(const struct blob *b)
{
	u8 *c = malloc(b->size);

	memcpy(c, b->data, b->size);
	wr32(c + 20, 16);
	return c;
}

void test_dtbs_valid(void)
{
	CHECK(nblobs >= 26);
	for (int i = 0; i < nblobs; i++) {
		const char *why = "";
		int r = fdt_check(blobs[i].data, blobs[i].size, &why);
		if (r) printf("# %s: %s\n", blobs[i].name, why);
		CHECK_EQ(r, 0);
		CHECK_EQ(fdt_check_full(blobs[i].data, blobs[i].size), 0);
	}
}

void test_walk_matches_libfdt(void)
{
	static const char *const compats[] = { "virtio,mmio", "ns16550a", "riscv", "syscon", "none" };
	int o, l;

	for (int i = 0; i < nblobs; i++) {
		u8 *v16 = v16_copy(&blobs[i]);
		CHECK_EQ(cmp_tree(blobs[i].data), 0);
		CHECK_EQ(fdt_check(v16, blobs[i].size, NULL), 0);
		CHECK_EQ(fdt_check_full(v16, blobs[i].size), 0);
		CHECK_EQ(cmp_tree(v16), 0);
		free(v16);
		for (unsigned c = 0; c < ARRAY_SIZE(compats); c++) {
			for (o = fdt_find_compatible(blobs[i].data, -1, compats[c]),
			    l = fdt_node_offset_by_compatible(blobs[i].data, -1, compats[c]);
			     o >= 0 && l >= 0; o = fdt_find_compatible(blobs[i].data, o, compats[c]),
			    l = fdt_node_offset_by_compatible(blobs[i].data, l, compats[c]))
				CHECK_EQ(o, l);
			CHECK(o == -ENOENT && l == -FDT_ERR_NOTFOUND);
		}
	}
}

/* Every node's full path, and its unit-less form, resolved by both readers. */
static void check_paths(const void *b, int node, int parent, const char *parent_path)
{
	char path[512], stem_path[512];
	int len, clen, child, matches = 0, o, l;
	const char *name = fdt_node_name(b, node, &len), *at, *cn;
	const char *sep = parent_path && strcmp(parent_path, "/") ? "/" : "";

	if (parent_path)
		snprintf(path, sizeof(path), "%s%s%.*s", parent_path, sep, len, name);
	else
		strcpy(path, "/");
	o = fdt_path_offset(b, path);
	l = lib_path_offset(b, path);
	if (o != node || l != node) printf("# path %s: ours %d libfdt %d want %d\n", path, o, l, node);
	CHECK(o == node && l == node);
	if (parent_path && (at = memchr(name, '@', (size_t)len))) {
		int stem = (int)(at - name);
		for (child = fdt_first_child(b, parent); child >= 0; child = fdt_next_sibling(b, child)) {
			cn = fdt_node_name(b, child, &clen);
			if (clen >= stem && !memcmp(cn, name, (size_t)stem) && (cn[stem] == '@' || !cn[stem]))
				matches++;
		}
		snprintf(stem_path, sizeof(stem_path), "%s%s%.*s", parent_path, sep, stem, name);
		o = fdt_path_offset(b, stem_path);
		l = lib_path_offset(b, stem_path);
		if (matches == 1)
			CHECK(o == node && l == node);
		else
			CHECK_EQ(o, -ENOENT); /* ambiguous without the unit address; libfdt takes the first */
	}
	for (child = fdt_first_child(b, node); child >= 0; child = fdt_next_sibling(b, child))
		check_paths(b, child, node, path);
}

void test_paths(void)
{
	const void *b = find_blob("qemu-smp1-64M")->data;

	for (int i = 0; i < nblobs; i++) check_paths(blobs[i].data, fdt_root(blobs[i].data), -1, NULL);
	CHECK_EQ(fdt_path_offset(b, "/"), fdt_root(b));
	CHECK_EQ(fdt_path_offset(b, "//soc//serial@10000000/"), lib_path_offset(b, "/soc/serial@10000000"));
	CHECK_EQ(fdt_path_offset(b, "/cpus/cpu"), lib_path_offset(b, "/cpus/cpu@0")); /* unique on SMP 1 */
	CHECK_EQ(fdt_path_offset(find_blob("qemu-smp2-64M")->data, "/cpus/cpu"), -ENOENT);
	CHECK_EQ(fdt_path_offset(b, "/soc/serial@1"), -ENOENT);
	CHECK_EQ(fdt_path_offset(b, "/nonexistent"), -ENOENT);
	CHECK_EQ(fdt_path_offset(b, "serial0"), -ENOENT); /* no /aliases */
	CHECK_EQ(fdt_path_offset(b, ""), -EINVAL);
	CHECK_EQ(fdt_path_offset_len(b, "/soc/serial@10000000:115200", 20),
		 lib_path_offset(b, "/soc/serial@10000000"));
}

void test_memreserve(void)
{
	static u8 buf[4096] __aligned(8);
	const void *b = find_blob("two-banks")->data;
	u64 a, s;

	CHECK_EQ(fdt_num_mem_rsv(b), 1);
	CHECK(fdt_get_mem_rsv(b, 0, &a, &s) == 0 && a == 0x8fff0000 && s == 0x10000);
	CHECK_EQ(fdt_get_mem_rsv(b, 1, &a, &s), -ENOENT);
	CHECK_EQ(fdt_get_mem_rsv(b, -1, &a, &s), -ENOENT);
	/* Three entries written by libfdt's sequential writer, the middle one ending at 2^64 - 1. */
	CHECK_EQ(fdt_create(buf, sizeof(buf)), 0);
	fdt_add_reservemap_entry(buf, 0x1000, 0x2000);
	fdt_add_reservemap_entry(buf, 0xffffffff00000000ULL, 0xffffffffULL);
	fdt_add_reservemap_entry(buf, 0, 1);
	fdt_finish_reservemap(buf);
	fdt_begin_node(buf, "");
	fdt_end_node(buf);
	CHECK_EQ(fdt_finish(buf), 0);
	CHECK_EQ(fdt_check(buf, sizeof(buf), NULL), 0);
	CHECK_EQ(fdt_num_mem_rsv(buf), 3);
	CHECK_EQ(cmp_tree(buf), 0);
	CHECK(fdt_get_mem_rsv(buf, 1, &a, &s) == 0 && a == 0xffffffff00000000ULL && s == 0xffffffffULL);
}

static u64 cells_at(const void *p, int n) { return fdt_read_cells(p, n); }

/* The machine description of a QEMU dump against the same facts read independently with libfdt. */
static void check_machine_vs_libfdt(const struct blob *bl)
{
	const void *b = bl->data;
	struct machine_desc m;
	const char *why = NULL, *s;
	const u8 *reg, *v;
	int r, node, len, n = 0, h = 0, cpus, chosen;

	r = dt_parse_machine(b, bl->size, &m, &why);
	if (r) printf("# %s: %s\n", bl->name, why);
	CHECK_EQ(r, 0);
	for (node = fdt_node_offset_by_prop_value(b, -1, "device_type", "memory", 7); node >= 0;
	     node = fdt_node_offset_by_prop_value(b, node, "device_type", "memory", 7)) {
		reg = lib_getprop(b, node, "reg", &len);
		v = lib_getprop(b, node, "numa-node-id", NULL);
		for (int k = 0; reg && k < len / 16 && n < DT_MAX_MEM; k++, n++) {
			CHECK(m.mem[n].base == cells_at(reg + 16 * k, 2) && m.mem[n].size == cells_at(reg + 16 * k + 8, 2));
			CHECK_EQ(m.mem[n].node, v ? (int)rd32(v) : 0);
		}
	}
	CHECK(n > 0 && m.nmem == n && m.mem_merged == 0 && m.nresv == 0);
	cpus = lib_path_offset(b, "/cpus");
	CHECK_EQ(m.timebase_hz, rd32(lib_getprop(b, cpus, "timebase-frequency", NULL)));
	for (node = fdt_first_subnode(b, cpus); node >= 0; node = fdt_next_subnode(b, node)) {
		if (!(s = lib_getprop(b, node, "device_type", NULL)) || strcmp(s, "cpu")) continue;
		CHECK_EQ(m.harts[h].hartid, rd32(lib_getprop(b, node, "reg", NULL)));
		s = lib_getprop(b, node, "mmu-type", NULL);
		CHECK_EQ(m.harts[h].sv39, !strcmp(s, "riscv,sv39") || !strcmp(s, "riscv,sv48") || !strcmp(s, "riscv,sv57"));
		CHECK(!strcmp(m.harts[h].isa, lib_getprop(b, node, "riscv,isa", NULL)));
		CHECK_EQ(m.harts[h].enabled, !strcmp(lib_getprop(b, node, "status", NULL), "okay"));
		v = lib_getprop(b, node, "numa-node-id", NULL);
		CHECK_EQ(m.harts[h].node, v ? (int)rd32(v) : 0);
		h++;
	}
	CHECK(h > 0 && m.nharts == h);
	chosen = lib_path_offset(b, "/chosen");
	CHECK(m.bootargs == lib_getprop(b, chosen, "bootargs", NULL));
	CHECK(m.stdout_path == lib_getprop(b, chosen, "stdout-path", NULL));
	v = lib_getprop(b, chosen, "linux,initrd-start", &len);
	CHECK_EQ(m.has_initrd, v != NULL);
	if (v) {
		CHECK_EQ(m.initrd_start, cells_at(v, len / 4));
		v = lib_getprop(b, chosen, "linux,initrd-end", &len);
		CHECK_EQ(m.initrd_end, cells_at(v, len / 4));
	}
	node = lib_path_offset(b, m.stdout_path);
	reg = lib_getprop(b, node, "reg", NULL);
	CHECK(m.has_uart && m.uart_base == cells_at(reg, 2) && m.uart_size == cells_at(reg + 8, 2));
	CHECK_EQ(m.uart_irq, rd32(lib_getprop(b, node, "interrupts", NULL)));
	CHECK_EQ(m.uart_clock, rd32(lib_getprop(b, node, "clock-frequency", NULL)));
	CHECK(m.uart_reg_shift == 0 && m.uart_io_width == 1);
	node = fdt_node_offset_by_compatible(b, -1, "riscv,plic0");
	reg = lib_getprop(b, node, "reg", NULL);
	CHECK(m.has_plic && m.plic_base == cells_at(reg, 2) && m.plic_size == cells_at(reg + 8, 2));
	CHECK_EQ(m.plic_ndev, rd32(lib_getprop(b, node, "riscv,ndev", NULL)));
	node = fdt_node_offset_by_compatible(b, -1, "sifive,test0");
	CHECK(m.has_test && m.test_base == cells_at(lib_getprop(b, node, "reg", NULL), 2));
	node = fdt_node_offset_by_compatible(b, -1, "syscon-poweroff");
	CHECK_EQ(m.poweroff_value, rd32(lib_getprop(b, node, "value", NULL)));
}

void test_machine_matches_libfdt(void)
{
	for (int i = 0; i < nblobs; i++)
		if (!strncmp(blobs[i].name, "qemu-", 5)) check_machine_vs_libfdt(&blobs[i]);
}
