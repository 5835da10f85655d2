/* switch_context(from, to): saves the callee-saved registers of the running kernel thread in *from and
 * resumes *to. Everything else is caller-saved, so the C compiler already preserved it. */
#include "kernel/context.h"

	.text
	.globl switch_context
switch_context:
	CONTEXT_SAVE a0
	CONTEXT_LOAD a1
	ret
