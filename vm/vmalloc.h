/* vmalloc: virtually contiguous kernel memory backed by individually allocated pages, each area followed
 * by an unmapped guard page, freed with lazily batched TLB shootdowns. The API follows Linux's.
 *
 * Contexts, for every function below unless it says otherwise. "Process context": a task or the idle
 * loop, interrupts on or off, holding no vm lock, no sched_lock and no lock an interrupt handler takes;
 * the call may wait for other harts in wfi (a purge's TLB shootdown, a grace period) but never sleeps as
 * a task. A lock of a layer above may be held (kernel/shm's object and task locks are, across vrealloc):
 * a hart waiting for it serves TLB shootdowns from its wait (lib/tlb_shootdown.h), so the fence still
 * ends, and the holder's wait only delays that lock's waiters. "Any context" adds interrupt handlers. The
 * allocators may also be called from interrupt context: there they use neither the per-hart caches nor a
 * purge (a failure comes sooner), and a free is deferred to the idle loop (vfree_atomic).
 * Errors: an allocator returns NULL and records why (size, alignment, caller, errno EINVAL or ENOMEM, a
 * reason) in vm_get_stats' last_fail_*; no allocator returns an error code and an address in one value.
 * A bad pointer given to a free is reported (printk, vm_stats.bad_frees) and ignored, never a crash. */
#ifndef VM_VMALLOC_H
#define VM_VMALLOC_H

#include "lib/types.h"
#include "vm/vmalloc_types.h"
#include "vm/vmalloc_owner.h"

struct page;

/* Request flags for __vmalloc_node and vrealloc. */
#define VMF_ZERO 0x1u
#define VMF_HUGE 0x2u     /* 2 MiB leaves where size and physical memory allow */
#define VMF_NO_GUARD 0x4u
#define VMF_USER 0x8u

/* Sets up the arena over the vmalloc region. Boot hart, once, after the page allocator and before any
 * other function here. */
void vmalloc_init(void);

/* size bytes (rounded up to pages), page aligned, mapped read-write, followed by a guard page; the
 * contents are undefined (vzalloc: zero). NULL when size is 0 or larger than the region (EINVAL), or
 * when no range or no page can be had (ENOMEM). */
void *vmalloc(size_t size);
void *vzalloc(size_t size);
/* As vmalloc/vzalloc with the pages taken from NUMA node `node` where it has them (NUMA_NO_NODE: this
 * hart's node), another node's otherwise (counted in vm_stats.node_fallbacks). */
void *vmalloc_node(size_t size, int node);
void *vzalloc_node(size_t size, int node);
/* As vmalloc with 2 MiB leaves when size is at least 2 MiB and order-9 blocks can be had, 4 KiB pages
 * otherwise (counted in vm_stats.huge_fallbacks); flags as __vmalloc_node's. */
void *vmalloc_huge(size_t size, unsigned flags);
/* The general form: align (a power of two, at least a page; 2 MiB for huge), VMF_* flags, node, and the
 * caller named in the area listing and the trace. EINVAL for a zero or oversized size or a bad align. */
void *__vmalloc_node(size_t size, size_t align, unsigned flags, int node, const void *caller);
/* As __vmalloc_node, charging the pages to `owner` (a task id) against its limit (vm_owner_set_limit):
 * NULL (ENOMEM) past it, nothing charged. */
void *__vmalloc_owner(size_t size, size_t align, unsigned flags, int node, u32 owner, const void *caller);
/* Frees the area starting at addr (NULL: nothing), made by vmalloc or vmap (a vmap's pages stay the
 * caller's). Its range stays unmapped but reserved until the next purge flushes every TLB. A pointer that
 * is not an area's start, or is vm_map_ram's (vm_unmap_ram's to end: it may start a block other mappings
 * share), is reported and ignored. From an interrupt handler it is vfree_atomic. Any context. */
void vfree(const void *addr);
/* vfree for a big area in process context: the same end, but its pages are unmapped, freed and uncharged
 * a megabyte at a time, with between(ctx) called after each megabyte, so that the caller may give its hart
 * up (a 1 GiB area is 262,144 pages, about 50 million instructions to free; Linux's vfree calls
 * cond_resched in the same loop). The area leaves the busy map first: nothing else reaches it meanwhile.
 * Huge areas (2 MiB blocks, 512 a gigabyte) go in one step. between must not touch the area. Process
 * context, no lock held (between may sleep or yield); from an interrupt handler it is vfree_atomic. */
void vfree_in_steps(const void *addr, void (*between)(void *ctx), void *ctx);
/* vfree that never waits: the area is queued and freed by the next allocator call or idle loop on any
 * hart (vm_deferred_drain forces it). Any context. */
void vfree_atomic(const void *addr);
/* Resizes the vmalloc area p to size bytes, keeping its contents up to the smaller size: in place when
 * the area's range allows (a shrink gives pages back), else by moving the pages to a larger range (the
 * pages keep their contents; a huge kernel area that cannot move is copied). Returns the area's (possibly
 * new) address; NULL with p untouched when it cannot grow (ENOMEM) or size is larger than the region
 * (EINVAL); NULL after freeing p when size is 0; as vmalloc when p is NULL. VMF_ZERO zero-fills what
 * grows; on a shrink it zeroes the cut bytes, and what later grows reads as zero too (Linux's __GFP_ZERO
 * shrink). A p that is not a VM_ALLOC area's start is reported, NULL. Process context. */
void *vrealloc(const void *p, size_t size, unsigned flags);
/* Makes the VM_ALLOC area p able to grow to size bytes in place, moving it now (pages taken along, none
 * added or charged) when its range is smaller; for callers that grow an area in steps, so its leaves move
 * once. Returns the area's (possibly new) address; NULL with p untouched when the growth would be past
 * its owner's limit as things stand or no range is free (ENOMEM), or size is larger than the region
 * (EINVAL); a p that is not a VM_ALLOC area's start is reported, NULL.
 * Process context; nobody else resizes p meanwhile. */
void *vrealloc_room(const void *p, size_t size);
/* Maps count of the caller's pages contiguously (prot: PTE_R with PTE_W or PTE_X, not both; 0 is R+W)
 * and returns the address; the pages stay the caller's. NULL for no pages, a bad count or protection
 * (EINVAL), an unmanaged page (EINVAL) or no page-table memory (ENOMEM). */
void *vmap(struct page **pages, unsigned int count, unsigned flags, u64 prot);
/* Unmaps a vmap area (its pages are not freed); NULL: nothing; a bad pointer, or the address of an area
 * vmap did not make (vmalloc's, vm_map_ram's), is reported and ignored. */
void vunmap(const void *addr);
/* Maps the caller's pages for a short while: small counts come from this hart's vm_map_ram block (no
 * arena lock), larger ones or calls from interrupts get an area. Any page table the mapping needs comes
 * from `node` (NUMA_NO_NODE: the hart's own), falling back to another node only when it has none. NULL
 * for no pages or count 0, node < NUMA_NO_NODE (EINVAL), or no range or table (ENOMEM). Any context. */
void *vm_map_ram(struct page **pages, unsigned int count, int node);
/* Unmaps what vm_map_ram mapped at mem, count being the count it was given; a pointer or count that does
 * not match a mapping is reported and ignored, except that a run of a per-hart block's pages that spans
 * several small mappings whole unmaps them all (a block keeps no record of where each one starts; Linux
 * does not check either). The range is reused only after a TLB flush. Process
 * context on the hart that mapped it for block mappings; any hart for area mappings. */
void vm_unmap_ram(const void *mem, unsigned int count);
/* Flushes every hart's TLB of ranges vm_unmap_ram left lazily mapped (Linux's vm_unmap_aliases).
 * Process context (waits for the other harts' acknowledgements). */
void vm_unmap_aliases(void);

/* (Defined in vm/vmalloc_query.c, with find_vm_area, vm_lock_counts, the two settings'
 * calls, vm_area_backed_pages, vm_live_areas and vm_cached_pages below.)
 * The page (or its physical address) mapped at addr, a vmalloc or vmap address; NULL (0) when nothing is
 * mapped there. Any context; the caller keeps the area alive. */
struct page *vmalloc_to_page(const void *addr);
u64 vmalloc_to_pa(const void *addr);
/* vmalloc_to_pa for an area made with VMF_USER, whose pages are never reused as known-zero (so nothing
 * is marked: the lookup alone, for the user mappings shm builds page by page). */
u64 vmalloc_user_to_pa(const void *addr);

/* The live area starting at addr, NULL if none. Containment lookups are diagnostics (O(n)). Any context;
 * the record is valid while the caller keeps the area from being freed. */
struct vmap_area *find_vm_area(const void *addr);

/* Fills *st with the counters summed over harts (each read once, not as one snapshot). Any context. */
void vm_get_stats(struct vm_stats *st);
/* The arena's share of the idle loop (vm/vm_idle.h's vm_idle_work): finishes frees deferred from
 * interrupt context and purges past the lazy threshold; returns without waiting for other harts' work.
 * Process context, the idle loop. */
void vm_arena_idle_work(void);
/* Prints every live area, /proc/vmallocinfo format, ordered by address. Process context (allocates its
 * sort buffer; takes the busy-map locks). */
void vm_dump_areas(void);
/* The same without allocating or waiting for a lock (an area whose stripe is held is skipped), for an
 * oops. Any context. */
void vm_dump_areas_oops(void);
/* Flushes every lazily freed range now and gives the ranges back (waits for a purge in flight first),
 * then frees the level-0 tables of the 2 MiB blocks left wholly free (vm/vmalloc_map.h). Process
 * context. */
void vm_purge(void);
/* Returns once no purge is in flight. Process context. */
void vm_purge_wait_idle(void);
/* Acquisitions so far, summed over harts: of the arena lock every hart shares, of busy-map stripes, and
 * of the per-size-class pools of purged ranges. Any context. */
void vm_lock_counts(u64 *arena_locks, u64 *stripe_locks, u64 *pool_locks);
/* The lazily freed pages past which a free starts a purge (0 is taken as 1), and its current value. Any
 * context. */
void vm_set_lazy_max_pages(u64 pages);
u64 vm_lazy_max_pages(void);
/* Frees what vfree_atomic queued, on every hart, and returns once no drain is half-way. Does nothing from
 * an interrupt handler. Process context. */
void vm_deferred_drain(void);
/* Use-after-vfree detection on the freeing hart (bootarg vmalloc.debug_uaf=1): each free then flushes
 * that hart's TLB. Returns the previous setting; any context. */
bool vm_set_debug_uaf(bool on);
/* The 4 KiB pages backing the live area at addr now, which is exactly what its owner is charged for it
 * (a huge area counts its 2 MiB blocks as 512 each; after a vrealloc shrink only the kept blocks); 0 for
 * no such area. Stable while the caller keeps the area from being resized or freed. Any context but
 * interrupts. */
u64 vm_area_backed_pages(const void *addr);

/* A kernel-mode page fault at addr in the vmalloc region (cause = scause): true if the PTE allows the
 * access, so the fault came from a stale TLB entry of this hart, which is then flushed. Trap context. */
bool vm_fault_spurious(u64 addr, u64 cause);
/* Appends to buf what addr is in the vmalloc region (an area, its guard, a freed area) for the oops;
 * safe while the faulting hart holds the arena lock. */
void vm_fault_describe(u64 addr, char *buf, size_t size);

/* Leak-check support for the test runner. vm_arena_quiesce: the arena's share of vm/vm_idle.h's
 * vm_quiesce (deferred frees drained, lazy ranges purged; vm_map_ram_quiesce first retires idle blocks);
 * process context.
 * vm_live_areas: areas allocated and not freed; vm_cached_pages: pages the allocator holds for reuse
 * (huge blocks, page caches, page tables kept for lazy ranges), which a leak check adds to the buddy
 * allocator's free pages. Both any context. */
void vm_arena_quiesce(void);
/* Retires the vm_map_ram blocks of harts that hold no mapping in theirs, so a leak check sees them gone.
 * Process context, other harts idle. */
void vm_map_ram_quiesce(void);
u64 vm_live_areas(void);
u64 vm_cached_pages(void);

/* The arena's own interface, for its files above this one (vrealloc.c, vmap_ram.c, vmalloc_diag.c) and the
 * in-kernel tests: not for callers outside vm/. An area's life: va_area_get reserves and registers it,
 * the caller backs it and settles its size, va_area_take ends it, va_area_park (or vfree's retire)
 * hands its range to the purge; va_area_abort undoes a get whose range was never exposed. */
/* Reserves va_size bytes (guard included) at the given alignment and registers the area as live, charging
 * `pages` to the owner first (a task over its quota gets nothing). A small kernel request takes its range
 * from this hart's cache; when the region is exhausted while lazily freed ranges wait (parked, or in a
 * purge in flight on another hart), waits for that purge, purges what is left and retries. NULL on
 * failure (noted). Any context but interrupt for the waits; no lock held. */
struct vmap_area *va_area_get(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages, const void *caller);
/* Undoes va_area_get for a range never exposed, `pages` uncharged: straight back to the free index when
 * nothing was ever mapped in it, else (`mapped`) to the purge, whose fence must come before its reuse. */
void va_area_abort(struct vmap_area *a, u64 pages, bool mapped);
/* Takes the live area starting at addr out of the busy map; NULL with a warning naming fn and caller. */
struct vmap_area *va_area_take(const void *addr, const char *fn, const void *caller);
/* Parks an area already out of the busy map and already unmapped for the next purge. No lock held. */
void va_area_park(struct vmap_area *a);
/* Allocates n pages (zeroed if asked) and maps them from va on (vm/pt.c); when out of pages, first turns
 * into free pages what a fence can (shrunk user tails waiting for theirs, the level-0 tables of wholly
 * free blocks) and tries once more. -ENOMEM with nothing mapped. The caller owns the range; process
 * context, no lock held (the fence waits for other harts). */
int va_populate(u64 va, u32 n, int node, bool zero);
/* The one place an area's requested size is set, with the slack invariant every path keeps: every mapped
 * byte past `size` reads as zero in a VM_ZERO area and as the redzone byte in any other. Bytes in
 * [size, dirty_end) may hold anything and are refilled (bytes from dirty_end on hold the fill byte
 * already); bytes in [zero_from, size) are zeroed (pass size for none). Caller owns the area. */
void va_area_settle(struct vmap_area *a, u64 size, u64 dirty_end, u64 zero_from);
/* Checks the slack of a VM_ALLOC area (see va_area_settle): false, reported and refilled when a byte was
 * overwritten. `when` and caller name the call that found it. Caller owns the area. */
bool va_redzone_check(struct vmap_area *a, const char *when, const void *caller);
/* One line naming the area (range, sizes, the caller that made it) for reports. Any context. */
void va_area_describe(const struct vmap_area *a, char *buf, size_t size);
/* The trace's alloc and free events of an area (TRACE_VMALLOC). Any context. */
void va_trace_alloc(const struct vmap_area *a, const void *caller);
void va_trace_free(const struct vmap_area *a, const char *fn, const void *caller);

#endif
