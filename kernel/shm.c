/* The shared-memory service's calls: each turns the caller's (handle, rights) into an object, checks the
 * rights and arguments in the documented error order (include/vmk/abi.h), and runs the object's
 * operation. The pieces below it, bottom up: shm_obj (table, references, accounts, seals, waiter list),
 * shm_handle (handle tables), shm_mapping (user mappings), shm_resize (the resize protocol), shm_io
 * (read/write without mapping), shm_futex (wait/wake).
 *
 * Locking: an object's lock covers its size, pages, seals, mappings and waiters; a task's shm_lock its
 * handle and mapping tables and the shm ranges of its page tables; the order is object, then task, then
 * sched_lock. No global lock is held across a copy, a page-table loop or a TLB shootdown. Object and task
 * locks are taken with interrupts on: no interrupt handler takes them and the kernel never preempts
 * itself, so a long resize under them delays no interrupt (and no IPI a TLB shootdown waits for). */
#include "kernel/shm.h"
#include "kernel/sched.h"
#include "kernel/shm_futex.h"
#include "kernel/shm_handle.h"
#include "kernel/shm_io.h"
#include "kernel/shm_mapping.h"
#include "kernel/shm_resize.h"
#include "lib/trace.h"
#include "vm/layout.h"

#define CALLER __builtin_return_address(0)

void shm_init(void) { shm_objs_init(); }

__noinline long shm_create(struct task *t, u64 size, u64 flags)
{
	long r;
	if (!size || size > VMK_SHM_MAX_SIZE || (flags & ~SHM_F_HUGE)) {
		r = -EINVAL;
	} else {
		size = ALIGN_UP(size, PAGE_SIZE);
		/* A big object is made small and grown to its size in steps (shm_resize_obj), so that its pages
		 * are not allocated and zeroed in one go with the hart held: a 200 MiB create kept every other
		 * task on its hart waiting for 50 million instructions. Nobody else can reach it meanwhile. A
		 * huge one starts at one 2 MiB block, so that it is made of blocks. */
		bool huge = flags & SHM_F_HUGE;
		u64 first = MIN(size, huge && size >= PMD_SIZE ? PMD_SIZE : SHM_STEP);
		struct shm_obj *o = shm_obj_create(t, first, huge, &r);
		if (o && first < size && (r = shm_resize_obj(o, size))) {
			bool retry = r == -ENOMEM && o->huge;
			shm_obj_put(o); /* the only reference: the object goes, its charge with it */
			o = NULL;
			/* Out of 2 MiB blocks part way (a user huge area cannot fall back in a grow): made of
			 * 4 KiB pages instead, as a huge create made in one go falls back (vmalloc_general). */
			if (retry && (o = shm_obj_create(t, MIN(size, SHM_STEP), false, &r)) &&
			    (r = shm_resize_obj(o, size))) {
				shm_obj_put(o);
				o = NULL;
			}
		}
		if (o) {
			spin_lock(&t->shm_lock);
			r = shm_handle_add(t, o, SHM_ALL, false);
			spin_unlock(&t->shm_lock);
			shm_obj_put(o); /* the creation reference: the handle holds its own, or the object goes */
		}
	}
	TRACE(TRACE_SHM, CALLER, "ev=shm op=create size=%lu handle=0x%lx result=%ld", size, r > 0 ? (u64)r : 0, r < 0 ? r : 0);
	return r;
}

/* The object behind handle h of t, with a reference, when the handle holds every right in `need`; else
 * NULL and *err -EBADF (no such handle) or -EACCES (a right missing): the first two steps of every call's
 * error order. */
static struct shm_obj *get_with(struct task *t, u64 h, u64 need, long *err)
{
	u64 rights = 0;
	struct shm_obj *o = shm_handle_get(t, h, &rights);
	*err = !o ? -EBADF : (rights & need) != need ? -EACCES : 0;
	if (*err && o) {
		shm_obj_put(o);
		o = NULL;
	}
	return o;
}

#define MAP_PROT_BITS (PROT_READ | PROT_WRITE | SHM_MAP_REQUIRE_NOSHRINK)

__noinline long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot)
{
	long r;
	struct shm_obj *o = get_with(t, handle, SHM_MAP | SHM_R | ((prot & PROT_WRITE) ? SHM_W : 0), &r);
	if (!o) goto out;
	if (max_size > VMK_SHM_MAX_SIZE || !(prot & PROT_READ) || (prot & ~MAP_PROT_BITS) || (hint & (PAGE_SIZE - 1)) ||
	    (hint && (hint < VMK_SHM_BASE || hint >= VMK_SHM_TOP))) {
		r = -EINVAL;
		goto put;
	}
	max_size = ALIGN_UP(max_size, PAGE_SIZE);
	spin_lock(&o->lock);
	if (max_size && max_size < o->size) r = -EINVAL;
	else {
		if (!max_size) max_size = o->size;
		if (hint && max_size > VMK_SHM_TOP - hint) r = -EINVAL;
		else if (((prot & PROT_WRITE) && (o->seals & SHM_SEAL_WRITE)) ||
			 ((prot & SHM_MAP_REQUIRE_NOSHRINK) && !(o->seals & SHM_SEAL_SHRINK)))
			r = -EPERM;
		else r = shm_mapping_add(t, o, hint, max_size, prot & (PROT_READ | PROT_WRITE),
					 prot & SHM_MAP_REQUIRE_NOSHRINK);
	}
	spin_unlock(&o->lock);
put:
	shm_obj_put(o);
out:
	TRACE(TRACE_SHM, CALLER, "ev=shm op=map handle=0x%lx addr=0x%lx max=%lu result=%ld", handle,
	      r > 0 ? (u64)r : 0, max_size, r < 0 ? r : 0);
	return r;
}

__noinline long shm_unmap(struct task *t, u64 addr)
{
	long r = addr && shm_mapping_drop(t, addr, true) ? 0 : -EINVAL;
	TRACE(TRACE_SHM, CALLER, "ev=shm op=unmap addr=0x%lx result=%ld", addr, r);
	return r;
}

__noinline long shm_resize(struct task *t, u64 handle, u64 new_size)
{
	long r;
	struct shm_obj *o = get_with(t, handle, SHM_RESIZE, &r);
	if (o && (!new_size || new_size > VMK_SHM_MAX_SIZE)) r = -EINVAL;
	if (r) goto out;
	new_size = ALIGN_UP(new_size, PAGE_SIZE);
	r = shm_resize_obj(o, new_size);
out:
	if (o) shm_obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=resize handle=0x%lx size=%lu result=%ld", handle, new_size, r);
	return r;
}

__noinline long shm_share(struct task *t, u64 handle, long tid, u64 rights)
{
	long r;
	u64 mine = 0;
	struct shm_obj *o = shm_handle_get(t, handle, &mine);
	struct task *target = task_by_tid(tid);
	if (!o) r = -EBADF;
	else if (!rights || (rights & ~SHM_ALL)) r = -EINVAL;
	else if (!(mine & SHM_SHARE) || (rights & ~mine)) r = -EACCES;
	else if (!target) r = -ESRCH;
	else {
		spin_lock(&target->shm_lock);
		/* The slot may have been reused since the lookup; a task still being built or that has released
		 * its handles takes none (its table is not open). */
		r = target->tid != (u32)tid || !target->shm_open ? -ESRCH : shm_handle_add(target, o, rights, target != t);
		spin_unlock(&target->shm_lock);
	}
	if (o) shm_obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=share handle=0x%lx tid=%ld rights=%lu result=%ld", handle, tid, rights,
	      r < 0 ? r : 0);
	return r;
}

__noinline long shm_close(struct task *t, u64 handle)
{
	struct shm_obj *o = shm_handle_take(t, handle);
	if (o) shm_obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=close handle=0x%lx result=%ld", handle, o ? 0L : (long)-EBADF);
	return o ? 0 : -EBADF;
}

long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out)
{
	u64 rights = 0;
	struct shm_obj *o = shm_handle_get(t, handle, &rights);
	if (!o) return -EBADF;
	spin_lock(&o->lock);
	u64 n = 0, mapped = ~0UL; /* a mapping's extent changes only under o->lock (a resize, a map, an unmap) */
	for (struct task_map *m = o->maps; m; m = m->next_on_obj, n++)
		if (m->task == t) mapped = MIN(mapped, m->mapped);
	*out = (struct vmk_shm_info){.size = o->size, .pages = o->size >> PAGE_SHIFT, .mappers = n, .rights = rights,
				     .huge = o->huge ? ALIGN_UP(o->size, PMD_SIZE) / PMD_SIZE : 0, .seals = o->seals,
				     .mapped = mapped == ~0UL ? 0 : mapped};
	spin_unlock(&o->lock);
	shm_obj_put(o);
	return 0;
}

__noinline long shm_seal(struct task *t, u64 handle, u64 seals)
{
	long r;
	/* Reading the seals (0) needs no right: a peer given the object without SHM_SEAL checks them so. */
	struct shm_obj *o = get_with(t, handle, seals ? SHM_SEAL : 0, &r);
	if (o && (seals & ~(u64)SHM_SEAL_ALL)) r = -EINVAL;
	if (r) goto out;
	spin_lock(&o->lock);
	if (seals && (o->seals & SHM_SEAL_SEAL)) r = -EPERM;
	else if ((seals & SHM_SEAL_WRITE) && !(o->seals & SHM_SEAL_WRITE) && shm_mapping_any_writable(o)) r = -EBUSY;
	else r = o->seals |= (u32)seals;
	spin_unlock(&o->lock);
out:
	if (o) shm_obj_put(o);
	TRACE(TRACE_SHM, CALLER, "ev=shm op=seal handle=0x%lx seals=%lu result=%ld", handle, seals, r < 0 ? r : 0);
	return r;
}

long shm_rw(struct task *t, u64 handle, u64 offset, u64 ubuf, u64 len, bool write)
{
	long r;
	struct shm_obj *o = get_with(t, handle, write ? SHM_W : SHM_R, &r);
	if (!o) return r;
	r = shm_io_copy(o, offset, ubuf, len, write);
	shm_obj_put(o);
	return r;
}

/* The object a wait or wake names: a handle with SHM_R, or (handle 0) the caller's own mapping holding
 * user address `*offset`, which then becomes the offset in that object. */
static struct shm_obj *futex_target(struct task *t, u64 handle, u64 *offset, long *err)
{
	if (handle) return get_with(t, handle, SHM_R, err);
	struct shm_obj *o = shm_mapping_lookup(t, *offset, offset);
	*err = o ? 0 : -EFAULT;
	return o;
}

long shm_wait(struct task *t, u64 handle, u64 offset, u64 expected, u64 timeout_ns)
{
	long r;
	struct shm_obj *o = futex_target(t, handle, &offset, &r);
	if (!o) return r;
	r = shm_futex_wait(o, offset, (u32)expected, timeout_ns);
	shm_obj_put(o);
	return r;
}

long shm_wake(struct task *t, u64 handle, u64 offset, u64 count)
{
	long r;
	struct shm_obj *o = futex_target(t, handle, &offset, &r);
	if (!o) return r;
	r = shm_futex_wake(o, offset, count);
	shm_obj_put(o);
	return r;
}

long shm_list(struct task *t, u64 *out, u32 max, u64 flags)
{
	if (flags & ~(u64)SHM_LIST_GIVEN) return -EINVAL;
	return shm_handle_list(t, out, max, flags & SHM_LIST_GIVEN);
}

bool shm_holds(struct task *t, u64 h)
{
	u64 rights;
	struct shm_obj *o = shm_handle_get(t, h, &rights);
	if (o) shm_obj_put(o);
	return o;
}

int shm_inherit(struct task *parent, struct task *child, const u64 *handles, u32 n)
{
	int r = 0;
	/* The child's record was zeroed when its slot was taken: an unlocked lock, an empty table, closed to
	 * others. Nothing here resets them: a share racing this spawn may hold the lock (it finds the
	 * table closed), and the spawn's own handles go in before any other task's can. */
	for (u32 i = 0; i < n && !r; i++) {
		u64 rights = 0;
		struct shm_obj *o = shm_handle_get(parent, handles[i], &rights);
		if (!o) {
			r = -EBADF;
			break;
		}
		spin_lock(&child->shm_lock);
		long h = shm_handle_add(child, o, rights, false); /* the spawn's own: at most VMK_SPAWN_HANDLES_MAX */
		if (h < 0) r = (int)h;
		else child->inherited[child->ninherited++] = (u64)h;
		spin_unlock(&child->shm_lock);
		shm_obj_put(o);
	}
	spin_lock(&child->shm_lock);
	child->shm_open = !r; /* a failed spawn releases what went in (shm_release_task) */
	spin_unlock(&child->shm_lock);
	return r;
}

void shm_release_task(struct task *t)
{
	spin_lock(&t->shm_lock);
	t->shm_open = false; /* from here on nobody can give t a handle */
	spin_unlock(&t->shm_lock);
	/* No flush: the task never returns to user mode, and its ASID is flushed when it is reaped. */
	while (shm_mapping_drop(t, 0, false)) {
	}
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++) {
		spin_lock(&t->shm_lock);
		struct shm_obj *o = t->handles[i].obj;
		t->handles[i].obj = NULL;
		t->handles_given -= t->handles[i].given && o;
		spin_unlock(&t->shm_lock);
		if (o) shm_obj_put(o);
	}
	shm_objs_hand_over(t);
}

bool shm_fault(struct task *t, u64 addr, u64 cause) { return shm_mapping_fault(t, addr, cause); }

u64 shm_live_objects(void) { return shm_objs_live(); }
