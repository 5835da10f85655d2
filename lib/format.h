/* The formatter: printf-style formatting into a caller's buffer, with no console and no lock, so that
 * anything (printk, the trace, ksyms, the diagnostics) can format text without reaching the console. */
#ifndef LIB_FORMAT_H
#define LIB_FORMAT_H

#include <stdarg.h>
#include "lib/types.h"

/* Formats fmt into buf, writing at most size bytes including the terminating NUL (nothing when size is
 * 0), and returns the length the whole text would have had (as C's vsnprintf). Formats: %d %i %u %x %X
 * %o %c %s %p %% with flags '-', '0', width, precision for %s, and length modifiers l, ll, z; %p prints
 * 0x followed by 16 hex digits. No errors: an unknown conversion is copied as written. Any context
 * (no lock, no allocation). */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* vsnprintf with the arguments in line. */
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
