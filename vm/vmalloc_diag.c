/* vmalloc diagnostics above the arena: the counters summed for vm_get_stats, the /proc/vmallocinfo
 * listing and the explanation of a kernel fault inside the region. (The counters, the last failure and
 * misuse warnings are written in vm/vmalloc_arena.c; redzones are checked in vm/vmalloc.c.) */
#include "lib/ksyms.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/sort.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_cache.h"
#include "vm/page_cache.h"

/* The base in arena.st plus every hart's counters. Peak pages are the highest total any read or
 * slow-path update has seen: the fast path keeps no global total to compare against. */
void vm_get_stats(struct vm_stats *st)
{
	unsigned long f = arena_lock();
	*st = arena.st;
	st->seq += arena_stat_total(ARENA_STAT_SEQ);
	st->live_areas += arena_stat_total(ARENA_STAT_LIVE_AREAS);
	st->live_pages += arena_stat_total(ARENA_STAT_LIVE_PAGES);
	st->lazy_areas += arena_stat_total(ARENA_STAT_LAZY_AREAS);
	st->deferred_frees += arena_stat_total(ARENA_STAT_DEFERRED_FREES);
	st->purges += arena_stat_total(ARENA_STAT_PURGES);
	st->local_fences += arena_stat_total(ARENA_STAT_LOCAL_FENCES);
	st->remote_fences += arena_stat_total(ARENA_STAT_REMOTE_FENCES);
	st->full_flushes += arena_stat_total(ARENA_STAT_FULL_FLUSHES);
	st->flushed_pages += arena_stat_total(ARENA_STAT_FLUSHED_PAGES);
	st->give_back_asks = arena_stat_total(ARENA_STAT_GIVE_BACK_ASKS);
	st->give_back_late = arena_stat_total(ARENA_STAT_GIVE_BACK_LATE);
	st->lazy_pages = va_lazy_pages_total();
	/* The base and the harts' counters move independently (a shrink on one hart, the alloc counted on
	 * another), so a read racing with them may sum below zero for a moment: that is no total. */
	if ((s64)st->live_pages < 0) st->live_pages = 0;
	arena_peak_update_locked();
	st->peak_pages = arena.st.peak_pages;
	arena_unlock(f);
	st->node_fallbacks = page_cache_node_fallbacks(); /* the buddy allocator counts these, under its own lock */
	st->tables = pt_kr_tables();
}

/* Fault attribution walks every area: it runs once, on the way to an oops or a test's report. */
struct find_ctx {
	u64 addr;
	struct vmap_area *hit;
};

static void find_containing(void *ctx, struct va_busy_link *l)
{
	struct find_ctx *c = ctx;
	struct vmap_area *a = (struct vmap_area *)l;
	if (c->addr >= a->va_start && c->addr < a->va_start + a->va_size) c->hit = a;
}

bool vm_fault_spurious(u64 addr, u64 cause)
{
	int level;
	u64 pte = pt_kr_lookup(addr, &level);
	if (!pte) return false;
	if (cause == EXC_STORE_PAGE && !(pte & PTE_W)) return false; /* a store to a read-only mapping is real */
	if (cause == EXC_INST_PAGE && !(pte & PTE_X)) return false; /* so is executing a non-executable one */
	/* A first store to a page mapped clean (va_populate's zeroed pages) on an MMU that faults
	 * rather than setting D itself: set it, as the hardware would have. */
	if (cause == EXC_STORE_PAGE && !(pte & PTE_D) && !level) pt_kr_mark_dirty(addr);
	local_flush_tlb_page(addr);
	return true;
}

void vm_fault_describe(u64 addr, char *buf, size_t size)
{
	struct find_ctx c = {addr, NULL};
	char what[200];
	bool locked = spin_trylock(&arena.lock); /* the faulting hart may hold it: read anyway */

	va_busy_for_each_area(find_containing, &c, true);
	if (c.hit) {
		struct vmap_area *a = c.hit;
		va_area_describe(a, what, sizeof(what));
		if (addr < a->addr)
			snprintf(buf, size, "; access to the alignment padding %lu bytes before %s", a->addr - addr, what);
		else if (addr >= a->addr + a->size)
			snprintf(buf, size, "; guard page hit %lu bytes past the end of %s", addr - (a->addr + a->requested),
				 what);
		else if (addr >= a->addr + ((u64)a->nr_pages << PAGE_SHIFT))
			snprintf(buf, size, "; access to the unbacked tail (freed by vrealloc shrink) of %s", what);
		else
			snprintf(buf, size, "; inside %s", what);
	} else {
		struct vmap_area *lz = va_lazy_find(addr, true);
		if (lz) {
			va_area_describe(lz, what, sizeof(what));
			snprintf(buf, size, "; use after vfree of %s", what);
		} else {
			snprintf(buf, size, "; no vmalloc area (unallocated or already purged)");
		}
	}
	if (locked) spin_unlock(&arena.lock);
	TRACE(TRACE_FAULT, (void *)0, "ev=fault addr=0x%lx what=\"%s\"", addr, buf + 2);
}

struct dump_row {
	u64 addr, size, pages;
	const void *caller;
	u32 flags;
	s16 node;
};

struct dump_ctx {
	struct dump_row *rows;
	u64 n, cap;
};

static void collect(void *ctx, struct va_busy_link *l)
{
	struct dump_ctx *c = ctx;
	struct vmap_area *a = (struct vmap_area *)l;
	if (c->n < c->cap)
		c->rows[c->n++] = (struct dump_row){a->addr, a->va_start + a->va_size - a->addr, a->nr_pages, a->caller, a->flags, a->node};
}

static bool row_less(const void *a, const void *b)
{
	return ((const struct dump_row *)a)->addr < ((const struct dump_row *)b)->addr;
}

static void print_row(u64 addr, u64 size, u64 pages, const void *caller, u32 flags, s16 node)
{
	char sym[96];
	ksym_format((uptr)caller, sym, sizeof(sym));
	const char *kind = (flags & VM_MAP_RAM) ? "vm_map_ram" : (flags & VM_MAP) ? "vmap" : "vmalloc";
	printk("0x%016lx-0x%016lx %8lu %s pages=%lu %s%s%s N%d=%lu\n", addr, addr + size, size, sym, pages, kind,
	       (flags & VM_HUGE) ? " huge" : "", (flags & VM_USER) ? " user" : "", node < 0 ? 0 : node, pages);
}

void vm_dump_areas(void)
{
	u64 cap = vm_live_areas() + 64;
	struct dump_ctx c = {vmalloc(cap * sizeof(struct dump_row)), 0, cap};
	if (!c.rows) {
		printk("vmallocinfo: no memory for the listing\n");
		return;
	}
	u64 self = (u64)(uptr)c.rows;
	va_busy_for_each_area(collect, &c, false);
	sort(c.rows, c.n, sizeof(*c.rows), row_less);
	printk("vmallocinfo: begin\n");
	for (u64 i = 0; i < c.n; i++) {
		struct dump_row *r = &c.rows[i];
		if (r->addr != self) print_row(r->addr, r->size, r->pages, r->caller, r->flags, r->node);
	}
	printk("vmallocinfo: end\n");
	vfree(c.rows);
}

struct next_ctx {
	u64 after, best;
	struct vmap_area *hit;
};

static void find_next(void *ctx, struct va_busy_link *l)
{
	struct next_ctx *c = ctx;
	struct vmap_area *a = (struct vmap_area *)l;
	if (a->addr > c->after && a->addr < c->best) {
		c->best = a->addr;
		c->hit = a;
	}
}

/* The listing while dying: the faulting hart may hold a busy-map lock or have broken the allocator, so
 * this allocates nothing, only tries each stripe's lock for a while (reading it anyway after), and lists
 * in address order by repeated scans (quadratic, hence the row limit). */
#define OOPS_DUMP_MAX_ROWS 256
void vm_dump_areas_oops(void)
{
	printk("vmallocinfo: begin\n");
	struct next_ctx c = {0, ~0ULL, NULL};
	u64 rows = 0;
	for (;;) {
		c.best = ~0ULL;
		c.hit = NULL;
		va_busy_for_each_area(find_next, &c, true);
		if (!c.hit) break;
		if (rows++ == OOPS_DUMP_MAX_ROWS) {
			printk("vmallocinfo: ... %lu areas in all, the rest left out\n", va_busy_areas());
			break;
		}
		struct vmap_area *a = c.hit;
		print_row(a->addr, a->va_start + a->va_size - a->addr, a->nr_pages, a->caller, a->flags, a->node);
		c.after = a->addr;
	}
	printk("vmallocinfo: end\n");
}
