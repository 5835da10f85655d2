/* Copies between user buffers and shm objects (kernel/shm_io.h), straight between the user's pages and
 * the object's: no bounce buffer, no mapping. Each step copies up to COPY_STEP bytes under the object's
 * lock, so that a shrink cannot free pages under the copy, and a long copy holds the lock for one step at
 * a time, re-reading the size and the seals between steps; between steps it lets waiters of the lock in,
 * and every STEPS_PER_YIELD steps it yields its hart if the tick has marked its time slice over. A step whose user buffer faults is redone a
 * user page at a time (a user page is wholly readable, or writable, or not), so the count returned is
 * exact: the bytes before the first bad page. */
#include "kernel/shm_io.h"
#include "kernel/uaccess.h"
#include "vm/layout.h"

#define COPY_STEP (16 * PAGE_SIZE)   /* the most copied under one hold of the object's lock */
#define STEPS_PER_YIELD 16           /* a long copy checks every 1 MiB whether its time slice is over */

static int copy(struct shm_obj *o, u64 off, u64 uva, u64 n, bool write)
{
	void *k = (u8 *)o->kva + off;
	return write ? copy_from_user(k, uva, n) : copy_to_user(uva, k, n);
}

/* The step [uva, uva + n) faulted: the bytes of its whole user pages before the bad one. Caller holds
 * o->lock, with off + n within the object. Out of line: the common path keeps fewer registers. */
static __noinline u64 copy_by_page(struct shm_obj *o, u64 off, u64 uva, u64 n, bool write)
{
	u64 done = 0;
	while (done < n) {
		u64 m = MIN(n - done, PAGE_SIZE - ((uva + done) & (PAGE_SIZE - 1)));
		if (copy(o, off + done, uva + done, m, write)) break;
		done += m;
	}
	return done;
}

long shm_io_copy(struct shm_obj *o, u64 offset, u64 ubuf, u64 len, bool write)
{
	u64 done = 0;
	long err = 0;
	for (u32 step = 0; done < len; step++) {
		/* A killed task stops here, short count. */
		if (step && shm_obj_between_steps(o, step % STEPS_PER_YIELD == 0)) break;
		u64 uva = ubuf + done, off = offset + done, copied = 0;
		if (off < offset) break; /* the offset wrapped: past any end */
		bool stop = false;
		spin_lock(&o->lock);
		if (write && (o->seals & SHM_SEAL_WRITE)) {
			err = -EPERM;
			stop = true;
		} else if (off >= o->size) {
			stop = true; /* the end: a short count, not an error */
		} else {
			u64 n = MIN(MIN(len - done, (u64)COPY_STEP), o->size - off);
			if (!copy(o, off, uva, n, write)) {
				copied = n;
			} else {
				copied = copy_by_page(o, off, uva, n, write);
				err = -EFAULT;
				stop = true;
			}
		}
		spin_unlock(&o->lock);
		done += copied;
		if (stop) break;
	}
	return done ? (long)done : err;
}
