/* The generic per-hart record reached through tp: which hart this is, whom to attribute work to, and
 * whether it is in an interrupt. It knows nothing of the kernel: kernel/hart.h embeds it as the first
 * member of the kernel's own per-hart state, so tp points at both. */
#ifndef LIB_PERCPU_H
#define LIB_PERCPU_H

#include "lib/hartset.h"
#include "lib/types.h"

struct trace_syscall;

struct hart_local {
	u32 hartid;      /* the hart id firmware knows it by */
	u32 index;       /* dense index 0..nr_harts-1, for arrays */
	u32 tid;         /* the task running here, for trace attribution (0 = the kernel) */
	int irq_depth;   /* > 0 while handling an interrupt */
	u64 ticks;       /* timer interrupts taken */
	bool online;
	/* Sleeping in wfi (the idle loop or a cross-hart wait). RCU counts such a hart as quiescent unless it
	 * sleeps inside a read-side section, so a grace period never has to wake it (Linux's idle EQS). */
	bool asleep;
	/* Interrupts held off lazily (lib/irq_hold.h): irq_hold counts the sections this hart is in, and
	 * irq_held is set by the trap handler when it put an interrupt off until the outermost one ends. */
	bool irq_held;
	u16 irq_hold;
	/* That task's system call in progress, for trace attribution (lib/trace.h); NULL for the kernel.
	 * The scheduler points it at the running task's record as it sets tid, so it follows a task that
	 * blocks inside a call and resumes on another hart. */
	const struct trace_syscall *sys;
};

/* Every hart's record by dense index: filled in by whoever starts the hart (kernel/smp.c) before it
 * runs, NULL for an index never used. */
extern struct hart_local *hart_locals[MAX_HARTS];
extern u32 nr_harts_online;
/* Per-hart state is only ever written by harts with an index below this (indices are dense, harts come
 * online in order and never go), so sums over it stop here instead of at MAX_HARTS: at 128 slots on a
 * one-hart machine, a sum of the arena's per-hart counters cost ~400 instructions. Any context. */
static inline u32 hart_slots_used(void) { return __atomic_load_n(&nr_harts_online, __ATOMIC_ACQUIRE); }
/* Index i is online (it only ever grows: harts are never taken offline). Read it with hartset_load or
 * harts_online_others; the hart that brings index i up sets its bit. */
extern struct hartset harts_online;

/* Wakes hart `index` from wfi (an IPI). Installed by the hart layer when secondaries start, NULL before:
 * lib and vm wait with wfi and need someone to wake them without calling up into kernel/. */
extern void (*hart_kick)(u32 index);

/* Claims an IPI that arrives as something other than SSIP (an IMSIC identity, as an external
 * interrupt) and says whether there was one; NULL when every IPI raises SSIP. Installed by the hart
 * layer, used by wait loops that run with interrupts masked (hart_wait_step). */
extern bool (*hart_ipi_claim)(void);

/* Takes a due timer tick by hand (counts it and arms the next), so that a wait with interrupts masked
 * sleeps in wfi until the next tick instead of waking at once on a pending STIP: installed by the
 * timer, NULL before. */
extern void (*hart_tick_by_hand)(void);

/* Sends hart_kick to every hart in `set` but this one: how a hart wakes those that marked themselves as
 * sleeping on what it just changed. No-op before secondaries start. Any context. */
void harts_kick(const struct hartset *set);
/* harts_kick of every online hart. */
void harts_kick_others(void);

/* The online harts but this one, into *out (an acquire load of the online set). Any context. */
void harts_online_others(struct hartset *out);

/* SBI names harts by (mask, base) pairs, a mask covering ids base..base+63: a set of dense indices whose
 * hart ids lie far apart, or more than 64 harts, needs several. Fills masks[] and bases[] (room for
 * MAX_HARTS) and returns how many pairs; bit b of masks[k] is hart id bases[k] + b, bases are multiples
 * of 64. Every index in `set` must have a hart_locals record. Any context. */
u32 harts_sbi_chunks(const struct hartset *set, unsigned long *masks, unsigned long *bases);

/* The first SBI (mask, base) pair of every online hart but this one; 0 when alone. Enough while hart ids
 * span less than 64; otherwise (more than 64 harts, or ids far apart) use harts_sbi_chunks. */
unsigned long harts_other_sbi_mask(unsigned long *base);

#ifndef HOST_TEST
#include "lib/riscv.h"
/* wfi with the hart marked asleep: the fences order every access before the sleep ahead of the mark,
 * and the clearing of the mark ahead of every access after it (see vm/kvfree_rcu.c's gp_done). */
static inline void hart_sleep_wfi(struct hart_local *h)
{
	WRITE_ONCE(h->asleep, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wfi();
	WRITE_ONCE(h->asleep, false);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif

#ifdef HOST_TEST
extern u32 host_this_hart; /* the host tests say which hart they pretend to run on */
static inline struct hart_local *this_hart(void) { return hart_locals[host_this_hart]; }
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
