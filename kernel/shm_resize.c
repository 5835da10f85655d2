/* The resize protocol (kernel/shm_resize.h). vrealloc does the memory side: a shrink frees the tail in
 * place, a grow keeps every page that stays (a move takes them along), so mappings of the kept pages stay
 * valid throughout and no task ever sees them unmapped, not even for a moment. */
#include "kernel/shm_resize.h"
#include "kernel/shm_mapping.h"
#include "vm/vmalloc.h"

static void shrink(struct shm_obj *o, u64 new_size)
{
	for (struct task_map *m = o->maps; m; m = m->next_on_obj) shm_mapping_cut(m, new_size);
	for (struct shm_waiter *w = o->waiters, *next; w; w = next) {
		next = w->next;
		if (w->offset + sizeof(u32) > new_size) shm_obj_finish_waiter(o, w, -ERANGE);
	}
	o->kva = vrealloc(o->kva, new_size, VMF_ZERO); /* in place: frees the tail, keeps the rest */
	o->size = new_size;
}

/* The object grows first (vrealloc charges the pages to the owner: a mapper's tables, which may count
 * in the same accounts, its child's say, never take the room the grower needs), then every mapping gets
 * tables for its new part (its mapper pays for them, or that mapping does not follow:
 * shm_mapping_reserve), then each maps its new part and the size is committed. A failure at any step
 * undoes them all: each mapping loses whatever it gained past its mapped part, leaves, the empty tables
 * reserved for them and their charge, before the grown object shrinks back, so the pages go only once no
 * mapping reaches them; every mapper is left exactly as it was. */
static long grow(struct shm_obj *o, u64 new_size)
{
	struct task_map *m;
	int e = 0;
	u64 old = o->size;
	void *n = vrealloc(o->kva, new_size, VMF_ZERO);
	if (!n) return -ENOMEM; /* nothing done yet */
	/* The grower's own mappings first: they must follow, and a descendant's, which count in the
	 * grower's account too, must not take their room (mappings made later come first in o->maps). */
	for (m = o->maps; m && !e; m = m->next_on_obj)
		if (m->task == current_task()) e = shm_mapping_reserve(m, new_size);
	for (m = o->maps; m && !e; m = m->next_on_obj)
		if (m->task != current_task()) e = shm_mapping_reserve(m, new_size);
	for (m = o->maps; m && !e; m = m->next_on_obj) e = shm_mapping_fill(m, n);
	if (e) {
		for (m = o->maps; m; m = m->next_on_obj) shm_mapping_unfill(m);
		o->kva = vrealloc(n, old, VMF_ZERO); /* a shrink: in place, the kept pages untouched */
		return -ENOMEM;
	}
	o->kva = n;
	for (m = o->maps; m; m = m->next_on_obj) shm_mapping_commit(m);
	o->size = new_size;
	return 0;
}

long shm_resize_locked(struct shm_obj *o, u64 new_size)
{
	if (new_size < o->size) shrink(o, new_size);
	else if (new_size > o->size) return grow(o, new_size);
	return 0;
}
