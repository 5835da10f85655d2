/* Lazy purge. vfree clears PTEs at once and flushes no TLB, not even its own hart's (as Linux): a stale
 * access faults on any hart that has no cached translation, and the virtual range is not reused until a
 * purge has flushed every hart's TLB: the whole batch costs one local flush and ONE remote fence. */
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "lib/trace.h"
#include "platform/tlb_remote.h"
#include "vm/layout.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_internal.h"
#include "vm/vmalloc_map.h"

/* Past this many pages in the flushed span one full flush is cheaper than per-page sfence.vma. Linux
 * uses 64 for real cores; under QEMU every sfence.vma, with an address or not, flushes the whole soft
 * TLB, so a loop of N ranged fences costs N full flushes: only a single page is flushed by address. */
#define FLUSH_ALL_THRESHOLD_PAGES 1

bool vm_debug_uaf;

/* One purge at a time, claimed by compare-and-swap rather than a lock: the purge runs with interrupts
 * on and no lock held through the remote fence, and nobody ever waits for it spinning. */
static u32 purge_running;
static u64 purge_seq;       /* purges completed; a waiter sleeps until it moves */
static struct hartset purge_waiters; /* harts sleeping until the purge in flight ends */
static u32 purge_requested; /* the threshold was crossed: an idle hart should purge */

/* Pages a hart parks before it adds them to the shared count and checks the threshold: the shared line
 * is then written once per batch, and the threshold is overshot by at most this much per hart. */
#define LAZY_PUBLISH_PAGES 32

struct vm_hart vm_harts[MAX_HARTS];

static bool over_threshold(void)
{
	return __atomic_load_n(&arena.lazy_pages, __ATOMIC_RELAXED) >= (s64)READ_ONCE(arena.lazy_max_pages);
}

__noinline bool vm_lazy_add_locked(struct vmap_area *a)
{
	/* Only a purge that could not give the range back parks it here, under the arena lock like the
	 * purge's taking of the list: the purge numbered purge_id releases exactly the areas traced with it,
	 * so the replay never has to guess. */
	TRACE(TRACE_VMALLOC, __builtin_return_address(0), "ev=lazy addr=0x%lx purge=%lu", a->addr, arena.purge_id);
	vm_check_move(a, VAH(TAKEN) | VAH(LAZY) | VAH(CACHED), VA_LAZY);
	a->lazy_next = arena.lazy_head;
	arena.lazy_head = a;
	/* Mapped pages, not the guard: N single-page vfrees then cost at most ceil(N / threshold) purges. */
	__atomic_fetch_add(&arena.lazy_pages, (s64)vm_lazy_pages_of(a), __ATOMIC_RELAXED);
	vm_stat_add(VM_STAT_LAZY_AREAS, 1);
	return over_threshold();
}

void vm_lazy_add(struct vmap_area *a)
{
	u64 n = vm_lazy_pages_of(a);
	vm_check_move(a, VAH(TAKEN), VA_LAZY);
	vm_check_area_unmapped(a);
	struct vm_hart *h = &vm_harts[this_hart_index()];
	struct vmap_area *head = __atomic_load_n(&h->lazy_head, __ATOMIC_RELAXED);
	do a->lazy_next = head;
	while (!__atomic_compare_exchange_n(&h->lazy_head, &head, a, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	vm_stat_add(VM_STAT_LAZY_AREAS, 1);
	if (likely(__atomic_add_fetch(&h->lazy_unpublished, n, __ATOMIC_RELAXED) < LAZY_PUBLISH_PAGES)) return;
	u64 batch = __atomic_exchange_n(&h->lazy_unpublished, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&arena.lazy_pages, (s64)batch, __ATOMIC_RELAXED);
	if (unlikely(over_threshold())) vm_purge_kick();
}

static bool lazy_match(const struct vmap_area *a, u64 addr, bool contains)
{
	return contains ? addr >= a->va_start && addr < a->va_start + a->va_size : a->addr == addr;
}

struct vmap_area *vm_lazy_find(u64 addr, bool contains)
{
	u32 budget = 1u << 20;
	for (struct vmap_area *a = arena.lazy_head; a && budget; a = a->lazy_next, budget--)
		if (lazy_match(a, addr, contains)) return a;
	for (u32 i = 0; i < MAX_HARTS; i++)
		for (struct vmap_area *a = READ_ONCE(vm_harts[i].lazy_head); a && budget; a = a->lazy_next, budget--)
			if (lazy_match(a, addr, contains)) return a;
	return NULL;
}

u64 vm_lazy_pages_total(void)
{
	s64 n = __atomic_load_n(&arena.lazy_pages, __ATOMIC_RELAXED);
	for (u32 i = 0; i < MAX_HARTS; i++) n += (s64)READ_ONCE(vm_harts[i].lazy_unpublished);
	return n > 0 ? (u64)n : 0;
}

/* Flushes the range from this hart's TLB and every other hart's: one sfence.vma here and ONE remote fence
 * call for all the others, by the mechanism chosen at boot (platform/tlb_remote.h: SBI RFENCE or the IPI
 * shootdown). Returns how many other harts were fenced. No lock may be held: the remote half waits. */
static u32 flush_kernel_range(u64 start, u64 size, enum tlb_remote_mech mech)
{
	u64 pages = size >> PAGE_SHIFT;
	bool full = pages > FLUSH_ALL_THRESHOLD_PAGES;

	if (full) local_flush_tlb_all();
	else local_flush_tlb_page(start);
	/* A full flush here is one there too (OpenSBI turns any range over 4 KiB into one anyway). */
	u32 remote = tlb_remote_flush_by(mech, NULL, full ? 0 : start, full ? 0 : size, -1);
	vm_stat_add(VM_STAT_LOCAL_FENCES, 1);
	if (remote) vm_stat_add(VM_STAT_REMOTE_FENCES, 1);
	if (full) vm_stat_add(VM_STAT_FULL_FLUSHES, 1);
	vm_stat_add(VM_STAT_FLUSHED_PAGES, pages);
	return remote;
}

void vm_flush_range_now(u64 start, u64 size) { (void)flush_kernel_range(start, size, tlb_remote_mech()); }

/* Deferred tail pages: at most this many wait for a fence (2 MiB), so a task shrinking in a loop hides
 * little memory (and an allocation that runs out drains them first: vmap_populate), while the fence
 * that frees them is paid once per this many pages. */
#define VM_TAIL_DEFER_MAX 512
static u64 tail_chain;  /* physical address of the first deferred page; each page's first word links on */
static s64 tail_pages;  /* pages on it (atomic; pushers add after the push, drainers take what they free) */

void vm_tail_pages_defer(u64 start, u64 size, u64 chain, u32 n)
{
	if (!chain) return;
	/* Not even this hart is fenced now (unless use-after-free detection wants its own accesses to
	 * fault, as after a vfree): under QEMU a sfence.vma empties the whole soft TLB, and the drain fences
	 * this hart as it fences the others, before the pages go and before the range is mapped again.
	 * Meanwhile a stale translation here, like one elsewhere, reaches only our page. */
	vm_debug_uaf_flush(start, size);
	u64 last = chain;
	while (*(u64 *)phys_to_virt(last)) last = *(u64 *)phys_to_virt(last);
	u64 head = __atomic_load_n(&tail_chain, __ATOMIC_RELAXED);
	do *(u64 *)phys_to_virt(last) = head;
	while (!__atomic_compare_exchange_n(&tail_chain, &head, chain, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	if (__atomic_add_fetch(&tail_pages, (s64)n, __ATOMIC_RELAXED) >= VM_TAIL_DEFER_MAX) vm_tail_pages_drain();
}

bool vm_tail_pages_waiting(void) { return __atomic_load_n(&tail_chain, __ATOMIC_ACQUIRE) != 0; }

void vm_tail_pages_drain(void)
{
	/* Taken before the fence: every page on it was unmapped before the fence starts, so once this hart
	 * and every other one have flushed their whole TLB, none reaches them. */
	u64 chain = __atomic_exchange_n(&tail_chain, 0, __ATOMIC_ACQUIRE);
	local_flush_tlb_all();
	u32 remote = tlb_remote_flush(NULL, 0, 0); /* the whole TLB of every other hart, by the boot's mechanism */
	vm_stat_add(VM_STAT_LOCAL_FENCES, 1);
	if (remote) vm_stat_add(VM_STAT_REMOTE_FENCES, 1);
	vm_stat_add(VM_STAT_FULL_FLUSHES, 1);
	s64 n = 0;
	for (u64 next; chain; chain = next, n++) {
		next = *(u64 *)phys_to_virt(chain);
		page_cache_free(chain);
	}
	__atomic_fetch_sub(&tail_pages, n, __ATOMIC_RELAXED);
}

/* Debug mode only (vmalloc.debug_uaf=1): the freeing hart flushes the range from its TLB at once, so its own use
 * after vfree faults and is named. One sfence.vma per free: under QEMU that is a whole soft-TLB flush and
 * a refill of every translation the hart uses next, which is why it is off by default. */
void vm_flush_local_range(u64 start, u64 size)
{
	/* One page: by address. More: the whole TLB, since a by-address fence of the first page alone would
	 * leave the others' translations (and under QEMU each fence is a full flush anyway). */
	if (size <= PAGE_SIZE) local_flush_tlb_page(start);
	else local_flush_tlb_all();
}

bool vm_set_debug_uaf(bool on)
{
	bool was = READ_ONCE(vm_debug_uaf);
	WRITE_ONCE(vm_debug_uaf, on);
	return was;
}

/* One batch: takes the whole lazy list, fences every hart once, gives the ranges back to the index.
 * Caller has claimed purge_running. */
__noinline static void purge_batch(void)
{
	unsigned long f = arena_lock();
	struct vmap_area *list = arena.lazy_head;
	arena.lazy_head = NULL;
	arena_unlock(f);
	for (u32 i = 0; i < MAX_HARTS; i++) {
		struct vmap_area *l = __atomic_exchange_n(&vm_harts[i].lazy_head, NULL, __ATOMIC_ACQUIRE);
		if (!l) continue;
		struct vmap_area *tail = l;
		while (tail->lazy_next) tail = tail->lazy_next;
		tail->lazy_next = list;
		list = l;
	}
	if (!list) return;
	u64 pages = 0, areas = 0, id = arena.purge_id++; /* purge_running serialises batches */
	u64 lo = ~0ULL, hi = 0;
	for (struct vmap_area *a = list; a; a = a->lazy_next) {
		lo = MIN(lo, a->va_start);
		hi = MAX(hi, a->va_start + a->va_size);
		pages += vm_lazy_pages_of(a);
		areas++;
		vm_check_move(a, VAH(LAZY), VA_LAZY);
		/* Named here, where the batch is fixed, not at vfree: a hart's lazy list is taken by whichever
		 * purge comes next, so only now is it known which purge releases the range. */
		TRACE(TRACE_VMALLOC, __builtin_return_address(0), "ev=lazy addr=0x%lx purge=%lu", a->addr, id);
	}
	/* Pages some hart has not published yet go negative here and even out when it publishes them. */
	__atomic_fetch_sub(&arena.lazy_pages, (s64)pages, __ATOMIC_RELAXED);
	vm_stat_add(VM_STAT_LAZY_AREAS, -(s64)areas);
	enum tlb_remote_mech mech = tlb_remote_mech(); /* read once: the fence uses it and the trace names it */
	u32 remote = flush_kernel_range(lo, hi - lo, mech);
	for (struct vmap_area *a = list; a; a = a->lazy_next) {
		vmap_free_chain(a->lazy_tables); /* level-0 tables the areas emptied: no walker holds them now */
		a->lazy_tables = 0;
	}

	/* Small areas go to their class's pool (whole, struct and range); the rest back to the index in
	 * bursts: the arena lock is dropped between them so that allocating harts are never held up for a
	 * whole batch of thousands of areas. */
	struct vmap_area *pooled[VA_CACHE_CLASSES] = {0}, *rest = NULL;
	u32 counts[VA_CACHE_CLASSES] = {0};
	while (list) {
		struct vmap_area *next = list->lazy_next;
		if (!vm_pool_put(list, pooled, counts)) {
			list->lazy_next = rest;
			rest = list;
		}
		list = next;
	}
	vm_pool_put_flush(pooled, counts);
	list = rest;
	while (list) {
		f = arena_lock();
		for (u32 burst = 0; list && burst < 64; burst++) {
			struct vmap_area *next = list->lazy_next;
			if (va_index_free(&arena.free, list->va_start, list->va_size) == -ENOMEM) {
				/* No node to record the range: keep it parked for the next purge rather than lose it. */
				vm_lazy_add_locked(list);
			} else {
				vm_check_move(list, VAH(LAZY), VA_FREE);
				node_pool_put(&arena.area_pool, list);
			}
			list = next;
		}
		arena_unlock(f);
	}
	vm_stat_add(VM_STAT_PURGES, 1);
	TRACE(TRACE_PURGE, __builtin_return_address(0),
	      "ev=purge areas=%lu pages=%lu start=0x%lx end=0x%lx full=%d remote=%s local_fences=1 remote_fences=%u "
	      "remote_harts=%u id=%lu",
	      areas, pages, lo, hi, (hi - lo) >> PAGE_SHIFT > FLUSH_ALL_THRESHOLD_PAGES,
	      remote ? tlb_remote_mech_name(mech) : "none", remote != 0, remote, id);
}

/* Runs purges while the lazy list is over its threshold (more areas may be parked while one runs:
 * harts that find a purge in flight leave theirs to it), or one purge when `once`. Returns false
 * without doing anything if another hart's purge is in flight. */
static bool purge_run(bool once)
{
	u32 idle = 0;
	if (!__atomic_compare_exchange_n(&purge_running, &idle, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	WRITE_ONCE(purge_requested, 0);
	do purge_batch();
	while (!once && over_threshold());
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

/* Everything parked before the call is purged when it returns: a purge already in flight may have taken
 * its list before our areas were parked, so it is waited for and then ours is run. Then the pools and
 * this hart's caches go back to the index too: after vm_purge the index holds every free range but the
 * few other harts keep cached (at most VA_CACHE_SLOTS per class each), so lowest fit and the largest
 * alignments see the whole region again. */
void vm_purge(void)
{
	while (!purge_run(true)) vm_purge_wait(vm_purge_seq());
	vm_va_cache_flush();
	if (vm_tail_pages_waiting()) vm_tail_pages_drain();
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
	(void)purge_run(false);
}

/* The idle loop's share: the purge an allocating or freeing hart asked for. */
void vm_purge_idle_work(void)
{
	if (unlikely(__atomic_load_n(&purge_requested, __ATOMIC_RELAXED)) && over_threshold()) (void)purge_run(false);
}

void vm_purge_wait_idle(void)
{
	while (vm_purge_in_flight()) vm_purge_wait(vm_purge_seq());
}

void vm_set_lazy_max_pages(u64 pages) { WRITE_ONCE(arena.lazy_max_pages, pages ? pages : 1); }

u64 vm_lazy_max_pages(void) { return READ_ONCE(arena.lazy_max_pages); }
