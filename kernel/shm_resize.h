/* Resizing a shm object while tasks map it, wait on it and copy to and from it. */
#ifndef KERNEL_SHM_RESIZE_H
#define KERNEL_SHM_RESIZE_H

#include "kernel/shm_obj.h"

/* Sets o's size to new_size (a page multiple, 0 < new_size <= VMK_SHM_MAX_SIZE), unless o's seals
 * refuse it (-EPERM) or o is in the orphan pool and new_size is past VMK_ORPHAN_GROW_PAGES (-ENOMEM). A
 * shrink unmaps the cut tail from every mapping in every task (TLBs included) before the pages go, and
 * ends the waits on words past the new end with -ERANGE. A grow never unmaps anything: page tables are
 * reserved in every mapper first, the new pages mapped, and only then the size published. Returns 0,
 * -ENOMEM (owner's quota, memory, or page tables in some mapper) or -EINTR (the caller was killed
 * meanwhile), each failure leaving the object and every mapping exactly as they were. Takes o->lock and
 * lets it go between steps of RESIZE_STEP bytes; a second resize of o waits for the first to end. Task
 * context, no shm lock held. */
long shm_resize_obj(struct shm_obj *o, u64 new_size);

#endif
