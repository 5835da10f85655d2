/* The machine description the kernel boots from: memory banks, reservations, harts, console UART,
 * and test device, extracted from the device tree OpenSBI hands over. */
#ifndef PLATFORM_DEVTREE_H
#define PLATFORM_DEVTREE_H

#include "lib/types.h"

/* A tree with more (after merging duplicates) is refused, naming the limit: a dropped bank or hart
 * would be memory or a CPU the kernel silently never uses, a dropped reservation memory it overwrites. */
#define DT_MAX_MEM 16
#define DT_MAX_RESV 32
#define DT_MAX_HARTS 256
#define DT_PAGE_SIZE 4096 /* banks are trimmed inward to whole pages of this size */
#define DT_NAME_LEN 32
#define DT_ISA_LEN 96

/* The slowest timebase the kernel can tick with: its tick is a hundredth of a second (kernel/timer.c). */
#define DT_MIN_TIMEBASE_HZ 100

struct mem_range {
	u64 base, size;
	int node; /* NUMA node */
	bool nomap; /* reserved with no-map: must not even be in the direct map */
	u64 trimmed; /* banks: bytes cut off to reach page boundaries (the tree's range was not aligned) */
	char name[DT_NAME_LEN]; /* node name ("memreserve" for /memreserve/ entries), cut to fit */
};

struct hart_desc {
	u32 hartid;
	int node;
	bool enabled;
	bool sv39; /* mmu-type is sv39, sv48 or sv57, all of which can run Sv39 */
	char isa[DT_ISA_LEN];
	u64 sipi_pa; /* this hart's register in machine_desc's S-mode IPI device; 0: the device misses it */
};

/* S-mode IPI devices: a hart can interrupt another without trapping into the SBI firmware. */
enum dt_sipi_kind {
	DT_SIPI_NONE,
	DT_SIPI_SSWI,  /* ACLINT SSWI ("riscv,aclint-sswi"): a 32-bit write of 1 raises the target's SSIP */
	DT_SIPI_IMSIC, /* the S-level IMSIC files ("riscv,imsics" wired to IRQ_S_EXT): a 32-bit write of an
			* interrupt identity to the target file's seteipnum register makes it pending there */
};

struct machine_desc {
	struct mem_range mem[DT_MAX_MEM]; /* sorted by base, overlapping/adjacent banks merged */
	int nmem;
	int mem_merged; /* merges performed */
	struct mem_range resv[DT_MAX_RESV]; /* /memreserve/ then /reserved-memory, sorted by base */
	int nresv;
	struct hart_desc harts[DT_MAX_HARTS]; /* in device-tree order */
	int nharts;
	u64 timebase_hz;
	const char *bootargs; /* points into the blob, NULL if none */
	const char *stdout_path; /* the raw value, ":options" included; into the blob or NULL */
	u64 initrd_start, initrd_end;
	bool has_initrd;
	bool initrd_empty; /* /chosen names an initrd of zero bytes */
	bool has_uart;
	int uart_kind; /* UART_NS16550 or UART_SIFIVE (platform/uart.h) */
	u64 uart_base, uart_size;
	u32 uart_clock, uart_reg_shift, uart_io_width;
	bool has_htif; /* "ucb,htif0" (spike): fromhost, then tohost, as QEMU lays them out */
	u64 htif_base;
	bool has_test;
	u64 test_base;
	u32 poweroff_value;
	int sipi_kind;   /* enum dt_sipi_kind: the device whose per-hart registers are in hart_desc.sipi_pa */
	u32 sipi_ipi_id; /* IMSIC: the identity to send (the node's riscv,ipi-id, else 1) */
	u32 sipi_num_ids; /* IMSIC: identities the files implement (riscv,num-ids) */
};

/*
 * Validates blob (fdt_check) and fills *m. Returns 0, or -EINVAL with *why (may be NULL) a static
 * reason: a structural one from fdt_check, or a semantic one such as "no memory node",
 * "no usable memory", "missing timebase-frequency", "no cpus", "no hart supports Sv39",
 * "more than 16 memory banks". Banks come out trimmed inward to DT_PAGE_SIZE boundaries.
 * Device registers are taken as CPU physical addresses, so devices are only looked for on the root
 * or on buses with an empty "ranges" (identity mapped), which is how QEMU's virt lays them out.
 */
int dt_parse_machine(const void *blob, size_t bufsize, struct machine_desc *m, const char **why);

/* Whether the kernel can run on hart h: its cpu node is enabled (status "okay", "ok" or none) and its
 * mmu-type can run Sv39 (riscv,sv39, sv48 or sv57). Its riscv,isa and hart id are not looked at.
 * Any context. */
bool dt_hart_usable(const struct hart_desc *h);
/* The highest NUMA node id of any bank or hart: 0 on a machine without NUMA. */
int dt_max_node(const struct machine_desc *m);
/* Whether [base, base + size) lies inside one memory bank. */
bool dt_mem_contains(const struct machine_desc *m, u64 base, u64 size);

#endif
