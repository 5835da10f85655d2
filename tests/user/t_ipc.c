/* t_ipc: the shared-memory service as IPC between tasks that do not trust each other: seals and
 * SHM_MAP_REQUIRE_NOSHRINK, reads and writes without mapping, wait and wake, and the runtime's mutex and
 * semaphore over them. Hostile input on every new call (bad handles, rights, offsets and lengths that wrap,
 * buffers that straddle an unmapped page), races (sealing against a mapper, copies against resizes, a
 * shrink under a waiter), kills of waiters and wakers, and a server that survives a client trying
 * everything the ABI allows. Ends by checking that no area or page is left behind. */
#include "user/vmk.h"

#define PROG "/t_ipc"
#define PG 4096UL
#define MS 1000000ULL
#define TIMEOUT (20 * 1000000000ULL)
#define RW (PROT_READ | PROT_WRITE)

/* First page of a control object the parent and a child both map. */
struct ctl {
	u64 step;
	u64 stop;
	u64 result;
	u64 bad;
	u64 rounds;
};

static long self;
static u8 buf[2 * PG] __aligned(16), out[2 * PG] __aligned(16);

static u64 info_of(long h, int field)
{
	struct vmk_shm_info i;
	if (vmk_shm_info(h, &i)) return ~0UL;
	return field == 0 ? i.size : field == 1 ? i.seals : i.mappers;
}
#define SIZE(h) info_of(h, 0)
#define SEALS(h) info_of(h, 1)
#define MAPPERS(h) info_of(h, 2)

static long map_new(u64 size, u64 max, long *h)
{
	*h = vmk_shm_create(size, 0);
	return *h > 0 ? vmk_shm_map(*h, 0, max, RW) : -1;
}

static long spawn_mode(const char *mode, const u64 *hs, u64 n)
{
	const char *argv[] = {PROG, mode, NULL};
	return vmk_spawn(PROG, argv, hs, n, 0);
}

/* A child's handles (as many as asked) and the ctl mapping made from the first. */
static struct ctl *child_setup(u64 *hs, u64 n)
{
	if (vmk_handles(hs, n) != (long)n) return NULL;
	long a = vmk_shm_map(hs[0], 0, 0, RW);
	return a > 0 ? (struct ctl *)a : NULL;
}

/* ---- seals ---- */

static void test_seal_rules(void)
{
	long h = vmk_shm_create(2 * PG, 0);
	REQUIRE(h > 0);
	CHECK_EQ(SEALS(h), 0);
	CHECK_EQ(vmk_shm_seal(h, 0), 0); /* reads them */
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_ALL + 1), -EINVAL);
	CHECK_EQ(vmk_shm_seal(h, 1UL << 63), -EINVAL);
	CHECK_EQ(vmk_shm_seal(h + 1, SHM_SEAL_GROW), -EBADF);
	CHECK_EQ(vmk_shm_seal(0, SHM_SEAL_GROW), -EBADF);
	long nos = vmk_shm_share(h, self, SHM_ALL & ~SHM_SEAL);
	REQUIRE(nos > 0);
	CHECK_EQ(vmk_shm_seal(nos, SHM_SEAL_GROW), -EACCES);
	CHECK_EQ(vmk_shm_seal(nos, SHM_SEAL_ALL + 1), -EACCES); /* the right is checked before the bits */
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_GROW), SHM_SEAL_GROW);
	CHECK_EQ(vmk_shm_resize(h, 3 * PG), -EPERM);
	CHECK_EQ(vmk_shm_resize(nos, 3 * PG), -EPERM);
	CHECK_EQ(SIZE(h), 2 * PG);
	CHECK_EQ(vmk_shm_resize(h, PG), 0); /* shrinking is still allowed */
	CHECK_EQ(vmk_shm_resize(h, 2 * PG), -EPERM);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_SHRINK), SHM_SEAL_GROW | SHM_SEAL_SHRINK);
	CHECK_EQ(vmk_shm_resize(h, PG), 0); /* the same size changes nothing */
	CHECK_EQ(vmk_shm_resize(h, 1), 0);  /* rounds up to the same page */
	CHECK_EQ(SIZE(h), PG);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_SEAL), SHM_SEAL_GROW | SHM_SEAL_SHRINK | SHM_SEAL_SEAL);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_WRITE), -EPERM);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_SEAL), -EPERM);
	CHECK_EQ(vmk_shm_seal(h, 0), SHM_SEAL_GROW | SHM_SEAL_SHRINK | SHM_SEAL_SEAL);
	CHECK_EQ(SEALS(nos), SHM_SEAL_GROW | SHM_SEAL_SHRINK | SHM_SEAL_SEAL); /* every handle sees them */
	long sealer = vmk_shm_share(h, self, SHM_SEAL);
	CHECK(sealer > 0);
	CHECK_EQ(vmk_shm_seal(sealer, SHM_SEAL_WRITE), -EPERM);
	CHECK_EQ(vmk_shm_close(sealer), 0);
	CHECK_EQ(vmk_shm_close(nos), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_seal_write(void)
{
	long h, a = map_new(PG, 0, &h);
	REQUIRE(a > 0);
	*(volatile u64 *)a = 0x5ea1;
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_WRITE), -EBUSY); /* a writable mapping exists */
	CHECK_EQ(SEALS(h), 0);
	long ro = vmk_shm_map(h, 0, 0, PROT_READ);
	CHECK(ro > 0);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_WRITE), SHM_SEAL_WRITE);
	CHECK_EQ(vmk_shm_map(h, 0, 0, RW), -EPERM);
	CHECK_EQ(vmk_shm_write(h, 0, buf, 8), -EPERM);
	CHECK_EQ(vmk_shm_write(h, 0, buf, 0), 0);
	CHECK_EQ(vmk_shm_read(h, 0, out, 8), 8);
	CHECK_EQ(*(u64 *)out, 0x5ea1);
	CHECK_EQ(*(volatile u64 *)ro, 0x5ea1);
	CHECK_EQ(vmk_shm_resize(h, 2 * PG), 0); /* as memfd: a write seal does not stop resizes */
	CHECK_EQ(vmk_shm_unmap(ro), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

static void test_require_noshrink(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK), -EPERM);
	CHECK_EQ(vmk_shm_map(h, 0, 0, SHM_MAP_REQUIRE_NOSHRINK), -EINVAL);  /* no PROT_READ */
	CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_READ | 0x200), -EINVAL);         /* unknown bit */
	CHECK_EQ(vmk_shm_map(h + 1, 0, 0, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK), -EBADF);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_GROW), SHM_SEAL_GROW);
	CHECK_EQ(vmk_shm_map(h, 0, 0, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK), -EPERM);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_SHRINK), SHM_SEAL_GROW | SHM_SEAL_SHRINK);
	long a = vmk_shm_map(h, 0, 0, RW | SHM_MAP_REQUIRE_NOSHRINK);
	CHECK(a > 0);
	if (a > 0) *(volatile u64 *)a = 7; /* writable as asked */
	CHECK_EQ(MAPPERS(h), 1);
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* ---- reads and writes without mapping ---- */

static void test_read_write(void)
{
	long h = vmk_shm_create(4 * PG, 0);
	REQUIRE(h > 0);
	for (u32 i = 0; i < sizeof(buf); i++) buf[i] = (u8)(i * 7 + 1);
	CHECK_EQ(vmk_shm_write(h, 100, buf, PG), PG);
	memset(out, 0, sizeof(out));
	CHECK_EQ(vmk_shm_read(h, 100, out, PG), PG);
	CHECK(memcmp(out, buf, PG) == 0);
	CHECK_EQ(vmk_shm_read(h, 0, out, 100), 100);
	CHECK_EQ(out[0] | out[99], 0); /* zero-filled before the write */
	CHECK_EQ(vmk_shm_read(h, 4 * PG - 10, out, 100), 10);  /* short at the end */
	CHECK_EQ(vmk_shm_read(h, 4 * PG, out, 100), 0);       /* at the end */
	CHECK_EQ(vmk_shm_write(h, 4 * PG - 8, buf, 100), 8);   /* never grows it */
	CHECK_EQ(vmk_shm_write(h, 4 * PG, buf, 100), 0);
	CHECK_EQ(SIZE(h), 4 * PG);
	CHECK_EQ(vmk_shm_read(h, ~0UL - 5, out, 100), 0);      /* offsets that wrap */
	CHECK_EQ(vmk_shm_write(h, ~0UL, buf, ~0UL), 0);
	CHECK_EQ(vmk_shm_read(h, 1UL << 63, out, 8), 0);
	CHECK_EQ(vmk_shm_read(h, 0, NULL, 8), -EFAULT);
	CHECK_EQ(vmk_shm_read(h, 0, (void *)0xffffffc000000000UL, 8), -EFAULT); /* kernel address */
	CHECK_EQ(vmk_shm_read(h, 0, (void *)(VMK_USER_TOP - 4), 8), -EFAULT);   /* runs off the user half */
	CHECK_EQ(vmk_shm_read(h, 0, (void *)0x10000, 8), -EFAULT);   /* our text: readable, not writable */
	CHECK_EQ(vmk_shm_write(h, 0, (void *)0x10000, 8), 8);       /* but a fine source */
	CHECK_EQ(vmk_shm_write(h, 0, (void *)0x3000000000UL, 8), -EFAULT);
	CHECK_EQ(vmk_shm_read(h, 8, (void *)0x3000000000UL, ~0UL), -EFAULT);
	CHECK_EQ(vmk_shm_read(h, 0, out, 0), 0);
	CHECK_EQ(vmk_shm_read(h + 1, 0, out, 8), -EBADF);
	CHECK_EQ(vmk_shm_write(0, 0, buf, 8), -EBADF);
	/* Buffers that straddle an unmapped page: exactly the bytes before the hole are copied. */
	long bh, b = map_new(2 * PG, 3 * PG, &bh);
	REQUIRE(b > 0);
	CHECK_EQ(vmk_shm_read(h, 0, (void *)(b + PG + 100), PG), PG - 100);
	CHECK_EQ(vmk_shm_write(h, 0, (void *)(b + PG + 100), PG), PG - 100);
	CHECK_EQ(vmk_shm_read(h, 0, (void *)(b + 2 * PG), 8), -EFAULT); /* all hole */
	/* Rights: reading needs SHM_R, writing SHM_W, and no mapping right. */
	long r = vmk_shm_share(h, self, SHM_R), w = vmk_shm_share(h, self, SHM_W), m = vmk_shm_share(h, self, SHM_MAP);
	REQUIRE(r > 0 && w > 0 && m > 0);
	CHECK_EQ(vmk_shm_read(r, 0, out, 8), 8);
	CHECK_EQ(vmk_shm_write(r, 0, buf, 8), -EACCES);
	CHECK_EQ(vmk_shm_write(w, 0, buf, 8), 8);
	CHECK_EQ(vmk_shm_read(w, 0, out, 8), -EACCES);
	CHECK_EQ(vmk_shm_read(m, 0, out, 8), -EACCES);
	CHECK_EQ(vmk_shm_write(m, 0, buf, 8), -EACCES);
	CHECK_EQ(vmk_shm_read(r, 0, NULL, 8), -EFAULT); /* the right first, then the buffer */
	CHECK_EQ(vmk_shm_close(r) | vmk_shm_close(w) | vmk_shm_close(m), 0);
	CHECK_EQ(vmk_shm_unmap(b), 0);
	CHECK_EQ(vmk_shm_close(bh), 0);
	CHECK_EQ(vmk_shm_close(h), 0);
}

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

/* Most cases: a control object both sides map (c, handle ch) and the object under test (h), and a child
 * spawned with handles {ch, h} in that order. */
struct scene {
	long ch, ca, h;
	struct ctl *c;
};

static bool scene_open(struct scene *s, u64 size)
{
	s->ca = map_new(PG, 0, &s->ch);
	s->h = vmk_shm_create(size, 0);
	s->c = (struct ctl *)s->ca;
	return s->ca > 0 && s->h > 0;
}

/* Spawns the child in `mode` and waits until it reports step 1: its tid, or <= 0 (the caller REQUIREs). */
static long scene_start(struct scene *s, const char *mode)
{
	u64 hs[2] = {(u64)s->ch, (u64)s->h};
	long tid = spawn_mode(mode, hs, 2);
	if (tid > 0 && !wait_for_u64(&s->c->step, 1, TIMEOUT)) return -1;
	return tid;
}

/* Unmaps and closes what scene_open made (h only if the case has not closed it: it sets h = 0). */
static long scene_close(struct scene *s)
{
	return vmk_shm_unmap(s->ca) | vmk_shm_close(s->ch) | (s->h > 0 ? vmk_shm_close(s->h) : 0);
}

static void test_wake_reaches_waiter(void)
{
	for (int by_address = 0; by_address < 2; by_address++) {
		struct scene s;
		REQUIRE(scene_open(&s, PG));
		long tid = scene_start(&s, by_address ? "wait-addr" : "wait-handle");
		REQUIRE(tid > 0);
		/* Nothing changes the word: only a wake can end that wait, and it must reach it. */
		long woke = 0;
		for (u64 t0 = now_ns(); !woke && now_ns() - t0 < TIMEOUT;) {
			woke = vmk_shm_wake(s.h, 64, 1);
			if (!woke) vmk_sleep(MS);
		}
		CHECK_EQ(woke, 1);
		CHECK(wait_for_u64(&s.c->step, 2, TIMEOUT));
		CHECK_EQ((long)load_u64(&s.c->result), 0);
		CHECK_EQ(wait_status(tid), 0);
		CHECK_EQ(vmk_shm_wake(s.h, 64, 1), 0); /* nobody left */
		CHECK_EQ(scene_close(&s), 0);
	}
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

/* ---- races ---- */

/* Maps writable and unmaps in a loop; every time it holds a writable mapping the object must not be
 * write-sealed (a seal is refused while such a mapping exists), and after the seal no writable map works. */
static int mapper_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	store_u64(&c->step, 1);
	u64 bad = 0, refused = 0;
	while (!load_u64(&c->stop)) {
		long a = vmk_shm_map(hs[1], 0, 0, RW);
		if (a > 0) {
			if (SEALS((long)hs[1]) & SHM_SEAL_WRITE) bad++;
			*(volatile u64 *)a += 1;
			if (vmk_shm_unmap(a)) bad++;
			if (refused) bad++; /* a writable map after a refusal: the seal went away */
		} else if (a == -EPERM) {
			refused++;
		} else {
			bad++;
		}
	}
	store_u64(&c->bad, bad);
	store_u64(&c->result, refused);
	return 0;
}

static void test_seal_races_mapper(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	long h = s.h, tid = scene_start(&s, "mapper");
	struct ctl *c = s.c;
	REQUIRE(tid > 0);
	long r = -EBUSY;
	u64 busy = 0;
	for (u64 t0 = now_ns(); r == -EBUSY && now_ns() - t0 < TIMEOUT; busy++) r = vmk_shm_seal(h, SHM_SEAL_WRITE);
	CHECK_EQ(r, SHM_SEAL_WRITE);
	vmk_sleep(5 * MS); /* the mapper goes on trying */
	CHECK_EQ(vmk_shm_map(h, 0, 0, RW), -EPERM);
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->bad), 0);
	printf("# seal_races_mapper: %llu busy tries, then %llu refused maps\n", (unsigned long long)busy,
	       (unsigned long long)load_u64(&c->result));
	CHECK_EQ(scene_close(&s), 0);
}

/* Reads and writes the whole object without mapping it while the parent shrinks and grows it: every
 * count is between 0 and the length asked, a bad result is counted, and nothing kills it. */
static int copier_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long bh, b = map_new(16 * PG, 0, &bh);
	if (b <= 0) return 2;
	store_u64(&c->step, 1);
	u64 bad = 0, rounds = 0;
	while (!load_u64(&c->stop)) {
		long r = vmk_shm_read(hs[1], 0, (void *)b, 16 * PG);
		if (r < 0 || r > (long)(16 * PG) || (r % PG)) bad++;
		/* Page 0 is never cut: its first word is the parent's marker. */
		if (r > 0 && *(volatile u64 *)b != 0xfeed) bad++;
		long w = vmk_shm_write(hs[1], PG + 8 * (rounds % 512), (void *)(b + PG), 15 * PG);
		if (w < 0 || w > (long)(15 * PG)) bad++;
		rounds++;
	}
	store_u64(&c->bad, bad);
	store_u64(&c->rounds, rounds);
	return 0;
}

static void test_copies_race_resizes(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, 16 * PG));
	long h = s.h;
	struct ctl *c = s.c;
	u64 marker = 0xfeed;
	CHECK_EQ(vmk_shm_write(h, 0, &marker, 8), 8);
	long tid = scene_start(&s, "copier");
	REQUIRE(tid > 0);
	u64 failed = 0;
	for (int i = 0; i < 400; i++) failed += vmk_shm_resize(h, (u64)(1 + (i * 7) % 16) * PG) != 0;
	CHECK_EQ(failed, 0);
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0); /* never killed */
	CHECK_EQ(load_u64(&c->bad), 0);
	CHECK(load_u64(&c->rounds) > 0);
	CHECK_EQ(scene_close(&s), 0);
}

/* ---- a server that maps its client's object and cannot be killed by it ---- */

static int server_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long a = vmk_shm_map(hs[1], 0, 64 * PG, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK);
	if (a <= 0) return 2;
	store_u64(&c->step, 1);
	u64 bad = 0, sum = 0;
	volatile const u64 *p = (volatile const u64 *)a;
	while (!load_u64(&c->stop)) {
		/* The whole sealed size, every page, every round: a cut would kill us here. */
		for (u64 i = 0; i < 8 * PG / 8; i += 64) sum += p[i];
		if (p[0] != 0xc0ffee) bad++;
		u64 v = 0;
		if (vmk_shm_read(hs[1], 8 * PG - 8, &v, 8) != 8) bad++;
		vmk_yield();
	}
	store_u64(&c->bad, bad);
	store_u64(&c->result, sum);
	return 0;
}

static void test_server_survives_client(void)
{
	long ch, ca = map_new(PG, 0, &ch), h, a = map_new(8 * PG, 0, &h);
	REQUIRE(ca > 0 && a > 0);
	struct ctl *c = (struct ctl *)ca;
	*(volatile u64 *)a = 0xc0ffee;
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_SHRINK), SHM_SEAL_SHRINK);
	u64 hs[2] = {(u64)ch, (u64)h};
	long tid = spawn_mode("server", hs, 2);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	/* Everything the ABI lets the client do to its own object. */
	for (u64 s = 1; s < 8; s++) CHECK_EQ(vmk_shm_resize(h, s * PG), -EPERM);
	CHECK_EQ(vmk_shm_resize(h, 16 * PG), 0); /* growing is harmless */
	CHECK_EQ(vmk_shm_resize(h, 8 * PG), -EPERM);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_WRITE), -EBUSY); /* its own writable mapping */
	CHECK_EQ(vmk_shm_unmap(a), 0);
	CHECK_EQ(vmk_shm_seal(h, SHM_SEAL_WRITE | SHM_SEAL_GROW | SHM_SEAL_SEAL), SHM_SEAL_ALL);
	CHECK_EQ(vmk_shm_resize(h, PG), -EPERM);
	long dup = vmk_shm_share(h, self, SHM_ALL);
	CHECK(dup > 0);
	CHECK_EQ(vmk_shm_resize(dup, PG), -EPERM);
	CHECK_EQ(vmk_shm_write(dup, 0, buf, 8), -EPERM);
	CHECK_EQ(vmk_shm_wake(dup, 0, ~0UL), 0);
	for (int i = 0; i < 50; i++) vmk_shm_wake(dup, 4 * (u64)i, ~0UL);
	CHECK_EQ(vmk_shm_close(dup), 0);
	CHECK_EQ(vmk_shm_close(h), 0); /* the server's mapping and handle keep it */
	vmk_sleep(20 * MS);
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->bad), 0);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch), 0);
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
	 * were told their partner was gone. */
	CHECK(killed <= 2);
	u64 full = load_u64(&c->rounds) / stress_rounds, gone = load_u64(&c->result);
	CHECK_EQ(full + gone + (u64)killed, 2 * PAIRS);
	CHECK(full >= 2 * (PAIRS - 2)); /* only pairs 1 and 3 lose a side */
	/* Each side counts its own exchanges: two per round trip. A killed side's are lost with it, so the
	 * figure is a lower bound when a kill landed. */
	printf("# pingpong_stress: %llu round trips in %llu ms, %d killed, %llu told their partner was gone\n",
	       (unsigned long long)((load_u64(&c->rounds) + load_u64(&c->bad)) / 2), (unsigned long long)(ns / MS),
	       killed, (unsigned long long)gone);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch), 0);
}

/* ---- accounting regressions (issue 17, item 7) ---- */

/* Quota 16: maps the parent's 8 MiB object 1 GiB-aligned (4 level-0 tables and a level-1 one charged),
 * fills the rest with 1-page objects, lets the parent shrink the object to one page, and counts how
 * many more pages fit: the 3 level-0 tables the shrink freed. */
static int tables_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	if (vmk_shm_map(hs[1], VMK_SHM_BASE + (1UL << 30), 0, PROT_READ) != (long)(VMK_SHM_BASE + (1UL << 30))) return 2;
	u64 before = 0, after = 0;
	while (vmk_shm_create(PG, 0) > 0) before++;
	store_u64(&c->rounds, before);
	store_u64(&c->step, 1);
	if (!wait_for_u64(&c->step, 2, TIMEOUT)) return 3;
	while (vmk_shm_create(PG, 0) > 0) after++;
	store_u64(&c->result, after);
	return 0;
}

static void test_shrink_credits_tables(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, 8UL << 20));
	long h = s.h;
	struct ctl *c = s.c;
	u64 hs[2] = {(u64)s.ch, (u64)h};
	const char *argv[] = {PROG, "tables", NULL};
	long tid = vmk_spawn(PROG, argv, hs, 2, 16);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	CHECK_EQ(load_u64(&c->rounds), 16 - 2 - 5); /* the ctl mapping's 2 tables, the big one's 5 */
	CHECK_EQ(vmk_shm_resize(h, PG), 0);
	store_u64(&c->step, 2);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->result), 3);
	CHECK_EQ(scene_close(&s), 0);
}

/* The middle task (quota 64) of three: its child makes a 20-page object, shares it back and exits once
 * the middle task has left itself no room for it. The object must go to the orphan pool, within the
 * pool's limit, and so still grow; before, the pool's limit was 0 and it landed on the middle task over
 * its own limit, where growing it by one page failed. */
static int orphan_mid_child(void)
{
	u64 hs[1];
	struct ctl *c = child_setup(hs, 1);
	if (!c) return 1;
	if (vmk_shm_create(40 * PG, 0) <= 0) return 2;
	char me[24];
	snprintf(me, sizeof(me), "%ld", vmk_getpid());
	const char *argv[] = {PROG, "orphan-leaf", me, NULL};
	long leaf = vmk_spawn(PROG, argv, hs, 1, 0);
	if (leaf <= 0) return 3;
	if (!wait_for_u64(&c->step, 1, TIMEOUT)) return 4;
	long x = (long)load_u64(&c->result);
	/* 40 + 20 pages and the ctl mapping's 2 table pages: 62 of 64 used, no room for the leaf's 20. */
	if (vmk_shm_create(20 * PG, 0) <= 0) return 5;
	store_u64(&c->stop, 1);
	if (wait_status(leaf) != 0) return 6;
	if (vmk_shm_resize(x, 21 * PG) != 0) return 7; /* charged to the pool, which has room */
	if (vmk_shm_create(2 * PG, 0) <= 0) return 8;  /* and none of it to us: our last 2 pages are free */
	return 0;
}

static int orphan_leaf_child(long mid)
{
	u64 hs[1];
	struct ctl *c = child_setup(hs, 1);
	if (!c) return 1;
	long x = vmk_shm_create(20 * PG, 0);
	if (x <= 0) return 2;
	long shared = vmk_shm_share(x, mid, SHM_ALL);
	if (shared <= 0) return 3;
	store_u64(&c->result, (u64)shared);
	store_u64(&c->step, 1);
	return wait_for_u64(&c->stop, 1, TIMEOUT) ? 0 : 4;
}

static void test_orphan_pool_takes_objects(void)
{
	long ch, ca = map_new(PG, 0, &ch);
	REQUIRE(ca > 0);
	u64 hs[1] = {(u64)ch};
	const char *argv[] = {PROG, "orphan-mid", NULL};
	long tid = vmk_spawn(PROG, argv, hs, 1, 64);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch), 0);
}

static struct vmk_vm_stats start;

static void test_nothing_left_behind(void)
{
	struct vmk_vm_stats now;
	CHECK_EQ(vmk_vm_stats(&now), 0);
	CHECK_EQ(now.live_areas, start.live_areas);
	CHECK_EQ(now.live_pages, start.live_pages);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		if (!strcmp(argv[1], "wait-handle")) return waiter_child(64, false);
		if (!strcmp(argv[1], "wait-addr")) return waiter_child(64, true);
		if (!strcmp(argv[1], "wait-far")) return waiter_child(3 * PG + 64, false);
		if (!strcmp(argv[1], "holder")) return holder_child();
		if (!strcmp(argv[1], "mapper")) return mapper_child();
		if (!strcmp(argv[1], "copier")) return copier_child();
		if (!strcmp(argv[1], "server")) return server_child();
		if (!strcmp(argv[1], "locker")) return locker_child();
		if (!strcmp(argv[1], "tables")) return tables_child();
		if (!strcmp(argv[1], "orphan-mid")) return orphan_mid_child();
		if (argc > 2 && !strcmp(argv[1], "orphan-leaf")) return orphan_leaf_child(strtol(argv[2], NULL, 10));
		if (argc > 2 && !strcmp(argv[1], "pong0")) return pong_child(0, strtoull(argv[2], NULL, 10));
		if (argc > 2 && !strcmp(argv[1], "pong1")) return pong_child(1, strtoull(argv[2], NULL, 10));
		if (!strcmp(argv[1], "stress") && argc > 2) stress_rounds = strtoull(argv[2], NULL, 10);
		else return 99;
	}
	self = vmk_getpid();
	vmk_vm_stats(&start);
	ktap_begin("t_ipc");
	if (argc > 1) { /* `t_ipc stress N`: the ping-pong stress alone, N round trips per pair */
		ktap_run("pingpong_stress", test_pingpong_stress);
		ktap_run("nothing_left_behind", test_nothing_left_behind);
		return ktap_end();
	}
	ktap_run("seal_rules", test_seal_rules);
	ktap_run("seal_write", test_seal_write);
	ktap_run("require_noshrink", test_require_noshrink);
	ktap_run("read_write", test_read_write);
	ktap_run("wait_wake_errors", test_wait_wake_errors);
	ktap_run("wake_reaches_waiter", test_wake_reaches_waiter);
	ktap_run("shrink_ends_wait", test_shrink_ends_wait);
	ktap_run("last_other_holder_gone", test_last_other_holder_gone);
	ktap_run("waiter_killed", test_waiter_killed);
	ktap_run("waker_killed", test_waker_killed);
	ktap_run("seal_races_mapper", test_seal_races_mapper);
	ktap_run("copies_race_resizes", test_copies_race_resizes);
	ktap_run("server_survives_client", test_server_survives_client);
	ktap_run("mutex_and_semaphore", test_mutex_and_semaphore);
	ktap_run("shrink_credits_tables", test_shrink_credits_tables);
	ktap_run("orphan_pool_takes_objects", test_orphan_pool_takes_objects);
	ktap_run("pingpong_stress", test_pingpong_stress);
	ktap_run("nothing_left_behind", test_nothing_left_behind);
	return ktap_end();
}
