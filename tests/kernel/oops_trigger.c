/* Deliberate kernel faults for the boot matrix (bootarg oops=guard|uaf|null): the oops must name the
 * vmalloc area involved and the machine must power off with a failure status. */
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/vmalloc.h"

void oops_trigger(const char *kind)
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
