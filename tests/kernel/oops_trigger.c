/* The oops suite: deliberate kernel faults for the boot matrix (test=oops oops=guard|uaf|null). The oops
 * must name the vmalloc area involved and the machine must power off with a failure status, so the one
 * case never returns when it runs; without an oops= bootarg (test=all) it skips. Product code never
 * calls into this file. */
#include "kernel/ktest.h"
#include "lib/bootargs.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/vmalloc.h"

/* Kept out of line: the oops's area listing names this function as the allocation's caller. */
static __attribute__((noinline)) void oops_trigger(const char *kind)
{
	printk("oops test: provoking a '%s' fault\n", kind);
	if (!strcmp(kind, "guard")) {
		char *p = vmalloc(3 * 4096);
		if (p) p[3 * 4096 + 100] = 1; /* 100 bytes into the guard page */
	} else if (!strcmp(kind, "uaf")) {
		char *p = vmalloc(4096);
		vfree(p);
		if (p) p[8] = 1;
	} else {
		volatile uptr null_page = 8; /* through a variable: the compiler must emit the store */
		*(volatile int *)null_page = 1;
	}
	printk("oops test: the fault did not happen\n");
}

static void provoke(struct ktest *t)
{
	const char *kind = bootarg_get("oops");
	if (!kind || !*kind) {
		ktest_skip(t, "needs oops=guard|uaf|null: the fault powers the machine off");
		return;
	}
	oops_trigger(kind);
	ktest_fail(t, __FILE__, __LINE__, "the deliberate fault did not oops");
}

KTEST_SUITE(oops, {"provoke", provoke});
