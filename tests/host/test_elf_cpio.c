/* Host tests for kernel/elf.c and kernel/cpio.c, with tools/mkcpio.c linked in for round trips.
 * Usage: test_elf_cpio [file ...]: ELF files (the built user programs) must load, other files must be
 * refused, *.cpio archives are walked and judged entry by entry, directories are skipped. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kernel/cpio.h"
#include "kernel/elf.h"
#include "tests/host/htest.h"

int mkcpio_main(int argc, char **argv);

static int g_argc; /* the command line: files to judge as real programs */
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

/* Reads a whole regular file (NULL for anything else, such as a directory given by a glob). */
static u8 *read_file(const char *path, u64 *len)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) return NULL;
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	u8 *b = malloc(st.st_size > 0 ? st.st_size : 1);
	size_t got = b ? fread(b, 1, st.st_size, f) : 0;
	fclose(f);
	*len = (u64)st.st_size;
	if (got == (size_t)st.st_size) return b;
	free(b);
	return NULL;
}

/* An exact-size heap copy, so AddressSanitizer catches any read past the end of what the parser got. */
static u8 *dup_exact(const u8 *b, u64 len)
{
	u8 *copy = malloc(len ? len : 1);
	memcpy(copy, b, len);
	return copy;
}

/* 1..6 random edits: random bytes, bit flips, hex-ish characters, 8-digit hex fields and extreme u64s.
 * `span` limits where they land (the fuzzers aim mostly at headers, where the parsers look). */
static void mutate(u8 *m, u64 len, u64 span)
{
	for (int k = 1 + (int)(rng() % 6); k > 0; k--) {
		u64 at = rng() % span;
		char hex[9];
		switch (rng() % 5) {
		case 0: m[at] = (u8)rng(); break;
		case 1: m[at] ^= (u8)(1u << (rng() % 8)); break;
		case 2: m[at] = "0123456789abcdefFgx/\0"[rng() % 21]; break;
		case 3:
			snprintf(hex, sizeof(hex), "%08X", (unsigned)(rng() >> (rng() % 32)));
			memcpy(m + at, hex, MIN(8, len - at));
			break;
		default: if (at + 8 <= len) put_le(m + at, (rng() & 1) ? rng() : ~0ULL - rng() % 0x2000, 8);
		}
	}
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
	const u64 fields[6] = {off, vaddr, vaddr, filesz, memsz, 0x1000}; /* offset, vaddr, paddr, ..., align */
	put_le(ph, type, 4);
	put_le(ph + 4, flags, 4);
	for (int i = 0; i < 6; i++) put_le(ph + 8 + 8 * i, fields[i], 8);
}

static void build_elf(void)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF\2\1\1", 7); /* ELFCLASS64, little-endian, ident version 1 */
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

static int plan_of(const u8 *b, u64 len, struct elf_plan *p, const char **why)
{
	u8 *copy = dup_exact(b, len);
	int r = elf_plan(copy, len, p, why);
	free(copy);
	return r;
}

/* Checks the current image: needle NULL means it must be accepted, otherwise rejected with a reason
 * containing needle. EXPECT_* rebuild the image and apply one edit first. */
static void expect_plan(const char *edit, const char *needle)
{
	struct elf_plan p;
	const char *why = NULL;
	int r = plan_of(img, img_len, &p, &why);
	bool ok = needle ? r == -ENOEXEC && why && strstr(why, needle) : r == 0;
	CHECK(ok);
	if (!ok) printf("#   edit '%s': got %d '%s'\n", edit, r, why ? why : "(null)");
}
#define EXPECT_REJECT(edit, needle) do { build_elf(); edit; expect_plan(#edit, needle); } while (0)
#define EXPECT_ACCEPT(edit) do { build_elf(); edit; expect_plan(#edit, NULL); } while (0)

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
	static const struct elf_seg want[2] = {{0x10000, 0x100, 0x1000, 0x100, ELF_PROT_R | ELF_PROT_X},
					       {0x11000, 0x1000, 0x2000, 0x80, ELF_PROT_R | ELF_PROT_W}};
	for (int i = 0; i < 2; i++) {
		const struct elf_seg *g = &p.segs[i], *w = &want[i];
		CHECK(g->vaddr == w->vaddr && g->memsz == w->memsz && g->offset == w->offset &&
		      g->filesz == w->filesz && g->prot == w->prot);
	}
	CHECK(plan_is_sound(&p, img_len));
	CHECK_EQ(elf_plan(img, img_len, &p, NULL), 0); /* why may be NULL */
}

/* A real file: if `ours`, anything with the ELF magic must be one of our user programs and load;
 * anything else must be refused. Returns 1 for a loaded ELF, else 0. */
static int check_real_image(const char *name, const u8 *b, u64 len, bool ours)
{
	struct elf_plan p;
	const char *why = NULL;
	int r = plan_of(b, len, &p, &why);
	if (!ours || len < 4 || memcmp(b, "\x7f" "ELF", 4) != 0) {
		CHECK(r == -ENOEXEC && why != NULL);
		return 0;
	}
	if (r) printf("# %s: %s\n", name, why);
	CHECK_EQ(r, 0);
	if (r) return 0;
	CHECK(plan_is_sound(&p, len));
	CHECK_EQ(p.entry, 0x10000); /* user/user.ld puts _start first in text at the base */
	CHECK_EQ(p.segs[0].prot, ELF_PROT_R | ELF_PROT_X);
	return 1;
}

/* The files on the command line (user programs, the initrd: directories are skipped) must be judged
 * right; without arguments, the host's own executable must be refused (wrong machine or PIE). */
static void test_elf_real_binaries(void)
{
	bool host = g_argc < 2;
	int elfs = 0;
	for (int i = host ? 0 : 1; i < (host ? 1 : g_argc); i++) {
		const char *path = host ? "/proc/self/exe" : g_argv[i];
		struct stat st;
		u64 len;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) continue;
		u8 *b = read_file(path, &len);
		CHECK(b != NULL);
		if (!b) continue;
		size_t n = strlen(path);
		if (n > 5 && strcmp(path + n - 5, ".cpio") == 0) {
			struct cpio_iter it;
			struct cpio_entry e;
			int r;
			cpio_iter_init(&it, b, len);
			while ((r = cpio_next(&it, &e)) > 0) elfs += check_real_image(e.name, e.data, e.size, true);
			CHECK_EQ(r, 0);
		} else {
			elfs += check_real_image(path, b, len, !host);
		}
		free(b);
	}
	printf("# %s: %d real ELF programs loaded\n", host ? "no files given, host binary refused" : "files", elfs);
	CHECK(host || elfs > 0);
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
		      "program area");
	EXPECT_REJECT(put_le(PH(img, 0) + 16, 0x800, 8), "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, VMK_PROG_TOP - 0x1000, 8); put_le(PH(img, 1) + 40, 0x1001, 8),
		      "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 1ULL << 38, 8), "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, 0xffffffff80000000ULL, 8), "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 40, ~0ULL - 0x10000, 8), "program area"); /* wraps */
	/* issue 9 defect 11: a segment over the stack, or inside the shm window, is not a program. */
	EXPECT_REJECT(put_le(PH(img, 1) + 16, VMK_STACK_TOP - VMK_STACK_SIZE, 8), "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, VMK_SHM_BASE, 8), "program area");
	EXPECT_REJECT(put_le(PH(img, 1) + 16, VMK_SHM_BASE + 0x100000, 8), "program area");
	EXPECT_ACCEPT(put_le(PH(img, 1) + 16, VMK_PROG_TOP - 0x1000, 8)); /* last page of the program area */
}

/* The page count a loader checks against the quota: every page a segment touches, zero-fill included. */
static void test_elf_plan_pages(void)
{
	struct elf_plan p;
	build_elf();
	CHECK_EQ(plan_of(img, img_len, &p, NULL), 0);
	CHECK_EQ(elf_plan_pages(&p), 2);
	put_le(PH(img, 1) + 40, 10ULL << 30, 8); /* a 10 GiB zero-filled tail: valid, but 2^21 + 1 pages */
	CHECK_EQ(plan_of(img, img_len, &p, NULL), 0);
	CHECK_EQ(elf_plan_pages(&p), (10ULL << 30 >> 12) + 1);
	build_elf();
	put_le(PH(img, 1) + 40, 0x1001, 8); /* one byte into the next page costs the whole page */
	CHECK_EQ(plan_of(img, img_len, &p, NULL), 0);
	CHECK_EQ(elf_plan_pages(&p), 3);
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
	for (int i = 1; i < g_argc && !base; i++) {
		struct elf_plan p;
		base = read_file(g_argv[i], &base_len);
		if (base && plan_of(base, base_len, &p, NULL) != 0) {
			free(base);
			base = NULL;
		}
	}
	if (!base) {
		build_elf();
		base = dup_exact(img, base_len = IMG_LEN);
	}
	u8 *m = malloc(base_len);
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, base, base_len);
		mutate(m, base_len, (rng() & 3) ? MIN(base_len, 64 + 56 * 10) : base_len);
		u64 len = (rng() % 8 == 0) ? rng() % (base_len + 1) : base_len;
		struct elf_plan p;
		const char *why = NULL;
		int r = plan_of(m, len, &p, &why);
		accepted += r == 0;
		CHECK(r == 0 ? plan_is_sound(&p, len) : r == -ENOEXEC && why != NULL);
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
static const char *stored_names[3] = {"/init", "empty", "./odd"}; /* all three prefix forms */

/* Builds the reference archive with mkcpio from three files written to tmpdir. */
static int make_archive(void)
{
	char paths[3][128], args[3][160], out[128];
	char *argv[6] = {"mkcpio", out, args[0], args[1], args[2], NULL};
	snprintf(out, sizeof(out), "%s/ref.cpio", tmpdir);
	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", tmpdir, file_names[i]);
		FILE *f = fopen(paths[i], "wb");
		if (!f || fwrite(file_bodies[i], 1, strlen(file_bodies[i]), f) != strlen(file_bodies[i])) return -1;
		fclose(f);
		snprintf(args[i], sizeof(args[i]), "%s=%s", stored_names[i], paths[i]);
	}
	int rc = mkcpio_main(5, argv);
	if (rc == 0) ar = read_file(out, &ar_len);
	return rc;
}

/* The cpio cases after cpio_roundtrip work on its archive. */
#define NEED_ARCHIVE() do { CHECK(ar != NULL); if (!ar) return; } while (0)

/* Looks name up in an exact-size copy; on success the found bytes must equal want (when given). */
static int find_in(const u8 *b, u64 len, const char *name, const char *want)
{
	u8 *copy = dup_exact(b, len);
	const void *data = NULL;
	u64 size = 0;
	int r = cpio_find(copy, len, name, &data, &size);
	if (r == 0 && want) {
		CHECK_EQ(size, strlen(want));
		CHECK(data && memcmp(data, want, size) == 0);
	}
	free(copy);
	return r;
}

static int check_copy(const u8 *b, u64 len, const char **why)
{
	u8 *copy = dup_exact(b, len);
	int r = cpio_check(copy, len, why);
	free(copy);
	return r;
}

static void test_cpio_roundtrip(void)
{
	CHECK_EQ(make_archive(), 0);
	NEED_ARCHIVE();
	CHECK_EQ(ar_len % 4, 0);
	CHECK_EQ(check_copy(ar, ar_len, NULL), 0);
	const char *prefixes[3] = {"", "/", "./"};
	for (int i = 0; i < 3; i++)
		for (int p = 0; p < 3; p++) {
			char name[32];
			snprintf(name, sizeof(name), "%s%s", prefixes[p], file_names[i]);
			CHECK_EQ(find_in(ar, ar_len, name, file_bodies[i]), 0);
		}
	CHECK_EQ(find_in(ar, ar_len, "missing", NULL), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "ini", NULL), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "init2", NULL), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "", NULL), -ENOENT);
	CHECK_EQ(find_in(ar, ar_len, "/", NULL), -ENOENT);

	struct cpio_iter it;
	struct cpio_entry e;
	cpio_iter_init(&it, ar, ar_len);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(cpio_next(&it, &e), 1);
		CHECK(strcmp(e.name, stored_names[i]) == 0);
		CHECK_EQ(e.namelen, strlen(stored_names[i]));
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
	NEED_ARCHIVE();
	u64 trailer_end = ar_len - 124 + 110 + 11; /* the trailer entry is 110 + 11 bytes, padded to 124 */
	for (u64 len = 0; len < trailer_end; len++) {
		const char *why = NULL;
		CHECK_EQ(check_copy(ar, len, &why), -EINVAL);
		CHECK(why != NULL);
		CHECK_EQ(find_in(ar, len, "init", NULL), -EINVAL);
	}
	CHECK_EQ(check_copy(ar, trailer_end, NULL), 0);
}

/* Applies one edit to a fresh copy of the reference archive; it must then be refused with a reason
 * containing needle, by cpio_check and by cpio_find alike. */
static void expect_cpio_bad(u8 *m, u64 len, const char *edit, const char *needle)
{
	const char *why = NULL;
	int r = check_copy(m, len, &why);
	bool ok = r == -EINVAL && why && strstr(why, needle) && find_in(m, len, "odd", NULL) == -EINVAL;
	CHECK(ok);
	if (!ok) printf("#   edit '%s': got %d '%s'\n", edit, r, why ? why : "(null)");
	free(m);
}
#define EXPECT_CPIO_BAD(edit, needle) \
	do { u8 *m_ = dup_exact(ar, ar_len); u64 len_ = ar_len; edit; \
	     expect_cpio_bad(m_, len_, #edit, needle); } while (0)

static void set_field(u8 *m, u64 hdr, int field, u32 v)
{
	char tmp[9];
	snprintf(tmp, sizeof(tmp), "%08X", v);
	memcpy(m + hdr + 6 + 8 * field, tmp, 8);
}

static void test_cpio_corruptions(void)
{
	NEED_ARCHIVE();
	struct cpio_iter it;
	struct cpio_entry e;
	cpio_iter_init(&it, ar, ar_len);
	cpio_next(&it, &e);
	u64 second = it.pos; /* header of "empty" */
	cpio_next(&it, &e);
	u64 third = it.pos; /* header of "./odd" */

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
	u8 *m = dup_exact(ar, ar_len);
	set_field(m, third, 1, 040755);
	CHECK_EQ(find_in(m, ar_len, "odd", NULL), -ENOENT);
	CHECK_EQ(find_in(m, ar_len, "init", file_bodies[0]), 0);
	free(m);
}

static void test_cpio_fuzz(void)
{
	NEED_ARCHIVE();
	u8 *m = malloc(ar_len);
	int ok = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, ar, ar_len);
		mutate(m, ar_len, ar_len);
		u64 len = (rng() % 4 == 0) ? rng() % (ar_len + 1) : ar_len;
		u8 *copy = dup_exact(m, len);
		struct cpio_iter it;
		struct cpio_entry e;
		int r;
		cpio_iter_init(&it, copy, len);
		while ((r = cpio_next(&it, &e)) > 0)
			CHECK((const u8 *)e.name >= copy && (const u8 *)e.name + e.namelen < copy + len &&
			      e.name[e.namelen] == '\0' && (const u8 *)e.data >= copy &&
			      e.size <= (u64)(copy + len - (const u8 *)e.data));
		CHECK(r == 0 || (r == -EINVAL && it.why));
		ok += r == 0;
		int f = find_in(copy, len, "odd", NULL);
		CHECK((f == 0 || f == -ENOENT || f == -EINVAL) && (f == -EINVAL) == (r != 0));
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
	if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 1;
	/* cpio_roundtrip builds the archive the later cpio cases use, so the order matters. */
#define CASE(name) {#name, test_##name}
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		CASE(elf_synthetic_ok),       CASE(elf_real_binaries),      CASE(elf_bad_ident),
		CASE(elf_bad_type_machine),   CASE(elf_phdr_bounds),        CASE(elf_segment_file_bounds),
		CASE(elf_segment_user_range), CASE(elf_congruence_overlap), CASE(elf_flags),
		CASE(elf_entry),              CASE(elf_segment_count),      CASE(elf_fuzz),
		CASE(elf_plan_pages),
		CASE(cpio_roundtrip),         CASE(mkcpio_bad_args),        CASE(cpio_truncations),
		CASE(cpio_corruptions),       CASE(cpio_fuzz),
	};
	htest_begin("elf_cpio", (int)ARRAY_SIZE(cases));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) htest_run(cases[i].name, cases[i].fn);
	free(ar);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
	return htest_end();
}
