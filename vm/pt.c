/* The page-table engine, the only code that writes PTEs after boot: map and unmap of ranges in any
 * address space (with huge leaves, splits and table reclaim), walk, the kernel-half sharing between
 * address spaces, and the lock-free kernel range vmalloc works in. Ranges are handled with an inclusive
 * last address so a mapping may end at the very top of the address space without the end wrapping. */
#include "vm/pt.h"
#include "lib/string.h"
#include "vm/buddy.h"

#define PT_LEAF_FLAGS (PTE_V | PTE_A | PTE_D)
/* Physical address bits that must be clear in a page address given to us. */
#define PT_BAD_PA_BITS (~(PT_PA_LIMIT - 1) | (PAGE_SIZE - 1))

/* The hardware walker on another hart may read a table while we write it: one store per PTE. */
static inline void set_pte(pte_t *slot, pte_t v) { WRITE_ONCE(*slot, v); }

static inline pte_t *table_of(pte_t e) { return pt_table_va(pte_pa(e)); }

/* Level-1 tables under kernel-half root slots are shared by every address space and must outlive
 * any one mapping: their root slots are filled once and never cleared. */
static inline bool may_free_table(int parent_level, u64 va) { return parent_level != 2 || !(va >> 63); }

static inline bool prot_ok(u64 prot) { return !(prot & ~PTE_PROT_MASK) && (prot & PTE_R); }

/* [va, last] is non-empty, does not wrap and lies inside one half: bits 63..38 agree and are all equal. */
static inline bool range_ok(u64 va, u64 last) { return last >= va && pt_va_canonical(va) && !((va ^ last) >> 38); }

static bool table_empty(const pte_t *t)
{
	for (int i = 0; i < PT_ENTRIES; i++)
		if (t[i] & PTE_V) return false;
	return true;
}

/* ---- unmap ---- */

struct unmap_state {
	pt_leaf_fn leaf;
	void *ctx;
	long pages;
};

/* Clears the leaves of [va, last] below table t, freeing tables left empty. Leaves straddling either end
 * must have been split already, so every leaf met here is wholly inside the range. */
static void unmap_level(pte_t *t, int level, u64 va, u64 last, struct unmap_state *u)
{
	u64 span = pt_level_size(level) - 1;
	for (;;) {
		u64 chunk_last = MIN(va | span, last);
		pte_t *slot = &t[pt_index(va, level)];
		pte_t e = *slot;
		if (e & PTE_V) {
			if (level == 0 || pte_is_leaf(e)) {
				set_pte(slot, 0);
				u->pages += (long)((span + 1) >> PAGE_SHIFT);
				if (u->leaf) u->leaf(u->ctx, pte_pa(e), level);
			} else {
				pte_t *child = table_of(e);
				unmap_level(child, level - 1, va, chunk_last, u);
				bool whole = !(va & span) && chunk_last - va == span;
				if (may_free_table(level, va) && (whole || table_empty(child))) {
					set_pte(slot, 0);
					pt_free_table(pte_pa(e));
				}
			}
		}
		if (chunk_last == last) return;
		va = chunk_last + 1;
	}
}

static void unmap_quiet(u64 root, u64 va, u64 last)
{
	struct unmap_state u = {0};
	unmap_level(pt_table_va(root), 2, va, last, &u);
}

/*
 * Undoes a partly done map of [start, fail_va). When fail_va's page was never mapped (allocation
 * failure, bad page address) the walk also covers it, to free tables created on the way down to it;
 * after -EEXIST that page belongs to someone else and the path to it existed before.
 */
static void map_rollback(u64 root, u64 start, u64 fail_va, int err)
{
	if (err != -EEXIST)
		unmap_quiet(root, start, fail_va + PAGE_SIZE - 1);
	else if (fail_va != start)
		unmap_quiet(root, start, fail_va - 1);
}

/* ---- splitting huge leaves, undoable so a later failure can restore the original tree ---- */

#define PT_MAX_SPLITS 4 /* two levels at each end of a range */

struct split_log {
	int n;
	struct {
		pte_t *slot;
		pte_t old;
	} e[PT_MAX_SPLITS];
};

static int split_leaf(pte_t *slot, int level, struct split_log *log)
{
	u64 pa = pt_alloc_table();
	if (!pa) return -ENOMEM;
	pte_t old = *slot, *t = pt_table_va(pa);
	pte_t child = old, step = pt_level_size(level - 1) >> PAGE_SHIFT << PTE_PPN_SHIFT;
	for (int i = 0; i < PT_ENTRIES; i++, child += step) t[i] = child;
	set_pte(slot, pte_make(pa, PTE_V));
	log->e[log->n].slot = slot;
	log->e[log->n].old = old;
	log->n++;
	return 0;
}

static void split_undo(struct split_log *log)
{
	while (log->n > 0) {
		log->n--;
		pte_t *slot = log->e[log->n].slot;
		u64 table = pte_pa(*slot);
		set_pte(slot, log->e[log->n].old);
		memset(pt_table_va(table), 0, PAGE_SIZE); /* tables go back to the embedder empty */
		pt_free_table(table);
	}
}

/* Makes va the start of a leaf if a huge leaf straddles it. */
static int split_at(u64 root, u64 va, struct split_log *log)
{
	pte_t *t = pt_table_va(root);
	for (int level = 2; level > 0; level--) {
		pte_t *slot = &t[pt_index(va, level)];
		if (!(*slot & PTE_V)) return 0;
		if (pte_is_leaf(*slot)) {
			if (!(va & (pt_level_size(level) - 1))) return 0;
			int err = split_leaf(slot, level, log);
			if (err) return err;
		}
		t = table_of(*slot);
	}
	return 0;
}

/* Splits the huge leaves crossing either end of [va, last]; on failure the tree is as it was. */
static int split_ends(u64 root, u64 va, u64 last, struct split_log *log)
{
	int err = 0;
	log->n = 0;
	if (va & (PUD_SIZE - 1)) err = split_at(root, va, log);
	/* An end on a 1 GiB boundary (including 2^38 and 2^64) needs no split and may not be walkable. */
	if (!err && ((last + 1) & (PUD_SIZE - 1))) err = split_at(root, last + 1, log);
	if (err) split_undo(log);
	return err;
}

long pt_unmap(u64 root, u64 va, u64 size, pt_leaf_fn leaf, void *ctx)
{
	u64 last = va + size - 1;
	if (unlikely(!size || ((va | size) & (PAGE_SIZE - 1)) || !range_ok(va, last))) return -EINVAL;
	struct split_log log;
	int err = split_ends(root, va, last, &log);
	if (err) return err;
	struct unmap_state u = {leaf, ctx, 0};
	unmap_level(pt_table_va(root), 2, va, last, &u);
	return u.pages;
}

void pt_destroy_user(u64 root, pt_leaf_fn leaf, void *ctx)
{
	struct unmap_state u = {leaf, ctx, 0};
	unmap_level(pt_table_va(root), 2, 0, USER_TOP - 1, &u);
}

/* ---- map ---- */

struct map_state {
	u64 pa_minus_va; /* modulo 2^64 */
	const u64 *pas;  /* pt_map_pages: the page of va is pas[(va - va0) >> PAGE_SHIFT] */
	u64 va0;
	pte_t flags;
	bool huge;
	bool tables_only; /* pt_reserve_tables: build the path to level 0, write no leaf */
	u64 fail_va;
};

/* Level 0 of map_level for a page array: each page checked, as it comes from a caller's list. */
static int map_pages_run(pte_t *slot, u64 va, u64 last, struct map_state *m)
{
	for (;; slot++) {
		u64 pa = m->pas[(va - m->va0) >> PAGE_SHIFT];
		if (unlikely((*slot & PTE_V) || !pa || (pa & PT_BAD_PA_BITS))) {
			m->fail_va = va;
			return (*slot & PTE_V) ? -EEXIST : -EINVAL;
		}
		set_pte(slot, pte_make(pa, m->flags));
		if (va + PAGE_SIZE - 1 == last) return 0;
		va += PAGE_SIZE;
	}
}

static int map_level(pte_t *t, int level, u64 va, u64 last, struct map_state *m)
{
	if (level == 0) {
		pte_t *slot = &t[pt_index(va, 0)];
		if (m->tables_only) return 0;
		if (m->pas) return map_pages_run(slot, va, last, m);
		pte_t pte = pte_make(va + m->pa_minus_va, m->flags);
		for (;; slot++, pte += 1UL << PTE_PPN_SHIFT) {
			if (unlikely(*slot & PTE_V)) {
				m->fail_va = va;
				return -EEXIST;
			}
			set_pte(slot, pte);
			if (va + PAGE_SIZE - 1 == last) return 0;
			va += PAGE_SIZE;
		}
	}
	u64 span = pt_level_size(level) - 1;
	for (;;) {
		u64 chunk_last = MIN(va | span, last);
		pte_t *slot = &t[pt_index(va, level)];
		pte_t e = *slot;
		u64 pa = va + m->pa_minus_va;
		if (!(e & PTE_V)) {
			if (m->huge && chunk_last - va == span && !(pa & span)) {
				set_pte(slot, pte_make(pa, m->flags));
				goto next;
			}
			u64 table = pt_alloc_table();
			if (unlikely(!table)) {
				m->fail_va = va;
				return -ENOMEM;
			}
			e = pte_make(table, PTE_V);
			set_pte(slot, e);
		} else if (pte_is_leaf(e)) {
			m->fail_va = va;
			return -EEXIST;
		}
		/* An existing table is descended into even when a huge leaf would fit: it may hold mappings,
		 * and kernel-half level-1 tables must stay. */
		int err = map_level(table_of(e), level - 1, va, chunk_last, m);
		if (err) return err;
	next:
		if (chunk_last == last) return 0;
		va = chunk_last + 1;
	}
}

int pt_map(u64 root, u64 va, u64 pa, u64 size, u64 prot, unsigned flags)
{
	u64 last = va + size - 1, pa_last = pa + size - 1;
	if (!size || ((va | pa | size) & (PAGE_SIZE - 1)) || !range_ok(va, last) || pa_last < pa ||
	    pa_last >= PT_PA_LIMIT || !prot_ok(prot) || (flags & ~PT_HUGE))
		return -EINVAL;
	struct map_state m = {.pa_minus_va = pa - va, .flags = prot | PT_LEAF_FLAGS, .huge = flags & PT_HUGE};
	int err = map_level(pt_table_va(root), 2, va, last, &m);
	if (err) map_rollback(root, va, m.fail_va, err);
	return err;
}

int pt_map_pages(u64 root, u64 va, const u64 *pas, size_t n, u64 prot)
{
	/* No half of the address space holds more than 2^26 pages, which also keeps n << 12 in range. */
	if (n - 1 >= (1UL << 26) || (va & (PAGE_SIZE - 1)) || !prot_ok(prot) ||
	    !range_ok(va, va + (n << PAGE_SHIFT) - 1))
		return -EINVAL;
	struct map_state m = {.pas = pas, .va0 = va, .flags = prot | PT_LEAF_FLAGS};
	int err = map_level(pt_table_va(root), 2, va, va + (n << PAGE_SHIFT) - 1, &m);
	if (err) map_rollback(root, va, m.fail_va, err);
	return err;
}

int pt_reserve_tables(u64 root, u64 va, u64 size)
{
	u64 last = va + size - 1;
	if (!size || ((va | size) & (PAGE_SIZE - 1)) || !range_ok(va, last)) return -EINVAL;
	struct map_state m = {.tables_only = true};
	int err = map_level(pt_table_va(root), 2, va, last, &m);
	if (err) map_rollback(root, va, m.fail_va, err);
	return err;
}

/* ---- lookups and address-space plumbing ---- */

int pt_walk(u64 root, u64 va, struct pt_walk *w)
{
	if (!pt_va_canonical(va)) return -EINVAL;
	pte_t *t = pt_table_va(root);
	for (int level = 2;; level--) {
		pte_t *slot = &t[pt_index(va, level)];
		pte_t e = *slot;
		if (!(e & PTE_V)) return -ENOENT;
		if (pte_is_leaf(e)) {
			w->pa = pte_pa(e) + (va & (pt_level_size(level) - 1));
			w->pte = e;
			w->level = level;
			w->slot = slot;
			return 0;
		}
		if (level == 0) return -ENOENT; /* a pointer at level 0 is malformed: the MMU faults too */
		t = table_of(e);
	}
}

/* Clears the kernel root slots in [first, end) that prepopulate filled, on its way out of a failure. */
static void unpopulate(pte_t *root_t, unsigned first, unsigned end, const u64 *created)
{
	for (unsigned i = first; i < end; i++) {
		if (!(created[(i - PT_ENTRIES / 2) / 64] >> (i % 64) & 1)) continue;
		u64 table = pte_pa(root_t[i]);
		set_pte(&root_t[i], 0);
		pt_free_table(table);
	}
}

int pt_prepopulate(u64 root, u64 va_start, u64 va_end)
{
	u64 last = va_end - 1; /* va_end == 0 stands for 2^64 */
	if (va_start < KERNEL_HALF || ((va_start | va_end) & (PUD_SIZE - 1)) || last < va_start) return -EINVAL;
	pte_t *t = pt_table_va(root);
	unsigned first = pt_index(va_start, 2), end = pt_index(last, 2) + 1;
	u64 created[PT_ENTRIES / 2 / 64] = {0};
	for (unsigned i = first; i < end; i++) {
		pte_t e = t[i];
		int err = 0;
		u64 table = 0;
		if (e & PTE_V) {
			if (!pte_is_leaf(e)) continue;
			err = -EEXIST; /* a 1 GiB leaf covers this gigabyte: nothing can hang under it */
		} else if (!(table = pt_alloc_table())) {
			err = -ENOMEM;
		}
		if (err) {
			unpopulate(t, first, i, created);
			return err;
		}
		set_pte(&t[i], pte_make(table, PTE_V));
		created[(i - PT_ENTRIES / 2) / 64] |= 1UL << (i % 64);
	}
	return 0;
}

void pt_copy_kernel_half(u64 dst_root, u64 src_root)
{
	memcpy(&pt_table_va(dst_root)[PT_ENTRIES / 2], &pt_table_va(src_root)[PT_ENTRIES / 2],
	       PT_ENTRIES / 2 * sizeof(pte_t));
}

/* ---- the kernel range ---- */

#define KR_MAX_L1 64 /* 1 GiB level-1 tables: the vmalloc region is 64 GiB */

static struct {
	u64 start, end;
	pte_t *l1[KR_MAX_L1];
	u64 tables; /* level-0 tables hanging under l1[] now */
} kr;

void pt_kr_init(u64 root, u64 start, u64 end)
{
	pte_t *t = pt_table_va(root);
	kr.start = start;
	kr.end = MIN(end, start + KR_MAX_L1 * PUD_SIZE);
	kr.tables = 0; /* the range holds no level-0 table yet */
	for (u64 va = kr.start; va < kr.end; va += PUD_SIZE) kr.l1[(va - kr.start) >> 30] = table_of(t[pt_index(va, 2)]);
}

static inline pte_t *kr_l1_slot(u64 va) { return &kr.l1[(va - kr.start) >> 30][pt_index(va, 1)]; }

/* The one walker of the kernel range: the level-0 table covering va, installed by compare-and-swap when
 * alloc and missing. NULL if a 2 MiB leaf is there, or none is there and !alloc, or memory ran out. */
static inline pte_t *kr_l0_table(u64 va, bool alloc)
{
	pte_t *slot = kr_l1_slot(va);
	pte_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (likely(e & PTE_V)) return pte_is_leaf(e) ? NULL : table_of(e);
	if (!alloc) return NULL;
	u64 pa = pt_alloc_table();
	if (unlikely(!pa)) return NULL;
	if (!__atomic_compare_exchange_n(slot, &e, pte_make(pa, PTE_V), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pt_free_table(pa); /* a neighbour won the race: use its table */
		return pte_is_leaf(e) ? NULL : table_of(e);
	}
	__atomic_fetch_add(&kr.tables, 1, __ATOMIC_RELAXED);
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
		set_pte(&slots[k], pte_make(pa, f->flags));
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
		set_pte(&slots[k], pte_make(pa, f->flags));
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
	return &table_of(e)[pt_index(va, 0)];
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
			for (u32 k = 0; k < n; k++) set_pte(&slots[k], pte_make(pas[k], PT_KR_PROT | PT_LEAF_FLAGS));
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
	if (unlikely(!prot_ok(prot) || (prot & PTE_U))) return -EINVAL;
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
		set_pte(&slots[k], 0);
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
				set_pte(&slots[k], 0);
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
		set_pte(&slots[k], 0);
		cleared++;
	}
	return cleared;
}

/* Written out rather than through kr_for_each_run's context: this is vm_map_ram's whole page-table work,
 * a handful of instructions per page once inlined. */
int pt_kr_map_pages_in(pte_t *table, u64 va, struct page *const *pages, u32 n, u64 prot)
{
	if (unlikely(!prot_ok(prot) || (prot & PTE_U))) return -EINVAL;
	pte_t *slots = &table[pt_index(va, 0)], flags = prot | PT_LEAF_FLAGS;
	for (u32 k = 0; k < n; k++) {
		u64 pa = page_to_pa(pages[k]); /* 0 for NULL or a page no zone holds */
		if (unlikely(!pa || (pa & PT_BAD_PA_BITS))) {
			clear_slots(slots, k);
			return -EINVAL;
		}
		set_pte(&slots[k], pte_make(pa, flags));
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
		set_pte(&slots[k], *s);
		set_pte(s, 0);
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
	set_pte(src, 0);
	return 0;
}

int pt_kr_detach_table(u64 va, u64 *table_pa)
{
	pte_t *slot = kr_l1_slot(va);
	pte_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	*table_pa = 0;
	if (!(e & PTE_V)) return 0;
	if (pte_is_leaf(e) || !table_empty(table_of(e))) return -EBUSY;
	/* The caller owns the whole 2 MiB: nobody else can be installing or filling this table. */
	set_pte(slot, 0);
	__atomic_fetch_sub(&kr.tables, 1, __ATOMIC_RELAXED);
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
	set_pte(slot, 0);
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
	e = READ_ONCE(table_of(e)[pt_index(va, 0)]);
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

u64 pt_kr_tables(void) { return __atomic_load_n(&kr.tables, __ATOMIC_RELAXED); }

#ifdef VM_DEBUG
u64 pt_kr_count_tables(void)
{
	u64 n = 0;
	for (u64 va = kr.start; va < kr.end; va += PMD_SIZE) {
		pte_t e = READ_ONCE(*kr_l1_slot(va));
		if ((e & PTE_V) && !pte_is_leaf(e)) n++;
	}
	return n;
}

void pt_kr_miscount_tables(s64 n) { __atomic_fetch_add(&kr.tables, (u64)n, __ATOMIC_RELAXED); }
#endif
