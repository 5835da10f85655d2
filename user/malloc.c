/* malloc/free for user programs: first fit over one static arena. Blocks carry a header with their size
 * and a free bit; free merges with the following block, and the scan merges runs of free blocks it
 * walks over, so the arena does not fragment into unusable slivers. Tasks are single-threaded. */
#include "user/vmk.h"

#define ALIGN 16
#define HDR ALIGN /* header size; keeps payloads 16-byte aligned */
#define FREE_BIT 1UL

static u8 arena[MALLOC_ARENA] __aligned(ALIGN);
static bool arena_ready;

/* Header word at the start of each block: total block size (a multiple of ALIGN) | FREE_BIT. */
static u64 *hdr_at(u64 off) { return (u64 *)(void *)&arena[off]; }
static u64 block_size(u64 off) { return *hdr_at(off) & ~FREE_BIT; }
static bool block_free(u64 off) { return *hdr_at(off) & FREE_BIT; }

static void arena_init(void)
{
	*hdr_at(0) = MALLOC_ARENA | FREE_BIT;
	arena_ready = true;
}

void *malloc(size_t n)
{
	if (!arena_ready) arena_init();
	if (n == 0 || n > MALLOC_ARENA - HDR) return NULL;
	u64 need = ALIGN_UP((u64)n, ALIGN) + HDR;

	for (u64 off = 0; off < MALLOC_ARENA; off += block_size(off)) {
		if (!block_free(off)) continue;
		/* Absorb free neighbours so a run of small freed blocks can serve a large request. */
		while (off + block_size(off) < MALLOC_ARENA && block_free(off + block_size(off)))
			*hdr_at(off) = (block_size(off) + block_size(off + block_size(off))) | FREE_BIT;
		u64 have = block_size(off);
		if (have < need) continue;
		if (have - need >= HDR + ALIGN) {
			*hdr_at(off + need) = (have - need) | FREE_BIT;
			have = need;
		}
		*hdr_at(off) = have;
		return &arena[off + HDR];
	}
	return NULL;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size) return NULL;
	void *p = malloc(n * size);
	if (p) memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	if (!p) return;
	u64 off = (u64)((u8 *)p - arena) - HDR;
	*hdr_at(off) |= FREE_BIT;
	u64 next = off + block_size(off);
	if (next < MALLOC_ARENA && block_free(next)) *hdr_at(off) = (block_size(off) + block_size(next)) | FREE_BIT;
}
