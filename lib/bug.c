/* The hook through which lib/bug.h's failures reach the kernel's oops (set by kernel/main.c). */
#include "lib/bug.h"

void (*bug_handler)(const char *what, const char *file, int line) __noreturn;
