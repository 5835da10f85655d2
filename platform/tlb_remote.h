/* Remote TLB fences: one interface, two mechanisms. SBI RFENCE asks the firmware to fence the other
 * harts (the caller waits inside OpenSBI until each has); the IPI shootdown (lib/tlb_shootdown.c)
 * interrupts them and waits in wfi for their acknowledgements. Chosen at boot by tlb.remote=. */
#ifndef PLATFORM_TLB_REMOTE_H
#define PLATFORM_TLB_REMOTE_H

#include "lib/hartset.h"
#include "lib/types.h"

enum tlb_remote_mech { TLB_REMOTE_SBI, TLB_REMOTE_IPI, TLB_REMOTE_MECHS };

/* Chooses the mechanism from the tlb.remote= value: "sbi", "ipi", or "auto"/NULL, which is Linux's rule
 * (arch/riscv/mm/tlbflush.c): the IPI shootdown when IPIs are S-mode ones (smode_ipis: platform/ipi.c
 * found ACLINT SSWI or IMSIC), SBI RFENCE when every IPI traps into the firmware anyway, so the firmware
 * may as well do the fence. "sbi" without the RFENCE extension falls back to IPIs. *why is a static
 * sentence for the boot report. Boot hart, once, before any fence. */
void tlb_remote_setup(const char *arg, bool smode_ipis, const char **why);

enum tlb_remote_mech tlb_remote_mech(void);
/* Switches the mechanism every later fence uses and returns the previous one: for tests that run the
 * purge by each. Safe while fences are in flight (each reads the mechanism once). Any context. */
enum tlb_remote_mech tlb_remote_set_mech(enum tlb_remote_mech m);
const char *tlb_remote_mech_name(enum tlb_remote_mech m); /* "sbi", "ipi": the trace's words */

/*
 * Fences the TLBs of the online harts in `targets` (dense indices; NULL: every online hart; this hart
 * is always left out) for the kernel range [start, start + size), size 0 meaning the whole address
 * space, by the chosen mechanism, and returns once every target has done it: the number of harts
 * fenced, 0 when none was online. One remote fence call per use (SBI: one ecall per 64-hartid chunk of the targets; IPI: one
 * shootdown round). Any context that may wait (not an interrupt handler). Best with interrupts on and
 * no spinlock held (the purge calls it so): the SBI caller waits in M-mode (OpenSBI's tlb_sync) where it
 * serves nothing of S-mode, and a lock held through the fence keeps its waiters asleep that long. Holding
 * one cannot deadlock, though: SBI RFENCE reaches its targets by M-mode IPIs whatever they are doing,
 * and the IPI shootdown's targets serve it from their lock-wait loops (user shootdowns from kernel/shm.c
 * come with the object's lock and the mapper's shm_lock held).
 */
u32 tlb_remote_flush(const struct hartset *targets, u64 start, u64 size);

/* The same for one user address space: only translations tagged with `asid` need go (SBI FID 2, the
 * ASID form; the IPI shootdown flushes the targets' whole TLBs). Same contexts. */
u32 tlb_remote_flush_asid(const struct hartset *targets, u64 start, u64 size, u16 asid);

/* tlb_remote_flush by a given mechanism, whatever was chosen: for tests that check each. asid < 0: the
 * kernel form. */
u32 tlb_remote_flush_by(enum tlb_remote_mech m, const struct hartset *targets, u64 start, u64 size, int asid);

/* Remote fence calls made so far by mechanism m (one per tlb_remote_flush* that had a target), and SBI
 * ecalls (several per call only when the targets' hartids span more than 64). Any context. */
u64 tlb_remote_calls(enum tlb_remote_mech m);
u64 tlb_remote_sbi_ecalls(void);

#endif
