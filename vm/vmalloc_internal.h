/* State shared by the vmalloc files: the arena (indexes, lock, counters) and the helpers between them. */
#ifndef VM_VMALLOC_INTERNAL_H
#define VM_VMALLOC_INTERNAL_H

#include "lib/spinlock.h"
#include "vm/node_pool.h"
#include "vm/va_busy.h"
#include "vm/va_index.h"
#include "vm/vmalloc.h"

struct vm_arena {
	spinlock_t lock;            /* index work only: never held over page-table walks or fences */
	struct va_index free;       /* free virtual ranges, lowest fit in O(log n) */
	struct va_busy busy;        /* live areas by start address, O(1) */
	struct node_pool extent_pool;
	struct node_pool area_pool;
	struct vm_area *lazy_head;  /* freed, unmapped, waiting for a purge before reuse */
	u64 lazy_pages, lazy_max_pages;
	struct vm_area *deferred_head; /* vfree_atomic: out of the busy map, pages not yet freed */
	struct vm_stats st;
	u64 owner_pages[VM_MAX_OWNERS];
	u64 owner_limit[VM_MAX_OWNERS];
};

extern struct vm_arena arena;

#define REDZONE_BYTE 0xa5 /* slack fill of non-zeroed areas; zeroed areas keep their slack zero */

/* vmalloc_purge.c */
bool vm_lazy_add_locked(struct vm_area *a); /* true when the batch is due */
void vm_purge(void);
void vm_flush_range_now(u64 start, u64 size); /* immediate local + remote flush (vrealloc shrink) */
void vm_local_forget(u64 start, u64 size);    /* debug_uaf only: this hart's TLB, no counting */
extern bool vm_debug_uaf;

/* Bytes from the area's start to the end of its reserved range (guard included): what vmallocinfo shows. */
static inline u64 vm_area_span(const struct vm_area *a) { return a->va_start + a->va_size - a->addr; }

/* vmalloc_diag.c */
void trace_area_alloc(const struct vm_area *a, const void *caller);
void trace_area_free(const struct vm_area *a, const char *fn, const void *caller);
void vm_note_failure(u64 size, u64 align, const void *caller, const char *reason);
bool vm_redzone_check(struct vm_area *a, const char *when, const void *caller);
void vm_redzone_fill(struct vm_area *a, u64 from);
void vm_warn_bad_pointer(const char *fn, const void *addr, const void *caller);

/* vmalloc.c */
/* Reserves va_size bytes (guard included) and registers the area as live; NULL on failure (noted). */
struct vm_area *vm_area_get(u64 va_size, u64 align, unsigned vmflags, u32 owner, u64 pages, const void *caller);
/* Undoes vm_area_get for a range never exposed: straight back to the free index. */
void vm_area_abort(struct vm_area *a, u64 pages);
/* Takes the live area starting at addr out of the busy map; NULL with a warning naming fn and caller. */
struct vm_area *vm_area_take(const void *addr, const char *fn, const void *caller);
/* Parks an area already out of the busy map and already unmapped for the next purge. */
void vm_area_park(struct vm_area *a);

/* vmap_ram.c */
void vm_map_ram_quiesce(void); /* retires idle per-hart blocks so leak checks see them gone */

#endif
