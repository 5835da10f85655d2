/* KTAP reporting for user test programs: numbered ok / not ok lines, the first failure as the reason. */
#include "user/vmk.h"

static const char *program;
static const char *current;
static int cases, failed_cases, skipped_cases;
static bool current_failed;
static const char *current_skip; /* why the current case cannot run here (ktap_skip) */
static char reason[160];

void ktap_begin(const char *name)
{
	program = name;
	printf("# user: %s\n", name);
}

void ktap_fail(const char *file, int line, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Every failure is printed as a diagnostic; only the first becomes the case's reason. */
	printf("# %s: %s:%d: %s\n", current ? current : program, file, line, what);
	if (!current_failed) snprintf(reason, sizeof(reason), "%s:%d: %s", file, line, what);
	current_failed = true;
}

/* Values in the errno range print by name (-14 reads as EFAULT, -1000 as KILLED), others also in hex. */
static void describe(char *buf, size_t n, long long v)
{
	if (v < 0 && v > -4096) snprintf(buf, n, "%lld (%s)", v, errno_name((long)v));
	else snprintf(buf, n, "%lld (0x%llx)", v, (unsigned long long)v);
}

void ktap_fail_eq(const char *file, int line, const char *expr, long long got, long long want)
{
	char g[48], w[48];
	describe(g, sizeof(g), got);
	describe(w, sizeof(w), want);
	ktap_fail(file, line, "%s = %s, want %s", expr, g, w);
}

void ktap_result(bool ok, const char *name, const char *why)
{
	cases++;
	if (ok) {
		printf("ok %d %s\n", cases, name);
	} else {
		failed_cases++;
		printf("not ok %d %s # %s\n", cases, name, why && *why ? why : "failed");
	}
}

void ktap_run(const char *name, void (*fn)(void))
{
	current = name;
	current_failed = false;
	current_skip = NULL;
	reason[0] = '\0';
	fn();
	if (current_skip && !current_failed) {
		cases++;
		skipped_cases++;
		printf("ok %d %s # SKIP %s\n", cases, name, current_skip); /* the runner counts it skipped */
	} else {
		ktap_result(!current_failed, name, reason);
	}
	current = NULL;
}

void ktap_skip(const char *why) { current_skip = why; }

int ktap_end(void)
{
	if (skipped_cases)
		printf("# user: %s: %d/%d passed, %d skipped\n", program, cases - failed_cases - skipped_cases, cases,
		       skipped_cases);
	else printf("# user: %s: %d/%d passed\n", program, cases - failed_cases, cases);
	/* The plan comes last (the count is known only now) and closes the program's report: the test runner
	 * fails a program that began a report and ended without it, so one that stops part-way cannot pass. */
	printf("1..%d\n", cases);
	return failed_cases ? 1 : 0;
}
