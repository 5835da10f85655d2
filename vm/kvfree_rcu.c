/* Grace periods and the deferred frees behind kvfree_rcu. A grace period is a number: starting one bumps
 * gp_seq; hart i has passed it once qs_seq[i] reaches it, which it records whenever it is outside
 * read-side sections at a quiescent point (idle loop, the IPI handler, its own kvfree_rcu calls as they
 * look at their batches); a hart asleep in wfi outside a read-side section counts as quiescent without
 * being woken. Each hart keeps its frees in two batches: the one filling up, and the one waiting for its
 * grace period; when the wait ends its objects are vfreed, from process context, by the hart that queued
 * them (or its idle loop). Idle harts pass quiescent states at every tick; when a batch fills before the
 * grace period ends, the other harts are kicked (an IPI: the handler reports the state) and the hart
 * sleeps in wfi until the last of them wakes it. */
#include "vm/kvfree_rcu.h"
#include "lib/percpu.h"
#include "lib/tlb_shootdown.h"
#include "lib/printk.h"
#include "vm/vmalloc.h"

#define BATCH 256
/* Every this many kvfree_rcu calls a hart looks at whether its waiting batch's grace period has ended and
 * starts one for the filling batch, not at each call: a look costs fences and reads of lines other harts
 * write. What is left below that when a hart stops calling goes at its next idle loop or barrier. */
#define ADVANCE_EVERY 16

struct rcu_batch {
	u32 n;                 /* pointers from kvfree_rcu_ptr */
	void *ptrs[BATCH];
	struct rcu_head *heads; /* objects from kvfree_rcu_head, linked through their own heads */
	u32 nheads;
	u64 gp;                /* the grace period it waits for (waiting batch only) */
};

struct rcu_hart {
	u32 nesting;           /* rcu_read_lock depth */
	u64 qs_seq;            /* last grace period this hart has passed */
	struct rcu_batch batch[2]; /* batch[cur] fills, batch[!cur] waits (when `waiting`): swapped, not copied */
	u32 cur;
	bool waiting;
} __aligned(64);

static struct rcu_hart rcu_harts[MAX_HARTS];
static u64 gp_seq;
static u64 gp_waiters; /* harts sleeping until a grace period ends */

void rcu_read_lock(void) { rcu_harts[this_hart_index()].nesting++; }
void rcu_read_unlock(void) { rcu_harts[this_hart_index()].nesting--; }

void rcu_note_qs(void)
{
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	if (r->nesting) return;
	u64 g = READ_ONCE(gp_seq);
	if (READ_ONCE(r->qs_seq) == g) return; /* nothing new to report: no ordering needed either */
	/* Acquire on the new number: what gp_start's caller unlinked before starting it is seen unlinked by
	 * everything this hart does next. Then the report, ordered before the look at the sleepers (pairs
	 * with gp_wait marking itself before it checks). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	store_release(r->qs_seq, g);
	mb();
	harts_kick(READ_ONCE(gp_waiters));
}

/* Asks every other hart for a quiescent state now rather than at its next tick. */
static void gp_kick(void)
{
	harts_kick_others();
}

static u64 gp_start(void)
{
	u64 g = __atomic_add_fetch(&gp_seq, 1, __ATOMIC_ACQ_REL);
	rcu_note_qs();
	return g;
}

static bool gp_done(u64 g);

/* Sleeps until grace period g is over, the other harts kicked. */
static void gp_wait(u64 g)
{
	u64 me = 1ULL << this_hart_index();
	__atomic_fetch_or(&gp_waiters, me, __ATOMIC_SEQ_CST);
	gp_kick();
	hart_wait_until(gp_done(g));
	__atomic_fetch_and(&gp_waiters, ~me, __ATOMIC_RELAXED);
}

/* Whether hart i has passed grace period g: it noted a quiescent state since g began, or it is asleep in
 * wfi outside any read-side section now. The fence orders the caller's unlinking of what it frees (before
 * gp_start) ahead of the look at `asleep`; the sleeper fences between its last access and setting the
 * mark, and between clearing it and its next access, so a hart seen asleep here cannot still hold, or
 * newly find, a pointer to the object. */
static bool hart_passed(u32 i, u64 g)
{
	if (__atomic_load_n(&rcu_harts[i].qs_seq, __ATOMIC_ACQUIRE) >= g) return true;
	struct hart_local *h = hart_locals[i];
	return h && __atomic_load_n(&h->asleep, __ATOMIC_ACQUIRE) && !READ_ONCE(rcu_harts[i].nesting);
}

static bool gp_done(u64 g)
{
	u64 online = __atomic_load_n(&harts_online_mask, __ATOMIC_ACQUIRE);
	rcu_note_qs();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (u32 i = 0; online; i++, online >>= 1) /* no ctz: without Zbb it is a libgcc call */
		if ((online & 1) && !hart_passed(i, g)) return false;
	return true;
}

static void batch_free(struct rcu_batch *b)
{
	for (u32 i = 0; i < b->n; i++) vfree(b->ptrs[i]);
	b->n = 0;
	while (b->heads) {
		struct rcu_head *h = b->heads;
		b->heads = h->next;
		vfree(h->object);
	}
	b->nheads = 0;
}

static bool batch_empty(const struct rcu_batch *b) { return !b->n && !b->heads; }

#define FILL(r) (&(r)->batch[(r)->cur])
#define WAIT(r) (&(r)->batch[!(r)->cur])

/* Frees the waiting batch if its grace period is over, and starts one for the filling batch. */
static void advance(struct rcu_hart *r)
{
	if (r->waiting && gp_done(WAIT(r)->gp)) {
		batch_free(WAIT(r));
		r->waiting = false;
	}
	if (!r->waiting && !batch_empty(FILL(r))) {
		r->cur = !r->cur;
		WAIT(r)->gp = gp_start();
		r->waiting = true;
	}
}

void kvfree_rcu_ptr(void *ptr)
{
	if (!ptr) return;
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	struct rcu_batch *f = FILL(r);
	if (unlikely(f->n == BATCH)) {
		advance(r);
		/* Both batches full: wait for the grace period (Linux's mightsleep path). */
		if (FILL(r)->n == BATCH) {
			gp_wait(WAIT(r)->gp);
			advance(r);
		}
		f = FILL(r);
	}
	f->ptrs[f->n++] = ptr;
	if (unlikely(f->n % ADVANCE_EVERY == 0)) advance(r);
}

void kvfree_rcu_head(void *ptr, struct rcu_head *head)
{
	if (!ptr) return;
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	struct rcu_batch *f = FILL(r);
	head->object = ptr;
	head->next = f->heads;
	f->heads = head;
	if (++f->nheads % BATCH == 0 && r->waiting) gp_kick(); /* no waiting here: hurry it instead */
	if (f->nheads % ADVANCE_EVERY == 0) advance(r);
}

void kvfree_rcu_idle_work(void)
{
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	rcu_note_qs();
	if (r->waiting || !batch_empty(FILL(r))) advance(r);
}

static bool all_drained(void)
{
	rcu_note_qs();
	advance(&rcu_harts[this_hart_index()]);
	for (u32 i = 0; i < MAX_HARTS; i++) {
		struct rcu_hart *r = &rcu_harts[i];
		if (READ_ONCE(r->waiting) || READ_ONCE(r->batch[0].n) || READ_ONCE(r->batch[0].heads) ||
		    READ_ONCE(r->batch[1].n) || READ_ONCE(r->batch[1].heads))
			return false;
	}
	return true;
}

void kvfree_rcu_barrier(void)
{
	/* Other harts free their own batches from their idle loops: a new grace period kicks them there. */
	while (!all_drained()) gp_wait(gp_start());
}
