/* The arena's invariants by name, and the checks of one area record, asserted in VM_DEBUG builds (make
 * test's image for the vm suites; make run and make bench build without it, and then every check here
 * compiles to nothing). docs/design.md states the invariants; an assertion failure is an oops (lib/bug.h)
 * whose first line carries the name in brackets, e.g. "invariant broken: vm[freed_ptes] ...".
 *
 * Cheap checks run on every call: each area record carries the structure that holds it (check_state), and
 * every move between busy map, lazy list, deferred list, per-hart cache or pool, and free tree asserts
 * where it comes from; a parked area's leaves are checked clear (O(its pages), what the unmap just did);
 * a detached level-0 table carries the number of whole-TLB flushes begun when it was detached, and is
 * checked against the flushes done when it is freed. They read only the record, the page tables and two
 * flush counters (defined with the arena's state), so this header sits below every file of the arena and
 * each can assert as it moves a record or frees a table. The whole-structure walk, which reads the arena's state, is
 * vm/vmalloc_walk.c, above that state. */
#ifndef VM_VMALLOC_CHECK_H
#define VM_VMALLOC_CHECK_H

#include "lib/bug.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc_types.h"

/* The invariants by name (the oops prints the string). */
#define INV_ONE_HOME "vm[one_home] a range is in exactly one of busy map, lazy list, free tree, cache, pool or chunk"
#define INV_LIVE_AREAS "vm[live_areas] the live-area counters equal the busy map's areas"
#define INV_LIVE_PAGES "vm[live_pages] the live-page counters equal the busy areas' pages"
#define INV_OWNER_PAGES "vm[owner_pages] an owner's page count covers its areas' pages and the accounts below it (the kernel's: equals)"
#define INV_LAZY_PAGES "vm[lazy_pages] the lazy counters equal what the lazy lists hold"
#define INV_AREA_RECORDS "vm[area_records] area records in use equal the areas the structures hold"
#define INV_FREED_PTES "vm[freed_ptes] a freed area's leaves are clear before it is parked"
#define INV_PT_TABLES "vm[pt_tables] the level-0 table counter equals the tables under the region's level-1 tables"
#define INV_AREA_SHAPE "vm[area_shape] an area lies inside its reserved range, inside the region"
#define INV_FLUSHED_TABLES "vm[flushed_tables] a detached level-0 table is freed only after a flush of every hart begun after"

/* Where an area record is (check_state). NONE: a record just taken from the node pool. */
enum va_home { VA_NONE, VA_FREE, VA_CACHED, VA_BUSY, VA_TAKEN, VA_DEFERRED, VA_LAZY };
#define VAH(h) (1u << VA_##h)

#ifdef VM_DEBUG
/* Moves a to `to`, asserting it was in one of the homes of the `from` mask. Any context. */
static inline void va_check_move(struct vmap_area *a, unsigned from, enum va_home to)
{
	BUG_UNLESS(a->check_state < 16 && ((1u << a->check_state) & from), INV_ONE_HOME);
	a->check_state = (u16)to;
}
static inline void va_check_set(struct vmap_area *a, enum va_home to) { a->check_state = (u16)to; }
/* A live area's shape: its mapped bytes and guard inside its reserved range, the range inside the
 * region. O(1); any context. */
static inline void va_check_shape(const struct vmap_area *a)
{
	u64 guard = (a->flags & VM_NO_GUARD) ? 0 : PAGE_SIZE;
	BUG_UNLESS(a->va_start >= VMALLOC_START && a->va_size && a->va_start + a->va_size <= VMALLOC_END &&
			   a->addr >= a->va_start && a->addr + a->size + guard <= a->va_start + a->va_size,
		   INV_AREA_SHAPE);
}
/* Asserts every leaf of the area's reserved range clear (it is about to be parked). O(pages); any context. */
static inline void va_check_unmapped(const struct vmap_area *a)
{
	int level;
	for (u64 va = a->va_start; va < a->va_start + a->va_size; va += PAGE_SIZE)
		BUG_UNLESS(!pt_kr_lookup(va, &level), INV_FREED_PTES);
}

/* Flushes of every hart's whole TLB (this hart's and every other online one's), numbered as they begin;
 * va_flushes_done is the highest number of one that has ended. */
extern u64 va_flushes_begun, va_flushes_done;
static inline u64 va_check_flush_begin(void) { return __atomic_add_fetch(&va_flushes_begun, 1, __ATOMIC_ACQ_REL); }
static inline void va_check_flush_done(u64 n)
{
	u64 done = __atomic_load_n(&va_flushes_done, __ATOMIC_RELAXED);
	while (done < n && !__atomic_compare_exchange_n(&va_flushes_done, &done, n, true, __ATOMIC_RELEASE,
							__ATOMIC_RELAXED)) {
	}
}
/* A table just detached (pa; its first word links the chain): the flushes begun so far go in its second
 * word, shifted so that bit V stays clear for a stale walker that reads it as a PTE. */
static inline void va_check_table_detached(u64 pa)
{
	((u64 *)phys_to_virt(pa))[1] = __atomic_load_n(&va_flushes_begun, __ATOMIC_ACQUIRE) << 1;
}
/* Asserts that every table of the chain (linked through first words) saw a whole flush begin after its
 * detachment and end. O(tables); any context. */
static inline void va_check_tables_flushed(u64 chain)
{
	u64 done = __atomic_load_n(&va_flushes_done, __ATOMIC_ACQUIRE);
	for (; chain; chain = *(u64 *)phys_to_virt(chain))
		BUG_UNLESS(done > (((u64 *)phys_to_virt(chain))[1] >> 1), INV_FLUSHED_TABLES);
}
#else
static inline u64 va_check_flush_begin(void) { return 0; }
static inline void va_check_flush_done(u64 n) {}
static inline void va_check_table_detached(u64 pa) {}
static inline void va_check_tables_flushed(u64 chain) {}
static inline void va_check_move(struct vmap_area *a, unsigned from, enum va_home to) {}
static inline void va_check_set(struct vmap_area *a, enum va_home to) {}
static inline void va_check_shape(const struct vmap_area *a) {}
static inline void va_check_unmapped(const struct vmap_area *a) {}
#endif

#endif
