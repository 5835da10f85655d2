/* Fatal ends: a clear message, then power-off with a failure status so scripted runs see it. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "lib/bug.h"
#include "lib/types.h"

struct trap_frame;
/* Prints "KERNEL PANIC on hart <id>: <message>" (the message cut to 255 bytes) with interrupts masked,
 * without the console lock (console_panic_mode: the dying hart may hold it), then the dump hook's listing
 * (only for the first panic, oops or kernel_bug on any hart) and powers off with exit status 2; the trace
 * rings are not drained. Any context, interrupt handlers too. */
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));
/* For a trap the kernel cannot handle (kernel/trap.c): prints `what`, then tf's scause, stval, sepc,
 * sstatus and registers, without the console lock (console_panic_mode: the dying hart may hold it), then the
 * dump hook's listing (first failure only, as for panic) and powers off with exit status 3. Interrupts
 * are masked from entry. Any context. */
void oops(struct trap_frame *tf, const char *what) __noreturn;
/* Layers above register what an oops should also print (the vmalloc listing). */
void panic_set_dump_hook(void (*hook)(void));
/* Orderly power-off: drains the trace, prints the vmalloc listing when the bootarg asks, then exits. */
void kernel_poweroff(int status) __noreturn;

/* lib/bug.h's end (BUG_ON, BUG_UNLESS, vm/'s VM_DEBUG invariants): an oops naming what broke and where,
 * the vmalloc listing, power-off with status 3. kernel/main.c installs it as bug_handler. Any context. */
void kernel_bug(const char *what, const char *file, int line) __noreturn;

#endif
