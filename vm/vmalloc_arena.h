/* The vmalloc arena's state, defined in one place at the bottom of the arena: the shared record (struct
 * vm_arena: the free index and its node pools, the lock, the lazy and deferred lists, the counters, the
 * owners' accounts, the last failure), the per-hart records (counters, lazy list, range caches), the busy
 * map's stripes and the size-class pools. Every counter has one writer, the functions of vmalloc_arena.c
 * and the inline helpers below; the files above read the counters and move area records between the
 * structures (each move under the structure's lock, asserted by vm/vmalloc_check.h).
 * Lock order (docs/design.md): a busy-map stripe, then the arena lock, then a pool lock. */
#ifndef VM_VMALLOC_ARENA_H
#define VM_VMALLOC_ARENA_H

#include "lib/irq_hold.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "vm/node_pool.h"
#include "vm/va_busy.h"
#include "vm/va_index.h"
#include "vm/vmalloc_check.h"
#include "vm/vmalloc_types.h"

/* The busy map is split into stripes by address region (va_busy_shard), each with its own lock: a vmalloc
 * and a vfree take one stripe lock each and no lock shared by every hart, and two harts working in
 * different regions take different ones (Linux 6.9 splits its busy tree by node the same way). */
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
	struct vmap_area *fenced_head; /* purged (every TLB flushed) but not yet handed back: vm/vmalloc_purge.c
					* gives them back a burst at a time (state VA_LAZY, off the lazy counters);
					* lists as a purge took them, chained through their heads' batch_next */
	struct vmap_area *deferred_head; /* vfree_atomic: out of the busy map, pages not yet freed */
	u32 deferred_draining;      /* harts half-way through a deferred list they took */
	u64 table_blocks_out;       /* bytes of 2 MiB blocks taken from the index by the table reclaim
				     * (vm/vmalloc_map.c) until their tables are flushed and freed */
	struct vm_stats st;
	u64 owner_pages[VM_MAX_OWNERS];  /* an owner's pages and those of every owner below it */
	u64 owner_limit[VM_MAX_OWNERS];
	u32 owner_above[VM_MAX_OWNERS];  /* the account above (a task's parent's), 0 for none */
};

extern struct vm_arena arena;

/* Counters kept per hart and summed on read (arena_stat_total), so the fast path writes only its own line. */
enum arena_stat {
	ARENA_STAT_SEQ, ARENA_STAT_LIVE_AREAS, ARENA_STAT_LIVE_PAGES, ARENA_STAT_KERNEL_PAGES,
	ARENA_STAT_LAZY_AREAS, ARENA_STAT_DEFERRED_FREES, ARENA_STAT_PURGES, ARENA_STAT_LOCAL_FENCES,
	ARENA_STAT_REMOTE_FENCES, ARENA_STAT_FULL_FLUSHES, ARENA_STAT_FLUSHED_PAGES, ARENA_STAT_ARENA_LOCKS,
	ARENA_STAT_BUSY_LOCKS, ARENA_STAT_POOL_LOCKS, ARENA_STAT_GIVE_BACK_ASKS, ARENA_STAT_GIVE_BACK_LATE,
	ARENA_STAT_NR
};

/* Small free ranges, each held in the area struct that will describe it, by size class (1..VA_CACHE_CLASSES
 * pages, guard included). Linux 6.9's vmap-node pools are the model: the purge puts the small areas it
 * frees into the pool of their class instead of back into the index, and each hart takes them from there
 * into a cache of its own, so the index (and the arena lock) is left for everything else.
 * Ranges move between pool and hart in magazines (Bonwick's word): a list of up to va_mag_areas(class)
 * areas through lazy_next, whose first area carries the list's length and the next magazine. A hart's
 * cache of a class is one list: an empty cache takes a whole magazine from the pool in one step under
 * the pool's lock, so a hart takes a shared lock once per 32-128 allocations of a class, not once per 32
 * as when ranges were moved one at a time; and the purge fills the giving hart's cache first, up to two
 * magazines, with no lock at all. A pool holds at most va_pool_max() areas (two whole purges' worth,
 * so that at 64 harts the purged ranges are not pushed back into the index only to come out of it again);
 * the rest go back to the index, and each purge by an idle hart gives back the oldest quarter of every
 * pool (Linux's decay_va_pool_node), so that ranges a workload stopped using return to the index. */
#define VA_CACHE_CLASSES 16
#define VA_POOL_MAX 16384
/* A magazine of the class whose ranges span `pages` pages (1..VA_CACHE_CLASSES): 512 pages of span, 8 to
 * 128 areas. */
#define VA_MAG_MAX_AREAS 128
#define VA_MAG_AREAS(p) (512 / (p) > VA_MAG_MAX_AREAS ? VA_MAG_MAX_AREAS : 512 / (p) < 8 ? 8 : 512 / (p))
/* A table, not the division: the purge asks once per area it gives back (pages 1..VA_CACHE_CLASSES). */
static const u8 va_mag_areas_of[VA_CACHE_CLASSES + 1] = {
	0, VA_MAG_AREAS(1), VA_MAG_AREAS(2), VA_MAG_AREAS(3), VA_MAG_AREAS(4), VA_MAG_AREAS(5), VA_MAG_AREAS(6),
	VA_MAG_AREAS(7), VA_MAG_AREAS(8), VA_MAG_AREAS(9), VA_MAG_AREAS(10), VA_MAG_AREAS(11), VA_MAG_AREAS(12),
	VA_MAG_AREAS(13), VA_MAG_AREAS(14), VA_MAG_AREAS(15), VA_MAG_AREAS(16)};
_Static_assert(VA_CACHE_CLASSES == 16, "va_mag_areas_of lists one entry per class");
static inline u32 va_mag_areas(u64 pages) { return va_mag_areas_of[pages]; }

struct va_class_cache {
	u32 count;              /* areas on the list */
	struct vmap_area *head; /* va_start / va_size set; linked through lazy_next, lowest address first */
};

struct va_pool {
	spinlock_t lock;
	u32 count;              /* areas in all its magazines */
	u32 mags;
	struct vmap_area *head; /* the newest magazine; the next one is head->mag_next */
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
struct arena_hart {
	s64 stat[2][ARENA_STAT_NR];
	struct vmap_area *lazy_head;
	u64 lazy_unpublished[2]; /* pages pushed here not yet added to arena.lazy_pages, per context as the
				  * counter banks: each has one writer, so a plain add (an atomic one is a
				  * locked host operation under QEMU with several vCPUs) */
	struct va_class_cache va[VA_CACHE_CLASSES];
	/* This hart's chunk of the region and its stash of area records (vm/vmalloc_chunk.c): the free range
	 * [chunk_cur, chunk_end) and unused records (state VA_NONE, no range) through lazy_next. */
	u64 chunk_cur, chunk_end;
	struct vmap_area *stash;
	u32 stashed;
} __aligned(64);

extern struct arena_hart arena_harts[MAX_HARTS];

/* This hart's bank for the current context. */
static inline s64 *arena_stat_bank(void) { return arena_harts[this_hart_index()].stat[in_interrupt() ? 1 : 0]; }

static inline void arena_stat_bank_add(s64 *bank, enum arena_stat s, s64 n)
{
	WRITE_ONCE(bank[s], bank[s] + n); /* one writer: see struct arena_hart */
}

static inline void arena_stat_add(enum arena_stat s, s64 n) { arena_stat_bank_add(arena_stat_bank(), s, n); }

/* A per-hart counter summed over harts. Any context. */
u64 arena_stat_total(enum arena_stat s);

/* The arena lock, counted: `make bench` reports acquisitions per operation from ARENA_STAT_ARENA_LOCKS. */
static inline unsigned long arena_lock(void)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena_stat_add(ARENA_STAT_ARENA_LOCKS, 1);
	return f;
}
static inline void arena_unlock(unsigned long f) { spin_unlock_irqrestore(&arena.lock, f); }

/* The _in forms of the counting helpers take the caller's bank (arena_stat_bank, or .stat[0] of this
 * hart's record on a path known to be in process context), so that a vmalloc or vfree finds its bank
 * once: each lookup reads tp and the interrupt depth again (this_hart is volatile), ~10 instructions. */
/* A busy-map stripe is held with interrupts held off lazily (lib/irq_hold.h), not with irq_save: an
 * interrupt handler may take a stripe (a vfree from interrupt context), so none may run on a hart that
 * holds one, but writing sstatus twice per lock hold cost ~15% of a one-page vmalloc+vfree in host time
 * (two holds per pair). The wait, if any, runs with interrupts as the caller had them, as
 * spin_lock_irqsave's does (spin_lock_held). */
static inline void busy_lock_in(struct busy_stripe *b, s64 *bank)
{
	spin_lock_held(&b->lock);
	arena_stat_bank_add(bank, ARENA_STAT_BUSY_LOCKS, 1);
}
static inline void busy_lock(struct busy_stripe *b) { busy_lock_in(b, arena_stat_bank()); }
static inline void busy_unlock(struct busy_stripe *b) { spin_unlock_held(&b->lock); }

static inline unsigned long pool_lock(struct va_pool *p)
{
	unsigned long f = spin_lock_irqsave(&p->lock);
	arena_stat_add(ARENA_STAT_POOL_LOCKS, 1);
	return f;
}
static inline void pool_unlock(struct va_pool *p, unsigned long f) { spin_unlock_irqrestore(&p->lock, f); }

/* Live-area accounting on this hart's counters: no lock. Kernel pages are counted per hart (the kernel
 * has no limit to check); a task's are charged under the arena lock (arena_owner_add_locked). */
static inline void arena_count_in_bank(s64 *bank, const struct vmap_area *a, u64 pages)
{
	arena_stat_bank_add(bank, ARENA_STAT_SEQ, 1);
	arena_stat_bank_add(bank, ARENA_STAT_LIVE_AREAS, 1);
	arena_stat_bank_add(bank, ARENA_STAT_LIVE_PAGES, (s64)pages);
	if (a->owner == VM_OWNER_KERNEL) arena_stat_bank_add(bank, ARENA_STAT_KERNEL_PAGES, (s64)pages);
}
static inline void arena_count_in(const struct vmap_area *a, u64 pages) { arena_count_in_bank(arena_stat_bank(), a, pages); }

/* A task's pages leave its account, under the arena lock (arena_count_out's out-of-line half). */
void arena_owner_uncount(u32 owner, u64 pages);
/* The pages of a retired (or aborted) area leave the counts; `area` says the area itself goes too. A
 * task's pages leave its account under the arena lock. No lock held. Inline: every vfree counts out. */
static inline void arena_count_out_bank(s64 *bank, u32 owner, u64 pages, bool area)
{
	if (area) arena_stat_bank_add(bank, ARENA_STAT_LIVE_AREAS, -1);
	arena_stat_bank_add(bank, ARENA_STAT_LIVE_PAGES, -(s64)pages);
	if (likely(owner == VM_OWNER_KERNEL)) arena_stat_bank_add(bank, ARENA_STAT_KERNEL_PAGES, -(s64)pages);
	else arena_owner_uncount(owner, pages);
}
static inline void arena_count_out(u32 owner, u64 pages, bool area)
{
	arena_count_out_bank(arena_stat_bank(), owner, pages, area);
}

/* The owners' accounts. A kernel area's pages are counted per hart (arena_count_in); a task's are charged
 * to owner_pages against owner_limit, and to every account above it (owner_above: its parent's, the
 * parent's parent's, ...) against theirs, as a memory cgroup's: a quota bounds a task's whole subtree,
 * so children cannot each spend their parent's quota again. */
/* Whether `pages` more fit under the limit of owner and of every account above it (false for an owner
 * out of range). Arena lock held. */
bool arena_owner_fits_locked(u32 owner, u64 pages);
/* Adds pages (negative: takes them) to owner's account and every account above it, no limit checked.
 * Arena lock held. */
void arena_owner_add_locked(u32 owner, s64 pages);
/* Hangs owner's account (with all it holds) under `above` (0: under none): its pages leave the accounts
 * it was under and join above's and those above it, no limit checked. No lock held. */
void arena_owner_set_above(u32 owner, u32 above);
/* owner is going: the room it has left is split among the accounts kids[0..n) below it (each limit cut to
 * what it holds plus its share; the limits are stored in limits[]), and they are hung under `above`. */
void arena_owner_rehang(u32 owner, u32 above, const u32 *kids, u32 n, u64 *limits);
/* Adds pages (negative: takes them) to a live area's owner and to the live-page base, raising the peak:
 * a resize's pages, which are not counted per hart. No lock held. */
void arena_pages_add(u32 owner, s64 pages);
/* As arena_pages_add for pages > 0, within owner's limit: false (counted as a failure) past it. */
bool arena_pages_charge(u32 owner, u64 pages);
/* vm_owner_charge (vm/vmalloc.h): memory held for a task outside any area. No lock held. */
int arena_owner_charge(u32 owner, s64 pages, bool force);
/* Sets a task's limit; no lock held. */
void arena_owner_set_limit(u32 owner, u64 pages);
/* Moves `pages` from one owner to another, within the new owner's limit unless `force` (or the owners
 * are one); -ENOMEM with nothing moved past it. The caller holds the area's busy-map stripe. */
int arena_owner_move(u32 from, u32 to, u64 pages, bool force);

/* Events counted in arena.st (rejected, failures, bad_frees, redzone_errors, huge_fallbacks): the _locked
 * form with the arena lock held, the other takes it. Any context. */
enum arena_event { ARENA_REJECTED, ARENA_FAILED, ARENA_BAD_FREE, ARENA_REDZONE_ERROR, ARENA_HUGE_FALLBACK };
void arena_note_event_locked(enum arena_event ev);
void arena_note_event(enum arena_event ev);
/* Records the last failure: err is the errno a task would see for it (EINVAL for a bad argument, ENOMEM
 * when memory, address space or a quota ran out), reason the words diagnostics print. Any context. */
void arena_note_failure(u64 size, u64 align, const void *caller, int err, const char *reason);
/* Raises the peak to the current total (the base in arena.st plus every hart's counter) if that is
 * higher. The base alone may be below zero (a shrink counted there, its alloc on a hart). Arena lock held. */
void arena_peak_update_locked(void);
/* Says that fn was given addr, which is no live area's start (a double free when the range is still
 * parked or deferred), naming the caller. Any context. */
void arena_warn_bad_pointer(const char *fn, const void *addr, const void *caller);

/* The lazy lists: freed, unmapped ranges that wait for a purge's fence before reuse. */
/* Pages a parked area counts for against the lazy threshold: mapped pages, not the guard, at least one. */
static inline u64 va_lazy_pages_of(const struct vmap_area *a) { return MAX(a->size >> PAGE_SHIFT, 1); }
/* A lazy list's totals ride on its areas (lazy_below): each pushed area adds itself to the totals of the
 * list below it, so whoever takes a list whole knows its pages and areas from its head, in O(1). */
#define VA_LAZY_ONE_AREA (1ULL << 32)
static inline u64 va_lazy_below(const struct vmap_area *below, u64 pages)
{
	return (below ? below->lazy_below : 0) + VA_LAZY_ONE_AREA + pages;
}
static inline u64 va_lazy_list_pages(const struct vmap_area *head) { return head ? (u32)head->lazy_below : 0; }
static inline u64 va_lazy_list_areas(const struct vmap_area *head) { return head ? head->lazy_below >> 32 : 0; }
/* Parks a on the arena's list (a range the index could not take back): true when the purge is due.
 * Arena lock held. */
bool va_lazy_park_locked(struct vmap_area *a);
/* Pages a hart parks before it adds them to the shared count and checks the threshold: the shared line
 * is then written once per batch, and the threshold is overshot by at most this much per hart. */
#define LAZY_PUBLISH_PAGES 32
/* Adds `unpublished` (one of this hart's lazy_unpublished, the caller's context's) to arena.lazy_pages:
 * true when the threshold is crossed. */
bool va_lazy_publish(u64 *unpublished);
/* Parks a retired area (out of the busy map, leaves clear) on this hart's list: true when the pages
 * parked crossed the threshold and a purge is due. Process or interrupt context, no lock held. Inline:
 * every vfree ends here, and under QEMU a call's return costs a translation-block lookup. */
static inline bool va_lazy_park_in(struct vmap_area *a, struct arena_hart *h, s64 *bank)
{
	u64 n = va_lazy_pages_of(a);
	va_check_move(a, VAH(TAKEN), VA_LAZY);
	va_check_unmapped(a);
	struct vmap_area *head = __atomic_load_n(&h->lazy_head, __ATOMIC_RELAXED);
	do {
		a->lazy_next = head;
		a->lazy_below = va_lazy_below(head, n); /* a stale head's garbage fails the exchange */
	} while (!__atomic_compare_exchange_n(&h->lazy_head, &head, a, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	arena_stat_bank_add(bank, ARENA_STAT_LAZY_AREAS, 1);
	u64 *unpublished = &h->lazy_unpublished[bank != h->stat[0]];
	WRITE_ONCE(*unpublished, *unpublished + n);
	if (likely(*unpublished < LAZY_PUBLISH_PAGES)) return false;
	return va_lazy_publish(unpublished);
}
/* va_lazy_park_in on this hart's list and bank. */
static inline bool va_lazy_park(struct vmap_area *a)
{
	return va_lazy_park_in(a, &arena_harts[this_hart_index()], arena_stat_bank());
}
/* A purge's batch: the lazy lists it took whole, each through lazy_next, chained from `lists` through
 * each list head's batch_next (`last` is the last list), their totals and the purge's number. */
struct va_lazy_batch {
	struct vmap_area *lists, *last;
	u64 pages, areas, id;
};
/* The purge's side: takes every area parked so far (the arena's list and every hart's) and takes their
 * pages and areas off the counters. O(harts): no list is walked. False if nothing was parked. The
 * caller has claimed the purge (vm/vmalloc_purge.c); no lock held. */
bool va_lazy_take_all(struct va_lazy_batch *b);
/* Whether the parked pages reached the threshold (arena.lazy_max_pages). Any context. */
bool va_lazy_over_threshold(void);
/* Parked pages, published or not. Any context. */
u64 va_lazy_pages_total(void);
/* Diagnostics: the parked area starting at (or, with `contains`, holding) addr; NULL if none. The walk
 * of other harts' lists races with their purges and is bounded, good enough for an explanation. */
struct vmap_area *va_lazy_find(u64 addr, bool contains);

/* Use-after-free detection (vmalloc.debug_uaf=1, vm_set_debug_uaf): the freeing hart flushes the range
 * from its TLB at once, so its own use after vfree faults and is named. One sfence.vma per free: under
 * QEMU that is a whole soft-TLB flush and a refill of every translation the hart uses next, which is why
 * it is off by default. Inline because every vfree asks and it is almost always off: under QEMU a
 * call's return costs a translation-block lookup. One page: by address; more: the whole TLB, since a
 * by-address fence of the first page alone would leave the others' translations. Any context. */
extern bool vm_debug_uaf;
static inline void va_debug_uaf_flush(u64 start, u64 size)
{
	if (likely(!READ_ONCE(vm_debug_uaf))) return;
	if (size <= PAGE_SIZE) local_flush_tlb_page(start);
	else local_flush_tlb_all();
}

#endif
