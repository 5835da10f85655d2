/* User copies. SUM is set only for the duration of one copy, and a kernel fault on a user address while a
 * copy runs lands back here (kfault_try's landing pad, restricted to user addresses) as -EFAULT. */
#include "kernel/uaccess.h"
#include "kernel/kfault.h"
#include <vmk/abi.h>
#include "kernel/hart.h"
#include "lib/riscv.h"
#include "lib/string.h"


bool user_range_ok(u64 addr, u64 len)
{
	return addr >= VMK_USER_BASE && addr < VMK_USER_TOP && len <= VMK_USER_TOP - addr;
}

struct copy_job {
	void *dst;
	const void *src;
	u64 len;
	u64 max;    /* string copies: the limit; 0 for plain copies */
	int result;
};

static int guarded(struct copy_job *j)
{
	u64 jb[CONTEXT_WORDS];
	struct hart *h = this_kernel_hart();
	void *saved = h->fault_jmp;
	bool saved_user = h->fault_user_only;

	if (kfault_setjmp(jb)) {
		csr_clear(sstatus, SSTATUS_SUM);
		h->fault_jmp = saved;
		h->fault_user_only = saved_user;
		return -EFAULT;
	}
	h->fault_jmp = jb;
	h->fault_user_only = true;
	h->fault_report = NULL;
	csr_set(sstatus, SSTATUS_SUM);
	if (j->max) {
		const char *s = j->src;
		char *d = j->dst;
		u64 i;
		j->result = -EINVAL;
		for (i = 0; i < j->max; i++) {
			d[i] = s[i];
			if (!d[i]) {
				j->result = 0;
				break;
			}
		}
	} else {
		memcpy(j->dst, j->src, j->len);
		j->result = 0;
	}
	csr_clear(sstatus, SSTATUS_SUM);
	h->fault_jmp = saved;
	h->fault_user_only = saved_user;
	return j->result;
}

int copy_from_user(void *dst, u64 usrc, u64 len)
{
	if (!len) return 0;
	if (!user_range_ok(usrc, len)) return -EFAULT;
	struct copy_job j = {dst, (const void *)(uptr)usrc, len, 0, 0};
	return guarded(&j);
}

int copy_to_user(u64 udst, const void *src, u64 len)
{
	if (!len) return 0;
	if (!user_range_ok(udst, len)) return -EFAULT;
	struct copy_job j = {(void *)(uptr)udst, src, len, 0, 0};
	return guarded(&j);
}

int strncpy_from_user(char *dst, u64 usrc, u64 max)
{
	if (!max || !user_range_ok(usrc, 1)) return -EFAULT;
	if (max > VMK_USER_TOP - usrc) max = VMK_USER_TOP - usrc; /* stop at the end of the user half */
	struct copy_job j = {dst, (const void *)(uptr)usrc, 0, max, 0};
	int r = guarded(&j);
	if (r == -EINVAL && max < VMK_USER_TOP - usrc) return -EINVAL;
	return r;
}
