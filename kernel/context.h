/* The callee-saved register set of a kernel thread, in the one layout that switch_context (switch.S)
 * and kfault_setjmp/kfault_longjmp (trap_entry.S) share: ra, sp, s0..s11, 8 bytes each. */
#ifndef KERNEL_CONTEXT_H
#define KERNEL_CONTEXT_H

#define CONTEXT_WORDS 14

#ifdef __ASSEMBLER__
/* Stores the callee-saved registers at (base). */
.macro CONTEXT_SAVE base
	sd	ra, 0(\base)
	sd	sp, 8(\base)
	sd	s0, 16(\base)
	sd	s1, 24(\base)
	sd	s2, 32(\base)
	sd	s3, 40(\base)
	sd	s4, 48(\base)
	sd	s5, 56(\base)
	sd	s6, 64(\base)
	sd	s7, 72(\base)
	sd	s8, 80(\base)
	sd	s9, 88(\base)
	sd	s10, 96(\base)
	sd	s11, 104(\base)
.endm
/* Loads them back from (base). */
.macro CONTEXT_LOAD base
	ld	ra, 0(\base)
	ld	sp, 8(\base)
	ld	s0, 16(\base)
	ld	s1, 24(\base)
	ld	s2, 32(\base)
	ld	s3, 40(\base)
	ld	s4, 48(\base)
	ld	s5, 56(\base)
	ld	s6, 64(\base)
	ld	s7, 72(\base)
	ld	s8, 80(\base)
	ld	s9, 88(\base)
	ld	s10, 96(\base)
	ld	s11, 104(\base)
.endm
#else
#include "lib/types.h"

struct context {
	u64 ra, sp, s[12];
};
_Static_assert(sizeof(struct context) == CONTEXT_WORDS * 8, "kernel/context.h macros");
#endif

#endif
