/* Suite `vmalloc`: every API edge (NULL, 0, overflowing sizes, alignments, foreign, interior and double
 * frees), vmap and vm_map_ram's bad requests (the rest: suite vm_map_ram), huge and node fallbacks,
 * owner limits, exhaustion of the region and of physical memory, and misuse caught with the right area
 * named (guard page, use after vfree, redzone). */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "kernel/kfault.h"
#include "kernel/trap.h"
#include "lib/ksyms.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"
#include "vm/vmalloc_chunk.h"

static bool contains(const char *s, const char *what)
{
	size_t n = strlen(what);
	for (; *s; s++)
		if (!strncmp(s, what, n)) return true;
	return false;
}

static void bad_requests_rejected(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	vfree(NULL);
	vfree_atomic(NULL);
	vunmap(NULL);
	KT_EXPECT(t, vmalloc(0) == NULL);
	KT_EXPECT(t, vzalloc(0) == NULL);
	KT_EXPECT(t, vmalloc(~(size_t)0) == NULL);
	KT_EXPECT(t, vmalloc(VMALLOC_SIZE + 1) == NULL);
	KT_EXPECT(t, vmalloc(~(size_t)0 - PAGE_SIZE + 2) == NULL); /* rounds up past 2^64 */
	KT_EXPECT(t, __vmalloc_node(PAGE_SIZE, 3 * PAGE_SIZE, 0, NUMA_NO_NODE, NULL) == NULL);
	KT_EXPECT(t, __vmalloc_node(PAGE_SIZE, 1UL << 63, 0, NUMA_NO_NODE, NULL) == NULL);
	KT_EXPECT(t, __vmalloc_node(VMALLOC_SIZE, PAGE_SIZE, 0, NUMA_NO_NODE, NULL) == NULL); /* no room for the guard */
	KT_EXPECT(t, vmap(NULL, 1, 0, 0) == NULL);
	KT_EXPECT(t, vm_map_ram(NULL, 1, NUMA_NO_NODE) == NULL);
	vm_get_stats(&b);
	KT_EXPECT(t, b.rejected >= a.rejected + 5);
	KT_EXPECT(t, b.failures > a.failures);
	KT_EXPECT(t, b.last_fail_reason != NULL);
	KT_EXPECT(t, b.last_fail_errno == EINVAL); /* the last one, vm_map_ram(NULL, ...), is a bad argument */
	KT_EXPECT(t, b.live_areas == a.live_areas && b.live_pages == a.live_pages);
}

static void alloc_is_mapped_and_tracked(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	u8 *p = vmalloc(10000);
	KT_ASSERT(t, p);
	KT_EXPECT(t, is_vmalloc_addr(p) && ((uptr)p & (PAGE_SIZE - 1)) == 0);
	for (u32 i = 0; i < 10000; i++) p[i] = (u8)i;
	for (u32 i = 0; i < 10000; i++) KT_EXPECT(t, p[i] == (u8)i);
	struct vmap_area *ar = find_vm_area(p);
	KT_ASSERT(t, ar);
	KT_EXPECT(t, ar->requested == 10000 && ar->size == 3 * PAGE_SIZE && ar->nr_pages == 3);
	KT_EXPECT(t, find_vm_area(p + PAGE_SIZE) == NULL);
	struct page *pg[3];
	for (int i = 0; i < 3; i++) pg[i] = vmalloc_to_page(p + i * PAGE_SIZE);
	KT_EXPECT(t, pg[0] && pg[1] && pg[2] && pg[0] != pg[1] && pg[1] != pg[2]);
	KT_EXPECT(t, vmalloc_to_page(p + 3 * PAGE_SIZE) == NULL); /* the guard */
	KT_EXPECT(t, *(u8 *)phys_to_virt(page_to_pa(pg[1]) + 5) == (u8)(PAGE_SIZE + 5));
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_areas == a.live_areas + 1 && b.live_pages == a.live_pages + 3 && b.seq > a.seq);
	vfree(p);
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_areas == a.live_areas && b.live_pages == a.live_pages);
	KT_EXPECT(t, vmalloc_to_page(p) == NULL); /* PTEs cleared at once */
}

static void vzalloc_is_zero(struct ktest *t)
{
	u8 *p = vzalloc(3 * PAGE_SIZE + 100);
	KT_ASSERT(t, p);
	bool zero = true;
	for (u64 i = 0; i < 4 * PAGE_SIZE; i++) zero &= p[i] == 0; /* slack included */
	KT_EXPECT(t, zero);
	vfree(p);
}

static void alignments_honoured(struct ktest *t)
{
	for (u32 k = 12; k <= 32; k++) {
		void *p = __vmalloc_node(PAGE_SIZE, 1UL << k, 0, NUMA_NO_NODE, NULL);
		KT_EXPECT(t, p && ((uptr)p & ((1UL << k) - 1)) == 0);
		vfree(p);
	}
}

static void poke(void *p) { *(volatile u8 *)p = 1; }
static void peek(void *p) { (void)*(volatile u8 *)p; }

static void guard_page_fault_names_area(struct ktest *t)
{
	struct kfault_report r;
	char start[32];
	u8 *p = vmalloc(2 * PAGE_SIZE - 10);
	KT_ASSERT(t, p);
	long cause = kfault_try(poke, p + 2 * PAGE_SIZE + 16, &r);
	snprintf(start, sizeof(start), "0x%lx", (u64)(uptr)p);
	KT_EXPECT(t, cause == EXC_STORE_PAGE);
	KT_EXPECT(t, contains(r.text, "guard page"));
	KT_EXPECT(t, contains(r.text, start));
	KT_EXPECT(t, contains(r.text, "26 bytes past the end")); /* 16 past the page + 10 bytes of slack */
	char caller[96];
	ksym_format((uptr)find_vm_area(p)->caller, caller, sizeof(caller));
	KT_EXPECT(t, contains(r.text, caller)); /* the caller recorded at vmalloc */
	vfree(p);
}

static void use_after_vfree_caught(struct ktest *t)
{
	struct kfault_report r;
	char start[32];
	/* Detection is the debug mode (vmalloc.debug_uaf=1): by default vfree leaves the freeing hart's TLB
	 * to the purge too, and a stale translation may still serve the access. */
	bool was = vm_set_debug_uaf(true);
	u8 *p = vmalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	p[0] = 1;
	vfree(p);
	long cause = kfault_try(peek, p + 8, &r);
	vm_set_debug_uaf(was);
	snprintf(start, sizeof(start), "0x%lx", (u64)(uptr)p);
	KT_EXPECT(t, cause == EXC_LOAD_PAGE);
	KT_EXPECT(t, contains(r.text, "use after vfree"));
	KT_EXPECT(t, contains(r.text, start));
}

static void redzone_overwrite_caught(struct ktest *t)
{
	struct vm_stats a, b;
	u8 *p = vmalloc(100);
	KT_ASSERT(t, p);
	vm_get_stats(&a);
	p[99] = 1; /* in bounds: fine */
	vfree(p);
	vm_get_stats(&b);
	KT_EXPECT(t, b.redzone_errors == a.redzone_errors);
	p = vmalloc(100);
	KT_ASSERT(t, p);
	p[103] = 0x11;
	vfree(p);
	vm_get_stats(&b);
	KT_EXPECT(t, b.redzone_errors == a.redzone_errors + 1);
}

/* Each bad free is refused and counted once, the double free included: counted against the count just
 * before it, so the earlier refusals cannot stand in for its detection. */
static void bad_frees_change_nothing(struct ktest *t)
{
	struct vm_stats a, b;
	u8 stack_byte = 0;
	u8 *p = vmalloc(2 * PAGE_SIZE);
	KT_ASSERT(t, p);
	vm_get_stats(&a);
	vfree(p + PAGE_SIZE);        /* interior */
	vfree(&stack_byte);          /* foreign */
	vfree((void *)VMALLOC_START); /* not an area start */
	vm_get_stats(&b);
	KT_EXPECT(t, b.bad_frees == a.bad_frees + 3);
	KT_EXPECT(t, vrealloc(p + 8, 100, 0) == NULL);
	vunmap(p + 4);
	vm_get_stats(&b);
	KT_EXPECT(t, b.bad_frees >= a.bad_frees + 4);
	KT_EXPECT(t, find_vm_area(p) != NULL && b.live_pages == a.live_pages);
	p[2 * PAGE_SIZE - 1] = 7; /* still mapped */
	vfree(p);
	vm_get_stats(&a);
	KT_EXPECT(t, find_vm_area(p) == NULL && a.live_pages == b.live_pages - 2);
	vfree(p); /* double free */
	vm_get_stats(&b);
	KT_EXPECT(t, b.bad_frees == a.bad_frees + 1 && b.live_pages == a.live_pages);
}

/* Live pages this hart has counted (both banks): an idle hart that drains the deferred list counts the
 * pages it frees on its own, so this is what vfree_atomic itself did, whatever the others do. */
static s64 my_live_pages(void)
{
	struct arena_hart *h = &arena_harts[this_hart_index()];
	return READ_ONCE(h->stat[0][ARENA_STAT_LIVE_PAGES]) + READ_ONCE(h->stat[1][ARENA_STAT_LIVE_PAGES]);
}

static void vfree_atomic_defers_pages(struct ktest *t)
{
	struct vm_stats a, b;
	void *p = vmalloc(3 * PAGE_SIZE);
	KT_ASSERT(t, p);
	vm_get_stats(&a);
	s64 mine = my_live_pages();
	unsigned long f = irq_save();
	vfree_atomic(p);
	irq_restore(f);
	vm_get_stats(&b);
	KT_EXPECT(t, find_vm_area(p) == NULL); /* out of the busy map at once */
	/* Pages still held: not freed by the call (an idle hart woken by its tick may drain them meanwhile,
	 * as a drain should: on 8 harts that raced a check of the global count). */
	KT_EXPECT(t, my_live_pages() == mine);
	KT_EXPECT(t, b.deferred_frees == a.deferred_frees + 1);
	vm_deferred_drain();
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages - 3);
}

static void *volatile irq_victim;
static volatile bool irq_was_interrupt, irq_done;

static void free_from_tick(void)
{
	irq_was_interrupt = in_interrupt();
	vfree((void *)irq_victim); /* plain vfree: it must see the interrupt context and defer */
	irq_done = true;
}

/* A vfree issued by a real timer interrupt: the area leaves at once, the pages follow without anyone
 * calling vmalloc or vfree again (idle harts are the deferred-free worker; here the test waits on one). */
static void vfree_in_timer_interrupt(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	irq_victim = vmalloc(5 * PAGE_SIZE);
	KT_ASSERT(t, irq_victim);
	irq_done = false;
	timer_run_in_irq_once(free_from_tick);
	u64 until = timer_now_ns() + 2000000000ULL;
	while (!irq_done && timer_now_ns() < until) cpu_relax();
	KT_ASSERT(t, irq_done);
	KT_EXPECT(t, irq_was_interrupt);
	KT_EXPECT(t, find_vm_area((void *)irq_victim) == NULL);
	vm_deferred_drain(); /* waits for an idle hart that took the list to finish it */
	vm_get_stats(&b);
	KT_EXPECT(t, b.deferred_frees == a.deferred_frees + 1);
	KT_EXPECT(t, b.live_pages == a.live_pages);
}

static void vmap_maps_callers_pages(struct ktest *t)
{
	struct page *pg[3] = {0};
	for (int i = 0; i < 3; i++) {
		u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
		KT_ASSERT(t, pa);
		pg[i] = pa_to_page(pa);
		memset(phys_to_virt(pa), 'A' + i, PAGE_SIZE);
	}
	u8 *v = vmap(pg, 3, 0, 0);
	KT_EXPECT(t, v && v[0] == 'A' && v[PAGE_SIZE] == 'B' && v[3 * PAGE_SIZE - 1] == 'C');
	KT_EXPECT(t, v && vmalloc_to_page(v + PAGE_SIZE) == pg[1]);
	vunmap(v);
	struct page *with_null[2] = {pg[0], NULL};
	KT_EXPECT(t, vmap(with_null, 2, 0, 0) == NULL);
	KT_EXPECT(t, vmap(pg, 1, 0, PTE_W) == NULL); /* write without read */
	KT_EXPECT(t, vmap(pg, 1, 0, PTE_R | PTE_W | PTE_X) == NULL); /* W^X */
	u8 *x = vmap(pg, 1, 0, PTE_R | PTE_X);
	KT_EXPECT(t, x != NULL);
	vunmap(x);
	for (int i = 0; i < 3; i++) {
		KT_EXPECT(t, *(u8 *)phys_to_virt(page_to_pa(pg[i])) == 'A' + i); /* pages stay the caller's */
		buddy_free_order(page_to_pa(pg[i]), 0);
	}
}

/* Where two free 2 MiB blocks exist, a 4 MiB vmalloc_huge must be mapped by two 2 MiB leaves (no
 * fallback), and each translation must reach the byte written through it: read back through the
 * direct map, not through vmalloc_to_page, which is built on vmalloc_to_pa itself. */
static void huge_leaves_where_they_fit(struct ktest *t)
{
	struct vm_stats a, b;
	u64 blk[2];
	for (int i = 0; i < 2; i++) blk[i] = buddy_alloc_order(9, PA_ANY_NODE, 0);
	bool fits = blk[0] && blk[1];
	for (int i = 0; i < 2; i++)
		if (blk[i]) buddy_free_order(blk[i], 9);
	if (!fits) {
		ktest_skip(t, "no two free 2 MiB blocks");
		return;
	}
	vm_get_stats(&a);
	u8 *p = vmalloc_huge(4 << 20, 0);
	KT_ASSERT(t, p);
	struct vmap_area *ar = find_vm_area(p);
	vm_get_stats(&b);
	KT_EXPECT(t, ar && (ar->flags & VM_HUGE));
	KT_EXPECT(t, b.huge_fallbacks == a.huge_fallbacks);
	static const u64 offs[] = {0, 4096 + 40, (1 << 20) + 8, (2 << 20) + 16, (3 << 20) + 4096 * 5 + 24, (4 << 20) - 8};
	for (u32 i = 0; i < ARRAY_SIZE(offs); i++) *(volatile u64 *)(p + offs[i]) = 0x6875676500000000ULL + i;
	for (u32 i = 0; i < ARRAY_SIZE(offs); i++) {
		u64 pa = vmalloc_to_pa(p + offs[i]);
		KT_EXPECT(t, pa && *(volatile u64 *)phys_to_virt(pa) == 0x6875676500000000ULL + i);
		KT_EXPECT(t, pa_to_page(pa) == vmalloc_to_page(p + offs[i]));
	}
	/* Each leaf is one 2 MiB block, aligned and contiguous inside. */
	u64 pa0 = vmalloc_to_pa(p), pa1 = vmalloc_to_pa(p + (2 << 20));
	KT_EXPECT(t, IS_ALIGNED(pa0, PMD_SIZE) && IS_ALIGNED(pa1, PMD_SIZE));
	KT_EXPECT(t, vmalloc_to_pa(p + (3 << 20)) == pa1 + (1 << 20));
	vfree(p);
}

static void huge_and_node_fallbacks(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	u8 *p = vmalloc_huge(4 << 20, 0);
	KT_ASSERT(t, p);
	struct vmap_area *ar = find_vm_area(p);
	vm_get_stats(&b);
	/* Either way the area works; huge_leaves_where_they_fit requires the leaves where memory allows. */
	KT_EXPECT(t, ar && ((ar->flags & VM_HUGE) || b.huge_fallbacks > a.huge_fallbacks));
	p[0] = 1;
	p[(4 << 20) - 1] = 2;
	vfree(p);
	p = vmalloc_huge(PAGE_SIZE, 0); /* too small for a leaf: plain pages */
	KT_EXPECT(t, p && !(find_vm_area(p)->flags & VM_HUGE));
	vfree(p);
	p = vmalloc_node(2 * PAGE_SIZE, 0);
	KT_EXPECT(t, p != NULL);
	vfree(p);
	p = vzalloc_node(2 * PAGE_SIZE, 37); /* no such node: any node will do */
	KT_EXPECT(t, p && p[PAGE_SIZE] == 0);
	vfree(p);
}

static void owner_limit_enforced(struct ktest *t)
{
	const u32 owner = VM_MAX_OWNERS - 1;
	KT_ASSERT(t, vm_owner_set_limit(owner, 10) == 0);
	KT_EXPECT(t, vm_owner_set_limit(VM_OWNER_KERNEL, 1) == -EINVAL);
	struct vm_stats a, b;
	vm_get_stats(&a);
	void *big = __vmalloc_owner(11 * PAGE_SIZE, PAGE_SIZE, 0, NUMA_NO_NODE, owner, NULL);
	KT_EXPECT(t, big == NULL);
	/* A valid request over the limit is a failure, not a rejection, noted with the size asked for (the
	 * guard page left out); before, it counted as both, with the guard in the size. */
	vm_get_stats(&b);
	KT_EXPECT(t, b.failures == a.failures + 1 && b.rejected == a.rejected);
	KT_EXPECT(t, b.last_fail_size == 11 * PAGE_SIZE && b.last_fail_errno == ENOMEM);
	void *p = __vmalloc_owner(10 * PAGE_SIZE, PAGE_SIZE, 0, NUMA_NO_NODE, owner, NULL);
	KT_EXPECT(t, p && vm_owner_pages(owner) == 10);
	KT_EXPECT(t, __vmalloc_owner(1, PAGE_SIZE, 0, NUMA_NO_NODE, owner, NULL) == NULL);
	vfree(big);
	vfree(p);
	KT_EXPECT(t, vm_owner_pages(owner) == 0);
	KT_EXPECT(t, __vmalloc_owner(PAGE_SIZE, PAGE_SIZE, 0, NUMA_NO_NODE, VM_MAX_OWNERS, NULL) == NULL);
	vm_owner_set_limit(owner, 16384);
}

/* Physical exhaustion: allocations fail cleanly, and everything comes back. */
static void physical_exhaustion(struct ktest *t)
{
	enum { CHUNK = 4 << 20, MAXN = 1024 };
	static void *held[MAXN];
	struct vm_stats st;
	u32 n = 0;
	while (n < MAXN && (held[n] = vmalloc(CHUNK))) n++;
	vm_get_stats(&st);
	KT_EXPECT(t, n < MAXN && n > 0);
	KT_EXPECT(t, st.last_fail_reason && contains(st.last_fail_reason, "physical"));
	KT_EXPECT(t, st.last_fail_errno == ENOMEM);
	void *small = NULL;
	while (n && !(small = vmalloc(PAGE_SIZE))) vfree(held[--n]);
	KT_EXPECT(t, small != NULL);
	vfree(small);
	while (n) vfree(held[--n]);
	void *again = vmalloc(CHUNK);
	KT_EXPECT(t, again != NULL);
	vfree(again);
}

/* Reserves the region without backing it: ranges of 4 GiB, then of each smaller power of two down to a
 * page, as many of each as fit, at `align`, until `max` are held. Returns how many. */
static u32 reserve_region(struct vmap_area **held, u32 max, u64 align)
{
	u32 n = 0;
	for (u64 size = 4UL << 30; size >= PAGE_SIZE && n < max;) {
		struct vmap_area *ar = va_area_get(size, align, VM_MAP | VM_NO_GUARD, VM_OWNER_KERNEL, 0, NULL);
		if (ar) {
			ar->size = ar->requested = size;
			held[n++] = ar;
		} else {
			size >>= 1;
		}
	}
	return n;
}

/* Gives back what reserve_region held (parked, then purged). */
static void release_held(struct vmap_area **held, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		struct vmap_area *ar = va_area_take((void *)(uptr)held[i]->addr, "test", NULL);
		if (ar) va_area_park(ar);
	}
	vm_purge();
}

/* Region exhaustion: reserve the whole region without backing it, then see vmalloc fail, then succeed
 * through purge-and-retry once a reservation is freed lazily. */
static void region_exhaustion(struct ktest *t)
{
	/* About one area per size from 4 GiB down on one hart; on several, each other hart's chunk
	 * (vm/vmalloc_chunk.c: up to 64 MiB it carves from, wherever lowest fit put it) splits the free
	 * space around it into up to two pieces of each size. */
	static struct vmap_area *held[256];
	struct vm_stats a, b;
	u32 n = 0;
	vm_purge(); /* this hart's chunk back in the index too */
	n = reserve_region(held, ARRAY_SIZE(held), PAGE_SIZE);
	KT_ASSERT(t, n < ARRAY_SIZE(held));
	KT_EXPECT(t, vmalloc(PAGE_SIZE) == NULL);
	vm_get_stats(&a);
	KT_EXPECT(t, a.last_fail_reason && contains(a.last_fail_reason, "exhausted"));
	KT_EXPECT(t, a.last_fail_errno == ENOMEM);
	struct vmap_area *last = va_area_take((void *)(uptr)held[0]->addr, "test", NULL);
	KT_ASSERT(t, last == held[0]);
	va_area_park(last); /* lazily freed: only a purge makes it usable */
	void *p = vmalloc(PAGE_SIZE);
	vm_get_stats(&b);
	KT_EXPECT(t, p != NULL);
	KT_EXPECT(t, b.purges > a.purges);
	vfree(p);
	release_held(held + 1, n - 1);
}

/* A region full but for this hart's chunk (vm/vmalloc_chunk.c): an allocation that finds the index empty
 * takes the chunk's leftover back through the purge-and-retry path, so no free range is out of reach of
 * the hart that holds it. */
static void exhaustion_takes_back_the_chunk(struct ktest *t)
{
	static struct vmap_area *held[256];
	struct arena_hart *me = &arena_harts[this_hart_index()];
	u32 n = 0;
	vm_purge();
	void *first = vmalloc(20 * PAGE_SIZE); /* above the classes: this hart takes a chunk */
	KT_ASSERT(t, first);
	KT_EXPECT(t, me->chunk_end - me->chunk_cur >= VA_CHUNK_STEP - 21 * PAGE_SIZE); /* a whole chunk but this area and its guard */
	/* Aligned to two pages, never carved from a chunk: the index alone is used up, then the chunk. */
	n = reserve_region(held, ARRAY_SIZE(held), 2 * PAGE_SIZE);
	KT_EXPECT(t, n < ARRAY_SIZE(held));
	KT_EXPECT(t, me->chunk_end == me->chunk_cur); /* given back when the index ran out, and used */
	vfree(first);
	release_held(held, n);
}

/* Another hart's chunk and caches are its alone (no lock guards them): an allocation that finds the
 * region full asks that hart for them (vm_purge_ask_harts), and an idle hart answers at once. */
static void take_chunk_and_cache(void *arg)
{
	(void)arg;
	void *big = vmalloc(20 * PAGE_SIZE), *small = vmalloc(PAGE_SIZE); /* a chunk, a class magazine */
	vfree(big);
	vfree(small);
}

/* Whether a held area overlaps [start, end). */
static bool held_overlaps(struct vmap_area **held, u32 n, u64 start, u64 end)
{
	for (u32 i = 0; i < n; i++)
		if (held[i]->va_start < end && held[i]->va_start + held[i]->va_size > start) return true;
	return false;
}

static void exhaustion_takes_back_other_harts_ranges(struct ktest *t)
{
	static struct vmap_area *held[256];
	u32 other;
	if (!ktest_other_hart(t, &other)) return;
	const struct arena_hart *oh = &arena_harts[other];
	struct vm_stats a, b;
	vm_purge();
	KT_ASSERT(t, smp_call_on(other, take_chunk_and_cache, NULL) == 0);
	smp_wait_all();
	u64 cur = READ_ONCE(oh->chunk_cur), end = READ_ONCE(oh->chunk_end);
	KT_EXPECT(t, end - cur >= VA_CHUNK_STEP - 21 * PAGE_SIZE && va_hart_holds_ranges(other));
	vm_get_stats(&a);
	u32 n = reserve_region(held, ARRAY_SIZE(held), 2 * PAGE_SIZE); /* never carved from a chunk */
	vm_get_stats(&b);
	KT_EXPECT(t, n < ARRAY_SIZE(held));
	KT_EXPECT(t, !va_hart_holds_ranges(other));
	KT_EXPECT(t, held_overlaps(held, n, cur, end)); /* its chunk's rest was handed out here */
	KT_EXPECT(t, b.give_back_asks > a.give_back_asks);
	KT_EXPECT(t, b.give_back_late == a.give_back_late); /* every other hart was idle */
	release_held(held, n);
}

/* A hart busy in the kernel does not answer until it gets back to its idle loop: the allocation waits
 * a bounded time (a few ticks, and once: nobody waits again for a hart still asked, though about 20 calls
 * fail meanwhile, a size halved each time), fails with a reason that says so, and succeeds once that hart
 * has answered. Counted, not timed: each wait that ran out counts the harts it waited for in vain. */
static u32 busy_ready, busy_release;

static void take_chunk_and_stay_busy(void *arg)
{
	take_chunk_and_cache(arg);
	__atomic_store_n(&busy_ready, 1, __ATOMIC_RELEASE);
	harts_kick_others();
	hart_wait_until(__atomic_load_n(&busy_release, __ATOMIC_ACQUIRE)); /* not a point that answers */
}

static void exhaustion_waits_boundedly_for_a_busy_hart(struct ktest *t)
{
	static struct vmap_area *held[256];
	u32 other;
	if (!ktest_other_hart(t, &other)) return;
	struct vm_stats a, b, c;
	busy_ready = busy_release = 0;
	vm_purge();
	KT_ASSERT(t, smp_call_on(other, take_chunk_and_stay_busy, NULL) == 0);
	hart_wait_until(__atomic_load_n(&busy_ready, __ATOMIC_ACQUIRE));
	vm_get_stats(&a);
	u32 n = reserve_region(held, ARRAY_SIZE(held), 2 * PAGE_SIZE);
	void *none = vmalloc(PAGE_SIZE);
	vm_get_stats(&b);
	__atomic_store_n(&busy_release, 1, __ATOMIC_RELEASE);
	harts_kick_others();
	smp_wait_all();
	/* Back in its idle loop, it answers the ask still standing; it kicks every hart when done. */
	u64 t1 = this_hart()->ticks;
	hart_wait_until(!va_hart_holds_ranges(other) || this_hart()->ticks - t1 > 500); /* a guard: it answers at once */
	void *some = vmalloc(PAGE_SIZE);
	vm_get_stats(&c);
	KT_EXPECT(t, n < ARRAY_SIZE(held));
	KT_EXPECT(t, none == NULL);
	KT_EXPECT(t, b.last_fail_reason && contains(b.last_fail_reason, "busy in the kernel"));
	KT_EXPECT(t, b.give_back_late == a.give_back_late + 1); /* the busy hart, once */
	KT_EXPECT(t, some != NULL);
	KT_EXPECT(t, c.give_back_late == b.give_back_late);
	vfree(some);
	vfree(none);
	release_held(held, n);
}

KTEST_SUITE(vmalloc, {"bad_requests_rejected", bad_requests_rejected},
	    {"alloc_is_mapped_and_tracked", alloc_is_mapped_and_tracked}, {"vzalloc_is_zero", vzalloc_is_zero},
	    {"alignments_honoured", alignments_honoured}, {"guard_page_fault_names_area", guard_page_fault_names_area},
	    {"use_after_vfree_caught", use_after_vfree_caught}, {"redzone_overwrite_caught", redzone_overwrite_caught},
	    {"bad_frees_change_nothing", bad_frees_change_nothing},
	    {"vfree_atomic_defers_pages", vfree_atomic_defers_pages}, {"vfree_in_timer_interrupt", vfree_in_timer_interrupt},
	    {"vmap_maps_callers_pages", vmap_maps_callers_pages},
	    {"huge_leaves_where_they_fit", huge_leaves_where_they_fit},
	    {"huge_and_node_fallbacks", huge_and_node_fallbacks}, {"owner_limit_enforced", owner_limit_enforced},
	    {"physical_exhaustion", physical_exhaustion}, {"region_exhaustion", region_exhaustion},
	    {"exhaustion_takes_back_the_chunk", exhaustion_takes_back_the_chunk},
	    {"exhaustion_takes_back_other_harts_ranges", exhaustion_takes_back_other_harts_ranges},
	    {"exhaustion_waits_boundedly_for_a_busy_hart", exhaustion_waits_boundedly_for_a_busy_hart});
