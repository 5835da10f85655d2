/* BUG_ON and named invariant failures, for every layer. The end itself (an oops: message, the vmalloc
 * listing, power-off with status 3) belongs to kernel/panic.c, above lib/ and vm/, so it is reached
 * through bug_handler, which the kernel sets at boot; vm/'s VM_DEBUG checks (vm/vmalloc_check.h) use it. */
#ifndef LIB_BUG_H
#define LIB_BUG_H

#include "lib/types.h"

/* Set once at boot by kernel/main.c (kernel/panic.c's kernel_bug); NULL before. Never returns. */
extern void (*bug_handler)(const char *what, const char *file, int line) __noreturn;

/* Ends the machine with an oops naming `what` (an invariant's name or a condition's text) and where it
 * was found. Any context. Before the kernel set its handler, the hart stops where it is. */
static inline __attribute__((always_inline)) __noreturn void bug(const char *what, const char *file, int line)
{
	if (bug_handler) bug_handler(what, file, line);
	for (;;) __asm__ volatile("wfi");
}

#define BUG_ON(cond)                                                   \
	do {                                                           \
		if (unlikely(cond)) bug("BUG_ON(" #cond ")", __FILE__, __LINE__); \
	} while (0)

/* An invariant by name: the oops says which promise broke, not just which expression. */
#define BUG_UNLESS(cond, name)                                         \
	do {                                                           \
		if (unlikely(!(cond))) bug(name, __FILE__, __LINE__);  \
	} while (0)

#endif
