/* The shared-memory service: vmalloc-backed objects that tasks create, map, share, seal, resize, read,
 * write, wait on and close. Each call below is one system call of include/vmk/abi.h, with exactly the
 * results and the error order documented there; t is the calling task. Every one runs in task context
 * with interrupts on and no lock held, may block briefly on object and task locks (never on another
 * task's progress, but for shm_wait, which sleeps), and leaves every state exactly as it was when it
 * fails. Pointers named u... are user addresses of t, checked here; none is trusted. */
#ifndef KERNEL_SHM_H
#define KERNEL_SHM_H

#include <vmk/abi.h>
#include "lib/types.h"

struct task;

/* Boot, once, before the first task: sets the orphan pool's limits. */
void shm_init(void);

long shm_create(struct task *t, u64 size, u64 flags);
long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot);
long shm_unmap(struct task *t, u64 addr);
long shm_resize(struct task *t, u64 handle, u64 new_size);
long shm_share(struct task *t, u64 handle, long tid, u64 rights);
long shm_close(struct task *t, u64 handle);
/* Fills *out (a kernel buffer: the caller copies it out). */
long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out);
long shm_seal(struct task *t, u64 handle, u64 seals);
/* SYS_shm_read (write = false) and SYS_shm_write (write = true). */
long shm_rw(struct task *t, u64 handle, u64 offset, u64 ubuf, u64 len, bool write);
/* SYS_shm_wait: sleeps (interruptibly: a kill ends it with -EINTR). */
long shm_wait(struct task *t, u64 handle, u64 offset, u64 expected, u64 timeout_ns);
long shm_wake(struct task *t, u64 handle, u64 offset, u64 count);

/* Whether h is a live handle of t. Task context (t's own). */
bool shm_holds(struct task *t, u64 h);
/* Readies a new task's handle table and gives it n of the parent's handles (n = 0 for none), with the
 * parent's rights. -EBADF if one is not the parent's (the child then holds the ones before it: the
 * caller releases the child with shm_release_task). Task context (the parent's). */
int shm_inherit(struct task *parent, struct task *child, const u64 *handles, u32 n);
/* Drops every mapping and handle of an exiting (or never started) task, and hands the charge of each
 * object it created that others still hold to its parent or the orphan pool. Task context, no locks. */
void shm_release_task(struct task *t);
/* A user page fault inside a shm mapping's reserved range: true if the access may be retried (a load or
 * store to a page a resize has mapped meanwhile; never an instruction fetch). Trap context of t. */
bool shm_fault(struct task *t, u64 addr, u64 cause);
/* Live objects, for the leak checks. Any context. */
u64 shm_live_objects(void);

#endif
