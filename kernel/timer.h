/* The timebase: reading time, and the periodic tick each hart uses for preemption. */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include "lib/types.h"

void timer_setup(u64 timebase_hz, bool sstc);
void timer_init_hart(void);
u64 timer_hz(void);
u64 timer_ticks_to_ns(u64 ticks);
u64 timer_now_ns(void);
void timer_run_in_irq_once(void (*fn)(void));

#endif
