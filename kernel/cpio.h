/* Reading newc ("070701") cpio archives such as the initrd, treating every byte as untrusted. */
#ifndef KERNEL_CPIO_H
#define KERNEL_CPIO_H

#include "lib/types.h"

#define CPIO_HDR_SIZE 110
#define CPIO_NAME_MAX 4096 /* longest name accepted, NUL included */
#define CPIO_MODE_TYPE 0170000u
#define CPIO_MODE_REG 0100000u

struct cpio_entry {
	const char *name; /* NUL-terminated, inside the archive, exactly as stored */
	u64 namelen;      /* strlen(name) */
	const void *data; /* inside the archive */
	u64 size;
	u32 mode;
};

struct cpio_iter {
	const u8 *ar;
	u64 len;
	u64 pos;
	bool done;
	const char *why; /* reason after a -EINVAL from cpio_next */
};

/* Starts an iterator at the first entry of the archive ar[0..len). Reads nothing and cannot fail: every
 * check is cpio_next's. The entries it yields point into the archive, which must stay in place while
 * they are used. Any context (no lock, no allocation). */
void cpio_iter_init(struct cpio_iter *it, const void *ar, u64 len);

/* Returns 1 with *e filled, 0 at the "TRAILER!!!" entry (and on every later call), or -EINVAL with
 * it->why set when the archive is malformed (and on every later call). */
int cpio_next(struct cpio_iter *it, struct cpio_entry *e);

/* Walks the whole archive: 0 when it is well formed up to its trailer, else -EINVAL and *why. */
int cpio_check(const void *ar, u64 len, const char **why);

/*
 * Finds the regular file called name; a leading "/" or "./" on either side is ignored, so "init",
 * "/init" and "./init" all name the same file. The whole archive is validated first, so a malformed
 * archive gives -EINVAL even when the file comes before the damage. Returns 0 with *data and *size set,
 * -ENOENT when there is no such file, -EINVAL when the archive is malformed.
 */
int cpio_find(const void *ar, u64 len, const char *name, const void **data, u64 *size);

#endif
