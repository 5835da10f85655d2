/* Secondary hart bring-up through SBI HSM, a one-slot call box per hart that tests and benchmarks use
 * to run workers on several harts at once, and a start barrier for them. Every cross-hart wait here
 * sleeps in wfi and is ended by the other hart's IPI (hart_wait_until): a spinning vCPU starves the
 * others under QEMU 7.2's round-robin icount scheduler. */
#include "kernel/smp.h"
#include "kernel/hart.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "platform/devtree.h"
#include "platform/ipi.h"
#include "platform/sbi.h"
#include "lib/rcu.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/vm_boot.h"
#include "vm/page_cache.h"

struct hart harts[MAX_HARTS];
u8 boot_stacks[MAX_HARTS][BOOT_STACK_SIZE] __aligned(16);
struct hart_boot_arg hart_boot_args[MAX_HARTS];

struct call_box {
	void (*fn)(void *);
	void *arg;
	volatile int busy;
	u32 caller; /* hart index to kick when the call is done */
};
static struct call_box call_boxes[MAX_HARTS];

bool smp_hart_online(u32 index) { return hartset_atomic_test(&harts_online, index, __ATOMIC_ACQUIRE); }

void smp_send_ipi(u32 index)
{
	if (index == this_hart_index()) {
		csr_set(sip, SIE_SSIE);
		return;
	}
	ipi_send(harts[index].local.hartid);
}

void smp_ipi_interrupt(void)
{
	csr_clear(sip, SIE_SSIE);
	this_kernel_hart()->ipis_taken++;
	/* Every IPI wakes its target from wfi (that is what most are for: a call box, a lock released, a
	 * barrier passed); one that carries a TLB shootdown request is also served here, and the hart
	 * reports a quiescent state if the code it interrupted is outside RCU read-side sections. */
	tlb_shootdown_service();
	rcu_note_qs();
}

#define HSM_STOPPED 1
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
	harts[idx].local.hartid = hd->hartid;
	harts[idx].local.index = idx;
	harts[idx].local.online = false;
	hart_locals[idx] = &harts[idx].local;
	page_cache_set_hart_node(idx, numa ? hd->node : PA_ANY_NODE);
	hart_boot_args[idx].sp = (uptr)boot_stacks[idx] + BOOT_STACK_SIZE;
	hart_boot_args[idx].tp = (uptr)&harts[idx];
	mb();
	long err = sbi_hart_start(hd->hartid, entry, idx);
	if (err) printk("smp: hart %u did not start (SBI error %ld)\n", hd->hartid, err);
	return err == 0;
}

/*
 * Starts the secondaries one at a time in hartid order, each given up to 1 s plus 50 ms per listed hart to
 * come online, or 8 times the longest any hart took so far if that is more. A listed hart the machine
 * lacks stays "start pending" in the firmware (which believes the tree) and never arrives; the first such
 * hart ends the bring-up, and the harts listed above it are reported, not tried, so a tree listing 64
 * harts for a 2-hart machine costs four seconds, not 62 times that. The scaled waits are for a crowded
 * host: at -smp 128 on 2 busy cores the other 127 harts are still in the firmware's own start-up when
 * the first is asked to start, and harts took ~0.6 s each; with a flat 1 s, hart 1 (once) and hart 47
 * (once) were taken for absent, ending the bring-up there. Slot indices stay dense (tests and per-hart
 * tables count harts 0..nr_harts_online-1), so a hart that fails keeps no slot.
 */
void smp_boot_secondaries(const struct machine_desc *m, u64 entry)
{
	static u16 order[DT_MAX_HARTS];
	u32 me = this_hart()->hartid, idx = 1;
	int n, next = 0;
	u64 slowest = 0; /* timer ticks the slowest hart so far took to come online */

	if (!sbi_info.has_hsm) {
		printk("smp: firmware has no HSM extension: running on one hart\n");
		return;
	}
	hart_kick = smp_send_ipi;
	if (ipi_provider() == IPI_IMSIC) hart_ipi_claim = ipi_claim;
	n = secondary_order(m, me, order);
	bool retried = false;
	while (next < n && idx < MAX_HARTS) {
		const struct hart_desc *hd = &m->harts[order[next++]];
		if (!start_in_slot(hd, idx, entry, dt_max_node(m) > 0)) continue;
		u64 t0 = rdtime(), deadline = t0 + MAX(timer_hz() + (u64)n * timer_hz() / 20, 8 * slowest);
		hart_wait_until(__atomic_load_n(&harts[idx].local.online, __ATOMIC_ACQUIRE) || rdtime() >= deadline);
		if (harts[idx].local.online) {
			slowest = MAX(slowest, rdtime() - t0);
			idx++;
			continue;
		}
		long st = sbi_hart_get_status(hd->hartid);
		/* Stopped again with its start accepted: the firmware lost the start (seen once, hart 1 of 2 on a
		 * loaded host). A stopped hart runs none of our code, so its slot is safe to start it in again;
		 * once per bring-up, so a hart that keeps stopping costs one more wait, not a loop. */
		if (st == HSM_STOPPED && !retried) {
			retried = true;
			printk("smp: hart %u stopped without starting (%lu ms): starting it once more\n", hd->hartid,
			       timer_ticks_to_ns(rdtime() - t0) / 1000000);
			next--;
			continue;
		}
		if (st == HSM_START_PENDING) {
			printk("smp: hart %u never answered its start (%lu ms): not in this machine; the %d harts listed "
			       "above it are taken to be absent too\n", hd->hartid, timer_ticks_to_ns(deadline - t0) / 1000000,
			       n - next);
			return;
		}
		/* Started but late: it may yet run on this slot's stack, so the slot is never reused. */
		printk("smp: hart %u did not come online within %lu ms (HSM state %ld): no more harts started\n",
		       hd->hartid, timer_ticks_to_ns(deadline - t0) / 1000000, st);
		return;
	}
	for (; next < n; next++)
		printk("smp: hart %u skipped: at most %d harts are supported (MAX_HARTS)\n", m->harts[order[next]].hartid,
		       MAX_HARTS);
}

int smp_call_on(u32 index, void (*fn)(void *), void *arg)
{
	if (!smp_hart_online(index)) return -EINVAL; /* false for index >= MAX_HARTS too */
	struct call_box *b = &call_boxes[index];
	hart_wait_until(!__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE));
	b->fn = fn;
	b->arg = arg;
	b->caller = this_hart_index();
	store_release(b->busy, 1);
	smp_send_ipi(index);
	return 0;
}

void smp_idle_poll(void)
{
	struct call_box *b = &call_boxes[this_hart_index()];
	if (__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE)) {
		u32 caller = b->caller;
		b->fn(b->arg);
		store_release(b->busy, 0);
		smp_send_ipi(caller);
	}
}

void smp_wait_all(void)
{
	smp_idle_poll(); /* a call queued on this hart itself runs here */
	for (u32 i = 0; i < MAX_HARTS; i++)
		hart_wait_until(!__atomic_load_n(&call_boxes[i].busy, __ATOMIC_ACQUIRE));
}

void smp_barrier_init(struct smp_barrier *b, u32 parties)
{
	b->parties = parties;
	b->arrived = 0;
	b->generation = 0;
}

void smp_barrier_wait(struct smp_barrier *b)
{
	u32 gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->parties) {
		b->arrived = 0;
		store_release(b->generation, gen + 1);
		harts_kick_others();
		return;
	}
	hart_wait_until(__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != gen);
}

