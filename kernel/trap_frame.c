/* Names of trap causes, for the oops, fault reports and the trace. */
#include "kernel/trap_frame.h"
#include "lib/types.h"

const char *trap_cause_name(u64 c)
{
	static const char *const names[] = {
		"instruction address misaligned", "instruction access fault", "illegal instruction",
		"breakpoint", "load address misaligned", "load access fault", "store address misaligned",
		"store access fault", "ecall from U-mode", "ecall from S-mode", "reserved", "reserved",
		"instruction page fault", "load page fault", "reserved", "store page fault"};
	if (c & CAUSE_INTERRUPT) return "interrupt";
	return c < ARRAY_SIZE(names) ? names[c] : "unknown exception";
}
