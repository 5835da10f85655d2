/* Cross-hart TLB shootdown by S-mode IPI with per-hart acknowledgements. The requester waits in wfi with
 * no lock held and interrupts as the caller had them; targets flush from their IPI handler, or from any
 * wait loop when their interrupts are masked (hart_wait_until, the spinlock's sleep), so a hart that
 * waits for the requester cannot deadlock against it. One of the two remote-fence mechanisms behind
 * platform/tlb_remote.h (the other is SBI RFENCE, whose caller waits inside the firmware). */
#ifndef LIB_TLB_SHOOTDOWN_H
#define LIB_TLB_SHOOTDOWN_H

#include "lib/percpu.h"
#include "lib/types.h"

/* Flushes the whole TLB of every online hart in `targets` (dense indices; this hart is left out) and
 * returns once each has done it: the number of harts fenced. Harts outside the set may flush too (they
 * share the generation) but are not waited for. Process context or any wait-safe context. A spinlock may
 * be held (a target waiting for it, even with interrupts masked, still flushes and acks from its wait),
 * but the holder's wait then stalls that lock's waiters too: the vm layer fences with none of its own
 * held, and kernel/shm holds only its object and task locks across a fence. */
u32 tlb_flush_harts(const struct hartset *targets);

/* Performs a flush requested of this hart, if any, and acknowledges it. Called from the IPI handler and
 * from wait loops; any context. */
void tlb_shootdown_service(void);

/* The cross-hart wait lives here, with the shootdown it must serve: a hart waiting with interrupts masked
 * still flushes for a requester (which may be what it waits for), and the requester itself waits this
 * way. Below everything that waits on another hart (spinlock, trace, smp, the arena). */
#ifndef HOST_TEST
/* One step of a cross-hart wait, between two wfi: lets pending interrupts in when the caller had them
 * on (irq_was_on), else serves a TLB shootdown by hand and consumes the IPI so the next wfi sleeps.
 * Returns whether it consumed an IPI (the wait re-raises it when done, for whoever else it was for). */
bool hart_wait_step(unsigned long irq_was_on);

/* Waits for another hart to make `cond` true without spinning: sleeps in wfi, woken by that hart's
 * hart_kick (or at worst the next tick). wfi with interrupts masked still wakes on a pending interrupt,
 * so a kick that lands between the test and the wfi is not lost. A spinning vCPU would starve the
 * others under QEMU's icount scheduler. Any context. */
#define hart_wait_until(cond)                                           \
	do {                                                            \
		unsigned long __hw_f = irq_save();                      \
		bool __hw_ipi = false;                                  \
		while (!(cond)) {                                       \
			hart_sleep_wfi(this_hart());                    \
			__hw_ipi |= hart_wait_step(__hw_f);             \
		}                                                       \
		if (__hw_ipi) csr_set(sip, SIE_SSIE);                   \
		irq_restore(__hw_f);                                    \
	} while (0)
#endif

#endif
