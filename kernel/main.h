/* What kmain learns at boot and keeps for the rest of the kernel (and the boot and fdt test suites). */
#ifndef KERNEL_MAIN_H
#define KERNEL_MAIN_H

#include "lib/types.h"
#include "platform/devtree.h"

extern struct machine_desc machine; /* the machine as the device tree describes it */
extern const void *boot_dtb;        /* the firmware's device tree, in the direct map */
extern u64 boot_dtb_size;

#endif
