/* kfault_try's landing pad (kernel/kfault.h): a tiny setjmp/longjmp pair for the callee-saved registers. */
#include "kernel/context.h"

	.text
	.balign 4
	.globl kfault_setjmp
kfault_setjmp:
	CONTEXT_SAVE a0
	li	a0, 0
	ret

	.globl kfault_longjmp
kfault_longjmp:
	CONTEXT_LOAD a0
	mv	a0, a1
	ret
