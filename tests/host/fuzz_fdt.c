/* libFuzzer target for the device-tree reader: arbitrary bytes through fdt_check, and whatever it
 * accepts through dt_parse_machine and every walker, on an exactly-sized copy so ASan sees overreads.
 * Build: clang -DHOST_TEST -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude
 *        tests/host/fuzz_fdt.c platform/fdt.c platform/devtree.c -o fuzz_fdt */
#include <stdlib.h>
#include <stdio.h>

#include "platform/devtree.h"
#include "platform/fdt.h"
#include "lib/string.h"

static unsigned sink; /* keeps results alive so the calls are not optimised away */

static void walk(const void *b, int node, int depth, const char *parent_path)
{
	char path[256];
	struct fdt_prop p;
	int len, child, ac, sc, e;
	const char *name = fdt_node_name(b, node, &len);
	u64 base, size;

	if (!name || depth > FDT_MAX_DEPTH) return;
	snprintf(path, sizeof(path), "%s/%s", parent_path, name);
	sink += (unsigned)fdt_path_offset(b, depth ? path : "/");
	sink += (unsigned)fdt_parent(b, node);
	for (e = fdt_first_prop(b, node, &p); !e; e = fdt_next_prop(b, &p)) {
		sink += p.len + (unsigned)strlen(p.name);
		sink += fdt_getprop(b, node, p.name, &len) == p.value;
		if (p.len) sink += ((const u8 *)p.value)[p.len - 1];
	}
	sink += (unsigned)fdt_node_check_compatible(b, node, "ns16550a");
	sink += (unsigned)fdt_node_by_phandle(b, fdt_get_phandle(b, node));
	sink += (unsigned)fdt_address_cells(b, node) + (unsigned)fdt_size_cells(b, node);
	if (fdt_reg_cells(b, node, &ac, &sc) == 0)
		for (int i = 0; fdt_read_reg(b, node, ac, sc, i, &base, &size) == 0; i++) sink += (unsigned)(base + size);
	for (child = fdt_first_child(b, node); child >= 0; child = fdt_next_sibling(b, child))
		walk(b, child, depth + 1, depth ? path : "");
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const char *const paths[] = { "/cpus/cpu", "/soc/serial", "/chosen", "serial0", "a/b", "//" };
	struct machine_desc m;
	u8 *b = malloc(size ? size : 1);
	int node, n;
	u64 addr, len;

	memcpy(b, data, size);
	if (fdt_check(b, size, NULL) == 0) {
		walk(b, fdt_root(b), 0, "");
		n = fdt_num_mem_rsv(b);
		for (int i = 0; i < n; i++)
			if (fdt_get_mem_rsv(b, i, &addr, &len) == 0) sink += (unsigned)(addr + len);
		for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			sink += (unsigned)fdt_path_offset(b, paths[i]);
		for (node = fdt_find_compatible(b, -1, "virtio,mmio"); node >= 0;
		     node = fdt_find_compatible(b, node, "virtio,mmio"))
			sink++;
		dt_parse_machine(b, size, &m, NULL);
	} else if (size >= 40 && fdt_total_size(b) <= size) {
		/* Refused blobs must not lead the walkers astray either. */
		node = fdt_root(b);
		if (node >= 0) walk(b, node, 0, "");
	}
	free(b);
	return 0;
}
