/* Inter-processor interrupts: sent by an S-mode device when the machine has one (ACLINT SSWI, or the
 * S-level IMSIC interrupt files of AIA), otherwise by the SBI IPI call, which traps into the firmware. */
#ifndef PLATFORM_IPI_H
#define PLATFORM_IPI_H

#include "lib/types.h"

struct machine_desc;

enum ipi_provider { IPI_SBI, IPI_SSWI, IPI_IMSIC };

/* Chooses the provider for machine m: its S-mode IPI device when the device tree describes one that
 * reaches every usable hart (all with hartids below 256) and this hart's own register passes a
 * self-test (an IPI sent to itself arrives; the IMSIC one also needs the AIA CSRs), else the SBI.
 * Sets this hart up to receive (ipi_init_hart). *why is a static sentence for the boot report: what was
 * chosen and why. map_device gives the kernel's address of a device register (its physical address
 * below 2 GiB). Boot hart, once, before any other hart starts; interrupts may be on. */
void ipi_setup(const struct machine_desc *m, void *(*map_device)(u64 pa), const char **why);

/* Makes this hart receive IPIs from the chosen provider (IMSIC: enables its interrupt file and sie.SEIE;
 * the others arrive as SSIP and need nothing). Each secondary hart, once, before it is marked online. */
void ipi_init_hart(void);

enum ipi_provider ipi_provider(void);
const char *ipi_provider_name(void); /* "SBI IPI", "ACLINT SSWI", "IMSIC" */
static inline bool ipi_is_smode(void) { return ipi_provider() != IPI_SBI; }

/* Interrupts the hart with this hartid (not this hart: raising one's own SSIP is a CSR write). It wakes
 * from wfi; with interrupts on it takes IRQ_S_SOFT, or IRQ_S_EXT under IMSIC. Any context. */
void ipi_send(u32 hartid);

/* IPIs sent so far through the SBI call (all of them on a machine without an S-mode IPI device, none
 * where one was chosen): lets tests see which path IPIs take. Any context. */
u64 ipi_sbi_sends(void);

/* IMSIC only: claims every pending identity of this hart's S file (stopei) and returns whether the IPI
 * identity was among them; identities nobody enabled are dropped. false at once for other providers.
 * The external-interrupt handler and wait loops running with interrupts masked call it. Any context. */
bool ipi_claim(void);

#endif
