/* The vmalloc arena's entry points (vm/vmalloc.h) and an area's life: reserving a virtual range (lowest
 * fit, guard page after each area), backing it with pages, the slack invariant, freeing it lazily. Small
 * kernel requests take their range from a per-hart cache fed by pools of purged areas (vm/vmalloc_cache.c,
 * no shared lock); the rest do index work under the arena lock. Live areas sit in a striped busy map;
 * page-table work and page allocation happen outside all locks. Below this file: the owners' accounts
 * API (vm/vmalloc_owner.c), the page-table work of more than one step (vm/vmalloc_map.c), the purge (vm/vmalloc_purge.c), the caches and busy map, and the
 * state and its counters (vm/vmalloc_arena.c). Above it: the read-only lookups and settings
 * (vm/vmalloc_query.c), and vrealloc, vm_map_ram and the diagnostics. */
#include "vm/vmalloc.h"
#include "lib/bootargs.h"
#include "lib/ksyms.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/page_cache.h"
#include "vm/vm_boot.h"
#include "vm/vmalloc_chunk.h"
#include "vm/vmalloc_map.h"
#include "vm/vmalloc_purge.h"
#include "vm/vmalloc_walk.h"

#define CALLER __builtin_return_address(0)

static void deferred_drain_some(void);

__noinline void vmalloc_init(void)
{
	u64 v;

	node_pool_init(&arena.extent_pool, VA_INDEX_NODE_SIZE);
	node_pool_init(&arena.area_pool, sizeof(struct vmap_area));
	va_index_init(&arena.free, &arena.extent_pool, VMALLOC_START, VMALLOC_END);
	for (u32 i = 0; i < BUSY_STRIPES; i++) {
		busy_stripes[i].lock = (spinlock_t)SPINLOCK_INIT;
		va_busy_init(&busy_stripes[i].map);
	}
	pt_kr_init(kernel_root_pa, VMALLOC_START, VMALLOC_END);
	/* Linux's lazy_max_pages: 32 MiB per fls(online cpus). */
	arena.lazy_max_pages = (u64)fls64(nr_harts_online) * (32UL << 20) / PAGE_SIZE;
	if (!bootarg_u64("vmalloc.lazy_max_pages", &v) && v) arena.lazy_max_pages = v;
	/* Owners other than the kernel get their limits from whoever creates them (kernel/task.c's spawn,
	 * from the one default in <vmk/abi.h> or the vmalloc.task_quota_pages bootarg); until then, none. */
	if (!bootarg_u64("vmalloc.debug_uaf", &v)) vm_debug_uaf = v != 0;
	arena.owner_limit[VM_OWNER_KERNEL] = ~0ULL;
	if (bootarg_get("trace")) trace_mask = trace_parse_classes(bootarg_get("trace"));
	TRACE(TRACE_VMALLOC, CALLER, "ev=region start=0x%lx end=0x%lx lazy_max_pages=%lu", VMALLOC_START,
	      VMALLOC_END, arena.lazy_max_pages);
}

/* A request refused for a bad argument (EINVAL), before anything was reserved. */
static void reject(u64 size, u64 align, const void *caller, const char *reason)
{
	arena_note_event(ARENA_REJECTED);
	arena_note_failure(size, align, caller, EINVAL, reason);
}

/* Aligned requests up to this alignment reserve size + align - PAGE_SIZE from the start of the lowest
 * extent that holds it and place the area at the aligned address inside (Linux's adjusted search size):
 * one descent, always a carve from an extent's start, so no sliver of padding is left behind as an
 * extent of its own to be inserted now and erased again at the purge. Larger alignments would waste too
 * much of the region and take the exact lowest aligned fit instead. */
#define PADDED_ALIGN_MAX (4UL << 20)

/* Reserves va_size bytes (guard included) at the given alignment and registers the area. Charges `pages`
 * to the owner first: a task over its quota gets nothing. When the region is exhausted while lazily
 * freed ranges wait (parked, or in a purge in flight on another hart) or other harts cache free ranges,
 * waits for that purge, purges what is left, asks those harts for their ranges (a bounded wait:
 * vm_purge_ask_harts) and retries before giving up. Any context but interrupt; no lock held. */
static struct vmap_area *area_get_slow(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages,
					const void *caller);

struct vmap_area *va_area_get(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages, const void *caller)
{
	bool padded = align > PAGE_SIZE && align <= PADDED_ALIGN_MAX;
	/* A padded request is a range of va_size + align - PAGE_SIZE bytes, whatever its start: small ones
	 * come from the same per-hart caches. */
	u64 cached_span = padded ? va_size + align - PAGE_SIZE : va_size;
	bool cached = owner == VM_OWNER_KERNEL && (align == PAGE_SIZE || padded) && va_size && va_cache_fits(cached_span) &&
		      !(va_size & (PAGE_SIZE - 1)) && !in_interrupt();
	/* Fenced areas go back when an allocation needs ranges its hart's cache does not hold, not when a
	 * free crosses them (vm_purge_give_back_some): a burst of this hart's own, into its caches, is what
	 * its next allocations pop, while the records are still in its core's cache. Given back at vfree,
	 * they sat a purge's worth of calls in the pools and every pop missed the host's cache (fix_size at
	 * -smp 2: 15% less host time per op, QEMU's own profile by guest function). */
	if (unlikely(READ_ONCE(arena.fenced_head)) && !in_interrupt() &&
	    (!cached || !va_cache_of(&arena_harts[this_hart_index()], cached_span)->count))
		vm_purge_give_back_some(cached ? 2 * va_mag_areas(cached_span >> PAGE_SHIFT) - 1 : ~0ULL);
	if (likely(cached)) {
		struct vmap_area *a = va_cache_get(cached_span, align, vmflags, pages, caller);
		if (likely(a)) return a;
	} else if (owner == VM_OWNER_KERNEL && align == PAGE_SIZE && va_chunk_fits(va_size) &&
		   !(va_size & (PAGE_SIZE - 1)) && !in_interrupt()) {
		struct vmap_area *a = va_chunk_get(va_size, vmflags, pages, caller);
		if (likely(a)) return a;
	}
	return area_get_slow(va_size, align, vmflags, owner, pages, caller);
}

/* va_area_get's index path, under the arena lock. Out of line so that the cached path above, which
 * LTO inlines into vmalloc, saves no registers for it. */
static __noinline struct vmap_area *area_get_slow(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages,
						  const void *caller)
{
	u64 start, span = va_size;
	u32 retries = 0, late = 0;
	bool padded = align > PAGE_SIZE && align <= PADDED_ALIGN_MAX;
	const char *why;
	int err = ENOMEM;
	unsigned long f = arena_lock();
	if (unlikely(!arena_owner_fits_locked(owner, pages))) {
		why = "over the owner's page limit"; /* a valid request that failed: vm_stats.failures */
		goto fail_unlock;
	}
	struct vmap_area *a = node_pool_get(&arena.area_pool);
	if (unlikely(!a)) {
		why = "no memory for area metadata";
		goto fail_unlock;
	}
	va_check_set(a, VA_NONE); /* a record from the node pool holds whatever its last use left */
	for (;;) {
		int e;
		if (likely(!padded)) {
			e = va_index_alloc(&arena.free, va_size, align, &start);
		} else {
			span = va_size + align - PAGE_SIZE;
			e = va_index_alloc(&arena.free, span, PAGE_SIZE, &start);
			if (unlikely(e)) {
				span = va_size; /* no room for the padding: the exact fit may still exist */
				e = va_index_alloc(&arena.free, va_size, align, &start);
			}
		}
		if (likely(!e)) break;
		bool lazy = arena.lazy_head || arena.fenced_head || va_lazy_pages_total() || vm_purge_in_flight() ||
			    va_pools_hold_ranges() || arena.table_blocks_out || va_others_hold_ranges(NULL);
		if (e == -EINVAL || retries == 2 || !lazy || in_interrupt()) {
			node_pool_put(&arena.area_pool, a);
			why = e == -EINVAL ? "invalid size or alignment"
			      : late	   ? "vmalloc region exhausted (harts busy in the kernel kept their cached ranges)"
					   : "vmalloc region exhausted";
			err = -e == EINVAL ? EINVAL : ENOMEM;
			goto fail_unlock;
		}
		arena_unlock(f);
		vm_purge(); /* waits for a purge in flight, then purges what is still parked */
		late = vm_purge_ask_harts(); /* and the ranges other harts' caches and chunks hold */
		retries++;
		f = arena_lock();
	}
	if (owner != VM_OWNER_KERNEL) arena_owner_add_locked(owner, (s64)pages);
	arena_unlock(f);
	va_area_init(a, start, span, align, vmflags, owner, caller);
	va_busy_add(a);
	arena_count_in(a, pages);
	return a;

fail_unlock:
	/* An invalid request is refused (vm_stats.rejected), any other failed (vm_stats.failures); either is
	 * noted with the size asked for, the guard page left out. */
	arena_note_event_locked(err == EINVAL ? ARENA_REJECTED : ARENA_FAILED);
	arena_unlock(f);
	arena_note_failure(va_size - ((vmflags & VM_NO_GUARD) ? 0 : PAGE_SIZE), align, caller, err, why);
	return NULL;
}

/* Undoes va_area_get for an area whose range was never exposed to a caller (vm/vmalloc.h: straight back
 * to the free index when nothing was ever mapped there, to the purge when something was). */
void va_area_abort(struct vmap_area *a, u64 pages, bool mapped)
{
	va_busy_take(a->addr);
	u32 owner = a->owner;
	unsigned long f = arena_lock();
	arena_note_event_locked(ARENA_FAILED);
	bool due = false;
	/* A range that held a leaf, however briefly, may sit in another hart's TLB (RISC-V lets a hart cache
	 * any valid translation, speculatively too): it goes to the purge, whose fence comes before its
	 * reuse. One with no node to record it goes there too, rather than being lost. */
	if (mapped || va_index_free(&arena.free, a->va_start, a->va_size) == -ENOMEM) {
		a->nr_pages = 0;
		due = va_lazy_park_locked(a);
	} else {
		va_check_move(a, VAH(TAKEN), VA_FREE);
		node_pool_put(&arena.area_pool, a);
	}
	arena_unlock(f);
	arena_count_out(owner, pages, true); /* the owner's charge too, once */
	if (due) vm_purge_kick();
}

/* Out of pages: what the arena holds back that a fence can turn into free pages goes first, then one more
 * try (a failed populate has unmapped and freed what it took): shrunk user tails waiting for their fence
 * (vm_tail_pages_defer), and, outside interrupt handlers, the level-0 tables of wholly free blocks
 * (va_reclaim_tables). Out of line and cold, so the common path of va_populate stays one call LTO can
 * inline (it cost fix_size 22 instructions a loop). */
static __attribute__((noinline, cold)) int populate_after_drain(u64 va, u32 n, int node, bool zero, int e)
{
	bool freed = false;
	/* The drain's fence waits for the other harts: never from an interrupt handler. */
	if (!in_interrupt() && vm_tail_pages_waiting()) {
		vm_tail_pages_drain();
		freed = true;
	}
	if (!in_interrupt() && va_reclaim_tables()) freed = true;
	return freed ? pt_kr_populate(va, n, node, zero) : e;
}

int va_populate(u64 va, u32 n, int node, bool zero)
{
	int e = pt_kr_populate(va, n, node, zero);
	return likely(!e) ? 0 : populate_after_drain(va, n, node, zero, e);
}

#define REDZONE_BYTE 0xa5 /* slack fill of non-zeroed areas; zeroed areas keep their slack zero */

/* va_area_settle's body, inlined into vmalloc: there both memsets are usually empty, and a call that
 * does nothing cost fix_size ~25 instructions. */
static inline __attribute__((always_inline)) void area_settle(struct vmap_area *a, u64 size, u64 dirty_end,
							       u64 zero_from)
{
	u64 end = (u64)a->nr_pages << PAGE_SHIFT;
	if (zero_from < size) memset((void *)(a->addr + zero_from), 0, size - zero_from);
	dirty_end = MIN(dirty_end, end);
	if (size < dirty_end) memset((void *)(a->addr + size), (a->flags & VM_ZERO) ? 0 : REDZONE_BYTE, dirty_end - size);
	a->requested = size;
}

void va_area_settle(struct vmap_area *a, u64 size, u64 dirty_end, u64 zero_from)
{
	area_settle(a, size, dirty_end, zero_from);
}

/* The redzone is the slack between the requested size and the end of its page: small enough to fill on
 * every allocation, and it catches the classic off-by-a-few overrun that a guard page cannot. */
static u64 redzone_end(const struct vmap_area *a)
{
	u64 end = ALIGN_UP(a->requested, PAGE_SIZE);
	return MIN(end, (u64)a->nr_pages << PAGE_SHIFT);
}

void va_area_describe(const struct vmap_area *a, char *buf, size_t size)
{
	char sym[96];
	ksym_format((uptr)a->caller, sym, sizeof(sym));
	snprintf(buf, size, "area 0x%lx-0x%lx size %lu requested %lu caller %s", a->addr, a->addr + a->size,
		 a->size, a->requested, sym);
}

/* The report of an overwritten redzone (byte i is the first wrong one): out of line and cold, so the
 * check itself, on every vfree, saves no registers for it. */
static __attribute__((noinline, cold)) bool redzone_report(struct vmap_area *a, u64 i, u8 want, const char *when,
							   const void *caller)
{
	const u8 *p = (const u8 *)a->addr;
	u64 end = redzone_end(a);
	char what[200], sym[96];
	va_area_describe(a, what, sizeof(what));
	ksym_format((uptr)caller, sym, sizeof(sym));
	printk("vmalloc: redzone overwritten, found at %s by %s: byte at +%lu (%lu past the requested end) is "
	       "0x%02x, expected 0x%02x; %s\n",
	       when, sym, i, i - a->requested, p[i], want, what);
	arena_note_event(ARENA_REDZONE_ERROR);
	memset((void *)(a->addr + a->requested), want, end - a->requested); /* refilled: reported once */
	return false;
}

/* va_redzone_check's body, inlined into vfree: a call there kept vfree's caller in a saved register for
 * the trace after it (the trace's cost, compiled in and off, is held within 1% of fix_size). */
static inline __attribute__((always_inline)) bool redzone_check(struct vmap_area *a, const char *when,
								const void *caller)
{
	if (!(a->flags & VM_ALLOC)) return true;
	u8 want = (a->flags & VM_ZERO) ? 0 : REDZONE_BYTE;
	const u8 *p = (const u8 *)a->addr;
	u64 end = redzone_end(a);
	for (u64 i = a->requested; i < end; i++)
		if (unlikely(p[i] != want)) return redzone_report(a, i, want, when, caller);
	return true;
}

bool va_redzone_check(struct vmap_area *a, const char *when, const void *caller)
{
	return redzone_check(a, when, caller);
}

/* The hot paths' events, formatted out of line from the area (see trace_on). */
__attribute__((noinline, cold)) void va_trace_alloc(const struct vmap_area *a, const void *caller)
{
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=%s addr=0x%lx size=%lu pages=%u huge=%d node=%d va_size=%lu",
	      (a->flags & VM_ZERO) ? "vzalloc" : "vmalloc", a->addr, a->requested, a->nr_pages,
	      !!(a->flags & VM_HUGE), a->node, va_area_span(a));
}

__attribute__((noinline, cold)) void va_trace_free(const struct vmap_area *a, const char *fn, const void *caller)
{
	TRACE(TRACE_VMALLOC, caller, "ev=free fn=%s addr=0x%lx size=%lu pages=%u", fn, a->addr, a->size, a->nr_pages);
}

/* A vmalloc whose pages could not be had: the area goes back unused and the failure is recorded. */
static __attribute__((noinline, cold)) void *populate_failed(struct vmap_area *a, u64 size, u64 align,
							     const void *caller)
{
	va_area_abort(a, a->nr_pages, true); /* the failed populate mapped some pages before it gave up */
	arena_note_failure(size, align, caller, ENOMEM, "out of physical pages");
	return NULL;
}

/* __vmalloc_owner's general path: every size, alignment, owner and flag, the range from wherever
 * va_area_get finds it. */
static __noinline void *vmalloc_general(size_t size, size_t align, unsigned flags, int node, u32 owner,
					const void *caller)
{
	if (unlikely(!size || size > VMALLOC_SIZE)) {
		reject(size, align, caller, size ? "size exceeds the vmalloc region" : "zero size");
		return NULL;
	}
	if (align < PAGE_SIZE) align = PAGE_SIZE;
	if (unlikely(!is_pow2(align))) {
		reject(size, align, caller, "alignment not a power of two");
		return NULL;
	}
	if (unlikely(READ_ONCE(arena.deferred_head))) deferred_drain_some();
	bool huge = (flags & VMF_HUGE) && size >= PMD_SIZE, zero = flags & VMF_ZERO;
	u64 mapped = ALIGN_UP((u64)size, huge ? PMD_SIZE : PAGE_SIZE);
	if (huge && align < PMD_SIZE) align = PMD_SIZE;
	u64 guard = (flags & VMF_NO_GUARD) ? 0 : PAGE_SIZE;
	u64 pages = mapped >> PAGE_SHIFT;
	unsigned vmflags = VM_ALLOC | (zero ? VM_ZERO : 0) | ((flags & VMF_NO_GUARD) ? VM_NO_GUARD : 0) |
			   ((flags & VMF_USER) ? VM_USER : 0);

	struct vmap_area *a = va_area_get(mapped + guard, align, vmflags, owner, pages, caller);
	if (unlikely(!a)) return NULL;
	a->size = mapped;
	a->requested = size;
	a->nr_pages = (u32)pages;
	a->node = (s16)node;
	int e = -ENOMEM;
	if (huge) {
		e = va_populate_huge(a->addr, mapped, node, zero);
		if (!e) {
			a->flags |= VM_HUGE;
		} else {
			/* Fall back at the real size: the range stays 2 MiB rounded and aligned, the rest of it
			 * is guard, and the owner is charged for the pages actually mapped. */
			u64 real = ALIGN_UP((u64)size, PAGE_SIZE);
			arena_pages_add(a->owner, -(s64)(pages - (real >> PAGE_SHIFT)));
			mapped = real;
			pages = real >> PAGE_SHIFT;
			a->size = mapped;
			a->nr_pages = (u32)pages;
			arena_note_event(ARENA_HUGE_FALLBACK);
		}
	}
	if (e) e = va_populate(a->addr, (u32)pages, node, zero);
	if (unlikely(e)) return populate_failed(a, size, align, caller);
	area_settle(a, size, zero ? 0 : mapped, size);
	va_check_shape(a);
	if (trace_on(TRACE_VMALLOC)) va_trace_alloc(a, caller);
	return (void *)a->addr;
}

/* The fast path: a small page-aligned kernel request whose range this hart's cache holds now, in process
 * context with no deferred frees waiting. The same steps as vmalloc_general's (range, pages, slack,
 * trace) with its cases that cannot occur here left out; anything else, a cache to refill included,
 * goes there. */
void *__vmalloc_owner(size_t size, size_t align, unsigned flags, int node, u32 owner, const void *caller)
{
	u64 mapped = ALIGN_UP((u64)size, PAGE_SIZE);
	u64 span = mapped + ((flags & VMF_NO_GUARD) ? 0 : PAGE_SIZE);
	/* size - 1 below the largest class: not zero, and mapped cannot have wrapped. */
	if (likely(owner == VM_OWNER_KERNEL && align <= PAGE_SIZE && !(flags & VMF_HUGE) &&
		   (u64)size - 1 < ((u64)VA_CACHE_CLASSES << PAGE_SHIFT) && va_cache_fits(span) &&
		   !READ_ONCE(arena.deferred_head) && !in_interrupt())) {
		struct arena_hart *h = &arena_harts[this_hart_index()];
		struct va_class_cache *c = va_cache_of(h, span);
		if (likely(c->count)) {
			bool zero = flags & VMF_ZERO;
			u64 pages = mapped >> PAGE_SHIFT;
			unsigned vmflags = VM_ALLOC | (zero ? VM_ZERO : 0) | ((flags & VMF_NO_GUARD) ? VM_NO_GUARD : 0) |
					   ((flags & VMF_USER) ? VM_USER : 0);
			struct vmap_area *a = va_cache_pop(h, c, span, PAGE_SIZE, vmflags, pages, caller);
			a->size = mapped;
			a->requested = size;
			a->nr_pages = (u32)pages;
			a->node = (s16)node;
			if (unlikely(va_populate(a->addr, (u32)pages, node, zero))) return populate_failed(a, size, PAGE_SIZE, caller);
			area_settle(a, size, zero ? 0 : mapped, size);
			va_check_shape(a);
			/* a->caller is caller: not kept live across the page-table work for the trace alone. */
			if (trace_on(TRACE_VMALLOC)) va_trace_alloc(a, a->caller);
			return (void *)a->addr;
		}
	}
	return vmalloc_general(size, align, flags, node, owner, caller);
}

void *__vmalloc_node(size_t size, size_t align, unsigned flags, int node, const void *caller)
{
	return __vmalloc_owner(size, align, flags, node, VM_OWNER_KERNEL, caller);
}

__noinline void *vmalloc(size_t size) { return __vmalloc_owner(size, PAGE_SIZE, 0, NUMA_NO_NODE, 0, CALLER); }
__noinline void *vzalloc(size_t size) { return __vmalloc_owner(size, PAGE_SIZE, VMF_ZERO, NUMA_NO_NODE, 0, CALLER); }
__noinline void *vmalloc_node(size_t size, int node) { return __vmalloc_owner(size, PAGE_SIZE, 0, node, 0, CALLER); }
__noinline void *vzalloc_node(size_t size, int node) { return __vmalloc_owner(size, PAGE_SIZE, VMF_ZERO, node, 0, CALLER); }
__noinline void *vmalloc_huge(size_t size, unsigned flags)
{
	return __vmalloc_owner(size, PAGE_SIZE, flags | VMF_HUGE, NUMA_NO_NODE, 0, CALLER);
}

/* A free of a pointer that starts no live area: counted and reported, nothing changed. */
static __attribute__((noinline, cold)) void bad_free(const char *fn, const void *addr, const void *caller)
{
	arena_note_event(ARENA_BAD_FREE);
	arena_warn_bad_pointer(fn, addr, caller);
}

/* va_area_take's body, inlined into vfree. */
static inline __attribute__((always_inline)) struct vmap_area *area_take(const void *addr, const char *fn,
									  const void *caller, s64 *bank, u32 refused)
{
	struct vmap_area *l = va_busy_take_in((u64)(uptr)addr, bank, refused);
	if (unlikely(!l)) {
		bad_free(fn, addr, caller);
		return NULL;
	}
	arena_stat_bank_add(bank, ARENA_STAT_LIVE_AREAS, -1);
	return (struct vmap_area *)l;
}

/* Takes the area starting at addr out of the busy map; NULL (with a warning) if there is none or it has
 * one of the `refused` flags. */
static struct vmap_area *va_area_take_kind(const void *addr, const char *fn, const void *caller, u32 refused)
{
	return area_take(addr, fn, caller, arena_stat_bank(), refused);
}

struct vmap_area *va_area_take(const void *addr, const char *fn, const void *caller)
{
	return area_take(addr, fn, caller, arena_stat_bank(), 0);
}

/* Unmaps an area already out of the busy map, frees what it owns and parks its range for the purge.
 * Inlined into vfree, whose common case is all of it. */
/* What becomes of a retiring area's pages: a vmalloc's are freed (a zeroed kernel area's unwritten pages
 * stay known-zero), a vmap's stay its caller's. */
static inline __attribute__((always_inline)) enum pt_kr_fate area_page_fate(const struct vmap_area *a)
{
	if ((a->flags & (VM_ALLOC | VM_ZERO | VM_USER)) == (VM_ALLOC | VM_ZERO)) return PT_KR_FREE_SORTED;
	return (a->flags & VM_ALLOC) ? PT_KR_FREE : PT_KR_KEEP;
}

/* `from`: the bytes at the area's start a stepped free has already cleared (0 from vfree, where the
 * constant folds away). */
static inline __attribute__((always_inline)) void area_retire_in(struct vmap_area *a, struct arena_hart *h, s64 *bank,
								 u64 from)
{
	u64 pages = a->nr_pages;

	if (a->flags & VM_HUGE) va_unmap_huge(a->addr, a->size);
	else pt_kr_clear(a->addr + from, (u32)((a->size - from) >> PAGE_SHIFT), area_page_fate(a), NULL);
	/* The range stays the area's until the purge, so its whole 2 MiB blocks' tables can go; the purge's
	 * flush comes before they are reused. */
	if (unlikely(a->va_size >= PMD_SIZE)) a->lazy_tables = va_detach_tables(a->va_start, a->va_size);
	va_debug_uaf_flush(a->addr, a->size);
	if (a->flags & VM_ALLOC) arena_count_out_bank(bank, a->owner, pages, false);
	if (va_lazy_park_in(a, h, bank)) vm_purge_kick();
	else vm_purge_give_back_backlog(); /* a burst only if the fenced areas pile up: nobody allocates */
}

/* area_retire_in with this hart's record and the bank of the current context. */
static void area_retire(struct vmap_area *a, u64 from)
{
	area_retire_in(a, &arena_harts[this_hart_index()], arena_stat_bank(), from);
}

void va_area_park(struct vmap_area *a)
{
	a->lazy_tables = va_detach_tables(a->va_start, a->va_size);
	if (va_lazy_park(a)) vm_purge_kick();
}

static void vfree_caller(const void *addr, const void *caller)
{
	if (!addr) return;
	if (in_interrupt()) {
		vfree_atomic(addr);
		return;
	}
	if (unlikely(READ_ONCE(arena.deferred_head))) deferred_drain_some();
	struct arena_hart *h = &arena_harts[this_hart_index()]; /* process context: its bank 0 */
	struct vmap_area *a = area_take(addr, "vfree", caller, h->stat[0], VM_FREED_ELSEWHERE);
	if (unlikely(!a)) return;
	if (unlikely(!(a->flags & VM_ALLOC))) {
		/* vfree of a vmap area is allowed (Linux allows it): the pages stay the caller's. */
	}
	/* The event before the redzone check: after it, the trace call would make the fields the retire
	 * reads be loaded again (3 instructions a vfree, against the trace's 1% bar). */
	if (trace_on(TRACE_VMALLOC)) va_trace_free(a, "vfree", caller);
	redzone_check(a, "vfree", caller);
	area_retire_in(a, h, h->stat[0], 0);
}

__noinline void vfree(const void *addr) { vfree_caller(addr, CALLER); }

/* A megabyte: about 50,000 instructions of unmapping and freeing between two calls of `between`. */
#define VFREE_STEP_PAGES 256

__noinline void vfree_in_steps(const void *addr, void (*between)(void *ctx), void *ctx)
{
	if (!addr) return;
	if (in_interrupt()) { /* not vfree_caller: a second caller would take it out of line from vfree */
		vfree_atomic(addr);
		return;
	}
	if (unlikely(READ_ONCE(arena.deferred_head))) deferred_drain_some();
	struct vmap_area *a = va_area_take_kind(addr, "vfree", CALLER, VM_FREED_ELSEWHERE);
	if (unlikely(!a)) return;
	if (trace_on(TRACE_VMALLOC)) va_trace_free(a, "vfree", CALLER);
	redzone_check(a, "vfree", CALLER);
	u64 from = 0;
	if ((a->flags & (VM_ALLOC | VM_HUGE)) == VM_ALLOC) {
		for (u64 step = (u64)VFREE_STEP_PAGES << PAGE_SHIFT; a->size - from > step; from += step) {
			u32 n = pt_kr_clear(a->addr + from, VFREE_STEP_PAGES, area_page_fate(a), NULL);
#ifdef VM_DEBUG
			BUG_UNLESS(n <= a->nr_pages, INV_LIVE_PAGES);
#endif
			a->nr_pages -= n; /* the rest is counted out by the retire */
			arena_count_out(a->owner, n, false);
			between(ctx); /* the task may come back on another hart: the retire asks which */
		}
	}
	area_retire(a, from);
}

__noinline void vfree_atomic(const void *addr)
{
	if (!addr) return;
	struct vmap_area *a = va_area_take_kind(addr, "vfree_atomic", CALLER, VM_FREED_ELSEWHERE);
	if (!a) return;
	if (trace_on(TRACE_VMALLOC)) va_trace_free(a, "vfree_atomic", CALLER);
	unsigned long f = arena_lock();
	va_check_move(a, VAH(TAKEN), VA_DEFERRED);
	a->lazy_next = arena.deferred_head;
	arena.deferred_head = a;
	arena_unlock(f);
	arena_stat_add(ARENA_STAT_DEFERRED_FREES, 1);
}

/* Takes the deferred list and retires it. The list leaves the arena before its areas are retired, so
 * `deferred_draining` counts the harts half-way through one: a drain that must mean "drained" waits
 * for it to reach zero. */
static void deferred_drain_some(void)
{
	if (in_interrupt()) return;
	unsigned long f = arena_lock();
	struct vmap_area *list = arena.deferred_head;
	arena.deferred_head = NULL;
	if (list) __atomic_fetch_add(&arena.deferred_draining, 1, __ATOMIC_RELAXED);
	arena_unlock(f);
	if (!list) return;
	while (list) {
		struct vmap_area *next = list->lazy_next;
		va_check_move(list, VAH(DEFERRED), VA_TAKEN);
		va_redzone_check(list, "vfree_atomic", list->caller);
		area_retire(list, 0);
		list = next;
	}
	__atomic_fetch_sub(&arena.deferred_draining, 1, __ATOMIC_RELEASE);
	/* Whoever waits for the drain sleeps in wfi: wake every hart (drains are rare). */
	harts_kick_others();
}

void vm_deferred_drain(void)
{
	if (in_interrupt()) return;
	deferred_drain_some();
	hart_wait_until(!__atomic_load_n(&arena.deferred_draining, __ATOMIC_ACQUIRE) &&
			!READ_ONCE(arena.deferred_head));
}

void vm_arena_idle_work(void)
{
	if (unlikely(READ_ONCE(arena.deferred_head))) deferred_drain_some();
	vm_purge_idle_work();
}

__noinline void *vmap(struct page **pages, unsigned int count, unsigned flags, u64 prot)
{
	if (!pages || !count || count > (VMALLOC_SIZE >> PAGE_SHIFT)) {
		reject((u64)count << PAGE_SHIFT, PAGE_SIZE, CALLER, pages ? "vmap: bad page count" : "vmap: no pages");
		return NULL;
	}
	if (!prot) prot = PTE_R | PTE_W;
	if (!(prot & PTE_R) || (prot & ~(u64)(PTE_R | PTE_W | PTE_X)) || ((prot & PTE_W) && (prot & PTE_X))) {
		reject((u64)count << PAGE_SHIFT, PAGE_SIZE, CALLER, "vmap: bad protection (W+X is refused)");
		return NULL;
	}
	u64 guard = (flags & VMF_NO_GUARD) ? 0 : PAGE_SIZE;
	struct vmap_area *a = va_area_get(((u64)count << PAGE_SHIFT) + guard, PAGE_SIZE,
				     VM_MAP | ((flags & VMF_NO_GUARD) ? VM_NO_GUARD : 0), 0, 0, CALLER);
	if (!a) return NULL;
	a->size = a->requested = (u64)count << PAGE_SHIFT;
	a->nr_pages = count;
	a->node = NUMA_NO_NODE;
	int e = pt_kr_map_pages(a->addr, pages, count, prot | PTE_G);
	if (e) {
		va_area_abort(a, 0, true); /* pt_kr_map_pages unmapped what it had mapped */
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, CALLER, -e,
				e == -EINVAL ? "vmap: NULL or unmanaged page" : "vmap: no memory for page tables");
		return NULL;
	}
	TRACE(TRACE_VMALLOC, CALLER, "ev=alloc fn=vmap addr=0x%lx size=%lu pages=%u va_size=%lu", a->addr, a->size,
	      count, va_area_span(a));
	return (void *)a->addr;
}

__noinline void vunmap(const void *addr)
{
	if (!addr) return;
	struct vmap_area *a = va_area_take_kind(addr, "vunmap", CALLER, VM_FREED_ELSEWHERE | VM_ALLOC);
	if (!a) return;
	TRACE(TRACE_VMALLOC, CALLER, "ev=free fn=vunmap addr=0x%lx size=%lu pages=%u", a->addr, a->size,
	      a->nr_pages);
	area_retire(a, 0);
}

void vm_arena_quiesce(void)
{
	vm_deferred_drain();
	vm_purge();
	va_walk_arena(); /* VM_DEBUG: the whole walk, here where the arena is at rest */
}

void vm_purge(void)
{
	vm_purge_parked();
	(void)va_reclaim_tables(); /* after the purge: the ranges it gave back may complete free blocks */
}

void vm_purge_wait_idle(void)
{
	while (vm_purge_in_flight()) vm_purge_wait(vm_purge_seq());
}
