/* The arena's invariants, asserted in VM_DEBUG builds (make test's image for the vm suites; make run and
 * make bench build without it, and then every call here compiles to nothing). docs/design.md states the
 * invariants; this header names them, and an assertion failure is an oops (lib/bug.h) whose first line
 * carries the name in brackets, e.g. "invariant broken: vm[freed_ptes] ...".
 *
 * Cheap checks run on every call: each area record carries the structure that holds it (check_state), and
 * every move between busy map, lazy list, deferred list, per-hart cache or pool, and free tree asserts
 * where it comes from; a parked area's leaves are checked clear (O(its pages), what the unmap just did).
 * The whole-structure walk (vm_check_arena: every structure summed against the region and against the
 * counters that cache those sums) runs where the arena is at rest anyway: at the end of vm_arena_quiesce,
 * which every in-kernel suite runs before and after itself. */
#ifndef VM_VMALLOC_CHECK_H
#define VM_VMALLOC_CHECK_H

#include "lib/bug.h"
#include "vm/vmalloc.h"

/* The invariants by name (the oops prints the string). */
#define INV_ONE_HOME "vm[one_home] a range is in exactly one of busy map, lazy list, free tree, cache or pool"
#define INV_LIVE_AREAS "vm[live_areas] the live-area counters equal the busy map's areas"
#define INV_LIVE_PAGES "vm[live_pages] the live-page counters equal the busy areas' pages"
#define INV_OWNER_PAGES "vm[owner_pages] an owner's page count covers its areas' pages (the kernel's: equals)"
#define INV_LAZY_PAGES "vm[lazy_pages] the lazy counters equal what the lazy lists hold"
#define INV_AREA_RECORDS "vm[area_records] area records in use equal the areas the structures hold"
#define INV_FREED_PTES "vm[freed_ptes] a freed area's leaves are clear before it is parked"
#define INV_PT_TABLES "vm[pt_tables] the level-0 table counter equals the tables under the region's level-1 tables"
#define INV_AREA_SHAPE "vm[area_shape] an area lies inside its reserved range, inside the region"

/* Where an area record is (check_state). NONE: a record just taken from the node pool. */
enum va_home { VA_NONE, VA_FREE, VA_CACHED, VA_BUSY, VA_TAKEN, VA_DEFERRED, VA_LAZY };
#define VAH(h) (1u << VA_##h)

#ifdef VM_DEBUG
/* Moves a to `to`, asserting it was in one of the homes of the `from` mask. Any context. */
static inline void vm_check_move(struct vmap_area *a, unsigned from, enum va_home to)
{
	BUG_UNLESS(a->check_state < 16 && ((1u << a->check_state) & from), INV_ONE_HOME);
	a->check_state = (u16)to;
}
static inline void vm_check_set(struct vmap_area *a, enum va_home to) { a->check_state = (u16)to; }
/* A live area's shape: its mapped bytes and guard inside its reserved range, the range inside the
 * region. O(1); any context. */
void vm_check_area_shape(const struct vmap_area *a);
/* Asserts every leaf of the area's reserved range clear (it is about to be parked). O(pages); any context. */
void vm_check_area_unmapped(const struct vmap_area *a);
/* The whole walk (see above). Only at rest: no other hart allocating or freeing (vm_arena_quiesce's
 * callers, the suites' leak checks, guarantee it); takes every stripe, the arena and every pool lock.
 * Process context. */
void vm_check_arena(void);
/* Whole walks completed so far (the vm_invariants suite proves with it that the walk ran). Any context. */
u64 vm_check_walks(void);
#else
static inline void vm_check_move(struct vmap_area *a, unsigned from, enum va_home to) {}
static inline void vm_check_set(struct vmap_area *a, enum va_home to) {}
static inline void vm_check_area_shape(const struct vmap_area *a) {}
static inline void vm_check_area_unmapped(const struct vmap_area *a) {}
static inline void vm_check_arena(void) {}
#endif

#endif
