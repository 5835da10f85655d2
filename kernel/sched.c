/* The scheduler: one loop per hart on its boot stack, picking runnable tasks round-robin from the task
 * table under one lock, with a 10 ms slice enforced from the timer tick. Tasks switch back into the
 * loop (never directly into each other), so a task's stack is never in use by two harts at once. */
#include "kernel/aspace.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/hart.h"
#include "kernel/timer.h"
#include "kernel/trap_frame.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/trace.h"
#include "vm/pt.h"
#include "vm/vm_boot.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"

spinlock_t sched_lock = SPINLOCK_INIT;
struct task tasks[MAX_TASKS];
static struct context sched_ctx[MAX_HARTS];
static u32 rr_next[MAX_HARTS];
static bool need_resched[MAX_HARTS];
void (*sched_idle_hook)(void);
struct sched_hart_stats sched_hart_stats[MAX_HARTS];

void sched_get_stats(struct sched_stats *s)
{
	*s = (struct sched_stats){0};
	for (u32 i = 0, n = hart_slots_used(); i < n; i++) {
		s->lock_takes += READ_ONCE(sched_hart_stats[i].c.lock_takes);
		s->wait_spins += READ_ONCE(sched_hart_stats[i].c.wait_spins);
		s->wait_spin_wakes += READ_ONCE(sched_hart_stats[i].c.wait_spin_wakes);
		s->wake_ipis += READ_ONCE(sched_hart_stats[i].c.wake_ipis);
	}
}

/* Called with sched_lock held and the task's state already changed: back to this hart's loop. */
void sched_switch_out(struct task *t)
{
	switch_context(&t->ctx, &sched_ctx[this_hart_index()]);
}

static bool wake_condition(struct task *t, u64 now)
{
	if (t->wake_at && now >= t->wake_at) return true;
	if (t->waiting_for) {
		for (int i = 0; i < MAX_TASKS; i++)
			if (tasks[i].state == T_ZOMBIE && tasks[i].tid == (u32)t->waiting_for) return true;
	}
	return false;
}

static struct task *pick_next(void)
{
	u32 me = this_hart_index();
	u64 now = rdtime();
	for (u32 n = 0; n < MAX_TASKS; n++) {
		u32 i = (rr_next[me] + n) % MAX_TASKS;
		struct task *t = &tasks[i];
		if (t->state == T_BLOCKED && wake_condition(t, now)) {
			t->wake_at = 0;
			t->state = T_RUNNABLE;
		}
		if (t->state == T_RUNNABLE) {
			rr_next[me] = i + 1;
			return t;
		}
	}
	return NULL;
}

void sched_tick(void)
{
	if (current_task()) need_resched[this_hart_index()] = true;
}

bool sched_take_resched(void)
{
	u32 me = this_hart_index();
	if (!need_resched[me]) return false;
	need_resched[me] = false;
	return true;
}

void task_yield_if_slice_over(void)
{
	unsigned long f = irq_save();
	bool over = sched_take_resched();
	irq_restore(f);
	if (over) task_yield();
}

int sched_block_until(const bool *done, u64 deadline)
{
	struct task *me = current_task();
	int r;
	unsigned long f = sched_lock_irqsave();
	for (;;) {
		if (READ_ONCE(*done)) r = 0;
		else if (me->killed) r = -EINTR;
		else if (deadline && rdtime() >= deadline) r = -ETIMEDOUT;
		else {
			/* A timeout or a kill (task_kill sets wake_at = 1) makes pick_next run it again. */
			me->wake_at = deadline;
			me->state = T_BLOCKED;
			sched_switch_out(me);
			continue;
		}
		break;
	}
	me->wake_at = 0;
	sched_unlock_irqrestore(f);
	return r;
}

/*
 * Why spin: a task that waits for another one running on another hart (a wait/wake round trip) is woken
 * by an IPI, which on a machine without S-mode IPIs is an SBI call that traps the target hart into
 * M-mode, and the target must leave wfi first; under QEMU that is a host thread's wake-up, tens of
 * microseconds. A waiter still spinning when the wake comes is just running: no IPI, no switch, a few
 * microseconds a round trip when both sides spin. Why back off: a spin pays only when the waker runs at
 * the same time. When it does not (a descheduled vCPU, a host with fewer cores than harts, or QEMU's
 * round-robin icount, where harts take turns and a spin always runs to its end), the spin is pure cost,
 * so each failure doubles how many waits go straight to sleep before the next try.
 */
#define SCHED_SPIN_NS 100000ull
#define SCHED_SPIN_MAX_FAILS 10

bool sched_spin_until(const bool *done, u64 deadline)
{
	struct task *me = current_task();
	if (me->spin_skip) {
		me->spin_skip--;
		return false;
	}
	if (READ_ONCE(nr_harts_online) < 2) return false;
	u64 end = timer_deadline_after_ns(SCHED_SPIN_NS);
	if (deadline && deadline < end) end = deadline;
	u32 hart = this_hart_index();
	sched_hart_stats[hart].c.wait_spins++;
	/* Published so that a waker can tell this wait needs no lock and no IPI (sched_wake_task). The one
	 * seq_cst store left (an amoswap): it must be ordered before the load of *done below, which a
	 * release store is not. */
	__atomic_store_n(&me->spin_on, done, __ATOMIC_SEQ_CST);
	while (!READ_ONCE(*done)) {
		if (rdtime() < end && !READ_ONCE(need_resched[hart]) && !READ_ONCE(me->killed)) continue;
		/* Giving up: withdraw the flag. If a waker took it first, it set *done before: seen now. */
		const bool *mine = done;
		if (__atomic_compare_exchange_n(&me->spin_on, &mine, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (me->spin_fails < SCHED_SPIN_MAX_FAILS) me->spin_fails++;
			me->spin_skip = (u16)((1u << me->spin_fails) - 1);
			return false;
		}
		break;
	}
	WRITE_ONCE(me->spin_on, NULL);
	me->spin_fails = 0;
	sched_hart_stats[hart].c.wait_spin_wakes++;
	return true;
}

/* Wakes one hart asleep in its idle loop, not this one: the woken task runs there at once. */
static void kick_one_sleeper(void)
{
	struct hartset others;
	if (!hart_kick) return;
	harts_online_others(&others);
	hartset_for_each(i, &others) {
		if (READ_ONCE(hart_locals[i]->asleep)) {
			sched_hart_stats[this_hart_index()].c.wake_ipis++;
			hart_kick(i);
			return;
		}
	}
}

void sched_wake_task(struct task *t, bool *done)
{
	/* The flag first: a waiter still spinning on it (t->spin_on == done, taken back to NULL here so it
	 * cannot also go to sleep unseen) just returns, and this wake takes no lock and sends no IPI. */
	store_release(*done, true);
	const bool *spinning = done;
	if (READ_ONCE(t->spin_on) == done &&
	    __atomic_compare_exchange_n(&t->spin_on, &spinning, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	unsigned long f = sched_lock_irqsave();
	bool woke = t->state == T_BLOCKED;
	if (woke) {
		t->wake_at = 0;
		t->state = T_RUNNABLE;
		/* A waker whose own last spin worked runs beside its partners: let the sleeper spin on its
		 * next wait whatever its back-off says, or two tasks that wake each other would need its
		 * back-off to run out before both spin at once (a round trip of two IPIs until then). */
		struct task *me = current_task();
		if (me && !me->spin_fails) t->spin_skip = 0;
	}
	sched_unlock_irqrestore(f);
	if (woke) kick_one_sleeper();
}

void task_yield(void)
{
	struct task *t = current_task();
	unsigned long f = sched_lock_irqsave();
	t->state = T_RUNNABLE;
	sched_switch_out(t);
	sched_unlock_irqrestore(f);
}

int task_sleep_ns(u64 ns)
{
	if (!ns) {
		task_yield();
		return READ_ONCE(current_task()->killed) ? -EINTR : 0;
	}
	/* A flag nobody sets: only the deadline or a kill ends the block (a kill before it, at once). */
	static const bool never;
	return sched_block_until(&never, timer_deadline_after_ns(ns)) == -EINTR ? -EINTR : 0;
}

void scheduler_loop(void)
{
	struct hart *kh = this_kernel_hart();
	struct hart_local *h = &kh->local;
	/* Housekeeping (trace drain, vmalloc idle work, the idle hook) runs before this hart sleeps and
	 * once per tick while tasks keep it busy, not on every switch: a wait/wake round trip between two
	 * tasks is two switches, and it should cost two switches. */
	bool house = true;
	u64 house_tick = 0;
	struct task *t = NULL; /* picked under sched_lock, still held, when not NULL at the top */
	struct task *leaving = NULL; /* the task t follows directly, its root still in satp */

	for (;;) {
		if (!t) {
			irq_enable();
			smp_idle_poll();
			bool housed = house || h->ticks != house_tick;
			if (housed) {
				house_tick = h->ticks;
				trace_drain();
				vm_idle_work();
				if (sched_idle_hook) sched_idle_hook();
			}
			house = false;
			irq_disable();
			sched_lock_noirq();
			t = pick_next();
			if (!t) {
				spin_unlock(&sched_lock);
				house = true;
				if (!housed) continue; /* nothing to run: housekeeping first, then look again */
				/* wfi with interrupts masked still wakes on a pending interrupt, which is then
				 * taken when the loop enables them: no wake-up is lost between the check and
				 * the wait. */
				hart_sleep_wfi(h);
				continue;
			}
		}
		t->state = T_RUNNING;
		t->on_hart = (int)h->index;
		kh->current = t;
		h->tid = t->tid;
		h->sys = &t->tsys;
		kh->kernel_sp = (u64)(t->tf + 1); /* trap frames from user mode land exactly at t->tf */
		aspace_activate(t);
		if (leaving && leaving != t) aspace_leave(leaving);
		leaving = NULL;
		need_resched[h->index] = false;
		switch_context(&sched_ctx[h->index], &t->ctx);
		/* Back from the task, still holding sched_lock. */
		struct task *prev = t;
		prev->on_hart = -1;
		kh->current = NULL;
		h->tid = 0;
		h->sys = NULL;
		/* Straight on to the next task when no housekeeping is due: its satp replaces prev's, one
		 * change of address space instead of two (QEMU empties the whole TLB at each). prev's root
		 * stays in satp only while sched_lock is held, so nobody can reap prev and free it meanwhile;
		 * an exited task's root is left at once. */
		t = prev->state != T_ZOMBIE && h->ticks == house_tick ? pick_next() : NULL;
		if (t) {
			leaving = prev; /* aspace_leave once t's root is in satp */
		} else {
			aspace_deactivate(prev);
			spin_unlock(&sched_lock);
		}
	}
}

struct task *task_by_tid(long tid)
{
	if (tid <= 0 || tid > 0xffffffffL) return NULL; /* tids are u32: high bits never name a task */
	struct task *t = &tasks[tid & (MAX_TASKS - 1)];
	enum task_state s = READ_ONCE(t->state);
	return (t->tid == (u32)tid && task_state_live(s) && s != T_NEW) ? t : NULL;
}
