/* Boot-time memory setup: physical zones from the device tree, and the kernel's final page tables. */
#ifndef VM_VM_BOOT_H
#define VM_VM_BOOT_H

#include "lib/types.h"

struct machine_desc;

struct boot_range {
	u64 base, size;
	const char *what;
};

#define VM_BOOT_MAX_RESV 64 /* DT_MAX_RESV, the kernel, DTB and initrd, one page array per zone */

/* What the boot reserved and why, for the boot report. */
extern struct boot_range vm_boot_resv[VM_BOOT_MAX_RESV];
extern int vm_boot_nresv;
extern u64 kernel_root_pa; /* the kernel's Sv39 root: the kernel half every address space shares */

/* Returns NULL on success, or a reason the machine cannot run (the caller panics with it). */
const char *vm_boot_init(const struct machine_desc *m, u64 dtb_pa, u64 dtb_size);
void vm_boot_enable_paging(void); /* loads kernel_root_pa on this hart */

#endif
