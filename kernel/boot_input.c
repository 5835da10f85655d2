/* Boot input checks: the RAM behind each bank, and the device tree, initrd and reservations inside it.
 * A tree handed over with -dtb is not rewritten by QEMU, so its banks may describe RAM that is not
 * there, or miss the blob and the initrd QEMU placed at the top of the RAM it really has. */
#include "kernel/boot_input.h"
#include "vm/layout.h"
#include "kernel/kfault.h"
#include "lib/printk.h"
#include "platform/devtree.h"
#include "vm/layout.h"

struct ram_probe {
	volatile u64 *word;
	bool ok;
};

/* Stores the word's complement, reads it back and puts the word back: RAM keeps what is stored, a device
 * window does not (QEMU virt's PCIe MMIO windows answer loads with all-ones and drop stores). */
static void store_and_read_back(void *arg)
{
	struct ram_probe *p = arg;
	u64 old = *p->word;
	*p->word = ~old;
	p->ok = *p->word == ~old;
	*p->word = old;
}

static u64 kernel_pa(void) { return (uptr)_kernel_start - KERNEL_VBASE + KERNEL_PBASE; }

/* Whether physical page pa is RAM: its first word keeps a store (a missing page is an access fault, not a
 * hang). The kernel's image is RAM (it runs there): not probed. The store is undone at once, one hart up;
 * on a tree that calls a device window memory it still reaches the device (the load probe it replaced
 * could not tell RAM from a window that answers loads). Boot hart. */
static bool page_present(u64 pa)
{
	struct kfault_report r;
	u64 kend = (uptr)_kernel_end - KERNEL_VBASE + KERNEL_PBASE;
	if (pa >= ALIGN_DOWN(kernel_pa(), PAGE_SIZE) && pa < kend) return true;
	struct ram_probe p = {.word = phys_to_virt(pa), .ok = false};
	return kfault_try(store_and_read_back, &p, &r) == 0 && p.ok;
}

/*
 * The end of the RAM in bank b. Its last page answering means the whole bank is there (the first pages
 * may not answer even so: the firmware locks itself away from S-mode). Otherwise RAM is taken to run
 * contiguously from a known-good page, the kernel's when it lies in the bank, else the bank's first, and
 * its end is found by bisection. 0 when not even that page answers. O(log pages) probes.
 */
static u64 ram_end(const struct mem_range *b)
{
	u64 end = b->base + b->size, k = kernel_pa();
	u64 good = k >= b->base && k < end ? ALIGN_DOWN(k, PAGE_SIZE) : b->base;

	if (page_present(end - PAGE_SIZE)) return end;
	if (!page_present(good)) return 0;
	u64 lo = good, hi = end - PAGE_SIZE; /* lo present, hi missing */
	while (hi - lo > PAGE_SIZE) {
		u64 mid = lo + ALIGN_DOWN((hi - lo) / 2, PAGE_SIZE);
		if (page_present(mid)) lo = mid;
		else hi = mid;
	}
	return hi;
}

static void clip_banks(struct machine_desc *m)
{
	int out = 0;

	for (int i = 0; i < m->nmem; i++) {
		struct mem_range *b = &m->mem[i];
		if (b->trimmed)
			printk("memory: bank %s 0x%lx-0x%lx trimmed by %lu bytes to whole pages\n", b->name, b->base,
			       b->base + b->size - 1, b->trimmed);
		/* Only the direct window can be probed, mapped or carved for metadata: a bank past it is dropped,
		 * one that straddles its end is cut there (and then probed like any other). */
		if (b->base >= DMAP_SIZE) {
			printk("memory: bank %s 0x%lx-0x%lx lies beyond the direct map (0x%lx): ignored\n", b->name,
			       b->base, b->base + b->size - 1, DMAP_SIZE);
			continue;
		}
		if (b->size > DMAP_SIZE - b->base) {
			printk("memory: bank %s 0x%lx-0x%lx runs past the direct map: cut at 0x%lx\n", b->name, b->base,
			       b->base + b->size - 1, DMAP_SIZE - 1);
			b->size = DMAP_SIZE - b->base;
		}
		u64 end = ram_end(b);
		if (!end) {
			printk("memory: bank %s 0x%lx-0x%lx has no RAM behind it: ignored\n", b->name, b->base,
			       b->base + b->size - 1);
			continue;
		}
		if (end < b->base + b->size) {
			printk("memory: bank %s 0x%lx-0x%lx has RAM only up to 0x%lx: clipped to %lu MiB\n",
			       b->name, b->base, b->base + b->size - 1, end - 1, (end - b->base) >> 20);
			b->size = end - b->base;
		}
		m->mem[out++] = *b;
	}
	m->nmem = out;
}

/* Drops reservations that touch no bank; ones that stick out are kept, as only their RAM part counts. */
static void check_reservations(struct machine_desc *m)
{
	int out = 0;

	for (int i = 0; i < m->nresv; i++) {
		const struct mem_range *r = &m->resv[i];
		bool touches = false;
		for (int b = 0; b < m->nmem; b++)
			touches |= r->base < m->mem[b].base + m->mem[b].size && m->mem[b].base < r->base + r->size;
		if (!touches) {
			printk("reserved: %s 0x%lx-0x%lx lies outside every memory bank: ignored\n", r->name, r->base,
			       r->base + r->size - 1);
			continue;
		}
		if (!dt_mem_contains(m, r->base, r->size))
			printk("reserved: %s 0x%lx-0x%lx is not wholly inside one memory bank: only its RAM part is kept\n",
			       r->name, r->base, r->base + r->size - 1);
		m->resv[out++] = *r;
	}
	m->nresv = out;
}

int boot_input_check(struct machine_desc *m, u64 dtb_pa, u64 dtb_size)
{
	clip_banks(m);
	if (!m->nmem) {
		printk("boot: refused: no memory bank of the device tree has RAM behind it\n");
		return BOOT_EXIT_BAD_MEMORY;
	}
	u64 kstart = kernel_pa(), kend = (uptr)_kernel_end - KERNEL_VBASE + KERNEL_PBASE;
	if (!dt_mem_contains(m, kstart, kend - kstart)) {
		printk("boot: refused: memory too small for the kernel: no memory bank holds its image at 0x%lx-0x%lx\n",
		       kstart, kend - 1);
		return BOOT_EXIT_BAD_MEMORY;
	}
	if (!dt_mem_contains(m, dtb_pa, dtb_size)) {
		printk("boot: refused: the device tree at 0x%lx-0x%lx lies outside the memory banks it describes\n",
		       dtb_pa, dtb_pa + dtb_size - 1);
		return BOOT_EXIT_BAD_MEMORY;
	}
	check_reservations(m);
	/* The tree stays in use after paging is on (the bootargs and stdout-path strings point into it, the
	 * fdt suites read it), through the direct map, which leaves no-map ranges out. */
	for (int i = 0; i < m->nresv; i++) {
		const struct mem_range *r = &m->resv[i];
		if (r->nomap && r->base < dtb_pa + dtb_size && dtb_pa < r->base + r->size) {
			printk("boot: refused: the device tree at 0x%lx-0x%lx lies in no-map reserved memory "
			       "%s 0x%lx-0x%lx\n", dtb_pa, dtb_pa + dtb_size - 1, r->name, r->base, r->base + r->size - 1);
			return BOOT_EXIT_BAD_MEMORY;
		}
	}
	if (m->initrd_empty) {
		printk("boot: refused: the initrd is empty (0 bytes at 0x%lx)\n", m->initrd_start);
		return BOOT_EXIT_BAD_INITRD;
	}
	if (m->has_initrd && !dt_mem_contains(m, m->initrd_start, m->initrd_end - m->initrd_start)) {
		printk("boot: refused: the initrd at 0x%lx-0x%lx lies outside the memory banks\n", m->initrd_start,
		       m->initrd_end - 1);
		return BOOT_EXIT_BAD_INITRD;
	}
	/* Reserved memory is someone else's: a no-map range is not even in the direct map the archive is read
	 * through, and the firmware's own (OpenSBI's mmode_resv, no no-map in 1.1) faults under its PMP. Only
	 * a reservation that is the initrd itself (a loader's /memreserve/ for it: its pages, not no-map) is
	 * allowed; one inside a bigger initrd range is not (the range may have been drawn around it). */
	for (int i = 0; m->has_initrd && i < m->nresv; i++) {
		const struct mem_range *r = &m->resv[i];
		bool overlaps = r->base < m->initrd_end && m->initrd_start < r->base + r->size;
		bool its_own = !r->nomap && r->base == ALIGN_DOWN(m->initrd_start, PAGE_SIZE) &&
			       r->base + r->size == ALIGN_UP(m->initrd_end, PAGE_SIZE);
		if (overlaps && !its_own) {
			printk("boot: refused: the initrd at 0x%lx-0x%lx overlaps reserved memory %s 0x%lx-0x%lx\n",
			       m->initrd_start, m->initrd_end - 1, r->name, r->base, r->base + r->size - 1);
			return BOOT_EXIT_BAD_INITRD;
		}
	}
	return 0;
}
