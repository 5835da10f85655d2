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
static int lib_get_mem_rsv(const void *f, int n, uint64_t *a, uint64_t *s) { return fdt_get_mem_rsv(f, n, a, s); }

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

static u32 rd32(const u8 *p) { return fdt_be32(p); }
static void wr32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
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
	if ((op < 0) != (lp < 0) || (op >= 0 && op != lp)) bad += mismatch("parent", ours);
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
	CHECK_EQ(fdt_path_offset_len(b, "/soc/serial@10000000:115200", 20), lib_path_offset(b, "/soc/serial@10000000"));
}
