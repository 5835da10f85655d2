/* Kernel console output: printk with the usual formats (lib/format.h's, which it includes for its callers). */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include "lib/format.h"
#include "lib/types.h"

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where printk's finished lines go; set by the platform once a console is known. */
void console_set_sink(void (*sink)(const char *s, size_t n));
/* Writes raw bytes under the console lock (printk and the trace drain share it). */
void console_write(const char *s, size_t n);
extern bool console_panic_mode;
#endif
