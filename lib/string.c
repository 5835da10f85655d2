/* Freestanding memory and string routines; memset/memcpy are word-at-a-time because page zeroing and
 * vrealloc copies sit on the allocator's measured paths. */
#include "lib/string.h"

/* The compiler calls memset/memcpy/memmove/memcmp itself (struct copies, zeroing) without naming them in
 * any source: under LTO nothing would keep them until code generation asks for them, hence `used`. */
#define COMPILER_CALLED __attribute__((used))

COMPILER_CALLED void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	u64 w = (u8)c * 0x0101010101010101ULL;

	while (n && ((uptr)p & 7)) {
		*p++ = (unsigned char)c;
		n--;
	}
	for (; n >= 32; n -= 32, p += 32) {
		((u64 *)p)[0] = w;
		((u64 *)p)[1] = w;
		((u64 *)p)[2] = w;
		((u64 *)p)[3] = w;
	}
	for (; n >= 8; n -= 8, p += 8) *(u64 *)p = w;
	while (n--) *p++ = (unsigned char)c;
	return d;
}

COMPILER_CALLED void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if ((((uptr)dp | (uptr)sp) & 7) == 0) {
		for (; n >= 32; n -= 32, dp += 32, sp += 32) {
			u64 a = ((const u64 *)sp)[0], b = ((const u64 *)sp)[1];
			u64 c = ((const u64 *)sp)[2], e = ((const u64 *)sp)[3];
			((u64 *)dp)[0] = a;
			((u64 *)dp)[1] = b;
			((u64 *)dp)[2] = c;
			((u64 *)dp)[3] = e;
		}
		for (; n >= 8; n -= 8, dp += 8, sp += 8) *(u64 *)dp = *(const u64 *)sp;
	}
	while (n--) *dp++ = *sp++;
	return d;
}

COMPILER_CALLED void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n) return memcpy(d, s, n);
	while (n--) dp[n] = sp[n];
	return d;
}

COMPILER_CALLED int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y) return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n]) n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n]) n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
		if (!*a) return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c) return (char *)s;
		if (!*s) return NULL;
	}
}

size_t strlcpy(char *d, const char *s, size_t n)
{
	size_t len = strlen(s);
	if (n) {
		size_t c = len < n - 1 ? len : n - 1;
		memcpy(d, s, c);
		d[c] = '\0';
	}
	return len;
}
