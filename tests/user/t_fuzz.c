/* t_fuzz: 100000 seeded random syscalls with random arguments from 4 children, while a victim child
 * keeps a checksummed shared object that must come through untouched. Every result must be success or
 * a documented errno; the kernel must neither crash nor let a fuzzer reach memory it was not given. */
#include "user/vmk.h"

#define PROG "/t_fuzz"
#define PG 4096UL
#define FUZZERS 4
#define CALLS_PER_FUZZER 25000
#define SEED 0x5eed0f00dULL
#define VICTIM_PAGES 16
#define TIMEOUT_NS (600 * 1000000000ULL)

/* Victim control block (the "ctl" object). */
struct victim_ctl {
	u64 ready;    /* victim has filled the data and recorded its checksum */
	u64 done;     /* parent: fuzzers finished, do the final check */
	u64 checksum; /* of the data object, as filled */
	u64 passes;   /* verification passes done while the fuzzers ran */
	u64 bad;      /* set when a pass found different data */
};

static u64 checksum(const volatile u64 *p, u64 words)
{
	u64 h = 0xcbf29ce484222325ULL;
	for (u64 i = 0; i < words; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static int victim(void)
{
	u64 hs[2];
	if (vmk_handles(hs, 2) != 2) return 1;
	long ca = vmk_shm_map(hs[0], 0, 0, PROT_READ | PROT_WRITE);
	long da = vmk_shm_map(hs[1], 0, 0, PROT_READ | PROT_WRITE);
	if (ca <= 0 || da <= 0) return 2;
	struct victim_ctl *c = (struct victim_ctl *)ca;
	volatile u64 *data = (volatile u64 *)da;
	const u64 words = VICTIM_PAGES * PG / 8;
	u64 s = SEED ^ 0x7c71aULL;
	for (u64 i = 0; i < words; i++) data[i] = rng_next(&s);
	u64 sum = checksum(data, words);
	store_u64(&c->checksum, sum);
	store_u64(&c->ready, 1);
	u64 start = now_ns();
	while (!load_u64(&c->done)) {
		if (checksum(data, words) != sum) store_u64(&c->bad, 1);
		store_u64(&c->passes, load_u64(&c->passes) + 1);
		if (now_ns() - start > TIMEOUT_NS) return 3;
		vmk_sleep(1000000);
	}
	if (checksum(data, words) != sum) store_u64(&c->bad, 1);
	return load_u64(&c->bad) ? 4 : 0;
}

/* ---- the fuzzer ---- */

static u64 rs;
static u8 scratch[2 * PG] __aligned(16); /* the only memory of ours the kernel may be pointed at */
static u64 handles[32];
static int nhandles;
static u64 maps[32];
static int nmaps;
static long counts[8]; /* ok, EFAULT, EINVAL, EBADF, EACCES, ENOMEM, ENOSYS, other documented */
static long undocumented;

static u64 pick(u64 n) { return n ? rng_next(&rs) % n : 0; }

static u64 rand_handle(void)
{
	switch (pick(5)) {
	case 0: return 0;
	case 1: return rng_next(&rs);
	case 2: return nhandles ? handles[pick((u64)nhandles)] + pick(3) - 1 : pick(100);
	default: return nhandles ? handles[pick((u64)nhandles)] : rng_next(&rs);
	}
}

/* Pointers: mostly bad ones, otherwise only into scratch or our own shm mappings, so a successful
 * kernel write can never corrupt the fuzzer's own state. */
static u64 rand_ptr(void)
{
	switch (pick(10)) {
	case 0: return 0;
	case 1: return 0xffffffc000000000UL + pick(1UL << 30);
	case 2: return 0xffffffff80000000UL + pick(1UL << 20);
	case 3: return 0x3000000000UL + pick(1UL << 20);
	/* Offsets stay in scratch's first page: the biggest output (vm_stats) still ends inside it. */
	case 4: return (u64)(uptr)scratch + pick(PG);     /* often misaligned */
	case 5: return (u64)(uptr)scratch + 8 * pick(PG / 8); /* aligned */
	case 6: return nmaps ? maps[pick((u64)nmaps)] + pick(2 * PG) : 0;
	case 7: return 0x10000 + pick(PG); /* our text: readable, never writable */
	case 8: return VMK_USER_TOP - pick(64);
	default: return rng_next(&rs) | (1UL << 63); /* never a user address */
	}
}

static u64 rand_size(void)
{
	switch (pick(6)) {
	case 0: return pick(64);
	case 1: return PG * (1 + pick(16));
	case 2: return PG * (1 + pick(16)) + pick(PG);
	case 3: return 1UL << pick(64);
	case 4: return ~0UL - pick(PG);
	default: return rng_next(&rs);
	}
}

static u64 rand_any(void)
{
	switch (pick(4)) {
	case 0: return rand_size();
	case 1: return rand_ptr();
	case 2: return rand_handle();
	default: return pick(40);
	}
}

static bool documented(long r)
{
	static const int ok[] = {EPERM, ENOENT, ESRCH, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM,
				 EACCES, EFAULT, EBUSY, EINVAL, EMFILE, ERANGE, ENOSYS, ETIMEDOUT, EPIPE};
	for (u32 i = 0; i < ARRAY_SIZE(ok); i++)
		if (r == -ok[i]) return true;
	return false;
}

static void tally(long nr, long r)
{
	if (r >= 0) counts[0]++;
	else if (r == -EFAULT) counts[1]++;
	else if (r == -EINVAL) counts[2]++;
	else if (r == -EBADF) counts[3]++;
	else if (r == -EACCES) counts[4]++;
	else if (r == -ENOMEM) counts[5]++;
	else if (r == -ENOSYS) counts[6]++;
	else counts[7]++;
	if (r < 0 && !documented(r)) {
		if (undocumented++ < 5) printf("# t_fuzz: syscall %ld returned undocumented %ld\n", nr, r);
	}
}

static void forget_handle(u64 h)
{
	for (int i = 0; i < nhandles; i++)
		if (handles[i] == h) handles[i] = handles[--nhandles];
}

static void forget_map(u64 a)
{
	for (int i = 0; i < nmaps; i++)
		if (maps[i] == a) maps[i] = maps[--nmaps];
}

/* One random call. Excluded: exit (ends us), spawn with a real name (could fork-bomb), vm_dump and
 * writes to the console (would flood the log), long sleeps and enabling trace classes. */
static void one_call(void)
{
	static const long nrs[] = {SYS_spawn, SYS_wait, SYS_yield, SYS_getpid, SYS_write, SYS_clock_gettime,
				   SYS_sleep, SYS_handles, SYS_shm_create, SYS_shm_map, SYS_shm_unmap,
				   SYS_shm_resize, SYS_shm_share, SYS_shm_close, SYS_shm_info, SYS_vm_stats,
				   SYS_trace_ctl, SYS_trace_mark, SYS_kill, SYS_shm_seal, SYS_shm_read, SYS_shm_write,
				   SYS_shm_wait, SYS_shm_wake, SYS_shm_list, -2 /* stands for an unknown number */};
	static const long unknown[] = {10, 15, 29, 31, 36, 200, 1L << 40, -1};
	long nr = nrs[pick(ARRAY_SIZE(nrs))];
	bool is_unknown = nr == -2;
	if (is_unknown) nr = unknown[pick(ARRAY_SIZE(unknown))];
	u64 a[6];
	for (int i = 0; i < 6; i++) a[i] = rand_any();
	long self = vmk_getpid();

	switch (nr) {
	case SYS_spawn: a[0] = pick(2) ? 0 : 0xffffffff80000000UL; break;
	case SYS_wait: a[0] = pick(2) ? rng_next(&rs) : (u64)(self + (long)pick(5) - 2); a[1] = rand_ptr(); break;
	case SYS_write:
		a[0] = pick(2) ? 3 + pick(100) : (u64)-(long)pick(3);
		if (pick(2)) { a[0] = 1 + pick(2); a[2] = pick(2) ? 0 : VMK_WRITE_MAX + 1 + pick(1UL << 40); }
		a[1] = rand_ptr();
		break;
	case SYS_clock_gettime: case SYS_vm_stats: a[0] = rand_ptr(); break;
	case SYS_sleep: a[0] = pick(8) ? 0 : pick(100000); break;
	case SYS_handles: a[0] = rand_ptr(); a[1] = pick(8); break;
	case SYS_shm_create: a[0] = rand_size(); a[1] = pick(4) ? pick(2) : rng_next(&rs); break;
	case SYS_shm_map:
		a[0] = rand_handle(); a[1] = pick(2) ? 0 : rand_ptr(); a[2] = pick(2) ? 0 : rand_size();
		a[3] = pick(4) ? 1 + pick(3) : rng_next(&rs);
		break;
	case SYS_shm_unmap: a[0] = (nmaps && pick(2)) ? maps[pick((u64)nmaps)] : rand_ptr(); break;
	case SYS_shm_resize: a[0] = rand_handle(); a[1] = rand_size(); break;
	case SYS_shm_share:
		/* Only ourselves or tasks that cannot exist: sharing into live neighbours would pin our
		 * objects in tasks that outlive us (t_shm covers that path). */
		a[0] = rand_handle();
		a[1] = pick(2) ? (u64)self : (u64[]){0, (u64)-1, 1UL << 40, 999999}[pick(4)];
		a[2] = pick(4) ? 1 + pick(31) : rng_next(&rs);
		break;
	case SYS_shm_close: case SYS_shm_info: a[0] = rand_handle(); a[1] = rand_ptr(); break;
	case SYS_shm_seal: a[0] = rand_handle(); a[1] = pick(4) ? pick(16) : rng_next(&rs); break;
	case SYS_shm_read:
	case SYS_shm_write:
		a[0] = rand_handle(); a[1] = pick(2) ? pick(4 * PG) : rand_size(); a[2] = rand_ptr();
		a[3] = pick(2) ? pick(2 * PG) : rand_size();
		/* A read lands in scratch only within it: the kernel must never be led to write our state. */
		if (a[2] >= (u64)(uptr)scratch && a[2] < (u64)(uptr)scratch + sizeof(scratch))
			a[3] = MIN(a[3], (u64)(uptr)scratch + sizeof(scratch) - a[2]);
		break;
	case SYS_shm_wait: /* short timeouts: an unknown word may well hold the value expected */
		a[0] = pick(4) ? rand_handle() : 0; a[1] = pick(2) ? 4 * pick(2 * PG / 4) : rand_ptr();
		a[2] = pick(2) ? 0 : rng_next(&rs); a[3] = 1 + pick(200000);
		break;
	case SYS_shm_wake:
		a[0] = pick(4) ? rand_handle() : 0; a[1] = pick(2) ? 4 * pick(2 * PG / 4) : rand_ptr();
		a[2] = pick(2) ? pick(4) : rng_next(&rs);
		break;
	case SYS_trace_ctl: a[0] = pick(2) ? 0 : (TRACE_ALL + 1) << pick(50); a[1] = pick(2) ? 0 : rand_any(); break;
	case SYS_trace_mark: a[1] = pick(3) ? rand_ptr() : 0; break;
	case SYS_kill: /* we have no children: ourselves, our parent, or tids that cannot exist */
		a[0] = (u64[]){(u64)self, (u64)self + (1UL << 32), 0, (u64)-1, rng_next(&rs), 1}[pick(6)];
		break;
	default: break;
	}
	long r = vmk_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (is_unknown) {
		if (r != -ENOSYS && undocumented++ < 5) printf("# t_fuzz: unknown syscall %ld gave %ld\n", nr, r);
		counts[6]++;
		return;
	}
	tally(nr, r);
	if (r < 0) return;
	switch (nr) {
	case SYS_shm_create:
	case SYS_shm_share:
		if (nr == SYS_shm_share && a[1] != (u64)self) break;
		if (nhandles < (int)ARRAY_SIZE(handles)) handles[nhandles++] = (u64)r;
		else vmk_shm_close((u64)r);
		break;
	case SYS_shm_map:
		if (nmaps < (int)ARRAY_SIZE(maps)) maps[nmaps++] = (u64)r;
		else vmk_shm_unmap((u64)r);
		break;
	case SYS_shm_unmap: forget_map(a[0]); break;
	case SYS_shm_close: forget_handle(a[0]); break;
	default: break;
	}
}

static int fuzzer(u64 index)
{
	rs = SEED + index * 0x1000193ULL;
	for (u32 i = 0; i < sizeof(scratch); i++) scratch[i] = (u8)(1 + rng_next(&rs) % 255);
	u64 mask_before = (u64)vmk_trace_ctl(0, 0);
	for (int i = 0; i < CALLS_PER_FUZZER; i++) one_call();
	vmk_trace_ctl(mask_before, TRACE_ALL & ~mask_before);
	printf("# t_fuzz fuzzer %llu: ok=%ld EFAULT=%ld EINVAL=%ld EBADF=%ld EACCES=%ld ENOMEM=%ld ENOSYS=%ld "
	       "other=%ld undocumented=%ld\n",
	       (unsigned long long)index, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
	       counts[6], counts[7], undocumented);
	/* The kernel still works for us: a fresh object maps, holds data and goes away cleanly. */
	while (nmaps) vmk_shm_unmap(maps[--nmaps]);
	while (nhandles) vmk_shm_close(handles[--nhandles]);
	long h = vmk_shm_create(PG, 0);
	if (h <= 0) return 2;
	long addr = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (addr <= 0) return 3;
	*(volatile u64 *)addr = 0x600d;
	if (*(volatile u64 *)addr != 0x600d) return 4;
	if (vmk_shm_unmap(addr) || vmk_shm_close(h)) return 5;
	return undocumented ? 1 : 0;
}

static void test_fuzz(void)
{
	long ctl = vmk_shm_create(PG, 0), data = vmk_shm_create(VICTIM_PAGES * PG, 0);
	REQUIRE(ctl > 0 && data > 0);
	long ca = vmk_shm_map(ctl, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(ca > 0);
	struct victim_ctl *c = (struct victim_ctl *)ca;
	u64 hs[2] = {(u64)ctl, (u64)data};
	long vtid = vmk_spawn(PROG, (const char *const[]){PROG, "victim", NULL}, hs, 2, 0);
	REQUIRE(vtid > 0);
	/* The victim's handles are its own now; ours go, so the fuzzers' tasks cannot be handed them. */
	CHECK_EQ(vmk_shm_close(data), 0);
	CHECK(wait_for_u64(&c->ready, 1, 30 * 1000000000ULL));

	long tids[FUZZERS];
	char idx[FUZZERS][4];
	for (int i = 0; i < FUZZERS; i++) {
		snprintf(idx[i], sizeof(idx[i]), "%d", i);
		tids[i] = spawn_with(PROG, NULL, 0, "fuzzer", idx[i], NULL);
		CHECK(tids[i] > 0);
	}
	for (int i = 0; i < FUZZERS; i++) {
		if (tids[i] <= 0) continue;
		int st = wait_status(tids[i]);
		if (st != 0) printf("# t_fuzz: fuzzer %d ended with status %d\n", i, st);
		CHECK_EQ(st, 0);
	}
	store_u64(&c->done, 1);
	CHECK_EQ(wait_status(vtid), 0);
	CHECK_EQ(load_u64(&c->bad), 0);
	printf("# t_fuzz: victim verified its data %llu times\n", (unsigned long long)load_u64(&c->passes));
	vmk_shm_unmap(ca);
	CHECK_EQ(vmk_shm_close(ctl), 0);
	struct vmk_vm_stats st;
	CHECK_EQ(vmk_vm_stats(&st), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "victim") == 0) return victim();
	if (argc > 2 && strcmp(argv[1], "fuzzer") == 0) return fuzzer(strtoul(argv[2], NULL, 10));
	if (argc > 1) return 99;
	ktap_begin("t_fuzz");
	ktap_run("fuzz_100000_calls", test_fuzz);
	return ktap_end();
}
