/* Defaults for hooks that later layers provide: the kernel links and boots without them. */
#include "kernel/trap.h"
#include "lib/printk.h"
#include "lib/percpu.h"

__attribute__((weak)) void ipi_interrupt(void) {}
__attribute__((weak)) void external_interrupt(void) {}
