/* Secondary hart bring-up through SBI HSM, a one-slot call box per hart that tests and benchmarks use
 * to run workers on several harts at once, and a start barrier for them. Every cross-hart wait here
 * sleeps in wfi and is ended by the other hart's IPI (hart_wait_until): a spinning vCPU starves the
 * others under QEMU 7.2's round-robin icount scheduler. */
#include "kernel/smp.h"
#include "kernel/task.h"
#include "boot/boot.h"
#include "kernel/timer.h"
#include "kernel/trap.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "platform/devtree.h"
#include "platform/sbi.h"
#include "vm/kvfree_rcu.h"
#include "vm/layout.h"
#include "vm/vm_boot.h"


struct call_box {
	void (*fn)(void *);
	void *arg;
	volatile int busy;
	u32 caller; /* hart index to kick when the call is done */
};
static struct call_box call_boxes[MAX_HARTS];

u64 smp_online_mask(void) { return __atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE); }

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
	__atomic_fetch_or(&harts_online_mask, 1ULL << index, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&nr_harts_online, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&h->online, true, __ATOMIC_RELEASE);
	smp_send_ipi(0); /* the boot hart sleeps until this hart is online */
	scheduler_loop();
}

void smp_boot_secondaries(const struct machine_desc *m)
{
	u32 me = this_hart()->hartid, next = 1;
	u64 entry = (uptr)_secondary_entry - KERNEL_VBASE + KERNEL_PBASE;

	if (!sbi_info.has_hsm) {
		printk("smp: firmware has no HSM extension: running on one hart\n");
		return;
	}
	hart_kick = smp_send_ipi;
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
		hart_locals[idx].hartid = hd->hartid;
		hart_locals[idx].index = idx;
		hart_boot_args[idx].sp = (uptr)boot_stacks[idx] + BOOT_STACK_SIZE;
		hart_boot_args[idx].tp = (uptr)&hart_locals[idx];
		mb();
		long err = sbi_hart_start(hd->hartid, entry, idx);
		if (err) {
			printk("smp: hart %u did not start (SBI error %ld)\n", hd->hartid, err);
			continue;
		}
		u64 deadline = rdtime() + timer_hz();
		hart_wait_until(__atomic_load_n(&hart_locals[idx].online, __ATOMIC_ACQUIRE) || rdtime() >= deadline);
		if (!hart_locals[idx].online) printk("smp: hart %u did not come online within 1 s\n", hd->hartid);
	}
}

int smp_call_on(u32 index, void (*fn)(void *), void *arg)
{
	if (index >= MAX_HARTS || !((smp_online_mask() >> index) & 1)) return -EINVAL;
	struct call_box *b = &call_boxes[index];
	hart_wait_until(!__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE));
	b->fn = fn;
	b->arg = arg;
	b->caller = this_hart_index();
	__atomic_store_n(&b->busy, 1, __ATOMIC_RELEASE);
	smp_send_ipi(index);
	return 0;
}

void smp_idle_poll(void)
{
	struct call_box *b = &call_boxes[this_hart_index()];
	if (__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE)) {
		u32 caller = b->caller;
		b->fn(b->arg);
		__atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE);
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
		__atomic_store_n(&b->generation, gen + 1, __ATOMIC_RELEASE);
		harts_kick_others();
		return;
	}
	hart_wait_until(__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != gen);
}

/* Every IPI wakes its target from wfi (that is what most are for: a call box, a lock released, a
 * barrier passed); one that carries a TLB shootdown request is also served here, and the hart reports
 * a quiescent state if the code it interrupted is outside RCU read-side sections. */
void ipi_interrupt(void)
{
	tlb_shootdown_service();
	rcu_note_qs();
}
