/* t_futex: waiting on a word of a shared object (SYS_shm_wait / SYS_shm_wake) between tasks that do not
 * trust each other, and the runtime's mutex and semaphore over it: every error, a wake reaching a waiter by
 * handle and by address, a shrink under a waiter, the last other holder gone, the waiter or the waker
 * killed, and a ping-pong stress with kills (`t_futex stress N` runs it alone, N round trips per pair).
 * Ends by checking that no area or page is left behind. */
#define PROG "/t_futex"
#include "tests/user/ipc_common.h"

static long self;

/* ---- wait and wake ---- */

static void test_wait_wake_errors(void)
{
	long h, a = map_new(2 * PG, 0, &h);
	REQUIRE(a > 0);
	u64 local = 0;
	CHECK_EQ(vmk_shm_wait(h, 0, 1, 0), -EAGAIN);
	u64 t0 = now_ns();
	CHECK_EQ(vmk_shm_wait(h, 0, 0, 5 * MS), -ETIMEDOUT);
	CHECK(now_ns() - t0 >= 5 * MS);
	CHECK_EQ(vmk_syscall(SYS_shm_wait, (u64)h, 0, 1UL << 32, MS, 0, 0), -ETIMEDOUT); /* low 32 bits compared */
	CHECK_EQ(vmk_shm_wait(h, 2, 0, MS), -EINVAL);
	CHECK_EQ(vmk_shm_wait(h, 2 * PG, 0, MS), -ERANGE);
	CHECK_EQ(vmk_shm_wait(h, 2 * PG - 4, 1, MS), -EAGAIN); /* the last word is in */
	CHECK_EQ(vmk_shm_wait(h, ~0UL - 3, 0, MS), -ERANGE);   /* wrapping offsets */
	CHECK_EQ(vmk_shm_wait(h + 1, 0, 0, MS), -EBADF);
	CHECK_EQ(vmk_shm_wait(0, 0x3000000000UL, 0, MS), -EFAULT); /* handle 0: no mapping there */
	CHECK_EQ(vmk_shm_wait(0, (u64)(uptr)&local, 0, MS), -EFAULT); /* private memory */
	CHECK_EQ(vmk_shm_wait(0, (u64)a + 2, 0, MS), -EINVAL);
	CHECK_EQ(vmk_shm_wait(0, (u64)a, 1, MS), -EAGAIN);
	CHECK_EQ(vmk_shm_wait(0, (u64)a + 2 * PG, 0, MS), -EFAULT); /* past the mapped part */
	CHECK_EQ(vmk_shm_wake(h, 0, 1), 0);
	CHECK_EQ(vmk_shm_wake(h, 1, 1), -EINVAL);
	CHECK_EQ(vmk_shm_wake(h, 2 * PG, 1), -ERANGE);
	CHECK_EQ(vmk_shm_wake(0, (u64)a, ~0UL), 0);
	CHECK_EQ(vmk_shm_wake(0, 8, 1), -EFAULT);
	long wo = vmk_shm_share(h, self, SHM_W | SHM_MAP);
	REQUIRE(wo > 0);
	CHECK_EQ(vmk_shm_wait(wo, 0, 0, MS), -EACCES);
	CHECK_EQ(vmk_shm_wake(wo, 0, 1), -EACCES);
	/* A wake storm with nobody waiting wakes nobody and costs nothing lasting. */
	long woke = 0;
	for (u64 i = 0; i < 20000; i++) woke += vmk_shm_wake(i & 1 ? h : 0, (i & 1) ? 4 * (i % 2048) : (u64)a + 4 * (i % 1024), i);
	CHECK_EQ(woke, 0);
	CHECK_EQ(vmk_shm_close(wo), 0);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* Children's side of the wait cases: wait on word `offset` of handle hs[1] (expected 0, no timeout)
 * after step 1, and report the result. */
static int waiter_child(u64 offset, bool by_address)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long target = 0;
	if (by_address) {
		target = vmk_shm_map(hs[1], 0, 0, PROT_READ);
		if (target <= 0) return 2;
	}
	store_u64(&c->step, 1);
	long r = by_address ? vmk_shm_wait(0, (u64)target + offset, 0, 0) : vmk_shm_wait(hs[1], offset, 0, 0);
	store_u64(&c->result, (u64)r);
	store_u64(&c->step, 2);
	return 0;
}

/* Wakes the word the scene's waiter child sleeps on until the wake reaches it (nothing changes the
 * word: only a wake can end that wait), then checks that the child saw 0 and ended well. */
static void wake_the_waiter(struct scene *s, long tid)
{
	long woke = 0;
	for (u64 t0 = now_ns(); !woke && now_ns() - t0 < TIMEOUT;) {
		woke = vmk_shm_wake(s->h, 64, 1);
		if (!woke) vmk_sleep(MS);
	}
	CHECK_EQ(woke, 1);
	CHECK(wait_for_u64(&s->c->step, 2, TIMEOUT));
	CHECK_EQ((long)load_u64(&s->c->result), 0);
	CHECK_EQ(wait_status(tid), 0);
}

static void test_wake_reaches_waiter(void)
{
	for (int by_address = 0; by_address < 2; by_address++) {
		struct scene s;
		REQUIRE(scene_open(&s, PG));
		long tid = scene_start(&s, by_address ? "wait-addr" : "wait-handle");
		REQUIRE(tid > 0);
		wake_the_waiter(&s, tid);
		CHECK_EQ(vmk_shm_wake(s.h, 64, 1), 0); /* nobody left */
		CHECK_EQ(scene_close(&s), 0);
	}
}

/* A wake of count 1 with two tasks asleep on the word wakes one of them, and says 1 (each wake says how
 * many it woke, never more than asked); a second wake reaches the other. The sleep before the first wake
 * only gives both children time to fall asleep (a wake that finds one, or none, still passes): it can make
 * the case miss a kernel that wakes too many, never fail a correct one. */
static void test_wake_count_honoured(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	long ch2, ca2 = map_new(PG, 0, &ch2);
	REQUIRE(ca2 > 0);
	struct ctl *c2 = (struct ctl *)ca2;
	long t1 = scene_start(&s, "wait-handle");
	REQUIRE(t1 > 0);
	u64 hs[2] = {(u64)ch2, (u64)s.h};
	long t2 = spawn_mode("wait-handle", hs, 2);
	REQUIRE(t2 > 0 && wait_for_u64(&c2->step, 1, TIMEOUT));
	vmk_sleep(20 * MS);
	long woke = 0;
	for (u64 t0 = now_ns(); woke < 2 && now_ns() - t0 < TIMEOUT;) {
		long r = vmk_shm_wake(s.h, 64, 1);
		CHECK(r == 0 || r == 1);
		if (r < 0 || r > 1) break;
		woke += r;
		if (!r) vmk_sleep(MS);
	}
	CHECK_EQ(woke, 2);
	CHECK(wait_for_u64(&s.c->step, 2, TIMEOUT) && wait_for_u64(&c2->step, 2, TIMEOUT));
	CHECK_EQ((long)load_u64(&s.c->result), 0);
	CHECK_EQ((long)load_u64(&c2->result), 0);
	CHECK_EQ(wait_status(t1), 0);
	CHECK_EQ(wait_status(t2), 0);
	CHECK_EQ(vmk_shm_unmap(ca2) | vmk_shm_close(ch2), 0);
	CHECK_EQ(scene_close(&s), 0);
}

/* A task waiting where nobody will wake it: 100 waits of 150 us, each of which must time out. */
static int lonely_child(void)
{
	long h, a = map_new(PG, 0, &h);
	if (a <= 0) return 2;
	for (int i = 0; i < 100; i++)
		if (vmk_shm_wait(h, 0, 0, 150 * MS / 1000) != -ETIMEDOUT) return 1;
	return 0;
}

/* A wait spins before it sleeps only on a machine with another hart to wake it, and backs off when
 * its spins do not pay (kernel/sched.c: sched_spin_until): a fresh task's 100 waits that nobody ends
 * spin on waits 1, 3, 7, 15, 31 and 63 only, and none of those spins is ended by a wake. */
static void test_spin_backs_off(void)
{
	struct vmk_vm_stats s0, s1;
	REQUIRE(vmk_vm_stats(&s0) == 0);
	long tid = spawn_mode("lonely", NULL, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	REQUIRE(vmk_vm_stats(&s1) == 0);
	u64 spins = s1.wait_spins - s0.wait_spins;
	if (s1.harts_online < 2) CHECK_EQ(spins, 0);
	else CHECK_EQ(spins, 6);
	CHECK_EQ(s1.wait_spin_wakes - s0.wait_spin_wakes, 0);
	CHECK(s1.sched_lock_takes - s0.sched_lock_takes >= 100); /* every wait slept, under the lock */
}

static void test_shrink_ends_wait(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, 4 * PG));
	long tid = scene_start(&s, "wait-far"); /* waits on the word at 3 pages + 64 */
	REQUIRE(tid > 0);
	vmk_sleep(5 * MS);
	CHECK_EQ(vmk_shm_resize(s.h, PG), 0); /* whether it is asleep yet or not, its word is gone */
	CHECK(wait_for_u64(&s.c->step, 2, TIMEOUT));
	CHECK_EQ((long)load_u64(&s.c->result), -ERANGE);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(scene_close(&s), 0);
}

static void test_last_other_holder_gone(void)
{
	for (int by_address = 0; by_address < 2; by_address++) {
		struct scene s;
		REQUIRE(scene_open(&s, PG));
		long tid = scene_start(&s, by_address ? "wait-addr" : "wait-handle");
		REQUIRE(tid > 0);
		vmk_sleep(2 * MS);
		CHECK_EQ(vmk_shm_close(s.h), 0); /* now only the waiter holds it: nobody could ever wake it */
		s.h = 0;
		CHECK(wait_for_u64(&s.c->step, 2, TIMEOUT));
		CHECK_EQ((long)load_u64(&s.c->result), -EPIPE);
		CHECK_EQ(wait_status(tid), 0);
		CHECK_EQ(scene_close(&s), 0);
	}
}

/* A holder in a timed wait of its own is still a holder: its wait ends by itself, and then it can wake
 * the untimed waiter, so that waiter must not be told everyone else is gone. */
static void test_timed_waiter_still_holds(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	long tid = scene_start(&s, "wait-handle");
	REQUIRE(tid > 0);
	vmk_sleep(2 * MS);
	CHECK_EQ(vmk_shm_wait(s.h, 128, 0, 20 * MS), -ETIMEDOUT);
	vmk_sleep(2 * MS);
	CHECK_EQ(load_u64(&s.c->step), 1); /* still waiting */
	wake_the_waiter(&s, tid);
	CHECK_EQ(scene_close(&s), 0);
}

static void test_waiter_killed(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	long tid = scene_start(&s, "wait-handle");
	REQUIRE(tid > 0);
	vmk_sleep(2 * MS);
	CHECK_EQ(vmk_kill(tid), 0);
	CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
	CHECK_EQ(load_u64(&s.c->step), 1); /* it never returned to user mode */
	CHECK_EQ(vmk_shm_wake(s.h, 64, ~0UL), 0); /* its wait left no trace */
	CHECK_EQ(MAPPERS(s.ch), 1);
	CHECK_EQ(scene_close(&s), 0);
}

/* The waker is killed before it wakes: the waiter, left alone with the object, is told so. */
static int holder_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	store_u64(&c->step, 1);
	for (;;) vmk_sleep(100 * MS);
}

static void test_waker_killed(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	long waker = scene_start(&s, "holder");
	REQUIRE(waker > 0);
	store_u64(&s.c->step, 0);
	long tid = scene_start(&s, "wait-handle");
	REQUIRE(tid > 0);
	CHECK_EQ(vmk_shm_close(s.h), 0); /* the holder can still wake it: the wait goes on */
	s.h = 0;
	vmk_sleep(5 * MS);
	CHECK_EQ(load_u64(&s.c->step), 1);
	CHECK_EQ(vmk_kill(waker), 0);
	CHECK_EQ(wait_status(waker), VMK_STATUS_KILLED);
	CHECK(wait_for_u64(&s.c->step, 2, TIMEOUT));
	CHECK_EQ((long)load_u64(&s.c->result), -EPIPE);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(scene_close(&s), 0);
}

/* ---- the runtime's mutex and semaphore ---- */

struct sync_page {
	struct vmk_mutex m;
	u32 pad;
	u64 counter;
	struct vmk_sem sem;
	u64 taken;
};

#define MUTEX_ROUNDS 3000

static int locker_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long a = vmk_shm_map(hs[1], 0, 0, RW);
	if (a <= 0) return 2;
	struct sync_page *s = (struct sync_page *)a;
	for (int i = 0; i < MUTEX_ROUNDS; i++) {
		if (vmk_mutex_lock(&s->m)) return 3;
		u64 v = s->counter; /* not atomic: only the mutex keeps increments from being lost */
		if (i % 64 == 0) vmk_yield();
		s->counter = v + 1;
		vmk_mutex_unlock(&s->m);
	}
	for (int i = 0; i < 100; i++) {
		if (vmk_sem_wait(&s->sem, TIMEOUT)) return 4;
		__atomic_fetch_add(&s->taken, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static void test_mutex_and_semaphore(void)
{
	long ch, ca = map_new(PG, 0, &ch), h, a = map_new(PG, 0, &h);
	REQUIRE(ca > 0 && a > 0);
	struct sync_page *s = (struct sync_page *)a;
	u64 hs[2] = {(u64)ch, (u64)h};
	long t1 = spawn_mode("locker", hs, 2), t2 = spawn_mode("locker", hs, 2);
	REQUIRE(t1 > 0 && t2 > 0);
	for (int i = 0; i < MUTEX_ROUNDS; i++) {
		CHECK_EQ(vmk_mutex_lock(&s->m), 0);
		s->counter++;
		vmk_mutex_unlock(&s->m);
	}
	for (int i = 0; i < 200; i++) vmk_sem_post(&s->sem);
	CHECK_EQ(wait_status(t1), 0);
	CHECK_EQ(wait_status(t2), 0);
	CHECK_EQ(s->counter, 3 * MUTEX_ROUNDS);
	CHECK_EQ(s->taken, 200);
	CHECK_EQ(s->sem.count, 0);
	CHECK_EQ(vmk_sem_wait(&s->sem, 2 * MS), -ETIMEDOUT);
	CHECK(vmk_mutex_trylock(&s->m));
	CHECK(!vmk_mutex_trylock(&s->m));
	vmk_mutex_unlock(&s->m);
	struct vmk_mutex private_m = {0};
	private_m.state = 2; /* "held with waiters", in private memory: nobody else can ever release it */
	CHECK_EQ(vmk_mutex_lock(&private_m), -EFAULT);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch) | vmk_shm_unmap(a) | vmk_shm_close(h), 0);
}

/* ---- ping-pong stress: pairs of tasks, some killed part-way ---- */

static u64 stress_rounds = 20000;

/* One side of a pair: word 0 of hs[1] counts the exchanges; side 0 moves it from even to odd, side 1
 * from odd to even, each waking the other and sleeping until its turn (by handle, so through (object,
 * offset), while the word itself is read and written through the mapping). */
static int pong_child(u64 side, u64 rounds)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long a = vmk_shm_map(hs[1], 0, 0, RW);
	if (a <= 0) return 2;
	volatile u32 *w = (volatile u32 *)a;
	for (u64 i = 0; i < rounds; i++) {
		u32 mine = (u32)(2 * i + side), next = mine + 1;
		for (;;) {
			u32 v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
			if (v == mine) break;
			long r = vmk_shm_wait(hs[1], 0, v, 0);
			if (r == -EPIPE) { /* the partner is gone: nobody will move the word again */
				add_u64(&c->result, 1);
				add_u64(&c->bad, i); /* the exchanges this side completed before that */
				return 0;
			}
			if (r < 0 && r != -EAGAIN) return 3;
		}
		__atomic_store_n(w, next, __ATOMIC_RELEASE);
		vmk_shm_wake(hs[1], 0, 1);
	}
	add_u64(&c->rounds, rounds);
	return 0;
}

static void test_pingpong_stress(void)
{
	enum { PAIRS = 6 };
	long ch, ca = map_new(PG, 0, &ch);
	REQUIRE(ca > 0);
	struct ctl *c = (struct ctl *)ca;
	long tids[PAIRS][2];
	char rounds[24];
	snprintf(rounds, sizeof(rounds), "%llu", (unsigned long long)stress_rounds);
	u64 t0 = now_ns();
	for (int p = 0; p < PAIRS; p++) {
		long h = vmk_shm_create(PG, 0);
		REQUIRE(h > 0);
		u64 hs[2] = {(u64)ch, (u64)h};
		for (int s = 0; s < 2; s++) {
			const char *argv[] = {PROG, s ? "pong1" : "pong0", rounds, NULL};
			tids[p][s] = vmk_spawn(PROG, argv, hs, 2, 0);
			CHECK(tids[p][s] > 0);
		}
		CHECK_EQ(vmk_shm_close(h), 0); /* only the pair holds its object now */
	}
	/* Pairs 1 and 3 lose a side, chosen at random, at random times: the partners must get -EPIPE,
	 * not sleep forever. A pair that finished first loses nobody. */
	u64 rs = now_ns();
	vmk_sleep(rng_next(&rs) % (stress_rounds / 100 * MS + MS));
	long first = tids[1][rng_next(&rs) & 1], kr1 = vmk_kill(first);
	CHECK(kr1 == 0 || kr1 == -ESRCH); /* -ESRCH: it had already finished */
	vmk_sleep(rng_next(&rs) % (stress_rounds / 100 * MS + MS));
	long victim = tids[3][rng_next(&rs) & 1], kr = vmk_kill(victim);
	CHECK(kr == 0 || kr == -ESRCH); /* -ESRCH: it had already finished */
	int killed = 0;
	for (int p = 0; p < PAIRS; p++)
		for (int s = 0; s < 2; s++) {
			int st = wait_status(tids[p][s]);
			CHECK(st == 0 || st == VMK_STATUS_KILLED);
			killed += st == VMK_STATUS_KILLED;
		}
	u64 ns = now_ns() - t0;
	/* A kill that lands after its pair finished kills nobody: 0 to 2 killed, the rest all completed or
	 * were told their partner was gone. A side can be killed between counting its outcome and exiting,
	 * and is then counted twice: every side is counted at least once, and no side both completed and
	 * was told its partner was gone. */
	CHECK(killed <= 2);
	u64 full = load_u64(&c->rounds) / stress_rounds, gone = load_u64(&c->result);
	CHECK(full + gone <= 2 * PAIRS);
	CHECK(full + gone + (u64)killed >= 2 * PAIRS);
	CHECK(full >= 2 * (PAIRS - 2)); /* only pairs 1 and 3 lose a side */
	/* Each side counts its own exchanges: two per round trip. A killed side's are lost with it, so the
	 * figure is a lower bound when a kill landed. */
	printf("# pingpong_stress: %llu round trips in %llu ms, %d killed, %llu told their partner was gone\n",
	       (unsigned long long)((load_u64(&c->rounds) + load_u64(&c->bad)) / 2), (unsigned long long)(ns / MS),
	       killed, (unsigned long long)gone);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		if (!strcmp(argv[1], "wait-handle")) return waiter_child(64, false);
		if (!strcmp(argv[1], "wait-addr")) return waiter_child(64, true);
		if (!strcmp(argv[1], "wait-far")) return waiter_child(3 * PG + 64, false);
		if (!strcmp(argv[1], "holder")) return holder_child();
		if (!strcmp(argv[1], "lonely")) return lonely_child();
		if (!strcmp(argv[1], "locker")) return locker_child();
		if (argc > 2 && !strcmp(argv[1], "pong0")) return pong_child(0, strtoull(argv[2], NULL, 10));
		if (argc > 2 && !strcmp(argv[1], "pong1")) return pong_child(1, strtoull(argv[2], NULL, 10));
		if (!strcmp(argv[1], "stress") && argc > 2) stress_rounds = strtoull(argv[2], NULL, 10);
		else return 99;
	}
	self = vmk_getpid();
	ipc_note_start();
	ktap_begin("t_futex");
	if (argc > 1) {
		ktap_run("pingpong_stress", test_pingpong_stress);
		ktap_run("nothing_left_behind", test_nothing_left_behind);
		return ktap_end();
	}
	ktap_run("wait_wake_errors", test_wait_wake_errors);
	ktap_run("wake_reaches_waiter", test_wake_reaches_waiter);
	ktap_run("wake_count_honoured", test_wake_count_honoured);
	ktap_run("spin_backs_off", test_spin_backs_off);
	ktap_run("shrink_ends_wait", test_shrink_ends_wait);
	ktap_run("last_other_holder_gone", test_last_other_holder_gone);
	ktap_run("timed_waiter_still_holds", test_timed_waiter_still_holds);
	ktap_run("waiter_killed", test_waiter_killed);
	ktap_run("waker_killed", test_waker_killed);
	ktap_run("mutex_and_semaphore", test_mutex_and_semaphore);
	ktap_run("pingpong_stress", test_pingpong_stress);
	ktap_run("nothing_left_behind", test_nothing_left_behind);
	return ktap_end();
}
