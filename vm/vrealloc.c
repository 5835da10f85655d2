/* vrealloc with Linux's current semantics: NULL allocates, 0 frees, shrink keeps the pointer and really
 * gives the tail pages back (flushed first; a huge area its whole 2 MiB blocks past the new end, which
 * Linux does not; a user area's once a later fence has covered every hart, see vm_tail_pages_defer),
 * grow stays in place while the area's reserved range allows,
 * and bytes revealed by a grow read as zero when the area was zero-initialised. A grow that has to move
 * takes the pages along (their leaves move to the new range, nothing is copied), so whoever else maps
 * those pages (shm's user mappings) keeps seeing the same memory, and only the added pages are charged.
 * Every size it sets goes through the slack invariant (va_area_settle, vm/vmalloc.c). */
#include "lib/printk.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"
#include "vm/vmalloc_map.h"
#include "vm/vmalloc_purge.h"

/* A huge area gives back every whole 2 MiB block past the new end; the block the end falls in (at least
 * one) stays, since a block cannot be split without remapping it as 4 KiB pages. Linux's vrealloc frees
 * nothing of a huge area; here the owner's charge follows its backing, which is what abi.h promises shm
 * users (a huge object is charged its size rounded up to 2 MiB). The range stays the area's (a->size is
 * unchanged): the freed blocks become its unbacked tail, faulting like a guard, and a later grow maps
 * fresh blocks there in place. Returns the 4 KiB pages freed. */
static u32 shrink_huge(struct vmap_area *a, u64 size)
{
	u64 keep = MAX(ALIGN_UP(size, PMD_SIZE), PMD_SIZE), backed = (u64)a->nr_pages << PAGE_SHIFT;
	if (keep >= backed) return 0;
	u32 freed = va_unmap_huge_flushed(a->addr + keep, backed - keep);
	a->nr_pages = (u32)(keep >> PAGE_SHIFT);
	arena_pages_add(a->owner, -(s64)freed);
	return freed;
}

static void shrink(struct vmap_area *a, u64 size, bool zero, const void *caller)
{
	u64 old = a->requested, keep = MAX(ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT, 1);
	u32 freed = 0;

	/* Linux zeroes the cut bytes of a shrink given __GFP_ZERO, so that a later grow in place reveals
	 * zeros whatever its own flags. Here the cut bytes become slack, which holds the redzone byte, so
	 * the area remembers instead, and every later grow zero-fills. (Not VM_ZERO: that also says every
	 * unwritten byte of its pages is zero, which vfree trusts to keep pages known-zero.) */
	if (zero && !(a->flags & VM_ZERO)) a->flags |= VM_ZERO_GROW;

	if (a->flags & VM_HUGE) {
		freed = shrink_huge(a, size);
	} else if (keep < a->nr_pages) {
		u64 tail = a->addr + (keep << PAGE_SHIFT), bytes = (u64)(a->nr_pages - keep) << PAGE_SHIFT;
		u64 chain;
		freed = pt_kr_clear(tail, a->nr_pages - (u32)keep, PT_KR_CHAIN, &chain);
		if (a->flags & VM_USER) {
			/* A shm object shrunk by its user, maybe a page at a time in a loop: fencing every hart
			 * each time (an IPI to each, and under QEMU a whole soft-TLB refill there) cost more than
			 * the rest of the resize. The pages wait for a later fence instead (still ours, so a
			 * stale translation elsewhere reaches nothing another owner has), and the range is not
			 * mapped again before one (VM_STALE_TAIL). Linux's shmem truncation needs no kernel
			 * fence at all: its pages live in the linear map. */
			vm_tail_pages_defer(tail, bytes, chain, freed);
			a->flags |= VM_STALE_TAIL;
		} else {
			vm_flush_range_now(tail, bytes);
			vm_free_chain(chain);
		}
		a->nr_pages = (u32)keep;
		arena_pages_add(a->owner, -(s64)freed);
	}
	va_area_settle(a, size, old, size); /* bytes past `old` hold the fill byte already */
	TRACE(TRACE_VMALLOC, caller,
	      "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=shrunk freed_pages=%u pages=%u",
	      a->addr, a->addr, old, size, freed, a->nr_pages);
}

/* Where a grow by fresh pages leaves the settle arguments: fresh pages are zeroed exactly when the area
 * is zeroed or the caller asked, and an unzeroed area's fresh slack needs the redzone byte. */
static void settle_grown(struct vmap_area *a, u64 old, u64 size, bool zero_new)
{
	bool zeroed = a->flags & VM_ZERO;
	va_area_settle(a, size, zeroed ? 0 : ~0UL, zero_new && !zeroed ? old : size);
}

/* Room a moved user area reserves past its new size, at most: see grow_by_moving. */
#define USER_GROW_ROOM_MAX (16UL << 20)

/* A grow past the area's reserved range: a new range, the old leaves moved into it, fresh pages after
 * them. Only the added pages are charged (the moved ones stay charged to the same owner). NULL with
 * nothing changed on failure. A user area (an shm object, which its users grow a page at a time as they
 * would a file) also reserves room to grow in place: its new range is the size rounded up to a power of
 * two, at most USER_GROW_ROOM_MAX more, so growing to N pages moves its leaves O(log N) times rather than
 * N times (each move walks every leaf: 4 MiB grown by 4 KiB steps cost 12,216 instructions a step).
 * The room is address space only: no page, table or charge until a grow backs it. */
static struct vmap_area *grow_by_moving(struct vmap_area *a, u64 size, u64 room, bool zero_new,
					 const void *caller)
{
	bool huge = a->flags & VM_HUGE, zero_pages = zero_new || (a->flags & VM_ZERO);
	u64 unit = huge ? PMD_SIZE : PAGE_SIZE, kept = (u64)a->nr_pages << PAGE_SHIFT;
	u64 mapped = MAX(ALIGN_UP(size, unit), kept), guard = (a->flags & VM_NO_GUARD) ? 0 : PAGE_SIZE;
	u64 span = MAX(mapped, ALIGN_UP(room, unit));
	unsigned flags = a->flags & (VM_ALLOC | VM_ZERO | VM_ZERO_GROW | VM_USER | VM_NO_GUARD | VM_HUGE);
	if (!huge && (flags & VM_USER) && !is_pow2(span))
		span = MIN(1UL << fls64(span), span + USER_GROW_ROOM_MAX);
	struct vmap_area *na = va_area_get(span + guard, huge ? PMD_SIZE : PAGE_SIZE, flags, a->owner,
					 (mapped - kept) >> PAGE_SHIFT, caller);
	if (!na) return NULL;
	na->size = span;
	na->nr_pages = (u32)(mapped >> PAGE_SHIFT);
	na->node = a->node;
	na->requested = a->requested;
	int e = 0;
	if (huge) {
		e = va_make_room_huge(na->addr, mapped);
		if (!e && mapped > kept) e = va_populate_huge(na->addr + kept, mapped - kept, na->node, zero_pages);
		if (!e && (e = va_move_huge(a->addr, na->addr, kept)) && mapped > kept)
			va_unmap_huge(na->addr + kept, mapped - kept);
	} else {
		if (mapped > kept) e = va_populate(na->addr + kept, (u32)((mapped - kept) >> PAGE_SHIFT), na->node, zero_pages);
		if (!e && (e = pt_kr_move(a->addr, na->addr, a->nr_pages)) && mapped > kept)
			pt_kr_clear(na->addr + kept, (u32)((mapped - kept) >> PAGE_SHIFT), PT_KR_FREE, NULL);
	}
	if (e) {
		va_area_abort(na, (mapped - kept) >> PAGE_SHIFT, true);
		arena_note_failure(size, PAGE_SIZE, caller, ENOMEM, "vrealloc: no pages or tables for the moved area");
		return NULL;
	}
	return na;
}

/* The old area of a move, whose leaves went to the new one: out of the busy map, traced as freed (the
 * trace's model counts the pages again at the new area's alloc), parked for the purge like any freed
 * range. A stale translation of it still points at a live page, so nothing is exposed meanwhile. */
static void retire_moved(struct vmap_area *a, const void *caller)
{
	if (!va_area_take((void *)(uptr)a->addr, "vrealloc", caller)) return;
	if (trace_on(TRACE_VMALLOC)) va_trace_free(a, "vfree", caller);
	a->nr_pages = 0;
	va_area_park(a);
}

/* After a move: the new area traced as allocated, the old one retired, the move traced. */
static void *finish_move(struct vmap_area *a, struct vmap_area *na, u64 size, const void *caller)
{
	u64 from = a->addr, old = a->requested;
	if (trace_on(TRACE_VMALLOC)) va_trace_alloc(na, caller);
	retire_moved(a, caller);
	TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=moved freed_pages=0",
	      from, na->addr, old, size);
	return (void *)(uptr)na->addr;
}

/* The copy fallback: only for a huge kernel area whose new range has no room for 2 MiB leaves. */
static void *grow_by_copying(struct vmap_area *a, u64 size, bool zero_new, const void *caller)
{
	unsigned nflags = VMF_HUGE | ((zero_new || (a->flags & VM_ZERO)) ? VMF_ZERO : 0) |
			  ((a->flags & VM_NO_GUARD) ? VMF_NO_GUARD : 0);
	char *n = __vmalloc_owner(size, PAGE_SIZE, nflags, a->node, a->owner, caller);
	if (!n) return NULL;
	struct vmap_area *na = find_vm_area(n);
	memcpy(n, (void *)(uptr)a->addr, a->requested);
	na->flags = (na->flags & ~VM_ZERO) | (a->flags & (VM_ZERO | VM_ZERO_GROW));
	settle_grown(na, a->requested, size, zero_new);
	vfree((void *)(uptr)a->addr);
	return n;
}

__noinline void *vrealloc(const void *p, size_t size, unsigned flags)
{
	const void *caller = __builtin_return_address(0);

	if (!p) return __vmalloc_owner(size, PAGE_SIZE, flags, NUMA_NO_NODE, VM_OWNER_KERNEL, caller);
	struct vmap_area *a = find_vm_area(p);
	if (!a || !(a->flags & VM_ALLOC)) {
		arena_warn_bad_pointer("vrealloc", p, caller);
		return NULL;
	}
	if (!size) {
		vfree(p);
		return NULL;
	}
	if (size > VMALLOC_SIZE) {
		arena_note_event(ARENA_REJECTED);
		arena_note_failure(size, PAGE_SIZE, caller, EINVAL, "size exceeds the vmalloc region");
		return NULL;
	}
	va_redzone_check(a, "vrealloc", caller);
	u64 old = a->requested;
	bool zero_new = (a->flags & (VM_ZERO | VM_ZERO_GROW)) || (flags & VMF_ZERO);

	if (size <= old) {
		shrink(a, size, flags & VMF_ZERO, caller);
		return (void *)p;
	}
	u64 backed = (u64)a->nr_pages << PAGE_SHIFT;
	if (size <= backed) {
		va_area_settle(a, size, 0, zero_new && !(a->flags & VM_ZERO) ? old : size);
		TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=inplace freed_pages=0 pages=%u",
		      a->addr, a->addr, old, (u64)size, a->nr_pages);
		return (void *)p;
	}
	bool huge = a->flags & VM_HUGE;
	if (ALIGN_UP((u64)size, huge ? PMD_SIZE : PAGE_SIZE) <= a->size) {
		/* The range is still ours after an earlier shrink: back it with fresh pages (huge: blocks). */
		u32 want = (u32)(ALIGN_UP((u64)size, huge ? PMD_SIZE : PAGE_SIZE) >> PAGE_SHIFT), have = a->nr_pages;
		u64 from = a->addr + ((u64)have << PAGE_SHIFT);
		bool zero_pages = zero_new || (a->flags & VM_ZERO);
		if (!arena_pages_charge(a->owner, want - have)) {
			arena_note_failure(size, PAGE_SIZE, caller, ENOMEM, "vrealloc: over the owner's page limit");
			return NULL;
		}
		if (a->flags & VM_STALE_TAIL) {
			/* Another hart may still translate the range to the old tail pages: fence it first. */
			vm_tail_pages_drain();
			a->flags &= ~VM_STALE_TAIL;
		}
		if (huge ? va_populate_huge(from, (u64)(want - have) << PAGE_SHIFT, a->node, zero_pages)
			 : va_populate(from, want - have, a->node, zero_pages)) {
			arena_pages_add(a->owner, -(s64)(want - have));
			/* No 2 MiB block left: a kernel huge area falls back to 4 KiB pages as a move would. */
			if (huge && !(a->flags & VM_USER)) {
				void *n = grow_by_copying(a, size, zero_new, caller);
				if (n) return n;
			}
			arena_note_event(ARENA_FAILED);
			arena_note_failure(size, PAGE_SIZE, caller, ENOMEM, "vrealloc: no pages to back the area again");
			return NULL;
		}
		a->nr_pages = want;
		settle_grown(a, old, size, zero_new);
		TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=inplace freed_pages=0 pages=%u",
		      a->addr, a->addr, old, (u64)size, a->nr_pages);
		return (void *)p;
	}
	struct vmap_area *na = grow_by_moving(a, size, size, zero_new, caller);
	if (!na && (a->flags & VM_HUGE) && !(a->flags & VM_USER)) return grow_by_copying(a, size, zero_new, caller);
	if (!na) return NULL;
	settle_grown(na, old, size, zero_new);
	return finish_move(a, na, size, caller);
}

/* vm/vmalloc.h. A move with no pages added: the rule for a user area's spare room (grow_by_moving)
 * applies to `size` as it would to a vrealloc to it, so the steps that follow all stay in place. */
__noinline void *vrealloc_room(const void *p, size_t size)
{
	const void *caller = __builtin_return_address(0);
	struct vmap_area *a = find_vm_area(p);
	if (!a || !(a->flags & VM_ALLOC) || a->addr != (u64)(uptr)p) {
		arena_warn_bad_pointer("vrealloc_room", p, caller);
		return NULL;
	}
	if (size > VMALLOC_SIZE) {
		arena_note_failure(size, PAGE_SIZE, caller, EINVAL, "size exceeds the vmalloc region");
		return NULL;
	}
	u64 want = ALIGN_UP((u64)size, (a->flags & VM_HUGE) ? PMD_SIZE : PAGE_SIZE);
	if (want <= a->size) return (void *)p;
	/* The room is address space nobody is charged for: made only for a growth the owner could pay for
	 * as things stand, or every grow its quota then refuses would keep up to the size asked (a user
	 * area's rounds up to a power of two) for nothing: two tasks with 64-page quotas took the whole
	 * region with 744 refused shm grows (review I). Asked only here, where a move is needed: a grow
	 * within its room takes no extra lock. */
	unsigned long f = arena_lock();
	bool fits = arena_owner_fits_locked(a->owner, (want - ((u64)a->nr_pages << PAGE_SHIFT)) >> PAGE_SHIFT);
	arena_unlock(f);
	if (!fits) {
		arena_note_event(ARENA_FAILED);
		arena_note_failure(size, PAGE_SIZE, caller, ENOMEM, "vrealloc_room: the growth is past the owner's limit");
		return NULL;
	}
	struct vmap_area *na = grow_by_moving(a, a->requested, size, false, caller);
	if (!na) return NULL;
	return finish_move(a, na, a->requested, caller);
}
