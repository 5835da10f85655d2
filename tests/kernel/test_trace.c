/* The `trace` suite: the allocation trace's rings under a flood (drops counted and reported, never
 * silent), the cost of an event site whose class is off (nothing reaches the ring), class parsing and
 * the line grammar's defences against hostile strings. */
#include "kernel/ktest.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/vmalloc.h"

#define CAPTURE_MAX 4096

/* What the drain wrote while a case listened; it still reaches the console so the log stays whole. */
static char captured[CAPTURE_MAX];
static size_t captured_len;

static void capture_sink(const char *s, size_t n)
{
	size_t room = CAPTURE_MAX - 1 - captured_len;
	size_t take = n < room ? n : room;
	memcpy(captured + captured_len, s, take);
	captured_len += take;
	captured[captured_len] = 0;
	console_write(s, n);
}

static void capture_start(void)
{
	trace_drain_all(); /* earlier lines belong to no case */
	captured_len = 0;
	captured[0] = 0;
	trace_set_drain_sink(capture_sink);
}

static void capture_stop(void)
{
	trace_drain_all();
	trace_set_drain_sink(NULL);
}

static const char *find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncmp(hay, needle, n)) return hay;
	return NULL;
}

static u64 field_u64(const char *line, const char *key)
{
	const char *p = find(line, key);
	u64 v = 0;
	if (!p) return ~0ULL;
	for (p += strlen(key); *p >= '0' && *p <= '9'; p++) v = v * 10 + (u64)(*p - '0');
	return v;
}

static void flood_drops_and_reports(struct ktest *t)
{
#ifdef TRACE_COMPILED_OUT
	ktest_skip(t, "tracing compiled out");
	return;
#endif
	u32 saved = trace_mask;
	capture_start();
	trace_set_ring_size(256);
	u64 dropped0 = trace_dropped_total(), seq0 = trace_next_seq();
	trace_mask = TRACE_ALL;
	/* ~100-byte lines into a 256-byte ring: at most two fit until the next drain. */
	for (int i = 0; i < 64; i++) TRACE(TRACE_VMALLOC, (void *)0, "ev=mark id=%d label=\"ktest flood\"", i);
	trace_mask = saved;
	u64 dropped = trace_dropped_total() - dropped0;
	u64 seq1 = trace_next_seq();
	capture_stop();
	trace_set_ring_size(1u << 30); /* back to the largest ring */
	KT_EXPECT(t, seq1 - seq0 == 64);
	KT_ASSERT(t, dropped >= 32 && dropped <= 64);
	/* The timer tick drains too, so the drops may be reported in several lines, each gap once: together
	 * they must account for every drop, in order, inside the flood's sequence numbers. */
	u64 reported = 0, first = ~0ULL, last = 0, prev_last = 0, lines = 0;
	for (const char *drop = find(captured, "ev=drop "); drop; drop = find(drop + 1, "ev=drop ")) {
		const char *line = drop;
		while (line > captured && line[-1] != '\n') line--;
		KT_EXPECT(t, !strncmp(line, "@T hart=", 8));
		u64 count = field_u64(drop, " count="), f = field_u64(drop, " first_seq="), l = field_u64(drop, " last_seq=");
		KT_EXPECT(t, field_u64(drop, " total=") >= count);
		KT_EXPECT(t, f <= l && l - f + 1 >= count && (!lines || f > prev_last));
		reported += count;
		first = MIN(first, f);
		last = MAX(last, l);
		prev_last = l;
		lines++;
	}
	KT_ASSERT(t, lines > 0);
	KT_EXPECT(t, reported == dropped);
	KT_EXPECT(t, first >= seq0 && first <= last && last < seq1);
	KT_EXPECT(t, last - first + 1 >= dropped);
	/* A second drain has nothing new to say: drops are reported once. */
	capture_start();
	capture_stop();
	KT_EXPECT(t, find(captured, "ev=drop") == NULL);
}

static void off_class_costs_nothing(struct ktest *t)
{
	u32 saved = trace_mask;
	trace_drain_all();
	trace_mask = TRACE_ALL & ~TRACE_VMALLOC;
	u64 bytes0 = trace_bytes_queued(), seq0 = trace_next_seq();
	for (int i = 0; i < 100; i++) {
		void *p = vmalloc(PAGE_SIZE);
		KT_EXPECT(t, p != NULL);
		vfree(p);
	}
	u64 bytes_off = trace_bytes_queued() - bytes0, seq_off = trace_next_seq() - seq0;
#ifndef TRACE_COMPILED_OUT
	/* The same work with the class on must leave a mark, or the check above proves nothing. */
	trace_mask = TRACE_VMALLOC;
	void *p = vmalloc(PAGE_SIZE);
	vfree(p);
	u64 bytes_on = trace_bytes_queued() - bytes0 - bytes_off, seq_on = trace_next_seq() - seq0 - seq_off;
#endif
	trace_mask = saved;
	trace_drain_all();
	KT_EXPECT(t, bytes_off == 0);
	KT_EXPECT(t, seq_off == 0);
#ifndef TRACE_COMPILED_OUT
	KT_EXPECT(t, p != NULL);
	KT_EXPECT(t, seq_on >= 2);
	KT_EXPECT(t, bytes_on > 2 * 40);
#endif
}

static void classes_parse(struct ktest *t)
{
	KT_EXPECT(t, trace_parse_classes("vmalloc") == TRACE_VMALLOC);
	KT_EXPECT(t, trace_parse_classes("vmalloc,purge") == (TRACE_VMALLOC | TRACE_PURGE));
	KT_EXPECT(t, trace_parse_classes("shm,fault") == (TRACE_SHM | TRACE_FAULT));
	KT_EXPECT(t, trace_parse_classes("all") == TRACE_ALL);
	KT_EXPECT(t, trace_parse_classes("bogus") == 0);
	KT_EXPECT(t, trace_parse_classes("vmallocx,,purge") == TRACE_PURGE);
	KT_EXPECT(t, trace_parse_classes("") == 0);
	KT_EXPECT(t, trace_parse_classes(NULL) == 0);
}

static void hostile_strings_stay_one_line(struct ktest *t)
{
#ifdef TRACE_COMPILED_OUT
	ktest_skip(t, "tracing compiled out");
	return;
#endif
	char label[] = "a\"b\\c\nd\x01" "e";
	KT_EXPECT(t, !strcmp(trace_clean(label), "a?b?c?d?e"));

	u32 saved = trace_mask;
	capture_start();
	trace_mask = TRACE_ALL;
	/* Raw, uncleaned: the ring itself must still never let a newline split the line. */
	TRACE(TRACE_ALL, (void *)0, "ev=mark id=7 label=\"%s\"", "x\ny\rz");
	trace_mask = saved;
	capture_stop();
	const char *line = find(captured, "ev=mark id=7 ");
	KT_ASSERT(t, line != NULL);
	while (line > captured && line[-1] != '\n') line--;
	KT_EXPECT(t, !strncmp(line, "@T seq=", 7));
	const char *nl = strchr(line, '\n');
	KT_ASSERT(t, nl != NULL);
	const char *caller = find(line, " caller=");
	KT_EXPECT(t, caller != NULL && caller < nl);
	KT_EXPECT(t, find(line, "label=\"x?y?z\"") != NULL);
}

/* A hart that never idles still gets its ring drained: by its timer tick. The case spins (interrupts
 * on, no idle loop) until two ticks have passed and looks for its event in what was drained. */
static void tick_drains_busy_hart(struct ktest *t)
{
#ifdef TRACE_COMPILED_OUT
	ktest_skip(t, "tracing compiled out");
	return;
#endif
	u32 old_mask = trace_mask;
	capture_start();
	trace_mask = TRACE_ALL;
	trace_emit(NULL, "ev=mark id=4242 label=\"tick drain\"");
	trace_mask = old_mask;
	KT_ASSERT(t, csr_read(sstatus) & SSTATUS_SIE);
	u64 t0 = this_hart()->ticks;
	while (this_hart()->ticks < t0 + 2) cpu_relax();
	bool seen = find(captured, "id=4242 label=\"tick drain\"") != NULL;
	capture_stop();
	KT_EXPECT(t, seen);
}

/* Lines the drain wrote that hold `ev=lazy `, counted whole however the drain cuts its writes. */
static u64 lazy_lines;
static char line_buf[512];
static size_t line_len;
static void lazy_counting_sink(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			line_buf[line_len] = 0;
			if (find(line_buf, "ev=lazy ")) lazy_lines++;
			line_len = 0;
		} else if (line_len < sizeof(line_buf) - 1) {
			line_buf[line_len++] = s[i];
		}
	}
	console_write(s, n);
}

/* A purge names every range it releases (ev=lazy, the replay's model needs each): 1,000 of them are
 * about 100 KiB of lines, six times a hart's ring, written at once by the purging hart. They used to
 * overflow it (drops reported, but the replay could no longer place those ranges); the purge now drains
 * its ring on the way, and every line arrives. */
#define BIG_PURGE_AREAS 1000
static void *big_purge[BIG_PURGE_AREAS];
static void big_purge_drops_nothing(struct ktest *t)
{
#ifdef TRACE_COMPILED_OUT
	ktest_skip(t, "tracing compiled out");
	return;
#endif
	u64 old_lazy = vm_lazy_max_pages();
	vm_purge();
	vm_set_lazy_max_pages(1UL << 24); /* nothing purges until the case asks */
	u32 made = 0;
	for (u32 i = 0; i < BIG_PURGE_AREAS; i++) made += (big_purge[i] = vmalloc(PAGE_SIZE)) != NULL;
	for (u32 i = 0; i < BIG_PURGE_AREAS; i++) vfree(big_purge[i]);
	trace_drain_all();
	lazy_lines = 0;
	line_len = 0;
	trace_set_drain_sink(lazy_counting_sink);
	u64 dropped0 = trace_dropped_total();
	u32 old_mask = trace_mask;
	trace_mask = TRACE_VMALLOC;
	vm_purge();
	trace_mask = old_mask;
	trace_drain_all();
	trace_set_drain_sink(NULL);
	vm_set_lazy_max_pages(old_lazy);
	printk("# trace: a purge of %u freed areas wrote %lu ev=lazy lines, dropped %lu\n", made, lazy_lines,
	       trace_dropped_total() - dropped0);
	KT_EXPECT(t, made == BIG_PURGE_AREAS);
	KT_EXPECT(t, trace_dropped_total() == dropped0);
	KT_EXPECT(t, lazy_lines >= BIG_PURGE_AREAS);
}

KTEST_SUITE(trace, {"flood_drops_and_reports", flood_drops_and_reports}, {"tick_drains_busy_hart", tick_drains_busy_hart},
	    {"off_class_costs_nothing", off_class_costs_nothing}, {"classes_parse", classes_parse},
	    {"hostile_strings_stay_one_line", hostile_strings_stay_one_line},
	    {"big_purge_drops_nothing", big_purge_drops_nothing});
