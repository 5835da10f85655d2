/* Checked access to user memory: the only way the kernel reads or writes a task's memory.
 *
 * The kernel reaches user pages only with sstatus.SUM set, in one of two modes chosen at boot
 * (uaccess.sum=task|copy):
 * - task (default): SUM is on while the hart runs a task, from aspace_activate to aspace_deactivate,
 *   in U-mode (where it means nothing) and through the task's system calls and interrupts; off while it
 *   runs no task (scheduler, idle loop, in-kernel suites). A kernel bug that reads a user pointer
 *   without these calls is then not caught while a task runs.
 * - copy: SUM on only inside each copy loop (Linux's choice: such a bug always faults).
 * Why task is the default: QEMU 7.2 empties a hart's whole soft TLB at every change of SUM (QEMU 8.1
 * gave SUM a TLB index of its own), so the copy mode adds two full flushes, and the refill of every
 * translation used afterwards, to each call that copies; a 4 KiB shm_write + shm_read costs 4.6 us in
 * task mode and 20.9 us in copy mode (-smp 1, no icount; Linux's pwrite + pread 40 us, paying the same
 * flushes). Address-space switches already flush, so task mode's changes at aspace_activate and
 * aspace_deactivate cost nothing more. */
#ifndef KERNEL_UACCESS_H
#define KERNEL_UACCESS_H

#include "lib/types.h"

/* Each returns 0 or -EFAULT: the range must lie in the user half without wrapping, be mapped, and (for
 * copy_to_user) be writable. A fault inside them is caught and turned into -EFAULT, never an oops (the
 * bytes before the fault may have been copied). Process context, on the hart whose address space holds
 * the user range; interrupts may be on or off; they do not sleep. */
int copy_from_user(void *dst, u64 usrc, u64 len);
int copy_to_user(u64 udst, const void *src, u64 len);
/* Copies a NUL-terminated string of at most max bytes (NUL included): -EINVAL if longer, -EFAULT as
 * above. Same contexts. */
int strncpy_from_user(char *dst, u64 usrc, u64 max);
/* True when [addr, addr + len) lies in the user half without wrapping. Any context. */
bool user_range_ok(u64 addr, u64 len);
/* For kernel/trap.c: a kernel fault on user address stval at *sepc inside a user copy loop moves *sepc
 * to that loop's fixup (which returns a failure to the copy's caller) and returns true; any other fault
 * returns false. Trap context. */
bool uaccess_fixup(u64 *sepc, u64 stval);
/* Chooses the mode from the uaccess.sum bootarg (NULL or "task": task; "copy": copy). Boot hart, once,
 * before the first task runs. */
void uaccess_setup(const char *arg);
/* The SUM bit a new task's first return to U-mode carries (its trap frame's sstatus): SSTATUS_SUM in
 * task mode, 0 in copy mode. Any context. */
u64 uaccess_task_sstatus(void);
/* Task mode: SUM on (the hart starts running a task) / off (it runs none any more); nothing in copy mode.
 * Called by kernel/aspace.c with the task's address space, interrupts as the caller has them. */
void uaccess_task_enter(void);
void uaccess_task_leave(void);

/* The loops themselves (kernel/uaccess.S), for uaccess.c and the uaccess suite; callers check ranges
 * first. uaccess_copy returns 0, or after a fault a nonzero count not smaller than the bytes it did not
 * copy; uaccess_strncpy 0 (a NUL copied), 1 (max bytes without one) or -1 (a fault). Process context. */
u64 uaccess_copy(void *dst, const void *src, u64 n);
long uaccess_strncpy(char *dst, const char *src, u64 max);
extern const char uaccess_copy_fixup[], uaccess_strncpy_fixup[]; /* where each loop resumes after a fault */
/* The mode: 1 = SUM only inside the copy loops (uaccess.S reads it; the uaccess suite flips it). */
extern u8 uaccess_sum_per_copy;

#endif
