/* Per-hart records and the online set: at the bottom because the allocator's fences need to know which
 * harts may hold TLB entries, and vm/ must not call up into kernel/. */
#include "lib/percpu.h"

struct hart_local *hart_locals[MAX_HARTS];
u32 nr_harts_online = 1;
u64 harts_online_mask = 1;
void (*hart_kick)(u32 index);
bool (*hart_ipi_claim)(void);

void harts_kick(u64 mask)
{
	if (!hart_kick) return;
	mask &= ~(1ULL << this_hart_index());
	for (u32 i = 0; mask; i++, mask >>= 1)
		if (mask & 1) hart_kick(i);
}

void harts_kick_others(void) { harts_kick(__atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE)); }

u32 harts_sbi_chunks(u64 index_mask, unsigned long *masks, unsigned long *bases)
{
	u32 n = 0;
	for (u32 i = 0; i < MAX_HARTS; i++) {
		if (!((index_mask >> i) & 1)) continue;
		unsigned long id = hart_locals[i]->hartid, base = id & ~63UL;
		u32 k = 0;
		while (k < n && bases[k] != base) k++;
		if (k == n) {
			bases[n] = base;
			masks[n++] = 0;
		}
		masks[k] |= 1UL << (id - base); /* id - base < 64 by construction */
	}
	return n;
}

unsigned long harts_other_sbi_mask(unsigned long *base)
{
	unsigned long masks[MAX_HARTS], bases[MAX_HARTS];
	u64 others = __atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE) & ~(1ULL << this_hart_index());
	u32 n = harts_sbi_chunks(others, masks, bases);
	*base = n ? bases[0] : 0;
	return n ? masks[0] : 0;
}
