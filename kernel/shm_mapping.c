/* User mappings of shm objects (kernel/shm_mapping.h): address choice in the shm window, PTE writing,
 * page-table charges, fault retry. A mapping's PTEs point straight at the object's vmalloc pages. */
#include "kernel/shm_mapping.h"
#include "kernel/aspace.h"
#include "lib/riscv.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/vmalloc.h"

static void no_free(void *ctx, u64 pa, int level) { (void)ctx; (void)pa; (void)level; }

/* Unmaps [from, to) of mapping m; `tables` holds those a failed map's rollback there already unlinked
 * (0: none). Caller holds the mapper's shm_lock. With `flush`, the tables are freed only after the
 * shootdown: a hart that ran the task may hold them in its walk cache until then. Without (the task never
 * runs again: its ASID is flushed when it is reaped), at once. */
static void unmap_range_with(struct task_map *m, u64 from, u64 to, bool flush, u64 tables)
{
	if (to > from) pt_unmap_deferred(m->task->root_pa, m->uva + from, to - from, no_free, NULL, &tables);
	/* A changed non-leaf entry needs the fence without an address (the privileged spec): the whole ASID
	 * when tables went, else the range (aspace_flush fences other harts' whole ASID either way). */
	if (flush && tables) aspace_flush(m->task, 0, 0);
	else if (flush && to > from) aspace_flush(m->task, m->uva + from, to - from);
	pt_free_tables(tables);
}

static void unmap_range(struct task_map *m, u64 from, u64 to, bool flush) { unmap_range_with(m, from, to, flush, 0); }

/* Maps the object's pages [from, to) into the mapping; on failure nothing of that range stays mapped,
 * and what was mapped for a moment is fenced before any table it used is freed: the task may run on
 * other harts meanwhile, and a thread there may have touched the new pages. Caller holds the mapper's
 * shm_lock. */
static int map_range(struct task_map *m, void *kva, u64 from, u64 to)
{
	u64 pte = PTE_R | ((m->prot & PROT_WRITE) ? PTE_W : 0) | PTE_U, pas[32];
	for (u64 off = from; off < to;) {
		size_t n = 0;
		for (; n < ARRAY_SIZE(pas) && off + n * PAGE_SIZE < to; n++)
			pas[n] = vmalloc_user_to_pa((u8 *)kva + off + n * PAGE_SIZE);
		u64 tables = 0;
		int e = pt_map_pages(m->task->root_pa, m->uva + off, pas, n, pte, &tables);
		if (e) {
			unmap_range_with(m, from, off + n * PAGE_SIZE, true, tables);
			return e;
		}
		off += n * PAGE_SIZE;
	}
	return 0;
}

/* Caller holds t->shm_lock. */
static bool range_free(struct task *t, u64 va, u64 len)
{
	if (va < VMK_SHM_BASE || va + len > VMK_SHM_TOP || va + len < va) return false;
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (m->obj && va < m->uva + m->max_size + PAGE_SIZE && m->uva < va + len + PAGE_SIZE) return false;
	}
	return true;
}

/* Caller holds t->shm_lock. A hint is taken when the range there is free (guard pages included);
 * otherwise the lowest free place. */
static u64 find_va(struct task *t, u64 hint, u64 len)
{
	if (hint && range_free(t, hint, len)) return hint;
	u64 best = 0;
	if (range_free(t, VMK_SHM_BASE, len)) return VMK_SHM_BASE;
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (!m->obj) continue;
		u64 cand = m->uva + m->max_size + PAGE_SIZE;
		if (range_free(t, cand, len) && (!best || cand < best)) best = cand;
	}
	return best;
}

/* Entries a step of a new mapping's fill writes before the object's lock is let go (the resize's step). */
#define FILL_STEP_PAGES (SHM_STEP / PAGE_SIZE)

static u64 reach(const struct task_map *m, u64 to) { return MIN(to, m->max_size); }

/* Moves a filling mapping's target to the object's size as it is now (a grow published meanwhile, or a
 * shrink), within what m's mapper has paid for or can pay for now; a mapper that cannot pay stays where
 * it is, as any mapping that cannot follow. Caller holds o->lock and m's task->shm_lock. */
static void fill_target(struct task_map *m, struct shm_obj *o)
{
	u64 to = reach(m, o->size), need = pt_tables_spanned(m->uva, to);
	if (to <= m->grow_to || need <= m->table_pages) m->grow_to = to;
	else if (!vm_owner_charge(m->task->slot, (s64)(need - m->table_pages), false)) {
		m->table_pages = need;
		m->grow_to = to;
	}
	m->grow_to = MAX(m->grow_to, m->filled);
}

static void map_remove(struct shm_obj *o, struct task_map *m, bool flush);

/* The entries of a new mapping m, listed and filling: STEP_PAGES at a time, the object's lock let go
 * between steps, up to the object's size as it is at the last step. Then m is a mapping like any other
 * (a grow under way asks it to follow at its next step). Returns 0, or -ENOMEM / -EINTR (killed) with m
 * taken out again. Caller holds o->lock, not t->shm_lock. */
static long fill_new(struct task *t, struct shm_obj *o, struct task_map *m)
{
	for (;;) {
		spin_lock(&t->shm_lock);
		fill_target(m, o);
		u64 end = MIN(m->grow_to, m->filled + FILL_STEP_PAGES * PAGE_SIZE);
		int e = end > m->filled ? map_range(m, o->kva, m->filled, end) : 0;
		if (!e) m->filled = end;
		bool done = !e && m->filled == m->grow_to;
		if (done) {
			/* Tables paid for past where it ended (a shrink came) are credited; a prepaid reserve is kept. */
			u64 need = pt_tables_spanned(m->uva, m->prepaid ? m->max_size : m->filled);
			if (need < m->table_pages) {
				vm_owner_charge(t->slot, -(s64)(m->table_pages - need), false);
				m->table_pages = need;
			}
			m->mapped = m->filled;
			m->filling = false;
		}
		if (e) map_remove(o, m, true);
		spin_unlock(&t->shm_lock);
		if (e) return -ENOMEM;
		if (done) return 0;
		spin_unlock(&o->lock);
		long k = shm_obj_between_steps(o, true);
		spin_lock(&o->lock);
		if (k) {
			spin_lock(&t->shm_lock);
			map_remove(o, m, true);
			spin_unlock(&t->shm_lock);
			return k;
		}
	}
}

long shm_mapping_add(struct task *t, struct shm_obj *o, u64 hint, u64 max_size, u64 prot, bool prepay)
{
	long r;
	u64 charge = 0;
	spin_lock(&t->shm_lock);
	struct task_map *m = NULL;
	for (u32 i = 0; i < VMK_MAX_MAPS && !m; i++)
		if (!t->maps[i].obj) m = &t->maps[i];
	if (m && (u32)(m - t->maps) >= t->maps_hi) t->maps_hi = (u32)(m - t->maps) + 1;
	u64 uva = m ? find_va(t, hint, max_size) : 0;
	r = !m ? -EMFILE : !uva ? -ENOMEM : 0;
	if (!r) {
		charge = pt_tables_spanned(uva, prepay ? max_size : o->size);
		if (vm_owner_charge(t->slot, (s64)charge, false)) r = -ENOMEM;
	}
	if (!r) {
		/* Listed at once, empty and filling: the slot and the address range are taken, a shrink can
		 * cut what it has filled, and a grow passes it by until its fill ends. */
		*m = (struct task_map){.obj = o, .uva = uva, .max_size = max_size, .prot = prot, .table_pages = charge,
				       .task = t, .filling = true, .prepaid = prepay};
		m->next_on_obj = o->maps;
		o->maps = m;
	}
	spin_unlock(&t->shm_lock);
	if (r) return r;
	/* Until its fill ends, the caller's reference keeps o alive for it; then it takes its own. */
	r = fill_new(t, o, m);
	if (!r) shm_obj_get(o);
	return r ? r : (long)uva;
}

/* Takes mapping m (of object o) out: page tables, TLBs when `flush`, the object's list, the table charge.
 * Caller holds o->lock and m's task->shm_lock and still owes shm_obj_put for the mapping's reference. */
static void map_remove(struct shm_obj *o, struct task_map *m, bool flush)
{
	/* A grow under way may have reserved and filled past m->mapped, a cut under way cleared (unflushed)
	 * up to m->cut_top: the whole of it goes, with the tables that cut has unlinked. */
	unmap_range_with(m, 0, MAX(m->grow_to, m->cut_top), flush, m->cut_tables);
	m->cut_tables = m->cut_top = 0;
	for (struct task_map **pp = &o->maps; *pp; pp = &(*pp)->next_on_obj)
		if (*pp == m) {
			*pp = m->next_on_obj;
			break;
		}
	if (m->table_pages) vm_owner_charge(m->task->slot, -(s64)m->table_pages, false);
	m->obj = NULL;
}

bool shm_mapping_drop(struct task *t, u64 uva, bool flush)
{
	spin_lock(&t->shm_lock);
	struct task_map *m = NULL;
	for (u32 i = 0; i < VMK_MAX_MAPS && !m; i++)
		if (t->maps[i].obj && (t->maps[i].uva == uva || !uva)) m = &t->maps[i];
	struct shm_obj *o = m ? m->obj : NULL;
	if (o) shm_obj_get(o);
	spin_unlock(&t->shm_lock);
	if (!o) return false;
	spin_lock(&o->lock);
	spin_lock(&t->shm_lock);
	bool done = m->obj == o && (m->uva == uva || !uva); /* still the same mapping: t is single-threaded */
	if (done) {
		m->leaving = true;
		m->unfenced = !flush;
	}
	spin_unlock(&t->shm_lock);
	if (done) {
		/* What a grow under way has added to it goes first (the grow passes a leaving mapping by from
		 * now on); then its entries are cleared from the top a step at a time, the object's lock let go
		 * between steps (a killed task's unmap, or its exit's, finishes all the same). */
		if (m->grow_to != m->mapped || m->grow_paid) shm_mapping_unfill(m);
		for (;;) {
			u64 budget = FILL_STEP_PAGES;
			if (shm_mapping_cut(m, 0, &budget)) break;
			spin_unlock(&o->lock);
			shm_obj_between_steps(o, true);
			spin_lock(&o->lock);
		}
		spin_lock(&t->shm_lock);
		map_remove(o, m, flush);
		spin_unlock(&t->shm_lock);
	}
	spin_unlock(&o->lock);
	if (done) shm_obj_put(o); /* the mapping's reference */
	shm_obj_put(o);
	return done;
}

int shm_mapping_reserve(struct task_map *m, u64 to)
{
	to = reach(m, to);
	spin_lock(&m->task->shm_lock);
	int e = 0;
	m->grow_to = m->filled = m->mapped;
	u64 need = pt_tables_spanned(m->uva, to);
	/* The mapper pays for its mapping's part of the growth, within its limits, or the mapping stays;
	 * but the grower's own mapping must follow (its malloc heap grows so), so there the grow fails. */
	if (to > m->mapped) {
		if (need <= m->table_pages || !vm_owner_charge(m->task->slot, (s64)(need - m->table_pages), false)) {
			m->grow_paid = need > m->table_pages ? need - m->table_pages : 0;
			m->table_pages += m->grow_paid;
			m->grow_to = to;
			u64 tables = 0;
			e = pt_reserve_tables(m->task->root_pa, m->uva + m->mapped, to - m->mapped, &tables);
			if (tables) aspace_flush(m->task, 0, 0); /* the rollback unlinked tables walkers may have cached */
			pt_free_tables(tables);
		} else if (m->task == current_task()) {
			e = -ENOMEM;
		}
	}
	spin_unlock(&m->task->shm_lock);
	return e ? -ENOMEM : 0; /* what it did build stays until the grow's commit or shm_mapping_unfill */
}

int shm_mapping_fill(struct task_map *m, void *kva, u64 upto, u64 *budget)
{
	spin_lock(&m->task->shm_lock);
	u64 from = m->filled, end = MIN(upto, m->grow_to);
	if (end > from && end - from > *budget * PAGE_SIZE) end = from + *budget * PAGE_SIZE;
	int e = 0;
	if (end > from) {
		/* Tables were reserved, but an unmap in that task may have reclaimed an empty one since. */
		e = map_range(m, kva, from, end);
		if (!e) {
			m->filled = end;
			*budget -= (end - from) >> PAGE_SHIFT;
		}
	}
	spin_unlock(&m->task->shm_lock);
	return e ? -ENOMEM : 0;
}

void shm_mapping_unfill(struct task_map *m)
{
	spin_lock(&m->task->shm_lock);
	unmap_range(m, m->mapped, m->grow_to, true);
	m->grow_to = m->filled = m->mapped;
	vm_owner_charge(m->task->slot, -(s64)m->grow_paid, false);
	m->table_pages -= m->grow_paid;
	m->grow_paid = 0;
	spin_unlock(&m->task->shm_lock);
}

void shm_mapping_commit(struct task_map *m)
{
	spin_lock(&m->task->shm_lock);
	m->mapped = m->filled = m->grow_to;
	m->grow_paid = 0;
	spin_unlock(&m->task->shm_lock);
}

bool shm_mapping_cut(struct task_map *m, u64 to, u64 *budget)
{
	spin_lock(&m->task->shm_lock);
	/* A mapping still filling has its entries up to `filled` (mapped is 0 until its fill ends). */
	u64 top = m->filling ? m->filled : m->mapped;
	if (top > to && *budget) {
		if (!m->cut_top) m->cut_top = top;
		u64 from = top - MIN(top - to, *budget * PAGE_SIZE);
		/* No fence per step: the pages are freed only after the whole cut's one (kernel/shm_resize.c),
		 * and the tables it empties wait in cut_tables for that fence. */
		pt_unmap_deferred(m->task->root_pa, m->uva + from, top - from, no_free, NULL, &m->cut_tables);
		*budget -= (top - from) >> PAGE_SHIFT;
		top = m->filled = m->grow_to = from;
		if (!m->filling) m->mapped = from;
	}
	bool done = top <= to;
	if (done && m->cut_top) {
		/* As unmap_range_with: the whole ASID when tables went, else the range, from top, not from to:
		 * an unmap's cut may have cleared entries below `to` before a shrink's call ended it here. */
		if (m->unfenced) { /* an exit's unmap: nothing of the task runs again before its ASID's flush */
		} else if (m->cut_tables) {
			aspace_flush(m->task, 0, 0);
		} else {
			aspace_flush(m->task, m->uva + top, m->cut_top - top);
		}
		pt_free_tables(m->cut_tables);
		m->cut_tables = m->cut_top = 0;
		u64 tables = pt_tables_spanned(m->uva, to);
		if (tables < m->table_pages) {
			vm_owner_charge(m->task->slot, -(s64)(m->table_pages - tables), false);
			m->table_pages = tables;
		}
	}
	spin_unlock(&m->task->shm_lock);
	return done;
}

bool shm_mapping_fault(struct task *t, u64 addr, u64 cause)
{
	bool retry = false;
	if (cause != EXC_LOAD_PAGE && cause != EXC_STORE_PAGE) return false; /* shm mappings are never executable */
	spin_lock(&t->shm_lock);
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (!m->obj || addr < m->uva || addr >= m->uva + m->max_size) continue;
		struct pt_walk w;
		/* Mapped by now (a resize published it while the access was on its way) with the access allowed? */
		if (addr - m->uva < m->mapped && !pt_walk(t->root_pa, addr, &w) && (cause != EXC_STORE_PAGE || (w.pte & PTE_W)))
			retry = true;
	}
	spin_unlock(&t->shm_lock);
	return retry;
}

struct shm_obj *shm_mapping_lookup(struct task *t, u64 uva, u64 *offset)
{
	struct shm_obj *o = NULL;
	spin_lock(&t->shm_lock);
	for (u32 i = 0; i < t->maps_hi && !o; i++) {
		struct task_map *m = &t->maps[i];
		if (m->obj && uva >= m->uva && uva - m->uva < m->mapped) {
			o = m->obj;
			*offset = uva - m->uva;
			shm_obj_get(o);
		}
	}
	spin_unlock(&t->shm_lock);
	return o;
}

bool shm_mapping_any_writable(struct shm_obj *o)
{
	for (struct task_map *m = o->maps; m; m = m->next_on_obj)
		if (m->prot & PROT_WRITE) return true;
	return false;
}
