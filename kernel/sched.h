/* Scheduler internals shared by the task code: the lock, the table and the switch into the loop. */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "kernel/task.h"
#include "lib/spinlock.h"

extern spinlock_t sched_lock;
extern struct task tasks[MAX_TASKS];
extern void (*sched_idle_hook)(void);
void sched_switch_out(struct task *t);
void sched_tick(void);
/* switch.S: saves the running thread's callee-saved registers in *from and resumes *to. */
void switch_context(struct context *from, struct context *to);

#endif
