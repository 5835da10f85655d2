/* Power-off through the sifive,test device: SBI SRST exits QEMU with 0 even on "system failure", so a
 * failing run must use the test device to reach CI as a non-zero status. */
#include "platform/poweroff.h"
#include "platform/sbi.h"

static volatile u32 *test_dev;
static u32 pass_value = QEMU_TEST_PASS;

void poweroff_init(void *dev, u32 value)
{
	test_dev = dev;
	if (value) pass_value = value;
}

void poweroff(int status)
{
	if (test_dev) {
		/* A 32-bit store: QEMU ignores 64-bit accesses to this device. */
		*test_dev = status == 0 ? pass_value : ((u32)(status & 0xffff) << 16) | 0x3333;
	}
	if (sbi_info.has_srst) sbi_system_reset(0, status ? 1 : 0);
	for (;;) __asm__ volatile("wfi");
}
