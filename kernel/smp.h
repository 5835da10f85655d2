/* Harts: bring-up of the secondaries, and running a function on a chosen hart. */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "lib/types.h"

struct machine_desc;

/* Starts every usable hart of m at the physical address entry (boot/'s secondary entry, handed to kmain);
 * boot hart only, once, after paging and the timer are set up. */
void smp_boot_secondaries(const struct machine_desc *m, u64 entry);
bool smp_hart_online(u32 index); /* dense hart index `index` is online; any context */
void smp_send_ipi(u32 index);
/* The software-interrupt handler (trap context): acknowledges it, counts it in the hart's ipis_taken,
 * serves a pending TLB shootdown and notes an RCU quiescent state. Otherwise the IPI's work is waking the
 * hart: the wfi it interrupted returns and the idle loop then looks at its call box (smp_idle_poll); the
 * call itself may block, so it never runs here. */
void smp_ipi_interrupt(void);

/* Runs fn(arg) on hart `index` from its idle loop; smp_wait_all waits for every queued call to finish. */
int smp_call_on(u32 index, void (*fn)(void *), void *arg);
void smp_wait_all(void);
void smp_idle_poll(void); /* the idle loop's hook: runs a queued call if there is one */

/* A reusable barrier for `parties` harts: each waits in wfi until the last arrives, which wakes them. */
struct smp_barrier {
	u32 parties, arrived, generation;
};
void smp_barrier_init(struct smp_barrier *b, u32 parties);
void smp_barrier_wait(struct smp_barrier *b);

#endif
