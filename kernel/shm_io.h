/* Reading and writing a shm object without mapping it (pread/pwrite on a memfd, zx_vmo_read/write). */
#ifndef KERNEL_SHM_IO_H
#define KERNEL_SHM_IO_H

#include "kernel/shm_obj.h"

/* Copies up to len bytes between the object at `offset` and the user buffer ubuf of the current task:
 * into the object when `write`, out of it otherwise. Never grows the object: the count stops at its end
 * (0 at or past it, whatever the offset and length, wrapping ones included). Returns the bytes copied;
 * a user buffer that goes bad part-way, a shrink racing the copy, or a write seal added meanwhile give a
 * short count, and so does a kill of the caller during a long copy; -EFAULT when nothing could be
 * copied for a bad buffer, -EPERM for a write to a write-sealed object. May yield the hart between steps.
 * Task context, no shm lock held. */
long shm_io_copy(struct shm_obj *o, u64 offset, u64 ubuf, u64 len, bool write);

#endif
