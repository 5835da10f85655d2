/* t_fault: children that each do one forbidden thing are killed (VMK_STATUS_KILLED), while a sibling
 * doing honest work at the same time finishes normally and the parent is unaffected. */
#include "user/vmk.h"

#define PROG "/t_fault"
#define PG 4096UL

/* Straight-line code for "exit(3)": if data were executable, the child would exit 3 instead of dying. */
static u32 data_code[4] __aligned(8) = {
	0x00000893, /* addi a7, zero, SYS_exit (0) */
	0x00300513, /* addi a0, zero, 3 */
	0x00000073, /* ecall */
	0x00000000,
};
static const u64 ro_word = 0x726f; /* .rodata */

static int bad_load_kernel(void) { return (int)*(volatile u64 *)0xffffffff80000000UL; }
static int bad_load_vmalloc(void) { return (int)*(volatile u64 *)0xffffffc000000000UL; }
static int bad_load_null(void) { return (int)*(volatile u64 *)(uptr)0; }
static int bad_load_unmapped(void) { return (int)*(volatile u64 *)0x3000000000UL; }

static int bad_store_shm_ro(void)
{
	long h = vmk_shm_create(PG, 0);
	if (h <= 0) return 10;
	long a = vmk_shm_map(h, 0, 0, PROT_READ);
	if (a <= 0) return 11;
	*(volatile u64 *)a = 1;
	return 12;
}

static int bad_store_rodata(void)
{
	*(volatile u64 *)&ro_word = 1;
	return 13;
}

static int bad_store_text(void)
{
	*(volatile u32 *)(uptr)bad_store_text = 0x13;
	return 14;
}

static int bad_jump_data(void)
{
	((void (*)(void))(uptr)data_code)();
	return 15;
}

static int bad_jump_stack(void)
{
	u32 code[3] = {0x00000893, 0x00400513, 0x00000073}; /* exit(4) */
	((void (*)(void))(uptr)code)();
	return 16;
}

static int bad_jump_kernel(void)
{
	((void (*)(void))0xffffffff80000000UL)();
	return 17;
}

static int bad_illegal(void)
{
	__asm__ volatile(".4byte 0x00000000"); /* all-zero is a defined illegal instruction */
	return 18;
}

static int bad_privileged(void)
{
	u64 v;
	__asm__ volatile("csrr %0, sstatus" : "=r"(v)); /* S-mode CSR from U-mode */
	return 19 + (int)(v & 0);
}

static int bad_sret(void)
{
	__asm__ volatile("sret");
	return 20;
}

static int bad_ebreak(void)
{
	__asm__ volatile("ebreak");
	return 21;
}

struct fault_case {
	const char *role;
	int (*fn)(void);
};

static const struct fault_case cases[] = {
	{"load_kernel", bad_load_kernel},   {"load_vmalloc", bad_load_vmalloc},
	{"load_null", bad_load_null},       {"load_unmapped", bad_load_unmapped},
	{"store_shm_ro", bad_store_shm_ro}, {"store_rodata", bad_store_rodata},
	{"store_text", bad_store_text},     {"jump_data", bad_jump_data},
	{"jump_stack", bad_jump_stack},     {"jump_kernel", bad_jump_kernel},
	{"illegal", bad_illegal},           {"privileged_csr", bad_privileged},
	{"sret", bad_sret},                 {"ebreak", bad_ebreak},
};

/* Honest work that takes a while: fill, checksum and re-check a shared object across yields. */
static int honest(void)
{
	long h = vmk_shm_create(16 * PG, 0);
	if (h <= 0) return 1;
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (a <= 0) return 2;
	volatile u64 *p = (volatile u64 *)a;
	u64 s = 12345, sum = 0;
	for (u64 i = 0; i < 16 * PG / 8; i++) sum += (p[i] = rng_next(&s));
	for (int round = 0; round < 50; round++) {
		u64 again = 0;
		for (u64 i = 0; i < 16 * PG / 8; i++) again += p[i];
		if (again != sum) return 3;
		vmk_yield();
	}
	if (vmk_shm_unmap(a) || vmk_shm_close(h)) return 4;
	return 0;
}

static long spawn_role(const char *role) { return spawn_with(PROG, NULL, 0, role, NULL); }

static void test_each_fault_killed(void)
{
	long honest_tid = spawn_role("honest");
	CHECK(honest_tid > 0);
	/* One at a time, so a small task table is never the reason a case fails. */
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		long tid = spawn_role(cases[i].role);
		CHECK(tid > 0);
		if (tid <= 0) continue;
		int st = wait_status(tid);
		if (st != VMK_STATUS_KILLED) printf("# t_fault: %s ended with status %d\n", cases[i].role, st);
		CHECK_EQ(st, VMK_STATUS_KILLED);
	}
	if (honest_tid > 0) CHECK_EQ(wait_status(honest_tid), 0);
}

/* A killed task's objects and mappings are cleaned up: the mapper count of an object it mapped drops. */
static void test_killed_task_cleaned_up(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	u64 hs[1] = {(u64)h};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "map_then_die", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.mappers, 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ);
	REQUIRE(a > 0);
	CHECK_EQ(*(volatile u64 *)a, 0xdead); /* what it wrote before dying is still there */
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static int map_then_die(void)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (a <= 0) return 2;
	*(volatile u64 *)a = 0xdead;
	return bad_load_kernel();
}

static void test_parent_unharmed(void)
{
	CHECK(vmk_getpid() > 0);
	CHECK_EQ(data_code[1], 0x00300513); /* nobody wrote through to our data */
	CHECK_EQ(ro_word, 0x726f);
	long tid = spawn_role("honest");
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "honest") == 0) return honest();
		if (strcmp(argv[1], "map_then_die") == 0) return map_then_die();
		for (u32 i = 0; i < ARRAY_SIZE(cases); i++)
			if (strcmp(argv[1], cases[i].role) == 0) return cases[i].fn();
		return 99;
	}
	ktap_begin("t_fault");
	ktap_run("each_fault_killed", test_each_fault_killed);
	ktap_run("killed_task_cleaned_up", test_killed_task_cleaned_up);
	ktap_run("parent_unharmed", test_parent_unharmed);
	return ktap_end();
}
