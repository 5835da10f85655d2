/* Per-hart records and the online set: at the bottom because the allocator's fences need to know which
 * harts may hold TLB entries, and vm/ must not call up into kernel/. */
#include "lib/percpu.h"

struct hart_local *hart_locals[MAX_HARTS];
u32 nr_harts_online = 1;
u32 harts_online_mask = 1;

unsigned long harts_sbi_mask(u32 index_mask, unsigned long *base)
{
	unsigned long lo = ~0UL, mask = 0;
	u32 me = this_hart_index();

	for (u32 i = 0; i < MAX_HARTS; i++)
		if ((index_mask & (1u << i)) && i != me && hart_locals[i]->hartid < lo) lo = hart_locals[i]->hartid;
	for (u32 i = 0; i < MAX_HARTS; i++)
		if ((index_mask & (1u << i)) && i != me) mask |= 1UL << (hart_locals[i]->hartid - lo);
	*base = mask ? lo : 0;
	return mask;
}

unsigned long harts_other_sbi_mask(unsigned long *base)
{
	return harts_sbi_mask(__atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE), base);
}
