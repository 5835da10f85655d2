/* The control block the demo producer and consumer share to step through the demo together. */
#ifndef USER_DEMO_H
#define USER_DEMO_H

#include "user/vmk.h"

#define DEMO_PAGE 4096UL
#define DEMO_MAX_PAGES 4
#define DEMO_TIMEOUT_NS (10 * 1000000000ULL)
#define DEMO_STEPS 4

/* Steps: 1 page 0 written, 2 grown to 3 pages, 3 shrunk to 1 page, 4 a sealed mailbox handed over.
 * The two sides take turns through two semaphores (user/sync.c): each sleeps in the kernel until the
 * other posts, none polls. */
struct demo_ctl {
	struct vmk_sem step; /* posted by the producer when a step is ready */
	struct vmk_sem ack;  /* posted by the consumer when it has looked */
	u64 producer_step;   /* which step is ready */
	u64 mailbox;         /* step 4: the consumer's handle to the sealed mailbox */
};

#endif
