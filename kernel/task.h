/* Tasks: U-mode programs with their own address space, a kernel stack, handles and mappings. */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include <vmk/abi.h>
#include "kernel/sched.h"
#include "kernel/task_record.h"
#include "kernel/trap_frame.h"
#include "lib/types.h"

/* Creates a task running `name` from the initrd with argv[0 .. argc - 1] (kernel strings), a child of
 * parent (NULL: init), given nhandles of the parent's handles, a page quota (0: task_default_quota;
 * never more than the parent has left) and VMK_SPAWN_* flags; it is runnable on return. Returns its tid,
 * or -ENOENT (no such file), -ENOEXEC (not a program we can load), -EAGAIN (task table full), -ENOMEM
 * (no memory or over the quota), -E2BIG (arguments too long for the stack page), -EBADF (a handle not the
 * parent's); nothing is left behind on failure. Task or boot context, no lock held. */
long task_spawn(const char *name, const char *const *argv, int argc, struct task *parent,
		const u64 *handles, u32 nhandles, u64 quota_pages, u64 flags);
/* Ends the calling task with status: its handles and mappings go (shm_release_task), it becomes a zombie
 * for its parent's task_wait (orphans are reaped by the idle loop) and its hart runs something else.
 * Never returns. Task context, no lock held. */
void task_exit(int status) __noreturn;
/* Blocks until child tid (one the caller spawned, not one adopted) ends, stores its status at user
 * address ustatus (when not 0) and reaps it;
 * -EFAULT (nothing reaped, the child can be waited for again) when the status cannot be stored,
 * -EINTR when the caller is killed while waiting. Task context. */
long task_wait(long tid, u64 ustatus);
/* Marks task tid of the caller's subtree (a child, or any task below one: children of an ended task
 * are adopted by its parent) for death: it ends with VMK_STATUS_KILLED at its next return to user mode
 * (blocked, sleeping or spinning). -ESRCH no such live task, -EPERM not below the caller. */
long task_kill(struct task *me, long tid);
/* Marks every live task but `keep` for death, as task_kill does; returns how many. Init's end: the
 * machine powers off once they are gone. Any context but an interrupt handler. */
u32 task_kill_all_but(const struct task *keep);
/* The quota of a task spawned with quota 0 (VMK_DEFAULT_QUOTA_PAGES or the vmalloc.task_quota_pages
 * bootarg); init holds VMK_MAX_QUOTA_PAGES. */
u64 task_default_quota(void);
/* Ends the current task for a fault described by tf and why (printed, traced) with VMK_STATUS_KILLED.
 * Never returns. Trap context of a user-mode fault. */
void task_kill_current(struct trap_frame *tf, const char *why) __noreturn;
/* On the way back to user mode: a task SYS_kill marked ends here (task_exit with VMK_STATUS_KILLED);
 * returns when it was not marked. Task or trap context, no lock held. */
void task_die_if_killed(void);
/* The work due before any return to user mode: a killed task ends here, a task that used up its tick
 * yields, and a half-full trace ring is drained. Trap context, on the way out to user mode. */
void task_user_return_work(void);

/* Reaping (sched_lock not held): task_reap_one frees a zombie's resources and its slot;
 * task_reap_orphans does that for every zombie nobody will wait for, except orphan_exempt_tid
 * (init: kernel/init.c collects its status). */
void task_reap_one(struct task *t);
void task_reap_orphans(void);
extern u32 orphan_exempt_tid;

/* initrd access for spawn. initrd_set: the archive (already checked by cpio_check) spawn loads programs
 * from; boot hart, once, before the first spawn. initrd_lookup: the file `name` (a leading '/' allowed)
 * of it, 0 with *data and *size set, -ENOENT when there is no initrd or no such file, another -E code for
 * a damaged entry (cpio_find's). Any context; the data lives as long as the kernel. */
void initrd_set(const void *base, u64 size);
int initrd_lookup(const char *name, const void **data, u64 *size);

#endif
