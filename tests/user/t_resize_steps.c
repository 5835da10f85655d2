/* t_resize_steps: attacks on the stepwise shm resize (kernel/shm_resize.c): whatever happens in the
 * windows where a grow or shrink lets the object's lock go, the object, its mappings and every charge
 * end exactly as the ABI says. (That the peers are served meanwhile is t_peer_served's.) */
#define PROG "/t_resize_steps"
#include "tests/user/steps_common.h"
/* Waits until the machine's live pages are past base by `pages`, or the helper is done (step >= 3).
 * Returns true when the grow was seen under way. */
static bool wait_mid(struct ctl *c, u64 base, u64 pages)
{
	for (;;) {
		if (load_u64(&c->step) >= 3) return false;
		if (live() > base + pages) return true;
	}
}

static void fill(u64 h, u64 off, u64 len, u8 seed)
{
	static u8 buf[PG];
	for (u64 i = 0; i < len; i += PG) {
		for (u64 j = 0; j < PG; j++) buf[j] = (u8)(seed + ((off + i + j) >> 12) + j * 7);
		vmk_shm_write(h, off + i, buf, PG);
	}
}

static u64 count_bad(u64 h, u64 off, u64 len, u8 seed, bool zero)
{
	static u8 buf[PG];
	u64 bad = 0;
	for (u64 i = 0; i < len; i += PG) {
		if (vmk_shm_read(h, off + i, buf, PG) != (long)PG) return ~0UL;
		for (u64 j = 0; j < PG; j++) bad += buf[j] != (zero ? 0 : (u8)(seed + ((off + i + j) >> 12) + j * 7));
	}
	return bad;
}

/* Helper: resizes its second handle to ctl->size when told (step 2), result in ctl->result. */
static int grower_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	store_u64(&c->step, 1);
	while (load_u64(&c->step) < 2)
		;
	long r = vmk_shm_resize(hs[1], load_u64(&c->size));
	store_u64(&c->result, (u64)(r + 1000));
	store_u64(&c->step, 3);
	return 0;
}

/* Kill the grower mid-grow: size, contents, the parent's mapping and every charge as before. */
/* Whether `size` bytes of 2 MiB blocks can be had now. A huge grow without them fails -ENOMEM, rightly
 * (an area is made of blocks or of pages), and a 256 MiB machine late in init's list often has not that
 * many: the huge cases then skip there and run on the 512 MiB boots. */
static bool blocks_free(u64 size)
{
	struct vmk_shm_info info;
	long h = vmk_shm_create(size, SHM_F_HUGE);
	bool ok = h > 0 && vmk_shm_info((u64)h, &info) == 0 && info.huge == size / (2 * MIB);
	if (h > 0) vmk_shm_close((u64)h);
	return ok;
}

/* Skips the case (and says why) when a huge grow to `size` would find too few free 2 MiB blocks now. */
static bool no_room_for_huge(u64 flags, u64 size)
{
	if (!(flags & SHM_F_HUGE) || blocks_free(ALIGN_UP(size, 2 * MIB) + 2 * MIB)) return false;
	ktap_skip("not enough free 2 MiB blocks for the huge grow on this machine now");
	return true;
}

static void kill_mid_grow(u64 flags, u64 from, u64 to)
{
	if (no_room_for_huge(flags, to)) return;
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	u64 held0 = held(), live0 = live();
	int hit = 0, done = 0;
	for (int round = 0; round < 6; round++) {
		long h = vmk_shm_create(from, flags);
		REQUIRE(h > 0);
		fill((u64)h, 0, from, (u8)round);
		long a = vmk_shm_map((u64)h, 0, to, PROT_READ | PROT_WRITE);
		REQUIRE(a > 0);
		u64 held1 = held();
		store_u64(&c->step, 0);
		store_u64(&c->size, to);
		store_u64(&c->result, 0);
		long tid = spawn2("grower", hc, h, 0);
		REQUIRE(tid > 0);
		CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
		u64 base = live();
		store_u64(&c->step, 2);
		/* vary how far in: 1/8 .. 6/8 of the growth */
		bool mid = wait_mid(c, base, (to - from) / PG * (u64)(1 + round % 6) / 8);
		long k = vmk_kill(tid); /* -ESRCH: the grow ended and the helper with it first (one hart) */
		CHECK(k == 0 || k == -ESRCH);
		int st = wait_status(tid);
		hit += mid && st == VMK_STATUS_KILLED && load_u64(&c->result) == 0;
		done += load_u64(&c->result) == 1000;
		struct vmk_shm_info info;
		CHECK_EQ(vmk_shm_info((u64)h, &info), 0);
		if (load_u64(&c->result) == 1000) {
			CHECK_EQ(info.size, to);
		} else {
			CHECK_EQ(info.size, from);
			CHECK_EQ(info.mapped, from);
			CHECK_EQ(held(), held1);
			CHECK_EQ(count_bad((u64)h, 0, from, (u8)round, false), 0);
			volatile u8 *p = (volatile u8 *)a;
			u64 bad = 0;
			for (u64 i = 0; i < from; i += PG) bad += p[i] != (u8)((u8)round + (i >> 12));
			CHECK_EQ(bad, 0);
			/* it grows fine afterwards, zero-filled */
			CHECK_EQ(vmk_shm_resize((u64)h, from + 3 * MIB), 0);
			CHECK_EQ(count_bad((u64)h, from, 3 * MIB, 0, true), 0);
			CHECK_EQ(count_bad((u64)h, 0, from, (u8)round, false), 0);
		}
		CHECK_EQ(vmk_shm_unmap((u64)a), 0);
		CHECK_EQ(vmk_shm_close((u64)h), 0);
	}
	printf("# t_resize_steps: killed mid-grow %d of 6 (%d finished first)\n", hit, done);
	CHECK(hit > 0); /* else the case never tested a kill in the middle (6 of 6 in every run so far) */
	CHECK_EQ(held(), held0);
	CHECK_EQ(live(), live0);
	drop_ctl(hc, c);
}

static void test_kill_mid_grow(void) { kill_mid_grow(0, 2 * MIB + 3 * PG, 96 * MIB); }
static void test_kill_mid_grow_huge(void) { kill_mid_grow(SHM_F_HUGE, 4 * MIB, 96 * MIB); }
static void test_kill_mid_grow_huge_odd(void) { kill_mid_grow(SHM_F_HUGE, 3 * MIB, 95 * MIB); }

/* Helper: creates the object, shares it to the parent (tid in ctl->tid), exits once the parent's grow is
 * under way (ctl->base set, live pages past it). */
static int owner_child(void)
{
	u64 hc;
	if (vmk_handles(&hc, 1) != 1) return 1;
	struct ctl *c = (struct ctl *)vmk_shm_map(hc, 0, 0, PROT_READ | PROT_WRITE);
	if ((long)c <= 0) return 2;
	long h = vmk_shm_create(load_u64(&c->size), load_u64(&c->flags));
	if (h < 0) return 3;
	fill((u64)h, 0, load_u64(&c->size), 0x33);
	long ph = vmk_shm_share((u64)h, (long)load_u64(&c->tid), SHM_ALL);
	if (ph < 0) return 4;
	store_u64(&c->handle, (u64)ph);
	store_u64(&c->step, 1);
	while (!load_u64(&c->base))
		;
	u64 base = load_u64(&c->base);
	while (live() < base + 2048 && !load_u64(&c->stop))
		;
	return 0;
}

#define GROW_TO (64 * MIB)
static void owner_exits_mid_grow(u64 flags)
{
	if (no_room_for_huge(flags, GROW_TO)) return;
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	u64 held0 = held(), live0 = live();
	for (int round = 0; round < 3; round++) {
		store_u64(&c->step, 0);
		store_u64(&c->base, 0);
		store_u64(&c->stop, 0);
		store_u64(&c->tid, (u64)vmk_getpid());
		store_u64(&c->size, 2 * MIB);
		store_u64(&c->flags, flags);
		long tid = spawn2("owner", hc, 0, 50000);
		REQUIRE(tid > 0);
		CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
		u64 h = load_u64(&c->handle);
		u64 heldb = held();
		store_u64(&c->base, live());
		long r = vmk_shm_resize(h, GROW_TO);
		store_u64(&c->stop, 1);
		CHECK_EQ(wait_status(tid), 0);
		CHECK_EQ(r, 0);
		struct vmk_shm_info info;
		CHECK_EQ(vmk_shm_info(h, &info), 0);
		CHECK_EQ(info.size, r ? 2 * MIB : GROW_TO);
		CHECK_EQ(count_bad(h, 0, 2 * MIB, 0x33, false), 0);
		/* the child's image is gone; the object (now ours) holds its pages in our account */
		struct vmk_vm_stats st;
		CHECK_EQ(vmk_vm_stats(&st), 0);
		printf("# t_resize_steps: owner exit round %d: r=%ld held before %lu after %lu (object %lu pages)\n", round, r,
		       heldb, st.held_pages, info.size / PG);
		/* It is ours now: shrinking and growing again within our quota work. */
		CHECK_EQ(vmk_shm_resize(h, 4 * MIB), 0);
		CHECK_EQ(vmk_shm_resize(h, 8 * MIB), 0);
		CHECK_EQ(count_bad(h, 4 * MIB, 4 * MIB, 0, true), 0);
		CHECK_EQ(vmk_shm_close(h), 0);
	}
	CHECK_EQ(held(), held0);
	CHECK_EQ(live(), live0);
	drop_ctl(hc, c);
}

static void test_owner_exits_mid_grow(void) { owner_exits_mid_grow(0); }
static void test_owner_exits_mid_grow_huge(void) { owner_exits_mid_grow(SHM_F_HUGE); }

/* A seal against growth arriving mid-grow: the grow fails -EPERM and leaves everything as it was. */
static void seal_mid_grow(u64 seal, long want)
{
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long h = vmk_shm_create(MIB, 0);
	REQUIRE(h > 0);
	fill((u64)h, 0, MIB, 9);
	u64 held1 = held();
	store_u64(&c->size, 96 * MIB);
	long tid = spawn2("grower", hc, h, 0);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	u64 base = live();
	store_u64(&c->step, 2);
	bool mid = wait_mid(c, base, 4096);
	long s = vmk_shm_seal((u64)h, seal);
	CHECK(s >= 0);
	CHECK_EQ(wait_status(tid), 0);
	long r = (long)load_u64(&c->result) - 1000;
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info((u64)h, &info), 0);
	printf("# t_resize_steps: seal 0x%lx mid-grow (seen mid: %d): grow %ld, size %lu\n", seal, mid, r, info.size);
	if (mid) CHECK_EQ(r, want);
	CHECK_EQ(info.size, r ? MIB : 96 * MIB);
	if (r) CHECK_EQ(held(), held1);
	CHECK_EQ(count_bad((u64)h, 0, MIB, 9, false), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
}

static void test_seal_grow_mid_grow(void) { seal_mid_grow(SHM_SEAL_GROW, -EPERM); }
static void test_seal_write_mid_grow(void) { seal_mid_grow(SHM_SEAL_WRITE | SHM_SEAL_SHRINK, 0); }

/* Helper with its own small quota: creates an object, maps it, grows it to just past its quota. */
static int quota_child(void)
{
	u64 hc;
	if (vmk_handles(&hc, 1) != 1) return 1;
	struct ctl *c = (struct ctl *)vmk_shm_map(hc, 0, 0, PROT_READ | PROT_WRITE);
	if ((long)c <= 0) return 2;
	u64 flags = load_u64(&c->flags);
	long h = vmk_shm_create(4 * MIB, flags & 1);
	if (h < 0) return 3;
	fill((u64)h, 0, 4 * MIB, 0x5a);
	long a = vmk_shm_map((u64)h, 0, 64 * MIB, PROT_READ | PROT_WRITE);
	if (a < 0) return 4;
	struct vmk_vm_stats st;
	vmk_vm_stats(&st);
	u64 held1 = st.held_pages;
	u64 room = st.quota_pages + st.image_pages - st.held_pages; /* pages left */
	/* the largest size that needs more than the room by the smallest amount */
	u64 unit = flags ? 2 * MIB : PG;
	/* flags bit 1: exactly the room in pages, so that the grower's own mapping's tables fail at the end */
	u64 target = (flags & 2) ? 4 * MIB + room * PG : 4 * MIB + (room / (unit / PG) + 1) * unit;
	flags &= 1;
	long r = vmk_shm_resize((u64)h, target);
	u64 errors = 0;
	errors += r != -ENOMEM;
	struct vmk_shm_info info;
	vmk_shm_info((u64)h, &info);
	errors += (info.size != 4 * MIB) << 1;
	errors += (info.mapped != 4 * MIB) << 2;
	vmk_vm_stats(&st);
	errors += (st.held_pages != held1) << 3;
	errors += (count_bad((u64)h, 0, 4 * MIB, 0x5a, false) != 0) << 4;
	volatile u8 *p = (volatile u8 *)a;
	for (u64 i = 0; i < 4 * MIB; i += PG) errors |= (u64)(p[i] != (u8)(0x5a + (i >> 12))) << 5;
	printf("# t_resize_steps: quota child flags %lu: room %lu pages, grow to %lu -> %ld, held %lu -> %lu\n", flags, room,
	       target, r, held1, st.held_pages);
	store_u64(&c->errors, errors);
	return 0;
}

static void quota_just_short(u64 flags)
{
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	u64 held0 = held(), live0 = live();
	store_u64(&c->flags, flags);
	long tid = spawn2("quota", hc, 0, 8192);
	REQUIRE(tid > 0);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->errors), 0);
	CHECK_EQ(held(), held0);
	CHECK_EQ(live(), live0);
	drop_ctl(hc, c);
}

static void test_quota_just_short(void) { quota_just_short(0); }
static void test_quota_just_short_huge(void) { quota_just_short(SHM_F_HUGE); }
static void test_tables_just_short(void) { quota_just_short(2); }

/* Three resizers at once plus the parent reading/writing at the end: nothing but 0 from the resizes
 * (quota ample), the first page intact, everything returned at the end. */
static int random_resizer_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	u64 seed = (u64)vmk_getpid() * 7919;
	add_u64(&c->step, 1);
	while (load_u64(&c->step) < 100)
		;
	for (int i = 0; i < 60; i++) {
		u64 sz = (rng_next(&seed) % (40 * MIB / PG) + 1) * PG;
		long r = vmk_shm_resize(hs[1], sz);
		if (r) __atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static void test_three_resizers(void)
{
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	u64 held0 = held(), live0 = live();
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	u64 magic = 0xfeedf00d;
	CHECK_EQ(vmk_shm_write((u64)h, 0, &magic, 8), 8);
	long tids[3];
	for (int i = 0; i < 3; i++) tids[i] = spawn2("rresizer", hc, h, 0);
	CHECK(wait_for_u64(&c->step, 3, TIMEOUT));
	store_u64(&c->step, 100);
	int alive = 3;
	u64 reads = 0;
	while (alive) {
		struct vmk_shm_info info;
		if (vmk_shm_info((u64)h, &info) == 0 && info.size > PG) {
			u64 w = 0;
			/* the last word of the size seen: it may have been cut meanwhile (short), never an error */
			long r = vmk_shm_read((u64)h, info.size - 8, &w, 8);
			CHECK(r == 8 || r == 0);
			reads++;
		}
		alive = 0;
		for (int i = 0; i < 3; i++) {
			int st;
			/* nonblocking wait isn't available: poll via kill(0)? just count running by step */
			(void)st;
		}
		if (load_u64(&c->stop)) break;
		if (reads > 3000) break;
		alive = 1;
	}
	for (int i = 0; i < 3; i++) CHECK_EQ(wait_status(tids[i]), 0);
	CHECK_EQ(load_u64(&c->errors), 0);
	u64 w = 0;
	CHECK_EQ(vmk_shm_read((u64)h, 0, &w, 8), 8);
	CHECK_EQ(w, magic);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	CHECK_EQ(held(), held0);
	CHECK_EQ(live(), live0);
	drop_ctl(hc, c);
}

/* Helper with the default quota: creates one-page objects and asks each to grow to VMK_SHM_MAX_SIZE,
 * which its quota refuses (-ENOMEM); then tells its parent how many it made and waits to be stopped. */
static int va_hog_child(void)
{
	u64 hc;
	if (vmk_handles(&hc, 1) != 1) return 1;
	struct ctl *c = (struct ctl *)vmk_shm_map(hc, 0, 0, PROT_READ | PROT_WRITE);
	if ((long)c <= 0) return 2;
	u64 n = 0, other = 0;
	for (int i = 0; i < 62; i++) {
		long h = vmk_shm_create(PG, 0);
		if (h < 0) break;
		for (u64 s = VMK_SHM_MAX_SIZE; s >= 32 * MIB; s /= 2) {
			long r = vmk_shm_resize((u64)h, s);
			if (r == -ENOMEM) n++;
			else other++;
		}
	}
	store_u64(&c->result, n);
	store_u64(&c->errors, other);
	store_u64(&c->step, 1);
	while (!load_u64(&c->stop)) vmk_sleep(1000000);
	return 0;
}

/* A grow refused by the grower's quota leaves the object as it was: in particular it keeps no address
 * space for the size it could not have, or one task with the default quota takes the whole vmalloc
 * region (64 GiB) for nothing, and every other task's create, map, spawn (and the kernel's own
 * vmalloc) fails until it exits. */
static void test_refused_grow_keeps_no_room(void)
{
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long h0 = vmk_shm_create(64 * MIB, 0);
	CHECK(h0 > 0);
	if (h0 > 0) CHECK_EQ(vmk_shm_close((u64)h0), 0);
	long tid = spawn2("vahog", hc, 0, 64);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	u64 first = load_u64(&c->result);
	store_u64(&c->step, 0);
	long tid2 = spawn2("vahog", hc, 0, 64);
	REQUIRE(tid2 > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	store_u64(&c->result, first + load_u64(&c->result));
	printf("# t_resize_steps: va hog: %lu grows refused -ENOMEM, %lu other\n", load_u64(&c->result), load_u64(&c->errors));
	CHECK_EQ(load_u64(&c->errors), 0);
	long h = vmk_shm_create(64 * MIB, 0);
	CHECK(h > 0);
	printf("# t_resize_steps: a peer's 64 MiB create while the hogs live: %ld\n", h);
	long t2 = spawn2("vahog_probe", hc, 0, 0);
	CHECK(t2 > 0);
	printf("# t_resize_steps: a spawn while the hog lives: %ld\n", t2);
	if (t2 > 0) CHECK_EQ(wait_status(t2), 0);
	if (h > 0) CHECK_EQ(vmk_shm_close((u64)h), 0);
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(wait_status(tid2), 0);
	h = vmk_shm_create(64 * MIB, 0);
	printf("# t_resize_steps: after the hogs' exit: %ld\n", h);
	CHECK(h > 0);
	if (h > 0) CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
}

/* Grows its ctl object to 6 MiB and shrinks it back RESIZES times, once its parent is ready; counts the
 * calls that did not return 0 in `failures`. */
#define RESIZES 40
static int resizer_child(void)
{
	u64 h;
	struct ctl *c = child_ctl(&h);
	if (!c) return 1;
	add_u64(&c->step, 1);
	while (load_u64(&c->step) < 2)
		;
	for (int i = 0; i < RESIZES; i++) {
		if (vmk_shm_resize(h, 6 * MIB)) __atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
		if (vmk_shm_resize(h, PG)) __atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Two tasks resizing one object at once: a grow lets the object's lock go between its steps, so a second
 * resize waits for the first to end (kernel/shm_resize.c). Every call succeeds, the first page (the ctl,
 * mapped by both) keeps its contents, the size ends at one page, and nothing is left charged. */
static void test_concurrent_resizes(void)
{
	struct ctl *c;
	long h = new_ctl(&c);
	REQUIRE(h > 0);
	long tid = spawn2("resizer", h, 0, 0);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	store_u64(&c->value, 0x5eed);
	store_u64(&c->step, 2);
	u64 fails = 0;
	for (int i = 0; i < RESIZES; i++) {
		fails += vmk_shm_resize(h, 8 * MIB) != 0;
		fails += vmk_shm_resize(h, PG) != 0;
	}
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(fails, 0);
	CHECK_EQ(load_u64(&c->failures), 0);
	CHECK_EQ(load_u64(&c->value), 0x5eed);
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(h, &info), 0);
	CHECK_EQ(info.size, PG);
	drop_ctl(h, c);
}

/* Helper: resizes its second handle between 8 and 40 MiB until told to stop; failed calls in `errors`. */
static int range_resizer_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	u64 seed = (u64)vmk_getpid() * 104729;
	add_u64(&c->step, 1);
	while (!load_u64(&c->stop)) {
		u64 sz = 8 * MIB + (rng_next(&seed) % (32 * MIB / PG)) * PG;
		if (vmk_shm_resize(hs[1], sz)) __atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* A map of a big object writes its entries in steps, the object's lock let go between them, while
 * another task grows and shrinks the object across many steps: a grow passes the filling mapping by
 * (its map fills it to the size it finds at its last step), a shrink cuts what it has filled. Every map
 * succeeds, its first page (never cut) reads, and once the resizer has stopped a mapping reaches the
 * object's end; nothing is left held. */
static void test_map_races_resizes(void)
{
	u64 held0 = held();
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long h = vmk_shm_create(24 * MIB, 0);
	REQUIRE(h > 0);
	long tid = spawn2("rangeresizer", hc, h, 0);
	REQUIRE(tid > 0);
	CHECK(wait_for_u64(&c->step, 1, TIMEOUT));
	u64 fails = 0;
	for (int i = 0; i < 60; i++) {
		long a = vmk_shm_map((u64)h, 0, 64 * MIB, PROT_READ | (i & 1 ? PROT_WRITE : 0));
		if (a <= 0) {
			fails++;
			continue;
		}
		(void)*(volatile u8 *)(uptr)a;
		if (vmk_shm_unmap((u64)a)) fails++;
	}
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(fails, 0);
	CHECK_EQ(load_u64(&c->errors), 0);
	long a = vmk_shm_map((u64)h, 0, 64 * MIB, PROT_READ);
	struct vmk_shm_info info;
	CHECK(a > 0);
	CHECK_EQ(vmk_shm_info((u64)h, &info), 0);
	if (a > 0) {
		CHECK_EQ(info.mapped, info.size);
		CHECK_EQ(*(volatile u8 *)(uptr)(a + info.size - 1), 0);
		CHECK_EQ(vmk_shm_unmap((u64)a), 0);
	}
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
	CHECK_EQ(held(), held0);
}

static u64 steps(void)
{
	struct vmk_vm_stats st;
	return vmk_vm_stats(&st) == 0 ? st.shm_steps : 0;
}

/* Every long operation on a 64 MiB object (16,384 pages and as many entries a mapping) pauses between
 * steps of 1 MiB of pages or 256 entries, as the kernel's count of pauses shows, deterministically (no
 * other task runs meanwhile): a create adds 63 MiB in 63 steps after its first; a map writes 64 steps of
 * entries; a grow to 128 MiB adds 64 steps of pages and writes 64 steps of entries in the one mapping; a
 * shrink back cuts 64 steps and frees 64; an unmap clears 64 steps; the last close frees 64 megabytes.
 * Before, the map, the unmap, the mapping's part of a grow or shrink and the free paused 0 times. */
static void test_long_ops_take_steps(void)
{
	const u64 sz = 64 * MIB, n = sz / MIB;
	u64 s0 = steps();
	long h = vmk_shm_create(sz, 0);
	REQUIRE(h > 0);
	u64 s1 = steps();
	long a = vmk_shm_map((u64)h, 0, 2 * sz, PROT_READ);
	REQUIRE(a > 0);
	u64 s2 = steps();
	CHECK_EQ(vmk_shm_resize((u64)h, 2 * sz), 0);
	u64 s3 = steps();
	CHECK_EQ(vmk_shm_resize((u64)h, sz), 0);
	u64 s4 = steps();
	CHECK_EQ(vmk_shm_unmap((u64)a), 0);
	u64 s5 = steps();
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	u64 s6 = steps();
	printf("# t_resize_steps: pauses: create %lu, map %lu, grow %lu, shrink %lu, unmap %lu, free %lu\n", s1 - s0,
	       s2 - s1, s3 - s2, s4 - s3, s5 - s4, s6 - s5);
	CHECK(s1 - s0 >= n - 2);
	CHECK(s2 - s1 >= n - 1);
	CHECK(s3 - s2 >= 2 * n - 2);
	CHECK(s4 - s3 >= 2 * n - 2);
	CHECK(s5 - s4 >= n - 1);
	CHECK(s6 - s5 >= n - 1);
}

/* Helper: maps its second handle and unmaps it again until killed, counting its maps in `rounds`. */
static int mapper_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	for (;;) {
		long a = vmk_shm_map(hs[1], 0, 0, PROT_READ | PROT_WRITE);
		if (a <= 0 || vmk_shm_unmap((u64)a)) __atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
		add_u64(&c->rounds, 1);
	}
}

/* A mapper killed while it maps or unmaps a 128 MiB object (it spends nearly all its time there: a map
 * writes 32,768 entries a step of 256 at a time, and stops with -EINTR at the first pause after the kill;
 * an unmap finishes what it began; with a printk there, 8 of 8 kills stopped a map's fill, on 1 and on 2
 * harts): each round the object stays whole and writable, nothing of the killed task's mappings or tables
 * is left held, and a new mapping reaches the object's end. */
static void test_kill_mid_map(void)
{
	const u64 sz = 128 * MIB;
	u64 held0 = held();
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long h = vmk_shm_create(sz, 0);
	REQUIRE(h > 0);
	u64 held1 = held();
	for (int round = 0; round < 8; round++) {
		store_u64(&c->rounds, 0);
		long tid = spawn2("mapper", hc, h, 0);
		REQUIRE(tid > 0);
		/* A few maps in, and a little more each round, so the kill lands at different points. */
		u64 t0 = now_ns();
		while (load_u64(&c->rounds) < 1 + (u64)round % 3 && now_ns() - t0 < TIMEOUT) vmk_yield();
		CHECK(load_u64(&c->rounds) >= 1);
		for (volatile int spin = 0; spin < 1000 * round; spin++) {
		}
		CHECK_EQ(vmk_kill(tid), 0);
		CHECK_EQ(wait_status(tid), VMK_STATUS_KILLED);
		CHECK_EQ(held(), held1);
		struct vmk_shm_info info;
		CHECK_EQ(vmk_shm_info((u64)h, &info), 0);
		CHECK_EQ(info.size, sz);
		CHECK_EQ(info.mappers, 0);
		long a = vmk_shm_map((u64)h, 0, 0, PROT_READ | PROT_WRITE);
		CHECK(a > 0);
		if (a > 0) {
			((volatile u8 *)(uptr)a)[sz - 1] = (u8)round;
			CHECK_EQ(vmk_shm_unmap((u64)a), 0);
		}
	}
	CHECK_EQ(load_u64(&c->failures), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
	CHECK_EQ(held(), held0);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		const char *m = argv[1];
		if (!strcmp(m, "grower")) return grower_child();
		if (!strcmp(m, "owner")) return owner_child();
		if (!strcmp(m, "quota")) return quota_child();
		if (!strcmp(m, "rresizer")) return random_resizer_child();
		if (!strcmp(m, "vahog")) return va_hog_child();
		if (!strcmp(m, "vahog_probe")) return 0;
		if (!strcmp(m, "resizer")) return resizer_child();
		if (!strcmp(m, "rangeresizer")) return range_resizer_child();
		if (!strcmp(m, "mapper")) return mapper_child();
		return 99;
	}
	ktap_begin("t_resize_steps");
	ktap_run("refused_grow_keeps_no_room", test_refused_grow_keeps_no_room);
	ktap_run("kill_mid_grow", test_kill_mid_grow);
	ktap_run("kill_mid_grow_huge", test_kill_mid_grow_huge);
	ktap_run("kill_mid_grow_huge_odd", test_kill_mid_grow_huge_odd);
	ktap_run("owner_exits_mid_grow", test_owner_exits_mid_grow);
	ktap_run("owner_exits_mid_grow_huge", test_owner_exits_mid_grow_huge);
	ktap_run("seal_grow_mid_grow", test_seal_grow_mid_grow);
	ktap_run("seal_write_mid_grow", test_seal_write_mid_grow);
	ktap_run("quota_just_short", test_quota_just_short);
	ktap_run("quota_just_short_huge", test_quota_just_short_huge);
	ktap_run("tables_just_short", test_tables_just_short);
	ktap_run("three_resizers", test_three_resizers);
	ktap_run("concurrent_resizes", test_concurrent_resizes);
	ktap_run("map_races_resizes", test_map_races_resizes);
	ktap_run("long_ops_take_steps", test_long_ops_take_steps);
	ktap_run("kill_mid_map", test_kill_mid_map);
	return ktap_end();
}
