/* Trace rings: each hart formats its events into its own ring with interrupts off (no lock shared with
 * other harts, so tracing never serialises allocation), and the ring is drained to the console later,
 * from the idle loop or the timer tick, outside every allocator lock. A full ring drops events and the
 * next drain says how many, so a gap is never silent. */
#include <stdarg.h>
#include "lib/trace.h"
#include "lib/ksyms.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define RING_MAX 16384u

struct trace_ring {
	char buf[RING_MAX];
	u32 head, tail; /* free-running byte counters */
	u32 size;
	u64 dropped, dropped_reported;
	spinlock_t drain_lock;
};

u32 trace_mask;
static struct trace_ring rings[MAX_HARTS];
static u64 trace_seq;
static u32 ring_size = RING_MAX;

void trace_set_ring_size(u32 bytes) { ring_size = bytes < 256 ? 256 : bytes > RING_MAX ? RING_MAX : bytes; }


void trace_emit(const void *caller, const char *fmt, ...)
{
	char line[256], sym[96];
	va_list ap;
	unsigned long f = irq_save();
	struct hart_local *h = this_hart();
	struct trace_ring *r = &rings[h->index];

	ksym_format((uptr)caller, sym, sizeof(sym));
	int n = snprintf(line, sizeof(line), "@T seq=%lu hart=%u t=%lu task=%u ",
			 __atomic_fetch_add(&trace_seq, 1, __ATOMIC_RELAXED), h->hartid, rdtime(), h->tid);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
	n += snprintf(line + n, sizeof(line) - (size_t)n, " caller=%s\n", sym);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	u32 size = r->size ? r->size : (r->size = ring_size);
	if (r->head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) + (u32)n > size) {
		r->dropped++;
	} else {
		for (int i = 0; i < n; i++) r->buf[(r->head + (u32)i) % size] = line[i];
		__atomic_store_n(&r->head, r->head + (u32)n, __ATOMIC_RELEASE);
	}
	irq_restore(f);
}

static void drain_ring(struct trace_ring *r, u32 hartid)
{
	char chunk[256];

	if (!spin_trylock(&r->drain_lock)) return;
	u32 size = r->size ? r->size : ring_size;
	for (;;) {
		u32 tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (tail == head) break;
		u32 n = 0;
		/* Whole lines only, so a trace line never shares a console write with printk text. */
		while (tail + n != head && n < sizeof(chunk)) {
			chunk[n] = r->buf[(tail + n) % size];
			n++;
			if (chunk[n - 1] == '\n' && n > sizeof(chunk) - 128) break;
		}
		u32 cut = n;
		while (cut && chunk[cut - 1] != '\n') cut--;
		if (!cut) cut = n;
		console_write(chunk, cut);
		__atomic_store_n(&r->tail, tail + cut, __ATOMIC_RELEASE);
	}
	u64 d = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
	if (d != r->dropped_reported) {
		char line[96];
		int n = snprintf(line, sizeof(line), "@T hart=%u ev=drop count=%lu total=%lu\n", hartid,
				 d - r->dropped_reported, d);
		console_write(line, (size_t)n);
		r->dropped_reported = d;
	}
	spin_unlock(&r->drain_lock);
}

void trace_drain(void) { drain_ring(&rings[this_hart_index()], this_hart()->hartid); }

void trace_drain_all(void)
{
	for (u32 i = 0; i < MAX_HARTS; i++) drain_ring(&rings[i], hart_locals[i].hartid);
}

u64 trace_dropped_total(void)
{
	u64 t = 0;
	for (u32 i = 0; i < MAX_HARTS; i++) t += __atomic_load_n(&rings[i].dropped, __ATOMIC_RELAXED);
	return t;
}

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
