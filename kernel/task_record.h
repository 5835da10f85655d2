/* What the kernel keeps per task: the record (struct task) and the table's bounds. At the bottom of
 * kernel/ because the scheduler, the address spaces and the shared memory code all read a task's record;
 * the code that creates and ends tasks is kernel/task.c (kernel/task.h). */
#ifndef KERNEL_TASK_RECORD_H
#define KERNEL_TASK_RECORD_H

#include <vmk/abi.h>
#include "kernel/context.h"
#include "lib/spinlock.h"
#include "lib/trace.h"
#include "lib/types.h"

struct trap_frame;

#define MAX_TASKS 64
#define KSTACK_SIZE (16 * 1024)

/* T_REAPING: a zombie claimed by the task reaping it; invisible to wait, kill and the scheduler. */
/* T_NEW: a slot taken by a spawn still building the task (no context to run yet): no tid lookup finds it,
 * the scheduler never picks it, and a kill-all only marks it, so that it dies on its way to user mode. */
enum task_state { T_FREE, T_RUNNABLE, T_RUNNING, T_BLOCKED, T_ZOMBIE, T_REAPING, T_NEW };

/* A task that has not ended: it runs, may run, or is being spawned (T_NEW). The one definition the
 * kill, adoption and lookup paths share. */
static inline bool task_state_live(enum task_state s) { return s != T_FREE && s != T_ZOMBIE && s != T_REAPING; }


struct shm_obj;

struct task_handle {
	struct shm_obj *obj; /* NULL when the slot is free */
	u64 rights;
	u32 gen;             /* from a global 32-bit counter: a value is not reissued within 2^32 handles */
	bool given;          /* put here by another task's shm_share (at most VMK_MAX_GIVEN_HANDLES) */
};

struct task_map {
	struct shm_obj *obj; /* NULL when free */
	u64 uva, max_size, prot;
	u64 mapped;          /* bytes currently mapped (follows resizes up to max_size) */
	u64 grow_to;         /* a grow's end for this mapping, == mapped outside one (kernel/shm_mapping.c) */
	u64 table_pages;     /* page-table pages charged to the mapper for it (kernel/shm_mapping.c) */
	u64 grow_paid;       /* of those, what the grow under way charged (0 outside a grow) */
	u64 filled;          /* a grow's progress: [mapped, filled) has its entries already; == mapped outside */
	u64 follow_gen;      /* the object's grow that last asked this mapping to follow (shm_obj.grow_gen) */
	u64 cut_top;         /* a shrink's cut under way: where it began (0: none); [mapped, cut_top) unflushed */
	u64 cut_tables;      /* the tables that cut has unlinked, freed after its flush */
	bool filling;        /* its SYS_shm_map is still writing entries [0, filled): mapped is 0 meanwhile,
			      * grows pass it by, a shrink cuts it at filled (kernel/shm_mapping.c) */
	bool prepaid;        /* SHM_MAP_REQUIRE_NOSHRINK: its whole reserve's tables were charged at map time */
	bool leaving;        /* its unmap is clearing it from the top, a step at a time: grows pass it by */
	bool unfenced;       /* that unmap is its task's exit: no shootdown (the ASID is flushed at reaping) */
	struct task *task;
	struct task_map *next_on_obj; /* the object's list of every mapping, across tasks */
};

struct task {
	u32 tid, slot;
	enum task_state state;
	char name[32];
	struct task *parent;
	bool adopted;        /* its parent ended first: `parent` is that one's parent, which may kill it but
			      * did not spawn it, so does not wait for it (the kernel reaps it) */
	int exit_status;
	struct context ctx;
	void *kstack;
	struct trap_frame *tf;
	u64 root_pa;
	u16 asid;
	struct hartset hart_mask;   /* harts that may hold translations of this address space (kernel/aspace.c) */
	struct hartset active_mask; /* harts with this address space in satp right now */
	u32 flushes_in_flight; /* aspace_flush calls between dropping harts and their fence's end */
	int on_hart;         /* index of the hart running it, -1 if none */
	u64 wake_at;         /* T_BLOCKED in sleep: timebase tick to wake at */
	const bool *spin_on; /* the flag sched_spin_until is spinning on, NULL when not spinning */
	u8 spin_fails;       /* sched_spin_until's failed spins in a row (its back-off, kernel/sched.c) */
	u16 spin_skip;       /* waits left before it spins again */
	long waiting_for;    /* T_BLOCKED in wait: the child's tid */
	u64 quota_pages;     /* its account's limit, which also bounds the accounts of its subtree */
	u64 image_pages;     /* charged to its account for its segments, stack and their tables (kernel/task.c) */
	bool killed;         /* SYS_kill asked: the task dies at its next return to user mode */
	u32 killed_by;       /* the tid that asked, 0 for the kernel (init's end) */
	bool diag;           /* may use SYS_vm_dump and SYS_trace_ctl (VMK_SPAWN_DIAG) */
	u64 fault_addr;      /* last user fault retried, and how often in a row: a retry that never */
	u32 fault_repeats;   /* makes progress ends in a kill */
	spinlock_t shm_lock; /* handles, maps and the shm ranges of the page tables (kernel/shm.c) */
	bool shm_open;       /* others may give it handles (shm_share): from the end of its spawn's
			      * shm_inherit, its own handles in, until shm_release_task */
	struct task_handle handles[VMK_MAX_HANDLES];
	struct task_map maps[VMK_MAX_MAPS];
	u32 handles_hi, maps_hi; /* no entry at or above these indices was ever used: scans stop there */
	u32 handles_given;       /* handles marked given in the table */
	u64 inherited[VMK_SPAWN_HANDLES_MAX];
	u32 ninherited;
	struct trace_syscall tsys; /* the system call in progress, for trace attribution (kernel/syscall.c) */
};

static inline struct task *current_task(void);
#include "kernel/hart.h"
/* The task running on this hart, NULL in the idle loop. Any context. */
static inline struct task *current_task(void) { return this_kernel_hart()->current; }

#endif
