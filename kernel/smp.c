/* Secondary hart bring-up through SBI HSM, and a one-slot call box per hart that tests and benchmarks use
 * to run workers on several harts at once. */
#include "kernel/smp.h"
#include "kernel/task.h"
#include "boot/boot.h"
#include "kernel/timer.h"
#include "kernel/trap.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "platform/devtree.h"
#include "platform/sbi.h"
#include "vm/layout.h"
#include "vm/page_alloc.h"
#include "vm/vm_boot.h"
#include "vm/vm_pages.h"


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
	sbi_send_ipi(1UL, hart_locals[index].hartid);
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

#define HSM_START_PENDING 2

/* The usable harts other than this one, by hartid: real harts are numbered from 0 on every machine we
 * know, and a tree may list them in any order, or list harts the machine does not have. */
static int secondary_order(const struct machine_desc *m, u32 me, u16 *order)
{
	int n = 0;

	for (int i = 0; i < m->nharts; i++) {
		const struct hart_desc *hd = &m->harts[i];
		if (hd->hartid == me) continue;
		if (!dt_hart_usable(hd)) {
			printk("smp: hart %u skipped (%s)\n", hd->hartid, hd->enabled ? "no Sv39" : "disabled");
			continue;
		}
		int j = n++;
		for (; j > 0 && m->harts[order[j - 1]].hartid > hd->hartid; j--) order[j] = order[j - 1];
		order[j] = (u16)i;
	}
	return n;
}

/* Asks the firmware to start hart hd in slot idx; false (and a line saying why) if it refuses. */
static bool start_in_slot(const struct hart_desc *hd, u32 idx, u64 entry, bool numa)
{
	/* A hartid the firmware does not know is refused here at once. */
	long status = sbi_hart_get_status(hd->hartid);
	if (status < 0) {
		printk("smp: hart %u is in the device tree but not in the machine (SBI error %ld): skipped\n",
		       hd->hartid, status);
		return false;
	}
	hart_locals[idx].hartid = hd->hartid;
	hart_locals[idx].index = idx;
	hart_locals[idx].online = false;
	vm_pages_set_hart_node(idx, numa ? hd->node : PA_ANY_NODE);
	hart_boot_args[idx].sp = (uptr)boot_stacks[idx] + BOOT_STACK_SIZE;
	hart_boot_args[idx].tp = (uptr)&hart_locals[idx];
	mb();
	long err = sbi_hart_start(hd->hartid, entry, idx);
	if (err) printk("smp: hart %u did not start (SBI error %ld)\n", hd->hartid, err);
	return err == 0;
}

/*
 * Starts the secondaries one at a time in hartid order, each given up to 1 s to come online. A listed hart
 * the machine lacks stays "start pending" in the firmware (which believes the tree) and never arrives;
 * the first such hart ends the bring-up, and the harts listed above it are reported, not tried, so a
 * tree listing 64 harts for a 2-hart machine costs one second, not 62. Slot indices stay dense (tests
 * and per-hart tables count harts 0..nr_harts_online-1), so a hart that fails keeps no slot.
 */
void smp_boot_secondaries(const struct machine_desc *m)
{
	static u16 order[DT_MAX_HARTS];
	u32 me = this_hart()->hartid, idx = 1;
	u64 entry = (uptr)_secondary_entry - KERNEL_VBASE + KERNEL_PBASE;
	int n, next = 0;

	if (!sbi_info.has_hsm) {
		printk("smp: firmware has no HSM extension: running on one hart\n");
		return;
	}
	n = secondary_order(m, me, order);
	while (next < n && idx < MAX_HARTS) {
		const struct hart_desc *hd = &m->harts[order[next++]];
		if (!start_in_slot(hd, idx, entry, dt_max_node(m) > 0)) continue;
		u64 deadline = rdtime() + timer_hz();
		while (!__atomic_load_n(&hart_locals[idx].online, __ATOMIC_ACQUIRE) && rdtime() < deadline) cpu_relax();
		if (hart_locals[idx].online) {
			idx++;
			continue;
		}
		long st = sbi_hart_get_status(hd->hartid);
		if (st == HSM_START_PENDING) {
			printk("smp: hart %u never answered its start: not in this machine; the %d harts listed above it "
			       "are taken to be absent too\n", hd->hartid, n - next);
			return;
		}
		/* Started but late: it may yet run on this slot's stack, so the slot is never reused. */
		printk("smp: hart %u did not come online within 1 s (HSM state %ld): no more harts started\n",
		       hd->hartid, st);
		return;
	}
	for (; next < n; next++)
		printk("smp: hart %u skipped: at most %d harts are supported (MAX_HARTS)\n", m->harts[order[next]].hartid,
		       MAX_HARTS);
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
