/* t_peer_served: a task making, growing, shrinking or freeing a big shared object, or whose mappings
 * a grow must fill, does not shut the object's other users out: the long operations go in steps, let the
 * object's lock go between them and yield the hart when the time slice is over (kernel/shm_resize.c,
 * kernel/shm_obj.c, vm/vmalloc.c vfree_in_steps). Each case counts a peer's calls that began and ended
 * while the operation was under way, as the machine's counters show it; before the steps the count was
 * 0 (on one hart, or on any number where the peer needs the object's lock). An unmap's steps have no
 * peer-side view here (nothing a peer can read moves until its end); t_resize_steps' long_ops_take_steps
 * counts them. */
#define PROG "/t_peer_served"
#include "tests/user/steps_common.h"

/* A grow is under way, as the reader sees it, while the kernel's live vmalloc pages (the whole machine's:
 * nothing else allocates meanwhile) are past the count the parent noted before the grow (ctl.base) by
 * more than a few steps' slack but short of the whole grow: the grow has added pages and not all of them. */
#define PEER_GROW (64 * MIB)
#define PEER_SLACK 64
static bool grow_under_way(struct ctl *c)
{
	u64 base = load_u64(&c->base), now = live();
	return base && now > base + PEER_SLACK && now + PEER_SLACK < base + PEER_GROW / PG;
}

/* A free is under way, as the reader sees it, while the live pages are below the count the parent noted
 * with its big object alive (ctl.top) by more than the slack but not yet by the whole object. */
#define PEER_FREE (128 * MIB)
static bool free_under_way(struct ctl *c)
{
	u64 top = load_u64(&c->top), now = live();
	return top && now + PEER_SLACK < top && now > top - PEER_FREE / PG + PEER_SLACK;
}

static bool watched_under_way(struct ctl *c, u64 h)
{
	(void)h;
	return grow_under_way(c) || free_under_way(c);
}

/* Every reader's loop: reads the first word of object h through SYS_shm_read until told to stop,
 * counting in `rounds` the reads that began and ended while what the parent watches was under way (as
 * `watched` sees it: a plain atomic add, no system call but the reads and the counters), and in
 * `failures` any read that failed. */
static int count_reads(struct ctl *c, u64 h, bool (*watched)(struct ctl *, u64))
{
	while (!load_u64(&c->stop)) {
		u64 word;
		bool before = watched(c, h);
		if (vmk_shm_read(h, 0, &word, sizeof(word)) != sizeof(word))
			__atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
		else if (before && watched(c, h)) __atomic_fetch_add(&c->rounds, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Helper: reads its ctl object, counting the reads within a grow, create or free the parent watches. */
static int reader_child(void)
{
	u64 h;
	struct ctl *c = child_ctl(&h);
	if (!c) return 1;
	store_u64(&c->step, 1);
	return count_reads(c, h, watched_under_way);
}

/* A task growing a shared object by 64 MiB (or creating one) does not shut its peer out of the object: a grow adds its
 * pages a megabyte at a time and lets the object's lock go between steps, and yields its hart when its
 * time slice is over. It used to hold the lock for the whole grow (about 13 million instructions of
 * allocating and zeroing; 100 ms to 2 s of wall-clock time for 200 MiB), and on one hart no other task ran
 * at all meanwhile: no read of the peer's could begin and end while the grow was adding pages, and the
 * count was exactly 0 on 1, 2 and 4 harts. With a second hart the peer reads between steps; with one, in
 * the time slices the grower gives up. How many depends on how the host schedules the vCPUs (from 1 to
 * 2,000 a grow on a loaded host), so the case asks for one a grow on average. */
#define PEER_ROUNDS 4
static void test_peer_served_during_grow(void)
{
	struct ctl *c;
	long h, tid = start_helper(&c, &h, 0, "reader"); /* the reader reads the ctl object itself */
	REQUIRE(tid > 0);
	u64 served = 0;
	for (int round = 0; round < PEER_ROUNDS; round++) {
		store_u64(&c->rounds, 0);
		store_u64(&c->base, live());
		CHECK_EQ(vmk_shm_resize(h, PEER_GROW), 0);
		store_u64(&c->base, 0);
		u64 n = load_u64(&c->rounds);
		printf("# t_peer_served: the peer's reads within grow %d: %lu\n", round, n);
		served += n;
		CHECK_EQ(vmk_shm_resize(h, PG), 0);
	}
	/* A create is made small and grown the same way: on one hart the peer used to get no read in while
	 * a 64 MiB object was being made (with a second hart it always could: no lock is shared). */
	u64 served_create = 0;
	for (int round = 0; round < PEER_ROUNDS; round++) {
		store_u64(&c->rounds, 0);
		store_u64(&c->base, live());
		long big = vmk_shm_create(PEER_GROW, 0);
		store_u64(&c->base, 0);
		CHECK(big > 0);
		u64 n = load_u64(&c->rounds);
		printf("# t_peer_served: the peer's reads within create %d: %lu\n", round, n);
		served_create += n;
		if (big > 0) CHECK_EQ(vmk_shm_close(big), 0);
	}
	stop_helper(c, tid);
	CHECK(served >= PEER_ROUNDS);
	CHECK(served_create >= PEER_ROUNDS);
	drop_ctl(h, c);
}

/* The last close of a 128 MiB object, which frees its 32,768 pages (about 6.5 million instructions),
 * holds no other task off the hart meanwhile: the pages go a megabyte at a time (vfree_in_steps) and the
 * closer yields its hart when its time slice is over. Before, the free was one vfree: on one hart no read
 * of the peer's could begin and end during it, in any round. The peer's count is the machine's live
 * pages going down, as in peer_served_during_grow. A free takes 3-4 ms here, a third of a 10 ms slice,
 * so about one free in three sees the tick and yields: over FREE_ROUNDS frees, at least one must have
 * served the peer (with a second hart the peer always reads: the discriminating boot is user-smp1). */
#define FREE_ROUNDS 24
static void test_peer_runs_during_free(void)
{
	struct ctl *c;
	long h, tid = start_helper(&c, &h, 0, "reader"); /* the reader reads the ctl object itself */
	REQUIRE(tid > 0);
	u64 served = 0, rounds_served = 0;
	for (int round = 0; round < FREE_ROUNDS; round++) {
		long big = vmk_shm_create(PEER_FREE, 0);
		CHECK(big > 0);
		if (big <= 0) break;
		store_u64(&c->rounds, 0);
		store_u64(&c->top, live());
		u64 t0 = now_ns();
		CHECK_EQ(vmk_shm_close((u64)big), 0);
		u64 t1 = now_ns();
		store_u64(&c->top, 0);
		u64 n = load_u64(&c->rounds);
		if (round < 4 || n) printf("# t_peer_served: the peer's reads within free %d: %lu (%lu us)\n", round, n, (t1 - t0) / 1000);
		served += n;
		rounds_served += n > 0;
	}
	printf("# t_peer_served: %lu of %d frees served the peer, %lu reads in all\n", rounds_served, FREE_ROUNDS, served);
	stop_helper(c, tid);
	CHECK(rounds_served >= 1);
	drop_ctl(h, c);
}

/* The mappings' part of a grow is watched, as the mapping reader sees it, while the live pages show all
 * of the grow's pages added (ctl.full) and the object's size is still the old one: the pages are there,
 * the grow has not published. */
#define FOLLOW_MAPS 24
#define FOLLOW_MAX (128 * MIB)
static bool follow_under_way(struct ctl *c, u64 h)
{
	u64 full = load_u64(&c->full);
	struct vmk_shm_info info;
	return full && live() >= full && vmk_shm_info(h, &info) == 0 && info.size < load_u64(&c->size);
}

/* Helper: maps its second handle FOLLOW_MAPS times (each may follow to FOLLOW_MAX), then reads its first
 * word until told to stop, counting in `rounds` the reads that began and ended while a grow's mappings
 * were being filled (follow_under_way), in `failures` the calls that failed. */
static int mapping_reader_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	for (int i = 0; i < FOLLOW_MAPS; i++)
		if (vmk_shm_map(hs[1], 0, FOLLOW_MAX, PROT_READ) <= 0) return 3;
	add_u64(&c->step, 1);
	return count_reads(c, hs[1], follow_under_way);
}

/* Helper: maps its second handle and unmaps it again until told to stop; after each map it reads the
 * object's size and loads the mapping's last byte. The parent only grows the object, so the mapping
 * must reach that size: one made while a grow was filling the others must be made to follow before
 * the grow publishes (a load past what it maps kills this task). */
static int remapper_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	add_u64(&c->step, 1);
	while (!load_u64(&c->stop)) {
		long a = vmk_shm_map(hs[1], 0, FOLLOW_MAX, PROT_READ);
		struct vmk_shm_info info;
		if (a <= 0 || vmk_shm_info(hs[1], &info)) {
			__atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		(void)*(volatile u8 *)(uptr)(a + info.size - 1);
		if (vmk_shm_unmap((u64)a)) __atomic_fetch_add(&c->failures, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* A grow's mappings follow a step at a time as well: a peer with FOLLOW_MAPS mappings of a 128 MiB
 * object made the grow write 262,144 page-table entries, about 25 ms, in one go under the object's
 * lock, and on one hart no task ran meanwhile; a peer could make that longer by mapping more. Now the
 * entries are written a step's worth (256) at a time with the lock let go between, so the peer's reads
 * of the same object get in (before: 0 in every round, on any number of harts). Meanwhile a third task
 * maps and unmaps the object in a loop: a mapping made during the grow follows it before it is
 * published, and one unmapped half-filled leaves nothing charged (the page count held for tasks comes
 * back). */
static void test_mappings_follow_in_steps(void)
{
	u64 held0 = held();
	struct ctl *c;
	long hc = new_ctl(&c);
	REQUIRE(hc > 0);
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	long reader = spawn2("mreader", hc, h, 0), remapper = spawn2("remapper", hc, h, 0);
	REQUIRE(reader > 0 && remapper > 0);
	CHECK(wait_for_u64(&c->step, 2, TIMEOUT));
	u64 served = 0, rounds_served = 0, size = PG;
	for (u64 to = 32 * MIB; to <= FOLLOW_MAX; to += 32 * MIB) {
		store_u64(&c->rounds, 0);
		store_u64(&c->size, to);
		store_u64(&c->full, live() + (to - size) / PG);
		CHECK_EQ(vmk_shm_resize((u64)h, to), 0);
		store_u64(&c->full, 0);
		size = to;
		u64 n = load_u64(&c->rounds);
		printf("# t_peer_served: the mapping peer's reads while its mappings followed to %lu MiB: %lu\n",
		       to / MIB, n);
		served += n;
		rounds_served += n > 0;
	}
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(reader), 0);
	CHECK_EQ(wait_status(remapper), 0);
	CHECK_EQ(load_u64(&c->failures), 0);
	CHECK(rounds_served >= 1);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
	CHECK_EQ(held(), held0);
}

/* Helper: maps its second handle up to STARVE_SIZE (its own mapping, which must follow), then grows it
 * to STARVE_SIZE once told (step 2); result + 1000 in ctl->result, then step 3. */
#define STARVE_SIZE (64 * MIB)
static int starve_grower_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	if (vmk_shm_map(hs[1], 0, STARVE_SIZE, PROT_READ) <= 0) return 3;
	add_u64(&c->step, 1);
	while (load_u64(&c->step) < 2)
		;
	long r = vmk_shm_resize(hs[1], STARVE_SIZE);
	store_u64(&c->result, (u64)(r + 1000));
	store_u64(&c->step, 3);
	return 0;
}

/* (Reviewer M's case.) A peer maps the object anew and unmaps its previous mapping in a loop while
 * another task grows it: a mapping made while the grow has let the lock go needs the whole new part,
 * and sits first on the object's list, where each step's entries go first. The grow must still end, and
 * with every mapping it publishes to followed: after the first steps of its mappings' part it writes
 * what is missing in one go (kernel/shm_resize.c, fill_steps). The remapper's mappings prepay their
 * tables (SHM_MAP_REQUIRE_NOSHRINK on a shrink-sealed object), so every one of them must follow. Here the
 * remapper was never fast enough to hold a grow off even before that bound (M: ended in 146-217 ms);
 * the case checks the grow ends while the remapping goes on, and correctly. */
static void test_remapper_cannot_stall_grow(void)
{
	long h = vmk_shm_create(PG, 0);
	REQUIRE(h > 0);
	CHECK(vmk_shm_seal((u64)h, SHM_SEAL_SHRINK) >= 0);
	struct ctl *c;
	long hc, tid = start_helper(&c, &hc, h, "sgrower");
	REQUIRE(tid > 0);
	u64 t0 = now_ns(), maps = 0;
	long prev = 0;
	store_u64(&c->step, 2);
	while (load_u64(&c->step) < 3 && now_ns() - t0 < TIMEOUT) {
		long a = vmk_shm_map((u64)h, 0, STARVE_SIZE, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK);
		if (a > 0) maps++;
		if (prev > 0) CHECK_EQ(vmk_shm_unmap((u64)prev), 0);
		prev = a;
	}
	bool ended_while_remapping = load_u64(&c->step) >= 3;
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info((u64)h, &info), 0);
	/* The last mapping, made during or after the grow, reaches its end (else this load kills us). */
	if (prev > 0 && info.size == STARVE_SIZE) (void)*(volatile u8 *)(uptr)(prev + STARVE_SIZE - 1);
	if (prev > 0) CHECK_EQ(vmk_shm_unmap((u64)prev), 0);
	printf("# t_peer_served: %lu remaps while the grow ran; it ended while remapping: %d\n", maps,
	       ended_while_remapping);
	CHECK(maps > 0);
	CHECK(ended_while_remapping);
	CHECK(wait_for_u64(&c->step, 3, TIMEOUT));
	CHECK_EQ(load_u64(&c->result), 1000);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
}

/* A new mapping's entries are being written, as the object reader sees it: the machine's free pages are
 * below the count the parent noted before its map (ctl.base) by more than a few of the mapping's page
 * tables and short of all of them (a 128 MiB mapping takes 64 level-0 tables, in the order it fills). */
#define MAP_SIZE (128 * MIB)
#define MAP_ROUNDS 96
static u64 free_pages_now(void)
{
	struct vmk_vm_stats st;
	return vmk_vm_stats(&st) == 0 ? st.free_phys_pages : 0;
}

static bool map_under_way(struct ctl *c, u64 h)
{
	(void)h;
	u64 base = load_u64(&c->base), now = free_pages_now();
	return base && now + 8 < base && now + 56 > base;
}

/* Helper: reads the first word of its second handle's object until told to stop, counting in `rounds`
 * the reads that began and ended while the parent's map of that object was writing entries. */
static int object_reader_child(void)
{
	u64 hs[2];
	struct ctl *c = child_ctl2(hs);
	if (!c) return 1;
	add_u64(&c->step, 1);
	return count_reads(c, hs[1], map_under_way);
}

/* A map of a big object writes its entries a step at a time too, letting the object's lock go and
 * yielding the hart when the slice is over between steps: a peer's reads of the object get in while
 * a 128 MiB mapping (32,768 entries, about 3 ms) is being made. Before, the map wrote them all under
 * the lock: 0 reads in every round, on one hart (no task ran) and on two (the read waits for the lock).
 * A map takes about a third of a slice, so on one hart only some see the tick: over MAP_ROUNDS maps, at
 * least one must have served the peer. Each mapping is checked whole (first and last byte). */
static void test_peer_served_during_map(void)
{
	long h = vmk_shm_create(MAP_SIZE, 0);
	REQUIRE(h > 0);
	struct ctl *c;
	long hc, tid = start_helper(&c, &hc, h, "oreader");
	REQUIRE(tid > 0);
	u64 served = 0, rounds_served = 0;
	for (int round = 0; round < MAP_ROUNDS; round++) {
		store_u64(&c->rounds, 0);
		store_u64(&c->base, free_pages_now());
		long a = vmk_shm_map((u64)h, 0, 0, PROT_READ);
		store_u64(&c->base, 0);
		CHECK(a > 0);
		if (a <= 0) break;
		CHECK_EQ(*(volatile u8 *)(uptr)a + *(volatile u8 *)(uptr)(a + MAP_SIZE - 1), 0);
		CHECK_EQ(vmk_shm_unmap((u64)a), 0);
		u64 n = load_u64(&c->rounds);
		if (round < 4 || n) printf("# t_peer_served: the peer's reads within map %d: %lu\n", round, n);
		served += n;
		rounds_served += n > 0;
	}
	printf("# t_peer_served: %lu of %d maps served the peer, %lu reads in all\n", rounds_served, MAP_ROUNDS, served);
	stop_helper(c, tid);
	CHECK(rounds_served >= 1);
	CHECK_EQ(vmk_shm_close((u64)h), 0);
	drop_ctl(hc, c);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		const char *m = argv[1];
		if (!strcmp(m, "reader")) return reader_child();
		if (!strcmp(m, "mreader")) return mapping_reader_child();
		if (!strcmp(m, "remapper")) return remapper_child();
		if (!strcmp(m, "sgrower")) return starve_grower_child();
		if (!strcmp(m, "oreader")) return object_reader_child();
		return 99;
	}
	ktap_begin("t_peer_served");
	ktap_run("peer_served_during_grow", test_peer_served_during_grow);
	ktap_run("peer_runs_during_free", test_peer_runs_during_free);
	ktap_run("mappings_follow_in_steps", test_mappings_follow_in_steps);
	ktap_run("remapper_cannot_stall_grow", test_remapper_cannot_stall_grow);
	ktap_run("peer_served_during_map", test_peer_served_during_map);
	return ktap_end();
}
