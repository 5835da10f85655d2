/* Shared-memory objects, the bottom of the shm service: the object table, references, the page accounts
 * objects are charged to (and their hand-over when an owner exits), seals, and the list of tasks waiting
 * on a word of an object. Everything above (handles, mappings, resize, read/write, wait/wake) works on a
 * struct shm_obj it holds a reference to. */
#ifndef KERNEL_SHM_OBJ_H
#define KERNEL_SHM_OBJ_H

#include <vmk/abi.h>
#include "kernel/task_record.h"
#include "lib/spinlock.h"
#include "lib/types.h"

#define SHM_ORPHAN_OWNER MAX_TASKS /* vmalloc owner account of the orphan pool; task slots are below it */

/* A task blocked in shm_wait, on its own kernel stack, listed on the object while it sleeps. The waker
 * sets result and then done (through sched_wake_task); the sleeper reads them after it is woken. */
struct shm_waiter {
	struct shm_waiter *next;
	struct task *task;
	u64 offset; /* the 32-bit word waited on */
	bool forever; /* no timeout: the only waits -EPIPE ends (a timed one ends by itself) */
	long result; /* 0 woken by shm_wake; -ERANGE its word was cut; -EPIPE nobody else holds the object */
	bool done;
};

/*
 * Locking: `lock` covers size, kva, maps, seals and waiters; a mapper's task->shm_lock nests inside it,
 * and sched_lock inside both. Taken with interrupts on (no interrupt handler takes it). `refs` is atomic:
 * handles + mappings + callers in flight; the object is freed when it reaches 0.
 */
struct shm_obj {
	spinlock_t lock;
	u32 refs;
	u32 owner;     /* vmalloc owner account charged for the pages */
	u32 owner_tid; /* the task owning that account, 0 for the orphan pool */
	bool used;
	bool huge;
	u32 seals;     /* SHM_SEAL_* bits: only ever added */
	bool resizing; /* a resize is under way: it lets `lock` go between its steps (kernel/shm_resize.c) */
	u64 grow_gen;  /* grows begun: a mapping asked to follow this one holds its number (task_map.follow_gen) */
	void *kva;
	u64 size;
	struct task_map *maps;       /* every mapping, across tasks (task_map.next_on_obj) */
	struct shm_waiter *waiters;  /* tasks in shm_wait on this object */
};

/* Sets the orphan pool's limits. Boot, once, before the first task. */
void shm_objs_init(void);

/* Creates an object of `size` bytes (page multiple, 0 < size <= VMK_SHM_MAX_SIZE) charged to task t,
 * zero-filled, with 2 MiB blocks where `huge` and the size allow. Returns it holding one reference (the
 * caller's), or NULL with *err = -ENOMEM (quota or memory) or -EMFILE (t owns VMK_MAX_OBJECTS already).
 * Task context. */
struct shm_obj *shm_obj_create(struct task *t, u64 size, bool huge, long *err);

/* References. shm_obj_put drops one; the last frees the pages (credited to the owner) and the slot. When
 * the references left all belong to tasks waiting on the object, nobody can ever wake them: they are
 * woken with -EPIPE. Task context, no shm lock held. */
void shm_obj_get(struct shm_obj *o);
void shm_obj_put(struct shm_obj *o);

/* Waiter list; caller holds o->lock. shm_obj_finish_waiter takes w off the list and wakes its task with
 * `result`. */
void shm_obj_add_waiter(struct shm_obj *o, struct shm_waiter *w);
void shm_obj_remove_waiter(struct shm_obj *o, struct shm_waiter *w);
void shm_obj_finish_waiter(struct shm_obj *o, struct shm_waiter *w, long result);
/* Ends every untimed wait on o with -EPIPE when the untimed waiters hold all of o's references (no
 * other task can reach o to wake them; a timed waiter can, once its wait ends). shm_obj_put runs it; a new waiter runs it once listed. Caller holds o->lock. */
void shm_obj_end_hopeless_waits(struct shm_obj *o);

/* Hands every live object task t (exiting, tid t->tid) owns to its parent when the parent has room (pages
 * and objects), else to the orphan pool when it has room, else to the parent over its limits, else to
 * the pool over its own; so t's account is empty when its slot is reused. A parent exiting meanwhile is
 * waited for until it has handed t to its own parent, which then takes the objects: they stay in the
 * subtree's account. Task context, no shm lock. */
void shm_objs_hand_over(struct task *t);

/* A long operation's step on an object, under one hold of its lock: the most a resize adds or frees, the
 * most a create allocates before it grows the object to its size, and a step's worth of page-table
 * entries (SHM_STEP / PAGE_SIZE) a grow, shrink or new mapping writes or clears. */
#define SHM_STEP (1UL << 20)

/* Between two steps of a long operation on o (a copy, a resize), with o->lock let go: a task waiting
 * for the lock on another hart gets it before the next step (waits at most 50 us for it to come), and
 * when `may_yield` this hart is yielded if the tick has marked the caller's time slice over. Returns
 * -EINTR when the caller has been killed (it should stop and undo), else 0. Task context, no lock held. */
long shm_obj_between_steps(struct shm_obj *o, bool may_yield);

/* Pauses taken between steps of long operations since boot (shm_obj_between_steps and an object's
 * stepped free), for SYS_vm_stats. Any context. */
u64 shm_objs_steps(void);

/* Objects alive now (for the leak checks). Any context. */
u64 shm_objs_live(void);

#endif
