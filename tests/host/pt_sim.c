/* The simulated 64 MiB of physical memory behind the page-source functions vm/pt.c calls, an independent walker that
 * reads it directly, and the mapping checks every test_pt case is built on. */
#define HTEST_PART
#include "tests/host/test_pt.h"

/* ---- simulated physical memory behind vm's page source (vm/page_cache.h), as pt.c reaches it ---- */

static u8 *sim_mem;
static u8 sim_live[SIM_PAGES]; /* 0 free, SIM_TABLE or SIM_DATA */
enum { SIM_TABLE = 1, SIM_DATA = 2 };
long live_data_pages;
static u32 sim_free[SIM_PAGES];
static size_t sim_nfree;
long live_tables, hook_errors;
long fail_after = -1;
bool sim_bulk_refuse; /* the bulk page-source calls refuse (see page_cache_take_bulk below) */
static u8 scratch[PAGE_SIZE] __aligned(PAGE_SIZE);

static void sim_reset(void)
{
	if (!sim_mem) sim_mem = aligned_alloc(PAGE_SIZE, SIM_SIZE);
	memset(sim_live, 0, sizeof(sim_live));
	for (sim_nfree = 0; sim_nfree < SIM_PAGES; sim_nfree++) sim_free[sim_nfree] = SIM_PAGES - 1 - sim_nfree;
	live_tables = hook_errors = live_data_pages = 0;
	fail_after = -1;
	sim_bulk_refuse = false;
}

/* NULL unless pa is a table handed out and not yet freed. */
pte_t *sim_table(u64 pa)
{
	if (pa < SIM_BASE || pa >= SIM_BASE + SIM_SIZE || (pa & (PAGE_SIZE - 1))) return NULL;
	u64 pg = (pa - SIM_BASE) / PAGE_SIZE;
	return sim_live[pg] ? (pte_t *)(sim_mem + pg * PAGE_SIZE) : NULL;
}

static u64 sim_alloc(u8 kind)
{
	if (fail_after == 0 || !sim_nfree) return 0;
	if (fail_after > 0) fail_after--;
	u32 pg = sim_free[--sim_nfree];
	memset(sim_mem + pg * PAGE_SIZE, kind == SIM_DATA ? 0x5a : 0, PAGE_SIZE); /* data pages: not zeroed */
	sim_live[pg] = kind;
	if (kind == SIM_TABLE) live_tables++;
	else live_data_pages++;
	return SIM_BASE + (u64)pg * PAGE_SIZE;
}

u64 vm_zeroed_table_alloc(void) { return sim_alloc(SIM_TABLE); }

u64 page_cache_alloc(int node)
{
	(void)node;
	return sim_alloc(SIM_DATA);
}

/* A zeroed data page: the simulation keeps no known-zero cache, so it is zeroed here. */
u64 page_cache_alloc_zeroed(int node)
{
	u64 pa = page_cache_alloc(node);
	if (pa) memset(sim_mem + (pa - SIM_BASE), 0, PAGE_SIZE);
	return pa;
}

/* Freeing anything but an empty live table is a bug; freed tables are poisoned with pointers to pa 0,
 * so a later use of one is caught by pt_table_va. */
void page_cache_free(u64 pa)
{
	pte_t *t = sim_table(pa);
	if (!t) {
		hook_errors++;
		return;
	}
	u64 pg = (pa - SIM_BASE) / PAGE_SIZE;
	if (sim_live[pg] == SIM_DATA) {
		sim_live[pg] = 0;
		sim_free[sim_nfree++] = (u32)pg;
		live_data_pages--;
		return;
	}
	for (int i = 0; i < PT_ENTRIES; i++) {
		if (t[i]) hook_errors++;
		t[i] = PTE_V;
	}
	sim_live[pg] = 0;
	sim_free[sim_nfree++] = (u32)pg;
	live_tables--;
}

void *vm_page_va(u64 pa)
{
	pte_t *t = sim_table(pa);
	if (t) return t;
	hook_errors++;
	memset(scratch, 0, sizeof(scratch));
	return (pte_t *)scratch;
}

/* ---- an independent walker that reads the simulated memory directly ---- */

long sw_errors;

bool sw_translate(u64 root, u64 va, struct sw_leaf *out)
{
	u64 table = root;
	for (int level = 2; level >= 0; level--) {
		const u64 *t = sim_table(table);
		if (!t) {
			sw_errors++;
			return false;
		}
		u64 e = t[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_V)) return false;
		u64 base = (e >> 10) << 12;
		if (e & (PTE_R | PTE_W | PTE_X)) {
			u64 mask = (1UL << (12 + 9 * level)) - 1;
			if (base & mask) sw_errors++; /* misaligned superpage */
			out->pa = base + (va & mask);
			out->pte = e;
			out->level = level;
			return true;
		}
		if (e & (PTE_A | PTE_D | PTE_U) || level == 0) sw_errors++;
		table = base;
	}
	return false;
}

static void sw_scan_table(u64 table, int level, u64 va, struct sw_stats *s, sw_leaf_cb cb)
{
	const u64 *t = sim_table(table);
	if (!t) {
		sw_errors++;
		return;
	}
	s->tables++;
	bool empty = true;
	for (int i = 0; i < 512; i++) {
		u64 e = t[i], cva = va | (u64)i << (12 + 9 * level);
		if (level == 2) cva = (u64)((s64)(cva << 25) >> 25);
		if (!(e & PTE_V)) continue;
		empty = false;
		if (e & (PTE_R | PTE_W | PTE_X)) {
			/* We only ever create R-including leaves with A and D set. */
			if ((e & LEAF_BITS) != LEAF_BITS || !(e & PTE_R)) sw_errors++;
			if (((e >> 10) << 12) & ((1UL << (12 + 9 * level)) - 1)) sw_errors++;
			s->leaves[level]++;
			s->pages += 1L << (9 * level);
			if (cb) cb(cva, e, level);
		} else if (level == 0) {
			sw_errors++;
		} else {
			sw_scan_table((e >> 10) << 12, level - 1, cva, s, cb);
		}
	}
	/* Only the root and kernel-half level-1 tables may legitimately be empty. */
	if (empty && level == 1 && !(va >> 63)) s->empty_tables++;
	if (empty && level == 0) s->empty_tables++;
}

struct sw_stats sw_scan(u64 root, sw_leaf_cb cb)
{
	struct sw_stats s = {0};
	sw_scan_table(root, 2, 0, &s, cb);
	return s;
}

/* ---- helpers ---- */

u64 setup(void)
{
	sim_reset();
	sw_errors = 0;
	return pt_alloc_table();
}

void teardown_checks(void)
{
	CHECK_EQ(hook_errors, 0);
	CHECK_EQ(sw_errors, 0);
}

/* va must translate to pa with exactly prot at the given level, per pt_walk and the software walker. */
bool mapped_as(u64 root, u64 va, u64 pa, u64 prot, int level)
{
	struct pt_walk w;
	struct sw_leaf l;
	if (pt_walk(root, va, &w) || !sw_translate(root, va, &l)) return false;
	return w.pa == pa && l.pa == pa && w.level == level && l.level == level && w.pte == l.pte &&
	       *w.slot == w.pte && (w.pte & (PTE_PROT_MASK | LEAF_BITS)) == (prot | LEAF_BITS);
}

bool unmapped(u64 root, u64 va)
{
	struct pt_walk w;
	struct sw_leaf l;
	return pt_walk(root, va, &w) == -ENOENT && !sw_translate(root, va, &l);
}

u64 rng = 0x243f6a8885a308d3UL;
u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The bulk forms: all or nothing like the kernel's (a failed take gives back what it had taken). The
 * simulation has no per-hart cache, so only sim_bulk_refuse makes them refuse, which sends pt.c to its
 * page-by-page path. */
bool page_cache_take_bulk(int node, u64 *pas, u32 n)
{
	(void)node;
	if (sim_bulk_refuse || n > PAGE_CACHE_BULK) return false;
	for (u32 k = 0; k < n; k++) {
		pas[k] = sim_alloc(SIM_DATA);
		if (pas[k]) continue;
		while (k) page_cache_free(pas[--k]);
		return false;
	}
	return true;
}

bool page_cache_give_bulk(const u64 *pas, u32 n)
{
	if (sim_bulk_refuse || n > PAGE_CACHE_BULK) return false;
	for (u32 k = 0; k < n; k++) page_cache_free(pas[k]);
	return true;
}

/* A page given back as known-zero must be a data page that really is all zeros. */
void page_cache_free_zeroed(u64 pa)
{
	const u8 *p = sim_mem + (pa - SIM_BASE);
	for (u32 i = 0; i < PAGE_SIZE; i++)
		if (p[i]) {
			hook_errors++;
			break;
		}
	page_cache_free(pa);
}

/* The struct page of a host test is its physical address (SIM_PAGE). */
u64 page_to_pa(const struct page *p) { return (u64)(uintptr_t)p; }
