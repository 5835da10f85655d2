/* Shared-memory objects over vmalloc. Each object is one VM_USER vmalloc area; user mappings point at the
 * area's pages. Locking: an object's own lock covers its size, area and list of mappings; a task's
 * shm_lock covers its handle table, its mapping table and the shm ranges of its page tables; the order is
 * object, then task. No global lock is held across a copy, a page-table loop or a TLB shootdown (the
 * object table's lock only guards slot allocation and the per-account object counts). Object and task
 * locks are taken with interrupts on: no interrupt handler takes them and the kernel never preempts
 * itself, so a long resize under them delays no interrupt (and no IPI a TLB shootdown waits for).
 *
 * Resizing: a shrink unmaps the cut tail from every mapping and fences those tasks before vrealloc frees
 * the pages. A grow never unmaps anything: vrealloc keeps the pages that stay (a move takes them along),
 * so mappings stay valid throughout; page tables for the new range are reserved in every mapper before
 * the object grows, the new pages are mapped, and only then is the new size published. A failure at any
 * step undoes the earlier ones, so every mapping is left exactly as it was.
 *
 * Ownership: an object's pages are charged to its creator's account (the vmalloc owner named by the
 * creator's slot, together with its tid). When the creator exits, every object it still owns moves to its
 * parent if the parent has room, else to the orphan pool (its own page and object limits), else to the
 * parent over its limits; so an account is always empty when its slot is reused. */
#include "kernel/shm.h"
#include "kernel/aspace.h"
#include "kernel/sched.h"
#include "kernel/task.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/vmalloc.h"

/* Every live object is held by a handle or a mapping of a live task, so this many slots can never run
 * out: no task can exhaust the table for the others. */
#define MAX_SHM_OBJS (MAX_TASKS * (VMK_MAX_HANDLES + VMK_MAX_MAPS))
#define SHM_VA_BASE VMK_SHM_BASE
#define SHM_VA_TOP VMK_SHM_TOP
#define ORPHAN_OWNER MAX_TASKS /* vmalloc owner account of the orphan pool; task slots are below it */
#define NR_ACCOUNTS (MAX_TASKS + 1)

struct shm_obj {
	spinlock_t lock;
	u32 refs;       /* handles + mappings + callers in flight (atomic); the slot is free at 0 */
	u32 owner;      /* vmalloc owner account charged for the pages */
	u32 owner_tid;  /* the task owning that account, 0 for the orphan pool */
	bool used;
	bool huge;
	void *kva;
	u64 size;
	struct task_map *maps;
};

static struct shm_obj objs[MAX_SHM_OBJS];
static spinlock_t objs_lock = SPINLOCK_INIT; /* slot allocation and owned[] only */
static u32 owned[NR_ACCOUNTS];               /* objects charged to each account */
static u32 handle_gen;                       /* global: a value is never reissued within 2^32 handles */

#define CALLER __builtin_return_address(0)
#define HANDLE_IDX_BITS 6
#define HANDLE_GEN_SHIFT HANDLE_IDX_BITS
#define HANDLE_TAG_SHIFT (HANDLE_GEN_SHIFT + 32)
#define HANDLE_TAG_MASK ((1UL << (63 - HANDLE_TAG_SHIFT)) - 1) /* keeps values below 2^63 */

_Static_assert(VMK_MAX_HANDLES <= (1 << HANDLE_IDX_BITS), "handle index field too small");

static u64 handle_tag(const struct task *t) { return (u64)t->tid & HANDLE_TAG_MASK; }

static u64 handle_value(struct task *t, u32 idx)
{
	return (handle_tag(t) << HANDLE_TAG_SHIFT) | ((u64)t->handles[idx].gen << HANDLE_GEN_SHIFT) | idx;
}

/* Caller holds t->shm_lock. */
static struct task_handle *lookup(struct task *t, u64 h)
{
	u64 idx = h & ((1UL << HANDLE_IDX_BITS) - 1), gen = (h >> HANDLE_GEN_SHIFT) & 0xffffffffUL;
	if ((h >> HANDLE_TAG_SHIFT) != handle_tag(t) || idx >= VMK_MAX_HANDLES) return NULL;
	struct task_handle *th = &t->handles[idx];
	return th->obj && th->gen == gen ? th : NULL;
}

static void obj_get(struct shm_obj *o) { __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED); }

/* Drops one reference; the last one frees the pages (credited to the owner) and the slot. Caller holds
 * no shm lock. */
static void obj_put(struct shm_obj *o)
{
	if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL)) return;
	vfree(o->kva);
	unsigned long f = spin_lock_irqsave(&objs_lock);
	owned[o->owner]--;
	o->kva = NULL;
	o->used = false;
	spin_unlock_irqrestore(&objs_lock, f);
}

/* Caller holds t->shm_lock; the new handle takes a reference of its own. */
static long handle_add(struct task *t, struct shm_obj *o, u64 rights)
{
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++)
		if (!t->handles[i].obj) {
			u32 gen;
			do gen = __atomic_add_fetch(&handle_gen, 1, __ATOMIC_RELAXED);
			while (!gen);
			t->handles[i] = (struct task_handle){.obj = o, .rights = rights, .gen = gen};
			obj_get(o);
			return (long)handle_value(t, i);
		}
	return -EMFILE;
}

/* The object behind a handle of t, with a reference for the caller (obj_put when done), or NULL. */
static struct shm_obj *handle_get(struct task *t, u64 h, u64 *rights)
{
	spin_lock(&t->shm_lock);
	struct task_handle *th = lookup(t, h);
	struct shm_obj *o = th ? th->obj : NULL;
	if (o) {
		obj_get(o);
		*rights = th->rights;
	}
	spin_unlock(&t->shm_lock);
	return o;
}

/* Page-table pages a mapping of [uva, uva + len) may need, charged to the mapper: one level-0 table per
 * 2 MiB span it touches and one level-1 table per 1 GiB span. A mapping is charged for what it maps (at
 * map time within the mapper's quota; when the object grows, past it if need be: the growth is the
 * owner's to decide, and its tables are a 512th of it), and credited at unmap. */
static u64 table_charge(u64 uva, u64 len)
{
	return ((uva + len - 1) / PMD_SIZE - uva / PMD_SIZE + 1) + ((uva + len - 1) / PUD_SIZE - uva / PUD_SIZE + 1);
}

static void no_free(void *ctx, u64 pa, int level) { (void)ctx; (void)pa; (void)level; }

/* Caller holds the object's lock and the mapper's shm_lock. */
static void unmap_user(struct task_map *m, u64 from, u64 to, bool flush)
{
	if (to <= from) return;
	pt_unmap(m->task->root_pa, m->uva + from, to - from, no_free, NULL);
	if (flush) aspace_flush(m->task, m->uva + from, to - from);
}

/* Creates every table [from, to) of the mapping needs, so that mapping pages there cannot fail. */
static int reserve_tables(struct task_map *m, u64 from, u64 to)
{
	return to > from ? pt_reserve_tables(m->task->root_pa, m->uva + from, to - from) : 0;
}

/* Maps the object's pages [from, to) into the mapping; on failure nothing of that range stays mapped.
 * Caller holds the object's lock and the mapper's shm_lock. */
static int map_user(struct task_map *m, void *kva, u64 from, u64 to)
{
	u64 pte = PTE_R | ((m->prot & PROT_WRITE) ? PTE_W : 0) | PTE_U, pas[32];
	for (u64 off = from; off < to;) {
		size_t n = 0;
		for (; n < ARRAY_SIZE(pas) && off + n * PAGE_SIZE < to; n++)
			pas[n] = vmalloc_to_pa((u8 *)kva + off + n * PAGE_SIZE);
		int e = pt_map_pages(m->task->root_pa, m->uva + off, pas, n, pte);
		if (e) {
			if (off > from) pt_unmap(m->task->root_pa, m->uva + from, off - from, no_free, NULL);
			return e;
		}
		off += n * PAGE_SIZE;
	}
	return 0;
}

__noinline long shm_create(struct task *t, u64 size, u64 flags)
{
	if (!size || size > VMK_SHM_MAX_SIZE || (flags & ~SHM_F_HUGE)) return -EINVAL;
	size = ALIGN_UP(size, PAGE_SIZE);
	void *kva = __vmalloc_owner(size, PAGE_SIZE, VMF_ZERO | VMF_USER | ((flags & SHM_F_HUGE) ? VMF_HUGE : 0),
				    NUMA_NO_NODE, t->slot, CALLER);
	if (!kva) return -ENOMEM;
	struct vmap_area *a = find_vm_area(kva);
	struct shm_obj *o = NULL;
	long r = -EMFILE;
	unsigned long f = spin_lock_irqsave(&objs_lock);
	if (owned[t->slot] < VMK_MAX_OBJECTS)
		for (u32 i = 0; i < MAX_SHM_OBJS; i++)
			if (!objs[i].used) {
				o = &objs[i];
				*o = (struct shm_obj){.lock = SPINLOCK_INIT, .refs = 1, .owner = t->slot, .owner_tid = t->tid,
						      .used = true, .huge = a && (a->flags & VM_HUGE), .kva = kva, .size = size};
				owned[t->slot]++;
				break;
			}
	spin_unlock_irqrestore(&objs_lock, f);
	if (!o) {
		vfree(kva);
	} else {
		spin_lock(&t->shm_lock);
		r = handle_add(t, o, SHM_ALL);
		spin_unlock(&t->shm_lock);
		obj_put(o); /* the creation reference: the handle holds its own, or the object goes */
	}
	TRACE(TRACE_SHM, CALLER, "ev=shm op=create size=%lu handle=0x%lx result=%ld", size, r > 0 ? (u64)r : 0, r < 0 ? r : 0);
	return r;
}

/* Caller holds t->shm_lock. */
static bool range_free(struct task *t, u64 va, u64 len)
{
	if (va < SHM_VA_BASE || va + len > SHM_VA_TOP || va + len < va) return false;
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
	if (range_free(t, SHM_VA_BASE, len)) return SHM_VA_BASE;
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (!m->obj) continue;
		u64 cand = m->uva + m->max_size + PAGE_SIZE;
		if (range_free(t, cand, len) && (!best || cand < best)) best = cand;
	}
	return best;
}

__noinline long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot)
{
	long r;
	u64 rights = 0, charged = 0;
	struct shm_obj *o = handle_get(t, handle, &rights);
	if (!o) {
		r = -EBADF;
		goto out;
	}
	if (!(rights & SHM_MAP) || !(rights & SHM_R) || ((prot & PROT_WRITE) && !(rights & SHM_W))) {
		r = -EACCES;
		goto put;
	}
	if (max_size > VMK_SHM_MAX_SIZE || !prot || (prot & ~(PROT_READ | PROT_WRITE)) || !(prot & PROT_READ) ||
	    (hint & (PAGE_SIZE - 1)) || (hint && (hint < SHM_VA_BASE || hint >= SHM_VA_TOP))) {
		r = -EINVAL;
		goto put;
	}
	max_size = ALIGN_UP(max_size, PAGE_SIZE);
	spin_lock(&o->lock);
	if (max_size && max_size < o->size) {
		r = -EINVAL;
		goto unlock_obj;
	}
	if (!max_size) max_size = o->size;
	if (hint && max_size > SHM_VA_TOP - hint) {
		r = -EINVAL;
		goto unlock_obj;
	}
	spin_lock(&t->shm_lock);
	struct task_map *m = NULL;
	for (u32 i = 0; i < VMK_MAX_MAPS && !m; i++)
		if (!t->maps[i].obj) m = &t->maps[i];
	u64 uva = m ? find_va(t, hint, max_size) : 0;
	r = !m ? -EMFILE : !uva ? -ENOMEM : 0;
	if (!r && vm_owner_charge(t->slot, (s64)table_charge(uva, o->size), false)) r = -ENOMEM;
	if (!r) {
		charged = table_charge(uva, o->size);
		*m = (struct task_map){.obj = o, .uva = uva, .max_size = max_size, .prot = prot, .mapped = o->size,
				       .table_pages = charged, .task = t};
		if (map_user(m, o->kva, 0, o->size)) {
			m->obj = NULL;
			r = -ENOMEM;
		} else {
			m->next_on_obj = o->maps;
			o->maps = m;
			obj_get(o); /* the mapping's own reference */
			charged = 0;
			r = (long)uva;
		}
	}
	spin_unlock(&t->shm_lock);
unlock_obj:
	spin_unlock(&o->lock);
put:
	if (charged) vm_owner_charge(t->slot, -(s64)charged, false);
	obj_put(o);
out:
	TRACE(TRACE_SHM, CALLER, "ev=shm op=map handle=0x%lx addr=0x%lx max=%lu result=%ld", handle,
	      r > 0 ? (u64)r : 0, max_size, r < 0 ? r : 0);
	return r;
}

/* Takes mapping m (of object o, task t) out: page tables, TLBs when `flush`, the object's list, the table
 * charge. Caller holds o->lock and t->shm_lock and still owes obj_put for the mapping's reference. */
static void map_remove(struct shm_obj *o, struct task_map *m, bool flush)
{
	unmap_user(m, 0, m->mapped, flush);
	for (struct task_map **pp = &o->maps; *pp; pp = &(*pp)->next_on_obj)
		if (*pp == m) {
			*pp = m->next_on_obj;
			break;
		}
	vm_owner_charge(m->task->slot, -(s64)m->table_pages, false);
	m->obj = NULL;
}

/* Removes t's mapping at uva (any mapping of t when uva is 0 and `any`); false if there is none. */
static bool unmap_one(struct task *t, u64 uva, bool flush)
{
	spin_lock(&t->shm_lock);
	struct task_map *m = NULL;
	for (u32 i = 0; i < VMK_MAX_MAPS && !m; i++)
		if (t->maps[i].obj && (t->maps[i].uva == uva || !uva)) m = &t->maps[i];
	struct shm_obj *o = m ? m->obj : NULL;
	if (o) obj_get(o);
	spin_unlock(&t->shm_lock);
	if (!o) return false;
	bool done = false;
	spin_lock(&o->lock);
	spin_lock(&t->shm_lock);
	if (m->obj == o && (m->uva == uva || !uva)) { /* still the same mapping: t is single-threaded */
		map_remove(o, m, flush);
		done = true;
	}
	spin_unlock(&t->shm_lock);
	spin_unlock(&o->lock);
	if (done) obj_put(o); /* the mapping's reference */
	obj_put(o);
	return done;
}

__noinline long shm_unmap(struct task *t, u64 addr)
{
	long r = addr && unmap_one(t, addr, true) ? 0 : -EINVAL;
	TRACE(TRACE_SHM, CALLER, "ev=shm op=unmap addr=0x%lx result=%ld", addr, r);
	return r;
}

/* Growth with no window: tables first, then the pages (kept ones stay where they are), then every
 * mapping, then the size. Caller holds o->lock. */
static long grow(struct shm_obj *o, u64 new_size)
{
	struct task_map *m;
	for (m = o->maps; m; m = m->next_on_obj) {
		spin_lock(&m->task->shm_lock);
		int e = reserve_tables(m, m->mapped, MIN(new_size, m->max_size));
		spin_unlock(&m->task->shm_lock);
		if (e) return -ENOMEM; /* empty tables left behind change no mapping; unmap reclaims them */
	}
	u64 old = o->size;
	void *n = vrealloc(o->kva, new_size, VMF_ZERO);
	if (!n) return -ENOMEM;
	struct task_map *failed = NULL;
	for (m = o->maps; m; m = m->next_on_obj) {
		spin_lock(&m->task->shm_lock);
		/* Tables were reserved, but an unmap in that task may have reclaimed an empty one since. */
		if (map_user(m, n, m->mapped, MIN(new_size, m->max_size))) failed = m;
		spin_unlock(&m->task->shm_lock);
		if (failed) break;
	}
	if (failed) {
		for (m = o->maps; m != failed; m = m->next_on_obj) {
			spin_lock(&m->task->shm_lock);
			unmap_user(m, m->mapped, MIN(new_size, m->max_size), true);
			spin_unlock(&m->task->shm_lock);
		}
		o->kva = vrealloc(n, old, VMF_ZERO); /* a shrink: in place, the kept pages untouched */
		return -ENOMEM;
	}
	o->kva = n;
	for (m = o->maps; m; m = m->next_on_obj) {
		spin_lock(&m->task->shm_lock);
		m->mapped = MIN(new_size, m->max_size);
		u64 tables = table_charge(m->uva, m->mapped);
		if (tables > m->table_pages) {
			vm_owner_charge(m->task->slot, (s64)(tables - m->table_pages), true);
			m->table_pages = tables;
		}
		spin_unlock(&m->task->shm_lock);
	}
	o->size = new_size;
	return 0;
}

__noinline long shm_resize(struct task *t, u64 handle, u64 new_size)
{
	long r = 0;
	u64 rights = 0;
	struct shm_obj *o = handle_get(t, handle, &rights);
	if (!o) r = -EBADF;
	else if (!(rights & SHM_RESIZE)) r = -EACCES;
	else if (!new_size || new_size > VMK_SHM_MAX_SIZE) r = -EINVAL;
	if (r) goto out;
	new_size = ALIGN_UP(new_size, PAGE_SIZE);
	spin_lock(&o->lock);
	if (new_size < o->size) {
		for (struct task_map *m = o->maps; m; m = m->next_on_obj) {
			spin_lock(&m->task->shm_lock);
			if (m->mapped > new_size) {
				unmap_user(m, new_size, m->mapped, true);
				m->mapped = new_size;
			}
			spin_unlock(&m->task->shm_lock);
		}
		o->kva = vrealloc(o->kva, new_size, VMF_ZERO); /* shrinks in place, frees the tail */
		o->size = new_size;
	} else if (new_size > o->size) {
		r = grow(o, new_size);
	}
	spin_unlock(&o->lock);
out:
	if (o) obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=resize handle=0x%lx size=%lu result=%ld", handle, new_size, r);
	return r;
}

__noinline long shm_share(struct task *t, u64 handle, long tid, u64 rights)
{
	long r;
	u64 mine = 0;
	struct shm_obj *o = handle_get(t, handle, &mine);
	struct task *target = task_by_tid(tid);
	if (!o) r = -EBADF;
	else if (!rights || (rights & ~SHM_ALL)) r = -EINVAL;
	else if (!(mine & SHM_SHARE) || (rights & ~mine)) r = -EACCES;
	else if (!target) r = -ESRCH;
	else {
		spin_lock(&target->shm_lock);
		/* The slot may have been reused since the lookup; a task that has released its handles is gone. */
		r = target->tid != (u32)tid || target->shm_gone ? -ESRCH : handle_add(target, o, rights);
		spin_unlock(&target->shm_lock);
	}
	if (o) obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=share handle=0x%lx tid=%ld rights=%lu result=%ld", handle, tid, rights,
	      r < 0 ? r : 0);
	return r;
}

__noinline long shm_close(struct task *t, u64 handle)
{
	spin_lock(&t->shm_lock);
	struct task_handle *th = lookup(t, handle);
	struct shm_obj *o = th ? th->obj : NULL;
	if (th) th->obj = NULL;
	spin_unlock(&t->shm_lock);
	if (o) obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=close handle=0x%lx result=%ld", handle, o ? 0L : (long)-EBADF);
	return o ? 0 : -EBADF;
}

long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out)
{
	u64 rights = 0;
	struct shm_obj *o = handle_get(t, handle, &rights);
	if (!o) return -EBADF;
	spin_lock(&o->lock);
	u64 n = 0;
	for (struct task_map *m = o->maps; m; m = m->next_on_obj) n++;
	*out = (struct vmk_shm_info){o->size, o->size >> PAGE_SHIFT, n, rights,
				     o->huge ? ALIGN_UP(o->size, PMD_SIZE) / PMD_SIZE : 0};
	spin_unlock(&o->lock);
	obj_put(o);
	return 0;
}

int shm_inherit(struct task *parent, struct task *child, const u64 *handles, u32 n)
{
	int r = 0;
	child->shm_lock = (spinlock_t)SPINLOCK_INIT;
	child->shm_gone = false;
	for (u32 i = 0; i < n && !r; i++) {
		u64 rights = 0;
		struct shm_obj *o = handle_get(parent, handles[i], &rights);
		if (!o) {
			r = -EBADF;
			break;
		}
		spin_lock(&child->shm_lock);
		long h = handle_add(child, o, rights);
		if (h < 0) r = (int)h;
		else child->inherited[child->ninherited++] = (u64)h;
		spin_unlock(&child->shm_lock);
		obj_put(o);
	}
	return r;
}

/* Moves o's charge to account `to` (task tid `to_tid`, 0 for the orphan pool); unless forced, only
 * within that account's page and object limits. Caller holds o->lock. */
static bool move_charge(struct shm_obj *o, u32 to, u32 to_tid, bool force)
{
	u32 cap = to == ORPHAN_OWNER ? VMK_ORPHAN_MAX_OBJECTS : VMK_MAX_OBJECTS;
	if (!force && READ_ONCE(owned[to]) >= cap) return false;
	if (vm_area_set_owner(o->kva, to, force)) return false;
	unsigned long f = spin_lock_irqsave(&objs_lock);
	owned[o->owner]--;
	owned[to]++;
	spin_unlock_irqrestore(&objs_lock, f);
	o->owner = to;
	o->owner_tid = to_tid;
	return true;
}

/* The parent takes an object only while it can still hand it on in turn (it has not released its own). */
static bool give_to_parent(struct shm_obj *o, struct task *parent, u32 parent_tid, bool force)
{
	if (!parent) return false;
	spin_lock(&parent->shm_lock);
	bool ok = parent->tid == parent_tid && !parent->shm_gone && move_charge(o, parent->slot, parent_tid, force);
	spin_unlock(&parent->shm_lock);
	return ok;
}

/* An exiting task's object: to its parent if it has room, else the orphan pool if it has room, else the
 * parent over its limits, else the orphan pool over its limits. Caller holds o->lock. */
static void hand_over(struct shm_obj *o, struct task *parent, u32 parent_tid)
{
	if (give_to_parent(o, parent, parent_tid, false) || move_charge(o, ORPHAN_OWNER, 0, false) ||
	    give_to_parent(o, parent, parent_tid, true))
		return;
	move_charge(o, ORPHAN_OWNER, 0, true);
}

void shm_release_task(struct task *t)
{
	unsigned long f = spin_lock_irqsave(&sched_lock);
	struct task *parent = t->parent;
	u32 parent_tid = parent ? parent->tid : 0;
	spin_unlock_irqrestore(&sched_lock, f);
	spin_lock(&t->shm_lock);
	t->shm_gone = true; /* from here on nobody can give t a handle */
	spin_unlock(&t->shm_lock);
	/* No flush: the task never returns to user mode, and its ASID is flushed when it is reaped. */
	while (unmap_one(t, 0, false)) {
	}
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++) {
		spin_lock(&t->shm_lock);
		struct shm_obj *o = t->handles[i].obj;
		t->handles[i].obj = NULL;
		spin_unlock(&t->shm_lock);
		if (o) obj_put(o);
	}
	/* What t created and others still hold changes hands, so t's account is empty for the slot's next task. */
	for (u32 i = 0; i < MAX_SHM_OBJS; i++) {
		struct shm_obj *o = &objs[i];
		if (READ_ONCE(o->owner_tid) != t->tid) continue;
		f = spin_lock_irqsave(&objs_lock);
		bool live = o->used && o->owner_tid == t->tid && __atomic_load_n(&o->refs, __ATOMIC_RELAXED);
		if (live) obj_get(o);
		spin_unlock_irqrestore(&objs_lock, f);
		if (!live) continue;
		spin_lock(&o->lock);
		if (o->owner_tid == t->tid) hand_over(o, parent, parent_tid);
		spin_unlock(&o->lock);
		obj_put(o);
	}
}

bool shm_fault(struct task *t, u64 addr, u64 cause)
{
	bool retry = false;
	if (cause != 13 && cause != 15) return false; /* instruction fetches: shm mappings are never executable */
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

u64 shm_live_objects(void)
{
	u64 n = 0;
	for (u32 i = 0; i < MAX_SHM_OBJS; i++) n += READ_ONCE(objs[i].used);
	return n;
}
