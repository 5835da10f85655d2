/* Instruction marks: the points tools/hart_insns.c (a QEMU plugin `make bench` loads) watches for, to count
 * the instructions one hart executes inside a call of the kernel's, whatever the other vCPUs do meanwhile.
 *
 * A mark is a custom-use HINT of the RISC-V base ISA, `slti x0, x0, imm`: it writes x0, so it does nothing
 * on any hart, with or without the plugin, and costs one instruction. The immediate says what it marks:
 *   INSN_MARK_WINDOW_BEGIN              a measured window opens on this hart
 *   INSN_MARK_WINDOW_END + s * 4 + k    it closes: a sample of series s (0..3) and kind k (0..3)
 *   INSN_MARK_POLL_BEGIN / _END         a lock wait's polls, inside a window: the plugin counts them
 *                                       apart, since polling is waiting for another hart, not work
 * Only the test that measures opens windows; the poll marks sit on the contended path of a spinlock wait
 * (lib/spinlock.c), never on an uncontended acquisition. */
#ifndef LIB_INSN_MARK_H
#define LIB_INSN_MARK_H

#define INSN_MARK_WINDOW_BEGIN 0x700
#define INSN_MARK_POLL_BEGIN 0x701
#define INSN_MARK_POLL_END 0x702
#define INSN_MARK_WINDOW_END 0x710

/* The "memory" clobber keeps a mark in place among the loads and stores around it. */
#define INSN_MARK(imm) asm volatile("slti x0, x0, %0" ::"i"(imm) : "memory")

#endif
