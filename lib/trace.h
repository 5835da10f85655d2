/* Allocation trace: events formatted into per-hart rings and drained to the console as "@T" lines.
 * Grammar (docs/trace.md): "@T seq=<n> hart=<h> t=<ticks> task=<tid> ev=<name> <key>=<value>..." */
#ifndef LIB_TRACE_H
#define LIB_TRACE_H

#include "lib/types.h"

/* The classes (TRACE_VMALLOC, TRACE_PURGE, TRACE_SHM, TRACE_FAULT, TRACE_ALL) are part of the user ABI. */
#include <vmk/abi.h>

extern u32 trace_mask;

/* A task's system call in progress, as its events name it (docs/trace.md: sys, sys_dt, upc, ucaller).
 * The kernel keeps one per task and fills it at the syscall's entry, and hart_local.sys points at the
 * running task's; every event a hart emits outside interrupts while `name` is set carries these fields,
 * so a user-caused event says which call and which user line caused it whatever LTO inlined. */
struct trace_syscall {
	const char *name; /* the syscall's name; NULL while the task is not in a system call */
	u64 t0;           /* rdtime at entry, taken only while some trace class is on (0 otherwise) */
	u64 upc;          /* user pc of the ecall */
	u64 ucaller;      /* what the runtime passed in a6: the user call site (docs/abi.md) */
};

/* Formats one event ("@T seq=... caller=<caller's symbol>", cut to 383 bytes with its newline) into this
 * hart's ring, with interrupts masked meanwhile. Takes no lock and writes nothing to the console, so it
 * may run under any lock. A full ring drops the event, counted for the next drain's ev=drop line. Once
 * the trace is closed (trace_close_and_drain_all) the event is discarded; then, and when the close came
 * while the event was being written, it kicks every other online hart (an IPI), since the closer may be
 * waiting on this ring. Any context, interrupt handlers too. Callers normally go through TRACE. */
void trace_emit(const void *caller, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void trace_drain(void);            /* writes this hart's ring to the console; never under allocator locks */
/* Drains this hart's ring when it is half full, else does nothing (one load and a compare): for the
 * return to user mode, so a hart busy with system calls between two ticks does not overflow its ring.
 * Process context, no allocator lock held. */
void trace_drain_if_half_full(void);
/* Every hart's ring, from one hart (tests, power-off): a ring another hart is draining right now is
 * waited for, not skipped, so every line queued before the call is on the console when it returns.
 * Process context (it may wait on other harts), no allocator lock held. */
void trace_drain_all(void);
/* The last drain, right before the power-off line: closes the trace (an event that would start after
 * this takes no sequence number and is not written, so no gap appears), waits for every event already
 * numbered to reach its ring and for any drain another hart is in the middle of, then drains every ring
 * with its drop report. Whatever other harts do meanwhile, every numbered event is on the console or
 * counted by an ev=drop line when it returns. Once, at power-off; any context but an allocator lock. */
void trace_close_and_drain_all(void);
u32 trace_parse_classes(const char *list); /* "vmalloc,purge" / "all" -> mask */
u64 trace_dropped_total(void);
/* Tests shrink the ring to provoke drops (rounded down to a power of two, 256..16384 bytes). Drains every
 * ring first; call it only while no other hart is tracing. */
void trace_set_ring_size(u32 bytes);
u64 trace_bytes_queued(void);      /* bytes ever accepted into any ring: proves an off class costs nothing */
u64 trace_next_seq(void);          /* the sequence number the next event will get */
/* Tests capture what the drain writes; NULL restores the console. */
void trace_set_drain_sink(void (*sink)(const char *s, size_t n));
/* Makes a string safe as a quoted trace value in place: '"', '\\' and non-printable bytes become '?'. */
char *trace_clean(char *s);

/* For hot sites that format out of line: `if (trace_on(cls)) cold_formatter(...)` keeps the fast path to
 * the one load and branch and its arguments out of the caller's registers. */
#ifdef TRACE_COMPILED_OUT
#define trace_on(cls) 0
#else
#define trace_on(cls)                                                                   \
	(unlikely(__atomic_load_n((const u8 *)&trace_mask, __ATOMIC_RELAXED)) &&        \
	 (__atomic_load_n(&trace_mask, __ATOMIC_RELAXED) & (cls)))
#endif

#ifdef TRACE_COMPILED_OUT
/* Dead code, never emitted: the arguments still count as used and the format is still checked. */
#define TRACE(cls, caller, ...)                                   \
	do {                                                      \
		if (0) trace_emit((caller), __VA_ARGS__);          \
	} while (0)
#else
/* Off by default, so the fast test is "is any class on": one byte load and one predictable branch (every
 * class bit lives in trace_mask's low byte, RISC-V being little-endian); the class is checked behind it. */
_Static_assert(TRACE_ALL <= 0xff, "trace classes must fit trace_mask's low byte");
#define TRACE(cls, caller, ...)                                                                     \
	do {                                                                                        \
		if (unlikely(__atomic_load_n((const u8 *)&trace_mask, __ATOMIC_RELAXED)) &&         \
		    (__atomic_load_n(&trace_mask, __ATOMIC_RELAXED) & (cls)))                        \
			trace_emit((caller), __VA_ARGS__);                                          \
	} while (0)
#endif

#endif
