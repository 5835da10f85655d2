/* Suite `vm_stress`: random vmalloc / vzalloc / vrealloc / vfree from every hart at once, each worker
 * checking every area against its own reference model (size, contents, metadata) before touching it. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "vm/vmalloc.h"

#define SLOTS 48
#define OPS 3000

struct slot {
	u8 *p;
	u64 size;
	u8 seed;
	bool zeroed;
};

struct stress_worker {
	u64 rng;
	u64 errors, ops, allocs, moves;
	struct slot s[SLOTS];
};

static struct stress_worker sw[MAX_HARTS];

static u64 next(struct stress_worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

/* Every byte the model says is there: the pattern, then (for zeroed areas) zeros to the page end. */
static bool check(struct slot *s)
{
	struct vm_area *a = find_vm_area(s->p);
	if (!a || a->requested != s->size || a->nr_pages < ALIGN_UP(s->size, PAGE_SIZE) / PAGE_SIZE) return false;
	for (u64 i = 0; i < s->size; i += 61)
		if (s->p[i] != (u8)(s->seed + i)) return false;
	return s->p[s->size - 1] == (u8)(s->seed + s->size - 1);
}

static void paint(struct slot *s, u64 from)
{
	for (u64 i = from; i < s->size; i += 61) s->p[i] = (u8)(s->seed + i);
	s->p[s->size - 1] = (u8)(s->seed + s->size - 1);
}

static void stress_worker_run(void *arg)
{
	struct stress_worker *w = arg;
	for (u64 op = 0; op < OPS; op++, w->ops++) {
		struct slot *s = &w->s[next(w) % SLOTS];
		u64 size = next(w) % (6 * PAGE_SIZE) + 1;
		if (!s->p) {
			s->zeroed = next(w) & 1;
			s->p = s->zeroed ? vzalloc(size) : vmalloc(size);
			if (!s->p) { w->errors++; continue; }
			if (s->zeroed)
				for (u64 i = 0; i < ALIGN_UP(size, PAGE_SIZE); i += 97) w->errors += s->p[i] != 0;
			s->size = size;
			s->seed = (u8)next(w);
			paint(s, 0);
			w->allocs++;
		} else if (!check(s)) {
			w->errors++;
			vfree(s->p);
			s->p = NULL;
		} else if (next(w) & 1) {
			u8 *q = vrealloc(s->p, size, 0);
			if (!q) { w->errors++; continue; }
			w->moves += q != s->p;
			u64 old = s->size;
			s->p = q;
			s->size = size;
			if (size > old) paint(s, 0); /* the model only knows min(old, new) bytes */
			else s->p[size - 1] = (u8)(s->seed + size - 1);
		} else {
			vfree(s->p);
			s->p = NULL;
		}
	}
	for (u32 i = 0; i < SLOTS; i++) {
		if (w->s[i].p && !check(&w->s[i])) w->errors++;
		vfree(w->s[i].p);
		w->s[i].p = NULL;
	}
}

static void random_ops_all_harts(struct ktest *t)
{
	u64 areas = vm_live_areas();
	u32 harts = nr_harts_online;
	memset(sw, 0, sizeof(sw));
	for (u32 h = 0; h < harts; h++) sw[h].rng = 0x2545f4914f6cdd1dULL * (h + 7);
	for (u32 h = 1; h < harts; h++) KT_ASSERT(t, smp_call_on(h, stress_worker_run, &sw[h]) == 0);
	stress_worker_run(&sw[0]);
	smp_wait_all();
	for (u32 h = 0; h < harts; h++) {
		KT_EXPECT(t, sw[h].errors == 0);
		KT_EXPECT(t, sw[h].ops == OPS && sw[h].allocs > OPS / 10);
	}
	KT_EXPECT(t, vm_live_areas() == areas);
}


KTEST_SUITE(vm_stress, {"random_ops_all_harts", random_ops_all_harts});
