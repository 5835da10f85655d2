/* The one out-of-line step of lazy interrupt hold-off (lib/irq_hold.h): delivering what a section held. */
#include "lib/irq_hold.h"

__attribute__((noinline, cold)) void irq_hold_deliver(struct hart_local *h)
{
	h->irq_held = false;
	irq_enable(); /* the held interrupt is still pending: it traps right here, as if the section had
		       * just restored interrupts it had saved off */
}
