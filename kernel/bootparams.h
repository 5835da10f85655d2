/* The kernel's boot arguments: the check of the whole command line at boot, and its echo. */
#ifndef KERNEL_BOOTPARAMS_H
#define KERNEL_BOOTPARAMS_H

#include "lib/types.h"

/* Prints "bootargs: <line>" with control bytes escaped, in pieces printk can hold. Boot hart, after
 * bootargs_init. */
void bootparams_echo(void);

/* Prints one warning or error line per bad word (malformed, beyond the word limit, a number out of its
 * accepted range, an unknown key) and returns the number of errors; unknown keys only warn. The boot
 * refuses to go on when this is not 0. Boot hart, after bootargs_init. */
int bootparams_check(void);

/* Whether key is one of the kernel's flags (vmallocinfo): a bare word naming one is the kernel's, any
 * other bare word without a '.' is init's argument (the word "test" among them: test=... is a list). */
bool bootparams_is_flag(const char *key);

/* init's arguments from the command line, as in Linux: the bare words (no '=', no '.') that are not a
 * kernel flag, in line order. Stores at most max of them in args (NULL: none stored) and returns how
 * many there are; bootparams_check refuses a line with more than VMK_ARGV_MAX - 1 (argv[0] is init's
 * name). Boot hart, after bootargs_init. */
int bootparams_init_args(const char **args, int max);

/* printk of n bytes with control bytes, backslash and non-ASCII as \xNN, in pieces printk can hold. */
void bootparams_print_escaped(const char *s, size_t n);
/* The same escaping of at most 64 bytes of s into dst (at least 4 * 64 + 4 bytes), with "..." after
 * when s is longer: a name to print inside one printk. Returns dst. Any context. */
char *bootparams_escape_name(char *dst, const char *s);

#endif
