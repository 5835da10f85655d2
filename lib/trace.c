/* Trace rings: each hart formats its events into its own ring with interrupts off (no lock shared with
 * other harts, so tracing never serialises allocation), and the ring is drained to the console later,
 * from the idle loop, the timer tick or (half full) the return to user mode, outside every allocator lock. A full ring drops events and the
 * next drain says how many and which sequence numbers, so a gap is never silent. At power-off the trace
 * is closed: no event is numbered after that, every event already numbered is waited for, and every ring
 * is drained (its drops reported) before the last console line. */
#include <stdarg.h>
#include "lib/trace.h"
#include "lib/ksyms.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define RING_MAX 16384u
#define RING_MIN 256u
#define TRACE_LINE_MAX 384u /* a line with its newline; events inside a system call carry ~60 bytes more */

struct trace_ring {
	char buf[RING_MAX];
	u32 head, tail; /* free-running byte counters; sizes are powers of two so wrap-around stays exact */
	u32 size;       /* 0 until first used: then the ring_size of that moment */
	u64 accepted;   /* bytes ever queued */
	u64 dropped, dropped_reported;
	u64 drop_first_seq, drop_last_seq; /* of the events dropped since the last report */
	/* The event this hart is formatting: 0 none, WRITING_UNNUMBERED before it has its sequence number,
	 * else that number + 1. The close waits for it; the gdb helper (vmk-trace-ring) shows it, since a
	 * numbered event not yet in the ring is neither on the console nor undrained. */
	u64 writing;
	spinlock_t drain_lock;
};

#define WRITING_UNNUMBERED (~0ULL)

u32 trace_mask;
static struct trace_ring rings[MAX_HARTS];
static u64 trace_seq;
static u32 ring_size = RING_MAX;
static u32 trace_closed; /* set once, by trace_close_and_drain_all at power-off */
static u32 drain_waiters; /* harts waiting for another hart's drain to end (drain_ring_waiting) */
static void (*drain_sink)(const char *s, size_t n);

static u32 ring_bytes(const struct trace_ring *r) { return r->size ? r->size : ring_size; }

void trace_set_ring_size(u32 bytes)
{
	u32 size = RING_MIN;
	while (size * 2 <= bytes && size < RING_MAX) size *= 2;
	trace_drain_all();
	ring_size = size;
	for (u32 i = 0; i < MAX_HARTS; i++) {
		struct trace_ring *r = &rings[i];
		unsigned long f = irq_save();
		spin_lock(&r->drain_lock);
		/* Only an empty ring can change size: the byte positions of queued lines depend on it. */
		if (r->head == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) r->size = size;
		spin_unlock(&r->drain_lock);
		irq_restore(f);
	}
}

/* A user-supplied label must never split a line or forge fields, whatever bytes it holds. */
static void clean_line(char *s, int n)
{
	for (int i = 0; i < n; i++)
		if ((u8)s[i] < 0x20 || (u8)s[i] >= 0x7f) s[i] = '?';
}

char *trace_clean(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '"' || *p == '\\' || (u8)*p < 0x20 || (u8)*p >= 0x7f) *p = '?';
	return s;
}

void trace_emit(const void *caller, const char *fmt, ...)
{
	char line[TRACE_LINE_MAX], sym[96];
	va_list ap;
	unsigned long f = irq_save();
	struct hart_local *h = this_hart();
	struct trace_ring *r = &rings[h->index];

	/* Announce the event before looking at the close, and the closer sets the close before looking at
	 * `writing` (both fenced): either this event sees the close and takes no number, or the closer sees
	 * it being written and waits for it to reach the ring. */
	WRITE_ONCE(r->writing, WRITING_UNNUMBERED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (unlikely(READ_ONCE(trace_closed))) {
		WRITE_ONCE(r->writing, 0);
		irq_restore(f);
		harts_kick_others(); /* the closer may be waiting on this ring */
		return;
	}
	u64 seq = __atomic_fetch_add(&trace_seq, 1, __ATOMIC_RELAXED);
	WRITE_ONCE(r->writing, seq + 1);

	u64 now = rdtime();
	ksym_format((uptr)caller, sym, sizeof(sym));
	int n = snprintf(line, sizeof(line), "@T seq=%lu hart=%u t=%lu task=%u ", seq, h->hartid, now, h->tid);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
	/* Inside a system call (not in an interrupt that merely arrived during one): which call, since when,
	 * and the user's ecall and call site, so the event names the user's line whatever was inlined. */
	const struct trace_syscall *sc = h->irq_depth ? NULL : h->sys;
	if (sc && sc->name) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, " sys=%s", sc->name);
		if (sc->t0 && n < (int)sizeof(line) - 2)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " sys_dt=%lu", now - sc->t0);
		if (n < (int)sizeof(line) - 2)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " upc=0x%lx ucaller=0x%lx", sc->upc, sc->ucaller);
		if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
	}
	n += snprintf(line + n, sizeof(line) - (size_t)n, " caller=%s", sym);
	if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2; /* truncated: the tool reports it malformed */
	clean_line(line, n);
	line[n++] = '\n';
	u32 size = r->size ? r->size : (r->size = ring_size);
	if (r->head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) + (u32)n > size) {
		if (r->dropped == r->dropped_reported) r->drop_first_seq = seq;
		r->drop_last_seq = seq;
		r->dropped++;
	} else {
		for (int i = 0; i < n; i++) r->buf[(r->head + (u32)i) & (size - 1)] = line[i];
		r->accepted += (u32)n;
		store_release(r->head, r->head + (u32)n);
	}
	store_release(r->writing, 0);
	irq_restore(f);
	if (unlikely(READ_ONCE(trace_closed))) harts_kick_others(); /* numbered before the close: it waits */
}

static void drain_write(const char *s, size_t n)
{
	if (drain_sink) drain_sink(s, n);
	else console_write_lines(s, n);
}

/* Writes ring r to the console, then its drop report; false (nothing done) when another hart is draining
 * it right now. */
static bool drain_ring(struct trace_ring *r, u32 hartid)
{
	char chunk[TRACE_LINE_MAX + 128];

	if (!spin_trylock(&r->drain_lock)) return false;
	u32 size = ring_bytes(r);
	for (;;) {
		u32 tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (tail == head) break;
		u32 n = 0;
		/* Whole lines only, so a trace line never shares a console write with printk text. */
		while (tail + n != head && n < sizeof(chunk)) {
			chunk[n] = r->buf[(tail + n) & (size - 1)];
			n++;
			if (chunk[n - 1] == '\n' && n > sizeof(chunk) - TRACE_LINE_MAX) break;
		}
		u32 cut = n;
		while (cut && chunk[cut - 1] != '\n') cut--;
		if (!cut) cut = n;
		drain_write(chunk, cut);
		store_release(r->tail, tail + cut);
	}
	/* Read the drop record with interrupts off so an event dropped meanwhile lands in the next report. */
	unsigned long f = irq_save();
	u64 d = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED), was = r->dropped_reported;
	u64 first = r->drop_first_seq, last = r->drop_last_seq;
	r->dropped_reported = d;
	irq_restore(f);
	if (d != was) {
		char line[128];
		int n = snprintf(line, sizeof(line), "@T hart=%u ev=drop count=%lu total=%lu first_seq=%lu last_seq=%lu\n",
				 hartid, d - was, d, first, last);
		drain_write(line, (size_t)n);
	}
	spin_unlock(&r->drain_lock);
	/* Someone may wait for this drain (a kick lost to the race with its count costs it a tick). */
	if (unlikely(READ_ONCE(drain_waiters) || READ_ONCE(trace_closed))) harts_kick_others();
	return true;
}

void trace_drain(void) { drain_ring(&rings[this_hart_index()], this_hart()->hartid); }

void trace_drain_if_half_full(void)
{
	struct trace_ring *r = &rings[this_hart_index()];
	u32 queued = __atomic_load_n(&r->head, __ATOMIC_RELAXED) - __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	if (unlikely(queued > ring_bytes(r) / 2)) drain_ring(r, this_hart()->hartid);
}

/* Drains ring i; when its own hart is in the middle of draining it, waits for that drain to end rather
 * than skip the ring, so what was queued when the call began is on the console when it returns (power-off
 * lists vmallocinfo after this: lines left in a ring another hart was writing out would come after the
 * listing, or never). This hart's own ring is only tried: if it is held, this hart holds it itself, in
 * the code an interrupt interrupted, and waiting would never end. */
static void drain_ring_waiting(u32 i)
{
	if (i == this_hart_index()) drain_ring(&rings[i], hart_locals[i]->hartid);
	else if (!drain_ring(&rings[i], hart_locals[i]->hartid)) {
		__atomic_fetch_add(&drain_waiters, 1, __ATOMIC_SEQ_CST);
		hart_wait_until(drain_ring(&rings[i], hart_locals[i]->hartid));
		__atomic_fetch_sub(&drain_waiters, 1, __ATOMIC_SEQ_CST);
	}
}

void trace_drain_all(void)
{
	for (u32 i = 0; i < MAX_HARTS; i++) if (hart_locals[i]) drain_ring_waiting(i);
}

void trace_close_and_drain_all(void)
{
	WRITE_ONCE(trace_closed, 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (u32 i = 0; i < MAX_HARTS; i++) {
		struct trace_ring *r = &rings[i];
		if (!hart_locals[i]) continue;
		/* An event numbered before the close is finished by its hart within a few hundred instructions
		 * (interrupts off, no lock); a drain another hart is in the middle of ends once its ring is
		 * empty. Both kick this hart when done (the tick wakes it otherwise); wfi, not a spin, so that
		 * under QEMU's icount the hart being waited for gets to run. */
		hart_wait_until(!READ_ONCE(r->writing));
		drain_ring_waiting(i);
	}
}

void trace_set_drain_sink(void (*sink)(const char *s, size_t n)) { drain_sink = sink; }

u64 trace_dropped_total(void)
{
	u64 t = 0;
	for (u32 i = 0; i < MAX_HARTS; i++) t += __atomic_load_n(&rings[i].dropped, __ATOMIC_RELAXED);
	return t;
}

u64 trace_bytes_queued(void)
{
	u64 t = 0;
	for (u32 i = 0; i < MAX_HARTS; i++) t += __atomic_load_n(&rings[i].accepted, __ATOMIC_RELAXED);
	return t;
}

u64 trace_next_seq(void) { return __atomic_load_n(&trace_seq, __ATOMIC_RELAXED); }

u32 trace_parse_classes(const char *list)
{
	static const struct {
		const char *name;
		u32 mask;
	} classes[] = {{"vmalloc", TRACE_VMALLOC}, {"purge", TRACE_PURGE}, {"shm", TRACE_SHM},
		       {"fault", TRACE_FAULT}, {"all", TRACE_ALL}};
	u32 mask = 0;
	while (list && *list) {
		const char *e = strchr(list, ',');
		size_t len = e ? (size_t)(e - list) : strlen(list);
		for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
			if (strlen(classes[i].name) == len && !strncmp(list, classes[i].name, len)) mask |= classes[i].mask;
		list = e ? e + 1 : NULL;
	}
	return mask;
}
