/* The control block the demo producer and consumer share to step through the demo together. */
#ifndef USER_DEMO_H
#define USER_DEMO_H

#include "lib/types.h"

#define DEMO_PAGE 4096UL
#define DEMO_MAX_PAGES 4
#define DEMO_TIMEOUT_NS (10 * 1000000000ULL)
#define DEMO_STEP_DONE 100

struct demo_ctl {
	u64 producer_step; /* 1: page 0 written, 2: grown to 3 pages, 3: shrunk to 1 page, DEMO_STEP_DONE */
	u64 consumer_ack;  /* the last step the consumer has finished looking at */
};

#endif
