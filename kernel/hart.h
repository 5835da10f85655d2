/* The kernel's per-hart state and what boot/ needs to start a hart: tp points at a struct hart, whose
 * first member is lib's generic record, so lib and vm see only that part. The trap entry reaches the
 * stack fields by the offsets below (checked against the struct at compile time). */
#ifndef KERNEL_HART_H
#define KERNEL_HART_H

#define BOOT_STACK_SIZE 16384
#define HART_KERNEL_SP 40 /* offsetof(struct hart, kernel_sp) */
#define HART_USER_SP 48   /* offsetof(struct hart, user_sp) */

#ifndef __ASSEMBLER__
#include "lib/percpu.h"

struct task;
struct kfault_report;

struct hart {
	struct hart_local local;       /* first: tp points at both */
	u64 kernel_sp;                 /* stack top used when a trap arrives from user mode */
	u64 user_sp;                   /* scratch for the user's sp while switching stacks */
	struct task *current;          /* the task running here */
	void *fault_jmp;               /* kernel faults resume here (kfault_try) instead of oopsing */
	struct kfault_report *fault_report;
	u64 ipis_taken;                /* software interrupts received */
} __aligned(64); /* a line of its own: one hart's writes (fault_jmp, ipis_taken) never evict another's tp reads */
_Static_assert(__builtin_offsetof(struct hart, kernel_sp) == HART_KERNEL_SP, "trap_entry.S offsets");
_Static_assert(__builtin_offsetof(struct hart, user_sp) == HART_USER_SP, "trap_entry.S offsets");

/* Defined in kernel/smp.c; boot/entry.S points the boot hart's tp at harts[0] and its sp at the top of
 * boot_stacks[0]. A secondary hart loads sp and tp from hart_boot_args[index]. */
extern struct hart harts[MAX_HARTS];
extern u8 boot_stacks[MAX_HARTS][BOOT_STACK_SIZE];
struct hart_boot_arg {
	u64 sp;
	u64 tp;
};
extern struct hart_boot_arg hart_boot_args[MAX_HARTS];

static inline struct hart *this_kernel_hart(void) { return container_of(this_hart(), struct hart, local); }

/* The entry points boot/ calls, on the boot stack with tp set and the MMU on. kmain gets the firmware's
 * hartid and DTB address, and the physical address secondaries must start at (boot/ hands it over, so
 * the kernel never names a boot symbol). */
void kmain(u64 hartid, u64 dtb_pa, u64 secondary_entry_pa) __noreturn;
void secondary_main(u64 hartid, u64 index) __noreturn;
#endif

#endif
