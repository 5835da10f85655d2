/* The remote half of every TLB fence the kernel makes: which mechanism, the SBI RFENCE calls in 64-hartid
 * chunks, and counters that let tests see how many fences a purge made. The purge (vm/vmalloc_purge.c)
 * makes one call per batch whichever the mechanism. */
#include "platform/tlb_remote.h"
#include "platform/sbi.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "lib/tlb_shootdown.h"

#define SBI_RFENCE_SFENCE_VMA 1
#define SBI_RFENCE_SFENCE_VMA_ASID 2
#define SBI_FLUSH_ALL (~0UL) /* a size of 2^XLEN - 1: the whole address space (SBI spec 1.0, RFENCE) */

static enum tlb_remote_mech mech = TLB_REMOTE_IPI;
static u64 calls[TLB_REMOTE_MECHS];
static u64 sbi_ecalls;

enum tlb_remote_mech tlb_remote_mech(void) { return READ_ONCE(mech); }

enum tlb_remote_mech tlb_remote_set_mech(enum tlb_remote_mech m)
{
	if (m == TLB_REMOTE_SBI && !sbi_info.has_rfence) m = TLB_REMOTE_IPI;
	return __atomic_exchange_n(&mech, m, __ATOMIC_RELAXED);
}

const char *tlb_remote_mech_name(enum tlb_remote_mech m) { return m == TLB_REMOTE_SBI ? "sbi" : "ipi"; }

u64 tlb_remote_calls(enum tlb_remote_mech m) { return m < TLB_REMOTE_MECHS ? __atomic_load_n(&calls[m], __ATOMIC_RELAXED) : 0; }

u64 tlb_remote_sbi_ecalls(void) { return __atomic_load_n(&sbi_ecalls, __ATOMIC_RELAXED); }

void tlb_remote_setup(const char *arg, bool smode_ipis, const char **why)
{
	bool want_sbi;
	if (arg && !strcmp(arg, "sbi")) {
		want_sbi = true;
		*why = "tlb.remote=sbi";
	} else if (arg && !strcmp(arg, "ipi")) {
		want_sbi = false;
		*why = "tlb.remote=ipi";
	} else {
		want_sbi = !smode_ipis;
		*why = smode_ipis ? "auto: the machine has S-mode IPIs, each target flushes itself"
				  : "auto: every IPI traps into the SBI, so the SBI does the fence";
	}
	if (want_sbi && !sbi_info.has_rfence) {
		want_sbi = false;
		*why = "the SBI has no RFENCE extension";
	}
	mech = want_sbi ? TLB_REMOTE_SBI : TLB_REMOTE_IPI;
}

/* One RFENCE ecall per (mask, base) chunk of the targets' hartids. False if the firmware refused one
 * (then the caller falls back to the IPI shootdown for this fence). */
static bool sbi_fence(const struct hartset *targets, u64 start, u64 size, int asid)
{
	unsigned long masks[MAX_HARTS], bases[MAX_HARTS];
	u32 n = harts_sbi_chunks(targets, masks, bases);
	unsigned long s = size ? start : 0, len = size ? size : SBI_FLUSH_ALL;
	bool ok = true;

	for (u32 k = 0; k < n; k++) {
		struct sbiret r = asid < 0 ? sbi_call(SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, masks[k], bases[k], s, len, 0)
					   : sbi_call(SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA_ASID, masks[k], bases[k], s, len,
						      (unsigned long)asid);
		__atomic_fetch_add(&sbi_ecalls, 1, __ATOMIC_RELAXED);
		ok &= r.error == 0;
	}
	return ok;
}

u32 tlb_remote_flush_by(enum tlb_remote_mech m, const struct hartset *targets, u64 start, u64 size, int asid)
{
	struct hartset t;
	harts_online_others(&t);
	if (targets) hartset_and(&t, &t, targets);
	if (hartset_empty(&t)) return 0;
	__atomic_fetch_add(&calls[m], 1, __ATOMIC_RELAXED);
	if (m == TLB_REMOTE_SBI && sbi_fence(&t, start, size, asid)) return hartset_popcount(&t);
	/* The shootdown flushes the targets' whole TLBs: it serves every range and ASID. */
	return tlb_flush_harts(&t);
}

u32 tlb_remote_flush(const struct hartset *targets, u64 start, u64 size)
{
	return tlb_remote_flush_by(tlb_remote_mech(), targets, start, size, -1);
}

u32 tlb_remote_flush_asid(const struct hartset *targets, u64 start, u64 size, u16 asid)
{
	return tlb_remote_flush_by(tlb_remote_mech(), targets, start, size, asid);
}
