/* bigsort: a larger example program. It grows one array of random numbers with realloc up to 64 MiB, checks
 * every number survived each growth, sorts part of it with qsort and reports with snprintf. 64 MiB is more
 * than the default 16 MiB task quota, so the program first respawns itself with a bigger one
 * (vmk_spawn's last argument, in pages) and waits for that copy: `make run INIT=/bigsort`. */
#include "user/vmk.h"

#define MiB (1UL << 20)
#define QUOTA_PAGES VMK_MAX_QUOTA_PAGES /* 256 MiB: room for the kernel to copy the heap while it grows */
#define SORTED 100000                   /* numbers qsort puts in order */

static int ascending(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;
	return x < y ? -1 : x > y;
}

static u64 sum_of(const u64 *v, u64 n)
{
	u64 s = 0;
	for (u64 i = 0; i < n; i++) s += v[i] * (i + 1);
	return s;
}

static int work(void)
{
	u64 *v = NULL, n = 0, sum = 0, seed = 2026;
	for (u64 bytes = MiB; bytes <= 64 * MiB; bytes *= 2) {
		u64 *w = realloc(v, bytes);
		if (!w) {
			printf("bigsort: realloc to %lu MiB failed: %s\n", bytes / MiB, strerror(errno));
			free(v);
			return 1;
		}
		v = w;
		if (sum_of(v, n) != sum) {
			printf("bigsort: numbers changed while growing to %lu MiB\n", bytes / MiB);
			return 1;
		}
		for (; n < bytes / sizeof(*v); n++) {
			v[n] = rng_next(&seed) >> 20;
			sum += v[n] * (n + 1);
		}
	}
	qsort(v, SORTED, sizeof(*v), ascending);
	for (u64 i = 1; i < SORTED; i++)
		if (v[i - 1] > v[i]) {
			printf("bigsort: not sorted at %lu\n", i);
			return 1;
		}
	char line[128];
	snprintf(line, sizeof(line), "%lu numbers in %lu MiB, the smallest of the first %d: %lu, %lu, %lu",
		 n, n * sizeof(*v) / MiB, SORTED, v[0], v[1], v[2]);
	printf("bigsort: %s\n", line);
	free(v);
	struct heap_stats st;
	heap_get_stats(&st);
	printf("bigsort: ok, heap back to %lu KiB after %lu grows and %lu shrinks\n", st.size >> 10, st.grows, st.shrinks);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "work") == 0) return work();
	const char *child_argv[] = {argv[0], "work", NULL};
	long tid = vmk_spawn(argv[0], child_argv, NULL, 0, QUOTA_PAGES);
	if (tid < 0) {
		printf("bigsort: cannot spawn %s: %s\n", argv[0], errno_name(tid));
		return 1;
	}
	return wait_status(tid);
}
