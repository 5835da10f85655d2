/* Intrusive red-black tree: balancing, iteration and optional per-node augmentation callbacks. */
#ifndef LIB_RBTREE_H
#define LIB_RBTREE_H

#include "lib/types.h"

/*
 * Users embed a struct rb_node in their own object and do the ordered descent themselves (they
 * know the key), then hand the linked leaf to rb_insert*() for rebalancing. Keeping the compare
 * out of the tree lets each user write a tight, fully inlined search loop.
 *
 * The colour lives in bit 0 of the parent pointer: nodes are at least pointer-aligned, so the
 * bit is free, and a node stays three words.
 */
struct rb_node {
	uptr parent_colour;
	struct rb_node *left, *right;
};

struct rb_root {
	struct rb_node *node;
};

#define RB_ROOT_INIT { NULL }
#define rb_entry(p, type, member) container_of(p, type, member)

static inline struct rb_node *rb_parent(const struct rb_node *n)
{
	return (struct rb_node *)(n->parent_colour & ~(uptr)1);
}

/* Attach node as a red leaf at *link (a NULL child slot of parent, or the root slot). */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent, struct rb_node **link)
{
	node->parent_colour = (uptr)parent;
	node->left = node->right = NULL;
	*link = node;
}

/*
 * Augmentation: each node may cache a value computed from itself and its subtree (e.g. the
 * largest free extent below it). The tree calls these while it restructures; the user calls its
 * own propagate after changing a node's data in place.
 *   propagate(node, stop): recompute node and its ancestors, up to but excluding stop (NULL:
 *                          the root); it may return early once a recomputed value is unchanged.
 *   copy(old, new):        new has taken old's position; give it old's cached value.
 *   rotate(old, new):      new was rotated above old and now roots old's former subtree: new gets
 *                          old's cached value, old is recomputed from its new children.
 */
struct rb_augment_ops {
	void (*propagate)(struct rb_node *node, struct rb_node *stop);
	void (*copy)(struct rb_node *old, struct rb_node *new_node);
	void (*rotate)(struct rb_node *old, struct rb_node *new_node);
};

#ifdef HOST_TEST /* test support: only host tests call these */
/* Rebalance after rb_link_node(). For augmented trees the caller must first give the new node
 * its own value and propagate it to the ancestors (the tree is then consistent but unbalanced). */
void rb_insert(struct rb_root *root, struct rb_node *node);
#endif
void rb_insert_augmented(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug);

#ifdef HOST_TEST /* test support: only host tests call these */
/* Unlinks node, which must be in root's tree, and rebalances: O(log n), allocates nothing, cannot fail.
 * node's own fields are left stale, so it may be freed or linked again at once. No lock: callers
 * serialise. */
void rb_erase(struct rb_root *root, struct rb_node *node);
#endif
/* As rb_erase, for a tree kept with aug (the ops its inserts used): calls aug's copy, propagate and rotate
 * as it restructures, so that every remaining node's cached value is exact when it returns. */
void rb_erase_augmented(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug);

#ifdef HOST_TEST /* test support: only host tests call these */
/* In-order iteration; NULL at either end. */
struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/*
 * Structural check for tests and diagnostics: parent links, no red node with a red child, equal
 * black height on every path, black root, bounded height. Returns false on the first violation.
 */
bool rb_validate(const struct rb_root *root);
#endif

#endif
