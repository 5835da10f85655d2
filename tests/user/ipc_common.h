/* What the shared-memory IPC tests (t_ipc, t_futex) share: the control object a parent and its child both
 * map, spawning a child of the same program in a mode, the "scene" most cases set up (control object,
 * object under test, child), and the closing leak check. Include after defining PROG, the program's path. */
#ifndef TESTS_USER_IPC_COMMON_H
#define TESTS_USER_IPC_COMMON_H

#include "user/vmk.h"

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

static inline u64 info_of(long h, int field)
{
	struct vmk_shm_info i;
	if (vmk_shm_info(h, &i)) return ~0UL;
	return field == 0 ? i.size : field == 1 ? i.seals : i.mappers;
}
#define SIZE(h) info_of(h, 0)
#define SEALS(h) info_of(h, 1)
#define MAPPERS(h) info_of(h, 2)

static inline long map_new(u64 size, u64 max, long *h)
{
	*h = vmk_shm_create(size, 0);
	return *h > 0 ? vmk_shm_map(*h, 0, max, RW) : -1;
}

static inline long spawn_mode(const char *mode, const u64 *hs, u64 n)
{
	const char *argv[] = {PROG, mode, NULL};
	return vmk_spawn(PROG, argv, hs, n, 0);
}

/* A child's handles (as many as asked) and the ctl mapping made from the first. */
static inline struct ctl *child_setup(u64 *hs, u64 n)
{
	if (vmk_handles(hs, n) != (long)n) return NULL;
	long a = vmk_shm_map(hs[0], 0, 0, RW);
	return a > 0 ? (struct ctl *)a : NULL;
}

/* Most cases: a control object both sides map (c, handle ch) and the object under test (h), and a child
 * spawned with handles {ch, h} in that order. */
struct scene {
	long ch, ca, h;
	struct ctl *c;
};

static inline bool scene_open(struct scene *s, u64 size)
{
	s->ca = map_new(PG, 0, &s->ch);
	s->h = vmk_shm_create(size, 0);
	s->c = (struct ctl *)s->ca;
	return s->ca > 0 && s->h > 0;
}

/* Spawns the child in `mode` and waits until it reports step 1: its tid, or <= 0 (the caller REQUIREs). */
static inline long scene_start(struct scene *s, const char *mode)
{
	u64 hs[2] = {(u64)s->ch, (u64)s->h};
	long tid = spawn_mode(mode, hs, 2);
	if (tid > 0 && !wait_for_u64(&s->c->step, 1, TIMEOUT)) return -1;
	return tid;
}

/* Unmaps and closes what scene_open made (h only if the case has not closed it: it sets h = 0). */
static inline long scene_close(struct scene *s)
{
	return vmk_shm_unmap(s->ca) | vmk_shm_close(s->ch) | (s->h > 0 ? vmk_shm_close(s->h) : 0);
}

/* The vmalloc counters when the program started, and the case that ends it: every area and page it made
 * (its children's included) is gone again. */
static struct vmk_vm_stats ipc_start;

static inline void ipc_note_start(void) { vmk_vm_stats(&ipc_start); }

static inline void test_nothing_left_behind(void)
{
	struct vmk_vm_stats now;
	CHECK_EQ(vmk_vm_stats(&now), 0);
	CHECK_EQ(now.live_areas, ipc_start.live_areas);
	CHECK_EQ(now.live_pages, ipc_start.live_pages);
}

#endif
