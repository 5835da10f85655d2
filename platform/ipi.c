/* IPI providers: the SBI IPI call (every machine; a trap into OpenSBI, which raises the target's SSIP
 * from M-mode), ACLINT SSWI (a store raises the target's SSIP directly) and the S-level IMSIC files of AIA
 * (a store of an interrupt identity makes it pending in the target's file, which raises SEIP). Which one a
 * machine has decides how remote TLB fences are done (platform/tlb_remote.c): Linux's rule. */
#include "platform/ipi.h"
#include "platform/devtree.h"
#include "platform/sbi.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/string.h"

/* AIA (Smaia/Ssaia) S-mode CSRs, by number: the assembler need not know their names. */
#define CSR_SISELECT 0x150
#define CSR_SIREG 0x151
#define CSR_STOPEI 0x15C
/* Registers of the interrupt file reached through siselect/sireg. */
#define IMSIC_EIDELIVERY 0x70 /* 1: the file delivers its interrupts to the hart */
#define IMSIC_EITHRESHOLD 0x72 /* 0: every enabled identity may interrupt */
#define IMSIC_EIE0 0xC0        /* enable bits, 64 identities per register, even numbers only on RV64 */
#define TOPEI_ID_SHIFT 16      /* stopei = identity << 16 | priority (the identity again) */
#define SIP_SEIP SIE_SEIE

#define csr_swap_num(num, val)                                                     \
	({                                                                         \
		unsigned long __v = (val);                                         \
		__asm__ volatile("csrrw %0, " #num ", %0" : "+r"(__v)::"memory"); \
		__v;                                                               \
	})

static enum ipi_provider provider = IPI_SBI;
static u32 imsic_id;                           /* the identity every IPI is sent as */
static volatile u32 *sipi_reg[DT_MAX_HARTS];   /* by hartid: the target's SETSSIP or seteipnum register */
static u64 sbi_sends;                          /* IPIs that went through the SBI call */

u64 ipi_sbi_sends(void) { return __atomic_load_n(&sbi_sends, __ATOMIC_RELAXED); }

enum ipi_provider ipi_provider(void) { return provider; }

const char *ipi_provider_name(void)
{
	switch (provider) {
	case IPI_SSWI: return "ACLINT SSWI";
	case IPI_IMSIC: return "IMSIC";
	default: return "SBI IPI";
	}
}

/* Stores to memory before the IPI are seen by its target: the register write is device output. */
static inline void write_reg(volatile u32 *r, u32 v)
{
	__asm__ volatile("fence iorw, iorw" ::: "memory");
	*r = v;
}

void ipi_send(u32 hartid)
{
	volatile u32 *r = hartid < DT_MAX_HARTS ? sipi_reg[hartid] : NULL;
	if (provider == IPI_SBI || !r) {
		__atomic_fetch_add(&sbi_sends, 1, __ATOMIC_RELAXED);
		sbi_send_ipi(1UL, hartid);
		return;
	}
	write_reg(r, provider == IPI_IMSIC ? imsic_id : 1);
}

static void imsic_write(unsigned long reg, unsigned long val)
{
	__asm__ volatile("csrw 0x150, %0\n\tcsrw 0x151, %1" ::"r"(reg), "r"(val) : "memory");
}

static void imsic_set(unsigned long reg, unsigned long bits)
{
	__asm__ volatile("csrw 0x150, %0\n\tcsrs 0x151, %1" ::"r"(reg), "r"(bits) : "memory");
}

bool ipi_claim(void)
{
	bool ipi = false;
	if (provider != IPI_IMSIC) return false;
	/* Each swap claims the highest-priority pending identity; the file holds at most num-ids of them. */
	for (u32 n = 0; n < 2048; n++) {
		unsigned long top = csr_swap_num(0x15C, 0);
		if (!top) break;
		if ((top >> TOPEI_ID_SHIFT) == imsic_id) ipi = true;
	}
	return ipi;
}

static void imsic_init_hart(void)
{
	imsic_write(IMSIC_EITHRESHOLD, 0);
	imsic_set(IMSIC_EIE0 + (imsic_id / 64) * 2, 1UL << (imsic_id % 64));
	imsic_write(IMSIC_EIDELIVERY, 1);
	csr_set(sie, SIE_SEIE);
}

void ipi_init_hart(void)
{
	if (provider == IPI_IMSIC) imsic_init_hart();
}

static bool isa_has(const char *isa, const char *ext)
{
	size_t n = strlen(ext);
	for (const char *p = isa; (p = strchr(p, '_')) != NULL; p++)
		if (!strncmp(p + 1, ext, n) && (p[1 + n] == '_' || p[1 + n] == '\0')) return true;
	return false;
}

/* This hart sends itself an IPI through the device with interrupts masked and looks for it: pending in
 * sip (SSWI), or at the top of its IMSIC file (which it then claims). */
static bool self_test(volatile u32 *mine)
{
	unsigned long f = irq_save();
	bool ok = false;
	if (provider == IPI_SSWI) {
		csr_clear(sip, SIE_SSIE);
		write_reg(mine, 1);
		for (int i = 0; i < 100 && !ok; i++) ok = csr_read(sip) & SIE_SSIE;
		csr_clear(sip, SIE_SSIE);
	} else {
		write_reg(mine, imsic_id);
		for (int i = 0; i < 100 && !ok; i++) ok = csr_read(sip) & SIP_SEIP;
		ok = ipi_claim() && ok;
	}
	irq_restore(f);
	return ok;
}

void ipi_setup(const struct machine_desc *m, void *(*map_device)(u64 pa), const char **why)
{
	const struct hart_desc *me = NULL;
	u32 myid = this_hart()->hartid;

	provider = IPI_SBI;
	*why = "no S-mode IPI device in the device tree";
	if (m->sipi_kind == DT_SIPI_NONE) return;
	for (int i = 0; i < m->nharts; i++) {
		const struct hart_desc *h = &m->harts[i];
		if (h->hartid == myid) me = h;
		if (dt_hart_usable(h) && h->hartid >= DT_MAX_HARTS) {
			*why = "an S-mode IPI device, but a hartid of 256 or more";
			return;
		}
	}
	if (!me || !me->sipi_pa) {
		*why = "an S-mode IPI device that does not reach the boot hart";
		return;
	}
	if (m->sipi_kind == DT_SIPI_IMSIC && !isa_has(me->isa, "ssaia")) {
		/* Without Ssaia the siselect/sireg/stopei CSRs fault: the files cannot be received from. */
		*why = "S-level IMSIC files, but the hart has no Ssaia (AIA CSRs)";
		return;
	}
	for (int i = 0; i < m->nharts; i++)
		if (m->harts[i].sipi_pa) sipi_reg[m->harts[i].hartid] = map_device(m->harts[i].sipi_pa);
	provider = m->sipi_kind == DT_SIPI_SSWI ? IPI_SSWI : IPI_IMSIC;
	imsic_id = m->sipi_ipi_id;
	ipi_init_hart();
	if (!self_test(sipi_reg[myid])) {
		if (provider == IPI_IMSIC) csr_clear(sie, SIE_SEIE);
		provider = IPI_SBI;
		*why = m->sipi_kind == DT_SIPI_SSWI ? "ACLINT SSWI described, but an IPI to this hart did not arrive"
						    : "S-level IMSIC described, but an IPI to this hart did not arrive";
		return;
	}
	*why = m->sipi_kind == DT_SIPI_SSWI ? "ACLINT SSWI in the device tree, self-test passed"
					    : "S-level IMSIC files in the device tree and Ssaia, self-test passed";
}
