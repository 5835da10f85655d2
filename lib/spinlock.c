/* The slow half of lib/spinlock.h: sleeping until the lock is released, and waking the sleepers. The
 * IPI itself is sent through hart_kick, which the hart layer (kernel/smp.c) installs at boot: until then
 * there is one hart and nobody ever sleeps on a lock. */
#include "lib/spinlock.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"

/* True once the lock is free; until then this hart stays marked as a sleeper. The mark is renewed on
 * every check because an unlock clears the whole mask when it wakes the sleepers, and a third hart may
 * have taken the lock again before this one ran. The fence pairs with the one in spin_unlock. */
static bool free_or_marked(spinlock_t *l, u64 me)
{
	__atomic_fetch_or(&l->sleepers, me, __ATOMIC_SEQ_CST);
	mb();
	return !__atomic_load_n(&l->locked, __ATOMIC_ACQUIRE);
}

void spin_wait_slow(spinlock_t *l)
{
	u64 me = 1ULL << this_hart_index();

	if (!hart_kick) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) cpu_relax();
		return;
	}
	hart_wait_until(free_or_marked(l, me));
	__atomic_fetch_and(&l->sleepers, ~me, __ATOMIC_RELAXED);
}

void spin_wake_sleepers(spinlock_t *l)
{
	harts_kick(__atomic_exchange_n(&l->sleepers, 0, __ATOMIC_ACQ_REL));
}
