/* Read-copy-update's core: read-side sections and grace periods (lib/rcu.c). A writer unlinks an object,
 * waits for a grace period (every online hart has since been outside every read-side section at least
 * once), then may free it; vm/kvfree_rcu.h does that wait for vmalloc'ed objects without blocking. */
#ifndef LIB_RCU_H
#define LIB_RCU_H

#include "lib/types.h"

/* Marks this hart inside a read-side section (nests): a grace period started now does not end until the
 * matching rcu_read_unlock. No sleeping inside, no errors. Any context; the section must end on the hart
 * that began it. */
void rcu_read_lock(void);
/* Ends the innermost read-side section this hart began. */
void rcu_read_unlock(void);

/* Reports a quiescent state for this hart if it is outside every read-side section: the idle loop, the
 * return to user mode and the IPI handler call it. Any context. */
void rcu_note_qs(void);

/* Starts a new grace period and returns its number (reporting this hart's quiescent state if it may).
 * Any context. */
u64 rcu_gp_start(void);
/* Whether grace period g is over: every online hart has noted a quiescent state since it began, or sleeps
 * in wfi outside a read-side section. Any context; never waits. */
bool rcu_gp_done(u64 g);
/* Asks every other hart for a quiescent state now rather than at its next tick (an IPI). Any context. */
void rcu_gp_kick(void);
/* Waits, in wfi, until grace period g is over, kicking the other harts. Process context outside every
 * read-side section (a hart waiting inside its own section would wait for itself forever). */
void rcu_gp_wait(u64 g);

#endif
