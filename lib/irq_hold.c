/* The out-of-line steps of lazy interrupt hold-off (lib/irq_hold.h): delivering what a section held, and
 * waiting for a lock held inside one. */
#include "lib/irq_hold.h"

__attribute__((noinline, cold)) void irq_hold_deliver(struct hart_local *h)
{
	h->irq_held = false;
	irq_enable(); /* the held interrupt is still pending: it traps right here, as if the section had
		       * just restored interrupts it had saved off */
}

__attribute__((noinline, cold)) void spin_lock_held_wait(spinlock_t *l)
{
	do {
		irq_unhold();
		spin_wait_unlocked(l);
		irq_hold();
	} while (!spin_trylock(l));
}
