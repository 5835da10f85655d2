/* Grace periods: the read side (rcu_read_lock), quiescent states and the wait for every online hart to
 * pass one. A grace period is a number: starting one bumps gp_seq; hart i has passed it once qs_seq[i]
 * reaches it, which it records whenever it is outside read-side sections at a quiescent point (idle loop,
 * the IPI handler, the return to user mode, its own kvfree_rcu calls); a hart asleep in wfi outside a
 * read-side section counts as quiescent without being woken. A waiter kicks the other harts (an IPI: the
 * handler reports the state) and sleeps in wfi until the last of them wakes it. Its own file, below the
 * allocator, because RCU is not about memory: vm/kvfree_rcu.c (deferred frees) is one user. */
#include "lib/rcu.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"

struct rcu_hart {
	u32 nesting; /* rcu_read_lock depth */
	u64 qs_seq;  /* last grace period this hart has passed */
	/* This hart's last look (rcu_gp_done): grace period << 16 | the first hart not yet seen past it; one
	 * word, so that an interrupt handler's look between our read and write leaves a consistent pair. */
	u64 scan;
} __aligned(64);

_Static_assert(MAX_HARTS < 0x10000, "rcu_hart.scan keeps a hart index in 16 bits");
static struct rcu_hart rcu_harts[MAX_HARTS];
static u64 gp_seq;
static struct hartset gp_waiters; /* harts sleeping until a grace period ends */

void rcu_read_lock(void) { rcu_harts[this_hart_index()].nesting++; }
void rcu_read_unlock(void) { rcu_harts[this_hart_index()].nesting--; }

void rcu_note_qs(void)
{
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	if (r->nesting) return;
	u64 g = READ_ONCE(gp_seq);
	if (READ_ONCE(r->qs_seq) == g) return; /* nothing new to report: no ordering needed either */
	/* Acquire on the new number: what gp_start's caller unlinked before starting it is seen unlinked by
	 * everything this hart does next. Then the report, ordered before the look at the sleepers (pairs
	 * with gp_wait marking itself before it checks). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	store_release(r->qs_seq, g);
	mb();
	if (!hartset_atomic_empty(&gp_waiters)) harts_kick(&gp_waiters);
}

void rcu_gp_kick(void)
{
	harts_kick_others();
}

u64 rcu_gp_start(void)
{
	u64 g = __atomic_add_fetch(&gp_seq, 1, __ATOMIC_ACQ_REL);
	rcu_note_qs();
	return g;
}

void rcu_gp_wait(u64 g)
{
	u32 me = this_hart_index();
	hartset_atomic_set(&gp_waiters, me, __ATOMIC_SEQ_CST);
	rcu_gp_kick();
	hart_wait_until(rcu_gp_done(g));
	hartset_atomic_clear(&gp_waiters, me, __ATOMIC_RELAXED);
}

/* Whether hart i has passed grace period g: it noted a quiescent state since g began, or it is asleep in
 * wfi outside any read-side section now. The fence orders the caller's unlinking of what it frees (before
 * gp_start) ahead of the look at `asleep`; the sleeper fences between its last access and setting the
 * mark, and between clearing it and its next access, so a hart seen asleep here cannot still hold, or
 * newly find, a pointer to the object. */
static bool hart_passed(u32 i, u64 g)
{
	if (__atomic_load_n(&rcu_harts[i].qs_seq, __ATOMIC_ACQUIRE) >= g) return true;
	struct hart_local *h = hart_locals[i];
	return h && __atomic_load_n(&h->asleep, __ATOMIC_ACQUIRE) && !READ_ONCE(rcu_harts[i].nesting);
}

bool rcu_gp_done(u64 g)
{
	struct hartset online;
	hartset_load(&online, &harts_online, __ATOMIC_ACQUIRE);
	rcu_note_qs();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* A hart seen past g stays past it (qs_seq only grows, and one seen asleep outside a read-side
	 * section held nothing from before g), so a caller that asks again about g resumes where it stopped:
	 * kvfree_rcu asks on every call while a batch waits, and a walk of 64 harts each time was 6% of a
	 * 64-hart kvfree_rcu run. */
	struct rcu_hart *me = &rcu_harts[this_hart_index()];
	u64 last = READ_ONCE(me->scan);
	u32 from = last >> 16 == g ? (u32)(last & 0xffff) : 0;
	for (u32 i = hartset_next(&online, from); i < MAX_HARTS; i = hartset_next(&online, i + 1)) {
		if (!hart_passed(i, g)) {
			WRITE_ONCE(me->scan, g << 16 | i);
			return false;
		}
	}
	WRITE_ONCE(me->scan, g << 16 | MAX_HARTS);
	return true;
}
