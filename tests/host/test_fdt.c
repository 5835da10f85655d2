/* Host tests for platform/fdt.c and platform/devtree.c: differential checks against libfdt on QEMU's
 * own device trees and on dts/, hand-made corruptions, seeded random mutations, and the semantic
 * cases of the machine description. Usage: test_fdt [DTB_DIR] (without it, gen_dtbs.sh makes one). */
#define _GNU_SOURCE
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libfdt names that platform/fdt.h renames for our reader in host builds: reach libfdt's here. */
static int lib_next_node(const void *f, int n, int *d) { return fdt_next_node(f, n, d); }
static int lib_path_offset(const void *f, const char *p) { return fdt_path_offset(f, p); }
static const void *lib_getprop(const void *f, int n, const char *name, int *len)
{
	return fdt_getprop(f, n, name, len);
}
static uint32_t lib_get_phandle(const void *f, int n) { return fdt_get_phandle(f, n); }
static int lib_num_mem_rsv(const void *f) { return fdt_num_mem_rsv(f); }
static int lib_get_mem_rsv(const void *f, int n, uint64_t *a, uint64_t *s)
{
	return fdt_get_mem_rsv(f, n, a, s);
}

#include "platform/fdt.h"
#include "platform/devtree.h"
#include "tests/host/htest.h"

struct blob {
	char name[64];
	u8 *data;
	size_t size;
};
static struct blob blobs[64];
static int nblobs;
static const char *const qemu_names[] = { "qemu-initrd", "qemu-numa" };
static const char *const dts_names[] = { "two-banks", "overlap-banks", "bad-no-memory", "bad-tiny-memory",
					  "bad-no-timebase", "bad-no-sv39", "no-stdout-path", "no-uart" };

static u32 rd32(const u8 *p) { return fdt_be32(p); }
static void wr32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static bool load_blob(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	struct blob *b = &blobs[nblobs];

	snprintf(path, sizeof(path), "%s/%s.dtb", dir, name);
	if (!(f = fopen(path, "rb"))) return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b->data = malloc((size_t)n);
	if (fread(b->data, 1, (size_t)n, f) != (size_t)n) n = 0;
	fclose(f);
	snprintf(b->name, sizeof(b->name), "%s", name);
	/* QEMU writes out its whole 1 MiB working buffer; the blob is the first totalsize bytes. */
	if (n >= 8 && rd32(b->data + 4) < (u32)n) n = rd32(b->data + 4);
	b->size = (size_t)n;
	nblobs++;
	return n > 0;
}

static struct blob *find_blob(const char *name)
{
	for (int i = 0; i < nblobs; i++)
		if (!strcmp(blobs[i].name, name)) return &blobs[i];
	printf("# missing blob %s\n", name);
	exit(1);
}


/* ---- differential walk ---- */

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

static int cmp_tree(const void *b)
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
static int ours_walk(const void *b, int node, int depth)
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

static void test_dtbs_valid(void)
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

static void test_walk_matches_libfdt(void)
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

static void test_paths(void)
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

static void test_memreserve(void)
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
	CHECK(n > 0 && m.nmem == n && m.mem_merged == 0 && m.nresv == 0 && !m.truncated);
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

static void test_machine_matches_libfdt(void)
{
	for (int i = 0; i < nblobs; i++)
		if (!strncmp(blobs[i].name, "qemu-", 5)) check_machine_vs_libfdt(&blobs[i]);
}

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

static void test_dts_semantics(void)
{
	struct machine_desc m;
	const char *why;

	CHECK_EQ(parse_named("two-banks", &m, &why), 0);
	CHECK(m.nmem == 2 && m.mem_merged == 0 && !m.truncated);
	CHECK(range_is(&m.mem[0], 0x80000000, 0x07000000, false, "memory@80000000"));
	CHECK(range_is(&m.mem[1], 0x88000000, 0x08000000, false, "memory@88000000"));
	CHECK_EQ(m.nresv, 3);
	CHECK(range_is(&m.resv[0], 0x80000000, 0x40000, true, "opensbi@80000000"));
	CHECK(range_is(&m.resv[1], 0x8f000000, 0x100000, false, "carveout@8f000000"));
	CHECK(range_is(&m.resv[2], 0x8fff0000, 0x10000, false, "memreserve"));
	CHECK(m.bootargs && !strcmp(m.bootargs, "console=ttyS0 vmk.test=two-banks"));
	CHECK(m.stdout_path && !strcmp(m.stdout_path, "/soc/serial@10000000:115200n8"));
	CHECK(m.has_uart && m.uart_base == 0x10000000 && m.uart_size == 0x100 && m.uart_irq == 10);
	CHECK(m.uart_clock == 3686400 && m.uart_reg_shift == 0 && m.uart_io_width == 1);
	CHECK(m.has_plic && m.plic_base == 0xc000000 && m.plic_size == 0x600000 && m.plic_ndev == 0x60);
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
	CHECK(!m.stdout_path && m.has_uart && m.uart_base == 0x10000000 && m.uart_irq == 10);
	CHECK_EQ(parse_named("no-uart", &m, &why), 0);
	CHECK(!m.stdout_path && !m.has_uart && m.has_plic && m.has_test);

	expect_semantic("bad-no-memory", "no memory node");
	expect_semantic("bad-no-timebase", "missing timebase-frequency");
	expect_semantic("bad-no-sv39", "no hart supports Sv39");
}

/* ---- hand-made corruptions ---- */

static void expect_why(const u8 *blob, size_t size, const char *want)
{
	struct machine_desc m;
	const char *why = NULL, *why2 = NULL;
	int r = fdt_check(blob, size, &why);

	if (r != -EINVAL || !why || strcmp(why, want))
		printf("# want \"%s\", got %d \"%s\"\n", want, r, why ? why : "");
	CHECK(r == -EINVAL && why && !strcmp(why, want));
	CHECK(dt_parse_machine(blob, size, &m, &why2) == -EINVAL && why2 == why);
}

static u8 *copy_of(const struct blob *b)
{
	u8 *c = malloc(b->size);

	memcpy(c, b->data, b->size);
	return c;
}

#define H_TOTAL 4
#define H_STRUCT 8
#define H_STRINGS 12
#define H_RSV 16
#define H_VERSION 20
#define H_LAST 24
#define H_SSTRINGS 32
#define H_SSTRUCT 36

static void expect_hdr(u32 field, u32 val, const char *want)
{
	struct blob *b = find_blob("qemu-smp2-128M");
	u8 *c = copy_of(b);

	wr32(c + field, val);
	expect_why(c, b->size, want);
	free(c);
}

static void test_corrupt_header(void)
{
	struct blob *b = find_blob("qemu-smp2-128M");
	const u8 *d = b->data;
	u32 total = rd32(d + H_TOTAL), st = rd32(d + H_STRUCT), sst = rd32(d + H_SSTRUCT);
	u32 str = rd32(d + H_STRINGS), sstr = rd32(d + H_SSTRINGS);
	struct fdt_prop p;
	u8 *c;

	CHECK(rd32(d + H_RSV) == 40 && st == 56); /* the layout the cases below assume */
	expect_hdr(0, 0xd00dfeee, "bad magic");
	expect_why(d, total - 1, "totalsize exceeds buffer");
	expect_why(d, 39, "buffer smaller than header");
	expect_hdr(H_VERSION, 15, "unsupported version");
	expect_hdr(H_LAST, 18, "incompatible last_comp_version");
	expect_hdr(H_TOTAL, 39, "totalsize smaller than header");
	expect_hdr(H_STRUCT, total + 4, "struct block out of bounds");
	expect_hdr(H_STRUCT, 36, "struct block out of bounds"); /* inside the header */
	expect_hdr(H_SSTRUCT, total, "struct block out of bounds");
	expect_hdr(H_SSTRUCT, 0xfffffffc, "struct block out of bounds");
	expect_hdr(H_STRINGS, total + 1, "strings block out of bounds");
	expect_hdr(H_SSTRINGS, total - str + 1, "strings block out of bounds");
	expect_hdr(H_STRUCT, st + 2, "misaligned block");
	expect_hdr(H_RSV, 44, "misaligned block");
	expect_hdr(H_RSV, 48, "memreserve block out of bounds"); /* its terminator would overlap the struct block */
	expect_hdr(H_RSV, 32, "memreserve block out of bounds"); /* inside the header */
	expect_hdr(H_RSV, ALIGN_DOWN(total, 8), "memreserve block out of bounds");
	expect_hdr(H_SSTRUCT, sst - 4, "missing FDT_END");
	/* Huge totalsize with a buffer that claims to be as big: refused before anything past the header is read. */
	c = copy_of(b);
	wr32(c + H_TOTAL, 0x80000000U);
	expect_why(c, 0x80000000U, "totalsize too large");
	/* The first property's name offset at and past the end of the strings block. */
	CHECK_EQ(fdt_first_prop(d, fdt_root(d), &p), 0);
	wr32(c + H_TOTAL, total);
	wr32(c + st + (u32)p.offset + 8, sstr);
	expect_why(c, total, "string offset out of range");
	wr32(c + st + (u32)p.offset + 8, 0xffffffff);
	expect_why(c, total, "string offset out of range");
	/* A property length reaching one byte past the structure block. */
	memcpy(c, d, total);
	wr32(c + st + (u32)p.offset + 4, sst - (u32)p.offset - 12 + 1);
	expect_why(c, total, "property length out of bounds");
	free(c);
}

/* Assembles a blob token by token, so malformed structures are easy to write down. */
struct raw {
	u8 s[32768];
	u32 slen;
	char str[256];
	u32 strlen;
};

static void r32(struct raw *r, u32 v)
{
	wr32(r->s + r->slen, v);
	r->slen += 4;
}

static void rpad(struct raw *r)
{
	while (r->slen % 4) r->s[r->slen++] = 0;
}

static void rbegin(struct raw *r, const char *name)
{
	r32(r, FDT_BEGIN_NODE);
	memcpy(r->s + r->slen, name, strlen(name) + 1);
	r->slen += (u32)strlen(name) + 1;
	rpad(r);
}

/* The offset of name in the strings block, added on first use. */
static u32 rstr(struct raw *r, const char *name)
{
	u32 off;

	for (off = 0; off < r->strlen; off += (u32)strlen(r->str + off) + 1)
		if (!strcmp(r->str + off, name)) return off;
	memcpy(r->str + off, name, strlen(name) + 1);
	r->strlen += (u32)strlen(name) + 1;
	return off;
}

static void rprop(struct raw *r, const char *name, const char *val)
{
	u32 len = (u32)strlen(val) + 1;

	r32(r, FDT_PROP);
	r32(r, len);
	r32(r, rstr(r, name));
	memcpy(r->s + r->slen, val, len);
	r->slen += len;
	rpad(r);
}

/* Header (v17), an empty reservation list, the structure block, then the strings. */
static u8 *rfinish(struct raw *r, size_t *size)
{
	u32 total = 56 + r->slen + r->strlen;
	u8 *b = calloc(1, total);

	wr32(b, FDT_MAGIC);
	wr32(b + H_TOTAL, total);
	wr32(b + H_STRUCT, 56);
	wr32(b + H_STRINGS, 56 + r->slen);
	wr32(b + H_RSV, 40);
	wr32(b + H_VERSION, 17);
	wr32(b + H_LAST, 16);
	wr32(b + H_SSTRINGS, r->strlen);
	wr32(b + H_SSTRUCT, r->slen);
	memcpy(b + 56, r->s, r->slen);
	memcpy(b + 56 + r->slen, r->str, r->strlen);
	*size = total;
	return b;
}

enum raw_case { RC_OK, RC_NOPS, RC_NAME, RC_PROPLEN, RC_TRUNCPROP, RC_TOKEN, RC_NOEND, RC_TWOROOTS, RC_TOPPROP,
		RC_LATEPROP, RC_ROOTNAME, RC_UNBALANCED, RC_UNCLOSED, RC_NOROOT, RC_STROFF, RC_STRNUL, RC_NCASES };

static u8 *build_case(int k, size_t *size)
{
	static struct raw r;

	memset(&r, 0, sizeof(r));
	rstr(&r, "compatible"); /* every name up front, so the strings block ends where cases expect */
	rstr(&r, "reg");
	rstr(&r, "late");
	rstr(&r, "early");
	if (k == RC_NOROOT) goto end;
	if (k == RC_TOPPROP) rprop(&r, "early", "x");
	if (k == RC_NOPS) r32(&r, FDT_NOP);
	if (k == RC_UNBALANCED) r32(&r, FDT_END_NODE);
	rbegin(&r, k == RC_ROOTNAME ? "root" : "");
	if (k == RC_NOPS) r32(&r, FDT_NOP);
	rprop(&r, "compatible", "vmk,test");
	if (k == RC_NOPS) r32(&r, FDT_NOP);
	if (k == RC_PROPLEN || k == RC_TRUNCPROP) {
		r32(&r, FDT_PROP);
		r32(&r, 1000);
		if (k == RC_TRUNCPROP) return rfinish(&r, size);
		r32(&r, 0);
	}
	if (k == RC_TOKEN) r32(&r, 7);
	if (k == RC_STROFF || k == RC_STRNUL) {
		r32(&r, FDT_PROP);
		r32(&r, 0);
		r32(&r, r.strlen); /* just past the strings block... */
		if (k == RC_STRNUL) {
			memcpy(r.str + r.strlen, "abc", 3); /* ...or the start of a name without a NUL */
			r.strlen += 3;
		}
	}
	if (k == RC_NAME) {
		r32(&r, FDT_BEGIN_NODE);
		memcpy(r.s + r.slen, "abcdefgh", 8);
		r.slen += 8;
		return rfinish(&r, size);
	}
	rbegin(&r, "child@1");
	rprop(&r, "reg", "ab");
	if (k == RC_NOPS) r32(&r, FDT_NOP);
	r32(&r, FDT_END_NODE);
	if (k == RC_LATEPROP) rprop(&r, "late", "y");
	if (k != RC_UNCLOSED) r32(&r, FDT_END_NODE);
	if (k == RC_TWOROOTS) {
		rbegin(&r, "");
		r32(&r, FDT_END_NODE);
	}
	if (k == RC_NOEND) return rfinish(&r, size);
end:
	r32(&r, FDT_END);
	return rfinish(&r, size);
}

static void test_corrupt_structure(void)
{
	static const char *const want[RC_NCASES] = {
		[RC_NAME] = "unterminated node name", [RC_PROPLEN] = "property length out of bounds",
		[RC_TRUNCPROP] = "truncated property", [RC_TOKEN] = "bad token", [RC_NOEND] = "missing FDT_END",
		[RC_TWOROOTS] = "data after root node", [RC_TOPPROP] = "property outside any node",
		[RC_LATEPROP] = "property after subnode", [RC_ROOTNAME] = "root node has a name",
		[RC_UNBALANCED] = "unbalanced FDT_END_NODE", [RC_UNCLOSED] = "unclosed node",
		[RC_NOROOT] = "no root node", [RC_STROFF] = "string offset out of range",
		[RC_STRNUL] = "unterminated property name",
	};
	/* The cases fdt_check refuses although libfdt 1.6.1 takes them (see stricter_is_legit). */
	static const bool lib_accepts[RC_NCASES] = { [RC_OK] = true, [RC_NOPS] = true, [RC_TOPPROP] = true,
						    [RC_LATEPROP] = true, [RC_NOROOT] = true };
	size_t size;
	u8 *b;

	for (int k = 0; k < RC_NCASES; k++) {
		b = build_case(k, &size);
		CHECK_EQ(fdt_check_full(b, size) == 0, lib_accepts[k]);
		if (want[k]) {
			expect_why(b, size, want[k]);
		} else {
			CHECK_EQ(fdt_check(b, size, NULL), 0);
			CHECK_EQ(cmp_tree(b), 0);
			CHECK_EQ(fdt_root(b), k == RC_NOPS ? 4 : 0);
			CHECK_EQ(fdt_path_offset(b, "/child"), fdt_first_child(b, fdt_root(b)));
			CHECK_EQ(fdt_node_check_compatible(b, fdt_root(b), "vmk,test"), 0);
		}
		ours_walk(b, fdt_root(b), 0); /* walkers on refused blobs stay in bounds too */
		free(b);
	}
}

static u8 *nested(int depth, size_t *size)
{
	static struct raw r;

	memset(&r, 0, sizeof(r));
	rbegin(&r, "");
	for (int i = 1; i < depth; i++) rbegin(&r, "n");
	for (int i = 0; i < depth; i++) r32(&r, FDT_END_NODE);
	r32(&r, FDT_END);
	return rfinish(&r, size);
}

static void test_nesting(void)
{
	size_t size;
	u8 *b = nested(FDT_MAX_DEPTH, &size);
	int node, depth = 0, n = 0, max_depth = 0;

	CHECK_EQ(fdt_check(b, size, NULL), 0);
	CHECK_EQ(cmp_tree(b), 0);
	for (node = fdt_next_node(b, -1, &depth); node >= 0; node = fdt_next_node(b, node, &depth)) {
		n++;
		max_depth = MAX(max_depth, depth);
	}
	CHECK(n == FDT_MAX_DEPTH && max_depth == FDT_MAX_DEPTH && depth == 0);
	free(b);
	b = nested(FDT_MAX_DEPTH + 1, &size);
	expect_why(b, size, "nesting too deep");
	free(b);
	b = nested(1000, &size);
	CHECK_EQ(fdt_check_full(b, size), 0); /* libfdt has no depth limit */
	expect_why(b, size, "nesting too deep");
	node = fdt_root(b);
	for (n = 0; n < 40 && node >= 0; n++) node = fdt_first_child(b, node);
	CHECK(node >= 0 && fdt_parent(b, node) == -EINVAL); /* below the stack fdt_parent keeps */
	free(b);
}

static void test_bad_handles(void)
{
	const void *b = find_blob("qemu-smp2-128M")->data;
	int root = fdt_root(b), soc = fdt_path_offset(b, "/soc"), cpus = fdt_path_offset(b, "/cpus");
	int uart = fdt_path_offset(b, "/soc/serial@10000000"), cpu0 = fdt_path_offset(b, "/cpus/cpu@0");
	int len, ac, sc;
	struct fdt_prop p;
	u64 base, size;

	CHECK(root == 0 && soc > 0 && cpus > 0 && uart > 0 && cpu0 > 0);
	CHECK_EQ(fdt_first_prop(b, root, &p), 0);
	CHECK_EQ(fdt_first_child(b, -4), -EINVAL);
	CHECK_EQ(fdt_first_child(b, 2), -EINVAL);
	CHECK_EQ(fdt_first_child(b, p.offset), -EINVAL); /* a property is not a node */
	CHECK_EQ(fdt_next_sibling(b, 1 << 20), -EINVAL);
	CHECK(fdt_node_name(b, p.offset, &len) == NULL && len == -EINVAL);
	CHECK_EQ(fdt_parent(b, root), -ENOENT);
	CHECK_EQ(fdt_parent(b, uart), soc);
	CHECK_EQ(fdt_next_sibling(b, root), -ENOENT);
	CHECK_EQ(fdt_next_node(b, -2, NULL), -EINVAL);
	CHECK(fdt_getprop(b, root, "nope", &len) == NULL && len == -ENOENT);
	CHECK(fdt_getprop(b, -1, "model", &len) == NULL && len == -EINVAL);
	CHECK_EQ(fdt_node_by_phandle(b, 0), -EINVAL);
	CHECK_EQ(fdt_node_by_phandle(b, 0xffffffff), -EINVAL);
	CHECK_EQ(fdt_node_by_phandle(b, 12345), -ENOENT);
	CHECK_EQ(fdt_node_check_compatible(b, root, "riscv-virtio"), 0);
	CHECK_EQ(fdt_node_check_compatible(b, root, "riscv"), 1);
	CHECK_EQ(fdt_node_check_compatible(b, fdt_path_offset(b, "/chosen"), "x"), -ENOENT);
	CHECK_EQ(fdt_find_compatible(b, -1, "sifive,test0"), fdt_path_offset(b, "/soc/test@100000"));
	CHECK(fdt_address_cells(b, soc) == 2 && fdt_size_cells(b, cpus) == 0 && fdt_address_cells(b, cpus) == 1);
	CHECK(fdt_reg_cells(b, uart, &ac, &sc) == 0 && ac == 2 && sc == 2);
	CHECK(fdt_reg_cells(b, cpu0, &ac, &sc) == 0 && ac == 1 && sc == 0);
	CHECK(fdt_reg_cells(b, root, &ac, &sc) == 0 && ac == 2 && sc == 1);
	CHECK(fdt_read_reg(b, uart, 2, 2, 0, &base, &size) == 0 && base == 0x10000000 && size == 0x100);
	CHECK_EQ(fdt_read_reg(b, uart, 2, 2, 1, &base, &size), -ENOENT);
	CHECK_EQ(fdt_read_reg(b, uart, 1, 1, 0, &base, &size), 0); /* 16 bytes are two 1+1 entries */
	CHECK_EQ(fdt_read_reg(b, uart, 2, 1, 0, &base, &size), -EINVAL); /* 16 is not a multiple of 12 */
	CHECK_EQ(fdt_read_reg(b, uart, 3, 1, 0, &base, &size), -EINVAL);
	CHECK_EQ(fdt_read_reg(b, root, 2, 2, 0, &base, &size), -ENOENT);
	CHECK(fdt_stringlist_contains("a\0bc\0", 5, "bc") && !fdt_stringlist_contains("a\0bc", 4, "bc"));
	CHECK(!fdt_stringlist_contains("abc\0", 4, "ab") && !fdt_stringlist_contains("", 0, ""));
	CHECK(fdt_read_cells("\1\2\3\4\5\6\7\10", 2) == 0x0102030405060708ULL && fdt_read_cells("\1\2\3\4", 3) == 0);
	CHECK_EQ(fdt_check(NULL, 100, NULL), -EINVAL);
	CHECK_EQ(fdt_total_size(b), find_blob("qemu-smp2-128M")->size);
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

static void test_console_and_devices(void)
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
	CHECK(ed_parse(&m) == 0 && !m.has_uart && m.has_plic);
	ed_open(); /* a translating bus: its devices' reg are not CPU addresses, so none is used */
	ed_raw("/soc", "ranges", "\0\0\0\0\0\0\0\0" "\0\0\0\1\0\0\0\0" "\0\0\0\0\x10\0\0\0", 24);
	CHECK(ed_parse(&m) == 0 && !m.has_uart && !m.has_plic && !m.has_test);
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

static void test_memory_semantics(void)
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

static void test_cpu_semantics(void)
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

static void test_chosen_semantics(void)
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

static void test_limits(void)
{
	struct machine_desc m;
	char path[64];
	int i;

	ed_open(); /* 20 disjoint banks more than fill the table */
	for (i = 0; i < 20; i++) {
		u64 base = 0x100000000ULL + 0x200000ULL * (u64)i;
		snprintf(path, sizeof(path), "memory@%llx", (unsigned long long)base);
		ed_add("/", path);
		snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)base);
		ed_str(path, "device_type", "memory");
		ed_reg(path, base, 0x100000);
	}
	CHECK(ed_parse(&m) == 0 && m.nmem == DT_MAX_MEM && m.truncated);
	ed_open(); /* 20 copies of the one bank merge as they come and never fill it */
	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "memory@%d", i);
		ed_add("/", path);
		snprintf(path, sizeof(path), "/memory@%d", i);
		ed_str(path, "device_type", "memory");
		ed_reg(path, 0x80000000, 0x8000000);
	}
	CHECK(ed_parse(&m) == 0 && m.nmem == 1 && m.mem_merged == 20 && !m.truncated);
	ed_open();
	for (i = 2; i < 42; i++) {
		snprintf(path, sizeof(path), "cpu@%d", i);
		ed_add("/cpus", path);
		snprintf(path, sizeof(path), "/cpus/cpu@%d", i);
		ed_str(path, "device_type", "cpu");
		ed_str(path, "mmu-type", "riscv,sv39");
		ed_u32(path, "reg", (u32)i);
	}
	/* libfdt adds each subnode first, so cpu@41 leads and cpu@0 and cpu@1 are the ones dropped */
	CHECK(ed_parse(&m) == 0 && m.nharts == DT_MAX_HARTS && m.truncated && m.harts[0].hartid == 41);
	CHECK_EQ(m.harts[31].hartid, 10);
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
	CHECK(ed_parse(&m) == 0 && m.nresv == DT_MAX_RESV && m.truncated);
}

/* ---- seeded random mutations ---- */

static u64 rng_state;

static u64 rnd(void) /* splitmix64: deterministic, so a failure can be replayed */
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Blobs libfdt 1.6.1's fdt_check_full() accepts but fdt_check() refuses, on purpose. Each reason is
 * only excused when the blob really has the property named, checked here independently:
 *  - "unsupported version": versions 2..15, which libfdt still reads; we take 16 and 17 only.
 *  - "misaligned block": memreserve block not 8-byte or structure block not 4-byte aligned.
 *  - "memreserve block out of bounds": the reservation list running into the structure or strings
 *    block; libfdt only bounds it by totalsize.
 *  - "string offset out of range", "unterminated property name": in v16 blobs libfdt bounds names
 *    by totalsize, we by size_dt_strings as in v17.
 *  - "nesting too deep": more than FDT_MAX_DEPTH levels.
 *  - "property outside any node", "property after subnode", "no root node": structure the spec
 *    forbids and libfdt tolerates.
 *  - "property length out of bounds": libfdt sums a property's extent in int, so lengths of 2^31
 *    and more can wrap back into range.
 */
static const char *const stricter[] = {
	"unsupported version", "misaligned block", "memreserve block out of bounds", "string offset out of range",
	"unterminated property name", "nesting too deep", "property outside any node", "property after subnode",
	"no root node", "property length out of bounds",
};

static bool stricter_is_legit(const u8 *b, const char *why)
{
	u32 ver = rd32(b + H_VERSION), rsv = rd32(b + H_RSV), st = rd32(b + H_STRUCT), str = rd32(b + H_STRINGS);
	u64 rsv_end = rsv + 16ULL * ((u64)lib_num_mem_rsv(b) + 1), children = 0;
	int off = 0, next, depth = 0, max_depth = 0;
	bool root = false, top_prop = false, late_prop = false, huge_len = false;
	u32 tag;

	for (;; off = next) {
		tag = fdt_next_tag(b, off, &next);
		if (next < 0 || tag == FDT_END) break;
		if (tag == FDT_BEGIN_NODE) {
			root = true;
			if (depth < 63) children |= 1ULL << depth;
			if (++depth > max_depth) max_depth = depth;
			if (depth < 63) children &= ~(1ULL << depth);
		} else if (tag == FDT_END_NODE) {
			depth--;
		} else if (tag == FDT_PROP) {
			top_prop |= depth == 0;
			late_prop |= depth > 0 && depth < 63 && (children & (1ULL << depth));
			huge_len |= rd32(fdt_offset_ptr(b, off + 4, 4)) >= 0x80000000U;
		}
	}
	if (!strcmp(why, "unsupported version")) return ver < 16;
	if (!strcmp(why, "misaligned block")) return rsv % 8 || st % 4;
	if (!strcmp(why, "memreserve block out of bounds"))
		return (st >= rsv && rsv_end > st) || (rd32(b + H_SSTRINGS) && str >= rsv && rsv_end > str);
	if (!strcmp(why, "string offset out of range") || !strcmp(why, "unterminated property name")) return ver < 17;
	if (!strcmp(why, "nesting too deep")) return max_depth > FDT_MAX_DEPTH;
	if (!strcmp(why, "property outside any node")) return top_prop;
	if (!strcmp(why, "property after subnode")) return late_prop;
	if (!strcmp(why, "no root node")) return !root;
	if (!strcmp(why, "property length out of bounds")) return huge_len;
	return false;
}

static u32 interesting(u32 old, u32 near)
{
	static const u32 v[] = { 0, 1, 4, 7, 8, 16, 17, 36, 40, 56, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff };

	switch (rnd() % 4) {
	case 0: return v[rnd() % ARRAY_SIZE(v)];
	case 1: return old + (u32)(rnd() % 17) - 8;
	case 2: return near + (u32)(rnd() % 17) - 8;
	default: return (u32)rnd();
	}
}

/* One mutation of w (cap bytes allocated, *size of them the blob). */
static void mutate(u8 *w, size_t *size, size_t cap)
{
	static const u8 bytes[] = { 0, 1, 2, 3, 4, 9, 0x7f, 0x80, 0xff, '@', '/' };
	static const u32 tags[] = { 1, 2, 3, 4, 9, 0, 5, 0xffffffff };
	size_t n = *size;
	u32 st = rd32(w + H_STRUCT), sst = rd32(w + H_SSTRUCT), str = rd32(w + H_STRINGS), sstr = rd32(w + H_SSTRINGS);
	u32 off = st + 4 * (u32)(rnd() % (sst / 4 + 1)), f;

	switch (rnd() % 9) {
	case 0: w[rnd() % n] ^= (u8)(1 << rnd() % 8); break;
	case 1: w[rnd() % 40] ^= (u8)(1 << rnd() % 8); break;
	case 2: w[rnd() % n] = rnd() % 2 ? bytes[rnd() % sizeof(bytes)] : (u8)rnd(); break;
	case 3:
		f = 4 * (u32)(rnd() % 10);
		wr32(w + f, interesting(rd32(w + f), (u32)n));
		break;
	case 4: /* truncation, with or without a matching totalsize */
		*size = 40 + rnd() % (n - 39);
		if (rnd() % 2) wr32(w + H_TOTAL, (u32)*size);
		break;
	case 5: /* a token */
		if ((u64)off + 4 <= n) wr32(w + off, tags[rnd() % ARRAY_SIZE(tags)]);
		break;
	case 6: /* a length or name offset, near the end of the structure block */
		if ((u64)off + 4 <= n) wr32(w + off, interesting(rd32(w + off), st + sst - off));
		break;
	case 7: /* a strings-block byte: lose or gain a NUL */
		if (sstr && (u64)str + sstr <= n) w[str + rnd() % sstr] = rnd() % 2 ? 0 : (u8)('a' + rnd() % 26);
		break;
	default:
		f = (u32)(rnd() % 64);
		*size = MIN(cap, n + f);
		if (rnd() % 2) wr32(w + H_TOTAL, (u32)*size);
		break;
	}
}

static void test_mutations(void)
{
	enum { ITERATIONS = 25000 };
	int both = 0, only_lib = 0, only_ours = 0, neither = 0, walk_bad = 0, unexcused = 0;
	int why_count[ARRAY_SIZE(stricter)] = { 0 };
	struct machine_desc m;

	rng_state = 0x766d6b2d666474ULL;
	for (int it = 0; it < ITERATIONS; it++) {
		struct blob *src = &blobs[rnd() % (u64)nblobs];
		size_t size = src->size, cap = size + 64;
		u8 *w = calloc(1, cap), *b;
		const char *why = NULL;
		bool lib_ok, ours_ok;

		memcpy(w, src->data, size);
		for (int k = 1 + (int)(rnd() % 3); k > 0; k--) mutate(w, &size, cap);
		b = malloc(size); /* exactly the blob: ASan catches a read one byte past it */
		memcpy(b, w, size);
		free(w);
		lib_ok = fdt_check_full(b, size) == 0;
		ours_ok = fdt_check(b, size, &why) == 0;
		if (ours_ok || (size >= 40 && rd32(b + H_TOTAL) <= size)) ours_walk(b, fdt_root(b), 0);
		if (ours_ok) dt_parse_machine(b, size, &m, NULL);
		if (lib_ok && ours_ok) {
			both++;
			if (cmp_tree(b)) {
				if (!walk_bad++) printf("# iteration %d (%s): walks differ\n", it, src->name);
			}
		} else if (lib_ok) {
			only_lib++;
			if (!stricter_is_legit(b, why)) {
				if (!unexcused++) printf("# iteration %d (%s): refused \"%s\", libfdt accepts\n", it, src->name, why);
			} else {
				for (unsigned r = 0; r < ARRAY_SIZE(stricter); r++)
					if (!strcmp(why, stricter[r])) why_count[r]++;
			}
		} else if (ours_ok) {
			if (!only_ours++) printf("# iteration %d (%s): accepted, libfdt says %s\n", it, src->name,
						 fdt_strerror(fdt_check_full(b, size)));
		} else {
			neither++;
		}
		free(b);
	}
	printf("# %d mutants: %d accepted by both, %d refused by both, %d only by us (stricter), %d only by libfdt\n",
	       ITERATIONS, both, neither, only_lib, only_ours);
	for (unsigned r = 0; r < ARRAY_SIZE(stricter); r++)
		if (why_count[r]) printf("#   stricter \"%s\": %d\n", stricter[r], why_count[r]);
	CHECK_EQ(walk_bad, 0);
	CHECK_EQ(unexcused, 0);
	CHECK_EQ(only_ours, 0);
	CHECK(both > ITERATIONS / 20 && neither > ITERATIONS / 4); /* the mutations hit both sides */
}

static bool load_all(const char *dir)
{
	static const char *const mems[] = { "64M", "128M", "2G", "8G" };
	char name[64];
	bool ok = true;

	for (int i = 0; i < nblobs; i++) free(blobs[i].data);
	nblobs = 0;
	for (int smp = 1; smp <= 8; smp *= 2)
		for (unsigned i = 0; i < ARRAY_SIZE(mems); i++) {
			snprintf(name, sizeof(name), "qemu-smp%d-%s", smp, mems[i]);
			ok = ok && load_blob(dir, name);
		}
	for (unsigned i = 0; ok && i < ARRAY_SIZE(qemu_names); i++) ok = load_blob(dir, qemu_names[i]);
	for (unsigned i = 0; ok && i < ARRAY_SIZE(dts_names); i++) ok = load_blob(dir, dts_names[i]);
	return ok;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/vmk-dtbs-XXXXXX", cmd[1024];
	const char *slash = strrchr(__FILE__, '/');
	bool generated = false;

	/* A directory without QEMU's dumps (such as one holding only dts/ output) is made afresh by
	 * gen_dtbs.sh, which sits beside this file. */
	if (argc < 2 || !load_all(argv[1])) {
		if (!mkdtemp(tmp)) return 1;
		generated = true;
		snprintf(cmd, sizeof(cmd), "%.*sgen_dtbs.sh %s", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__, tmp);
		printf("# generating device trees: %s\n", cmd);
		if (system(cmd) || !load_all(tmp)) {
			printf("# could not make every DTB (needs qemu-system-riscv64 and dtc)\n");
			return 1;
		}
	}

	htest_begin("fdt", 16);
	htest_run("dtbs_valid", test_dtbs_valid);
	htest_run("walk_matches_libfdt", test_walk_matches_libfdt);
	htest_run("paths", test_paths);
	htest_run("memreserve", test_memreserve);
	htest_run("machine_matches_libfdt", test_machine_matches_libfdt);
	htest_run("dts_semantics", test_dts_semantics);
	htest_run("corrupt_header", test_corrupt_header);
	htest_run("corrupt_structure", test_corrupt_structure);
	htest_run("nesting", test_nesting);
	htest_run("bad_handles", test_bad_handles);
	htest_run("console_and_devices", test_console_and_devices);
	htest_run("memory_semantics", test_memory_semantics);
	htest_run("cpu_semantics", test_cpu_semantics);
	htest_run("chosen_semantics", test_chosen_semantics);
	htest_run("limits", test_limits);
	htest_run("mutations", test_mutations);
	free(ed);
	if (generated) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd)) printf("# could not remove %s\n", tmp);
	}
	return htest_end();
}
