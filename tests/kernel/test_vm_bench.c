/* Suite `vm_bench`: the figures `make bench` reports beside the test_vmalloc port. A calibration of the
 * timebase against a loop of known length, the cost of a 1-page vmalloc+vfree as the number of live
 * areas grows (10^2 .. 10^5, as memory allows), the fences that 10^5 single-page vfrees cost, and the
 * lock acquisitions per 1-page vmalloc+vfree pair. Time is printed, never asserted (under `make test` it
 * is wall time); the fence bound and the lock counts (deterministic) are asserted. */
#include "kernel/ktest.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
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

KTEST_SUITE(vm_bench, {"calibration", calibrate}, {"scaling", scaling}, {"fences_per_1e5_vfrees", fences},
	    {"locks_per_fix_size_pair", locks_per_pair});
