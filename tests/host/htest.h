/* Minimal test harness for host unit tests: KTAP output, one "ok N name" line per test. */
#ifndef HTEST_H
#define HTEST_H

#include <stdio.h>
#include <stdlib.h>

/*
 * One binary's cases may span several files: the file with main() includes this as is and owns the
 * results, the others define HTEST_PART first, so a CHECK anywhere marks the one current test.
 */
#ifdef HTEST_PART
extern int htest_n, htest_failed, htest_cur_failed;
extern const char *htest_cur;
#else
int htest_n, htest_failed, htest_cur_failed;
const char *htest_cur;
#endif

/* CHECK records a failure of the current test with the expression and line, and carries on. */
#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			if (!htest_cur_failed)                                              \
				printf("# %s: %s:%d: CHECK(%s) failed\n", htest_cur, __FILE__, \
				       __LINE__, #cond);                                    \
			htest_cur_failed = 1;                                               \
		}                                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                                      \
	do {                                                                                \
		long long _a = (long long)(a), _b = (long long)(b);                         \
		if (_a != _b) {                                                             \
			if (!htest_cur_failed)                                              \
				printf("# %s: %s:%d: %s == %lld, expected %s == %lld\n", htest_cur, \
				       __FILE__, __LINE__, #a, _a, #b, _b);                 \
			htest_cur_failed = 1;                                               \
		}                                                                           \
	} while (0)

static inline void htest_begin(const char *suite, int planned)
{
	printf("KTAP version 1\n# suite: %s\n1..%d\n", suite, planned);
}

static inline void htest_run(const char *name, void (*fn)(void))
{
	htest_cur = name;
	htest_cur_failed = 0;
	fn();
	htest_n++;
	if (htest_cur_failed) htest_failed++;
	printf("%s %d %s\n", htest_cur_failed ? "not ok" : "ok", htest_n, name);
	fflush(stdout);
}

static inline int htest_end(void) { return htest_failed ? 1 : 0; }

#endif
