/* The two loops that touch user memory (kernel/uaccess.c checks the range and calls them). Each runs with
 * sstatus.SUM set (set here in the per-copy mode; already set while the hart runs a task in the default
 * mode: kernel/uaccess.h) and may fault on a user page that is not mapped or not writable; kernel/trap.c
 * then asks uaccess_fixup (kernel/uaccess.c), which finds the faulting pc inside one of these routines
 * and resumes at its fixup label, which ends the copy as the loop's own exit does (SUM off again in the
 * per-copy mode) and returns a failure. Nothing is saved or restored around a copy
 * (no landing pad to set up and tear down): a 4 KiB shm_read costs its loads and stores and a few dozen
 * instructions more.
 *
 * Register use: only a0-a7 and t0-t6, which the C caller expects clobbered; the fault resumes with the
 * registers as they were at the faulting instruction. */

#define SUM_BIT_HI 0x40 /* SSTATUS_SUM (1 << 18) >> 12: lui's immediate */

/* SUM on for this copy, in the per-copy mode only (uaccess_sum_per_copy, a byte: 0 or 1). Leaves the
 * mode in t5 for sum_off. Uses t5, t6. */
.macro sum_on
	lui	t6, SUM_BIT_HI
	lbu	t5, uaccess_sum_per_copy
	beqz	t5, 1f
	csrs	sstatus, t6
1:
.endm
/* SUM off again after a copy made with sum_on (t5, t6 as it left them; a fixup sees them as they were at
 * the fault, which the copy loops never change). */
.macro sum_off
	beqz	t5, 1f
	csrc	sstatus, t6
1:
.endm

	.text
	.balign 4

/* u64 uaccess_copy(void *dst, const void *src, u64 n): copies n bytes; returns 0, or after a fault a
 * nonzero count not smaller than the bytes left uncopied (whole 1 KiB blocks are counted as not copied
 * until their last store). Aligned copies go 1 KiB per turn (128 loads and stores, five instructions of
 * loop), then 64 bytes, then 8; misaligned ones a byte at a time. */
	.globl uaccess_copy
uaccess_copy:
	sum_on
	add	a3, a0, a2		/* a3: end of dst; a0 moves on only past whole turns */
	or	t0, a0, a1
	andi	t0, t0, 7
	bnez	t0, .Lcopy_bytes
	li	t4, 1024
.Lcopy_kib:
	sub	t0, a3, a0
	bltu	t0, t4, .Lcopy_64
	.set	off, 0
	.rept	16
	ld	a4, off+0(a1)
	ld	a5, off+8(a1)
	ld	a6, off+16(a1)
	ld	a7, off+24(a1)
	ld	t0, off+32(a1)
	ld	t1, off+40(a1)
	ld	t2, off+48(a1)
	ld	t3, off+56(a1)
	sd	a4, off+0(a0)
	sd	a5, off+8(a0)
	sd	a6, off+16(a0)
	sd	a7, off+24(a0)
	sd	t0, off+32(a0)
	sd	t1, off+40(a0)
	sd	t2, off+48(a0)
	sd	t3, off+56(a0)
	.set	off, off+64
	.endr
	addi	a0, a0, 1024
	addi	a1, a1, 1024
	j	.Lcopy_kib
.Lcopy_64:
	li	t4, 64
.Lcopy_64_loop:
	sub	t0, a3, a0
	bltu	t0, t4, .Lcopy_8
	ld	a4, 0(a1)
	ld	a5, 8(a1)
	ld	a6, 16(a1)
	ld	a7, 24(a1)
	ld	t0, 32(a1)
	ld	t1, 40(a1)
	ld	t2, 48(a1)
	ld	t3, 56(a1)
	sd	a4, 0(a0)
	sd	a5, 8(a0)
	sd	a6, 16(a0)
	sd	a7, 24(a0)
	sd	t0, 32(a0)
	sd	t1, 40(a0)
	sd	t2, 48(a0)
	sd	t3, 56(a0)
	addi	a0, a0, 64
	addi	a1, a1, 64
	j	.Lcopy_64_loop
.Lcopy_8:
	sub	t0, a3, a0
	li	t4, 8
	bltu	t0, t4, .Lcopy_bytes
	ld	a4, 0(a1)
	sd	a4, 0(a0)
	addi	a0, a0, 8
	addi	a1, a1, 8
	j	.Lcopy_8
.Lcopy_bytes:
	beq	a0, a3, .Lcopy_done
	lbu	a4, 0(a1)
	sb	a4, 0(a0)
	addi	a0, a0, 1
	addi	a1, a1, 1
	j	.Lcopy_bytes
.Lcopy_done:
	sum_off
	li	a0, 0
	ret
	.globl uaccess_copy_fixup
uaccess_copy_fixup:		/* a fault: a3 - a0 bytes, at least, were not copied (never 0: a0 < a3) */
	sum_off
	sub	a0, a3, a0
	ret

/* long uaccess_strncpy(char *dst, const char *src, u64 max): copies bytes up to and including the first
 * NUL, at most max of them; returns 0 when a NUL was copied, 1 when max bytes held none, -1 after a
 * fault. */
	.globl uaccess_strncpy, uaccess_strncpy_fixup
uaccess_strncpy:
	sum_on
	add	a3, a0, a2
.Lstr_loop:
	beq	a0, a3, .Lstr_full
	lbu	a4, 0(a1)
	sb	a4, 0(a0)
	addi	a0, a0, 1
	addi	a1, a1, 1
	bnez	a4, .Lstr_loop
	sum_off
	li	a0, 0
	ret
.Lstr_full:
	sum_off
	li	a0, 1
	ret
uaccess_strncpy_fixup:
	sum_off
	li	a0, -1
	ret
