/* Host tests for platform/fdt.c and platform/devtree.c: loads QEMU's own device trees and the dts/
 * ones, then runs the cases of the fdt_*.c files in a fixed order (differential checks against
 * libfdt, semantic cases of the machine description, hand-made corruptions, seeded random
 * mutations). Usage: test_fdt [DTB_DIR] (without it, gen_dtbs.sh makes one). */
#define _GNU_SOURCE
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libfdt names that platform/fdt.h renames for our reader in host builds: reach libfdt's here, before
 * test_fdt.h brings the renames in. */
int lib_next_node(const void *f, int n, int *d) { return fdt_next_node(f, n, d); }
int lib_path_offset(const void *f, const char *p) { return fdt_path_offset(f, p); }
const void *lib_getprop(const void *f, int n, const char *name, int *len)
{
	return fdt_getprop(f, n, name, len);
}
uint32_t lib_get_phandle(const void *f, int n) { return fdt_get_phandle(f, n); }
int lib_num_mem_rsv(const void *f) { return fdt_num_mem_rsv(f); }
int lib_get_mem_rsv(const void *f, int n, uint64_t *a, uint64_t *s)
{
	return fdt_get_mem_rsv(f, n, a, s);
}

#include "tests/host/test_fdt.h"

struct blob blobs[64];
int nblobs;
/* QEMU dumps: qemu-* are virt machines (checked field by field against libfdt), the others are not. */
static const char *const qemu_names[] = { "qemu-initrd", "qemu-numa", "qemu-aclint", "qemu-aia", "qemu-aia-numa",
					   "sifive-u", "spike" };
static const char *const dts_names[] = { "two-banks", "overlap-banks", "bad-no-memory", "bad-tiny-memory",
					  "bad-no-timebase", "bad-no-sv39", "no-stdout-path", "no-uart",
					  "unaligned-banks", "big-bank", "bad-17-banks", "harts-64-descending" };

static bool load_blob(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	struct blob *b = &blobs[nblobs];

	snprintf(path, sizeof(path), "%s/%s.dtb", dir, name);
	if (!(f = fopen(path, "rb"))) return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b->data = malloc((size_t)n);
	if (fread(b->data, 1, (size_t)n, f) != (size_t)n) n = 0;
	fclose(f);
	snprintf(b->name, sizeof(b->name), "%s", name);
	/* QEMU writes out its whole 1 MiB working buffer; the blob is the first totalsize bytes. */
	if (n >= 8 && rd32(b->data + 4) < (u32)n) n = rd32(b->data + 4);
	b->size = (size_t)n;
	nblobs++;
	return n > 0;
}

struct blob *find_blob(const char *name)
{
	for (int i = 0; i < nblobs; i++)
		if (!strcmp(blobs[i].name, name)) return &blobs[i];
	printf("# missing blob %s\n", name);
	exit(1);
}

static bool load_all(const char *dir)
{
	static const char *const mems[] = { "64M", "128M", "2G", "8G" };
	char name[64];
	bool ok = true;

	for (int i = 0; i < nblobs; i++) free(blobs[i].data);
	nblobs = 0;
	for (int smp = 1; smp <= 8; smp *= 2)
		for (unsigned i = 0; i < ARRAY_SIZE(mems); i++) {
			snprintf(name, sizeof(name), "qemu-smp%d-%s", smp, mems[i]);
			ok = ok && load_blob(dir, name);
		}
	for (unsigned i = 0; ok && i < ARRAY_SIZE(qemu_names); i++) ok = load_blob(dir, qemu_names[i]);
	for (unsigned i = 0; ok && i < ARRAY_SIZE(dts_names); i++) ok = load_blob(dir, dts_names[i]);
	return ok;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/vmk-dtbs-XXXXXX", cmd[1024];
	const char *slash = strrchr(__FILE__, '/');
	bool generated = false;

	/* A directory without QEMU's dumps (such as one holding only dts/ output) is made afresh by
	 * gen_dtbs.sh, which sits beside this file. */
	if (argc < 2 || !load_all(argv[1])) {
		if (!mkdtemp(tmp)) return 1;
		generated = true;
		snprintf(cmd, sizeof(cmd), "%.*sgen_dtbs.sh %s", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__, tmp);
		printf("# generating device trees: %s\n", cmd);
		if (system(cmd) || !load_all(tmp)) {
			printf("# could not make every DTB (needs qemu-system-riscv64 and dtc)\n");
			return 1;
		}
	}

	htest_begin("fdt", 20);
	htest_run("dtbs_valid", test_dtbs_valid);
	htest_run("walk_matches_libfdt", test_walk_matches_libfdt);
	htest_run("paths", test_paths);
	htest_run("memreserve", test_memreserve);
	htest_run("machine_matches_libfdt", test_machine_matches_libfdt);
	htest_run("dts_semantics", test_dts_semantics);
	htest_run("corrupt_header", test_corrupt_header);
	htest_run("corrupt_structure", test_corrupt_structure);
	htest_run("nesting", test_nesting);
	htest_run("bad_handles", test_bad_handles);
	htest_run("console_and_devices", test_console_and_devices);
	htest_run("memory_semantics", test_memory_semantics);
	htest_run("cpu_semantics", test_cpu_semantics);
	htest_run("chosen_semantics", test_chosen_semantics);
	htest_run("limits", test_limits);
	htest_run("bank_trimming", test_bank_trimming);
	htest_run("empty_initrd_and_sifive_uart", test_empty_initrd_and_sifive_uart);
	htest_run("other_machines", test_other_machines);
	htest_run("smode_ipi_devices", test_smode_ipi_devices);
	htest_run("mutations", test_mutations);
	ed_close();
	if (generated) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd)) printf("# could not remove %s\n", tmp);
	}
	return htest_end();
}
