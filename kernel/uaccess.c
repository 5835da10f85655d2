/* User copies: the range checks, when the kernel may reach user memory (sstatus.SUM), and the fault
 * fixup for the copy loops of kernel/uaccess.S. A fault inside one of those loops on a user address ends
 * the loop (through uaccess_fixup) with a failure the callers here turn into -EFAULT. This is Linux's
 * exception-table scheme, reduced to the two loops that need it: no landing pad is set up per copy, so
 * the common case costs the loads and stores and the range check.
 *
 * When SUM is on (kernel/uaccess.h has the two modes and the measured reason): by default while the hart
 * runs a task, in U-mode and in its system calls alike, so that no system call changes SUM at all; with
 * uaccess.sum=copy only inside each copy loop, as Linux does. Under QEMU 7.2 every change of SUM empties
 * the hart's whole soft TLB, so the per-copy mode pays two full flushes and their refills per copying
 * call: a 4 KiB shm_write + shm_read takes 20.9 us that way against 4.6 us (-smp 1, no icount). */
#include "kernel/uaccess.h"
#include <vmk/abi.h>
#include "lib/riscv.h"
#include "lib/string.h"

u8 uaccess_sum_per_copy;

/* Where a fault inside each loop resumes: [start, fixup) is the loop, fixup its exit. */
static const struct {
	const char *start, *fixup;
} fixups[] = {
	{(const char *)uaccess_copy, uaccess_copy_fixup},
	{(const char *)uaccess_strncpy, uaccess_strncpy_fixup},
};

void uaccess_setup(const char *arg)
{
	WRITE_ONCE(uaccess_sum_per_copy, arg && !strcmp(arg, "copy"));
}

u64 uaccess_task_sstatus(void) { return uaccess_sum_per_copy ? 0 : SSTATUS_SUM; }

void uaccess_task_enter(void)
{
	if (!uaccess_sum_per_copy) csr_set(sstatus, SSTATUS_SUM);
}

void uaccess_task_leave(void)
{
	if (!uaccess_sum_per_copy) csr_clear(sstatus, SSTATUS_SUM);
}

bool user_range_ok(u64 addr, u64 len)
{
	return addr >= VMK_USER_BASE && addr < VMK_USER_TOP && len <= VMK_USER_TOP - addr;
}

bool uaccess_fixup(u64 *sepc, u64 stval)
{
	if (stval < VMK_USER_BASE || stval >= VMK_USER_TOP) return false; /* a kernel address: a real bug */
	for (u32 i = 0; i < sizeof fixups / sizeof fixups[0]; i++) {
		u64 s = (u64)(uptr)fixups[i].start, f = (u64)(uptr)fixups[i].fixup;
		if (*sepc >= s && *sepc < f) {
			*sepc = f;
			return true;
		}
	}
	return false;
}

int copy_from_user(void *dst, u64 usrc, u64 len)
{
	if (!len) return 0;
	if (!user_range_ok(usrc, len)) return -EFAULT;
	return uaccess_copy(dst, (const void *)(uptr)usrc, len) ? -EFAULT : 0;
}

int copy_to_user(u64 udst, const void *src, u64 len)
{
	if (!len) return 0;
	if (!user_range_ok(udst, len)) return -EFAULT;
	return uaccess_copy((void *)(uptr)udst, src, len) ? -EFAULT : 0;
}

int strncpy_from_user(char *dst, u64 usrc, u64 max)
{
	if (!max || !user_range_ok(usrc, 1)) return -EFAULT;
	if (max > VMK_USER_TOP - usrc) max = VMK_USER_TOP - usrc; /* stop at the end of the user half */
	long r = uaccess_strncpy(dst, (const char *)(uptr)usrc, max);
	return r < 0 ? -EFAULT : r > 0 ? -EINVAL : 0;
}
