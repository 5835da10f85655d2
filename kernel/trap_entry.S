/* Trap entry and exit. sscratch holds this hart's hart_local while user code runs and 0 in the kernel, so
 * one swap tells where the trap came from and finds the kernel stack without touching user registers. */
#include "kernel/context.h"
#include "kernel/hart.h"
#include "kernel/trap.h"

	.text
	.balign 4
	.globl trap_entry
trap_entry:
	csrrw	tp, sscratch, tp
	bnez	tp, .Lfrom_user
	/* From the kernel: tp was swapped with 0; put it back and use the current stack. */
	csrrw	tp, sscratch, tp
	addi	sp, sp, -TF_SIZE
	sd	t0, 5*8(sp)
	addi	t0, sp, TF_SIZE
	sd	t0, 2*8(sp)
	sd	tp, 4*8(sp)
	j	.Lsave_rest

.Lfrom_user:
	sd	sp, HART_USER_SP(tp)
	ld	sp, HART_KERNEL_SP(tp)
	addi	sp, sp, -TF_SIZE
	sd	t0, 5*8(sp)
	ld	t0, HART_USER_SP(tp)
	sd	t0, 2*8(sp)
	csrr	t0, sscratch
	sd	t0, 4*8(sp)
	csrw	sscratch, zero

.Lsave_rest:
	sd	x1, 1*8(sp)
	sd	x3, 3*8(sp)
	sd	x6, 6*8(sp)
	sd	x7, 7*8(sp)
	sd	x8, 8*8(sp)
	sd	x9, 9*8(sp)
	sd	x10, 10*8(sp)
	sd	x11, 11*8(sp)
	sd	x12, 12*8(sp)
	sd	x13, 13*8(sp)
	sd	x14, 14*8(sp)
	sd	x15, 15*8(sp)
	sd	x16, 16*8(sp)
	sd	x17, 17*8(sp)
	sd	x18, 18*8(sp)
	sd	x19, 19*8(sp)
	sd	x20, 20*8(sp)
	sd	x21, 21*8(sp)
	sd	x22, 22*8(sp)
	sd	x23, 23*8(sp)
	sd	x24, 24*8(sp)
	sd	x25, 25*8(sp)
	sd	x26, 26*8(sp)
	sd	x27, 27*8(sp)
	sd	x28, 28*8(sp)
	sd	x29, 29*8(sp)
	sd	x30, 30*8(sp)
	sd	x31, 31*8(sp)
	csrr	t0, sepc
	sd	t0, 32*8(sp)
	csrr	t0, sstatus
	sd	t0, 33*8(sp)
	csrr	t0, scause
	sd	t0, 34*8(sp)
	csrr	t0, stval
	sd	t0, 35*8(sp)
	mv	a0, sp
	call	trap_handler
	mv	a0, sp
	/* fall through */

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

/* kfault_try's landing pad: a tiny setjmp/longjmp pair for the callee-saved registers. */
	.globl kfault_setjmp
kfault_setjmp:
	CONTEXT_SAVE a0
	li	a0, 0
	ret

	.globl kfault_longjmp
kfault_longjmp:
	CONTEXT_LOAD a0
	mv	a0, a1
	ret
