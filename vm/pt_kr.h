/* The kernel range's page tables (vm/pt_kr.c), on the page-table engine's types and primitives (vm/pt.h). */
#ifndef VM_PT_KR_H
#define VM_PT_KR_H

#include "vm/pt.h"

/*
 * The kernel range: the vmalloc region of the kernel root, shared by every address space. Its level-1
 * tables exist from boot (pt_prepopulate) and stay, so nothing here takes a lock: a level-0 table is
 * installed by compare-and-swap and two harts working on neighbouring ranges never meet. Every call is
 * about a range its caller owns (reserved in the arena), of n 4 KiB pages from a page-aligned va; none
 * flushes a TLB. Any context, interrupts on or off.
 */
#define PT_KR_PROT (PTE_R | PTE_W | PTE_G) /* vmalloc memory: readable, writable, global */
/* Records where the level-1 tables of [start, end) are (prepopulated under root). Once, at boot. */
void pt_kr_init(u64 root, u64 start, u64 end);
/* Maps n fresh pages (page_cache_alloc(node); zeroed when zero, then mapped with D clear) read-write. -ENOMEM with nothing left
 * mapped (pages and leaves undone) when a page or a table cannot be had. */
int pt_kr_populate(u64 va, u32 n, int node, bool zero);
/* Maps n given pages (struct pages of vm/buddy.h) with prot (PTE_R/W/X/G); -EINVAL for a NULL or
 * unmanaged page or a bad prot, -ENOMEM for no table; nothing stays mapped on failure. */
struct page;
int pt_kr_map_pages(u64 va, struct page *const *pages, u32 n, u64 prot);
/* The one-table fast path, for a caller that owns a whole 2 MiB-aligned block (vm_map_ram's per-hart
 * blocks): it takes the block's level-0 table once and then maps or clears pages with one PTE store each,
 * no walk. pt_kr_block_table returns the table covering va, installing an empty one (from the hart's page
 * source, so under its table-node setting) when the slot is empty; NULL when a 2 MiB leaf holds the slot
 * or no table can be had. The pointer stays good until the table is detached (pt_kr_detach_table, which
 * only an owner retiring the block lets happen). Any context. */
pte_t *pt_kr_block_table(u64 va);
/* pt_kr_map_pages into table (from pt_kr_block_table for va's block); the n pages must lie inside that
 * block. Same errors, except that no table is ever needed (no -ENOMEM); nothing stays mapped on failure. */
int pt_kr_map_pages_in(pte_t *table, u64 va, struct page *const *pages, u32 n, u64 prot);
/* One leaf for pa at va in table (the level-0 table covering va, whose slot the caller owns), inline:
 * for a fast path that checked pa itself (a zone's page, no bits beyond PT_PA_LIMIT) and passes a
 * constant prot that pt_prot_ok accepts, without PTE_U. pt_kr_map_pages_in is the general form. */
static inline void pt_kr_set_leaf_in(pte_t *table, u64 va, u64 pa, u64 prot)
{
	pt_set_pte(&table[pt_index(va, 0)], pte_make(pa, prot | PT_LEAF_FLAGS));
}
/* pt_kr_clear(va, n, PT_KR_KEEP, NULL) inside table, the n pages inside its block: how many were mapped. */
u32 pt_kr_clear_in(pte_t *table, u64 va, u32 n);
/* Clears the valid 4 KiB leaves among n pages from va (holes are fine) and returns how many there were.
 * PT_KR_KEEP leaves the pages alone, PT_KR_FREE gives them to page_cache_free, PT_KR_CHAIN links them
 * through their first word into a list returned in *chain (physical addresses, 0 ends it) for the
 * caller to free once every TLB has forgotten them. PT_KR_FREE_SORTED frees like PT_KR_FREE, but a page whose
 * D bit is still clear (mapped zeroed by pt_kr_populate, never written) goes to page_cache_free_zeroed. */
enum pt_kr_fate { PT_KR_KEEP, PT_KR_FREE, PT_KR_CHAIN, PT_KR_FREE_SORTED };
u32 pt_kr_clear(u64 va, u32 n, enum pt_kr_fate fate, u64 *chain);
/* Takes the empty level-0 table out of the level-1 slot covering the 2 MiB block at va (2 MiB aligned,
 * wholly owned by the caller): returns 0 with the table's physical address in *table_pa, or 0 there when
 * the slot was already empty. The caller must have every hart flush its TLB before giving the table back
 * (page_cache_free): a walker may still hold it. -EBUSY (nothing changed, *table_pa 0) if the slot holds a
 * leaf or the table maps anything. Any context; the caller serialises with itself (it owns the block). */
int pt_kr_detach_table(u64 va, u64 *table_pa);
/* Moves the n 4 KiB leaves at from to the same offsets at to (holes stay holes), the source cleared: the
 * pages change address, not place. -ENOMEM, nothing moved, when a destination table cannot be had. The
 * caller owns both ranges and flushes the source from every TLB before its range is reused. */
int pt_kr_move(u64 from, u64 to, u32 n);
/* Whether the level-1 slot covering va holds nothing (no table, no leaf). */
bool pt_kr_slot_empty(u64 va);
/* Moves the 2 MiB leaf at from to the empty slot at to: -EINVAL if from has no leaf, -EBUSY if to's slot
 * is not empty (nothing changed either way). */
int pt_kr_move_huge(u64 from, u64 to);
/* Installs a 2 MiB leaf for pa (2 MiB aligned) at va if the slot is empty; -EBUSY otherwise. */
int pt_kr_map_huge(u64 va, u64 pa);
/* Clears the 2 MiB leaf at va and returns its physical address, 0 if there is none. */
u64 pt_kr_clear_huge(u64 va);
/* The leaf entry for va in the kernel range (level 0 or 1 in *level), 0 if none or va is outside. */
pte_t pt_kr_lookup(u64 va, int *level);
/* A store fault on a writable 4 KiB leaf whose D bit is clear (zeroed pages are mapped so): sets D and
 * returns true, so the store can be retried; false if va has no such leaf. Trap context. */
bool pt_kr_mark_dirty(u64 va);
/* Level-0 tables the kernel range holds now. */
u64 pt_kr_tables(void);
/* The most level-0 tables the kernel range has held at once since boot. */
u64 pt_kr_tables_peak(void);
/* The lowest 2 MiB block at or above va whose level-1 slot holds a level-0 table, 0 when there is none up
 * to the range's end. A snapshot: tables come and go meanwhile. Reads only the gigabytes that hold
 * tables. Any context. */
u64 pt_kr_next_table(u64 va);
#ifdef VM_DEBUG
/* Counts the level-0 tables actually hanging under the region's level-1 tables (O(64 x 512)), for the
 * VM_DEBUG check that pt_kr_tables' counter is true. Only at rest (nobody installing or detaching). */
u64 pt_kr_count_tables(void);
/* Fault injection for the vm_invariants suite: moves the table counter by n without a table. */
void pt_kr_miscount_tables(s64 n);
#endif

#endif
