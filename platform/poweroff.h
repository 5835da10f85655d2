/* Ending the machine with an exit status the host can read: QEMU's test device where there is one, SBI
 * SRST elsewhere, and always a last console line carrying the status. */
#ifndef PLATFORM_POWEROFF_H
#define PLATFORM_POWEROFF_H

#include "lib/types.h"

/* The line poweroff() prints last; test runners read the status from it where QEMU's exit code cannot
 * carry it (SBI SRST always exits QEMU with 0). */
#define POWEROFF_LINE "vmk: power off, exit status "

/* What QEMU's sifive_test device takes as "pass" when the device tree names no other value. */
#define QEMU_TEST_PASS 0x5555

/* The device poweroff() tries first. test_dev: the mapped sifive,test register, or NULL on machines
 * without one. pass_value: what the device takes as "pass" (status 0); 0 keeps the current value
 * (QEMU_TEST_PASS unless set before). Cannot fail; a later call replaces the device. Boot hart, before
 * the other harts start (nothing is locked). */
void poweroff_init(void *test_dev, u32 pass_value);
/* tohost: the mapped register of an HTIF ("ucb,htif0", spike), which exits QEMU with a status. Boot hart.
 * OpenSBI 1.1 on spike lists SRST but hangs in it, so HTIF is tried first there. */
void poweroff_init_htif(void *tohost);
/* "QEMU test device", "SBI SRST shutdown", ...: for the boot report. */
const char *poweroff_method(void);
/* Prints POWEROFF_LINE and the status, then: the test device (exit status carried to the host); else
 * HTIF; else SBI SRST shutdown; where the firmware cannot shut down, SRST cold reboot (QEMU's -no-reboot turns
 * that into an exit); else the legacy SBI shutdown. Any context; never returns. */
void poweroff(int status) __noreturn;

#endif
