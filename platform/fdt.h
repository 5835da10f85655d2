/* Flattened device tree (DTB, spec v17) reader: structural validation of an untrusted blob, then
 * read-only walking of nodes, properties, paths, phandles and the memory reservation block. */
#ifndef PLATFORM_FDT_H
#define PLATFORM_FDT_H

#include "lib/types.h"

/*
 * Host tests link libfdt beside this reader to check one against the other; the names the two share
 * are renamed there so neither library's calls land in the other.
 */
#ifdef HOST_TEST
#define fdt_next_node vmk_fdt_next_node
#define fdt_path_offset vmk_fdt_path_offset
#define fdt_getprop vmk_fdt_getprop
#define fdt_node_check_compatible vmk_fdt_node_check_compatible
#define fdt_stringlist_contains vmk_fdt_stringlist_contains
#define fdt_get_phandle vmk_fdt_get_phandle
#define fdt_num_mem_rsv vmk_fdt_num_mem_rsv
#define fdt_get_mem_rsv vmk_fdt_get_mem_rsv
#define fdt_address_cells vmk_fdt_address_cells
#define fdt_size_cells vmk_fdt_size_cells
#endif

#define FDT_MAGIC 0xd00dfeed /* spelled as libfdt does, so both headers can meet in a test */
#define FDT_MAX_DEPTH 32 /* root is depth 1; deeper blobs are rejected by fdt_check */

#define FDT_BEGIN_NODE 0x1
#define FDT_END_NODE 0x2
#define FDT_PROP 0x3
#define FDT_NOP 0x4
#define FDT_END 0x9

/*
 * Validates the whole blob (header, memory reservation block, structure and strings blocks) against
 * a buffer of bufsize bytes. Returns 0, or -EINVAL with *why (may be NULL) set to a static reason.
 * Everything below assumes a blob that passed, yet never reads outside the blocks its header
 * describes even when handed garbage. Node and property handles are byte offsets into the
 * structure block (the same numbers libfdt uses); negative values are errors: -ENOENT for
 * "no such thing", -EINVAL for a bad handle or malformed data.
 */
int fdt_check(const void *blob, size_t bufsize, const char **why);
#ifdef HOST_TEST /* test support: only host tests call these */
u32 fdt_total_size(const void *blob);
#endif

/* fdt_root: the root node, or -EINVAL when the header or the start of the structure block is bad.
 * fdt_first_child / fdt_next_sibling: node's first subnode / the next subnode of node's parent; -ENOENT
 * when there is none, -EINVAL when node is not a node handle or the walk meets malformed data. Like
 * every reader here, they re-check the header on each call, take no lock and allocate nothing: any
 * context. */
int fdt_root(const void *blob);
int fdt_first_child(const void *blob, int node);
int fdt_next_sibling(const void *blob, int node);
int fdt_parent(const void *blob, int node); /* O(size of the tree) */
/* Depth-first successor of node (-1 starts at the root); *depth, if given, is adjusted by the
 * change in depth, as in libfdt. */
int fdt_next_node(const void *blob, int node, int *depth);
const char *fdt_node_name(const void *blob, int node, int *lenp);

/*
 * "/soc/serial@10000000"; a component without '@' also matches a sibling "name@unit" when that
 * sibling is the only one so named (an exact name always wins). A path not starting with '/'
 * begins with an alias from /aliases. The _len form reads at most len bytes of path.
 */
int fdt_path_offset(const void *blob, const char *path);
int fdt_path_offset_len(const void *blob, const char *path, size_t len);

struct fdt_prop {
	int offset; /* of the FDT_PROP token */
	const char *name;
	const void *value;
	u32 len;
};
/* node's first property into *p: 0; -ENOENT when it has none, -EINVAL for a bad node or malformed data. */
int fdt_first_prop(const void *blob, int node, struct fdt_prop *p);
/* Advances p to its node's next property: 0; -ENOENT after the last, -EINVAL when p is not a property
 * that fdt_first_prop or fdt_next_prop filled in for this blob, or for malformed data. */
int fdt_next_prop(const void *blob, struct fdt_prop *p);
/* The value of node's property `name`, its length in *lenp (lenp may be NULL); else NULL with *lenp set to
 * -ENOENT (no such property) or -EINVAL (bad node, malformed data). */
const void *fdt_getprop(const void *blob, int node, const char *name, int *lenp);

/* libfdt's convention: 0 when compatible, 1 when not, -ENOENT without a compatible property, -EINVAL for a
 * bad node or malformed data. */
int fdt_node_check_compatible(const void *blob, int node, const char *compat);
/* Whether str is one of the NUL-terminated strings packed in list[0..len); an unterminated tail is none. */
bool fdt_stringlist_contains(const char *list, int len, const char *str);
/* First node after start (-1: from the root, inclusive) in depth-first order that is compatible; a node
 * whose properties cannot be read counts as not compatible. -ENOENT when none is, -EINVAL for a start
 * below -1 or that is not a node, or for malformed data. */
int fdt_find_compatible(const void *blob, int start, const char *compat);

/* The node's 4-byte "phandle" property, else its "linux,phandle". 0 when it has neither, and also for a
 * bad node or malformed data: there is no error code. */
u32 fdt_get_phandle(const void *blob, int node);
/* The node carrying phandle (a scan of the whole tree); -EINVAL for 0 and ~0, -ENOENT when none has it. */
int fdt_node_by_phandle(const void *blob, u32 phandle);

/* Entries in the memory reservation block before its terminator (the first entry of size 0, as libfdt and
 * Linux read it); -EINVAL when the header is bad or the list runs into the next block unterminated. */
int fdt_num_mem_rsv(const void *blob);
/* Entry n of that block into *addr and *size: 0; -ENOENT when n is negative or past the last entry,
 * -EINVAL as for fdt_num_mem_rsv (*addr and *size untouched on error). */
int fdt_get_mem_rsv(const void *blob, int n, u64 *addr, u64 *size);

/* #address-cells / #size-cells a node declares for its children (defaults 2 and 1); -EINVAL when
 * the property is malformed or larger than 4. */
int fdt_address_cells(const void *blob, int node);
int fdt_size_cells(const void *blob, int node);
/* The cells that govern node's own "reg": its parent's, or the defaults for the root. */
int fdt_reg_cells(const void *blob, int node, int *addr_cells, int *size_cells);
/* Entry idx of node's "reg" under the given cell counts (address 1..2, size 0..2 cells).
 * -ENOENT past the last entry or without reg, -EINVAL when reg's length is not whole entries. */
int fdt_read_reg(const void *blob, int node, int addr_cells, int size_cells, int idx, u64 *base,
		 u64 *size);

/* Byte loads: property values are only 4-byte aligned, and the blob itself may not be. */
static inline u32 fdt_be32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}
static inline u64 fdt_be64(const void *p)
{
	return (u64)fdt_be32(p) << 32 | fdt_be32((const u8 *)p + 4);
}
/* A 1- or 2-cell number; any other count reads as 0. */
static inline u64 fdt_read_cells(const void *p, int ncells)
{
	if (ncells == 1) return fdt_be32(p);
	if (ncells == 2) return fdt_be64(p);
	return 0;
}

#endif
