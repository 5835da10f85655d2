/* Copies between user buffers and shm objects (kernel/shm_io.h), straight between the user's pages and
 * the object's: no bounce buffer, no mapping. Each step copies what lies within one user page and one
 * check of the size, under the object's lock, so that a shrink cannot free pages under the copy and a
 * long copy never holds the lock for more than a page. A user page is wholly readable (writable) or not,
 * so a step that faults copied nothing, and the count returned is exact. */
#include "kernel/shm_io.h"
#include "kernel/uaccess.h"
#include "vm/layout.h"

long shm_io_copy(struct shm_obj *o, u64 offset, u64 ubuf, u64 len, bool write)
{
	u64 done = 0;
	long err = 0;
	while (done < len) {
		u64 uva = ubuf + done, off = offset + done;
		if (off < offset) break; /* the offset wrapped: past any end */
		u64 n = MIN(len - done, PAGE_SIZE - (uva & (PAGE_SIZE - 1)));
		spin_lock(&o->lock);
		if (write && (o->seals & SHM_SEAL_WRITE)) err = -EPERM;
		else if (off >= o->size) err = 1; /* the end: not an error */
		else {
			n = MIN(n, o->size - off);
			void *k = (u8 *)o->kva + off;
			err = write ? copy_from_user(k, uva, n) : copy_to_user(uva, k, n);
		}
		spin_unlock(&o->lock);
		if (err) break;
		done += n;
	}
	if (done || err >= 0) return (long)done;
	return err;
}
