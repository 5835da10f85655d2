/* The timebase: reading time, and the periodic tick each hart uses for preemption. */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include "lib/types.h"

/*
 * Boot hart, once, before timer_init_hart. sstc_listed says the device tree's riscv,isa names Sstc;
 * that alone is not trusted (OpenSBI 1.1 on spike lists it without enabling it for S-mode): Sstc is
 * used only if a first stimecmp write under a fault guard succeeds, else the SBI TIME call.
 */
void timer_setup(u64 timebase_hz, bool sstc_listed);
/* "Sstc", "SBI TIME (Sstc listed but stimecmp faults)", ...: the source chosen, for the boot report. */
const char *timer_source(void);
void timer_init_hart(void);
u64 timer_hz(void);
u64 timer_ticks_to_ns(u64 ticks);
u64 timer_now_ns(void);
/* The timebase tick `ns` nanoseconds from now, for a task's wake_at: at least one tick ahead, saturating at
 * ~0 ("never") where the sum would not fit. Any context. */
u64 timer_deadline_after_ns(u64 ns);
void timer_run_in_irq_once(void (*fn)(void));
/* The timer interrupt: runs a timer_run_in_irq_once function, counts the tick, arms the next one and
 * drains this hart's trace ring (the trap handler then calls sched_tick). Interrupt context. */
void timer_interrupt(void);

#endif
