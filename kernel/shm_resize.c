/* The resize protocol (kernel/shm_resize.h). vrealloc does the memory side: a shrink frees the tail in
 * place, a grow keeps every page that stays (a move takes them along), so mappings of the kept pages stay
 * valid throughout and no task ever sees them unmapped, not even for a moment.
 *
 * Why in steps: a resize allocates, zeroes and maps, or unmaps and frees, every page it adds or cuts
 * (about 1,000 instructions a page to grow, 200 to shrink: 50 million for 200 MiB). Under the object's
 * lock in one go, a peer's read, wake or map of that object waited for all of it, and on one hart no
 * other task ran meanwhile (the kernel does not preempt itself). So the object's pages are added or freed
 * RESIZE_STEP at a time, and the mappings' entries written or cleared STEP_PAGES at a time across all of
 * them (a peer's many mappings multiplied a grow's entries), with the lock let go between steps
 * (shm_obj_between_steps: a waiter gets in, the hart is yielded when the time slice is over, a killed
 * caller stops and undoes). What a peer can see meanwhile is only the old size (a grow) or already the
 * new one (a shrink): the pages past o->size are nobody's but the resize's, and o->resizing keeps a
 * second resize out until this one ends. */
#include "kernel/shm_resize.h"
#include "kernel/shm_mapping.h"
#include "kernel/sched.h"
#include "vm/vmalloc.h"

#define RESIZE_STEP SHM_STEP
#define TURN_POLL_NS 200000     /* how often a resize waiting for another's end looks again */

/* Why a resize of o to new_size is refused as things stand (0: it is not); re-asked after every step of
 * a grow, since a seal or a move to the orphan pool may come in between. Caller holds o->lock. */
static long refused(struct shm_obj *o, u64 new_size)
{
	if (new_size < o->size && (o->seals & SHM_SEAL_SHRINK)) return -EPERM;
	if (new_size > o->size && (o->seals & SHM_SEAL_GROW)) return -EPERM;
	/* The pool is every orphan's: one holder may not grow one object into all of it. */
	if (new_size > o->size && o->owner == SHM_ORPHAN_OWNER && new_size > VMK_ORPHAN_GROW_PAGES * PAGE_SIZE)
		return -ENOMEM;
	return 0;
}

/* Lets o->lock go for a moment between steps and takes it again. Caller holds it. */
static long between_steps(struct shm_obj *o)
{
	spin_unlock(&o->lock);
	long e = shm_obj_between_steps(o, true);
	spin_lock(&o->lock);
	return e;
}

/* Frees the object's pages from `have` bytes down to `to`, from the top, a step at a time. Nobody else
 * reaches them: o->size is `to` at most (a shrink publishes it first, a failed grow never published more).
 * A killed caller finishes anyway (it still yields between steps): what it frees is already cut off. */
static void free_down_to(struct shm_obj *o, u64 have, u64 to)
{
	for (;;) {
		have = have - to > RESIZE_STEP ? have - RESIZE_STEP : to;
		o->kva = vrealloc(o->kva, have, VMF_ZERO); /* in place: frees the tail, keeps the rest */
		if (have == to) break;
		between_steps(o);
	}
}

/* Page-table entries a step writes or clears, across all the mappings: as many as a step's pages. */
#define STEP_PAGES (RESIZE_STEP / PAGE_SIZE)

/* The size is published first and the waits past it ended, so nobody reaches the cut part through the
 * object any more; then every mapping is cut, a step's entries at a time (a mapping made meanwhile maps
 * the new size only; one unmapped meanwhile takes its half-cut part along), and the kernel's pages go
 * from the top down once no mapping reaches them. Nothing can fail. */
static void shrink(struct shm_obj *o, u64 new_size)
{
	for (struct shm_waiter *w = o->waiters, *next; w; w = next) {
		next = w->next;
		if (w->offset + sizeof(u32) > new_size) shm_obj_finish_waiter(o, w, -ERANGE);
	}
	u64 have = o->size;
	o->size = new_size;
	for (;;) {
		u64 budget = STEP_PAGES;
		bool cut = true;
		for (struct task_map *m = o->maps; m; m = m->next_on_obj) cut &= shm_mapping_cut(m, new_size, &budget);
		if (cut) break;
		between_steps(o); /* the mappings are looked up again: one may have gone */
	}
	free_down_to(o, have, new_size);
}

/* One step of the mappings' part of a grow, once all its pages are there (have). A mapping being
 * unmapped (leaving) is passed by, and so is one still being made (filling): its own SYS_shm_map fills it
 * up to the size it finds at its last step, and one that ends its fill while this grow runs is asked at
 * the next step. Every other mapping not yet asked in this grow (number gen) gets tables for its new part
 * (its mapper pays for them, or that mapping does not follow: shm_mapping_reserve), then up to `budget`
 * entries are written, mapping by mapping. The grower's own mappings are asked first: they must follow,
 * and a descendant's, which count in the grower's account too, must not take their room. A mapping made
 * while the lock was let go is asked at the next step, so every mapping the grow publishes to has
 * followed. */
static long follow_step(struct shm_obj *o, u64 have, u64 new_size, u64 gen, u64 budget)
{
	struct task_map *m;
	for (int own = 1; own >= 0; own--)
		for (m = o->maps; m; m = m->next_on_obj)
			if (!m->filling && !m->leaving && m->follow_gen != gen && (m->task == current_task()) == own) {
				m->follow_gen = gen;
				if (shm_mapping_reserve(m, new_size)) return -ENOMEM;
			}
	for (m = o->maps; m && budget; m = m->next_on_obj)
		if (!m->filling && !m->leaving && shm_mapping_fill(m, o->kva, have, &budget)) return -ENOMEM;
	return 0;
}

/* Entries the mappings asked so far still lack (0: every one has followed). */
static u64 behind(const struct shm_obj *o)
{
	u64 n = 0;
	for (const struct task_map *m = o->maps; m; m = m->next_on_obj)
		if (!m->filling && !m->leaving) n += (m->grow_to - m->filled) >> PAGE_SHIFT;
	return n;
}

/* The object's range is made room for at once (one move of its leaves at most), then grown a step at a
 * time; vrealloc charges each step's pages to the owner of the moment (a hand-over may move the object
 * between steps, charge and all). Then the mappings follow step by step (follow_step), so a mapper's
 * tables, which may count in the same accounts, never take the room the grower needs, and the size is
 * published when every mapping's entries are there. A failure at any point shrinks the object
 * back, after every mapping has let go of the new part, so the pages go only once no mapping reaches them;
 * every mapper is left exactly as it was. */
static long grow(struct shm_obj *o, u64 new_size)
{
	u64 old = o->size, have = old, gen = ++o->grow_gen;
	/* Refused when the owner could not pay for the growth as things stand: nothing done yet, and no
	 * address space kept (vm/vmalloc.h). A grow of one step needs no room of its own: vrealloc moves
	 * the area itself if it must (the common small grow saves a lookup, 94 instructions in all). */
	if (new_size - old > RESIZE_STEP) {
		void *room = vrealloc_room(o->kva, new_size);
		if (!room) return -ENOMEM;
		o->kva = room;
	}
	long e = 0;
	/* Steps left, once every page is there, before the entries still missing are written in one go: a
	 * peer that kept making new mappings (each needs the whole new part, and is asked at the next step)
	 * could otherwise keep the grow from ever publishing. Enough for what is behind then, and some. */
	u64 fill_steps = ~0ULL;
	for (;;) {
		/* Counted from the first step after the page phase's last: the mappings were asked in that one. */
		if (have == new_size) fill_steps = fill_steps == ~0ULL ? behind(o) / STEP_PAGES + 8 : fill_steps - !!fill_steps;
		if (have < new_size) {
			u64 to = new_size - have > RESIZE_STEP ? have + RESIZE_STEP : new_size;
			void *n = vrealloc(o->kva, to, VMF_ZERO);
			if (!n) {
				e = -ENOMEM;
				break;
			}
			o->kva = n; /* in place after the first step (the room is there); the pointer is vrealloc's */
			have = to;
		}
		/* The mappings are asked only once every page is charged: a mapper's tables may count in the
		 * grower's accounts (a child's), and must not take the room its pages need. */
		if (have == new_size) {
			if ((e = follow_step(o, have, new_size, gen, fill_steps ? STEP_PAGES : ~0ULL >> PAGE_SHIFT))) break;
			if (!behind(o)) break;
		}
		/* Seals and the pool's rule may have changed while the lock was let go: asked again. */
		if ((e = between_steps(o)) || (e = refused(o, new_size))) break;
	}
	struct task_map *m;
	if (e) {
		for (m = o->maps; m; m = m->next_on_obj)
			if (m->follow_gen == gen) shm_mapping_unfill(m);
		if (have > old) free_down_to(o, have, old); /* in place, the kept pages untouched */
		return e;
	}
	for (m = o->maps; m; m = m->next_on_obj)
		if (!m->filling && !m->leaving) shm_mapping_commit(m);
	o->size = new_size;
	return 0;
}

long shm_resize_obj(struct shm_obj *o, u64 new_size)
{
	long e = 0;
	spin_lock(&o->lock);
	while (o->resizing && !e) {
		spin_unlock(&o->lock);
		e = task_sleep_ns(TURN_POLL_NS);
		spin_lock(&o->lock);
	}
	if (!e) e = refused(o, new_size);
	if (!e && new_size != o->size) {
		o->resizing = true;
		if (new_size < o->size) shrink(o, new_size);
		else e = grow(o, new_size);
		o->resizing = false;
	}
	spin_unlock(&o->lock);
	return e;
}
