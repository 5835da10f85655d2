/* System call dispatch: number in a7, arguments in a0..a5, result (or -errno) in a0, the user's call site
 * for the trace in a6. Every user pointer goes through kernel/uaccess.c; nothing here dereferences one
 * directly. */
#include <vmk/abi.h>
#include "kernel/syscall.h"
#include "kernel/aspace.h"
#include "kernel/sched.h"
#include "kernel/shm.h"
#include "kernel/shm_obj.h"
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

/* Called, not jumped to: `return shm_create(...)` as a sibling call would leave the callee's return
 * address (vmallocinfo's owner, the trace's caller=) in the dispatcher; with the empty asm after it the
 * callee returns into the handler, whose name LTO keeps (it is reached through the table), e.g.
 * caller=sys_shm_create+0x1a/0x2c. For the handlers whose callee names its caller. */
#define CALLED(call)                                  \
	({                                            \
		long r_ = (call);                     \
		__asm__ volatile("");                 \
		r_;                                   \
	})

typedef long (*syscall_fn)(struct task *t, const u64 *a);

static long sys_exit(struct task *t, const u64 *a) { (void)t; task_exit((int)(a[0] & 0xff)); }

/* SYS_spawn's Errors line in order (abi.h ERROR ORDER): when several apply, the first listed wins. The
 * later ones (ENOENT, ENOEXEC, EAGAIN, ENOMEM) come from task_spawn, which runs only once every check
 * here has passed, in that order. */
static const int spawn_errors[] = {EFAULT, EINVAL, E2BIG, EPERM, EBADF};

/* Keeps in *err whichever of *err and e comes first in spawn_errors (0 = none yet). */
static void spawn_note(long *err, long e)
{
	if (!e) return;
	for (u32 i = 0; i < ARRAY_SIZE(spawn_errors); i++) {
		if (*err == -spawn_errors[i]) return;
		if (e == -spawn_errors[i]) break;
	}
	*err = e;
}

/* Copies argv in; -EFAULT (which outranks everything, so it returns at once), else notes -E2BIG in *err
 * and goes on reading, so that a bad pointer further on still wins. The array is read up to
 * VMK_ARGV_MAX + 1 entries and each string up to VMK_ARGV_BYTES bytes: what lies beyond is never read. */
static long spawn_copy_argv(u64 uargv, char *argbuf, const char **argv, int *argc_out, long *err)
{
	u64 used = 0;
	bool big = false;
	int argc = 0;
	if (uargv & 7) return -EFAULT;
	for (;; argc++) {
		u64 p;
		long r;
		if ((r = copy_from_user(&p, uargv + (u64)argc * 8, 8))) return r;
		if (!p) break;
		if (argc == VMK_ARGV_MAX) {
			big = true;
			break;
		}
		if (!big && used < VMK_ARGV_BYTES) {
			r = strncpy_from_user(argbuf + used, p, VMK_ARGV_BYTES - used);
			if (!r) {
				argv[argc] = argbuf + used;
				used += strlen(argbuf + used) + 1;
				continue;
			}
			if (r != -EINVAL) return r;
		}
		/* Too long for what is left: the call fails with E2BIG at best, so argbuf is scratch now and
		 * the string is only checked for a bad byte within its own limit. */
		big = true;
		r = strncpy_from_user(argbuf, p, VMK_ARGV_BYTES);
		if (r && r != -EINVAL) return r;
	}
	if (big) spawn_note(err, -E2BIG);
	*argc_out = argc;
	return 0;
}

static long sys_spawn(struct task *t, const u64 *a)
{
	char name[VMK_NAME_MAX], argbuf[VMK_ARGV_BYTES];
	const char *argv[VMK_ARGV_MAX + 1];
	u64 handles[VMK_SPAWN_HANDLES_MAX];
	u64 nhandles = MIN(a[3], VMK_SPAWN_HANDLES_MAX); /* the words read: an oversized count is E2BIG */
	int argc = 0;
	long r, err = 0;

	/* EFAULT first: every pointer is checked before any other error may be returned. */
	r = strncpy_from_user(name, a[0], sizeof(name));
	if (r == -EFAULT) return r;
	spawn_note(&err, r ? r : (name[0] ? 0 : -EINVAL)); /* too long or empty */
	if (a[1] && (r = spawn_copy_argv(a[1], argbuf, argv, &argc, &err))) return r;
	argv[argc] = NULL;
	if (nhandles && ((a[2] & 7) || copy_from_user(handles, a[2], nhandles * 8))) return -EFAULT;
	if (a[4] > VMK_MAX_QUOTA_PAGES || (a[5] & ~VMK_SPAWN_DIAG)) spawn_note(&err, -EINVAL);
	if (a[3] > VMK_SPAWN_HANDLES_MAX) spawn_note(&err, -E2BIG);
	if ((a[5] & VMK_SPAWN_DIAG) && !t->diag) spawn_note(&err, -EPERM);
	if (err) return err;
	/* EBADF before the file is looked up. The caller's handles cannot change meanwhile: only the caller
	 * closes them, and it is here. */
	for (u64 i = 0; i < nhandles; i++)
		if (!shm_holds(t, handles[i])) return -EBADF;
	return CALLED(task_spawn(name, argv, argc, t, handles, (u32)nhandles, a[4], a[5]));
}

static long sys_wait(struct task *t, const u64 *a)
{
	/* A pointer that is bad already fails before blocking. Checked without a store: writing back the
	 * word just read would lose what another task stores to it meanwhile (it may be shared memory). */
	if (a[1] && ((a[1] & 3) || !user_range_ok(a[1], 4) || !aspace_user_writable(t, a[1]))) return -EFAULT;
	return task_wait((long)a[0], a[1]); /* stores the status before it reaps: -EFAULT reaps nothing */
}

static long sys_kill(struct task *t, const u64 *a) { return CALLED(task_kill(t, (long)a[0])); }

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
	console_write_task(buf, a[2]);
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

static long sys_shm_create(struct task *t, const u64 *a) { return CALLED(shm_create(t, a[0], a[1])); }
static long sys_shm_map(struct task *t, const u64 *a) { return CALLED(shm_map(t, a[0], a[1], a[2], a[3])); }
static long sys_shm_unmap(struct task *t, const u64 *a) { return CALLED(shm_unmap(t, a[0])); }
static long sys_shm_resize(struct task *t, const u64 *a) { return CALLED(shm_resize(t, a[0], a[1])); }
static long sys_shm_share(struct task *t, const u64 *a) { return CALLED(shm_share(t, a[0], (long)a[1], a[2])); }
static long sys_shm_close(struct task *t, const u64 *a) { return CALLED(shm_close(t, a[0])); }

static long sys_shm_info(struct task *t, const u64 *a)
{
	struct vmk_shm_info info;
	long r = shm_info(t, a[0], &info); /* the handle first, as for every call (abi.h, ERRORS) */
	if (r) return r;
	if (a[1] & 7 || !user_range_ok(a[1], sizeof(info))) return -EFAULT;
	return copy_to_user(a[1], &info, sizeof(info));
}

static long sys_shm_list(struct task *t, const u64 *a)
{
	u64 vals[VMK_MAX_HANDLES];
	long n = shm_list(t, vals, VMK_MAX_HANDLES, a[2]);
	if (n < 0) return n;
	u64 copy = MIN(a[1], (u64)n);
	if (copy && ((a[0] & 7) || copy_to_user(a[0], vals, copy * 8))) return -EFAULT;
	return n;
}

static long sys_shm_seal(struct task *t, const u64 *a) { return CALLED(shm_seal(t, a[0], a[1])); }
static long sys_shm_read(struct task *t, const u64 *a) { return shm_rw(t, a[0], a[1], a[2], a[3], false); }
static long sys_shm_write(struct task *t, const u64 *a) { return shm_rw(t, a[0], a[1], a[2], a[3], true); }
static long sys_shm_wait(struct task *t, const u64 *a) { return shm_wait(t, a[0], a[1], a[2], a[3]); }
static long sys_shm_wake(struct task *t, const u64 *a) { return shm_wake(t, a[0], a[1], a[2]); }

static long sys_vm_stats(struct task *t, const u64 *a)
{
	struct vm_stats s;
	struct sched_stats ss;
	if (a[0] & 7) return -EFAULT;
	vm_get_stats(&s);
	sched_get_stats(&ss);
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
		.sched_lock_takes = ss.lock_takes, .wait_spins = ss.wait_spins, .wait_spin_wakes = ss.wait_spin_wakes,
		.wake_ipis = ss.wake_ipis, .vmalloc_tables = s.tables, .tables_reclaimed = s.tables_reclaimed,
		.quota_pages = t->quota_pages, .image_pages = t->image_pages, .held_pages = vm_owner_pages(t->slot),
		.shm_steps = shm_objs_steps(),
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
	[SYS_shm_seal] = sys_shm_seal, [SYS_shm_read] = sys_shm_read, [SYS_shm_write] = sys_shm_write,
	[SYS_shm_wait] = sys_shm_wait, [SYS_shm_wake] = sys_shm_wake, [SYS_shm_list] = sys_shm_list,
	[SYS_vm_stats] = sys_vm_stats, [SYS_vm_dump] = sys_vm_dump, [SYS_trace_ctl] = sys_trace_ctl,
	[SYS_trace_mark] = sys_trace_mark,
};

/* The name every trace event inside a call carries (sys=, docs/trace.md): one per number of the table. */
static const char *const names[SYS_MAX] = {
	[SYS_exit] = "exit", [SYS_spawn] = "spawn", [SYS_wait] = "wait", [SYS_yield] = "yield",
	[SYS_getpid] = "getpid", [SYS_write] = "write", [SYS_clock_gettime] = "clock_gettime",
	[SYS_sleep] = "sleep", [SYS_handles] = "handles", [SYS_kill] = "kill", [SYS_shm_create] = "shm_create",
	[SYS_shm_map] = "shm_map", [SYS_shm_unmap] = "shm_unmap", [SYS_shm_resize] = "shm_resize",
	[SYS_shm_share] = "shm_share", [SYS_shm_close] = "shm_close", [SYS_shm_info] = "shm_info",
	[SYS_shm_seal] = "shm_seal", [SYS_shm_read] = "shm_read", [SYS_shm_write] = "shm_write",
	[SYS_shm_wait] = "shm_wait", [SYS_shm_wake] = "shm_wake", [SYS_shm_list] = "shm_list", [SYS_vm_stats] = "vm_stats", [SYS_vm_dump] = "vm_dump", [SYS_trace_ctl] = "trace_ctl",
	[SYS_trace_mark] = "trace_mark",
};

/* Not inlined into the trap handler: a handler called through the table returns here, so what it names
 * as its caller is this function, never trap_handler. */
__noinline void syscall_dispatch(struct trap_frame *tf)
{
	u64 nr = tf->regs[REG_A7];
	struct task *t = current_task();
	syscall_fn fn = nr < SYS_MAX ? table[nr] : NULL;
	t->fault_repeats = 0; /* fault retries count only while no system call comes between them */
	if (!fn) {
		tf->regs[REG_A0] = (u64)-ENOSYS;
		return;
	}
	/* Five stores per call; the clock is read only while tracing, which is when sys_dt is printed. */
	t->tsys.t0 = trace_on(TRACE_ALL) ? rdtime() : 0;
	t->tsys.upc = tf->sepc - 4; /* the trap handler has stepped sepc past the ecall */
	t->tsys.ucaller = tf->regs[REG_A6];
	WRITE_ONCE(t->tsys.name, names[nr] ? names[nr] : "unnamed");
	tf->regs[REG_A0] = (u64)fn(t, &tf->regs[REG_A0]);
	WRITE_ONCE(t->tsys.name, NULL);
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
