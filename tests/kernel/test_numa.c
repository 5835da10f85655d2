/* Suite `numa`: page placement on NUMA machines. vmalloc_node/vzalloc_node take pages from the asked
 * node's banks, each hart's page cache from its own node, vm_map_ram's page tables from its node, and a
 * request for a node without memory falls back and is counted. Banks and nodes are read from the device
 * tree (not from the allocator), so a wrong placement shows. On a one-node machine the same checks hold
 * trivially; the boot matrix runs this suite on QEMU's two-node virt layout. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "kernel/main.h"
#include "platform/devtree.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vm_boot.h"
#include "vm/vmalloc.h"

#define AREA_PAGES 64

/* The node of the device-tree bank holding pa, -1 if none does. */
static int bank_node(u64 pa)
{
	for (int i = 0; i < machine.nmem; i++)
		if (pa - machine.mem[i].base < machine.mem[i].size) return machine.mem[i].node;
	return -1;
}

static int hart_node(u32 index)
{
	for (int i = 0; i < machine.nharts; i++)
		if (machine.harts[i].hartid == hart_locals[index]->hartid) return machine.harts[i].node;
	return -1;
}

/* How many of the area's pages lie outside node's banks. */
static u32 pages_off_node(const void *p, u32 npages, int node)
{
	u32 off = 0;
	for (u32 i = 0; i < npages; i++) {
		struct page *pg = vmalloc_to_page((const u8 *)p + ((u64)i << PAGE_SHIFT));
		if (!pg || bank_node(page_to_pa(pg)) != node) off++;
	}
	return off;
}

static u64 fallbacks(void)
{
	struct vm_stats st;
	vm_get_stats(&st);
	return st.node_fallbacks;
}

static void vmalloc_node_places_on_node(struct ktest *t)
{
	for (int n = 0; n <= dt_max_node(&machine); n++) {
		if (buddy_free_pages_node(n) < 4 * AREA_PAGES) continue; /* no memory of its own: fallback case */
		u64 f0 = fallbacks();
		void *p = vmalloc_node(AREA_PAGES * PAGE_SIZE, n);
		KT_ASSERT(t, p != NULL);
		KT_EXPECT(t, pages_off_node(p, AREA_PAGES, n) == 0);
		KT_EXPECT(t, fallbacks() == f0);
		vfree(p);
	}
}

static void vzalloc_node_places_and_zeroes(struct ktest *t)
{
	for (int n = 0; n <= dt_max_node(&machine); n++) {
		if (buddy_free_pages_node(n) < 4 * AREA_PAGES) continue;
		u8 *p = vzalloc_node(AREA_PAGES * PAGE_SIZE, n);
		KT_ASSERT(t, p != NULL);
		KT_EXPECT(t, pages_off_node(p, AREA_PAGES, n) == 0);
		bool zero = true;
		for (u64 i = 0; i < AREA_PAGES * PAGE_SIZE; i += 8) zero &= *(u64 *)(p + i) == 0;
		KT_EXPECT(t, zero);
		vfree(p);
	}
}

struct hart_result {
	void *area;
	u32 off_node;
	int node;
};
static struct hart_result results[MAX_HARTS];

/* Runs on each hart: a plain vmalloc there must be served from that hart's node (its page cache). */
static void alloc_here(void *arg)
{
	struct hart_result *r = arg;
	r->node = hart_node(this_hart_index());
	r->area = vmalloc(AREA_PAGES * PAGE_SIZE);
	r->off_node = r->area ? pages_off_node(r->area, AREA_PAGES, r->node) : AREA_PAGES;
}

static void hart_cache_keeps_to_its_node(struct ktest *t)
{
	memset(results, 0, sizeof(results));
	for (u32 i = 1; i < nr_harts_online; i++) KT_EXPECT(t, smp_call_on(i, alloc_here, &results[i]) == 0);
	alloc_here(&results[0]);
	smp_wait_all();
	for (u32 i = 0; i < nr_harts_online; i++) {
		KT_EXPECT(t, results[i].area != NULL);
		/* Only when the hart's node has memory of its own is there a local page to expect. */
		if (buddy_free_pages_node(results[i].node) >= 4 * AREA_PAGES) KT_EXPECT(t, results[i].off_node == 0);
		vfree(results[i].area);
	}
}

static void empty_node_falls_back_counted(struct ktest *t)
{
	int none = dt_max_node(&machine) + 7; /* a node id no bank has */
	u64 f0 = fallbacks();
	void *p = vmalloc_node(8 * PAGE_SIZE, none);
	KT_ASSERT(t, p != NULL);
	KT_EXPECT(t, fallbacks() == f0 + 8); /* each page asked of the empty node came from another */
	vfree(p);
}

/* A large vm_map_ram with a node has its own area, recorded on that node, and the level-0 tables created
 * for it come from that node even when asked from a hart of another node. */
static void vm_map_ram_tables_from_node(struct ktest *t)
{
	enum { N = 600 }; /* more than a per-hart block takes, and more than one level-0 table spans */
	static struct page *pages[N];
	int node = dt_max_node(&machine);

	/* A node below NUMA_NO_NODE is refused, with a page that maps fine otherwise (NULL pages would be
	 * refused whatever the node). */
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa != 0);
	struct page *one[1] = {pa_to_page(pa)};
	KT_EXPECT(t, vm_map_ram(one, 1, -2) == NULL);
	KT_EXPECT(t, vm_map_ram(one, 1, -1000) == NULL);
	void *ok = vm_map_ram(one, 1, NUMA_NO_NODE);
	KT_EXPECT(t, ok != NULL && vmalloc_to_pa(ok) == pa);
	if (ok) vm_unmap_ram(ok, 1);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
	if (node == 0) {
		ktest_skip(t, "one NUMA node");
		return;
	}
	void *backing = vmalloc(N * PAGE_SIZE);
	KT_ASSERT(t, backing != NULL);
	for (u32 i = 0; i < N; i++) pages[i] = vmalloc_to_page((u8 *)backing + ((u64)i << PAGE_SHIFT));
	u64 held0 = pt_kr_tables();
	u8 *p = vm_map_ram(pages, N, node);
	KT_ASSERT(t, p != NULL);
	u64 created = pt_kr_tables() - held0, on_node = 0;
	struct vmap_area *a = find_vm_area(p);
	KT_EXPECT(t, a && a->node == node);
	/* One walk per level-0 table the mapping touches: the table is the page holding the leaf's slot. */
	for (u64 va = (u64)(uptr)p; va < (u64)(uptr)p + N * PAGE_SIZE; va = ALIGN_DOWN(va, 2UL << 20) + (2UL << 20)) {
		struct pt_walk w;
		if (pt_walk(kernel_root_pa, va, &w) < 0 || w.level > 0) continue;
		on_node += bank_node(virt_to_phys(w.slot) & ~(PAGE_SIZE - 1)) == node;
	}
	KT_EXPECT(t, created >= 1);       /* 600 pages from a fresh stretch of the region need new tables */
	KT_EXPECT(t, on_node >= created); /* ...and every new one is on the node asked */
	KT_EXPECT(t, p[0] == ((u8 *)backing)[0]);
	vm_unmap_ram(p, N);
	vfree(backing);
}

KTEST_SUITE(numa, {"vmalloc_node_places_on_node", vmalloc_node_places_on_node},
	    {"vzalloc_node_places_and_zeroes", vzalloc_node_places_and_zeroes},
	    {"hart_cache_keeps_to_its_node", hart_cache_keeps_to_its_node},
	    {"empty_node_falls_back_counted", empty_node_falls_back_counted},
	    {"vm_map_ram_tables_from_node", vm_map_ram_tables_from_node});
