/* t_rights: handle rights are enforced: a read-only share cannot be mapped writable, re-shared or
 * resized (-EACCES), rights can only shrink, and a store through a read-only mapping kills the task. */
#include "user/vmk.h"

#define PROG "/t_rights"
#define PG 4096UL
#define MAGIC 0x7269676874730001ULL

static long self(void) { return vmk_getpid(); }

/* An object of two pages holding MAGIC in its first word, mapped by us read-write. */
static long make_object(long *addr)
{
	long h = vmk_shm_create(2 * PG, 0);
	if (h <= 0) return h;
	*addr = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (*addr > 0) *(volatile u64 *)*addr = MAGIC;
	return h;
}

/* The checks a holder of a read-only handle must see; returns 0 or the number of the failed check. */
static int read_only_checks(u64 ro)
{
	struct vmk_shm_info info;
	if (vmk_shm_info(ro, &info) != 0 || info.rights != (SHM_R | SHM_MAP)) return 1;
	if (vmk_shm_map(ro, 0, 0, PROT_READ | PROT_WRITE) != -EACCES) return 2;
	if (vmk_shm_resize(ro, 4 * PG) != -EACCES) return 3;
	if (vmk_shm_resize(ro, PG) != -EACCES) return 4;
	if (vmk_shm_share(ro, self(), SHM_R) != -EACCES) return 5;
	if (vmk_shm_share(ro, self(), SHM_R | SHM_MAP) != -EACCES) return 6;
	if (vmk_shm_info(ro, &info) != 0 || info.size != 2 * PG) return 7; /* the refused resizes changed nothing */
	long a = vmk_shm_map(ro, 0, 0, PROT_READ);
	if (a <= 0) return 8;
	if (*(volatile u64 *)a != MAGIC) return 9;
	if (vmk_shm_unmap(a) != 0) return 10;
	return 0;
}

static void test_read_only_in_task(void)
{
	long addr;
	long h = make_object(&addr);
	REQUIRE(h > 0 && addr > 0);
	long ro = vmk_shm_share(h, self(), SHM_R | SHM_MAP);
	REQUIRE(ro > 0);
	CHECK_EQ(read_only_checks((u64)ro), 0);
	CHECK_EQ(vmk_shm_close(ro), 0);
	vmk_shm_unmap(addr);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_read_only_in_child(void)
{
	long addr;
	long h = make_object(&addr);
	REQUIRE(h > 0 && addr > 0);
	long ro = vmk_shm_share(h, self(), SHM_R | SHM_MAP);
	REQUIRE(ro > 0);
	u64 hs[1] = {(u64)ro};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "ro-checks", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	/* The child's refused resize did not change the object. */
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 2 * PG);
	vmk_shm_close(ro);
	vmk_shm_unmap(addr);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* A child that stores through its read-only mapping is killed and the data stays as it was. */
static void test_store_to_read_only_kills(void)
{
	long addr;
	long h = make_object(&addr);
	REQUIRE(h > 0 && addr > 0);
	long ro = vmk_shm_share(h, self(), SHM_R | SHM_MAP);
	REQUIRE(ro > 0);
	u64 hs[1] = {(u64)ro};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "ro-store", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	CHECK_EQ(*(volatile u64 *)addr, MAGIC);
	vmk_shm_close(ro);
	vmk_shm_unmap(addr);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Rights are a subset chain: a handle can hand on at most what it has. */
static void test_no_escalation(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long mid = vmk_shm_share(h, self(), SHM_R | SHM_MAP | SHM_SHARE);
	REQUIRE(mid > 0);
	CHECK_EQ(vmk_shm_share(mid, self(), SHM_ALL), -EACCES);
	CHECK_EQ(vmk_shm_share(mid, self(), SHM_R | SHM_W), -EACCES);
	CHECK_EQ(vmk_shm_share(mid, self(), SHM_RESIZE), -EACCES);
	long low = vmk_shm_share(mid, self(), SHM_R | SHM_MAP);
	CHECK(low > 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(mid, &info), 0);
	CHECK_EQ(info.rights, SHM_R | SHM_MAP | SHM_SHARE);
	CHECK_EQ(vmk_shm_share(h, self(), 0), -EINVAL);
	CHECK_EQ(vmk_shm_share(h, self(), SHM_ALL + 1), -EINVAL);
	CHECK_EQ(vmk_shm_share(h, self(), 1UL << 40), -EINVAL);
	if (low > 0) vmk_shm_close(low);
	vmk_shm_close(mid);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Each right gates exactly its own operation. */
static void test_each_right(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long r_only = vmk_shm_share(h, self(), SHM_R);
	long map_only = vmk_shm_share(h, self(), SHM_MAP);
	long rw_nomap = vmk_shm_share(h, self(), SHM_R | SHM_W);
	long resize_only = vmk_shm_share(h, self(), SHM_RESIZE);
	long w_map = vmk_shm_share(h, self(), SHM_W | SHM_MAP);
	REQUIRE(r_only > 0 && map_only > 0 && rw_nomap > 0 && resize_only > 0 && w_map > 0);
	CHECK_EQ(vmk_shm_map(r_only, 0, 0, PROT_READ), -EACCES);   /* no SHM_MAP */
	CHECK_EQ(vmk_shm_map(map_only, 0, 0, PROT_READ), -EACCES); /* no SHM_R */
	CHECK_EQ(vmk_shm_map(rw_nomap, 0, 0, PROT_READ | PROT_WRITE), -EACCES);
	CHECK_EQ(vmk_shm_map(w_map, 0, 0, PROT_READ | PROT_WRITE), -EACCES); /* writable implies readable */
	CHECK_EQ(vmk_shm_resize(r_only, 2 * PG), -EACCES);
	CHECK_EQ(vmk_shm_resize(resize_only, 2 * PG), 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 2 * PG);
	CHECK_EQ(vmk_shm_share(resize_only, self(), SHM_RESIZE), -EACCES); /* no SHM_SHARE */
	vmk_shm_close(r_only);
	vmk_shm_close(map_only);
	vmk_shm_close(rw_nomap);
	vmk_shm_close(resize_only);
	vmk_shm_close(w_map);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_share_to_missing_task(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	CHECK_EQ(vmk_shm_share(h, 0, SHM_R), -ESRCH);
	CHECK_EQ(vmk_shm_share(h, -1, SHM_R), -ESRCH);
	CHECK_EQ(vmk_shm_share(h, 1000000, SHM_R), -ESRCH);
	/* A task that has exited (and been reaped) is gone too. */
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "exit", NULL}, NULL, 0, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_shm_share(h, tid, SHM_R), -ESRCH);
	CHECK_EQ(vmk_shm_close(h), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		u64 ro;
		if (strcmp(argv[1], "exit") == 0) return 0;
		if (vmk_handles(&ro, 1) != 1) return 50;
		if (strcmp(argv[1], "ro-checks") == 0) {
			int r = read_only_checks(ro);
			if (r) printf("# t_rights child: read-only check %d failed\n", r);
			return r;
		}
		if (strcmp(argv[1], "ro-store") == 0) {
			long a = vmk_shm_map(ro, 0, 0, PROT_READ);
			if (a <= 0) return 51;
			*(volatile u64 *)a = 0xbad; /* must fault: the kernel kills us here */
			return 52;
		}
		return 99;
	}
	ktap_begin("t_rights");
	ktap_run("read_only_in_task", test_read_only_in_task);
	ktap_run("read_only_in_child", test_read_only_in_child);
	ktap_run("store_to_read_only_kills", test_store_to_read_only_kills);
	ktap_run("no_escalation", test_no_escalation);
	ktap_run("each_right", test_each_right);
	ktap_run("share_to_missing_task", test_share_to_missing_task);
	return ktap_end();
}
