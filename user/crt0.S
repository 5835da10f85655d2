/* Program entry: the kernel starts every user program here with a0 = argc, a1 = argv, sp set. */
#include <vmk/abi.h>

	.section .text.start, "ax"
	.globl _start
_start:
	/* gp must hold __global_pointer$ before any gp-relative access the linker may have relaxed to;
	 * this load itself must not be relaxed, or it would be computed from the gp it is setting. */
	.option push
	.option norelax
	la gp, __global_pointer$
	.option pop
	andi sp, sp, -16
	call main
	/* main's return value is already in a0: it becomes the exit status. */
	li a7, SYS_exit
	ecall
1:	j 1b
