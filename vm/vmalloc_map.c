/* vmalloc's own page-table walker. The region's level-1 tables exist from boot, so only level-0 tables
 * are ever created here, by compare-and-swap: two harts mapping neighbouring areas never need a lock.
 * Level-0 tables are kept when they empty (as Linux keeps vmalloc page tables): freeing them would race
 * with a neighbour mapping into the same 2 MiB, and they are bounded by the region's touched span. */
#include "vm/vmalloc_map.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/page_alloc.h"
#include "vm/pt.h"
#include "vm/vm_boot.h"
#include "vm/vm_pages.h"
#include "vm/vmalloc_internal.h"

#define KPROT (PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D)
#define NR_L1 (VMALLOC_SIZE >> 30)

static pte_t *l1_tables[NR_L1];
static u64 l0_tables_held; /* level-0 tables created here: kept for good, so leak checks count them */

u64 vmap_tables_held(void) { return __atomic_load_n(&l0_tables_held, __ATOMIC_RELAXED); }

/* Zeroing is most of the cost of vzalloc; 16 stores per iteration keep the loop overhead near 1/8 of the
 * stores (memset's 4 would be 1/2). There is no Zicboz on the target. */
static void zero_page(void *page)
{
	u64 *p = page, *end = p + PAGE_SIZE / sizeof(u64);
	do {
		p[0] = 0; p[1] = 0; p[2] = 0; p[3] = 0; p[4] = 0; p[5] = 0; p[6] = 0; p[7] = 0;
		p[8] = 0; p[9] = 0; p[10] = 0; p[11] = 0; p[12] = 0; p[13] = 0; p[14] = 0; p[15] = 0;
		p += 16;
	} while (p != end);
}

void vmap_tables_init(void)
{
	pte_t *root = pt_table_va(kernel_root_pa);
	for (u64 i = 0; i < NR_L1; i++) {
		u64 va = VMALLOC_START + (i << 30);
		l1_tables[i] = pt_table_va(pte_pa(root[(va >> 30) & 511]));
	}
}

static inline pte_t *l1_slot(u64 va)
{
	return &l1_tables[(va - VMALLOC_START) >> 30][(va >> 21) & 511];
}

/* The level-0 table covering va; NULL if a 2 MiB leaf is there or (with alloc) memory ran out. */
static pte_t *l0_table(u64 va, bool alloc)
{
	pte_t *slot = l1_slot(va);
	pte_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (likely(e & PTE_V)) return pte_is_leaf(e) ? NULL : pt_table_va(pte_pa(e));
	if (!alloc) return NULL;
	u64 pa = vm_zeroed_table_alloc();
	if (!pa) return NULL;
	pte_t want = pte_make(pa, PTE_V);
	if (!__atomic_compare_exchange_n(slot, &e, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		vm_page_free(pa); /* a neighbour won the race: use its table */
		return pte_is_leaf(e) ? NULL : pt_table_va(pte_pa(e));
	}
	__atomic_fetch_add(&l0_tables_held, 1, __ATOMIC_RELAXED);
	return pt_table_va(pa);
}

int vmap_populate(u64 va, u32 n, int node, bool zero)
{
	u32 i = 0;

	while (i < n) {
		u64 cur = va + ((u64)i << PAGE_SHIFT);
		pte_t *l0 = l0_table(cur, true);
		if (unlikely(!l0)) goto fail;
		u32 idx = (cur >> PAGE_SHIFT) & 511, end = MIN(n, i + 512 - idx);
		for (; i < end; i++, idx++) {
			u64 pa = vm_page_alloc(node);
			if (unlikely(!pa)) goto fail;
			if (zero) zero_page(phys_to_virt(pa));
			l0[idx] = pte_make(pa, KPROT);
		}
	}
	return 0;
fail:
	vmap_unmap(va, i, true);
	return -ENOMEM;
}

int vmap_map_pas(u64 va, const u64 *pas, u32 n, u64 prot)
{
	u32 i = 0;

	while (i < n) {
		u64 cur = va + ((u64)i << PAGE_SHIFT);
		pte_t *l0 = l0_table(cur, true);
		if (!l0) {
			vmap_unmap(va, i, false);
			return -ENOMEM;
		}
		u32 idx = (cur >> PAGE_SHIFT) & 511, end = MIN(n, i + 512 - idx);
		for (; i < end; i++, idx++) l0[idx] = pte_make(pas[i], prot | PTE_V | PTE_G | PTE_A | PTE_D);
	}
	return 0;
}

int vmap_map_pages(u64 va, struct page *const *pages, u32 n, u64 prot)
{
	u32 i = 0;
	int err = -ENOMEM;

	while (i < n) {
		u64 cur = va + ((u64)i << PAGE_SHIFT);
		pte_t *l0 = l0_table(cur, true);
		if (unlikely(!l0)) goto fail;
		u32 idx = (cur >> PAGE_SHIFT) & 511, end = MIN(n, i + 512 - idx);
		for (; i < end; i++, idx++) {
			u64 pa = pages[i] ? page_to_pa(pages[i]) : 0;
			if (unlikely(!pa)) {
				err = -EINVAL;
				goto fail;
			}
			l0[idx] = pte_make(pa, prot | PTE_V | PTE_G | PTE_A | PTE_D);
		}
	}
	return 0;
fail:
	vmap_unmap(va, i, false);
	return err;
}

enum leaf_fate { LEAF_KEEP, LEAF_FREE, LEAF_CHAIN };

/* Clears the valid leaves among n pages from va; what becomes of each page is `fate`. LEAF_CHAIN links
 * the pages through their first word into *chain (physical addresses, 0 ends it). Returns the count. */
static u32 clear_leaves(u64 va, u32 n, enum leaf_fate fate, u64 *chain)
{
	u32 i = 0, cleared = 0;

	while (i < n) {
		u64 cur = va + ((u64)i << PAGE_SHIFT);
		u32 idx = (cur >> PAGE_SHIFT) & 511, end = MIN(n, i + 512 - idx);
		pte_t *l0 = l0_table(cur, false);
		if (!l0) {
			i = end;
			continue;
		}
		for (; i < end; i++, idx++) {
			pte_t e = l0[idx];
			if (!(e & PTE_V)) continue;
			l0[idx] = 0;
			cleared++;
			if (fate == LEAF_FREE) {
				vm_page_free(pte_pa(e));
			} else if (fate == LEAF_CHAIN) {
				*(u64 *)phys_to_virt(pte_pa(e)) = *chain;
				*chain = pte_pa(e);
			}
		}
	}
	return cleared;
}

u32 vmap_unmap(u64 va, u32 n, bool free_pages) { return clear_leaves(va, n, free_pages ? LEAF_FREE : LEAF_KEEP, NULL); }

/* A 2 MiB slot that once held a level-0 table keeps it (see above), so a huge leaf can only go where
 * the slot is still empty; the caller falls back to 4 KiB pages otherwise. */
int vmap_populate_huge(u64 va, u64 size, int node, bool zero)
{
	u64 off;

	for (off = 0; off < size; off += PMD_SIZE) {
		pte_t *slot = l1_slot(va + off);
		if (READ_ONCE(*slot)) goto fail;
		u64 pa = vm_pages_alloc_order(9, node, 0);
		if (!pa) goto fail;
		if (zero) memset(phys_to_virt(pa), 0, PMD_SIZE);
		pte_t expect = 0;
		if (!__atomic_compare_exchange_n(slot, &expect, pte_make(pa, KPROT), false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			vm_pages_free_order(pa, 9);
			goto fail;
		}
	}
	return 0;
fail:
	vmap_unmap_huge(va, off);
	return -ENOMEM;
}

u32 vmap_unmap_huge(u64 va, u64 size)
{
	u32 pages = 0;
	for (u64 off = 0; off < size; off += PMD_SIZE) {
		pte_t *slot = l1_slot(va + off);
		pte_t e = *slot;
		if (!(e & PTE_V) || !pte_is_leaf(e)) continue;
		*slot = 0;
		vm_pages_free_order(pte_pa(e), 9);
		pages += PMD_SIZE >> PAGE_SHIFT;
	}
	return pages;
}

u64 vmap_lookup_pte(u64 va, int *level)
{
	if (va < VMALLOC_START || va >= VMALLOC_END) return 0;
	pte_t e = READ_ONCE(*l1_slot(va));
	if (!(e & PTE_V)) return 0;
	if (pte_is_leaf(e)) {
		*level = 1;
		return e;
	}
	e = READ_ONCE(((pte_t *)pt_table_va(pte_pa(e)))[(va >> PAGE_SHIFT) & 511]);
	*level = 0;
	return (e & PTE_V) ? e : 0;
}

/* Clears n leaves from va and chains the pages through their first word instead of freeing them: a
 * shrink must flush every TLB before a page can be handed to someone else. Returns the chain's head
 * (physical address, 0 for none) and the count in *count. */
u64 vmap_unmap_collect(u64 va, u32 n, u32 *count)
{
	u64 head = 0;
	*count = clear_leaves(va, n, LEAF_CHAIN, &head);
	return head;
}

void vmap_free_chain(u64 head)
{
	while (head) {
		u64 next = *(u64 *)phys_to_virt(head);
		vm_page_free(head);
		head = next;
	}
}

/* Takes an empty level-0 table out of a 2 MiB slot so that a huge leaf can go there. Only for a slot
 * wholly inside the caller's own live area (nobody else maps there); every hart forgets the old table
 * before its page is freed, since a walk may have cached it. False if the table is not empty. */
static bool slot_reclaim_empty(pte_t *slot, u64 va)
{
	pte_t e = READ_ONCE(*slot);
	if (!(e & PTE_V)) return true;
	if (pte_is_leaf(e)) return false;
	const pte_t *t = pt_table_va(pte_pa(e));
	for (u32 i = 0; i < PT_ENTRIES; i++)
		if (t[i]) return false;
	if (!__atomic_compare_exchange_n(slot, &e, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return false;
	vm_flush_range_now(ALIGN_DOWN(va, PMD_SIZE), PMD_SIZE);
	vm_page_free(pte_pa(e));
	__atomic_fetch_sub(&l0_tables_held, 1, __ATOMIC_RELAXED);
	return true;
}

int vmap_move(u64 from, u64 to, u32 n)
{
	/* Every table first: past this loop nothing can fail, so a failure moves nothing. */
	for (u32 i = 0; i < n; i += 512 - (u32)(((to >> PAGE_SHIFT) + i) & 511))
		if (!l0_table(to + ((u64)i << PAGE_SHIFT), true)) return -ENOMEM;
	for (u32 i = 0; i < n; i++) {
		u64 src = from + ((u64)i << PAGE_SHIFT), dst = to + ((u64)i << PAGE_SHIFT);
		pte_t *s = &l0_table(src, false)[(src >> PAGE_SHIFT) & 511];
		l0_table(dst, false)[(dst >> PAGE_SHIFT) & 511] = *s;
		*s = 0;
	}
	return 0;
}

int vmap_move_huge(u64 from, u64 to, u64 size)
{
	for (u64 off = 0; off < size; off += PMD_SIZE)
		if (!slot_reclaim_empty(l1_slot(to + off), to + off)) return -EBUSY;
	for (u64 off = 0; off < size; off += PMD_SIZE) {
		pte_t *s = l1_slot(from + off);
		WRITE_ONCE(*l1_slot(to + off), *s);
		WRITE_ONCE(*s, 0);
	}
	return 0;
}

int vmap_make_room_huge(u64 va, u64 size)
{
	for (u64 off = 0; off < size; off += PMD_SIZE)
		if (!slot_reclaim_empty(l1_slot(va + off), va + off)) return -EBUSY;
	return 0;
}
