/* Checks of what the firmware handed over, before anything is built on it. */
#ifndef KERNEL_BOOT_INPUT_H
#define KERNEL_BOOT_INPUT_H

#include "lib/types.h"

struct machine_desc;

#define BOOT_EXIT_BAD_TREE 10   /* the device tree is unusable */
#define BOOT_EXIT_BAD_MEMORY 11 /* memory: too small, or the tree and the RAM behind it disagree */
#define BOOT_EXIT_BAD_INITRD 12 /* the initrd is empty, outside RAM, or not an archive */
#define BOOT_EXIT_BAD_INIT 13   /* init cannot be started */
#define BOOT_EXIT_BAD_BOOTARGS 14
#define BOOT_EXIT_INIT_KILLED 15 /* init was killed by a fault (its status, VMK_STATUS_KILLED, fits no byte) */

/*
 * Makes *m true to the machine: clips every bank to the RAM really behind it (probing its pages under a
 * fault guard: a tree passed with -dtb may describe more than QEMU was given), then checks that the
 * kernel image, the device tree and the initrd lie inside the banks and that the initrd is not empty. Reservations
 * outside every bank are named and dropped (they protect nothing). Prints one line per change or
 * refusal; returns 0 or the BOOT_EXIT_* status to power off with. Boot hart, before vm_boot_init,
 * with the early page tables (the whole physical window mapped).
 */
int boot_input_check(struct machine_desc *m, u64 dtb_pa, u64 dtb_size);

#endif
