/* Suite `vfree_steps`: vfree_in_steps, the stepped free a task's big object goes through. Between two
 * calls of its callback a megabyte's pages are unmapped, freed and uncharged; it ends where vfree ends
 * (the range parked for the purge, every count back); huge areas and bad pointers never call back. */
#include "kernel/ktest.h"
#include "vm/vmalloc.h"

#define OWNER (VM_MAX_OWNERS - 1)
#define MAX_STEPS 16

struct seen {
	u32 calls;
	u64 live[MAX_STEPS];  /* the arena's live pages at each call */
	u64 owned[MAX_STEPS]; /* the owner's charge at each call */
};

static void note_step(void *ctx)
{
	struct seen *s = ctx;
	struct vm_stats st;
	vm_get_stats(&st);
	if (s->calls < MAX_STEPS) {
		s->live[s->calls] = st.live_pages;
		s->owned[s->calls] = vm_owner_pages(OWNER);
	}
	s->calls++;
}

/* 5 MiB and 3 pages, charged to an owner: five steps of 256 pages, the rest at the retire. Each call sees
 * 256 pages fewer live and charged than the one before; after the last, everything is back, the area
 * is gone from the listing and its range waits for the purge like any vfree's. */
static void frees_a_megabyte_a_step(struct ktest *t)
{
	const u64 pages = 5 * 256 + 3;
	KT_ASSERT(t, vm_owner_set_limit(OWNER, 16384) == 0);
	vm_purge();
	struct vm_stats a, b;
	vm_get_stats(&a);
	u8 *p = __vmalloc_owner(pages * PAGE_SIZE, PAGE_SIZE, VMF_ZERO, NUMA_NO_NODE, OWNER, NULL);
	KT_ASSERT(t, p);
	for (u64 i = 0; i < pages; i++) p[i * PAGE_SIZE] = (u8)i; /* every page written and backed */
	struct seen s = {0};
	vfree_in_steps(p, note_step, &s);
	KT_EXPECT(t, s.calls == 5);
	for (u32 i = 0; i < s.calls && i < MAX_STEPS; i++) {
		KT_EXPECT(t, s.live[i] == a.live_pages + pages - 256 * (i + 1));
		KT_EXPECT(t, s.owned[i] == pages - 256 * (i + 1));
	}
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages && b.live_areas == a.live_areas);
	KT_EXPECT(t, vm_owner_pages(OWNER) == 0);
	KT_EXPECT(t, b.lazy_areas == a.lazy_areas + 1 && b.lazy_pages >= a.lazy_pages + pages);
	KT_EXPECT(t, !find_vm_area(p));
	vm_purge();
}

/* An area of one megabyte or less is one step: no call. So is a huge one (its 2 MiB blocks go at once). */
static void small_and_huge_in_one_step(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	struct seen s = {0};
	void *p = vmalloc(1 << 20);
	KT_ASSERT(t, p);
	vfree_in_steps(p, note_step, &s);
	KT_EXPECT(t, s.calls == 0);
	void *h = __vmalloc_node(8 << 20, 1UL << 30, VMF_HUGE, NUMA_NO_NODE, NULL);
	KT_ASSERT(t, h);
	struct vmap_area *va = find_vm_area(h);
	KT_EXPECT(t, va && (va->flags & VM_HUGE));
	vfree_in_steps(h, note_step, &s);
	KT_EXPECT(t, s.calls == 0);
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages && b.live_areas == a.live_areas);
	vm_purge();
}

/* NULL does nothing; a pointer inside an area is reported as vfree's would be, and changes nothing. */
static void bad_pointers_change_nothing(struct ktest *t)
{
	struct seen s = {0};
	vfree_in_steps(NULL, note_step, &s);
	u8 *p = vmalloc(3 << 20);
	KT_ASSERT(t, p);
	struct vm_stats a, b;
	vm_get_stats(&a);
	vfree_in_steps(p + PAGE_SIZE, note_step, &s);
	vm_get_stats(&b);
	KT_EXPECT(t, s.calls == 0);
	KT_EXPECT(t, b.live_pages == a.live_pages && b.live_areas == a.live_areas);
	KT_EXPECT(t, find_vm_area(p) != NULL);
	vfree_in_steps(p, note_step, &s);
	KT_EXPECT(t, s.calls == 2);
	vm_purge();
}

KTEST_SUITE(vfree_steps, {"frees_a_megabyte_a_step", frees_a_megabyte_a_step},
	    {"small_and_huge_in_one_step", small_and_huge_in_one_step},
	    {"bad_pointers_change_nothing", bad_pointers_change_nothing});
