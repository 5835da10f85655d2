/* The machine's ends: panic and oops print what happened (registers, symbols, hart) and power off with a
 * failure status; kernel_poweroff is the orderly end, with a status. */
#include <stdarg.h>
#include "kernel/panic.h"
#include "lib/bootargs.h"
#include "lib/ksyms.h"
#include "lib/trace.h"
#include "kernel/trap_frame.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "platform/poweroff.h"
#include "vm/vmalloc.h"

static void (*dump_hook)(void);
static int panicking;

void panic_set_dump_hook(void (*hook)(void)) { dump_hook = hook; }

static __noreturn void die(int status)
{
	/* A second failure while dying must not recurse into the dump. */
	if (__atomic_fetch_add(&panicking, 1, __ATOMIC_RELAXED) == 0 && dump_hook) dump_hook();
	poweroff(status);
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	irq_disable();
	console_panic_mode = true; /* this hart may hold the console lock: printk must not wait for it */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("\nKERNEL PANIC on hart %u: %s\n", this_hart()->hartid, buf);
	die(2);
}

void oops(struct trap_frame *tf, const char *what)
{
	static const char *const rn[32] = {"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
					   "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
					   "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
	char ra[96];

	irq_disable();
	console_panic_mode = true;
	ksym_format(tf->regs[REG_RA], ra, sizeof(ra));
	printk("\nOops on hart %u: %s\n", this_hart()->hartid, what);
	printk("  scause=0x%lx stval=0x%lx sepc=0x%lx sstatus=0x%lx ra=%s\n", tf->scause, tf->stval, tf->sepc,
	       tf->sstatus, ra);
	for (int i = 1; i < 32; i += 4)
		printk("  %-4s %016lx %-4s %016lx %-4s %016lx %-4s %016lx\n", rn[i], tf->regs[i], rn[i + 1],
		       tf->regs[i + 1], rn[i + 2], tf->regs[i + 2], i + 3 < 32 ? rn[i + 3] : "", i + 3 < 32 ? tf->regs[i + 3] : 0);
	die(3);
}

/* __noinline: its return address is the function that found the break (lib/bug.h's bug() is inline). */
__noinline void kernel_bug(const char *what, const char *file, int line)
{
	char at[96];

	irq_disable();
	console_panic_mode = true;
	ksym_format((u64)(uptr)__builtin_return_address(0), at, sizeof(at));
	printk("\nOops on hart %u: invariant broken: %s\n  found in %s (%s:%d)\n", this_hart()->hartid, what, at,
	       file, line);
	die(3);
}

/* The orderly end: what was traced reaches the console, the area listing if asked, then the status. */
void kernel_poweroff(int status)
{
	trace_drain_all();
	bool listing;
	if (!bootarg_bool("vmallocinfo", &listing) && listing) vm_dump_areas(); /* vmallocinfo=0 asks for none */
	/* Closed, not just drained: another hart may still be tracing (its idle purge, a task being reaped)
	 * or be halfway through draining its own ring, and nothing it writes after the last line is seen. */
	trace_close_and_drain_all();
	poweroff(status);
}
