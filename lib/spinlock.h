/* Spinlocks: test-and-test-and-set with irq-saving variants, whose waiters go to sleep (wfi) after a
 * short spin and are woken by the unlocker's IPI.
 *
 * Why not a fair (ticket or queued) lock: our harts are usually QEMU vCPU threads, often more of them than
 * host cores. A fair lock hands the lock to the next waiter in line, and when that waiter's thread is
 * descheduled by the host every other hart waits a whole host time slice for it: with four vCPUs on two
 * cores a hot lock fell to ~800 acquisitions per second. Whoever is running takes a test-and-set lock,
 * so only lock-holder preemption stalls anyone. Linux makes the same choice in guests without
 * paravirtual spinlocks (virt_spin_lock). Waiters spin on a plain load so the line stays shared until
 * the release.
 *
 * Why waiters sleep: a spinning vCPU never lets QEMU 7.2's round-robin icount scheduler run the vCPU
 * that holds the lock (it burns the whole time budget, and the next vCPU gets none), and on a loaded
 * host it burns the core the holder needs. After its poll budget a waiter marks its bit in the
 * lock's sleeper set and executes wfi, which QEMU treats as a halt; unlock sends an IPI to the marked
 * harts (Linux's paravirtual pv_wait / pv_kick, in miniature). The wait runs with the caller's interrupt
 * state, not with interrupts forced off: spin_lock_irqsave disables them only once the lock is taken.
 *
 * Why the poll budget adapts: polling pays only while the holder runs. Under QEMU's round-robin icount it
 * never does (one vCPU runs at a time), and every poll of a waiter that goes to sleep anyway was wasted:
 * at 64 harts 4096 polls per contended acquisition were a fifth of all instructions. So each hart keeps
 * a budget, halved (down to SPIN_POLL_MIN) each time its polls end in a sleep once SPIN_FAILURES_TO_ADAPT
 * waits in a row have, and doubled (up to SPIN_POLL_MAX) each time its polls see the lock released within
 * 20 us. On a host where holders run, a holder descheduled now and then costs a sleep but does not shorten
 * the next polls (each sleep is an IPI: on two busy vCPUs, halving at every failure made fix_size 5-10%
 * slower in wall-clock time). Where holders cannot run while anyone polls, a poll sees the release only
 * when the waiter's own time slice ended inside it; the wait is then long (every other vCPU's slice) and
 * is not counted as a success, so the budget stays at a few polls (counting it cost 64-hart fix_size 10%
 * more instructions). */
#ifndef LIB_SPINLOCK_H
#define LIB_SPINLOCK_H

#include "lib/hartset.h"
#include "lib/types.h"

/* `waiting` counts the harts in the sleeping wait, so that unlock tests one word whatever MAX_HARTS is
 * (testing the set itself cost 2 instructions per unlock at 128 harts, 1% of a vmalloc+vfree). */
typedef struct {
	u32 locked;
	u32 waiting;             /* harts inside spin_wait_slow: nonzero whenever one may be marked below */
	struct hartset sleepers; /* hart index i sleeps waiting for this lock */
} spinlock_t;

#define SPINLOCK_INIT {0, 0, HARTSET_EMPTY}

#ifdef HOST_TEST
static inline void spin_lock(spinlock_t *l) { (void)l; }
static inline void spin_unlock(spinlock_t *l) { (void)l; }
static inline unsigned long spin_lock_irqsave(spinlock_t *l) { (void)l; return 0; }
static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long f) { (void)l; (void)f; }
#else
#include "lib/riscv.h"

/* About 10 us of polling on a running host core: longer than any critical section here, so a waiter
 * sleeps only when the holder is not running (descheduled vCPU, or QEMU's icount round robin). */
#define SPIN_POLL_MAX 4096
#define SPIN_POLL_MIN 16
#define SPIN_FAILURES_TO_ADAPT 8

/* Out of line (lib/spinlock.c): the wait (polls within this hart's budget, then sleeps until an unlock
 * wakes it; returns once the lock looks free) and the wake-up of sleepers. */
__attribute__((cold)) void spin_wait_unlocked(spinlock_t *l);
__attribute__((cold)) void spin_wake_sleepers(spinlock_t *l);
/* The timer's frequency, for what a short wait is (kernel/timer.c at boot; 10 MHz until then). */
void spin_set_timebase(u64 hz);
/* Hart `index`'s poll budget now (SPIN_POLL_MIN..SPIN_POLL_MAX). Any context. */
u32 spin_poll_budget(u32 index);

static inline bool spin_trylock(spinlock_t *l) { return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE); }

/* Any context; may sleep in wfi while the lock is held elsewhere (interrupts stay as the caller had them). */
static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l)) spin_wait_unlocked(l);
}

static inline void spin_unlock(spinlock_t *l)
{
	store_release(l->locked, 0);
	/* Pairs with the sleeper's fence between marking itself and re-reading `locked`: either it sees the
	 * lock free, or this load sees its mark and wakes it. */
	mb();
	if (unlikely(__atomic_load_n(&l->waiting, __ATOMIC_RELAXED))) spin_wake_sleepers(l);
}


/* The contended half of spin_lock_irqsave (lib/spinlock.c): interrupts back as they were (f), wait,
 * retry; returns the flags with the lock held. */
unsigned long spin_lock_irqsave_slow(spinlock_t *l, unsigned long f);

/* Takes the lock and returns with interrupts off; waits with interrupts as they were. The uncontended
 * path is inline and the wait out of line, so a caller's hot path holds no registers for it. */
static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long f = irq_save();
	if (likely(spin_trylock(l))) return f;
	return spin_lock_irqsave_slow(l, f);
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long f)
{
	spin_unlock(l);
	irq_restore(f);
}
#endif

#endif
