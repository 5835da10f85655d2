/* What the boot code shares between its assembly and C: the early page table builder. */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include "kernel/hart.h"

#ifndef __ASSEMBLER__
#include "lib/types.h"

extern u64 early_satp;
u64 early_pt_build(void);
#endif

#endif
