/* Spinlocks: test-and-test-and-set with irq-saving variants.
 *
 * Why not a fair (ticket or queued) lock: our harts are usually QEMU vCPU threads, often more of them than
 * host cores. A fair lock hands the lock to the next waiter in line, and when that waiter's thread is
 * descheduled by the host every other hart waits a whole host time slice for it: with four vCPUs on two
 * cores a hot lock fell to ~800 acquisitions per second. Whoever is running takes a test-and-set lock,
 * so only lock-holder preemption stalls anyone. Linux makes the same choice in guests without
 * paravirtual spinlocks (virt_spin_lock). Waiters spin on a plain load so the line stays shared until
 * the release. Critical sections here are short; no caller relies on FIFO order. */
#ifndef LIB_SPINLOCK_H
#define LIB_SPINLOCK_H

#include "lib/types.h"

typedef struct {
	u32 locked;
	u32 pad;
} spinlock_t;

#define SPINLOCK_INIT {0, 0}

#ifdef HOST_TEST
static inline void spin_lock(spinlock_t *l) { (void)l; }
static inline void spin_unlock(spinlock_t *l) { (void)l; }
static inline unsigned long spin_lock_irqsave(spinlock_t *l) { (void)l; return 0; }
static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long f) { (void)l; (void)f; }
#else
#include "lib/riscv.h"

static inline bool spin_trylock(spinlock_t *l) { return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE); }

static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) cpu_relax();
}

static inline void spin_unlock(spinlock_t *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }


static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long f = irq_save();
	spin_lock(l);
	return f;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long f)
{
	spin_unlock(l);
	irq_restore(f);
}
#endif

#endif
