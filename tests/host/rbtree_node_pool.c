/* test_va_index cases for lib/rbtree.c, plain and augmented, and for the node pool the index draws
 * its nodes from. */
#define HTEST_PART
#include "lib/rbtree.h"
#include "tests/host/test_va_index.h"

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

void test_rbtree_plain(void) { rbtree_random(false); }
void test_rbtree_augmented(void) { rbtree_random(true); }

void test_rbtree_edges(void)
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

void test_node_pool(void)
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
	CHECK_EQ(blocks_out, node_pool_pages(&pool));
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
	fail_blocks = true;
	CHECK_EQ(node_pool_reserve(&pool, avail + 1), -ENOMEM);
	for (u64 i = 0; i < avail; i++)
		CHECK(node_pool_get(&pool) != NULL);
	CHECK(node_pool_get(&pool) == NULL);
	fail_blocks = false;
	CHECK(node_pool_get(&pool) != NULL);
	node_pool_release_all(&pool);
	CHECK_EQ(blocks_out, 0);
	CHECK_EQ(node_pool_in_use(&pool), 0);
	CHECK(node_pool_get(&pool) != NULL); /* still usable */
	node_pool_release_all(&pool);
	CHECK_EQ(blocks_out, 0);
}

/* node_pool_get_many: the free list first, then carving, across pages; distinct objects; counts as n
 * node_pool_get calls would leave them; short (with what it got) when no page can be had. */
void test_node_pool_get_many(void)
{
	struct node_pool pool;
	enum { N = 300 };
	static void *objs[N], *more[N];
	CHECK_EQ(node_pool_init(&pool, 100), 0); /* 112 B: 36 a page */
	CHECK_EQ(node_pool_get_many(&pool, objs, N), N);
	CHECK_EQ(node_pool_in_use(&pool), N);
	CHECK_EQ(node_pool_pages(&pool), (N + 35) / 36);
	for (int i = 0; i < N; i++) memset(objs[i], i & 0xff, 112);
	for (int i = 0; i < N; i++) CHECK(((u8 *)objs[i])[0] == (i & 0xff) && ((u8 *)objs[i])[111] == (i & 0xff));
	for (int i = 0; i < N; i += 3) node_pool_put(&pool, objs[i]); /* 100 back on the free list */
	u64 pages = node_pool_pages(&pool);
	CHECK_EQ(node_pool_get_many(&pool, more, 100), 100); /* all from the free list: no new page */
	CHECK_EQ(node_pool_pages(&pool), pages);
	for (int i = 0, j = 0; i < N; i += 3, j++) CHECK(more[99 - j] == objs[i]); /* last put, first out */
	for (int i = 0; i < 10; i++) node_pool_put(&pool, more[i]);
	CHECK_EQ(node_pool_get_many(&pool, more, 50), 50); /* 10 recycled, then carved */
	CHECK_EQ(node_pool_in_use(&pool), N + 40);
	u64 avail = node_pool_available(&pool);
	fail_blocks = true;
	CHECK_EQ(node_pool_get_many(&pool, more, avail + 5), avail); /* short: no page to be had */
	CHECK_EQ(node_pool_available(&pool), 0);
	fail_blocks = false;
	node_pool_release_all(&pool);
	CHECK_EQ(blocks_out, 0);
}
