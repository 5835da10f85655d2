/* printk: formats a whole message first, then writes it under the console lock, so lines from different
 * harts never interleave. */
#include <stdarg.h>
#include "lib/printk.h"
#include "lib/spinlock.h"

static console_sink_fn console_sink;
static spinlock_t console_lock = SPINLOCK_INIT;
bool console_panic_mode; /* an oops writes without the lock: the holder may be the hart that died */

/* The console's line discipline, under console_lock: where the last byte left the cursor, and whether a
 * task wrote the unfinished line. Tasks share the UART with the kernel's trace and listings, which tools
 * parse: a task must not be able to forge a kernel line or glue itself to one (console_write_task). */
static bool at_line_start = true, task_line_open;

console_sink_fn console_set_sink(console_sink_fn sink)
{
	console_sink_fn old = console_sink;
	console_sink = sink;
	return old;
}

/* Writes n bytes from s, first ending the open line when `fresh` asks for a line of its own (or, for
 * kernel text, when a task left the line open). Caller holds console_lock. */
static void write_locked(const char *s, size_t n, bool fresh)
{
	if (!n) return;
	if (!at_line_start && (fresh || task_line_open)) console_sink("\n", 1);
	console_sink(s, n);
	at_line_start = s[n - 1] == '\n';
	task_line_open = false;
}

static void write_kernel(const char *s, size_t n, bool fresh)
{
	if (!console_sink) return;
	if (console_panic_mode) {
		console_sink(s, n);
		return;
	}
	unsigned long f = spin_lock_irqsave(&console_lock);
	write_locked(s, n, fresh);
	spin_unlock_irqrestore(&console_lock, f);
}

void console_write(const char *s, size_t n) { write_kernel(s, n, false); }
void console_write_lines(const char *s, size_t n) { write_kernel(s, n, true); }

void console_write_task(const char *s, size_t n)
{
	if (!console_sink || !n) return;
	unsigned long f = spin_lock_irqsave(&console_lock);
	/* Nor does a task's text continue a line the kernel left open (printk's line in pieces, or a task
	 * started on another hart between them): it starts a line of its own. */
	if (!at_line_start && !task_line_open) {
		console_sink("\n", 1);
		at_line_start = true;
	}
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		/* A line a task starts as a kernel line would (a trace record "@T", a listing row "0x...", a
		 * "vmalloc..." report) gets a backslash first: the tools accept those only at a line's start. */
		bool line_start = i ? s[i - 1] == '\n' : at_line_start;
		if (line_start && (s[i] == '@' || s[i] == 'v' || s[i] == '0')) {
			console_sink(s + from, i - from);
			console_sink("\\", 1);
			from = i;
		}
	}
	console_sink(s + from, n - from);
	at_line_start = s[n - 1] == '\n';
	task_line_open = !at_line_start;
	spin_unlock_irqrestore(&console_lock, f);
}

void printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf)) n = sizeof(buf) - 1;
	console_write(buf, (size_t)n);
}
