/* t_attack: one case per defect of issue 9 (the shared-memory service and vrealloc under attack), each
 * written to fail on the kernel that had the defect: stale memory revealed by resize, execution from a
 * shared mapping, copies failing while an object grows, growth under memory pressure, wait losing a
 * status, quota charged to a slot, growth charged twice, handle values coming back, tids with high bits,
 * huge sleeps; plus SYS_kill and the diagnostic syscalls' privilege. */
#include "user/vmk.h"

#define PROG "/t_attack"
#define PG 4096UL
#define MIB (1UL << 20)
#define TIMEOUT (20 * 1000000000ULL)
#define MS 1000000ULL

/* Shared between the parent and its helpers: the first page of an object both map. */
struct ctl {
	u64 step;
	u64 stop;
	u64 value;
	u64 failures;
	u64 rounds;
};

static char num_buf[24];
static const char *num(u64 v)
{
	snprintf(num_buf, sizeof(num_buf), "%lu", v);
	return num_buf;
}

static long spawn_mode(const char *mode, const char *arg, long handle, u64 quota)
{
	u64 hs[1] = {(u64)handle};
	const char *argv[] = {PROG, mode, arg, NULL};
	return vmk_spawn(PROG, argv, handle > 0 ? hs : NULL, handle > 0 ? 1 : 0, quota);
}

/* A helper's view of the ctl object its parent handed it (NULL if there is none). */
static struct ctl *child_ctl(u64 max_size)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return NULL;
	long a = vmk_shm_map(h, 0, max_size, PROT_READ | PROT_WRITE);
	return a > 0 ? (struct ctl *)a : NULL;
}

static long new_ctl(struct ctl **c)
{
	long h = vmk_shm_create(PG, 0);
	long a = h > 0 ? vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE) : -1;
	*c = a > 0 ? (struct ctl *)a : NULL;
	return *c ? h : -1;
}

/* A ctl object (its handle in *h) and a child spawned in `mode` with it, once the child has reached step
 * 1. Returns the child's tid, or <= 0 when the object or the child could not be had: the caller
 * REQUIREs a positive tid. */
static long start_child(const char *mode, const char *arg, struct ctl **c, long *h)
{
	*h = new_ctl(c);
	if (*h <= 0) return -1;
	long tid = spawn_mode(mode, arg, *h, 0);
	if (tid > 0) CHECK(wait_for_u64(&(*c)->step, 1, TIMEOUT));
	return tid;
}

static void drop_ctl(long h, struct ctl *c)
{
	CHECK_EQ(vmk_shm_unmap((u64)(uptr)c), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
}

/* Defect 1: growth of a huge object after a move must read as zero, not as what freed memory held. */
static void test_resize_reveals_no_stale_memory(void)
{
	for (int round = 0; round < 2; round++) { /* leaves freed 2 MiB blocks full of a pattern */
		long j = vmk_shm_create(8 * MIB, SHM_F_HUGE);
		REQUIRE(j > 0);
		long ja = vmk_shm_map(j, 0, 0, PROT_READ | PROT_WRITE);
		REQUIRE(ja > 0);
		for (u64 i = 0; i < 8 * MIB / 8; i++) ((volatile u64 *)ja)[i] = 0xeeeeeeeeeeeeeeeeULL;
		CHECK_EQ(vmk_shm_unmap(ja), 0);
		CHECK_EQ(vmk_shm_close(j), 0);
	}
	long h = vmk_shm_create(2 * MIB, SHM_F_HUGE);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 4 * MIB, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	CHECK_EQ(vmk_shm_resize(h, 2 * MIB + PG), 0);
	CHECK_EQ(vmk_shm_resize(h, 4 * MIB), 0);
	u64 stale = 0;
	for (u64 i = 0; i < 4 * MIB / 8; i++) stale += ((volatile u64 *)a)[i] != 0;
	CHECK_EQ(stale, 0);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static int exec_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	long h = vmk_shm_create(PG, 0);
	long a = h > 0 ? vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE) : -1;
	if (a <= 0) return 2;
	*(volatile u32 *)a = 0x00008067; /* ret: harmless if it ever ran */
	store_u64(&c->step, 1);
	((void (*)(void))a)();
	store_u64(&c->step, 2); /* never reached: the fetch must kill */
	return 3;
}

/* Defect 2: executing from a shared mapping kills the task instead of faulting forever. */
static void test_exec_from_shm_kills(void)
{
	struct ctl *c;
	long h;
	long tid = start_child("exec", NULL, &c, &h);
	REQUIRE(tid > 0);
	/* Its mappings go when it dies: a task stuck in a fault loop keeps them. */
	struct vmk_shm_info info = {0};
	u64 t0 = now_ns();
	do {
		vmk_sleep(MS);
		CHECK_EQ(vmk_shm_info(h, &info), 0);
	} while (info.mappers > 1 && now_ns() - t0 < TIMEOUT);
	CHECK_EQ(info.mappers, 1);
	if (info.mappers > 1) vmk_kill(tid);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	CHECK_EQ(load_u64(&c->step), 1);
	drop_ctl(h, c);
}

#define GROW_PAGES 64
#define GROW_ROUNDS 400

static int copier_child(void)
{
	struct ctl *c = child_ctl(GROW_PAGES * PG);
	if (!c) return 1;
	u64 fails = 0, rounds = 0;
	u8 *page0 = (u8 *)c + 256; /* page 0 is never cut */
	store_u64(&c->step, 1);
	while (!load_u64(&c->stop)) {
		if (vmk_clock_gettime((struct vmk_timespec *)page0) != 0) fails++;
		if (vmk_vm_stats((struct vmk_vm_stats *)(page0 + 64)) != 0) fails++;
		memcpy(page0 + 512, "mark", 5);
		if (vmk_trace_mark(rounds, (const char *)(page0 + 512)) != 0) fails++;
		rounds++;
	}
	store_u64(&c->failures, fails);
	store_u64(&c->rounds, rounds);
	return 0;
}

/* Defect 3: system calls writing into page 0 of an object never fail while another task grows it. */
static void test_copies_during_growth(void)
{
	struct ctl *c;
	long h;
	long tid = start_child("copier", NULL, &c, &h);
	REQUIRE(tid > 0);
	long bad = 0;
	for (int i = 0; i < GROW_ROUNDS; i++) {
		bad += vmk_shm_resize(h, GROW_PAGES * PG) != 0;
		bad += vmk_shm_resize(h, PG) != 0;
	}
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(load_u64(&c->failures), 0);
	CHECK(load_u64(&c->rounds) > 0);
	drop_ctl(h, c);
}

/* A hog holds what it could get until told to let go. */
static int hog_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	u64 got = 0;
	/* Nearly the whole quota in three objects, so that 40 hogs stay far from any table's limit. */
	static const u64 sizes[] = {2048, 1024, 1000};
	for (u32 i = 0; i < ARRAY_SIZE(sizes); i++)
		if (vmk_shm_create(sizes[i] * PG, 0) > 0) got += sizes[i];
	__atomic_fetch_add(&c->value, got, __ATOMIC_SEQ_CST);
	add_u64(&c->step, 1);
	while (!load_u64(&c->stop)) vmk_sleep(5 * MS);
	return 0;
}

static u64 free_pages(void)
{
	struct vmk_vm_stats st;
	return vmk_vm_stats(&st) == 0 ? st.free_phys_pages : 0;
}

/* Defect 4: with memory nearly gone, growth either fails leaving the mapping as it was, or succeeds
 * with every page readable; it never returns 0 and leaves the mapping empty. */
static void test_growth_under_memory_pressure(void)
{
	/* The hogs are this task's children, so its quota bounds them too: only where that quota covers
	 * the free memory can they exhaust it (init gives this program the largest quota, VMK_MAX_QUOTA_PAGES,
	 * 256 MiB: the 256 MiB boots of the test matrix run this case, larger machines cannot). */
	struct vmk_vm_stats st;
	REQUIRE(vmk_vm_stats(&st) == 0);
	if (st.free_phys_pages > st.quota_pages + st.image_pages - st.held_pages) {
		ktap_skip("needs less free memory than this task's quota: only that can exhaust memory here");
		return;
	}
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	/* The growing object and the fine ballast first, so that however little the hogs leave, they exist. */
	long h = vmk_shm_create(32 * PG, 0);
	REQUIRE(h > 0);
	CHECK_EQ(vmk_shm_resize(h, 16 * PG), 0);
	/* Alone in its own 1 GiB of the window: a full unmap there frees both of its page tables. */
	long a = vmk_shm_map(h, VMK_SHM_BASE + (1UL << 30), 32 * PG, PROT_READ | PROT_WRITE);
	CHECK_EQ(a, VMK_SHM_BASE + (1UL << 30));
	REQUIRE(a > 0);
	volatile u64 *w = (volatile u64 *)a;
	for (u64 i = 0; i < 16 * PG / 8; i++) w[i] = i ^ 0x77;
	long pieces[16];
	int npieces = 0;
	u64 grew = 0, refused = 0;
	/* The fine ballast reserves its range now and gives its pages back: growing it again stays in place
	 * and takes exactly one more page per step. */
	long fine = vmk_shm_create(512 * PG, 0);
	REQUIRE(fine > 0);
	CHECK_EQ(vmk_shm_resize(fine, PG), 0);
	/* Hogs (other tasks) take memory down to about 3000 free pages, which this task's own quota can
	 * then take the rest of. */
	long tids[48];
	int nhogs = 0;
	while (nhogs < 48 && free_pages() > 3000) {
		long tid = spawn_mode("hog", NULL, hc, 0);
		if (tid < 0) break;
		tids[nhogs++] = tid;
		CHECK(wait_for_u64(&c->step, (u64)nhogs, TIMEOUT));
	}
	/* Coarse ballast: pieces of half the free memory until little is left. Then the walk: try the
	 * growth (to 32 pages and back), take one more page, until not one is left. Per-hart page caches
	 * hide up to a few hundred pages from free_phys_pages, so only a walk down to real exhaustion, a
	 * page at a time, is sure to cross the point where the growth's pages fit and its tables do not. */
	while (npieces < (int)ARRAY_SIZE(pieces) && free_pages() > 64) {
		long p = vmk_shm_create(free_pages() / 2 * PG, 0);
		if (p < 0) break;
		pieces[npieces++] = p;
	}
	for (u64 fine_pages = 1; fine_pages < 512; fine_pages++) {
		long r = vmk_shm_resize(h, 32 * PG);
		CHECK(r == 0 || r == -ENOMEM);
		u64 bad = 0;
		for (u64 i = 0; i < 16 * PG / 8; i++) bad += w[i] != (i ^ 0x77);
		CHECK_EQ(bad, 0);
		if (r == 0) {
			grew++;
			for (u64 i = 16 * PG / 8; i < 32 * PG / 8; i++) bad += w[i] != 0;
			CHECK_EQ(bad, 0);
			CHECK_EQ(vmk_shm_resize(h, 16 * PG), 0);
		} else {
			refused++;
			struct vmk_shm_info info;
			CHECK_EQ(vmk_shm_info(h, &info), 0);
			CHECK_EQ(info.size, 16 * PG);
		}
		if (vmk_shm_resize(fine, (fine_pages + 1) * PG) != 0) break;
	}
	CHECK(refused > 0); /* the walk did reach exhaustion */
	printf("# t_attack: growth under pressure: %lu grew, %lu refused, %d hogs, %d pieces, %lu pages free at the end\n",
	       grew, refused, nhogs, npieces, free_pages());
	for (int i = 0; i < npieces; i++) CHECK_EQ(vmk_shm_close(pieces[i]), 0);
	CHECK_EQ(vmk_shm_close(fine), 0);
	store_u64(&c->stop, 1);
	for (int i = 0; i < nhogs; i++) CHECK_EQ(wait_status(tids[i]), 0);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
	drop_ctl(hc, c);
}

static int cutter_child(void)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	vmk_sleep(50 * MS); /* lets the parent block in wait first */
	if (vmk_shm_resize(h, PG) != 0) return 2;
	return 7;
}

/* Defect 5: when the status cannot be stored, wait reaps nothing and the status is not lost. */
static void test_wait_keeps_status_on_efault(void)
{
	long h = vmk_shm_create(2 * PG, 0);
	REQUIRE(h > 0);
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(a > 0);
	long tid = spawn_mode("cutter", NULL, h, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(vmk_wait(tid, (int *)(a + PG)), -EFAULT);
	int status = -1;
	CHECK_EQ(vmk_wait(tid, &status), 0);
	CHECK_EQ(status, 7);
	CHECK_EQ(vmk_wait(tid, &status), -ECHILD);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Adds 1 to the ctl's value ADDS times, atomically, once its parent is ready. */
#define ADDS 2000000UL
static int adder_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	add_u64(&c->step, 1);
	for (u64 i = 0; i < ADDS; i++) __atomic_fetch_add(&c->value, 1, __ATOMIC_RELAXED);
	store_u64(&c->stop, 1);
	return 0;
}

/* SYS_wait checks its status pointer before blocking, and the check stores nothing: it used to read the
 * word and write it back, so a wait that then failed (-ECHILD here) could undo another task's store made
 * in between. Two tasks: one adds to a shared word two million times while the other calls wait with
 * that word as its status pointer; no add may be lost. */
static void test_wait_check_stores_nothing(void)
{
	struct vmk_vm_stats st;
	REQUIRE(vmk_vm_stats(&st) == 0);
	if (st.harts_online < 2) {
		ktap_skip("needs a second hart: the adds must run while the waits do");
		return;
	}
	struct ctl *c;
	long h;
	long tid = start_child("adder", NULL, &c, &h);
	REQUIRE(tid > 0);
	u64 waits = 0;
	while (!load_u64(&c->stop)) {
		CHECK_EQ(vmk_wait(1000000007, (int *)&c->value), -ECHILD);
		waits++;
	}
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->value), ADDS);
	CHECK(waits > 100); /* the waits really ran alongside */
	drop_ctl(h, c);
}

static int share_up_child(const char *parent)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	long h = vmk_shm_create(32 * PG, 0);
	if (h < 0) return 2;
	long v = vmk_shm_share(h, (long)strtoul(parent, NULL, 10), SHM_ALL);
	if (v < 0) return 3;
	store_u64(&c->value, (u64)v);
	return 0;
}

static int create32_child(void) { return vmk_shm_create(32 * PG, 0) > 0 ? 0 : 1; }

/* Defect 6: an exited creator's charge goes with its objects, not to the next task in its slot. */
static void test_quota_follows_task_not_slot(void)
{
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long a = spawn_mode("share_up", num((u64)vmk_getpid()), hc, 34); /* 2 for its ctl mapping's tables */
	REQUIRE(a > 0);
	CHECK_EQ(wait_status(a), 0);
	u64 kept = load_u64(&c->value);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(kept, &info), 0); /* the object outlives its creator */
	CHECK_EQ(info.size, 32 * PG);
	long b = spawn_mode("create32", NULL, 0, 32);
	REQUIRE(b > 0);
	CHECK_EQ((b ^ a) & 63, 0); /* the same slot (tids end in the slot number) */
	CHECK_EQ(wait_status(b), 0);
	CHECK_EQ(vmk_shm_close(kept), 0);
	drop_ctl(hc, c);
}

/* The slot race: A creates a big object, gives B the only handle and exits the moment B starts closing
 * it, so B's vfree of the object runs while A's slot is reaped and handed to C. The object is 96 MiB so
 * that two fit in this program's subtree (256 MiB): C is spawned while B's free may still run, with A's
 * object handed to us and counted in our account, and a spawn gives a child at most what its parent
 * has left at that moment (QUOTAS); with 160 MiB objects C's quota was cut to about 94 MiB, and its
 * create failed (seen once in a full run, on 2 harts). */
#define RACE_BYTES (96UL << 20)
static int race_b_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	add_u64(&c->step, 1);
	if (!wait_for_u64(&c->step, 2, TIMEOUT)) return 2;
	u64 h = load_u64(&c->value);
	store_u64(&c->step, 3);
	return vmk_shm_close(h) == 0 ? 0 : 3;
}

static int race_a_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	long h = vmk_shm_create(RACE_BYTES, 0);
	if (h <= 0) return 2;
	long g = vmk_shm_share(h, (long)load_u64(&c->rounds), SHM_R);
	if (g <= 0 || vmk_shm_close(h) != 0) return 3;
	store_u64(&c->value, (u64)g);
	store_u64(&c->step, 2);
	while (load_u64(&c->step) != 3) {
	}
	return 0; /* at once: B is dropping the last reference to our object now */
}

/* C, in A's slot: its account must hold its image and nothing else, at once; and once B has closed the
 * object (the parent says so), it can create an object as big as A's. It waits for that because A's
 * object may have gone to the parent rather than died with A (B's close had not begun when A handed it
 * over), and then it counts in the parent's subtree, with C's, until B's vfree ends; the two at once
 * would also crowd a 256 MiB machine. */
static int race_c_child(void)
{
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 1;
	if (st.held_pages != st.image_pages) {
		printf("# t_attack: race_c: held %lu, image %lu\n", st.held_pages, st.image_pages);
		return 2;
	}
	struct ctl *c = child_ctl(0); /* mapped after the look: its tables count in the account */
	if (!c || !wait_for_u64(&c->stop, 1, TIMEOUT)) return 4;
	long h = vmk_shm_create(RACE_BYTES, 0);
	if (h <= 0 && vmk_vm_stats(&st) == 0)
		printf("# t_attack: race_c: create: %ld (held %lu, quota %lu, image %lu, free pages %lu, live pages %lu, "
		       "lazy pages %lu, last failure %lu bytes, errno %lu)\n", h, st.held_pages, st.quota_pages,
		       st.image_pages, st.free_phys_pages, st.live_pages, st.lazy_pages, st.last_fail_size,
		       st.last_fail_reason);
	return h > 0 && vmk_shm_close(h) == 0 ? 0 : 3;
}

/* A creator's slot is handed on empty even when the last reference to its object is being dropped by
 * another task while it exits: the exit waits for that vfree. Before, the charge stayed on the slot until
 * the vfree ended ("spawn: slot N still charged"), so the task reusing the slot found its quota taken:
 * 4 rounds of 5 failed in the reviewer's run. */
static void test_slot_reused_empty(void)
{
	int fails = 0;
	for (int round = 0; round < 5; round++) {
		struct ctl *c;
		long hc = new_ctl(&c);
		REQUIRE(hc > 0);
		long b = spawn_mode("race_b", NULL, hc, 64);
		REQUIRE(b > 0);
		CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
		store_u64(&c->rounds, (u64)b);
		long a = spawn_mode("race_a", NULL, hc, RACE_BYTES / PG + 64);
		REQUIRE(a > 0);
		CHECK_EQ(wait_status(a), 0);
		long cc = spawn_mode("race_c", NULL, hc, RACE_BYTES / PG + 64);
		REQUIRE(cc > 0);
		CHECK_EQ((cc ^ a) & 63, 0); /* A's slot (tids end in the slot number) */
		CHECK_EQ(wait_status(b), 0);
		store_u64(&c->stop, 1);
		int cs = wait_status(cc);
		if (cs) printf("# t_attack: slot_reused_empty round %d: C exited %d (2: its account held more than its "
			       "image; 3: its create failed)\n", round, cs);
		fails += cs != 0;
		drop_ctl(hc, c);
	}
	CHECK_EQ(fails, 0);
}

static int grow_child(void)
{
	long h = vmk_shm_create(6 * PG, 0);
	if (h < 0) return 1;
	if (vmk_shm_resize(h, 12 * PG) != 0) return 2;
	if (vmk_shm_resize(h, 16 * PG) != 0) return 3;
	if (vmk_shm_resize(h, 17 * PG) != -ENOMEM) return 4;
	return 0;
}

/* Defect 7: growth charges the difference, so a 16-page quota grows 6 pages to 12 and then to 16. */
static void test_growth_charges_difference(void)
{
	long tid = spawn_mode("grow", NULL, 0, 16);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
}

/* Defect 8: a closed handle's value is not handed out again 65,536 handles later. */
static void test_handle_values_do_not_come_back(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long self = vmk_getpid();
	long first = vmk_shm_share(h, self, SHM_R);
	REQUIRE(first > 0);
	CHECK_EQ(vmk_shm_close(first), 0);
	u64 repeats = 0;
	for (u32 i = 0; i < 65536 + 16; i++) {
		long v = vmk_shm_share(h, self, SHM_R);
		if (v < 0) {
			CHECK_EQ(v, 0);
			break;
		}
		repeats += v == first;
		CHECK_EQ(vmk_shm_close(v), 0);
	}
	CHECK_EQ(repeats, 0);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(first, &info), -EBADF);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Defect 9: a tid with high bits set names no task. */
static void test_tids_with_high_bits(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long self = vmk_getpid();
	CHECK_EQ(vmk_shm_share(h, self + (1L << 32), SHM_R), -ESRCH);
	CHECK_EQ(vmk_shm_share(h, self | (1L << 40), SHM_R), -ESRCH);
	CHECK_EQ(vmk_shm_share(h, self | (1L << 62), SHM_R), -ESRCH);
	CHECK_EQ(vmk_kill(self + (1L << 32)), -ESRCH);
	CHECK_EQ(vmk_wait(self + (1L << 32), NULL), -ECHILD);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static int sleeper_child(const char *ns)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	store_u64(&c->step, 1);
	vmk_sleep(strtoul(ns, NULL, 10));
	store_u64(&c->value, 1); /* woke up: must not happen within the test */
	return 0;
}

/* Defect 10: a huge sleep sleeps (here until killed). Also: SYS_kill reclaims a sleeping child. */
static void test_huge_sleep_sleeps(void)
{
	static const char *const lengths[] = {"1844674407371000", "18446744073709551615", "9223372036854775808"};
	for (u32 i = 0; i < ARRAY_SIZE(lengths); i++) {
		struct ctl *c;
		long h;
		long tid = start_child("sleeper", lengths[i], &c, &h);
		REQUIRE(tid > 0);
		vmk_sleep(100 * MS);
		CHECK_EQ(load_u64(&c->value), 0);
		CHECK_EQ(vmk_kill(tid), 0);
		CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
		CHECK_EQ(load_u64(&c->value), 0);
		drop_ctl(h, c);
	}
}

/* Spins in user mode, never entering the kernel, until told to stop. */
static int spinner_child(void)
{
	struct ctl *c = child_ctl(0);
	if (!c) return 1;
	store_u64(&c->step, 1);
	while (!load_u64(&c->stop)) __atomic_fetch_add(&c->rounds, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Blocks in wait for a spinning child of its own. */
static int waiter_child(void)
{
	u64 h;
	struct ctl *c = child_ctl(0);
	if (!c || vmk_handles(&h, 1) != 1) return 1;
	long g = spawn_mode("spinner", NULL, (long)h, 0);
	if (g < 0 || !wait_for_u64(&c->step, 1, TIMEOUT)) return 2;
	store_u64(&c->step, 2);
	int st;
	vmk_wait(g, &st); /* returns only when the spinner is told to stop */
	return 3;
}

/* SYS_kill: a parent reclaims a spinning child and a child blocked in wait; nobody else can. */
static void test_kill_reclaims_children(void)
{
	struct ctl *c;
	long h;
	long tid = start_child("spinner", NULL, &c, &h);
	REQUIRE(tid > 0);
	CHECK_EQ(vmk_kill(tid), 0);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	CHECK_EQ(vmk_kill(tid), -ESRCH); /* reaped */
	store_u64(&c->step, 0);
	tid = spawn_mode("waiter", NULL, h, 0);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 2, TIMEOUT));
	vmk_sleep(20 * MS); /* into its wait */
	CHECK_EQ(vmk_kill(tid), 0);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	store_u64(&c->stop, 1); /* its spinner, now an orphan, ends and is reaped by the kernel */
	CHECK_EQ(vmk_kill(vmk_getpid()), -EPERM); /* not our child */
	CHECK_EQ(vmk_kill(0), -ESRCH);
	CHECK_EQ(vmk_kill(-1), -ESRCH);
	drop_ctl(h, c);
}

static int undiag_child(void)
{
	if (vmk_vm_dump() != -EPERM) return 1;
	if (vmk_trace_ctl(0, 0) != -EPERM) return 2;
	if (vmk_trace_ctl(TRACE_ALL, 0) != -EPERM) return 3;
	const char *argv[] = {PROG, "undiag", NULL};
	if (vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, 0, 0, 0, VMK_SPAWN_DIAG) != -EPERM) return 4;
	return 0;
}

static int diag_child(void) { return vmk_trace_ctl(0, 0) >= 0 ? 0 : 1; }

/* vm_dump and trace_ctl belong to init and the tasks it grants them to. */
static void test_diagnostics_need_a_grant(void)
{
	long tid = spawn_mode("undiag", NULL, 0, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	const char *argv[] = {PROG, "diag", NULL};
	tid = vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, 0, 0, 0, VMK_SPAWN_DIAG);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, 0, 0, 0, 2), -EINVAL); /* unknown flag */
}

/* A child spawned with quota 0 under vmalloc.task_quota_pages=64: exactly 64 pages. */
static int quota64_child(void)
{
	long h = vmk_shm_create(64 * PG, 0);
	if (h <= 0) return 1;
	if (vmk_shm_create(PG, 0) != -ENOMEM) return 2;
	return 0;
}

/* Run as init with vmalloc.task_quota_pages=64 on the command line (tests/run.sh): that bootarg is the
 * default quota of init's children; init itself holds VMK_MAX_QUOTA_PAGES. */
static int bootarg_quota(void)
{
	long h = vmk_shm_create(1024 * PG, 0); /* init is not bound by the default */
	if (h <= 0) return 1;
	long tid = spawn_mode("quota64_child", NULL, 0, 0);
	if (tid <= 0 || wait_status(tid) != 0) return 2;
	printf("# t_attack: vmalloc.task_quota_pages=64 holds\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		const char *m = argv[1], *arg = argc > 2 ? argv[2] : "0";
		if (!strcmp(m, "exec")) return exec_child();
		if (!strcmp(m, "copier")) return copier_child();
		if (!strcmp(m, "hog")) return hog_child();
		if (!strcmp(m, "cutter")) return cutter_child();
		if (!strcmp(m, "adder")) return adder_child();
		if (!strcmp(m, "race_a")) return race_a_child();
		if (!strcmp(m, "race_b")) return race_b_child();
		if (!strcmp(m, "race_c")) return race_c_child();
		if (!strcmp(m, "share_up")) return share_up_child(arg);
		if (!strcmp(m, "create32")) return create32_child();
		if (!strcmp(m, "grow")) return grow_child();
		if (!strcmp(m, "sleeper")) return sleeper_child(arg);
		if (!strcmp(m, "spinner")) return spinner_child();
		if (!strcmp(m, "waiter")) return waiter_child();
		if (!strcmp(m, "undiag")) return undiag_child();
		if (!strcmp(m, "diag")) return diag_child();
		if (!strcmp(m, "quota64")) return bootarg_quota();
		if (!strcmp(m, "quota64_child")) return quota64_child();
		return 99;
	}
	ktap_begin("t_attack");
	ktap_run("resize_reveals_no_stale_memory", test_resize_reveals_no_stale_memory);
	ktap_run("growth_charges_difference", test_growth_charges_difference);
	ktap_run("quota_follows_task_not_slot", test_quota_follows_task_not_slot);
	ktap_run("slot_reused_empty", test_slot_reused_empty);
	ktap_run("tids_with_high_bits", test_tids_with_high_bits);
	ktap_run("wait_keeps_status_on_efault", test_wait_keeps_status_on_efault);
	ktap_run("wait_check_stores_nothing", test_wait_check_stores_nothing);
	ktap_run("handle_values_do_not_come_back", test_handle_values_do_not_come_back);
	ktap_run("copies_during_growth", test_copies_during_growth);
	ktap_run("growth_under_memory_pressure", test_growth_under_memory_pressure);
	ktap_run("diagnostics_need_a_grant", test_diagnostics_need_a_grant);
	ktap_run("huge_sleep_sleeps", test_huge_sleep_sleeps);
	ktap_run("kill_reclaims_children", test_kill_reclaims_children);
	ktap_run("exec_from_shm_kills", test_exec_from_shm_kills);
	return ktap_end();
}
