/* Kernel console output: printk with the usual formats (lib/format.h's, which it includes for its callers). */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include "lib/format.h"
#include "lib/types.h"

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where printk's finished lines go; set by the platform once a console is known. */
void console_set_sink(void (*sink)(const char *s, size_t n));
/* Writes raw kernel bytes under the console lock (printk shares it); a line a task left open is ended
 * first, so kernel text never continues a task's. */
void console_write(const char *s, size_t n);
/* As console_write, for whole lines that must each start a console line of their own (the trace drain):
 * any open line is ended first. */
void console_write_lines(const char *s, size_t n);
/* A task's bytes (SYS_write): a line it begins with '@', 'v' or '0' gets a backslash first, so that no
 * task can forge a trace record, a listing row or a vmalloc report, which tools accept only at a line's
 * start; and kernel text written next starts a new line. */
void console_write_task(const char *s, size_t n);
extern bool console_panic_mode;
#endif
