/* The allocator's background work (vm/vm_idle.h): the arena's deferred frees and purges, and kvfree_rcu's
 * batches, each asked in turn. Above both so that the arena never calls kvfree_rcu, which calls vfree. */
#include "vm/vm_idle.h"
#include "vm/kvfree_rcu.h"
#include "vm/vmalloc.h"

void vm_idle_work(void)
{
	vm_arena_idle_work();
	kvfree_rcu_idle_work();
}

void vm_quiesce(void)
{
	kvfree_rcu_barrier(); /* first: the objects it frees go through the arena's deferred paths below */
	vm_map_ram_quiesce(); /* its idle blocks go to the purge that vm_arena_quiesce runs */
	vm_arena_quiesce();
}
