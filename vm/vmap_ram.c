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
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"

#define VB_PAGES 512u                          /* one level-0 table's worth */
#define VB_SIZE ((u64)VB_PAGES << PAGE_SHIFT)
#define VB_MAX_ALLOC 64u                       /* larger requests get their own area (Linux: VMAP_MAX_ALLOC) */
#define MAP_RAM_PROT (PTE_R | PTE_W)

static struct vmap_area *hart_block[MAX_HARTS];

/* Adds to the block's dirty count; whoever brings it to VB_RETIRE hands the range to the purge. The hart
 * that owns a block adds one extra on letting it go, so a full block whose pages are all unmapped by
 * others still cannot be retired under its owner. */
#define VB_RETIRE (VB_PAGES + 1)

__noinline static void block_dirty(struct vmap_area *b, u32 pages)
{
	if (!pages) return;
	u32 before = __atomic_fetch_add(&b->vb_dirty, pages, __ATOMIC_ACQ_REL);
	if (before + pages != VB_RETIRE) return;
	if (!va_area_take((void *)(uptr)b->addr, "vm_unmap_ram", __builtin_return_address(0))) return;
	TRACE(TRACE_VMALLOC, b->caller, "ev=free fn=vmap_block addr=0x%lx size=%lu pages=0", b->addr, VB_SIZE);
	va_area_park(b);
}

/* The hart lets its block go: the tail it never handed out can never be used, so it counts as dirty. */
static void block_detach(struct vmap_area *b)
{
	block_dirty(b, VB_PAGES - b->vb_used + 1);
}

static struct vmap_area *block_new(const void *caller)
{
	struct vmap_area *b = va_area_get(VB_SIZE, VB_SIZE, VM_MAP_RAM | VM_MAP_RAM_BLOCK | VM_NO_GUARD, VM_OWNER_KERNEL,
					0, caller);
	if (!b) return NULL;
	b->size = b->requested = VB_SIZE;
	b->node = NUMA_NO_NODE;
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vmap_block addr=0x%lx size=%lu pages=0 va_size=%lu", b->addr,
	      VB_SIZE, VB_SIZE);
	return b;
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
		va_area_abort(a, 0);
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, ENOMEM, "vm_map_ram: bad page or no memory");
		return NULL;
	}
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vm_map_ram addr=0x%lx size=%lu pages=%u va_size=%lu block=0x0", a->addr,
	      a->size, count, va_area_span(a));
	return (void *)(uptr)a->addr;
}

__noinline void *vm_map_ram(struct page **pages, unsigned int count, int node)
{
	const void *caller = __builtin_return_address(0);

	if (unlikely(!pages || !count || count > (VMALLOC_SIZE >> PAGE_SHIFT))) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: no pages");
		return NULL;
	}
	/* The block is touched by its own hart in process context only, where the kernel never preempts
	 * itself: no interrupt masking (each CSR write ends QEMU's translation block). Interrupt handlers
	 * get an area of their own. */
	if (unlikely(node < NUMA_NO_NODE)) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: bad node");
		return NULL;
	}
	if (count > VB_MAX_ALLOC || in_interrupt()) return map_ram_area(pages, count, node, caller);

	u32 me = this_hart_index();
	struct vmap_area *b = hart_block[me];
	/* The block's last page is never handed out: a guard page before whatever follows the block. */
	if (unlikely(!b || b->vb_used + count > VB_PAGES - 1)) {
		hart_block[me] = NULL;
		if (b) block_detach(b);
		b = block_new(caller);
		if (unlikely(!b)) return NULL;
		hart_block[me] = b;
	}
	u64 va = b->addr + ((u64)b->vb_used << PAGE_SHIFT);
	int e;
	if (likely(node == NUMA_NO_NODE)) {
		e = pt_kr_map_pages(va, pages, count, MAP_RAM_PROT | PTE_G);
	} else {
		/* Any table this needs comes from the caller's node: the setting is this hart's, so it is
		 * made and undone with interrupts off (an interrupt's own mapping must not inherit it). */
		unsigned long f = irq_save();
		int old = page_cache_set_table_node(node);
		e = pt_kr_map_pages(va, pages, count, MAP_RAM_PROT | PTE_G);
		page_cache_set_table_node(old);
		irq_restore(f);
	}
	if (unlikely(e)) {
		arena_note_failure((u64)count << PAGE_SHIFT, PAGE_SIZE, caller, EINVAL, "vm_map_ram: NULL or unmanaged page");
		return NULL;
	}
	store_release(b->vb_used, b->vb_used + count); /* read by other harts' unmaps */
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=vm_map_ram addr=0x%lx size=%lu pages=%u va_size=%lu block=0x%lx", va,
	      (u64)count << PAGE_SHIFT, count, (u64)count << PAGE_SHIFT, b->addr);
	return (void *)(uptr)va;
}

__noinline void vm_unmap_ram(const void *mem, unsigned int count)
{
	const void *caller = __builtin_return_address(0);
	u64 va = (u64)(uptr)mem;

	if (!mem) return;
	u64 base = va & ~(VB_SIZE - 1);
	struct vmap_area *b = NULL;
	if (count <= VB_MAX_ALLOC) {
		b = READ_ONCE(hart_block[this_hart_index()]);
		if (!b || b->addr != base) b = find_vm_area((void *)(uptr)base);
	}
	if (!b || !(b->flags & VM_MAP_RAM_BLOCK)) {
		/* An area of its own: large, or mapped from an interrupt handler. */
		struct vmap_area *a = find_vm_area(mem);
		if (!a || !(a->flags & VM_MAP_RAM) || a->size != (u64)count << PAGE_SHIFT) {
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
	/* Only pages this block handed out: a stray count or pointer must not unmap anything else. */
	if (unlikely(!count || (va & (PAGE_SIZE - 1)) ||
		     ((va - base) >> PAGE_SHIFT) + count > READ_ONCE(b->vb_used))) {
		arena_warn_bad_pointer("vm_unmap_ram", mem, caller);
		return;
	}
	TRACE(TRACE_VMALLOC, caller, "ev=free fn=vm_unmap_ram addr=0x%lx size=%lu pages=%u", va,
	      (u64)count << PAGE_SHIFT, count);
	u32 cleared = pt_kr_clear(va, count, PT_KR_KEEP, NULL);
	va_debug_uaf_flush(va, (u64)count << PAGE_SHIFT);
	if (unlikely(cleared != count))
		printk("vm_unmap_ram(%p, %u): %u of the pages were not mapped (double unmap?)\n", mem, count,
		       count - cleared);
	block_dirty(b, cleared);
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
		struct vmap_area *b = hart_block[i];
		if (b && b->vb_dirty == b->vb_used) {
			hart_block[i] = NULL;
			block_detach(b);
		}
		irq_restore(f);
	}
}
