/* State shared by the vmalloc files: the arena (indexes, lock, counters) and the helpers between them. */
#ifndef VM_VMALLOC_INTERNAL_H
#define VM_VMALLOC_INTERNAL_H

#include "lib/percpu.h"
#include "lib/spinlock.h"
#include "vm/node_pool.h"
#include "vm/va_busy.h"
#include "vm/va_index.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_check.h"

/* The busy map is split into stripes by address hash, each with its own lock: a vmalloc and a vfree
 * take one stripe lock each and no lock shared by every hart (Linux 6.9 splits its busy tree by node
 * the same way). */
#define BUSY_STRIPE_BITS 4
#define BUSY_STRIPES (1u << BUSY_STRIPE_BITS)
struct busy_stripe {
	spinlock_t lock;
	struct va_busy map;
} __aligned(64);
extern struct busy_stripe busy_stripes[BUSY_STRIPES];

static inline struct busy_stripe *busy_stripe_of(u64 addr)
{
	return &busy_stripes[va_busy_shard(addr, BUSY_STRIPE_BITS)];
}

struct vm_arena {
	spinlock_t lock;            /* index work only: never held over page-table walks or fences */
	struct va_index free;       /* free virtual ranges, lowest fit in O(log n) */
	struct node_pool extent_pool;
	struct node_pool area_pool;
	struct vmap_area *lazy_head;  /* freed, unmapped, waiting for a purge before reuse */
	u64 purge_id;               /* number of the next purge: traced with each parked area (ev=lazy) */
	s64 lazy_pages;             /* parked pages counted so far (atomic; harts publish theirs in batches) */
	u64 lazy_max_pages;
	struct vmap_area *deferred_head; /* vfree_atomic: out of the busy map, pages not yet freed */
	u32 deferred_draining;      /* harts half-way through a deferred list they took */
	struct vm_stats st;
	u64 owner_pages[VM_MAX_OWNERS];
	u64 owner_limit[VM_MAX_OWNERS];
};

extern struct vm_arena arena;

/* Counters kept per hart and summed on read (vm_get_stats), so the fast path writes only its own line. */
enum vm_stat {
	VM_STAT_SEQ, VM_STAT_LIVE_AREAS, VM_STAT_LIVE_PAGES, VM_STAT_KERNEL_PAGES, VM_STAT_LAZY_AREAS,
	VM_STAT_DEFERRED_FREES, VM_STAT_PURGES, VM_STAT_LOCAL_FENCES, VM_STAT_REMOTE_FENCES, VM_STAT_FULL_FLUSHES,
	VM_STAT_FLUSHED_PAGES, VM_STAT_ARENA_LOCKS, VM_STAT_BUSY_LOCKS, VM_STAT_POOL_LOCKS, VM_STAT_NR
};

/* Small free ranges, each held in the area struct that will describe it, by size class (1..VA_CACHE_CLASSES
 * pages, guard included). Linux 6.9's vmap-node pools are the model: the purge puts the small areas it
 * frees into the pool of their class instead of back into the index, and each hart takes them from there
 * a batch at a time into a cache of its own, so the index (and the arena lock) is left for everything
 * else. A pool holds at most VA_POOL_MAX areas; the rest go back to the index. */
#define VA_CACHE_CLASSES 16
#define VA_CACHE_SLOTS 32
#define VA_POOL_MAX 16384

struct va_class_cache {
	u32 count;
	struct vmap_area *areas[VA_CACHE_SLOTS]; /* va_start / va_size set; popped from the end */
};

struct va_pool {
	spinlock_t lock;
	u32 count;
	struct vmap_area *head; /* linked through lazy_next */
} __aligned(64);
extern struct va_pool va_pools[VA_CACHE_CLASSES];

/* Per-hart state of the arena: its counters, its lazy list and its caches. The counters come in two
 * banks, one for process context and one for interrupt handlers: the kernel does not preempt itself and
 * handlers do not nest, so each bank has a single writer at any time and is updated with a plain load
 * and store. An atomic add would be correct too, but under QEMU with several vCPUs each one is a helper
 * call (~15 ns against ~4 for the plain pair), and a vmalloc+vfree pair made a dozen. Readers on other
 * harts sum both banks. The lazy list is a stack pushed by its own hart and taken whole (exchange) by
 * the purge, whichever hart runs it. The caches are touched only by their own hart, in process context
 * (never from an interrupt handler), so they need neither a lock nor interrupts off. */
struct vm_hart {
	s64 stat[2][VM_STAT_NR];
	struct vmap_area *lazy_head;
	u64 lazy_unpublished; /* pages pushed here not yet added to arena.lazy_pages (atomic) */
	struct va_class_cache va[VA_CACHE_CLASSES];
} __aligned(64);

extern struct vm_hart vm_harts[MAX_HARTS];

/* This hart's bank for the current context. */
static inline s64 *vm_stat_bank(void) { return vm_harts[this_hart_index()].stat[in_interrupt() ? 1 : 0]; }

static inline void vm_stat_bank_add(s64 *bank, enum vm_stat s, s64 n)
{
	WRITE_ONCE(bank[s], bank[s] + n); /* one writer: see struct vm_hart */
}

static inline void vm_stat_add(enum vm_stat s, s64 n) { vm_stat_bank_add(vm_stat_bank(), s, n); }

/* The arena lock, counted: `make bench` reports acquisitions per operation from VM_STAT_ARENA_LOCKS. */
static inline unsigned long arena_lock(void)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	vm_stat_add(VM_STAT_ARENA_LOCKS, 1);
	return f;
}
static inline void arena_unlock(unsigned long f) { spin_unlock_irqrestore(&arena.lock, f); }

static inline unsigned long busy_lock(struct busy_stripe *b)
{
	unsigned long f = spin_lock_irqsave(&b->lock);
	vm_stat_add(VM_STAT_BUSY_LOCKS, 1);
	return f;
}
static inline void busy_unlock(struct busy_stripe *b, unsigned long f) { spin_unlock_irqrestore(&b->lock, f); }

/* Calls fn for every live area, stripe by stripe under each stripe's lock; with `try` (an oops) a
 * stripe whose lock stays held is read anyway. */
void vm_busy_for_each(void (*fn)(void *ctx, struct va_busy_link *link), void *ctx, bool try);
u64 vm_busy_count(void);
/* Gives this hart's cached free ranges and every pool's back to the index (vm_purge does, so that a purge
 * restores lowest-fit order, and an exhausted region gets every free range back). Process context. */
void vm_va_cache_flush(void);
/* The purge's side of the pools: keeps a purged area whose range is of a pooled size; false when it does
 * not fit (the caller gives it back to the index). `list` batches pushes: vm_pool_put_flush ends them. */
bool vm_pool_put(struct vmap_area *a, struct vmap_area **lists, u32 *counts);
void vm_pool_put_flush(struct vmap_area **lists, u32 *counts);

static inline unsigned long pool_lock(struct va_pool *p)
{
	unsigned long f = spin_lock_irqsave(&p->lock);
	vm_stat_add(VM_STAT_POOL_LOCKS, 1);
	return f;
}
static inline void pool_unlock(struct va_pool *p, unsigned long f) { spin_unlock_irqrestore(&p->lock, f); }

#define REDZONE_BYTE 0xa5 /* slack fill of non-zeroed areas; zeroed areas keep their slack zero */

/* Pages a parked area counts for against the lazy threshold: mapped pages, not the guard, at least one. */
static inline u64 vm_lazy_pages_of(const struct vmap_area *a) { return MAX(a->size >> PAGE_SHIFT, 1); }

/* vmalloc_purge.c */
bool vm_lazy_add_locked(struct vmap_area *a); /* true when the batch is due */
/* Parks a retired area on this hart's lazy list; kicks the purge when the threshold is crossed. */
void vm_lazy_add(struct vmap_area *a);
/* The threshold was crossed: an idle hart is asked to purge, or this hart purges when none can. */
void vm_purge_kick(void);
void vm_purge_idle_work(void);
u64 vm_purge_seq(void);         /* purges completed so far */
bool vm_purge_in_flight(void);
void vm_purge_wait(u64 seq);    /* sleeps until a purge completes after `seq`, or none is in flight */
u64 vm_lazy_pages_total(void);
/* Diagnostics: the parked area starting at (or, with `contains`, holding) addr; NULL if none. The walk
 * of other harts' lists races with their purges and is bounded, good enough for an explanation. */
struct vmap_area *vm_lazy_find(u64 addr, bool contains);
void vm_flush_range_now(u64 start, u64 size); /* immediate local + remote flush (vrealloc shrink) */
/* A user area's shrunk tail (vrealloc): its leaves [start, start + size) are cleared and chained (`chain`,
 * n pages); no TLB is flushed now, and the pages are given back only after every hart's TLB has been
 * flushed: by the next vm_tail_pages_drain, which a later call runs itself once VM_TAIL_DEFER_MAX pages
 * wait, as does an allocation that finds no free page. Until then a stale translation on any hart
 * reaches a page nobody else can have, so a shrink needs no fence. Process context. */
void vm_tail_pages_defer(u64 start, u64 size, u64 chain, u32 n);
/* Flushes every hart's whole TLB, then gives back every deferred tail page. Before a range with a
 * deferred tail is mapped again (VM_STALE_TAIL), and by vm_purge. Process context, no lock held. */
void vm_tail_pages_drain(void);
bool vm_tail_pages_waiting(void); /* any deferred tail page not yet given back; any context */
extern bool vm_debug_uaf;
/* Flushes [start, start + size) from this hart's TLB now: one sfence.vma by address for a page, a full
 * flush for more. Any context. */
void vm_flush_local_range(u64 start, u64 size);
/* debug_uaf only: flushes this hart's TLB for the range, no counting. Inline because every vfree calls
 * it and it is almost always off: under QEMU a call's return costs a translation-block lookup. */
static inline void vm_debug_uaf_flush(u64 start, u64 size)
{
	if (unlikely(READ_ONCE(vm_debug_uaf))) vm_flush_local_range(start, size);
}

/* Bytes from the area's start to the end of its reserved range (guard included): what vmallocinfo shows. */
static inline u64 vm_area_span(const struct vmap_area *a) { return a->va_start + a->va_size - a->addr; }

/* vrealloc.c */
/* The one place an area's requested size is set, with the slack invariant every path keeps: every mapped
 * byte past `size` reads as zero in a VM_ZERO area and as REDZONE_BYTE in any other. Bytes in
 * [size, dirty_end) may hold anything and are refilled (bytes from dirty_end on hold the fill byte
 * already); bytes in [zero_from, size) are zeroed (pass size for none). Caller owns the area. */
void vm_area_settle(struct vmap_area *a, u64 size, u64 dirty_end, u64 zero_from);
/* vmalloc_diag.c */
void trace_area_alloc(const struct vmap_area *a, const void *caller);
void trace_area_free(const struct vmap_area *a, const char *fn, const void *caller);
/* Records the last failure: err is the errno a task would see for it (EINVAL for a bad argument, ENOMEM
 * when memory, address space or a quota ran out), reason the words diagnostics print. Any context. */
void vm_note_failure(u64 size, u64 align, const void *caller, int err, const char *reason);
/* Raises the peak to the current total (the base in arena.st plus every hart's counter) if that is
 * higher. The base alone may be below zero (a shrink counted there, its alloc on a hart). Arena lock held. */
void vm_peak_update_locked(void);
bool vm_redzone_check(struct vmap_area *a, const char *when, const void *caller);
void vm_redzone_fill(struct vmap_area *a, u64 from);
void vm_warn_bad_pointer(const char *fn, const void *addr, const void *caller);

/* vmalloc.c */
/* Reserves va_size bytes (guard included) and registers the area as live; NULL on failure (noted). */
struct vmap_area *vm_area_get(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages, const void *caller);
/* Undoes vm_area_get for a range never exposed: straight back to the free index. */
void vm_area_abort(struct vmap_area *a, u64 pages);
/* Takes the live area starting at addr out of the busy map; NULL with a warning naming fn and caller. */
struct vmap_area *vm_area_take(const void *addr, const char *fn, const void *caller);
/* Parks an area already out of the busy map and already unmapped for the next purge. */
void vm_area_park(struct vmap_area *a);

u64 vm_stat_total(enum vm_stat s); /* summed over harts */

/* vmap_ram.c */
void vm_map_ram_quiesce(void); /* retires idle per-hart blocks so leak checks see them gone */

/* Sets up an area record for the range [start, start + span) placed at `align`. */
static inline void vm_area_init(struct vmap_area *a, u64 start, u64 span, u64 align, unsigned vmflags,
				u32 owner, const void *caller)
{
	a->va_start = start;
	a->va_size = span;
	a->addr = ALIGN_UP(start, align);
	a->flags = vmflags;
	a->owner = owner;
	a->caller = caller;
	a->lazy_next = NULL;
	a->lazy_tables = 0;
	a->vb_used = a->vb_dirty = 0;
	a->nr_pages = 0;
}

/* Live-area accounting on this hart's counters: no lock. Kernel pages are counted per hart (the kernel
 * has no limit to check); a task's are charged under the arena lock in vm_area_get. */
static inline void vm_area_count_in(struct vmap_area *a, u64 pages)
{
	s64 *bank = vm_stat_bank();
	vm_stat_bank_add(bank, VM_STAT_SEQ, 1);
	vm_stat_bank_add(bank, VM_STAT_LIVE_AREAS, 1);
	vm_stat_bank_add(bank, VM_STAT_LIVE_PAGES, (s64)pages);
	if (a->owner == VM_OWNER_KERNEL) vm_stat_bank_add(bank, VM_STAT_KERNEL_PAGES, (s64)pages);
}

/* The busy map: insert and remove take the area's stripe lock; any context. Inline: they are on the
 * fast path of every vmalloc and vfree. */
static inline void vm_busy_insert(struct vmap_area *a)
{
	struct busy_stripe *b = busy_stripe_of(a->addr);
	vm_check_move(a, VAH(NONE) | VAH(CACHED), VA_BUSY);
	unsigned long f = busy_lock(b);
	va_busy_insert(&b->map, &a->link, a->addr);
	busy_unlock(b, f);
}

static inline struct vmap_area *vm_busy_remove(u64 addr)
{
	struct busy_stripe *b = busy_stripe_of(addr);
	unsigned long f = busy_lock(b);
	struct va_busy_link *l = va_busy_remove(&b->map, addr);
	busy_unlock(b, f);
	if (l) {
		vm_check_move((struct vmap_area *)l, VAH(BUSY), VA_TAKEN);
		vm_check_area_shape((struct vmap_area *)l);
	}
	return (struct vmap_area *)l;
}

/* vm/vmalloc_cache.c. */
/* Whether the pools or this hart's caches hold free ranges the index does not have (vm_purge gives
 * them back). */
bool vm_pools_hold_ranges(void);
/* The fast path for a small kernel request of `span` bytes: a range and area struct from this hart's
 * cache for that class (refilled from the class's pool, else from the index), registered and counted.
 * NULL when the caches cannot be refilled: the caller takes the slow path. Process context. */
struct vmap_area *vm_area_get_cached(u64 span, u64 align, unsigned vmflags, u64 pages, const void *caller);

#endif
