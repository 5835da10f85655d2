/* Constants and symbols shared by the boot assembly and C: stacks and the early page tables. */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#define BOOT_STACK_SIZE 16384

#ifndef __ASSEMBLER__
#include "lib/types.h"
#include "lib/percpu.h"

/* What a secondary hart loads into sp and tp once it runs in the upper half (index = its dense index). */
struct hart_boot_arg {
	u64 sp;
	u64 tp;
};
extern struct hart_boot_arg hart_boot_args[MAX_HARTS];
extern u8 boot_stacks[MAX_HARTS][BOOT_STACK_SIZE];
extern u64 early_satp;
extern char _secondary_entry[];
extern char _kernel_start[], _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _data_end[], __bss_start[], __bss_end[], _kernel_end[];

u64 early_pt_build(void);
void kmain(u64 hartid, u64 dtb_pa) __noreturn;
void secondary_main(u64 hartid, u64 index) __noreturn;
#endif

#endif
