/* The allocator's background work and its quiescing, at the top of vm/: the one place that knows every
 * deferred-work queue (the arena's, kvfree_rcu's), so that none of them calls another's. */
#ifndef VM_VM_IDLE_H
#define VM_VM_IDLE_H

/* The idle loop's allocator work: frees parked by vfree_atomic and kvfree_rcu batches whose grace period
 * ended are freed, a crossed lazy threshold is purged. Returns without waiting for work other harts have
 * in hand. No errors. Process context (the idle loop), outside any read-side section and lock. */
void vm_idle_work(void);

/* Brings the allocator to rest for a leak check: every kvfree_rcu object queued before the call (on any
 * hart) freed, deferred frees drained, idle vm_map_ram blocks retired, lazy ranges purged, so that free
 * pages and live areas can be compared with a baseline. Waits for other harts (grace periods, a purge in
 * flight). No errors. Process context, no lock held. */
void vm_quiesce(void);

#endif
