/* Tasks: U-mode programs with their own address space, a kernel stack, handles and mappings. */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include <vmk/abi.h>
#include "kernel/sched.h"
#include "kernel/task_record.h"
#include "kernel/trap_frame.h"
#include "lib/types.h"

/* Creates a task running `name` from the initrd; on success returns its tid. */
long task_spawn(const char *name, const char *const *argv, int argc, struct task *parent,
		const u64 *handles, u32 nhandles, u64 quota_pages, u64 flags);
void task_exit(int status) __noreturn;
/* Blocks until child tid ends, stores its status at user address ustatus (when not 0) and reaps it;
 * -EFAULT (nothing reaped, the child can be waited for again) when the status cannot be stored,
 * -EINTR when the caller is killed while waiting. Task context. */
long task_wait(long tid, u64 ustatus);
/* Marks child tid of the caller for death: it ends with VMK_STATUS_KILLED at its next return to user
 * mode (blocked, sleeping or spinning). -ESRCH no such live task, -EPERM not the caller's child. */
long task_kill(struct task *me, long tid);
/* The quota of a task spawned with quota 0 (VMK_DEFAULT_QUOTA_PAGES or the vmalloc.task_quota_pages
 * bootarg); init holds VMK_MAX_QUOTA_PAGES. */
u64 task_default_quota(void);
void task_sleep_ns(u64 ns);
void task_kill_current(struct trap_frame *tf, const char *why) __noreturn;
/* On the way back to user mode: a task SYS_kill marked ends here. */
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

/* initrd access for spawn. */
void initrd_set(const void *base, u64 size);
int initrd_lookup(const char *name, const void **data, u64 *size);

#endif
