/* The slow half of lib/spinlock.h: sleeping until the lock is released, and waking the sleepers. The
 * IPI itself is sent through hart_kick, which the hart layer (kernel/smp.c) installs at boot: until then
 * there is one hart and nobody ever sleeps on a lock. */
#include "lib/spinlock.h"
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

void spin_wait_slow(spinlock_t *l)
{
	u32 me = this_hart_index();

	if (!hart_kick) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) cpu_relax();
		return;
	}
	__atomic_fetch_add(&l->waiting, 1, __ATOMIC_SEQ_CST);
	hart_wait_until(free_or_marked(l, me));
	hartset_atomic_clear(&l->sleepers, me, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&l->waiting, 1, __ATOMIC_RELEASE);
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
