/* Handles: a task's table of (object, rights) pairs, and the opaque values user programs hold for them.
 * A value is tagged with its holder's tid and a global 32-bit generation, so a value from another task, a
 * closed handle or a made-up number finds nothing. */
#ifndef KERNEL_SHM_HANDLE_H
#define KERNEL_SHM_HANDLE_H

#include "kernel/shm_obj.h"

/* The object behind handle h of t with its rights in *rights, holding a reference for the caller
 * (shm_obj_put when done); NULL if h is not a live handle of t. Task context, no shm lock held. */
struct shm_obj *shm_handle_get(struct task *t, u64 h, u64 *rights);

/* Gives t a new handle to o with `rights` (it takes a reference of its own) and returns its value, or
 * -EMFILE when t's table is full. `given`: another task's share puts it there, which may fill at most
 * VMK_MAX_GIVEN_HANDLES of the table (-EMFILE past that), so that tasks t does not know cannot take the
 * room its own objects need. Caller holds t->shm_lock. */
long shm_handle_add(struct task *t, struct shm_obj *o, u64 rights, bool given);

/* Removes handle h from t's table and returns the object whose reference the caller now owes
 * (shm_obj_put), or NULL if h is not a live handle of t. Task context, no shm lock held. */
struct shm_obj *shm_handle_take(struct task *t, u64 h);

/* Writes the values of t's handles (only those other tasks gave it, with `given_only`) to out, at most
 * max of them, lowest table index first, and returns how many there are. Task context, no shm lock held. */
u32 shm_handle_list(struct task *t, u64 *out, u32 max, bool given_only);

#endif
