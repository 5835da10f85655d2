/* The shm object table: slots, references, the page accounts objects are charged to and their hand-over
 * when an owner exits, and the waiter list primitives (kernel/shm_obj.h).
 *
 * Ownership: an object's pages are charged to its creator's account (the vmalloc owner named by the
 * creator's slot, together with its tid). When the creator exits, every object it still owns moves to its
 * parent if the parent has room, else to the orphan pool (its own page and object limits), else to the
 * parent over its limits; so an account is always empty when its slot is reused. */
#include "kernel/shm_obj.h"
#include "kernel/sched.h"
#include "kernel/timer.h"
#include "vm/vmalloc.h"

/* Every live object is held by a handle or a mapping of a live task, so this many slots can never run
 * out: no task can exhaust the table for the others. */
#define MAX_SHM_OBJS (MAX_TASKS * (VMK_MAX_HANDLES + VMK_MAX_MAPS))
#define NR_ACCOUNTS (MAX_TASKS + 1)

static struct shm_obj objs[MAX_SHM_OBJS];
static spinlock_t objs_lock = SPINLOCK_INIT; /* slot allocation and owned[] only */
static u32 owned[NR_ACCOUNTS];               /* objects charged to each account */

#define CALLER __builtin_return_address(0)

void shm_objs_init(void) { vm_owner_set_limit(SHM_ORPHAN_OWNER, VMK_ORPHAN_QUOTA_PAGES); }

__noinline struct shm_obj *shm_obj_create(struct task *t, u64 size, bool huge, long *err)
{
	void *kva = __vmalloc_owner(size, PAGE_SIZE, VMF_ZERO | VMF_USER | (huge ? VMF_HUGE : 0), NUMA_NO_NODE,
				    t->slot, CALLER);
	if (!kva) {
		*err = -ENOMEM;
		return NULL;
	}
	struct vmap_area *a = find_vm_area(kva);
	struct shm_obj *o = NULL;
	unsigned long f = spin_lock_irqsave(&objs_lock);
	if (owned[t->slot] < VMK_MAX_OBJECTS)
		for (u32 i = 0; i < MAX_SHM_OBJS; i++)
			if (!objs[i].used) {
				o = &objs[i];
				*o = (struct shm_obj){.lock = SPINLOCK_INIT, .owner = t->slot, .owner_tid = t->tid,
						      .used = true, .huge = a && (a->flags & VM_HUGE), .kva = kva, .size = size};
				/* refs last, by one atomic store: a put that retakes a reference on a slot it
				 * no longer holds (get_unless_zero) sees 0 until the object is whole. */
				__atomic_store_n(&o->refs, 1, __ATOMIC_RELEASE);
				owned[t->slot]++;
				break;
			}
	spin_unlock_irqrestore(&objs_lock, f);
	if (!o) {
		vfree(kva);
		*err = -EMFILE;
	}
	return o;
}

void shm_obj_get(struct shm_obj *o) { __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED); }

/* References task t holds on o through its tables. Caller holds o->lock (t->shm_lock nests inside). */
static u32 task_refs_on(struct task *t, struct shm_obj *o)
{
	u32 n = 0;
	spin_lock(&t->shm_lock);
	for (u32 i = 0; i < t->handles_hi; i++) n += t->handles[i].obj == o;
	for (u32 i = 0; i < t->maps_hi; i++) n += t->maps[i].obj == o;
	spin_unlock(&t->shm_lock);
	return n;
}

/* When every reference left is an untimed waiter's (its tables, plus the one each holds through its
 * call), no other task can reach the object to wake them: end their waits. A timed waiter's references
 * count as another task's: its wait ends by itself, and then it can wake them. A reference taken
 * meanwhile by a caller in flight only delays this to that caller's own put. */
void shm_obj_end_hopeless_waits(struct shm_obj *o)
{
	u32 theirs = 0;
	for (struct shm_waiter *w = o->waiters; w; w = w->next)
		if (w->forever) theirs += 1 + task_refs_on(w->task, o);
	if (!o->waiters || theirs != __atomic_load_n(&o->refs, __ATOMIC_ACQUIRE)) return;
	for (struct shm_waiter *w = o->waiters, *next; w; w = next) {
		next = w->next;
		if (w->forever) shm_obj_finish_waiter(o, w, -EPIPE);
	}
}

/* A reference taken back by a put that already gave its own up, unless none is left (then the object
 * is being freed, and nobody waits on it: each waiter holds a reference). The slot may have been reused
 * meanwhile: the reference is then to the new object, which the caller puts again at once. */
static bool get_unless_zero(struct shm_obj *o)
{
	u32 refs = __atomic_load_n(&o->refs, __ATOMIC_RELAXED);
	while (refs && !__atomic_compare_exchange_n(&o->refs, &refs, refs + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
	}
	return refs != 0;
}

static u64 steps_taken; /* shm_objs_steps: one atomic add a step, a step being tens of microseconds */

static void count_step(void) { __atomic_fetch_add(&steps_taken, 1, __ATOMIC_RELAXED); }

u64 shm_objs_steps(void) { return __atomic_load_n(&steps_taken, __ATOMIC_RELAXED); }

static void free_step(void *ctx)
{
	(void)ctx;
	count_step();
	task_yield_if_slice_over();
}

void shm_obj_put(struct shm_obj *o)
{
	if (READ_ONCE(o->waiters)) {
		/* Give the reference up under the lock, so that the hopeless-wait check runs while ours still
		 * keeps the slot from being freed and reused (a create would reset the lock we hold). */
		spin_lock(&o->lock);
		u32 left = __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
		if (left) shm_obj_end_hopeless_waits(o);
		spin_unlock(&o->lock);
		if (left) return;
	} else if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL)) {
		/* A waiter that listed itself after our look, and read refs before our decrement, must still
		 * learn whether ours made its wait hopeless: the decrement is fully ordered, and so is the
		 * waiter's listing before its own check (shm_obj_add_waiter), so one of the two sees the
		 * other. Seen here: take a reference back and put it again, this time under the lock. */
		if (READ_ONCE(o->waiters) && get_unless_zero(o)) shm_obj_put(o);
		return;
	}
	/* Nobody reaches the object now; a big one is freed a megabyte at a time all the same, with the hart
	 * given up when the slice is over, so a last close or an exit holds no other task off its hart for
	 * long (a 1 GiB object: about 50 million instructions). Its charge goes as its pages do. */
	vfree_in_steps(o->kva, free_step, NULL);
	unsigned long f = spin_lock_irqsave(&objs_lock);
	owned[o->owner]--;
	o->kva = NULL;
	o->used = false;
	spin_unlock_irqrestore(&objs_lock, f);
}

void shm_obj_add_waiter(struct shm_obj *o, struct shm_waiter *w)
{
	w->next = o->waiters;
	o->waiters = w;
	/* Listed before the caller reads refs to judge its wait: pairs with shm_obj_put's ordered decrement
	 * then look at the list, so a put and a new waiter cannot each miss the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void shm_obj_remove_waiter(struct shm_obj *o, struct shm_waiter *w)
{
	for (struct shm_waiter **pp = &o->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

void shm_obj_finish_waiter(struct shm_obj *o, struct shm_waiter *w, long result)
{
	shm_obj_remove_waiter(o, w);
	w->result = result;
	/* After this the sleeper may return and its stack frame, w included, is gone: w is not touched again. */
	sched_wake_task(w->task, &w->done);
}

/* Moves o's charge to account `to` (task tid `to_tid`, 0 for the orphan pool); unless forced, only
 * within that account's page and object limits. Caller holds o->lock. */
static bool move_charge(struct shm_obj *o, u32 to, u32 to_tid, bool force)
{
	u32 cap = to == SHM_ORPHAN_OWNER ? VMK_ORPHAN_MAX_OBJECTS : VMK_MAX_OBJECTS;
	/* The object's place in `to`'s count is taken first, under the lock shm_obj_create counts under, so
	 * that a create racing this hand-over cannot take it too and leave `to` past its cap. */
	unsigned long f = spin_lock_irqsave(&objs_lock);
	bool room = force || owned[to] < cap;
	owned[to] += room;
	spin_unlock_irqrestore(&objs_lock, f);
	if (!room) return false;
	bool moved = !vm_area_set_owner(o->kva, to, force);
	f = spin_lock_irqsave(&objs_lock);
	if (moved) owned[o->owner]--;
	else owned[to]--;
	spin_unlock_irqrestore(&objs_lock, f);
	if (!moved) return false;
	o->owner = to;
	o->owner_tid = to_tid;
	return true;
}

enum give { GIVEN, NO_ROOM, PARENT_CLOSING };

/* The parent takes an object only while it can still hand it on in turn (it has not released its own).
 * A parent that is releasing its own is exiting too: it hands t to its own parent as soon as its release
 * is done (kernel/task.c, task_exit), so the caller waits for that rather than send the object to the
 * pool, which would take it out of the subtree's account. */
static enum give give_to_parent(struct shm_obj *o, struct task *parent, u32 parent_tid, bool force)
{
	if (!parent) return NO_ROOM;
	spin_lock(&parent->shm_lock);
	/* A changed tid: the parent has ended (and been reaped) since parent_of; t has been handed to the
	 * parent's parent by then, so ask again, as for a closing parent. */
	enum give g = parent->tid != parent_tid || !parent->shm_open	? PARENT_CLOSING
		      : move_charge(o, parent->slot, parent_tid, force) ? GIVEN
									 : NO_ROOM;
	spin_unlock(&parent->shm_lock);
	return g;
}

/* To the parent if it has room, else to the pool if it has, else to either beyond its limits. Caller
 * holds o->lock. PARENT_CLOSING: nothing moved, ask again once the parent has handed t on. */
static enum give hand_over(struct shm_obj *o, struct task *parent, u32 parent_tid)
{
	enum give g = give_to_parent(o, parent, parent_tid, false);
	if (g != NO_ROOM) return g;
	if (move_charge(o, SHM_ORPHAN_OWNER, 0, false)) return GIVEN;
	/* A parent that began closing (or ended) meanwhile: ask again. */
	if ((g = give_to_parent(o, parent, parent_tid, true)) != NO_ROOM) return g;
	move_charge(o, SHM_ORPHAN_OWNER, 0, true);
	return GIVEN;
}

/* t's parent now and its tid (0 with none): it changes when the parent exits (task_exit). */
static struct task *parent_of(struct task *t, u32 *tid)
{
	unsigned long f = sched_lock_irqsave();
	struct task *p = t->parent;
	*tid = p ? p->tid : 0;
	sched_unlock_irqrestore(f);
	return p;
}

void shm_objs_hand_over(struct task *t)
{
	for (u32 i = 0; i < MAX_SHM_OBJS; i++) {
		struct shm_obj *o = &objs[i];
		if (READ_ONCE(o->owner_tid) != t->tid) continue;
		unsigned long f = spin_lock_irqsave(&objs_lock);
		/* A reference only while one is still held: shm_obj_put drops the last without objs_lock, so a
		 * check of refs and then an increment could revive an object already on its way to vfree. */
		bool mine = o->used && o->owner_tid == t->tid;
		bool live = mine && get_unless_zero(o), dying = mine && !live;
		spin_unlock_irqrestore(&objs_lock, f);
		/* One whose last reference another task is dropping right now is still charged to t until its
		 * vfree returns: wait for that (it never blocks for long), or t's slot would be reused with
		 * the charge still on it, and the next task there would start without its whole quota. */
		while (dying && READ_ONCE(o->used) && READ_ONCE(o->owner_tid) == t->tid) task_yield();
		if (!live) continue;
		for (;;) {
			u32 parent_tid;
			struct task *parent = parent_of(t, &parent_tid);
			spin_lock(&o->lock);
			enum give g = o->owner_tid == t->tid ? hand_over(o, parent, parent_tid) : GIVEN;
			spin_unlock(&o->lock);
			if (g != PARENT_CLOSING) break;
			task_yield(); /* the parent's release never waits for t: it ends */
		}
		shm_obj_put(o);
	}
}

/* A waiter of the object's lock (a peer's wake, resize or copy, on another hart) gets it before the next
 * step, so a long operation holds it one step at a time for them as well. The lock is not fair
 * (lib/spinlock.h says why), and a waiter asleep in wfi needs an IPI and a wake-up, far longer than the
 * stepping task needs to take the lock again: without this, a peer waited out the whole call (129 ms for
 * a 200 MiB write, in a reviewer's run). The wait is bounded: a waiter that does not come (its vCPU
 * descheduled) costs at most HANDOFF_WAIT_NS. Nor does a long operation keep its hart past its time
 * slice: the tick only marks the task, for a yield on its way back to user mode. */
#define HANDOFF_WAIT_NS 50000

long shm_obj_between_steps(struct shm_obj *o, bool may_yield)
{
	count_step();
	if (READ_ONCE(o->lock.waiting)) {
		u64 until = timer_now_ns() + HANDOFF_WAIT_NS;
		while (READ_ONCE(o->lock.waiting) && !READ_ONCE(o->lock.locked) && timer_now_ns() < until)
			cpu_relax();
	}
	if (may_yield) task_yield_if_slice_over();
	/* After the yield: a killed caller that must finish anyway (a shrink) still gives its hart up. */
	return READ_ONCE(current_task()->killed) ? -EINTR : 0;
}

u64 shm_objs_live(void)
{
	u64 n = 0;
	for (u32 i = 0; i < MAX_SHM_OBJS; i++) n += READ_ONCE(objs[i].used);
	return n;
}
