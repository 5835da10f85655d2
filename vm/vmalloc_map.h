/* Page-table work for the vmalloc region: filling and clearing leaf entries without the arena lock. */
#ifndef VM_VMALLOC_MAP_H
#define VM_VMALLOC_MAP_H

#include "lib/types.h"

void vmap_tables_init(void);
/* Allocates n pages (zeroed if asked) and maps them from va on; on failure nothing stays mapped. */
int vmap_populate(u64 va, u32 n, int node, bool zero);
/* Maps the caller's pages (struct page pointers); -EINVAL for a NULL or unmanaged page, -ENOMEM for
 * no table; nothing stays mapped on failure. */
struct page;
int vmap_map_pages(u64 va, struct page *const *pages, u32 n, u64 prot);
/* Level-0 tables the region holds now. */
u64 vmap_tables_held(void);
/* Takes the empty level-0 tables of the 2 MiB blocks wholly inside [va, va + size), a range the caller
 * owns, out of the page tables and returns them chained (physical addresses through their first word,
 * 0 for none): vmap_free_chain gives them back once every hart's TLB has been flushed. */
u64 vmap_detach_tables(u64 va, u64 size);
/* The same, flushing and giving them back at once. May send IPIs: not with the arena lock held. */
void vmap_release_tables(u64 va, u64 size);
/* Maps 2 MiB leaves of freshly allocated order-9 blocks over [va, va + size) (2 MiB aligned, owned by
 * the caller), first giving back the empty level-0 tables purged areas left there; -ENOMEM (nothing
 * mapped) when a block cannot be had. */
int vmap_populate_huge(u64 va, u64 size, int node, bool zero);
/* Clears n 4 KiB leaves from va; frees the pages when free_pages. Returns how many were mapped. */
u32 vmap_unmap(u64 va, u32 n, bool free_pages);
/* As vmap_unmap freeing the pages, for pages vmap_populate zeroed: those never stored to since (D bit
 * clear) go back as known-zero pages, which the next zeroed allocation takes without zeroing again. Only
 * for areas nobody writes through another mapping (not shm's user-mapped ones). */
u32 vmap_unmap_zeroed(u64 va, u32 n);
/* Sets D on the writable 4 KiB leaf at va (for MMUs that fault instead of setting it); false if none. */
bool vmap_mark_dirty(u64 va);
u32 vmap_unmap_huge(u64 va, u64 size);
/* Clears the 2 MiB leaves of [va, va + size) (PMD aligned, the caller's own range, empty slots skipped)
 * and frees their blocks only after every hart's TLB has forgotten them, so no stale translation can
 * reach a block once it is reused. Returns the 4 KiB pages freed. May send IPIs: not with the arena
 * lock held; process context. */
u32 vmap_unmap_huge_flushed(u64 va, u64 size);
u64 vmap_unmap_collect(u64 va, u32 n, u32 *count);
void vmap_free_chain(u64 head);
/* Moves n 4 KiB leaves from `from` to `to` (the pages move with them, nothing is copied or freed);
 * the destination must be the caller's own unmapped range. -ENOMEM (nothing moved) for no table. */
int vmap_move(u64 from, u64 to, u32 n);
/* Moves the 2 MiB leaves of [from, from + size) to `to` (PMD aligned, the caller's own range), taking out
 * empty level-0 tables left there; -EBUSY (nothing moved) if a slot holds a table still in use. */
int vmap_move_huge(u64 from, u64 to, u64 size);
/* Clears empty level-0 tables out of [va, va + size) (the caller's own range) so 2 MiB leaves fit. */
int vmap_make_room_huge(u64 va, u64 size);
/* Leaf entry for va in the kernel tables (4 KiB or 2 MiB), 0 if none. */
u64 vmap_lookup_pte(u64 va, int *level);

#endif
