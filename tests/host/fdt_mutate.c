/* The mutation case of test_fdt: seeded random damage to every loaded blob, with our reader and
 * libfdt expected to agree on each mutant except where we are stricter on purpose. */
#define HTEST_PART
#include "tests/host/test_fdt.h"

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

void test_mutations(void)
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
