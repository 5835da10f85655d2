/* Suite `tlb_remote`: both remote-fence mechanisms (SBI RFENCE and the IPI shootdown) really make another
 * hart forget a translation it has cached, and a purge batch costs exactly one remote fence call by the
 * mechanism in force. A stale translation is made on purpose: a page's PTE is pointed at another page
 * while a remote hart holds the old translation, and what that hart reads is looked at before and after
 * the fence. */
#include "kernel/hart.h"
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "platform/ipi.h"
#include "platform/tlb_remote.h"
#include "lib/tlb_shootdown.h"
#include "vm/pt.h"
#include "vm/vm_boot.h"
#include "vm/vmalloc.h"
#include "tests/kernel/purge_batch.h"

#define MARK_OLD 0x01d01d01d01d01d0ULL
#define MARK_NEW 0x4e404e404e404e40ULL

/* The remote hart's side of one check, run from its call box: it caches the translation, then only polls
 * memory until told to read again, so that nothing reaches it between the PTE change and the fence but
 * the fence itself (an IPI delivered through the SBI firmware may flush its TLB by the way, which would
 * hide the stale entry). Interrupts stay on: the IPI shootdown's interrupt must get in. Each wait is
 * bounded by a deadline; a phase that never comes leaves its value 0 and the check fails. */
struct probe {
	volatile u64 *va;
	u32 phase; /* 1: cached, 2: PTE changed, 3: read before, 4: fenced, 5: read after */
	u64 first, before, after;
};

#define PROBE_WAIT_TICKS(hz) (2 * (hz))

/* Both harts sleep in wfi between phases (a spinning vCPU starves the other under QEMU's round-robin
 * icount), woken by set_phase's kick or at worst the tick. Neither wfi nor an interrupt empties a TLB. */
static bool wait_phase(struct probe *p, u32 want)
{
	u64 deadline = rdtime() + PROBE_WAIT_TICKS(timer_hz());
	hart_wait_until(__atomic_load_n(&p->phase, __ATOMIC_ACQUIRE) >= want || rdtime() > deadline);
	return __atomic_load_n(&p->phase, __ATOMIC_ACQUIRE) >= want;
}

static void set_phase(struct probe *p, u32 phase)
{
	store_release(p->phase, phase);
	harts_kick_others();
}

static void probe_on_hart(void *arg)
{
	struct probe *p = arg;
	p->first = *p->va;
	set_phase(p, 1);
	if (!wait_phase(p, 2)) return;
	p->before = *p->va;
	set_phase(p, 3);
	if (!wait_phase(p, 4)) return;
	p->after = *p->va;
	set_phase(p, 5);
}

/* Page 0 of a two-page area is remapped to page 1's frame without any fence while `hart` caches page 0's
 * translation; then mechanism m fences that hart alone. The hart must read the old value before the
 * fence (the translation really was cached: otherwise the fence proved nothing) and the new one after. */
static void stale_then_fenced(struct ktest *t, enum tlb_remote_mech m)
{
	/* The highest index: past 64 harts it sits in the sets' second word and SBI's second hartid chunk. */
	const u32 hart = nr_harts_online - 1;
	struct hartset target;
	hartset_only(&target, hart);
	u64 *area = vmalloc(2 * PAGE_SIZE);
	KT_ASSERT(t, area);
	volatile u64 *p0 = area, *p1 = area + PAGE_SIZE / sizeof(u64);
	*p0 = MARK_OLD;
	*p1 = MARK_NEW;
	struct pt_walk w0, w1;
	KT_ASSERT(t, pt_walk(kernel_root_pa, (u64)p0, &w0) == 0 && pt_walk(kernel_root_pa, (u64)p1, &w1) == 0);
	KT_ASSERT(t, w0.level == 0 && w1.level == 0);
	static struct probe pr;
	pr = (struct probe){.va = p0};
	KT_ASSERT(t, smp_call_on(hart, probe_on_hart, &pr) == 0);
	pte_t saved = *w0.slot;
	bool cached = wait_phase(&pr, 1);
	WRITE_ONCE(*w0.slot, pte_make(pte_pa(w1.pte), saved & ~PTE_PPN_MASK));
	mb();
	set_phase(&pr, 2);
	bool read_before = wait_phase(&pr, 3);
	u32 fenced = tlb_remote_flush_by(m, &target, (u64)p0, PAGE_SIZE, -1);
	set_phase(&pr, 4);
	bool read_after = wait_phase(&pr, 5);
	smp_wait_all();
	printk("# tlb_remote %s: hart %u read 0x%lx, then 0x%lx after the PTE change, 0x%lx after the fence\n",
	       tlb_remote_mech_name(m), hart, pr.first, pr.before, pr.after);
	KT_EXPECT(t, cached && read_before && read_after && fenced == 1);
	KT_EXPECT(t, pr.first == MARK_OLD);
	KT_EXPECT(t, pr.before == MARK_OLD); /* stale: the translation was cached */
	KT_EXPECT(t, pr.after == MARK_NEW);  /* the fence made the hart walk the table again */
	/* Frame 0 back, and every hart (this one included) forgets the alias before the free. */
	WRITE_ONCE(*w0.slot, saved);
	mb();
	local_flush_tlb_all();
	tlb_remote_flush_by(m, NULL, 0, 0, -1);
	KT_EXPECT(t, *p0 == MARK_OLD);
	vfree(area);
}

static bool two_harts(struct ktest *t)
{
	if (nr_harts_online > 1) return true;
	/* Alone, there is nobody to fence: no call is made by either mechanism. */
	u64 s = tlb_remote_calls(TLB_REMOTE_SBI), i = tlb_remote_calls(TLB_REMOTE_IPI);
	struct hartset all;
	hartset_fill(&all);
	KT_EXPECT(t, tlb_remote_flush_by(TLB_REMOTE_SBI, &all, 0, 0, -1) == 0);
	KT_EXPECT(t, tlb_remote_flush_by(TLB_REMOTE_IPI, NULL, 0, 0, -1) == 0);
	KT_EXPECT(t, tlb_remote_calls(TLB_REMOTE_SBI) == s && tlb_remote_calls(TLB_REMOTE_IPI) == i);
	return false;
}

static void sbi_rfence_invalidates_remote(struct ktest *t)
{
	if (two_harts(t)) stale_then_fenced(t, TLB_REMOTE_SBI);
}

static void ipi_shootdown_invalidates_remote(struct ktest *t)
{
	if (two_harts(t)) stale_then_fenced(t, TLB_REMOTE_IPI);
}

/* 100 single-page vfrees (below any threshold: nothing purges them early), then one purge. */
static void one_call_per_batch(struct ktest *t, enum tlb_remote_mech m)
{
	enum tlb_remote_mech old = tlb_remote_set_mech(m);
	vm_purge();
	vm_purge_wait_idle();
	struct vm_stats a, b;
	u64 calls = tlb_remote_calls(m), ecalls = tlb_remote_sbi_ecalls();
	park_100_then_purge(t, &a, &b);
	u64 made = tlb_remote_calls(m) - calls, sbi = tlb_remote_sbi_ecalls() - ecalls;
	tlb_remote_set_mech(old);
	/* SBI: one ecall per 64-hartid chunk of the other harts (two past 64 harts on virt). */
	static unsigned long masks[MAX_HARTS], bases[MAX_HARTS];
	struct hartset others;
	harts_online_others(&others);
	u32 chunks = harts_sbi_chunks(&others, masks, bases);
	printk("# tlb_remote %s: a purge of 100 areas on %u harts made %lu remote fence calls, %lu SBI ecalls "
	       "(%u hartid chunks)\n", tlb_remote_mech_name(m), nr_harts_online, made, sbi, chunks);
	KT_EXPECT(t, b.purges == a.purges + 1);
	KT_EXPECT(t, made == (nr_harts_online > 1 ? 1u : 0u));
	KT_EXPECT(t, sbi == (m == TLB_REMOTE_SBI ? chunks : 0u));
}

static void purge_one_sbi_call(struct ktest *t) { one_call_per_batch(t, TLB_REMOTE_SBI); }
static void purge_one_ipi_round(struct ktest *t) { one_call_per_batch(t, TLB_REMOTE_IPI); }

/* The IPI shootdown's IPIs take the path the boot report names: the S-mode device's register (no SBI call
 * at all) where one was chosen, the SBI IPI call otherwise. Every other hart is sent one and must take it. */
static void ipis_take_the_reported_path(struct ktest *t)
{
	static u64 before[MAX_HARTS];
	struct hartset others;
	if (!two_harts(t)) return;
	harts_online_others(&others);
	hartset_for_each(i, &others) before[i] = READ_ONCE(harts[i].ipis_taken);
	u64 sbi = ipi_sbi_sends();
	hartset_for_each(i, &others) smp_send_ipi(i);
	u64 sent_by_sbi = ipi_sbi_sends() - sbi; /* read before anyone answers: the wait below kicks too */
	/* Sleeps in wfi, woken by the tick at worst: a spin here kept the targets from running at all under
	 * QEMU's round-robin icount, and the case failed there. */
	u64 deadline = rdtime() + 2 * timer_hz();
	hartset_for_each(i, &others)
		hart_wait_until(READ_ONCE(harts[i].ipis_taken) != before[i] || rdtime() >= deadline);
	hartset_for_each(i, &others) KT_EXPECT(t, READ_ONCE(harts[i].ipis_taken) > before[i]);
	printk("# tlb_remote: IPIs by %s: %lu of %u went through the SBI\n", ipi_provider_name(), sent_by_sbi,
	       hartset_popcount(&others));
	/* At least one each through the SBI: with 127 targets the first ones woken run their idle loops
	 * (and kick, through the SBI too) before the last is sent, so the count can be higher (184 of 127
	 * seen); never one through the SBI when the device was chosen. */
	if (ipi_is_smode()) KT_EXPECT(t, sent_by_sbi == 0);
	else KT_EXPECT(t, sent_by_sbi >= hartset_popcount(&others));
}

KTEST_SUITE(tlb_remote, {"ipis_take_the_reported_path", ipis_take_the_reported_path}, {"sbi_rfence_invalidates_remote", sbi_rfence_invalidates_remote},
	    {"ipi_shootdown_invalidates_remote", ipi_shootdown_invalidates_remote},
	    {"purge_makes_one_sbi_rfence", purge_one_sbi_call}, {"purge_makes_one_ipi_shootdown", purge_one_ipi_round});
