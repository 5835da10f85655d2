/* Allocation trace: events formatted into per-hart rings and drained to the console as "@T" lines.
 * Grammar (docs/trace.md): "@T seq=<n> hart=<h> t=<ticks> task=<tid> ev=<name> <key>=<value>..." */
#ifndef LIB_TRACE_H
#define LIB_TRACE_H

#include "lib/types.h"

/* The classes (TRACE_VMALLOC, TRACE_PURGE, TRACE_SHM, TRACE_FAULT, TRACE_ALL) are part of the user ABI. */
#include <vmk/abi.h>

extern u32 trace_mask;

void trace_emit(const void *caller, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void trace_drain(void);            /* writes this hart's ring to the console; never under allocator locks */
void trace_drain_all(void);        /* every hart's ring, from one hart (tests, power-off) */
u32 trace_parse_classes(const char *list); /* "vmalloc,purge" / "all" -> mask */
u64 trace_dropped_total(void);
void trace_set_ring_size(u32 bytes); /* tests shrink the ring to provoke drops */

#ifdef TRACE_COMPILED_OUT
#define TRACE(cls, caller, ...) do { } while (0)
#else
/* When a class is off, an event site is one load and one predictable branch. */
#define TRACE(cls, caller, ...)                                                   \
	do {                                                                      \
		if (unlikely(__atomic_load_n(&trace_mask, __ATOMIC_RELAXED) & (cls))) \
			trace_emit((caller), __VA_ARGS__);                        \
	} while (0)
#endif

#endif
