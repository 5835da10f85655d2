/* In-kernel test suites: registration and assertions; the runner reports them in KTAP. */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include "lib/types.h"

struct ktest {
	const char *name;
	bool failed;
	bool skipped;
	char reason[120];
};

/* Marks the case failed. Its first failure's "file:line: what" (cut to 119 bytes) is the reason reported,
 * replacing an earlier skip's; later failures keep it. Does not end the case (KT_ASSERT returns after it).
 * *t is written without a lock: from the case's own code, any context, one hart at a time. */
void ktest_fail(struct ktest *t, const char *file, int line, const char *what);
/* Marks the case skipped, with why (cut to 119 bytes) as its reason unless it has already failed: a case
 * that both failed and skipped is reported as failed. A later skip replaces an earlier skip's reason.
 * Does not end the case: the caller returns. Same contexts as ktest_fail. */
void ktest_skip(struct ktest *t, const char *why);
/* The lowest online hart other than this one, into *other: true; or false with the case skipped ("needs a
 * second hart"). For cases that need another hart to run something on. Process context. */
bool ktest_other_hart(struct ktest *t, u32 *other);

/* KT_ASSERT ends the case on failure; KT_EXPECT records it and goes on. */
#define KT_ASSERT(t, cond)                                                  \
	do {                                                                \
		if (!(cond)) {                                              \
			ktest_fail((t), __FILE__, __LINE__, #cond);         \
			return;                                             \
		}                                                           \
	} while (0)
#define KT_EXPECT(t, cond)                                                  \
	do {                                                                \
		if (!(cond)) ktest_fail((t), __FILE__, __LINE__, #cond);    \
	} while (0)

struct ktest_case {
	const char *name;
	void (*run)(struct ktest *t);
};

struct ktest_suite {
	const char *name;
	const struct ktest_case *cases;
	int ncases;
};

/* Suites are collected by the linker into one section, so adding a suite is adding a file. The runner
 * checks free pages and live vmalloc areas before and after each suite: a leak fails the suite. */
#define KTEST_SUITE(sname, ...)                                                          \
	static const struct ktest_case sname##_cases[] = {__VA_ARGS__};                   \
	__attribute__((section(".ktest_suites"), used, aligned(8))) static const struct  \
		ktest_suite sname##_suite = {#sname, sname##_cases, ARRAY_SIZE(sname##_cases)}

/* The section's bounds, from boot/kernel.ld. */
extern const struct ktest_suite __ktest_start[], __ktest_end[];

#define KTEST_EXIT_UNKNOWN_SUITE 14 /* BOOT_EXIT_BAD_BOOTARGS: a misspelt suite is a bad boot argument */
/* Runs the suites named in a comma list ("all" for every one) and returns 0 if all passed (or the
 * ktest.pass_status bootarg's value, when given and at least one suite ran), 1 if any failed,
 * KTEST_EXIT_UNKNOWN_SUITE (running nothing) if the list names a suite that does not exist. Boot hart,
 * process context. */
int ktest_run_all(const char *list);

#endif
