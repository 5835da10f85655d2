/* Kernel console output: printk with the usual formats, and the formatter behind it. */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include "lib/types.h"

/* Formats: %d %i %u %x %X %o %c %s %p %% with flags '-', '0', width, precision for %s,
 * and length modifiers l, ll, z. %p prints 0x followed by 16 hex digits. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where printk's finished lines go; set by the platform once a console is known. */
void console_set_sink(void (*sink)(const char *s, size_t n));
/* Writes raw bytes under the console lock (printk and the trace drain share it). */
void console_write(const char *s, size_t n);
extern bool console_panic_mode;
#endif
