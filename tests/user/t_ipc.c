/* t_ipc: the shared-memory service between tasks that do not trust each other, everything but waiting
 * (t_futex): seals and SHM_MAP_REQUIRE_NOSHRINK, reads and writes without mapping, races (sealing against
 * a mapper, copies against resizes), a server that survives a client trying everything the ABI allows,
 * and the accounting regressions of issue 17 (orphan pool, page tables credited at shrink). Hostile input
 * on every call: bad handles and rights, offsets and lengths that wrap, buffers that straddle an unmapped
 * page. Ends by checking that no area or page is left behind. */
#define PROG "/t_ipc"
#include "tests/user/ipc_common.h"

static long self;
static u8 buf[2 * PG] __aligned(16), out[2 * PG] __aligned(16);

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
	CHECK_EQ(vmk_shm_seal(nos, 0), SHM_SEAL_GROW | SHM_SEAL_SHRINK | SHM_SEAL_SEAL); /* reading needs no right */
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

/* A mapper pays for its mappings' part of a growth, within its limits, or those mappings do not follow:
 * ten 8 MiB-reserve mappings of a 1-page object by a child with room for only a few more tables, and the
 * object grows to 4 MiB. The grow succeeds (a mapper's quota never refuses the grower), and the child's
 * account stays within its limit. Before, each mapping's tables were charged past the quota, so N
 * mappings made the growth cost N times its tables: a reviewer's 12 children held 2,075 pages each
 * against limits of 330, 43,041 in all against their parent's 20,030. */
static int follower_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	for (int i = 0; i < 10; i++)
		if (vmk_shm_map(hs[1], 0, 8UL << 20, PROT_READ) <= 0) return 2;
	store_u64(&c->step, 1);
	if (!wait_for_u64(&c->step, 2, TIMEOUT)) return 3;
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 4;
	/* Not all ten followed: shm_info says how far all of them reach, the least, one page. */
	struct vmk_shm_info in;
	if (vmk_shm_info(hs[1], &in) != 0 || in.size != (4UL << 20) || in.mapped != PG) return 6;
	store_u64(&c->result, st.held_pages - st.image_pages);
	store_u64(&c->rounds, st.quota_pages);
	store_u64(&c->step, 3);
	return wait_for_u64(&c->stop, 1, TIMEOUT) ? 0 : 5;
}

/* The grower's own mapping always follows, or the grow fails: a 2 MiB object mapped just below a 1 GiB
 * boundary grows by one page, which its pages' quota has room for but its two new tables do not. A
 * mapping left behind there would have the grower (a malloc heap) killed at its next store. */
static int own_grow_child(void)
{
	const u64 at = VMK_SHM_BASE + (1UL << 30) - (2UL << 20);
	long h = vmk_shm_create(2UL << 20, 0);
	if (h <= 0 || vmk_shm_map(h, at, 8UL << 20, PROT_READ | PROT_WRITE) != (long)at) return 2;
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 3;
	u64 left = st.quota_pages + st.image_pages - st.held_pages;
	if (left < 2 || vmk_shm_create((left - 1) * PG, 0) <= 0) return 4; /* one page left */
	if (vmk_shm_resize(h, (2UL << 20) + PG) != -ENOMEM) return 5;
	if (SIZE(h) != (2UL << 20)) return 6;
	((volatile u8 *)at)[(2UL << 20) - 1] = 1; /* the mapping is as it was */
	return 0;
}

/* A grower with room for exactly its growth's pages and its own mapping's new table (one page to spare),
 * and a child mapping its object ten times: the child's tables count in the grower's account too, but
 * the grower's pages and its own mapping's tables come first, so the grow succeeds and the child's
 * mappings do not follow. Before, the child's tables were charged first, took the room, and the grow
 * failed for a mapper's quota (found by two reviews of the change). */
static int tight_grower_child(void)
{
	long ch, ca = map_new(PG, 0, &ch);
	long h = vmk_shm_create(PG, 0);
	if (ca <= 0 || h <= 0) return 1;
	/* Its own mapping too, 1 GiB aligned: following the growth costs it one more table. Made before the
	 * child's, so the child's come first in the object's list of mappings. */
	const u64 own = VMK_SHM_BASE + (1UL << 30);
	if (vmk_shm_map(h, own, 8UL << 20, PROT_READ | PROT_WRITE) != (long)own) return 8;
	struct ctl *c = (struct ctl *)ca;
	u64 hs[2] = {(u64)ch, (u64)h};
	const char *argv[] = {PROG, "follower", NULL};
	long tid = vmk_spawn(PROG, argv, hs, 2, 2 + 10 * 2 + 6);
	if (tid <= 0 || !wait_for_u64(&c->step, 1, TIMEOUT)) return 2;
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 3;
	/* Room for the growth's pages, its own mapping's one more table, and one page to spare. */
	u64 left = st.quota_pages + st.image_pages - st.held_pages, need = (4UL << 20) / PG - 1 + 1 + 1;
	if (left < need || (left > need && vmk_shm_create((left - need) * PG, 0) <= 0)) return 4;
	long r = vmk_shm_resize(h, 4UL << 20);
	if (r == 0) ((volatile u8 *)own)[(4UL << 20) - 1] = 1; /* its own mapping followed */
	struct vmk_shm_info in;
	if (r == 0 && (vmk_shm_info(h, &in) != 0 || in.mapped != (4UL << 20))) return 9;
	store_u64(&c->step, 2); /* the child reports, then waits for stop */
	if (!wait_for_u64(&c->step, 3, TIMEOUT)) return 5;
	store_u64(&c->stop, 1);
	if (wait_status(tid) != 0) return 6;
	return r == 0 ? 0 : 7;
}

/* A receiver that maps with SHM_MAP_REQUIRE_NOSHRINK pays for its whole reserve's tables at map time,
 * so it follows any growth and may touch all of what shm_info reports, however little quota it has left.
 * Before, with no room for the growth's tables, it was left behind and killed by that touch (found by a
 * reviewer: the seal's promise that nothing the sharer does kills it through the mapping). */
static int noshrink_victim_child(void)
{
	u64 hs[2];
	struct ctl *c = child_setup(hs, 2);
	if (!c) return 1;
	long a = vmk_shm_map(hs[1], 0, 64UL << 20, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK);
	if (a <= 0) return 2;
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 3;
	u64 left = st.quota_pages + st.image_pages - st.held_pages;
	if (left && vmk_shm_create(left * PG, 0) <= 0) return 4; /* not a page to spare */
	store_u64(&c->step, 1);
	if (!wait_for_u64(&c->step, 2, TIMEOUT)) return 5;
	struct vmk_shm_info in;
	if (vmk_shm_info(hs[1], &in) != 0 || in.size != (8UL << 20) || in.mapped != in.size) return 6;
	u64 size = in.size;
	return ((volatile u8 *)a)[size - 1] == 0 ? 0 : 7;
}

static void test_growth_tables_paid_by_mapper(void)
{
	struct scene s;
	REQUIRE(scene_open(&s, PG));
	struct ctl *c = s.c;
	u64 hs[2] = {(u64)s.ch, (u64)s.h};
	const char *argv[] = {PROG, "follower", NULL};
	long tid = vmk_spawn(PROG, argv, hs, 2, 2 + 10 * 2 + 6); /* ctl's tables, ten mappings', 6 to spare */
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	CHECK_EQ(vmk_shm_resize(s.h, 4UL << 20), 0);
	store_u64(&c->step, 2);
	CHECK(wait_for_u64(&c->step, 3, TIMEOUT));
	CHECK(load_u64(&c->result) <= load_u64(&c->rounds));
	CHECK(load_u64(&c->result) > 2 + 10 * 2); /* some mappings did follow */
	CHECK_EQ(vmk_shm_resize(s.h, PG), 0);
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(scene_close(&s), 0);
	tid = spawn_mode("own_grow", NULL, 0);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	struct scene s2;
	REQUIRE(scene_open(&s2, PG));
	CHECK_EQ(vmk_shm_seal(s2.h, SHM_SEAL_SHRINK), SHM_SEAL_SHRINK);
	u64 hs2[2] = {(u64)s2.ch, (u64)s2.h};
	const char *vargv[] = {PROG, "noshrink_victim", NULL};
	tid = vmk_spawn(PROG, vargv, hs2, 2, 100);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&s2.c->step, 1, TIMEOUT));
	CHECK_EQ(vmk_shm_resize(s2.h, 8UL << 20), 0);
	store_u64(&s2.c->step, 2);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(scene_close(&s2), 0);
	const char *gargv[] = {PROG, "tight_grower", NULL};
	tid = vmk_spawn(PROG, gargv, NULL, 0, 3000);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
}

/* A grow that fails (here over the quota) leaves every mapping as it was, tables included: the tables
 * a mapping of up to 1 GiB needs were built before the quota said no and stayed, uncharged, until the
 * task exited (about 513 pages a round, so 20 rounds held 10,000 pages beyond a 16 MiB quota). */
static void test_failed_grow_leaves_no_tables(void)
{
	const u64 reserve = (1UL << 30) - PG;
	struct vmk_vm_stats s0, s1;
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	REQUIRE(vmk_vm_stats(&s0) == 0);
	for (int i = 0; i < 20; i++) {
		long a = vmk_shm_map(h, 0, reserve, RW);
		REQUIRE(a > 0);
		*(volatile u64 *)a = (u64)i;
		CHECK_EQ(vmk_shm_resize(h, reserve), -ENOMEM);
		CHECK_EQ(SIZE(h), PG);
		CHECK_EQ(*(volatile u64 *)a, (u64)i); /* the mapping still works */
		CHECK_EQ(vmk_shm_unmap(a), 0);
	}
	REQUIRE(vmk_vm_stats(&s1) == 0);
	/* Other harts' page caches move the count by a few dozen pages; the leak was 10,000. */
	CHECK(s1.free_phys_pages + 200 >= s0.free_phys_pages);
	CHECK_EQ(vmk_shm_close(h), 0);
}

/* The middle task of three: its child makes a 20-page object, shares it back and exits once the middle
 * task owns as many objects as a task may. The object must go to the orphan pool, within the pool's
 * limit, and so still grow. (Pages alone never send a child's object to the pool while its parent lives:
 * the parent's account held them all along, as it holds everything its subtree does.) */
static int orphan_mid_child(void)
{
	u64 hs[1];
	struct ctl *c = child_setup(hs, 1);
	if (!c) return 1;
	char me[24];
	snprintf(me, sizeof(me), "%ld", vmk_getpid());
	const char *argv[] = {PROG, "orphan-leaf", me, NULL};
	long leaf = vmk_spawn(PROG, argv, hs, 1, 0);
	const char *kargv[] = {PROG, "orphan-keeper", NULL};
	long keeper = vmk_spawn(PROG, kargv, NULL, 0, 0);
	if (leaf <= 0 || keeper <= 0) return 3;
	if (!wait_for_u64(&c->step, 1, TIMEOUT)) return 4;
	long x = (long)load_u64(&c->result);
	/* Own as many objects as a task may. Our handle table fills first (it also holds the ctl object's
	 * and x's): a full one makes room by giving a handle to the keeper, and the object stays ours. */
	long made = 0, r, last = 0;
	for (;;) {
		while ((r = vmk_shm_create(PG, 0)) > 0) {
			made++;
			last = r;
		}
		if (r != -EMFILE) return 5;
		if (made == VMK_MAX_OBJECTS) break; /* no room for one more: the leaf's cannot come here */
		if (vmk_shm_share(last, keeper, SHM_R) <= 0 || vmk_shm_close(last) != 0) return 13;
	}
	struct vmk_vm_stats s0, s1;
	if (vmk_vm_stats(&s0) != 0) return 8;
	store_u64(&c->stop, 1);
	if (wait_status(leaf) != 0) return 6;
	if (vmk_shm_resize(x, 21 * PG) != 0) return 7; /* charged to the pool, which has room */
	if (vmk_vm_stats(&s1) != 0) return 8;
	/* None of it is ours: all the leaf held (image, tables, x) left our account, and nothing came back. */
	if (s1.held_pages != s0.held_pages - load_u64(&c->rounds)) return 9;
	/* The pool is every orphan's: one holder of SHM_RESIZE grows an object in it only to its share
	 * (before, to all 64 MiB of it, charged to nobody who granted the right). */
	if (vmk_shm_resize(x, VMK_ORPHAN_GROW_PAGES * PG) != 0) return 10;
	if (vmk_shm_resize(x, (VMK_ORPHAN_GROW_PAGES + 1) * PG) != -ENOMEM) return 11;
	if (vmk_shm_resize(x, 32 * PG) != 0) return 12; /* shrinking is still allowed */
	return vmk_kill(keeper) == 0 && wait_status(keeper) == VMK_STATUS_KILLED ? 0 : 14;
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
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) != 0) return 5;
	store_u64(&c->rounds, st.held_pages); /* all of it leaves the middle task's account when we exit */
	store_u64(&c->result, (u64)shared);
	store_u64(&c->step, 1);
	return wait_for_u64(&c->stop, 1, TIMEOUT) ? 0 : 4;
}

/* Holds the handles the middle task gives away until it is killed; it maps nothing, so that its account
 * does not move while the middle task measures its own. */
static int orphan_keeper_child(void) { return (int)vmk_sleep(TIMEOUT); }

static void test_orphan_pool_takes_objects(void)
{
	long ch, ca = map_new(PG, 0, &ch);
	REQUIRE(ca > 0);
	u64 hs[1] = {(u64)ch};
	const char *argv[] = {PROG, "orphan-mid", NULL};
	long tid = vmk_spawn(PROG, argv, hs, 1, 200);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_shm_unmap(ca) | vmk_shm_close(ch), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		if (!strcmp(argv[1], "mapper")) return mapper_child();
		if (!strcmp(argv[1], "copier")) return copier_child();
		if (!strcmp(argv[1], "server")) return server_child();
		if (!strcmp(argv[1], "tables")) return tables_child();
		if (!strcmp(argv[1], "follower")) return follower_child();
		if (!strcmp(argv[1], "own_grow")) return own_grow_child();
		if (!strcmp(argv[1], "tight_grower")) return tight_grower_child();
		if (!strcmp(argv[1], "noshrink_victim")) return noshrink_victim_child();
		if (!strcmp(argv[1], "orphan-mid")) return orphan_mid_child();
		if (!strcmp(argv[1], "orphan-keeper")) return orphan_keeper_child();
		if (argc > 2 && !strcmp(argv[1], "orphan-leaf")) return orphan_leaf_child(strtol(argv[2], NULL, 10));
		return 99;
	}
	self = vmk_getpid();
	ipc_note_start();
	ktap_begin("t_ipc");
	ktap_run("seal_rules", test_seal_rules);
	ktap_run("seal_write", test_seal_write);
	ktap_run("require_noshrink", test_require_noshrink);
	ktap_run("read_write", test_read_write);
	ktap_run("seal_races_mapper", test_seal_races_mapper);
	ktap_run("copies_race_resizes", test_copies_race_resizes);
	ktap_run("server_survives_client", test_server_survives_client);
	ktap_run("shrink_credits_tables", test_shrink_credits_tables);
	ktap_run("failed_grow_leaves_no_tables", test_failed_grow_leaves_no_tables);
	ktap_run("growth_tables_paid_by_mapper", test_growth_tables_paid_by_mapper);
	ktap_run("orphan_pool_takes_objects", test_orphan_pool_takes_objects);
	ktap_run("nothing_left_behind", test_nothing_left_behind);
	return ktap_end();
}
