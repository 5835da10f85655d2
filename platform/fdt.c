/* Flattened device tree reader: header and block validation, one bounds-checked token decoder
 * shared by the validator and every walker, and the lookups built on it (paths, properties,
 * compatible strings, phandles, memory reservations, reg cells). */
#include "platform/fdt.h"
#include "lib/string.h"

#define HDR_MAGIC 0
#define HDR_TOTALSIZE 4
#define HDR_OFF_STRUCT 8
#define HDR_OFF_STRINGS 12
#define HDR_OFF_RSVMAP 16
#define HDR_VERSION 20
#define HDR_LAST_COMP 24
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT 36 /* v17 only */
#define HDR_V16_SIZE 36
#define HDR_V17_SIZE 40
#define RSV_ENTRY_SIZE 16

/* Where the blocks of a blob lie, as checked against its header. */
struct fdt_view {
	const u8 *base;
	u32 total;
	u32 struct_off, struct_size;
	u32 strings_off, strings_size;
	u32 rsv_off, rsv_limit; /* reservation entries, terminator included, must end by rsv_limit */
};

static int fail(const char **why, const char *reason)
{
	if (why) *why = reason;
	return -EINVAL;
}

static u32 hdr(const void *blob, u32 field) { return fdt_be32((const u8 *)blob + field); }

/*
 * Header checks. bufsize is the caller's buffer for fdt_check; walkers, which are not told the
 * buffer size, pass the largest value and so trust totalsize, which fdt_check vetted earlier.
 */
static int view_init(const void *blob, u64 bufsize, struct fdt_view *v, const char **why)
{
	u32 version, last_comp, hsize;

	if (!blob) return fail(why, "no blob");
	if (bufsize < HDR_V17_SIZE) return fail(why, "buffer smaller than header");
	if (hdr(blob, HDR_MAGIC) != FDT_MAGIC) return fail(why, "bad magic");
	version = hdr(blob, HDR_VERSION);
	last_comp = hdr(blob, HDR_LAST_COMP);
	if (version < 16) return fail(why, "unsupported version");
	/* A v17 reader understands any blob whose oldest compatible version is 17 or less. */
	if (last_comp > 17 || last_comp > version) return fail(why, "incompatible last_comp_version");
	hsize = version >= 17 ? HDR_V17_SIZE : HDR_V16_SIZE;

	v->base = blob;
	v->total = hdr(blob, HDR_TOTALSIZE);
	if (v->total < hsize) return fail(why, "totalsize smaller than header");
	if (v->total > bufsize) return fail(why, "totalsize exceeds buffer");
	/* Node and property handles are ints. */
	if (v->total > 0x7fffffffU) return fail(why, "totalsize too large");

	v->rsv_off = hdr(blob, HDR_OFF_RSVMAP);
	if (v->rsv_off < hsize || v->rsv_off > v->total) return fail(why, "memreserve block out of bounds");
	if (v->rsv_off % 8) return fail(why, "misaligned block");

	v->struct_off = hdr(blob, HDR_OFF_STRUCT);
	if (v->struct_off < hsize || v->struct_off > v->total) return fail(why, "struct block out of bounds");
	if (v->struct_off % 4) return fail(why, "misaligned block");
	/* v16 has no size_dt_struct: the structure block may run to the end of the blob. */
	v->struct_size = version >= 17 ? hdr(blob, HDR_SIZE_STRUCT) : v->total - v->struct_off;
	if (v->struct_size > v->total - v->struct_off) return fail(why, "struct block out of bounds");

	v->strings_off = hdr(blob, HDR_OFF_STRINGS);
	v->strings_size = hdr(blob, HDR_SIZE_STRINGS);
	if (v->strings_off < hsize || v->strings_off > v->total ||
	    v->strings_size > v->total - v->strings_off)
		return fail(why, "strings block out of bounds");

	/* The reservation list has no size field; it must not run into a block placed after it. */
	v->rsv_limit = v->total;
	if (v->struct_off >= v->rsv_off && v->struct_off < v->rsv_limit) v->rsv_limit = v->struct_off;
	if (v->strings_size && v->strings_off >= v->rsv_off && v->strings_off < v->rsv_limit)
		v->rsv_limit = v->strings_off;
	return 0;
}

static bool walk_view(const void *blob, struct fdt_view *v) { return view_init(blob, ~0ULL, v, NULL) == 0; }

static const u8 *struct_at(const struct fdt_view *v, u64 off) { return v->base + v->struct_off + off; }

/*
 * Decodes the token at structure offset off: returns its tag and sets *next to the aligned offset of
 * the token after it, or fails if the token or its payload would cross the end of the block.
 */
static int token_at(const struct fdt_view *v, u64 off, u64 *next, const char **why)
{
	u64 size = v->struct_size, pos;
	const u8 *s = struct_at(v, 0);
	size_t n;
	u32 tag, len;

	if (off % 4) return fail(why, "misaligned token");
	if (off > size || size - off < 4) return fail(why, "missing FDT_END");
	tag = fdt_be32(s + off);
	pos = off + 4;
	switch (tag) {
	case FDT_BEGIN_NODE:
		n = strnlen((const char *)s + pos, size - pos);
		if (n == size - pos) return fail(why, "unterminated node name");
		pos += n + 1;
		break;
	case FDT_PROP:
		if (size - pos < 8) return fail(why, "truncated property");
		len = fdt_be32(s + pos);
		pos += 8;
		if (len > size - pos) return fail(why, "property length out of bounds");
		pos += len;
		break;
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		break;
	default:
		return fail(why, "bad token");
	}
	*next = ALIGN_UP(pos, 4);
	return (int)tag;
}

/* The property token at off, with its name looked up in the strings block. */
static int prop_decode(const struct fdt_view *v, u64 off, struct fdt_prop *p, const char **why)
{
	u64 next;
	u32 nameoff;
	const char *name;
	int tag = token_at(v, off, &next, why);

	if (tag < 0) return tag;
	if (tag != FDT_PROP) return fail(why, "not a property");
	nameoff = fdt_be32(struct_at(v, off + 8));
	if (nameoff >= v->strings_size) return fail(why, "string offset out of range");
	name = (const char *)v->base + v->strings_off + nameoff;
	if (strnlen(name, v->strings_size - nameoff) == v->strings_size - nameoff)
		return fail(why, "unterminated property name");
	p->offset = (int)off;
	p->name = name;
	p->len = fdt_be32(struct_at(v, off + 4));
	p->value = struct_at(v, off + 12);
	return 0;
}

static int rsv_count(const struct fdt_view *v, const char **why)
{
	u64 off = v->rsv_off;
	int n = 0;

	/* libfdt and Linux both end the list at the first zero size, whatever its address. */
	for (;; n++, off += RSV_ENTRY_SIZE) {
		if (off + RSV_ENTRY_SIZE > v->rsv_limit) return fail(why, "memreserve block out of bounds");
		if (fdt_be64(v->base + off + 8) == 0) return n;
	}
}

int fdt_check(const void *blob, size_t bufsize, const char **why)
{
	struct fdt_view v;
	struct fdt_prop p;
	const char *sink;
	u64 off = 0, next, has_child = 0; /* bit d: the open node at depth d has had a subnode */
	int depth = 0, tag, err;
	bool root_done = false;

	if (!why) why = &sink;
	*why = NULL;
	if ((err = view_init(blob, bufsize, &v, why)) < 0) return err;
	if ((err = rsv_count(&v, why)) < 0) return err;

	for (;; off = next) {
		tag = token_at(&v, off, &next, why);
		if (tag < 0) return tag;
		if (root_done && tag != FDT_END) return fail(why, "data after root node");
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (depth == 0 && *struct_at(&v, off + 4) != '\0')
				return fail(why, "root node has a name");
			has_child |= 1ULL << depth;
			if (++depth > FDT_MAX_DEPTH) return fail(why, "nesting too deep");
			has_child &= ~(1ULL << depth);
			break;
		case FDT_END_NODE:
			if (depth == 0) return fail(why, "unbalanced FDT_END_NODE");
			if (--depth == 0) root_done = true;
			break;
		case FDT_PROP:
			if (depth == 0) return fail(why, "property outside any node");
			/* The spec puts all properties before subnodes; lookups rely on it. */
			if (has_child & (1ULL << depth)) return fail(why, "property after subnode");
			if ((err = prop_decode(&v, off, &p, why)) < 0) return err;
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			if (depth) return fail(why, "unclosed node");
			if (!root_done) return fail(why, "no root node");
			return 0;
		}
	}
}

#ifdef HOST_TEST /* test support: only host tests call these */
u32 fdt_total_size(const void *blob) { return hdr(blob, HDR_TOTALSIZE); }
#endif

/* Offset just past node's BEGIN_NODE token and name. */
static int node_body(const struct fdt_view *v, int node, u64 *body)
{
	if (node < 0) return -EINVAL;
	return token_at(v, (u64)node, body, NULL) == FDT_BEGIN_NODE ? 0 : -EINVAL;
}

int fdt_root(const void *blob)
{
	struct fdt_view v;
	u64 off = 0, next;
	int tag;

	if (!walk_view(blob, &v)) return -EINVAL;
	for (;; off = next) {
		tag = token_at(&v, off, &next, NULL);
		if (tag == FDT_BEGIN_NODE) return (int)off;
		if (tag != FDT_NOP) return -EINVAL;
	}
}

/* The first subnode at or after off, where off lies among a node's own tokens. */
static int scan_child(const struct fdt_view *v, u64 off)
{
	u64 next;

	for (;; off = next) {
		switch (token_at(v, off, &next, NULL)) {
		case FDT_BEGIN_NODE:
			return (int)off;
		case FDT_END_NODE:
		case FDT_END:
			return -ENOENT;
		case FDT_PROP:
		case FDT_NOP:
			break;
		default:
			return -EINVAL;
		}
	}
}

int fdt_first_child(const void *blob, int node)
{
	struct fdt_view v;
	u64 body;

	if (!walk_view(blob, &v) || node_body(&v, node, &body)) return -EINVAL;
	return scan_child(&v, body);
}

int fdt_next_sibling(const void *blob, int node)
{
	struct fdt_view v;
	u64 off = (u64)node, next;
	int depth = 0;

	if (!walk_view(blob, &v) || node_body(&v, node, &next)) return -EINVAL;
	for (;; off = next) {
		switch (token_at(&v, off, &next, NULL)) {
		case FDT_BEGIN_NODE:
			depth++;
			break;
		case FDT_END_NODE:
			if (--depth == 0) return scan_child(&v, next);
			break;
		case FDT_PROP:
		case FDT_NOP:
			break;
		default:
			return -EINVAL;
		}
	}
}

int fdt_parent(const void *blob, int node)
{
	struct fdt_view v;
	int stack[FDT_MAX_DEPTH + 1], depth = 0;
	u64 off = 0, next;

	if (!walk_view(blob, &v) || node_body(&v, node, &next)) return -EINVAL;
	for (;; off = next) {
		switch (token_at(&v, off, &next, NULL)) {
		case FDT_BEGIN_NODE:
			if (off == (u64)node) return depth ? stack[depth - 1] : -ENOENT;
			if (depth > FDT_MAX_DEPTH) return -EINVAL;
			stack[depth++] = (int)off;
			break;
		case FDT_END_NODE:
			if (depth-- == 0) return -EINVAL;
			break;
		case FDT_PROP:
		case FDT_NOP:
			break;
		default:
			return -EINVAL; /* node is not on the token chain */
		}
	}
}

int fdt_next_node(const void *blob, int node, int *depth)
{
	struct fdt_view v;
	u64 off = 0, next;

	if (!walk_view(blob, &v)) return -EINVAL;
	if (node >= 0) {
		if (node_body(&v, node, &off)) return -EINVAL;
	} else if (node != -1) {
		return -EINVAL;
	}
	for (;; off = next) {
		switch (token_at(&v, off, &next, NULL)) {
		case FDT_BEGIN_NODE:
			if (depth) (*depth)++;
			return (int)off;
		case FDT_END_NODE:
			if (depth) (*depth)--;
			break;
		case FDT_PROP:
		case FDT_NOP:
			break;
		case FDT_END:
			return -ENOENT;
		default:
			return -EINVAL;
		}
	}
}

const char *fdt_node_name(const void *blob, int node, int *lenp)
{
	struct fdt_view v;
	u64 body;
	const char *name;

	if (!walk_view(blob, &v) || node_body(&v, node, &body)) {
		if (lenp) *lenp = -EINVAL;
		return NULL;
	}
	name = (const char *)struct_at(&v, (u64)node + 4);
	if (lenp) *lenp = (int)strlen(name); /* terminated inside the block: token_at checked */
	return name;
}

/* The first property at or after off, stopping at the node's first subnode or its end. */
static int scan_prop(const struct fdt_view *v, u64 off, struct fdt_prop *p)
{
	u64 next;

	for (;; off = next) {
		switch (token_at(v, off, &next, NULL)) {
		case FDT_PROP:
			return prop_decode(v, off, p, NULL);
		case FDT_NOP:
			break;
		case FDT_BEGIN_NODE:
		case FDT_END_NODE:
			return -ENOENT;
		default:
			return -EINVAL;
		}
	}
}

int fdt_first_prop(const void *blob, int node, struct fdt_prop *p)
{
	struct fdt_view v;
	u64 body;

	if (!walk_view(blob, &v) || node_body(&v, node, &body)) return -EINVAL;
	return scan_prop(&v, body, p);
}

int fdt_next_prop(const void *blob, struct fdt_prop *p)
{
	struct fdt_view v;
	u64 next;

	if (!walk_view(blob, &v) || p->offset < 0) return -EINVAL;
	if (token_at(&v, (u64)p->offset, &next, NULL) != FDT_PROP) return -EINVAL;
	return scan_prop(&v, next, p);
}

static const void *getprop_n(const void *blob, int node, const char *name, size_t n, int *lenp)
{
	struct fdt_prop p;
	int err;

	for (err = fdt_first_prop(blob, node, &p); !err; err = fdt_next_prop(blob, &p)) {
		if (strlen(p.name) == n && !memcmp(p.name, name, n)) {
			if (lenp) *lenp = (int)p.len;
			return p.value;
		}
	}
	if (lenp) *lenp = err;
	return NULL;
}

const void *fdt_getprop(const void *blob, int node, const char *name, int *lenp)
{
	return getprop_n(blob, node, name, strlen(name), lenp);
}

/* The subnode of parent named name[0..n), or the only "name@unit" one when name has no '@'. */
static int child_by_name(const void *blob, int parent, const char *name, size_t n)
{
	int child, clen, unit_match = -ENOENT, unit_matches = 0;
	const char *cname;
	bool unit_ok = true;
	size_t i;

	for (i = 0; i < n; i++)
		if (name[i] == '@') unit_ok = false;
	for (child = fdt_first_child(blob, parent); child >= 0; child = fdt_next_sibling(blob, child)) {
		cname = fdt_node_name(blob, child, &clen);
		if (!cname) return clen;
		if ((size_t)clen < n || memcmp(cname, name, n)) continue;
		if ((size_t)clen == n) return child;
		if (unit_ok && cname[n] == '@') {
			unit_match = child;
			unit_matches++;
		}
	}
	if (child != -ENOENT) return child;
	return unit_matches == 1 ? unit_match : -ENOENT;
}

int fdt_path_offset_len(const void *blob, const char *path, size_t len)
{
	size_t i = 0, start;
	const char *target;
	int node, tlen;

	if (!path) return -EINVAL;
	len = strnlen(path, len);
	if (len == 0) return -EINVAL;
	if (path[0] == '/') {
		node = fdt_root(blob);
	} else {
		/* An alias names an absolute path; aliases of aliases are not followed. */
		while (i < len && path[i] != '/') i++;
		node = fdt_path_offset_len(blob, "/aliases", 8);
		if (node < 0) return node == -EINVAL ? node : -ENOENT;
		target = getprop_n(blob, node, path, i, &tlen);
		if (!target) return tlen;
		if (tlen < 2 || target[0] != '/' || strnlen(target, (size_t)tlen) != (size_t)tlen - 1)
			return -EINVAL;
		node = fdt_path_offset_len(blob, target, (size_t)tlen - 1);
	}
	while (node >= 0 && i < len) {
		while (i < len && path[i] == '/') i++;
		if (i == len) break;
		start = i;
		while (i < len && path[i] != '/') i++;
		node = child_by_name(blob, node, path + start, i - start);
	}
	return node;
}

int fdt_path_offset(const void *blob, const char *path) { return fdt_path_offset_len(blob, path, ~(size_t)0); }

bool fdt_stringlist_contains(const char *list, int len, const char *str)
{
	size_t n = strlen(str), l;

	while (len > 0) {
		l = strnlen(list, (size_t)len);
		if (l == (size_t)len) return false; /* an unterminated tail is not a string */
		if (l == n && !memcmp(list, str, n)) return true;
		list += l + 1;
		len -= (int)l + 1;
	}
	return false;
}

int fdt_node_check_compatible(const void *blob, int node, const char *compat)
{
	int len;
	const char *list = fdt_getprop(blob, node, "compatible", &len);

	if (!list) return len;
	return fdt_stringlist_contains(list, len, compat) ? 0 : 1;
}

int fdt_find_compatible(const void *blob, int start, const char *compat)
{
	int node;

	for (node = fdt_next_node(blob, start, NULL); node >= 0; node = fdt_next_node(blob, node, NULL))
		if (fdt_node_check_compatible(blob, node, compat) == 0) return node;
	return node;
}

u32 fdt_get_phandle(const void *blob, int node)
{
	int len;
	const void *p = fdt_getprop(blob, node, "phandle", &len);

	if (!p || len != 4) p = fdt_getprop(blob, node, "linux,phandle", &len);
	return p && len == 4 ? fdt_be32(p) : 0;
}

int fdt_node_by_phandle(const void *blob, u32 phandle)
{
	int node;

	if (phandle == 0 || phandle == 0xffffffffU) return -EINVAL;
	for (node = fdt_next_node(blob, -1, NULL); node >= 0; node = fdt_next_node(blob, node, NULL))
		if (fdt_get_phandle(blob, node) == phandle) return node;
	return node;
}

int fdt_num_mem_rsv(const void *blob)
{
	struct fdt_view v;

	if (!walk_view(blob, &v)) return -EINVAL;
	return rsv_count(&v, NULL);
}

int fdt_get_mem_rsv(const void *blob, int n, u64 *addr, u64 *size)
{
	struct fdt_view v;
	int count = fdt_num_mem_rsv(blob);
	const u8 *e;

	if (count < 0) return count;
	if (n < 0 || n >= count) return -ENOENT;
	walk_view(blob, &v);
	e = v.base + v.rsv_off + (u64)n * RSV_ENTRY_SIZE;
	*addr = fdt_be64(e);
	*size = fdt_be64(e + 8);
	return 0;
}

static int cells_prop(const void *blob, int node, const char *name, int dflt)
{
	int len;
	const void *p = fdt_getprop(blob, node, name, &len);

	if (!p) return len == -ENOENT ? dflt : len;
	if (len != 4 || fdt_be32(p) > 4) return -EINVAL;
	return (int)fdt_be32(p);
}

int fdt_address_cells(const void *blob, int node) { return cells_prop(blob, node, "#address-cells", 2); }
int fdt_size_cells(const void *blob, int node) { return cells_prop(blob, node, "#size-cells", 1); }

int fdt_reg_cells(const void *blob, int node, int *addr_cells, int *size_cells)
{
	int parent = fdt_parent(blob, node), ac = 2, sc = 1;

	if (parent >= 0) {
		ac = fdt_address_cells(blob, parent);
		sc = fdt_size_cells(blob, parent);
		if (ac < 0) return ac;
		if (sc < 0) return sc;
	} else if (parent != -ENOENT) {
		return parent;
	}
	*addr_cells = ac;
	*size_cells = sc;
	return 0;
}

int fdt_read_reg(const void *blob, int node, int addr_cells, int size_cells, int idx, u64 *base,
		 u64 *size)
{
	int len, entry;
	const u8 *reg;

	if (addr_cells < 1 || addr_cells > 2 || size_cells < 0 || size_cells > 2 || idx < 0)
		return -EINVAL;
	reg = fdt_getprop(blob, node, "reg", &len);
	if (!reg) return len;
	entry = (addr_cells + size_cells) * 4;
	if (len % entry) return -EINVAL;
	if (idx >= len / entry) return -ENOENT;
	reg += idx * entry;
	*base = fdt_read_cells(reg, addr_cells);
	*size = fdt_read_cells(reg + addr_cells * 4, size_cells);
	return 0;
}
