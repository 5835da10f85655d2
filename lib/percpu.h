/* The generic per-hart record reached through tp: which hart this is, whom to attribute work to, and
 * whether it is in an interrupt. It knows nothing of the kernel: kernel/hart.h embeds it as the first
 * member of the kernel's own per-hart state, so tp points at both. */
#ifndef LIB_PERCPU_H
#define LIB_PERCPU_H

#include "lib/types.h"

#define MAX_HARTS 8

struct hart_local {
	u32 hartid;      /* the hart id firmware knows it by */
	u32 index;       /* dense index 0..nr_harts-1, for arrays */
	u32 tid;         /* the task running here, for trace attribution (0 = the kernel) */
	int irq_depth;   /* > 0 while handling an interrupt */
	u64 ticks;       /* timer interrupts taken */
	bool online;
};

/* Every hart's record by dense index: filled in by whoever starts the hart (kernel/smp.c) before it
 * runs, NULL for an index never used. */
extern struct hart_local *hart_locals[MAX_HARTS];
extern u32 nr_harts_online;
extern u32 harts_online_mask; /* bit i = dense hart index i online */

/* SBI hart mask (relative to *base) of the harts whose dense index is set in index_mask, this hart
 * left out; 0 when none. Any context. */
unsigned long harts_sbi_mask(u32 index_mask, unsigned long *base);
/* The same for every online hart but this one. */
unsigned long harts_other_sbi_mask(unsigned long *base);

#ifdef HOST_TEST
extern struct hart_local host_hart;
static inline struct hart_local *this_hart(void) { return &host_hart; }
#else
static inline struct hart_local *this_hart(void)
{
	struct hart_local *h;
	__asm__ volatile("mv %0, tp" : "=r"(h));
	return h;
}
#endif

static inline u32 this_hart_index(void) { return this_hart()->index; }
static inline bool in_interrupt(void) { return this_hart()->irq_depth > 0; }

#endif
