/* vm_map_ram / vm_unmap_ram: short-lived mappings of the caller's pages. Small requests are bump-allocated
 * from a per-hart block (Linux's vmap_block idea): a 2 MiB area, aligned so that it is exactly one level-0
 * table, carved without the arena lock and never reused inside itself, so an unmap needs no fence. A block
 * goes back to the arena (lazily, through the purge) once every page it handed out is unmapped and it is
 * no longer some hart's current block. Larger requests get an area of their own. */
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/trace.h"
#include "platform/tlb_remote.h"
#include "vm/buddy.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"

#define VB_PAGES 512u                          /* one level-0 table's worth */
#define VB_SIZE ((u64)VB_PAGES << PAGE_SHIFT)
#define VB_MAX_ALLOC 64u                       /* larger requests get their own area (Linux: VMAP_MAX_ALLOC) */
#define MAP_RAM_PROT (PTE_R | PTE_W)

/* A hart's current block, with the block's one level-0 table, taken when the block is made and good
 * until the block retires, so that mapping or unmapping a page of it is one PTE store (no walk). Written
 * only by the owning hart in process context (and by vm_map_ram_quiesce while the owner idles); an
 * interrupt handler on the owner may read it, so `base` is cleared first and set last (hart_vb_set):
 * whoever finds base equal to a block's address finds that block's record and table with it.
 * The block's counts while it is current live here too, on the hart's own cache line, not in the block's
 * area record: two harts' current blocks often have neighbouring records (both switch blocks at the same
 * rate, and records come from one pool in order), and a count written there at every map and unmap made
 * the host move that line between its cores (vm_map_ram_test at -smp 2, interleaved runs: 0.36-0.57 us
 * per loop per worker, 0.30-0.44 with the counts here). The record gets them when the block is let go (block_detach). */
#define VB_NONE (~0UL) /* base of no block: never 2 MiB aligned, so no address's block base equals it */
struct hart_vb {
	u64 base;            /* the block's address, VB_NONE when the hart has none */
	struct vmap_area *b;
	pte_t *table;
	u32 used;            /* pages of b handed out (stored with release: other harts' unmaps read it) */
	u32 own_dirty;       /* pages of b this hart unmapped in process context, not yet in b->vb_dirty */
} __aligned(64);
static struct hart_vb hart_vb[MAX_HARTS] = {[0 ... MAX_HARTS - 1] = {.base = VB_NONE}};

/* Keeps the compiler from moving memory accesses across it (this hart's own interrupts are the reader). */
#define compiler_barrier() __asm__ volatile("" ::: "memory")

static void hart_vb_set(struct hart_vb *hv, struct vmap_area *b, pte_t *table)
{
	WRITE_ONCE(hv->base, VB_NONE);
	compiler_barrier();
	WRITE_ONCE(hv->b, b);
	WRITE_ONCE(hv->table, table);
	store_release(hv->used, 0); /* after b: a reader that sees this 0 sees b changed (block_used) */
	hv->own_dirty = 0;
	compiler_barrier();
	if (b) WRITE_ONCE(hv->base, b->addr);
}

/* Pages b has handed out: its hart's count while b is that hart's current block, else the count b kept
 * when it was let go. For unmaps of a block this hart does not own (rare: a page passed to another hart,
 * or a block already let go), so a walk of the harts' records is fine. */
static u32 block_used(const struct vmap_area *b)
{
	for (u32 i = 0, n = hart_slots_used(); i < n; i++) {
		const struct hart_vb *o = &hart_vb[i];
		if (READ_ONCE(o->b) != b) continue;
		u32 used = __atomic_load_n(&o->used, __ATOMIC_ACQUIRE);
		if (READ_ONCE(o->b) == b) return used; /* still b's: a switch stores b first, then used 0 */
	}
	return __atomic_load_n(&b->vb_used, __ATOMIC_ACQUIRE);
}

/* Adds to the block's dirty count; whoever brings it to VB_RETIRE hands the range to the purge. The hart
 * that owns a block adds one extra on letting it go, so a full block whose pages are all unmapped by
 * others still cannot be retired under its owner. */
#define VB_RETIRE (VB_PAGES + 1)

__noinline static void block_retire(struct vmap_area *b, const void *caller)
{
	if (!va_area_take((void *)(uptr)b->addr, "vm_unmap_ram", caller)) return;
	TRACE(TRACE_VMALLOC, b->caller, "ev=free fn=vmap_block addr=0x%lx size=%lu pages=0", b->addr, VB_SIZE);
	va_area_park(b);
}

static inline void block_dirty(struct vmap_area *b, u32 pages, const void *caller)
{
	if (!pages) return;
	u32 before = __atomic_fetch_add(&b->vb_dirty, pages, __ATOMIC_ACQ_REL);
	if (unlikely(before + pages == VB_RETIRE)) block_retire(b, caller);
}

/* The hart lets its block go: the record takes the final count of pages handed out, then the pages this
 * hart unmapped and the tail it never handed out (which can never be used) count as dirty. Before this
 * the block cannot reach VB_RETIRE: the tail and the one extra are added only here. */
static void block_detach(struct hart_vb *hv, struct vmap_area *b, const void *caller)
{
	u32 used = hv->used, mine = hv->own_dirty;
	store_release(b->vb_used, used); /* before the switch: block_used falls back to it */
	hart_vb_set(hv, NULL, NULL);
	block_dirty(b, mine + VB_PAGES - used + 1, caller);
}

static struct vmap_area *block_new(struct hart_vb *hv, int node, const void *caller)
{
	struct vmap_area *b = va_area_get(VB_SIZE, VB_SIZE, VM_MAP_RAM | VM_MAP_RAM_BLOCK | VM_NO_GUARD, VM_OWNER_KERNEL,
					0, caller);
	if (!b) return NULL;
	b->size = b->requested = VB_SIZE;
	b->node = NUMA_NO_NODE;
	/* The block is exactly one level-0 table: made now, for every page the block will map, from the
	 * caller's node when it names one. The setting is this hart's, so it is made and undone with
	 * interrupts off (an interrupt's own mapping must not inherit it). */
	pte_t *table;
	if (node == NUMA_NO_NODE) {
		table = pt_kr_block_table(b->addr);
	} else {
		unsigned long f = irq_save();
		int old = page_cache_set_table_node(node);
		table = pt_kr_block_table(b->addr);
		page_cache_set_table_node(old);
		irq_restore(f);
	}
	if (unlikely(!table)) {
		va_area_abort(b, 0, false); /* never exposed, nothing mapped */
		arena_note_failure(VB_SIZE, VB_SIZE, caller, ENOMEM, "vm_map_ram: no page table for a block");
		return NULL;
	}
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vmap_block addr=0x%lx size=%lu pages=0 va_size=%lu", b->addr,
	      VB_SIZE, VB_SIZE);
	hart_vb_set(hv, b, table);
	return b;
}

/* The hart's block is full (or it has none): lets it go and starts a new one. NULL when none can be had. */
__noinline static struct vmap_area *block_switch(struct hart_vb *hv, int node, const void *caller)
{
	if (hv->b) block_detach(hv, hv->b, caller);
	return block_new(hv, node, caller);
}

static void *map_ram_area(struct page **pages, unsigned int count, int node, const void *caller)
{
	struct vmap_area *a = va_area_get(((u64)count << PAGE_SHIFT) + PAGE_SIZE, PAGE_SIZE, VM_MAP | VM_MAP_RAM,
					VM_OWNER_KERNEL, 0, caller);
	if (!a) return NULL;
	a->size = a->requested = (u64)count << PAGE_SHIFT;
	a->nr_pages = count;
	a->node = (s16)node;
	unsigned long f = irq_save();
	int old = page_cache_set_table_node(node); /* the tables mapping it come from the caller's node */
	int e = pt_kr_map_pages(a->addr, pages, count, MAP_RAM_PROT | PTE_G);
	page_cache_set_table_node(old);
	irq_restore(f);
	if (e) {
		va_area_abort(a, 0, true); /* pt_kr_map_pages unmapped what it had mapped */
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, ENOMEM, "vm_map_ram: bad page or no memory");
		return NULL;
	}
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vm_map_ram addr=0x%lx size=%lu pages=%u va_size=%lu block=0x0", a->addr,
	      a->size, count, va_area_span(a));
	return (void *)(uptr)a->addr;
}

/* Hands out the next count pages of the hart's block, which has room: one PTE store per page into the
 * block's table (made with the block, so nothing to allocate). */
static inline void *map_ram_block(struct hart_vb *hv, struct page **pages, unsigned int count, const void *caller)
{
	struct vmap_area *b = hv->b;
	u32 used = hv->used;
	u64 va = hv->base + ((u64)used << PAGE_SHIFT);
	if (unlikely(pt_kr_map_pages_in(hv->table, va, pages, count, MAP_RAM_PROT | PTE_G))) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: NULL or unmanaged page");
		return NULL;
	}
	store_release(hv->used, used + count); /* after the PTEs: other harts' unmaps read it (block_used) */
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vm_map_ram addr=0x%lx size=%lu pages=%u va_size=%lu block=0x%lx", va,
	      (u64)count << PAGE_SHIFT, count, (u64)count << PAGE_SHIFT, b->addr);
	return (void *)(uptr)va;
}

/* Several pages: out of line, so that the one-page path keeps few registers. */
__noinline static void *map_ram_many(struct hart_vb *hv, struct page **pages, unsigned int count, const void *caller)
{
	return map_ram_block(hv, pages, count, caller);
}

/* Everything but the common case: refusals, large requests, interrupt context, a full block. */
__noinline static void *map_ram_slow(struct page **pages, unsigned int count, int node, const void *caller)
{
	if (unlikely(!pages || !count || count > (VMALLOC_SIZE >> PAGE_SHIFT))) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: no pages");
		return NULL;
	}
	if (unlikely(node < NUMA_NO_NODE)) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: bad node");
		return NULL;
	}
	if (count > VB_MAX_ALLOC || in_interrupt()) return map_ram_area(pages, count, node, caller);
	struct hart_vb *hv = &hart_vb[this_hart_index()];
	if (!block_switch(hv, node, caller)) return NULL;
	return map_ram_block(hv, pages, count, caller);
}

/* Everything vm_map_ram's one-page fast path does not take, with the caller's address for attribution. */
__noinline static void *map_ram_general(struct page **pages, unsigned int count, int node, const void *caller)
{
	/* The block is touched by its own hart in process context only, where the kernel never preempts
	 * itself: no interrupt masking (each CSR write ends QEMU's translation block). Interrupt handlers
	 * get an area of their own. The block's last page is never handed out: a guard page before whatever
	 * follows the block. The node matters only when a block is made (its table comes from there). */
	struct hart_vb *hv = &hart_vb[this_hart_index()];
	struct vmap_area *b = hv->b;
	if (likely(pages && count - 1 < VB_MAX_ALLOC && node >= NUMA_NO_NODE && !in_interrupt() && b &&
		   hv->used + count <= VB_PAGES - 1)) {
		if (likely(count == 1)) return map_ram_block(hv, pages, 1, caller); /* the common size, unrolled */
		return map_ram_many(hv, pages, count, caller);
	}
	return map_ram_slow(pages, count, node, caller);
}

__noinline void *vm_map_ram(struct page **pages, unsigned int count, int node)
{
	/* The common case, written to call nothing (a call made it save eight registers and return through
	 * QEMU's block lookup): one page of the first zone into this hart's block, which has room, in
	 * process context, nobody tracing. The same checks as map_ram_general's, and the same PTE as
	 * pt_kr_map_pages_in's; 27 instructions fewer per vm_map_ram_test loop (188 to 161). */
	struct hart_vb *hv = &hart_vb[this_hart_index()];
	if (likely(pages && count == 1 && node >= NUMA_NO_NODE && !in_interrupt() && hv->b &&
		   hv->used < VB_PAGES - 1 && !trace_on(TRACE_VMALLOC))) {
		u64 pa = page_to_pa_first_zone(pages[0]);
		if (likely(pa && !(pa & PT_BAD_PA_BITS))) {
			u32 used = hv->used;
			u64 va = hv->base + ((u64)used << PAGE_SHIFT);
			pt_kr_set_leaf_in(hv->table, va, pa, MAP_RAM_PROT | PTE_G);
			store_release(hv->used, used + 1); /* after the PTE: other harts' unmaps read it (block_used) */
			return (void *)(uptr)va;
		}
	}
	return map_ram_general(pages, count, node, __builtin_return_address(0));
}

/* Whether [va, count pages) is a run b handed out (`used` pages so far): a stray count or pointer must not
 * unmap anything else. */
static inline bool block_owns(const struct vmap_area *b, u32 used, u64 va, unsigned int count)
{
	return likely(count && !(va & (PAGE_SIZE - 1)) && ((va - b->addr) >> PAGE_SHIFT) + count <= used);
}

/* After the leaves of a block's run are cleared: the debug flush, the double-unmap warning, the count. */
__noinline static void block_unmapped(struct vmap_area *b, const void *mem, unsigned int count, u32 cleared,
				  const void *caller)
{
	va_debug_uaf_flush((u64)(uptr)mem, (u64)count << PAGE_SHIFT);
	if (unlikely(cleared != count))
		printk("vm_unmap_ram(%p, %u): %u of the pages were not mapped (double unmap?)\n", mem, count,
		       count - cleared);
	block_dirty(b, cleared, caller);
}

/* Every unmap the fast path below does not take: large or interrupt-mapped areas, other harts' blocks and
 * blocks this hart has let go, stray pointers and counts, double unmaps, and any unmap while tracing or
 * the use-after-free debug flush is on. */
__noinline static void unmap_ram_slow(const void *mem, unsigned int count, const void *caller)
{
	u64 va = (u64)(uptr)mem;

	if (!mem) return;
	u64 base = va & ~(VB_SIZE - 1);
	struct vmap_area *b = NULL;
	if (likely(count <= VB_MAX_ALLOC)) {
		const struct hart_vb *hv = &hart_vb[this_hart_index()];
		if (likely(READ_ONCE(hv->base) == base)) {
			/* This hart's current block: its table is at hand. */
			compiler_barrier();
			b = READ_ONCE(hv->b);
			pte_t *table = READ_ONCE(hv->table);
			if (unlikely(!block_owns(b, READ_ONCE(hv->used), va, count))) {
				arena_warn_bad_pointer("vm_unmap_ram", mem, caller);
				return;
			}
			TRACE(TRACE_VMALLOC, caller, "ev=free fn=vm_unmap_ram addr=0x%lx size=%lu pages=%u", va,
			      (u64)count << PAGE_SHIFT, count);
			block_unmapped(b, mem, count, pt_kr_clear_in(table, va, count), caller);
			return;
		}
		b = find_vm_area((void *)(uptr)base);
	}
	if (!b || !(b->flags & VM_MAP_RAM_BLOCK)) {
		/* An area of its own: large, or mapped from an interrupt handler. */
		struct vmap_area *a = find_vm_area(mem);
		/* A block's start is an area's start too: a count of the block's size must not end a block
		 * that its hart still hands pages out of (and whose table it keeps). */
		if (!a || (a->flags & (VM_MAP_RAM | VM_MAP_RAM_BLOCK)) != VM_MAP_RAM ||
		    a->size != (u64)count << PAGE_SHIFT) {
			arena_warn_bad_pointer("vm_unmap_ram", mem, caller);
			return;
		}
		a = va_area_take(mem, "vm_unmap_ram", caller);
		if (!a) return;
		TRACE(TRACE_VMALLOC, caller, "ev=free fn=vm_unmap_ram addr=0x%lx size=%lu pages=%u", a->addr, a->size,
		      count);
		pt_kr_clear(a->addr, count, PT_KR_KEEP, NULL);
		va_debug_uaf_flush(a->addr, a->size);
		va_area_park(a);
		return;
	}
	/* Another hart's block, or one this hart has let go: the generic walk. */
	if (unlikely(!block_owns(b, block_used(b), va, count))) {
		arena_warn_bad_pointer("vm_unmap_ram", mem, caller);
		return;
	}
	TRACE(TRACE_VMALLOC, caller, "ev=free fn=vm_unmap_ram addr=0x%lx size=%lu pages=%u", va,
	      (u64)count << PAGE_SHIFT, count);
	block_unmapped(b, mem, count, pt_kr_clear(va, count, PT_KR_KEEP, NULL), caller);
}

__noinline void vm_unmap_ram(const void *mem, unsigned int count)
{
	const void *caller = __builtin_return_address(0);
	u64 va = (u64)(uptr)mem, base = va & ~(VB_SIZE - 1);
	struct hart_vb *hv = &hart_vb[this_hart_index()];

	/* The common case, written to call nothing until its end: a run of this hart's current block (its
	 * table at hand) that the block handed out and that is still mapped, nobody tracing. */
	if (likely(READ_ONCE(hv->base) == base && count - 1 < VB_MAX_ALLOC && !trace_on(TRACE_VMALLOC) &&
		   !READ_ONCE(vm_debug_uaf))) {
		compiler_barrier();
		struct vmap_area *b = READ_ONCE(hv->b);
		pte_t *table = READ_ONCE(hv->table);
		if (likely(block_owns(b, READ_ONCE(hv->used), va, count))) {
			u32 cleared = pt_kr_clear_in(table, va, count);
			if (likely(cleared == count)) {
				/* The owner counts its own unmaps on its own line; block_detach adds them to the
				 * record. An interrupt handler adds to the record at once: the count here is the
				 * interrupted code's to change. */
				if (likely(!in_interrupt())) hv->own_dirty += count;
				else block_dirty(b, count, caller);
				return;
			}
			block_unmapped(b, mem, count, cleared, caller); /* some were not mapped: warned */
			return;
		}
	}
	unmap_ram_slow(mem, count, caller);
}

/* Ranges vm_unmap_ram cleared may still sit in other harts' TLBs until their block is purged; a caller
 * about to reuse the pages for something sensitive flushes them all now. */
void vm_unmap_aliases(void)
{
	local_flush_tlb_all();
	(void)tlb_remote_flush(NULL, 0, 0); /* every other online hart */
}

/* The test runner's leak check runs while other harts idle: their blocks can be detached from here. */
void vm_map_ram_quiesce(void)
{
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++) {
		unsigned long f = irq_save();
		struct hart_vb *hv = &hart_vb[i];
		struct vmap_area *b = hv->b;
		if (b && READ_ONCE(b->vb_dirty) + hv->own_dirty == hv->used) block_detach(hv, b, b->caller);
		irq_restore(f);
	}
}
