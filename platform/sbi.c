/* SBI calls into OpenSBI (SBI spec 1.0): the only way S-mode reaches timers, IPIs and remote fences. */
#include "platform/sbi.h"

struct sbi_info sbi_info;

struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4)
{
	register u64 r0 __asm__("a0") = a0;
	register u64 r1 __asm__("a1") = a1;
	register u64 r2 __asm__("a2") = a2;
	register u64 r3 __asm__("a3") = a3;
	register u64 r4 __asm__("a4") = a4;
	register u64 r6 __asm__("a6") = fid;
	register u64 r7 __asm__("a7") = ext;
	__asm__ volatile("ecall"
			 : "+r"(r0), "+r"(r1)
			 : "r"(r2), "r"(r3), "r"(r4), "r"(r6), "r"(r7)
			 : "memory");
	return (struct sbiret){(long)r0, (long)r1};
}

static bool probe(u64 ext) { return sbi_call(SBI_EXT_BASE, 3, ext, 0, 0, 0, 0).value != 0; }

void sbi_probe_all(void)
{
	long v = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0, 0).value;
	sbi_info.spec_major = (v >> 24) & 0x7f;
	sbi_info.spec_minor = v & 0xffffff;
	sbi_info.impl_id = sbi_call(SBI_EXT_BASE, 1, 0, 0, 0, 0, 0).value;
	sbi_info.impl_version = sbi_call(SBI_EXT_BASE, 2, 0, 0, 0, 0, 0).value;
	sbi_info.has_time = probe(SBI_EXT_TIME);
	sbi_info.has_ipi = probe(SBI_EXT_IPI);
	sbi_info.has_rfence = probe(SBI_EXT_RFENCE);
	sbi_info.has_hsm = probe(SBI_EXT_HSM);
	sbi_info.has_srst = probe(SBI_EXT_SRST);
	sbi_info.has_dbcn = probe(SBI_EXT_DBCN);
}

const char *sbi_impl_name(long id)
{
	static const char *const names[] = {"BBL", "OpenSBI", "Xvisor", "KVM", "RustSBI", "Diosix"};
	return id >= 0 && id < (long)ARRAY_SIZE(names) ? names[id] : "unknown";
}

void sbi_console_putchar(int c) { sbi_call(0x01, 0, (u64)c, 0, 0, 0, 0); }

void sbi_set_timer(u64 when)
{
	if (sbi_info.has_time) sbi_call(SBI_EXT_TIME, 0, when, 0, 0, 0, 0);
	else sbi_call(0x00, 0, when, 0, 0, 0, 0);
}

long sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
	return sbi_call(SBI_EXT_IPI, 0, hart_mask, hart_mask_base, 0, 0, 0).error;
}

long sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base, unsigned long start,
			   unsigned long size)
{
	return sbi_call(SBI_EXT_RFENCE, 1, hart_mask, hart_mask_base, start, size, 0).error;
}

long sbi_hart_start(unsigned long hartid, unsigned long start_pa, unsigned long opaque)
{
	return sbi_call(SBI_EXT_HSM, 0, hartid, start_pa, opaque, 0, 0).error;
}

long sbi_hart_get_status(unsigned long hartid)
{
	struct sbiret r = sbi_call(SBI_EXT_HSM, 2, hartid, 0, 0, 0, 0);
	return r.error ? r.error : r.value;
}

long sbi_system_reset(u32 type, u32 reason) { return sbi_call(SBI_EXT_SRST, 0, type, reason, 0, 0, 0).error; }
