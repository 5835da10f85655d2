/* Per-hart memory (Linux's alloc_percpu / free_percpu): one zeroed copy of an object per hart, found with
 * per_cpu_ptr. */
#ifndef VM_PCPU_ALLOC_H
#define VM_PCPU_ALLOC_H

#include "lib/types.h"

#define PCPU_UNIT_SIZE (256UL << 10) /* each hart's copy lies this far after the previous hart's */
#define PCPU_MAX_ALLOC (64UL << 10)

/* A zeroed object of `size` bytes for every hart, aligned to `align` (a power of two up to PAGE_SIZE).
 * Returns the cookie per_cpu_ptr takes, or NULL (bad size or alignment, or no memory). Process context. */
void *__alloc_percpu(size_t size, size_t align);
#define alloc_percpu(type) ((type *)__alloc_percpu(sizeof(type), __alignof__(type)))

/* Frees what __alloc_percpu returned; NULL is ignored, anything else not from it is refused with a
 * warning and changes nothing. Process context. */
void free_percpu(void *p);

/* Hart `hart`'s copy (hart < nr_harts_online at the first allocation). */
static inline void *per_cpu_ptr(void *p, u32 hart) { return p ? (u8 *)p + (u64)hart * PCPU_UNIT_SIZE : NULL; }

#endif
