/* The vmalloc arena: reserving virtual ranges (lowest fit, guard page after each area), backing them
 * with pages, freeing them lazily, and vrealloc. Small kernel requests take their range from a per-hart
 * cache fed by pools of purged areas (no shared lock); the rest do index work under the arena lock.
 * Live areas sit in a striped busy map; page-table work and page allocation happen outside all locks. */
#include "vm/vmalloc.h"
#include "lib/bootargs.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_internal.h"
#include "vm/vmalloc_map.h"

struct vm_arena arena = {.lock = SPINLOCK_INIT};

#define CALLER __builtin_return_address(0)

/* The pages of a retired (or aborted) area leave the counts; `area` says the area itself goes too. */
static void area_count_out(u32 owner, u64 pages, bool area)
{
	s64 *bank = vm_stat_bank();
	if (area) vm_stat_bank_add(bank, VM_STAT_LIVE_AREAS, -1);
	vm_stat_bank_add(bank, VM_STAT_LIVE_PAGES, -(s64)pages);
	if (owner == VM_OWNER_KERNEL) {
		vm_stat_bank_add(bank, VM_STAT_KERNEL_PAGES, -(s64)pages);
	} else {
		unsigned long f = arena_lock();
		arena.owner_pages[owner] -= pages;
		arena_unlock(f);
	}
}

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
	vmap_tables_init();
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
	unsigned long f = arena_lock();
	arena.st.rejected++;
	arena_unlock(f);
	vm_note_failure(size, align, caller, EINVAL, reason);
}

/* Aligned requests up to this alignment reserve size + align - PAGE_SIZE from the start of the lowest
 * extent that holds it and place the area at the aligned address inside (Linux's adjusted search size):
 * one descent, always a carve from an extent's start, so no sliver of padding is left behind as an
 * extent of its own to be inserted now and erased again at the purge. Larger alignments would waste too
 * much of the region and take the exact lowest aligned fit instead. */
#define PADDED_ALIGN_MAX (4UL << 20)

/* Reserves va_size bytes (guard included) at the given alignment and registers the area. Charges `pages`
 * to the owner first: a task over its quota gets nothing. When the region is exhausted while lazily
 * freed ranges wait (parked, or in a purge in flight on another hart), waits for that purge, purges
 * what is left and retries before giving up. Any context but interrupt; no lock held. */
struct vmap_area *vm_area_get(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages, const void *caller)
{
	u64 start, span = va_size;
	u32 retries = 0;
	bool padded = align > PAGE_SIZE && align <= PADDED_ALIGN_MAX;
	const char *why;
	int err = ENOMEM;

	/* A padded request is a range of va_size + align - PAGE_SIZE bytes, whatever its start: small ones
	 * come from the same per-hart caches. */
	u64 cached_span = padded ? va_size + align - PAGE_SIZE : va_size;
	if (likely(owner == VM_OWNER_KERNEL && (align == PAGE_SIZE || padded) && va_size &&
		   cached_span <= ((u64)VA_CACHE_CLASSES << PAGE_SHIFT) && !(va_size & (PAGE_SIZE - 1)) &&
		   !in_interrupt())) {
		struct vmap_area *a = vm_area_get_cached(cached_span, align, vmflags, pages, caller);
		if (likely(a)) return a;
	}
	unsigned long f = arena_lock();
	if (unlikely(owner >= VM_MAX_OWNERS || arena.owner_pages[owner] + pages > arena.owner_limit[owner])) {
		arena.st.rejected++;
		why = "over the owner's page limit";
		goto fail_unlock;
	}
	struct vmap_area *a = node_pool_get(&arena.area_pool);
	if (unlikely(!a)) {
		why = "no memory for area metadata";
		goto fail_unlock;
	}
	vm_check_set(a, VA_NONE); /* a record from the node pool holds whatever its last use left */
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
		bool lazy = arena.lazy_head || vm_lazy_pages_total() || vm_purge_in_flight() || vm_pools_hold_ranges();
		if (e == -EINVAL || retries == 2 || !lazy || in_interrupt()) {
			node_pool_put(&arena.area_pool, a);
			why = e == -EINVAL ? "invalid size or alignment" : "vmalloc region exhausted";
			err = -e == EINVAL ? EINVAL : ENOMEM;
			goto fail_unlock;
		}
		arena_unlock(f);
		vm_purge(); /* waits for a purge in flight, then purges what is still parked */
		retries++;
		f = arena_lock();
	}
	if (owner != VM_OWNER_KERNEL) arena.owner_pages[owner] += pages;
	arena_unlock(f);
	vm_area_init(a, start, span, align, vmflags, owner, caller);
	vm_busy_insert(a);
	vm_area_count_in(a, pages);
	return a;

fail_unlock:
	arena.st.failures++;
	arena_unlock(f);
	vm_note_failure(va_size, align, caller, err, why);
	return NULL;
}

/* Undoes vm_area_get for an area whose range was never exposed (population failed): straight back to the
 * free index, no purge needed since no translation of it was ever used. */
void vm_area_abort(struct vmap_area *a, u64 pages)
{
	vm_busy_remove(a->addr);
	u32 owner = a->owner;
	unsigned long f = arena_lock();
	arena.st.failures++;
	bool due = false;
	if (va_index_free(&arena.free, a->va_start, a->va_size) == -ENOMEM) {
		a->nr_pages = 0; /* no node to record the range: parked for the purge rather than lost */
		due = vm_lazy_add_locked(a);
	} else {
		vm_check_move(a, VAH(TAKEN), VA_FREE);
		node_pool_put(&arena.area_pool, a);
	}
	arena_unlock(f);
	area_count_out(owner, pages, true); /* the owner's charge too, once */
	if (due) vm_purge_kick();
}

/* Gives back n of the pages vm_area_get charged to a's owner. */
static void uncharge(struct vmap_area *a, u64 n)
{
	unsigned long f = arena_lock();
	arena.owner_pages[a->owner] -= n;
	arena.st.live_pages -= n;
	arena_unlock(f);
}

void *__vmalloc_owner(size_t size, size_t align, unsigned flags, int node, u32 owner, const void *caller)
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

	struct vmap_area *a = vm_area_get(mapped + guard, align, vmflags, owner, pages, caller);
	if (unlikely(!a)) return NULL;
	a->size = mapped;
	a->requested = size;
	a->nr_pages = (u32)pages;
	a->node = (s16)node;
	int e = -ENOMEM;
	if (huge) {
		e = vmap_populate_huge(a->addr, mapped, node, zero);
		if (!e) {
			a->flags |= VM_HUGE;
		} else {
			/* Fall back at the real size: the range stays 2 MiB rounded and aligned, the rest of it
			 * is guard, and the owner is charged for the pages actually mapped. */
			u64 real = ALIGN_UP((u64)size, PAGE_SIZE);
			uncharge(a, pages - (real >> PAGE_SHIFT));
			mapped = real;
			pages = real >> PAGE_SHIFT;
			a->size = mapped;
			a->nr_pages = (u32)pages;
			__atomic_fetch_add(&arena.st.huge_fallbacks, 1, __ATOMIC_RELAXED);
		}
	}
	if (e) e = vmap_populate(a->addr, (u32)pages, node, zero);
	if (unlikely(e)) {
		vm_area_abort(a, pages);
		vm_note_failure(size, align, caller, ENOMEM, "out of physical pages");
		return NULL;
	}
	vm_area_settle(a, size, zero ? 0 : mapped, size);
	vm_check_area_shape(a);
	if (trace_on(TRACE_VMALLOC)) trace_area_alloc(a, caller);
	return (void *)a->addr;
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

/* Takes the area starting at addr out of the busy map; NULL (with a warning) if there is none. */
struct vmap_area *vm_area_take(const void *addr, const char *fn, const void *caller)
{
	struct vmap_area *l = vm_busy_remove((u64)(uptr)addr);
	if (unlikely(!l)) {
		unsigned long f = arena_lock();
		arena.st.bad_frees++;
		arena_unlock(f);
		vm_warn_bad_pointer(fn, addr, caller);
		return NULL;
	}
	vm_stat_add(VM_STAT_LIVE_AREAS, -1);
	return (struct vmap_area *)l;
}

/* Unmaps an area already out of the busy map, frees what it owns and parks its range for the purge. */
static void area_retire(struct vmap_area *a)
{
	u64 pages = a->nr_pages;

	if (a->flags & VM_HUGE) vmap_unmap_huge(a->addr, a->size);
	else if ((a->flags & (VM_ALLOC | VM_ZERO | VM_USER)) == (VM_ALLOC | VM_ZERO))
		vmap_unmap_zeroed(a->addr, (u32)(a->size >> PAGE_SHIFT)); /* unwritten pages stay known-zero */
	else vmap_unmap(a->addr, (u32)(a->size >> PAGE_SHIFT), a->flags & VM_ALLOC);
	/* The range stays the area's until the purge, so its whole 2 MiB blocks' tables can go; the purge's
	 * flush comes before they are reused. */
	if (unlikely(a->va_size >= PMD_SIZE)) a->lazy_tables = vmap_detach_tables(a->va_start, a->va_size);
	vm_debug_uaf_flush(a->addr, a->size);
	if (a->flags & VM_ALLOC) area_count_out(a->owner, pages, false);
	vm_lazy_add(a);
}

void vm_area_park(struct vmap_area *a)
{
	a->lazy_tables = vmap_detach_tables(a->va_start, a->va_size);
	vm_lazy_add(a);
}

static void vfree_caller(const void *addr, const void *caller)
{
	if (!addr) return;
	if (in_interrupt()) {
		vfree_atomic(addr);
		return;
	}
	if (unlikely(READ_ONCE(arena.deferred_head))) deferred_drain_some();
	struct vmap_area *a = vm_area_take(addr, "vfree", caller);
	if (unlikely(!a)) return;
	if (unlikely(!(a->flags & VM_ALLOC))) {
		/* vfree of a vmap area is allowed (Linux allows it): the pages stay the caller's. */
	}
	vm_redzone_check(a, "vfree", caller);
	if (trace_on(TRACE_VMALLOC)) trace_area_free(a, "vfree", caller);
	area_retire(a);
}

__noinline void vfree(const void *addr) { vfree_caller(addr, CALLER); }

__noinline void vfree_atomic(const void *addr)
{
	if (!addr) return;
	struct vmap_area *a = vm_area_take(addr, "vfree_atomic", CALLER);
	if (!a) return;
	if (trace_on(TRACE_VMALLOC)) trace_area_free(a, "vfree_atomic", CALLER);
	unsigned long f = arena_lock();
	vm_check_move(a, VAH(TAKEN), VA_DEFERRED);
	a->lazy_next = arena.deferred_head;
	arena.deferred_head = a;
	arena_unlock(f);
	vm_stat_add(VM_STAT_DEFERRED_FREES, 1);
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
		vm_check_move(list, VAH(DEFERRED), VA_TAKEN);
		vm_redzone_check(list, "vfree_atomic", list->caller);
		area_retire(list);
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

struct vmap_area *find_vm_area(const void *addr)
{
	struct busy_stripe *b = busy_stripe_of((u64)(uptr)addr);
	unsigned long f = busy_lock(b);
	struct vmap_area *a = (struct vmap_area *)va_busy_find(&b->map, (u64)(uptr)addr);
	busy_unlock(b, f);
	return a;
}

u64 vmalloc_to_pa(const void *addr)
{
	int level;
	u64 va = (u64)(uptr)addr;
	u64 pte = vmap_lookup_pte(va, &level);
	if (!pte) return 0;
	u64 mask = level ? PMD_SIZE - 1 : PAGE_SIZE - 1;
	return ((pte >> 10) << PAGE_SHIFT) + (va & mask);
}

struct page *vmalloc_to_page(const void *addr)
{
	u64 pa = vmalloc_to_pa(addr);
	return pa ? pa_to_page(pa) : NULL;
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
	struct vmap_area *a = vm_area_get(((u64)count << PAGE_SHIFT) + guard, PAGE_SIZE,
				     VM_MAP | ((flags & VMF_NO_GUARD) ? VM_NO_GUARD : 0), 0, 0, CALLER);
	if (!a) return NULL;
	a->size = a->requested = (u64)count << PAGE_SHIFT;
	a->nr_pages = count;
	a->node = NUMA_NO_NODE;
	int e = vmap_map_pages(a->addr, pages, count, prot);
	if (e) {
		vm_area_abort(a, 0);
		vm_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, CALLER, -e,
				e == -EINVAL ? "vmap: NULL or unmanaged page" : "vmap: no memory for page tables");
		return NULL;
	}
	TRACE(TRACE_VMALLOC, CALLER, "ev=alloc fn=vmap addr=0x%lx size=%lu pages=%u va_size=%lu", a->addr, a->size,
	      count, vm_area_span(a));
	return (void *)a->addr;
}

__noinline void vunmap(const void *addr)
{
	if (!addr) return;
	struct vmap_area *a = vm_area_take(addr, "vunmap", CALLER);
	if (!a) return;
	TRACE(TRACE_VMALLOC, CALLER, "ev=free fn=vunmap addr=0x%lx size=%lu pages=%u", a->addr, a->size,
	      a->nr_pages);
	area_retire(a);
}

int vm_owner_set_limit(u32 owner, u64 pages)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL) return -EINVAL;
	unsigned long f = arena_lock();
	arena.owner_limit[owner] = pages;
	arena_unlock(f);
	return 0;
}

int vm_owner_charge(u32 owner, s64 pages, bool force)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL) return -EINVAL;
	int r = 0;
	unsigned long f = arena_lock();
	if (pages > 0 && !force && arena.owner_pages[owner] + (u64)pages > arena.owner_limit[owner]) r = -ENOMEM;
	else arena.owner_pages[owner] += (u64)pages;
	arena_unlock(f);
	return r;
}

int vm_area_set_owner(const void *addr, u32 owner, bool force)
{
	if (owner >= VM_MAX_OWNERS) return -EINVAL;
	int r = -EINVAL;
	/* Stripe, then arena lock: nothing takes them the other way round. */
	struct busy_stripe *b = busy_stripe_of((u64)(uptr)addr);
	unsigned long bf = busy_lock(b);
	struct vmap_area *a = (struct vmap_area *)va_busy_find(&b->map, (u64)(uptr)addr);
	unsigned long f = arena_lock();
	if (a && (a->flags & VM_ALLOC)) {
		u64 pages = a->nr_pages;
		r = -ENOMEM;
		if (force || a->owner == owner || arena.owner_pages[owner] + pages <= arena.owner_limit[owner]) {
			arena.owner_pages[a->owner] -= pages;
			arena.owner_pages[owner] += pages;
			a->owner = owner;
			r = 0;
		}
	}
	arena_unlock(f);
	busy_unlock(b, bf);
	return r;
}

u64 vm_area_backed_pages(const void *addr)
{
	struct vmap_area *a = find_vm_area(addr);
	return a ? a->nr_pages : 0;
}

/* Sums a per-hart counter with its base in arena.st (the base moves under the arena lock, e.g. vrealloc). */
static s64 stat_sum(enum vm_stat s)
{
	s64 n = 0;
	for (u32 i = 0; i < MAX_HARTS; i++)
		n += __atomic_load_n(&vm_harts[i].stat[0][s], __ATOMIC_RELAXED) +
		     __atomic_load_n(&vm_harts[i].stat[1][s], __ATOMIC_RELAXED);
	return n;
}

u64 vm_owner_pages(u32 owner)
{
	if (owner >= VM_MAX_OWNERS) return 0;
	u64 base = READ_ONCE(arena.owner_pages[owner]);
	return owner == VM_OWNER_KERNEL ? base + (u64)stat_sum(VM_STAT_KERNEL_PAGES) : base;
}

u64 vm_live_areas(void) { return (u64)stat_sum(VM_STAT_LIVE_AREAS); }

u64 vm_stat_total(enum vm_stat s) { return (u64)stat_sum(s); }

void vm_lock_counts(u64 *arena_locks, u64 *stripe_locks, u64 *pool_locks)
{
	*pool_locks = (u64)stat_sum(VM_STAT_POOL_LOCKS);
	*arena_locks = (u64)stat_sum(VM_STAT_ARENA_LOCKS);
	*stripe_locks = (u64)stat_sum(VM_STAT_BUSY_LOCKS);
}

u64 vm_cached_pages(void)
{
	return vm_blocks_held() + page_cache_pages() + vmap_tables_held();
}

void vm_arena_quiesce(void)
{
	vm_deferred_drain();
	vm_map_ram_quiesce();
	vm_purge();
	vm_check_arena(); /* VM_DEBUG: the whole walk, here where the arena is at rest */
}
