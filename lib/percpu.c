/* Per-hart records and the online set: at the bottom because the allocator's fences need to know which
 * harts may hold TLB entries, and vm/ must not call up into kernel/. */
#include "lib/percpu.h"

struct hart_local *hart_locals[MAX_HARTS];
u32 nr_harts_online = 1;
struct hartset harts_online = {{1}};
void (*hart_kick)(u32 index);
bool (*hart_ipi_claim)(void);
void (*hart_tick_by_hand)(void);

void harts_kick(const struct hartset *set)
{
	if (!hart_kick) return;
	u32 me = this_hart_index();
	hartset_for_each(i, set)
		if (i != me) hart_kick(i);
}

void harts_kick_others(void)
{
	struct hartset online;
	hartset_load(&online, &harts_online, __ATOMIC_ACQUIRE); /* a new hart's record is seen with its bit */
	harts_kick(&online);
}

void harts_online_others(struct hartset *out)
{
	hartset_load(out, &harts_online, __ATOMIC_ACQUIRE);
	hartset_clear(out, this_hart_index());
}

u32 harts_sbi_chunks(const struct hartset *set, unsigned long *masks, unsigned long *bases)
{
	u32 n = 0;
	hartset_for_each(i, set) {
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
	struct hartset others;
	harts_online_others(&others);
	u32 n = harts_sbi_chunks(&others, masks, bases);
	*base = n ? bases[0] : 0;
	return n ? masks[0] : 0;
}
