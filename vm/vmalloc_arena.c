/* The vmalloc arena's state and every write of its counters (vm/vmalloc_arena.h): the shared record, the
 * per-hart records, the busy-map stripes and the size-class pools are defined here; the owners' accounts,
 * the event counters, the last failure, the peak and the lazy lists' counts are changed only here. */
#include "vm/vmalloc_arena.h"
#include "lib/ksyms.h"
#include "lib/printk.h"
#include "lib/trace.h"

struct vm_arena arena = {.lock = SPINLOCK_INIT};
struct arena_hart arena_harts[MAX_HARTS];
struct busy_stripe busy_stripes[BUSY_STRIPES];
struct va_pool va_pools[VA_CACHE_CLASSES];
#ifdef VM_DEBUG
u64 va_flushes_begun, va_flushes_done; /* vm/vmalloc_check.h: whole flushes, for the table check */
#endif
bool vm_debug_uaf;

u64 arena_stat_total(enum arena_stat s)
{
	s64 n = 0;
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++)
		n += __atomic_load_n(&arena_harts[i].stat[0][s], __ATOMIC_RELAXED) +
		     __atomic_load_n(&arena_harts[i].stat[1][s], __ATOMIC_RELAXED);
	return (u64)n;
}

__attribute__((noinline, cold)) void arena_owner_uncount(u32 owner, u64 pages)
{
	unsigned long f = arena_lock();
	arena_owner_add_locked(owner, -(s64)pages);
	arena_unlock(f);
}

/* The accounts a charge to owner goes to: owner, then each account above it. The kernel's and the orphan
 * pool's have none above; a task tree is at most MAX_TASKS deep. */
#define for_each_account(o, owner) for (u32 o = (owner); o; o = arena.owner_above[o])

bool arena_owner_fits_locked(u32 owner, u64 pages)
{
	if (owner >= VM_MAX_OWNERS) return false;
	if (owner == VM_OWNER_KERNEL) return arena.owner_pages[owner] + pages <= arena.owner_limit[owner];
	for_each_account(o, owner)
		if (arena.owner_pages[o] + pages > arena.owner_limit[o]) return false;
	return true;
}

void arena_owner_add_locked(u32 owner, s64 pages)
{
	if (owner == VM_OWNER_KERNEL) arena.owner_pages[owner] += (u64)pages;
	for_each_account(o, owner) arena.owner_pages[o] += (u64)pages;
}

void arena_owner_set_above(u32 owner, u32 above)
{
	unsigned long f = arena_lock();
	s64 held = (s64)arena.owner_pages[owner];
	for_each_account(o, arena.owner_above[owner]) arena.owner_pages[o] -= (u64)held;
	arena.owner_above[owner] = above;
	for_each_account(o, above) arena.owner_pages[o] += (u64)held;
	arena_unlock(f);
}

static void arena_owner_split_locked(u32 owner, const u32 *kids, u32 n, u64 *limits)
{
	/* The room `owner` has left, split among the accounts below it: each keeps what it holds and gets an
	 * equal share of the rest, so that together they never hold more than owner's limit allowed. */
	u64 slack = arena.owner_limit[owner] > arena.owner_pages[owner] ? arena.owner_limit[owner] - arena.owner_pages[owner] : 0;
	for (u32 i = 0; i < n; i++) {
		u32 c = kids[i];
		u64 share = slack / n + (i < slack % n), cap = arena.owner_pages[c] + share;
		if (cap < arena.owner_limit[c]) arena.owner_limit[c] = cap;
		limits[i] = arena.owner_limit[c];
	}
}

void arena_owner_rehang(u32 owner, u32 above, const u32 *kids, u32 n, u64 *limits)
{
	unsigned long f = arena_lock();
	arena_owner_split_locked(owner, kids, n, limits);
	for (u32 i = 0; i < n; i++) {
		u32 c = kids[i];
		s64 held = (s64)arena.owner_pages[c];
		for_each_account(o, arena.owner_above[c]) arena.owner_pages[o] -= (u64)held;
		arena.owner_above[c] = above;
		for_each_account(o, above) arena.owner_pages[o] += (u64)held;
	}
	arena_unlock(f);
}

void arena_pages_add(u32 owner, s64 pages)
{
	unsigned long f = arena_lock();
	arena_owner_add_locked(owner, pages);
	arena.st.live_pages += (u64)pages; /* the base: with the harts' counters, the total */
	arena_peak_update_locked();
	arena_unlock(f);
}

bool arena_pages_charge(u32 owner, u64 pages)
{
	unsigned long f = arena_lock();
	bool ok = arena_owner_fits_locked(owner, pages);
	if (ok) {
		arena_owner_add_locked(owner, (s64)pages);
		arena.st.live_pages += pages;
		arena_peak_update_locked();
	} else {
		arena.st.failures++; /* a valid request over its owner's limit: a failure (abi.h) */
	}
	arena_unlock(f);
	return ok;
}

int arena_owner_charge(u32 owner, s64 pages, bool force)
{
	int r = 0;
	unsigned long f = arena_lock();
	if (pages > 0 && !force && !arena_owner_fits_locked(owner, (u64)pages)) r = -ENOMEM;
	else arena_owner_add_locked(owner, pages);
	arena_unlock(f);
	return r;
}

void arena_owner_set_limit(u32 owner, u64 pages)
{
	unsigned long f = arena_lock();
	arena.owner_limit[owner] = pages;
	arena_unlock(f);
}

int arena_owner_move(u32 from, u32 to, u64 pages, bool force)
{
	int r = 0;
	unsigned long f = arena_lock();
	/* Out of every account above `from`, then into every account above `to` if they have room: the
	 * accounts both are under (a parent taking its child's object) end where they were. */
	arena_owner_add_locked(from, -(s64)pages);
	if (force || from == to || arena_owner_fits_locked(to, pages)) arena_owner_add_locked(to, (s64)pages);
	else {
		arena_owner_add_locked(from, (s64)pages);
		r = -ENOMEM;
	}
	arena_unlock(f);
	return r;
}

void arena_note_event_locked(enum arena_event ev)
{
	switch (ev) {
	case ARENA_REJECTED: arena.st.rejected++; break;
	case ARENA_FAILED: arena.st.failures++; break;
	case ARENA_BAD_FREE: arena.st.bad_frees++; break;
	case ARENA_REDZONE_ERROR: arena.st.redzone_errors++; break;
	case ARENA_HUGE_FALLBACK: arena.st.huge_fallbacks++; break;
	}
}

void arena_note_event(enum arena_event ev)
{
	unsigned long f = arena_lock();
	arena_note_event_locked(ev);
	arena_unlock(f);
}

void arena_note_failure(u64 size, u64 align, const void *caller, int err, const char *reason)
{
	unsigned long f = arena_lock();
	arena.st.last_fail_size = size;
	arena.st.last_fail_align = align;
	arena.st.last_fail_caller = caller;
	arena.st.last_fail_reason = reason;
	arena.st.last_fail_errno = err;
	arena.st.last_fail_seq = arena_stat_total(ARENA_STAT_SEQ);
	arena_unlock(f);
	TRACE(TRACE_VMALLOC, caller, "ev=fail size=%lu align=%lu errno=%d reason=\"%s\"", size, align, err, reason);
}

void arena_peak_update_locked(void)
{
	s64 total = (s64)arena.st.live_pages + (s64)arena_stat_total(ARENA_STAT_LIVE_PAGES);
	if (total > 0 && (u64)total > arena.st.peak_pages) arena.st.peak_pages = (u64)total;
}

void arena_warn_bad_pointer(const char *fn, const void *addr, const void *caller)
{
	char sym[96];
	bool lazy = false;

	ksym_format((uptr)caller, sym, sizeof(sym));
	struct busy_stripe *b = busy_stripe_of((u64)(uptr)addr);
	busy_lock(b);
	bool live = va_busy_find(&b->map, (u64)(uptr)addr) != NULL; /* an area of another kind */
	busy_unlock(b);
	unsigned long f = arena_lock();
	lazy = va_lazy_find((u64)(uptr)addr, false) != NULL;
	for (struct vmap_area *a = arena.deferred_head; a; a = a->lazy_next)
		if (a->addr == (u64)(uptr)addr) lazy = true;
	arena_unlock(f);
	printk("vmalloc: %s(%p) from %s: %s; nothing changed\n", fn, addr, sym,
	       live   ? "a live area of a kind this call does not take (vmalloc, vmap or vm_map_ram)"
	       : lazy ? "double free (the area was already freed)"
		      : "not the start of a live vmalloc area");
}

bool va_lazy_over_threshold(void)
{
	return __atomic_load_n(&arena.lazy_pages, __ATOMIC_RELAXED) >= (s64)READ_ONCE(arena.lazy_max_pages);
}

__noinline bool va_lazy_park_locked(struct vmap_area *a)
{
	/* Only a purge that could not give the range back parks it here, under the arena lock like the
	 * purge's taking of the list: the purge numbered purge_id releases exactly the areas traced with it,
	 * so the replay never has to guess. */
	TRACE(TRACE_VMALLOC, __builtin_return_address(0), "ev=lazy addr=0x%lx purge=%lu", a->addr, arena.purge_id);
	va_check_move(a, VAH(TAKEN) | VAH(LAZY) | VAH(CACHED), VA_LAZY);
	a->lazy_next = arena.lazy_head;
	a->lazy_below = va_lazy_below(arena.lazy_head, va_lazy_pages_of(a));
	arena.lazy_head = a;
	/* Mapped pages, not the guard: N single-page vfrees then cost at most ceil(N / threshold) purges. */
	__atomic_fetch_add(&arena.lazy_pages, (s64)va_lazy_pages_of(a), __ATOMIC_RELAXED);
	arena_stat_add(ARENA_STAT_LAZY_AREAS, 1);
	return va_lazy_over_threshold();
}

bool va_lazy_publish(u64 *unpublished)
{
	u64 batch = *unpublished;
	WRITE_ONCE(*unpublished, 0);
	__atomic_fetch_add(&arena.lazy_pages, (s64)batch, __ATOMIC_RELAXED);
	return unlikely(va_lazy_over_threshold());
}

/* Adds one taken list to the batch: its head carries its totals (va_lazy_below). */
static void batch_add(struct va_lazy_batch *b, struct vmap_area *list)
{
	if (!list) return;
	b->pages += va_lazy_list_pages(list);
	b->areas += va_lazy_list_areas(list);
	list->batch_next = NULL;
	if (b->last) b->last->batch_next = list;
	else b->lists = list;
	b->last = list;
}

bool va_lazy_take_all(struct va_lazy_batch *b)
{
	*b = (struct va_lazy_batch){0};
	unsigned long f = arena_lock();
	batch_add(b, arena.lazy_head);
	arena.lazy_head = NULL;
	arena_unlock(f);
	if (b->lists) b->lists->lazy_hart = 0;
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++) {
		struct vmap_area *list = __atomic_exchange_n(&arena_harts[i].lazy_head, NULL, __ATOMIC_ACQUIRE);
		if (list) list->lazy_hart = (u16)(i + 1);
		batch_add(b, list);
	}
	if (!b->lists) return false;
	b->id = arena.purge_id++; /* the purge's claim (purge_running) serialises batches */
	/* Pages some hart has not published yet go negative here and even out when it publishes them. */
	__atomic_fetch_sub(&arena.lazy_pages, (s64)b->pages, __ATOMIC_RELAXED);
	arena_stat_add(ARENA_STAT_LAZY_AREAS, -(s64)b->areas);
	return true;
}

static bool lazy_match(const struct vmap_area *a, u64 addr, bool contains)
{
	return contains ? addr >= a->va_start && addr < a->va_start + a->va_size : a->addr == addr;
}

struct vmap_area *va_lazy_find(u64 addr, bool contains)
{
	u32 budget = 1u << 20;
	for (struct vmap_area *a = arena.lazy_head; a && budget; a = a->lazy_next, budget--)
		if (lazy_match(a, addr, contains)) return a;
	for (struct vmap_area *b = arena.fenced_head; b && budget; b = b->batch_next)
		for (struct vmap_area *a = b; a && budget; a = a->lazy_next, budget--)
			if (lazy_match(a, addr, contains)) return a;
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++)
		for (struct vmap_area *a = READ_ONCE(arena_harts[i].lazy_head); a && budget; a = a->lazy_next, budget--)
			if (lazy_match(a, addr, contains)) return a;
	return NULL;
}

u64 va_lazy_pages_total(void)
{
	s64 n = __atomic_load_n(&arena.lazy_pages, __ATOMIC_RELAXED);
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++) {
		const struct arena_hart *h = &arena_harts[i];
		n += (s64)(READ_ONCE(h->lazy_unpublished[0]) + READ_ONCE(h->lazy_unpublished[1]));
	}
	return n > 0 ? (u64)n : 0;
}
