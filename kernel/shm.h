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

/* SYS_shm_create: a new zeroed object of size bytes (whole pages) owned and charged by t -> its handle,
 * with SHM_ALL. -EINVAL, -ENOMEM, -EMFILE. */
long shm_create(struct task *t, u64 size, u64 flags);
/* SYS_shm_map: maps the object into t with room for max_size -> the user address. -EBADF, -EACCES,
 * -EINVAL, -EPERM (seals), -EMFILE, -ENOMEM; on failure t's address space is as it was. */
long shm_map(struct task *t, u64 handle, u64 hint, u64 max_size, u64 prot);
/* SYS_shm_unmap: removes the mapping that starts at addr and credits its tables -> 0. -EINVAL. */
long shm_unmap(struct task *t, u64 addr);
/* SYS_shm_resize: the object's new size, in every mapping of every task before it returns -> 0.
 * -EBADF, -EACCES, -EINVAL, -EPERM (seals), -ENOMEM (nothing changed). */
long shm_resize(struct task *t, u64 handle, u64 new_size);
/* SYS_shm_share: a handle in task tid with rights (a subset of t's) -> its value. -EBADF, -EINVAL,
 * -EACCES, -ESRCH, -EMFILE. */
long shm_share(struct task *t, u64 handle, long tid, u64 rights);
/* SYS_shm_close: drops the handle; the object goes with its last handle and mapping -> 0. -EBADF. */
long shm_close(struct task *t, u64 handle);
/* SYS_shm_info: fills *out (a kernel buffer: the caller copies it out) -> 0. -EBADF. */
long shm_info(struct task *t, u64 handle, struct vmk_shm_info *out);
/* SYS_shm_seal: adds seals -> the object's seals. -EBADF, -EACCES, -EINVAL, -EPERM, -EBUSY. */
long shm_seal(struct task *t, u64 handle, u64 seals);
/* SYS_shm_read (write = false) and SYS_shm_write (write = true): copies between ubuf and the object at
 * offset -> bytes copied (short at the end, at a bad page of ubuf, at a racing shrink). -EBADF, -EACCES,
 * -EPERM (write seal), -EFAULT (nothing copied). */
long shm_rw(struct task *t, u64 handle, u64 offset, u64 ubuf, u64 len, bool write);
/* SYS_shm_wait: sleeps (interruptibly: a kill ends it with -EINTR) while the word equals expected -> 0.
 * -EBADF, -EACCES, -EFAULT, -EINVAL, -ERANGE, -EAGAIN, -ETIMEDOUT, -EPIPE. */
long shm_wait(struct task *t, u64 handle, u64 offset, u64 expected, u64 timeout_ns);
/* SYS_shm_wake: wakes up to count waiters on the word, oldest first -> how many. -EBADF, -EACCES,
 * -EFAULT, -EINVAL, -ERANGE. */
long shm_wake(struct task *t, u64 handle, u64 offset, u64 count);

/* SYS_shm_list: the values of t's handles (with SHM_LIST_GIVEN only those other tasks' shares gave it)
 * into out (a kernel buffer of max entries: the caller copies it out) -> how many there are. -EINVAL
 * unknown flags. Task context (t's own). */
long shm_list(struct task *t, u64 *out, u32 max, u64 flags);

/* Whether h is a live handle of t. Task context (t's own). */
bool shm_holds(struct task *t, u64 h);
/* Gives a new task (its record zeroed when its slot was taken) n of the parent's handles (n = 0 for
 * none), with the parent's rights, then opens its table to other tasks' shares, which until then find
 * it closed (-ESRCH), so nothing lands before the spawn's own handles. -EBADF if one is not the
 * parent's, -EMFILE if they do not fit (the child then holds the ones before it and stays closed: the
 * caller releases it with shm_release_task). Task context (the parent's). */
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
