/* kfault_try: run a function that may fault, under a landing pad the trap handler returns to. */
#include "kernel/kfault.h"
#include "kernel/context.h"
#include "kernel/hart.h"

/* Not inlined: the setjmp frame stays its own, so no caller's locals live across the second return. */
__noinline long kfault_try(void (*fn)(void *), void *arg, struct kfault_report *report)
{
	u64 jb[CONTEXT_WORDS];
	struct hart *h = this_kernel_hart();
	void *saved = h->fault_jmp;
	struct kfault_report *saved_report = h->fault_report;

	long r = kfault_setjmp(jb);
	if (r == 0) {
		h->fault_jmp = jb;
		h->fault_report = report;
		fn(arg);
	}
	h->fault_jmp = saved;
	h->fault_report = saved_report;
	return r;
}
