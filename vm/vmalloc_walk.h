/* The whole-arena check of VM_DEBUG builds: every structure (busy map, lazy lists, deferred list, caches,
 * pools, free tree, page tables) summed against the region and against the counters that cache those
 * sums (the invariants' names: vm/vmalloc_check.h). It runs where the arena is at rest anyway: at the end
 * of vm_arena_quiesce, which every in-kernel suite runs before and after itself. Without VM_DEBUG the
 * calls compile to nothing. */
#ifndef VM_VMALLOC_WALK_H
#define VM_VMALLOC_WALK_H

#include "lib/types.h"

#ifdef VM_DEBUG
/* The whole walk. Only at rest: no other hart allocating or freeing (vm_arena_quiesce's callers, the
 * suites' leak checks, guarantee it); takes every stripe, the arena and every pool lock. Process context. */
void va_walk_arena(void);
/* Whole walks completed so far (the vm_invariants suite proves with it that the walk ran). Any context. */
u64 va_walk_count(void);
#else
static inline void va_walk_arena(void) {}
#endif

#endif
