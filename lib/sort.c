/* Heapsort for the few places that order a table (device-tree ranges, the vmallocinfo listing): no
 * allocation and no recursion, so it works at boot and in an oops. */
#include "lib/sort.h"

static void swap_elems(char *a, char *b, size_t size, bool words)
{
	if (words) {
		for (size_t i = 0; i < size; i += sizeof(u64)) {
			u64 t = *(u64 *)(a + i);
			*(u64 *)(a + i) = *(u64 *)(b + i);
			*(u64 *)(b + i) = t;
		}
		return;
	}
	for (size_t i = 0; i < size; i++) {
		char t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

struct heap {
	char *v;
	size_t size;
	bool words;
	bool (*less)(const void *, const void *);
};

/* Moves the element at root down until the first `end` elements form a max-heap again. */
static void sift_down(const struct heap *h, size_t root, size_t end)
{
	for (size_t child; (child = 2 * root + 1) < end; root = child) {
		if (child + 1 < end && h->less(h->v + child * h->size, h->v + (child + 1) * h->size)) child++;
		if (!h->less(h->v + root * h->size, h->v + child * h->size)) return;
		swap_elems(h->v + root * h->size, h->v + child * h->size, h->size, h->words);
	}
}

void sort(void *base, size_t n, size_t size, bool (*less)(const void *a, const void *b))
{
	struct heap h = {base, size, !((size | (uptr)base) & (sizeof(u64) - 1)), less};
	for (size_t start = n / 2; start-- > 0;) sift_down(&h, start, n);
	for (size_t end = n; end-- > 1;) {
		swap_elems(h.v, h.v + end * size, size, h.words);
		sift_down(&h, 0, end);
	}
}
