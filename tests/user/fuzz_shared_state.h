/* t_fuzz_shared's state and argument pickers: the control page the boss and workers share, one worker's
 * view (its handles with their rights, its mappings, stale and foreign values, its kids), the pickers
 * that make valid and hostile arguments from it (handles of five kinds, pointers, sizes, offsets), the
 * bookkeeping that keeps that view true as calls succeed, and the checks of a result (the documented
 * error set of each call, docs/abi.md's table; -EACCES for a missing right). Included once, by
 * tests/user/t_fuzz_shared.c (a program is one .c file, user/build.mk), which holds the calls, the
 * worker, the boss and the slot check. */
#ifndef TESTS_USER_FUZZ_SHARED_STATE_H
#define TESTS_USER_FUZZ_SHARED_STATE_H

#include "user/vmk.h"

#define PROG "/t_fuzz_shared"
#define PG 4096UL
#define WORKERS 3
#define NOBJ 4
#define MAXH 48
#define MAXM 48
#define MAXKIDS 3
#define MS 1000000ULL

struct ctl {
	u64 stop;                    /* boss: round over */
	u64 go;                      /* boss: tids are in */
	u64 tids[WORKERS];
	u64 own[WORKERS][8];         /* each worker's own handle values (foreign in the others) */
	u64 gift[WORKERS][WORKERS];  /* gift[i][j]: a value worker i shared into worker j */
	u64 stale[WORKERS][4];       /* values worker i closed */
	u32 words[64];               /* futex words */
	u64 bad[WORKERS];            /* undocumented results seen */
	u64 ops[WORKERS];
	u64 phase[WORKERS];          /* last syscall started (for a hang report) */
};

static u64 rs;
static u64 g_seed;
static int me = -1;
static struct ctl *C;
static u64 ctl_handle;
static u8 scratch[3 * PG] __aligned(PG);
static u64 hs[MAXH];
static u64 hrights[MAXH];
static int nh;
static u64 stale[16];
static int nstale;
struct mp {
	u64 addr, handle, len, prot;
};
static struct mp maps[MAXM];
static int nm;
static u64 dead_maps[8];
static int ndead;
static long kids[MAXKIDS];
static int nkids;
static long bad;
static u64 init_hs[8];
static int ninit;

static u64 pick(u64 n) { return n ? rng_next(&rs) % n : 0; }

static void note_bad(long nr, const u64 *a, long r, const char *why)
{
	bad++;
	if (C && me >= 0) __atomic_fetch_add(&C->bad[me], 1, __ATOMIC_RELAXED);
	if (bad <= 8)
		printf("# t_fuzz_shared BAD seed=%llu w=%d nr=%ld (%llx %llx %llx %llx %llx %llx) = %ld: %s\n",
		       (unsigned long long)g_seed, me, nr, (unsigned long long)a[0], (unsigned long long)a[1],
		       (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
		       (unsigned long long)a[5], r, why);
}

/* The documented error set of each call (docs/abi.md's table). */
static bool documented(long nr, long r)
{
	if (r >= 0) return true;
	long e = -r;
	static const struct { long nr; int e[12]; } t[] = {
		{SYS_spawn, {EFAULT, EINVAL, E2BIG, EPERM, EBADF, ENOENT, ENOEXEC, EAGAIN, ENOMEM}},
		{SYS_wait, {ECHILD, EFAULT}},
		{SYS_yield, {0}}, {SYS_getpid, {0}},
		{SYS_write, {EBADF, EINVAL, EFAULT}},
		{SYS_clock_gettime, {EFAULT}}, {SYS_sleep, {0}},
		{SYS_handles, {EFAULT}}, {SYS_kill, {ESRCH, EPERM}},
		{SYS_shm_create, {EINVAL, ENOMEM, EMFILE}},
		{SYS_shm_map, {EBADF, EACCES, EINVAL, EPERM, EMFILE, ENOMEM}},
		{SYS_shm_unmap, {EINVAL}},
		{SYS_shm_resize, {EBADF, EACCES, EINVAL, EPERM, ENOMEM}},
		{SYS_shm_share, {EBADF, EACCES, EINVAL, ESRCH, EMFILE}},
		{SYS_shm_close, {EBADF}}, {SYS_shm_info, {EBADF, EFAULT}},
		{SYS_shm_seal, {EBADF, EACCES, EINVAL, EPERM, EBUSY}},
		{SYS_shm_read, {EBADF, EACCES, EFAULT}},
		{SYS_shm_write, {EBADF, EACCES, EPERM, EFAULT}},
		{SYS_shm_wait, {EBADF, EACCES, EFAULT, EINVAL, ERANGE, EAGAIN, ETIMEDOUT, EPIPE}},
		{SYS_shm_wake, {EBADF, EACCES, EFAULT, EINVAL, ERANGE}},
		{SYS_shm_list, {EINVAL, EFAULT}},
		{SYS_vm_stats, {EFAULT}}, {SYS_vm_dump, {EPERM}},
		{SYS_trace_ctl, {EINVAL, EPERM}}, {SYS_trace_mark, {EFAULT, EINVAL}},
	};
	for (u32 i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].nr == nr) {
			for (int j = 0; j < 12 && t[i].e[j]; j++)
				if (t[i].e[j] == e) return true;
			return false;
		}
	return e == ENOSYS;
}

/* ---- argument generators ---- */

static u64 valid_handle(void) { return nh ? hs[pick((u64)nh)] : 0; }

static u64 foreign_handle(void)
{
	if (!C) return 0;
	int w = (int)pick(WORKERS);
	if (w == me) w = (w + 1) % WORKERS;
	return load_u64(&C->own[w][pick(8)]);
}

/* Kind of handle: 0 valid, 1 stale, 2 foreign, 3 forged, 4 zero/junk. */
static u64 rand_handle(int *kind)
{
	int k = (int)pick(10);
	u64 h = 0;
	if (k < 5) { *kind = 0; h = valid_handle(); if (h) return h; k = 9; }
	if (k == 5 && nstale) { *kind = 1; return stale[pick((u64)nstale)]; }
	if (k == 6) { *kind = 2; h = foreign_handle(); if (h) return h; }
	if (k == 7 && nh) {
		*kind = 3;
		h = hs[pick((u64)nh)];
		switch (pick(5)) {
		case 0: return h ^ (1UL << pick(6));          /* another index */
		case 1: return h ^ (1UL << (6 + pick(32)));   /* another generation */
		case 2: return h ^ (1UL << (38 + pick(25)));  /* another owner tag */
		case 3: return h | (1UL << 63);
		default: return h + 64;
		}
	}
	*kind = 4;
	switch (pick(4)) {
	case 0: return 0;
	case 1: return ~0UL;
	case 2: return pick(128);
	default: return rng_next(&rs);
	}
}

static u64 good_map(void) { return nm ? maps[pick((u64)nm)].addr : 0; }

/* A pointer the kernel may write to without harming us: scratch or a fuzz mapping (maybe cut by a peer's
 * shrink, maybe read-only), or a hostile one. */
static u64 rand_ptr(void)
{
	switch (pick(16)) {
	case 0: return 0;
	case 1: return 0xffffffc000000000UL + pick(1UL << 30);      /* kernel direct map */
	case 2: return 0xffffffff80000000UL + 8 * pick(1UL << 17);  /* kernel image */
	case 3: return VMK_SHM_BASE + 8 * pick(1UL << 24);           /* probably unmapped shm window */
	case 4: return VMK_USER_TOP - 8 * pick(16);                 /* straddles the top */
	case 5: return (u64)(uptr)scratch + pick(PG);                /* unaligned */
	case 6: return (u64)(uptr)scratch + 8 * pick(PG / 8);
	case 7: return (u64)(uptr)scratch + PG - 8 * pick(4);        /* into the next page */
	case 8: case 9: if (nm) { struct mp *m = &maps[pick((u64)nm)]; return m->addr + 8 * pick((m->len + PG) / 8); } return 0;
	case 10: if (nm) { struct mp *m = &maps[pick((u64)nm)]; return m->addr + m->len - 8 * pick(8); } return 1;
	case 11: return ndead ? dead_maps[pick((u64)ndead)] : 0x10000; /* unmapped by us */
	case 12: return 0x10000 + 8 * pick(PG / 8);                  /* our text: read-only */
	case 13: return VMK_STACK_TOP - VMK_STACK_SIZE - 8 * pick(64);/* just below the stack */
	case 14: return (u64)-8 * (1 + pick(64));                    /* wraps */
	default: return rng_next(&rs) & ~7UL;
	}
}

static u64 rand_size(void)
{
	switch (pick(9)) {
	case 0: return pick(64);
	case 1: return PG * (1 + pick(8));
	case 2: return PG * (1 + pick(64)) + pick(PG);
	case 3: return 1UL << pick(64);
	case 4: return ~0UL - pick(PG);
	case 5: return VMK_SHM_MAX_SIZE + pick(2) * PG - pick(2);
	case 6: return (1UL << 63) + pick(PG);
	case 7: return 2UL * 1024 * 1024 * (1 + pick(2));
	default: return rng_next(&rs);
	}
}

static u64 rand_off(void)
{
	switch (pick(5)) {
	case 0: case 1: return 4 * pick(16 * PG / 4);
	case 2: return pick(16 * PG);
	case 3: return ~0UL - pick(PG);
	default: return rand_size();
	}
}

/* ---- bookkeeping ---- */

static void add_handle(u64 h, u64 rights)
{
	if (nh < MAXH) { hs[nh] = h; hrights[nh++] = rights; }
	else vmk_shm_close(h);
}

static void drop_handle(u64 h)
{
	for (int i = 0; i < nh; i++)
		if (hs[i] == h) { hs[i] = hs[--nh]; hrights[i] = hrights[nh]; break; }
	if (nstale < (int)ARRAY_SIZE(stale)) stale[nstale++] = h;
	else stale[pick(ARRAY_SIZE(stale))] = h;
	if (C && me >= 0) C->stale[me][pick(4)] = h;
}

static void drop_map(u64 a)
{
	for (int i = 0; i < nm; i++)
		if (maps[i].addr == a) { maps[i] = maps[--nm]; break; }
	if (ndead < (int)ARRAY_SIZE(dead_maps)) dead_maps[ndead++] = a;
	else dead_maps[pick(ARRAY_SIZE(dead_maps))] = a;
}

static long rights_of(u64 h)
{
	for (int i = 0; i < nh; i++)
		if (hs[i] == h) return (long)hrights[i];
	return -1;
}

/* A held handle lacking a right the call needs must give -EACCES: anything else (success above all) is
 * a rights hole. */
static void expect_rights(long nr, const u64 *a, long r, int kind, u64 h, u64 need)
{
	long have = rights_of(h);
	if (kind != 0 || have < 0 || ((u64)have & need) == need) return;
	if (r != -EACCES) note_bad(nr, a, r, "missing right not EACCES");
}

static bool is_stale(u64 h)
{
	for (int i = 0; i < nstale; i++)
		if (stale[i] == h) return true;
	return false;
}

static bool holds(u64 h)
{
	for (int i = 0; i < nh; i++)
		if (hs[i] == h) return true;
	return h == ctl_handle;
}

#endif
