/* Per-hart records and the online set: at the bottom because the allocator's fences need to know which
 * harts may hold TLB entries, and vm/ must not call up into kernel/. */
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"

struct hart_local hart_locals[MAX_HARTS];
u32 nr_harts_online = 1;
u32 harts_online_mask = 1;
void (*hart_kick)(u32 index);

unsigned long harts_other_sbi_mask(unsigned long *base)
{
	unsigned long lo = ~0UL, mask = 0;
	u32 me = this_hart_index(), online = __atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE);

	for (u32 i = 0; i < MAX_HARTS; i++)
		if ((online & (1u << i)) && i != me && hart_locals[i].hartid < lo) lo = hart_locals[i].hartid;
	for (u32 i = 0; i < MAX_HARTS; i++)
		if ((online & (1u << i)) && i != me) mask |= 1UL << (hart_locals[i].hartid - lo);
	*base = mask ? lo : 0;
	return mask;
}

bool hart_wait_step(unsigned long irq_was_on)
{
	if (irq_was_on) {
		irq_enable(); /* pending interrupts (the IPI among them) are taken here */
		irq_disable();
		return false;
	}
	bool ipi = csr_read(sip) & SIE_SSIE;
	if (ipi) csr_clear(sip, SIE_SSIE);
	tlb_shootdown_service();
	return ipi;
}
