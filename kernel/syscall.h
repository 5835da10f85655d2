/* What the trap handler dispatches to in kernel/syscall.c: system calls and user faults. */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include "kernel/trap_frame.h"
#include "lib/types.h"

/* Runs the system call tf's a7 names with tf's arguments and puts its result in tf's a0 (an unknown
 * number gives -ENOSYS; bad user pointers -EFAULT, never a kernel fault). Task context, interrupts on;
 * may sleep. */
void syscall_dispatch(struct trap_frame *tf);
/* A user-mode fault: returns true when the task may retry (a load or store racing a shm resize that has
 * since mapped the page; this hart's stale translation is flushed); kills the task (does not return) on
 * any other fault or one that keeps repeating; false only when no task is running (the caller oopses).
 * Trap context, from user mode. */
bool task_handle_fault(struct trap_frame *tf);

#endif
