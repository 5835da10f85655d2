/* Tasks: U-mode programs with their own address space, a kernel stack, handles and mappings. */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include <vmk/abi.h>
#include "kernel/trap.h"
#include "lib/types.h"

#define MAX_TASKS 64
#define KSTACK_SIZE (16 * 1024)
#define USER_STACK_TOP 0x3fff000000UL
#define USER_STACK_SIZE (64 * 1024)

enum task_state { T_FREE, T_RUNNABLE, T_RUNNING, T_BLOCKED, T_ZOMBIE };

struct context {
	u64 ra, sp, s[12];
};

struct shm_obj;

struct task_handle {
	struct shm_obj *obj; /* NULL when the slot is free */
	u64 rights;
	u32 gen;             /* bumps on every close, so stale values never match */
};

struct task_map {
	struct shm_obj *obj; /* NULL when free */
	u64 uva, max_size, prot;
	u64 mapped;          /* bytes currently mapped (follows resizes up to max_size) */
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
	u64 hart_mask;       /* harts that may hold translations of this address space */
	int on_hart;         /* index of the hart running it, -1 if none */
	u64 wake_at;         /* T_BLOCKED in sleep: timebase tick to wake at */
	long waiting_for;    /* T_BLOCKED in wait: the child's tid */
	u64 quota_pages;
	struct task_handle handles[VMK_MAX_HANDLES];
	struct task_map maps[VMK_MAX_MAPS];
	u64 inherited[VMK_SPAWN_HANDLES_MAX];
	u32 ninherited;
};

static inline struct task *current_task(void);

/* Creates a task running `name` from the initrd; on success returns its tid. */
long task_spawn(const char *name, const char *const *argv, int argc, struct task *parent,
		const u64 *handles, u32 nhandles, u64 quota_pages);
void task_exit(int status) __noreturn;
long task_wait(long tid, int *status);
void task_yield(void);
void task_sleep_ns(u64 ns);
struct task *task_by_tid(long tid);       /* live (not zombie) task or NULL; caller holds no locks */
void task_kill_current(struct trap_frame *tf, const char *why) __noreturn;
void scheduler_loop(void) __noreturn;
void task_user_return_work(void);

/* initrd access for spawn. */
void initrd_set(const void *base, u64 size);
int initrd_lookup(const char *name, const void **data, u64 *size);

#include "lib/percpu.h"
static inline struct task *current_task(void) { return (struct task *)this_hart()->current; }

#endif
