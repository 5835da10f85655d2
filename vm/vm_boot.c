/* Boot-time memory setup. Physical memory is every device-tree bank minus what is already in use (the
 * firmware, the kernel image, the device tree, the initrd, reserved-memory); each bank becomes a buddy
 * zone whose struct page array is carved from the bank itself. Then the final kernel page tables: the
 * image W^X in 4 KiB pages, the direct map in the largest leaves that fit, the device window, and the
 * vmalloc region's level-1 tables created once so no address space ever needs a lazy sync. */
#include "vm/vm_boot.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "platform/devtree.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/page_cache.h"

struct boot_range vm_boot_resv[VM_BOOT_MAX_RESV];
int vm_boot_nresv;
u64 kernel_root_pa;

static bool resv_full;

/* A reservation that does not fit must not be forgotten (its memory would be handed out): the table
 * holds the tree's own (DT_MAX_RESV) plus ours, so this only trips if the two limits drift apart. */
static void add_resv(u64 base, u64 size, const char *what)
{
	if (!size) return;
	if (vm_boot_nresv == VM_BOOT_MAX_RESV) {
		resv_full = true;
		return;
	}
	vm_boot_resv[vm_boot_nresv++] = (struct boot_range){base, size, what};
}

static bool overlaps_resv(u64 base, u64 size)
{
	for (int i = 0; i < vm_boot_nresv; i++) {
		const struct boot_range *r = &vm_boot_resv[i];
		if (base < r->base + r->size && r->base < base + size) return true;
	}
	return false;
}

/* Finds page-aligned room for a zone's metadata at the top of some bank, clear of every reservation.
 * Candidate ends are bank ends and reservation starts, so a gap between reservations is found too. */
static u64 carve(const struct machine_desc *m, u64 bytes)
{
	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	for (int b = m->nmem - 1; b >= 0; b--) {
		u64 lo = m->mem[b].base, hi = m->mem[b].base + m->mem[b].size;
		for (int i = -1; i < vm_boot_nresv; i++) {
			u64 end = ALIGN_DOWN(i < 0 ? hi : vm_boot_resv[i].base, PAGE_SIZE);
			if (end <= lo || end > hi || end - lo < bytes + PAGE_SIZE) continue;
			u64 start = end - bytes;
			if (!overlaps_resv(start, bytes)) return start;
		}
	}
	return 0;
}




static u64 kpa(const void *sym) { return (uptr)sym - KERNEL_VBASE + KERNEL_PBASE; }

/* The direct map leaves out no-map reservations (firmware the kernel must never touch, even by
 * speculation), mapping around them with whatever leaf sizes fit. */
static const struct mem_range *next_nomap(const struct machine_desc *m, u64 cur, u64 end)
{
	const struct mem_range *best = NULL;
	for (int i = 0; i < m->nresv; i++) {
		const struct mem_range *r = &m->resv[i];
		if (r->nomap && r->base < end && r->base + r->size > cur && (!best || r->base < best->base)) best = r;
	}
	return best;
}

static int map_direct(const struct machine_desc *m)
{
	for (int b = 0; b < m->nmem; b++) {
		u64 cur = m->mem[b].base, end = MIN(m->mem[b].base + m->mem[b].size, DMAP_SIZE);
		while (cur < end) {
			const struct mem_range *r = next_nomap(m, cur, end);
			u64 stop = r ? MAX(ALIGN_DOWN(r->base, PAGE_SIZE), cur) : end;
			if (stop > cur) {
				int e = pt_map(kernel_root_pa, DMAP_BASE + cur, cur, stop - cur, PTE_R | PTE_W | PTE_G,
					       PT_HUGE);
				if (e) return e;
			}
			cur = r ? ALIGN_UP(r->base + r->size, PAGE_SIZE) : end;
		}
	}
	return 0;
}

const char *vm_boot_init(const struct machine_desc *m, u64 dtb_pa, u64 dtb_size)
{
	u64 kstart = kpa(_kernel_start), kend = kpa(_kernel_end);
	bool kernel_in_ram = false;

	for (int b = 0; b < m->nmem; b++)
		if (kstart >= m->mem[b].base && kend <= m->mem[b].base + m->mem[b].size) kernel_in_ram = true;
	if (!kernel_in_ram) return "memory too small for the kernel: no memory bank holds the kernel image";

	add_resv(kstart, kend - kstart, "kernel image");
	add_resv(ALIGN_DOWN(dtb_pa, PAGE_SIZE), ALIGN_UP(dtb_pa + dtb_size, PAGE_SIZE) - ALIGN_DOWN(dtb_pa, PAGE_SIZE),
		 "device tree");
	if (m->has_initrd && m->initrd_end > m->initrd_start)
		add_resv(ALIGN_DOWN(m->initrd_start, PAGE_SIZE),
			 ALIGN_UP(m->initrd_end, PAGE_SIZE) - ALIGN_DOWN(m->initrd_start, PAGE_SIZE), "initrd");
	for (int i = 0; i < m->nresv; i++) add_resv(m->resv[i].base, m->resv[i].size, m->resv[i].name);
	if (resv_full) return "too many reserved ranges (VM_BOOT_MAX_RESV)";

	for (int b = 0; b < m->nmem; b++) {
		u64 base = m->mem[b].base, size = m->mem[b].size;
		if (base >= DMAP_SIZE) continue; /* beyond the direct map: not usable by this kernel */
		if (base + size > DMAP_SIZE) size = DMAP_SIZE - base;
		size_t meta = buddy_zone_meta_bytes(base, size);
		if (!meta) continue;
		u64 at = carve(m, meta);
		if (!at) return "memory too small: no room for the page allocator's metadata";
		add_resv(at, ALIGN_UP(meta, PAGE_SIZE), "struct page array");
		if (resv_full) return "too many reserved ranges (VM_BOOT_MAX_RESV)";
		memset(phys_to_virt(at), 0, meta);
		if (buddy_add_zone(base, size, m->mem[b].node, phys_to_virt(at))) return "bad memory bank";
	}
	for (int b = 0; b < m->nmem; b++) buddy_free_range(m->mem[b].base, m->mem[b].size);
	for (int i = 0; i < vm_boot_nresv; i++) buddy_reserve_range(vm_boot_resv[i].base, vm_boot_resv[i].size);
	if (buddy_free_pages() < 1024) return "memory too small: fewer than 4 MiB free after the kernel";

	kernel_root_pa = pt_alloc_table();
	if (!kernel_root_pa) return "out of memory building page tables";
	struct {
		char *start, *end;
		u64 prot;
	} parts[] = {
		{_text_start, _text_end, PTE_R | PTE_X | PTE_G},
		{_rodata_start, _rodata_end, PTE_R | PTE_G},
		{_data_start, _kernel_end, PTE_R | PTE_W | PTE_G},
	};
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		u64 va = (uptr)parts[i].start, len = ALIGN_UP((uptr)parts[i].end, PAGE_SIZE) - va;
		if (pt_map(kernel_root_pa, va, kpa(parts[i].start), len, parts[i].prot, 0))
			return "cannot map the kernel image";
	}
	if (map_direct(m)) return "cannot build the direct map";
	/* The direct map's alias of the kernel's text and rodata is read-only too (and, as all of the direct
	 * map, never executable): the image's W^X would mean little with a writable second mapping. */
	u64 ro = (uptr)_text_start, ro_len = ALIGN_UP((uptr)_rodata_end, PAGE_SIZE) - ro;
	/* Remapped rather than re-protected: pt_unmap splits the huge leaves at the ends, and the one map
	 * walker writes the read-only leaves. Paging is not on yet, so no TLB holds the old ones. */
	u64 alias = DMAP_BASE + kpa(_text_start);
	if (pt_unmap(kernel_root_pa, alias, ro_len, NULL, NULL) < 0 ||
	    pt_map(kernel_root_pa, alias, kpa(_text_start), ro_len, PTE_R | PTE_G, PT_HUGE))
		return "cannot protect the kernel image's direct-map alias";
	if (pt_map(kernel_root_pa, IO_BASE, 0, IO_SIZE, PTE_R | PTE_W | PTE_G, PT_HUGE)) return "cannot map devices";
	if (pt_prepopulate(kernel_root_pa, VMALLOC_START, VMALLOC_END)) return "cannot populate the vmalloc region";
	return NULL;
}

void vm_boot_enable_paging(void)
{
	csr_write(satp, pt_satp(kernel_root_pa, 0));
	local_flush_tlb_all();
}
