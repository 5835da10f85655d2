/* Cross-hart TLB shootdown by S-mode IPI with per-hart acknowledgements. The requester waits in wfi with
 * no lock held and interrupts as the caller had them; targets flush from their IPI handler, or from any
 * wait loop when their interrupts are masked (hart_wait_until, the spinlock's sleep), so a hart that
 * waits for the requester cannot deadlock against it. One of the two remote-fence mechanisms behind
 * platform/tlb_remote.h (the other is SBI RFENCE, whose caller waits inside the firmware). */
#ifndef LIB_TLB_SHOOTDOWN_H
#define LIB_TLB_SHOOTDOWN_H

#include "lib/types.h"

/* Flushes the whole TLB of every online hart in `targets` (dense indices; this hart is left out) and
 * returns once each has done it: the number of harts fenced. Harts outside the set may flush too (they
 * share the generation) but are not waited for. Process context or any wait-safe context: never call
 * with a spinlock held (a target might be waiting for it with interrupts masked and still acks, but a
 * holder that sleeps stalls every waiter). */
u32 tlb_flush_harts(u64 targets);

/* Performs a flush requested of this hart, if any, and acknowledges it. Called from the IPI handler and
 * from wait loops; any context. */
void tlb_shootdown_service(void);

#endif
