/* Page-table work for the vmalloc region: filling and clearing leaf entries without the arena lock. */
#ifndef VM_VMALLOC_MAP_H
#define VM_VMALLOC_MAP_H

#include "lib/types.h"

void vmap_tables_init(void);
/* Allocates n pages (zeroed if asked) and maps them from va on; on failure nothing stays mapped. */
int vmap_populate(u64 va, u32 n, int node, bool zero);
/* Maps caller-provided pages. */
int vmap_map_pas(u64 va, const u64 *pas, u32 n, u64 prot);
/* Maps the caller's pages (struct page pointers); -EINVAL for a NULL or unmanaged page, -ENOMEM for
 * no table; nothing stays mapped on failure. */
struct page;
int vmap_map_pages(u64 va, struct page *const *pages, u32 n, u64 prot);
/* Level-0 tables created so far (never freed). */
u64 vmap_tables_held(void);
/* Maps 2 MiB leaves of freshly allocated order-9 blocks; -ENOMEM (nothing mapped) when one fails. */
int vmap_populate_huge(u64 va, u64 size, int node, bool zero);
/* Clears n 4 KiB leaves from va; frees the pages when free_pages. Returns how many were mapped. */
u32 vmap_unmap(u64 va, u32 n, bool free_pages);
/* As vmap_unmap freeing the pages, for pages vmap_populate zeroed: those never stored to since (D bit
 * clear) go back as known-zero pages, which the next zeroed allocation takes without zeroing again. Only
 * for areas nobody writes through another mapping (not shm's user-mapped ones). */
u32 vmap_unmap_zeroed(u64 va, u32 n);
/* Sets D on the writable 4 KiB leaf at va (for MMUs that fault instead of setting it); false if none. */
bool vmap_mark_dirty(u64 va);
u32 vmap_unmap_huge(u64 va, u64 size);
u64 vmap_unmap_collect(u64 va, u32 n, u32 *count);
void vmap_free_chain(u64 head);
/* Leaf entry for va in the kernel tables (4 KiB or 2 MiB), 0 if none. */
u64 vmap_lookup_pte(u64 va, int *level);

#endif
