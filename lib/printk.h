/* Kernel console output: printk with the usual formats (lib/format.h's, which it includes for its callers). */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include "lib/format.h"
#include "lib/types.h"

/* Formats into a 512-byte buffer (longer output is cut to 511 bytes) and writes it as console_write does,
 * under the console lock with interrupts masked while it is held, so lines from different harts never
 * interleave; before console_set_sink it writes nothing. Any context, interrupt handlers too, as long as
 * this hart does not hold the console lock already (a console sink must not call it); it may wait in wfi
 * while another hart holds it. Once an oops has set console_panic_mode it writes without the lock. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where printk's finished lines go; set by the platform once a console is known (a test may capture
 * them for a while). Returns the sink it replaces. Boot hart, or with nothing else printing. */
typedef void (*console_sink_fn)(const char *s, size_t n);
console_sink_fn console_set_sink(console_sink_fn sink);
/* Writes raw kernel bytes under the console lock (printk shares it); a line a task left open is ended
 * first, so kernel text never continues a task's. */
void console_write(const char *s, size_t n);
/* As console_write, for whole lines that must each start a console line of their own (the trace drain):
 * any open line is ended first. */
void console_write_lines(const char *s, size_t n);
/* A task's bytes (SYS_write): a line it begins with '@', 'v' or '0' gets a backslash first, so that no
 * task can forge a trace record, a listing row or a vmalloc report, which tools accept only at a line's
 * start; a line the kernel left open is ended first, and kernel text written next starts a new line: a
 * task's text and the kernel's never share a line. */
void console_write_task(const char *s, size_t n);
extern bool console_panic_mode;
#endif
