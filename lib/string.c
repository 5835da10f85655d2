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
		/* 128 bytes a turn: 16 loads, 16 stores and 3 instructions of loop, against 11 for every
		 * 32 bytes before; a 4 KiB shm_read/shm_write copy is ~1,150 instructions instead of ~1,660. */
		const u64 *src = (const u64 *)sp, *block_end = src + (n / 128) * 16;
		u64 *d64 = (u64 *)dp;
		for (; src != block_end; src += 16, d64 += 16) {
			/* Two halves of 8 words: the barrier keeps them apart, so the copy needs 8 scratch
			 * registers and no callee-saved ones (no prologue for the many small copies). */
			u64 w0 = src[0], w1 = src[1], w2 = src[2], w3 = src[3], w4 = src[4], w5 = src[5], w6 = src[6],
			    w7 = src[7];
			d64[0] = w0, d64[1] = w1, d64[2] = w2, d64[3] = w3, d64[4] = w4, d64[5] = w5, d64[6] = w6;
			d64[7] = w7;
			__asm__ volatile("" ::: "memory");
			w0 = src[8], w1 = src[9], w2 = src[10], w3 = src[11], w4 = src[12], w5 = src[13], w6 = src[14];
			w7 = src[15];
			d64[8] = w0, d64[9] = w1, d64[10] = w2, d64[11] = w3, d64[12] = w4, d64[13] = w5, d64[14] = w6;
			d64[15] = w7;
		}
		n %= 128;
		sp = (const unsigned char *)src;
		dp = (unsigned char *)d64;
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
