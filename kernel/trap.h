/* The trap handler (kernel/trap.c) and the entry that calls it (kernel/trap_entry.S). The frame is
 * kernel/trap_frame.h's, the return kernel/trap_return.S's, provoked kernel faults kernel/kfault.h's. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include "kernel/trap_frame.h"

#ifndef __ASSEMBLER__
#include "lib/types.h"

/* kernel/trap_entry.S: the trap vector, and trap_init_hart, which points stvec at it (each hart, once,
 * at start, interrupts off). */
extern char trap_entry[];
void trap_init_hart(void);

/* Called by trap_entry with the saved frame: dispatches interrupts (timer, IPI), system calls and faults
 * (user faults to kernel/syscall.c, kernel faults to a kfault_try pad or the oops), then does the work
 * due before a return to user mode. Trap context. */
void trap_handler(struct trap_frame *tf);
#endif

#endif
