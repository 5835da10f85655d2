/* The arena's records, which every file of the vmalloc arena reads and which sit below all of them: the
 * area record (struct vmap_area) and its kind flags, the owner numbers, and the statistics record. No code
 * here but the record's initialiser: who moves a record where is the business of the files above. */
#ifndef VM_VMALLOC_TYPES_H
#define VM_VMALLOC_TYPES_H

#include "lib/types.h"
#include "vm/va_busy.h"

/* Area kinds and properties (vmap_area.flags). */
#define VM_ALLOC 0x01u      /* pages allocated and owned by the area */
#define VM_MAP 0x02u        /* vmap: the caller's pages */
#define VM_MAP_RAM 0x04u    /* vm_map_ram */
#define VM_NO_GUARD 0x08u   /* no guard page after the area */
#define VM_HUGE 0x10u       /* mapped with 2 MiB leaves */
#define VM_ZERO 0x20u       /* zero-initialised: slack and revealed bytes read as zero */
#define VM_USER 0x40u       /* may be mapped into user address spaces (shm) */
#define VM_MAP_RAM_BLOCK 0x80u /* a per-hart vm_map_ram block holding many small mappings */
#define VM_FREED_ELSEWHERE (VM_MAP_RAM | VM_MAP_RAM_BLOCK) /* areas only vm_unmap_ram may end: vfree and
							   * vunmap report and ignore them */
#define VM_STALE_TAIL 0x100u /* vrealloc: a shrunk tail's range may still be in other harts' TLBs (user areas) */
#define VM_ZERO_GROW 0x200u /* vrealloc: a VMF_ZERO shrink asked that what grows later read as zero */

#define NUMA_NO_NODE (-1)
#define VM_OWNER_KERNEL 0u
#define VM_MAX_OWNERS 256u

/* One live (or lazily freed) area: its reserved range and what maps it. Linux splits this in two, the
 * range (vmap_area) and the mapping (vm_struct); one record here means one lookup and one allocation. */
struct vmap_area {
	union {
		struct va_busy_link link; /* live: busy map entry; link.key is the start address */
		struct {                  /* parked (out of the busy map): vm/vmalloc_arena.h */
			/* Pages (low 32 bits) and areas (high 32) of this area and all below it on its lazy
			 * list: a list's head carries its totals, so a purge counts a batch without a walk. */
			u64 lazy_below;
			/* Taken by a purge: on a list's head, the next list of the batch (or of the fenced
			 * lists waiting to be given back). */
			struct vmap_area *batch_next;
		};
	};
	u64 addr;           /* first byte */
	u64 va_start;       /* reserved virtual range [va_start, va_start + va_size): alignment padding */
	u64 va_size;        /* before addr, the guard page after the mapped bytes */
	u64 size;           /* mapped bytes the area may use (without the guard) */
	u64 requested;      /* what the caller asked for; vrealloc moves it */
	const void *caller;
	struct vmap_area *lazy_next; /* on the purge list once freed */
	union {
		u64 lazy_tables; /* once freed: its emptied level-0 tables, chained, given back with the range
				  * after the purge's flush (vm/vmalloc_purge.c) */
		struct vmap_area *mag_next; /* in a size-class pool, on a magazine's first area: the next one */
	};
	u32 nr_pages;       /* 4 KiB pages currently backed (huge: in 4 KiB units) */
	u32 flags;
	u32 owner;
	s16 node;
	u16 check_state;    /* VM_DEBUG builds: which structure holds the area (vm/vmalloc_check.h) */
	union {
		u32 vb_used;    /* vm_map_ram blocks: pages handed out, stored when its hart lets it go (its
				 * hart counts them meanwhile, on its own line: vm/vmap_ram.c's hart_vb) */
		u32 mag_areas;  /* in a size-class pool, on a magazine's first area: the magazine's areas */
	};
	u32 vb_dirty;       /* vm_map_ram blocks: pages unmapped or abandoned (atomic): other harts' and
			     * interrupts' unmaps at once, its own hart's when it lets the block go */
	/* On the head of a lazy list a purge took: the hart whose list it was, plus one (0: the arena's own
	 * list), so that a freeing hart gives back its own areas first (vm/vmalloc_purge.c). Fits in the
	 * record's 112 B pool slot. */
	u16 lazy_hart;
};

/* Sets up an area record for the range [start, start + span) placed at `align`. */
static inline void va_area_init(struct vmap_area *a, u64 start, u64 span, u64 align, unsigned vmflags, u32 owner,
				const void *caller)
{
	a->va_start = start;
	a->va_size = span;
	a->addr = ALIGN_UP(start, align);
	a->flags = vmflags;
	a->owner = owner;
	a->caller = caller;
	a->lazy_next = NULL;
	a->lazy_tables = 0;
	a->vb_used = a->vb_dirty = 0;
	a->nr_pages = 0;
}

/* Bytes from the area's start to the end of its reserved range (guard included): what vmallocinfo shows. */
static inline u64 va_area_span(const struct vmap_area *a) { return a->va_start + a->va_size - a->addr; }

/* The arena's counters as vm_get_stats reports them (vm/vmalloc.h). */
struct vm_stats {
	u64 seq, live_areas, live_pages, peak_pages, rejected, failures;
	u64 lazy_pages, lazy_areas, purges, local_fences, remote_fences, full_flushes, flushed_pages;
	u64 fenced_areas; /* purged areas not yet given back (vm/vmalloc_purge.h, vm_purge_give_back_some) */
	/* Asks of other harts for their cached ranges by allocations that found the region full, and harts
	 * whose ask timed out (vm_purge_ask_harts: waited for once, not again while still asked). */
	u64 give_back_asks, give_back_late;
	u64 bad_frees, redzone_errors, deferred_frees, huge_areas, huge_fallbacks;
	u64 node_fallbacks; /* pages asked of a NUMA node that had none, served from another */
	u64 tables; /* level-0 tables the region holds now (pt_kr_tables) */
	u64 table_reclaim_fences, tables_reclaimed; /* the table reclaim's flushes, and tables it freed */
	u64 last_fail_size, last_fail_align, last_fail_seq;
	const void *last_fail_caller;
	const char *last_fail_reason;
	int last_fail_errno; /* EINVAL or ENOMEM: what the last failure was, for SYS_vm_stats */
};

#endif
