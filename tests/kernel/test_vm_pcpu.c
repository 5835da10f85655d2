/* Suite `vm_pcpu`: the per-hart allocator (vm/pcpu_alloc.c). An object is one zeroed copy per hart,
 * aligned as asked; bad requests and pointers it did not hand out are refused and change nothing; a
 * chunk goes back to vmalloc when its last object is freed, whichever hart frees it, including a chunk
 * another hart is still carving from; harts allocating and freeing each other's objects at once lose
 * nothing and corrupt nothing. The runner's leak check after the suite sees every chunk gone. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "vm/pcpu_alloc.h"
#include "vm/vmalloc.h"

/* Each hart's copy of p holds `size` bytes of pattern (tag, hart). */
static void fill(void *p, u64 size, u8 tag)
{
	for (u32 h = 0; h < nr_harts_online; h++) memset(per_cpu_ptr(p, h), (u8)(tag + 31 * h), size);
}

static bool holds(void *p, u64 size, u8 tag)
{
	for (u32 h = 0; h < nr_harts_online; h++) {
		const u8 *c = per_cpu_ptr(p, h);
		for (u64 i = 0; i < size; i++)
			if (c[i] != (u8)(tag + 31 * h)) return false;
	}
	return true;
}

static bool zeroed(void *p, u64 size)
{
	for (u32 h = 0; h < nr_harts_online; h++) {
		const u8 *c = per_cpu_ptr(p, h);
		for (u64 i = 0; i < size; i++)
			if (c[i]) return false;
	}
	return true;
}

/* Size 0, over PCPU_MAX_ALLOC, alignment 0, not a power of two or over a page: NULL, and no chunk made. */
static void bad_requests_change_nothing(struct ktest *t)
{
	u64 areas = vm_live_areas();
	KT_EXPECT(t, !__alloc_percpu(0, 8));
	KT_EXPECT(t, !__alloc_percpu(PCPU_MAX_ALLOC + 1, 8));
	KT_EXPECT(t, !__alloc_percpu((size_t)-1, 8));
	KT_EXPECT(t, !__alloc_percpu(16, 0));
	KT_EXPECT(t, !__alloc_percpu(16, 24));
	KT_EXPECT(t, !__alloc_percpu(16, 2 * PAGE_SIZE));
	KT_EXPECT(t, vm_live_areas() == areas);
}

/* Objects of many sizes and alignments: every copy zeroed when handed out and aligned, and no two
 * objects (or two harts' copies) overlap: each is filled with its own pattern and all still hold theirs
 * when every one has been filled. One chunk for the first; freed, all are gone. */
static void copies_are_zeroed_aligned_and_apart(struct ktest *t)
{
	enum { N = 600 };
	static void *p[N];
	static u32 sz[N];
	u64 areas = vm_live_areas();
	bool ok_zero = true, ok_align = true, ok_kept = true;
	for (u32 i = 0; i < N; i++) {
		u64 align = 1UL << (i % 13), size = 1 + (i * 37) % 700;
		if (i % 50 == 7) size = PCPU_MAX_ALLOC;
		p[i] = __alloc_percpu(size, align);
		KT_ASSERT(t, p[i]);
		sz[i] = (u32)size;
		ok_align &= !((uptr)p[i] & (align - 1));
		ok_zero &= zeroed(p[i], size);
		fill(p[i], size, (u8)i);
	}
	for (u32 i = 0; i < N; i++) ok_kept &= holds(p[i], sz[i], (u8)i);
	KT_EXPECT(t, ok_zero);
	KT_EXPECT(t, ok_align);
	KT_EXPECT(t, ok_kept);
	KT_EXPECT(t, vm_live_areas() > areas);
	for (u32 i = 0; i < N; i++) free_percpu(p[i]);
	KT_EXPECT(t, vm_live_areas() == areas);
}

/* Pointers it did not hand out: a plain vmalloc area, the chunk's header, space past what was carved,
 * a freed object's chunk once it is gone. Each is refused; the live object and its chunk stay. */
static void foreign_pointers_are_refused(struct ktest *t)
{
	u64 areas = vm_live_areas();
	u8 *p = __alloc_percpu(64, 64);
	KT_ASSERT(t, p);
	fill(p, 64, 0x5a);
	u8 *v = vmalloc(PCPU_UNIT_SIZE);
	KT_ASSERT(t, v);
	u8 *base = (u8 *)((uptr)p & ~(PCPU_UNIT_SIZE - 1));
	free_percpu(v);
	free_percpu(v + 256);
	free_percpu(base);
	free_percpu(base + 8);
	free_percpu(p + 4096); /* inside the unit, never carved */
	free_percpu(per_cpu_ptr(p, 0) + PCPU_UNIT_SIZE - 4);
	KT_EXPECT(t, vm_live_areas() == areas + 2);
	KT_EXPECT(t, holds(p, 64, 0x5a));
	vfree(v);
	free_percpu(p);
	KT_EXPECT(t, vm_live_areas() == areas);
	free_percpu(p); /* its chunk went back with it: refused, nothing to change */
	KT_EXPECT(t, vm_live_areas() == areas);
}

/* A chunk holds three objects of PCPU_MAX_ALLOC after its header. Seven make three chunks; the first,
 * full and retired, goes back with its last object; the current one with the last of all. */
static void full_chunks_go_back_with_their_last_object(struct ktest *t)
{
	u64 areas = vm_live_areas();
	void *p[7];
	for (u32 i = 0; i < 7; i++) {
		p[i] = __alloc_percpu(PCPU_MAX_ALLOC, 8);
		KT_ASSERT(t, p[i]);
	}
	KT_EXPECT(t, vm_live_areas() == areas + 3);
	free_percpu(p[0]);
	free_percpu(p[1]);
	KT_EXPECT(t, vm_live_areas() == areas + 3);
	free_percpu(p[2]);
	KT_EXPECT(t, vm_live_areas() == areas + 2);
	for (u32 i = 3; i < 7; i++) free_percpu(p[i]);
	KT_EXPECT(t, vm_live_areas() == areas);
}

static void *volatile remote_obj;
static void alloc_on_other(void *arg)
{
	remote_obj = __alloc_percpu((u64)(uptr)arg, 16);
	if (remote_obj) fill(remote_obj, (u64)(uptr)arg, 0x77);
}
static void free_on_other(void *arg) { free_percpu(arg); }

/* An object of `size` bytes allocated and filled (tag 0x77) on hart `hart`; NULL if the call could not be
 * queued or the allocation failed. */
static void *alloc_there(u32 hart, u64 size)
{
	remote_obj = NULL;
	if (smp_call_on(hart, alloc_on_other, (void *)(uptr)size) != 0) return NULL;
	smp_wait_all();
	return remote_obj;
}

/* Another hart's current chunk emptied from here: it goes back at once and leaves that hart's slot, so
 * the hart's next object comes from a new chunk (zeroed, usable); and one of ours freed there. */
static void another_harts_current_chunk_emptied_here(struct ktest *t)
{
	u32 other;
	if (!ktest_other_hart(t, &other)) return;
	u64 areas = vm_live_areas();
	void *a = alloc_there(other, 100);
	KT_ASSERT(t, a);
	KT_EXPECT(t, holds(a, 100, 0x77));
	KT_EXPECT(t, vm_live_areas() == areas + 1);
	free_percpu(a);
	KT_EXPECT(t, vm_live_areas() == areas);
	void *b = alloc_there(other, 200);
	KT_ASSERT(t, b);
	KT_EXPECT(t, holds(b, 200, 0x77));
	KT_EXPECT(t, vm_live_areas() == areas + 1);
	void *c = __alloc_percpu(32, 8); /* this hart's own chunk */
	KT_ASSERT(t, c);
	KT_EXPECT(t, zeroed(c, 32));
	KT_EXPECT(t, vm_live_areas() == areas + 2);
	KT_ASSERT(t, smp_call_on(other, free_on_other, c) == 0);
	smp_wait_all();
	KT_EXPECT(t, vm_live_areas() == areas + 1);
	free_percpu(b);
	KT_EXPECT(t, vm_live_areas() == areas);
}

/* Every hart allocates, fills, and puts objects into a shared ring, and frees whatever it takes out of
 * it, most of them another hart's: chunks are emptied and handed back by harts that do not own them
 * while their owners carve. Every object taken must still hold its pattern and every new one be zeroed. */
#define TRADE_SLOTS 64
#define TRADE_OPS 3000
static void *volatile trade_ring[TRADE_SLOTS];
static u32 trade_bad[MAX_HARTS], trade_fail[MAX_HARTS];
static struct smp_barrier trade_start;

static void trade_worker(void *arg)
{
	u32 me = (u32)(uptr)arg;
	u64 rng = 0x9e3779b97f4a7c15ULL * (me + 3);
	smp_barrier_wait(&trade_start);
	for (u32 n = 0; n < TRADE_OPS; n++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		u64 size = 8 + (rng >> 40) % 2000, align = 1UL << ((rng >> 20) % 10);
		u8 *p = __alloc_percpu(size, align);
		if (!p) {
			trade_fail[me]++;
			continue;
		}
		if (!zeroed(p, size)) trade_bad[me]++;
		fill(p, size, (u8)size);
		memcpy(p, &size, sizeof(size)); /* hart 0's copy starts with the size (objects are 8 bytes or more) */
		u32 slot = (u32)(rng % TRADE_SLOTS);
		u8 *old = __atomic_exchange_n(&trade_ring[slot], (void *)p, __ATOMIC_ACQ_REL);
		if (old) {
			u64 osz;
			memcpy(&osz, old, sizeof(osz));
			memset(old, (u8)osz, sizeof(osz)); /* the pattern back where the size was */
			if (osz < 8 || osz > 2008 || !holds(old, osz, (u8)osz)) trade_bad[me]++;
			free_percpu(old);
		}
	}
}

static void harts_trade_objects(struct ktest *t)
{
	u32 harts = nr_harts_online;
	if (harts < 2) {
		ktest_skip(t, "needs a second hart");
		return;
	}
	u64 areas = vm_live_areas();
	for (u32 i = 0; i < TRADE_SLOTS; i++) trade_ring[i] = NULL;
	for (u32 h = 0; h < harts; h++) trade_bad[h] = trade_fail[h] = 0;
	smp_barrier_init(&trade_start, harts);
	for (u32 h = 1; h < harts; h++) KT_ASSERT(t, smp_call_on(h, trade_worker, (void *)(uptr)h) == 0);
	trade_worker((void *)0UL);
	smp_wait_all();
	u32 bad = 0, fail = 0;
	for (u32 h = 0; h < harts; h++) bad += trade_bad[h], fail += trade_fail[h];
	for (u32 i = 0; i < TRADE_SLOTS; i++)
		if (trade_ring[i]) free_percpu(trade_ring[i]);
	KT_EXPECT(t, bad == 0);
	KT_EXPECT(t, fail == 0);
	KT_EXPECT(t, vm_live_areas() == areas);
}

KTEST_SUITE(vm_pcpu, {"bad_requests_change_nothing", bad_requests_change_nothing},
	    {"copies_are_zeroed_aligned_and_apart", copies_are_zeroed_aligned_and_apart},
	    {"foreign_pointers_are_refused", foreign_pointers_are_refused},
	    {"full_chunks_go_back_with_their_last_object", full_chunks_go_back_with_their_last_object},
	    {"another_harts_current_chunk_emptied_here", another_harts_current_chunk_emptied_here},
	    {"harts_trade_objects", harts_trade_objects});
