/* What the stepwise-operation tests (t_resize_steps, t_peer_served) share: the control object a parent
 * and its helpers map, the machine's live and held page counts, and spawning a helper of the same program
 * in a mode with one or two handles. Include after defining PROG, the program's path. */
#ifndef TESTS_USER_STEPS_COMMON_H
#define TESTS_USER_STEPS_COMMON_H

#include "user/vmk.h"

#define PG 4096UL
#define MIB (1UL << 20)
#define TIMEOUT (20 * 1000000000ULL)

struct ctl {
	u64 step;
	u64 stop;
	u64 base;    /* live_pages before the grow (0: no grow watched) */
	u64 result;  /* the helper's resize result + 1000 */
	u64 handle;  /* a handle value passed up */
	u64 tid;     /* the parent's tid */
	u64 size;    /* what the helper should resize to */
	u64 flags;
	u64 errors;
	u64 rounds;   /* a reader's count (peer_served_during_grow) */
	u64 failures; /* a helper's failed calls */
	u64 value;    /* a word both sides check */
	u64 top;      /* live_pages with a big object alive, before its close (0: no free watched) */
	u64 full;     /* live_pages once the watched grow has added all its pages (0: none watched) */
};

static inline u64 live(void)
{
	struct vmk_vm_stats st;
	return vmk_vm_stats(&st) == 0 ? st.live_pages : 0;
}

static inline u64 held(void)
{
	struct vmk_vm_stats st;
	return vmk_vm_stats(&st) == 0 ? st.held_pages : 0;
}

static inline long new_ctl(struct ctl **c)
{
	long h = vmk_shm_create(PG, 0);
	long a = h > 0 ? vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE) : -1;
	*c = a > 0 ? (struct ctl *)a : NULL;
	return *c ? h : -1;
}

/* A helper's view of the first handle it was given, a ctl object (NULL if there is none): handle in *h. */
static inline struct ctl *child_ctl(u64 *h)
{
	if (vmk_handles(h, 1) != 1) return NULL;
	long a = vmk_shm_map(*h, 0, 0, PROT_READ | PROT_WRITE);
	return a > 0 ? (struct ctl *)a : NULL;
}

/* A helper's view of the two handles it was given, a ctl object and the object under test (in hs[0],
 * hs[1]): the ctl mapped, or NULL. */
static inline struct ctl *child_ctl2(u64 hs[2])
{
	if (vmk_handles(hs, 2) != 2) return NULL;
	long a = vmk_shm_map(hs[0], 0, 0, PROT_READ | PROT_WRITE);
	return a > 0 ? (struct ctl *)a : NULL;
}

/* Tells the helpers on c to stop, and checks that helper tid ended well and that no helper counted a
 * failed call. */
static inline void stop_helper(struct ctl *c, long tid)
{
	store_u64(&c->stop, 1);
	CHECK_EQ(wait_status(tid), 0);
	CHECK_EQ(load_u64(&c->failures), 0);
}

static inline void drop_ctl(long hc, struct ctl *c)
{
	CHECK_EQ(vmk_shm_unmap((u64)(uptr)c), 0);
	CHECK_EQ(vmk_shm_close((u64)hc), 0);
}

static inline long spawn2(const char *mode, long h1, long h2, u64 quota)
{
	u64 hs[2] = {(u64)h1, (u64)h2};
	const char *argv[] = {PROG, mode, NULL};
	return vmk_spawn(PROG, argv, hs, h2 > 0 ? 2 : 1, quota);
}

/* A ctl object (its handle in *hc) and a helper of this program in `mode` given it and object h, started
 * and ready (its first step): the helper's tid, or -1. */
static inline long start_helper(struct ctl **c, long *hc, long h, const char *mode)
{
	*hc = new_ctl(c);
	long tid = *hc > 0 ? spawn2(mode, *hc, h, 0) : -1;
	return tid > 0 && wait_for_u64(&(*c)->step, 1, TIMEOUT) ? tid : -1;
}

#endif
