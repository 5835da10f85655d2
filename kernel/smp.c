/* Secondary hart bring-up through SBI HSM, and a one-slot call box per hart that tests and benchmarks use
 * to run workers on several harts at once. */
#include "kernel/smp.h"
#include "kernel/task.h"
#include "kernel/hart.h"
#include "kernel/timer.h"
#include "kernel/trap.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "platform/devtree.h"
#include "platform/sbi.h"
#include "vm/layout.h"
#include "vm/vm_boot.h"

struct hart harts[MAX_HARTS];
u8 boot_stacks[MAX_HARTS][BOOT_STACK_SIZE] __aligned(16);
struct hart_boot_arg hart_boot_args[MAX_HARTS];

struct call_box {
	void (*fn)(void *);
	void *arg;
	volatile int busy;
};
static struct call_box call_boxes[MAX_HARTS];

u32 smp_online_mask(void) { return __atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE); }

void smp_send_ipi(u32 index)
{
	if (index == this_hart_index()) {
		csr_set(sip, SIE_SSIE);
		return;
	}
	sbi_send_ipi(1UL, harts[index].local.hartid);
}

void smp_ipi_interrupt(void)
{
	csr_clear(sip, SIE_SSIE);
	this_kernel_hart()->ipis_taken++;
}

void secondary_main(u64 hartid, u64 index)
{
	struct hart_local *h = this_hart();
	trap_init_hart();
	vm_boot_enable_paging();
	h->hartid = (u32)hartid;
	h->index = (u32)index;
	timer_init_hart();
	csr_set(sie, SIE_SSIE | SIE_STIE);
	__atomic_store_n(&h->online, true, __ATOMIC_RELEASE);
	__atomic_fetch_or(&harts_online_mask, 1u << index, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&nr_harts_online, 1, __ATOMIC_ACQ_REL);
	scheduler_loop();
}

void smp_boot_secondaries(const struct machine_desc *m, u64 entry)
{
	u32 me = this_hart()->hartid, next = 1;

	if (!sbi_info.has_hsm) {
		printk("smp: firmware has no HSM extension: running on one hart\n");
		return;
	}
	for (int i = 0; i < m->nharts; i++) {
		const struct hart_desc *hd = &m->harts[i];
		if (hd->hartid == me) continue;
		if (!dt_hart_usable(hd)) {
			printk("smp: hart %u skipped (%s)\n", hd->hartid, hd->enabled ? "no Sv39" : "disabled");
			continue;
		}
		if (next == MAX_HARTS) {
			printk("smp: hart %u skipped: at most %d harts are supported\n", hd->hartid, MAX_HARTS);
			continue;
		}
		u32 idx = next++;
		harts[idx].local.hartid = hd->hartid;
		harts[idx].local.index = idx;
		hart_locals[idx] = &harts[idx].local;
		hart_boot_args[idx].sp = (uptr)boot_stacks[idx] + BOOT_STACK_SIZE;
		hart_boot_args[idx].tp = (uptr)&harts[idx];
		mb();
		long err = sbi_hart_start(hd->hartid, entry, idx);
		if (err) {
			printk("smp: hart %u did not start (SBI error %ld)\n", hd->hartid, err);
			continue;
		}
		u64 deadline = rdtime() + timer_hz();
		while (!__atomic_load_n(&harts[idx].local.online, __ATOMIC_ACQUIRE) && rdtime() < deadline) cpu_relax();
		if (!harts[idx].local.online) printk("smp: hart %u did not come online within 1 s\n", hd->hartid);
	}
}

int smp_call_on(u32 index, void (*fn)(void *), void *arg)
{
	if (index >= MAX_HARTS || !(smp_online_mask() & (1u << index))) return -EINVAL;
	struct call_box *b = &call_boxes[index];
	while (__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE)) cpu_relax();
	b->fn = fn;
	b->arg = arg;
	__atomic_store_n(&b->busy, 1, __ATOMIC_RELEASE);
	smp_send_ipi(index);
	return 0;
}

void smp_idle_poll(void)
{
	struct call_box *b = &call_boxes[this_hart_index()];
	if (__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE)) {
		b->fn(b->arg);
		__atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE);
	}
}

void smp_wait_all(void)
{
	for (u32 i = 0; i < MAX_HARTS; i++)
		while (__atomic_load_n(&call_boxes[i].busy, __ATOMIC_ACQUIRE)) {
			if (i == this_hart_index()) smp_idle_poll();
			cpu_relax();
		}
}
