/* What the files of the test_fdt host binary share: the loaded DTBs, libfdt's renamed entry points,
 * the differential walkers and the case functions that test_fdt.c runs in order. */
#ifndef TESTS_HOST_TEST_FDT_H
#define TESTS_HOST_TEST_FDT_H

/* libfdt's header comes first: platform/fdt.h renames some of its names for our reader. */
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/fdt.h"
#include "platform/devtree.h"
#include "tests/host/htest.h"

struct blob {
	char name[64];
	u8 *data;
	size_t size;
};
extern struct blob blobs[64];
extern int nblobs;
struct blob *find_blob(const char *name); /* exits when the blob was not loaded */

/* libfdt's versions of the names platform/fdt.h takes over, defined where they are still libfdt's. */
int lib_next_node(const void *f, int n, int *d);
int lib_path_offset(const void *f, const char *p);
const void *lib_getprop(const void *f, int n, const char *name, int *len);
uint32_t lib_get_phandle(const void *f, int n);
int lib_num_mem_rsv(const void *f);
int lib_get_mem_rsv(const void *f, int n, uint64_t *a, uint64_t *s);

static inline u32 rd32(const u8 *p) { return fdt_be32(p); }
static inline void wr32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Byte offsets of the header fields the corruptions and mutations rewrite. */
#define H_TOTAL 4
#define H_STRUCT 8
#define H_STRINGS 12
#define H_RSV 16
#define H_VERSION 20
#define H_LAST 24
#define H_SSTRINGS 32
#define H_SSTRUCT 36

/* fdt_diff_libfdt.c */
int cmp_tree(const void *b);
int ours_walk(const void *b, int node, int depth);
void test_dtbs_valid(void);
void test_walk_matches_libfdt(void);
void test_paths(void);
void test_memreserve(void);
void test_machine_matches_libfdt(void);

/* fdt_semantics.c */
void test_dts_semantics(void);
void test_console_and_devices(void);
void test_memory_semantics(void);
void test_cpu_semantics(void);
void test_chosen_semantics(void);
void test_limits(void);
void test_bank_trimming(void);
void test_empty_initrd_and_sifive_uart(void);
void test_other_machines(void);
void test_smode_ipi_devices(void);
void ed_close(void);

/* fdt_corrupt.c */
void test_corrupt_header(void);
void test_corrupt_structure(void);
void test_nesting(void);
void test_bad_handles(void);

/* fdt_mutate.c */
void test_mutations(void);

#endif
