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

/* ---- handles pushed on a task by others ---- */

/* The first page of an object the parent and its helpers map. */
struct push_ctl {
	u64 step, stop, pred, result;
};

static struct push_ctl *map_ctl(u64 h) { return (struct push_ctl *)vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE); }

/* A helper child's start: its n spawn handles into hs, the first one's page mapped as the ctl, and step 1
 * told to the parent. NULL when any of it fails. */
static struct push_ctl *child_start(u64 *hs, u64 n)
{
	if (vmk_handles(hs, n) != (long)n) return NULL;
	struct push_ctl *c = map_ctl(hs[0]);
	if ((long)c <= 0) return NULL;
	store_u64(&c->step, 1);
	return c;
}

/* The pushed-on task: once the parent has filled its given slots (step 1), its own objects must still fit,
 * and it finds what it was given and closes it all (result 0, or the failed check's number). */
static int pushed_child(void)
{
	u64 hs[1];
	struct push_ctl *c = child_start(hs, 1);
	if (!c) return 50;
	if (!wait_for_u64(&c->step, 2, 20000000000ULL)) return 52;
	u64 given[VMK_MAX_HANDLES];
	long n = vmk_shm_list(given, VMK_MAX_HANDLES, SHM_LIST_GIVEN);
	int bad = 0;
	if (n != VMK_MAX_GIVEN_HANDLES) bad = 1;
	else if (vmk_shm_list(NULL, 0, 0) != 1 + n) bad = 2; /* its spawn handle and the given ones */
	else if (vmk_shm_list(given, 1, 0) != 1 + n || given[0] != hs[0]) bad = 3; /* spawn handle first */
	/* Its own objects still fit: the 64 - 32 - 1 slots left. */
	long mine[VMK_MAX_HANDLES - VMK_MAX_GIVEN_HANDLES - 1];
	for (u32 i = 0; i < ARRAY_SIZE(mine) && !bad; i++)
		if ((mine[i] = vmk_shm_create(PG, 0)) <= 0) bad = 4;
	if (!bad && vmk_shm_create(PG, 0) != -EMFILE) bad = 5;
	for (u32 i = 0; i < ARRAY_SIZE(mine) && !bad; i++)
		if (vmk_shm_close((u64)mine[i])) bad = 6;
	vmk_shm_list(given, VMK_MAX_HANDLES, SHM_LIST_GIVEN);
	for (long i = 0; i < n && !bad; i++)
		if (vmk_shm_close(given[i])) bad = 7;
	if (!bad && vmk_shm_list(NULL, 0, SHM_LIST_GIVEN) != 0) bad = 8;
	store_u64(&c->result, (u64)bad);
	store_u64(&c->step, 3);
	if (!wait_for_u64(&c->step, 4, 20000000000ULL)) return 53;
	return vmk_shm_list(NULL, 0, SHM_LIST_GIVEN) == 1 ? 0 : 54; /* the parent's one more */
}

/* A task that shares into another fills at most VMK_MAX_GIVEN_HANDLES of its table: the other keeps room
 * for its own objects, lists what it was given and closes it, and then takes shares again. Shares to
 * oneself are the caller's own and not capped. */
static void test_given_handles_capped(void)
{
	long ch = vmk_shm_create(PG, 0), x = vmk_shm_create(PG, 0);
	REQUIRE(ch > 0 && x > 0);
	struct push_ctl *c = map_ctl((u64)ch);
	REQUIRE((long)c > 0);
	u64 hs[1] = {(u64)ch};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "pushed", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	REQUIRE(wait_for_u64(&c->step, 1, 20000000000ULL));
	long landed = 0, r;
	while ((r = vmk_shm_share(x, tid, SHM_R)) > 0) landed++;
	CHECK_EQ(r, -EMFILE);
	CHECK_EQ(landed, VMK_MAX_GIVEN_HANDLES);
	store_u64(&c->step, 2);
	CHECK(wait_for_u64(&c->step, 3, 20000000000ULL));
	CHECK_EQ(load_u64(&c->result), 0);
	CHECK(vmk_shm_share(x, tid, SHM_R) > 0); /* room again once it closed them */
	store_u64(&c->step, 4);
	CHECK_EQ(wait_status(tid), 0);
	long mine[40];
	for (int i = 0; i < 40; i++) CHECK((mine[i] = vmk_shm_share(x, self(), SHM_R)) > 0);
	CHECK_EQ(vmk_shm_list(NULL, 0, SHM_LIST_GIVEN), 0);
	for (int i = 0; i < 40; i++) vmk_shm_close((u64)mine[i]);
	u64 one;
	CHECK_EQ(vmk_shm_list(NULL, 0, 2), -EINVAL);
	CHECK_EQ(vmk_shm_list((u64 *)8, 1, 0), -EFAULT);
	CHECK_EQ(vmk_shm_list((u64 *)((char *)&one + 1), 1, 0), -EFAULT);
	CHECK_EQ(vmk_shm_list(&one, 1, SHM_LIST_GIVEN), 0); /* nothing given: nothing written, no fault */
	vmk_shm_unmap((u64)c);
	CHECK_EQ(vmk_shm_close((u64)x), 0);
	CHECK_EQ(vmk_shm_close((u64)ch), 0);
}

/* Shares into task ctl->pred, over and over, until told to stop. */
static int flooder_child(void)
{
	u64 hs[2];
	struct push_ctl *c = child_start(hs, 2);
	if (!c) return 50;
	while (!load_u64(&c->stop)) vmk_shm_share(hs[1], (long)load_u64(&c->pred), SHM_R);
	return 0;
}

/* A spawned task's own handles come first in its table (result 0), before anything shared into it. */
static int spawned_child(void)
{
	u64 hs[VMK_SPAWN_HANDLES_MAX], all[VMK_MAX_HANDLES];
	long n = vmk_handles(hs, VMK_SPAWN_HANDLES_MAX);
	long m = vmk_shm_list(all, VMK_MAX_HANDLES, 0);
	if (n != VMK_SPAWN_HANDLES_MAX || m < n) return 1;
	for (long i = 0; i < n; i++)
		if (all[i] != hs[i]) return 2;
	return 0;
}

/* Another task shares into the tid the next spawn will get, as fast as it can, while that spawn builds
 * the task: nothing may land before the spawn's own handles (before, 296 shares of 300 did, and enough
 * of them made the spawn fail with -EMFILE). Needs a second hart for the sharer to run during the spawn. */
static void test_shares_wait_for_spawn_handles(void)
{
	struct vmk_vm_stats st;
	REQUIRE(vmk_vm_stats(&st) == 0);
	if (st.harts_online < 2) {
		ktap_skip("needs a second hart: on one, no task runs while another spawns");
		return;
	}
	long ch = vmk_shm_create(PG, 0), x = vmk_shm_create(PG, 0);
	REQUIRE(ch > 0 && x > 0);
	struct push_ctl *c = map_ctl((u64)ch);
	REQUIRE((long)c > 0);
	u64 hs[VMK_SPAWN_HANDLES_MAX];
	for (int i = 0; i < VMK_SPAWN_HANDLES_MAX; i++) hs[i] = (u64)x;
	u64 two[2] = {(u64)ch, (u64)x};
	long flooder = vmk_spawn(PROG, (const char *const[]){PROG, "flooder", NULL}, two, 2, 0);
	REQUIRE(flooder > 0);
	REQUIRE(wait_for_u64(&c->step, 1, 20000000000ULL));
	int predicted = 0;
	for (int round = 0; round < 20; round++) {
		/* A reaped slot is the lowest free one and is taken again by the next spawn, one generation on. */
		long probe = vmk_spawn(PROG, (const char *const[]){PROG, "exit", NULL}, NULL, 0, 0);
		REQUIRE(probe > 0);
		CHECK_EQ(wait_status(probe), 0);
		long pred = (((probe >> 6) + 1) << 6) | (probe & 63);
		store_u64(&c->pred, (u64)pred);
		vmk_sleep(1000000);
		long tid = vmk_spawn(PROG, (const char *const[]){PROG, "spawned", NULL}, hs, VMK_SPAWN_HANDLES_MAX, 0);
		CHECK(tid > 0);
		predicted += tid == pred;
		if (tid > 0) CHECK_EQ(wait_status(tid), 0);
	}
	CHECK(predicted >= 10); /* the sharer aimed at the task being built */
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(flooder), 0);
	vmk_shm_unmap((u64)c);
	CHECK_EQ(vmk_shm_close((u64)x), 0);
	CHECK_EQ(vmk_shm_close((u64)ch), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		u64 ro;
		if (strcmp(argv[1], "exit") == 0) return 0;
		if (strcmp(argv[1], "pushed") == 0) return pushed_child();
		if (strcmp(argv[1], "flooder") == 0) return flooder_child();
		if (strcmp(argv[1], "spawned") == 0) return spawned_child();
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
	ktap_run("given_handles_capped", test_given_handles_capped);
	ktap_run("shares_wait_for_spawn_handles", test_shares_wait_for_spawn_handles);
	return ktap_end();
}
