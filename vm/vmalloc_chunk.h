/* Per-hart chunks of the region (vm/vmalloc_chunk.c): the kernel's page-aligned requests too big for the
 * size classes and at most VA_CHUNK_AREA_MAX are carved, lowest address first, from a chunk of address
 * space the hart took from the index, with area records from a stash of its own; so such a vmalloc takes
 * the arena lock once per chunk or stash refill, not once per call. The purge gives their ranges back to
 * the index, merged where they touch, and their records to the stash of the hart that gives them back. */
#ifndef VM_VMALLOC_CHUNK_H
#define VM_VMALLOC_CHUNK_H

#include "vm/vmalloc_cache.h"

/* A chunk: 16 MiB on one hart, 32 MiB on two or three, 64 MiB from four (about 280 of test_vmalloc's
 * random_size areas, 17-101 pages with the guard). A chunk is address space carved forward while the
 * ranges freed behind it wait for a purge, so every chunk taken touches its whole span's level-0 tables:
 * one hart, which takes the arena lock rarely anyway, takes small chunks (its test_vmalloc held 126
 * tables at most with 64 MiB chunks, 86 with 16; Linux 91-108), many harts big ones (64 harts'
 * random_size takes the arena lock 0.007 times a call with 64 MiB chunks; on four harts 48 MiB chunks
 * left more tables after the tail benchmark's random_size run than 64 MiB ones, 2,446 against 1,912). */
#define VA_CHUNK_STEP (16UL << 20)
#define VA_CHUNK_MAX (64UL << 20)
/* The largest span carved from a chunk (Linux's vmap-node pools stop at 256 pages too): at most this much
 * of a chunk is left over when it is retired, and it goes back to the index. */
#define VA_CHUNK_AREA_MAX (1UL << 20)
/* Records a stash takes from the pool of records per hold of the arena lock, and the most it keeps of
 * those the purge gives back (the rest go back to the pool of records). */
#define VA_STASH_REFILL 512
#define VA_STASH_MAX 2048

/* Whether span bytes (guard included, page multiple) is a size the chunks serve. */
static inline bool va_chunk_fits(u64 span) { return !va_cache_fits(span) && span <= VA_CHUNK_AREA_MAX; }

/* A kernel area of `span` bytes at page alignment from this hart's chunk and stash (refilled under one
 * hold of the arena lock when either runs out), registered in the busy map and counted, as va_cache_get.
 * NULL when no chunk can be had (the region has no free extent of a chunk's size, or no record is
 * left): the caller takes the index path, which also waits for purges. Process context, no lock held. */
struct vmap_area *va_chunk_get(u64 span, unsigned vmflags, u64 pages, const void *caller);

/* Keeps a record the purge is done with (its range given back to the index; any state in `from`) in this
 * hart's stash, state VA_NONE: true, or false when the stash is full or the caller is an interrupt
 * handler (the caller puts it back in the pool of records). Arena lock held, or none. */
bool va_stash_keep(struct vmap_area *a, unsigned from);

/* Gives this hart's chunk (what is left of it) back to the index and its stash back to the pool of
 * records: vm_purge, the retry of an allocation that found the region full, and this hart's answer to
 * another's (vm_purge_answer_ask). A leftover the index has
 * no node for stays this hart's. Process context, no lock held; nothing in interrupt context. */
void va_chunk_flush(void);

#endif
