/* Trap dispatch: interrupts, system calls, user faults (the task dies, the kernel goes on) and kernel
 * faults (explained, attributed to a vmalloc area when they hit one, then the machine powers off). */
#include "kernel/trap.h"
#include "kernel/kfault.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/task.h"
#include "kernel/timer.h"
#include "kernel/uaccess.h"
#include "platform/ipi.h"
#include "lib/bug.h"
#include "lib/irq_hold.h"
#include "lib/ksyms.h"
#include "kernel/panic.h"
#include "kernel/hart.h"
#include "kernel/smp.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/vmalloc.h"

static bool is_page_fault(u64 cause)
{
	return cause == EXC_INST_PAGE || cause == EXC_LOAD_PAGE || cause == EXC_STORE_PAGE;
}

static void describe_fault(struct trap_frame *tf, char *buf, size_t size)
{
	char sym[96];
	ksym_format(tf->sepc, sym, sizeof(sym));
	int n = snprintf(buf, size, "%s at %s, address 0x%lx", trap_cause_name(tf->scause), sym, tf->stval);
	if (n < (int)size && is_vmalloc_addr((void *)tf->stval))
		vm_fault_describe(tf->stval, buf + n, size - (size_t)n);
}

static void kernel_fault(struct trap_frame *tf)
{
	struct hart *h = this_kernel_hart();

	if (is_page_fault(tf->scause) && is_vmalloc_addr((void *)tf->stval) && vm_fault_spurious(tf->stval, tf->scause))
		return;
	if (is_page_fault(tf->scause) && uaccess_fixup(&tf->sepc, tf->stval)) return;
	if (h->fault_jmp) {
		u64 *jb = h->fault_jmp;
		struct kfault_report *r = h->fault_report;
		h->fault_jmp = NULL;
		if (r) {
			r->scause = tf->scause;
			r->stval = tf->stval;
			r->sepc = tf->sepc;
			describe_fault(tf, r->text, sizeof(r->text));
		}
		/* Interrupts were on in the interrupted code if SPIE says so; the longjmp lands there. */
		if (tf->sstatus & SSTATUS_SPIE) irq_enable();
		kfault_longjmp(jb, (long)(tf->scause ? tf->scause : 1));
	}
	char what[256];
	describe_fault(tf, what, sizeof(what));
	oops(tf, what);
}

/* Interrupts, faults, and anything else but a system call. */
static __noinline void trap_other(struct trap_frame *tf)
{
	struct hart_local *h = this_hart();
	u64 cause = tf->scause;

	if (cause & CAUSE_INTERRUPT) {
		bool user = !(tf->sstatus & SSTATUS_SPP);
		/* Inside a section that holds interrupts off (lib/irq_hold.h): leave the interrupt pending and
		 * return with the section's interrupts off; its end takes it. */
		if (!user && irq_hold_takes(h)) {
			tf->sstatus &= ~SSTATUS_SPIE;
			return;
		}
#ifdef VM_DEBUG
		BUG_UNLESS(!h->irq_hold || !user, "irq_hold: no section open in user mode (lib/irq_hold.h)");
#endif
		h->irq_depth++;
		switch (cause & ~CAUSE_INTERRUPT) {
		case IRQ_S_TIMER:
			timer_interrupt();
			sched_tick(); /* after the timer: a task that has run a whole tick gives way */
			break;
		case IRQ_S_SOFT: smp_ipi_interrupt(); break;
		case IRQ_S_EXT:
			/* SEIE is enabled only for the IMSIC that carries IPIs (platform/ipi.c), which enables no
			 * other identity: anything else arriving is a bug. */
			if (ipi_provider() != IPI_IMSIC)
				panic("hart %u: external interrupt, but no interrupt controller is driven", h->hartid);
			if (ipi_claim()) smp_ipi_interrupt();
			break;
		default: printk("hart %u: unexpected interrupt %lu\n", h->hartid, cause & ~CAUSE_INTERRUPT);
		}
		h->irq_depth--;
		if (user) task_user_return_work();
		return;
	}
	bool from_user = !(tf->sstatus & SSTATUS_SPP);
	if (!from_user) {
		kernel_fault(tf);
		return;
	}
	if (!task_handle_fault(tf)) kernel_fault(tf);
	task_user_return_work();
	irq_disable();
}

void trap_handler(struct trap_frame *tf)
{
	/* A system call first and apart: it is the trap user programs make most, and this path keeps no
	 * callee-saved register of its own. ECALL_U comes only from user mode. */
	if (tf->scause == EXC_ECALL_U) {
		tf->sepc += 4;
		irq_enable();
		syscall_dispatch(tf);
		task_user_return_work();
		irq_disable();
		return;
	}
	trap_other(tf);
}
