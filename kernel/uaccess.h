/* Checked access to user memory: the only way the kernel reads or writes a task's memory. */
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

#endif
