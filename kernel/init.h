/* Starting the first user program (kernel/init.c). */
#ifndef KERNEL_INIT_H
#define KERNEL_INIT_H

#include "platform/devtree.h"

/* Boot hart, once, at the end of kmain: spawns init= (default /init) from m's initrd and runs the
 * scheduler; returns only when init could not start (a boot exit status: -ENOENT without an initrd,
 * 12 or 13 for an unusable archive or program). When init exits the machine powers off from the idle
 * loop with its status. */
int kernel_start_init(const struct machine_desc *m);

#endif
