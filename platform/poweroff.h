/* Ending the machine: QEMU's test device carries an exit status out to the host. */
#ifndef PLATFORM_POWEROFF_H
#define PLATFORM_POWEROFF_H

#include "lib/types.h"

void poweroff_init(void *test_dev, u32 pass_value);
void poweroff(int status) __noreturn;

#endif
