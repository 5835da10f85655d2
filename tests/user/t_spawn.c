/* t_spawn: the edges of starting and ending a child, each case written to fail on the kernel and runtime
 * of issue 17 item 7: SYS_spawn's errors in the documented ERROR ORDER (every adjacent pair of its
 * Errors line set up so that both apply, and the first must win), the runtime's way to pass
 * VMK_SPAWN_DIAG, a kill that lands while the child is exiting, and the heap's handle kept at home. */
#include "user/vmk.h"

#define PROG "/t_spawn"
#define PG 4096UL
#define TIMEOUT (20 * 1000000000ULL)
#define KERNEL_IMAGE 0xffffffff80000000UL
#define KERNEL_VMALLOC 0xffffffc000000000UL
#define FORGED 0x4242424242ULL

/* The raw call, so the kernel's order is what is tested (the runtime adds a check of its own). */
static long spawn_raw(const char *name, const void *argv, const void *handles, u64 n, u64 quota, u64 flags)
{
	return vmk_syscall(SYS_spawn, (u64)(uptr)name, (u64)(uptr)argv, (u64)(uptr)handles, n, quota, flags);
}

/* A spawn that should have failed but started a child is reaped, so the failure costs no slot. */
static long reaped(long r)
{
	if (r > 0) wait_status(r);
	return r;
}
#define CHECK_SPAWN(call, want) CHECK_EQ(reaped(call), want)

static const char *const argv_exit[] = {PROG, "exit", NULL};

/* An object of `pages` pages mapped read-write at *addr, with `max` bytes reserved; its handle. */
static long mapped_object(u64 pages, u64 max, u64 *addr)
{
	long h = vmk_shm_create(pages * PG, 0);
	long a = h > 0 ? vmk_shm_map((u64)h, 0, max, PROT_READ | PROT_WRITE) : -1;
	*addr = a > 0 ? (u64)a : 0;
	return a > 0 ? h : -1;
}

/* Pairs that need no child: EFAULT over EINVAL, EINVAL over E2BIG, EBADF over ENOENT, and E2BIG's
 * bounds (what lies past what the kernel reads is never read). */
static void test_order_simple(void)
{
	static char long_name[VMK_NAME_MAX + 8];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[0] = '/';
	const char *many[VMK_ARGV_MAX + 2];
	for (int i = 0; i <= VMK_ARGV_MAX; i++) many[i] = "x";
	many[VMK_ARGV_MAX + 1] = NULL;
	u64 forged[1] = {FORGED};
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	u64 hs[VMK_SPAWN_HANDLES_MAX + 1];
	for (u32 i = 0; i < ARRAY_SIZE(hs); i++) hs[i] = (u64)h;

	/* EFAULT beats EINVAL: a bad argv or handles pointer with an empty or too long name, a bad quota,
	 * unknown flags. */
	CHECK_SPAWN(spawn_raw("", (void *)KERNEL_IMAGE, NULL, 0, 0, 0), -EFAULT);
	CHECK_SPAWN(spawn_raw(long_name, argv_exit, (void *)KERNEL_IMAGE, 1, 0, 0), -EFAULT);
	const char *bad_str[] = {PROG, (const char *)KERNEL_VMALLOC, NULL};
	CHECK_SPAWN(spawn_raw(PROG, bad_str, NULL, 0, VMK_MAX_QUOTA_PAGES + 1, 0), -EFAULT);
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, (void *)((uptr)hs + 4), 1, 0, ~0UL), -EFAULT);
	/* EFAULT beats E2BIG: a bad string after the argument bytes ran out, a bad handles pointer with too
	 * many handles. */
	char *big = malloc(VMK_ARGV_BYTES + 1);
	REQUIRE(big != NULL);
	memset(big, 'y', VMK_ARGV_BYTES);
	big[VMK_ARGV_BYTES] = '\0';
	const char *big_then_bad[] = {PROG, big, (const char *)KERNEL_VMALLOC, NULL};
	CHECK_SPAWN(spawn_raw(PROG, big_then_bad, NULL, 0, 0, 0), -EFAULT);
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, (void *)KERNEL_IMAGE, VMK_SPAWN_HANDLES_MAX + 1, 0, 0), -EFAULT);
	/* EINVAL beats E2BIG. */
	CHECK_SPAWN(spawn_raw(PROG, many, NULL, 0, VMK_MAX_QUOTA_PAGES + 1, 0), -EINVAL);
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, hs, VMK_SPAWN_HANDLES_MAX + 1, 0, 2), -EINVAL);
	const char *big_argv[] = {PROG, big, NULL};
	CHECK_SPAWN(spawn_raw("", big_argv, NULL, 0, 0, 0), -EINVAL);
	CHECK_SPAWN(spawn_raw(long_name, many, NULL, 0, 0, 0), -EINVAL);
	/* E2BIG beats EBADF, ENOENT. */
	CHECK_SPAWN(spawn_raw("/no_such_program", many, forged, 1, 0, 0), -E2BIG);
	/* EBADF beats ENOENT and ENOEXEC. */
	CHECK_SPAWN(spawn_raw("/no_such_program", argv_exit, forged, 1, 0, 0), -EBADF);
	CHECK_SPAWN(spawn_raw("/not_elf", argv_exit, forged, 1, 0, 0), -EBADF);
	/* ENOENT and ENOEXEC cannot both apply (a name is either missing or a file); each alone. */
	CHECK_SPAWN(spawn_raw("/no_such_program", argv_exit, NULL, 0, 0, 0), -ENOENT);
	CHECK_SPAWN(spawn_raw("/not_elf", argv_exit, NULL, 0, 0, 0), -ENOEXEC);
	free(big);

	/* What is read: argv up to VMK_ARGV_MAX + 1 entries, the first VMK_SPAWN_HANDLES_MAX handle words.
	 * Arrays that run into unmapped memory just past that are E2BIG, not EFAULT. */
	u64 base;
	long o = mapped_object(1, 2 * PG, &base);
	REQUIRE(o > 0);
	const char **edge = (const char **)(base + PG - (VMK_ARGV_MAX + 1) * 8);
	for (int i = 0; i <= VMK_ARGV_MAX; i++) edge[i] = "x"; /* the terminator would lie in the reserve */
	CHECK_SPAWN(spawn_raw(PROG, edge, NULL, 0, 0, 0), -E2BIG);
	u64 *hedge = (u64 *)(base + PG - VMK_SPAWN_HANDLES_MAX * 8);
	for (u32 i = 0; i < VMK_SPAWN_HANDLES_MAX; i++) hedge[i] = (u64)h;
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, hedge, VMK_SPAWN_HANDLES_MAX + 1, 0, 0), -E2BIG);
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, hedge, ~0UL, 0, 0), -E2BIG);
	CHECK_SPAWN(spawn_raw(PROG, argv_exit, hedge + 1, VMK_SPAWN_HANDLES_MAX, 0, 0), -EFAULT);
	CHECK_EQ(vmk_shm_unmap(base), 0);
	CHECK_EQ(vmk_shm_close((u64)o), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
}

/* A child without VMK_SPAWN_DIAG checks the pairs around EPERM (it cannot be had by a diag task). */
static int child_order_perm(void)
{
	const char *many[VMK_ARGV_MAX + 2];
	for (int i = 0; i <= VMK_ARGV_MAX; i++) many[i] = "x";
	many[VMK_ARGV_MAX + 1] = NULL;
	u64 forged[1] = {FORGED};
	u64 hs[VMK_SPAWN_HANDLES_MAX + 1] = {0};
	if (reaped(spawn_raw(PROG, argv_exit, NULL, 0, 0, VMK_SPAWN_DIAG)) != -EPERM) return 1;
	/* E2BIG beats EPERM. */
	if (reaped(spawn_raw(PROG, many, NULL, 0, 0, VMK_SPAWN_DIAG)) != -E2BIG) return 2;
	if (reaped(spawn_raw(PROG, argv_exit, hs, VMK_SPAWN_HANDLES_MAX + 1, 0, VMK_SPAWN_DIAG)) != -E2BIG) return 3;
	/* EPERM beats EBADF, ENOENT, ENOEXEC. */
	if (reaped(spawn_raw(PROG, argv_exit, forged, 1, 0, VMK_SPAWN_DIAG)) != -EPERM) return 4;
	if (reaped(spawn_raw("/no_such_program", argv_exit, NULL, 0, 0, VMK_SPAWN_DIAG)) != -EPERM) return 5;
	if (reaped(spawn_raw("/not_elf", argv_exit, NULL, 0, 0, VMK_SPAWN_DIAG)) != -EPERM) return 6;
	/* EINVAL beats EPERM. */
	if (reaped(spawn_raw(PROG, argv_exit, NULL, 0, 0, VMK_SPAWN_DIAG | 4)) != -EINVAL) return 7;
	return 0;
}

static void test_order_perm(void)
{
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "order-perm", NULL}, NULL, 0, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0); /* else the number of the pair that failed */
}

/* With the task table full: ENOEXEC beats EAGAIN, EAGAIN beats ENOMEM (a program too big for any quota),
 * and every earlier error still wins over EAGAIN. */
static void test_order_table_full(void)
{
	static long tids[64];
	u32 n = 0;
	const char *sleeper[] = {PROG, "sleep", NULL};
	long r = 0;
	while (n < ARRAY_SIZE(tids) && (r = vmk_spawn(PROG, sleeper, NULL, 0, 16)) > 0) tids[n++] = r;
	CHECK_EQ(r, -EAGAIN); /* the table filled up before our array did */
	if (r == -EAGAIN) {
		u64 forged[1] = {FORGED};
		CHECK_SPAWN(spawn_raw("/huge_bss", argv_exit, NULL, 0, 0, 0), -EAGAIN);
		CHECK_SPAWN(spawn_raw("/not_elf", argv_exit, NULL, 0, 0, 0), -ENOEXEC);
		CHECK_SPAWN(spawn_raw("/no_such_program", argv_exit, NULL, 0, 0, 0), -ENOENT);
		CHECK_SPAWN(spawn_raw(PROG, argv_exit, forged, 1, 0, 0), -EBADF);
		CHECK_SPAWN(spawn_raw(PROG, argv_exit, NULL, 0, 0, 0), -EAGAIN);
	}
	for (u32 i = 0; i < n; i++) {
		CHECK_EQ(vmk_kill(tids[i]), 0);
		CHECK_EQ(wait_status(tids[i]), VMK_STATUS_KILLED);
	}
	/* With slots free again the oversized program is what is wrong. */
	CHECK_SPAWN(spawn_raw("/huge_bss", argv_exit, NULL, 0, 0, 0), -ENOMEM);
}

/* The runtime passes VMK_SPAWN_DIAG through vmk_spawn_flags (vmk_spawn passes 0). The child reports
 * whether it may use the diagnostic calls. */
static void test_spawn_flags(void)
{
	const char *probe[] = {PROG, "diag-probe", NULL};
	long tid = vmk_spawn_flags(PROG, probe, NULL, 0, 0, VMK_SPAWN_DIAG);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 10); /* has it */
	tid = vmk_spawn_flags(PROG, probe, NULL, 0, 0, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 11); /* has not */
	tid = vmk_spawn(PROG, probe, NULL, 0, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 11);
	CHECK_SPAWN(vmk_spawn_flags(PROG, probe, NULL, 0, 0, 2), -EINVAL);
}

static int child_diag_probe(void)
{
	long r = vmk_trace_ctl(0, 0); /* changes nothing; -EPERM without the privilege */
	return r >= 0 ? 10 : r == -EPERM ? 11 : 12;
}

/* A kill and the child's own exit: SYS_kill returning 0 means VMK_STATUS_KILLED, -ESRCH means the child
 * had ended and its own status stands. The child spins in user mode until told to exit, and is killed
 * just before it is told, so on several harts it calls SYS_exit with the kill already pending (the kill
 * takes effect only at a return to user mode, which SYS_exit never makes). */
static void test_kill_during_exit(void)
{
	u64 base;
	long h = mapped_object(1, 0, &base);
	REQUIRE(h > 0);
	volatile u64 *go = (volatile u64 *)base, *ready = go + 1;
	u32 killed = 0, ended = 0;
	for (u32 i = 0; i < 40; i++) {
		store_u64(go, 0);
		store_u64(ready, 0);
		u64 hs[1] = {(u64)h};
		long tid = vmk_spawn(PROG, (const char *const[]){PROG, "exit-on-go", NULL}, hs, 1, 0);
		REQUIRE(tid > 0);
		REQUIRE(wait_for_u64(ready, 1, TIMEOUT));
		long r = (i % 4 == 3) ? -ESRCH : vmk_kill(tid); /* every fourth round: no kill */
		store_u64(go, 1);
		if (i % 4 == 2) { /* kill again once it is reaped: nothing to kill */
			int status = wait_status(tid);
			CHECK_EQ(r, 0);
			CHECK_EQ(status, VMK_STATUS_KILLED);
			CHECK_EQ(vmk_kill(tid), -ESRCH);
			continue;
		}
		int status = wait_status(tid);
		if (r == 0) {
			CHECK_EQ(status, VMK_STATUS_KILLED);
			killed++;
		} else {
			CHECK_EQ(r, -ESRCH);
			CHECK_EQ(status, 7);
			ended++;
		}
	}
	printf("# t_spawn: kill_during_exit: %u killed, %u ended by themselves\n", killed, ended);
	CHECK(killed > 0 && ended > 0);
	CHECK_EQ(vmk_shm_unmap(base), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
}

static int child_exit_on_go(void)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (a <= 0) return 2;
	volatile u64 *go = (volatile u64 *)a;
	store_u64(go + 1, 1);
	while (!load_u64(go)) /* spins in user mode: no syscall that would return through the kill check */
		;
	vmk_exit(7);
}

/* The heap's handle holds SHM_RESIZE: the runtime never passes it on (a child could shrink the heap under
 * malloc), and a reduced copy lets a child see heap memory without that power. */
static void test_heap_handle_stays_home(void)
{
	char *p = malloc(64);
	REQUIRE(p != NULL);
	strcpy(p, "heap-marker");
	struct heap_stats st;
	heap_get_stats(&st);
	REQUIRE(st.handle > 0);
	u64 hh = st.handle;
	const char *const argv_shrink[] = {PROG, "shrink-heap", NULL};
	CHECK_SPAWN(vmk_spawn(PROG, argv_shrink, &hh, 1, 0), -EPERM);
	CHECK_SPAWN(spawn_with(PROG, &hh, 1, "shrink-heap", NULL), -EPERM);
	u64 two[2] = {FORGED, hh};
	CHECK_SPAWN(vmk_spawn(PROG, argv_shrink, two, 2, 0), -EPERM);
	CHECK_EQ(vmk_shm_share(hh, vmk_getpid(), SHM_ALL), -EPERM);
	CHECK_EQ(vmk_shm_share(hh, vmk_getpid(), SHM_RESIZE), -EPERM);
	/* A bad array still gets the kernel's answer, and this task survives looking at it. */
	CHECK_SPAWN(vmk_spawn(PROG, argv_shrink, (const u64 *)KERNEL_IMAGE, 1, 0), -EFAULT);
	CHECK_SPAWN(vmk_spawn(PROG, argv_shrink, (const u64 *)0x3000000000UL, 1, 0), -EFAULT);

	long copy = vmk_shm_share(hh, vmk_getpid(), SHM_R | SHM_W | SHM_MAP);
	REQUIRE(copy > 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info((u64)copy, &info), 0);
	CHECK_EQ(info.rights, SHM_R | SHM_W | SHM_MAP);
	char off[24];
	snprintf(off, sizeof(off), "%lu", (unsigned long)((uptr)p - st.base));
	u64 hc = (u64)copy;
	long tid = spawn_with(PROG, &hc, 1, "heap-peer", off, NULL);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK(strcmp(p, "heap-marker") == 0);
	struct heap_stats after;
	heap_get_stats(&after);
	CHECK_EQ(after.size, st.size); /* the child could not shrink it */
	CHECK_EQ(vmk_shm_close((u64)copy), 0);
	free(p);
}

/* Maps the reduced copy of the parent's heap, finds the marker, and cannot shrink the heap. */
static int child_heap_peer(const char *off)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	struct vmk_shm_info info;
	if (vmk_shm_info(h, &info) || (info.rights & SHM_RESIZE)) return 2;
	long a = vmk_shm_map(h, 0, 0, PROT_READ);
	if (a <= 0) return 3;
	if (strcmp((const char *)(a + strtoul(off, NULL, 10)), "heap-marker") != 0) return 4;
	if (vmk_shm_resize(h, PG) != -EACCES) return 5;
	return 0;
}

/* ---- a subtree outlives its middle: the tasks above still reach it ---- */

/* Spawns a child that sleeps until killed, publishes its tid in the shared page, then (role "middle")
 * exits, or ("middle-stay") sleeps until killed too. */
static int child_middle(bool stay)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 50;
	volatile u64 *w = (volatile u64 *)vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if ((long)w <= 0) return 51;
	long g = vmk_spawn(PROG, (const char *const[]){PROG, "sleep", NULL}, NULL, 0, 0);
	if (g <= 0) return 52;
	store_u64(&w[0], (u64)g);
	if (stay) vmk_sleep(~0ULL);
	return 0;
}

/* A grandchild whose parent has ended is adopted: the grandparent can kill it (before, nobody could:
 * SYS_kill took only a task's own children, so a child's child that never stopped kept init from ever
 * ending and the machine from powering off), but not wait for it (the kernel reaps it). A grandchild
 * whose parent still runs can be killed from above too. */
static void test_kill_reaches_the_subtree(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	volatile u64 *w = (volatile u64 *)vmk_shm_map((u64)h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE((long)w > 0);
	u64 hs[1] = {(u64)h};
	struct vmk_vm_stats s0, s1;
	REQUIRE(vmk_vm_stats(&s0) == 0);
	for (int stay = 0; stay < 2; stay++) {
		store_u64(&w[0], 0);
		long mid = vmk_spawn(PROG, (const char *const[]){PROG, stay ? "middle-stay" : "middle", NULL}, hs, 1, 0);
		REQUIRE(mid > 0);
		for (u64 t0 = now_ns(); !load_u64(&w[0]) && now_ns() - t0 < TIMEOUT;) vmk_sleep(1000000);
		long g = (long)load_u64(&w[0]);
		REQUIRE(g > 0);
		if (!stay) CHECK_EQ(wait_status(mid), 0); /* the middle has ended: g is ours now */
		CHECK_EQ(vmk_kill(g), 0);
		if (!stay) CHECK_EQ(vmk_wait(g, NULL), -ECHILD); /* adopted, not spawned: the kernel reaps it */
		long r = 0;
		for (u64 t0 = now_ns(); (r = vmk_kill(g)) == 0 && now_ns() - t0 < TIMEOUT;) vmk_sleep(1000000);
		CHECK_EQ(r, -ESRCH); /* gone: killed and reaped */
		if (stay) {
			CHECK_EQ(vmk_kill(mid), 0);
			CHECK_EQ(wait_status(mid), VMK_STATUS_KILLED);
		}
	}
	CHECK_EQ(vmk_kill(vmk_getpid()), -EPERM); /* not below itself */
	/* The adopted grandchild is reaped by the kernel's idle work, not by a wait: its stack area goes then. */
	u64 t0 = now_ns();
	do {
		vmk_sleep(1000000);
		REQUIRE(vmk_vm_stats(&s1) == 0);
	} while (s1.live_areas != s0.live_areas && now_ns() - t0 < TIMEOUT);
	CHECK_EQ(s1.live_areas, s0.live_areas);
	vmk_shm_unmap((u64)w);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "exit") == 0) return 0;
		if (strcmp(argv[1], "sleep") == 0) return (int)vmk_sleep(~0ULL); /* until killed */
		if (strcmp(argv[1], "order-perm") == 0) return child_order_perm();
		if (strcmp(argv[1], "diag-probe") == 0) return child_diag_probe();
		if (strcmp(argv[1], "exit-on-go") == 0) return child_exit_on_go();
		if (strcmp(argv[1], "middle") == 0) return child_middle(false);
		if (strcmp(argv[1], "spin") == 0)
			for (;;) __asm__ volatile(""); /* never stops by itself */
		if (strcmp(argv[1], "leave-spinner") == 0) /* as init: leaves a task that never ends */
			return vmk_spawn(PROG, (const char *const[]){PROG, "spin", NULL}, NULL, 0, 0) > 0 ? 0 : 1;
		if (strcmp(argv[1], "spawner") == 0) /* spawns without end: most of its time a child is being built */
			for (;;) {
				long c = vmk_spawn(PROG, argv_exit, NULL, 0, 0);
				if (c > 0) wait_status(c);
			}
		if (strcmp(argv[1], "leave-spawner") == 0) { /* as init: ends while spawns are building tasks */
			for (int i = 0; i < 3; i++)
				if (vmk_spawn(PROG, (const char *const[]){PROG, "spawner", NULL}, NULL, 0, 0) <= 0) return 1;
			vmk_sleep(50000000);
			return 0;
		}
		if (strcmp(argv[1], "middle-stay") == 0) return child_middle(true);
		if (strcmp(argv[1], "heap-peer") == 0 && argc > 2) return child_heap_peer(argv[2]);
		if (strcmp(argv[1], "shrink-heap") == 0) { /* what a child given the heap's handle could do */
			u64 h;
			return vmk_handles(&h, 1) == 1 && vmk_shm_resize(h, PG) == 0 ? 0 : 1;
		}
		printf("# t_spawn: unknown role %s\n", argv[1]);
		return 99;
	}
	ktap_begin("t_spawn");
	ktap_run("order_simple", test_order_simple);
	ktap_run("order_perm", test_order_perm);
	ktap_run("order_table_full", test_order_table_full);
	ktap_run("spawn_flags", test_spawn_flags);
	ktap_run("kill_during_exit", test_kill_during_exit);
	ktap_run("heap_handle_stays_home", test_heap_handle_stays_home);
	ktap_run("kill_reaches_the_subtree", test_kill_reaches_the_subtree);
	return ktap_end();
}
