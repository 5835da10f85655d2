/* kvfree_rcu: free a vmalloc'ed object once every reader that might still see it is done, i.e. after a
 * grace period in which every online hart has passed a quiescent state (lib/rcu.h: readers mark themselves
 * with rcu_read_lock / rcu_read_unlock, no sleeping inside). */
#ifndef VM_KVFREE_RCU_H
#define VM_KVFREE_RCU_H

#include "lib/rcu.h"
#include "lib/types.h"

struct rcu_head {
	struct rcu_head *next;
	void *object; /* the vmalloc address the head belongs to */
};

/* Linux's kvfree_rcu_mightsleep(ptr): may wait for a grace period when its batch is full. Process context. */
void kvfree_rcu_ptr(void *ptr);
/* Linux's kvfree_rcu(ptr, field): never waits; the object's own head links it. Process context. */
void kvfree_rcu_head(void *ptr, struct rcu_head *head);
#define kvfree_rcu(ptr, field) kvfree_rcu_head((ptr), &(ptr)->field)

/* Every object passed to kvfree_rcu before the call, on any hart, is freed when it returns (Linux's
 * kvfree_rcu_barrier). Process context. */
void kvfree_rcu_barrier(void);

/* The idle loop's share: frees this hart's batches whose grace period has ended. */
void kvfree_rcu_idle_work(void);

#endif
