/* Host tests for the rbtree, node pool, vmalloc free-space index (against a reference model) and busy map. */
#include <stdlib.h>
#include <time.h>
#include "lib/types.h"
#include "lib/string.h"
#include "lib/rbtree.h"
#include "vm/layout.h"
#include "vm/node_pool.h"
#include "vm/va_index.h"
#include "vm/va_busy.h"
#include "tests/host/htest.h"

/* ---- hooks the modules expect from their embedder, with failure injection and leak counts ---- */

static bool fail_pages, fail_tables;
static long pages_out, tables_out, table_size_mismatch;

void *node_pool_page_alloc(void)
{
	if (fail_pages)
		return NULL;
	pages_out++;
	return aligned_alloc(4096, 4096);
}

void node_pool_page_free(void *page)
{
	pages_out--;
	free(page);
}

/* A header remembers each table's size so a free with the wrong size is caught. */
void *va_busy_table_alloc(size_t bytes)
{
	if (fail_tables)
		return NULL;
	size_t *p = malloc(bytes + 16);
	if (!p)
		return NULL;
	p[0] = bytes;
	tables_out++;
	return (char *)p + 16;
}

void va_busy_table_free(void *table, size_t bytes)
{
	size_t *p = (size_t *)((char *)table - 16);
	if (p[0] != bytes)
		table_size_mismatch++;
	tables_out--;
	free(p);
}

static u64 rng_state = 0x2545f4914f6cdd1dULL;
static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}
static u64 rnd_below(u64 n) { return rnd() % n; }

/* ---------------------------------------- rbtree ---------------------------------------- */

struct tnode {
	struct rb_node rb;
	u32 key;
	u32 count; /* augmented: nodes in this subtree */
};
#define TN(n) rb_entry(n, struct tnode, rb)

static u32 tcount(struct rb_node *n) { return n ? TN(n)->count : 0; }
static u32 tcompute(struct rb_node *n) { return 1 + tcount(n->left) + tcount(n->right); }
static void t_propagate(struct rb_node *n, struct rb_node *stop)
{
	for (; n != stop; n = rb_parent(n)) {
		u32 c = tcompute(n);
		if (c == TN(n)->count)
			break;
		TN(n)->count = c;
	}
}
static void t_copy(struct rb_node *o, struct rb_node *n) { TN(n)->count = TN(o)->count; }
static void t_rotate(struct rb_node *o, struct rb_node *n)
{
	TN(n)->count = TN(o)->count;
	TN(o)->count = tcompute(o);
}
static const struct rb_augment_ops t_aug = { t_propagate, t_copy, t_rotate };

static void tinsert(struct rb_root *root, struct tnode *t, bool augmented)
{
	struct rb_node **link = &root->node, *parent = NULL;
	while (*link) {
		parent = *link;
		if (augmented)
			TN(parent)->count++; /* the new node lands below every node on the path */
		link = t->key < TN(parent)->key ? &parent->left : &parent->right;
	}
	t->count = 1;
	rb_link_node(&t->rb, parent, link);
	if (augmented)
		rb_insert_augmented(root, &t->rb, &t_aug);
	else
		rb_insert(root, &t->rb);
}

/* In-order keys strictly increasing, prev/next consistent, counts exact; returns node count or -1. */
static long tcheck(struct rb_root *root, bool augmented)
{
	long n = 0;
	struct rb_node *prev = NULL;
	if (!rb_validate(root))
		return -1;
	for (struct rb_node *x = rb_first(root); x; prev = x, x = rb_next(x), n++) {
		if (rb_prev(x) != prev || (prev && TN(prev)->key >= TN(x)->key))
			return -1;
		if (augmented && TN(x)->count != tcompute(x))
			return -1;
	}
	if (prev != rb_last(root))
		return -1;
	return n;
}

static void rbtree_random(bool augmented)
{
	enum { N = 4000 };
	static struct tnode nodes[N];
	static u32 order[N];
	struct rb_root root = RB_ROOT_INIT;

	for (u32 i = 0; i < N; i++) {
		nodes[i].key = i * 7 + 3;
		order[i] = i;
	}
	for (int round = 0; round < 3; round++) {
		for (u32 i = N - 1; i > 0; i--) {
			u32 j = rnd_below(i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (u32 i = 0; i < N; i++) {
			tinsert(&root, &nodes[order[i]], augmented);
			if (i % 97 == 0)
				CHECK_EQ(tcheck(&root, augmented), i + 1);
		}
		CHECK_EQ(tcheck(&root, augmented), N);
		if (augmented)
			CHECK_EQ(TN(root.node)->count, N);
		/* Erase in a different random order, so every erase case (leaf, one child, successor) occurs. */
		for (u32 i = N - 1; i > 0; i--) {
			u32 j = rnd_below(i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (u32 i = 0; i < N; i++) {
			if (augmented)
				rb_erase_augmented(&root, &nodes[order[i]].rb, &t_aug);
			else
				rb_erase(&root, &nodes[order[i]].rb);
			if (i % 89 == 0)
				CHECK_EQ(tcheck(&root, augmented), N - i - 1);
		}
		CHECK(root.node == NULL);
	}
}

static void test_rbtree_plain(void) { rbtree_random(false); }
static void test_rbtree_augmented(void) { rbtree_random(true); }

static void test_rbtree_edges(void)
{
	struct rb_root root = RB_ROOT_INIT;
	struct tnode a = { .key = 1 }, b = { .key = 2 };
	CHECK(rb_first(&root) == NULL && rb_last(&root) == NULL && rb_validate(&root));
	tinsert(&root, &a, false);
	CHECK(rb_first(&root) == &a.rb && rb_last(&root) == &a.rb && !rb_next(&a.rb) && !rb_prev(&a.rb));
	tinsert(&root, &b, false);
	CHECK(rb_next(&a.rb) == &b.rb && rb_prev(&b.rb) == &a.rb);
	/* A red root or a broken parent link is reported, not trusted. */
	a.rb.parent_colour &= ~(uptr)1;
	CHECK(!rb_validate(&root));
	a.rb.parent_colour |= 1;
	CHECK(rb_validate(&root));
	b.rb.parent_colour = (uptr)&b | (b.rb.parent_colour & 1);
	CHECK(!rb_validate(&root));
}

/* --------------------------------------- node pool --------------------------------------- */

static void test_node_pool(void)
{
	struct node_pool pool;
	enum { N = 1000 };
	static void *objs[N];

	CHECK_EQ(node_pool_init(&pool, 0), -EINVAL);
	CHECK(node_pool_get(&pool) == NULL); /* a pool whose init failed hands out nothing */
	CHECK_EQ(node_pool_init(&pool, 4096), -EINVAL);
	CHECK_EQ(node_pool_init(&pool, 40), 0);
	CHECK_EQ(pool.objsize, 48);
	for (int i = 0; i < N; i++) {
		objs[i] = node_pool_get(&pool);
		CHECK(objs[i] && ((uptr)objs[i] & 15) == 0);
		memset(objs[i], i & 0xff, 48);
	}
	for (int i = 0; i < N; i++) /* no two objects overlap */
		CHECK(((u8 *)objs[i])[0] == (i & 0xff) && ((u8 *)objs[i])[47] == (i & 0xff));
	CHECK_EQ(node_pool_in_use(&pool), N);
	CHECK_EQ(node_pool_pages(&pool), (N + 84) / 85); /* (4096 - 16) / 48 = 85 per page */
	CHECK_EQ(pages_out, node_pool_pages(&pool));
	for (int i = 0; i < N; i += 2)
		node_pool_put(&pool, objs[i]);
	CHECK_EQ(node_pool_in_use(&pool), N / 2);
	u64 pages = node_pool_pages(&pool);
	for (int i = 0; i < N; i += 2) /* recycled before any new page */
		CHECK(node_pool_get(&pool) != NULL);
	CHECK_EQ(node_pool_pages(&pool), pages);

	/* A reservation guarantees exactly what it promised once the page supply fails. */
	CHECK_EQ(node_pool_reserve(&pool, 200), 0);
	CHECK(node_pool_available(&pool) >= 200);
	u64 avail = node_pool_available(&pool);
	fail_pages = true;
	CHECK_EQ(node_pool_reserve(&pool, avail + 1), -ENOMEM);
	for (u64 i = 0; i < avail; i++)
		CHECK(node_pool_get(&pool) != NULL);
	CHECK(node_pool_get(&pool) == NULL);
	fail_pages = false;
	CHECK(node_pool_get(&pool) != NULL);
	node_pool_release_all(&pool);
	CHECK_EQ(pages_out, 0);
	CHECK_EQ(node_pool_in_use(&pool), 0);
	CHECK(node_pool_get(&pool) != NULL); /* still usable */
	node_pool_release_all(&pool);
	CHECK_EQ(pages_out, 0);
}

/* ------------------------------ reference model of the free space ------------------------------ */

struct mext {
	u64 start, end;
};
#define MODEL_MAX 200000
static struct mext model[MODEL_MAX];
static long model_n;
static u64 model_lo, model_hi, model_bytes;

static void model_init(u64 lo, u64 hi)
{
	model_lo = lo;
	model_hi = hi;
	model[0] = (struct mext){ lo, hi };
	model_n = 1;
	model_bytes = hi - lo;
}

/* Linear scan in address order: the first extent where an aligned range fits inside [lo, hi). */
static long model_find(u64 size, u64 align, u64 lo, u64 hi, u64 *addr)
{
	for (long i = 0; i < model_n; i++) {
		u64 s = MAX(model[i].start, lo), t = MIN(model[i].end, hi);
		if (model[i].start >= hi)
			break;
		unsigned __int128 a = ((unsigned __int128)s + align - 1) / align * align;
		if (s < t && a + size <= t) {
			*addr = (u64)a;
			return i;
		}
	}
	return -1;
}

static bool model_carve_needs_node(long i, u64 a, u64 size)
{
	return a > model[i].start && a + size < model[i].end;
}

static void model_carve(long i, u64 a, u64 size)
{
	struct mext e = model[i];
	model_bytes -= size;
	if (a == e.start && a + size == e.end) {
		memmove(&model[i], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
		model_n--;
	} else if (a == e.start) {
		model[i].start = a + size;
	} else if (a + size == e.end) {
		model[i].end = a;
	} else {
		memmove(&model[i + 2], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
		model[i].end = a;
		model[i + 1] = (struct mext){ a + size, e.end };
		model_n++;
	}
}

/* 0 if freeing is legal (*needs_node says whether it touches no free neighbour), else -EINVAL. */
static int model_free_check(u64 addr, u64 size, bool *needs_node, long *pos)
{
	if (!size || (addr | size) % PAGE_SIZE || addr < model_lo || addr >= model_hi || size > model_hi - addr)
		return -EINVAL;
	long lo = 0, hi = model_n; /* first extent starting above addr */
	while (lo < hi) {
		long mid = (lo + hi) / 2;
		if (model[mid].start > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	bool prev = lo > 0, next = lo < model_n;
	if ((prev && model[lo - 1].end > addr) || (next && model[lo].start < addr + size))
		return -EINVAL;
	*needs_node = !(prev && model[lo - 1].end == addr) && !(next && model[lo].start == addr + size);
	*pos = lo;
	return 0;
}

static void model_free(u64 addr, u64 size, long pos)
{
	bool jp = pos > 0 && model[pos - 1].end == addr;
	bool jn = pos < model_n && model[pos].start == addr + size;
	model_bytes += size;
	if (jp && jn) {
		model[pos - 1].end = model[pos].end;
		memmove(&model[pos], &model[pos + 1], (model_n - pos - 1) * sizeof(model[0]));
		model_n--;
	} else if (jp) {
		model[pos - 1].end = addr + size;
	} else if (jn) {
		model[pos].start = addr;
	} else {
		memmove(&model[pos + 1], &model[pos], (model_n - pos) * sizeof(model[0]));
		model[pos] = (struct mext){ addr, addr + size };
		model_n++;
	}
}

struct cmp_ctx {
	long i;
	bool ok;
};
static void cmp_extent(void *ctx, u64 s, u64 e)
{
	struct cmp_ctx *c = ctx;
	if (c->i >= model_n || model[c->i].start != s || model[c->i].end != e)
		c->ok = false;
	c->i++;
}

/* The index holds exactly the model's extents, totals agree and every invariant holds. */
static bool index_matches_model(struct va_index *ix)
{
	struct cmp_ctx c = { 0, true };
	u64 bytes = 0, largest = 0;
	va_index_for_each(ix, cmp_extent, &c);
	for (long i = 0; i < model_n; i++) {
		bytes += model[i].end - model[i].start;
		largest = MAX(largest, model[i].end - model[i].start);
	}
	return c.ok && c.i == model_n && va_index_check(ix) && va_index_free_bytes(ix) == bytes &&
	       va_index_largest(ix) == largest && va_index_extents(ix) == (u64)model_n;
}

/* Cheap per-operation comparison of the totals; the full one runs periodically. */
static bool totals_match(struct va_index *ix)
{
	return va_index_extents(ix) == (u64)model_n && va_index_free_bytes(ix) == model_bytes;
}

/* --------------------------------------- va_index --------------------------------------- */

static void test_va_index_basic(void)
{
	struct node_pool pool;
	struct va_index ix;
	u64 base = VMALLOC_START, a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, base, base + 64 * PAGE_SIZE);
	CHECK(va_index_check(&ix));
	CHECK_EQ(va_index_free_bytes(&ix), 64 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a), 0);
	CHECK_EQ(a, base);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 4 * PAGE_SIZE, &a), 0); /* skips pages 2..3 */
	CHECK_EQ(a, base + 4 * PAGE_SIZE);
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a), 0); /* fills the gap exactly */
	CHECK_EQ(a, base + 2 * PAGE_SIZE);
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_largest(&ix), 59 * PAGE_SIZE);
	/* Malformed requests. */
	CHECK_EQ(va_index_alloc(&ix, 0, PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, 100, PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 3 * PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 512, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, ~(u64)0 & PAGE_MASK, 1UL << 20, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, 60 * PAGE_SIZE, PAGE_SIZE, &a), -ENOMEM);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 1UL << 63, &a), -ENOMEM);
	CHECK_EQ(va_index_alloc_in(&ix, PAGE_SIZE, PAGE_SIZE, base + PAGE_SIZE, base, &a), -EINVAL);
	/* Frees: double, outside, wrapping, unaligned are rejected; then the merges. */
	CHECK_EQ(va_index_free(&ix, base + 10 * PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 4 * PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base - PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 64 * PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base, ~(u64)0 & PAGE_MASK), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 1, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base, 0), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + PAGE_SIZE, PAGE_SIZE), 0); /* isolated */
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_free(&ix, base + 2 * PAGE_SIZE, PAGE_SIZE), 0); /* joins left */
	CHECK_EQ(va_index_free(&ix, base + 4 * PAGE_SIZE, PAGE_SIZE), 0); /* joins right */
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_free(&ix, base + 3 * PAGE_SIZE, PAGE_SIZE), 0); /* joins both */
	CHECK_EQ(va_index_free(&ix, base, PAGE_SIZE), 0);
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_free_bytes(&ix), 64 * PAGE_SIZE);
	CHECK(va_index_check(&ix));
	/* Windowed allocation. */
	CHECK_EQ(va_index_alloc_in(&ix, 2 * PAGE_SIZE, 2 * PAGE_SIZE, base + PAGE_SIZE,
				   base + 8 * PAGE_SIZE, &a), 0);
	CHECK_EQ(a, base + 2 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc_in(&ix, 8 * PAGE_SIZE, PAGE_SIZE, base, base + 8 * PAGE_SIZE, &a), -ENOMEM);
	CHECK(va_index_check(&ix));
	node_pool_release_all(&pool);

	/* Degenerate set-ups refuse work instead of crashing. */
	va_index_init(&ix, &pool, base + PAGE_SIZE, base + PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, PAGE_SIZE, &a), -ENOMEM);
	CHECK_EQ(va_index_free(&ix, base, PAGE_SIZE), -EINVAL);
	CHECK(va_index_check(&ix));
	va_index_init(&ix, &pool, ~(u64)0 - 10, ~(u64)0);
	CHECK_EQ(va_index_extents(&ix), 0);
	struct node_pool tiny;
	node_pool_init(&tiny, 16);
	va_index_init(&ix, &tiny, base, base + 8 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 2 * PAGE_SIZE, &a), 0); /* no split needed */
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 4 * PAGE_SIZE, &a), -ENOMEM); /* split needs a node */
	CHECK_EQ(node_pool_pages(&tiny), 0);
	CHECK(va_index_check(&ix));
}

struct area {
	u64 addr, size;
};
#define MAX_LIVE 4096
static struct area live[MAX_LIVE];
static long nlive;
static long node_refusals; /* ops the model said must fail for want of a node */

static u64 random_pages(void)
{
	u64 r = rnd_below(100);
	if (r < 70)
		return 1 + rnd_below(8);
	if (r < 95)
		return 1 + rnd_below(256);
	return 1 + rnd_below(1 << 14);
}

static u64 random_align(void)
{
	u64 r = rnd_below(100);
	if (r < 70)
		return PAGE_SIZE;
	if (r < 97)
		return PAGE_SIZE << rnd_below(11);
	if (r < 99) /* few enough aligned candidates in the region to be probed one by one */
		return PAGE_SIZE << (12 + rnd_below(8));
	return PAGE_SIZE << (18 + rnd_below(12)); /* up to larger than the region */
}

/*
 * One random operation on both the index and the model; returns false on any disagreement.
 * With `starved` (the index's pool, whose page supply is failing), an operation the model says
 * needs a node must fail with -ENOMEM whenever that pool has no object left (nodes freed by
 * merges go back to it and may be reused).
 */
static bool random_op(struct va_index *ix, const struct node_pool *starved)
{
	bool nodes_fail = starved && node_pool_available(starved) == 0;
	u64 r = rnd_below(1000), a = 0;
	bool alloc = nlive == 0 || (nlive < MAX_LIVE - 1 && r < (nlive > 2000 ? 450 : 560));

	if (alloc) {
		u64 size = random_pages() * PAGE_SIZE, align = random_align(), lo = model_lo, hi = model_hi;
		bool windowed = rnd_below(10) == 0;
		if (windowed) {
			lo = model_lo + rnd_below((model_hi - model_lo) / PAGE_SIZE) * PAGE_SIZE;
			hi = lo + rnd_below(1 << 16) * PAGE_SIZE + PAGE_SIZE;
		}
		u64 ma;
		long i = model_find(size, align, lo, hi, &ma);
		int want = i < 0 ? -ENOMEM : 0;
		if (i >= 0 && nodes_fail && model_carve_needs_node(i, ma, size)) {
			want = -ENOMEM;
			node_refusals++;
		}
		int got = windowed ? va_index_alloc_in(ix, size, align, lo, hi, &a) : va_index_alloc(ix, size, align, &a);
		if (got != want || (got == 0 && a != ma))
			return false;
		if (got == 0) {
			model_carve(i, a, size);
			live[nlive++] = (struct area){ a, size };
		}
		return totals_match(ix);
	}
	if (r >= 980) {
		/* A free the model says is illegal: inside free space, overlapping it, outside, malformed. */
		u64 addr, size;
		long e = rnd_below(model_n + 1);
		switch (rnd_below(4)) {
		case 0: /* starts inside a free extent */
			if (e == model_n)
				return true;
			addr = model[e].start + rnd_below((model[e].end - model[e].start) / PAGE_SIZE) * PAGE_SIZE;
			size = random_pages() * PAGE_SIZE;
			break;
		case 1: { /* a live area stretched over a neighbour */
			struct area *l = &live[rnd_below(nlive)];
			u64 grow = (1 + rnd_below(4)) * PAGE_SIZE;
			addr = rnd_below(2) ? l->addr - grow : l->addr;
			size = l->size + grow;
			break;
		}
		case 2:
			addr = rnd_below(2) ? model_lo - PAGE_SIZE * (1 + rnd_below(4)) : model_hi + PAGE_SIZE * rnd_below(4);
			size = PAGE_SIZE * (1 + rnd_below(8));
			break;
		default:
			addr = live[rnd_below(nlive)].addr + (rnd_below(2) ? 0 : 1 + rnd_below(PAGE_SIZE - 1));
			size = rnd_below(3) * PAGE_SIZE + (addr % PAGE_SIZE ? 0 : rnd_below(PAGE_SIZE));
			break;
		}
		bool nn;
		long pos;
		if (model_free_check(addr, size, &nn, &pos) == 0)
			return true; /* happened to be legal: skip, it would free someone's live area */
		u64 before_bytes = va_index_free_bytes(ix), before_ext = va_index_extents(ix);
		return va_index_free(ix, addr, size) == -EINVAL && va_index_free_bytes(ix) == before_bytes &&
		       va_index_extents(ix) == before_ext;
	}
	/* Free a live area, sometimes only its head (the rest stays live). */
	long k = rnd_below(nlive);
	struct area ar = live[k];
	u64 size = ar.size;
	if (ar.size > PAGE_SIZE && rnd_below(10) == 0)
		size = (1 + rnd_below(ar.size / PAGE_SIZE - 1)) * PAGE_SIZE;
	bool nn = false;
	long pos = 0;
	if (model_free_check(ar.addr, size, &nn, &pos) != 0)
		return false; /* the model disagrees with our own bookkeeping */
	int want = nodes_fail && nn ? -ENOMEM : 0;
	node_refusals += want != 0;
	if (va_index_free(ix, ar.addr, size) != want)
		return false;
	if (want == 0) {
		model_free(ar.addr, size, pos);
		if (size == ar.size)
			live[k] = live[--nlive];
		else
			live[k] = (struct area){ ar.addr + size, ar.size - size };
	}
	return totals_match(ix);
}

#define REGION_PAGES (1UL << 20)

static void test_va_index_vs_model(void)
{
	struct node_pool pool;
	struct va_index ix;
	long ops = 1000000, failures = 0;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, VMALLOC_START, VMALLOC_START + REGION_PAGES * PAGE_SIZE);
	model_init(VMALLOC_START, VMALLOC_START + REGION_PAGES * PAGE_SIZE);
	nlive = 0;
	for (long op = 0; op < ops && failures < 5; op++) {
		if (!random_op(&ix, NULL)) {
			printf("# mismatch at op %ld\n", op);
			failures++;
		}
		if (op % 2000 == 0 && !index_matches_model(&ix)) {
			printf("# index diverged from model by op %ld\n", op);
			failures++;
		}
	}
	CHECK_EQ(failures, 0);
	CHECK(index_matches_model(&ix));
	printf("# %ld ops, %ld live areas, %ld free extents at the end\n", ops, nlive, model_n);
	/* Every node but possibly the built-in initial one comes from the pool. */
	CHECK(node_pool_in_use(&pool) <= va_index_extents(&ix));
	CHECK(node_pool_in_use(&pool) + 1 >= va_index_extents(&ix));
	while (nlive > 0) {
		bool nn;
		long pos;
		struct area ar = live[--nlive];
		CHECK_EQ(model_free_check(ar.addr, ar.size, &nn, &pos), 0);
		model_free(ar.addr, ar.size, pos);
		CHECK_EQ(va_index_free(&ix, ar.addr, ar.size), 0);
	}
	CHECK(index_matches_model(&ix));
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_free_bytes(&ix), REGION_PAGES * PAGE_SIZE);
	node_pool_release_all(&pool);
	CHECK_EQ(pages_out, 0);
}

/* With the pool drained and no pages to be had, exactly the ops that need a node fail, harmlessly. */
static void test_va_index_pool_failure(void)
{
	struct node_pool pool;
	struct va_index ix;
	static void *held[1 << 16];
	long nheld = 0, failures = 0;
	u64 base = VMALLOC_START, a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, base, base + REGION_PAGES * PAGE_SIZE);
	model_init(base, base + REGION_PAGES * PAGE_SIZE);
	nlive = 0;
	for (int i = 0; i < 20000; i++)
		random_op(&ix, NULL);
	CHECK(index_matches_model(&ix));

	fail_pages = true;
	while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
		nheld++;
	CHECK(node_pool_get(&pool) == NULL);
	node_refusals = 0;
	for (int i = 0; i < 50000 && failures < 5; i++) {
		/* Merges hand nodes back; half the time take them away again so refusals stay common. */
		if (rnd_below(2))
			while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
				nheld++;
		if (!random_op(&ix, &pool))
			failures++;
		if (i % 1000 == 0 && !index_matches_model(&ix))
			failures++;
	}
	CHECK_EQ(failures, 0);
	CHECK(node_refusals > 100); /* the failure path was really exercised */
	printf("# %ld operations refused for want of a node\n", node_refusals);
	CHECK(index_matches_model(&ix));

	/* Deterministic: an aligned fit from the middle of an extent fails and changes nothing... */
	while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
		nheld++;
	bool split_tried = false;
	for (u64 align = 2 * PAGE_SIZE; align <= (1UL << 24) && !split_tried; align *= 2) {
		for (u64 size = PAGE_SIZE; size <= 4 * PAGE_SIZE && !split_tried; size += PAGE_SIZE) {
			long i = model_find(size, align, base, base + REGION_PAGES * PAGE_SIZE, &a);
			if (i < 0 || !model_carve_needs_node(i, a, size))
				continue;
			split_tried = true;
			CHECK_EQ(va_index_alloc(&ix, size, align, &a), -ENOMEM);
			CHECK(index_matches_model(&ix));
		}
	}
	CHECK(split_tried);
	/* ...while a carve from an extent's start, and the free that rejoins it, need no node. */
	long i = model_find(PAGE_SIZE, PAGE_SIZE, base, base + REGION_PAGES * PAGE_SIZE, &a);
	CHECK(i >= 0);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, PAGE_SIZE, &a), 0);
	CHECK_EQ(a, model[i].start);
	model_carve(i, a, PAGE_SIZE);
	CHECK_EQ(va_index_free(&ix, a, PAGE_SIZE), 0); /* rejoins its extent: no node */
	long pos;
	bool nn;
	model_free_check(a, PAGE_SIZE, &nn, &pos);
	model_free(a, PAGE_SIZE, pos);
	CHECK(index_matches_model(&ix));

	fail_pages = false;
	while (nheld > 0)
		node_pool_put(&pool, held[--nheld]);
	/* A reservation made while pages were available carries the free path through a failure. */
	CHECK_EQ(node_pool_reserve(&pool, 1), 0);
	fail_pages = true;
	while (node_pool_available(&pool) > 1)
		held[nheld++] = node_pool_get(&pool);
	struct area ar = { 0, 0 };
	for (long k = 0; k < nlive; k++) {
		bool need;
		if (model_free_check(live[k].addr, live[k].size, &need, &pos) == 0 && need) {
			ar = live[k];
			break;
		}
	}
	if (ar.size) {
		CHECK_EQ(va_index_free(&ix, ar.addr, ar.size), 0);
		model_free_check(ar.addr, ar.size, &nn, &pos);
		model_free(ar.addr, ar.size, pos);
		CHECK(index_matches_model(&ix));
	}
	fail_pages = false;
	while (nheld > 0)
		node_pool_put(&pool, held[--nheld]);
	node_pool_release_all(&pool);
	CHECK_EQ(pages_out, 0);
}

/* ---------------------------------------- va_busy ---------------------------------------- */

#define BUSY_KEYS (1 << 17)
static struct va_busy_link links[BUSY_KEYS], spare;
static bool present[BUSY_KEYS];
static u32 seen_epoch[BUSY_KEYS];
static u32 epoch;
static long foreach_bad;

static u64 busy_key(u64 i) { return VMALLOC_START + i * 2 * PAGE_SIZE; }

static void mark_seen(void *ctx, struct va_busy_link *l)
{
	(void)ctx;
	long i = l - links;
	if (i < 0 || i >= BUSY_KEYS || !present[i] || seen_epoch[i] == epoch || l->key != busy_key(i))
		foreach_bad++;
	else
		seen_epoch[i] = epoch;
}

static bool busy_matches_model(struct va_busy *m, long model_count)
{
	epoch++;
	foreach_bad = 0;
	va_busy_for_each(m, mark_seen, NULL);
	long seen = 0;
	for (long i = 0; i < BUSY_KEYS; i++)
		seen += seen_epoch[i] == epoch;
	return foreach_bad == 0 && seen == model_count && va_busy_count(m) == (u64)model_count;
}

static void test_va_busy_vs_model(void)
{
	struct va_busy m;
	long count = 0, failures = 0, overloaded = 0;

	va_busy_init(&m);
	memset(present, 0, sizeof(present));
	for (long op = 0; op < 1000000 && failures < 5; op++) {
		u64 i = rnd_below(BUSY_KEYS), r = rnd_below(10);
		/* A stretch with the table hook failing: the map must keep working, unresized. */
		fail_tables = op >= 20000 && op < 60000;
		u64 buckets = va_busy_buckets(&m);
		overloaded += fail_tables && (u64)count > buckets;
		bool ok;
		if (r < 4) {
			int got = va_busy_insert(&m, present[i] ? &spare : &links[i], busy_key(i));
			ok = got == (present[i] ? -EEXIST : 0);
			if (!present[i] && got == 0)
				count++, present[i] = true;
		} else if (r < 7) {
			ok = va_busy_find(&m, busy_key(i)) == (present[i] ? &links[i] : NULL);
			ok = ok && va_busy_find(&m, busy_key(i) + PAGE_SIZE) == NULL; /* never-inserted key */
		} else {
			ok = va_busy_remove(&m, busy_key(i)) == (present[i] ? &links[i] : NULL);
			if (present[i])
				count--, present[i] = false;
		}
		if (fail_tables && va_busy_buckets(&m) != buckets)
			ok = false;
		if (!ok || va_busy_count(&m) != (u64)count) {
			printf("# busy map mismatch at op %ld\n", op);
			failures++;
		}
		if (op % 100000 == 0 && !busy_matches_model(&m, count))
			failures++;
	}
	fail_tables = false;
	CHECK_EQ(failures, 0);
	CHECK(busy_matches_model(&m, count));
	CHECK(overloaded > 1000);                  /* the failing stretch did block growth... */
	CHECK(va_busy_buckets(&m) >= (u64)count); /* ...and growth caught up afterwards */
	printf("# %ld entries in %llu buckets, longest chain %llu\n", count,
	       (unsigned long long)va_busy_buckets(&m), (unsigned long long)va_busy_longest_chain(&m));
	va_busy_destroy(&m);
	CHECK_EQ(tables_out, 0);
	CHECK_EQ(table_size_mismatch, 0);
	CHECK_EQ(va_busy_count(&m), 0);
}

static void test_va_busy_growth_and_spread(void)
{
	struct va_busy m;
	enum { N = 1 << 16 };

	va_busy_init(&m);
	fail_tables = true; /* no growth at all: still correct, just long chains */
	for (u64 i = 0; i < 1000; i++)
		CHECK_EQ(va_busy_insert(&m, &links[i], busy_key(i)), 0);
	CHECK_EQ(va_busy_buckets(&m), VA_BUSY_INITIAL_BUCKETS);
	for (u64 i = 0; i < 1000; i++)
		CHECK(va_busy_find(&m, busy_key(i)) == &links[i]);
	fail_tables = false;
	for (u64 i = 1000; i < N; i++)
		CHECK_EQ(va_busy_insert(&m, &links[i], busy_key(i)), 0);
	CHECK_EQ(va_busy_buckets(&m), N); /* load factor back to <= 1 */
	for (u64 i = 0; i < N; i++)
		CHECK(va_busy_remove(&m, busy_key(i)) == &links[i]);
	/* Strided keys (8 KiB areas, 64 KiB, 2 MiB-aligned huge mappings...) filling the 64 GiB
	 * region must still spread: a hash that just masked the page number would pile them into a
	 * fraction of the buckets. */
	static const u64 strides[] = { 2, 4, 16, 512, 4096 };
	for (unsigned k = 0; k < ARRAY_SIZE(strides); k++) {
		u64 n = MIN((u64)N, (VMALLOC_SIZE / PAGE_SIZE) / strides[k]);
		for (u64 i = 0; i < n; i++)
			CHECK_EQ(va_busy_insert(&m, &links[i], VMALLOC_START + i * strides[k] * PAGE_SIZE), 0);
		u64 longest = va_busy_longest_chain(&m);
		if (longest > 3)
			printf("# stride %llu pages: longest chain %llu\n", (unsigned long long)strides[k],
			       (unsigned long long)longest);
		CHECK(longest <= 3);
		for (u64 i = 0; i < n; i++)
			CHECK(va_busy_remove(&m, VMALLOC_START + i * strides[k] * PAGE_SIZE) == &links[i]);
	}
	CHECK_EQ(va_busy_count(&m), 0);
	CHECK(va_busy_remove(&m, busy_key(0)) == NULL);
	va_busy_destroy(&m);
	CHECK_EQ(tables_out, 0);
}

/* ------------------------------------ informational timing ------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * ns per (alloc 2 pages, free) pair with n live areas in the 64 GiB arena, either packed (one
 * free extent above them) or with a hole beside every area. Printed, never asserted.
 */
static void bench_live(long n, bool holes)
{
	struct node_pool pool;
	struct va_index ix;
	static struct area areas[200000];
	long iters = 1000000, errors = 0, made = holes ? 2 * n : n;
	u64 a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, VMALLOC_START, VMALLOC_END);
	for (long i = 0; i < made; i++) {
		areas[i].size = (holes ? 1 + rnd_below(4) : 2) * PAGE_SIZE;
		errors += va_index_alloc(&ix, areas[i].size, PAGE_SIZE, &areas[i].addr) != 0;
	}
	for (long i = 0; holes && i < made; i += 2)
		errors += va_index_free(&ix, areas[i].addr, areas[i].size) != 0;
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		errors += va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a) != 0;
		errors += va_index_free(&ix, a, 2 * PAGE_SIZE) != 0;
	}
	double dt = now_ns() - t0;
	printf("# bench: %6ld live areas, %6llu free extents: %.1f ns per alloc+free pair\n", n,
	       (unsigned long long)va_index_extents(&ix), dt / iters);
	CHECK_EQ(errors, 0);
	CHECK_EQ(va_index_extents(&ix), holes ? (u64)n + 1 : 1);
	CHECK(va_index_check(&ix));
	node_pool_release_all(&pool);
}

static void test_bench(void)
{
	bench_live(100, false);
	bench_live(100000, false);
	bench_live(100, true);
	bench_live(100000, true);
}

int main(void)
{
	const char *seed = getenv("VA_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	printf("# seed %#llx\n", (unsigned long long)rng_state);
	htest_begin("va_index", 10);
	htest_run("rbtree_plain_random", test_rbtree_plain);
	htest_run("rbtree_augmented_random", test_rbtree_augmented);
	htest_run("rbtree_edges", test_rbtree_edges);
	htest_run("node_pool", test_node_pool);
	htest_run("va_index_basic", test_va_index_basic);
	htest_run("va_index_vs_model_1e6", test_va_index_vs_model);
	htest_run("va_index_pool_failure", test_va_index_pool_failure);
	htest_run("va_busy_vs_model_1e6", test_va_busy_vs_model);
	htest_run("va_busy_growth_and_spread", test_va_busy_growth_and_spread);
	htest_run("bench_alloc_free_pair", test_bench);
	return htest_end();
}
