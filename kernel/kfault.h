/* Kernel faults provoked on purpose: a probe of memory that may not be there (boot input, the test
 * device, Sstc) runs under a landing pad, and the trap handler returns there instead of oopsing. The
 * pad's state is in struct hart (fault_jmp, fault_report); kernel/trap.c's kernel_fault takes it. User
 * copies do not use it: their loops have fixups of their own (kernel/uaccess.c). */
#ifndef KERNEL_KFAULT_H
#define KERNEL_KFAULT_H

#include "kernel/context.h" /* CONTEXT_WORDS: the size of a landing pad */
#include "lib/types.h"

/* What a caught fault was, described as the oops would describe it. */
struct kfault_report {
	u64 scause, stval, sepc;
	char text[256];
};
/* Runs fn(arg); if it faults (any kernel fault, at any address), the fault is described in *report and
 * kfault_try returns the scause (nonzero) instead of oopsing; returns 0 when fn returned. Nests (the
 * previous pad is restored). Process or boot context; fn must not switch tasks. */
long kfault_try(void (*fn)(void *), void *arg, struct kfault_report *report);
/* kernel/kfault.S, the landing pad itself: kfault_setjmp saves the callee-saved registers in jb
 * (CONTEXT_WORDS words, kernel/context.h) and returns 0; kfault_longjmp(jb, val) returns from that
 * kfault_setjmp again with val (never 0). Any context. */
long kfault_setjmp(u64 *jb) __attribute__((returns_twice));
void kfault_longjmp(u64 *jb, long val) __noreturn;

#endif
