/* hello: the template for a program of your own. Copy it to programs/<name>.c, then
 * `make run INIT=/<name>` builds it into the initrd and boots it as the first task (arguments after the
 * name: `make run INIT="/<name> one two"`). It is plain C on picolibc: stdio, stdlib, string.h and
 * assert work as anywhere; malloc's heap is a shm object of this task (see user/vmk.h), and the kernel's
 * own calls are the vmk_* wrappers of user/vmk.h, declared over include/vmk/abi.h. The value main
 * returns is the task's exit status; as the first task, a non-zero status is reported on the console. */
#include "user/vmk.h"

static int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv)
{
	printf("hello from %s, task %ld, with %d argument(s)\n", argv[0], vmk_getpid(), argc - 1);

	/* The heap grows with shm_resize as the array does; `make trace INIT=/hello` shows it. */
	int n = 250000, step = 25000, *v = NULL;
	for (int have = 0; have < n; have += step) {
		int *w = realloc(v, (size_t)(have + step) * sizeof(*v));
		if (!w) {
			printf("out of memory\n");
			return 1;
		}
		v = w;
		for (int i = have; i < have + step; i++) v[i] = (int)((i * 7919LL) % n);
	}
	qsort(v, (size_t)n, sizeof(*v), by_value);
	for (int i = 1; i < n; i++) assert(v[i - 1] <= v[i]);
	printf("sorted %d numbers: %d .. %d\n", n, v[0], v[n - 1]);
	free(v);
	return 0;
}
