/* Power-off. QEMU's sifive,test device carries a status to the host; SBI SRST exits QEMU with 0 even on
 * "system failure", so on machines without the device (sifive_u, spike) the status travels only in the
 * last console line, which the test runner reads. */
#include "platform/poweroff.h"
#include "lib/printk.h"
#include "platform/sbi.h"

#define SRST_SHUTDOWN 0
#define SRST_COLD_REBOOT 1
#define SRST_REASON_NONE 0
#define SRST_REASON_FAILURE 1
#define SBI_LEGACY_SHUTDOWN 0x08

static volatile u32 *test_dev;
static u32 pass_value = 0x5555;
static volatile u32 *htif_tohost;

void poweroff_init(void *dev, u32 value)
{
	test_dev = dev;
	if (value) pass_value = value;
}

void poweroff_init_htif(void *tohost) { htif_tohost = tohost; }

const char *poweroff_method(void)
{
	if (test_dev) return "QEMU test device (exit status to the host)";
	if (htif_tohost) return "HTIF (exit status to the host)";
	if (sbi_info.has_srst) return "SBI SRST (exit status on the console only)";
	return "SBI legacy shutdown (exit status on the console only)";
}

void poweroff(int status)
{
	u32 reason = status ? SRST_REASON_FAILURE : SRST_REASON_NONE;

	printk(POWEROFF_LINE "%d\n", status);
	if (test_dev) {
		/* A 32-bit store: QEMU ignores 64-bit accesses to this device. */
		*test_dev = status == 0 ? pass_value : ((u32)(status & 0xffff) << 16) | 0x3333;
	}
	if (htif_tohost) {
		/* Device 0 (syscall proxy), command 0, payload (status << 1) | 1: "exit with status". QEMU acts
		 * on the write of the upper half, after the lower one. */
		htif_tohost[0] = ((u32)(status & 0x7fff) << 1) | 1;
		htif_tohost[1] = 0;
	}
	if (sbi_info.has_srst) {
		sbi_system_reset(SRST_SHUTDOWN, reason);
		/* Returned: this firmware cannot shut the machine down (no such device); a reset can. */
		sbi_system_reset(SRST_COLD_REBOOT, reason);
	}
	sbi_call(SBI_LEGACY_SHUTDOWN, 0, 0, 0, 0, 0, 0);
	for (;;) __asm__ volatile("wfi");
}
