/* User copies: the range checks, and the fault fixup for the copy loops of kernel/uaccess.S. A copy
 * runs with SUM set only for its own duration; a fault inside one of those loops on a user address ends
 * the loop (through uaccess_fixup) with a failure the callers here turn into -EFAULT. This is Linux's
 * exception-table scheme, reduced to the two loops that need it: no landing pad is set up per copy, so
 * the common case costs the loads and stores and the range check. */
#include "kernel/uaccess.h"
#include <vmk/abi.h>

/* kernel/uaccess.S */
u64 uaccess_copy(void *dst, const void *src, u64 n);
long uaccess_strncpy(char *dst, const char *src, u64 max);
extern const char uaccess_copy_fixup[], uaccess_copy_end[];
extern const char uaccess_strncpy_fixup[], uaccess_strncpy_end[];

/* Where a fault inside each loop resumes: [start, fixup) is the loop, fixup its exit. */
static const struct {
	const char *start, *fixup;
} fixups[] = {
	{(const char *)uaccess_copy, uaccess_copy_fixup},
	{(const char *)uaccess_strncpy, uaccess_strncpy_fixup},
};

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
