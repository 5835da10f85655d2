/* Defaults for hooks that later layers provide: the kernel links and boots without them. */
#include "kernel/trap.h"
#include "lib/printk.h"
#include "lib/percpu.h"

__attribute__((weak)) bool task_handle_fault(struct trap_frame *tf) { (void)tf; return false; }
__attribute__((weak)) void syscall_dispatch(struct trap_frame *tf) { tf->regs[REG_A0] = (u64)-ENOSYS; }
__attribute__((weak)) void ipi_interrupt(void) {}
__attribute__((weak)) void external_interrupt(void) {}
