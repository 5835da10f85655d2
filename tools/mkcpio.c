/* mkcpio: host tool that packs files into a newc ("070701") cpio archive, the initrd format the kernel
 * reads. Usage: mkcpio out.cpio name=path ...  (each file is stored under `name`, mode 0100755). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MKCPIO_NAME_MAX 4095 /* the kernel accepts names up to 4096 bytes with the NUL */

int mkcpio_main(int argc, char **argv);

static int put_entry(FILE *out, unsigned long *pos, unsigned ino, unsigned mode, const char *name,
		     const unsigned char *data, unsigned long size)
{
	static const char zeros[4];
	size_t namesize = strlen(name) + 1;
	int n = fprintf(out, "070701%08X%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08zX%08X", ino, mode, 0u, 0u,
			1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
	if (n != 110) return -1;
	if (fwrite(name, 1, namesize, out) != namesize) return -1;
	*pos += 110 + namesize;
	if (fwrite(zeros, 1, (4 - *pos % 4) % 4, out) != (4 - *pos % 4) % 4) return -1;
	*pos += (4 - *pos % 4) % 4;
	if (size && fwrite(data, 1, size, out) != size) return -1;
	*pos += size;
	if (fwrite(zeros, 1, (4 - *pos % 4) % 4, out) != (4 - *pos % 4) % 4) return -1;
	*pos += (4 - *pos % 4) % 4;
	return 0;
}

/* Reads a whole file; newc sizes are 32-bit, so larger files are refused rather than truncated. */
static unsigned char *slurp(const char *path, unsigned long *size)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	unsigned long cap = 1 << 16, len = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len > 0xffffffffUL) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
			break;
		}
		if (len == cap) {
			unsigned char *bigger = realloc(buf, cap * 2);
			if (!bigger) free(buf);
			buf = bigger;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = len;
	return buf;
}

int mkcpio_main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mkcpio out.cpio name=path ...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i] || !eq[1]) {
			fprintf(stderr, "mkcpio: '%s' is not name=path\n", argv[i]);
			return 2;
		}
		if ((size_t)(eq - argv[i]) > MKCPIO_NAME_MAX) {
			fprintf(stderr, "mkcpio: name too long in '%s'\n", argv[i]);
			return 2;
		}
	}
	FILE *out = fopen(argv[1], "wb");
	if (!out) {
		fprintf(stderr, "mkcpio: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	unsigned long pos = 0;
	int rc = 0;
	for (int i = 2; i < argc && rc == 0; i++) {
		char *name = strdup(argv[i]);
		if (!name) {
			rc = 1;
			break;
		}
		char *path = strchr(name, '=');
		*path++ = '\0';
		unsigned long size;
		unsigned char *data = slurp(path, &size);
		if (!data) {
			fprintf(stderr, "mkcpio: %s: %s\n", path, strerror(errno));
			rc = 1;
		} else if (put_entry(out, &pos, (unsigned)i - 1, 0100755, name, data, size)) {
			fprintf(stderr, "mkcpio: %s: write failed\n", argv[1]);
			rc = 1;
		}
		free(data);
		free(name);
	}
	if (rc == 0 && put_entry(out, &pos, 0, 0, "TRAILER!!!", NULL, 0)) rc = 1;
	if (fclose(out) != 0) rc = 1;
	if (rc) remove(argv[1]);
	return rc;
}

#ifndef MKCPIO_LIBRARY
int main(int argc, char **argv) { return mkcpio_main(argc, argv); }
#endif
