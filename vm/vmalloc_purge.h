/* The lazy purge (vm/vmalloc_purge.c): parked ranges made reusable in batches, one local flush and one
 * remote fence per batch; the flushes of the arena's kernel ranges; and the shrunk user tails whose pages
 * wait for a later fence. The lazy lists themselves are vm/vmalloc_arena.c's. */
#ifndef VM_VMALLOC_PURGE_H
#define VM_VMALLOC_PURGE_H

#include "lib/types.h"

/* Everything parked before the call is purged when it returns (a purge in flight is waited for first);
 * then the pools and this hart's caches go back to the index, and deferred tail pages are given back.
 * vm_purge (vm/vmalloc.h) is this. Process context, no lock held. */
void vm_purge_parked(void);
/* One purge of what is parked now, as an idle hart runs it: the pools age (va_pool_decay) and keep what
 * they hold, nothing is flushed back to the index. Waits for a purge in flight first. Process context, no
 * lock held. */
void vm_purge_aging(void);
/* The threshold was crossed: an idle hart is asked to purge, or this hart purges when none can. No lock held. */
void vm_purge_kick(void);
/* The purge a freeing hart runs itself (vm_purge_kick's when no other hart can): one batch, every area
 * parked when it starts, fenced, and one burst given back here, this hart's own first (the rest waits for
 * vm_purge_give_back_some); what other harts park meanwhile is left to the next crossing. Nothing if
 * another hart's purge is in flight. No lock held. */
void vm_purge_inline(void);
/* The region is full and other harts' caches or chunks hold free ranges that only their own hart may give
 * back: asks each such hart to give them back to the index, kicks it, and sleeps (wfi) until all have, or
 * at most GIVE_BACK_WAIT_TICKS of this hart's timer (a hart busy in the kernel answers only when it gets
 * back to its idle loop or scheduler). Answers asks made of this hart meanwhile. Returns how many of the
 * harts holding ranges are still asked (by this call or an earlier one: a hart still asked is not waited
 * for again); 0 at once when none holds ranges, in interrupt context or with interrupts off (the
 * wait needs the tick). Process context, no lock held. */
u32 vm_purge_ask_harts(void);
/* Gives this hart's caches and chunk back to the index if another hart asked (vm_purge_ask_harts); one
 * load otherwise. Process context, no lock held: the idle loop and the scheduler's pass. */
void vm_purge_answer_ask(void);
/* The idle loop's share: another hart's ask for this hart's ranges (vm_purge_answer_ask), the purge a
 * hart asked for (vm_purge_kick), and every fenced area a purge left to be given back. Process context. */
void vm_purge_idle_work(void);
/* A purge run inline by a freeing hart (vm_purge_kick, when no other hart can) fences the whole batch
 * but gives back only a burst of areas itself (1/64 of the threshold's pages, at least 32), this hart's
 * own first; the rest wait on arena.fenced_head, safe to reuse, and each later allocation that needs
 * ranges its hart's cache does not hold gives back a burst (this call: one load when nothing waits), as
 * do idle harts and vm_purge_parked, all of them. So no caller pays for a whole batch. At most `most`
 * areas: an allocation of a cached class asks for what its hart's empty cache of that class keeps
 * without passing its newest magazine on to the pool (two magazines less one area), where the records
 * would wait to be popped cold much later. Process context, no lock held. */
void vm_purge_give_back_some(u64 most);
/* The free side: a burst as vm_purge_give_back_some, but only while the fenced areas number more than
 * four thresholds' worth (frees with no allocations to take them back). One load when nothing waits.
 * Any context, no lock held. */
void vm_purge_give_back_backlog(void);
u64 vm_purge_seq(void);         /* purges completed so far; any context */
bool vm_purge_in_flight(void);  /* any context */
/* Sleeps (wfi) until a purge completes after `seq`, or none is in flight. Process context. */
void vm_purge_wait(u64 seq);
/* Flushes [start, start + size) from every hart's TLB now: this hart's and one remote fence for the
 * others. May send IPIs: process context, no lock held. */
void vm_flush_range_now(u64 start, u64 size);
#ifdef VM_DEBUG
/* Test only (the vm_invariants suite's flushed_tables break): every kernel-range flush is skipped, a lost
 * fence, which the table check must catch. */
extern bool va_debug_skip_fence;
#endif
/* Gives back a chain of pages (physical addresses linked through their first word, 0 ends it) once no
 * TLB can reach them (after a flush). Any context. */
void vm_free_chain(u64 head);
/* A user area's shrunk tail (vrealloc): its leaves [start, start + size) are cleared and chained (`chain`,
 * n pages); no TLB is flushed now, and the pages are given back only after every hart's TLB has been
 * flushed: by the next vm_tail_pages_drain, which a later call runs itself once VM_TAIL_DEFER_MAX pages
 * wait, as does an allocation that finds no free page. Until then a stale translation on any hart
 * reaches a page nobody else can have, so a shrink needs no fence. Process context. */
void vm_tail_pages_defer(u64 start, u64 size, u64 chain, u32 n);
/* Flushes every hart's whole TLB, then gives back every deferred tail page. Before a range with a
 * deferred tail is mapped again (VM_STALE_TAIL), and by a purge. Process context, no lock held. */
void vm_tail_pages_drain(void);
bool vm_tail_pages_waiting(void); /* any deferred tail page not yet given back; any context */

#endif
