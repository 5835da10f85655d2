/* t_syscalls: the success path of every syscall in include/vmk/abi.h, as seen from a user task. */
#include "user/vmk.h"

#define PROG "/t_syscalls"
#define MS 1000000ULL

static void test_getpid(void)
{
	long a = vmk_getpid(), b = vmk_getpid();
	CHECK(a > 0);
	CHECK_EQ(a, b);
}

static void test_write(void)
{
	static const char msg[] = "# t_syscalls: write to fd 1\n";
	static const char err[] = "# t_syscalls: write to fd 2\n";
	CHECK_EQ(vmk_write(1, msg, sizeof(msg) - 1), sizeof(msg) - 1);
	CHECK_EQ(vmk_write(2, err, sizeof(err) - 1), sizeof(err) - 1);
	CHECK_EQ(vmk_write(1, msg, 0), 0);
	CHECK_EQ(vmk_write(1, NULL, 0), 0); /* len 0 never touches buf */
	/* Exactly the per-call maximum is allowed: 32 comment lines of 128 bytes. */
	char *big = malloc(VMK_WRITE_MAX);
	REQUIRE(big != NULL);
	for (u64 line = 0; line < VMK_WRITE_MAX / 128; line++) {
		char *l = big + line * 128;
		memset(l, '.', 128);
		snprintf(l, 32, "# t_syscalls: max write %2llu ", (unsigned long long)line);
		l[strlen(l)] = ' ';
		l[127] = '\n';
	}
	CHECK_EQ(vmk_write(1, big, VMK_WRITE_MAX), VMK_WRITE_MAX);
	free(big);
}

static void test_clock(void)
{
	struct vmk_timespec a, b;
	CHECK_EQ(vmk_clock_gettime(&a), 0);
	for (int i = 0; i < 1000; i++) vmk_getpid();
	CHECK_EQ(vmk_clock_gettime(&b), 0);
	CHECK(a.nsec < 1000000000ULL && b.nsec < 1000000000ULL);
	CHECK(b.sec > a.sec || (b.sec == a.sec && b.nsec >= a.nsec));
}

static void test_sleep(void)
{
	u64 t0 = now_ns();
	CHECK_EQ(vmk_sleep(20 * MS), 0);
	u64 t1 = now_ns();
	CHECK(t1 - t0 >= 20 * MS);
	CHECK(t1 - t0 < 5000 * MS); /* a sleep that takes seconds means the timer is wrong */
	CHECK_EQ(vmk_sleep(0), 0);
}

static void test_yield(void)
{
	for (int i = 0; i < 10; i++) CHECK_EQ(vmk_yield(), 0);
}

static void test_spawn_wait_exit(void)
{
	long tid = spawn_with(PROG, NULL, 0, "child-exit", "7", NULL);
	REQUIRE(tid > 0);
	CHECK(tid != vmk_getpid());
	CHECK_EQ(wait_status(tid), 7);
	/* Exit statuses are reported modulo 256. */
	tid = spawn_with(PROG, NULL, 0, "child-exit", "300", NULL);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 300 & 0xff);
	/* A NULL status pointer is allowed. */
	tid = spawn_with(PROG, NULL, 0, "child-exit", "0", NULL);
	REQUIRE(tid > 0);
	CHECK_EQ(vmk_wait(tid, NULL), 0);
	/* Explicit quota and NULL argv are accepted too. */
	tid = vmk_spawn(PROG, NULL, NULL, 0, 64);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 42); /* argc 0 -> exits 42, see main */
}

static void test_argv(void)
{
	long tid = spawn_with(PROG, NULL, 0, "child-argv", "alpha", "", "gamma delta", NULL);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
}

static void test_handles(void)
{
	CHECK_EQ(vmk_handles(NULL, 0), 0); /* init starts tests without handles */
	long a = vmk_shm_create(4096, 0), b = vmk_shm_create(3 * 4096, 0);
	REQUIRE(a > 0 && b > 0);
	u64 hs[2] = {(u64)a, (u64)b};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "child-handles", NULL}, hs, 2, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_shm_close(a), 0);
	CHECK_EQ(vmk_shm_close(b), 0);
}

static void test_shm_lifecycle(void)
{
	long h = vmk_shm_create(5000, 0);
	REQUIRE(h > 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 8192);
	CHECK_EQ(info.pages, 2);
	CHECK_EQ(info.mappers, 0);
	CHECK_EQ(info.rights, SHM_ALL);
	long addr = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(addr > 0);
	CHECK(addr % 4096 == 0);
	volatile u8 *p = (volatile u8 *)addr;
	p[0] = 0x5a;
	p[8191] = 0xa5;
	CHECK(p[0] == 0x5a && p[8191] == 0xa5);
	CHECK_EQ(vmk_shm_resize(h, 4 * 4096), 0);
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 4 * 4096);
	CHECK_EQ(info.mappers, 1);
	long ro = vmk_shm_share(h, vmk_getpid(), SHM_R | SHM_MAP);
	CHECK(ro > 0 && ro != h);
	CHECK_EQ(vmk_shm_info(ro, &info), 0);
	CHECK_EQ(info.rights, SHM_R | SHM_MAP);
	CHECK_EQ(vmk_shm_unmap(addr), 0);
	CHECK_EQ(vmk_shm_close(ro), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
	/* A hint that is free is honoured. */
	h = vmk_shm_create(4096, SHM_F_HUGE);
	REQUIRE(h > 0);
	u64 hint = 0x2000000000UL;
	addr = vmk_shm_map(h, hint, 0, PROT_READ);
	CHECK_EQ(addr, hint);
	if (addr > 0) CHECK_EQ(*(volatile u8 *)addr, 0);
	if (addr > 0) CHECK_EQ(vmk_shm_unmap(addr), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_vm_stats_dump(void)
{
	struct vmk_vm_stats a, b;
	CHECK_EQ(vmk_vm_stats(&a), 0);
	CHECK(a.total_phys_pages > 0);
	CHECK(a.free_phys_pages <= a.total_phys_pages);
	CHECK(a.peak_pages >= a.live_pages);
	/* Touching 64 fresh pages of a new object must take physical pages from the allocator. */
	long h = vmk_shm_create(64 * 4096, 0);
	REQUIRE(h > 0);
	long addr = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(addr > 0);
	for (int i = 0; i < 64; i++) ((volatile u8 *)addr)[i * 4096] = 1;
	CHECK_EQ(vmk_vm_stats(&b), 0);
	CHECK(b.free_phys_pages < a.free_phys_pages);
	/* The object's kernel area lives in the vmalloc region: at least its own level-0 table is there, and
	 * the reclaim count never goes down. */
	CHECK(b.vmalloc_tables >= 1);
	CHECK(b.tables_reclaimed >= a.tables_reclaimed);
	CHECK_EQ(vmk_vm_dump(), 0);
	CHECK_EQ(vmk_shm_unmap(addr), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
	printf("# vm_stats: live_areas=%llu live_pages=%llu free=%llu/%llu vmalloc_tables=%llu\n",
	       (unsigned long long)b.live_areas, (unsigned long long)b.live_pages, (unsigned long long)b.free_phys_pages,
	       (unsigned long long)b.total_phys_pages, (unsigned long long)b.vmalloc_tables);
}

static void test_trace(void)
{
	long orig = vmk_trace_ctl(0, 0);
	REQUIRE(orig >= 0);
	CHECK(((u64)orig & ~TRACE_ALL) == 0);
	long on = vmk_trace_ctl(TRACE_SHM, 0);
	CHECK(on >= 0 && (on & TRACE_SHM));
	CHECK_EQ(vmk_trace_mark(1, "t_syscalls"), 0);
	CHECK_EQ(vmk_trace_mark(2, NULL), 0);
	long off = vmk_trace_ctl(0, TRACE_SHM);
	CHECK(off >= 0 && !(off & TRACE_SHM));
	/* Put things back as they were. */
	CHECK_EQ(vmk_trace_ctl((u64)orig, TRACE_ALL & ~(u64)orig), orig);
}

/* Child roles, selected by argv[1]. */
static int child(int argc, char **argv)
{
	if (strcmp(argv[1], "child-exit") == 0) return (int)strtoul(argv[2], NULL, 10);
	if (strcmp(argv[1], "child-argv") == 0) {
		return !(argc == 5 && strcmp(argv[0], PROG) == 0 && strcmp(argv[2], "alpha") == 0 &&
			 argv[3][0] == '\0' && strcmp(argv[4], "gamma delta") == 0 && argv[5] == NULL);
	}
	if (strcmp(argv[1], "child-handles") == 0) {
		u64 hs[4] = {0};
		struct vmk_shm_info a, b;
		if (vmk_handles(hs, 4) != 2) return 1;
		if (vmk_handles(hs, 1) != 2) return 2; /* the count is the total, whatever max is */
		if (vmk_handles((u64 *)0xffffffff80000000UL, 2) != -EFAULT) return 7;
		if (vmk_handles((u64 *)((uptr)hs + 4), 2) != -EFAULT) return 8; /* misaligned */
		if (vmk_handles(NULL, 0) != 2) return 9;
		if (vmk_shm_info(hs[0], &a) || vmk_shm_info(hs[1], &b)) return 3;
		if (a.size != 4096 || b.size != 3 * 4096) return 4; /* order as given */
		if (a.rights != SHM_ALL || b.rights != SHM_ALL) return 5;
		long addr = vmk_shm_map(hs[1], 0, 0, PROT_READ | PROT_WRITE);
		if (addr <= 0) return 6;
		((volatile u64 *)addr)[0] = 1;
		return 0;
	}
	printf("# t_syscalls: unknown role %s\n", argv[1]);
	return 99;
}

int main(int argc, char **argv)
{
	if (argc == 0) return 42;
	if (argc > 1) return child(argc, argv);
	ktap_begin("t_syscalls");
	ktap_run("getpid", test_getpid);
	ktap_run("write", test_write);
	ktap_run("clock_gettime", test_clock);
	ktap_run("sleep", test_sleep);
	ktap_run("yield", test_yield);
	ktap_run("spawn_wait_exit", test_spawn_wait_exit);
	ktap_run("argv", test_argv);
	ktap_run("handles", test_handles);
	ktap_run("shm_lifecycle", test_shm_lifecycle);
	ktap_run("vm_stats_dump", test_vm_stats_dump);
	ktap_run("trace", test_trace);
	return ktap_end();
}
