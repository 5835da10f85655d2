/* The one sort: in-place heapsort of an array, O(n log n) time, no memory, any context. */
#ifndef LIB_SORT_H
#define LIB_SORT_H

#include "lib/types.h"

/* Sorts n elements of size bytes at base, in the order less() gives:
 * less(a, b) is true when a must come before b. Not stable. */
void sort(void *base, size_t n, size_t size, bool (*less)(const void *a, const void *b));

#endif
