/* Lazy purge. vfree clears PTEs at once and flushes no TLB, not even its own hart's (as Linux): a stale
 * access faults on any hart that has no cached translation, and the virtual range is not reused until a
 * purge has flushed every hart's TLB: the whole batch costs one local flush and ONE remote fence. */
#include "vm/vmalloc_purge.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "lib/trace.h"
#include "platform/tlb_remote.h"
#include "vm/layout.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_chunk.h"

/* Past this many pages in the flushed span one full flush is cheaper than per-page sfence.vma. Linux
 * uses 64 for real cores; under QEMU every sfence.vma, with an address or not, flushes the whole soft
 * TLB, so a loop of N ranged fences costs N full flushes: only a single page is flushed by address. */
#define FLUSH_ALL_THRESHOLD_PAGES 1

/* One purge at a time, claimed by compare-and-swap rather than a lock: the purge runs with interrupts
 * on and no lock held through the remote fence, and nobody ever waits for it spinning. */
static u32 purge_running;
static u64 purge_seq;       /* purges completed; a waiter sleeps until it moves */
static struct hartset purge_waiters; /* harts sleeping until the purge in flight ends */
static u32 purge_requested; /* the threshold was crossed: an idle hart should purge */

/* Flushes the range from this hart's TLB and every other hart's: one sfence.vma here and ONE remote fence
 * call for all the others, by the mechanism chosen at boot (platform/tlb_remote.h: SBI RFENCE or the IPI
 * shootdown). Returns how many other harts were fenced. No lock may be held: the remote half waits. */
#ifdef VM_DEBUG
bool va_debug_skip_fence;
#endif

static u32 flush_kernel_range(u64 start, u64 size, enum tlb_remote_mech mech)
{
	u64 pages = size >> PAGE_SHIFT;
	bool full = pages > FLUSH_ALL_THRESHOLD_PAGES;
#ifdef VM_DEBUG
	if (unlikely(READ_ONCE(va_debug_skip_fence))) return 0; /* the flushed_tables check's test: a lost fence */
#endif
	u64 n = full ? va_check_flush_begin() : 0;

	if (full) local_flush_tlb_all();
	else local_flush_tlb_page(start);
	/* A full flush here is one there too (OpenSBI turns any range over 4 KiB into one anyway). */
	u32 remote = tlb_remote_flush_by(mech, NULL, full ? 0 : start, full ? 0 : size, -1);
	if (full) va_check_flush_done(n);
	arena_stat_add(ARENA_STAT_LOCAL_FENCES, 1);
	if (remote) arena_stat_add(ARENA_STAT_REMOTE_FENCES, 1);
	if (full) arena_stat_add(ARENA_STAT_FULL_FLUSHES, 1);
	arena_stat_add(ARENA_STAT_FLUSHED_PAGES, pages);
	return remote;
}

void vm_flush_range_now(u64 start, u64 size) { (void)flush_kernel_range(start, size, tlb_remote_mech()); }

/* Deferred tail pages: at most this many wait for a fence (2 MiB), so a task shrinking in a loop hides
 * little memory (and an allocation that runs out drains them first: va_populate), while the fence
 * that frees them is paid once per this many pages. */
#define VM_TAIL_DEFER_MAX 512
static u64 tail_chain;  /* physical address of the first deferred page; each page's first word links on */
static s64 tail_pages;  /* pages on it (atomic; pushers add after the push, drainers take what they free) */

/* The link word of a page chain's last page (a chain is physical addresses linked through each page's
 * first word, 0 ending it): where another chain is hung on. */
static u64 *chain_end(u64 chain)
{
	u64 *link = phys_to_virt(chain);
	while (*link) link = phys_to_virt(*link);
	return link;
}

void vm_tail_pages_defer(u64 start, u64 size, u64 chain, u32 n)
{
	if (!chain) return;
	/* Not even this hart is fenced now (unless use-after-free detection wants its own accesses to
	 * fault, as after a vfree): under QEMU a sfence.vma empties the whole soft TLB, and the drain fences
	 * this hart as it fences the others, before the pages go and before the range is mapped again.
	 * Meanwhile a stale translation here, like one elsewhere, reaches only our page. */
	va_debug_uaf_flush(start, size);
	u64 *end = chain_end(chain);
	u64 head = __atomic_load_n(&tail_chain, __ATOMIC_RELAXED);
	do *end = head;
	while (!__atomic_compare_exchange_n(&tail_chain, &head, chain, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	if (__atomic_add_fetch(&tail_pages, (s64)n, __ATOMIC_RELAXED) >= VM_TAIL_DEFER_MAX) vm_tail_pages_drain();
}

void vm_free_chain(u64 head)
{
	while (head) {
		u64 next = *(u64 *)phys_to_virt(head);
		page_cache_free(head);
		head = next;
	}
}

bool vm_tail_pages_waiting(void) { return __atomic_load_n(&tail_chain, __ATOMIC_ACQUIRE) != 0; }

void vm_tail_pages_drain(void)
{
	/* Taken before the fence: every page on it was unmapped before the fence starts, so once this hart
	 * and every other one have flushed their whole TLB, none reaches them. */
	u64 chain = __atomic_exchange_n(&tail_chain, 0, __ATOMIC_ACQUIRE);
	u64 flush = va_check_flush_begin();
	local_flush_tlb_all();
	u32 remote = tlb_remote_flush(NULL, 0, 0); /* the whole TLB of every other hart, by the boot's mechanism */
	va_check_flush_done(flush);
	arena_stat_add(ARENA_STAT_LOCAL_FENCES, 1);
	if (remote) arena_stat_add(ARENA_STAT_REMOTE_FENCES, 1);
	arena_stat_add(ARENA_STAT_FULL_FLUSHES, 1);
	s64 n = 0;
	for (u64 next; chain; chain = next, n++) {
		next = *(u64 *)phys_to_virt(chain);
		page_cache_free(chain);
	}
	__atomic_fetch_sub(&tail_pages, n, __ATOMIC_RELAXED);
}

/* Areas a freeing hart gives back per call: a burst costs about 30 instructions an area (pool or index),
 * so a vfree that runs the purge, or follows one, stays within a few times a plain call. A burst is
 * 1/64 of the threshold's pages, at least GIVE_BACK_MIN areas: small thresholds (the tail benchmark's
 * 512 pages) keep bursts small, and the default (8192 pages per fls(harts)) does not pay a burst's fixed
 * cost (locks, pool flush) every 32 areas: fix_size with bursts of 32 at the default cost 1.5% more
 * instructions per op than whole batches, with 128 0.7%. */
#define GIVE_BACK_MIN 32

static u64 give_back_burst(void) { return MAX((u64)GIVE_BACK_MIN, READ_ONCE(arena.lazy_max_pages) / 64); }

/* Index inserts a freeing hart's burst makes at most. An insert of a range that touches no free neighbour
 * costs ~360 instructions (the augmented tree's erase, bridge and propagate); at one hart a burst is
 * mostly one extent (one insert), but on four, bursts of other harts' areas with pooled ones between
 * them were 32 inserts, ~12,000 instructions on one vfree (tools/hart_insns.c). Capping the areas
 * instead (16 a burst) cost fix_size 7% per op on one hart, where the cap is never reached this way. */
#define GIVE_BACK_INSERTS 16

/* Inserts an idle hart's or vm_purge's give-back makes per hold of the arena lock, so that allocating harts
 * are never held up for a whole batch of thousands of areas. */
#define GIVE_BACK_HOLD_INSERTS 64

/* Gives ranges back to the index, up to max_inserts inserts under one hold of the arena lock, and returns
 * the areas left for the next hold; or, given `reparked` (the list's totals set by list_set_totals), parks
 * what is left fenced again in the same hold, as a list of this hart's (so that its next burst takes it
 * first), returns NULL and counts its areas there. Touching ranges are one insert: a hart frees its chunk's
 * areas (vm/vmalloc_chunk.c) in about the reverse order it carved them, so a burst of them is mostly one
 * extent. A run the index has no node for is parked again for the next purge rather than lost. The
 * records go to this hart's stash, or back to the pool of records. */
static struct vmap_area *give_back_to_index(struct vmap_area *list, u32 max_inserts, u64 *reparked)
{
	unsigned long f = arena_lock();
	for (u32 inserts = 0; list && inserts < max_inserts; inserts++) {
		struct vmap_area *run = list, *last = list;
		u64 lo = list->va_start, hi = lo + list->va_size;
		for (struct vmap_area *n = last->lazy_next; n; last = n, n = n->lazy_next) {
			if (n->va_start + n->va_size == lo) lo = n->va_start;
			else if (n->va_start == hi) hi += n->va_size;
			else break;
		}
		list = last->lazy_next;
		last->lazy_next = NULL;
		bool parked = va_index_free(&arena.free, lo, hi - lo) == -ENOMEM;
		for (struct vmap_area *next; run; run = next) {
			next = run->lazy_next;
			if (parked) va_lazy_park_locked(run);
			else if (!va_stash_keep(run, VAH(LAZY))) {
				va_check_move(run, VAH(LAZY), VA_FREE);
				node_pool_put(&arena.area_pool, run);
			}
		}
	}
	if (reparked && list) {
		*reparked = va_lazy_list_areas(list);
		list->lazy_hart = (u16)(this_hart_index() + 1);
		list->batch_next = arena.fenced_head;
		arena.fenced_head = list;
		list = NULL;
	}
	arena_unlock(f);
	return list;
}

/* Fenced areas on their way back: the small ones gathered into magazines per class, the others (`rest`)
 * for the index. One of these can collect several lists, so that each class's pool lock and the arena
 * lock are taken once for all of them (give_back_end). */
struct give_back {
	struct va_pool_batch pooled;
	struct vmap_area *rest;
	u64 areas; /* taken from the lists so far */
	u64 rest_n; /* of them on rest */
};

/* Takes every area of the fenced lists `lists` (chained through batch_next) into gb. Each area's emptied
 * tables go back to the page cache now: every TLB was flushed since they were detached. */
static void give_back_take(struct give_back *gb, struct vmap_area *lists)
{
	for (struct vmap_area *next_list; lists; lists = next_list) {
		next_list = lists->batch_next;
		for (struct vmap_area *a = lists, *next; a; a = next, gb->areas++) {
			next = a->lazy_next;
			if (unlikely(a->lazy_tables)) {
				va_check_tables_flushed(a->lazy_tables);
				vm_free_chain(a->lazy_tables);
				a->lazy_tables = 0;
			}
			if (!va_pool_put(a, &gb->pooled)) {
				a->lazy_next = gb->rest;
				gb->rest = a;
				gb->rest_n++;
			}
		}
	}
}

/* Sets the lazy-list totals (lazy_below) of a chain of n areas, so that any suffix of it is a list whose
 * head carries its own: what a capped burst leaves can then be parked fenced again in O(1). */
static void list_set_totals(struct vmap_area *list, u64 n)
{
	u64 pages = 0;
	for (struct vmap_area *a = list; a; a = a->lazy_next) pages += va_lazy_pages_of(a);
	for (struct vmap_area *a = list; a; a = a->lazy_next, n--) {
		a->lazy_below = n * VA_LAZY_ONE_AREA + pages;
		pages -= va_lazy_pages_of(a);
	}
}

/* Hands back what gb holds: small ranges to their class's pool (whole, struct and range, one lock per
 * class), the others to the index, GIVE_BACK_HOLD_INSERTS inserts per hold of the arena lock; a freeing
 * hart's burst (`bounded`) makes GIVE_BACK_INSERTS inserts at most and parks the rest fenced again, in the
 * same hold. Returns how many areas went back. */
static u64 give_back_end(struct give_back *gb, bool bounded)
{
	va_pool_put_flush(&gb->pooled);
	if (!bounded) {
		while (gb->rest) gb->rest = give_back_to_index(gb->rest, GIVE_BACK_HOLD_INSERTS, NULL);
		return gb->areas;
	}
	if (!gb->rest) return gb->areas;
	/* Each insert takes at least one area: a rest this short goes back whole. */
	if (gb->rest_n <= GIVE_BACK_INSERTS) {
		gb->rest = give_back_to_index(gb->rest, GIVE_BACK_INSERTS, NULL);
		return gb->areas;
	}
	u64 reparked = 0;
	list_set_totals(gb->rest, gb->rest_n);
	gb->rest = give_back_to_index(gb->rest, GIVE_BACK_INSERTS, &reparked);
	return gb->areas - reparked;
}

/* Puts a purged batch's lists before the fenced lists already waiting, counted as fenced. O(1) under
 * the arena lock. */
static void fence_park(const struct va_lazy_batch *b)
{
	unsigned long f = arena_lock();
	b->last->batch_next = arena.fenced_head;
	arena.fenced_head = b->lists;
	__atomic_fetch_add(&arena.st.fenced_areas, b->areas, __ATOMIC_RELAXED);
	arena_unlock(f);
}

/* Cuts `list` after its first `keep` areas (keep < its areas) and puts the rest, a list of its own (its
 * totals already on its head: lazy_below counts an area and all below it; of the same hart), before
 * `after`. Returns the rest. Arena lock held. */
static struct vmap_area *cut_list(struct vmap_area *list, u64 keep, struct vmap_area *after)
{
	struct vmap_area *cut = list;
	for (; keep > 1; keep--) cut = cut->lazy_next;
	struct vmap_area *rest = cut->lazy_next;
	cut->lazy_next = NULL;
	rest->lazy_hart = list->lazy_hart;
	rest->batch_next = after;
	return rest;
}

/* A burst of this hart's own fenced areas, taken off the fenced lists: the areas it parked itself, whose
 * records it last wrote, so that giving them back reads lines already in its core's cache (a burst of
 * another hart's 256 records is 256 misses: at -smp 2, freeing harts that gave back each other's areas
 * cost fix_size ~7% per op). Looks at the lists of the last few purges only (a purge's lists are at most
 * one per hart). NULL when it has none there. Arena lock held. */
static struct vmap_area *take_own_burst(u64 burst)
{
	u16 me = (u16)(this_hart_index() + 1);
	u32 budget = 2 * hart_slots_used() + 1;
	for (struct vmap_area **pp = &arena.fenced_head, *l; (l = *pp) && budget; pp = &l->batch_next, budget--) {
		if (l->lazy_hart != me) continue;
		struct vmap_area *after = l->batch_next;
		if (va_lazy_list_areas(l) > burst) after = cut_list(l, burst, after); /* the rest stays in place */
		*pp = after;
		l->batch_next = NULL;
		return l;
	}
	return NULL;
}

/* The first fenced lists, up to `burst` areas, chained through batch_next: as many as it takes (at many
 * harts a purge's lists are a few dozen areas each), the last cut where the burst ends and its rest left
 * heading the fenced lists. The lists' heads carry their lengths (lazy_below), so they are found without
 * walking them; the cut walks at most a burst's areas. NULL when none is fenced. Arena lock held. */
static struct vmap_area *take_first_lists(u64 burst)
{
	struct vmap_area *list = arena.fenced_head, *last = NULL;
	u64 n = 0;
	for (struct vmap_area *l = list; l && n < burst; l = l->batch_next) {
		n += va_lazy_list_areas(l);
		last = l;
	}
	if (!last) return NULL;
	struct vmap_area *after = last->batch_next;
	if (n > burst) after = cut_list(last, va_lazy_list_areas(last) - (n - burst), after);
	arena.fenced_head = after;
	last->batch_next = NULL;
	return list;
}

/* Gives back one burst of fenced areas (give_back_burst, at most `most`): this hart's own if it has some,
 * else the first lists', under one hold of the arena lock; or (`all`) every fenced area. */
static void give_back_fenced(bool all, u64 most)
{
	u64 burst = all ? ~0ULL : MIN(give_back_burst(), most);
	while (READ_ONCE(arena.fenced_head)) {
		unsigned long f = arena_lock();
		struct vmap_area *list = all ? NULL : take_own_burst(burst);
		if (!list) list = take_first_lists(burst);
		arena_unlock(f);
		struct give_back gb = {0};
		give_back_take(&gb, list);
		__atomic_fetch_sub(&arena.st.fenced_areas, give_back_end(&gb, !all), __ATOMIC_RELAXED);
		if (!all) return;
	}
}

void vm_purge_give_back_some(u64 most)
{
	if (unlikely(READ_ONCE(arena.fenced_head))) give_back_fenced(false, most);
}

/* Fenced areas a free leaves alone, in thresholds' worth: allocations take them back as they need ranges
 * (va_area_get); past this, harts only free (or allocate from full caches), and frees give back too, so
 * the ranges and detached tables a purge released do not wait for an idle hart. */
#define FENCED_BACKLOG_THRESHOLDS 4

void vm_purge_give_back_backlog(void)
{
	if (unlikely(READ_ONCE(arena.fenced_head)) &&
	    __atomic_load_n(&arena.st.fenced_areas, __ATOMIC_RELAXED) >
		    FENCED_BACKLOG_THRESHOLDS * READ_ONCE(arena.lazy_max_pages))
		give_back_fenced(false, ~0ULL);
}

/* The batch's ev=lazy events, one per area in list order: out of the purge's path, so that with tracing
 * off a batch costs nothing per area before its fence. A batch can hold thousands of areas (Linux's
 * threshold is 32 MiB of pages a hart), far more lines than a hart's ring: the ring is drained whenever
 * it is half full on the way (no allocator lock is held here), so none is dropped. */
#define LAZY_LINES_PER_DRAIN_CHECK 16
static __attribute__((noinline, cold)) void trace_lazy_batch(const struct va_lazy_batch *b, const void *caller)
{
	u32 n = 0;
	for (const struct vmap_area *l = b->lists; l; l = l->batch_next)
		for (const struct vmap_area *a = l; a; a = a->lazy_next) {
			TRACE(TRACE_VMALLOC, caller, "ev=lazy addr=0x%lx purge=%lu", a->addr, b->id);
			if (++n % LAZY_LINES_PER_DRAIN_CHECK == 0) trace_drain_if_half_full();
		}
}

/* One batch: takes every lazy list whole, fences every hart once, and gives the ranges back: all of them,
 * or (`chunked`, a freeing hart purging inline) a first burst, leaving the rest fenced for later calls.
 * Nothing before the fence walks the batch: the lists' heads carry their totals, and the flushed span
 * needs no addresses, since any batch of more than one area spans more than FLUSH_ALL_THRESHOLD_PAGES and
 * is flushed whole; tables and ranges go back area by area after the fence, a burst at a time. So a
 * freeing hart's inline purge costs a few plain calls whatever the batch's size. Caller has claimed
 * purge_running. */
__noinline static void purge_batch(bool chunked)
{
	struct va_lazy_batch b;
	if (!va_lazy_take_all(&b)) return;
	/* Named here, where the batch is fixed, not at vfree: a hart's lazy list is taken by whichever purge
	 * comes next, so only now is it known which purge releases the range. */
	if (trace_on(TRACE_VMALLOC)) trace_lazy_batch(&b, __builtin_return_address(0));
	u64 start = VMALLOC_START, size = VMALLOC_SIZE;
	if (b.areas == 1) {
		start = b.lists->va_start;
		size = b.lists->va_size;
	}
	enum tlb_remote_mech mech = tlb_remote_mech(); /* read once: the fence uses it and the trace names it */
	/* The trace counts the remote fence calls this batch made on this hart (its own stat bank: another
	 * hart's fences do not land there), so a regression to a fence per area shows in the trace too. */
	s64 *bank = arena_stat_bank(), fences0 = bank[ARENA_STAT_REMOTE_FENCES];
	u32 remote = flush_kernel_range(start, size, mech);
	if (chunked) {
		fence_park(&b);
		give_back_fenced(false, ~0ULL);
	} else {
		/* An idle hart's purge also ages the pools, before this batch joins them: what a quarter of
		 * their magazines held since the last purge goes back to the index. A freeing hart purging
		 * inline does not: it would pay for a walk of every pool. */
		va_pool_decay();
		struct give_back gb = {0};
		give_back_take(&gb, b.lists);
		(void)give_back_end(&gb, false);
	}
	arena_stat_add(ARENA_STAT_PURGES, 1);
	TRACE(TRACE_PURGE, __builtin_return_address(0),
	      "ev=purge areas=%lu pages=%lu start=0x%lx end=0x%lx full=%d remote=%s local_fences=1 remote_fences=%u "
	      "remote_harts=%u id=%lu",
	      b.areas, b.pages, start, start + size, size >> PAGE_SHIFT > FLUSH_ALL_THRESHOLD_PAGES,
	      remote ? tlb_remote_mech_name(mech) : "none", (u32)(bank[ARENA_STAT_REMOTE_FENCES] - fences0), remote,
	      b.id);
}

/* Runs purges while the lazy list is over its threshold (more areas may be parked while one runs:
 * harts that find a purge in flight leave theirs to it), or one purge when `once`. Returns false
 * without doing anything if another hart's purge is in flight. */
static bool purge_run(bool once, bool chunked)
{
	u32 idle = 0;
	if (!__atomic_compare_exchange_n(&purge_running, &idle, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	WRITE_ONCE(purge_requested, 0);
	do purge_batch(chunked);
	while (!once && va_lazy_over_threshold());
	__atomic_add_fetch(&purge_seq, 1, __ATOMIC_RELEASE);
	store_release(purge_running, 0);
	mb();
	struct hartset w;
	hartset_exchange_zero(&purge_waiters, &w, __ATOMIC_ACQ_REL);
	harts_kick(&w);
	return true;
}

bool vm_purge_in_flight(void) { return __atomic_load_n(&purge_running, __ATOMIC_ACQUIRE); }

u64 vm_purge_seq(void) { return __atomic_load_n(&purge_seq, __ATOMIC_ACQUIRE); }

static bool purge_moved(u64 seq, u32 me)
{
	hartset_atomic_set(&purge_waiters, me, __ATOMIC_SEQ_CST);
	mb();
	return __atomic_load_n(&purge_seq, __ATOMIC_ACQUIRE) != seq || !__atomic_load_n(&purge_running, __ATOMIC_ACQUIRE);
}

void vm_purge_wait(u64 seq)
{
	u32 me = this_hart_index();
	if (!hart_kick) return;
	hart_wait_until(purge_moved(seq, me));
	hartset_atomic_clear(&purge_waiters, me, __ATOMIC_RELAXED);
}

void vm_purge_aging(void)
{
	while (!purge_run(true, false)) vm_purge_wait(vm_purge_seq());
}

/* This hart's class caches and the rest of its chunk back to the index: the free ranges only this hart
 * can give back (va_hart_holds_ranges). */
static void give_back_own_ranges(void)
{
	va_cache_flush();
	va_chunk_flush();
}

/* Everything parked before the call is purged when it returns: a purge already in flight may have taken
 * its list before our areas were parked, so it is waited for and then ours is run. Then the pools and
 * this hart's caches go back to the index too: after this the index holds every free range but the
 * few other harts keep cached (at most one magazine per class each), so lowest fit and the largest
 * alignments see the whole region again. */
void vm_purge_parked(void)
{
	vm_purge_aging();
	give_back_fenced(true, ~0ULL);
	give_back_own_ranges();
	if (vm_tail_pages_waiting()) vm_tail_pages_drain();
}

/* Harts asked to give their caches and chunk back to the index: an allocation found the region full
 * while they held free ranges only they can give back (their caches and chunk are theirs alone, touched
 * without a lock: vm/vmalloc_chunk.c). */
static struct hartset give_back_asked;

/* How long an allocation that found the region full waits for the harts it asked, in ticks of its own
 * timer (100 Hz). An idle hart answers at once (the kick wakes its idle loop), a hart running tasks at
 * its next pass through the scheduler (once per tick), a hart busy in the kernel only when it gets back
 * there: the wait is bounded, and the allocation fails without that hart's ranges rather than wait on
 * it. */
#define GIVE_BACK_WAIT_TICKS 3

void vm_purge_answer_ask(void)
{
	u32 me = this_hart_index();
	if (likely(!hartset_atomic_test(&give_back_asked, me, __ATOMIC_ACQUIRE))) return;
	give_back_own_ranges();
	/* An ask made while this one was being answered is taken as answered too: the caches were just
	 * emptied, and its asker retries its allocation anyway. */
	hartset_atomic_clear(&give_back_asked, me, __ATOMIC_RELEASE);
	harts_kick_others(); /* the asker sleeps in wfi; only a full region asks, so a kick of all is cheap */
}

/* Whether the wait for the harts in `asked`, begun at this hart's tick t0, is over: all have answered,
 * or GIVE_BACK_WAIT_TICKS of this hart's ticks have passed. */
static bool ask_over(const struct hartset *asked, u64 t0)
{
	struct hartset now;
	hartset_load(&now, &give_back_asked, __ATOMIC_ACQUIRE);
	hartset_and(&now, &now, asked);
	return hartset_empty(&now) || READ_ONCE(this_hart()->ticks) - t0 >= GIVE_BACK_WAIT_TICKS;
}

u32 vm_purge_ask_harts(void)
{
	struct hartset holders, asked;
	/* The wait is counted in this hart's ticks, which only its timer interrupt advances. */
	if (in_interrupt() || !irqs_enabled() || !va_others_hold_ranges(&holders)) return 0;
	u32 me = this_hart_index();
	u64 t0 = READ_ONCE(this_hart()->ticks);
	/* A hart an earlier ask is still waiting for is busy in the kernel: it will answer that one when it
	 * gets back, and nobody waits for it again meanwhile. */
	hartset_load(&asked, &give_back_asked, __ATOMIC_ACQUIRE);
	hartset_andnot(&asked, &holders, &asked);
	if (!hartset_empty(&asked)) {
		hartset_atomic_or(&give_back_asked, &asked, __ATOMIC_RELEASE);
		harts_kick(&asked);
		arena_stat_add(ARENA_STAT_GIVE_BACK_ASKS, 1);
	}
	/* Two harts that found the region full answer each other here: an ask made of this one wakes it. */
	while (vm_purge_answer_ask(), !ask_over(&asked, t0))
		hart_wait_until(ask_over(&asked, t0) || hartset_atomic_test(&give_back_asked, me, __ATOMIC_ACQUIRE));
	struct hartset late;
	hartset_load(&late, &give_back_asked, __ATOMIC_ACQUIRE);
	hartset_and(&asked, &asked, &late); /* asked here, waited for, and not answered in time */
	arena_stat_add(ARENA_STAT_GIVE_BACK_LATE, hartset_popcount(&asked));
	hartset_and(&late, &late, &holders);
	return hartset_popcount(&late); /* still asked, by this call or an earlier one: they answer later */
}

/* The free path crossed the threshold. A purge in flight will see the new areas (it loops while over
 * the threshold); otherwise idle harts are asked to do it, and this hart does it itself only when
 * alone, or when twice the threshold has piled up because no hart was idle to take it. */
void vm_purge_kick(void)
{
	if (__atomic_load_n(&purge_running, __ATOMIC_ACQUIRE)) return;
	bool alone = __atomic_load_n(&nr_harts_online, __ATOMIC_ACQUIRE) == 1 || !hart_kick;
	if (!alone && __atomic_load_n(&arena.lazy_pages, __ATOMIC_RELAXED) < 2 * (s64)READ_ONCE(arena.lazy_max_pages)) {
		if (__atomic_exchange_n(&purge_requested, 1, __ATOMIC_ACQ_REL)) return;
		harts_kick_others();
		return;
	}
	vm_purge_inline();
}

/* One batch, not a loop while over the threshold: with every hart freeing, more areas are parked while
 * the batch is fenced, and a loop made one caller purge for all of them (on four harts, random_size's
 * slowest vfree ran 161,000 instructions on its own hart, 29x the median call: tools/hart_insns.c). What
 * is parked meanwhile is the next crossing vfree's batch. */
void vm_purge_inline(void) { (void)purge_run(true, true); }

/* The idle loop's share: the purge an allocating or freeing hart asked for. */
void vm_purge_idle_work(void)
{
	vm_purge_answer_ask();
	if (unlikely(__atomic_load_n(&purge_requested, __ATOMIC_RELAXED)) && va_lazy_over_threshold())
		(void)purge_run(false, false);
	if (unlikely(READ_ONCE(arena.fenced_head))) give_back_fenced(true, ~0ULL);
}
