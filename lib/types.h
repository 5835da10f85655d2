/* Basic types and helpers shared by every layer, on the target and in host tests alike. */
#ifndef LIB_TYPES_H
#define LIB_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <vmk/errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uintptr_t uptr;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PMD_SIZE (1UL << 21) /* 2 MiB Sv39 megapage */
#define PUD_SIZE (1UL << 30) /* 1 GiB Sv39 gigapage */

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
/* Store-release the way RVWMO maps it: `fence rw,w`, then a plain store. Not __atomic_store_n: GCC 12
 * compiles every atomic store, even a relaxed one, to an amoswap, which multi-threaded QEMU runs as a
 * locked host exchange, several times the cost of a store, on the counters and unlocks of every vmalloc.
 * A relaxed store of a naturally aligned word is WRITE_ONCE: single-copy atomic on RISC-V as on x86. */
#ifdef __riscv
#define store_release(x, v) do { __asm__ volatile("fence rw,w" ::: "memory"); WRITE_ONCE(x, v); } while (0)
#else
#define store_release(x, v) do { __atomic_thread_fence(__ATOMIC_RELEASE); WRITE_ONCE(x, v); } while (0)
#endif
#define __unused __attribute__((unused))
#define __noreturn __attribute__((noreturn))
/* For functions that name their caller with __builtin_return_address(0): inlined (and the kernel is
 * built with LTO, which inlines across files) they would name their caller's caller. */
#ifndef __noinline /* picolibc's sys/cdefs.h, which user programs include too, defines the same */
#define __noinline __attribute__((noinline))
#endif
#define __aligned(n) __attribute__((aligned(n)))

/* Index of the highest set bit, 1-based; fls(0) == 0 (Linux's fls). */
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }
/* Trailing zero bits of x != 0. The kernel is built without Zbb, where __builtin_ctz is a call into
 * libgcc (~45 instructions); a de Bruijn multiply finds the lowest set bit in six. */
static inline unsigned ctz32(u32 x)
{
	static const u8 debruijn[32] = {0,  1,  28, 2,  29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4,  8,
					31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6,  11, 5,  10, 9};
	return debruijn[(u32)((x & -x) * 0x077CB531u) >> 27];
}
static inline int ilog2_u64(u64 x) { return fls64(x) - 1; }
static inline bool is_pow2(u64 x) { return x && !(x & (x - 1)); }

#endif
