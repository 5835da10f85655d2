/* vrealloc with Linux's current semantics: NULL allocates, 0 frees, shrink keeps the pointer and really
 * gives the tail pages back (flushed first), grow stays in place while the area's reserved range allows,
 * and bytes revealed by a grow read as zero when the area was zero-initialised. Zeroed areas keep their
 * slack zero, so growing back over it needs no second zeroing. */
#include "lib/printk.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/vmalloc_internal.h"
#include "vm/vmalloc_map.h"

static void account(struct vm_area *a, s64 delta)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena.owner_pages[a->owner] += (u64)delta;
	arena.st.live_pages += (u64)delta;
	if (arena.st.live_pages > arena.st.peak_pages) arena.st.peak_pages = arena.st.live_pages;
	spin_unlock_irqrestore(&arena.lock, f);
}

static bool charge(struct vm_area *a, u64 pages)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	bool ok = arena.owner_pages[a->owner] + pages <= arena.owner_limit[a->owner];
	if (ok) {
		arena.owner_pages[a->owner] += pages;
		arena.st.live_pages += pages;
		if (arena.st.live_pages > arena.st.peak_pages) arena.st.peak_pages = arena.st.live_pages;
	} else {
		arena.st.rejected++;
	}
	spin_unlock_irqrestore(&arena.lock, f);
	return ok;
}

static void shrink(struct vm_area *a, u64 size, const void *caller)
{
	u64 old = a->requested, keep = MAX(ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT, 1);
	u64 stay = (a->flags & VM_HUGE) ? a->size : keep << PAGE_SHIFT;
	u32 freed = 0;

	/* Bytes that stay mapped past the new end must read as zero if a zeroed area grows back over them;
	 * with that done, its slack is zero already and needs no refill. */
	if (a->flags & VM_ZERO) {
		if (MIN(old, stay) > size) memset((void *)(a->addr + size), 0, MIN(old, stay) - size);
	}
	if (!(a->flags & VM_HUGE) && keep < a->nr_pages) {
		u64 tail = a->addr + (keep << PAGE_SHIFT);
		u64 chain = vmap_unmap_collect(tail, a->nr_pages - (u32)keep, &freed);
		vm_flush_range_now(tail, (u64)(a->nr_pages - keep) << PAGE_SHIFT);
		vmap_free_chain(chain);
		a->nr_pages = (u32)keep;
		account(a, -(s64)freed);
	}
	a->requested = size;
	if (!(a->flags & VM_ZERO)) vm_redzone_fill(a, size);
	TRACE(TRACE_VMALLOC, caller,
	      "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=shrunk freed_pages=%u pages=%u",
	      a->addr, a->addr, old, size, freed, a->nr_pages);
}

void *vrealloc(const void *p, size_t size, unsigned flags)
{
	const void *caller = __builtin_return_address(0);

	if (!p) return __vmalloc_owner(size, PAGE_SIZE, flags, NUMA_NO_NODE, VM_OWNER_KERNEL, caller);
	struct vm_area *a = find_vm_area(p);
	if (!a || !(a->flags & VM_ALLOC)) {
		vm_warn_bad_pointer("vrealloc", p, caller);
		return NULL;
	}
	if (!size) {
		vfree(p);
		return NULL;
	}
	if (size > VMALLOC_SIZE) {
		vm_note_failure(size, PAGE_SIZE, caller, "size exceeds the vmalloc region");
		return NULL;
	}
	vm_redzone_check(a, "vrealloc", caller);
	u64 old = a->requested;
	bool zero_new = (a->flags & VM_ZERO) || (flags & VMF_ZERO);

	if (size <= old) {
		shrink(a, size, caller);
		return (void *)p;
	}
	u64 backed = (u64)a->nr_pages << PAGE_SHIFT;
	if (size <= backed) {
		/* Zeroed areas already hold zeros past `old`; others may hold the redzone pattern. */
		if (zero_new && !(a->flags & VM_ZERO)) memset((char *)p + old, 0, size - old);
		a->requested = size;
		vm_redzone_fill(a, size);
		TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=inplace freed_pages=0 pages=%u",
		      a->addr, a->addr, old, (u64)size, a->nr_pages);
		return (void *)p;
	}
	if (!(a->flags & VM_HUGE) && ALIGN_UP((u64)size, PAGE_SIZE) <= a->size) {
		/* The range is still ours after an earlier shrink: back it with fresh pages. */
		u32 want = (u32)(ALIGN_UP((u64)size, PAGE_SIZE) >> PAGE_SHIFT), have = a->nr_pages;
		if (charge(a, want - have)) {
			if (!vmap_populate(a->addr + ((u64)have << PAGE_SHIFT), want - have, a->node, zero_new)) {
				if (zero_new && !(a->flags & VM_ZERO)) memset((char *)p + old, 0, backed - old);
				a->nr_pages = want;
				a->requested = size;
				vm_redzone_fill(a, size);
				TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=inplace freed_pages=0 pages=%u",
				      a->addr, a->addr, old, (u64)size, a->nr_pages);
				return (void *)p;
			}
			account(a, -(s64)(want - have));
		}
	}
	unsigned nflags = (flags & ~VMF_ZERO) | ((a->flags & VM_HUGE) ? VMF_HUGE : 0) |
			  ((a->flags & VM_USER) ? VMF_USER : 0) | ((a->flags & VM_NO_GUARD) ? VMF_NO_GUARD : 0);
	char *n = __vmalloc_owner(size, PAGE_SIZE, nflags, a->node, a->owner, caller);
	if (!n) return NULL;
	memcpy(n, p, old);
	if (zero_new) {
		struct vm_area *na = find_vm_area(n);
		memset(n + old, 0, size - old);
		na->flags |= VM_ZERO;
		vm_redzone_fill(na, size);
	}
	TRACE(TRACE_VMALLOC, caller, "ev=realloc addr=0x%lx new=0x%lx old_size=%lu new_size=%lu mode=moved freed_pages=0",
	      (u64)(uptr)p, (u64)(uptr)n, old, (u64)size);
	vfree(p);
	return n;
}
