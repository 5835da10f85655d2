/* User mappings of shm objects: where in the shm window a mapping goes, writing and clearing its PTEs,
 * the page-table pages charged to the mapper, and the fault retry for an access that raced a grow.
 *
 * Page-table charge: a mapping of [uva, uva + len) is charged one level-0 table per 2 MiB span and one
 * level-1 table per 1 GiB span it touches (a small mapping costs 2 pages): at map time within the mapper's
 * quota, as the object grows past it if need be (growth is the owner's call, and its tables are a 512th
 * of it), credited as a shrink frees tables, and credited in full at unmap.
 *
 * A mapping's life: listed `filling` by its map, which writes its entries a step at a time; then it
 * follows grows (reserve, fill, commit, or unfill on failure) and is cut by shrinks, each a step at a
 * time across all mappings; `leaving` while its unmap clears it from the top, a step at a time. Between
 * steps the object's lock is let go, so each state says what a concurrent resize may do to it. */
#ifndef KERNEL_SHM_MAPPING_H
#define KERNEL_SHM_MAPPING_H

#include "kernel/shm_obj.h"

/* Maps o into t at the hint or a free place of the shm window, reserving max_size bytes of address space
 * (page multiple, >= o->size), with prot (PROT_READ[|PROT_WRITE]). The mapping is listed at once and its
 * entries written a step (SHM_STEP's pages) at a time, o->lock let go between steps; it covers the
 * object's size as of its last step (or as much of it as t's account can pay tables for) and then takes
 * a reference of its own. With `prepay` (SHM_MAP_REQUIRE_NOSHRINK), the page tables of the whole reserve
 * are charged now, so that every growth up to max_size follows without a charge: such a mapping is never
 * left behind. Returns the user address, or -EMFILE (t's mapping table full), -ENOMEM (no room in the
 * window, quota for the page tables, or memory), -EINTR (t was killed meanwhile). On failure nothing is
 * left mapped or charged. Caller holds o->lock (let go and taken again between steps) and a reference. */
long shm_mapping_add(struct task *t, struct shm_obj *o, u64 hint, u64 max_size, u64 prot, bool prepay);

/* Removes t's mapping at uva (the first mapping of t when uva is 0): PTEs (cleared from the top a step
 * at a time, the object's lock let go between steps; a grow under way passes the mapping by), one TLB
 * shootdown of t's ASID when `flush` (not when t never runs again: its ASID is flushed when it is
 * reaped), the table charge and its reference. false if there is none. Task context, no shm lock held. */
bool shm_mapping_drop(struct task *t, u64 uva, bool flush);

/* Steps of the resize protocol (kernel/shm_resize.c) on one mapping m of an object whose lock the caller
 * holds; each takes m's task->shm_lock itself. The resize lets the object's lock go between its steps, so
 * m may be unmapped meanwhile (shm_mapping_drop then also takes away what a grow or cut left half done):
 * the caller finds its mappings on o->maps again after every step. Outside a resize
 * m->grow_to == m->filled == m->mapped and m->cut_top == 0.
 * reserve: sets m->grow_to, this grow's end for m: `to` cut to m's reserve when m's task's account can
 *   pay for the page tables of the new part (charged now, within its limits), else m->mapped: a mapping
 *   whose mapper cannot pay does not follow the growth (it follows again at a grow it can pay for), and
 *   the grower is never refused for another task's quota; its own mapping that cannot pay is -ENOMEM
 *   (the grow fails: its own mappings always follow what it grows). Then creates the tables [m->mapped, m->grow_to)
 *   needs, so that filling there cannot fail for want of them; -ENOMEM when memory for them is out.
 * fill: maps the object's pages from m->filled up to `upto` (the pages the grow has added so far) and
 *   m->grow_to, at most *budget of them (taken off *budget), from kva; m->filled moves on (m->mapped
 *   does not). -ENOMEM leaves nothing of this call's range mapped.
 * unfill undoes a reserve and its fills, partial ones or none (with a TLB shootdown of m's task): frees the
 *   tables, credits what reserve charged, m->grow_to = m->filled = m->mapped. Every failed grow ends with
 *   it on each mapping it asked.
 * commit: m->mapped = m->grow_to (filled all the way).
 * cut: unmaps at most *budget pages (taken off *budget) from the top of [to, m->mapped), and m->mapped
 *   follows; once it reaches `to`, one TLB shootdown of m's task for the whole cut, then the tables left
 *   empty are freed and credited. Returns whether m is cut down to `to`. */
int shm_mapping_reserve(struct task_map *m, u64 to);
int shm_mapping_fill(struct task_map *m, void *kva, u64 upto, u64 *budget);
void shm_mapping_unfill(struct task_map *m);
void shm_mapping_commit(struct task_map *m);
bool shm_mapping_cut(struct task_map *m, u64 to, u64 *budget);

/* A user page fault at addr inside one of t's mappings: true if the access may be retried (a load or
 * store to a page a grow has mapped meanwhile, with the access allowed). Task context. */
bool shm_mapping_fault(struct task *t, u64 addr, u64 cause);

/* The object and offset behind user address uva of t, if uva lies in the mapped part of one of t's
 * mappings: the object with a reference for the caller, or NULL. Task context, no shm lock held. */
struct shm_obj *shm_mapping_lookup(struct task *t, u64 uva, u64 *offset);

/* Whether o has a writable mapping in any task. Caller holds o->lock. */
bool shm_mapping_any_writable(struct shm_obj *o);

#endif
