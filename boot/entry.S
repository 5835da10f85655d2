/* First instructions: OpenSBI jumps here at 0x80200000 with the MMU off (a0 = hartid, a1 = DTB physical
 * address). We clear BSS, switch to the early page tables and continue in the upper half. Secondary harts
 * enter at _secondary_entry through SBI HSM hart_start. */
#include "boot/boot.h"

	.section .text.entry, "ax"
	.globl _start
_start:
	/* Only one hart may become the boot hart. fw_dynamic sends just one, but if another ever arrives it
	 * hands itself back to the firmware (HSM hart_stop) so the boot hart can start it like any other. */
	lla	t0, boot_lottery
	li	t1, 1
	amoswap.w t1, t1, (t0)
	bnez	t1, .Lhart_stop

	mv	s0, a0
	mv	s1, a1
	lla	s2, _secondary_entry /* physical: kmain passes it to the secondaries */
	csrw	sie, zero
	csrw	sscratch, zero

	lla	t0, __bss_start
	lla	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:
	/* Physical stack until the MMU is on: early_pt_build runs at its load address. */
	lla	sp, boot_stacks
	li	t0, BOOT_STACK_SIZE
	add	sp, sp, t0
	call	early_pt_build
	csrw	satp, a0
	sfence.vma
	ld	t0, .Lhigh_boot
	jr	t0

.Lhart_stop:
	li	a7, 0x48534D
	li	a6, 1
	ecall
	j	.Lhart_stop

	.globl _secondary_entry
_secondary_entry:
	/* a0 = hartid, a1 = dense hart index (the opaque argument). */
	csrw	sie, zero
	csrw	sscratch, zero
	lla	t0, early_satp
	ld	t0, 0(t0)
	csrw	satp, t0
	sfence.vma
	ld	t0, .Lhigh_secondary
	jr	t0

	.balign 8
.Lhigh_boot:
	.dword	high_boot
.Lhigh_secondary:
	.dword	high_secondary

	.text
high_boot:
	ld	sp, .Lboot_sp
	ld	tp, .Lhart0
	mv	a0, s0
	mv	a1, s1
	mv	a2, s2
	call	kmain
	j	.

high_secondary:
	ld	t0, .Lboot_args
	slli	t1, a1, 4
	add	t0, t0, t1
	ld	sp, 0(t0)
	ld	tp, 8(t0)
	call	secondary_main
	j	.

	.balign 8
.Lboot_sp:
	.dword	boot_stacks + BOOT_STACK_SIZE
.Lhart0:
	.dword	harts
.Lboot_args:
	.dword	hart_boot_args

	.data
	.balign 4
	.globl boot_lottery
boot_lottery:
	.word	0
