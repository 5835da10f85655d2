/* Suite `vrealloc_edge`: edges of the vmalloc family against Linux's mm/vmalloc.c and against
 * vm/vmalloc.h's own promises: vrealloc's counters on every failure path, a huge area regrown in place
 * when no 2 MiB block is left, zeroing after a VMF_ZERO shrink, vrealloc/vfree of foreign areas, and
 * vm_unmap_ram given a count that matches no mapping. */
#include "kernel/ktest.h"
#include "kernel/kfault.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "lib/printk.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"

/* vrealloc to more than the region is a bad argument, counted as vmalloc counts it (vm_stats.rejected,
 * abi.h: "requests refused as invalid"), and noted EINVAL. */
static void oversize_counted_rejected(struct ktest *t)
{
	struct vm_stats a, b, c;
	u8 *p = vmalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	vm_get_stats(&a);
	KT_EXPECT(t, vmalloc(VMALLOC_SIZE + 1) == NULL);
	vm_get_stats(&b);
	KT_EXPECT(t, b.rejected == a.rejected + 1); /* vmalloc's own count: the reference */
	KT_EXPECT(t, vrealloc(p, VMALLOC_SIZE + 1, 0) == NULL);
	vm_get_stats(&c);
	printk("# vrealloc_edge: oversize: vmalloc rejected %lu -> %lu; vrealloc rejected %lu -> %lu failures %lu -> %lu\n",
	       a.rejected, b.rejected, b.rejected, c.rejected, b.failures, c.failures);
	KT_EXPECT(t, c.last_fail_errno == EINVAL && c.last_fail_size == VMALLOC_SIZE + 1);
	KT_EXPECT(t, c.rejected == b.rejected + 1);
	vfree(p);
}

/* A regrow over the owner's limit is a valid request that failed (abi.h's `failures`, as
 * owner_limit_enforced has it for vmalloc since 781b8b4), noted ENOMEM with the size asked for. */
static void regrow_over_limit_counted_failed(struct ktest *t)
{
	const u32 owner = VM_MAX_OWNERS - 1;
	KT_ASSERT(t, vm_owner_set_limit(owner, 16) == 0);
	u8 *p = __vmalloc_owner(8 * PAGE_SIZE, PAGE_SIZE, VMF_ZERO, NUMA_NO_NODE, owner, NULL);
	KT_ASSERT(t, p);
	KT_EXPECT(t, vrealloc(p, PAGE_SIZE, 0) == p && vm_owner_pages(owner) == 1);
	KT_ASSERT(t, vm_owner_set_limit(owner, 4) == 0);
	struct vm_stats a, b;
	vm_get_stats(&a);
	KT_EXPECT(t, vrealloc(p, 8 * PAGE_SIZE, 0) == NULL); /* in the area's range: the in-place path */
	vm_get_stats(&b);
	printk("# vrealloc_edge: regrow over limit: failures %lu -> %lu, rejected %lu -> %lu, last_fail errno %d size %lu reason %s\n",
	       a.failures, b.failures, a.rejected, b.rejected, b.last_fail_errno, b.last_fail_size,
	       b.last_fail_reason ? b.last_fail_reason : "-");
	KT_EXPECT(t, b.failures == a.failures + 1);
	KT_EXPECT(t, b.rejected == a.rejected);
	KT_EXPECT(t, b.last_fail_errno == ENOMEM && b.last_fail_size == 8 * PAGE_SIZE);
	KT_EXPECT(t, vm_owner_pages(owner) == 1 && find_vm_area(p)->nr_pages == 1);
	vfree(p);
	vm_owner_set_limit(owner, 16384);
}

/* A huge kernel area shrunk, then grown back within its range when no 2 MiB block is free: vmalloc_huge
 * of that size succeeds (4 KiB fallback), and so does a grow past the range (the copy fallback), so the
 * in-place regrow must not fail with ENOMEM either. */
static u64 grabbed[1024];
static void huge_regrow_without_blocks(struct ktest *t)
{
	u8 *p = __vmalloc_node(8 << 20, 1UL << 30, VMF_HUGE, NUMA_NO_NODE, NULL);
	KT_ASSERT(t, p);
	if (!(find_vm_area(p)->flags & VM_HUGE)) {
		vfree(p);
		ktest_skip(t, "no huge area to start with");
		return;
	}
	memset(p, 0x42, 100);
	KT_ASSERT(t, vrealloc(p, 100, 0) == p);
	u32 n = 0;
	while (n < ARRAY_SIZE(grabbed) && (grabbed[n] = buddy_alloc_order(9, PA_ANY_NODE, 0))) n++;
	u8 *probe = vmalloc_huge(4 << 20, 0); /* the same size, fresh: falls back to 4 KiB pages */
	KT_EXPECT(t, probe != NULL);
	vfree(probe);
	struct vm_stats st;
	u8 *q = vrealloc(p, 4 << 20, 0);
	vm_get_stats(&st);
	printk("# vrealloc_edge: huge regrow with %u blocks grabbed: vrealloc -> %p (%s)\n", n, q, st.last_fail_reason ? st.last_fail_reason : "-");
	KT_EXPECT(t, q != NULL);
	if (q) {
		KT_EXPECT(t, q[0] == 0x42 && q[99] == 0x42);
		q[(4 << 20) - 1] = 1;
		p = q;
	}
	for (u32 i = 0; i < n; i++) buddy_free_order(grabbed[i], 9);
	vfree(p);
}

/* Linux's vrealloc zeroes the cut bytes on a shrink given __GFP_ZERO ("Zero out 'freed' memory,
 * potentially for future realloc"), and a later in-place grow relies on it ("No need to zero memory
 * here ... already been zeroed ... during realloc shrink time"). */
static void zero_shrink_then_plain_grow(struct ktest *t)
{
	u8 *p = vmalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	memset(p, 0x11, PAGE_SIZE);
	KT_EXPECT(t, vrealloc(p, 100, VMF_ZERO) == p);
	KT_EXPECT(t, vrealloc(p, 2000, 0) == p);
	u32 bad = 0;
	for (u32 i = 100; i < 2000; i++) bad += p[i] != 0;
	printk("# vrealloc_edge: zero shrink then grow: %u of 1900 revealed bytes non-zero (p[100]=0x%02x)\n", bad, p[100]);
	KT_EXPECT(t, bad == 0);
	vfree(p);
}

/* A vzalloc'd area shrunk to a non-page size and grown back over freed pages and inside the kept one. */
static void vzalloc_shrink_grow_back_zero(struct ktest *t)
{
	u8 *p = vzalloc(3 * PAGE_SIZE + 100);
	KT_ASSERT(t, p);
	memset(p, 0x77, 3 * PAGE_SIZE + 100);
	KT_EXPECT(t, vrealloc(p, 50, 0) == p && find_vm_area(p)->nr_pages == 1);
	KT_EXPECT(t, vrealloc(p, 2 * PAGE_SIZE + 3, 0) == p);
	u32 bad = 0;
	for (u32 i = 50; i < 2 * PAGE_SIZE + 3; i++) bad += p[i] != 0;
	KT_EXPECT(t, bad == 0 && p[49] == 0x77);
	u8 *q = vrealloc(p, 50 * PAGE_SIZE + 1, 0); /* past the range: moves */
	KT_ASSERT(t, q);
	for (u32 i = 50; i < 50 * PAGE_SIZE + 1; i++) bad += q[i] != 0;
	KT_EXPECT(t, bad == 0 && q[0] == 0x77);
	vfree(q);
}

/* vrealloc, vfree and vunmap of areas they do not own: refused, nothing changed. */
static void foreign_areas_refused(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg[70];
	for (u32 i = 0; i < ARRAY_SIZE(pg); i++) pg[i] = pa_to_page(pa);
	*(u8 *)phys_to_virt(pa) = 9;
	u8 *v = vmap(pg, 2, 0, 0);
	KT_ASSERT(t, v);
	KT_EXPECT(t, vrealloc(v, 100, 0) == NULL && vrealloc(v, 0, 0) == NULL && vrealloc(v, 10 * PAGE_SIZE, 0) == NULL);
	KT_EXPECT(t, find_vm_area(v) && vmalloc_to_pa(v + PAGE_SIZE) == pa);
	u8 *r = vm_map_ram(pg, 70, NUMA_NO_NODE); /* an area of its own */
	KT_ASSERT(t, r);
	KT_EXPECT(t, vrealloc(r, PAGE_SIZE, 0) == NULL);
	vfree(r);
	vunmap(r);
	KT_EXPECT(t, find_vm_area(r) && vmalloc_to_pa(r + 69 * PAGE_SIZE) == pa);
	vm_unmap_ram(r, 70);
	KT_EXPECT(t, find_vm_area(r) == NULL);
	vfree(v); /* a vmap area: vfree is allowed, the page stays ours */
	KT_EXPECT(t, find_vm_area(v) == NULL && *(u8 *)phys_to_virt(pa) == 9);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

/* vm/vmalloc.h: vm_unmap_ram with "a pointer or count that does not match a mapping is reported and
 * ignored". A count of 512 at a block's start (its first mapping) must not end the block that this hart
 * is still handing pages out of. */
static void *blk_maps[600];
static void unmap_ram_block_sized_count(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	u32 n = 0;
	u8 *start = NULL;
	unsigned long f = irq_save(); /* one hart's block throughout */
	while (n < ARRAY_SIZE(blk_maps)) {
		u8 *v = vm_map_ram(&pg, 1, NUMA_NO_NODE);
		if (!v) break;
		blk_maps[n++] = v;
		if (!((uptr)v & (PMD_SIZE - 1))) {
			start = v;
			break;
		}
	}
	KT_ASSERT(t, start);
	struct vmap_area *blk = find_vm_area(start);
	KT_EXPECT(t, blk && (blk->flags & VM_MAP_RAM_BLOCK));
	vm_unmap_ram(start, 512); /* the block's size, but no mapping's count */
	bool intact = find_vm_area(start) == blk && vmalloc_to_pa(start) == pa;
	irq_restore(f);
	printk("# vrealloc_edge: vm_unmap_ram(block start, 512): block area %s, first page %s, hart still maps from it\n",
	       find_vm_area(start) ? "live" : "gone", vmalloc_to_pa(start) ? "mapped" : "unmapped");
	KT_EXPECT(t, intact);
	if (!intact) return; /* the block is gone under its hart: no clean-up is safe */
	for (u32 i = 0; i < n; i++) vm_unmap_ram(blk_maps[i], 1);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

/* The same for a count that spans two mappings of a block: the second one must stay mapped. */
static void unmap_ram_count_spanning_two_documented(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	unsigned long f = irq_save();
	u8 *v = vm_map_ram(&pg, 1, NUMA_NO_NODE), *w = vm_map_ram(&pg, 1, NUMA_NO_NODE);
	irq_restore(f);
	KT_ASSERT(t, v && w);
	if (w != v + PAGE_SIZE) { /* a new block began between them */
		vm_unmap_ram(v, 1);
		vm_unmap_ram(w, 1);
		buddy_free_order(pa, 0);
		ktest_skip(t, "not adjacent");
		return;
	}
	/* vm/vmalloc.h (as amended): a run spanning whole small mappings unmaps them all, once each (the
	 * block still retires: the leak check). Before the amendment it promised "reported and ignored". */
	vm_unmap_ram(v, 2); /* v's mapping has one page */
	KT_EXPECT(t, vmalloc_to_pa(v) == 0 && vmalloc_to_pa(w) == 0);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

/* A huge zeroed area shrunk below a page keeps one block; grown past its range it moves, contents kept. */
static void huge_shrink_tiny_then_move(struct ktest *t)
{
	u8 *p = __vmalloc_node(4 << 20, 1UL << 30, VMF_HUGE | VMF_ZERO, NUMA_NO_NODE, NULL);
	KT_ASSERT(t, p);
	bool huge = find_vm_area(p)->flags & VM_HUGE;
	memset(p, 0x5c, 4 << 20);
	KT_EXPECT(t, vrealloc(p, 10, 0) == p && find_vm_area(p)->nr_pages == (huge ? 512 : 1));
	u8 *q = vrealloc(p, 6 << 20, 0);
	KT_ASSERT(t, q);
	u32 bad = 0;
	for (u32 i = 0; i < 10; i++) bad += q[i] != 0x5c;
	for (u64 i = 10; i < (6 << 20); i += 97) bad += q[i] != 0;
	KT_EXPECT(t, bad == 0 && q[(6 << 20) - 1] == 0);
	vfree(q);
}

/* vmalloc_huge of a size between blocks: two leaves, 2 MiB aligned, the slack past the size the redzone. */
static void huge_partial_block(struct ktest *t)
{
	u8 *p = vmalloc_huge(3 << 20, 0);
	KT_ASSERT(t, p);
	struct vmap_area *a = find_vm_area(p);
	if (a->flags & VM_HUGE) {
		KT_EXPECT(t, IS_ALIGNED((u64)(uptr)p, PMD_SIZE) && a->nr_pages == 1024 && a->requested == (3 << 20));
		KT_EXPECT(t, p[3 << 20] == 0xa5 && p[(4 << 20) - 1] == 0xa5);
	} else {
		KT_EXPECT(t, a->nr_pages == 768);
	}
	vfree(p);
}

static void vfree_atomic_double(struct ktest *t)
{
	struct vm_stats a, b;
	u8 *p = vmalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	vm_get_stats(&a);
	vfree_atomic(p);
	vfree_atomic(p);
	vfree(p);
	vm_deferred_drain();
	vm_get_stats(&b);
	KT_EXPECT(t, b.bad_frees == a.bad_frees + 2 && b.live_pages == a.live_pages - 1);
}

/* What the early end of unmap_ram_block_sized_count leads to: the purge frees the block's level-0 table,
 * yet the hart keeps handing out pages of the block through it. */
static void peek(void *p) { (void)*(volatile u8 *)p; }
static void unmap_ram_block_sized_count_then_map(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	u8 *start = NULL;
	u32 n = 0;
	unsigned long f = irq_save();
	while (n < ARRAY_SIZE(blk_maps) && !start) {
		u8 *v = vm_map_ram(&pg, 1, NUMA_NO_NODE);
		if (!v) break;
		blk_maps[n++] = v;
		if (!((uptr)v & (PMD_SIZE - 1))) start = v;
	}
	KT_ASSERT(t, start);
	vm_unmap_ram(start, 512);
	vm_purge(); /* the parked block's range and its detached table go back */
	u8 *v2 = vm_map_ram(&pg, 1, NUMA_NO_NODE); /* this hart's "current block" */
	irq_restore(f);
	struct kfault_report r;
	int fault = v2 ? kfault_try(peek, v2, &r) : -1;
	printk("# vrealloc_edge: after the stray unmap and a purge: vm_map_ram -> %p, pa %lx (want %lx), read faults: %d\n", v2,
	       v2 ? vmalloc_to_pa(v2) : 0, pa, fault);
	bool ok = v2 && vmalloc_to_pa(v2) == pa && fault == 0;
	KT_EXPECT(t, ok);
	if (!ok) return;
	for (u32 i = 0; i < n; i++) vm_unmap_ram(blk_maps[i], 1);
	vm_unmap_ram(v2, 1);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

KTEST_SUITE(vrealloc_edge, {"oversize_counted_rejected", oversize_counted_rejected},
	    {"regrow_over_limit_counted_failed", regrow_over_limit_counted_failed},
	    {"huge_regrow_without_blocks", huge_regrow_without_blocks},
	    {"zero_shrink_then_plain_grow", zero_shrink_then_plain_grow},
	    {"vzalloc_shrink_grow_back_zero", vzalloc_shrink_grow_back_zero},
	    {"foreign_areas_refused", foreign_areas_refused},
	    {"unmap_ram_count_spanning_two_documented", unmap_ram_count_spanning_two_documented},
	    {"unmap_ram_block_sized_count", unmap_ram_block_sized_count},
	    {"huge_shrink_tiny_then_move", huge_shrink_tiny_then_move}, {"huge_partial_block", huge_partial_block},
	    {"vfree_atomic_double", vfree_atomic_double},
	    {"unmap_ram_block_sized_count_then_map", unmap_ram_block_sized_count_then_map});
