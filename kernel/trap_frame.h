/* The trap frame: how a trap saved the interrupted registers (kernel/trap_entry.S writes it,
 * kernel/trap_return.S reads it back), and the names of trap causes. At the bottom of kernel/ because
 * every file that looks at a trapped context (the oops, syscalls, faults, tasks) reads it. */
#ifndef KERNEL_TRAP_FRAME_H
#define KERNEL_TRAP_FRAME_H

/* Order matters: kernel/trap_entry.S saves registers at these offsets (regs[i] = x(i), regs[0] unused),
 * and it includes this file for TF_SIZE. */
#define TF_SIZE (36 * 8)

#define REG_RA 1
#define REG_SP 2
#define REG_TP 4
#define REG_A0 10
#define REG_A6 16 /* the user call site, for the trace (docs/abi.md) */
#define REG_A7 17

#ifndef __ASSEMBLER__
#include "lib/riscv.h" /* scause values */
#include "lib/types.h"

struct trap_frame {
	u64 regs[32];
	u64 sepc;
	u64 sstatus;
	u64 scause;
	u64 stval;
};
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "trap_entry.S frame size");

/* The name of exception cause scause (interrupt bit clear), "unknown exception" past the table. Any
 * context. */
const char *trap_cause_name(u64 scause);
#endif

#endif
