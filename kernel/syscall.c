/* System call dispatch: number in a7, arguments in a0..a5, result (or -errno) in a0. Every user pointer
 * goes through kernel/uaccess.c; nothing here dereferences one directly. */
#include <vmk/abi.h>
#include "kernel/shm.h"
#include "kernel/task.h"
#include "kernel/timer.h"
#include "kernel/uaccess.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

typedef long (*syscall_fn)(struct task *t, const u64 *a);

static long sys_exit(struct task *t, const u64 *a) { (void)t; task_exit((int)(a[0] & 0xff)); }

static long sys_spawn(struct task *t, const u64 *a)
{
	char name[VMK_NAME_MAX], argbuf[VMK_ARGV_BYTES];
	const char *argv[VMK_ARGV_MAX + 1];
	u64 handles[VMK_SPAWN_HANDLES_MAX];
	int argc = 0, r;
	u64 used = 0;

	if ((r = strncpy_from_user(name, a[0], sizeof(name)))) return r;
	if (!name[0]) return -EINVAL;
	if (a[1]) {
		if (a[1] & 7) return -EFAULT;
		for (;; argc++) {
			u64 p;
			if ((r = copy_from_user(&p, a[1] + (u64)argc * 8, 8))) return r;
			if (!p) break;
			if (argc == VMK_ARGV_MAX || used >= sizeof(argbuf)) return -E2BIG;
			r = strncpy_from_user(argbuf + used, p, sizeof(argbuf) - used);
			if (r == -EINVAL) return -E2BIG;
			if (r) return r;
			argv[argc] = argbuf + used;
			used += strlen(argbuf + used) + 1;
		}
	}
	argv[argc] = NULL;
	if (a[3] > VMK_SPAWN_HANDLES_MAX) return -E2BIG;
	if (a[3] && ((a[2] & 7) || (r = copy_from_user(handles, a[2], a[3] * 8)))) return r ? r : -EFAULT;
	if (a[4] > VMK_MAX_QUOTA_PAGES || (a[5] & ~VMK_SPAWN_DIAG)) return -EINVAL;
	if ((a[5] & VMK_SPAWN_DIAG) && !t->diag) return -EPERM;
	return task_spawn(name, argv, argc, t, handles, (u32)a[3], a[4], a[5]);
}

static long sys_wait(struct task *t, const u64 *a)
{
	(void)t;
	if (a[1] && ((a[1] & 3) || !user_range_ok(a[1], 4))) return -EFAULT;
	if (a[1]) { /* a pointer that is bad already fails before blocking */
		int probe;
		if (copy_from_user(&probe, a[1], 4) || copy_to_user(a[1], &probe, 4)) return -EFAULT;
	}
	return task_wait((long)a[0], a[1]); /* stores the status before it reaps: -EFAULT reaps nothing */
}

static long sys_kill(struct task *t, const u64 *a) { return task_kill(t, (long)a[0]); }

static long sys_yield(struct task *t, const u64 *a) { (void)t; (void)a; task_yield(); return 0; }
static long sys_getpid(struct task *t, const u64 *a) { (void)a; return t->tid; }

static long sys_write(struct task *t, const u64 *a)
{
	char buf[VMK_WRITE_MAX];
	(void)t;
	if (a[0] != 1 && a[0] != 2) return -EBADF;
	if (a[2] > VMK_WRITE_MAX) return -EINVAL;
	if (!a[2]) return 0;
	int r = copy_from_user(buf, a[1], a[2]);
	if (r) return r;
	console_write(buf, a[2]);
	return (long)a[2];
}

static long sys_clock_gettime(struct task *t, const u64 *a)
{
	(void)t;
	u64 ns = timer_now_ns();
	struct vmk_timespec ts = {ns / 1000000000ULL, ns % 1000000000ULL};
	if (a[0] & 7) return -EFAULT;
	return copy_to_user(a[0], &ts, sizeof(ts));
}

static long sys_sleep(struct task *t, const u64 *a) { (void)t; task_sleep_ns(a[0]); return 0; }

static long sys_handles(struct task *t, const u64 *a)
{
	u64 n = MIN(a[1], (u64)t->ninherited);
	if (n && ((a[0] & 7) || copy_to_user(a[0], t->inherited, n * 8))) return -EFAULT;
	return t->ninherited;
}

static long sys_shm_create(struct task *t, const u64 *a) { return shm_create(t, a[0], a[1]); }
static long sys_shm_map(struct task *t, const u64 *a) { return shm_map(t, a[0], a[1], a[2], a[3]); }
static long sys_shm_unmap(struct task *t, const u64 *a) { return shm_unmap(t, a[0]); }
static long sys_shm_resize(struct task *t, const u64 *a) { return shm_resize(t, a[0], a[1]); }
static long sys_shm_share(struct task *t, const u64 *a) { return shm_share(t, a[0], (long)a[1], a[2]); }
static long sys_shm_close(struct task *t, const u64 *a) { return shm_close(t, a[0]); }

static long sys_shm_info(struct task *t, const u64 *a)
{
	struct vmk_shm_info info;
	if (a[1] & 7 || !user_range_ok(a[1], sizeof(info))) return -EFAULT;
	long r = shm_info(t, a[0], &info);
	return r ? r : copy_to_user(a[1], &info, sizeof(info));
}

static long sys_vm_stats(struct task *t, const u64 *a)
{
	struct vm_stats s;
	(void)t;
	if (a[0] & 7) return -EFAULT;
	vm_get_stats(&s);
	struct vmk_vm_stats u = {
		.seq = s.seq, .live_areas = s.live_areas, .live_pages = s.live_pages, .peak_pages = s.peak_pages,
		.rejected = s.rejected, .failures = s.failures, .lazy_pages = s.lazy_pages, .purges = s.purges,
		.local_fences = s.local_fences, .remote_fences = s.remote_fences, .flushed_pages = s.flushed_pages,
		/* Pages in the per-hart caches are free for use: they count as free. */
		.free_phys_pages = buddy_free_pages() + page_cache_pages(), .total_phys_pages = buddy_total_pages(),
		.last_fail_size = s.last_fail_size, .last_fail_align = s.last_fail_align,
		.last_fail_reason = (u64)s.last_fail_errno,
		/* Tests that need two tasks on two harts (a remote TLB shootdown) check their placement here. */
		.hart = this_hart_index(), .harts_online = nr_harts_online,
	};
	return copy_to_user(a[0], &u, sizeof(u));
}

/* Diagnostics show kernel addresses and can flood the console: init and the tasks it grants them only. */
static long sys_vm_dump(struct task *t, const u64 *a)
{
	(void)a;
	if (!t->diag) return -EPERM;
	vm_dump_areas();
	return 0;
}

static long sys_trace_ctl(struct task *t, const u64 *a)
{
	if (!t->diag) return -EPERM;
	if ((a[0] | a[1]) & ~(u64)TRACE_ALL) return -EINVAL;
	u32 m = (__atomic_load_n(&trace_mask, __ATOMIC_RELAXED) | (u32)a[0]) & ~(u32)a[1];
	WRITE_ONCE(trace_mask, m);
	return m;
}

__noinline static long sys_trace_mark(struct task *t, const u64 *a)
{
	char label[VMK_LABEL_MAX] = "";
	(void)t;
	if (a[1]) {
		int r = strncpy_from_user(label, a[1], sizeof(label));
		if (r) return r;
	}
	/* Written whatever the mask (docs/trace.md): a mark is the user's own note in the log. */
	trace_emit(__builtin_return_address(0), "ev=mark id=%lu label=\"%s\"", a[0], trace_clean(label));
	return 0;
}

static const syscall_fn table[SYS_MAX] = {
	[SYS_exit] = sys_exit, [SYS_spawn] = sys_spawn, [SYS_wait] = sys_wait, [SYS_yield] = sys_yield,
	[SYS_getpid] = sys_getpid, [SYS_write] = sys_write, [SYS_clock_gettime] = sys_clock_gettime,
	[SYS_sleep] = sys_sleep, [SYS_handles] = sys_handles, [SYS_kill] = sys_kill, [SYS_shm_create] = sys_shm_create,
	[SYS_shm_map] = sys_shm_map, [SYS_shm_unmap] = sys_shm_unmap, [SYS_shm_resize] = sys_shm_resize,
	[SYS_shm_share] = sys_shm_share, [SYS_shm_close] = sys_shm_close, [SYS_shm_info] = sys_shm_info,
	[SYS_vm_stats] = sys_vm_stats, [SYS_vm_dump] = sys_vm_dump, [SYS_trace_ctl] = sys_trace_ctl,
	[SYS_trace_mark] = sys_trace_mark,
};

void syscall_dispatch(struct trap_frame *tf)
{
	u64 nr = tf->regs[REG_A7];
	struct task *t = current_task();
	syscall_fn fn = nr < SYS_MAX ? table[nr] : NULL;
	t->fault_repeats = 0; /* fault retries count only while no system call comes between them */
	tf->regs[REG_A0] = fn ? (u64)fn(t, &tf->regs[REG_A0]) : (u64)-ENOSYS;
}

/* A user-mode fault: a load or store racing a shm resize that has since mapped the page is retried
 * (after this hart forgets any stale translation); a retry that keeps faulting at the same address, and
 * every other fault (instruction fetches included), kills the task. */
#define FAULT_RETRIES_MAX 8
bool task_handle_fault(struct trap_frame *tf)
{
	struct task *t = current_task();
	if (!t) return false;
	u64 c = tf->scause;
	if ((c == EXC_INST_PAGE || c == EXC_LOAD_PAGE || c == EXC_STORE_PAGE) && shm_fault(t, tf->stval, c)) {
		if (t->fault_addr != tf->stval) t->fault_repeats = 0;
		t->fault_addr = tf->stval;
		if (++t->fault_repeats <= FAULT_RETRIES_MAX) {
			local_flush_tlb_page(tf->stval); /* the PTE may be newer than this hart's TLB */
			return true;
		}
	}
	task_kill_current(tf, trap_cause_name(c));
}
