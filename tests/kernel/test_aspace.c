/* Suite `aspace`: which harts a user address-space flush reaches (kernel/aspace.c). A flush drops the
 * harts that are not running the task, so it must never drop one that is (its TLB refills from the new
 * tables at once, and the next change must reach it), and a hart the task migrates back to must be
 * fenced again. Each case reads a user address through a second hart's TLB: a skipped shootdown shows as
 * the old page's value. Needs two harts (skips on one; the 4-hart boots run it). */
#include "kernel/aspace.h"
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/task.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "vm/layout.h"
#include "vm/page_cache.h"
#include "vm/pt.h"

#define VA VMK_SHM_BASE /* a user-half address; mapped without PTE_U so the kernel reads it directly */

static struct task ft;      /* a task that exists only as an address space: slot MAX_TASKS is no task's */
static u64 pages[3];        /* the three pages VA takes in turn, holding 1, 2, 3 */
static u64 pad;             /* mapped at VA + PAGE_SIZE throughout, so VA's table never empties */
static u32 step;            /* the two harts' handshake */
static u64 seen[3];         /* what the other hart read at VA, per round */
static u32 main_hart;

static void set_step(u32 s)
{
	__atomic_store_n(&step, s, __ATOMIC_SEQ_CST);
	harts_kick_others();
}

static void wait_step(u32 s) { hart_wait_until(__atomic_load_n(&step, __ATOMIC_SEQ_CST) >= s); }

static u64 read_va(void) { return *(volatile u64 *)VA; }

/* Points VA at pages[i] and flushes, as an unmap or a shrink does. */
static bool remap(u32 i)
{
	pt_unmap(ft.root_pa, VA, PAGE_SIZE, NULL, NULL); /* pad keeps the table: nothing freed */
	bool ok = pt_map(ft.root_pa, VA, pages[i], PAGE_SIZE, PTE_R | PTE_W, 0) == 0;
	aspace_flush(&ft, VA, PAGE_SIZE);
	return ok;
}

/* The other hart: runs the task (its root in satp, as the scheduler loads it) through `rounds` reads,
 * each after the main hart has changed VA and flushed, then leaves it. */
static void run_task_rounds(void *arg)
{
	u32 rounds = (u32)(uptr)arg;
	aspace_activate(&ft);
	for (u32 r = 0; r < rounds; r++) {
		wait_step(2 * r + 1);
		seen[r] = read_va();
		set_step(2 * r + 2);
	}
	aspace_deactivate(&ft);
	set_step(2 * rounds + 1);
}

/* Gives back what setup took: the pages mapped at VA and VA + PAGE_SIZE go with the tables
 * (aspace_destroy), the others here. */
static void teardown(void)
{
	u64 mapped = 0;
	struct pt_walk w;
	if (!pt_walk(ft.root_pa, VA, &w)) mapped = pte_pa(w.pte);
	for (u32 i = 0; i < 3; i++)
		if (pages[i] && pages[i] != mapped) page_cache_free(pages[i]);
	if (pad && pt_walk(ft.root_pa, VA + PAGE_SIZE, &w)) page_cache_free(pad);
	aspace_destroy(&ft);
	aspace_free_root(&ft);
}

/* An address space with VA on page 1; false (with the case failed or skipped) if there is none. */
static bool setup(struct ktest *t, u32 *other)
{
	struct hartset others;
	harts_online_others(&others);
	if (hartset_empty(&others)) {
		ktest_skip(t, "single hart");
		return false;
	}
	main_hart = this_hart_index();
	/* The highest online hart: past 64 harts its bit is in the sets' second word. */
	hartset_for_each(i, &others) *other = i;
	ft = (struct task){.slot = MAX_TASKS};
	pages[0] = pages[1] = pages[2] = pad = 0;
	if (aspace_create(&ft)) {
		ktest_fail(t, __FILE__, __LINE__, "aspace_create");
		return false;
	}
	for (u32 i = 0; i < 3; i++) {
		pages[i] = vm_zeroed_table_alloc();
		if (pages[i]) *(u64 *)vm_page_va(pages[i]) = i + 1;
	}
	pad = vm_zeroed_table_alloc();
	step = 0;
	for (u32 i = 0; i < 3; i++) seen[i] = 0;
	if (pages[0] && pages[1] && pages[2] && pad && !pt_map(ft.root_pa, VA, pages[0], PAGE_SIZE, PTE_R | PTE_W, 0) &&
	    !pt_map(ft.root_pa, VA + PAGE_SIZE, pad, PAGE_SIZE, PTE_R | PTE_W, 0))
		return true;
	ktest_fail(t, __FILE__, __LINE__, "out of pages");
	teardown();
	return false;
}

/* A hart running the task when another hart flushes it keeps its place in the mask: the second change
 * must reach it too. Dropping it after the first shootdown (it was fenced, after all) would leave the
 * translation it refilled since, and it would read page 2 in the last round. */
static void running_hart_stays_fenced(struct ktest *t)
{
	u32 other;
	if (!setup(t, &other)) return;
	KT_ASSERT(t, smp_call_on(other, run_task_rounds, (void *)3UL) == 0);
	set_step(1);
	wait_step(2); /* round 0: the other hart reads page 1 into its TLB */
	KT_EXPECT(t, remap(1));
	KT_EXPECT(t, hartset_atomic_test(&ft.hart_mask, other, __ATOMIC_SEQ_CST));
	set_step(3);
	wait_step(4);
	KT_EXPECT(t, remap(2));
	set_step(5);
	wait_step(7); /* round 2 read, then the other hart left the task */
	smp_wait_all();
	KT_EXPECT(t, seen[0] == 1);
	KT_EXPECT(t, seen[1] == 2);
	KT_EXPECT(t, seen[2] == 3);
	/* Now idle there: one more flush fences it a last time and forgets it. */
	aspace_flush(&ft, 0, 0);
	KT_EXPECT(t, !hartset_atomic_test(&ft.hart_mask, other, __ATOMIC_SEQ_CST));
	teardown();
}

/* The task runs on the other hart, moves here, is flushed here (the other hart is forgotten), and moves
 * back: its first load there sets the bit again, so the next change reaches it there. */
static void migrated_task_is_fenced_again(struct ktest *t)
{
	u32 other;
	if (!setup(t, &other)) return;
	KT_ASSERT(t, smp_call_on(other, run_task_rounds, (void *)1UL) == 0);
	set_step(1);
	wait_step(3); /* read page 1 there, then left */
	smp_wait_all();
	KT_EXPECT(t, seen[0] == 1);
	aspace_activate(&ft); /* the task moves to this hart */
	KT_EXPECT(t, read_va() == 1);
	KT_EXPECT(t, remap(1));
	KT_EXPECT(t, read_va() == 2);
	struct hartset mask;
	hartset_load(&mask, &ft.hart_mask, __ATOMIC_SEQ_CST);
	KT_EXPECT(t, !hartset_test(&mask, other)); /* fenced and not running it: forgotten */
	KT_EXPECT(t, hartset_test(&mask, main_hart));
	aspace_deactivate(&ft);
	step = 0;
	KT_ASSERT(t, smp_call_on(other, run_task_rounds, (void *)2UL) == 0); /* and back */
	set_step(1);
	wait_step(2);
	KT_EXPECT(t, hartset_atomic_test(&ft.hart_mask, other, __ATOMIC_SEQ_CST));
	KT_EXPECT(t, remap(2));
	set_step(3);
	wait_step(5);
	smp_wait_all();
	KT_EXPECT(t, seen[0] == 2);
	KT_EXPECT(t, seen[1] == 3); /* 2 if the move back had not put the hart in the mask again */
	teardown();
}

KTEST_SUITE(aspace, {"running_hart_stays_fenced", running_hart_stays_fenced},
	    {"migrated_task_is_fenced_again", migrated_task_is_fenced_again});
