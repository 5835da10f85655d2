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

#define KPROT (PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D)
/* Freshly zeroed pages are mapped with D clear: the MMU sets it on the first store, so at unmap a clear
 * D bit proves the page is still all zeros (vmap_unmap_zeroed). */
#define KPROT_CLEAN (KPROT & ~PTE_D)
#define NR_L1 (VMALLOC_SIZE >> 30)

static pte_t *l1_tables[NR_L1];
static u64 l0_tables_held; /* level-0 tables created here: kept for good, so leak checks count them */

u64 vmap_tables_held(void) { return __atomic_load_n(&l0_tables_held, __ATOMIC_RELAXED); }

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
			u64 pa = zero ? vm_page_alloc_zeroed(node) : vm_page_alloc(node);
			if (unlikely(!pa)) goto fail;
			l0[idx] = pte_make(pa, zero ? KPROT_CLEAN : KPROT);
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

enum leaf_fate { LEAF_KEEP, LEAF_FREE, LEAF_FREE_SORTED, LEAF_CHAIN };

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
			if (fate == LEAF_FREE || (fate == LEAF_FREE_SORTED && (e & PTE_D))) {
				vm_page_free(pte_pa(e));
			} else if (fate == LEAF_FREE_SORTED) {
				vm_page_free_zeroed(pte_pa(e));
			} else if (fate == LEAF_CHAIN) {
				*(u64 *)phys_to_virt(pte_pa(e)) = *chain;
				*chain = pte_pa(e);
			}
		}
	}
	return cleared;
}

u32 vmap_unmap(u64 va, u32 n, bool free_pages) { return clear_leaves(va, n, free_pages ? LEAF_FREE : LEAF_KEEP, NULL); }

u32 vmap_unmap_zeroed(u64 va, u32 n) { return clear_leaves(va, n, LEAF_FREE_SORTED, NULL); }

bool vmap_mark_dirty(u64 va)
{
	pte_t *l0 = l0_table(va, false);
	if (!l0) return false;
	pte_t *slot = &l0[(va >> PAGE_SHIFT) & 511];
	pte_t e = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if ((e & (PTE_V | PTE_W)) != (PTE_V | PTE_W)) return false;
	__atomic_fetch_or(slot, PTE_D, __ATOMIC_RELAXED);
	return true;
}

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
