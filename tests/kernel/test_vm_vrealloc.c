/* Suite `vrealloc`: Linux's current vrealloc semantics case by case (NULL, 0, shrink in place freeing the
 * tail, grow back over freed pages, grow by moving, zeroed bytes revealed, huge areas, bad pointers). */
#include "kernel/ktest.h"
#include "lib/string.h"
#include "vm/vmalloc.h"

static u64 live_pages(void)
{
	struct vm_stats st;
	vm_get_stats(&st);
	return st.live_pages;
}

static bool pattern_ok(const u8 *p, u64 n, u8 seed)
{
	for (u64 i = 0; i < n; i++)
		if (p[i] != (u8)(seed + i * 7)) return false;
	return true;
}

static void fill(u8 *p, u64 n, u8 seed)
{
	for (u64 i = 0; i < n; i++) p[i] = (u8)(seed + i * 7);
}

static void null_allocates_zero_frees(struct ktest *t)
{
	u64 areas = vm_live_areas();
	u8 *p = vrealloc(NULL, 100, VMF_ZERO);
	KT_ASSERT(t, p);
	KT_EXPECT(t, p[99] == 0 && find_vm_area(p)->requested == 100);
	KT_EXPECT(t, vrealloc(p, 0, 0) == NULL);
	KT_EXPECT(t, vm_live_areas() == areas && find_vm_area(p) == NULL);
}

static void shrink_keeps_pointer_frees_tail(struct ktest *t)
{
	u8 *p = vmalloc(8 * PAGE_SIZE);
	KT_ASSERT(t, p);
	fill(p, 8 * PAGE_SIZE, 3);
	u64 before = live_pages();
	u8 *q = vrealloc(p, 2 * PAGE_SIZE + 10, 0);
	KT_EXPECT(t, q == p);
	KT_EXPECT(t, pattern_ok(p, 2 * PAGE_SIZE + 10, 3));
	KT_EXPECT(t, find_vm_area(p)->nr_pages == 3 && find_vm_area(p)->requested == 2 * PAGE_SIZE + 10);
	KT_EXPECT(t, vmalloc_to_page(p + 3 * PAGE_SIZE) == NULL && vmalloc_to_page(p + 2 * PAGE_SIZE) != NULL);
	KT_EXPECT(t, live_pages() == before - 5);
	q = vrealloc(p, 1, 0); /* keeps at least one page */
	KT_EXPECT(t, q == p && find_vm_area(p)->nr_pages == 1 && p[0] == 3);
	vfree(p);
}

static void grow_back_maps_fresh_zeroed_pages(struct ktest *t)
{
	u8 *p = vzalloc(6 * PAGE_SIZE);
	KT_ASSERT(t, p);
	memset(p, 0x5a, 6 * PAGE_SIZE);
	KT_EXPECT(t, vrealloc(p, 100, 0) == p);
	u64 before = live_pages();
	u8 *q = vrealloc(p, 5 * PAGE_SIZE, 0);
	KT_EXPECT(t, q == p); /* the range is still reserved: backed again in place */
	KT_EXPECT(t, find_vm_area(p)->nr_pages == 5 && live_pages() == before + 4);
	bool ok = true;
	for (u64 i = 0; i < 100; i++) ok &= p[i] == 0x5a;
	for (u64 i = 100; i < 5 * PAGE_SIZE; i++) ok &= p[i] == 0; /* revealed bytes of a zeroed area */
	KT_EXPECT(t, ok);
	vfree(p);
}

static void grow_in_page_reveals_zero(struct ktest *t)
{
	u8 *p = vzalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	memset(p, 0x77, PAGE_SIZE);
	KT_EXPECT(t, vrealloc(p, 100, 0) == p);
	KT_EXPECT(t, vrealloc(p, PAGE_SIZE, 0) == p);
	bool ok = p[99] == 0x77;
	for (u64 i = 100; i < PAGE_SIZE; i++) ok &= p[i] == 0;
	KT_EXPECT(t, ok);
	vfree(p);
}

static void grow_beyond_moves_and_copies(struct ktest *t)
{
	u64 areas = vm_live_areas();
	u8 *p = vmalloc(2 * PAGE_SIZE - 5);
	KT_ASSERT(t, p);
	fill(p, 2 * PAGE_SIZE - 5, 9);
	u8 *q = vrealloc(p, 10 * PAGE_SIZE, VMF_ZERO);
	KT_ASSERT(t, q);
	KT_EXPECT(t, q != p && find_vm_area(p) == NULL);
	KT_EXPECT(t, pattern_ok(q, 2 * PAGE_SIZE - 5, 9));
	bool zero = true;
	for (u64 i = 2 * PAGE_SIZE - 5; i < 10 * PAGE_SIZE; i++) zero &= q[i] == 0;
	KT_EXPECT(t, zero);
	KT_EXPECT(t, vm_live_areas() == areas + 1);
	vfree(q);
}

static void huge_shrink_changes_metadata_only(struct ktest *t)
{
	u8 *p = vmalloc_huge(4 << 20, 0);
	KT_ASSERT(t, p);
	struct vm_area *a = find_vm_area(p);
	u32 pages = a->nr_pages;
	p[(1 << 20) - 1] = 4;
	KT_EXPECT(t, vrealloc(p, 1 << 20, 0) == p);
	KT_EXPECT(t, a->requested == 1 << 20 && p[(1 << 20) - 1] == 4);
	if (a->flags & VM_HUGE) KT_EXPECT(t, a->nr_pages == pages);
	else KT_EXPECT(t, a->nr_pages == 256);
	vfree(p);
}

static void bad_pointer_changes_nothing(struct ktest *t)
{
	u8 *p = vmalloc(2 * PAGE_SIZE);
	KT_ASSERT(t, p);
	p[0] = 1;
	KT_EXPECT(t, vrealloc(p + PAGE_SIZE, 100, 0) == NULL);
	KT_EXPECT(t, vrealloc(p + 1, 0, 0) == NULL);
	KT_EXPECT(t, find_vm_area(p) && find_vm_area(p)->requested == 2 * PAGE_SIZE && p[0] == 1);
	KT_EXPECT(t, vrealloc(p, ~(size_t)0, 0) == NULL && find_vm_area(p) != NULL);
	vfree(p);
	KT_EXPECT(t, vrealloc(p, 100, 0) == NULL); /* freed */
}

KTEST_SUITE(vrealloc, {"null_allocates_zero_frees", null_allocates_zero_frees},
	    {"shrink_keeps_pointer_frees_tail", shrink_keeps_pointer_frees_tail},
	    {"grow_back_maps_fresh_zeroed_pages", grow_back_maps_fresh_zeroed_pages},
	    {"grow_in_page_reveals_zero", grow_in_page_reveals_zero},
	    {"grow_beyond_moves_and_copies", grow_beyond_moves_and_copies},
	    {"huge_shrink_changes_metadata_only", huge_shrink_changes_metadata_only},
	    {"bad_pointer_changes_nothing", bad_pointer_changes_nothing});
