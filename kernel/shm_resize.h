/* Resizing a shm object while tasks map it, wait on it and copy to and from it. */
#ifndef KERNEL_SHM_RESIZE_H
#define KERNEL_SHM_RESIZE_H

#include "kernel/shm_obj.h"

/* Sets o's size to new_size (a page multiple, 0 < new_size <= VMK_SHM_MAX_SIZE), honouring no seals
 * (the caller checks them). A shrink unmaps the cut tail from every mapping in every task (TLBs included)
 * before the pages go, and ends the waits on words past the new end with -ERANGE. A grow never unmaps
 * anything: page tables are reserved in every mapper first, the new pages mapped, and only then the size
 * published. Returns 0, or -ENOMEM (owner's quota, memory, or page tables in some mapper), which leaves
 * the object and every mapping exactly as they were. Caller holds o->lock; task context. */
long shm_resize_locked(struct shm_obj *o, u64 new_size);

#endif
