/* Trap frames and the trap entry: everything a handler needs to know about how it was entered. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include "lib/types.h"

/* Order matters: kernel/trap.S saves registers at these offsets (regs[i] = x(i), regs[0] unused). */
struct trap_frame {
	u64 regs[32];
	u64 sepc;
	u64 sstatus;
	u64 scause;
	u64 stval;
};
#define TF_SIZE (36 * 8)

#define CAUSE_INTERRUPT (1UL << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_INST_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

#define REG_RA 1
#define REG_SP 2
#define REG_TP 4
#define REG_A0 10
#define REG_A7 17

extern char trap_entry[];
void trap_init_hart(void);
void trap_handler(struct trap_frame *tf);
const char *trap_cause_name(u64 scause);
void trap_return_to_user(struct trap_frame *tf) __noreturn;

/* Kernel faults a test provokes on purpose: kfault_try runs fn(arg); if it faults, the fault is described
 * in *report (as the oops would be) and kfault_try returns the scause instead of oopsing. */
struct kfault_report {
	u64 scause, stval, sepc;
	char text[256];
};
long kfault_try(void (*fn)(void *), void *arg, struct kfault_report *report);

/* Hooks for layers above: handle_vm_kernel_fault explains a kernel-mode fault in the vmalloc region. */
bool vm_fault_spurious(u64 addr, u64 cause);                /* PTE valid: stale TLB, flushed locally */
void vm_fault_describe(u64 addr, char *buf, size_t size);   /* names the area for the oops */
bool task_handle_fault(struct trap_frame *tf);              /* user-mode fault: kill the task */
void syscall_dispatch(struct trap_frame *tf);
void timer_interrupt(void);
void task_user_return_work(void);
void ipi_interrupt(void);
void external_interrupt(void);

#endif
