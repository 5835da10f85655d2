/* Fatal ends: a clear message, then power-off with a failure status so scripted runs see it. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "lib/types.h"

struct trap_frame;
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));
void oops(struct trap_frame *tf, const char *what) __noreturn;
/* Layers above register what an oops should also print (the vmalloc listing). */
void panic_set_dump_hook(void (*hook)(void));
/* Orderly power-off: drains the trace, prints the vmalloc listing when the bootarg asks, then exits. */
void kernel_poweroff(int status) __noreturn;

#define BUG_ON(cond)                                                                     \
	do {                                                                             \
		if (unlikely(cond)) panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
