/* The kernel range: the vmalloc region's page tables, shared by every address space and written without
 * a lock (vm/pt_kr.h says why that holds). Above the engine of vm/pt.c, whose PTE primitives it uses;
 * everything vmalloc, vm_map_ram and vrealloc do to page tables comes through here. */
#include "vm/pt_kr.h"
#include "lib/string.h"
#include "vm/buddy.h"

#define KR_MAX_L1 64 /* 1 GiB level-1 tables: the vmalloc region is 64 GiB */

static struct {
	u64 start, end;
	pte_t *l1[KR_MAX_L1];
	/* Level-0 tables hanging under each l1[] now: pt_kr_tables sums them, and pt_kr_next_table skips the
	 * gigabytes that hold none (a pass over the whole region reads only the few in use). */
	s32 tables[KR_MAX_L1];
	u64 tables_peak; /* the most pt_kr_tables has been since boot */
} kr;

void pt_kr_init(u64 root, u64 start, u64 end)
{
	pte_t *t = pt_table_va(root);
	kr.start = start;
	kr.end = MIN(end, start + KR_MAX_L1 * PUD_SIZE);
	memset(kr.tables, 0, sizeof(kr.tables)); /* the range holds no level-0 table yet */
	for (u64 va = kr.start; va < kr.end; va += PUD_SIZE) kr.l1[(va - kr.start) >> 30] = pt_table_of(t[pt_index(va, 2)]);
}

static inline pte_t *kr_l1_slot(u64 va) { return &kr.l1[(va - kr.start) >> 30][pt_index(va, 1)]; }
static inline void kr_count_table(u64 va, s32 n)
{
	__atomic_fetch_add(&kr.tables[(va - kr.start) >> 30], n, __ATOMIC_RELAXED);
}

/* After a table is installed (once per 2 MiB block made: the sum's 64 loads are not on a per-call path). */
static __noinline void kr_note_peak(void)
{
	u64 now = pt_kr_tables(), peak = __atomic_load_n(&kr.tables_peak, __ATOMIC_RELAXED);
	while (now > peak &&
	       !__atomic_compare_exchange_n(&kr.tables_peak, &peak, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

/* The one walker of the kernel range: the level-0 table covering va, installed by compare-and-swap when
 * alloc and missing. NULL if a 2 MiB leaf is there, or none is there and !alloc, or memory ran out. */
static inline pte_t *kr_l0_table(u64 va, bool alloc)
{
	pte_t *slot = kr_l1_slot(va);
	pte_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (likely(e & PTE_V)) return pte_is_leaf(e) ? NULL : pt_table_of(e);
	if (!alloc) return NULL;
	u64 pa = pt_alloc_table();
	if (unlikely(!pa)) return NULL;
	if (!__atomic_compare_exchange_n(slot, &e, pte_make(pa, PTE_V), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pt_free_table(pa); /* a neighbour won the race: use its table */
		return pte_is_leaf(e) ? NULL : pt_table_of(e);
	}
	kr_count_table(va, 1);
	kr_note_peak();
	return pt_table_va(pa);
}

/*
 * The one chunk iterator: splits the n pages from va into runs that share a level-0 table and calls
 * fn(ctx, slots, i, count) for each, slots pointing at the run's first PTE and i its index among the n.
 * A run with no table (and !alloc) is skipped. Stops at fn's first nonzero return and returns it, or
 * -ENOMEM when a table is needed and cannot be had; *done is then the index the work stopped at.
 * Inlined into each operation, so fn is a direct call.
 */
typedef int (*kr_run_fn)(void *ctx, pte_t *slots, u32 i, u32 count);
static inline __attribute__((always_inline)) int kr_for_each_run(u64 va, u32 n, bool alloc, kr_run_fn fn,
								  void *ctx, u32 *done)
{
	u32 i = 0;
	while (i < n) {
		u64 cur = va + ((u64)i << PAGE_SHIFT);
		u32 idx = pt_index(cur, 0), count = MIN(n - i, PT_ENTRIES - idx);
		pte_t *l0 = kr_l0_table(cur, alloc);
		if (l0) {
			int err = fn(ctx, &l0[idx], i, count);
			if (unlikely(err)) {
				*done = i;
				return err;
			}
		} else if (alloc) {
			*done = i;
			return -ENOMEM;
		}
		i += count;
	}
	*done = n;
	return 0;
}

struct kr_fill {
	int node;
	bool zero;
	struct page *const *pages; /* pt_kr_map_pages' pages */
	pte_t flags;
	u32 filled; /* PTEs written so far, for the undo */
};

/* pt_kr_populate's run: fresh pages from the hart's cache. */
static int fill_fresh_run(void *ctx, pte_t *slots, u32 i, u32 count)
{
	struct kr_fill *f = ctx;
	for (u32 k = 0; k < count; k++) {
		u64 pa = f->zero ? page_cache_alloc_zeroed(f->node) : page_cache_alloc(f->node);
		if (unlikely(!pa)) return -ENOMEM;
		pt_set_pte(&slots[k], pte_make(pa, f->flags));
		f->filled = i + k + 1;
	}
	return 0;
}

/* pt_kr_map_pages' run: the caller's struct pages, translated here so that no copy of the list is made
 * (vm_map_ram of one page is a hot path). */
static int fill_pages_run(void *ctx, pte_t *slots, u32 i, u32 count)
{
	struct kr_fill *f = ctx;
	for (u32 k = 0; k < count; k++) {
		const struct page *pg = f->pages[i + k];
		u64 pa = pg ? page_to_pa(pg) : 0;
		if (unlikely(!pa || (pa & PT_BAD_PA_BITS))) {
			f->filled = i + k;
			return -EINVAL;
		}
		pt_set_pte(&slots[k], pte_make(pa, f->flags));
	}
	f->filled = i + count;
	return 0;
}

/* The level-0 table holding all n PTEs from va, or NULL when they span two tables, the table is missing or
 * a 2 MiB leaf is there: the fast paths' one check, with no allocation. */
static inline pte_t *kr_l0_run(u64 va, u32 n)
{
	if (unlikely(pt_index(va, 0) + n > PT_ENTRIES)) return NULL;
	pte_t e = __atomic_load_n(kr_l1_slot(va), __ATOMIC_ACQUIRE);
	if (unlikely(!(e & PTE_V) || pte_is_leaf(e))) return NULL;
	return &pt_table_of(e)[pt_index(va, 0)];
}

static __noinline int populate_slow(u64 va, u32 n, int node, bool zero);

int pt_kr_populate(u64 va, u32 n, int node, bool zero)
{
	/* Fast path: a few non-zeroed pages in one existing table, all from this hart's cache at once (the
	 * call per page and its checks were most of a small vmalloc's page-table cost). */
	if (likely(!zero && n <= PAGE_CACHE_BULK)) {
		pte_t *slots = kr_l0_run(va, n);
		u64 pas[PAGE_CACHE_BULK];
		if (likely(slots && page_cache_take_bulk(node, pas, n))) {
			for (u32 k = 0; k < n; k++) pt_set_pte(&slots[k], pte_make(pas[k], PT_KR_PROT | PT_LEAF_FLAGS));
			return 0;
		}
	}
	return populate_slow(va, n, node, zero);
}

/* pt_kr_populate's general path: any size, tables created as needed, zeroed pages, page by page. */
static __noinline int populate_slow(u64 va, u32 n, int node, bool zero)
{
	/* Zeroed pages are mapped with D clear: the first store sets it (pt_kr_mark_dirty from the fault), so
	 * at unmap a clear D proves the page still all zeros and it can be handed out again unzeroed. */
	struct kr_fill f = {.node = node, .zero = zero, .flags = (PT_KR_PROT | PT_LEAF_FLAGS) & ~(zero ? PTE_D : 0)};
	u32 done;
	if (likely(!kr_for_each_run(va, n, true, fill_fresh_run, &f, &done))) return 0;
	pt_kr_clear(va, f.filled, PT_KR_FREE, NULL);
	return -ENOMEM;
}

int pt_kr_map_pages(u64 va, struct page *const *pages, u32 n, u64 prot)
{
	if (unlikely(!pt_prot_ok(prot) || (prot & PTE_U))) return -EINVAL;
	struct kr_fill f = {.pages = pages, .flags = prot | PT_LEAF_FLAGS};
	u32 done;
	int err = kr_for_each_run(va, n, true, fill_pages_run, &f, &done);
	if (unlikely(err)) pt_kr_clear(va, f.filled, PT_KR_KEEP, NULL);
	return err;
}

struct kr_clear {
	enum pt_kr_fate fate;
	u64 chain;
	u32 cleared;
};

static int clear_run(void *ctx, pte_t *slots, u32 i, u32 count)
{
	struct kr_clear *c = ctx;
	(void)i;
	for (u32 k = 0; k < count; k++) {
		pte_t e = slots[k];
		if (!(e & PTE_V)) continue;
		pt_set_pte(&slots[k], 0);
		c->cleared++;
		if (c->fate == PT_KR_FREE || (c->fate == PT_KR_FREE_SORTED && (e & PTE_D))) {
			page_cache_free(pte_pa(e));
		} else if (c->fate == PT_KR_FREE_SORTED) {
			page_cache_free_zeroed(pte_pa(e));
		} else if (c->fate == PT_KR_CHAIN) {
			*(u64 *)pt_table_va(pte_pa(e)) = c->chain;
			c->chain = pte_pa(e);
		}
	}
	return 0;
}

static __noinline u32 clear_slow(u64 va, u32 n, enum pt_kr_fate fate, u64 *chain);

u32 pt_kr_clear(u64 va, u32 n, enum pt_kr_fate fate, u64 *chain)
{
	/* Fast path: a few pages in one table, kept or freed into this hart's cache at once (see
	 * pt_kr_populate). */
	if (likely((fate == PT_KR_FREE || fate == PT_KR_KEEP) && n <= PAGE_CACHE_BULK)) {
		pte_t *slots = kr_l0_run(va, n);
		if (likely(slots)) {
			u64 pas[PAGE_CACHE_BULK];
			u32 m = 0;
			for (u32 k = 0; k < n; k++) {
				pte_t e = slots[k];
				if (!(e & PTE_V)) continue;
				pt_set_pte(&slots[k], 0);
				pas[m++] = pte_pa(e);
			}
			if (fate == PT_KR_FREE && likely(m) && unlikely(!page_cache_give_bulk(pas, m)))
				for (u32 k = 0; k < m; k++) page_cache_free(pas[k]);
			if (chain) *chain = 0;
			return m;
		}
	}
	return clear_slow(va, n, fate, chain);
}

/* pt_kr_clear's general path: any size and fate, table by table. */
static __noinline u32 clear_slow(u64 va, u32 n, enum pt_kr_fate fate, u64 *chain)
{
	struct kr_clear c = {fate, 0, 0};
	u32 done;
	kr_for_each_run(va, n, false, clear_run, &c, &done);
	if (chain) *chain = c.chain;
	return c.cleared;
}

pte_t *pt_kr_block_table(u64 va) { return kr_l0_table(va, true); }

/* Clears the valid leaves among n slots: how many there were. */
static inline u32 clear_slots(pte_t *slots, u32 n)
{
	u32 cleared = 0;
	for (u32 k = 0; k < n; k++) {
		if (!(slots[k] & PTE_V)) continue;
		pt_set_pte(&slots[k], 0);
		cleared++;
	}
	return cleared;
}

/* Written out rather than through kr_for_each_run's context: this is vm_map_ram's whole page-table work,
 * a handful of instructions per page once inlined. */
int pt_kr_map_pages_in(pte_t *table, u64 va, struct page *const *pages, u32 n, u64 prot)
{
	if (unlikely(!pt_prot_ok(prot) || (prot & PTE_U))) return -EINVAL;
	pte_t *slots = &table[pt_index(va, 0)], flags = prot | PT_LEAF_FLAGS;
	for (u32 k = 0; k < n; k++) {
		u64 pa = page_to_pa(pages[k]); /* 0 for NULL or a page no zone holds */
		if (unlikely(!pa || (pa & PT_BAD_PA_BITS))) {
			clear_slots(slots, k);
			return -EINVAL;
		}
		pt_set_pte(&slots[k], pte_make(pa, flags));
	}
	return 0;
}

u32 pt_kr_clear_in(pte_t *table, u64 va, u32 n) { return clear_slots(&table[pt_index(va, 0)], n); }

static int no_run(void *ctx, pte_t *slots, u32 i, u32 count)
{
	(void)ctx, (void)slots, (void)i, (void)count;
	return 0;
}

/* pt_kr_move's run: each destination PTE takes its source's entry, which is cleared. Source and
 * destination runs need not share table boundaries, so the source is found page by page. */
static int move_run(void *ctx, pte_t *slots, u32 i, u32 count)
{
	u64 from = *(const u64 *)ctx;
	for (u32 k = 0; k < count; k++) {
		u64 src = from + ((u64)(i + k) << PAGE_SHIFT);
		pte_t *l0 = kr_l0_table(src, false);
		if (!l0) continue;
		pte_t *s = &l0[pt_index(src, 0)];
		pt_set_pte(&slots[k], *s);
		pt_set_pte(s, 0);
	}
	return 0;
}

int pt_kr_move(u64 from, u64 to, u32 n)
{
	u32 done;
	/* Every destination table first: past this nothing can fail, so a failure moves nothing (the empty
	 * tables it made stay, as any table of the range does until a purge gives it back). */
	if (kr_for_each_run(to, n, true, no_run, NULL, &done)) return -ENOMEM;
	kr_for_each_run(to, n, false, move_run, &from, &done);
	return 0;
}

bool pt_kr_slot_empty(u64 va) { return !(__atomic_load_n(kr_l1_slot(va), __ATOMIC_ACQUIRE) & PTE_V); }

int pt_kr_move_huge(u64 from, u64 to)
{
	pte_t *src = kr_l1_slot(from), e = *src, expect = 0;
	if (!(e & PTE_V) || !pte_is_leaf(e)) return -EINVAL;
	if (!__atomic_compare_exchange_n(kr_l1_slot(to), &expect, e, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	pt_set_pte(src, 0);
	return 0;
}

int pt_kr_detach_table(u64 va, u64 *table_pa)
{
	pte_t *slot = kr_l1_slot(va);
	pte_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	*table_pa = 0;
	if (!(e & PTE_V)) return 0;
	if (pte_is_leaf(e) || !pt_table_empty(pt_table_of(e))) return -EBUSY;
	/* The caller owns the whole 2 MiB: nobody else can be installing or filling this table. */
	pt_set_pte(slot, 0);
	kr_count_table(va, -1);
	*table_pa = pte_pa(e);
	return 0;
}

int pt_kr_map_huge(u64 va, u64 pa)
{
	pte_t expect = 0;
	if (!__atomic_compare_exchange_n(kr_l1_slot(va), &expect, pte_make(pa, PT_KR_PROT | PT_LEAF_FLAGS), false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	return 0;
}

u64 pt_kr_clear_huge(u64 va)
{
	pte_t *slot = kr_l1_slot(va);
	pte_t e = *slot;
	if (!(e & PTE_V) || !pte_is_leaf(e)) return 0;
	pt_set_pte(slot, 0);
	return pte_pa(e);
}

pte_t pt_kr_lookup(u64 va, int *level)
{
	if (va < kr.start || va >= kr.end) return 0;
	pte_t e = READ_ONCE(*kr_l1_slot(va));
	if (!(e & PTE_V)) return 0;
	if (pte_is_leaf(e)) {
		*level = 1;
		return e;
	}
	e = READ_ONCE(pt_table_of(e)[pt_index(va, 0)]);
	*level = 0;
	return (e & PTE_V) ? e : 0;
}

bool pt_kr_mark_dirty(u64 va)
{
	pte_t *l0 = kr_l0_table(va, false);
	if (!l0) return false;
	pte_t *slot = &l0[pt_index(va, 0)];
	if ((__atomic_load_n(slot, __ATOMIC_RELAXED) & (PTE_V | PTE_W)) != (PTE_V | PTE_W)) return false;
	__atomic_fetch_or(slot, PTE_D, __ATOMIC_RELAXED);
	return true;
}

u64 pt_kr_tables_peak(void) { return __atomic_load_n(&kr.tables_peak, __ATOMIC_RELAXED); }

u64 pt_kr_tables(void)
{
	s64 n = 0;
	for (u32 g = 0; g < KR_MAX_L1; g++) n += __atomic_load_n(&kr.tables[g], __ATOMIC_RELAXED);
	return (u64)n;
}

u64 pt_kr_next_table(u64 va)
{
	for (va = ALIGN_UP(MAX(va, kr.start), PMD_SIZE); va < kr.end;) {
		u64 gig_end = MIN(ALIGN_UP(va + 1, PUD_SIZE), kr.end);
		if (__atomic_load_n(&kr.tables[(va - kr.start) >> 30], __ATOMIC_RELAXED))
			for (; va < gig_end; va += PMD_SIZE) {
				pte_t e = __atomic_load_n(kr_l1_slot(va), __ATOMIC_ACQUIRE);
				if ((e & PTE_V) && !pte_is_leaf(e)) return va;
			}
		va = gig_end;
	}
	return 0;
}

#ifdef VM_DEBUG
u64 pt_kr_count_tables(void)
{
	u64 n = 0;
	for (u64 va = kr.start; va < kr.end; va += PMD_SIZE) {
		pte_t e = READ_ONCE(*kr_l1_slot(va));
		if ((e & PTE_V) && !pte_is_leaf(e)) n++;
	}
	return n; /* every slot, not pt_kr_next_table: that one trusts the per-gigabyte counts this checks */
}

void pt_kr_miscount_tables(s64 n) { __atomic_fetch_add(&kr.tables[0], (s32)n, __ATOMIC_RELAXED); }
#endif
