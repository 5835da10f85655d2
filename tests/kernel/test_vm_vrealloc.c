/* Suite `vrealloc`: Linux's current vrealloc semantics case by case (NULL, 0, shrink in place freeing the
 * tail, grow back over freed pages, grow by moving, zeroed bytes revealed, huge areas giving back whole
 * 2 MiB blocks, bad pointers), and the user areas' deferred tail fence (a shrink fences no other hart;
 * regrowing the range first does). */
#include "kernel/ktest.h"
#include "kernel/kfault.h"
#include "kernel/smp.h"
#include "kernel/trap.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/buddy.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"

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

/* VMF_ZERO asked at vrealloc of an area allocated without it: the revealed bytes read zero on every grow
 * path (within the backed page, over the range's freed pages, by a move), though the slack held the
 * redzone byte. */
static void grow_zeroes_when_asked(struct ktest *t)
{
	u8 *p = vmalloc(3 * PAGE_SIZE);
	KT_ASSERT(t, p);
	memset(p, 0x3c, 100);
	KT_EXPECT(t, vrealloc(p, 100, 0) == p); /* two pages freed, the slack the redzone byte */
	KT_EXPECT(t, vrealloc(p, 3000, VMF_ZERO) == p); /* within the backed page */
	bool zero = p[99] == 0x3c;
	for (u64 i = 100; i < 3000; i++) zero &= p[i] == 0;
	KT_EXPECT(t, zero);
	KT_EXPECT(t, vrealloc(p, 3 * PAGE_SIZE - 1, VMF_ZERO) == p); /* over the freed pages, in place */
	zero = p[99] == 0x3c;
	for (u64 i = 100; i < 3 * PAGE_SIZE - 1; i++) zero &= p[i] == 0;
	KT_EXPECT(t, zero);
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

/* Free physical pages, those the page cache holds included (as the suite's leak check counts them). */
static u64 free_pages(void) { return buddy_free_pages() + vm_cached_pages(); }

static void peek(void *p) { (void)*(volatile u8 *)p; }

static bool contains(const char *s, const char *what)
{
	size_t n = strlen(what);
	for (; *s; s++)
		if (!strncmp(s, what, n)) return true;
	return false;
}

/* issue 17 item 7: a huge area's shrink gives back every whole 2 MiB block past the new end (only the
 * block the end falls in is kept), to the page allocator and from its owner's charge; the freed blocks
 * fault as the area's unbacked tail; a grow maps fresh blocks there in place. Linux frees nothing here. */
static void huge_shrink_frees_whole_blocks(struct ktest *t)
{
	const u32 owner = VM_MAX_OWNERS - 1;
	const u64 blk = PMD_SIZE >> PAGE_SHIFT; /* 512 */
	KT_ASSERT(t, vm_owner_set_limit(owner, 16384) == 0);
	vm_quiesce(); /* nothing freed in the background from here on: the free count moves only by us */
	u64 areas = vm_live_areas(), pages = live_pages(), free0 = free_pages();
	/* 1 GiB alignment finds 2 MiB slots no earlier area has touched, so the area really is huge. */
	u8 *p = __vmalloc_owner(8 << 20, 1UL << 30, VMF_HUGE, NUMA_NO_NODE, owner, NULL);
	KT_ASSERT(t, p);
	struct vmap_area *a = find_vm_area(p);
	KT_ASSERT(t, a->flags & VM_HUGE);
	KT_EXPECT(t, a->nr_pages == 4 * blk && vm_owner_pages(owner) == 4 * blk);
	fill(p, 8 << 20, 13);
	u64 free1 = free_pages(), live1 = live_pages(), span = a->va_size, size = a->size;

	u64 cut = (3 << 20) + 100; /* ends in the second block: two kept, two freed */
	KT_EXPECT(t, vrealloc(p, cut, 0) == p);
	KT_EXPECT(t, a->nr_pages == 2 * blk && vm_area_backed_pages(p) == 2 * blk);
	KT_EXPECT(t, free_pages() == free1 + 2 * blk);
	KT_EXPECT(t, live_pages() == live1 - 2 * blk && vm_owner_pages(owner) == 2 * blk);
	KT_EXPECT(t, a->va_size == span && a->size == size); /* the range stays the area's */
	KT_EXPECT(t, pattern_ok(p, cut, 13)); /* the kept blocks hold their data */
	int level = -1;
	KT_EXPECT(t, pt_kr_lookup((u64)(uptr)(p + (4 << 20)), &level) == 0);
	KT_EXPECT(t, pt_kr_lookup((u64)(uptr)(p + (4 << 20) - 1), &level) != 0 && level == 1);
	struct kfault_report r;
	KT_EXPECT(t, kfault_try(peek, p + (4 << 20), &r) == EXC_LOAD_PAGE);
	KT_EXPECT(t, contains(r.text, "unbacked tail"));
	KT_EXPECT(t, kfault_try(peek, p + (8 << 20) - 1, &r) == EXC_LOAD_PAGE);

	/* A shrink within the kept last block frees nothing; to one byte keeps one block. */
	KT_EXPECT(t, vrealloc(p, (2 << 20) + 1, 0) == p && a->nr_pages == 2 * blk);
	KT_EXPECT(t, vrealloc(p, 1, 0) == p && a->nr_pages == blk && vm_owner_pages(owner) == blk);
	KT_EXPECT(t, free_pages() == free1 + 3 * blk && p[0] == 13);

	/* Grow after shrink: in place (same pointer), fresh blocks zeroed as asked, charged again. */
	u8 *q = vrealloc(p, (7 << 20) + 5, VMF_ZERO);
	KT_ASSERT(t, q == p);
	KT_EXPECT(t, a->nr_pages == 4 * blk && vm_owner_pages(owner) == 4 * blk && free_pages() == free1);
	bool zero = p[0] == 13;
	for (u64 i = 1; i < (7 << 20) + 5; i += 509) zero &= p[i] == 0;
	KT_EXPECT(t, zero && p[(7 << 20) + 4] == 0);
	KT_EXPECT(t, pt_kr_lookup((u64)(uptr)(p + (6 << 20)), &level) != 0 && level == 1);
	p[(8 << 20) - 1] = 1; /* the last block is mapped again */

	vfree(p);
	vm_quiesce();
	KT_EXPECT(t, vm_owner_pages(owner) == 0);
	KT_EXPECT(t, vm_live_areas() == areas && live_pages() == pages && free_pages() == free0);
}

/* Leaves freed memory full of a non-zero byte, so that a path that forgets to zero shows it. */
static void dirty_free_memory(u64 bytes)
{
	u8 *junk = vmalloc_huge(bytes, 0);
	if (!junk) return;
	memset(junk, 0xee, bytes);
	vfree(junk);
	vm_purge();
}

/* Every mapped byte from `from` to the end of the backed pages reads as `want`. */
static bool slack_is(const u8 *p, u64 from, u8 want)
{
	const struct vmap_area *a = find_vm_area(p);
	u64 end = a ? (u64)a->nr_pages << PAGE_SHIFT : 0;
	for (u64 i = from; i < end; i++)
		if (p[i] != want) return false;
	return a != NULL;
}

/* issue 9 defect 1: a zeroed huge area that moves and then grows in place must not reveal old memory. */
static void huge_move_then_grow_reads_zero(struct ktest *t)
{
	u64 areas = vm_live_areas(), pages = live_pages();
	dirty_free_memory(8 << 20);
	/* 1 GiB alignment finds 2 MiB slots no earlier area has touched, so the area really is huge. */
	u8 *p = __vmalloc_node(4 << 20, 1UL << 30, VMF_ZERO | VMF_HUGE, NUMA_NO_NODE, NULL);
	KT_ASSERT(t, p);
	fill(p, 4 << 20, 5);
	u8 *q = vrealloc(p, 5 << 20, 0);
	KT_ASSERT(t, q);
	KT_EXPECT(t, pattern_ok(q, 4 << 20, 5));
	u8 *r = vrealloc(q, 6 << 20, 0);
	KT_ASSERT(t, r);
	bool zero = true;
	for (u64 i = 4 << 20; i < (6 << 20); i++) zero &= r[i] == 0;
	KT_EXPECT(t, zero);
	KT_EXPECT(t, slack_is(r, 6 << 20, 0));
	vfree(r);
	vm_purge();
	KT_EXPECT(t, vm_live_areas() == areas && live_pages() == pages);
}

/* The slack invariant on every path: past the requested size a zeroed area reads zero and any other area
 * the redzone byte, after allocation, shrink, in-place growth, growth over freed pages and a move. */
static void slack_invariant_on_every_path(struct ktest *t)
{
	dirty_free_memory(4 << 20);
	static const unsigned kinds[] = {0, VMF_ZERO};
	for (u32 k = 0; k < 2; k++) {
		u8 want = kinds[k] ? 0 : 0xa5;
		u8 *p = __vmalloc_node(3 * PAGE_SIZE + 100, PAGE_SIZE, kinds[k], NUMA_NO_NODE, NULL);
		KT_ASSERT(t, p);
		KT_EXPECT(t, slack_is(p, 3 * PAGE_SIZE + 100, want));
		memset(p, 0x3c, 3 * PAGE_SIZE + 100);
		KT_EXPECT(t, vrealloc(p, PAGE_SIZE + 7, 0) == p); /* shrink */
		KT_EXPECT(t, slack_is(p, PAGE_SIZE + 7, want));
		KT_EXPECT(t, vrealloc(p, PAGE_SIZE + 900, 0) == p); /* in place, within the backed page */
		KT_EXPECT(t, slack_is(p, PAGE_SIZE + 900, want));
		if (kinds[k]) for (u64 i = PAGE_SIZE + 7; i < PAGE_SIZE + 900; i++) KT_EXPECT(t, p[i] == 0);
		KT_EXPECT(t, vrealloc(p, 3 * PAGE_SIZE + 50, 0) == p); /* over pages freed by the shrink */
		KT_EXPECT(t, slack_is(p, 3 * PAGE_SIZE + 50, want));
		u8 *q = vrealloc(p, 9 * PAGE_SIZE + 1, 0); /* moves */
		KT_ASSERT(t, q);
		KT_EXPECT(t, slack_is(q, 9 * PAGE_SIZE + 1, want));
		KT_EXPECT(t, q[0] == 0x3c && q[PAGE_SIZE + 6] == 0x3c);
		vfree(q);
	}
}

/* issue 9 defect 7: growth charges only the difference: a 6-page area of a 16-page owner grows to 12. */
static void grow_charges_only_difference(struct ktest *t)
{
	const u32 owner = VM_MAX_OWNERS - 1;
	KT_ASSERT(t, vm_owner_set_limit(owner, 16) == 0);
	u8 *p = __vmalloc_owner(6 * PAGE_SIZE, PAGE_SIZE, VMF_ZERO, NUMA_NO_NODE, owner, NULL);
	KT_ASSERT(t, p);
	fill(p, 6 * PAGE_SIZE, 11);
	u8 *q = vrealloc(p, 12 * PAGE_SIZE, VMF_ZERO); /* beyond the reserved range: moves */
	KT_EXPECT(t, q != NULL);
	if (q) {
		KT_EXPECT(t, pattern_ok(q, 6 * PAGE_SIZE, 11) && vm_owner_pages(owner) == 12);
		p = q;
	}
	/* Over the limit: nothing changes, not the pointer, the pages, the contents or the charge. */
	u64 charged = vm_owner_pages(owner), pa0 = vmalloc_to_pa(p);
	KT_EXPECT(t, vrealloc(p, 17 * PAGE_SIZE, 0) == NULL);
	KT_EXPECT(t, find_vm_area(p) && vmalloc_to_pa(p) == pa0 && p[5] == (u8)(11 + 5 * 7));
	KT_EXPECT(t, vm_owner_pages(owner) == charged);
	vfree(p);
	KT_EXPECT(t, vm_owner_pages(owner) == 0);
	vm_owner_set_limit(owner, 16384);
}

/* A move keeps the physical pages (no copy): whoever maps them (a user task through shm) keeps seeing
 * the same memory while the area moves. */
static void moved_grow_keeps_pages(struct ktest *t)
{
	u8 *p = vzalloc(3 * PAGE_SIZE);
	KT_ASSERT(t, p);
	u64 pa[3];
	for (u32 i = 0; i < 3; i++) pa[i] = vmalloc_to_pa(p + i * PAGE_SIZE);
	u8 *q = vrealloc(p, 40 * PAGE_SIZE, 0);
	KT_ASSERT(t, q && q != p);
	for (u32 i = 0; i < 3; i++) KT_EXPECT(t, vmalloc_to_pa(q + i * PAGE_SIZE) == pa[i]);
	KT_EXPECT(t, find_vm_area(p) == NULL && find_vm_area(q)->nr_pages == 40);
	vfree(q);
}

/* An area's charge moves whole to a new owner, within that owner's limit unless forced; memory held
 * outside areas (page tables of user mappings) is charged and credited the same way. */
static void owner_transfer_moves_charge(struct ktest *t)
{
	const u32 from = VM_MAX_OWNERS - 1, to = VM_MAX_OWNERS - 2;
	KT_ASSERT(t, vm_owner_set_limit(from, 16) == 0 && vm_owner_set_limit(to, 8) == 0);
	u8 *p = __vmalloc_owner(10 * PAGE_SIZE, PAGE_SIZE, VMF_ZERO, NUMA_NO_NODE, from, NULL);
	KT_ASSERT(t, p);
	KT_EXPECT(t, vm_area_set_owner(p, to, false) == -ENOMEM); /* 10 > 8: nothing moves */
	KT_EXPECT(t, vm_owner_pages(from) == 10 && vm_owner_pages(to) == 0 && find_vm_area(p)->owner == from);
	KT_EXPECT(t, vm_area_set_owner(p, to, true) == 0); /* forced past the limit */
	KT_EXPECT(t, vm_owner_pages(from) == 0 && vm_owner_pages(to) == 10 && find_vm_area(p)->owner == to);
	KT_EXPECT(t, vm_owner_charge(to, 1, false) == -ENOMEM && vm_owner_pages(to) == 10);
	KT_EXPECT(t, vm_owner_charge(from, 16, false) == 0 && vm_owner_charge(from, 1, false) == -ENOMEM);
	KT_EXPECT(t, vm_owner_charge(from, 1, true) == 0 && vm_owner_pages(from) == 17); /* forced past it */
	KT_EXPECT(t, vm_owner_charge(from, -17, false) == 0 && vm_owner_pages(from) == 0);
	KT_EXPECT(t, vm_owner_charge(VM_OWNER_KERNEL, 1, false) == -EINVAL && vm_area_set_owner(p + 1, from, true) == -EINVAL);
	vfree(p);
	KT_EXPECT(t, vm_owner_pages(to) == 0);
	vm_owner_set_limit(from, 16384);
	vm_owner_set_limit(to, 16384);
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

/* A shrink gives pages back through the base count while their alloc was counted on the hart: the peak
 * and the live count stay true totals (the peak once wrapped to 2^64 - 2 in the demo's vm_stats). */
static void shrink_keeps_stats_totals(struct ktest *t)
{
	struct vm_stats a, b;
	vm_get_stats(&a);
	u8 *p = vmalloc(64 * PAGE_SIZE);
	KT_ASSERT(t, p != NULL);
	KT_EXPECT(t, vrealloc(p, PAGE_SIZE, 0) == p);
	vm_get_stats(&b);
	KT_EXPECT(t, b.live_pages == a.live_pages + 1);
	KT_EXPECT(t, b.peak_pages >= b.live_pages && b.peak_pages <= buddy_total_pages());
	vfree(p);
}

/* A user area's shrink leaves other harts' TLBs alone (the tail pages wait for a later fence), so a hart
 * that read the tail keeps its translation; regrowing the range must fence it before the fresh page is
 * used, or that hart goes on reading the old page. */
static volatile u64 *tail_word;
static u32 tail_step;
static u64 tail_seen[2];

static void tail_set_step(u32 s)
{
	__atomic_store_n(&tail_step, s, __ATOMIC_SEQ_CST);
	harts_kick_others();
}

static void tail_reader(void *arg)
{
	(void)arg;
	for (u32 r = 0; r < 2; r++) {
		hart_wait_until(__atomic_load_n(&tail_step, __ATOMIC_SEQ_CST) >= 2 * r + 1);
		tail_seen[r] = *tail_word;
		tail_set_step(2 * r + 2);
	}
}

static void user_tail_fenced_before_regrow(struct ktest *t)
{
	struct hartset others;
	harts_online_others(&others);
	if (hartset_empty(&others)) {
		ktest_skip(t, "single hart");
		return;
	}
	u8 *p = __vmalloc_owner(2 * PAGE_SIZE, PAGE_SIZE, VMF_ZERO | VMF_USER, NUMA_NO_NODE, VM_OWNER_KERNEL, NULL);
	KT_ASSERT(t, p);
	tail_word = (volatile u64 *)(p + PAGE_SIZE);
	*tail_word = 0x1111;
	tail_step = 0;
	tail_seen[0] = tail_seen[1] = 0;
	KT_ASSERT(t, smp_call_on(hartset_next(&others, 0), tail_reader, NULL) == 0);
	tail_set_step(1);
	hart_wait_until(__atomic_load_n(&tail_step, __ATOMIC_SEQ_CST) >= 2); /* it has the tail in its TLB */
	struct vm_stats a, b;
	vm_get_stats(&a);
	KT_EXPECT(t, vrealloc(p, PAGE_SIZE, 0) == p);
	vm_get_stats(&b);
	KT_EXPECT(t, b.remote_fences == a.remote_fences); /* the shrink itself fenced nobody else */
	KT_EXPECT(t, vrealloc(p, 2 * PAGE_SIZE, 0) == p);
	KT_EXPECT(t, *tail_word == 0); /* a fresh zeroed page here */
	*tail_word = 0x2222;
	tail_set_step(3);
	hart_wait_until(__atomic_load_n(&tail_step, __ATOMIC_SEQ_CST) >= 4);
	smp_wait_all();
	KT_EXPECT(t, tail_seen[0] == 0x1111);
	KT_EXPECT(t, tail_seen[1] == 0x2222); /* 0x1111: the regrow did not fence the other hart */
	vfree(p);
}

KTEST_SUITE(vrealloc, {"null_allocates_zero_frees", null_allocates_zero_frees}, {"grow_zeroes_when_asked", grow_zeroes_when_asked},
	    {"shrink_keeps_stats_totals", shrink_keeps_stats_totals},
	    {"shrink_keeps_pointer_frees_tail", shrink_keeps_pointer_frees_tail},
	    {"grow_back_maps_fresh_zeroed_pages", grow_back_maps_fresh_zeroed_pages},
	    {"grow_in_page_reveals_zero", grow_in_page_reveals_zero},
	    {"grow_beyond_moves_and_copies", grow_beyond_moves_and_copies},
	    {"huge_shrink_frees_whole_blocks", huge_shrink_frees_whole_blocks},
	    {"bad_pointer_changes_nothing", bad_pointer_changes_nothing},
	    {"huge_move_then_grow_reads_zero", huge_move_then_grow_reads_zero},
	    {"slack_invariant_on_every_path", slack_invariant_on_every_path},
	    {"grow_charges_only_difference", grow_charges_only_difference},
	    {"moved_grow_keeps_pages", moved_grow_keeps_pages},
	    {"owner_transfer_moves_charge", owner_transfer_moves_charge},
	    {"user_tail_fenced_before_regrow", user_tail_fenced_before_regrow});
