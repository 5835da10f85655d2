/* kernel/trap_return.S: the way back from a trap. */
#ifndef KERNEL_TRAP_RETURN_H
#define KERNEL_TRAP_RETURN_H

#include "kernel/trap_frame.h"

/* Restores the frame at tf and returns from the trap (sret): to user mode when tf's SPP is clear, after
 * re-arming sscratch with this hart's hart_local. Never returns to its caller. Interrupts off. A new
 * task's first return to user mode starts here. */
void trap_return(struct trap_frame *tf);

#endif
