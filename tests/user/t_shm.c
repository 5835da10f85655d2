/* t_shm: shared-memory objects between tasks: both sides see each other's writes, growth shows up in
 * mappings that reserved room for it, and shm_info reports what is true. */
#include "user/vmk.h"

#define PROG "/t_shm"
#define PG 4096UL
#define TIMEOUT (10 * 1000000000ULL)

/* Page 0 of every shared object in this test is this control block; data lives from page 1 on. */
struct ctl {
	u64 parent_step;
	u64 child_step;
	u64 child_error;
	u64 value; /* a handle value or marker passed from parent to child */
};

static u64 pattern(u64 seed, u64 i) { return seed * 0x9e3779b97f4a7c15ULL + i; }

static void fill(volatile u64 *p, u64 words, u64 seed)
{
	for (u64 i = 0; i < words; i++) p[i] = pattern(seed, i);
}

static bool verify(const volatile u64 *p, u64 words, u64 seed)
{
	for (u64 i = 0; i < words; i++)
		if (p[i] != pattern(seed, i)) return false;
	return true;
}

static void test_create_info_zero(void)
{
	long h = vmk_shm_create(3 * PG, 0);
	REQUIRE(h > 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 3 * PG);
	CHECK_EQ(info.pages, 3);
	CHECK_EQ(info.mappers, 0);
	CHECK_EQ(info.rights, SHM_ALL);
	CHECK_EQ(info.huge, 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	const volatile u64 *p = (const volatile u64 *)a;
	bool zero = true;
	for (u64 i = 0; i < 3 * PG / 8; i++) zero &= p[i] == 0;
	CHECK(zero);
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.mappers, 1);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.mappers, 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Parent and child share one object: each verifies the other's data, then the parent grows it and the
 * child must see the new tail through the room its mapping reserved. */
static void test_two_tasks(void)
{
	long h = vmk_shm_create(4 * PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 16 * PG, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	struct ctl *c = (struct ctl *)a;
	volatile u64 *page = (volatile u64 *)a;
	fill(page + 1 * PG / 8, PG / 8, 1);

	u64 hs[1] = {(u64)h};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "partner", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);

	bool ok = wait_for_u64(&c->child_step, 1, TIMEOUT);
	CHECK(ok);
	if (ok) {
		CHECK(verify(page + 2 * PG / 8, PG / 8, 2)); /* written by the child */
		struct vmk_shm_info info;
		CHECK_EQ(vmk_shm_info(h, &info), 0);
		CHECK_EQ(info.mappers, 2);
		CHECK_EQ(vmk_shm_resize(h, 16 * PG), 0);
		fill(page + 15 * PG / 8, PG / 8, 15);
		fill(page + 8 * PG / 8, 16, 8);
		store_u64(&c->parent_step, 2);
		ok = wait_for_u64(&c->child_step, 3, TIMEOUT);
		CHECK(ok);
		if (ok) CHECK(verify(page + 12 * PG / 8, PG / 8, 12));
	}
	store_u64(&c->parent_step, 4); /* releases the child whatever happened */
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->child_error), 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.mappers, 1); /* the child's mapping went away with it */
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static int partner(void)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	long a = vmk_shm_map(h, 0, 16 * PG, PROT_READ | PROT_WRITE);
	if (a <= 0) return 2;
	struct ctl *c = (struct ctl *)a;
	volatile u64 *page = (volatile u64 *)a;
	int err = 0;
	if (!verify(page + 1 * PG / 8, PG / 8, 1)) err = 3;
	fill(page + 2 * PG / 8, PG / 8, 2);
	store_u64(&c->child_step, 1);
	if (!err && wait_for_u64(&c->parent_step, 2, TIMEOUT)) {
		struct vmk_shm_info info;
		if (vmk_shm_info(h, &info) || info.size != 16 * PG) err = 4;
		else if (!verify(page + 15 * PG / 8, PG / 8, 15) || !verify(page + 8 * PG / 8, 16, 8)) err = 5;
		else fill(page + 12 * PG / 8, PG / 8, 12);
		store_u64(&c->child_step, 3);
	} else if (!err) {
		err = 6;
	}
	wait_for_u64(&c->parent_step, 4, TIMEOUT);
	store_u64(&c->child_error, err);
	return err;
}

/* shm_share into a task that is already running: the value travels through another shared object. */
static void test_share_to_running_task(void)
{
	long mail = vmk_shm_create(PG, 0), obj = vmk_shm_create(2 * PG, 0);
	REQUIRE(mail > 0 && obj > 0);
	long ma = vmk_shm_map(mail, 0, 0, PROT_READ | PROT_WRITE);
	long oa = vmk_shm_map(obj, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(ma > 0 && oa > 0);
	struct ctl *c = (struct ctl *)ma;
	fill((volatile u64 *)oa, 2 * PG / 8, 77);

	u64 hs[1] = {(u64)mail};
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, "share-target", NULL}, hs, 1, 0);
	REQUIRE(tid > 0);
	long given = vmk_shm_share(obj, tid, SHM_R | SHM_MAP);
	CHECK(given > 0);
	store_u64(&c->value, given > 0 ? (u64)given : 0);
	store_u64(&c->parent_step, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->child_error), 0);
	vmk_shm_unmap(ma);
	vmk_shm_unmap(oa);
	CHECK_EQ(vmk_shm_close(mail), 0);
	CHECK_EQ(vmk_shm_close(obj), 0);
}

static int share_target(void)
{
	u64 mail;
	if (vmk_handles(&mail, 1) != 1) return 1;
	long ma = vmk_shm_map(mail, 0, 0, PROT_READ | PROT_WRITE);
	if (ma <= 0) return 2;
	struct ctl *c = (struct ctl *)ma;
	int err = 0;
	if (!wait_for_u64(&c->parent_step, 1, TIMEOUT) || load_u64(&c->value) == 0) {
		err = 3;
	} else {
		u64 h = load_u64(&c->value);
		struct vmk_shm_info info;
		long oa = vmk_shm_map(h, 0, 0, PROT_READ);
		if (vmk_shm_info(h, &info) || info.rights != (SHM_R | SHM_MAP) || info.size != 2 * PG) err = 4;
		else if (oa <= 0) err = 5;
		else if (!verify((const volatile u64 *)oa, 2 * PG / 8, 77)) err = 6;
		else if (vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE) != -EACCES) err = 7;
	}
	store_u64(&c->child_error, err);
	return err;
}

/* Two mappings of one object in one task alias; only the one with reserved room follows growth. */
static void test_grow_reserved(void)
{
	long h = vmk_shm_create(2 * PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 8 * PG, PROT_READ | PROT_WRITE);
	long b = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0 && b > 0);
	CHECK(a != b);
	CHECK(b + 2 * (long)PG <= a || a + 8 * (long)PG <= b); /* reservations do not overlap */
	volatile u64 *pa = (volatile u64 *)a, *pb = (volatile u64 *)b;
	pa[PG / 8 + 3] = 0x1234;
	CHECK_EQ(pb[PG / 8 + 3], 0x1234);
	pb[5] = 0x5678;
	CHECK_EQ(pa[5], 0x5678);
	CHECK_EQ(vmk_shm_resize(h, 8 * PG), 0);
	CHECK_EQ(pa[7 * PG / 8], 0); /* new pages arrive zero-filled */
	pa[7 * PG / 8 + 1] = 0xabcd;
	CHECK_EQ(pa[7 * PG / 8 + 1], 0xabcd);
	CHECK_EQ(pb[5], 0x5678); /* the old part is untouched */
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, 8 * PG);
	CHECK_EQ(info.pages, 8);
	CHECK_EQ(info.mappers, 2);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_unmap(b), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_huge(void)
{
	const u64 size = 4UL << 20;
	long h = vmk_shm_create(size, SHM_F_HUGE);
	REQUIRE(h > 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, size);
	CHECK(info.huge <= size / (2UL << 20));
	printf("# t_shm: 4 MiB SHM_F_HUGE object uses %llu 2 MiB blocks\n", (unsigned long long)info.huge);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	volatile u64 *p = (volatile u64 *)a;
	bool zero = true;
	for (u64 pg = 0; pg < size / PG; pg++) {
		zero &= p[pg * PG / 8 + 1] == 0;
		p[pg * PG / 8] = pg + 1;
	}
	CHECK(zero);
	bool ok = true;
	for (u64 pg = 0; pg < size / PG; pg++) ok &= p[pg * PG / 8] == pg + 1;
	CHECK(ok);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_close_keeps_mapping(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	volatile u64 *p = (volatile u64 *)a;
	p[0] = 99;
	CHECK_EQ(vmk_shm_close(h), 0);
	CHECK_EQ(p[0], 99);
	p[1] = 100;
	CHECK_EQ(p[1], 100);
	CHECK_EQ(vmk_shm_unmap(a), 0);
}

/* Many live objects at once must not bleed into each other. */
static void test_many_objects(void)
{
	enum { N = 32 };
	long hs[N], as[N];
	int made = 0;
	for (int i = 0; i < N; i++) {
		hs[i] = vmk_shm_create((u64)(i % 4 + 1) * PG, 0);
		if (hs[i] <= 0) break;
		as[i] = vmk_shm_map(hs[i], 0, 0, PROT_READ | PROT_WRITE);
		if (as[i] <= 0) {
			vmk_shm_close(hs[i]);
			break;
		}
		made++;
		fill((volatile u64 *)as[i], (u64)(i % 4 + 1) * PG / 8, 1000 + i);
	}
	CHECK_EQ(made, N);
	for (int i = 0; i < made; i++) {
		CHECK(verify((const volatile u64 *)as[i], (u64)(i % 4 + 1) * PG / 8, 1000 + i));
		CHECK_EQ(vmk_shm_unmap(as[i]), 0);
		CHECK_EQ(vmk_shm_close(hs[i]), 0);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "partner") == 0) return partner();
	if (argc > 1 && strcmp(argv[1], "share-target") == 0) return share_target();
	ktap_begin("t_shm");
	ktap_run("create_info_zero", test_create_info_zero);
	ktap_run("two_tasks_see_writes_and_growth", test_two_tasks);
	ktap_run("share_to_running_task", test_share_to_running_task);
	ktap_run("grow_reserved_mapping", test_grow_reserved);
	ktap_run("huge_object", test_huge);
	ktap_run("close_keeps_mapping", test_close_keeps_mapping);
	ktap_run("many_objects", test_many_objects);
	return ktap_end();
}
