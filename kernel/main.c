/* kmain: the boot hart's path from the firmware hand-off to a running system, and the boot report. */
#include "kernel/hart.h"
#include "kernel/init.h"
#include "kernel/main.h"
#include "kernel/aspace.h"
#include "kernel/boot_input.h"
#include "kernel/bootparams.h"
#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "kernel/kfault.h"
#include "kernel/sched.h"
#include "kernel/trap.h"
#include "lib/bootargs.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "platform/devtree.h"
#include "platform/ipi.h"
#include "platform/fdt.h"
#include "platform/poweroff.h"
#include "platform/sbi.h"
#include "platform/tlb_remote.h"
#include "kernel/uaccess.h"
#include "platform/uart.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/vm_boot.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

/* The blob's header says how long it is; this only bounds what we are willing to believe. */
#define DTB_MAX_SIZE (4UL << 20)
/* Before the device tree is understood there is no other way to report a failing boot to the host
 * than QEMU virt's test device at its fixed address; used only when the tree itself is unusable. */
#define QEMU_VIRT_TEST_DEVICE 0x100000UL

struct machine_desc machine;
const void *boot_dtb; /* the firmware's device tree, kept for the boot and fdt test suites */
u64 boot_dtb_size;

static void sbi_sink(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') sbi_console_putchar('\r');
		sbi_console_putchar(s[i]);
	}
}

static void uart_sink(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') uart_putc('\r');
		uart_putc(s[i]);
	}
}

static void probe_word(void *p) { (void)*(volatile u32 *)p; }

/* Whether [pa, pa + size) lies in the device window: ioremap adds IO_BASE to any address, and past the
 * window's end the sum lands on the kernel image, the direct map or nothing at all. */
static bool in_io_window(u64 pa, u64 size) { return pa < IO_SIZE && size <= IO_SIZE - pa; }

static void *map_device(u64 pa) { return ioremap(pa); }

static const char *ipi_why, *tlb_why; /* the boot report's reasons for the IPI and fence mechanisms */

static bool isa_has(const char *isa, const char *ext)
{
	size_t n = strlen(ext);
	for (const char *p = isa; (p = strchr(p, '_')) != NULL; p++)
		if (!strncmp(p + 1, ext, n) && (p[1 + n] == '_' || p[1 + n] == '\0')) return true;
	return false;
}

/* One line per NUMA node: its harts (by hartid) and its memory, so placement tests can be read. */
static void report_node_map(const struct machine_desc *m)
{
	int max_node = dt_max_node(m);

	if (!max_node) {
		printk("numa: one node\n");
		return;
	}
	for (int n = 0; n <= max_node && n < 64; n++) {
		printk("numa: node %d: %lu MiB free, harts", n, buddy_free_pages_node(n) >> 8);
		for (int i = 0; i < m->nharts; i++)
			if (m->harts[i].node == n && dt_hart_usable(&m->harts[i])) printk(" %u", m->harts[i].hartid);
		printk("\n");
	}
}

static void boot_report(const struct machine_desc *m)
{
	printk("SBI: spec %u.%u, %s %ld.%ld; extensions:%s%s%s%s%s%s\n", sbi_info.spec_major, sbi_info.spec_minor,
	       sbi_impl_name(sbi_info.impl_id), sbi_info.impl_version >> 16, sbi_info.impl_version & 0xffff,
	       sbi_info.has_time ? " TIME" : "", sbi_info.has_ipi ? " IPI" : "", sbi_info.has_rfence ? " RFENCE" : "",
	       sbi_info.has_hsm ? " HSM" : "", sbi_info.has_srst ? " SRST" : "", sbi_info.has_dbcn ? " DBCN" : "");
	printk("harts: %u online of %d in the device tree (boot hart %u), timebase %lu Hz\n", nr_harts_online,
	       m->nharts, this_hart()->hartid, m->timebase_hz);
	printk("console: %s; timer: %s; power-off: %s\n",
	       m->has_uart ? uart_name() : "SBI legacy console (no UART in the device tree)", timer_source(),
	       poweroff_method());
	printk("ipi: %s (%s)\n", ipi_provider_name(), ipi_why);
	printk("tlb: remote fences by %s (%s)\n",
	       tlb_remote_mech() == TLB_REMOTE_SBI ? "sbi: SBI RFENCE" : "ipi: IPI shootdown", tlb_why);
	printk("uaccess: user memory reachable (sstatus.SUM) %s\n",
	       uaccess_task_sstatus() ? "while a task runs (uaccess.sum=task)" : "inside each copy (uaccess.sum=copy)");
	for (int i = 0; i < m->nmem; i++)
		printk("memory: bank %d 0x%lx-0x%lx (%lu MiB) node %d\n", i, m->mem[i].base,
		       m->mem[i].base + m->mem[i].size - 1, m->mem[i].size >> 20, m->mem[i].node);
	report_node_map(m);
	if (m->mem_merged) printk("memory: %d overlapping or adjacent banks merged\n", m->mem_merged);
	for (int i = 0; i < vm_boot_nresv; i++)
		printk("reserved: 0x%lx-0x%lx %s\n", vm_boot_resv[i].base,
		       vm_boot_resv[i].base + vm_boot_resv[i].size - 1, vm_boot_resv[i].what);
	printk("pages: %lu free of %lu managed (%lu MiB free)\n", buddy_free_pages(), buddy_total_pages(),
	       buddy_free_pages() >> 8);
	printk("layout: text   0x%lx-0x%lx RX\n", (uptr)_text_start, (uptr)_text_end);
	printk("layout: rodata 0x%lx-0x%lx R\n", (uptr)_rodata_start, (uptr)_rodata_end);
	printk("layout: data   0x%lx-0x%lx RW\n", (uptr)_data_start, (uptr)_data_end);
	printk("layout: bss    0x%lx-0x%lx RW\n", (uptr)__bss_start, (uptr)__bss_end);
	printk("layout: direct map 0x%lx-0x%lx, devices 0x%lx, vmalloc 0x%lx-0x%lx (%lu GiB)\n", DMAP_BASE,
	       DMAP_BASE + DMAP_SIZE - 1, IO_BASE, VMALLOC_START, VMALLOC_END - 1, VMALLOC_SIZE >> 30);
}

/* A secondary hart's start, once smp_boot_secondaries has started it: its traps, paging and tick, then
 * the scheduler. Here, at the top of kernel/, because it calls every layer of the kernel's stack. */
void secondary_main(u64 hartid, u64 index)
{
	struct hart_local *h = this_hart();
	trap_init_hart();
	vm_boot_enable_paging();
	h->hartid = (u32)hartid;
	h->index = (u32)index;
	timer_init_hart();
	ipi_init_hart();
	csr_set(sie, SIE_SSIE | SIE_STIE);
	hartset_atomic_set(&harts_online, (u32)index, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&nr_harts_online, 1, __ATOMIC_ACQ_REL);
	store_release(h->online, true);
	smp_send_ipi(0); /* the boot hart sleeps until this hart is online */
	scheduler_loop();
}

void kmain(u64 hartid, u64 dtb_pa, u64 secondary_entry_pa)
{
	struct hart_local *h = this_hart();
	const char *why = NULL;

	h->hartid = (u32)hartid;
	h->index = 0;
	h->online = true;
	hart_locals[0] = h;
	trap_init_hart();
	console_set_sink(sbi_sink);
	sbi_probe_all();
	printk("\nvmk: RISC-V Sv39 kernel booting on hart %lu, device tree at 0x%lx\n", hartid, dtb_pa);

	const void *dtb = phys_to_virt(dtb_pa);
	if (dt_parse_machine(dtb, DTB_MAX_SIZE, &machine, &why)) {
		printk("boot: unusable device tree: %s\n", why);
		/* Other machines have nothing (or something else) there: only a register that answers is used. */
		struct kfault_report r;
		if (!kfault_try(probe_word, ioremap(QEMU_VIRT_TEST_DEVICE), &r))
			poweroff_init(ioremap(QEMU_VIRT_TEST_DEVICE), 0);
		poweroff(BOOT_EXIT_BAD_TREE);
	}
	if (machine.has_test && !in_io_window(machine.test_base, 4)) {
		printk("power-off: the test device at 0x%lx lies outside the device window: not used\n", machine.test_base);
		machine.has_test = false;
	}
	if (machine.has_test) poweroff_init(ioremap(machine.test_base), machine.poweroff_value);
	/* QEMU's spike puts fromhost first, then tohost, in the region the tree names. */
	if (machine.has_htif && in_io_window(machine.htif_base, 16)) poweroff_init_htif(ioremap(machine.htif_base + 8));
	bootargs_init(machine.bootargs ? machine.bootargs : "");
	if (machine.has_uart && !in_io_window(machine.uart_base, 0x20ULL << machine.uart_reg_shift)) {
		printk("console: the UART at 0x%lx lies outside the device window: staying on the SBI console\n",
		       machine.uart_base);
		machine.has_uart = false;
	} else if (machine.has_uart) {
		uart_init(machine.uart_kind, ioremap(machine.uart_base), machine.uart_reg_shift, machine.uart_io_width);
		console_set_sink(uart_sink);
	} else {
		printk("console: no UART in the device tree, staying on the SBI console\n");
	}
	bootparams_echo();
	int bad_args = bootparams_check();
	if (bad_args) {
		printk("boot: refused: %d bad boot argument%s (see above)\n", bad_args, bad_args == 1 ? "" : "s");
		poweroff(BOOT_EXIT_BAD_BOOTARGS);
	}

	u64 dtb_size = fdt_be32((const u8 *)dtb + 4); /* header totalsize, checked by dt_parse_machine */
	int st = boot_input_check(&machine, dtb_pa, dtb_size);
	if (st) poweroff(st);
	boot_dtb = dtb;
	boot_dtb_size = dtb_size;
	why = vm_boot_init(&machine, dtb_pa, dtb_size);
	if (why) {
		printk("boot: %s\n", why);
		poweroff(BOOT_EXIT_BAD_MEMORY);
	}
	vm_boot_enable_paging();
	/* On a NUMA machine each hart's page cache keeps to the hart's node (vmalloc's default placement). */
	if (dt_max_node(&machine))
		for (int i = 0; i < machine.nharts; i++)
			if (machine.harts[i].hartid == hartid) page_cache_set_hart_node(0, machine.harts[i].node);

	bool sstc = false;
	for (int i = 0; i < machine.nharts; i++)
		if (machine.harts[i].hartid == hartid) sstc = isa_has(machine.harts[i].isa, "sstc");
	timer_setup(machine.timebase_hz, sstc);
	timer_init_hart();
	ipi_setup(&machine, map_device, &ipi_why);
	tlb_remote_setup(bootarg_get("tlb.remote"), ipi_is_smode(), &tlb_why);
	uaccess_setup(bootarg_get("uaccess.sum"));
	csr_set(sie, SIE_SSIE | SIE_STIE);
	irq_enable();

	aspace_init_asids();
	smp_boot_secondaries(&machine, secondary_entry_pa);
	bug_handler = kernel_bug; /* before vm's VM_DEBUG checks can run */
	vmalloc_init(); /* after the harts: the lazy-purge threshold scales with how many are online */
	panic_set_dump_hook(vm_dump_areas_oops);
	boot_report(&machine);

	const char *suites = bootarg_get("test");
	if (suites && *suites) kernel_poweroff(ktest_run_all(suites)); /* a bare "test" word is init's argument */
	st = kernel_start_init(&machine);
	if (st == -ENOENT) {
		printk("boot: no init program (no initrd): powering off\n");
		kernel_poweroff(0);
	}
	kernel_poweroff(st);
}
