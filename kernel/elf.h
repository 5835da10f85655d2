/* ELF64 program validation: turns an untrusted RISC-V executable image into a checked load plan. */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include <vmk/abi.h>
#include "lib/types.h"

#define ELF_MAX_SEGS 8

/* Segment protections in the plan (the loader maps them onto PTE bits). */
#define ELF_PROT_R 1u
#define ELF_PROT_W 2u
#define ELF_PROT_X 4u

/* Lowest and one-past-highest address a segment may occupy: the program area, below the shm window and
 * the stack (<vmk/abi.h>), so a program can neither be mapped over its stack nor take the shm window. */
#define ELF_USER_MIN 0x1000UL
#define ELF_USER_END VMK_PROG_TOP

struct elf_seg {
	u64 vaddr;  /* first byte, may be unaligned; map from ALIGN_DOWN(vaddr, PAGE_SIZE) */
	u64 memsz;  /* bytes in memory; [filesz, memsz) is zero-filled */
	u64 offset; /* file offset of the first byte; offset % PAGE_SIZE == vaddr % PAGE_SIZE */
	u64 filesz; /* bytes copied from the file */
	u32 prot;   /* ELF_PROT_* ; never W and X together, W always with R */
};

struct elf_plan {
	u64 entry;
	u32 nsegs;
	struct elf_seg segs[ELF_MAX_SEGS];
};

/*
 * Validates the len-byte image and fills *p. Returns 0, or -ENOEXEC with *why (if why is not NULL) set to
 * a static string naming the first rule broken. On success every segment lies within the image and the
 * user half, segments do not share a page, and the entry point is inside an executable segment, so the
 * loader can copy and map without further checks. Segments with memsz 0 are dropped from the plan.
 */
int elf_plan(const void *img, u64 len, struct elf_plan *p, const char **why);

/* The pages the plan's segments occupy once loaded (file and zero-filled parts alike): what a loader
 * compares with the task's quota before it allocates the first one. */
u64 elf_plan_pages(const struct elf_plan *p);

#endif
