/* Red-black tree rebalancing (insert and erase), with hooks that keep augmented values exact. */
#include "lib/rbtree.h"

#define RB_RED 0
#define RB_BLACK 1

static inline bool is_black(const struct rb_node *n) { return !n || (n->parent_colour & 1); }
static inline bool is_red(const struct rb_node *n) { return !is_black(n); }

static inline void set_black(struct rb_node *n) { n->parent_colour |= RB_BLACK; }
static inline void set_red(struct rb_node *n) { n->parent_colour &= ~(uptr)1; }
static inline void set_colour(struct rb_node *n, uptr c)
{
	n->parent_colour = (n->parent_colour & ~(uptr)1) | c;
}
static inline uptr colour_of(const struct rb_node *n) { return n->parent_colour & 1; }
static inline void set_parent(struct rb_node *n, struct rb_node *p)
{
	n->parent_colour = (uptr)p | (n->parent_colour & 1);
}

/* Point whatever referenced old (its parent's child slot, or the root) at new_node. */
static inline void replace_child(struct rb_root *root, struct rb_node *parent, struct rb_node *old,
				 struct rb_node *new_node)
{
	if (!parent)
		root->node = new_node;
	else if (parent->left == old)
		parent->left = new_node;
	else
		parent->right = new_node;
}

/*
 * One rotation routine for both directions: `up` is a child of `down` and takes its place;
 * up's inner subtree moves across to down. Colours stay with their nodes.
 */
static void rotate_up(struct rb_root *root, struct rb_node *down, struct rb_node *up,
		      const struct rb_augment_ops *aug)
{
	struct rb_node *parent = rb_parent(down);
	struct rb_node *inner;

	if (down->left == up) {
		inner = up->right;
		down->left = inner;
		up->right = down;
	} else {
		inner = up->left;
		down->right = inner;
		up->left = down;
	}
	if (inner)
		set_parent(inner, down);
	set_parent(up, parent);
	set_parent(down, up);
	replace_child(root, parent, down, up);
	if (aug)
		aug->rotate(down, up);
}

static void insert_fixup(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug)
{
	struct rb_node *parent;

	/* Only a red node under a red parent breaks the rules; push the conflict upward. */
	while ((parent = rb_parent(node)) && is_red(parent)) {
		struct rb_node *grand = rb_parent(parent); /* exists: a red node is never the root */
		struct rb_node *uncle = grand->left == parent ? grand->right : grand->left;

		if (is_red(uncle)) {
			/* Recolouring moves one black level up from both children to grand. */
			set_black(parent);
			set_black(uncle);
			set_red(grand);
			node = grand;
			continue;
		}
		/* Make node an outer grandchild so a single rotation at grand finishes the job. */
		bool parent_is_left = grand->left == parent;
		if ((parent->right == node) == parent_is_left) {
			rotate_up(root, parent, node, aug);
			struct rb_node *t = parent;
			parent = node;
			node = t;
		}
		set_black(parent);
		set_red(grand);
		rotate_up(root, grand, parent, aug);
		break;
	}
	set_black(root->node);
}

#ifdef HOST_TEST /* test support: only host tests call these */
void rb_insert(struct rb_root *root, struct rb_node *node) { insert_fixup(root, node, NULL); }
#endif

void rb_insert_augmented(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug)
{
	insert_fixup(root, node, aug);
}

/*
 * A black node was removed from the subtree rooted at `node` (possibly empty), the child of
 * `parent`: that side is one black short. Restore black heights by borrowing from the sibling.
 */
static void erase_fixup(struct rb_root *root, struct rb_node *node, struct rb_node *parent,
			const struct rb_augment_ops *aug)
{
	while (node != root->node && is_black(node)) {
		bool is_left = parent->left == node;
		struct rb_node *sib = is_left ? parent->right : parent->left; /* non-NULL: it has black height >= 1 */

		if (is_red(sib)) {
			/* Turn a red sibling into a black one so the cases below apply. */
			set_black(sib);
			set_red(parent);
			rotate_up(root, parent, sib, aug);
			sib = is_left ? parent->right : parent->left;
		}
		struct rb_node *outer = is_left ? sib->right : sib->left;
		struct rb_node *inner = is_left ? sib->left : sib->right;

		if (is_black(outer) && is_black(inner)) {
			/* Sibling side gives up a black level too; the deficit moves to parent. */
			set_red(sib);
			node = parent;
			parent = rb_parent(node);
			continue;
		}
		if (is_black(outer)) {
			/* Red inner nephew: rotate it above the sibling so the red one is outer. */
			set_black(inner);
			set_red(sib);
			rotate_up(root, sib, inner, aug);
			outer = sib;
			sib = inner;
		}
		/* Red outer nephew: one rotation at parent adds the missing black level. */
		set_colour(sib, colour_of(parent));
		set_black(parent);
		set_black(outer);
		rotate_up(root, parent, sib, aug);
		return;
	}
	if (node)
		set_black(node);
}

static void erase_node(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug)
{
	struct rb_node *parent = rb_parent(node);
	struct rb_node *child, *fix_parent;
	uptr removed_colour;

	if (!node->left || !node->right) {
		/* At most one child: splice node out. */
		child = node->left ? node->left : node->right;
		removed_colour = colour_of(node);
		if (child)
			set_parent(child, parent);
		replace_child(root, parent, node, child);
		fix_parent = parent;
		if (aug && parent)
			aug->propagate(parent, NULL);
	} else {
		/* Two children: the in-order successor (no left child) takes node's place and colour. */
		struct rb_node *succ = node->right;
		while (succ->left)
			succ = succ->left;
		child = succ->right;
		removed_colour = colour_of(succ);
		if (succ == node->right) {
			fix_parent = succ;
		} else {
			fix_parent = rb_parent(succ);
			fix_parent->left = child;
			if (child)
				set_parent(child, fix_parent);
			succ->right = node->right;
			set_parent(node->right, succ);
		}
		succ->left = node->left;
		set_parent(node->left, succ);
		succ->parent_colour = node->parent_colour;
		replace_child(root, parent, node, succ);
		if (aug) {
			/* succ holds node's old value, so the path above it stays valid while the
			 * path from succ's old spot up to succ is recomputed. */
			aug->copy(node, succ);
			if (fix_parent != succ)
				aug->propagate(fix_parent, succ);
			aug->propagate(succ, NULL);
		}
	}
	if (removed_colour == RB_BLACK)
		erase_fixup(root, child, fix_parent, aug);
}

#ifdef HOST_TEST /* test support: only host tests call these */
void rb_erase(struct rb_root *root, struct rb_node *node) { erase_node(root, node, NULL); }
#endif

void rb_erase_augmented(struct rb_root *root, struct rb_node *node, const struct rb_augment_ops *aug)
{
	erase_node(root, node, aug);
}

#ifdef HOST_TEST /* test support: only host tests call these */
struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->node;
	if (n)
		while (n->left)
			n = n->left;
	return n;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *n = root->node;
	if (n)
		while (n->right)
			n = n->right;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *p;

	if (node->right) {
		node = node->right;
		while (node->left)
			node = node->left;
		return (struct rb_node *)node;
	}
	while ((p = rb_parent(node)) && node == p->right)
		node = p;
	return p;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *p;

	if (node->left) {
		node = node->left;
		while (node->right)
			node = node->right;
		return (struct rb_node *)node;
	}
	while ((p = rb_parent(node)) && node == p->left)
		node = p;
	return p;
}
#endif

/* A red-black tree over 2^64 nodes is at most 128 deep; deeper means a cycle or corruption. */
#define RB_MAX_DEPTH 130

#ifdef HOST_TEST /* test support: only host tests call these */
/* Returns the black height of the subtree, or -1 on a violation. */
static int validate_subtree(const struct rb_node *n, const struct rb_node *parent, int depth)
{
	if (!n)
		return 1;
	if (depth > RB_MAX_DEPTH || rb_parent(n) != parent)
		return -1;
	if (is_red(n) && (is_red(n->left) || is_red(n->right)))
		return -1;
	int lh = validate_subtree(n->left, n, depth + 1);
	int rh = validate_subtree(n->right, n, depth + 1);
	if (lh < 0 || lh != rh)
		return -1;
	return lh + (is_black(n) ? 1 : 0);
}

bool rb_validate(const struct rb_root *root)
{
	if (!root->node)
		return true;
	if (!is_black(root->node))
		return false;
	return validate_subtree(root->node, NULL, 0) > 0;
}
#endif
