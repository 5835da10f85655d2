/* User address spaces: an Sv39 root sharing the kernel half, an ASID, and the TLB fences that keep the
 * harts which ran it coherent. */
#ifndef KERNEL_ASPACE_H
#define KERNEL_ASPACE_H

#include "lib/types.h"

struct task;

void aspace_init_asids(void);                 /* probes how many ASID bits satp keeps */
int aspace_create(struct task *t);            /* root table + ASID */
void aspace_activate(struct task *t);         /* loads satp on this hart */
/* Loads the kernel root in satp in place of t's on this hart, which t no longer runs on. The scheduler
 * loop, with t switched out. */
void aspace_deactivate(struct task *t);
/* t is no longer active on this hart, whose satp already holds another task's root (loaded by
 * aspace_activate of that task): what aspace_deactivate does but the satp write. Scheduler loop. */
void aspace_leave(struct task *t);
/* Maps freshly allocated, zeroed user pages for [va, va+size) with prot (PTE_R/W/X). */
int aspace_map_anon(struct task *t, u64 va, u64 size, u64 prot);
/* Whether a U-mode store by t to va would find its page mapped writable now, found by walking t's table
 * without touching the page (a store of the value just read would undo another hart's store made in
 * between: the page may be shared). Takes t->shm_lock, under which shm mappings change t's tables.
 * Process context. */
bool aspace_user_writable(struct task *t, u64 va);
/* Flushes [va, va+size) (size 0: everything) of t's ASID on every hart that may cache it: this hart when
 * it has run t since its last flush of t, and the others that have (remotely, one fence of the whole ASID by
 * the boot's mechanism, after which the harts not running t are forgotten until they run it again). Call after the page-table
 * change; on return no hart holds a translation of t older than the change. Process context (the remote
 * half waits for acknowledgements, see lib/tlb_shootdown.h); callers may run concurrently on one t. */
void aspace_flush(struct task *t, u64 va, u64 size);
/* Frees every private page and table of the user half (shm mappings must be gone first). */
void aspace_destroy(struct task *t);
void aspace_free_root(struct task *t);       /* after no hart can use it any more */

#endif
