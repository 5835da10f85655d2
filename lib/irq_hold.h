/* Holding interrupts off without writing sstatus: a short critical section that no interrupt handler of
 * this hart may run inside, at the cost of a few plain loads and stores.
 *
 * Why: under QEMU every CSR write ends the translation block and goes back to the main loop, so the
 * irq_save/irq_restore pair around a lock costs ~60 ns of host time, more than the ~30 instructions it
 * guards. The busy map's stripe locks are taken twice in every vmalloc+vfree; with this in place of
 * the pair, a one-page vmalloc+vfree takes ~15% less wall-clock time (docs/design.md, "Locks and
 * interrupts").
 *
 * How: irq_hold() counts the section in this hart's record; nothing else changes until an interrupt
 * actually arrives. The trap handler (kernel/trap.c) sees the count, marks the interrupt held
 * (irq_held) and returns at once with the interrupted code's SIE cleared: the interrupt stays pending
 * (a timer's STIP until re-armed, SSIP and SEIP until handled), and the code goes on with interrupts
 * really off. The outermost irq_unhold() sees the mark and sets SIE again, and the interrupt is taken
 * there. So a section behaves as if it ran with interrupts off, and costs a CSR write only in the rare
 * case that an interrupt arrived inside it (Linux's lazy interrupt masking on powerpc, reduced to what
 * one lock needs).
 *
 * Rules: sections are short; they nest; they are entered in the kernel only and never left open across
 * a return to user mode or a task switch. A wait inside one (for a lock taken within it: the arena lock
 * in vm_area_set_owner, the buddy lock when a busy map grows) counts as a wait with interrupts off:
 * hart_wait_step (lib/tlb_shootdown.c) serves a TLB shootdown and takes a due tick by hand there, as it
 * did when sections wrote sstatus, since enabling interrupts would only have them held again.
 * Only the count is written by the section and only the mark by the trap handler, so neither's
 * read-modify-write can lose the other's store. Any context (in an interrupt handler SIE is already
 * clear and the count changes nothing). */
#ifndef LIB_IRQ_HOLD_H
#define LIB_IRQ_HOLD_H

#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"

static inline void irq_hold(void)
{
	struct hart_local *h = this_hart();
	h->irq_hold++;
	__asm__ volatile("" ::: "memory"); /* the section's accesses come after the count, in program order */
}

/* The outermost section ended with an interrupt held: takes it now (lib/irq_hold.c). */
__attribute__((cold)) void irq_hold_deliver(struct hart_local *h);

static inline void irq_unhold(void)
{
	__asm__ volatile("" ::: "memory");
	struct hart_local *h = this_hart();
	u16 n = h->irq_hold - 1;
	h->irq_hold = n;
	__asm__ volatile("" ::: "memory"); /* the count is stored before the mark is read */
	if (unlikely(h->irq_held) && !n) irq_hold_deliver(h);
}

/* For the trap handler: an interrupt from the kernel arrived inside a section; true if it must be held
 * (the caller then clears SPIE in the interrupted code's saved sstatus and returns). */
static inline bool irq_hold_takes(struct hart_local *h)
{
	if (likely(!h->irq_hold)) return false;
	h->irq_held = true;
	return true;
}

/* A spinlock held inside a section: its holder takes no interrupt and writes no CSR to ensure it (see
 * above for what that saves). spin_lock_held_wait (lib/irq_hold.c) is the contended half: it leaves
 * the section while it waits (interrupts as the caller had them, a held one taken first), so no hart
 * waits for the lock with interrupts off, and returns holding the lock inside the section again; the
 * task may then be on another hart, so a caller that picked the lock by this hart rechecks. Kernel
 * context, outside any other section (or the wait happens inside that one). */
__attribute__((cold)) void spin_lock_held_wait(spinlock_t *l);
static inline void spin_lock_held(spinlock_t *l)
{
	irq_hold();
	if (unlikely(!spin_trylock(l))) spin_lock_held_wait(l);
}
static inline void spin_unlock_held(spinlock_t *l)
{
	spin_unlock(l);
	irq_unhold();
}

#endif
