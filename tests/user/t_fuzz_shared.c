/* t_fuzz_shared: stateful multi-task syscall fuzzer (t_fuzz is the one-task one). A boss runs rounds; each round it creates a few shm
 * objects and spawns WORKERS workers that hold them with random rights, push handles on each other, and
 * each make a long seeded random sequence of every system call, with valid and hostile arguments (wild,
 * kernel, unaligned, page-crossing pointers, sizes near 2^64, stale / forged / foreign handles) while the
 * others resize, map, unmap, copy, wait, wake, seal and exit; the boss kills some of them mid-operation and
 * some die of their own faults. Every result must be a documented one for its call, and a few are checked
 * exactly (stale or foreign handles: -EBADF; a second unmap: -EINVAL; closing a listed handle: 0).
 * Top level: "/t_fuzz_shared [seed [rounds [ops [boss_quota]]]]" (best as init: "init=/t_fuzz_shared 7 5 6000 1500", so
 * that the kernel's own kernel_leak_check_after_all_tasks runs right after it), or with no arguments from
 * init's test list (seed 0x5eed2): records SYS_vm_stats, runs the boss, and after it is reaped checks that
 * live areas and its account come back; then fills every free task slot with a child that checks that
 * nothing is still charged to its slot and that it can own VMK_MAX_OBJECTS objects. Workers run without
 * VMK_SPAWN_DIAG, so a made-up spawn of this program cannot start another fuzz. */
#include "user/vmk.h"
#include "tests/user/fuzz_shared_state.h"

/* ---- the worker's calls ---- */

static long okc[40], allc[40];
static long call(long nr, u64 *a)
{
	if (C && me >= 0) C->phase[me] = (u64)nr;
	long r = vmk_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (!documented(nr, r)) note_bad(nr, a, r, "undocumented result");
	if (nr >= 0 && nr < 40) { allc[nr]++; okc[nr] += r >= 0; }
	return r;
}

/* A handle we know is not ours must give -EBADF (it is checked first, abi.h ERROR ORDER). */
static void expect_badf(long nr, const u64 *a, long r, int kind, u64 h)
{
	if (kind == 0 || holds(h)) return;
	if ((kind == 1 || kind == 2 || kind == 3) && r != -EBADF) {
		if ((nr == SYS_shm_wait || nr == SYS_shm_wake) && h == 0) return;
		note_bad(nr, a, r, kind == 1 ? "stale handle not EBADF" : kind == 2 ? "foreign handle not EBADF"
											: "forged handle not EBADF");
	}
}

static void touch_mapping(void)
{
	if (!nm) return;
	struct mp *m = &maps[pick((u64)nm)];
	/* Within what the object had when we last looked; a peer's shrink may have cut it: then we die,
	 * which is what the fault path is for. */
	u64 off = 8 * pick(m->len / 8);
	volatile u64 *p = (volatile u64 *)(m->addr + off);
	if ((m->prot & PROT_WRITE) && pick(2)) *p = rng_next(&rs);
	else (void)*p;
}

static long spawn_errs[64];
static void spawn_kid(void)
{
	if (nkids >= MAXKIDS) return;
	u64 hh[4];
	u64 n = pick(4);
	for (u64 i = 0; i < n; i++) { int k; hh[i] = pick(8) && nh ? valid_handle() : rand_handle(&k); }
	char s[24];
	snprintf(s, sizeof(s), "%llu", (unsigned long long)rng_next(&rs));
	const char *argv[] = {PROG, "kid", s, NULL};
	u64 a[6] = {(u64)(uptr)PROG, (u64)(uptr)argv, (u64)(uptr)hh, n, pick(2) ? 0 : pick(3) ? pick(300) : pick(100000), pick(8) ? 0 : 1};
	long r = call(SYS_spawn, a);
	if (r > 0) kids[nkids++] = r;
	else if (r > -64) spawn_errs[-r]++;
}

static void reap_kid(bool kill)
{
	if (!nkids) return;
	int i = (int)pick((u64)nkids);
	if (kill) {
		u64 a[6] = {(u64)kids[i], 0, 0, 0, 0, 0};
		long r = call(SYS_kill, a);
		if (r != 0 && r != -ESRCH) note_bad(SYS_kill, a, r, "kill of own child");
	}
	int st = 0;
	u64 a[6] = {(u64)kids[i], pick(4) ? (u64)(uptr)&st : rand_ptr(), 0, 0, 0, 0};
	long r = call(SYS_wait, a);
	if (r == 0 || r == -ECHILD) kids[i] = kids[--nkids];
	if (r == -ECHILD) note_bad(SYS_wait, a, r, "own child gave ECHILD");
}

static void one_call(void)
{
	u64 a[6];
	for (int i = 0; i < 6; i++) a[i] = pick(2) ? rand_ptr() : rand_size();
	int kind = 0;
	long r;
	switch (pick(40)) {
	case 0: /* spawn: hostile, or a real kid */
		if (pick(3) == 0) { spawn_kid(); return; }
		a[0] = pick(3) ? rand_ptr() : (u64)(uptr)PROG;
		a[1] = pick(2) ? rand_ptr() : 0;
		a[2] = rand_ptr(); a[3] = pick(12);
		a[4] = pick(2) ? pick(100) : rand_size(); a[5] = pick(3) ? 0 : rand_size();
		if (a[0] == (u64)(uptr)PROG && a[1] == 0 && a[3] <= 8 && a[4] <= VMK_MAX_QUOTA_PAGES && a[5] <= 1) {
			a[0] = (u64)(uptr)"no_such_prog";
		}
		r = call(SYS_spawn, a);
		if (r > 0) { if (nkids < MAXKIDS) kids[nkids++] = r; else { u64 b[6] = {(u64)r}; call(SYS_kill, b); vmk_wait(r, NULL); } }
		return;
	case 1: reap_kid(pick(2)); return;
	case 2: /* wait: others' tasks, garbage, bad pointers */
		a[0] = pick(2) ? (C ? load_u64(&C->tids[pick(WORKERS)]) : 1) : rand_size();
		a[1] = rand_ptr();
		for (int i = 0; i < nkids; i++) if ((long)a[0] == kids[i]) return;
		r = call(SYS_wait, a);
		if (r != -ECHILD && r != -EFAULT) note_bad(SYS_wait, a, r, "wait for a non-child");
		return;
	case 3: /* kill: peers (not below us: EPERM), self, garbage */
		a[0] = pick(2) ? (C ? load_u64(&C->tids[pick(WORKERS)]) : 1) : (pick(2) ? (u64)vmk_getpid() : rand_size());
		for (int i = 0; i < nkids; i++) if ((long)a[0] == kids[i]) return;
		r = call(SYS_kill, a);
		if (r == 0) note_bad(SYS_kill, a, r, "killed a task not below us");
		return;
	case 4: a[0] = 1 + pick(2); a[1] = rand_ptr(); a[2] = pick(4) ? 0 : (pick(2) ? VMK_WRITE_MAX + 1 + pick(1000) : rand_size());
		if (a[2] && a[2] <= VMK_WRITE_MAX) a[2] = 0;
		if (pick(2)) a[0] = rand_size();
		call(SYS_write, a); return;
	case 5: a[0] = rand_ptr(); call(SYS_clock_gettime, a); return;
	case 6: a[0] = pick(4) ? 0 : pick(3 * MS); call(SYS_sleep, a); return;
	case 7: a[0] = rand_ptr(); a[1] = pick(2) ? pick(8) : rand_size(); call(SYS_handles, a); return;
	case 8: a[0] = rand_ptr(); call(SYS_vm_stats, a); return;
	case 9: call(SYS_vm_dump, a); return; /* not diag: EPERM (the boss spawns us without it) */
	case 10: a[0] = 0; a[1] = pick(2) ? rand_size() : TRACE_ALL; call(SYS_trace_ctl, a); return;
	case 11: a[0] = rng_next(&rs); a[1] = pick(3) ? rand_ptr() : 0; call(SYS_trace_mark, a); return;
	case 12: { static const long unk[] = {10, 11, 15, 29, 30, 31, 36, 37, 1000, -1, 1L << 40};
		long nr = unk[pick(ARRAY_SIZE(unk))];
		r = vmk_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (r != -ENOSYS) note_bad(nr, a, r, "unknown number not ENOSYS");
		return; }
	case 13: case 14: /* create */
		a[0] = pick(3) ? PG * (1 + pick(16)) : rand_size(); a[1] = pick(4) ? pick(2) : rand_size();
		r = call(SYS_shm_create, a);
		if (r > 0) add_handle((u64)r, SHM_ALL);
		return;
	case 15: case 16: case 17: /* map */
		a[0] = rand_handle(&kind);
		a[1] = pick(2) ? 0 : (pick(2) ? VMK_SHM_BASE + PG * pick(1UL << 20) : rand_ptr());
		a[2] = pick(2) ? 0 : (pick(2) ? PG * pick(64) : rand_size());
		a[3] = pick(5) ? 1 + pick(2) + (pick(4) ? 0 : SHM_MAP_REQUIRE_NOSHRINK) : rand_size();
		r = call(SYS_shm_map, a);
		expect_badf(SYS_shm_map, a, r, kind, a[0]);
		expect_rights(SYS_shm_map, a, r, kind, a[0], SHM_MAP | SHM_R | ((a[3] & PROT_WRITE) ? SHM_W : 0));
		if (r > 0) {
			struct vmk_shm_info in;
			u64 len = vmk_shm_info(a[0], &in) == 0 ? in.size : PG;
			if (nm < MAXM) maps[nm++] = (struct mp){(u64)r, a[0], len, a[3]};
			else vmk_shm_unmap((u64)r);
		}
		return;
	case 18: case 19: /* unmap */
		a[0] = (nm && pick(3)) ? good_map() : (pick(2) && ndead ? dead_maps[pick((u64)ndead)] : rand_ptr() + pick(2) * 4);
		r = call(SYS_shm_unmap, a);
		for (int i = 0; i < ndead; i++)
			if (dead_maps[i] == a[0] && r != -EINVAL) {
				bool live = false;
				for (int j = 0; j < nm; j++) live |= maps[j].addr == a[0];
				if (!live) note_bad(SYS_shm_unmap, a, r, "second unmap not EINVAL");
			}
		if (r == 0) {
			bool known = false;
			for (int j = 0; j < nm; j++) known |= maps[j].addr == a[0];
			if (!known) note_bad(SYS_shm_unmap, a, r, "unmapped an address we never got");
			drop_map(a[0]);
		}
		return;
	case 20: case 21: /* resize */
		a[0] = rand_handle(&kind);
		a[1] = pick(4) ? PG * pick(24) + (pick(4) ? 0 : pick(PG)) : rand_size();
		r = call(SYS_shm_resize, a);
		expect_badf(SYS_shm_resize, a, r, kind, a[0]);
		expect_rights(SYS_shm_resize, a, r, kind, a[0], SHM_RESIZE);
		return;
	case 22: case 23: /* share: to self, peers, the boss, garbage */
		a[0] = rand_handle(&kind);
		switch (pick(4)) {
		case 0: a[1] = (u64)vmk_getpid(); break;
		case 1: case 2: a[1] = C ? load_u64(&C->tids[pick(WORKERS)]) : 1; break;
		default: a[1] = pick(2) && nkids ? (u64)kids[pick((u64)nkids)] : rand_size(); break;
		}
		a[2] = pick(5) ? 1 + pick(SHM_ALL) : rand_size();
		r = call(SYS_shm_share, a);
		expect_badf(SYS_shm_share, a, r, kind, a[0]);
		if (a[2] && !(a[2] & ~SHM_ALL)) {
			expect_rights(SYS_shm_share, a, r, kind, a[0], SHM_SHARE);
			if (kind == 0 && rights_of(a[0]) >= 0) expect_rights(SYS_shm_share, a, r, kind, a[0], a[2]);
		}
		if (r > 0) {
			if (a[1] == (u64)vmk_getpid()) add_handle((u64)r, a[2]);
			else if (C)
				for (int j = 0; j < WORKERS; j++)
					if (load_u64(&C->tids[j]) == a[1]) C->gift[me][j] = (u64)r;
		}
		return;
	case 24: /* close */
		a[0] = rand_handle(&kind);
		if (a[0] == ctl_handle) return;
		r = call(SYS_shm_close, a);
		expect_badf(SYS_shm_close, a, r, kind, a[0]);
		if (kind == 0 && r != 0) note_bad(SYS_shm_close, a, r, "close of a held handle");
		if (r == 0) { if (!holds(a[0])) note_bad(SYS_shm_close, a, r, "closed a handle we do not hold"); drop_handle(a[0]); }
		return;
	case 25: { /* use a gift from a peer (a value shared into us) */
		if (!C) return;
		u64 g = load_u64(&C->gift[pick(WORKERS)][me]);
		if (!g || holds(g)) return;
		struct vmk_shm_info in;
		a[0] = g; a[1] = (u64)(uptr)&in;
		r = call(SYS_shm_info, a);
		if (r == 0) add_handle(g, in.rights);
		else if (r != -EBADF) note_bad(SYS_shm_info, a, r, "gift info");
		return; }
	case 26: { struct vmk_shm_info in;
		a[0] = rand_handle(&kind); a[1] = pick(2) ? rand_ptr() : (u64)(uptr)&in;
		r = call(SYS_shm_info, a); expect_badf(SYS_shm_info, a, r, kind, a[0]);
		if (r == 0 && a[1] == (u64)(uptr)&in && kind == 0 && rights_of(a[0]) >= 0 && in.rights != (u64)rights_of(a[0]))
			note_bad(SYS_shm_info, a, (long)in.rights, "rights changed");
		if (r == 0 && a[1] == (u64)(uptr)&in && (in.size & (PG - 1) || in.pages != in.size / PG || in.seals & ~SHM_SEAL_ALL || in.rights & ~SHM_ALL))
			note_bad(SYS_shm_info, a, (long)in.size, "info fields inconsistent");
		return; }
	case 27: a[0] = rand_handle(&kind); a[1] = pick(3) ? pick(16) : rand_size();
		r = call(SYS_shm_seal, a); expect_badf(SYS_shm_seal, a, r, kind, a[0]);
		if (a[1]) expect_rights(SYS_shm_seal, a, r, kind, a[0], SHM_SEAL);
		if (r >= 0 && a[1] <= SHM_SEAL_ALL && ((u64)r & a[1]) != a[1]) note_bad(SYS_shm_seal, a, r, "seals added but not shown");
		return;
	case 28: case 29: case 30: case 31: { /* read / write */
		bool wr = pick(2);
		a[0] = rand_handle(&kind); a[1] = rand_off(); a[2] = rand_ptr();
		a[3] = pick(3) ? pick(4 * PG) : rand_size();
		/* A read into scratch stays in scratch. */
		if (!wr && a[2] >= (u64)(uptr)scratch && a[2] < (u64)(uptr)scratch + sizeof(scratch))
			a[3] = MIN(a[3], (u64)(uptr)scratch + sizeof(scratch) - a[2]);
		long nr = wr ? SYS_shm_write : SYS_shm_read;
		r = call(nr, a);
		expect_badf(nr, a, r, kind, a[0]);
		expect_rights(nr, a, r, kind, a[0], wr ? SHM_W : SHM_R);
		if (r > 0 && (u64)r > a[3]) note_bad(nr, a, r, "copied more than asked");
		return; }
	case 32: case 33: /* wait */
		if (pick(3) == 0) { /* on the ctl's words, through the mapping (handle 0) */
			a[0] = 0; a[1] = (u64)(uptr)&C->words[pick(64)];
		} else {
			a[0] = pick(6) ? rand_handle(&kind) : 0;
			a[1] = a[0] ? rand_off() : (pick(2) ? rand_ptr() : good_map() + 4 * pick(2 * PG / 4));
		}
		a[2] = pick(2) ? 0 : rng_next(&rs);
		a[3] = pick(8) ? 1 + pick(5 * MS) : (pick(2) ? 0 : rand_size());
		if (a[3] == 0 && a[0] == 0 && a[1] >= (u64)(uptr)C && a[1] < (u64)(uptr)C + PG) a[3] = MS; /* ctl: no peer bound to wake */
		if (a[3] == 0 || a[3] > 50 * MS) {
			/* Untimed (or long) waits only on the first page of an object the boss made: the boss
			 * wakes every word there until every worker is done. Elsewhere two workers could
			 * legitimately wait on each other forever. */
			bool boss_obj = false;
			for (int i = 0; i < ninit; i++) boss_obj |= a[0] == init_hs[i];
			if (!boss_obj || a[1] >= PG || pick(2)) a[3] = 1 + pick(20 * MS);
		}
		r = call(SYS_shm_wait, a);
		expect_badf(SYS_shm_wait, a, r, kind, a[0]);
		if (a[0]) expect_rights(SYS_shm_wait, a, r, kind, a[0], SHM_R);
		return;
	case 34: /* wake */
		a[0] = pick(5) ? rand_handle(&kind) : 0;
		a[1] = a[0] ? rand_off() : (pick(2) ? (u64)(uptr)&C->words[pick(64)] : good_map() + 4 * pick(2 * PG / 4));
		a[2] = pick(2) ? pick(4) : rand_size();
		r = call(SYS_shm_wake, a);
		expect_badf(SYS_shm_wake, a, r, kind, a[0]);
		if (a[0]) expect_rights(SYS_shm_wake, a, r, kind, a[0], SHM_R);
		return;
	case 35: { /* list, then close what peers pushed on us */
		u64 out[VMK_MAX_HANDLES];
		a[0] = pick(3) ? (u64)(uptr)out : rand_ptr(); a[1] = pick(3) ? VMK_MAX_HANDLES : pick(4); a[2] = pick(4) ? pick(2) : rand_size();
		if (a[0] == (u64)(uptr)out) a[1] = MIN(a[1], (u64)VMK_MAX_HANDLES);
		else if (a[0] >= (u64)(uptr)scratch && a[0] < (u64)(uptr)scratch + sizeof(scratch))
			a[1] = MIN(a[1], ((u64)(uptr)scratch + sizeof(scratch) - a[0]) / 8);
		r = call(SYS_shm_list, a);
		if (r > VMK_MAX_HANDLES) note_bad(SYS_shm_list, a, r, "more handles than the table");
		return; }
	case 36: touch_mapping(); return;
	case 37: call(SYS_yield, a); return;
	case 38: /* a rare deliberate death, or a rare exit holding everything */
		if (pick(200) == 0) { volatile u64 *p = (volatile u64 *)(uptr)rand_ptr(); *p = 1; }
		if (pick(400) == 0) vmk_exit(0);
		return;
	default: { /* copies whose buffer is a mapping of the same object, page-crossing */
		if (!nm) return;
		struct mp *m = &maps[pick((u64)nm)];
		bool wr = pick(2);
		a[0] = m->handle; a[1] = PG * pick(4) + pick(2) * (PG - 8); a[2] = m->addr + PG - pick(2) * 8;
		a[3] = pick(4 * PG);
		long nr = wr ? SYS_shm_write : SYS_shm_read;
		call(nr, a);
		return; }
	}
}

static int worker(int idx, u64 seed, u64 ops)
{
	me = idx;
	g_seed = seed;
	rs = seed * 0x9e3779b97f4a7c15ULL + (u64)idx * 0x1000193ULL + 1;
	u64 in[16];
	long n = vmk_handles(in, 16);
	if (n < 1) return 90;
	ctl_handle = in[0];
	long ca = vmk_shm_map(ctl_handle, 0, 0, PROT_READ | PROT_WRITE);
	if (ca <= 0) return 91;
	C = (struct ctl *)ca;
	for (long i = 1; i < n; i++) {
		struct vmk_shm_info inf;
		add_handle(in[i], vmk_shm_info(in[i], &inf) == 0 ? inf.rights : 0);
		if (ninit < 8) init_hs[ninit++] = in[i];
	}
	for (u32 i = 0; i < sizeof(scratch); i++) scratch[i] = (u8)rng_next(&rs);
	if (!wait_for_u64(&C->go, 1, 30000 * MS)) return 92;
	for (int i = 0; i < nh && i < 8; i++) C->own[me][i] = hs[i];
	for (u64 i = 0; i < ops && !load_u64(&C->stop); i++) {
		one_call();
		C->ops[me] = i + 1;
	}
	/* Clean-up: every handle the kernel lists is ours to close. */
	C->phase[me] = 1000;
	while (nkids) reap_kid(true);
	while (nm) { u64 a = maps[nm - 1].addr; if (vmk_shm_unmap(a)) { u64 z[6] = {a}; note_bad(SYS_shm_unmap, z, -1, "unmap of a live mapping failed"); } nm--; }
	u64 out[VMK_MAX_HANDLES];
	long cnt = vmk_shm_list(out, VMK_MAX_HANDLES, 0);
	if (cnt < 0 || cnt > VMK_MAX_HANDLES) { u64 z[6] = {0}; note_bad(SYS_shm_list, z, cnt, "final list"); }
	for (long i = 0; i < cnt && i < VMK_MAX_HANDLES; i++) {
		if (out[i] == ctl_handle || out[i] == heap_handle()) continue;
		if (is_stale(out[i])) { u64 z[6] = {out[i]}; note_bad(SYS_shm_list, z, 0, "a closed handle listed"); }
		long r = vmk_shm_close(out[i]);
		if (r) { u64 z[6] = {out[i]}; note_bad(SYS_shm_close, z, r, "close of a listed handle"); }
	}
	C->phase[me] = 1001;
	char line[400];
	int o = snprintf(line, sizeof(line), "# t_fuzz_shared w%d ok/calls:", me);
	for (int i = 0; i < 40 && o < (int)sizeof(line) - 24; i++)
		if (allc[i]) o += snprintf(line + o, sizeof(line) - (u64)o, " %d:%ld/%ld", i, okc[i], allc[i]);
	if (g_seed % 8 == 0) {
		printf("%s\n", line);
		printf("# t_fuzz_shared w%d real spawns: ENOMEM %ld EBADF %ld EPERM %ld EAGAIN %ld EINVAL %ld\n", me, spawn_errs[ENOMEM],
		       spawn_errs[EBADF], spawn_errs[EPERM], spawn_errs[EAGAIN], spawn_errs[EINVAL]);
	}
	return bad ? 1 : 0;
}

/* A kid: maps what it got, touches it, maybe waits, exits (or is killed first). */
static int kid(u64 seed)
{
	rs = seed;
	u64 in[8];
	long n = vmk_handles(in, 8);
	for (long i = 0; i < n; i++) {
		long a = vmk_shm_map(in[i], 0, 0, PROT_READ | (pick(2) ? PROT_WRITE : 0));
		if (a > 0 && pick(2)) (void)*(volatile u32 *)a;
		if (a > 0 && pick(2)) vmk_shm_wait(in[i], 0, 0, 1 + pick(10 * MS));
		if (pick(3) == 0) vmk_shm_resize(in[i], PG * pick(8));
	}
	if (pick(2)) vmk_sleep(pick(5 * MS));
	return 0;
}

/* ---- the boss ---- */

/* Done: finished its clean-up, or dead (killed by a fault, or exited early) but not reaped yet. A
 * worker that made no progress for 300 ms is probed with a share of a 1-page object, which gives -ESRCH
 * for a task that has ended (and one handle it closes at clean-up, when it is alive). */
static u64 probe_h;
static u64 last_ops[WORKERS], last_change[WORKERS];
static bool worker_done(struct ctl *c, int w, long tid)
{
	if (load_u64(&c->phase[w]) == 1001) return true;
	u64 o = load_u64(&c->ops[w]) + load_u64(&c->phase[w]) * 1000003, t = now_ns();
	if (o != last_ops[w] || !last_change[w]) { last_ops[w] = o; last_change[w] = t; return false; }
	if (t - last_change[w] < 300 * MS) return false;
	last_change[w] = t;
	return vmk_shm_share(probe_h, tid, SHM_R) == -ESRCH;
}

static int boss(u64 seed, u64 rounds, u64 ops)
{
	g_seed = seed;
	rs = seed ^ 0xb055;
	int failures = 0;
	long killed_by_us = 0, died = 0, exited = 0;
	for (u64 round = 0; round < rounds; round++) {
		long hc = vmk_shm_create(PG, 0);
		if (hc <= 0) { printf("# t_fuzz_shared: boss ctl create %ld\n", hc); return 2; }
		long ph = vmk_shm_create(PG, 0);
		if (ph <= 0) return 2;
		probe_h = (u64)ph;
		for (int w = 0; w < WORKERS; w++) last_change[w] = 0;
		long ca = vmk_shm_map((u64)hc, 0, 0, PROT_READ | PROT_WRITE);
		if (ca <= 0) return 3;
		struct ctl *c = (struct ctl *)ca;
		u64 objs[NOBJ];
		for (int i = 0; i < NOBJ; i++) {
			long h = vmk_shm_create(PG * (1 + pick(16)) + (pick(8) ? 0 : 2 * 1024 * 1024), pick(4) ? 0 : SHM_F_HUGE);
			if (h == -ENOMEM) h = vmk_shm_create(PG, 0); /* a small quota: big or huge ones may not fit */
			if (h <= 0) {
				struct vmk_vm_stats st;
				vmk_vm_stats(&st);
				printf("# t_fuzz_shared: boss create %ld (quota %llu image %llu held %llu)\n", h,
				       (unsigned long long)st.quota_pages, (unsigned long long)st.image_pages,
				       (unsigned long long)st.held_pages);
				return 4;
			}
			objs[i] = (u64)h;
			if (pick(4) == 0) vmk_shm_seal((u64)h, pick(16) & ~SHM_SEAL_WRITE);
		}
		u64 shared_ctl = (u64)vmk_shm_share((u64)hc, vmk_getpid(), SHM_R | SHM_W | SHM_MAP);
		long tids[WORKERS];
		for (int w = 0; w < WORKERS; w++) {
			u64 hh[1 + NOBJ];
			u64 n = 0, copies[NOBJ];
			int nc = 0;
			hh[n++] = shared_ctl;
			for (int i = 0; i < NOBJ; i++) {
				if (pick(5) == 0) continue;
				long cpy = vmk_shm_share(objs[i], vmk_getpid(), 1 + pick(SHM_ALL));
				if (cpy > 0) { hh[n++] = (u64)cpy; copies[nc++] = (u64)cpy; }
			}
			char sd[24], ix[4], op[24];
			snprintf(sd, sizeof(sd), "%llu", (unsigned long long)(seed + round * 7919));
			snprintf(ix, sizeof(ix), "%d", w);
			snprintf(op, sizeof(op), "%llu", (unsigned long long)ops);
			const char *argv[] = {PROG, "worker", sd, ix, op, NULL};
			tids[w] = vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, (u64)(uptr)hh, n, 100 + pick(3000), 0);
			if (tids[w] <= 0) printf("# t_fuzz_shared: spawn worker %d: %ld\n", w, tids[w]);
			c->tids[w] = tids[w] > 0 ? (u64)tids[w] : 0;
			for (int i = 0; i < nc; i++) vmk_shm_close(copies[i]);
		}
		store_u64(&c->go, 1);
		/* While they run: the boss resizes and seals the originals, and kills one sometimes. */
		u64 t0 = now_ns();
		bool alive[WORKERS];
		for (int w = 0; w < WORKERS; w++) alive[w] = tids[w] > 0;
		u64 deadline = 120000 * MS;
		for (;;) {
			bool any = false;
			for (int w = 0; w < WORKERS; w++) any |= alive[w] && !worker_done(c, w, tids[w]);
			if (!any) break;
			if (now_ns() - t0 > deadline) {
				printf("# t_fuzz_shared: HANG seed=%llu round=%llu:", (unsigned long long)seed, (unsigned long long)round);
				for (int w = 0; w < WORKERS; w++) printf(" w%d ops=%llu phase=%llu", w, (unsigned long long)c->ops[w], (unsigned long long)c->phase[w]);
				printf("\n");
				failures++;
				break;
			}
			vmk_sleep(pick(3 * MS));
			switch (pick(8)) {
			case 0: vmk_shm_resize(objs[pick(NOBJ)], PG * (1 + pick(24))); break;
			case 1: if (pick(6) == 0) vmk_shm_seal(objs[pick(NOBJ)], 1UL << pick(4)); break;
			case 2: { int w = (int)pick(WORKERS);
				if (alive[w] && pick(48) == 0) { vmk_kill(tids[w]); alive[w] = false; killed_by_us++;
					int st = wait_status(tids[w]);
					if (st != VMK_STATUS_KILLED && st != 0) { printf("# t_fuzz_shared: killed worker %d status %d\n", w, st); }
				}
				break; }
			case 3: for (int i = 0; i < NOBJ; i++) for (u64 off = 0; off < 16 * PG; off += 4 * 64) vmk_shm_wake(objs[i], off, ~0UL); break;
			default: break;
			}
		}
		store_u64(&c->stop, 1);
		/* Wake every word of the objects' first pages (untimed waiters there) until every worker is done. */
		for (u64 t1 = now_ns();;) {
			for (int i = 0; i < NOBJ; i++)
				for (u64 off = 0; off < PG; off += 4) vmk_shm_wake(objs[i], off, ~0UL);
			bool any = false;
			for (int w = 0; w < WORKERS; w++) any |= alive[w] && !worker_done(c, w, tids[w]);
			if (!any) break;
			if (now_ns() - t1 > 30000 * MS) {
				printf("# t_fuzz_shared: HANG at round end seed=%llu round=%llu:", (unsigned long long)seed, (unsigned long long)round);
				for (int w = 0; w < WORKERS; w++) printf(" w%d ops=%llu phase=%llu", w, (unsigned long long)c->ops[w], (unsigned long long)c->phase[w]);
				printf("\n");
				failures++;
				for (int w = 0; w < WORKERS; w++) if (alive[w]) vmk_kill(tids[w]);
				break;
			}
			vmk_sleep(MS);
		}
		for (int w = 0; w < WORKERS; w++) {
			if (!alive[w]) continue;
			int st = wait_status(tids[w]);
			if (st == 0) exited++;
			else if (st == VMK_STATUS_KILLED) died++;
			else { printf("# t_fuzz_shared: worker %d seed=%llu status %d bad=%llu\n", w, (unsigned long long)(seed + round * 7919), st, (unsigned long long)c->bad[w]); failures++; }
		}
		for (int w = 0; w < WORKERS; w++) if (c->bad[w]) { failures++; }
		printf("# t_fuzz_shared round %llu: ops %llu %llu %llu\n", (unsigned long long)round, (unsigned long long)c->ops[0],
		       (unsigned long long)c->ops[1], (unsigned long long)c->ops[2]);
		vmk_shm_unmap((u64)ca);
		vmk_shm_close((u64)hc);
		vmk_shm_close(shared_ctl);
		for (int i = 0; i < NOBJ; i++) vmk_shm_close(objs[i]);
		vmk_shm_close(probe_h);
	}
	printf("# t_fuzz_shared boss: seed=%llu rounds=%llu exited=%ld died=%ld killed=%ld failures=%d\n",
	       (unsigned long long)seed, (unsigned long long)rounds, exited, died, killed_by_us, failures);
	return failures ? 1 : 0;
}

/* ---- after the fuzz: every task slot must start empty ---- */

/* A child in some slot: nothing may be charged to it but its image, and it must be able to own
 * VMK_MAX_OBJECTS objects (an owned[] count left over in the slot would refuse some with -EMFILE). */
static int slotcheck(void)
{
	u64 h[1];
	if (vmk_handles(h, 1) != 1) return 80;
	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st)) return 82;
	long ca = vmk_shm_map(h[0], 0, 0, PROT_READ | PROT_WRITE);
	if (ca <= 0) return 81;
	if (vmk_shm_close(h[0])) return 86; /* the mapping stays: the whole handle table is for the objects */
	volatile u64 *go = (volatile u64 *)ca;
	int r = 0;
	if (st.held_pages != st.image_pages) {
		printf("# t_fuzz_shared slotcheck: tid %ld holds %llu pages, image %llu\n", vmk_getpid(),
		       (unsigned long long)st.held_pages, (unsigned long long)st.image_pages);
		r = 83;
	}
	if (!wait_for_u64(go, 1, 60000 * MS)) return 84;
	for (int i = 0; i < VMK_MAX_OBJECTS; i++) {
		long o = vmk_shm_create(PG, 0);
		if (o < 0) { printf("# t_fuzz_shared slotcheck: tid %ld object %d: %ld\n", vmk_getpid(), i, o); return 85; }
	}
	return r;
}

static void test_slots(void)
{
	long hc = vmk_shm_create(PG, 0);
	REQUIRE(hc > 0);
	long ca = vmk_shm_map((u64)hc, 0, 0, PROT_READ | PROT_WRITE);
	REQUIRE(ca > 0);
	long tids[64];
	int n = 0;
	u64 hh[1] = {(u64)hc};
	const char *argv[] = {PROG, "slotcheck", NULL};
	while (n < 64) {
		long t = vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, (u64)(uptr)hh, 1, 200, 0);
		if (t == -EAGAIN) break;
		CHECK(t > 0);
		if (t <= 0) break;
		tids[n++] = t;
	}
	printf("# t_fuzz_shared: %d slot checkers\n", n);
	store_u64((volatile u64 *)ca, 1);
	for (int i = 0; i < n; i++) CHECK_EQ(wait_status(tids[i]), 0);
	vmk_shm_unmap((u64)ca);
	CHECK_EQ(vmk_shm_close((u64)hc), 0);
}

/* ---- top ---- */

static u64 seed_arg;
static u64 rounds_arg = 3;
static u64 ops_arg = 1500;
static u64 quota_arg = 0;

static void test_fuzz_shared(void)
{
	struct vmk_vm_stats s0, s1;
	printf("# t_fuzz_shared: seed=%llu rounds=%llu ops=%llu\n", (unsigned long long)seed_arg,
	       (unsigned long long)rounds_arg, (unsigned long long)ops_arg);
	REQUIRE(vmk_vm_stats(&s0) == 0);
	char sd[24], rd[24], op[24];
	snprintf(sd, sizeof(sd), "%llu", (unsigned long long)seed_arg);
	snprintf(rd, sizeof(rd), "%llu", (unsigned long long)rounds_arg);
	snprintf(op, sizeof(op), "%llu", (unsigned long long)ops_arg);
	const char *argv[] = {PROG, "boss", sd, rd, op, NULL};
	long b = vmk_syscall(SYS_spawn, (u64)(uptr)PROG, (u64)(uptr)argv, 0, 0, quota_arg, 0);
	REQUIRE(b > 0);
	CHECK_EQ(wait_status(b), 0);
	/* Adopted tasks are reaped by the kernel; lazily freed areas are purged later: poll. */
	u64 t0 = now_ns();
	do {
		vmk_sleep(5 * MS);
		REQUIRE(vmk_vm_stats(&s1) == 0);
	} while ((s1.live_areas != s0.live_areas || s1.free_phys_pages + s1.vmalloc_tables < s0.free_phys_pages + s0.vmalloc_tables ||
		  s1.held_pages != s0.held_pages) && now_ns() - t0 < 10000 * MS);
	printf("# t_fuzz_shared: live_areas %llu -> %llu, free %llu -> %llu, vmalloc_tables %llu -> %llu, held %llu -> %llu\n",
	       (unsigned long long)s0.live_areas, (unsigned long long)s1.live_areas,
	       (unsigned long long)s0.free_phys_pages, (unsigned long long)s1.free_phys_pages,
	       (unsigned long long)s0.vmalloc_tables, (unsigned long long)s1.vmalloc_tables,
	       (unsigned long long)s0.held_pages, (unsigned long long)s1.held_pages);
	CHECK_EQ(s1.live_areas, s0.live_areas);
	CHECK_EQ(s1.held_pages, s0.held_pages);
	/* Free pages: vmalloc keeps page tables and caches until a quiesce; the kernel's own check at init's
	 * exit (kernel_leak_check_after_all_tasks) counts them exactly: run this program as init. */
	/* the kernel still serves: a fresh object round trip */
	long h = vmk_shm_create(PG, 0);
	CHECK(h > 0);
	if (h > 0) CHECK_EQ(vmk_shm_close((u64)h), 0);
}

int main(int argc, char **argv)
{
	if (argc > 4 && !strcmp(argv[1], "worker"))
		return worker((int)strtoul(argv[3], NULL, 10), strtoull(argv[2], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc > 4 && !strcmp(argv[1], "boss"))
		return boss(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc > 2 && !strcmp(argv[1], "kid")) return kid(strtoull(argv[2], NULL, 10));
	if (argc > 1 && !strcmp(argv[1], "slotcheck")) return slotcheck();
	/* The top level only where it was meant: a task with the diagnostic grant (init's, or init's
	 * test runner's child). A fuzzer's spawn with made-up arguments must not start another fuzz. */
	if (vmk_trace_ctl(0, 0) < 0) return 0;
	seed_arg = 0x5eed2; /* from init's test list: a fixed seed (printed); as init, "/t_fuzz_shared SEED ROUNDS OPS QUOTA" */
	if (argc > 1) seed_arg = strtoull(argv[1], NULL, 10);
	if (argc > 2) rounds_arg = strtoull(argv[2], NULL, 10);
	if (argc > 3) ops_arg = strtoull(argv[3], NULL, 10);
	if (argc > 4) quota_arg = strtoull(argv[4], NULL, 10);
	ktap_begin("t_fuzz_shared");
	ktap_run("stateful", test_fuzz_shared);
	ktap_run("slots_start_empty", test_slots);
	return ktap_end();
}
