/* newc cpio parsing: headers of 8-digit hex fields, names with their NUL, 4-byte padding, a trailer.
 * All arithmetic is done against the remaining length so hostile sizes cannot wrap past the end. */
#include "kernel/cpio.h"
#include "lib/string.h"

/* Offsets of the 8-character hex fields after the 6-byte magic. */
#define F_MODE 1
#define F_FILESIZE 6
#define F_NAMESIZE 11
#define NFIELDS 13

static const char TRAILER[] = "TRAILER!!!";

static int fail(struct cpio_iter *it, const char *why)
{
	it->why = why;
	it->done = true;
	return -EINVAL;
}

static bool parse_hex8(const u8 *s, u32 *out)
{
	u32 v = 0;
	for (int i = 0; i < 8; i++) {
		u8 c = s[i];
		u32 d;
		if (c >= '0' && c <= '9') d = c - '0';
		else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
		else return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* Padding is relative to the archive start, which is where the writer counted from. */
static u64 pad4(u64 x) { return (x + 3) & ~3ULL; }

void cpio_iter_init(struct cpio_iter *it, const void *ar, u64 len)
{
	it->ar = ar;
	it->len = len;
	it->pos = 0;
	it->done = false;
	it->why = NULL;
}

int cpio_next(struct cpio_iter *it, struct cpio_entry *e)
{
	if (it->done) return it->why ? -EINVAL : 0;
	u64 left = it->len - it->pos;
	if (left == 0) return fail(it, "archive ends without a TRAILER!!! entry");
	if (left < CPIO_HDR_SIZE) return fail(it, "truncated header");

	const u8 *h = it->ar + it->pos;
	if (memcmp(h, "070701", 6) != 0) return fail(it, "bad magic (not a newc archive)");
	u32 f[NFIELDS];
	for (int i = 0; i < NFIELDS; i++)
		if (!parse_hex8(h + 6 + 8 * i, &f[i])) return fail(it, "bad hex digit in header");

	u64 namesize = f[F_NAMESIZE], filesize = f[F_FILESIZE];
	if (namesize == 0) return fail(it, "zero name size");
	if (namesize > CPIO_NAME_MAX) return fail(it, "name size too large");
	if (namesize > left - CPIO_HDR_SIZE) return fail(it, "name runs past end of archive");
	const char *name = (const char *)h + CPIO_HDR_SIZE;
	if (name[namesize - 1] != '\0') return fail(it, "name not NUL-terminated");
	if (strnlen(name, namesize) != namesize - 1) return fail(it, "NUL inside name");

	u64 name_end = it->pos + CPIO_HDR_SIZE + namesize;
	if (namesize == sizeof(TRAILER) && memcmp(name, TRAILER, sizeof(TRAILER)) == 0) {
		/* Whatever follows the trailer (typically zero padding to a block) is not ours to judge. */
		it->done = true;
		return 0;
	}
	u64 data_start = pad4(name_end);
	if (data_start > it->len) return fail(it, "name padding runs past end of archive");
	if (filesize > it->len - data_start) return fail(it, "file data runs past end of archive");

	u64 data_end = data_start + filesize;
	u64 next = pad4(data_end);
	if (next > it->len) return fail(it, "data padding runs past end of archive");

	e->name = name;
	e->namelen = namesize - 1;
	e->data = it->ar + data_start;
	e->size = filesize;
	e->mode = f[F_MODE];
	it->pos = next;
	return 1;
}

int cpio_check(const void *ar, u64 len, const char **why)
{
	struct cpio_iter it;
	struct cpio_entry e;
	int r;

	cpio_iter_init(&it, ar, len);
	while ((r = cpio_next(&it, &e)) > 0) {
	}
	if (why) *why = it.why;
	return r;
}

static const char *strip_prefix(const char *s)
{
	for (;;) {
		if (s[0] == '/') s++;
		else if (s[0] == '.' && s[1] == '/') s += 2;
		else return s;
	}
}

int cpio_find(const void *ar, u64 len, const char *name, const void **data, u64 *size)
{
	struct cpio_iter it;
	struct cpio_entry e;
	const void *found_data = NULL;
	u64 found_size = 0;
	bool found = false;
	int r;

	name = strip_prefix(name);
	cpio_iter_init(&it, ar, len);
	while ((r = cpio_next(&it, &e)) > 0) {
		if (found || (e.mode & CPIO_MODE_TYPE) != CPIO_MODE_REG) continue;
		if (*name && strcmp(strip_prefix(e.name), name) == 0) {
			found = true;
			found_data = e.data;
			found_size = e.size;
		}
	}
	if (r < 0) return r;
	if (!found) return -ENOENT;
	*data = found_data;
	*size = found_size;
	return 0;
}
