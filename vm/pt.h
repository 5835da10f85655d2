/* Sv39 page tables: building, changing, walking and tearing down mappings in a 3-level tree.
 * Portable (host-tested): tables are reached only through the three hooks below, no locks are taken
 * (callers serialise per address space) and no TLB is flushed (callers flush after a change). */
#ifndef VM_PT_H
#define VM_PT_H

#include "lib/riscv.h"
#include "lib/types.h"
#include "vm/page_cache.h"

typedef u64 pte_t;

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
/* The bits a caller may ask for; V, A and D are ours to set. */
#define PTE_PROT_MASK (PTE_R | PTE_W | PTE_X | PTE_U | PTE_G)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK (((1UL << 44) - 1) << PTE_PPN_SHIFT)

#define PT_LEVELS 3
#define PT_ENTRIES 512
#define PT_PA_LIMIT (1UL << 56) /* a PTE holds a 44-bit PPN */

/* pt_map flags */
#define PT_HUGE 1u /* allow 2 MiB and 1 GiB leaves where alignment permits */

/* Tables come from vm's one page source (vm/page_cache.h; host tests link a simulated one). */
static inline u64 pt_alloc_table(void) { return vm_zeroed_table_alloc(); } /* zeroed, 0 when out */
static inline void pt_free_table(u64 pa) { page_cache_free(pa); }
static inline pte_t *pt_table_va(u64 pa) { return vm_page_va(pa); } /* where the table can be written */

static inline pte_t pte_make(u64 pa, u64 flags) { return (pa >> PAGE_SHIFT) << PTE_PPN_SHIFT | flags; }
static inline u64 pte_pa(pte_t pte) { return (pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << PAGE_SHIFT; }
static inline bool pte_is_leaf(pte_t pte) { return pte & (PTE_R | PTE_W | PTE_X); }
/* Sv39 addresses are 39-bit values sign-extended from bit 38. */
static inline bool pt_va_canonical(u64 va) { return (u64)((s64)(va << 25) >> 25) == va; }
static inline u64 pt_level_size(int level) { return 1UL << (PAGE_SHIFT + 9 * level); }
/* va's slot in its level-`level` table. */
static inline unsigned pt_index(u64 va, int level) { return (va >> (PAGE_SHIFT + 9 * level)) & (PT_ENTRIES - 1); }
/* The leaf and middle tables a mapping of [va, va + len) (len > 0) can need below the root: one per 2 MiB
 * span and one per 1 GiB span it touches. What a task is charged for the tables of what it maps. */
static inline u64 pt_tables_spanned(u64 va, u64 len)
{
	return ((va + len - 1) / PMD_SIZE - va / PMD_SIZE + 1) + ((va + len - 1) / PUD_SIZE - va / PUD_SIZE + 1);
}
/* The satp value that selects Sv39 with the root table at root_pa, tagged asid. */
static inline u64 pt_satp(u64 root_pa, u64 asid) { return SATP_MODE_SV39 | asid << 44 | (root_pa >> PAGE_SHIFT); }

struct pt_walk {
	u64 pa;      /* translation of the walked address, offset included */
	pte_t pte;   /* the leaf */
	int level;   /* 0: 4 KiB, 1: 2 MiB, 2: 1 GiB */
	pte_t *slot; /* where the leaf lives */
};

typedef void (*pt_leaf_fn)(void *ctx, u64 pa, int level);

/*
 * Every range call takes page-aligned va/size with size > 0, wholly inside one half of the address space
 * (a range may end exactly at 2^64). prot is a mask of PTE_R/W/X/U/G and must include PTE_R.
 * Errors: -EINVAL bad arguments, -EEXIST overlap, -ENOMEM table allocation failed, -ENOENT hole.
 * A failed call leaves the mappings as they were and frees the tables it created; the one exception is
 * a level-1 table hung off a kernel-half root slot, which once present is never removed (every address
 * space shares it, see pt_copy_kernel_half).
 */
int pt_map(u64 root, u64 va, u64 pa, u64 size, u64 prot, unsigned flags);
/* Maps n 4 KiB pages, page i at pas[i] (each checked: -EINVAL for 0 or out of range), at va. Same errors
 * and all-or-nothing rollback as pt_map, except that with `tables` (not NULL) the tables the rollback
 * empties are chained there as pt_unmap_deferred chains them: in an address space live on other harts,
 * the rollback's cleared leaves and unlinked tables need a fence before the tables are freed. */
int pt_map_pages(u64 root, u64 va, const u64 *pas, size_t n, u64 prot, u64 *tables);
/* Builds every table [va, va + size) needs down to level 0 and maps nothing, so that a later pt_map there
 * cannot fail for want of a table. -EEXIST if a huge leaf is in the way; -ENOMEM undoes what it built
 * (freed, or with `tables` chained there, as pt_map_pages). A table left empty is freed by the next
 * pt_unmap over it. */
int pt_reserve_tables(u64 root, u64 va, u64 size, u64 *tables);
/* Returns the number of 4 KiB pages unmapped (holes are fine), calling leaf() per cleared leaf. Huge leaves
 * straddling the range's ends are split first (-ENOMEM: nothing changed). Tables left empty are freed,
 * except level-1 tables under kernel-half root slots. */
long pt_unmap(u64 root, u64 va, u64 size, pt_leaf_fn leaf, void *ctx);
/* As pt_unmap, but the tables it empties are unlinked and chained into *tables (through their first
 * word; *tables 0 to start) instead of freed: a walker on another hart may still hold them until a TLB
 * flush, so the caller flushes, then gives the chain to pt_free_tables. Same errors. */
long pt_unmap_deferred(u64 root, u64 va, u64 size, pt_leaf_fn leaf, void *ctx, u64 *tables);
void pt_free_tables(u64 chain);
/* -EINVAL for a non-canonical va, -ENOENT if unmapped. */
int pt_walk(u64 root, u64 va, struct pt_walk *w);
/* Hangs an empty level-1 table under every root slot of [va_start, va_end) (kernel half, 1 GiB aligned;
 * va_end 0 means 2^64) so mappings there never touch the root. -EEXIST if a 1 GiB leaf is in the way. */
int pt_prepopulate(u64 root, u64 va_start, u64 va_end);
void pt_copy_kernel_half(u64 dst_root, u64 src_root);

/* Unmaps the whole user half and frees its tables; the root itself stays. */
void pt_destroy_user(u64 root, pt_leaf_fn leaf, void *ctx);

/* The engine's PTE primitives, shared by its two files (vm/pt.c, vm/pt_kr.c); nobody else writes PTEs. */
#define PT_LEAF_FLAGS (PTE_V | PTE_A | PTE_D)
/* Physical address bits that must be clear in a page address given to us. */
#define PT_BAD_PA_BITS (~(PT_PA_LIMIT - 1) | (PAGE_SIZE - 1))

/* The hardware walker on another hart may read a table while we write it: one store per PTE. */
static inline void pt_set_pte(pte_t *slot, pte_t v) { WRITE_ONCE(*slot, v); }

static inline pte_t *pt_table_of(pte_t e) { return pt_table_va(pte_pa(e)); }

/* Level-1 tables under kernel-half root slots are shared by every address space and must outlive
 * any one mapping: their root slots are filled once and never cleared. */
static inline bool may_free_table(int parent_level, u64 va) { return parent_level != 2 || !(va >> 63); }

static inline bool pt_prot_ok(u64 prot) { return !(prot & ~PTE_PROT_MASK) && (prot & PTE_R); }

/* [va, last] is non-empty, does not wrap and lies inside one half: bits 63..38 agree and are all equal. */
static inline bool range_ok(u64 va, u64 last) { return last >= va && pt_va_canonical(va) && !((va ^ last) >> 38); }

static inline bool pt_table_empty(const pte_t *t)
{
	for (int i = 0; i < PT_ENTRIES; i++)
		if (t[i] & PTE_V) return false;
	return true;
}

#endif
