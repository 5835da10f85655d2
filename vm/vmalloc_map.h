/* Page-table work for the vmalloc region that takes more than one call into vm/pt.h's kernel range
 * (pt_kr_*, which the arena's files call directly for single steps): filling ranges with pages or 2 MiB
 * blocks, and giving back level-0 tables. No lock is held: each caller owns the range it passes. */
#ifndef VM_VMALLOC_MAP_H
#define VM_VMALLOC_MAP_H

#include "lib/types.h"
#include "vm/pt_kr.h"

/* Takes the empty level-0 tables of the 2 MiB blocks wholly inside [va, va + size), a range the caller
 * owns, out of the page tables and returns them chained (physical addresses through their first word,
 * 0 for none): vm_free_chain gives them back once every hart's TLB has been flushed. A block that still
 * maps something keeps its table and is reported. Any context. */
u64 va_detach_tables(u64 va, u64 size);
/* The same, flushing and giving them back at once. May send IPIs: not with the arena lock held. */
void va_release_tables(u64 va, u64 size);
/* Gives back the level-0 table of every 2 MiB block of the region the free index holds whole (no area,
 * parked range, cache, pool or chunk has any of it): each such block leaves the index, its table is taken
 * out, then after one flush of every hart's TLB per 64 blocks the tables go to the buddy allocator (to
 * merge) and the blocks back to the index. Linux never frees these; without this, a burst of small areas
 * leaves its tables behind for good. Returns the tables freed (0 while another pass runs). May send IPIs
 * and takes the arena lock: process context, no lock held. */
u64 va_reclaim_tables(void);
/* Maps 2 MiB leaves of freshly allocated order-9 blocks over [va, va + size) (2 MiB aligned, owned by
 * the caller), first giving back the empty level-0 tables purged areas left there; -ENOMEM (nothing
 * mapped, every hart's TLB flushed of what was) when a block cannot be had. May send IPIs: process
 * context, no arena lock held. */
int va_populate_huge(u64 va, u64 size, int node, bool zero);
/* Clears the 2 MiB leaves of [va, va + size) and frees their blocks at once (the range is not reused
 * before a purge's flush). Returns the 4 KiB pages freed. */
u32 va_unmap_huge(u64 va, u64 size);
/* Clears the 2 MiB leaves of [va, va + size) (PMD aligned, the caller's own range, empty slots skipped)
 * and frees their blocks only after every hart's TLB has forgotten them, so no stale translation can
 * reach a block once it is reused. Returns the 4 KiB pages freed. May send IPIs: not with the arena
 * lock held; process context. */
u32 va_unmap_huge_flushed(u64 va, u64 size);
/* Moves the 2 MiB leaves of [from, from + size) to `to` (PMD aligned, the caller's own range), taking out
 * empty level-0 tables left there; -EBUSY (nothing moved) if a slot holds a table still in use. */
int va_move_huge(u64 from, u64 to, u64 size);
/* Clears empty level-0 tables out of [va, va + size) (the caller's own range) so 2 MiB leaves fit;
 * -EBUSY if a slot holds anything else. */
int va_make_room_huge(u64 va, u64 size);

#endif
