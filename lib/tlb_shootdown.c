/* Generation-counted shootdown: a request bumps the global generation, each target records the
 * generation it has flushed up to; the requester waits until every target it asked has reached its own.
 * Concurrent requesters share flushes: any flush at or after a generation satisfies it. */
#include "lib/tlb_shootdown.h"
#include "lib/percpu.h"
#include "lib/riscv.h"

static u64 tlb_gen_requested;
static u64 tlb_gen_done[MAX_HARTS];
static struct hartset tlb_requesters; /* harts waiting for acknowledgements: kicked by every flush */

void tlb_shootdown_service(void)
{
	u32 me = this_hart_index();
	u64 want = __atomic_load_n(&tlb_gen_requested, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&tlb_gen_done[me], __ATOMIC_RELAXED) >= want) return;
	local_flush_tlb_all();
	store_release(tlb_gen_done[me], want);
	mb();
	struct hartset req;
	hartset_load(&req, &tlb_requesters, __ATOMIC_ACQUIRE);
	harts_kick(&req);
}

static bool all_done(const struct hartset *targets, u64 gen)
{
	hartset_for_each(i, targets)
		if (__atomic_load_n(&tlb_gen_done[i], __ATOMIC_ACQUIRE) < gen) return false;
	return true;
}

u32 tlb_flush_harts(const struct hartset *targets)
{
	u32 me = this_hart_index();
	struct hartset t;
	harts_online_others(&t);
	hartset_and(&t, &t, targets);
	if (hartset_empty(&t) || !hart_kick) return 0;
	hartset_atomic_set(&tlb_requesters, me, __ATOMIC_SEQ_CST);
	u64 gen = __atomic_add_fetch(&tlb_gen_requested, 1, __ATOMIC_SEQ_CST);
	harts_kick(&t);
	hart_wait_until(all_done(&t, gen));
	hartset_atomic_clear(&tlb_requesters, me, __ATOMIC_RELEASE);
	return hartset_popcount(&t);
}

bool hart_wait_step(unsigned long irq_was_on)
{
	/* Inside a lazy hold-off section (lib/irq_hold.h) interrupts count as off: enabling them here would
	 * only have the trap hold the interrupt again, so the shootdown is served by hand, as it was when
	 * such sections wrote sstatus. */
	if (irq_was_on && !this_hart()->irq_hold) {
		irq_enable(); /* pending interrupts (the IPI among them) are taken here */
		irq_disable();
		return false;
	}
	/* A tick that came due while interrupts are masked stays pending and would end every wfi at once:
	 * the wait would spin. Take it here (counted, next one armed), as the shootdown is served here. */
	if ((csr_read(sip) & SIE_STIE) && hart_tick_by_hand) hart_tick_by_hand();
	bool ipi = csr_read(sip) & SIE_SSIE;
	if (ipi) csr_clear(sip, SIE_SSIE);
	/* An IMSIC IPI is claimed here and handed back as SSIP when the wait ends: the handler is the same. */
	if (hart_ipi_claim && hart_ipi_claim()) ipi = true;
	tlb_shootdown_service();
	return ipi;
}
