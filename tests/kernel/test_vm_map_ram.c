/* Suite `vm_map_ram`: vm_map_ram and vm_unmap_ram, Linux's short-lived mappings of the caller's pages
 * (vm/vmap_ram.c). Small requests come from the hart's current block and larger ones get an area of
 * their own; a block never hands out its last page (a guard); stray unmaps change nothing; a timer
 * interrupt maps and unmaps; a page of one hart's current block is unmapped on another. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "vm/buddy.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"

static volatile bool irq_was_interrupt, irq_done;

/* A per-hart vm_map_ram block never hands out its last page: a guard before whatever follows it (the
 * next block, or a task's kernel stack). Filled one page at a time, no mapping lands there. */
static void vm_map_ram_blocks_end_in_a_guard(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	static void *v[1100];
	u32 n = 0, on_last = 0;
	unsigned long f = irq_save(); /* one hart's block throughout */
	for (; n < ARRAY_SIZE(v); n++) {
		v[n] = vm_map_ram(&pg, 1, NUMA_NO_NODE);
		if (!v[n]) break;
		on_last += ((uptr)v[n] & (PMD_SIZE - 1)) == PMD_SIZE - PAGE_SIZE;
	}
	irq_restore(f);
	KT_EXPECT(t, n == ARRAY_SIZE(v));
	KT_EXPECT(t, on_last == 0);
	for (u32 i = 0; i < n; i++) vm_unmap_ram(v[i], 1);
	buddy_free_order(pa, 0);
}

/* Unmaps that do not match what this hart's current block handed out change nothing: a pointer outside
 * any block, one not page aligned, a zero count, a run past the block's last handed-out page, and a
 * second unmap of the same page (warned, not counted twice: the block still retires, which the suite's
 * leak check sees). The first three go through the block's one-table fast path. */
static void vm_map_ram_stray_unmaps_change_nothing(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg[2] = {pa_to_page(pa), pa_to_page(pa)};
	struct vm_stats a, b;
	vm_get_stats(&a);
	unsigned long f = irq_save(); /* one hart's block throughout */
	u8 *v = vm_map_ram(pg, 1, NUMA_NO_NODE), *w = vm_map_ram(pg, 2, NUMA_NO_NODE);
	irq_restore(f);
	KT_ASSERT(t, v && w);
	vm_unmap_ram((void *)(uptr)PAGE_SIZE, 1);
	vm_unmap_ram(v + 8, 1);
	vm_unmap_ram(v, 0);
	vm_unmap_ram(w + PAGE_SIZE, 2);
	vm_unmap_ram(w + 2 * PAGE_SIZE, 1);
	KT_EXPECT(t, vmalloc_to_pa(v) == pa && vmalloc_to_pa(w) == pa && vmalloc_to_pa(w + PAGE_SIZE) == pa);
	vm_unmap_ram(v, 1);
	KT_EXPECT(t, vmalloc_to_page(v) == NULL);
	vm_unmap_ram(v, 1); /* double unmap */
	KT_EXPECT(t, vmalloc_to_pa(w) == pa && vmalloc_to_pa(w + PAGE_SIZE) == pa);
	vm_unmap_ram(w, 2);
	KT_EXPECT(t, vmalloc_to_page(w) == NULL && vmalloc_to_page(w + PAGE_SIZE) == NULL);
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

static struct page *irq_map_page;
static void *volatile irq_block_page;
static volatile bool irq_map_own_area, irq_map_reads_back;

static void map_ram_from_tick(void)
{
	u8 *v = vm_map_ram(&irq_map_page, 1, NUMA_NO_NODE);
	struct vmap_area *a = v ? find_vm_area(v) : NULL;
	irq_map_own_area = a && a->addr == (u64)(uptr)v && !(a->flags & VM_MAP_RAM_BLOCK);
	irq_map_reads_back = v && vmalloc_to_pa(v) == page_to_pa(irq_map_page);
	if (v) vm_unmap_ram(v, 1);
	vm_unmap_ram((void *)irq_block_page, 1); /* a page of the interrupted hart's block */
	irq_was_interrupt = in_interrupt();
	irq_done = true;
}

/* vm_map_ram from a real timer interrupt gets an area of its own (the block is its hart's process
 * context's), and an interrupt may unmap a page the interrupted code mapped from its block. */
static void vm_map_ram_in_timer_interrupt(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	irq_map_page = pa_to_page(pa);
	struct vm_stats a, b;
	vm_get_stats(&a);
	irq_block_page = vm_map_ram(&irq_map_page, 1, NUMA_NO_NODE);
	KT_ASSERT(t, irq_block_page);
	irq_done = irq_map_own_area = irq_map_reads_back = false;
	timer_run_in_irq_once(map_ram_from_tick);
	u64 until = timer_now_ns() + 2000000000ULL;
	while (!irq_done && timer_now_ns() < until) cpu_relax();
	KT_ASSERT(t, irq_done);
	KT_EXPECT(t, irq_was_interrupt && irq_map_own_area && irq_map_reads_back);
	KT_EXPECT(t, vmalloc_to_page((void *)irq_block_page) == NULL);
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

static u8 *volatile xh_first, *volatile xh_last;
static volatile bool xh_done;

static void unmap_from_other_hart(void *arg)
{
	(void)arg;
	vm_unmap_ram((void *)xh_last, 2); /* runs past what the block handed out: refused whole */
	vm_unmap_ram((void *)xh_first, 1);
	xh_done = true;
}

/* Pages of this hart's current block unmapped on another hart: that hart finds how much the block has
 * handed out on this hart's own record (the count is not in the block's area record while the block is
 * current, vm/vmap_ram.c's hart_vb), unmaps a page it was given and refuses a run that goes past the
 * handed-out part, touching none of it. The leak check then sees the block's counts add up. */
static void vm_map_ram_unmapped_on_another_hart(struct ktest *t)
{
	u32 other;
	if (!ktest_other_hart(t, &other)) return;
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	u8 *v = vm_map_ram(&pg, 1, NUMA_NO_NODE), *w = vm_map_ram(&pg, 1, NUMA_NO_NODE);
	KT_ASSERT(t, v && w);
	xh_first = v;
	xh_last = w;
	xh_done = false;
	KT_ASSERT(t, smp_call_on(other, unmap_from_other_hart, NULL) == 0);
	smp_wait_all();
	KT_EXPECT(t, xh_done);
	KT_EXPECT(t, vmalloc_to_page(v) == NULL);  /* given to that hart: unmapped there */
	KT_EXPECT(t, vmalloc_to_page(w) == pg);    /* the refused run left it mapped */
	vm_unmap_ram(w, 1);
	KT_EXPECT(t, vmalloc_to_page(w) == NULL);
	vm_unmap_aliases();
	buddy_free_order(pa, 0);
}

static void vm_map_ram_small_and_large(struct ktest *t)
{
	static struct page *pg[80];
	u32 n = 0;
	for (; n < ARRAY_SIZE(pg); n++) {
		u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
		if (!pa) break;
		pg[n] = pa_to_page(pa);
		*(u64 *)phys_to_virt(pa) = n;
	}
	KT_ASSERT(t, n == ARRAY_SIZE(pg));
	static const u32 counts[] = {1, 3, 64, 65, 80};
	for (u32 c = 0; c < ARRAY_SIZE(counts); c++) {
		u8 *v = vm_map_ram(pg, counts[c], NUMA_NO_NODE);
		KT_EXPECT(t, v != NULL);
		if (!v) continue;
		for (u32 i = 0; i < counts[c]; i++) KT_EXPECT(t, *(u64 *)(v + (u64)i * PAGE_SIZE) == i);
		vm_unmap_ram(v, counts[c]);
		KT_EXPECT(t, vmalloc_to_page(v) == NULL);
	}
	/* Many short mappings cross several per-hart blocks; a stray unmap is refused. */
	for (u32 i = 0; i < 2000; i++) {
		u8 *v = vm_map_ram(pg + (i % 8), 5, NUMA_NO_NODE);
		KT_ASSERT(t, v);
		KT_EXPECT(t, *(u64 *)(v + 4 * PAGE_SIZE) == i % 8 + 4);
		if (i == 7) vm_unmap_ram(v + 3 * PAGE_SIZE, 4); /* runs past what was handed out */
		vm_unmap_ram(v, 5);
	}
	struct page *bad[2] = {pg[0], NULL};
	KT_EXPECT(t, vm_map_ram(bad, 2, NUMA_NO_NODE) == NULL);
	vm_unmap_aliases();
	for (u32 i = 0; i < n; i++) buddy_free_order(page_to_pa(pg[i]), 0);
}

KTEST_SUITE(vm_map_ram, {"vm_map_ram_small_and_large", vm_map_ram_small_and_large},
	    {"vm_map_ram_blocks_end_in_a_guard", vm_map_ram_blocks_end_in_a_guard},
	    {"vm_map_ram_stray_unmaps_change_nothing", vm_map_ram_stray_unmaps_change_nothing},
	    {"vm_map_ram_in_timer_interrupt", vm_map_ram_in_timer_interrupt},
	    {"vm_map_ram_unmapped_on_another_hart", vm_map_ram_unmapped_on_another_hart});
