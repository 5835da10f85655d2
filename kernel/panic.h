/* Fatal ends: a clear message, then power-off with a failure status so scripted runs see it. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "lib/bug.h"
#include "lib/types.h"

struct trap_frame;
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));
void oops(struct trap_frame *tf, const char *what) __noreturn;
/* Layers above register what an oops should also print (the vmalloc listing). */
void panic_set_dump_hook(void (*hook)(void));
/* Orderly power-off: drains the trace, prints the vmalloc listing when the bootarg asks, then exits. */
void kernel_poweroff(int status) __noreturn;

/* lib/bug.h's end (BUG_ON, BUG_UNLESS, vm/'s VM_DEBUG invariants): an oops naming what broke and where,
 * the vmalloc listing, power-off with status 3. kernel/main.c installs it as bug_handler. Any context. */
void kernel_bug(const char *what, const char *file, int line) __noreturn;

#endif
