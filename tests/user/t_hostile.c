/* t_hostile: bad arguments to every syscall get the error include/vmk/abi.h documents, and the task
 * survives all of them: kernel and unmapped pointers, misalignment, wrapping lengths, forged, closed
 * and foreign handles, huge sizes, unknown syscall numbers, double unmap and close. */
#include "user/vmk.h"

#define PROG "/t_hostile"
#define PG 4096UL
#define TIMEOUT (10 * 1000000000ULL)

#define KERNEL_VMALLOC 0xffffffc000000000UL
#define KERNEL_IMAGE 0xffffffff80000000UL
#define UNMAPPED_USER 0x3000000000UL /* inside the user half, never mapped by this test */
#define NONCANONICAL 0x0000800000000000UL

static const u64 const_word = 0x1122334455667788ULL; /* lives in read-only .rodata */

/* A pointer the kernel must refuse to write through: each kind of bad address. */
static const u64 bad_ptrs[] = {0, 8, KERNEL_VMALLOC, KERNEL_IMAGE, UNMAPPED_USER, NONCANONICAL,
			       VMK_USER_TOP, VMK_STACK_TOP - VMK_STACK_SIZE - 8, VMK_STACK_TOP - VMK_STACK_RESERVE,
			       ~0UL - 7};

static void test_write_errors(void)
{
	static const char msg[] = "x";
	for (u32 i = 0; i < ARRAY_SIZE(bad_ptrs); i++) CHECK_EQ(vmk_write(1, (void *)bad_ptrs[i], 8), -EFAULT);
	CHECK_EQ(vmk_write(1, msg, VMK_WRITE_MAX + 1), -EINVAL);
	CHECK_EQ(vmk_write(1, msg, ~0UL), -EINVAL);        /* wrapping length */
	CHECK_EQ(vmk_write(1, (void *)~0UL, ~0UL), -EINVAL); /* the length check comes first */
	CHECK_EQ(vmk_write(0, msg, 1), -EBADF);
	CHECK_EQ(vmk_write(3, msg, 1), -EBADF);
	CHECK_EQ(vmk_write(-1, msg, 1), -EBADF);
	/* A range that starts in user space and runs past its top. */
	CHECK_EQ(vmk_write(1, (void *)(VMK_USER_TOP - 16), 32), -EFAULT);
	/* A range whose tail runs into the unmapped reserve of an shm mapping. */
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 2 * PG, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	memset((void *)a, '#', PG);
	CHECK_EQ(vmk_write(1, (void *)(a + PG - 8), 16), -EFAULT);
	CHECK_EQ(vmk_write(1, (void *)(a + PG), 1), -EFAULT);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_write(1, (void *)a, 1), -EFAULT); /* gone after unmap */
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_output_pointers(void)
{
	struct vmk_vm_stats st_buf[2];
	u8 *raw = (u8 *)st_buf;
	for (u32 i = 0; i < ARRAY_SIZE(bad_ptrs); i++) {
		u64 p = bad_ptrs[i];
		CHECK_EQ(vmk_clock_gettime((struct vmk_timespec *)p), -EFAULT);
		CHECK_EQ(vmk_vm_stats((struct vmk_vm_stats *)p), -EFAULT);
		CHECK_EQ(vmk_handles((u64 *)p, 4), 0); /* we received no handles: nothing written, nothing checked */
	}
	/* Misaligned struct pointers. */
	CHECK_EQ(vmk_clock_gettime((struct vmk_timespec *)(raw + 1)), -EFAULT);
	CHECK_EQ(vmk_clock_gettime((struct vmk_timespec *)(raw + 4)), -EFAULT);
	CHECK_EQ(vmk_vm_stats((struct vmk_vm_stats *)(raw + 3)), -EFAULT);
	/* Read-only memory: .rodata and our own code. */
	CHECK_EQ(vmk_clock_gettime((struct vmk_timespec *)&const_word), -EFAULT);
	CHECK_EQ(const_word, 0x1122334455667788ULL);
	CHECK_EQ(vmk_vm_stats((struct vmk_vm_stats *)(uptr)test_output_pointers), -EFAULT);
	/* A read-only shm mapping. */
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ);
	REQUIRE(a > 0);
	CHECK_EQ(vmk_clock_gettime((struct vmk_timespec *)a), -EFAULT);
	CHECK_EQ(vmk_shm_info(h, (struct vmk_shm_info *)a), -EFAULT);
	CHECK_EQ(vmk_shm_info(h + 1, NULL), -EBADF); /* the handle is checked first */
	CHECK_EQ(*(volatile u64 *)a, 0);
	CHECK_EQ(vmk_shm_info(h, (struct vmk_shm_info *)KERNEL_IMAGE), -EFAULT);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_wait_errors(void)
{
	int status;
	CHECK_EQ(vmk_wait(vmk_getpid(), &status), -ECHILD);
	CHECK_EQ(vmk_wait(0, &status), -ECHILD);
	CHECK_EQ(vmk_wait(-1, &status), -ECHILD);
	CHECK_EQ(vmk_wait(1000000, &status), -ECHILD);
	CHECK_EQ(vmk_wait(1, &status), -ECHILD); /* the boot task is not our child */
	long tid = spawn_with(PROG, NULL, 0, "exit", NULL);
	REQUIRE(tid > 0);
	CHECK_EQ(vmk_wait(tid, (int *)KERNEL_IMAGE), -EFAULT);
	CHECK_EQ(vmk_wait(tid, (int *)((u8 *)&status + 1)), -EFAULT);
	CHECK_EQ(vmk_wait(tid, (int *)&const_word), -EFAULT);
	CHECK_EQ(wait_status(tid), 0); /* the failed waits reaped nothing */
	CHECK_EQ(vmk_wait(tid, &status), -ECHILD); /* but a second real wait finds nothing */
}

static void test_spawn_errors(void)
{
	static char long_name[VMK_NAME_MAX + 8];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[0] = '/';
	const char *argv1[] = {PROG, NULL};
	CHECK_EQ(vmk_spawn(NULL, argv1, NULL, 0, 0), -EFAULT);
	CHECK_EQ(vmk_spawn((const char *)KERNEL_IMAGE, argv1, NULL, 0, 0), -EFAULT);
	CHECK_EQ(vmk_spawn("", argv1, NULL, 0, 0), -EINVAL);
	CHECK_EQ(vmk_spawn(long_name, argv1, NULL, 0, 0), -EINVAL);
	CHECK_EQ(vmk_spawn("/no_such_program", argv1, NULL, 0, 0), -ENOENT);
	CHECK_EQ(vmk_spawn("/not_elf", argv1, NULL, 0, 0), -ENOEXEC);
	CHECK_EQ(vmk_spawn(PROG, (const char *const *)KERNEL_IMAGE, NULL, 0, 0), -EFAULT);
	const char *bad_arg[] = {PROG, (const char *)KERNEL_VMALLOC, NULL};
	CHECK_EQ(vmk_spawn(PROG, bad_arg, NULL, 0, 0), -EFAULT);
	const char *many[VMK_ARGV_MAX + 2];
	for (int i = 0; i <= VMK_ARGV_MAX; i++) many[i] = "x";
	many[VMK_ARGV_MAX + 1] = NULL;
	CHECK_EQ(vmk_spawn(PROG, many, NULL, 0, 0), -E2BIG);
	char *huge_arg = malloc(VMK_ARGV_BYTES + 1);
	REQUIRE(huge_arg != NULL);
	memset(huge_arg, 'y', VMK_ARGV_BYTES);
	huge_arg[VMK_ARGV_BYTES] = '\0';
	const char *big[] = {PROG, huge_arg, NULL};
	CHECK_EQ(vmk_spawn(PROG, big, NULL, 0, 0), -E2BIG);
	free(huge_arg);
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	u64 hs[VMK_SPAWN_HANDLES_MAX + 1];
	for (u32 i = 0; i < ARRAY_SIZE(hs); i++) hs[i] = (u64)h;
	CHECK_EQ(vmk_spawn(PROG, argv1, hs, VMK_SPAWN_HANDLES_MAX + 1, 0), -E2BIG);
	CHECK_EQ(vmk_spawn(PROG, argv1, NULL, 1, 0), -EFAULT);
	CHECK_EQ(vmk_spawn(PROG, argv1, (const u64 *)KERNEL_IMAGE, 1, 0), -EFAULT);
	u64 forged[1] = {0x4242424242ULL};
	CHECK_EQ(vmk_spawn(PROG, argv1, forged, 1, 0), -EBADF);
	CHECK_EQ(vmk_spawn(PROG, argv1, NULL, 0, VMK_MAX_QUOTA_PAGES + 1), -EINVAL);
	CHECK_EQ(vmk_spawn(PROG, argv1, NULL, 0, ~0UL), -EINVAL);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_shm_create_errors(void)
{
	CHECK_EQ(vmk_shm_create(0, 0), -EINVAL);
	CHECK_EQ(vmk_shm_create(VMK_SHM_MAX_SIZE + 1, 0), -EINVAL);
	CHECK_EQ(vmk_shm_create(~0UL, 0), -EINVAL);
	CHECK_EQ(vmk_shm_create(~0UL - PG + 2, 0), -EINVAL);
	CHECK_EQ(vmk_shm_create(PG, 2), -EINVAL);
	CHECK_EQ(vmk_shm_create(PG, ~0UL), -EINVAL);
	CHECK_EQ(vmk_shm_create(VMK_SHM_MAX_SIZE, 0), -ENOMEM); /* legal size, far over the default quota */
}

static void test_shm_map_errors(void)
{
	long h = vmk_shm_create(2 * PG, 0);
	REQUIRE(h > 0);
	CHECK_EQ(vmk_shm_map(0, 0, 0, PROT_READ), -EBADF);
	CHECK_EQ(vmk_shm_map(h, 0, 0, 0), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, 0, 0, 4), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_WRITE), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, 0, 0, ~0UL), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, 0x2000000001UL, 0, PROT_READ), -EINVAL); /* misaligned hint */
	CHECK_EQ(vmk_shm_map(h, KERNEL_IMAGE, 0, PROT_READ), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, VMK_USER_TOP - PG, 0, PROT_READ), -EINVAL); /* runs past the top */
	CHECK_EQ(vmk_shm_map(h, ~0UL & ~(PG - 1), 0, PROT_READ), -EINVAL);  /* wraps */
	CHECK_EQ(vmk_shm_map(h, 0, PG, PROT_READ), -EINVAL);                /* max_size < size */
	CHECK_EQ(vmk_shm_map(h, 0, VMK_SHM_MAX_SIZE + PG, PROT_READ), -EINVAL);
	CHECK_EQ(vmk_shm_map(h, 0, ~0UL, PROT_READ), -EINVAL);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.mappers, 0); /* nothing half-made */
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_unmap_close_twice(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	CHECK_EQ(vmk_shm_unmap(0), -EINVAL);
	CHECK_EQ(vmk_shm_unmap(a + PG), -EINVAL);
	CHECK_EQ(vmk_shm_unmap(a + 8), -EINVAL);
	CHECK_EQ(vmk_shm_unmap(KERNEL_VMALLOC), -EINVAL);
	CHECK_EQ(vmk_shm_unmap(0x10000), -EINVAL); /* our own text is not an shm mapping */
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_unmap(a), -EINVAL);
	CHECK_EQ(vmk_shm_close(h), 0);
	CHECK_EQ(vmk_shm_close(h), -EBADF);
	/* A closed handle is dead for every call. */
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), -EBADF);
	CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_READ), -EBADF);
	CHECK_EQ(vmk_shm_resize(h, 2 * PG), -EBADF);
	CHECK_EQ(vmk_shm_share(h, vmk_getpid(), SHM_R), -EBADF);
}

/* A closed handle's slot taken again by a new object: the old value is still dead (its generation is
 * stale), not a way into the new object. */
static void test_stale_handle_after_slot_reuse(void)
{
	struct vmk_shm_info info;
	long h1 = vmk_shm_create(PG, 0);
	REQUIRE(h1 > 0);
	CHECK_EQ(vmk_shm_close(h1), 0);
	long h2 = vmk_shm_create(2 * PG, 0);
	REQUIRE(h2 > 0);
	CHECK_EQ((u64)h1 & 63, (u64)h2 & 63); /* the same slot, one generation on */
	CHECK(h1 != h2);
	CHECK_EQ(vmk_shm_info(h1, &info), -EBADF);
	CHECK_EQ(vmk_shm_map(h1, 0, 0, PROT_READ), -EBADF);
	CHECK_EQ(vmk_shm_resize(h1, PG), -EBADF);
	CHECK_EQ(vmk_shm_share(h1, vmk_getpid(), SHM_R), -EBADF);
	CHECK_EQ(vmk_shm_close(h1), -EBADF);
	CHECK_EQ(vmk_shm_info(h2, &info), 0);
	CHECK_EQ(info.size, 2 * PG);
	CHECK_EQ(vmk_shm_close(h2), 0);
}

static void test_forged_handles(void)
{
	static const u64 forged[] = {0, 1, 2, 3, 0x4242, 0xdeadbeefUL, 1UL << 62, ~0UL, ~0UL >> 1};
	struct vmk_shm_info info;
	for (u32 i = 0; i < ARRAY_SIZE(forged); i++) {
		u64 h = forged[i];
		CHECK_EQ(vmk_shm_info(h, &info), -EBADF);
		CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_READ), -EBADF);
		CHECK_EQ(vmk_shm_resize(h, PG), -EBADF);
		CHECK_EQ(vmk_shm_share(h, vmk_getpid(), SHM_R), -EBADF);
		CHECK_EQ(vmk_shm_close(h), -EBADF);
	}
	/* Neighbours of a real handle are not handles. */
	long real = vmk_shm_create(PG, 0);
	REQUIRE(real > 0);
	CHECK_EQ(vmk_shm_info((u64)real + 1, &info), -EBADF);
	CHECK_EQ(vmk_shm_info((u64)real ^ (1UL << 40), &info), -EBADF);
	CHECK_EQ(vmk_shm_info((u64)real, &info), 0);
	CHECK_EQ(vmk_shm_close(real), 0);
}

/* A child creates an object and posts the handle value; in our hands that value is worthless. */
static void test_foreign_handle(void)
{
	long mail = vmk_shm_create(PG, 0);
	REQUIRE(mail > 0);
	long ma = vmk_shm_map(mail, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(ma > 0);
	volatile u64 *box = (volatile u64 *)ma; /* [0] child's handle value, [1] posted, [2] release */
	u64 hs[1] = {(u64)mail};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "holder", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	bool posted = wait_for_u64(&box[1], 1, TIMEOUT);
	CHECK(posted);
	if (posted) {
		u64 theirs = load_u64(&box[0]);
		struct vmk_shm_info info;
		CHECK(theirs != 0);
		/* The value must not name the mailbox either, even though we hold a handle to it. */
		CHECK(theirs != (u64)mail);
		CHECK_EQ(vmk_shm_info(theirs, &info), -EBADF);
		CHECK_EQ(vmk_shm_map(theirs, 0, 0, PROT_READ), -EBADF);
		CHECK_EQ(vmk_shm_resize(theirs, 64 * PG), -EBADF);
		CHECK_EQ(vmk_shm_share(theirs, vmk_getpid(), SHM_R), -EBADF);
		CHECK_EQ(vmk_shm_close(theirs), -EBADF);
	}
	store_u64(&box[2], 1);
	CHECK_EQ(wait_status(tid), 0); /* and the child's object survived our attempts */
	vmk_shm_unmap(ma);
	CHECK_EQ(vmk_shm_close(mail), 0);
}

static int holder(void)
{
	u64 mail;
	if (vmk_handles(&mail, 1) != 1) return 1;
	long ma = vmk_shm_map(mail, 0, 0, PROT_READ | PROT_WRITE);
	long h = vmk_shm_create(PG, 0);
	if (ma <= 0 || h <= 0) return 2;
	volatile u64 *box = (volatile u64 *)ma;
	store_u64(&box[0], (u64)h);
	store_u64(&box[1], 1);
	if (!wait_for_u64(&box[2], 1, TIMEOUT)) return 3;
	struct vmk_shm_info info;
	if (vmk_shm_info(h, &info) != 0 || info.size != PG || info.rights != SHM_ALL) return 4;
	return vmk_shm_close(h) == 0 ? 0 : 5;
}

static void test_trace_errors(void)
{
	static char long_label[VMK_LABEL_MAX + 8];
	memset(long_label, 'L', sizeof(long_label) - 1);
	long before = vmk_trace_ctl(0, 0);
	REQUIRE(before >= 0);
	CHECK_EQ(vmk_trace_ctl(TRACE_ALL + 1, 0), -EINVAL);
	CHECK_EQ(vmk_trace_ctl(0, 1UL << 63), -EINVAL);
	CHECK_EQ(vmk_trace_ctl(0, 0), before); /* nothing changed */
	CHECK_EQ(vmk_trace_mark(1, (const char *)KERNEL_IMAGE), -EFAULT);
	CHECK_EQ(vmk_trace_mark(1, (const char *)UNMAPPED_USER), -EFAULT);
	CHECK_EQ(vmk_trace_mark(1, long_label), -EINVAL);
}

static void test_unknown_syscalls(void)
{
	static const long nrs[] = {10, 15, 29, 31, 36, 63, 64, 1000, 1L << 32, -1, -1000};
	for (u32 i = 0; i < ARRAY_SIZE(nrs); i++) CHECK_EQ(vmk_syscall(nrs[i], 1, 2, 3, 4, 5, 6), -ENOSYS);
	CHECK_EQ(vmk_syscall(SYS_MAX, 0, 0, 0, 0, 0, 0), -ENOSYS);
}

/* After all of that the task still works normally. */
static void test_still_alive(void)
{
	static const char msg[] = "# t_hostile: still alive\n";
	CHECK_EQ(vmk_write(1, msg, sizeof(msg) - 1), sizeof(msg) - 1);
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	*(volatile u64 *)a = 5;
	CHECK_EQ(*(volatile u64 *)a, 5);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Mode "forge" (the trace-forgery boot, trace=all): writes lines shaped like the kernel's trace records,
 * listing rows and vmalloc reports, and leaves a line open just before a system call the kernel traces.
 * The runner checks that tools/vmtrace.py finds none of them in the log (lib/printk.c escapes a task's
 * line that starts as a kernel line, and ends a task's open line before kernel text). */
static int forge(void)
{
	static const char *const lines[] = {
		"@T seq=999999 hart=0 t=1 task=0 ev=alloc fn=vmalloc addr=0xffffffc0deadb000 size=409600 pages=100 "
		"caller=forged_by_task+0x1/0x2\n",
		"vmalloc: vfree(0xffffffc0deadb000) from forged_by_task+0x0/0x4: double free; nothing changed\n",
		"0xffffffc0deadb000-0xffffffc0deb1c000  409600 forged_by_task+0x0/0x4 pages=100 vmalloc\n",
	};
	for (u32 i = 0; i < ARRAY_SIZE(lines); i++) vmk_write(1, lines[i], strlen(lines[i]));
	static const char rest[] = "T seq=999998 hart=0 t=2 task=0 ev=free fn=vfree addr=0xffffffc0deadb000 "
				   "caller=forged_by_task+0x1/0x2\n";
	vmk_write(1, "@", 1); /* a line begun in two writes */
	vmk_write(1, rest, sizeof(rest) - 1);
	vmk_write(1, "@T label=\"", 11); /* left open: the kernel's next record must not join it */
	long h = vmk_shm_create(PG, 0);
	if (h <= 0 || vmk_shm_close(h) != 0) return 1;
	vmk_write(1, "\n", 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exit") == 0) return 0;
	if (argc > 1 && strcmp(argv[1], "forge") == 0) return forge();
	if (argc > 1 && strcmp(argv[1], "holder") == 0) return holder();
	if (argc > 1) return 99;
	ktap_begin("t_hostile");
	ktap_run("write_errors", test_write_errors);
	ktap_run("output_pointers", test_output_pointers);
	ktap_run("wait_errors", test_wait_errors);
	ktap_run("spawn_errors", test_spawn_errors);
	ktap_run("shm_create_errors", test_shm_create_errors);
	ktap_run("shm_map_errors", test_shm_map_errors);
	ktap_run("unmap_close_twice", test_unmap_close_twice);
	ktap_run("forged_handles", test_forged_handles);
	ktap_run("stale_handle_after_slot_reuse", test_stale_handle_after_slot_reuse);
	ktap_run("foreign_handle", test_foreign_handle);
	ktap_run("trace_errors", test_trace_errors);
	ktap_run("unknown_syscalls", test_unknown_syscalls);
	ktap_run("still_alive", test_still_alive);
	return ktap_end();
}
