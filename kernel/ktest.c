/* The in-kernel test runner: KTAP version 1 output (suites as subtests), and after every suite a leak
 * check that free pages and live vmalloc areas are back to where they were. */
#include "kernel/ktest.h"
#include "kernel/bootparams.h"
#include "lib/bootargs.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/buddy.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"


void ktest_fail(struct ktest *t, const char *file, int line, const char *what)
{
	if (!t->failed) snprintf(t->reason, sizeof(t->reason), "%s:%d: %s", file, line, what);
	t->failed = true;
}

void ktest_skip(struct ktest *t, const char *why)
{
	t->skipped = true;
	/* A case that failed before it skipped is a failure: its first failure stays the reason shown. */
	if (!t->failed) snprintf(t->reason, sizeof(t->reason), "%s", why);
}

bool ktest_other_hart(struct ktest *t, u32 *other)
{
	struct hartset others;
	harts_online_others(&others);
	*other = hartset_next(&others, 0);
	if (*other < MAX_HARTS) return true;
	ktest_skip(t, "needs a second hart");
	return false;
}

static bool selected(const char *list, const char *name)
{
	if (!strcmp(list, "all")) return true;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, name, n)) return true;
		if (!e) break;
		p = e + 1;
	}
	return false;
}

static bool run_suite(const struct ktest_suite *s, int number)
{
	int failed = 0;

	vm_quiesce();
	u64 pages0 = buddy_free_pages() + vm_cached_pages(), areas0 = vm_live_areas();
	printk("    KTAP version 1\n    # Subtest: %s\n    1..%d\n", s->name, s->ncases + 1);
	for (int i = 0; i < s->ncases; i++) {
		struct ktest t = {.name = s->cases[i].name};
		s->cases[i].run(&t);
		if (t.failed) failed++;
		printk("    %s %d %s%s%s\n", t.failed ? "not ok" : "ok", i + 1, t.name,
		       t.failed ? " # " : t.skipped ? " # SKIP " : "", (t.failed || t.skipped) ? t.reason : "");
	}
	vm_quiesce();
	u64 pages1 = buddy_free_pages() + vm_cached_pages(), areas1 = vm_live_areas();
	bool leak = pages1 != pages0 || areas1 != areas0;
	if (leak) failed++;
	printk("    %s %d leak_check", leak ? "not ok" : "ok", s->ncases + 1);
	if (leak)
		printk(" # free pages %lu -> %lu, live areas %lu -> %lu", pages0, pages1, areas0, areas1);
	printk("\n%s %d %s\n", failed ? "not ok" : "ok", number, s->name);
	return failed == 0;
}

static bool suite_exists(const char *name, size_t len)
{
	for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
		if (strlen(s->name) == len && !strncmp(s->name, name, len)) return true;
	return false;
}

/* A misspelt suite name must fail the run, not pass it by running nothing: one line per unknown name. */
static int unknown_suites(const char *list)
{
	int unknown = 0;

	if (!strcmp(list, "all")) return 0;
	for (const char *p = list;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (!suite_exists(p, len)) {
			printk("ktest: error: no suite named '");
			bootparams_print_escaped(p, MIN(len, (size_t)64));
			printk("'\n");
			unknown++;
		}
		if (!e) break;
		p = e + 1;
	}
	if (unknown) {
		printk("ktest: known suites: all");
		for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++) printk(" %s", s->name);
		printk("\n");
	}
	return unknown;
}

int ktest_run_all(const char *list)
{
	int n = 0, bad = 0;

	if (unknown_suites(list)) {
		printk("# ktest: unknown suite names in test=: nothing run\n");
		return KTEST_EXIT_UNKNOWN_SUITE;
	}

	for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
		if (selected(list, s->name)) n++;
	printk("KTAP version 1\n1..%d\n", n);
	int i = 0;
	for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
		if (selected(list, s->name) && !run_suite(s, ++i)) bad++;
	printk("# ktest: %d suites, %d failed\n", n, bad);
	if (bad) return 1;
	/* A boot with no console (the no-uart machine) can still prove its suites ran and passed: the test
	 * runner asks for a status that only this line gives. bootparams.c has checked its range (1..255). */
	u64 pass_status;
	return n && !bootarg_u64("ktest.pass_status", &pass_status) ? (int)pass_status : 0;
}
