/* kvfree_rcu's deferred frees: each hart keeps its frees in two batches, the one filling up and the one
 * waiting for its grace period (lib/rcu.h); when the wait ends its objects are vfreed, from process
 * context, by the hart that queued them (or its idle loop). A batch's pointers past its first 128 live in
 * pages chained as it grows (Linux's kvfree_rcu_bulk_data pages), so a hart that frees faster than grace periods end keeps
 * going instead of waiting for one; it waits (Linux's mightsleep path) only when a batch holds
 * MAX_PENDING pointers, or when no page is left for the chain. */
#include "vm/kvfree_rcu.h"
#include "lib/percpu.h"
#include "lib/rcu.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

/* Every this many kvfree_rcu calls a hart looks at whether its waiting batch's grace period has ended and
 * starts one for the filling batch, not at each call: a look costs fences and reads of lines other harts
 * write. What is left below that when a hart stops calling goes at its next idle loop or barrier. */
#define ADVANCE_EVERY 16

/* One page of a batch's pointers. */
#define PAGE_PTRS ((PAGE_SIZE - 2 * sizeof(u64)) / sizeof(void *))
struct ptr_page {
	struct ptr_page *next; /* the batch's older pages */
	u64 n;
	void *ptrs[PAGE_PTRS];
};
_Static_assert(sizeof(struct ptr_page) <= PAGE_SIZE, "a pointer page is one page");

/* A filling batch this full waits for the grace period of the one before (16 pages, 8160 objects): what
 * a hart can hold back from being freed while grace periods are slow stays bounded. At 64 harts under
 * icount, batches of 256 made 2,424 waits in one test_vmalloc run, each kicking every other hart. */
#define MAX_PENDING (16 * PAGE_PTRS)

/* The first pointers of a batch stay in the batch itself: at a grace period every few dozen calls (a lone
 * hart's, or harts that pass quiescent states often) no page is taken and given back per batch, which
 * cost ~25 instructions a call on one hart. */
#define INLINE_PTRS 128

struct rcu_batch {
	void *inline_ptrs[INLINE_PTRS];
	struct ptr_page *pages; /* pointers past the inline ones; the first page fills */
	u64 n;                  /* pointers in all: the inline ones first */
	struct rcu_head *heads; /* objects from kvfree_rcu_head, linked through their own heads */
	u32 nheads;
	u64 gp;                 /* the grace period it waits for (waiting batch only) */
};

struct rcu_hart {
	struct rcu_batch batch[2]; /* batch[cur] fills, batch[!cur] waits (when `waiting`): swapped, not copied */
	u32 cur;
	bool waiting;
} __aligned(64);

static struct rcu_hart rcu_harts[MAX_HARTS];

static void batch_free(struct rcu_batch *b)
{
	for (u64 i = 0; i < MIN(b->n, (u64)INLINE_PTRS); i++) vfree(b->inline_ptrs[i]);
	while (b->pages) {
		struct ptr_page *p = b->pages;
		b->pages = p->next;
		for (u64 i = 0; i < p->n; i++) vfree(p->ptrs[i]);
		page_cache_free(virt_to_phys(p));
	}
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
static __noinline void advance(struct rcu_hart *r)
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

/* Room for one more pointer in the filling batch: a new page on its chain when its first is full. */
static bool batch_room(struct rcu_batch *f)
{
	if (likely(f->pages && f->pages->n < PAGE_PTRS)) return true;
	u64 pa = page_cache_alloc(PA_ANY_NODE);
	if (!pa) return false;
	struct ptr_page *p = phys_to_virt(pa);
	p->n = 0;
	p->next = f->pages;
	f->pages = p;
	return true;
}

/* Past the inline pointers: a wait when MAX_PENDING are held, then room on the page chain. Out of line,
 * so the common call keeps few registers. */
static __noinline void ptr_slow(struct rcu_hart *r, void *ptr)
{
	if (unlikely(FILL(r)->n >= MAX_PENDING)) {
		advance(r);
		/* Both batches full: wait for the grace period (Linux's mightsleep path). */
		if (FILL(r)->n >= MAX_PENDING) {
			rcu_gp_wait(WAIT(r)->gp);
			advance(r);
		}
	}
	struct rcu_batch *f = FILL(r);
	if (f->n < INLINE_PTRS) { /* the wait emptied it */
		f->inline_ptrs[f->n++] = ptr;
		return;
	}
	if (unlikely(!batch_room(f))) {
		/* No page for the chain: wait out a grace period here and free it at once, as Linux does when
		 * it cannot allocate a bulk page. */
		rcu_gp_wait(rcu_gp_start());
		vfree(ptr);
		return;
	}
	f->pages->ptrs[f->pages->n++] = ptr;
	f->n++;
	if (unlikely(f->n % ADVANCE_EVERY == 0)) advance(r);
}

void kvfree_rcu_ptr(void *ptr)
{
	if (!ptr) return;
	struct rcu_hart *r = &rcu_harts[this_hart_index()];
	struct rcu_batch *f = FILL(r);
	if (unlikely(f->n >= INLINE_PTRS)) {
		ptr_slow(r, ptr);
		return;
	}
	f->inline_ptrs[f->n++] = ptr;
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
	if (++f->nheads % 256 == 0 && r->waiting) rcu_gp_kick(); /* no waiting here: hurry it instead */
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
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++) {
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
