/* ELF64 validation for user programs: every field of an untrusted image is checked before the loader
 * trusts it, and the result is a plan of page-congruent, non-overlapping, W^X segments. */
#include "kernel/elf.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define EM_RISCV 243
#define ET_EXEC 2
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PF_X 1u
#define PF_W 2u
#define PF_R 4u

/* The image may sit at any byte offset (cpio aligns data to 4 only), so fields are read bytewise. */
static u64 rd_le(const u8 *p, int n)
{
	u64 v = 0;
	for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
	return v;
}

static int reject(const char **why, const char *reason)
{
	if (why) *why = reason;
	return -ENOEXEC;
}

static int check_header(const u8 *h, u64 len, const char **why)
{
	if (len < EHDR_SIZE) return reject(why, "image shorter than an ELF header");
	if (h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') return reject(why, "bad ELF magic");
	if (h[4] != 2) return reject(why, "not ELFCLASS64");
	if (h[5] != 1) return reject(why, "not little-endian");
	if (h[6] != 1) return reject(why, "bad ELF ident version");
	if (rd_le(h + 16, 2) != ET_EXEC) return reject(why, "not ET_EXEC (static executables only)");
	if (rd_le(h + 18, 2) != EM_RISCV) return reject(why, "not a RISC-V executable");
	if (rd_le(h + 20, 4) != 1) return reject(why, "bad ELF version");
	if (rd_le(h + 52, 2) != EHDR_SIZE) return reject(why, "bad e_ehsize");
	return 0;
}

static u32 prot_of(u32 flags) /* caller has rejected unknown bits */
{
	return ((flags & PF_R) ? ELF_PROT_R : 0) | ((flags & PF_W) ? ELF_PROT_W : 0) |
	       ((flags & PF_X) ? ELF_PROT_X : 0);
}

/* Checks one PT_LOAD entry on its own; overlap with the others is checked once all are collected. */
static int check_load(const u8 *ph, u64 len, struct elf_seg *s, const char **why)
{
	u32 flags = (u32)rd_le(ph + 4, 4);
	s->offset = rd_le(ph + 8, 8);
	s->vaddr = rd_le(ph + 16, 8);
	s->filesz = rd_le(ph + 32, 8);
	s->memsz = rd_le(ph + 40, 8);

	if (s->offset > len || s->filesz > len - s->offset) return reject(why, "segment data beyond end of file");
	if (s->filesz > s->memsz) return reject(why, "segment filesz larger than memsz");
	if (s->vaddr < ELF_USER_MIN || s->vaddr >= ELF_USER_END || s->memsz > ELF_USER_END - s->vaddr)
		return reject(why, "segment outside the program area");
	if ((s->vaddr & (PAGE_SIZE - 1)) != (s->offset & (PAGE_SIZE - 1)))
		return reject(why, "segment vaddr and offset not congruent modulo the page size");
	if (flags & ~(PF_R | PF_W | PF_X)) return reject(why, "unknown segment flags");
	if (!(flags & (PF_R | PF_W | PF_X))) return reject(why, "segment with no access");
	if ((flags & PF_W) && (flags & PF_X)) return reject(why, "segment both writable and executable");
	if ((flags & PF_W) && !(flags & PF_R)) return reject(why, "writable segment not readable");
	s->prot = prot_of(flags);
	return 0;
}

static bool pages_overlap(const struct elf_seg *a, const struct elf_seg *b)
{
	u64 a0 = ALIGN_DOWN(a->vaddr, PAGE_SIZE), a1 = ALIGN_UP(a->vaddr + a->memsz, PAGE_SIZE);
	u64 b0 = ALIGN_DOWN(b->vaddr, PAGE_SIZE), b1 = ALIGN_UP(b->vaddr + b->memsz, PAGE_SIZE);
	return a0 < b1 && b0 < a1;
}

int elf_plan(const void *img, u64 len, struct elf_plan *p, const char **why)
{
	const u8 *h = img;
	int err = check_header(h, len, why);
	if (err) return err;

	u64 phoff = rd_le(h + 32, 8);
	u64 phentsize = rd_le(h + 54, 2);
	u64 phnum = rd_le(h + 56, 2);
	if (phentsize != PHDR_SIZE) return reject(why, "bad e_phentsize");
	if (phnum == 0) return reject(why, "no program headers");
	if (phoff > len || phnum * PHDR_SIZE > len - phoff) return reject(why, "program headers beyond end of file");

	p->entry = rd_le(h + 24, 8);
	p->nsegs = 0;
	bool saw_load = false;
	for (u64 i = 0; i < phnum; i++) {
		const u8 *ph = h + phoff + i * PHDR_SIZE;
		u32 type = (u32)rd_le(ph, 4);
		if (type == PT_DYNAMIC || type == PT_INTERP) return reject(why, "dynamically linked");
		if (type != PT_LOAD) continue; /* notes, GNU_STACK, RISCV_ATTRIBUTES: nothing to load */
		struct elf_seg s;
		err = check_load(ph, len, &s, why);
		if (err) return err;
		saw_load = true;
		if (s.memsz == 0) continue;
		if (p->nsegs == ELF_MAX_SEGS) return reject(why, "too many PT_LOAD segments");
		for (u32 j = 0; j < p->nsegs; j++)
			if (pages_overlap(&s, &p->segs[j])) return reject(why, "segments share a page");
		p->segs[p->nsegs++] = s;
	}
	if (!saw_load || p->nsegs == 0) return reject(why, "no loadable segments");

	if (p->entry & 1) return reject(why, "misaligned entry point");
	for (u32 j = 0; j < p->nsegs; j++) {
		const struct elf_seg *s = &p->segs[j];
		if (p->entry >= s->vaddr && p->entry - s->vaddr < s->memsz) {
			if (!(s->prot & ELF_PROT_X)) return reject(why, "entry point in a non-executable segment");
			if (why) *why = NULL;
			return 0;
		}
	}
	return reject(why, "entry point outside every segment");
}

u64 elf_plan_pages(const struct elf_plan *p)
{
	u64 pages = 0;

	/* Segments lie in the user half (2^38 bytes) and share no page, so the sum cannot overflow. */
	for (u32 i = 0; i < p->nsegs; i++) {
		const struct elf_seg *s = &p->segs[i];
		pages += (ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE) - ALIGN_DOWN(s->vaddr, PAGE_SIZE)) >> PAGE_SHIFT;
	}
	return pages;
}
