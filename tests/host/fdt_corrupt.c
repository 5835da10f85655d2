/* Corruption cases of test_fdt: headers and structure blocks broken by hand, each refused with its
 * own reason by fdt_check and dt_parse_machine alike, and bad handles into a valid tree. */
#define HTEST_PART
#include "tests/host/test_fdt.h"

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

static void expect_hdr(u32 field, u32 val, const char *want)
{
	struct blob *b = find_blob("qemu-smp2-128M");
	u8 *c = copy_of(b);

	wr32(c + field, val);
	expect_why(c, b->size, want);
	free(c);
}

void test_corrupt_header(void)
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

void test_corrupt_structure(void)
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
	/* The cases fdt_check refuses although libfdt 1.6.1 takes them (see stricter_is_legit in fdt_mutate.c). */
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

void test_nesting(void)
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

void test_bad_handles(void)
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
