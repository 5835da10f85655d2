/* shm_bench: the four workloads of ../shared/peer/linux-shm-bench.c (Linux memfd, ftruncate, mmap,
 * pread/pwrite, futex) on vmk's shared-memory service, with the same sizes and counts, so that
 * tests/bench.sh can set the two side by side. Run as the first task: `init=/shm_bench [SCALE [NAME [OPS]]]`
 * (NAME runs that workload alone, OPS times if given: a short run to profile one path).
 * Prints, as the Linux peer does, one line per workload:
 *   shm_bench: NAME ops=N total_ns=T ns_per_op=X
 * (under -icount shift=0 one guest nanosecond is one instruction), or `shm_bench: NAME skipped (ENOSYS)`
 * when the kernel lacks a call the workload needs, then `shm_bench: done`. A failing call prints
 * `shm_bench: WHAT failed: ERR` and exits 1. Lines starting with "# " are diagnostics (fence counts).
 *   cycle    shm_create 64 KiB, shm_map read-write, write one byte in each of its 16 pages, unmap, close
 *   grow     one object mapped once with 4 MiB of room; shm_resize it 4 KiB at a time from 4 KiB to 4 MiB
 *            writing one byte in each new page, then back down 4 KiB at a time; one op = one resize
 *   rw       shm_write 4 KiB into a 1 MiB object at offset (i * 4 KiB) mod 1 MiB, then shm_read it back
 *   pingpong two tasks share a 4 KiB object and one 32-bit word in it; A stores n and wakes B, then waits
 *            until the word is n + 1; B waits for n, stores n + 1 and wakes A (shm_wait / shm_wake, as
 *            the peer's futex). One op = one round trip. B is this program spawned with "pong". */
#include "user/vmk.h"

/* The calls of issue 17 items 2-3, by number, so this program builds before and after they exist. */
#ifndef SYS_shm_read
#define SYS_shm_read 24
#endif
#ifndef SYS_shm_write
#define SYS_shm_write 25
#endif
#ifndef SYS_shm_wait
#define SYS_shm_wait 26
#endif
#ifndef SYS_shm_wake
#define SYS_shm_wake 27
#endif

#define PROG "/shm_bench"
#define KB 1024UL
#define MB (1024UL * 1024UL)

static void die(const char *what, long err)
{
	printf("shm_bench: %s failed: %s\n", what, errno_name(err));
	exit(1);
}

static void report(const char *name, unsigned long ops, u64 ns)
{
	printf("shm_bench: %s ops=%lu total_ns=%llu ns_per_op=%llu\n", name, ops, (unsigned long long)ns,
	       (unsigned long long)(ns / ops));
}

/* x / n in hundredths, for figures printed with two decimals (no floating point in the runtime). */
static unsigned long long hundredths(u64 x, u64 n) { return (unsigned long long)(x * 100 + n / 2) / n; }

static void skipped(const char *name) { printf("shm_bench: %s skipped (ENOSYS)\n", name); }

static long shm_read(u64 h, u64 off, void *buf, u64 len)
{
	return vmk_syscall(SYS_shm_read, h, off, (u64)(uptr)buf, len, 0, 0);
}

static long shm_write(u64 h, u64 off, const void *buf, u64 len)
{
	return vmk_syscall(SYS_shm_write, h, off, (u64)(uptr)buf, len, 0, 0);
}

static long shm_wait(u64 h, u64 off, u32 expected) { return vmk_syscall(SYS_shm_wait, h, off, expected, 0, 0, 0); }
static long shm_wake(u64 h, u64 off, u64 count) { return vmk_syscall(SYS_shm_wake, h, off, count, 0, 0, 0); }

/* The kernel's counters around a workload: the grow investigation reads its fences (tests/bench.sh),
 * pingpong its scheduler figures. */
static struct vmk_vm_stats stats_before;

static void stats_begin(void) { vmk_vm_stats(&stats_before); }

static void stats_end(const char *name)
{
	struct vmk_vm_stats s;
	if (vmk_vm_stats(&s)) return;
	printf("# shm_bench: %s kernel_local_fences=%llu kernel_remote_fences=%llu\n", name,
	       (unsigned long long)(s.local_fences - stats_before.local_fences),
	       (unsigned long long)(s.remote_fences - stats_before.remote_fences));
}

static void cycle(unsigned long n)
{
	stats_begin();
	u64 t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		long h = vmk_shm_create(64 * KB, 0);
		if (h < 0) die("shm_create", h);
		long a = vmk_shm_map((u64)h, 0, 0, PROT_READ | PROT_WRITE);
		if (a < 0) die("shm_map", a);
		volatile char *p = (volatile char *)a;
		for (unsigned long o = 0; o < 64 * KB; o += 4 * KB) p[o] = (char)i;
		long e = vmk_shm_unmap((u64)a);
		if (e) die("shm_unmap", e);
		if ((e = vmk_shm_close((u64)h))) die("shm_close", e);
	}
	report("cycle", n, now_ns() - t0);
	stats_end("cycle");
}

static void grow(unsigned long rounds)
{
	long h = vmk_shm_create(4 * KB, 0);
	if (h < 0) die("shm_create", h);
	long a = vmk_shm_map((u64)h, 0, 4 * MB, PROT_READ | PROT_WRITE);
	if (a < 0) die("shm_map", a);
	volatile char *p = (volatile char *)a;
	unsigned long ops = 0, ups = 0;
	long e;
	u64 up_ns = 0;
	stats_begin();
	u64 t0 = now_ns();
	for (unsigned long r = 0; r < rounds; r++) {
		u64 t1 = now_ns();
		for (unsigned long s = 8 * KB; s <= 4 * MB; s += 4 * KB, ops++, ups++) {
			if ((e = vmk_shm_resize((u64)h, s))) die("shm_resize grow", e);
			p[s - 4 * KB] = (char)s;
		}
		up_ns += now_ns() - t1;
		for (unsigned long s = 4 * MB - 4 * KB; s >= 4 * KB; s -= 4 * KB, ops++)
			if ((e = vmk_shm_resize((u64)h, s))) die("shm_resize shrink", e);
	}
	u64 ns = now_ns() - t0;
	report("grow", ops, ns);
	/* Where a grow op goes: the growing steps (resize + first touch) and the shrinking ones apart. */
	printf("# shm_bench: grow up_ns_per_op=%llu down_ns_per_op=%llu\n", (unsigned long long)(up_ns / ups),
	       (unsigned long long)((ns - up_ns) / (ops - ups)));
	stats_end("grow");
	vmk_shm_unmap((u64)a);
	vmk_shm_close((u64)h);
}

static void rw(unsigned long n)
{
	static char buf[4 * KB], back[4 * KB];
	long h = vmk_shm_create(1 * MB, 0);
	if (h < 0) die("shm_create", h);
	long e = shm_write((u64)h, 0, buf, sizeof buf);
	if (e == -ENOSYS) {
		skipped("rw");
		vmk_shm_close((u64)h);
		return;
	}
	u64 t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		u64 off = (i * 4 * KB) % MB;
		buf[0] = (char)i;
		if ((e = shm_write((u64)h, off, buf, sizeof buf)) != (long)sizeof buf) die("shm_write", e);
		if ((e = shm_read((u64)h, off, back, sizeof back)) != (long)sizeof back) die("shm_read", e);
		if (back[0] != (char)i) die("shm_read content", 0);
	}
	report("rw", n, now_ns() - t0);
	vmk_shm_close((u64)h);
}

/* As the peer's wait_for: sleep in the kernel while the word still holds what was last seen. */
static void wait_for(u64 h, volatile u32 *w, u32 want)
{
	for (;;) {
		u32 v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v == want) return;
		long e = shm_wait(h, 0, v);
		if (e && e != -EAGAIN && e != -EINTR) die("shm_wait", e);
	}
}

static void wake(u64 h)
{
	long e = shm_wake(h, 0, 1);
	if (e < 0) die("shm_wake", e);
}

/* B: spawned with the object's handle and n. */
static int pong(unsigned long n)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) die("vmk_handles", 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (a < 0) die("shm_map (pong)", a);
	volatile u32 *w = (volatile u32 *)a;
	for (u32 k = 1; k < 2 * n; k += 2) {
		wait_for(h, w, k);
		__atomic_store_n(w, k + 1, __ATOMIC_RELEASE);
		wake(h);
	}
	return 0;
}

static void pingpong(unsigned long n)
{
	long h = vmk_shm_create(4 * KB, 0);
	if (h < 0) die("shm_create", h);
	long e = shm_wake((u64)h, 0, 1);
	if (e == -ENOSYS) {
		skipped("pingpong");
		vmk_shm_close((u64)h);
		return;
	}
	long a = vmk_shm_map((u64)h, 0, 0, PROT_READ | PROT_WRITE);
	if (a < 0) die("shm_map", a);
	volatile u32 *w = (volatile u32 *)a;
	*w = 0;
	char count[24];
	snprintf(count, sizeof count, "%lu", n);
	u64 hs[1] = {(u64)h};
	long b = spawn_with(PROG, hs, 1, "pong", count, NULL);
	if (b < 0) die("spawn", b);
	stats_begin();
	u64 t0 = now_ns();
	for (u32 k = 1; k < 2 * n; k += 2) {
		__atomic_store_n(w, k, __ATOMIC_RELEASE);
		wake((u64)h);
		wait_for((u64)h, w, k + 1);
	}
	u64 ns = now_ns() - t0;
	struct vmk_vm_stats s1;
	vmk_vm_stats(&s1);
	int st = wait_status(b);
	if (st) {
		printf("shm_bench: pong failed: exit status %d\n", st);
		exit(1);
	}
	report("pingpong", n, ns);
	/* What a round trip cost the scheduler (both tasks, every hart): its one lock, the IPIs that woke a
	 * sleeping hart, and how many waits a wake ended while they were still spinning. */
	unsigned long long locks = hundredths(s1.sched_lock_takes - stats_before.sched_lock_takes, n);
	unsigned long long ipis = hundredths(s1.wake_ipis - stats_before.wake_ipis, n);
	printf("shm_bench: pingpong sched_locks_per_op=%llu.%02llu wake_ipis_per_op=%llu.%02llu wait_spins=%llu "
	       "ended_spinning=%llu\n", locks / 100, locks % 100, ipis / 100, ipis % 100,
	       (unsigned long long)(s1.wait_spins - stats_before.wait_spins),
	       (unsigned long long)(s1.wait_spin_wakes - stats_before.wait_spin_wakes));
	vmk_shm_unmap((u64)a);
	vmk_shm_close((u64)h);
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "pong") == 0) return pong(strtoul(argv[2], NULL, 0));
	unsigned long scale = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	if (!scale) scale = 1;
	const char *only = argc > 2 ? argv[2] : NULL;
	unsigned long ops = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	if (!only || !strcmp(only, "cycle")) cycle(ops ? ops : 2000 * scale);
	if (!only || !strcmp(only, "grow")) grow(ops ? ops : 2 * scale);
	if (!only || !strcmp(only, "rw")) rw(ops ? ops : 20000 * scale);
	if (!only || !strcmp(only, "pingpong")) pingpong(ops ? ops : 10000 * scale);
	printf("shm_bench: done\n");
	return 0;
}
