/* Trap frames and the trap entry: everything a handler needs to know about how it was entered. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

/* Order matters: kernel/trap_entry.S saves registers at these offsets (regs[i] = x(i), regs[0] unused),
 * and it includes this file for TF_SIZE. */
#define TF_SIZE (36 * 8)

#define REG_RA 1
#define REG_SP 2
#define REG_TP 4
#define REG_A0 10
#define REG_A6 16 /* the user call site, for the trace (docs/abi.md) */
#define REG_A7 17

#ifndef __ASSEMBLER__
#include "kernel/context.h"
#include "lib/riscv.h" /* scause values */
#include "lib/types.h"

struct trap_frame {
	u64 regs[32];
	u64 sepc;
	u64 sstatus;
	u64 scause;
	u64 stval;
};
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "trap_entry.S frame size");

extern char trap_entry[];
void trap_init_hart(void);
void trap_handler(struct trap_frame *tf);
const char *trap_cause_name(u64 scause);
void trap_return_to_user(struct trap_frame *tf) __noreturn;
/* trap_entry.S's exit path: restores the frame at tf and returns from the trap (a new task's first
 * return to user mode starts here). */
void trap_return(struct trap_frame *tf);

/* Kernel faults a test provokes on purpose: kfault_try runs fn(arg); if it faults, the fault is described
 * in *report (as the oops would be) and kfault_try returns the scause instead of oopsing. */
struct kfault_report {
	u64 scause, stval, sepc;
	char text[256];
};
long kfault_try(void (*fn)(void *), void *arg, struct kfault_report *report);
/* trap_entry.S's landing pad for kernel faults: kfault_setjmp saves the callee-saved registers in jb
 * and returns 0; kfault_longjmp(jb, val) returns from that kfault_setjmp again with val (never 0). */
long kfault_setjmp(u64 *jb) __attribute__((returns_twice)); /* jb: CONTEXT_WORDS words (kernel/context.h) */
void kfault_longjmp(u64 *jb, long val) __noreturn;

/* What trap_handler dispatches to, each in its own file. */
bool task_handle_fault(struct trap_frame *tf);              /* user-mode fault: kill the task */
void syscall_dispatch(struct trap_frame *tf);
void timer_interrupt(void);
void task_user_return_work(void);
#endif

#endif
