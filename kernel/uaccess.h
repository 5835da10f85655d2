/* Checked access to user memory: the only way the kernel reads or writes a task's memory. */
#ifndef KERNEL_UACCESS_H
#define KERNEL_UACCESS_H

#include "lib/types.h"

/* Each returns 0 or -EFAULT: the range must lie in the user half without wrapping, be mapped, and (for
 * copy_to_user) be writable. A fault inside them is caught and turned into -EFAULT, never an oops. */
int copy_from_user(void *dst, u64 usrc, u64 len);
int copy_to_user(u64 udst, const void *src, u64 len);
/* Copies a NUL-terminated string of at most max bytes (NUL included): -EINVAL if longer. */
int strncpy_from_user(char *dst, u64 usrc, u64 max);
bool user_range_ok(u64 addr, u64 len);

#endif
