/* Wait and wake on a word of a shm object (kernel/shm_futex.h). Waiters are listed on the object
 * (struct shm_waiter, on each sleeper's stack); the value check, the listing and every wake happen under
 * o->lock. The wait spins on the waiter's done flag (sched_spin_until), then sleeps in
 * sched_block_until; a wake sets the flag before it takes sched_lock (and takes none while the waiter
 * still spins), and the sleeper reads it under sched_lock before it blocks: a wake between the unlock and
 * the sleep is seen, never lost. */
#include "kernel/shm_futex.h"
#include "kernel/sched.h"
#include "kernel/timer.h"

static long check_offset(struct shm_obj *o, u64 offset)
{
	if (offset & 3) return -EINVAL;
	if (offset >= o->size || o->size - offset < sizeof(u32)) return -ERANGE;
	return 0;
}

long shm_futex_wait(struct shm_obj *o, u64 offset, u32 expected, u64 timeout_ns)
{
	struct shm_waiter w = {.task = current_task(), .offset = offset, .forever = !timeout_ns};
	u64 deadline = timeout_ns ? timer_deadline_after_ns(timeout_ns) : 0;
	spin_lock(&o->lock);
	long r = check_offset(o, offset);
	if (!r && __atomic_load_n((u32 *)((u8 *)o->kva + offset), __ATOMIC_ACQUIRE) != expected) r = -EAGAIN;
	if (!r) {
		shm_obj_add_waiter(o, &w);
		shm_obj_end_hopeless_waits(o); /* alone with the object already: nobody could wake us */
	}
	spin_unlock(&o->lock);
	if (r) return r;
	r = sched_spin_until(&w.done, deadline) ? 0 : sched_block_until(&w.done, deadline);
	spin_lock(&o->lock);
	if (w.done) r = w.result; /* a wake that raced the timeout or the kill still counts */
	else shm_obj_remove_waiter(o, &w);
	spin_unlock(&o->lock);
	return r;
}

long shm_futex_wake(struct shm_obj *o, u64 offset, u64 count)
{
	spin_lock(&o->lock);
	long r = check_offset(o, offset);
	if (!r) {
		/* New waiters go to the head: wake from the tail end, the oldest first. */
		while ((u64)r < count) {
			struct shm_waiter *oldest = NULL;
			for (struct shm_waiter *w = o->waiters; w; w = w->next)
				if (w->offset == offset) oldest = w;
			if (!oldest) break;
			shm_obj_finish_waiter(o, oldest, 0);
			r++;
		}
	}
	spin_unlock(&o->lock);
	return r;
}
