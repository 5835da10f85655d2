/* The shared-memory service: vmalloc-backed objects that tasks create, map, share, resize and close. */
#ifndef KERNEL_SHM_H
#define KERNEL_SHM_H

#include <vmk/abi.h>
#include "lib/types.h"

struct task;
struct trap_frame;

long shm_create(struct task *t, u64 size, u64 flags);
long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot);
long shm_unmap(struct task *t, u64 addr);
long shm_resize(struct task *t, u64 handle, u64 new_size);
long shm_share(struct task *t, u64 handle, long tid, u64 rights);
long shm_close(struct task *t, u64 handle);
long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out);
/* Readies a new task's handle table and gives it n of the parent's handles (n = 0 for none). */
int shm_inherit(struct task *parent, struct task *child, const u64 *handles, u32 n);
/* Drops every mapping and handle of an exiting (or never started) task, and hands the charge of each
 * object it created that others still hold to its parent or the orphan pool. Task context, no locks. */
void shm_release_task(struct task *t);
/* A user page fault inside a shm mapping's reserved range: true if the access may be retried (a load or
 * store to a page a resize has mapped meanwhile; never an instruction fetch). */
bool shm_fault(struct task *t, u64 addr, u64 cause);
u64 shm_live_objects(void);

#endif
