/* The scheduler: the task table and its lock, each hart's loop, blocking and waking, yielding and the
 * tick. Below the task code (kernel/task.c creates and ends tasks; this file only runs them). */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "kernel/task_record.h"
#include "lib/percpu.h"
#include "lib/spinlock.h"

/* Guards every task's state, wake_at, waiting_for and the table's slots. Nests inside every other lock;
 * taken with interrupts off (spin_lock_irqsave). */
extern spinlock_t sched_lock;
/* The scheduler's counters, summed over harts: sched_lock acquisitions, waits that spun before
 * sleeping and those a wake ended while spinning (no lock, no IPI, no switch), and IPIs sent to wake a
 * hart for a task made runnable. Any context; a snapshot, not atomic across fields. */
struct sched_stats {
	u64 lock_takes, wait_spins, wait_spin_wakes, wake_ipis;
};
void sched_get_stats(struct sched_stats *s);
/* Each hart writes only its own slot (the kernel does not preempt itself): no atomics; a line each, so
 * two harts counting their spins in a round trip do not pass one line back and forth. */
struct sched_hart_stats {
	struct sched_stats c;
} __aligned(64);
extern struct sched_hart_stats sched_hart_stats[MAX_HARTS];

/* sched_lock taken and released: every acquisition goes through sched_lock_irqsave (or, with interrupts
 * already off, sched_lock_noirq), so each is counted on the hart that takes it. Any context; sched_lock
 * nests inside every other lock. */
static inline unsigned long sched_lock_irqsave(void)
{
	unsigned long f = spin_lock_irqsave(&sched_lock); /* waits with interrupts as they were */
	sched_hart_stats[this_hart_index()].c.lock_takes++;
	return f;
}
static inline void sched_lock_noirq(void)
{
	spin_lock(&sched_lock);
	sched_hart_stats[this_hart_index()].c.lock_takes++;
}
static inline void sched_unlock_irqrestore(unsigned long f) { spin_unlock_irqrestore(&sched_lock, f); }
/* The task table: slot i holds tids congruent to i modulo MAX_TASKS; slot 0 is never used. */
extern struct task tasks[MAX_TASKS];
/* Called by the boot hart's idle loop between tasks when set (kernel/init.c: watch init's exit). */
extern void (*sched_idle_hook)(void);
/* Switches from t, whose state the caller has already changed, back to this hart's scheduler loop;
 * returns when t is chosen again, sched_lock held as it was. Task context, sched_lock held with
 * interrupts off. */
void sched_switch_out(struct task *t);
/* The timer's tick, after the timer's own work: marks the running task (if any) for a yield at its next
 * return to user mode. Interrupt context. */
void sched_tick(void);
/* Whether this hart's task was marked by sched_tick since the last call; clears the mark. Interrupts off
 * (the return to user mode). */
bool sched_take_resched(void);
/* Gives the hart to another runnable task, if any, and returns when this one is chosen again. Task
 * context, no spin lock held. */
void task_yield(void);
/* Yields the hart (task_yield) if the tick has marked the caller's time slice over: for a long kernel
 * operation between two of its steps, since the kernel does not preempt itself. Task context, interrupts
 * on, no spin lock held. */
void task_yield_if_slice_over(void);
/* Sleeps at least ns nanoseconds (0: yields once); returns early, at once, when the task is killed (it
 * then dies on its way back to user mode). Returns -EINTR when killed, else 0. Task context, interrupts
 * on, no spin lock held. */
int task_sleep_ns(u64 ns);
/* The live (not zombie, not reaping) task with this tid, or NULL (a tid that is not a u32 is none). Reads
 * the table without sched_lock: the caller holds no lock and must check the record's tid again under the
 * lock it then takes, since the slot may be reused meanwhile. Any context. */
struct task *task_by_tid(long tid);
/* Each hart's idle loop: runs tasks, and does the housekeeping (trace drain, the allocator's idle work,
 * sched_idle_hook) between them and before sleeping in wfi. Never returns. Boot and secondary harts, once,
 * at the end of their start, interrupts on. */
void scheduler_loop(void) __noreturn;

/*
 * Blocking on a flag, for wait queues (kernel/shm_futex.c) and sleeps (task_sleep_ns: a flag never
 * set). The flag is set only by sched_wake_task, before it looks at the sleeper; the sleeper reads it
 * under sched_lock before it blocks, and the waker makes a blocked sleeper runnable under the same lock:
 * a wake that comes before the sleeper blocks is seen before it blocks, one that comes after finds it
 * blocked. No wake-up is lost.
 *
 * sched_block_until: blocks the current task until *done is set, the timebase tick `deadline` passes
 * (0: no deadline) or the task is killed. Returns 0, -EINTR or -ETIMEDOUT (in that order of precedence:
 * a flag set is never reported as a timeout, and a killed task sees -EINTR even past its deadline).
 * Task context, interrupts on, no spin lock held.
 *
 * sched_wake_task: sets *done; if t is spinning on that flag (sched_spin_until), that is all (no lock);
 * if t is blocked, makes it runnable and wakes one sleeping hart to run it (an IPI; none when every hart
 * is busy: the next tick picks it). The flag's memory must stay the sleeper's until this returns (the
 * caller keeps the sleeper from returning: shm_futex holds the object's lock across it, which its
 * sleeper takes before it returns). Task context; the caller may hold any lock but sched_lock, which
 * nests inside all others.
 */
int sched_block_until(const bool *done, u64 deadline);
/*
 * sched_spin_until: before blocking, spins (interrupts on, no lock) until *done is set, for at most
 * SCHED_SPIN_NS and never past `deadline` (0: none) -> true if the flag was seen set. Returns false at
 * once on one hart, when this hart has other work (a tick asked to reschedule) or the task is killed,
 * and while the task backs off: each failed spin doubles the number of its following waits that do not
 * spin (up to 1023), a successful one ends the back-off. A wake that finds its waiter spinning costs no
 * IPI and no switch. Task context, interrupts on, no spin lock held.
 */
bool sched_spin_until(const bool *done, u64 deadline);
void sched_wake_task(struct task *t, bool *done);
/* switch.S: saves the running thread's callee-saved registers in *from and resumes *to. */
void switch_context(struct context *from, struct context *to);

#endif
