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

/* Whether key is a boot argument the kernel reads (a bare word that is not one is init's argument). */
bool bootparams_known(const char *key);

/* printk of n bytes with control bytes, backslash and non-ASCII as \xNN, in pieces printk can hold. */
void bootparams_print_escaped(const char *s, size_t n);

#endif
