/* Suite `vm_tail_bench`: the tail-latency and memory figures of `make bench` section 7 (issue 18 section 3).
 * Tail: every online hart times each of its vmalloc+vfree pairs with rdtime around it, for fix_size (1 page)
 * and random_size (1..100 pages, test_vmalloc's random_size_alloc_test), with a small lazy threshold so
 * purges run during the run; prints p50, p99, max and max/p50 over all calls, and for the slowest call
 * whether a purge or a cache refill ran inside it (read from this hart's own counters around the call, so
 * the tag costs nothing inside the timed window). Each call is also marked for tools/hart_insns.c, a QEMU
 * plugin `make bench` loads on some boots: it counts the instructions the calling hart itself executed
 * inside the call, which on several harts rdtime cannot tell apart from the other vCPUs' turns. Memory: metadata bytes per live 1-page area from sizeof
 * and the allocator's own counters, the vmalloc page-table pages held, and how much free memory is still
 * in whole 2 MiB blocks (make bench boots this suite after test_vmalloc). Figures are printed, never
 * asserted: the cases check only the measuring code (the percentiles of a known array, the metadata sum
 * against its sizeof terms) and that every call succeeded.
 * Under `make test` (test=all) each hart makes vm_tail.calls (default 1000) calls per case; make bench
 * asks for more. The file sorts after test_vmalloc.c, so this suite runs after that one in one boot. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/bootargs.h"
#include "lib/insn_mark.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/sort.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_cache.h"

#define TAIL_DEFAULT_CALLS 1000   /* per hart per case under make test: milliseconds */
#define TAIL_LAZY_MAX_PAGES 512   /* a purge every ~500 fix_size or ~10 random_size frees (vm_tail.lazy_max_pages:
				   * another; 0 keeps the kernel's own) */
#define LINUX_BYTES_PER_AREA 176  /* Linux 6.12, a live 1-page vmalloc area (issue 18) */

/* A sample is the call's ticks shifted left by 2 with its tag below, so sorting samples sorts ticks. */
enum { TAG_PLAIN = 0, TAG_REFILL = 1, TAG_PURGE = 2 };
static u64 sample_ticks(u64 s) { return s >> 2; }
static u32 sample_tag(u64 s) { return (u32)(s & 3); }

/* The windows of tools/hart_insns.c (lib/insn_mark.h): a window holds the instructions after its begin mark
 * up to and including its end mark; the end names the series (0 fix_size, 1 random_size, 3 calibration)
 * and the kind (a TAG_ value). */
#define MARK_BEGIN() INSN_MARK(INSN_MARK_WINDOW_BEGIN)
#define MARK_END(series, kind) INSN_MARK(INSN_MARK_WINDOW_END + (series) * 4 + (kind))
#define SERIES_CALIBRATION 3
#define CALIBRATION_LOOPS 1000
/* li, the loop's addi + amoadd + bnez each turn, the end mark; of them atomic: one amoadd a turn */
#define CALIBRATION_INSNS (1 + 3 * CALIBRATION_LOOPS + 1)
#define CALIBRATION_ATOMICS CALIBRATION_LOOPS

static bool u64_less(const void *a, const void *b) { return *(const u64 *)a < *(const u64 *)b; }

/* Nearest-rank percentile of n sorted values: the smallest value with at least permille/1000 of the values
 * at or below it (permille 1000: the max). n > 0. */
static u64 percentile(const u64 *sorted, u64 n, u32 permille)
{
	u64 rank = (n * permille + 999) / 1000;
	return sorted[rank ? rank - 1 : 0];
}

struct tail_worker {
	u64 *samples, calls, rng;
	bool random_size, failed;
};
static struct tail_worker tail_workers[MAX_HARTS];
static struct smp_barrier tail_start;

static u64 xorshift(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* The counters that say what a call did: this hart's purges, and its pool and arena lock acquisitions (a
 * cache refill takes one of them; a size past the cached classes takes the arena lock for the index). */
static void own_counts(u64 *purges, u64 *locks)
{
	const s64 *st = arena_harts[this_hart_index()].stat[0];
	*purges = (u64)READ_ONCE(st[ARENA_STAT_PURGES]);
	*locks = (u64)(READ_ONCE(st[ARENA_STAT_POOL_LOCKS]) + READ_ONCE(st[ARENA_STAT_ARENA_LOCKS]));
}

/* Ends the plugin's window once the call's kind is known, so its count also holds the counter reads and
 * the rdtime after the call (a few dozen instructions, alike on every call). A mark's series and kind are
 * in its immediate, hence the switch. */
static void mark_end(bool random_size, u32 tag)
{
	switch (random_size * 4 + tag) {
	case 0 * 4 + TAG_PLAIN: MARK_END(0, TAG_PLAIN); break;
	case 0 * 4 + TAG_REFILL: MARK_END(0, TAG_REFILL); break;
	case 0 * 4 + TAG_PURGE: MARK_END(0, TAG_PURGE); break;
	case 1 * 4 + TAG_PLAIN: MARK_END(1, TAG_PLAIN); break;
	case 1 * 4 + TAG_REFILL: MARK_END(1, TAG_REFILL); break;
	default: MARK_END(1, TAG_PURGE); break;
	}
}

static void tail_worker_run(void *arg)
{
	struct tail_worker *w = arg;
	smp_barrier_wait(&tail_start);
	for (u64 i = 0; i < w->calls; i++) {
		u64 pages = w->random_size ? 1 + xorshift(&w->rng) % 100 : 1, p0, l0, p1, l1;
		own_counts(&p0, &l0);
		u64 t0 = rdtime();
		MARK_BEGIN();
		volatile u8 *p = vmalloc(pages * PAGE_SIZE);
		if (p) {
			*p = 1;
			vfree((void *)p);
		}
		u64 t1 = rdtime();
		own_counts(&p1, &l1);
		if (!p) {
			w->failed = true;
			break;
		}
		u32 tag = p1 != p0 ? TAG_PURGE : l1 != l0 ? TAG_REFILL : TAG_PLAIN;
		mark_end(w->random_size, tag);
		w->samples[i] = (t1 - t0) << 2 | tag;
	}
}

static u64 ticks_ns(u64 ticks) { return ticks * 1000000000ULL / timer_hz(); }

static const char *const tag_names[] = {"plain", "refill", "purge"};

static void tail_case(struct ktest *t, bool random_size)
{
	u32 harts = nr_harts_online;
	u64 calls = TAIL_DEFAULT_CALLS, lazy0 = vm_lazy_max_pages(), lazy = TAIL_LAZY_MAX_PAGES;
	bootarg_u64("vm_tail.calls", &calls);
	bootarg_u64("vm_tail.lazy_max_pages", &lazy);
	if (!lazy) lazy = lazy0;
	u64 n = calls * harts;
	u64 *all = vmalloc(n * sizeof(u64));
	KT_ASSERT(t, all);

	vm_purge();
	vm_purge_wait_idle();
	vm_set_lazy_max_pages(lazy);
	struct vm_stats a, b;
	vm_get_stats(&a);
	smp_barrier_init(&tail_start, harts);
	for (u32 h = 0; h < harts; h++)
		tail_workers[h] = (struct tail_worker){.samples = all + h * calls, .calls = calls,
						       .rng = 0x9e3779b97f4a7c15ULL * (h + 1), .random_size = random_size};
	for (u32 h = 1; h < harts; h++) KT_ASSERT(t, smp_call_on(h, tail_worker_run, &tail_workers[h]) == 0);
	tail_worker_run(&tail_workers[0]);
	smp_wait_all();
	vm_purge_wait_idle();
	vm_get_stats(&b);
	vm_set_lazy_max_pages(lazy0);
	bool failed = false;
	for (u32 h = 0; h < harts; h++) failed |= tail_workers[h].failed;
	KT_EXPECT(t, !failed);
	if (failed) {
		vfree(all);
		return;
	}

	/* Per tag: how many calls, and the slowest; then all calls sorted for the percentiles. */
	u64 count[3] = {0}, worst[3] = {0};
	for (u64 i = 0; i < n; i++) {
		u32 g = sample_tag(all[i]);
		count[g]++;
		worst[g] = MAX(worst[g], sample_ticks(all[i]));
	}
	sort(all, n, sizeof(u64), u64_less);
	u64 p50 = sample_ticks(percentile(all, n, 500)), p99 = sample_ticks(percentile(all, n, 990));
	u64 p999 = sample_ticks(percentile(all, n, 999));
	u64 top = all[n - 1], max = sample_ticks(top);
	u64 r100 = p50 ? max * 100 / p50 : 0;
	printk("bench: tail: %s harts=%u calls=%lu lazy_max_pages=%lu purges=%lu p50_ns=%lu p99_ns=%lu p99.9_ns=%lu max_ns=%lu "
	       "max/p50=%lu.%02lu max_call=%s\n",
	       random_size ? "random_size" : "fix_size", harts, n, lazy, b.purges - a.purges,
	       ticks_ns(p50), ticks_ns(p99), ticks_ns(p999), ticks_ns(max), r100 / 100, r100 % 100, tag_names[sample_tag(top)]);
	printk("bench: tail: %s by kind: plain calls=%lu max_ns=%lu; refill calls=%lu max_ns=%lu; "
	       "purge calls=%lu max_ns=%lu\n",
	       random_size ? "random_size" : "fix_size", count[TAG_PLAIN], ticks_ns(worst[TAG_PLAIN]),
	       count[TAG_REFILL], ticks_ns(worst[TAG_REFILL]), count[TAG_PURGE], ticks_ns(worst[TAG_PURGE]));
	KT_EXPECT(t, p50 <= p99 && p99 <= p999 && p999 <= max);
	vfree(all);
}

static void tail_fix_size(struct ktest *t) { tail_case(t, false); }
static void tail_random_size(struct ktest *t) { tail_case(t, true); }

/* What one live 1-page area costs in metadata, as the allocator holds it. */
struct area_meta {
	u64 area_struct;  /* the vmap_area, as the node pool hands it out (sizeof rounded to the pool's slot) */
	u64 busy_link;    /* the busy-map entry: embedded in the vmap_area, so no bytes of its own */
	u64 bucket_share; /* busy-map bucket pointers over all stripes, per area in them (x 100: two decimals) */
	u64 total_x100;
};

static struct area_meta area_meta_now(void)
{
	u64 buckets = 0, areas = 0;
	for (u32 s = 0; s < BUSY_STRIPES; s++) {
		busy_lock(&busy_stripes[s]);
		buckets += va_busy_buckets(&busy_stripes[s].map);
		areas += va_busy_count(&busy_stripes[s].map);
		busy_unlock(&busy_stripes[s]);
	}
	unsigned long f = arena_lock();
	u64 slot = arena.area_pool.objsize;
	arena_unlock(f);
	struct area_meta m = {.area_struct = slot, .busy_link = 0,
			      .bucket_share = areas ? buckets * sizeof(struct va_busy_link *) * 100 / areas : 0};
	m.total_x100 = m.area_struct * 100 + m.busy_link * 100 + m.bucket_share;
	return m;
}

/* Checks the measuring code, not the figures: percentiles of a known array, and the metadata sum made of
 * its sizeof terms. */
static u64 tables_at_start, peak_at_start; /* vmalloc page-table pages when this suite starts (after
					       * test_vmalloc, whose leak check purges and reclaims), and the
					       * most held at once before (during test_vmalloc) */
static struct buddy_stats buddy_at_start; /* free blocks by order then: how much of the free memory is
					   * still in whole 2 MiB blocks after test_vmalloc's churn */

/* How scattered the pages in use are: the free pages outside whole free 2 MiB blocks (order 9 and up:
 * what a huge mapping or a new group can get), i.e. stranded between pages in use. Fewer than 512 means
 * the pages in use leave at most one partly used block's worth of holes. */
static void print_scatter(const char *when, const struct buddy_stats *st)
{
	u64 whole = 0;
	for (u32 o = 9; o <= BUDDY_MAX_ORDER; o++) whole += st->nr_free[o] << o;
	printk("bench: memory: free pages outside whole 2 MiB blocks %s: %lu of %lu free (%lu in use)\n", when,
	       st->free_pages - whole, st->free_pages, st->total_pages - st->free_pages);
}

static void machinery(struct ktest *t)
{
	tables_at_start = pt_kr_tables();
	peak_at_start = pt_kr_tables_peak();
	buddy_get_stats(&buddy_at_start);
	static u64 v[100];
	for (u64 i = 0; i < 100; i++) v[i] = ((i * 37) % 100 + 1) << 2 | (i % 3); /* 1..100, shuffled, tagged */
	sort(v, 100, sizeof(u64), u64_less);
	KT_EXPECT(t, sample_ticks(percentile(v, 100, 500)) == 50);
	KT_EXPECT(t, sample_ticks(percentile(v, 100, 990)) == 99);
	KT_EXPECT(t, sample_ticks(percentile(v, 100, 1000)) == 100);
	KT_EXPECT(t, sample_ticks(percentile(v, 1, 500)) == 1);
	u64 three[3] = {7 << 2, 8 << 2 | TAG_PURGE, 9 << 2 | TAG_REFILL};
	KT_EXPECT(t, sample_ticks(percentile(three, 3, 500)) == 8 && sample_tag(three[1]) == TAG_PURGE);

	/* The plugin's calibration window: a loop of known length with interrupts off, so its counts must be
	 * CALIBRATION_INSNS and CALIBRATION_ATOMICS exactly (make bench and make test compare them). */
	unsigned long flags = irq_save();
	/* One asm statement, marks included: the compiler puts nothing of its own inside the window. */
	static u32 calibration_word;
	asm volatile("slti x0, x0, %0\nli t0, %1\n1: addi t0, t0, -1\namoadd.w zero, zero, (%2)\nbnez t0, 1b\n"
		     "slti x0, x0, %3"
		     ::"i"(INSN_MARK_WINDOW_BEGIN), "i"(CALIBRATION_LOOPS), "r"(&calibration_word),
		     "i"(INSN_MARK_WINDOW_END + SERIES_CALIBRATION * 4 + TAG_PLAIN) : "t0", "memory");
	irq_restore(flags);
	printk("bench: tail: calibration window marked: %u instructions, %u atomic\n", CALIBRATION_INSNS,
	       CALIBRATION_ATOMICS);

	void *p = vmalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	struct area_meta m = area_meta_now();
	vfree(p);
	KT_EXPECT(t, m.area_struct == ALIGN_UP(sizeof(struct vmap_area), 16));
	KT_EXPECT(t, m.area_struct >= sizeof(struct vmap_area) && m.area_struct < sizeof(struct vmap_area) + 16);
	KT_EXPECT(t, m.total_x100 == m.area_struct * 100 + m.busy_link * 100 + m.bucket_share);
	/* The map doubles at load 1, so there is at least one bucket per area; it starts at 16 per stripe. */
	KT_EXPECT(t, m.bucket_share >= sizeof(void *) * 100);
}

/* Metadata per live 1-page area with 10^4 of them live (fewer if memory is small) (the bucket share settles as the map grows), beside
 * Linux's; then the vmalloc page-table pages held. */
static void memory(struct ktest *t)
{
	const u64 n = MIN(10000, buddy_free_pages() / 4); /* 10^4 unless memory is small (a 64 MiB boot) */
	u64 live0 = vm_live_areas(), tables0 = pt_kr_tables();
	void **live = vmalloc(n * sizeof(void *));
	KT_ASSERT(t, live);
	u64 made = 0;
	for (; made < n; made++)
		if (!(live[made] = vmalloc(PAGE_SIZE))) break;
	KT_EXPECT(t, made == n);
	struct area_meta m = area_meta_now();
	u64 live_areas = vm_live_areas() - live0, tables = pt_kr_tables();
	struct buddy_stats live_st;
	buddy_get_stats(&live_st);
	while (made) vfree(live[--made]);
	vfree(live);
	vm_purge();
	printk("bench: memory: metadata per live 1-page area, %lu live areas: %lu.%02lu B = vmap_area %lu (sizeof %lu "
	       "in a %lu B pool slot) + busy-map link %lu (embedded) + busy-map buckets %lu.%02lu; Linux %u B\n",
	       live_areas, m.total_x100 / 100, m.total_x100 % 100, m.area_struct, (u64)sizeof(struct vmap_area),
	       m.area_struct, m.busy_link, m.bucket_share / 100, m.bucket_share % 100, LINUX_BYTES_PER_AREA);
	printk("bench: memory: vmalloc page-table pages (level-0 tables of the arena): most held at once until this "
	       "suite (during test_vmalloc): %lu; at this suite's start (after the leak check's purge): %lu; "
	       "before this case: %lu; with %lu live 1-page areas: %lu (%lu B of tables per area); after they are "
	       "freed and purged: %lu\n",
	       peak_at_start, tables_at_start, tables0, n, tables, (tables - tables0) * PAGE_SIZE / n, pt_kr_tables());
	print_scatter("after test_vmalloc", &buddy_at_start);
	print_scatter("with the 10^4 areas live", &live_st);
	KT_EXPECT(t, live_areas == n + 1); /* the 10^4 and the array of their addresses */
}

KTEST_SUITE(vm_tail_bench, {"measurement_machinery", machinery}, {"tail_fix_size", tail_fix_size},
	    {"tail_random_size", tail_random_size}, {"memory_per_area", memory});
