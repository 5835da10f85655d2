/* The page-table engine, the only code that writes PTEs after boot (with vm/pt_kr.c, the lock-free
 * kernel range vmalloc works in, on top of it): map and unmap of ranges in any address space (with huge
 * leaves, splits and table reclaim), walk, and the kernel-half sharing between address spaces. Ranges
 * are handled with an inclusive last address so a mapping may end at the very top of the address space
 * without the end wrapping. */
#include "vm/pt.h"
#include "lib/string.h"
#include "vm/buddy.h"

/* ---- unmap ---- */

struct unmap_state {
	pt_leaf_fn leaf;
	void *ctx;
	long pages;
	u64 *tables; /* pt_unmap_deferred: emptied tables are chained here, not freed */
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
				pt_set_pte(slot, 0);
				u->pages += (long)((span + 1) >> PAGE_SHIFT);
				if (u->leaf) u->leaf(u->ctx, pte_pa(e), level);
			} else {
				pte_t *child = pt_table_of(e);
				unmap_level(child, level - 1, va, chunk_last, u);
				bool whole = !(va & span) && chunk_last - va == span;
				if (may_free_table(level, va) && (whole || pt_table_empty(child))) {
					pt_set_pte(slot, 0);
					if (u->tables) { /* empty: its first word links the chain, bit V clear */
						child[0] = *u->tables;
						*u->tables = pte_pa(e);
					} else {
						pt_free_table(pte_pa(e));
					}
				}
			}
		}
		if (chunk_last == last) return;
		va = chunk_last + 1;
	}
}

static void unmap_quiet(u64 root, u64 va, u64 last, u64 *tables)
{
	struct unmap_state u = {.tables = tables};
	unmap_level(pt_table_va(root), 2, va, last, &u);
}

/*
 * Undoes a partly done map of [start, fail_va). When fail_va's page was never mapped (allocation
 * failure, bad page address) the walk also covers it, to free tables created on the way down to it;
 * after -EEXIST that page belongs to someone else and the path to it existed before.
 */
static void map_rollback(u64 root, u64 start, u64 fail_va, int err, u64 *tables)
{
	if (err != -EEXIST)
		unmap_quiet(root, start, fail_va + PAGE_SIZE - 1, tables);
	else if (fail_va != start)
		unmap_quiet(root, start, fail_va - 1, tables);
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
	pt_set_pte(slot, pte_make(pa, PTE_V));
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
		pt_set_pte(slot, log->e[log->n].old);
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
		t = pt_table_of(*slot);
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

static long unmap_range_of(u64 root, u64 va, u64 size, struct unmap_state *u)
{
	u64 last = va + size - 1;
	if (unlikely(!size || ((va | size) & (PAGE_SIZE - 1)) || !range_ok(va, last))) return -EINVAL;
	struct split_log log;
	int err = split_ends(root, va, last, &log);
	if (err) return err;
	unmap_level(pt_table_va(root), 2, va, last, u);
	return u->pages;
}

long pt_unmap(u64 root, u64 va, u64 size, pt_leaf_fn leaf, void *ctx)
{
	struct unmap_state u = {leaf, ctx, 0, NULL};
	return unmap_range_of(root, va, size, &u);
}

long pt_unmap_deferred(u64 root, u64 va, u64 size, pt_leaf_fn leaf, void *ctx, u64 *tables)
{
	struct unmap_state u = {leaf, ctx, 0, tables};
	return unmap_range_of(root, va, size, &u);
}

void pt_free_tables(u64 chain)
{
	while (chain) {
		pte_t *t = pt_table_va(chain);
		u64 next = t[0];
		t[0] = 0; /* an empty table again, as pt_free_table takes them */
		pt_free_table(chain);
		chain = next;
	}
}

void pt_destroy_user(u64 root, pt_leaf_fn leaf, void *ctx)
{
	struct unmap_state u = {leaf, ctx, 0, NULL};
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
		pt_set_pte(slot, pte_make(pa, m->flags));
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
			pt_set_pte(slot, pte);
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
				pt_set_pte(slot, pte_make(pa, m->flags));
				goto next;
			}
			u64 table = pt_alloc_table();
			if (unlikely(!table)) {
				m->fail_va = va;
				return -ENOMEM;
			}
			e = pte_make(table, PTE_V);
			pt_set_pte(slot, e);
		} else if (pte_is_leaf(e)) {
			m->fail_va = va;
			return -EEXIST;
		}
		/* An existing table is descended into even when a huge leaf would fit: it may hold mappings,
		 * and kernel-half level-1 tables must stay. */
		int err = map_level(pt_table_of(e), level - 1, va, chunk_last, m);
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
	    pa_last >= PT_PA_LIMIT || !pt_prot_ok(prot) || (flags & ~PT_HUGE))
		return -EINVAL;
	struct map_state m = {.pa_minus_va = pa - va, .flags = prot | PT_LEAF_FLAGS, .huge = flags & PT_HUGE};
	int err = map_level(pt_table_va(root), 2, va, last, &m);
	if (err) map_rollback(root, va, m.fail_va, err, NULL);
	return err;
}

int pt_map_pages(u64 root, u64 va, const u64 *pas, size_t n, u64 prot, u64 *tables)
{
	/* No half of the address space holds more than 2^26 pages, which also keeps n << 12 in range. */
	if (n - 1 >= (1UL << 26) || (va & (PAGE_SIZE - 1)) || !pt_prot_ok(prot) ||
	    !range_ok(va, va + (n << PAGE_SHIFT) - 1))
		return -EINVAL;
	struct map_state m = {.pas = pas, .va0 = va, .flags = prot | PT_LEAF_FLAGS};
	int err = map_level(pt_table_va(root), 2, va, va + (n << PAGE_SHIFT) - 1, &m);
	if (err) map_rollback(root, va, m.fail_va, err, tables);
	return err;
}

int pt_reserve_tables(u64 root, u64 va, u64 size, u64 *tables)
{
	u64 last = va + size - 1;
	if (!size || ((va | size) & (PAGE_SIZE - 1)) || !range_ok(va, last)) return -EINVAL;
	struct map_state m = {.tables_only = true};
	int err = map_level(pt_table_va(root), 2, va, last, &m);
	if (err) map_rollback(root, va, m.fail_va, err, tables);
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
		t = pt_table_of(e);
	}
}

/* Clears the kernel root slots in [first, end) that prepopulate filled, on its way out of a failure. */
static void unpopulate(pte_t *root_t, unsigned first, unsigned end, const u64 *created)
{
	for (unsigned i = first; i < end; i++) {
		if (!(created[(i - PT_ENTRIES / 2) / 64] >> (i % 64) & 1)) continue;
		u64 table = pte_pa(root_t[i]);
		pt_set_pte(&root_t[i], 0);
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
		pt_set_pte(&t[i], pte_make(table, PTE_V));
		created[(i - PT_ENTRIES / 2) / 64] |= 1UL << (i % 64);
	}
	return 0;
}

void pt_copy_kernel_half(u64 dst_root, u64 src_root)
{
	memcpy(&pt_table_va(dst_root)[PT_ENTRIES / 2], &pt_table_va(src_root)[PT_ENTRIES / 2],
	       PT_ENTRIES / 2 * sizeof(pte_t));
}
