/* What the purge suites share: a batch of 100 single-page areas parked by vfree (below any lazy
 * threshold, so nothing purges them early) and then purged by one purge: vm_purge_parked, the purge half
 * of vm_purge without its table reclaim (which flushes on its own). */
#ifndef TESTS_KERNEL_PURGE_BATCH_H
#define TESTS_KERNEL_PURGE_BATCH_H

#include "kernel/ktest.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_purge.h"

/* Allocates and frees the 100 areas, then purges; *before and *after are the arena's counters around
 * that one purge. Process context, no purge of the caller's own in flight. */
static inline void park_100_then_purge(struct ktest *t, struct vm_stats *before, struct vm_stats *after)
{
	static void *p[100];
	for (int i = 0; i < 100; i++) p[i] = vmalloc(PAGE_SIZE);
	for (int i = 0; i < 100; i++) {
		KT_EXPECT(t, p[i] != NULL);
		vfree(p[i]);
	}
	vm_get_stats(before);
	vm_purge_parked();
	vm_get_stats(after);
}

#endif
