/* Sv39 page-table operations: map (ranges and page arrays), unmap with table reclaim, protect, walk,
 * and the kernel-half sharing between address spaces. Ranges are handled with an inclusive last address
 * so a mapping may end at the very top of the address space without the end wrapping to zero. */
#include "vm/pt.h"
#include "lib/string.h"

#define PT_LEAF_FLAGS (PTE_V | PTE_A | PTE_D)
/* Physical address bits that must be clear in a page address given to us. */
#define PT_BAD_PA_BITS (~(PT_PA_LIMIT - 1) | (PAGE_SIZE - 1))

static inline unsigned pt_index(u64 va, int level) { return (va >> (PAGE_SHIFT + 9 * level)) & (PT_ENTRIES - 1); }

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
	unmap_level(pt_table_va(root), 2, 0, PT_USER_TOP - 1, &u);
}

/* ---- map ---- */

struct map_state {
	u64 pa_minus_va; /* modulo 2^64 */
	pte_t flags;
	bool huge;
	u64 fail_va;
};

static int map_level(pte_t *t, int level, u64 va, u64 last, struct map_state *m)
{
	if (level == 0) {
		pte_t *slot = &t[pt_index(va, 0)];
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
	struct map_state m = {pa - va, prot | PT_LEAF_FLAGS, flags & PT_HUGE, 0};
	int err = map_level(pt_table_va(root), 2, va, last, &m);
	if (err) map_rollback(root, va, m.fail_va, err);
	return err;
}

/* Level-0 table covering va when the tables above it exist, NULL otherwise: the common case. */
static inline pte_t *leaf_table_present(u64 root, u64 va)
{
	pte_t e = pt_table_va(root)[pt_index(va, 2)];
	if (unlikely((e & (PTE_V | PTE_R | PTE_W | PTE_X)) != PTE_V)) return NULL;
	e = table_of(e)[pt_index(va, 1)];
	if (unlikely((e & (PTE_V | PTE_R | PTE_W | PTE_X)) != PTE_V)) return NULL;
	return table_of(e);
}

/* Level-0 table covering va, creating the tables above it when alloc; NULL with *err set otherwise. */
static pte_t *leaf_table(u64 root, u64 va, bool alloc, int *err)
{
	pte_t *t = pt_table_va(root);
	for (int level = 2; level > 0; level--) {
		pte_t *slot = &t[pt_index(va, level)];
		pte_t e = *slot;
		if (!(e & PTE_V)) {
			u64 table;
			if (!alloc || !(table = pt_alloc_table())) {
				*err = alloc ? -ENOMEM : -ENOENT;
				return NULL;
			}
			e = pte_make(table, PTE_V);
			set_pte(slot, e);
		} else if (pte_is_leaf(e)) {
			*err = -EEXIST;
			return NULL;
		}
		t = table_of(e);
	}
	return t;
}

pte_t *pt_leaf_slot(u64 root, u64 va, bool alloc)
{
	if (!pt_va_canonical(va)) return NULL;
	int err;
	pte_t *t = leaf_table(root, va, alloc, &err);
	if (t) return &t[pt_index(va, 0)];
	if (err == -ENOMEM) unmap_quiet(root, va & ~(PAGE_SIZE - 1), va | (PAGE_SIZE - 1));
	return NULL;
}

/* pt_map_pages past its one-page fast path: any number of pages, creating tables, rolling back. */
static __attribute__((noinline)) int map_pages_slow(u64 root, u64 va, const u64 *pas, size_t n, pte_t flags)
{
	const u64 start = va;
	size_t i = 0;
	int err;
	do {
		pte_t *t = leaf_table(root, va, true, &err);
		if (unlikely(!t)) goto fail;
		unsigned idx = pt_index(va, 0);
		size_t stop = MIN(n, i + PT_ENTRIES - idx);
		for (pte_t *slot = &t[idx]; i < stop; i++, slot++, va += PAGE_SIZE) {
			u64 pa = pas[i];
			if (unlikely(*slot & PTE_V)) {
				err = -EEXIST;
				goto fail;
			}
			if (unlikely(pa & PT_BAD_PA_BITS)) {
				err = -EINVAL;
				goto fail;
			}
			set_pte(slot, pte_make(pa, flags));
		}
	} while (i < n);
	return 0;
fail:
	map_rollback(root, start, va, err);
	return err;
}

int pt_map_pages(u64 root, u64 va, const u64 *pas, size_t n, u64 prot)
{
	/* No half of the address space holds more than 2^26 pages, which also keeps n << 12 in range. */
	if (unlikely(n - 1 >= (1UL << 26) || (va & (PAGE_SIZE - 1)) || !prot_ok(prot) ||
		     !range_ok(va, va + (n << PAGE_SHIFT) - 1)))
		return -EINVAL;
	const pte_t flags = prot | PT_LEAF_FLAGS;
	if (n == 1) {
		pte_t *t = leaf_table_present(root, va);
		if (likely(t)) {
			pte_t *slot = &t[pt_index(va, 0)];
			if (unlikely(*slot & PTE_V)) return -EEXIST;
			if (unlikely(pas[0] & PT_BAD_PA_BITS)) return -EINVAL;
			set_pte(slot, pte_make(pas[0], flags));
			return 0;
		}
	}
	return map_pages_slow(root, va, pas, n, flags);
}

/* ---- protect ---- */

static int check_mapped(const pte_t *t, int level, u64 va, u64 last)
{
	u64 span = pt_level_size(level) - 1;
	for (;;) {
		u64 chunk_last = MIN(va | span, last);
		pte_t e = t[pt_index(va, level)];
		if (!(e & PTE_V)) return -ENOENT;
		if (level > 0 && !pte_is_leaf(e)) {
			int err = check_mapped(table_of(e), level - 1, va, chunk_last);
			if (err) return err;
		}
		if (chunk_last == last) return 0;
		va = chunk_last + 1;
	}
}

static void protect_level(pte_t *t, int level, u64 va, u64 last, u64 prot)
{
	u64 span = pt_level_size(level) - 1;
	for (;;) {
		u64 chunk_last = MIN(va | span, last);
		pte_t *slot = &t[pt_index(va, level)];
		pte_t e = *slot;
		if (level == 0 || pte_is_leaf(e))
			set_pte(slot, (e & ~PTE_PROT_MASK) | prot);
		else
			protect_level(table_of(e), level - 1, va, chunk_last, prot);
		if (chunk_last == last) return;
		va = chunk_last + 1;
	}
}

int pt_protect(u64 root, u64 va, u64 size, u64 prot)
{
	u64 last = va + size - 1;
	if (!size || ((va | size) & (PAGE_SIZE - 1)) || !range_ok(va, last) || !prot_ok(prot)) return -EINVAL;
	int err = check_mapped(pt_table_va(root), 2, va, last);
	if (err) return err;
	struct split_log log;
	err = split_ends(root, va, last, &log);
	if (err) return err;
	protect_level(pt_table_va(root), 2, va, last, prot);
	return 0;
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
	if (va_start < PT_KERNEL_HALF || ((va_start | va_end) & (PUD_SIZE - 1)) || last < va_start) return -EINVAL;
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
