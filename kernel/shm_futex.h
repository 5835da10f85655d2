/* Waiting and waking on a 32-bit word of a shm object (futex semantics, keyed by object and offset: the
 * same word whatever address each task maps the object at, or with no mapping at all). */
#ifndef KERNEL_SHM_FUTEX_H
#define KERNEL_SHM_FUTEX_H

#include "kernel/shm_obj.h"

/* Sleeps while the aligned word at `offset` equals `expected`: the check and the start of the sleep are
 * one step with respect to shm_futex_wake (under o->lock), so no wake-up is lost. timeout_ns 0 means no
 * timeout. Returns 0 woken by a wake; -EAGAIN the word differed; -ETIMEDOUT; -EINTR the task was killed;
 * -EINVAL offset not 4-byte aligned; -ERANGE the word lies past the object's end, at the call or cut by a
 * shrink while waiting; -EPIPE (untimed waits only) every other holder of the object is gone, so nobody
 * could ever wake it. The caller
 * holds a reference to o for the whole call. Task context, no shm lock held. */
long shm_futex_wait(struct shm_obj *o, u64 offset, u32 expected, u64 timeout_ns);

/* Wakes up to `count` tasks waiting on the word at `offset`, oldest first; returns how many it woke.
 * -EINVAL offset not 4-byte aligned, -ERANGE past the end. Task context, no shm lock held. */
long shm_futex_wake(struct shm_obj *o, u64 offset, u64 count);

#endif
