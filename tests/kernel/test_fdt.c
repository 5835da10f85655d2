/* In-kernel device-tree parser checks: the firmware's blob parses to the machine we booted on, and
 * broken copies of it are rejected with the right reason instead of being walked out of bounds. */
#include "kernel/ktest.h"
#include "lib/string.h"
#include "platform/devtree.h"
#include "platform/fdt.h"
#include "vm/vmalloc.h"

extern struct machine_desc machine;
extern const void *boot_dtb;
extern u64 boot_dtb_size;

static void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static u32 hdr(const u8 *b, int field) { return fdt_be32(b + 4 * field); }

/* Hands parse() a fresh copy of the boot blob, changed by mutate(), and returns fdt_check's reason. */
static const char *check_copy(struct ktest *t, void (*mutate)(u8 *b, u64 size), u64 size)
{
	static struct machine_desc m;
	const char *why = NULL;
	u8 *b = vmalloc(boot_dtb_size + 64);
	if (!b) {
		ktest_fail(t, __FILE__, __LINE__, "vmalloc for the copy");
		return "";
	}
	memcpy(b, boot_dtb, boot_dtb_size);
	mutate(b, boot_dtb_size);
	int r = fdt_check(b, size, &why);
	int r2 = dt_parse_machine(b, size, &m, &why);
	if ((r == 0) != (r2 == 0 || r2 != -EINVAL)) why = why ? why : "inconsistent";
	vfree(b);
	return r ? why : NULL;
}

static void keep(u8 *b, u64 size) { (void)b; (void)size; }

static void boot_blob_matches_machine(struct ktest *t)
{
	static struct machine_desc m;
	const char *why = NULL;
	KT_ASSERT(t, dt_parse_machine(boot_dtb, boot_dtb_size, &m, &why) == 0);
	/* The boot clips banks to the RAM really there and drops empty ones, so only ever fewer or smaller. */
	KT_EXPECT(t, m.nmem >= machine.nmem && m.nharts == machine.nharts);
	for (int i = 0; i < machine.nmem; i++)
		KT_EXPECT(t, dt_mem_contains(&m, machine.mem[i].base, machine.mem[i].size));
	KT_EXPECT(t, m.timebase_hz == machine.timebase_hz && m.uart_base == machine.uart_base);
	KT_EXPECT(t, check_copy(t, keep, boot_dtb_size) == NULL);
}

static void bad_magic(u8 *b, u64 s) { (void)s; put_be32(b, 0xdeadbeef); }
static void bad_version(u8 *b, u64 s) { (void)s; put_be32(b + 20, 15); put_be32(b + 24, 15); }
static void struct_past_end(u8 *b, u64 s) { put_be32(b + 8, (u32)s + 4096); }
static void strings_past_end(u8 *b, u64 s) { put_be32(b + 12, (u32)s - 4); put_be32(b + 32, 4096); }

/* Points the first property's name offset far outside the strings block. */
static void bad_string_offset(u8 *b, u64 s)
{
	(void)s;
	u32 off = hdr(b, 2);
	for (u32 p = off; p + 12 < hdr(b, 2) + hdr(b, 9); p += 4)
		if (fdt_be32(b + p) == FDT_PROP) {
			put_be32(b + p + 8, 0x7ffffff0);
			return;
		}
}

/* Rewrites the struct block as 100 nested nodes. */
static void endless_nesting(u8 *b, u64 s)
{
	(void)s;
	u32 off = hdr(b, 2), words = hdr(b, 9) / 4;
	u8 *p = b + off;
	u32 n = 0;
	put_be32(p + 4 * n++, FDT_BEGIN_NODE);
	put_be32(p + 4 * n++, 0); /* root: empty name */
	while (n + 2 < words && n < 202) {
		put_be32(p + 4 * n++, FDT_BEGIN_NODE);
		put_be32(p + 4 * n++, 0x61000000); /* "a" */
	}
}

static void truncated(u8 *b, u64 s) { (void)b; (void)s; }

static void broken_blobs_rejected(struct ktest *t)
{
	const char *why;
	KT_EXPECT(t, (why = check_copy(t, bad_magic, boot_dtb_size)) && !strcmp(why, "bad magic"));
	KT_EXPECT(t, check_copy(t, bad_version, boot_dtb_size) != NULL);
	KT_EXPECT(t, check_copy(t, struct_past_end, boot_dtb_size) != NULL);
	KT_EXPECT(t, check_copy(t, strings_past_end, boot_dtb_size) != NULL);
	KT_EXPECT(t, check_copy(t, bad_string_offset, boot_dtb_size) != NULL);
	KT_EXPECT(t, check_copy(t, endless_nesting, boot_dtb_size) != NULL);
	KT_EXPECT(t, check_copy(t, truncated, boot_dtb_size / 2) != NULL); /* totalsize beyond the buffer */
}

KTEST_SUITE(fdt, {"boot_blob_matches_machine", boot_blob_matches_machine},
	    {"broken_blobs_rejected", broken_blobs_rejected});

/* Renames a property in the strings block, as if the firmware had left it out. */
static void rename_string(u8 *b, const char *name)
{
	u32 off = hdr(b, 3), size = hdr(b, 8), n = (u32)strlen(name);
	for (u32 i = 0; i + n < size; i++)
		if (!memcmp(b + off + i, name, n + 1)) {
			b[off + i] = 'X';
			return;
		}
}

static void drop_timebase(u8 *b, u64 s) { (void)s; rename_string(b, "timebase-frequency"); }
static void drop_mmu_type(u8 *b, u64 s) { (void)s; rename_string(b, "mmu-type"); }

static const char *parse_copy(void (*mutate)(u8 *b, u64 size))
{
	static struct machine_desc m;
	const char *why = NULL;
	u8 *b = vmalloc(boot_dtb_size);
	if (!b) return "no memory";
	memcpy(b, boot_dtb, boot_dtb_size);
	mutate(b, boot_dtb_size);
	int r = dt_parse_machine(b, boot_dtb_size, &m, &why);
	vfree(b);
	return r ? why : NULL;
}

static void semantic_errors_rejected(struct ktest *t)
{
	const char *why = parse_copy(drop_timebase);
	KT_EXPECT(t, why && !strcmp(why, "missing timebase-frequency"));
	why = parse_copy(drop_mmu_type);
	KT_EXPECT(t, why && !strcmp(why, "no hart supports Sv39"));
}

KTEST_SUITE(fdt_semantics, {"semantic_errors_rejected", semantic_errors_rejected});
