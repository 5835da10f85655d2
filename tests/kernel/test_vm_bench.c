/* Suite `vm_bench`: the figures `make bench` reports beside the test_vmalloc port. A calibration of the
 * timebase against a loop of known length, the cost of a 1-page vmalloc+vfree as the number of live
 * areas grows (10^2 .. 10^5, as memory allows), the fences that 10^5 single-page vfrees cost, the
 * lock acquisitions per 1-page vmalloc+vfree pair, and a purge-heavy run (10^5 single-page vfrees shared by
 * every hart; make bench sets a small vmalloc.lazy_max_pages) timed under the boot's remote-fence mechanism. Time is printed, never asserted (under `make test` it
 * is wall time); the fence bound and the lock counts (deterministic) are asserted. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "platform/tlb_remote.h"
#include "vm/buddy.h"
#include "vm/vmalloc.h"

static u64 ticks_to_ns(u64 ticks) { return ticks * 1000000000ULL / timer_hz(); }

/* Under -icount shift=0 one guest nanosecond is one instruction: a loop of known length shows it. */
static void calibrate(struct ktest *t)
{
	const u64 iters = 1000000;
	u64 n = iters, t0 = rdtime();
	__asm__ volatile("1: addi %0, %0, -1\n bnez %0, 1b" : "+r"(n));
	u64 ns = ticks_to_ns(rdtime() - t0);
	printk("bench: calibration: %lu instructions took %lu ns\n", 2 * iters, ns);
	KT_EXPECT(t, n == 0 && ns > 0);
}

static u64 loop_cost_ns(u64 loops)
{
	u64 t0 = rdtime();
	for (u64 i = 0; i < loops; i++) {
		volatile u8 *p = vmalloc(PAGE_SIZE);
		if (!p) return 0;
		*p = 1;
		vfree((void *)p);
	}
	return ticks_to_ns(rdtime() - t0) / loops;
}

/* Live areas never change the cost: the busy map is a hash and the free index stays a handful of
 * extents, however many areas sit in front of the one being carved. */
static void scaling(struct ktest *t)
{
	static const u64 levels[] = {100, 1000, 10000, 100000};
	u64 cap = buddy_free_pages() * 6 / 10, loops = 10000, base = 0;
	void **live = vmalloc(sizeof(void *) * 100000);
	u64 n = 0;

	KT_ASSERT(t, live);
	printk("bench: scaling: live_areas ns_per_vmalloc+vfree ratio_to_first\n");
	for (u32 l = 0; l < ARRAY_SIZE(levels) && levels[l] <= cap; l++) {
		for (; n < levels[l]; n++) {
			live[n] = vmalloc(PAGE_SIZE);
			if (!live[n]) break;
		}
		KT_EXPECT(t, n == levels[l]);
		if (n != levels[l]) break;
		vm_purge(); /* every level starts from the same lazy state */
		u64 ns = loop_cost_ns(loops);
		KT_EXPECT(t, ns > 0);
		if (!base) base = ns;
		printk("bench: scaling: %6lu %6lu %lu.%02lu\n", levels[l], ns, ns / base, ns * 100 / base % 100);
	}
	while (n) vfree(live[--n]);
	vfree(live);
}

static void fences(struct ktest *t)
{
	const u64 frees = 100000;
	struct vm_stats a, b;

	vm_purge();
	vm_get_stats(&a);
	for (u64 i = 0; i < frees; i++) {
		void *p = vmalloc(PAGE_SIZE);
		KT_ASSERT(t, p);
		vfree(p);
	}
	vm_purge_wait_idle(); /* an idle hart may be purging what the last vfree kicked */
	vm_get_stats(&b);
	u64 limit = vm_lazy_max_pages(), bound = (frees + limit - 1) / limit;
	printk("bench: fences: vfrees=%lu harts=%u lazy_max_pages=%lu purges=%lu remote_fences=%lu local_fences=%lu "
	       "full_flushes=%lu bound=%lu\n",
	       frees, nr_harts_online, limit, b.purges - a.purges, b.remote_fences - a.remote_fences,
	       b.local_fences - a.local_fences, b.full_flushes - a.full_flushes, bound);
	KT_EXPECT(t, b.remote_fences - a.remote_fences <= bound);
	KT_EXPECT(t, b.purges - a.purges <= bound);
	KT_EXPECT(t, nr_harts_online == 1 || b.remote_fences - a.remote_fences == b.purges - a.purges);
}

static void print_ratio(const char *what, u64 n, u64 pairs)
{
	printk("bench: locks: %s per fix_size pair: %lu.%03lu\n", what, n / pairs, n * 1000 / pairs % 1000);
}

/* The design in one figure: a 1-page vmalloc+vfree takes the arena lock (the one every hart shares) only
 * when its hart refills its cache from the index or a purge gives large ranges back, a size-class pool
 * lock once per batch of 32 ranges, and one busy-map stripe lock each way. */
static void locks_per_pair(struct ktest *t)
{
	const u64 pairs = 100000;
	u64 arena0, stripes0, pools0, arena1, stripes1, pools1;

	vm_purge();
	vm_lock_counts(&arena0, &stripes0, &pools0);
	for (u64 i = 0; i < pairs; i++) {
		void *p = vmalloc(PAGE_SIZE);
		KT_ASSERT(t, p);
		vfree(p);
	}
	vm_purge_wait_idle();
	vm_lock_counts(&arena1, &stripes1, &pools1);
	printk("bench: locks: pairs=%lu harts=%u\n", pairs, nr_harts_online);
	print_ratio("global-lock acquisitions (arena lock)", arena1 - arena0, pairs);
	print_ratio("busy-map stripe-lock acquisitions", stripes1 - stripes0, pairs);
	print_ratio("size-class pool-lock acquisitions", pools1 - pools0, pairs);
	KT_EXPECT(t, (arena1 - arena0) * 10 <= pairs);    /* at most 0.1 per pair */
	KT_EXPECT(t, stripes1 - stripes0 <= 2 * pairs + 100); /* one per vmalloc, one per vfree */
}

/* Purge-heavy: every online hart does its share of 10^5 1-page vmalloc+vfree pairs at once, so purges
 * (and their one remote fence each) run while the other harts allocate and free. The makespan (first
 * start to last stop) is printed in ns: instructions of all harts under -icount shift=0. */
#define PURGE_HEAVY_PAIRS 100000
struct purge_worker {
	u64 pairs, t0, t1;
	bool failed;
};
static struct purge_worker purge_workers[MAX_HARTS];
static struct smp_barrier purge_start;

static void purge_worker_run(void *arg)
{
	struct purge_worker *w = arg;
	smp_barrier_wait(&purge_start);
	w->t0 = rdtime();
	for (u64 i = 0; i < w->pairs; i++) {
		volatile u8 *p = vmalloc(PAGE_SIZE);
		if (!p) {
			w->failed = true;
			break;
		}
		*p = 1;
		vfree((void *)p);
	}
	w->t1 = rdtime();
}

static void purge_heavy(struct ktest *t)
{
	u32 harts = nr_harts_online;
	enum tlb_remote_mech mech = tlb_remote_mech();
	struct vm_stats a, b;

	vm_purge();
	vm_purge_wait_idle();
	vm_get_stats(&a);
	u64 calls = tlb_remote_calls(mech);
	smp_barrier_init(&purge_start, harts);
	for (u32 h = 0; h < harts; h++)
		purge_workers[h] = (struct purge_worker){.pairs = PURGE_HEAVY_PAIRS / harts + (h < PURGE_HEAVY_PAIRS % harts)};
	for (u32 h = 1; h < harts; h++) KT_ASSERT(t, smp_call_on(h, purge_worker_run, &purge_workers[h]) == 0);
	purge_worker_run(&purge_workers[0]);
	smp_wait_all();
	vm_purge_wait_idle();
	vm_get_stats(&b);
	u64 t0 = ~0ULL, t1 = 0;
	for (u32 h = 0; h < harts; h++) {
		KT_EXPECT(t, !purge_workers[h].failed);
		t0 = MIN(t0, purge_workers[h].t0);
		t1 = MAX(t1, purge_workers[h].t1);
	}
	u64 ns = ticks_to_ns(t1 - t0), purges = b.purges - a.purges, made = tlb_remote_calls(mech) - calls;
	printk("bench: purge_heavy: remote=%s harts=%u vfrees=%u lazy_max_pages=%lu purges=%lu remote_fence_calls=%lu "
	       "makespan_ns=%lu ns_per_pair=%lu\n",
	       tlb_remote_mech_name(mech), harts, PURGE_HEAVY_PAIRS, vm_lazy_max_pages(), purges, made, ns,
	       ns / PURGE_HEAVY_PAIRS);
	KT_EXPECT(t, purges >= 1);
	/* One remote fence per purge batch; other fences (vm_map_ram, vrealloc) do not run here. */
	KT_EXPECT(t, made == (harts > 1 ? b.remote_fences - a.remote_fences : 0));
	KT_EXPECT(t, harts == 1 || made == purges);
}

KTEST_SUITE(vm_bench, {"calibration", calibrate}, {"scaling", scaling}, {"fences_per_1e5_vfrees", fences},
	    {"locks_per_fix_size_pair", locks_per_pair});
/* Its own suite, so that make bench can boot it alone under each mechanism. */
KTEST_SUITE(vm_purge_bench, {"purge_heavy_all_harts", purge_heavy});
