/* Trap entry (the exit is kernel/trap_return.S). sscratch holds this hart's hart_local while user code
 * runs and 0 in the kernel, so one swap tells where the trap came from and finds the kernel stack without
 * touching user registers. */
#include "kernel/context.h"
#include "kernel/hart.h"
#include "kernel/trap_frame.h"

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
	j	trap_return /* kernel/trap_return.S */

/* Points this hart's traps at trap_entry; sscratch 0 says "in the kernel". Each hart, once, at start. */
	.globl trap_init_hart
trap_init_hart:
	la	t0, trap_entry
	csrw	stvec, t0
	csrw	sscratch, zero
	ret
