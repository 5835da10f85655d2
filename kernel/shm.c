/* Shared-memory objects over vmalloc. Each object is one VM_USER vmalloc area charged to its creator;
 * user mappings point at the area's pages. Resizing goes through vrealloc: a shrink first unmaps the cut
 * tail from every mapping and fences those tasks' ASIDs on the harts that ran them, and only then lets
 * vrealloc free the pages; a grow unmaps everything first (vrealloc may move the data) and maps the
 * new pages back, so no write can land in a page being copied. Faults during that window wait on the
 * lock and retry. */
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

#define MAX_SHM_OBJS 256
#define SHM_VA_BASE 0x1000000000UL /* user addresses handed out for mappings */
#define SHM_VA_TOP 0x3000000000UL

struct shm_obj {
	bool used;
	u32 refs; /* handles + mappings */
	void *kva;
	u64 size;
	bool huge;
	struct task_map *maps;
};

static struct shm_obj objs[MAX_SHM_OBJS];
static spinlock_t shm_lock = SPINLOCK_INIT;
static bool task_gone[MAX_TASKS]; /* set once a task's handles are released: no new handles for it */

#define CALLER __builtin_return_address(0)

static u64 handle_value(struct task *t, u32 idx) { return ((u64)t->tid << 24) | ((u64)t->handles[idx].gen << 8) | idx; }

static struct task_handle *lookup(struct task *t, u64 h)
{
	u64 idx = h & 0xff, gen = (h >> 8) & 0xffff;
	if ((h >> 24) != t->tid || idx >= VMK_MAX_HANDLES) return NULL;
	struct task_handle *th = &t->handles[idx];
	return th->obj && th->gen == gen ? th : NULL;
}

static long handle_add(struct task *t, struct shm_obj *o, u64 rights)
{
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++)
		if (!t->handles[i].obj) {
			t->handles[i].obj = o;
			t->handles[i].rights = rights;
			t->handles[i].gen = (t->handles[i].gen + 1) & 0xffff;
			o->refs++;
			return (long)handle_value(t, i);
		}
	return -EMFILE;
}

static void obj_put(struct shm_obj *o)
{
	if (--o->refs) return;
	vfree(o->kva);
	o->used = false;
	o->kva = NULL;
}

static void no_free(void *ctx, u64 pa, int level) { (void)ctx; (void)pa; (void)level; }

static void unmap_user(struct task_map *m, u64 from, u64 to)
{
	if (to <= from) return;
	pt_unmap(m->task->root_pa, m->uva + from, to - from, no_free, NULL);
	aspace_flush(m->task, m->uva + from, to - from);
}

static int map_user(struct task_map *m, u64 from, u64 to)
{
	u64 pte = PTE_R | ((m->prot & PROT_WRITE) ? PTE_W : 0) | PTE_U;
	for (u64 off = from; off < to; off += PAGE_SIZE) {
		u64 pa = vmalloc_to_pa((u8 *)m->obj->kva + off);
		int e = pt_map(m->task->root_pa, m->uva + off, pa, PAGE_SIZE, pte, 0);
		if (e) {
			pt_unmap(m->task->root_pa, m->uva + from, off - from, no_free, NULL);
			return e;
		}
	}
	return 0;
}

long shm_create(struct task *t, u64 size, u64 flags)
{
	if (!size || size > VMK_SHM_MAX_SIZE || (flags & ~SHM_F_HUGE)) return -EINVAL;
	size = ALIGN_UP(size, PAGE_SIZE);
	void *kva = __vmalloc_owner(size, PAGE_SIZE, VMF_ZERO | VMF_USER | ((flags & SHM_F_HUGE) ? VMF_HUGE : 0),
				    NUMA_NO_NODE, t->slot, CALLER);
	if (!kva) return -ENOMEM;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	long r = -ENOMEM;
	for (u32 i = 0; i < MAX_SHM_OBJS; i++)
		if (!objs[i].used) {
			struct shm_obj *o = &objs[i];
			*o = (struct shm_obj){.used = true, .kva = kva, .size = size};
			struct vm_area *a = find_vm_area(kva);
			o->huge = a && (a->flags & VM_HUGE);
			r = handle_add(t, o, SHM_ALL);
			if (r < 0) o->used = false;
			break;
		}
	spin_unlock_irqrestore(&shm_lock, f);
	if (r < 0) vfree(kva);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=create size=%lu handle=0x%lx result=%ld", size, r > 0 ? (u64)r : 0, r < 0 ? r : 0);
	return r;
}

static bool range_free(struct task *t, u64 va, u64 len)
{
	if (va < SHM_VA_BASE || va + len > SHM_VA_TOP || va + len < va) return false;
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (m->obj && va < m->uva + m->max_size && m->uva < va + len) return false;
	}
	return true;
}

static u64 find_va(struct task *t, u64 hint, u64 len)
{
	if (hint && range_free(t, hint, len)) return hint;
	/* First fit: candidates are the region base and the end of each mapping (+ a guard page). */
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

long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot)
{
	long r;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	struct task_handle *th = lookup(t, handle);
	if (!th) { r = -EBADF; goto out; }
	if (!(th->rights & SHM_MAP) || !(th->rights & SHM_R) || ((prot & PROT_WRITE) && !(th->rights & SHM_W))) {
		r = -EACCES;
		goto out;
	}
	struct shm_obj *o = th->obj;
	if (max_size > VMK_SHM_MAX_SIZE) { /* before rounding: ~0 must not wrap to 0 */
		r = -EINVAL;
		goto out;
	}
	max_size = ALIGN_UP(max_size, PAGE_SIZE);
	u64 span = max_size ? max_size : o->size;
	if (!prot || (prot & ~(PROT_READ | PROT_WRITE)) || !(prot & PROT_READ) ||
	    (max_size && max_size < o->size) || max_size > VMK_SHM_MAX_SIZE || (hint & (PAGE_SIZE - 1)) ||
	    (hint && (hint >= VMK_USER_TOP || span > VMK_USER_TOP - hint))) {
		r = -EINVAL;
		goto out;
	}
	if (!max_size) max_size = o->size;
	struct task_map *m = NULL;
	for (u32 i = 0; i < VMK_MAX_MAPS && !m; i++)
		if (!t->maps[i].obj) m = &t->maps[i];
	if (!m) { r = -EMFILE; goto out; }
	u64 uva = find_va(t, hint, max_size);
	if (!uva) { r = -ENOMEM; goto out; }
	*m = (struct task_map){.obj = o, .uva = uva, .max_size = max_size, .prot = prot, .mapped = o->size, .task = t};
	if (map_user(m, 0, o->size)) {
		m->obj = NULL;
		r = -ENOMEM;
		goto out;
	}
	m->next_on_obj = o->maps;
	o->maps = m;
	o->refs++;
	r = (long)uva;
out:
	spin_unlock_irqrestore(&shm_lock, f);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=map handle=0x%lx addr=0x%lx max=%lu result=%ld", handle,
	      r > 0 ? (u64)r : 0, max_size, r < 0 ? r : 0);
	return r;
}

static void map_remove(struct task_map *m)
{
	struct shm_obj *o = m->obj;
	for (struct task_map **pp = &o->maps; *pp; pp = &(*pp)->next_on_obj)
		if (*pp == m) {
			*pp = m->next_on_obj;
			break;
		}
	m->obj = NULL;
	obj_put(o);
}

long shm_unmap(struct task *t, u64 addr)
{
	long r = -EINVAL;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (m->obj && m->uva == addr) {
			unmap_user(m, 0, m->mapped);
			map_remove(m);
			r = 0;
			break;
		}
	}
	spin_unlock_irqrestore(&shm_lock, f);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=unmap addr=0x%lx result=%ld", addr, r);
	return r;
}

long shm_resize(struct task *t, u64 handle, u64 new_size)
{
	long r = 0;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	struct task_handle *th = lookup(t, handle);
	if (!th) { r = -EBADF; goto out; }
	if (!(th->rights & SHM_RESIZE)) { r = -EACCES; goto out; }
	if (!new_size || new_size > VMK_SHM_MAX_SIZE) { r = -EINVAL; goto out; }
	struct shm_obj *o = th->obj;
	new_size = ALIGN_UP(new_size, PAGE_SIZE);
	if (new_size < o->size) {
		for (struct task_map *m = o->maps; m; m = m->next_on_obj)
			if (m->mapped > new_size) {
				unmap_user(m, new_size, m->mapped);
				m->mapped = new_size;
			}
		o->kva = vrealloc(o->kva, new_size, VMF_ZERO); /* shrinks in place, frees the tail */
		o->size = new_size;
	} else if (new_size > o->size) {
		for (struct task_map *m = o->maps; m; m = m->next_on_obj) unmap_user(m, 0, m->mapped);
		void *n = vrealloc(o->kva, new_size, VMF_ZERO);
		if (n) {
			o->kva = n;
			o->size = new_size;
		} else {
			r = -ENOMEM;
		}
		for (struct task_map *m = o->maps; m; m = m->next_on_obj) {
			m->mapped = MIN(o->size, m->max_size);
			if (map_user(m, 0, m->mapped)) m->mapped = 0; /* out of table memory: later accesses fault */
		}
	}
out:
	spin_unlock_irqrestore(&shm_lock, f);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=resize handle=0x%lx size=%lu result=%ld", handle, new_size, r);
	return r;
}

long shm_share(struct task *t, u64 handle, long tid, u64 rights)
{
	long r;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	struct task_handle *th = lookup(t, handle);
	struct task *target = task_by_tid(tid);
	if (!th) r = -EBADF;
	else if (!rights || (rights & ~SHM_ALL)) r = -EINVAL;
	else if (!(th->rights & SHM_SHARE) || (rights & ~th->rights)) r = -EACCES;
	else if (!target || task_gone[target->slot]) r = -ESRCH;
	else r = handle_add(target, th->obj, rights);
	spin_unlock_irqrestore(&shm_lock, f);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=share handle=0x%lx tid=%ld rights=%lu result=%ld", handle, tid, rights,
	      r < 0 ? r : 0);
	return r;
}

long shm_close(struct task *t, u64 handle)
{
	long r = -EBADF;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	struct task_handle *th = lookup(t, handle);
	if (th) {
		struct shm_obj *o = th->obj;
		th->obj = NULL;
		obj_put(o);
		r = 0;
	}
	spin_unlock_irqrestore(&shm_lock, f);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=close handle=0x%lx result=%ld", handle, r);
	return r;
}

long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out)
{
	unsigned long f = spin_lock_irqsave(&shm_lock);
	struct task_handle *th = lookup(t, handle);
	if (th) {
		u64 n = 0;
		for (struct task_map *m = th->obj->maps; m; m = m->next_on_obj) n++;
		*out = (struct vmk_shm_info){th->obj->size, th->obj->size >> PAGE_SHIFT, n, th->rights,
					     th->obj->huge ? ALIGN_UP(th->obj->size, PMD_SIZE) / PMD_SIZE : 0};
	}
	spin_unlock_irqrestore(&shm_lock, f);
	return th ? 0 : -EBADF;
}

int shm_inherit(struct task *parent, struct task *child, const u64 *handles, u32 n)
{
	int r = 0;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	task_gone[child->slot] = false; /* the slot's previous task is gone; this one may receive handles */
	for (u32 i = 0; i < n && !r; i++) {
		struct task_handle *th = lookup(parent, handles[i]);
		long h = th ? handle_add(child, th->obj, th->rights) : -EBADF;
		if (h < 0) r = (int)h;
		else child->inherited[child->ninherited++] = (u64)h;
	}
	spin_unlock_irqrestore(&shm_lock, f);
	return r;
}

void shm_release_task(struct task *t)
{
	unsigned long f = spin_lock_irqsave(&shm_lock);
	task_gone[t->slot] = true;
	for (u32 i = 0; i < VMK_MAX_MAPS; i++)
		if (t->maps[i].obj) {
			/* No flush: the task never runs again and its ASID is flushed when it is reaped. */
			pt_unmap(t->root_pa, t->maps[i].uva, t->maps[i].mapped, no_free, NULL);
			map_remove(&t->maps[i]);
		}
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++)
		if (t->handles[i].obj) {
			struct shm_obj *o = t->handles[i].obj;
			t->handles[i].obj = NULL;
			obj_put(o);
		}
	spin_unlock_irqrestore(&shm_lock, f);
}

bool shm_fault(struct task *t, u64 addr, u64 cause)
{
	bool retry = false;
	unsigned long f = spin_lock_irqsave(&shm_lock);
	for (u32 i = 0; i < VMK_MAX_MAPS; i++) {
		struct task_map *m = &t->maps[i];
		if (!m->obj || addr < m->uva || addr >= m->uva + m->max_size) continue;
		struct pt_walk w;
		bool write = cause == EXC_STORE_PAGE;
		/* Mapped by now (a resize finished while we waited for the lock) with the access allowed? */
		if (addr - m->uva < m->mapped && !pt_walk(t->root_pa, addr, &w) && (!write || (w.pte & PTE_W)))
			retry = true;
	}
	spin_unlock_irqrestore(&shm_lock, f);
	return retry;
}

u64 shm_live_objects(void)
{
	u64 n = 0;
	for (u32 i = 0; i < MAX_SHM_OBJS; i++) n += objs[i].used;
	return n;
}
