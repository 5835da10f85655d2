/* RISC-V CSR access, fences and the per-hart pointer kept in tp: the few instructions every layer needs. */
#ifndef LIB_RISCV_H
#define LIB_RISCV_H

#include "lib/types.h"

#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_SUM (1UL << 18)
#define SSTATUS_MXR (1UL << 19)
#define SIE_SSIE (1UL << 1)
#define SIE_STIE (1UL << 5)
#define SIE_SEIE (1UL << 9)
#define SATP_MODE_SV39 (8UL << 60)

/* scause values */
#define CAUSE_INTERRUPT (1UL << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_INST_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

#define csr_read(csr)                                                  \
	({                                                             \
		unsigned long __v;                                     \
		__asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory"); \
		__v;                                                   \
	})
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"rK"(val) : "memory")
#define csr_set(csr, val) __asm__ volatile("csrs " #csr ", %0" ::"rK"(val) : "memory")
#define csr_clear(csr, val) __asm__ volatile("csrc " #csr ", %0" ::"rK"(val) : "memory")

/* Past this many pages in a flushed span, one full flush is cheaper than per-page sfence.vma (the same
 * cut-over as Linux's tlb_flush_all_threshold on RISC-V). */
#define TLB_FLUSH_ALL_PAGES 64

static inline void local_flush_tlb_all(void) { __asm__ volatile("sfence.vma" ::: "memory"); }
static inline void local_flush_tlb_page(uptr va) { __asm__ volatile("sfence.vma %0" ::"r"(va) : "memory"); }
static inline void local_flush_tlb_asid(unsigned long asid)
{
	__asm__ volatile("sfence.vma zero, %0" ::"r"(asid) : "memory");
}
static inline void wfi(void) { __asm__ volatile("wfi"); }
/* Zihintpause pause (a fence hint, a nop without the extension): lets QEMU end the translation block. */
static inline void cpu_relax(void) { __asm__ volatile(".4byte 0x0100000f" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

static inline unsigned long irq_save(void)
{
	unsigned long s;
	__asm__ volatile("csrrc %0, sstatus, %1" : "=r"(s) : "rK"(SSTATUS_SIE) : "memory");
	return s & SSTATUS_SIE;
}
static inline void irq_restore(unsigned long flags) { if (flags) csr_set(sstatus, SSTATUS_SIE); }
static inline void irq_enable(void) { csr_set(sstatus, SSTATUS_SIE); }
static inline void irq_disable(void) { csr_clear(sstatus, SSTATUS_SIE); }
static inline bool irqs_enabled(void) { return csr_read(sstatus) & SSTATUS_SIE; }

static inline u64 rdtime(void)
{
	u64 t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

#endif
