/* In-kernel checks of the running machine: harts, memory, the kernel's W^X layout, the direct map,
 * the shared vmalloc tables, timer, IPIs and the remote fence path. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "kernel/kfault.h"
#include "kernel/trap.h"
#include "kernel/hart.h"
#include "kernel/main.h"
#include "lib/bootargs.h"
#include "lib/ksyms.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/tlb_shootdown.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "platform/devtree.h"
#include "platform/sbi.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/vm_boot.h"
#include "vm/page_cache.h"


/* Every usable hart of the tree is online, up to MAX_HARTS, unless the firmware shows it never received
 * its start (a hart the tree lists but the machine lacks stays "start pending"). */
static void all_harts_online(struct ktest *t)
{
	u32 usable = 0, absent = 0;
	for (int i = 0; i < machine.nharts; i++) {
		if (!dt_hart_usable(&machine.harts[i])) continue;
		usable++;
		absent += sbi_hart_get_status(machine.harts[i].hartid) == 2; /* SBI HSM START_PENDING */
	}
	KT_EXPECT(t, nr_harts_online <= MIN(usable, (u32)MAX_HARTS));
	KT_EXPECT(t, nr_harts_online == MIN(usable, (u32)MAX_HARTS) || absent > 0);
	struct hartset online, dense;
	hartset_load(&online, &harts_online, __ATOMIC_ACQUIRE);
	hartset_first_n(&dense, nr_harts_online);
	KT_EXPECT(t, hartset_popcount(&online) == nr_harts_online);
	KT_EXPECT(t, hartset_equal(&online, &dense)); /* indices stay dense */
}

static void memory_accounted(struct ktest *t)
{
	u64 bank_pages = 0;
	for (int i = 0; i < machine.nmem; i++) bank_pages += machine.mem[i].size >> PAGE_SHIFT;
	KT_EXPECT(t, buddy_total_pages() > 0 && buddy_total_pages() <= bank_pages);
	KT_EXPECT(t, buddy_free_pages() <= buddy_total_pages());
	KT_EXPECT(t, buddy_check() == 0);
	/* Everything the boot reserved must be out of the allocator's reach. */
	for (int i = 0; i < vm_boot_nresv; i++) {
		struct page *p = pa_to_page(ALIGN_DOWN(vm_boot_resv[i].base, PAGE_SIZE));
		if (p) KT_EXPECT(t, !(p->flags & PG_FREE));
	}
}

static void write_rodata(void *arg);

static u64 leaf_flags(u64 va, int *level)
{
	struct pt_walk w;
	if (pt_walk(kernel_root_pa, va, &w)) return 0;
	*level = w.level;
	return w.pte;
}

static void kernel_w_xor_x(struct ktest *t)
{
	int lvl;
	u64 text = leaf_flags((uptr)_text_start, &lvl), ro = leaf_flags((uptr)_rodata_start, &lvl);
	u64 data = leaf_flags((uptr)_data_start, &lvl), bss = leaf_flags((uptr)__bss_start, &lvl);
	KT_EXPECT(t, (text & PTE_X) && !(text & PTE_W));
	KT_EXPECT(t, (ro & PTE_R) && !(ro & (PTE_W | PTE_X)));
	KT_EXPECT(t, (data & PTE_W) && !(data & PTE_X));
	KT_EXPECT(t, (bss & PTE_W) && !(bss & PTE_X));
	/* No page of the image is writable and executable at once. */
	for (uptr va = (uptr)_text_start; va < (uptr)_kernel_end; va += PAGE_SIZE) {
		u64 f = leaf_flags(va, &lvl);
		KT_ASSERT(t, f & PTE_V);
		KT_ASSERT(t, !((f & PTE_W) && (f & PTE_X)));
	}
}

/* The direct map's alias of text and rodata is neither writable nor executable; data's alias stays
 * writable (the kernel writes through either). A write through the alias faults. */
static void direct_map_alias_of_image_read_only(struct ktest *t)
{
	int lvl;
	for (uptr va = (uptr)_text_start; va < (uptr)_rodata_end; va += PAGE_SIZE) {
		u64 f = leaf_flags((u64)(uptr)phys_to_virt(virt_to_phys((void *)va)), &lvl);
		KT_ASSERT(t, (f & PTE_V) && (f & PTE_R) && !(f & (PTE_W | PTE_X)));
	}
	u64 d = leaf_flags((u64)(uptr)phys_to_virt(virt_to_phys(_data_start)), &lvl);
	KT_EXPECT(t, (d & PTE_W) && !(d & PTE_X));
	struct kfault_report r;
	void *alias = phys_to_virt(virt_to_phys(_rodata_start));
	KT_EXPECT(t, kfault_try(write_rodata, alias, &r) == EXC_STORE_PAGE);
	alias = phys_to_virt(virt_to_phys(_text_start));
	KT_EXPECT(t, kfault_try(write_rodata, alias, &r) == EXC_STORE_PAGE);
}

static void direct_map_uses_large_leaves(struct ktest *t)
{
	int lvl = -1;
	for (int i = 0; i < machine.nmem; i++) {
		u64 base = machine.mem[i].base, end = base + machine.mem[i].size;
		/* Past the kernel image: its text and rodata alias is split into 4 KiB read-only leaves. */
		u64 kend = virt_to_phys(_kernel_end);
		u64 probe = ALIGN_UP(kend > base && kend < end ? kend : base, PMD_SIZE) + PMD_SIZE;
		if (probe + PMD_SIZE > end) continue;
		u64 f = leaf_flags(DMAP_BASE + probe, &lvl);
		KT_EXPECT(t, (f & PTE_V) && !(f & PTE_X) && lvl >= 1);
	}
	KT_EXPECT(t, lvl >= 1);
}

static void vmalloc_tables_prepopulated(struct ktest *t)
{
	pte_t *root = pt_table_va(kernel_root_pa);
	for (u64 va = VMALLOC_START; va < VMALLOC_END; va += PUD_SIZE) {
		pte_t e = root[(va >> 30) & 511];
		KT_ASSERT(t, (e & PTE_V) && !pte_is_leaf(e));
	}
}

static void write_rodata(void *arg) { *(volatile u32 *)arg = 0x1234; }

static void rodata_and_text_are_read_only(struct ktest *t)
{
	struct kfault_report r;
	KT_EXPECT(t, kfault_try(write_rodata, _rodata_start, &r) == EXC_STORE_PAGE);
	KT_EXPECT(t, r.stval == (uptr)_rodata_start);
	KT_EXPECT(t, kfault_try(write_rodata, (void *)(uptr)all_harts_online, &r) == EXC_STORE_PAGE);
}

static u32 data_code[4] __aligned(16) = {0x00008067, 0, 0, 0}; /* "ret", in a data page */

static void jump_to(void *fn) { ((void (*)(void))fn)(); }

static void data_is_not_executable(struct ktest *t)
{
	struct kfault_report r;
	KT_EXPECT(t, kfault_try(jump_to, data_code, &r) == EXC_INST_PAGE);
}

static void timer_ticks(struct ktest *t)
{
	u64 t0 = this_hart()->ticks, deadline = rdtime() + timer_hz() / 10;
	while (rdtime() < deadline) cpu_relax();
	KT_EXPECT(t, this_hart()->ticks > t0); /* 100 Hz tick: at least one in 100 ms */
	KT_EXPECT(t, timer_ticks_to_ns(timer_hz()) == 1000000000ULL);
}

static struct hartset ipi_seen;
static void mark_hart(void *arg) { (void)arg; hartset_atomic_set(&ipi_seen, this_hart_index(), __ATOMIC_RELAXED); }

static void ipi_every_hart(struct ktest *t)
{
	struct hartset others, seen;
	hartset_zero(&ipi_seen);
	harts_online_others(&others);
	hartset_for_each(i, &others) KT_EXPECT(t, smp_call_on(i, mark_hart, NULL) == 0);
	smp_wait_all();
	hartset_load(&seen, &ipi_seen, __ATOMIC_ACQUIRE);
	KT_EXPECT(t, hartset_equal(&seen, &others));
}

/* A waiter whose polls run out before the holder lets go sleeps; after SPIN_FAILURES_TO_ADAPT such waits
 * in a row it halves its poll budget at each one, down to the floor: under QEMU's round-robin icount
 * (one vCPU at a time) polling never pays. Without the halving the budget stays at SPIN_POLL_MAX.
 * The other hart runs every round inside one call and notes its budget before it returns: in its idle
 * loop between calls it could meet some other lock briefly held (128 harts idling share the scheduler's),
 * a short wait that restarts its count and doubles its budget, which is the rule but not this test. */
static spinlock_t contended = SPINLOCK_INIT;
static u32 contended_go, contended_done, contended_budget;
#define CONTENDED_ROUNDS (SPIN_FAILURES_TO_ADAPT + 16)
static void take_contended(void *arg)
{
	u32 main_hart = (u32)(uptr)arg;
	struct hartset main_set;
	hartset_zero(&main_set);
	hartset_set(&main_set, main_hart);
	for (u32 round = 1; round <= CONTENDED_ROUNDS; round++) {
		hart_wait_until(__atomic_load_n(&contended_go, __ATOMIC_ACQUIRE) >= round);
		spin_lock(&contended);
		spin_unlock(&contended);
		if (round == CONTENDED_ROUNDS) WRITE_ONCE(contended_budget, spin_poll_budget(this_hart_index()));
		store_release(contended_done, round);
		harts_kick(&main_set);
	}
}

static void lock_waiter_polls_less_after_sleeping(struct ktest *t)
{
	struct hartset other_set;
	u32 other;
	if (!ktest_other_hart(t, &other)) return;
	hartset_zero(&other_set);
	hartset_set(&other_set, other);
	contended_go = contended_done = 0;
	KT_ASSERT(t, smp_call_on(other, take_contended, (void *)(uptr)this_hart_index()) == 0);
	u32 slept = 0;
	for (u32 round = 1; round <= CONTENDED_ROUNDS; round++) {
		spin_lock(&contended);
		store_release(contended_go, round);
		harts_kick(&other_set);
		/* Held until the other hart has spent its polls and sleeps on the lock (bounded: 10 s). This hart
		 * sleeps meanwhile, its tick waking it to look: under round-robin icount a polling vCPU would
		 * keep the other from ever running. */
		u64 until = timer_now_ns() + 10000000000ULL;
		hart_wait_until(__atomic_load_n(&contended.waiting, __ATOMIC_ACQUIRE) || timer_now_ns() > until);
		slept += __atomic_load_n(&contended.waiting, __ATOMIC_ACQUIRE) != 0;
		spin_unlock(&contended);
		hart_wait_until(__atomic_load_n(&contended_done, __ATOMIC_ACQUIRE) >= round);
	}
	smp_wait_all();
	KT_EXPECT(t, slept == CONTENDED_ROUNDS);
	/* 16 halvings were due after the first 8 sleeps: 4096 down to the floor. Allow for a short wait on a
	 * lock in an interrupt handler meanwhile (it doubles the budget once): at most 1/16 of SPIN_POLL_MAX. */
	KT_EXPECT(t, contended_budget <= SPIN_POLL_MAX / 16);
}

/* An IPI to oneself with interrupts on is taken at once, by the real handler (it counts it). */
static void ipi_handler_runs(struct ktest *t)
{
	KT_ASSERT(t, csr_read(sstatus) & SSTATUS_SIE);
	u64 before = this_kernel_hart()->ipis_taken;
	smp_send_ipi(this_hart_index());
	KT_EXPECT(t, this_kernel_hart()->ipis_taken == before + 1);
	KT_EXPECT(t, !(csr_read(sip) & SIE_SSIE)); /* acknowledged */
}

static void remote_fence_accepted(struct ktest *t)
{
	unsigned long base, mask = harts_other_sbi_mask(&base);
	if (!mask) {
		ktest_skip(t, "single hart");
		return;
	}
	KT_EXPECT(t, sbi_remote_sfence_vma(mask, base, VMALLOC_START, PAGE_SIZE) == 0);
	KT_EXPECT(t, sbi_remote_sfence_vma(mask, base, 0, 0) == 0);
}

static void huge_block_alignment(struct ktest *t)
{
	u64 free0 = buddy_free_pages();
	u64 pa = buddy_alloc_order(9, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa != 0);
	KT_EXPECT(t, IS_ALIGNED(pa, PMD_SIZE));
	buddy_free_order(pa, 9);
	KT_EXPECT(t, buddy_free_pages() == free0);
}

/* Every plain word of the device tree's /chosen/bootargs (no quotes or backslashes, within the length
 * limit) reads back through bootarg_get as the tree has it, found here by a split of our own: the
 * suite running at all only shows that the first test= word was seen. */
static char captured[512];
static size_t captured_n;

static void capture(const char *s, size_t n)
{
	for (size_t i = 0; i < n && captured_n < sizeof(captured) - 1; i++) captured[captured_n++] = s[i];
}

/* Whether `line` is one whole line of what was captured (other harts' lines may sit between). */
static bool captured_line(const char *line)
{
	size_t n = strlen(line);
	for (size_t i = 0; i + n < captured_n; i++)
		if ((i == 0 || captured[i - 1] == '\n') && !memcmp(captured + i, line, n) && captured[i + n] == '\n')
			return true;
	return false;
}

/* The console's line discipline: kernel text and a task's never share a line, whichever left it open
 * (init's "started" line was once split by its own first output, started on another hart between two
 * printk calls), and a task's line that starts as a trace record would gets a backslash. */
static void task_and_kernel_text_never_share_a_line(struct ktest *t)
{
	captured_n = 0;
	console_sink_fn old = console_set_sink(capture);
	console_write("kq7", 3);        /* a kernel line left open */
	console_write_task("tq7\n", 4); /* a task's: a line of its own */
	console_write_task("uq7", 3);   /* a task's line left open */
	console_write("kq8\n", 4);      /* the kernel's: a line of its own */
	console_write_task("@q7\n", 4); /* a forged trace record */
	console_set_sink(old);
	KT_EXPECT(t, captured_line("kq7") && captured_line("tq7") && captured_line("uq7"));
	KT_EXPECT(t, captured_line("kq8") && captured_line("\\@q7"));
}

static void bootargs_visible(struct ktest *t)
{
	const char *line = machine.bootargs;
	KT_ASSERT(t, line != NULL);
	KT_EXPECT(t, !strncmp(bootargs_cmdline(), line, BOOTARGS_MAX_LEN - 1));
	int words = 0, checked = 0;
	for (const char *w = line; *w && w - line < BOOTARGS_MAX_LEN - 1;) {
		if (*w == ' ') {
			w++;
			continue;
		}
		const char *end = w, *eq = NULL;
		bool plain = true;
		for (; *end && *end != ' '; end++) {
			if (*end == '"' || *end == '\\' || (u8)*end < 0x20 || (u8)*end >= 0x7f) plain = false;
			if (*end == '=' && !eq) eq = end;
		}
		if (++words > BOOTARGS_MAX_WORDS || end - line >= BOOTARGS_MAX_LEN - 1) break;
		char key[64], want[256];
		size_t klen = (size_t)((eq ? eq : end) - w), vlen = eq ? (size_t)(end - eq - 1) : 0;
		if (plain && klen && klen < sizeof(key) && vlen < sizeof(want)) {
			memcpy(key, w, klen);
			key[klen] = '\0';
			if (vlen) memcpy(want, eq + 1, vlen);
			want[vlen] = '\0';
			/* The last occurrence of a key wins: only check a word no later word overrides. */
			bool last = true;
			for (const char *r = end; *r; r++)
				if ((r[-1] == ' ') && !strncmp(r, key, klen) && (r[klen] == '=' || r[klen] == ' ' || !r[klen]))
					last = false;
			if (last) {
				const char *got = bootarg_get(key);
				KT_EXPECT(t, got && !strcmp(got, want));
				checked++;
			}
		}
		w = end;
	}
	KT_EXPECT(t, checked >= 1); /* test= at least */
}

/* The symbol table names kernel text and nothing else: a user pc (a fault kill's caller) or a data
 * address prints as hex, not as the nearest symbol stretched to reach it. */
static void symbols_cover_only_text(struct ktest *t)
{
	char buf[96];
	ksym_format((uptr)symbols_cover_only_text + 4, buf, sizeof(buf));
	KT_EXPECT(t, !strncmp(buf, "symbols_cover_only_text+0x4/", 28));
	u64 off, len;
	KT_EXPECT(t, !ksym_lookup(0x1000002000UL, &off, &len)); /* a user pc */
	KT_EXPECT(t, !ksym_lookup(0x10000, &off, &len));
	KT_EXPECT(t, !ksym_lookup((uptr)_text_end, &off, &len));
	KT_EXPECT(t, !ksym_lookup((uptr)_text_start - 1, &off, &len));
	ksym_format(0x1000002000UL, buf, sizeof(buf));
	KT_EXPECT(t, !strcmp(buf, "0x1000002000"));
}

KTEST_SUITE(boot, {"harts_online", all_harts_online}, {"symbols_cover_only_text", symbols_cover_only_text}, {"memory_accounted", memory_accounted},
	    {"kernel_w_xor_x", kernel_w_xor_x}, {"direct_map_uses_large_leaves", direct_map_uses_large_leaves},
	    {"direct_map_alias_of_image_read_only", direct_map_alias_of_image_read_only},
	    {"vmalloc_tables_prepopulated", vmalloc_tables_prepopulated},
	    {"rodata_and_text_are_read_only", rodata_and_text_are_read_only},
	    {"data_is_not_executable", data_is_not_executable}, {"timer_ticks", timer_ticks},
	    {"ipi_every_hart", ipi_every_hart}, {"ipi_handler_runs", ipi_handler_runs},
	    {"lock_waiter_polls_less_after_sleeping", lock_waiter_polls_less_after_sleeping},
	    {"remote_fence_accepted", remote_fence_accepted},
	    {"huge_block_alignment", huge_block_alignment}, {"bootargs_visible", bootargs_visible},
	    {"task_and_kernel_text_never_share_a_line", task_and_kernel_text_never_share_a_line});
