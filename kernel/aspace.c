/* User address spaces. Every root starts as a copy of the kernel root's upper half: the vmalloc region's
 * level-1 tables were created at boot, so kernel mappings made later are seen by every address space
 * with no synchronisation. Each task gets an ASID (its task slot) so switching tasks flushes nothing;
 * a slot's ASID is flushed everywhere when the task is reaped, before the slot can be reused. */
#include "kernel/aspace.h"
#include "kernel/task_record.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
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
	t->hart_mask = 0;
	return 0;
}

void aspace_activate(struct task *t)
{
	csr_write(satp, pt_satp(t->root_pa, t->asid));
	if (!t->asid) local_flush_tlb_all();
	__atomic_fetch_or(&t->hart_mask, 1ULL << this_hart_index(), __ATOMIC_RELAXED);
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

void aspace_flush(struct task *t, u64 va, u64 size)
{
	u64 mask = __atomic_load_n(&t->hart_mask, __ATOMIC_RELAXED);
	u32 me = this_hart_index();

	if ((mask >> me) & 1) {
		if (size && size <= TLB_FLUSH_ALL_PAGES * PAGE_SIZE)
			for (u64 a = va; a < va + size; a += PAGE_SIZE)
				__asm__ volatile("sfence.vma %0, %1" ::"r"(a), "r"((u64)t->asid) : "memory");
		else
			local_flush_tlb_asid(t->asid);
	}
	/* Other harts that ran the task: the IPI shootdown (a whole-TLB flush there, acknowledged), whose
	 * requester sleeps in wfi rather than spinning in M-mode as an SBI RFENCE caller would. */
	if (mask & ~(1ULL << me)) tlb_flush_other_harts();
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
