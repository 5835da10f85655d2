/* Our port of Linux's lib/test_vmalloc.c (same case names and ids, same Summary lines), run as the
 * `test_vmalloc` ktest suite. With any test_vmalloc.* bootarg the parameters default to Linux's (a
 * million loops, one worker per hart) and the run is a benchmark; without, they are small enough for
 * `make test`. The first case runs every worker; each case then reports what its runs recorded. */
#include "kernel/hart.h"
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/bootargs.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/kvfree_rcu.h"
#include "vm/pcpu_alloc.h"
#include "vm/vmalloc.h"

#define THREAD_ALIGN_X2 (32UL << 10) /* Linux's THREAD_ALIGN << 1 on riscv64 */

static struct {
	bool bench; /* any test_vmalloc.* bootarg: Linux's sizes; otherwise `make test` sizes */
	u64 run_test_mask, test_loop_count, test_repeat_count, nr_threads, sequential_test_order, nr_pages, use_huge;
} P;

struct worker {
	u32 id;
	u64 rng;
	u64 start, stop;
	struct {
		u32 passed, failed;
		u64 usec;
		u64 detail; /* align_shift: first alignment shift that failed (64: none) */
	} data[16];
};

/* One record per worker, as many as test_vmalloc.nr_threads asks (Linux allows any number; workers beyond
 * the harts run one after the other on each): allocated by the first case, freed by the last. */
static struct worker *workers;

static u64 rnd(struct worker *w)
{
	/* xorshift64*: each worker its own reproducible stream. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_range(struct worker *w, u64 lo, u64 hi) { return lo + rnd(w) % (hi - lo + 1); }

__noinline static void *vmalloc_caller(size_t size, size_t align, unsigned flags)
{
	return __vmalloc_node(size, align, flags, NUMA_NO_NODE, __builtin_return_address(0));
}

static u64 map_pages(void) { return P.nr_pages ? P.nr_pages : 1; }

static int fix_size_alloc_test(struct worker *w)
{
	(void)w;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *p = P.use_huge ? vmalloc_huge(map_pages() * PAGE_SIZE, 0) : vmalloc(map_pages() * PAGE_SIZE);
		if (!p) return -1;
		*p = 0;
		vfree(p);
	}
	return 0;
}

/* Linux's fls(harts) x 8192 pairs; under `make test` an eighth, which keeps the holes but not the
 * minutes that four harts take contending for the arena on a two-core TCG host. */
static u64 full_fit_junk(void) { return (u64)fls64(nr_harts_online) * (32UL << 20) / PAGE_SIZE / (P.bench ? 1 : 8); }

static u64 long_busy_count(void) { return P.bench ? 15000 : 2000; } /* the make-test size, as in full_fit */

static int full_fit_alloc_test(struct worker *w)
{
	u64 junk = full_fit_junk();
	int rv = -1;
	(void)w;

	void **ptr = vmalloc(sizeof(void *) * junk), **junk_ptr = vmalloc(sizeof(void *) * junk);
	if (!ptr || !junk_ptr) goto out;
	for (u64 i = 0; i < junk; i++) {
		ptr[i] = vmalloc(PAGE_SIZE);
		junk_ptr[i] = vmalloc(PAGE_SIZE);
	}
	for (u64 i = 0; i < junk; i++) vfree(junk_ptr[i]);
	rv = 0;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *p = vmalloc(PAGE_SIZE);
		if (!p) {
			rv = -1;
			break;
		}
		*p = 1;
		vfree(p);
	}
	for (u64 i = 0; i < junk; i++) vfree(ptr[i]);
out:
	vfree(ptr);
	vfree(junk_ptr);
	return rv;
}

static int long_busy_list_alloc_test(struct worker *w)
{
	const int BUSY = (int)long_busy_count();
	int rv = 0;
	(void)w;

	void **ptr = vmalloc(sizeof(void *) * BUSY);
	if (!ptr) return -1;
	for (int i = 0; i < BUSY; i++) ptr[i] = vmalloc(PAGE_SIZE);
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *p1 = vmalloc(100 * PAGE_SIZE);
		if (!p1) {
			rv = -1;
			break;
		}
		u8 *p2 = vmalloc(PAGE_SIZE);
		if (!p2) {
			vfree(p1);
			rv = -1;
			break;
		}
		*p1 = 0;
		*p2 = 1;
		vfree(p1);
		vfree(p2);
	}
	for (int i = 0; i < BUSY; i++) vfree(ptr[i]);
	vfree(ptr);
	return rv;
}

static int random_size_alloc_test(struct worker *w)
{
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *p = vmalloc(rnd_range(w, 1, 100) * PAGE_SIZE);
		if (!p) return -1;
		*p = 1;
		vfree(p);
	}
	return 0;
}

static int fix_align_alloc_test(struct worker *w)
{
	(void)w;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		void *p = vmalloc_caller(5 * PAGE_SIZE, THREAD_ALIGN_X2, VMF_ZERO);
		if (!p) return -1;
		vfree(p);
	}
	return 0;
}

static int random_size_align_alloc_test(struct worker *w)
{
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 r = (u8)rnd(w);
		void *p = vmalloc_caller((r % 10 + 1) * PAGE_SIZE, 1UL << (r % 23), VMF_ZERO);
		if (!p) return -1;
		vfree(p);
	}
	return 0;
}

/* Fails by design once the alignment outgrows the region (as Linux's does); records where. */
static int align_shift_alloc_test(struct worker *w)
{
	w->data[6].detail = 64;
	for (u32 i = 0; i < 64; i++) {
		void *p = vmalloc_caller(PAGE_SIZE, 1UL << i, VMF_ZERO);
		if (!p) {
			w->data[6].detail = i;
			return -1;
		}
		vfree(p);
	}
	return 0;
}

/* Linux's case: 35000 per-hart objects of 1..PAGE_SIZE/4 bytes at alignments 2..2048, then all freed
 * (under `make test` an eighth, as in full_fit). Outside the benchmark every hart's copy of each object
 * is also checked to be zeroed and distinct from the others. */
static int pcpu_alloc_test(struct worker *w)
{
	const u64 n = P.bench ? 35000 : 35000 / 8;
	u32 nharts = nr_harts_online;
	int rv = 0;
	void **pcpu = vmalloc(sizeof(void *) * n);
	if (!pcpu) return -1;
	for (u64 i = 0; i < n; i++) {
		u64 size = rnd_range(w, 1, PAGE_SIZE / 4), align = 1UL << rnd_range(w, 1, 11);
		pcpu[i] = __alloc_percpu(size, align);
		if (!pcpu[i] || ((uptr)pcpu[i] & (align - 1))) {
			rv = -1;
			continue;
		}
		if (P.bench) continue;
		for (u32 h = 0; h < nharts; h++) {
			u8 *c = per_cpu_ptr(pcpu[i], h);
			if (c[0] || c[size - 1]) rv = -1;
			c[0] = (u8)(h + 1);
		}
		for (u32 h = 0; h < nharts; h++)
			if (((u8 *)per_cpu_ptr(pcpu[i], h))[0] != (u8)(h + 1)) rv = -1;
	}
	for (u64 i = 0; i < n; i++) free_percpu(pcpu[i]);
	vfree(pcpu);
	return rv;
}

/* Linux's two kvfree_rcu cases: the object stays valid until a grace period has passed on every online
 * hart, then is vfreed (the one-argument form may wait for that when its batch is full; the two-argument
 * form links the object through its own rcu_head and never waits). */
struct test_kvfree_rcu {
	struct rcu_head rcu;
	unsigned char array[20];
};

static int kvfree_rcu_1_arg_vmalloc_test(struct worker *w)
{
	(void)w;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		struct test_kvfree_rcu *p = vmalloc(PAGE_SIZE);
		if (!p) return -1;
		p->array[0] = 'a';
		kvfree_rcu_ptr(p);
	}
	return 0;
}

static int kvfree_rcu_2_arg_vmalloc_test(struct worker *w)
{
	(void)w;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		struct test_kvfree_rcu *p = vmalloc(PAGE_SIZE);
		if (!p) return -1;
		p->array[0] = 'a';
		kvfree_rcu(p, rcu);
	}
	return 0;
}

static int vm_map_ram_test(struct worker *w)
{
	struct page *pages[64];
	u64 n = MIN(map_pages(), (u64)ARRAY_SIZE(pages)), got = 0;
	int rv = -1;
	(void)w;

	for (; got < n; got++) {
		u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
		if (!pa) goto out;
		pages[got] = pa_to_page(pa);
	}
	rv = 0;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *v = vm_map_ram(pages, (u32)n, NUMA_NO_NODE);
		if (!v) {
			rv = -1;
			break;
		}
		*v = 'a';
		vm_unmap_ram(v, (u32)n);
	}
out:
	while (got) buddy_free_order(page_to_pa(pages[--got]), 0);
	return rv;
}

static int no_block_alloc_test(struct worker *w)
{
	for (u64 i = 0; i < P.test_loop_count; i++) {
		bool atomic = rnd(w) & 1;
		unsigned long f = atomic ? irq_save() : 0;
		void *p = vmalloc(map_pages() * PAGE_SIZE);
		if (atomic) irq_restore(f);
		if (!p) return -1;
		vfree(p);
	}
	return 0;
}

static u64 backed_pages(void *p)
{
	struct vmap_area *a = find_vm_area(p);
	return a ? a->nr_pages : 0;
}

/* 50 areas of 256 KiB shrunk to 16 KiB: the data stays, and the physical pages really go back. */
static int vrealloc_shrink_test(struct worker *w)
{
	enum { N = 50, BIG = 256 << 10, SMALL = 16 << 10 };
	u8 *p[N];
	u64 before = 0, after = 0;
	int rv = 0, made = 0;

	for (; made < N; made++) {
		p[made] = vmalloc(BIG);
		if (!p[made]) {
			rv = -1;
			goto out;
		}
		for (u64 j = 0; j < BIG; j += 512) p[made][j] = (u8)(made + j / 512 + w->id);
		before += backed_pages(p[made]);
	}
	for (int i = 0; i < N; i++) {
		u8 *q = vrealloc(p[i], SMALL, 0);
		if (q != p[i]) rv = -1;
		if (!q) continue;
		for (u64 j = 0; j < SMALL; j += 512)
			if (q[j] != (u8)(i + j / 512 + w->id)) rv = -1;
		if (vmalloc_to_page(q + SMALL)) rv = -1; /* the tail must be unmapped */
		after += backed_pages(q);
	}
	if (after * 100 > before * 7) rv = -1; /* at least 93% fewer pages */
out:
	while (made) vfree(p[--made]);
	return rv;
}

/* Linux's vrealloc_test sequence: grow, shrink, shrink inside the page, grow back in place. */
static int vrealloc_test(struct worker *w)
{
	(void)w;
	for (u64 i = 0; i < P.test_loop_count; i++) {
		u8 *p = vrealloc(NULL, PAGE_SIZE, 0), *q;
		int err = -1;
		if (!p) return -1;
		p[0] = 'a';
		p[PAGE_SIZE - 1] = 'z';
		if (!(q = vrealloc(p, 4 * PAGE_SIZE, 0))) goto fail;
		p = q;
		if (p[0] != 'a' || p[PAGE_SIZE - 1] != 'z') goto fail;
		p[4 * PAGE_SIZE - 1] = 'e';
		if (!(q = vrealloc(p, PAGE_SIZE, 0))) goto fail;
		p = q;
		if (p[0] != 'a' || p[PAGE_SIZE - 1] != 'z') goto fail;
		if (!(q = vrealloc(p, PAGE_SIZE / 2, 0)) || q != p) goto fail;
		if (p[0] != 'a') goto fail;
		if (!(q = vrealloc(p, PAGE_SIZE, 0)) || q != p) goto fail;
		if (p[0] != 'a') goto fail;
		p[PAGE_SIZE - 1] = 'y';
		err = 0;
	fail:
		vfree(p);
		if (err) return err;
	}
	return 0;
}

struct test_case_desc {
	const char *name;
	int (*fn)(struct worker *w);
};

/* Index i is the case's id: bit i of run_test_mask. */
static const struct test_case_desc cases[] = {
	{"fix_size_alloc_test", fix_size_alloc_test},
	{"full_fit_alloc_test", full_fit_alloc_test},
	{"long_busy_list_alloc_test", long_busy_list_alloc_test},
	{"random_size_alloc_test", random_size_alloc_test},
	{"fix_align_alloc_test", fix_align_alloc_test},
	{"random_size_align_alloc_test", random_size_align_alloc_test},
	{"align_shift_alloc_test", align_shift_alloc_test},
	{"pcpu_alloc_test", pcpu_alloc_test},
	{"kvfree_rcu_1_arg_vmalloc_test", kvfree_rcu_1_arg_vmalloc_test},
	{"kvfree_rcu_2_arg_vmalloc_test", kvfree_rcu_2_arg_vmalloc_test},
	{"vm_map_ram_test", vm_map_ram_test},
	{"no_block_alloc_test", no_block_alloc_test},
	{"vrealloc_shrink_test", vrealloc_shrink_test},
	{"vrealloc_test", vrealloc_test},
};
#define NR_CASES ARRAY_SIZE(cases)
#define ALIGN_SHIFT_ID 6

static bool selected(u32 id) { return P.run_test_mask & (1UL << id); }

/* Cases selected but not run because their workers' memory cannot fit (fit_check): each fails, saying so. */
static u64 unfit;
static char unfit_why[NR_CASES][224];

/* The most memory one worker of case `id` holds at once, in pages: the data pages, the pointer arrays,
 * page tables (each area spans its pages and a guard page) and about 128 bytes of records per area. Only
 * the cases that hold much are modelled; the others hold at most a few hundred pages. */
static u64 case_peak_pages(u32 id)
{
	switch (id) {
	case 1: { /* full_fit: junk pairs of 1-page areas, half of them kept through the loop */
		u64 junk = full_fit_junk();
		return 2 * junk + 2 * (junk * 8 / PAGE_SIZE + 1) + 4 * junk / 512 + 2 * junk * 128 / PAGE_SIZE + 16;
	}
	case 2: { /* long_busy_list: BUSY 1-page areas, then a 100-page and a 1-page area per loop */
		u64 busy = long_busy_count();
		return busy + busy * 8 / PAGE_SIZE + 1 + 101 + 2 * busy / 512 + busy * 128 / PAGE_SIZE + 16;
	}
	case 12: return 50 * (256 << 10) / PAGE_SIZE + 64; /* vrealloc_shrink: 50 areas of 256 KiB */
	default: return 256;
	}
}

/* Linux sizes full_fit and long_busy_list by the number of harts (fls(harts) x 64 MiB per full_fit
 * worker: 448 MiB at 64 harts), and every hart runs a worker at once: at -smp 64 -m 4G with 32 workers
 * they ran out of memory mid-run. Each such case is checked before any worker starts, against the free
 * pages less a sixteenth (the arena's own tables, the other cases' leftovers, kvfree_rcu's backlog), and
 * not run when it cannot fit: its KTAP case fails naming what it needs and what there is, instead of a
 * worker finding out half-way. Workers run `harts` at a time (the rest one after another on each hart), so
 * that many hold their peak together when their orders put the case side by side. */
static void fit_check(u32 nharts)
{
	u64 free = buddy_free_pages() + page_cache_pages(), room = free - free / 16;
	unfit = 0;
	for (u32 id = 0; id < NR_CASES; id++) {
		if (!selected(id)) continue;
		u64 need = case_peak_pages(id) * nharts;
		if (need <= room) continue;
		unfit |= 1UL << id;
		snprintf(unfit_why[id], sizeof(unfit_why[id]),
			 "%s cannot fit: %u workers at once need %lu MiB (%lu MiB each%s), %lu MiB free", cases[id].name,
			 nharts, need >> (20 - PAGE_SHIFT), case_peak_pages(id) >> (20 - PAGE_SHIFT),
			 id == 1 ? ", Linux's fls(harts) x 64 MiB" : "", free >> (20 - PAGE_SHIFT));
		printk("test_vmalloc: %s: not run\n", unfit_why[id]);
	}
}

static void run_worker(struct worker *w)
{
	u32 order[NR_CASES];

	for (u32 i = 0; i < NR_CASES; i++) order[i] = i;
	if (!P.sequential_test_order)
		for (u32 i = NR_CASES - 1; i > 0; i--) {
			u32 j = (u32)(rnd(w) % (i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	w->start = rdtime();
	for (u32 k = 0; k < NR_CASES; k++) {
		u32 id = order[k];
		if (!selected(id) || (unfit & (1UL << id))) continue;
		u64 t0 = rdtime();
		for (u64 r = 0; r < P.test_repeat_count; r++) {
			if (!cases[id].fn(w)) w->data[id].passed++;
			else w->data[id].failed++;
		}
		/* Like Linux: the average over repeats of one run of the whole loop, in microseconds. */
		w->data[id].usec = (rdtime() - t0) * 1000000 / timer_hz() / P.test_repeat_count;
	}
	w->stop = rdtime();
}

static struct smp_barrier start_line;

/* IPIs taken so far, summed over the online harts: the kicks of lock, purge and grace-period waits. */
static u64 ipis_taken_all(void)
{
	u64 n = 0;
	hartset_for_each(i, &harts_online) n += READ_ONCE(harts[i].ipis_taken);
	return n;
}

/* A hart runs its share of the workers one after the other (worker k lives on hart k % harts). The
 * harts start together: each sleeps in wfi at the barrier until the last one arrives. */
static void run_hart_share(void *arg)
{
	u32 hart = (u32)(uptr)arg, nharts = MIN(nr_harts_online, (u32)P.nr_threads);
	smp_barrier_wait(&start_line);
	for (u32 k = hart; k < P.nr_threads; k += nharts) run_worker(&workers[k]);
}

static u64 param(const char *name, u64 bench_default, u64 test_default, bool bench)
{
	char key[64];
	u64 v;
	snprintf(key, sizeof(key), "test_vmalloc.%s", name);
	if (!bootarg_u64(key, &v)) return v;
	return bench ? bench_default : test_default;
}

static void load_params(void)
{
	bool bench = false;
	for (int i = 0; i < bootarg_count(); i++)
		if (!strncmp(bootarg_key(i), "test_vmalloc.", 13)) bench = true;
	P.bench = bench;
	P.run_test_mask = param("run_test_mask", ~0ULL, ~0ULL, bench);
	P.test_loop_count = param("test_loop_count", 1000000, 200, bench);
	P.test_repeat_count = MAX(param("test_repeat_count", 1, 1, bench), 1);
	P.nr_threads = param("nr_threads", 0, 0, bench);
	if (!P.nr_threads) P.nr_threads = nr_harts_online;
	P.sequential_test_order = param("sequential_test_order", 0, 0, bench);
	P.nr_pages = param("nr_pages", 0, 0, bench);
	P.use_huge = param("use_huge", 0, 0, bench);
}

static void run_all(void)
{
	load_params();
	printk("test_vmalloc: mask 0x%lx loops %lu repeat %lu workers %lu on %u harts%s\n", P.run_test_mask,
	       P.test_loop_count, P.test_repeat_count, P.nr_threads, nr_harts_online,
	       P.sequential_test_order ? ", sequential" : "");
	workers = vzalloc(P.nr_threads * sizeof(*workers));
	if (!workers) {
		printk("test_vmalloc: no memory for %lu worker records\n", P.nr_threads);
		return;
	}
	for (u32 k = 0; k < P.nr_threads; k++) {
		workers[k].id = k;
		workers[k].rng = 0x9e3779b97f4a7c15ULL * (k + 1);
	}
	u32 nharts = MIN(nr_harts_online, (u32)P.nr_threads);
	fit_check(nharts);
	u64 arena0, stripes0, pools0, arena1, stripes1, pools1;
	struct vm_stats st0, st1;
	vm_lock_counts(&arena0, &stripes0, &pools0);
	vm_get_stats(&st0);
	u64 ipis0 = ipis_taken_all();
	smp_barrier_init(&start_line, nharts);
	for (u32 h = 1; h < nharts; h++) smp_call_on(h, run_hart_share, (void *)(uptr)h);
	run_hart_share((void *)0);
	smp_wait_all();
	vm_lock_counts(&arena1, &stripes1, &pools1);
	vm_get_stats(&st1);
	u64 ipis = ipis_taken_all() - ipis0;
	for (u32 k = 0; k < P.nr_threads; k++) {
		struct worker *w = &workers[k];
		for (u32 id = 0; id < NR_CASES; id++) {
			if (!selected(id) || (unfit & (1UL << id))) continue;
			printk("Summary: %s passed: %u failed: %u repeat: %lu loops: %lu avg: %lu usec\n", cases[id].name,
			       w->data[id].passed, w->data[id].failed, P.test_repeat_count, P.test_loop_count,
			       w->data[id].usec);
		}
		printk("All test took worker%u=%lu cycles\n", k, w->stop - w->start);
	}
	/* First start to last stop: under -icount with several harts the virtual clock advances with every
	 * hart's instructions, so this is what all of them executed, spinning or not. */
	u64 first = ~0ULL, last = 0;
	for (u32 k = 0; k < P.nr_threads; k++) {
		first = MIN(first, workers[k].start);
		last = MAX(last, workers[k].stop);
	}
	printk("makespan: %lu ns for %lu workers on %u harts\n", timer_ticks_to_ns(last - first), P.nr_threads,
	       MIN(nr_harts_online, (u32)P.nr_threads));
	/* Where a several-hart run's instructions can go besides the work: the locks every hart shares, the
	 * purges and their remote fences (bench.sh section 3 divides by the loops of all workers). */
	printk("shared: arena_locks=%lu pool_locks=%lu stripe_locks=%lu purges=%lu remote_fences=%lu full_flushes=%lu "
	       "ipis=%lu for %lu loops x %lu workers\n", arena1 - arena0, pools1 - pools0, stripes1 - stripes0,
	       st1.purges - st0.purges, st1.remote_fences - st0.remote_fences, st1.full_flushes - st0.full_flushes,
	       ipis, P.test_loop_count * P.test_repeat_count, P.nr_threads);
}

/* One KTAP case per test id: the first runs the workers, all judge what was recorded. */
static void judge_records(struct ktest *t, u32 id);

static void judge(struct ktest *t, u32 id)
{
	if (id == 0) run_all();
	if (!selected(id)) ktest_skip(t, "not in test_vmalloc.run_test_mask");
	else if (!workers) KT_EXPECT(t, workers != NULL);
	else if (unfit & (1UL << id)) ktest_fail(t, __FILE__, __LINE__, unfit_why[id]);
	else judge_records(t, id);
	if (id == NR_CASES - 1) {
		vfree(workers);
		workers = NULL;
	}
}

static void judge_records(struct ktest *t, u32 id)
{
	for (u32 k = 0; k < P.nr_threads; k++) {
		struct worker *w = &workers[k];
		KT_EXPECT(t, w->data[id].passed + w->data[id].failed == P.test_repeat_count);
		if (id == ALIGN_SHIFT_ID) {
			/* Alone, every alignment up to half the region fits; with other workers allocating at the
			 * same time their areas may sit on both candidate starts of the largest alignments. One
			 * past the region never fits. */
			KT_EXPECT(t, w->data[id].failed == P.test_repeat_count);
			if (P.nr_threads == 1) KT_EXPECT(t, (int)w->data[id].detail >= ilog2_u64(VMALLOC_SIZE));
			KT_EXPECT(t, (int)w->data[id].detail <= ilog2_u64(VMALLOC_SIZE) + 3);
		} else {
			KT_EXPECT(t, w->data[id].failed == 0);
		}
	}
}

#define CASE(id, name) \
	static void t_##name(struct ktest *t) { judge(t, id); }
CASE(0, fix_size_alloc_test)
CASE(1, full_fit_alloc_test)
CASE(2, long_busy_list_alloc_test)
CASE(3, random_size_alloc_test)
CASE(4, fix_align_alloc_test)
CASE(5, random_size_align_alloc_test)
CASE(6, align_shift_alloc_test)
CASE(7, pcpu_alloc_test)
CASE(8, kvfree_rcu_1_arg_vmalloc_test)
CASE(9, kvfree_rcu_2_arg_vmalloc_test)
CASE(10, vm_map_ram_test)
CASE(11, no_block_alloc_test)
CASE(12, vrealloc_shrink_test)
CASE(13, vrealloc_test)

KTEST_SUITE(test_vmalloc, {"fix_size_alloc_test", t_fix_size_alloc_test},
	    {"full_fit_alloc_test", t_full_fit_alloc_test}, {"long_busy_list_alloc_test", t_long_busy_list_alloc_test},
	    {"random_size_alloc_test", t_random_size_alloc_test}, {"fix_align_alloc_test", t_fix_align_alloc_test},
	    {"random_size_align_alloc_test", t_random_size_align_alloc_test},
	    {"align_shift_alloc_test", t_align_shift_alloc_test}, {"pcpu_alloc_test", t_pcpu_alloc_test},
	    {"kvfree_rcu_1_arg_vmalloc_test", t_kvfree_rcu_1_arg_vmalloc_test},
	    {"kvfree_rcu_2_arg_vmalloc_test", t_kvfree_rcu_2_arg_vmalloc_test}, {"vm_map_ram_test", t_vm_map_ram_test},
	    {"no_block_alloc_test", t_no_block_alloc_test}, {"vrealloc_shrink_test", t_vrealloc_shrink_test},
	    {"vrealloc_test", t_vrealloc_test});
