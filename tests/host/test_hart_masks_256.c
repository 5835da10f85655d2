/* test_hart_masks at MAX_HARTS 256 (the Makefile builds this file and lib/percpu.c with -DMAX_HARTS=256):
 * four-word hart sets, four SBI chunks when every hart is in the set. */
#include "tests/host/test_hart_masks.c"
