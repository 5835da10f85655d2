/* The vm_invariants suite, in VM_DEBUG builds only (vm/vmalloc_check.h): without a bootarg it shows the
 * arena's whole walk runs and passes over areas of every kind; with `oops=NAME` it breaks one invariant
 * on purpose, in a controlled way, and the check must end the boot with an oops naming it (status 3: the
 * boots in tests/boots.txt with image=debug). The one breaking case never returns when the check works. */
#ifdef VM_DEBUG
#include "kernel/ktest.h"
#include "lib/bootargs.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_cache.h"
#include "vm/vmalloc_purge.h"
#include "vm/vmalloc_walk.h"

/* Areas of each kind the walk must account: small (cached path), large, zeroed, huge, vmap, a freed
 * one parked, a shrunk vrealloc. */
static void walk_passes(struct ktest *t)
{
	u64 walks0 = va_walk_count();
	void *small = vmalloc(4096), *big = vmalloc(300 * 4096), *z = vzalloc(5 * 4096);
	void *huge = vmalloc_huge(4UL << 20, 0), *gone = vmalloc(2 * 4096);
	struct page *pg[2] = {vmalloc_to_page(small), vmalloc_to_page(big)};
	void *m = vmap(pg, 2, 0, 0);
	KT_ASSERT(t, small && big && z && huge && gone && m);
	void *r = vrealloc(big, 10 * 4096, 0);
	KT_ASSERT(t, r);
	vfree(gone);
	vm_quiesce();
	KT_EXPECT(t, va_walk_count() > walks0);
	vunmap(m);
	vfree(small);
	vfree(r);
	vfree(z);
	vfree(huge);
	vm_quiesce();
	KT_EXPECT(t, va_walk_count() > walks0 + 1);
}

/* A live area of one page, and its record. */
static struct vmap_area *live_area(void)
{
	void *p = vmalloc(4096);
	return p ? find_vm_area(p) : NULL;
}

/* Each breaks one invariant; the check that must catch it comes right after (or at vm_quiesce). */
static void break_one(const char *name)
{
	struct vmap_area *a = live_area();
	printk("vm_invariants: breaking %s\n", name);
	if (!a) return;
	if (!strcmp(name, "one_home")) {
		va_lazy_park(a); /* parked while still in the busy map */
	} else if (!strcmp(name, "one_home_walk")) {
		unsigned long f = arena_lock(); /* its range handed to the free tree too */
		va_index_free(&arena.free, a->va_start, a->va_size);
		arena_unlock(f);
	} else if (!strcmp(name, "live_areas")) {
		arena_stat_add(ARENA_STAT_LIVE_AREAS, 1);
	} else if (!strcmp(name, "live_pages")) {
		arena_stat_add(ARENA_STAT_LIVE_PAGES, 1);
	} else if (!strcmp(name, "owner_pages")) {
		arena_stat_add(ARENA_STAT_KERNEL_PAGES, 1);
	} else if (!strcmp(name, "lazy_pages")) {
		__atomic_fetch_add(&arena.lazy_pages, 1, __ATOMIC_RELAXED);
	} else if (!strcmp(name, "area_records")) {
		(void)node_pool_get(&arena.area_pool); /* a record in use that no structure holds */
	} else if (!strcmp(name, "freed_ptes")) {
		a = va_area_take((void *)a->addr, "vm_invariants", NULL);
		if (a) va_lazy_park(a); /* parked with its leaf still mapped */
	} else if (!strcmp(name, "pt_tables")) {
		pt_kr_miscount_tables(1);
	} else if (!strcmp(name, "flushed_tables")) {
		/* An area of whole 2 MiB blocks gives its level-0 tables up at vfree; with the purge's fence
		 * lost, they would be freed while a stale walker may still hold them. */
		vfree((void *)a->addr);
		void *big = vmalloc(6UL << 20);
		if (!big) return;
		vfree(big);
		WRITE_ONCE(va_debug_skip_fence, true);
	} else if (!strcmp(name, "area_shape")) {
		a->size = a->va_size; /* the mapped bytes run over the guard page */
		vfree((void *)a->addr);
	} else {
		printk("vm_invariants: no invariant named %s\n", name);
		return;
	}
	vm_quiesce();
}

static void breaks_named(struct ktest *t)
{
	const char *name = bootarg_get("oops");
	if (!name || !*name) {
		ktest_skip(t, "needs oops=INVARIANT: the caught break powers the machine off");
		return;
	}
	break_one(name);
	ktest_fail(t, __FILE__, __LINE__, "the broken invariant was not caught");
}

KTEST_SUITE(vm_invariants, {"walk_passes", walk_passes}, {"breaks_named", breaks_named});
#endif
