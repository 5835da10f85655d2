/* The owners' accounts, public half (vm/vmalloc_owner.h): argument checks over the arena's account
 * operations (vm/vmalloc_arena.c), and the hand-over of a live area's charge to another owner. */
#include "vm/vmalloc_owner.h"
#include "vm/vmalloc_cache.h"

int vm_owner_set_limit(u32 owner, u64 pages)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL) return -EINVAL;
	arena_owner_set_limit(owner, pages);
	return 0;
}

int vm_owner_set_above(u32 owner, u32 above)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL || above >= VM_MAX_OWNERS || above == owner) return -EINVAL;
	arena_owner_set_above(owner, above);
	return 0;
}

int vm_owner_rehang(u32 owner, u32 above, const u32 *kids, u32 n, u64 *limits)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL || above >= VM_MAX_OWNERS) return -EINVAL;
	for (u32 i = 0; i < n; i++)
		if (kids[i] >= VM_MAX_OWNERS || kids[i] == VM_OWNER_KERNEL || kids[i] == above) return -EINVAL;
	arena_owner_rehang(owner, above, kids, n, limits);
	return 0;
}

int vm_owner_charge(u32 owner, s64 pages, bool force)
{
	if (owner >= VM_MAX_OWNERS || owner == VM_OWNER_KERNEL) return -EINVAL;
	return arena_owner_charge(owner, pages, force);
}

int vm_area_set_owner(const void *addr, u32 owner, bool force)
{
	if (owner >= VM_MAX_OWNERS) return -EINVAL;
	int r = -EINVAL;
	/* Stripe, then arena lock: nothing takes them the other way round. */
	struct busy_stripe *b = busy_stripe_of((u64)(uptr)addr);
	busy_lock(b);
	struct vmap_area *a = (struct vmap_area *)va_busy_find(&b->map, (u64)(uptr)addr);
	if (a && (a->flags & VM_ALLOC)) {
		r = arena_owner_move(a->owner, owner, a->nr_pages, force);
		if (!r) a->owner = owner;
	}
	busy_unlock(b);
	return r;
}

u64 vm_owner_pages(u32 owner)
{
	if (owner >= VM_MAX_OWNERS) return 0;
	u64 base = READ_ONCE(arena.owner_pages[owner]);
	return owner == VM_OWNER_KERNEL ? base + arena_stat_total(ARENA_STAT_KERNEL_PAGES) : base;
}
