/* Program entry: the kernel starts every user program here with a0 = argc, a1 = argv, sp set. Sets up
 * gp and tp (picolibc's errno is thread-local), runs constructors, and hands main's result to exit(). */
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
	/* RISC-V TLS variant I: tp points at the block's start, which is the linked .tdata image. */
	la tp, __tls_base
	andi sp, sp, -16
	mv s0, a0
	mv s1, a1
	call __libc_init_array
	mv a0, s0
	mv a1, s1
	call main
	/* exit flushes stdio and runs atexit handlers, then _exit (user/libc.c) ends the task. */
	call exit
1:	j 1b
