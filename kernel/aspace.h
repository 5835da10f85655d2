/* User address spaces: an Sv39 root sharing the kernel half, an ASID, and the TLB fences that keep the
 * harts which ran it coherent. */
#ifndef KERNEL_ASPACE_H
#define KERNEL_ASPACE_H

#include "lib/types.h"

struct task;

void aspace_init_asids(void);                 /* probes how many ASID bits satp keeps */
int aspace_create(struct task *t);            /* root table + ASID */
void aspace_activate(struct task *t);         /* loads satp on this hart */
/* Maps freshly allocated, zeroed user pages for [va, va+size) with prot (PTE_R/W/X). */
int aspace_map_anon(struct task *t, u64 va, u64 size, u64 prot);
/* Flushes [va, va+size) (size 0: everything) of t's ASID on every hart that may cache it. */
void aspace_flush(struct task *t, u64 va, u64 size);
/* Frees every private page and table of the user half (shm mappings must be gone first). */
void aspace_destroy(struct task *t);
void aspace_free_root(struct task *t);       /* after no hart can use it any more */

#endif
