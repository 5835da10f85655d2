/* Host tests for kernel/elf.c and kernel/cpio.c, with tools/mkcpio.c linked in for round trips.
 * Usage: test_elf_cpio [riscv-elf ...]  -- the given ELF files (the built user programs) must be accepted. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/cpio.h"
#include "kernel/elf.h"
#include "tests/host/htest.h"

int mkcpio_main(int argc, char **argv);

static int g_argc;
static char **g_argv;

static u64 rng_state = 0x9e3779b97f4a7c15ULL;
static u64 rng(void) /* splitmix64: deterministic, so a failing mutation can be replayed */
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void put_le(u8 *p, u64 v, int n)
{
	for (int i = 0; i < n; i++) p[i] = (u8)(v >> (8 * i));
}

static u8 *read_file(const char *path, u64 *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *b = malloc(n > 0 ? n : 1);
	if (b && fread(b, 1, n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (u64)n;
	return b;
}

/* ---------------------------------------------------------------- ELF */

#define IMG_LEN 0x3000
#define PH(img, i) ((img) + 64 + 56 * (i))

static u8 img[IMG_LEN];
static u64 img_len;

/* A small valid executable: RX text at 0x10000 (file 0x1000), RW data+bss at 0x11000 (file 0x2000),
 * and a PT_GNU_STACK header that the parser must skip. Tests then break one field at a time. */
static void set_phdr(u8 *ph, u32 type, u32 flags, u64 off, u64 vaddr, u64 filesz, u64 memsz)
{
	put_le(ph, type, 4);
	put_le(ph + 4, flags, 4);
	put_le(ph + 8, off, 8);
	put_le(ph + 16, vaddr, 8);
	put_le(ph + 24, vaddr, 8);
	put_le(ph + 32, filesz, 8);
	put_le(ph + 40, memsz, 8);
	put_le(ph + 48, 0x1000, 8);
}

static void build_elf(void)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = 2;
	img[5] = 1;
	img[6] = 1;
	put_le(img + 16, 2, 2);      /* ET_EXEC */
	put_le(img + 18, 243, 2);    /* EM_RISCV */
	put_le(img + 20, 1, 4);      /* e_version */
	put_le(img + 24, 0x10010, 8); /* entry */
	put_le(img + 32, 64, 8);     /* phoff */
	put_le(img + 52, 64, 2);     /* ehsize */
	put_le(img + 54, 56, 2);     /* phentsize */
	put_le(img + 56, 3, 2);      /* phnum */
	set_phdr(PH(img, 0), 1, 5, 0x1000, 0x10000, 0x100, 0x100);
	set_phdr(PH(img, 1), 1, 6, 0x2000, 0x11000, 0x80, 0x1000);
	set_phdr(PH(img, 2), 0x6474e551, 6, 0, 0, 0, 0);
	for (int i = 0; i < 0x100; i++) img[0x1000 + i] = (u8)i;
	img_len = IMG_LEN;
}

/* Runs the parser on an exact-size heap copy so AddressSanitizer sees any read past the end. */
static int plan_of(const u8 *b, u64 len, struct elf_plan *p, const char **why)
{
	u8 *copy = malloc(len ? len : 1);
	memcpy(copy, b, len);
	int r = elf_plan(copy, len, p, why);
	free(copy);
	return r;
}

/* Rebuilds the image, applies `edit`, and expects rejection with a reason containing `needle`. */
#define EXPECT_REJECT(edit, needle)                                                        \
	do {                                                                               \
		struct elf_plan p_;                                                        \
		const char *why_ = NULL;                                                   \
		build_elf();                                                               \
		edit;                                                                      \
		int r_ = plan_of(img, img_len, &p_, &why_);                                \
		CHECK_EQ(r_, -ENOEXEC);                                                    \
		CHECK(why_ && strstr(why_, needle));                                       \
		if (!(why_ && strstr(why_, needle)))                                       \
			printf("#   edit '%s': got '%s'\n", #edit, why_ ? why_ : "(null)"); \
	} while (0)

#define EXPECT_ACCEPT(edit)                                              \
	do {                                                             \
		struct elf_plan p_;                                      \
		const char *why_ = NULL;                                 \
		build_elf();                                             \
		edit;                                                    \
		int r_ = plan_of(img, img_len, &p_, &why_);              \
		CHECK_EQ(r_, 0);                                         \
		if (r_) printf("#   edit '%s': %s\n", #edit, why_);   \
	} while (0)

/* Independent re-check of everything elf_plan promises, used on real binaries and fuzz survivors. */
static bool plan_is_sound(const struct elf_plan *p, u64 len)
{
	bool entry_ok = false;
	if (p->nsegs == 0 || p->nsegs > ELF_MAX_SEGS) return false;
	for (u32 i = 0; i < p->nsegs; i++) {
		const struct elf_seg *s = &p->segs[i];
		if (s->offset > len || s->filesz > len - s->offset || s->filesz > s->memsz) return false;
		if (s->vaddr < ELF_USER_MIN || s->memsz == 0 || s->memsz > ELF_USER_END - s->vaddr) return false;
		if (s->vaddr % PAGE_SIZE != s->offset % PAGE_SIZE) return false;
		if ((s->prot & ELF_PROT_W) && (s->prot & ELF_PROT_X)) return false;
		if (!s->prot || (s->prot & ~7u)) return false;
		for (u32 j = 0; j < i; j++) {
			const struct elf_seg *t = &p->segs[j];
			if (s->vaddr / PAGE_SIZE <= (t->vaddr + t->memsz - 1) / PAGE_SIZE &&
			    t->vaddr / PAGE_SIZE <= (s->vaddr + s->memsz - 1) / PAGE_SIZE)
				return false;
		}
		if ((s->prot & ELF_PROT_X) && p->entry >= s->vaddr && p->entry - s->vaddr < s->memsz) entry_ok = true;
	}
	return entry_ok;
}

static void test_elf_synthetic_ok(void)
{
	struct elf_plan p;
	const char *why = "unset";
	build_elf();
	CHECK_EQ(plan_of(img, img_len, &p, &why), 0);
	CHECK(why == NULL);
	CHECK_EQ(p.entry, 0x10010);
	CHECK_EQ(p.nsegs, 2);
	CHECK_EQ(p.segs[0].vaddr, 0x10000);
	CHECK_EQ(p.segs[0].offset, 0x1000);
	CHECK_EQ(p.segs[0].filesz, 0x100);
	CHECK_EQ(p.segs[0].prot, ELF_PROT_R | ELF_PROT_X);
	CHECK_EQ(p.segs[1].vaddr, 0x11000);
	CHECK_EQ(p.segs[1].memsz, 0x1000);
	CHECK_EQ(p.segs[1].filesz, 0x80);
	CHECK_EQ(p.segs[1].prot, ELF_PROT_R | ELF_PROT_W);
	CHECK(plan_is_sound(&p, img_len));
	CHECK_EQ(elf_plan(img, img_len, &p, NULL), 0); /* why may be NULL */
}

/* The user programs given on the command line must all load; without them, the host's own
 * executable stands in as a real binary that must be refused (wrong machine or PIE). */
static void test_elf_real_binaries(void)
{
	if (g_argc < 2) {
		u64 len;
		u8 *b = read_file("/proc/self/exe", &len);
		struct elf_plan p;
		const char *why = NULL;
		CHECK(b != NULL);
		if (!b) return;
		printf("# no RISC-V ELF paths given; checking the host binary is refused\n");
		CHECK_EQ(plan_of(b, len, &p, &why), -ENOEXEC);
		CHECK(why && (strstr(why, "ET_EXEC") || strstr(why, "RISC-V")));
		free(b);
		return;
	}
	for (int i = 1; i < g_argc; i++) {
		u64 len;
		u8 *b = read_file(g_argv[i], &len);
		struct elf_plan p;
		const char *why = NULL;
		CHECK(b != NULL);
		if (!b) continue;
		int r = plan_of(b, len, &p, &why);
		CHECK_EQ(r, 0);
		if (r) printf("# %s: %s\n", g_argv[i], why);
		if (r == 0) {
			CHECK(plan_is_sound(&p, len));
			/* user/user.ld puts _start first in text at the program base */
			CHECK_EQ(p.entry, 0x10000);
			CHECK_EQ(p.segs[0].prot, ELF_PROT_R | ELF_PROT_X);
		}
		free(b);
	}
}

static void test_elf_bad_ident(void)
{
	EXPECT_REJECT(img[0] = 0x7e, "magic");
	EXPECT_REJECT(img[3] = 'G', "magic");
	EXPECT_REJECT(img[4] = 1, "ELFCLASS64");
	EXPECT_REJECT(img[5] = 2, "little-endian");
	EXPECT_REJECT(img[6] = 0, "ident version");
	EXPECT_REJECT(img_len = 63, "shorter");
	EXPECT_REJECT(img_len = 0, "shorter");
}

static void test_elf_bad_type_machine(void)
{
	EXPECT_REJECT(put_le(img + 16, 3, 2), "ET_EXEC"); /* ET_DYN */
	EXPECT_REJECT(put_le(img + 16, 1, 2), "ET_EXEC"); /* ET_REL */
	EXPECT_REJECT(put_le(img + 18, 62, 2), "RISC-V");
	EXPECT_REJECT(put_le(img + 20, 0, 4), "ELF version");
	EXPECT_REJECT(put_le(img + 52, 52, 2), "e_ehsize");
}

static void test_elf_phdr_bounds(void)
{
	EXPECT_REJECT(put_le(img + 54, 32, 2), "e_phentsize");
	EXPECT_REJECT(put_le(img + 56, 0, 2), "no program headers");
	EXPECT_REJECT(put_le(img + 32, IMG_LEN + 1, 8), "program headers beyond");
	EXPECT_REJECT(put_le(img + 32, ~0ULL - 8, 8), "program headers beyond");
	EXPECT_REJECT(put_le(img + 32, IMG_LEN - 3 * 56 + 1, 8), "program headers beyond");
	EXPECT_REJECT(put_le(img + 56, 0xffff, 2), "program headers beyond");
	EXPECT_REJECT(img_len = 64 + 2 * 56, "program headers beyond");
	/* Headers that end exactly at the end of the file are fine. */
	EXPECT_ACCEPT(memcpy(img + IMG_LEN - 3 * 56, PH(img, 0), 3 * 56); put_le(img + 32, IMG_LEN - 3 * 56, 8));
}

static void test_elf_segment_file_bounds(void)
{
	EXPECT_REJECT(put_le(PH(img, 0) + 8, IMG_LEN + 0x1000, 8), "beyond end of file");
	EXPECT_REJECT(put_le(PH(img, 1) + 32, IMG_LEN - 0x2000 + 1, 8); put_le(PH(img, 1) + 40, 0x2000, 8),
		      "beyond end of file");
	EXPECT_REJECT(put_le(PH(img, 0) + 8, ~0ULL - 0xfff, 8); put_le(PH(img, 0) + 32, 0x2000, 8), "beyond end");
	EXPECT_REJECT(put_le(PH(img, 1) + 40, 0x7f, 8), "filesz larger than memsz");
	EXPECT_ACCEPT(put_le(PH(img, 1) + 32, IMG_LEN - 0x2000, 8)); /* data runs exactly to the end */
}

static void test_elf_segment_user_range(void)
{
	EXPECT_REJECT(put_le(PH(img, 0) + 16, 0, 8); put_le(img + 24, 0x10, 8); put_le(PH(img, 0) + 8, 0, 8),
		      "user address range");
	EXPECT_REJECT(put_le(PH(img, 0) + 16, 0x800, 8), "user address range");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, (1ULL << 38) - 0x1000, 8); put_le(PH(img, 1) + 40, 0x1001, 8),
		      "user address range");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 1ULL << 38, 8), "user address range");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 0xffffffff80000000ULL, 8), "user address range");
	EXPECT_REJECT(put_le(PH(img, 1) + 40, ~0ULL - 0x10000, 8), "user address range"); /* wraps */
	EXPECT_ACCEPT(put_le(PH(img, 1) + 16, (1ULL << 38) - 0x1000, 8)); /* last user page */
}

static void test_elf_congruence_overlap(void)
{
	EXPECT_REJECT(put_le(PH(img, 0) + 8, 0x1001, 8), "congruent");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 0x10800, 8); put_le(PH(img, 1) + 8, 0x2800, 8), "share a page");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 0xf000, 8); put_le(PH(img, 1) + 40, 0x1001, 8), "share a page");
	EXPECT_ACCEPT(put_le(PH(img, 1) + 16, 0x11ff0, 8); put_le(PH(img, 1) + 8, 0x2ff0, 8);
		      put_le(PH(img, 1) + 32, 0x10, 8));
}

static void test_elf_flags(void)
{
	EXPECT_REJECT(put_le(PH(img, 0) + 4, 7, 4), "writable and executable");
	EXPECT_REJECT(put_le(PH(img, 1) + 4, 3, 4), "writable and executable");
	EXPECT_REJECT(put_le(PH(img, 1) + 4, 2, 4), "not readable");
	EXPECT_REJECT(put_le(PH(img, 1) + 4, 0, 4), "no access");
	EXPECT_REJECT(put_le(PH(img, 1) + 4, 0x14, 4), "unknown segment flags");
	EXPECT_ACCEPT(put_le(PH(img, 0) + 4, 1, 4)); /* execute-only text exists on RISC-V */
}

static void test_elf_entry(void)
{
	EXPECT_REJECT(put_le(img + 24, 0x11000, 8), "non-executable");
	EXPECT_REJECT(put_le(img + 24, 0x10100, 8), "outside every segment");
	EXPECT_REJECT(put_le(img + 24, 0x0, 8), "outside every segment");
	EXPECT_REJECT(put_le(img + 24, 0x10011, 8), "misaligned entry");
	EXPECT_ACCEPT(put_le(img + 24, 0x100fe, 8));
}

static void test_elf_segment_count(void)
{
	/* Eight one-page text segments fit; a ninth does not. */
	EXPECT_ACCEPT(put_le(img + 56, 8, 2);
		      for (int i = 0; i < 8; i++) set_phdr(PH(img, i), 1, 5, 0x1000, 0x10000 + 0x1000 * i, 0x10, 0x100));
	EXPECT_REJECT(put_le(img + 56, 9, 2);
		      for (int i = 0; i < 9; i++) set_phdr(PH(img, i), 1, 5, 0x1000, 0x10000 + 0x1000 * i, 0x10, 0x100),
		      "too many");
	EXPECT_REJECT(put_le(PH(img, 0), 4, 4); put_le(PH(img, 1), 4, 4), "no loadable");
	EXPECT_REJECT(put_le(PH(img, 2), 3, 4), "dynamically linked");
	EXPECT_REJECT(put_le(PH(img, 2), 2, 4), "dynamically linked");
	/* An empty PT_LOAD is valid but not part of the plan. */
	struct elf_plan p;
	build_elf();
	set_phdr(PH(img, 2), 1, 4, 0, 0x20000, 0, 0);
	CHECK_EQ(plan_of(img, img_len, &p, NULL), 0);
	CHECK_EQ(p.nsegs, 2);
}

/* Random damage to a valid image (the first real ELF if given) must never crash, and anything that is
 * still accepted must satisfy every promise of the plan. */
static void test_elf_fuzz(void)
{
	u64 base_len = IMG_LEN;
	u8 *base = NULL;
	if (g_argc >= 2) base = read_file(g_argv[1], &base_len);
	if (!base) {
		build_elf();
		base = malloc(IMG_LEN);
		memcpy(base, img, IMG_LEN);
		base_len = IMG_LEN;
	}
	u8 *m = malloc(base_len);
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, base, base_len);
		int edits = 1 + (int)(rng() % 6);
		for (int e = 0; e < edits; e++) {
			/* Mostly hit the headers, where the parser looks. */
			u64 span = (rng() & 3) ? MIN(base_len, 64 + 56 * 10) : base_len;
			u64 at = rng() % span;
			switch (rng() % 4) {
			case 0: m[at] = (u8)rng(); break;
			case 1: m[at] ^= (u8)(1u << (rng() % 8)); break;
			case 2: if (at + 8 <= base_len) put_le(m + at, rng(), 8); break;
			default: if (at + 8 <= base_len) put_le(m + at, ~0ULL - (rng() % 0x2000), 8); break;
			}
		}
		u64 len = (rng() % 8 == 0) ? rng() % (base_len + 1) : base_len;
		struct elf_plan p;
		const char *why = NULL;
		int r = plan_of(m, len, &p, &why);
		if (r == 0) {
			accepted++;
			CHECK(plan_is_sound(&p, len));
		} else {
			CHECK_EQ(r, -ENOEXEC);
			CHECK(why != NULL);
		}
	}
	printf("# elf fuzz: %d of 20000 mutants still accepted (all verified sound)\n", accepted);
	free(m);
	free(base);
}

/* ---------------------------------------------------------------- cpio */

static char tmpdir[64];
static u8 *ar;
static u64 ar_len;

static const char *file_names[3] = {"init", "empty", "odd"};
static const char *file_bodies[3] = {"#!init body 0123456789", "", "12345"};

static void write_file(const char *path, const char *body)
{
	FILE *f = fopen(path, "wb");
	fwrite(body, 1, strlen(body), f);
	fclose(f);
}

/* Builds the reference archive with mkcpio: "/init", "empty", "./odd" (so all three prefixes occur). */
static int make_archive(void)
{
	char paths[3][128], args[3][160], out[128];
	const char *stored[3] = {"/init", "empty", "./odd"};
	char *argv[6];
	snprintf(out, sizeof(out), "%s/ref.cpio", tmpdir);
	argv[0] = "mkcpio";
	argv[1] = out;
	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", tmpdir, file_names[i]);
		write_file(paths[i], file_bodies[i]);
		snprintf(args[i], sizeof(args[i]), "%s=%s", stored[i], paths[i]);
		argv[2 + i] = args[i];
	}
	argv[5] = NULL;
	int rc = mkcpio_main(5, argv);
	if (rc == 0) ar = read_file(out, &ar_len);
	return rc;
}

static int find_in(const u8 *b, u64 len, const char *name, const void **data, u64 *size)
{
	u8 *copy = malloc(len ? len : 1);
	memcpy(copy, b, len);
	int r = cpio_find(copy, len, name, data, size);
	/* data points into the copy; callers compare before it is freed */
	if (r == 0 && *data) {
		static u8 keep[256];
		memcpy(keep, *data, MIN(*size, sizeof(keep)));
		*data = keep;
	}
	free(copy);
	return r;
}

static int check_copy(const u8 *b, u64 len, const char **why)
{
	u8 *copy = malloc(len ? len : 1);
	memcpy(copy, b, len);
	int r = cpio_check(copy, len, why);
	free(copy);
	return r;
}

static void test_cpio_roundtrip(void)
{
	CHECK_EQ(make_archive(), 0);
	CHECK(ar != NULL);
	if (!ar) return;
	CHECK_EQ(ar_len % 4, 0);
	CHECK_EQ(check_copy(ar, ar_len, NULL), 0);
	const char *prefixes[3] = {"", "/", "./"};
	for (int i = 0; i < 3; i++)
		for (int p = 0; p < 3; p++) {
			char name[32];
			const void *data = NULL;
			u64 size = 99;
			snprintf(name, sizeof(name), "%s%s", prefixes[p], file_names[i]);
			CHECK_EQ(find_in(ar, ar_len, name, &data, &size), 0);
			CHECK_EQ(size, strlen(file_bodies[i]));
			CHECK(data && memcmp(data, file_bodies[i], size) == 0);
		}
	const void *data;
	u64 size;
	CHECK_EQ(find_in(ar, ar_len, "missing", &data, &size), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "ini", &data, &size), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "init2", &data, &size), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "", &data, &size), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "/", &data, &size), -ENOENT);

	struct cpio_iter it;
	struct cpio_entry e;
	const char *stored[3] = {"/init", "empty", "./odd"};
	cpio_iter_init(&it, ar, ar_len);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(cpio_next(&it, &e), 1);
		CHECK(strcmp(e.name, stored[i]) == 0);
		CHECK_EQ(e.namelen, strlen(stored[i]));
		CHECK_EQ(e.size, strlen(file_bodies[i]));
		CHECK_EQ(e.mode, 0100755);
		CHECK(((uptr)e.data - (uptr)ar) % 4 == 0);
	}
	CHECK_EQ(cpio_next(&it, &e), 0);
	CHECK_EQ(cpio_next(&it, &e), 0);
	/* Trailing block padding after the trailer is ignored. */
	u8 *padded = calloc(1, ar_len + 512);
	memcpy(padded, ar, ar_len);
	CHECK_EQ(check_copy(padded, ar_len + 512, NULL), 0);
	free(padded);
}

static void test_mkcpio_bad_args(void)
{
	printf("# mkcpio errors on stderr below are expected\n");
	fflush(stdout);
	char out[128], bad[160];
	snprintf(out, sizeof(out), "%s/bad.cpio", tmpdir);
	char *a1[] = {"mkcpio", out, "noequals", NULL};
	CHECK(mkcpio_main(3, a1) != 0);
	snprintf(bad, sizeof(bad), "x=%s/does-not-exist", tmpdir);
	char *a2[] = {"mkcpio", out, bad, NULL};
	CHECK(mkcpio_main(3, a2) != 0);
	CHECK(access(out, F_OK) != 0); /* a failed run leaves no half-written archive */
	char *a3[] = {"mkcpio", NULL};
	CHECK(mkcpio_main(1, a3) != 0);
}

/* Every prefix that stops before the trailer's name is complete is a truncated archive. */
static void test_cpio_truncations(void)
{
	CHECK(ar != NULL);
	if (!ar) return;
	u64 trailer_end = ar_len - 124 + 110 + 11; /* the trailer entry is 110 + 11 bytes, padded to 124 */
	for (u64 len = 0; len < trailer_end; len++) {
		const char *why = NULL;
		const void *data;
		u64 size;
		CHECK_EQ(check_copy(ar, len, &why), -EINVAL);
		CHECK(why != NULL);
		CHECK_EQ(find_in(ar, len, "init", &data, &size), -EINVAL);
	}
	CHECK_EQ(check_copy(ar, trailer_end, NULL), 0);
}

#define EXPECT_CPIO_BAD(edit, needle)                                                   \
	do {                                                                            \
		u8 *m_ = malloc(ar_len);                                                \
		u64 len_ = ar_len;                                                      \
		const char *why_ = NULL;                                                \
		const void *d_;                                                         \
		u64 s_;                                                                 \
		memcpy(m_, ar, ar_len);                                                 \
		edit;                                                                   \
		CHECK_EQ(check_copy(m_, len_, &why_), -EINVAL);                         \
		CHECK(why_ && strstr(why_, needle));                                    \
		if (!(why_ && strstr(why_, needle)))                                    \
			printf("#   edit '%s': got '%s'\n", #edit, why_ ? why_ : "(null)"); \
		CHECK_EQ(find_in(m_, len_, "odd", &d_, &s_), -EINVAL);                  \
		free(m_);                                                               \
	} while (0)

static void set_field(u8 *m, u64 hdr, int field, u32 v)
{
	char tmp[9];
	snprintf(tmp, sizeof(tmp), "%08X", v);
	memcpy(m + hdr + 6 + 8 * field, tmp, 8);
}

static void test_cpio_corruptions(void)
{
	CHECK(ar != NULL);
	if (!ar) return;
	u64 second; /* offset of the second header ("empty") */
	struct cpio_iter it;
	struct cpio_entry e;
	cpio_iter_init(&it, ar, ar_len);
	cpio_next(&it, &e);
	second = it.pos; /* header of "empty" */

	EXPECT_CPIO_BAD(m_[0] = '1', "magic");
	EXPECT_CPIO_BAD(memcpy(m_ + second, "070702", 6), "magic");
	for (int f = 0; f < 13; f++) EXPECT_CPIO_BAD(m_[6 + 8 * f + (f % 8)] = 'g', "hex");
	EXPECT_CPIO_BAD(m_[6 + 8 * 6] = ' ', "hex");
	EXPECT_CPIO_BAD(set_field(m_, 0, 6, 0xffffffff), "past end");
	EXPECT_CPIO_BAD(set_field(m_, 0, 6, (u32)ar_len), "past end");
	EXPECT_CPIO_BAD(set_field(m_, 0, 11, 0xffffffff), "name size too large");
	EXPECT_CPIO_BAD(set_field(m_, 0, 11, 0), "zero name size");
	EXPECT_CPIO_BAD(set_field(m_, second, 11, 4000), "past end");
	EXPECT_CPIO_BAD(m_[110 + 5] = 'x', "not NUL-terminated");
	EXPECT_CPIO_BAD(m_[110 + 2] = '\0', "NUL inside name");
	/* Cut the trailer off: the archive just stops after its last entry. */
	EXPECT_CPIO_BAD(len_ = ar_len - 124, "TRAILER");
	/* Rename the trailer so the walk runs into the end. */
	EXPECT_CPIO_BAD(m_[ar_len - 124 + 110] = 'X', "TRAILER");
	/* A directory called "odd" is not the file "odd". */
	u8 *m = malloc(ar_len);
	const void *d;
	u64 s;
	memcpy(m, ar, ar_len);
	cpio_iter_init(&it, m, ar_len);
	cpio_next(&it, &e);
	cpio_next(&it, &e);
	set_field(m, it.pos, 1, 040755);
	CHECK_EQ(find_in(m, ar_len, "odd", &d, &s), -ENOENT);
	CHECK_EQ(find_in(m, ar_len, "init", &d, &s), 0);
	free(m);
}

static void test_cpio_fuzz(void)
{
	CHECK(ar != NULL);
	if (!ar) return;
	u8 *m = malloc(ar_len);
	int ok = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, ar, ar_len);
		int edits = 1 + (int)(rng() % 4);
		for (int k = 0; k < edits; k++) {
			u64 at = rng() % ar_len;
			switch (rng() % 3) {
			case 0: m[at] = (u8)rng(); break;
			case 1: m[at] = "0123456789abcdefFgx/\0"[rng() % 21]; break;
			default: {
				char tmp[9];
				snprintf(tmp, sizeof(tmp), "%08X", (unsigned)(rng() >> (rng() % 32)));
				memcpy(m + at, tmp, MIN(8, ar_len - at));
			}
			}
		}
		u64 len = (rng() % 4 == 0) ? rng() % (ar_len + 1) : ar_len;
		u8 *copy = malloc(len ? len : 1);
		memcpy(copy, m, len);
		struct cpio_iter it;
		struct cpio_entry e;
		int r;
		cpio_iter_init(&it, copy, len);
		while ((r = cpio_next(&it, &e)) > 0) {
			CHECK((const u8 *)e.name >= copy && (const u8 *)e.name + e.namelen < copy + len);
			CHECK(e.name[e.namelen] == '\0');
			CHECK((const u8 *)e.data >= copy && e.size <= (u64)(copy + len - (const u8 *)e.data));
		}
		CHECK(r == 0 || (r == -EINVAL && it.why));
		if (r == 0) ok++;
		const void *d;
		u64 s;
		int f = cpio_find(copy, len, "odd", &d, &s);
		CHECK(f == 0 || f == -ENOENT || f == -EINVAL);
		CHECK((f == -EINVAL) == (r != 0));
		free(copy);
	}
	printf("# cpio fuzz: %d of 20000 mutants still well formed (all entries in bounds)\n", ok);
	free(m);
}

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_elf_cpio.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	htest_begin("elf_cpio", 17);
	htest_run("elf_synthetic_ok", test_elf_synthetic_ok);
	htest_run("elf_real_binaries", test_elf_real_binaries);
	htest_run("elf_bad_ident", test_elf_bad_ident);
	htest_run("elf_bad_type_machine", test_elf_bad_type_machine);
	htest_run("elf_phdr_bounds", test_elf_phdr_bounds);
	htest_run("elf_segment_file_bounds", test_elf_segment_file_bounds);
	htest_run("elf_segment_user_range", test_elf_segment_user_range);
	htest_run("elf_congruence_overlap", test_elf_congruence_overlap);
	htest_run("elf_flags", test_elf_flags);
	htest_run("elf_entry", test_elf_entry);
	htest_run("elf_segment_count", test_elf_segment_count);
	htest_run("elf_fuzz", test_elf_fuzz);
	htest_run("cpio_roundtrip", test_cpio_roundtrip);
	htest_run("mkcpio_bad_args", test_mkcpio_bad_args);
	htest_run("cpio_truncations", test_cpio_truncations);
	htest_run("cpio_corruptions", test_cpio_corruptions);
	htest_run("cpio_fuzz", test_cpio_fuzz);
	free(ar);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
	return htest_end();
}
