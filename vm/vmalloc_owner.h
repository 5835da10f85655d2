/* The owners' accounts, public half (vm/vmalloc_owner.c): a task's page quota and the charges against it,
 * over the arena's accounts (vm/vmalloc_arena.c), which hang in a tree as memory cgroups do. The kernel's
 * own owner (VM_OWNER_KERNEL) has no limit and is not set here. vm/vmalloc.h includes this header. */
#ifndef VM_VMALLOC_OWNER_H
#define VM_VMALLOC_OWNER_H

#include "lib/types.h"
#include "vm/vmalloc_types.h"

/* Sets the pages `owner` (1 .. VM_MAX_OWNERS - 1) may hold; -EINVAL for the kernel's owner or one out of
 * range. Pages already held above a lower limit stay. Any context but interrupts. */
int vm_owner_set_limit(u32 owner, u64 pages);
/* Hangs owner's account under `above`'s (0: under none), moving what it holds: from then on every page
 * charged to owner is also charged to above and to every account above that, each within its own limit
 * (a task's quota bounds its whole subtree). -EINVAL for the kernel's owner, one out of range, or
 * owner itself. The caller keeps the accounts a tree (a task's parent's is above it). Any context but
 * interrupts. */
int vm_owner_set_above(u32 owner, u32 above);
/* `owner` goes away: its live children's accounts kids[0..n) move under `above` (0: none), and the room
 * owner had left is split among them (limits[i]: kids[i]'s new limit), so that owner's limit still bounds
 * them together. */
int vm_owner_rehang(u32 owner, u32 above, const u32 *kids, u32 n, u64 *limits);
/* The pages charged to `owner` now, those of the accounts below it included (0 for one out of range).
 * Any context. */
u64 vm_owner_pages(u32 owner);
/* Charges (pages > 0: within the owner's limit, else -ENOMEM and nothing charged, unless `force`) or
 * credits (pages < 0) memory held for an owner outside any area, such as the page tables of its user
 * mappings. Any context but interrupts. */
int vm_owner_charge(u32 owner, s64 pages, bool force);
/* Moves the live VM_ALLOC area at addr, with its pages' charge, to `owner`: within the new owner's limit
 * (else -ENOMEM, nothing changed) unless `force`. -EINVAL for no such area. */
int vm_area_set_owner(const void *addr, u32 owner, bool force);

#endif
