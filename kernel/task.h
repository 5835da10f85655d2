/* Tasks: U-mode programs with their own address space, a kernel stack, handles and mappings. */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include <vmk/abi.h>
#include "kernel/context.h"
#include "kernel/trap.h"
#include "lib/spinlock.h"
#include "lib/trace.h"
#include "lib/types.h"

#define MAX_TASKS 64
#define KSTACK_SIZE (16 * 1024)

/* T_REAPING: a zombie claimed by the task reaping it; invisible to wait, kill and the scheduler. */
enum task_state { T_FREE, T_RUNNABLE, T_RUNNING, T_BLOCKED, T_ZOMBIE, T_REAPING };


struct shm_obj;

struct task_handle {
	struct shm_obj *obj; /* NULL when the slot is free */
	u64 rights;
	u32 gen;             /* from a global 32-bit counter: a value is not reissued within 2^32 handles */
};

struct task_map {
	struct shm_obj *obj; /* NULL when free */
	u64 uva, max_size, prot;
	u64 mapped;          /* bytes currently mapped (follows resizes up to max_size) */
	u64 table_pages;     /* page-table pages charged to the mapper for it (kernel/shm.c) */
	struct task *task;
	struct task_map *next_on_obj; /* the object's list of every mapping, across tasks */
};

struct task {
	u32 tid, slot;
	enum task_state state;
	char name[32];
	struct task *parent;
	int exit_status;
	struct context ctx;
	void *kstack;
	struct trap_frame *tf;
	u64 root_pa;
	u16 asid;
	u64 hart_mask;       /* harts that may hold translations of this address space (kernel/aspace.c) */
	u64 active_mask;     /* harts with this address space in satp right now */
	u32 flushes_in_flight; /* aspace_flush calls between dropping harts and their fence's end */
	int on_hart;         /* index of the hart running it, -1 if none */
	u64 wake_at;         /* T_BLOCKED in sleep: timebase tick to wake at */
	long waiting_for;    /* T_BLOCKED in wait: the child's tid */
	u64 quota_pages;
	bool killed;         /* SYS_kill asked: the task dies at its next return to user mode */
	bool diag;           /* may use SYS_vm_dump and SYS_trace_ctl (VMK_SPAWN_DIAG) */
	u64 fault_addr;      /* last user fault retried, and how often in a row: a retry that never */
	u32 fault_repeats;   /* makes progress ends in a kill */
	spinlock_t shm_lock; /* handles, maps and the shm ranges of the page tables (kernel/shm.c) */
	bool shm_gone;       /* handles released: nobody may give this task a new one */
	struct task_handle handles[VMK_MAX_HANDLES];
	struct task_map maps[VMK_MAX_MAPS];
	u32 handles_hi, maps_hi; /* no entry at or above these indices was ever used: scans stop there */
	u64 inherited[VMK_SPAWN_HANDLES_MAX];
	u32 ninherited;
	struct trace_syscall tsys; /* the system call in progress, for trace attribution (kernel/syscall.c) */
};

static inline struct task *current_task(void);

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
void task_yield(void);
void task_sleep_ns(u64 ns);
struct task *task_by_tid(long tid);       /* live (not zombie) task or NULL; caller holds no locks */
void task_kill_current(struct trap_frame *tf, const char *why) __noreturn;
/* On the way back to user mode: a task SYS_kill marked ends here. */
void task_die_if_killed(void);
void scheduler_loop(void) __noreturn;
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

#include "kernel/hart.h"
static inline struct task *current_task(void) { return this_kernel_hart()->current; }

#endif
