/* kvfree_rcu's deferred frees: each hart keeps its frees in two batches, the one filling up and the one
 * waiting for its grace period (lib/rcu.h); when the wait ends its objects are vfreed, from process
 * context, by the hart that queued them (or its idle loop). When a batch fills before the grace period
 * ends, the hart waits for it (Linux's mightsleep path). */
#include "vm/kvfree_rcu.h"
#include "lib/percpu.h"
#include "lib/rcu.h"
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
	struct rcu_batch batch[2]; /* batch[cur] fills, batch[!cur] waits (when `waiting`): swapped, not copied */
	u32 cur;
	bool waiting;
} __aligned(64);

static struct rcu_hart rcu_harts[MAX_HARTS];

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
	if (r->waiting && rcu_gp_done(WAIT(r)->gp)) {
		batch_free(WAIT(r));
		r->waiting = false;
	}
	if (!r->waiting && !batch_empty(FILL(r))) {
		r->cur = !r->cur;
		WAIT(r)->gp = rcu_gp_start();
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
			rcu_gp_wait(WAIT(r)->gp);
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
	if (++f->nheads % BATCH == 0 && r->waiting) rcu_gp_kick(); /* no waiting here: hurry it instead */
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
	while (!all_drained()) rcu_gp_wait(rcu_gp_start());
}
