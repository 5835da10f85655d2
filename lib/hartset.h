/* Hart sets: bitmaps of dense hart indices (lib/percpu.h's `index`), MAX_HARTS bits wide in 64-bit words.
 * Every set of harts the kernel keeps (the online set, a task's TLB and running sets, the sleepers of a
 * lock, the waiters of a grace period or a purge, a fence's targets) is one of these, so the hart limit
 * is this one constant and not the width of a machine word.
 *
 * Cost: everything is inline over a constant number of words, which the compiler unrolls; with up to 64
 * harts online only word 0 ever has a bit set, and a test, set or clear touches one word, as a u64 mask
 * did. The atomic forms work word by word: one hart's bit always lives in the same word, so the ordering
 * arguments the callers make about one hart's bit (mark, fence, look) hold unchanged; a whole-set read
 * is not a snapshot across words, which no caller needs (each either loops until a condition holds, or
 * reads a set whose bits only grow, or tolerates a spurious or missed hart the way it did with one word). */
#ifndef LIB_HARTSET_H
#define LIB_HARTSET_H

#include "lib/types.h"

/* The most harts the kernel takes; QEMU virt starts up to 512 (OpenSBI 1.1 up to 128). Any multiple of
 * 64 works (256 is checked by a host test build); every per-hart table is sized by it. */
#ifndef MAX_HARTS
#define MAX_HARTS 128
#endif
_Static_assert(MAX_HARTS % 64 == 0 && MAX_HARTS > 0, "MAX_HARTS is a positive multiple of 64");

#define HARTSET_WORDS (MAX_HARTS / 64)

struct hartset {
	u64 w[HARTSET_WORDS];
};

#define HARTSET_EMPTY {{0}}

static inline u64 hartset_bit(u32 i) { return 1ULL << (i % 64); }

/* Plain (non-atomic) operations: for sets only one hart writes, or copies taken with hartset_load. None
 * can fail; an index must be below MAX_HARTS (hartset_test answers false beyond it). Any context. */
static inline void hartset_zero(struct hartset *s)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) s->w[k] = 0;
}

/* Every index 0..MAX_HARTS-1: "all harts", which the users of a set intersect with the online set. */
static inline void hartset_fill(struct hartset *s)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) s->w[k] = ~0ULL;
}

/* Indices 0..n-1 (n <= MAX_HARTS): the online set when indices are dense. */
static inline void hartset_first_n(struct hartset *s, u32 n)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++)
		s->w[k] = n >= (k + 1) * 64 ? ~0ULL : n > k * 64 ? (1ULL << (n - k * 64)) - 1 : 0;
}

static inline void hartset_set(struct hartset *s, u32 i) { s->w[i / 64] |= hartset_bit(i); }
static inline void hartset_clear(struct hartset *s, u32 i) { s->w[i / 64] &= ~hartset_bit(i); }
static inline bool hartset_test(const struct hartset *s, u32 i)
{
	return i < MAX_HARTS && (s->w[i / 64] & hartset_bit(i));
}

/* Just index i. */
static inline void hartset_only(struct hartset *s, u32 i)
{
	hartset_zero(s);
	hartset_set(s, i);
}

static inline bool hartset_empty(const struct hartset *s)
{
	u64 any = 0;
	for (u32 k = 0; k < HARTSET_WORDS; k++) any |= s->w[k];
	return !any;
}

static inline bool hartset_equal(const struct hartset *a, const struct hartset *b)
{
	u64 diff = 0;
	for (u32 k = 0; k < HARTSET_WORDS; k++) diff |= a->w[k] ^ b->w[k];
	return !diff;
}

/* Number of harts in the set (libgcc's popcount without Zbb: not for hot paths). */
static inline u32 hartset_popcount(const struct hartset *s)
{
	u32 n = 0;
	for (u32 k = 0; k < HARTSET_WORDS; k++) n += (u32)__builtin_popcountll(s->w[k]);
	return n;
}

/* d = a & b, d = a & ~b, d = a | b; d may be a or b. */
static inline void hartset_and(struct hartset *d, const struct hartset *a, const struct hartset *b)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) d->w[k] = a->w[k] & b->w[k];
}

static inline void hartset_andnot(struct hartset *d, const struct hartset *a, const struct hartset *b)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) d->w[k] = a->w[k] & ~b->w[k];
}

static inline void hartset_or(struct hartset *d, const struct hartset *a, const struct hartset *b)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) d->w[k] = a->w[k] | b->w[k];
}

/* The lowest index >= i in the set, or MAX_HARTS when none: what hartset_for_each steps with. Shifts
 * instead of counting trailing zeros, which without Zbb is a libgcc call per bit. */
static inline u32 hartset_next(const struct hartset *s, u32 i)
{
	for (; i < MAX_HARTS; i = (i | 63) + 1) {
		u64 b = READ_ONCE(s->w[i / 64]) >> (i % 64);
		if (!b) continue;
		while (!(b & 1)) {
			b >>= 1;
			i++;
		}
		return i;
	}
	return MAX_HARTS;
}

/* for (each index i in *s, ascending): declares u32 i. Each word is read once as the loop reaches it, so
 * a set that changes meanwhile gives each bit its value at some moment of the walk. */
#define hartset_for_each(i, s) for (u32 i = hartset_next((s), 0); i < MAX_HARTS; i = hartset_next((s), i + 1))

/* Atomic operations, word by word (see the top of the file for what that promises). `order` is one of
 * the __ATOMIC_* constants, as for the builtins. Any context. */
static inline void hartset_atomic_set(struct hartset *s, u32 i, int order)
{
	__atomic_fetch_or(&s->w[i / 64], hartset_bit(i), order);
}

static inline void hartset_atomic_clear(struct hartset *s, u32 i, int order)
{
	__atomic_fetch_and(&s->w[i / 64], ~hartset_bit(i), order);
}

static inline bool hartset_atomic_test(const struct hartset *s, u32 i, int order)
{
	return i < MAX_HARTS && (__atomic_load_n(&s->w[i / 64], order) & hartset_bit(i));
}

/* *d |= *src, *d &= ~*src: an atomic op only on the words where src has bits. */
static inline void hartset_atomic_or(struct hartset *d, const struct hartset *src, int order)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++)
		if (src->w[k]) __atomic_fetch_or(&d->w[k], src->w[k], order);
}

static inline void hartset_atomic_andnot(struct hartset *d, const struct hartset *src, int order)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++)
		if (src->w[k]) __atomic_fetch_and(&d->w[k], ~src->w[k], order);
}

/* *d = *src, each word an atomic load with `order`. */
static inline void hartset_load(struct hartset *d, const struct hartset *src, int order)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++) d->w[k] = __atomic_load_n(&src->w[k], order);
}

/* Whether *s looks empty, by relaxed loads: the cheap test ahead of a wake-up (one load per word). */
static inline bool hartset_atomic_empty(const struct hartset *s)
{
	u64 any = 0;
	for (u32 k = 0; k < HARTSET_WORDS; k++) any |= __atomic_load_n(&s->w[k], __ATOMIC_RELAXED);
	return !any;
}

/* *old = *s and *s = {}, each word exchanged atomically with `order` (words already 0 are only read):
 * how a waker takes the sleepers it must wake. */
static inline void hartset_exchange_zero(struct hartset *s, struct hartset *old, int order)
{
	for (u32 k = 0; k < HARTSET_WORDS; k++)
		old->w[k] = __atomic_load_n(&s->w[k], __ATOMIC_RELAXED) ? __atomic_exchange_n(&s->w[k], 0, order) : 0;
}

#endif
