/* The slow half of lib/spinlock.h: sleeping until the lock is released, and waking the sleepers. The
 * IPI itself is sent through hart_kick, which the hart layer (kernel/smp.c) installs at boot: until then
 * there is one hart and nobody ever sleeps on a lock. */
#include "lib/spinlock.h"
#include "lib/insn_mark.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"

/* True once the lock is free; until then this hart stays marked as a sleeper. The mark is renewed on
 * every check because an unlock clears the whole set when it wakes the sleepers, and a third hart may
 * have taken the lock again before this one ran. The fence pairs with the one in spin_unlock: an unlock
 * whose store of `locked` this check misses sees `waiting` (raised before the first mark) and the mark. */
static bool free_or_marked(spinlock_t *l, u32 me)
{
	hartset_atomic_set(&l->sleepers, me, __ATOMIC_SEQ_CST);
	mb();
	return !__atomic_load_n(&l->locked, __ATOMIC_ACQUIRE);
}

/* Each hart's poll budget (lib/spinlock.h), on a line of its own: written only on contention. */
static struct {
	u32 polls;
	u32 failures; /* waits in a row whose polls ended in a sleep */
} __aligned(64) budgets[MAX_HARTS] = {[0 ... MAX_HARTS - 1] = {.polls = SPIN_POLL_MAX}};

/* A wait shorter than this (in timer ticks; 20 us) ended while this hart polled without a pause. */
static u64 spin_short_ticks = 200;

void spin_set_timebase(u64 hz) { spin_short_ticks = hz / 50000 ? hz / 50000 : 1; }

u32 spin_poll_budget(u32 index)
{
	return index < MAX_HARTS ? READ_ONCE(budgets[index].polls) : SPIN_POLL_MAX;
}

static void spin_wait_slow(spinlock_t *l, u32 me)
{
	if (!hart_kick) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) cpu_relax();
		return;
	}
	__atomic_fetch_add(&l->waiting, 1, __ATOMIC_SEQ_CST);
	hart_wait_until(free_or_marked(l, me));
	hartset_atomic_clear(&l->sleepers, me, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&l->waiting, 1, __ATOMIC_RELEASE);
}

void spin_wait_unlocked(spinlock_t *l)
{
	u32 me = this_hart_index();
	u32 budget = spin_poll_budget(me);
	u64 start = rdtime();
	INSN_MARK(INSN_MARK_POLL_BEGIN); /* the polls are waiting, not work (lib/insn_mark.h) */
	for (u32 n = 0; __atomic_load_n(&l->locked, __ATOMIC_RELAXED); n++) {
		if (unlikely(n == budget)) {
			INSN_MARK(INSN_MARK_POLL_END);
			if (++budgets[me].failures >= SPIN_FAILURES_TO_ADAPT)
				WRITE_ONCE(budgets[me].polls, MAX(budget / 2, (u32)SPIN_POLL_MIN));
			spin_wait_slow(l, me);
			return;
		}
		cpu_relax();
	}
	INSN_MARK(INSN_MARK_POLL_END);
	/* Seen released: the holder ran while this hart polled, unless this hart was itself stopped in
	 * between (its vCPU descheduled, or its round-robin slice over), which a long wait shows. */
	if (rdtime() - start > spin_short_ticks) return;
	budgets[me].failures = 0;
	if (budget < SPIN_POLL_MAX) WRITE_ONCE(budgets[me].polls, MIN(budget * 2, (u32)SPIN_POLL_MAX));
}

void spin_wake_sleepers(spinlock_t *l)
{
	struct hartset s;
	hartset_exchange_zero(&l->sleepers, &s, __ATOMIC_ACQ_REL);
	harts_kick(&s);
}

__attribute__((noinline, cold)) unsigned long spin_lock_irqsave_slow(spinlock_t *l, unsigned long f)
{
	for (;;) {
		irq_restore(f);
		spin_wait_unlocked(l);
		f = irq_save();
		if (spin_trylock(l)) return f;
	}
}
