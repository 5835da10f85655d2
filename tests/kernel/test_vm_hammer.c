/* Suite `vm_hammer`: every hart hammers vmalloc / vzalloc / vfree / vrealloc / vmap / vunmap /
 * vm_map_ram / vm_unmap_ram, some calls with interrupts masked, while timer interrupts allocate, map and
 * free (vfree from interrupt context = vfree_atomic), with a tiny lazy threshold so purges run all the
 * time. Every new mapping is checked through the direct map: a store through the new virtual address
 * must land in the physical page the page tables name (a stale translation left by a lost fence sends
 * it to the old page). Once with each remote-fence mechanism. Suite `vm_hammer_wait`: a wait with
 * interrupts masked sleeps. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "lib/tlb_shootdown.h"
#include "platform/tlb_remote.h"
#include "vm/buddy.h"
#include "vm/layout.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

#define HS 24        /* slots per worker */
#define HP 8         /* own pages per worker for vmap / vm_map_ram */
#define IRQ_BOX 32

enum kind { K_NONE, K_VMALLOC, K_MAPRAM, K_VMAP };

struct hslot {
	u8 *p;
	u32 pages;
	u32 kind;
	u64 tag;
};

struct hworker {
	u64 rng, me;
	u64 stale, bad, allocfail, ops, irqoff_ops;
	u64 pas[HP];
	struct page *pg[HP];
	struct hslot s[HS];
};

static struct hworker hw[MAX_HARTS];
static struct smp_barrier h_start;
/* Operations per hart: fewer under SBI RFENCE, where each purge's fence waits inside OpenSBI for every
 * target vCPU to run (37 ms a fence with 4 vCPUs on 2 busy host cores), as the README says. */
static u64 h_ops;
static void *irq_free_box[IRQ_BOX];  /* process context -> tick: freed there (vfree_atomic) */
static void *irq_made_box[IRQ_BOX];  /* tick -> process context: vmalloc'ed in the tick */
static void *irq_map_box[IRQ_BOX];   /* tick -> process context: vm_map_ram'ed in the tick */
static u64 irq_page;                 /* the page ticks map */
static volatile u32 irq_stop;
static u64 irq_runs, irq_frees, irq_allocs, irq_maps;

static u64 hnext(struct hworker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static bool box_put(void **box, void *p)
{
	for (u32 i = 0; i < IRQ_BOX; i++) {
		void *expect = NULL;
		if (__atomic_compare_exchange_n(&box[i], &expect, p, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return true;
	}
	return false;
}

static void *box_take(void **box, u32 i) { return __atomic_exchange_n(&box[i % IRQ_BOX], NULL, __ATOMIC_ACQ_REL); }

static void tick_hook(void)
{
	__atomic_fetch_add(&irq_runs, 1, __ATOMIC_RELAXED);
	for (u32 i = 0; i < IRQ_BOX; i++) {
		void *p = box_take(irq_free_box, i);
		if (p) {
			vfree(p); /* in interrupt: vfree_atomic */
			__atomic_fetch_add(&irq_frees, 1, __ATOMIC_RELAXED);
		}
	}
	void *q = vmalloc(PAGE_SIZE);
	if (q) {
		*(u64 *)q = 0x1234;
		if (box_put(irq_made_box, q)) __atomic_fetch_add(&irq_allocs, 1, __ATOMIC_RELAXED);
		else vfree(q);
	}
	/* a slot reserved first: a mapping must never be lost (it is unmapped in process context) */
	for (u32 i = 0; i < IRQ_BOX; i++) {
		void *expect = NULL;
		if (!__atomic_compare_exchange_n(&irq_map_box[i], &expect, (void *)1, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		struct page *pg = pa_to_page(irq_page);
		void *m = vm_map_ram(&pg, 1, NUMA_NO_NODE);
		if (m) {
			*(volatile u64 *)m = 0x5678;
			__atomic_fetch_add(&irq_maps, 1, __ATOMIC_RELAXED);
		}
		store_release(irq_map_box[i], m);
		break;
	}
	if (!READ_ONCE(irq_stop)) timer_run_in_irq_once(tick_hook);
}

/* Stores the tag through the new mapping and checks it arrived in the physical page the tables name. */
static void tag_and_check(struct hworker *w, struct hslot *s, const u64 *pas)
{
	for (u32 i = 0; i < s->pages; i++) {
		u64 *v = (u64 *)(s->p + (u64)i * PAGE_SIZE);
		u64 t = s->tag + i;
		v[0] = t;
		v[PAGE_SIZE / 8 - 1] = ~t;
		u64 pa = pas ? pas[i] : vmalloc_to_pa(v);
		if (!pa) { w->bad++; continue; }
		const volatile u64 *d = phys_to_virt(pa);
		if (d[0] != t || d[PAGE_SIZE / 8 - 1] != ~t) {
			if (w->stale < 4)
				printk("# vm_hammer: hart %lu: store to %p (pa 0x%lx) did not reach it: 0x%lx (stale TLB?)\n",
				       w->me, v, pa, d[0]);
			w->stale++;
		}
	}
}

static bool still_tagged(struct hslot *s)
{
	for (u32 i = 0; i < s->pages; i++) {
		u64 *v = (u64 *)(s->p + (u64)i * PAGE_SIZE);
		if (v[0] != s->tag + i || v[PAGE_SIZE / 8 - 1] != ~(s->tag + i)) return false;
	}
	return true;
}

static void slot_free(struct hworker *w, struct hslot *s, u64 how)
{
	switch (s->kind) {
	case K_VMALLOC:
		if (how % 5 == 0 && box_put(irq_free_box, s->p)) break;
		if (how % 5 == 1) {
			unsigned long f = irq_save();
			vfree_atomic(s->p);
			irq_restore(f);
			break;
		}
		vfree(s->p);
		break;
	case K_MAPRAM: vm_unmap_ram(s->p, s->pages); break;
	case K_VMAP: vunmap(s->p); break;
	}
	(void)w;
	s->p = NULL;
	s->kind = K_NONE;
}

static void one_op(struct hworker *w, u64 op)
{
	struct hslot *s = &w->s[hnext(w) % HS];
	u64 r = hnext(w);
	if (!s->p) {
		u32 k = r % 4;
		s->tag = (w->me << 56) | (op << 8);
		if (k <= 1) {
			s->pages = (u32)(r >> 8) % 6 + 1;
			s->p = (r >> 16) & 1 ? vzalloc((u64)s->pages * PAGE_SIZE) : vmalloc((u64)s->pages * PAGE_SIZE);
			if (!s->p) { w->allocfail++; return; }
			s->kind = K_VMALLOC;
			tag_and_check(w, s, NULL);
		} else {
			/* vmap / vm_map_ram of a rotating window of this worker's own pages; the pages are shared
			 * between slots, so only the fresh store is checked (through the direct map). */
			u32 first = (u32)(r >> 8) % HP;
			u32 n = (u32)(r >> 16) % 4 + 1;
			if (first + n > HP) n = HP - first;
			s->pages = n;
			s->p = k == 2 ? vm_map_ram(&w->pg[first], n, NUMA_NO_NODE) : vmap(&w->pg[first], n, 0, 0);
			if (!s->p) { w->allocfail++; return; }
			s->kind = k == 2 ? K_MAPRAM : K_VMAP;
			tag_and_check(w, s, &w->pas[first]);
			/* one-shot mapping: its pages are shared, so it is unmapped at once or soon */
			if ((r >> 24) & 1) slot_free(w, s, r >> 32);
		}
		return;
	}
	if (s->kind == K_VMALLOC && !still_tagged(s)) w->bad++;
	if (s->kind == K_VMALLOC && (r & 3) == 0) {
		/* vrealloc: grow or shrink, then tag again */
		u32 np = (u32)(r >> 8) % 8 + 1;
		u8 *q = vrealloc(s->p, (u64)np * PAGE_SIZE, 0);
		if (!q) { w->allocfail++; return; }
		u32 keep = np < s->pages ? np : s->pages;
		for (u32 i = 0; i < keep; i++) {
			u64 *v = (u64 *)(q + (u64)i * PAGE_SIZE);
			if (v[0] != s->tag + i) w->bad++;
		}
		s->p = q;
		s->pages = np;
		s->tag += 1ULL << 40;
		tag_and_check(w, s, NULL);
		return;
	}
	if ((r >> 40) % 7 == 0) {
		/* process context with interrupts masked: allowed by vmalloc.h ("interrupts on or off") */
		unsigned long f = irq_save();
		slot_free(w, s, r >> 8);
		irq_restore(f);
		w->irqoff_ops++;
	} else {
		slot_free(w, s, r >> 8);
	}
}

static void take_irq_boxes(void)
{
	for (u32 i = 0; i < IRQ_BOX; i++) {
		void *p = box_take(irq_made_box, i);
		if (p) vfree(p);
		void *m = __atomic_load_n(&irq_map_box[i], __ATOMIC_ACQUIRE);
		if (m && m != (void *)1 && __atomic_compare_exchange_n(&irq_map_box[i], &m, NULL, false, __ATOMIC_ACQ_REL,
									 __ATOMIC_RELAXED))
			vm_unmap_ram(m, 1);
	}
}

static void hammer_worker(void *arg)
{
	struct hworker *w = arg;
	smp_barrier_wait(&h_start);
	for (u64 op = 0; op < h_ops; op++, w->ops++) {
		one_op(w, op);
		if ((op & 63) == 0) take_irq_boxes();
	}
	for (u32 i = 0; i < HS; i++) {
		struct hslot *s = &w->s[i];
		if (!s->p) continue;
		if (s->kind == K_VMALLOC && !still_tagged(s)) w->bad++;
		slot_free(w, s, 2);
	}
	take_irq_boxes();
}

static void hammer(struct ktest *t, enum tlb_remote_mech m, u64 per_hart)
{
	h_ops = per_hart;
	u64 lazy = 16, old = vm_lazy_max_pages();
	enum tlb_remote_mech oldm = tlb_remote_set_mech(m);
	u32 harts = nr_harts_online;
	struct vm_stats a, b;
	vm_map_ram_quiesce(); /* hart blocks are live areas: count without them */
	vm_purge();
	vm_get_stats(&a);
	u64 areas = vm_live_areas();
	u64 al0, sl0, pl0, al1, sl1, pl1;
	vm_lock_counts(&al0, &sl0, &pl0);
	vm_set_lazy_max_pages(lazy);
	memset(hw, 0, sizeof(hw));
	irq_page = page_cache_alloc(PA_ANY_NODE);
	KT_ASSERT(t, irq_page);
	for (u32 h = 0; h < harts; h++) {
		hw[h].me = h;
		hw[h].rng = 0x9e3779b97f4a7c15ULL * (h + 11) + (u64)m;
		for (u32 i = 0; i < HP; i++) {
			hw[h].pas[i] = page_cache_alloc(PA_ANY_NODE);
			KT_ASSERT(t, hw[h].pas[i]);
			hw[h].pg[i] = pa_to_page(hw[h].pas[i]);
		}
	}
	irq_stop = 0;
	irq_runs = irq_frees = irq_allocs = irq_maps = 0;
	timer_run_in_irq_once(tick_hook);
	smp_barrier_init(&h_start, harts);
	u64 t0 = rdtime();
	for (u32 h = 1; h < harts; h++) KT_ASSERT(t, smp_call_on(h, hammer_worker, &hw[h]) == 0);
	hammer_worker(&hw[0]);
	smp_wait_all();
	WRITE_ONCE(irq_stop, 1);
	/* let a last tick run, then collect what the ticks left */
	for (u64 end = rdtime() + timer_hz() / 20; rdtime() < end;) {
		u64 tk = this_hart()->ticks;
		hart_wait_until(this_hart()->ticks != tk || rdtime() >= end);
	}
	timer_run_in_irq_once(NULL);
	take_irq_boxes();
	for (u32 i = 0; i < IRQ_BOX; i++) {
		void *p = box_take(irq_free_box, i);
		if (p) vfree(p);
	}
	vm_deferred_drain();
	u64 dt = rdtime() - t0;
	vm_lock_counts(&al1, &sl1, &pl1);
	printk("# vm_hammer: locks taken: arena %lu, stripe %lu, pool %lu\n", al1 - al0, sl1 - sl0, pl1 - pl0);
	vm_set_lazy_max_pages(old);
	vm_map_ram_quiesce();
	vm_purge();
	vm_get_stats(&b);
	u64 stale = 0, bad = 0, fail = 0, ops = 0, irqoff = 0;
	for (u32 h = 0; h < harts; h++) {
		stale += hw[h].stale, bad += hw[h].bad, fail += hw[h].allocfail, ops += hw[h].ops;
		irqoff += hw[h].irqoff_ops;
		for (u32 i = 0; i < HP; i++) page_cache_free(hw[h].pas[i]);
	}
	page_cache_free(irq_page);
	printk("# vm_hammer[%s]: %u harts, %lu ops (%lu irq-off frees), %lu ms, purges %lu, remote fences %lu, ticks ran %lu "
	       "(freed %lu, made %lu, mapped %lu); stale %lu, bad %lu, alloc failures %lu\n",
	       tlb_remote_mech_name(m), harts, ops, irqoff, timer_ticks_to_ns(dt) / 1000000, b.purges - a.purges,
	       b.remote_fences - a.remote_fences, irq_runs, irq_frees, irq_allocs, irq_maps, stale, bad, fail);
	tlb_remote_set_mech(oldm);
	KT_EXPECT(t, stale == 0);
	KT_EXPECT(t, bad == 0);
	KT_EXPECT(t, fail == 0);
	KT_EXPECT(t, vm_live_areas() == areas);
}

static void hammer_ipi(struct ktest *t) { hammer(t, TLB_REMOTE_IPI, 3000); }
static void hammer_sbi(struct ktest *t) { hammer(t, TLB_REMOTE_SBI, 800); }

KTEST_SUITE(vm_hammer, {"hammer_ipi", hammer_ipi}, {"hammer_sbi", hammer_sbi});

/* A cross-hart wait with interrupts masked (allowed: vmalloc.h's process context is "interrupts on or off",
 * and a nested lock's waiter has them off) must still sleep between looks, not spin. */
static volatile u32 masked_flag;
static void set_flag_later(void *arg)
{
	u64 end = rdtime() + timer_hz() / 5; /* 200 ms, sleeping */
	(void)arg;
	hart_wait_until(rdtime() >= end);
	store_release(masked_flag, 1);
	smp_send_ipi(0);
}

static u64 looks_while_waiting(bool masked)
{
	u64 looks = 0;
	masked_flag = 0;
	if (smp_call_on(1, set_flag_later, NULL) != 0) return ~0ULL;
	unsigned long f = masked ? irq_save() : 0;
	hart_wait_until((looks++, __atomic_load_n(&masked_flag, __ATOMIC_ACQUIRE)));
	if (masked) irq_restore(f);
	smp_wait_all();
	return looks;
}

static void masked_wait_sleeps(struct ktest *t)
{
	if (nr_harts_online < 2) {
		ktest_skip(t, "needs a second hart");
		return;
	}
	u64 on = looks_while_waiting(false), off = looks_while_waiting(true);
	printk("# vm_hammer: a 200 ms cross-hart wait looked %lu times with interrupts on, %lu with them masked\n", on, off);
	KT_EXPECT(t, on < 1000);
	KT_EXPECT(t, off < 1000);
}


/* A tick whose handler waits with interrupts masked (timer_interrupt runs its hook first, and a hook may
 * take a contended lock): the wait takes by hand (lib/tlb_shootdown.c) only ticks that come due during
 * it, never the one the handler itself is counting. */
static volatile u64 hook_start, hook_end, hook_done;
static void wait_in_tick(void)
{
	hook_start = rdtime();
	u64 end = hook_start + timer_hz() / 200; /* 5 ms; the wfi may sleep to the next tick */
	hart_wait_until(rdtime() >= end);
	hook_end = rdtime();
	store_release(hook_done, 1);
}

static void tick_counted_once_when_handler_waits(struct ktest *t)
{
	if (nr_harts_online != 1) {
		ktest_skip(t, "the hook must run on this hart");
		return;
	}
	hook_done = 0;
	u64 t0 = READ_ONCE(this_hart()->ticks);
	timer_run_in_irq_once(wait_in_tick);
	while (!__atomic_load_n(&hook_done, __ATOMIC_ACQUIRE)) cpu_relax();
	u64 t2 = READ_ONCE(this_hart()->ticks), due = 1 + (hook_end - hook_start) / (timer_hz() / 100);
	printk("# vm_hammer_wait: a tick whose handler waited %lu us masked counted %lu ticks (%lu came due)\n",
	       (hook_end - hook_start) * 1000000 / timer_hz(), t2 - t0, due);
	KT_EXPECT(t, t2 - t0 <= due);
}

KTEST_SUITE(vm_hammer_wait, {"masked_wait_sleeps", masked_wait_sleeps},
	    {"tick_counted_once_when_handler_waits", tick_counted_once_when_handler_waits});
