/* vmalloc diagnostics: counters, the last failure, redzones, misuse warnings, the /proc/vmallocinfo
 * listing and the explanation of a kernel fault inside the region. */
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
#include "vm/vmalloc.h"
#include "vm/vmalloc_internal.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_map.h"

/* The base in arena.st plus every hart's counters. Peak pages are the highest total any read or
 * slow-path update has seen: the fast path keeps no global total to compare against. */
void vm_get_stats(struct vm_stats *st)
{
	unsigned long f = arena_lock();
	*st = arena.st;
	st->seq += vm_stat_total(VM_STAT_SEQ);
	st->live_areas += vm_stat_total(VM_STAT_LIVE_AREAS);
	st->live_pages += vm_stat_total(VM_STAT_LIVE_PAGES);
	st->lazy_areas += vm_stat_total(VM_STAT_LAZY_AREAS);
	st->deferred_frees += vm_stat_total(VM_STAT_DEFERRED_FREES);
	st->purges += vm_stat_total(VM_STAT_PURGES);
	st->local_fences += vm_stat_total(VM_STAT_LOCAL_FENCES);
	st->remote_fences += vm_stat_total(VM_STAT_REMOTE_FENCES);
	st->full_flushes += vm_stat_total(VM_STAT_FULL_FLUSHES);
	st->flushed_pages += vm_stat_total(VM_STAT_FLUSHED_PAGES);
	st->lazy_pages = vm_lazy_pages_total();
	/* The base and the harts' counters move independently (a shrink on one hart, the alloc counted on
	 * another), so a read racing with them may sum below zero for a moment: that is no total. */
	if ((s64)st->live_pages < 0) st->live_pages = 0;
	vm_peak_update_locked();
	st->peak_pages = arena.st.peak_pages;
	arena_unlock(f);
	st->node_fallbacks = page_cache_node_fallbacks(); /* the buddy allocator counts these, under its own lock */
}

void vm_peak_update_locked(void)
{
	s64 total = (s64)arena.st.live_pages + (s64)vm_stat_total(VM_STAT_LIVE_PAGES);
	if (total > 0 && (u64)total > arena.st.peak_pages) arena.st.peak_pages = (u64)total;
}

void vm_note_failure(u64 size, u64 align, const void *caller, int err, const char *reason)
{
	unsigned long f = arena_lock();
	arena.st.last_fail_size = size;
	arena.st.last_fail_align = align;
	arena.st.last_fail_caller = caller;
	arena.st.last_fail_reason = reason;
	arena.st.last_fail_errno = err;
	arena.st.last_fail_seq = vm_stat_total(VM_STAT_SEQ);
	arena_unlock(f);
	TRACE(TRACE_VMALLOC, caller, "ev=fail size=%lu align=%lu errno=%d reason=\"%s\"", size, align, err, reason);
}

/* The redzone is the slack between the requested size and the end of its page: small enough to fill on
 * every allocation, and it catches the classic off-by-a-few overrun that a guard page cannot. */
static u64 redzone_end(const struct vmap_area *a)
{
	u64 end = ALIGN_UP(a->requested, PAGE_SIZE);
	return MIN(end, (u64)a->nr_pages << PAGE_SHIFT);
}

void vm_redzone_fill(struct vmap_area *a, u64 from)
{
	u64 end = redzone_end(a);
	if (from < end) memset((void *)(a->addr + from), (a->flags & VM_ZERO) ? 0 : REDZONE_BYTE, end - from);
}

static void describe_area(const struct vmap_area *a, char *buf, size_t size)
{
	char sym[96];
	ksym_format((uptr)a->caller, sym, sizeof(sym));
	snprintf(buf, size, "area 0x%lx-0x%lx size %lu requested %lu caller %s", a->addr, a->addr + a->size,
		 a->size, a->requested, sym);
}

bool vm_redzone_check(struct vmap_area *a, const char *when, const void *caller)
{
	if (!(a->flags & VM_ALLOC)) return true;
	u8 want = (a->flags & VM_ZERO) ? 0 : REDZONE_BYTE;
	const u8 *p = (const u8 *)a->addr;
	u64 end = redzone_end(a);
	for (u64 i = a->requested; i < end; i++) {
		if (p[i] == want) continue;
		char what[200], sym[96];
		describe_area(a, what, sizeof(what));
		ksym_format((uptr)caller, sym, sizeof(sym));
		printk("vmalloc: redzone overwritten, found at %s by %s: byte at +%lu (%lu past the requested end) is "
		       "0x%02x, expected 0x%02x; %s\n",
		       when, sym, i, i - a->requested, p[i], want, what);
		unsigned long f = arena_lock();
		arena.st.redzone_errors++;
		arena_unlock(f);
		vm_redzone_fill(a, a->requested);
		return false;
	}
	return true;
}

void vm_warn_bad_pointer(const char *fn, const void *addr, const void *caller)
{
	char sym[96];
	bool lazy = false;

	ksym_format((uptr)caller, sym, sizeof(sym));
	unsigned long f = arena_lock();
	lazy = vm_lazy_find((u64)(uptr)addr, false) != NULL;
	for (struct vmap_area *a = arena.deferred_head; a; a = a->lazy_next)
		if (a->addr == (u64)(uptr)addr) lazy = true;
	arena_unlock(f);
	printk("vmalloc: %s(%p) from %s: %s; nothing changed\n", fn, addr, sym,
	       lazy ? "double free (the area was already freed)" : "not the start of a live vmalloc area");
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
	u64 pte = vmap_lookup_pte(addr, &level);
	if (!pte) return false;
	if (cause == EXC_STORE_PAGE && !(pte & PTE_W)) return false; /* a store to a read-only mapping is real */
	if (cause == EXC_INST_PAGE && !(pte & PTE_X)) return false; /* so is executing a non-executable one */
	/* A first store to a page mapped clean (vmap_populate's zeroed pages) on an MMU that faults
	 * rather than setting D itself: set it, as the hardware would have. */
	if (cause == EXC_STORE_PAGE && !(pte & PTE_D) && !level) vmap_mark_dirty(addr);
	local_flush_tlb_page(addr);
	return true;
}

void vm_fault_describe(u64 addr, char *buf, size_t size)
{
	struct find_ctx c = {addr, NULL};
	char what[200];
	bool locked = spin_trylock(&arena.lock); /* the faulting hart may hold it: read anyway */

	vm_busy_for_each(find_containing, &c, true);
	if (c.hit) {
		struct vmap_area *a = c.hit;
		describe_area(a, what, sizeof(what));
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
		struct vmap_area *lz = vm_lazy_find(addr, true);
		if (lz) {
			describe_area(lz, what, sizeof(what));
			snprintf(buf, size, "; use after vfree of %s", what);
		} else {
			snprintf(buf, size, "; no vmalloc area (unallocated or already purged)");
		}
	}
	if (locked) spin_unlock(&arena.lock);
	TRACE(TRACE_FAULT, (void *)0, "ev=fault addr=0x%lx what=\"%s\"", addr, buf + 2);
}

/* The hot paths' events, formatted out of line from the area (see trace_on). */
__attribute__((noinline, cold)) void trace_area_alloc(const struct vmap_area *a, const void *caller)
{
	TRACE(TRACE_VMALLOC, caller, "ev=alloc fn=%s addr=0x%lx size=%lu pages=%u huge=%d node=%d va_size=%lu",
	      (a->flags & VM_ZERO) ? "vzalloc" : "vmalloc", a->addr, a->requested, a->nr_pages,
	      !!(a->flags & VM_HUGE), a->node, vm_area_span(a));
}

__attribute__((noinline, cold)) void trace_area_free(const struct vmap_area *a, const char *fn, const void *caller)
{
	TRACE(TRACE_VMALLOC, caller, "ev=free fn=%s addr=0x%lx size=%lu pages=%u", fn, a->addr, a->size, a->nr_pages);
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
	vm_busy_for_each(collect, &c, false);
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
		vm_busy_for_each(find_next, &c, true);
		if (!c.hit) break;
		if (rows++ == OOPS_DUMP_MAX_ROWS) {
			printk("vmallocinfo: ... %lu areas in all, the rest left out\n", vm_busy_count());
			break;
		}
		struct vmap_area *a = c.hit;
		print_row(a->addr, a->va_start + a->va_size - a->addr, a->nr_pages, a->caller, a->flags, a->node);
		c.after = a->addr;
	}
	printk("vmallocinfo: end\n");
}
