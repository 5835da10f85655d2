/* The return from a trap: restores a trap frame and leaves with sret. Its own file, below the task code,
 * because a new task's first return to user mode starts here too (kernel/task.c). */
#include "kernel/context.h"
#include "kernel/hart.h"
#include "kernel/trap_frame.h"

	.text
	.balign 4
	.globl trap_return
trap_return:
	/* a0 = frame. Returning to user (SPP clear) re-arms sscratch with this hart's hart_local. */
	mv	sp, a0
	ld	t0, 33*8(sp)
	andi	t1, t0, 1 << 8
	bnez	t1, 1f
	csrw	sscratch, tp
1:	csrw	sstatus, t0
	ld	t0, 32*8(sp)
	csrw	sepc, t0
	ld	x1, 1*8(sp)
	ld	x3, 3*8(sp)
	ld	x4, 4*8(sp)
	ld	x5, 5*8(sp)
	ld	x6, 6*8(sp)
	ld	x7, 7*8(sp)
	ld	x8, 8*8(sp)
	ld	x9, 9*8(sp)
	ld	x10, 10*8(sp)
	ld	x11, 11*8(sp)
	ld	x12, 12*8(sp)
	ld	x13, 13*8(sp)
	ld	x14, 14*8(sp)
	ld	x15, 15*8(sp)
	ld	x16, 16*8(sp)
	ld	x17, 17*8(sp)
	ld	x18, 18*8(sp)
	ld	x19, 19*8(sp)
	ld	x20, 20*8(sp)
	ld	x21, 21*8(sp)
	ld	x22, 22*8(sp)
	ld	x23, 23*8(sp)
	ld	x24, 24*8(sp)
	ld	x25, 25*8(sp)
	ld	x26, 26*8(sp)
	ld	x27, 27*8(sp)
	ld	x28, 28*8(sp)
	ld	x29, 29*8(sp)
	ld	x30, 30*8(sp)
	ld	x31, 31*8(sp)
	ld	x2, 2*8(sp)
	sret
