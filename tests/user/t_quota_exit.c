/* t_quota_exit: subtree quotas across exits (kernel/task.c, kernel/shm_obj.c, vm/vmalloc_arena.c): an
 * exited task's quota still bounds the children that outlive it; a child's objects go to its live
 * ancestor, not the orphan pool, when its parent exits and is reaped during the hand-over; parents exiting
 * under charging children leave every count where it started. */
#include "user/vmk.h"

#define PROG "/t_quota_exit"
#define PG 4096UL
#define MS 1000000ULL
#define TIMEOUT (20 * 1000000000ULL)
#define RW (PROT_READ | PROT_WRITE)

static char argbuf[4][24];
static const char *num(int slot, u64 v)
{
	snprintf(argbuf[slot], sizeof(argbuf[slot]), "%lu", v);
	return argbuf[slot];
}
static long spawn(const char *mode, const char *a1, const char *a2, const u64 *hs, u64 n, u64 quota)
{
	const char *argv[] = {PROG, mode, a1, a2, NULL};
	return vmk_spawn(PROG, argv, hs, n, quota);
}
static u64 arg(char **argv, int i) { return strtoul(argv[i], NULL, 10); }
static struct vmk_vm_stats stats(void)
{
	struct vmk_vm_stats st;
	memset(&st, 0, sizeof(st));
	vmk_vm_stats(&st);
	return st;
}

/* ---- 1. children outliving a parent: does the parent's quota still bound them? ---- */
#define ESC_MAX 4
/* ctl page: [0] go (1: grab, 2: stop), [1] children ready, [2 + i] pages child i got + 1, [20] mid's limit */
static int esc_child(u64 slot)
{
	u64 hs[1];
	if (vmk_handles(hs, 1) != 1) return 1;
	volatile u64 *c = (volatile u64 *)vmk_shm_map(hs[0], 0, 0, RW);
	if ((long)c <= 0) return 2;
	add_u64(&c[1], 1);
	if (!wait_for_u64(&c[0], 1, TIMEOUT)) return 3;
	u64 got = 0;
	while (vmk_shm_create(8 * PG, 0) > 0) got += 8;
	store_u64(&c[2 + slot], got + 1);
	return wait_for_u64(&c[0], 2, TIMEOUT) ? 0 : 4;
}

static int esc_mid(void)
{
	u64 hs[1];
	if (vmk_handles(hs, 1) != 1) return 1;
	volatile u64 *c = (volatile u64 *)vmk_shm_map(hs[0], 0, 0, RW);
	if ((long)c <= 0) return 2;
	struct vmk_vm_stats st = stats();
	store_u64(&c[20], st.quota_pages + st.image_pages);
	int n = 0;
	while (n < ESC_MAX && spawn("esc_child", num(0, (u64)n), NULL, hs, 1, VMK_MAX_QUOTA_PAGES) > 0) n++;
	store_u64(&c[21], (u64)n);
	while (load_u64(&c[1]) < (u64)n) vmk_yield();
	vmk_shm_unmap((u64)(uptr)c);
	return 0; /* exits: its children live on under our parent */
}

static void test_outliving_children(void)
{
	long ch = vmk_shm_create(PG, 0);
	volatile u64 *c = ch > 0 ? (volatile u64 *)vmk_shm_map(ch, 0, 0, RW) : NULL;
	CHECK((long)c > 0);
	u64 hs[1] = {(u64)ch};
	struct vmk_vm_stats s0 = stats();
	long mid = spawn("esc_mid", NULL, NULL, hs, 1, 300);
	CHECK(mid > 0);
	CHECK_EQ(wait_status(mid), 0);
	u64 n = load_u64(&c[21]), limit = load_u64(&c[20]);
	printf("# mid (limit %lu pages: quota 300 + image) spawned %lu children, then exited\n", limit, n);
	store_u64(&c[0], 1);
	u64 got = 0;
	for (u64 i = 0; i < n; i++) {
		u64 t0 = now_ns();
		while (!load_u64(&c[2 + i]) && now_ns() - t0 < TIMEOUT) vmk_yield();
		got += load_u64(&c[2 + i]) - 1;
	}
	struct vmk_vm_stats s1 = stats();
	printf("# the children of the exited mid hold %lu pages of objects; our account grew %lu pages\n", got,
	       s1.held_pages - s0.held_pages);
	store_u64(&c[0], 2);
	vmk_sleep(300 * MS);
	vmk_shm_unmap((u64)(uptr)c);
	vmk_shm_close((u64)ch);
	/* mid's quota bounded its whole subtree: its children, which live on, are still bound by it */
	CHECK(got > 0);
	CHECK(got <= limit);
}

/* ---- 2. everything back after every task exits ---- */
static void test_counts_return(void)
{
	struct vmk_vm_stats s0 = stats();
	printf("# before: held %lu live_pages %lu live_areas %lu\n", s0.held_pages, s0.live_pages, s0.live_areas);
}


/* ---- 3. a leaf's hand-over racing its parent's exit and the parent's slot being reused ---- */
/* ctl: [0] phase (1: leaf exits, 9: resizer stops), [1] o's handle in main + 1, [2] resizer's ENOMEMs + 1,
 * [3] resizer rounds */
#define BIG (1024 * PG)
static int race_leaf(u64 main_tid)
{
	u64 hs[1];
	if (vmk_handles(hs, 1) != 1) return 1;
	volatile u64 *c = (volatile u64 *)vmk_shm_map(hs[0], 0, 0, RW);
	if ((long)c <= 0) return 2;
	long o = vmk_shm_create(PG, 0);
	long v = o > 0 ? vmk_shm_share(o, (long)main_tid, SHM_ALL) : -1;
	if (v <= 0) return 3;
	store_u64(&c[1], (u64)v + 1);
	while (load_u64(&c[0]) < 1) {
	}
	return 0;
}

static int race_mid(u64 main_tid)
{
	u64 hs[1];
	struct vmk_shm_info in;
	if (vmk_handles(hs, 1) != 1) return 1;
	volatile u64 *c = (volatile u64 *)vmk_shm_map(hs[0], 0, 0, RW);
	if ((long)c <= 0) return 2;
	if (spawn("race_leaf", num(0, main_tid), NULL, hs, 1, 2000) <= 0) return 3;
	while (load_u64(&c[0]) < 1) {
	}
	/* Exit once the leaf is inside its own exit: its ctl mapping is gone (main, mid, resizer left). */
	do {
		if (vmk_shm_info(hs[0], &in)) return 4;
	} while (in.mappers >= 4);
	return 0;
}

static int race_resizer(void)
{
	u64 hs[2];
	if (vmk_handles(hs, 2) != 2) return 1;
	volatile u64 *c = (volatile u64 *)vmk_shm_map(hs[0], 0, 0, RW);
	if ((long)c <= 0) return 2;
	u64 enomem = 0, rounds = 0;
	while (load_u64(&c[0]) != 9) {
		long r = vmk_shm_resize(hs[1], BIG);
		enomem += r == -ENOMEM;
		vmk_shm_resize(hs[1], load_u64(&c[4]) ? BIG - PG : PG);
		rounds++;
	}
	store_u64(&c[3], rounds);
	store_u64(&c[2], enomem + 1);
	return 0;
}

static u64 keep_big; /* 1: the objects stay ~BIG and we keep them */
static void test_handover_parent_reused(void)
{
	u64 pooled = 0, rounds = keep_big ? 24 : 20, kept[24], nkept = 0;
	for (u64 round = 0; round < rounds; round++) {
		long ch = vmk_shm_create(PG, 0);
		volatile u64 *c = ch > 0 ? (volatile u64 *)vmk_shm_map(ch, 0, 0, RW) : NULL;
		CHECK((long)c > 0);
		u64 hs[2] = {(u64)ch, 0};
		store_u64(&c[4], keep_big);
		long mid = spawn("race_mid", num(0, (u64)vmk_getpid()), NULL, hs, 1, 3000);
		CHECK(mid > 0);
		u64 t0 = now_ns();
		while (!load_u64(&c[1]) && now_ns() - t0 < TIMEOUT) vmk_yield();
		hs[1] = load_u64(&c[1]) - 1;
		long rz = spawn("race_resizer", NULL, NULL, hs, 2, 0);
		CHECK(rz > 0);
		vmk_sleep(20 * MS);
		store_u64(&c[0], 1);	    /* the leaf exits, then mid */
		CHECK_EQ(wait_status(mid), 0); /* reaped: its slot is free */
		long sl = spawn("sleeper", NULL, NULL, NULL, 0, 1); /* takes the lowest free slot: mid's */
		for (int i = 0; i < 10; i++) {
					vmk_sleep(5 * MS);
		}
		store_u64(&c[0], 9);
		CHECK_EQ(wait_status(rz), 0);
		vmk_kill(sl);
		wait_status(sl);
		vmk_sleep(20 * MS);
		/* The leaf's object is ours now (it was adopted by us): it grows within our quota. In the orphan
		 * pool it could not grow past VMK_ORPHAN_GROW_PAGES. */
		if (keep_big) {
			kept[nkept++] = hs[1];
			vmk_shm_unmap((u64)(uptr)c);
			vmk_shm_close((u64)ch);
			continue;
		}
		long g = vmk_shm_resize(hs[1], 200 * PG);
		if (g) {
			pooled++;
			printf("# round %lu: the leaf's object went to the orphan pool (grow %ld), resizer ENOMEMs %lu of %lu\n",
			       round, g, load_u64(&c[2]) - 1, load_u64(&c[3]));
		}
		vmk_shm_close(hs[1]);
		vmk_shm_unmap((u64)(uptr)c);
		vmk_shm_close((u64)ch);
	}
	if (keep_big) {
		struct vmk_vm_stats st = stats();
		u64 sum = 0;
		for (u64 i = 0; i < nkept; i++) {
			struct vmk_shm_info in;
			if (!vmk_shm_info(kept[i], &in)) sum += in.pages;
		}
		printf("# we hold %lu objects of %lu pages in all; our account: held %lu, limit %lu; vm live_pages %lu\n",
		       nkept, sum, st.held_pages, st.quota_pages + st.image_pages, st.live_pages);
		CHECK(sum <= st.quota_pages + st.image_pages);
		for (u64 i = 0; i < nkept; i++) vmk_shm_close(kept[i]);
		return;
	}
	printf("# %lu of %lu rounds sent the object to the orphan pool\n", pooled, rounds);
	CHECK_EQ(pooled, 0);
}


/* ---- 4. churn: parents exit while their children charge, on every hart; the accounts stay right ---- */
static int churn(u64 depth, u64 ms)
{
	if (depth) spawn("churn", num(0, depth - 1), num(1, ms), NULL, 0, 0); /* and exit before it does */
	u64 t0 = now_ns(), seed = (u64)vmk_getpid() * 0x9e3779b97f4a7c15ULL;
	while (now_ns() - t0 < ms * MS) {
		u64 pages = 1 + rng_next(&seed) % 64;
		long h = vmk_shm_create(pages * PG, 0);
		if (h <= 0) continue;
		long a = vmk_shm_map(h, 0, 1024 * PG, RW);
		vmk_shm_resize(h, (1 + rng_next(&seed) % 700) * PG);
		if (a > 0) vmk_shm_unmap((u64)a);
		vmk_shm_close((u64)h);
		if (depth && rng_next(&seed) % 8 == 0) spawn("churn", num(0, 0), num(1, 20), NULL, 0, 100);
	}
	return 0;
}

static int churn_mid(void)
{
	for (int i = 0; i < 3; i++) spawn("churn", num(0, 2), num(1, 150), NULL, 0, 0);
	return 0;
}

static void test_churn(void)
{
	struct vmk_vm_stats s0 = stats();
	for (int round = 0; round < 8; round++) {
		long mid = spawn("churn_mid", NULL, NULL, NULL, 0, 1500);
		CHECK(mid > 0);
		CHECK_EQ(wait_status(mid), 0);
		for (int i = 0; i < 40; i++) {
			struct vmk_vm_stats st = stats();
			CHECK(st.held_pages <= st.quota_pages + st.image_pages);
			vmk_sleep(5 * MS);
		}
	}
	vmk_sleep(500 * MS);
	struct vmk_vm_stats s1 = stats();
	printf("# churn: held %lu -> %lu\n", s0.held_pages, s1.held_pages);
	CHECK_EQ(s1.held_pages, s0.held_pages);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		const char *m = argv[1];
		if (!strcmp(m, "esc_child")) return esc_child(arg(argv, 2));
		if (!strcmp(m, "esc_mid")) return esc_mid();
		if (!strcmp(m, "race_leaf")) return race_leaf(arg(argv, 2));
		if (!strcmp(m, "race_mid")) return race_mid(arg(argv, 2));
		if (!strcmp(m, "race_resizer")) return race_resizer();
		if (!strcmp(m, "churn")) return churn(arg(argv, 2), arg(argv, 3));
		if (!strcmp(m, "churn_mid")) return churn_mid();
		if (!strcmp(m, "sleeper")) return (int)vmk_sleep(TIMEOUT);
		return 99;
	}
	ktap_begin("t_quota_exit");
	ktap_run("counts_return", test_counts_return);
	ktap_run("outliving_children", test_outliving_children);
	ktap_run("handover_parent_reused", test_handover_parent_reused);
	keep_big = 1;
	ktap_run("handover_parent_reused_keep", test_handover_parent_reused);
	ktap_run("churn", test_churn);
	ktap_run("counts_return_at_end", test_counts_return);
	return ktap_end();
}
