/* User address spaces. Every root starts as a copy of the kernel root's upper half: the vmalloc region's
 * level-1 tables were created at boot, so kernel mappings made later are seen by every address space
 * with no synchronisation. Each task gets an ASID (its task slot) so switching tasks flushes nothing;
 * a slot's ASID is flushed everywhere when the task is reaped, before the slot can be reused.
 *
 * Which harts a flush must reach (t->hart_mask), as Linux's mm_cpumask: a hart's bit is set when it
 * loads t's root, and dropped by a flush that fenced that hart's whole TLB while the hart was not running
 * t; only loading the root again can bring t's translations back, and that sets the bit. Without the
 * drop, a task that once ran on every hart (a migration, its first slice on another hart) makes every
 * later unmap or shrink shoot down every hart for ever, although the others have long forgotten it. */
#include "kernel/aspace.h"
#include "kernel/uaccess.h"
#include "kernel/task_record.h"
#include "lib/percpu.h"
#include "platform/tlb_remote.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/vm_boot.h"
#include "vm/page_cache.h"

static u32 asid_bits;

void aspace_init_asids(void)
{
	u64 old = csr_read(satp);
	csr_write(satp, old | (0xffffUL << 44));
	u64 got = (csr_read(satp) >> 44) & 0xffff;
	csr_write(satp, old);
	local_flush_tlb_all();
	asid_bits = (u32)fls64(got);
}

int aspace_create(struct task *t)
{
	t->root_pa = pt_alloc_table();
	if (!t->root_pa) return -ENOMEM;
	pt_copy_kernel_half(t->root_pa, kernel_root_pa);
	/* Without enough ASID bits every task shares ASID 0 and each switch flushes. */
	t->asid = (asid_bits >= 7) ? (u16)t->slot : 0;
	hartset_zero(&t->hart_mask);
	hartset_zero(&t->active_mask);
	t->flushes_in_flight = 0;
	return 0;
}

void aspace_activate(struct task *t)
{
	u32 me = this_hart_index();
	/* Both bits before the root is loaded: a flusher that drops this hart from hart_mask reads
	 * active_mask after the drop (both sequentially consistent), so it either sees this hart active and
	 * puts the bit back, or dropped it before this fetch_or set it again. */
	hartset_atomic_set(&t->active_mask, me, __ATOMIC_SEQ_CST);
	hartset_atomic_set(&t->hart_mask, me, __ATOMIC_SEQ_CST);
	csr_write(satp, pt_satp(t->root_pa, t->asid));
	if (!t->asid) local_flush_tlb_all();
	uaccess_task_enter();
}

void aspace_leave(struct task *t)
{
	/* Only after satp holds another root: up to that write this hart could still load t's translations. */
	hartset_atomic_clear(&t->active_mask, this_hart_index(), __ATOMIC_SEQ_CST);
}

void aspace_deactivate(struct task *t)
{
	uaccess_task_leave();
	csr_write(satp, pt_satp(kernel_root_pa, 0));
	aspace_leave(t);
}

int aspace_map_anon(struct task *t, u64 va, u64 size, u64 prot)
{
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		u64 pa = vm_zeroed_table_alloc();
		if (!pa) return -ENOMEM;
		int e = pt_map(t->root_pa, va + off, pa, PAGE_SIZE, prot | PTE_U, 0);
		if (e) {
			page_cache_free(pa);
			return e;
		}
	}
	return 0;
}

bool aspace_user_writable(struct task *t, u64 va)
{
	struct pt_walk w;
	spin_lock(&t->shm_lock);
	bool ok = !pt_walk(t->root_pa, va, &w) && (w.pte & (PTE_V | PTE_U | PTE_W)) == (PTE_V | PTE_U | PTE_W);
	spin_unlock(&t->shm_lock);
	return ok;
}

/* Drops from t->hart_mask the harts of `fenced` that are not running t. Only valid once each of them
 * will have flushed its whole TLB (or all of t's ASID) after this call: a hart dropped here keeps no
 * translation of t past that flush, and cannot load another without aspace_activate setting its bit
 * again. A ranged remote flush would leave t's other translations behind: never drop after one. The
 * drop comes first and the look at active_mask second (aspace_activate sets them in the other order),
 * so a hart that loads t's root meanwhile keeps its bit. */
static void drop_idle_harts(struct task *t, const struct hartset *fenced)
{
	struct hartset running;
	hartset_atomic_andnot(&t->hart_mask, fenced, __ATOMIC_SEQ_CST);
	hartset_load(&running, &t->active_mask, __ATOMIC_SEQ_CST);
	hartset_and(&running, &running, fenced);
	hartset_atomic_or(&t->hart_mask, &running, __ATOMIC_SEQ_CST);
}

void aspace_flush(struct task *t, u64 va, u64 size)
{
	u32 me = this_hart_index();
	struct hartset mask;
	/* Announced before hart_mask is read: a concurrent flusher may have dropped a hart whose fence it has
	 * not finished yet, and then this flush must fence the other harts itself (see below). */
	__atomic_fetch_add(&t->flushes_in_flight, 1, __ATOMIC_SEQ_CST);
	hartset_load(&mask, &t->hart_mask, __ATOMIC_SEQ_CST);
	bool racing = __atomic_load_n(&t->flushes_in_flight, __ATOMIC_SEQ_CST) > 1;

	if (hartset_test(&mask, me)) {
		if (size && size <= TLB_FLUSH_ALL_PAGES * PAGE_SIZE)
			for (u64 a = va; a < va + size; a += PAGE_SIZE)
				__asm__ volatile("sfence.vma %0, %1" ::"r"(a), "r"((u64)t->asid) : "memory");
		else
			local_flush_tlb_asid(t->asid);
	}
	/* Other harts that ran the task since their last flush of it: one remote fence by the boot's
	 * mechanism (SBI RFENCE's ASID form, or the IPI shootdown), for the whole ASID, so that the ones not
	 * running t can be dropped from hart_mask after it (a ranged fence would leave t's other
	 * translations behind) and the next flush of an idle task's unmap or shrink stays on this hart. When
	 * another flush is in flight it may have dropped a hart it has not fenced yet: then every other
	 * online hart is fenced here too. */
	struct hartset *others = &mask;
	hartset_clear(others, me);
	bool any = !hartset_empty(others);
	if (any || racing) {
		if (any) drop_idle_harts(t, others);
		tlb_remote_flush_asid(racing ? NULL : others, 0, 0, t->asid); /* NULL: every other online hart */
	}
	__atomic_fetch_sub(&t->flushes_in_flight, 1, __ATOMIC_SEQ_CST);
}

static void free_leaf(void *ctx, u64 pa, int level)
{
	(void)ctx;
	if (level == 0) page_cache_free(pa);
}

void aspace_destroy(struct task *t)
{
	if (t->root_pa) pt_destroy_user(t->root_pa, free_leaf, NULL);
}

void aspace_free_root(struct task *t)
{
	if (!t->root_pa) return;
	aspace_flush(t, 0, 0);
	pt_free_table(t->root_pa);
	t->root_pa = 0;
}
