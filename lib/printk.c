/* printk: formats a whole message first, then writes it under the console lock, so lines from different
 * harts never interleave. */
#include <stdarg.h>
#include "lib/printk.h"
#include "lib/spinlock.h"

static void (*console_sink)(const char *s, size_t n);
static spinlock_t console_lock = SPINLOCK_INIT;
bool console_panic_mode; /* an oops writes without the lock: the holder may be the hart that died */

void console_set_sink(void (*sink)(const char *s, size_t n)) { console_sink = sink; }

void console_write(const char *s, size_t n)
{
	if (!console_sink) return;
	if (console_panic_mode) {
		console_sink(s, n);
		return;
	}
	unsigned long f = spin_lock_irqsave(&console_lock);
	console_sink(s, n);
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
