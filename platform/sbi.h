/* SBI calls into OpenSBI: base, timer, IPI, remote fences, hart state, reset and the legacy console. */
#ifndef PLATFORM_SBI_H
#define PLATFORM_SBI_H

#include "lib/types.h"

#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E

struct sbiret {
	long error;
	long value;
};

struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4);

void sbi_probe_all(void); /* fills sbi_info; call once on the boot hart */
struct sbi_info {
	u32 spec_major, spec_minor;
	long impl_id, impl_version;
	bool has_time, has_ipi, has_rfence, has_hsm, has_srst, has_dbcn;
};
extern struct sbi_info sbi_info;
/* The name of an SBI implementation ID (sbi_info.impl_id): "BBL", "OpenSBI", "Xvisor", "KVM", "RustSBI",
 * "Diosix", else "unknown". A static string. Any context. */
const char *sbi_impl_name(long id);

void sbi_console_putchar(int c); /* legacy extension 0x01: works before anything is known */
/* Programs this hart's next timer interrupt for `when` (absolute, in time CSR ticks); the firmware also
 * clears a pending one. Through the TIME extension when sbi_probe_all found it, else (also before the
 * probe) the legacy call. The firmware's answer is ignored. Any context. */
void sbi_set_timer(u64 when);
/* Raises a supervisor software interrupt on the harts of hart_mask (bit i: hart id hart_mask_base + i;
 * hart_mask_base == -1: every hart) through the IPI extension, which is called even when sbi_probe_all did
 * not find it (no legacy fallback). Returns the SBI error, not an errno: 0 when sent, else a negative
 * SBI_ERR_* code (-3, invalid parameter, for a hart id the firmware does not know; -2 without the
 * extension). Any context. */
long sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);
/* start == size == 0 flushes everything; hart_mask_base == -1 targets every hart. */
long sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base, unsigned long start,
			   unsigned long size);
long sbi_hart_start(unsigned long hartid, unsigned long start_pa, unsigned long opaque);
long sbi_hart_get_status(unsigned long hartid);
/* Returns only on failure (the SBI error), e.g. when the platform has no device for that reset type. */
long sbi_system_reset(u32 type, u32 reason);

#endif
