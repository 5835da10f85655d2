/* Suite `uaccess`: the user copies (kernel/uaccess.c and .S). A fault inside a copy loop on a user
 * address must end the copy with -EFAULT and the kernel must go on; a copy must move exactly the bytes
 * asked for, at every size and alignment the loops distinguish (1 KiB turns, 64-byte and 8-byte steps,
 * bytes); the fixup must never claim a fault outside the loops or on a kernel address. Runs on this hart
 * in an address space of its own with one user page mapped at VA and nothing at VA + PAGE_SIZE. */
#include "kernel/aspace.h"
#include "kernel/ktest.h"
#include "kernel/task.h"
#include "kernel/uaccess.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/page_cache.h"
#include "vm/pt.h"
#include "vm/vmalloc.h"

/* A user-half page mapped without PTE_U, so that the checks here read and write it directly (with PTE_U
 * they would need SUM, which every copy clears on its way out); the user boots copy to PTE_U pages. */
#define VA VMK_SHM_BASE /* VA + PAGE_SIZE stays unmapped */


static struct task ut; /* an address space only: slot MAX_TASKS is no task's */
static u64 page;

static bool setup(struct ktest *t)
{
	ut = (struct task){.slot = MAX_TASKS};
	if (aspace_create(&ut)) {
		ktest_fail(t, __FILE__, __LINE__, "aspace_create");
		return false;
	}
	page = vm_zeroed_table_alloc();
	if (page && !pt_map(ut.root_pa, VA, page, PAGE_SIZE, PTE_R | PTE_W, 0)) {
		aspace_activate(&ut);
		return true;
	}
	ktest_fail(t, __FILE__, __LINE__, "out of pages");
	if (page) page_cache_free(page);
	aspace_destroy(&ut);
	aspace_free_root(&ut);
	return false;
}

static void teardown(void)
{
	aspace_deactivate(&ut);
	aspace_destroy(&ut); /* frees the page mapped at VA with the tables */
	aspace_free_root(&ut);
}

/* Every length 0..2100 and a few larger, at aligned and misaligned ends, in both directions: the bytes
 * asked for arrive, and the byte on either side of the destination is untouched. */
static void copies_move_exactly_the_bytes(struct ktest *t)
{
	if (!setup(t)) return;
	u8 *src = vmalloc(2 * PAGE_SIZE), *dst = vmalloc(2 * PAGE_SIZE);
	if (!src || !dst) {
		ktest_fail(t, __FILE__, __LINE__, "vmalloc");
		goto out;
	}
	for (u32 i = 0; i < 2 * PAGE_SIZE; i++) src[i] = (u8)(i * 7 + 3);
	static const u32 lens[] = {0, 1, 7, 8, 9, 63, 64, 65, 200, 1023, 1024, 1025, 2047, 2048, 2100, 3000, 4095, 4096};
	static const u32 offs[] = {0, 1, 8, 13};
	u32 bad = 0;
	for (u32 li = 0; li < ARRAY_SIZE(lens); li++)
		for (u32 oi = 0; oi < ARRAY_SIZE(offs); oi++) {
			u32 n = lens[li], o = offs[oi];
			if (o + n > PAGE_SIZE) continue;
			memset((void *)(uptr)VA, 0xee, PAGE_SIZE);
			if (copy_to_user(VA + o, src + o, n)) bad++;
			for (u32 i = 0; i < PAGE_SIZE; i++)
				if (((u8 *)(uptr)VA)[i] != (i >= o && i < o + n ? src[i] : 0xee)) {
					bad++;
					break;
				}
			memset(dst, 0xee, PAGE_SIZE);
			if (copy_from_user(dst + o, VA + o, n)) bad++;
			for (u32 i = 0; i < PAGE_SIZE; i++)
				if (dst[i] != (i >= o && i < o + n ? src[i] : 0xee)) {
					bad++;
					break;
				}
		}
	KT_EXPECT(t, bad == 0);
out:
	vfree(src);
	vfree(dst);
	teardown();
}

/* A copy running off the mapped page into the hole faults inside the loop: -EFAULT, and the count
 * uaccess_copy reports covers at least every byte it did not copy. Strings the same. Then the kernel
 * is still here, and so is the page's content up to the hole. */
static void faults_end_the_copy(struct ktest *t)
{
	if (!setup(t)) return;
	u8 buf[3000];
	char s[64];
	memset((void *)(uptr)VA, 'x', PAGE_SIZE);
	KT_EXPECT(t, copy_from_user(buf, VA + PAGE_SIZE - 8, 16) == -EFAULT);
	KT_EXPECT(t, copy_from_user(buf, VA + PAGE_SIZE - 2048, 3000) == -EFAULT);
	KT_EXPECT(t, copy_to_user(VA + PAGE_SIZE - 1, buf, 2) == -EFAULT);
	KT_EXPECT(t, copy_from_user(buf, VA + PAGE_SIZE, 1) == -EFAULT);
	/* Not copied: at least the 952 bytes past the page (3000 - 2048). */
	KT_EXPECT(t, uaccess_copy(buf, (const void *)(uptr)(VA + PAGE_SIZE - 2048), 3000) >= 952);
	KT_EXPECT(t, uaccess_copy(buf, (const void *)(uptr)(VA + 8), 64) == 0);
	KT_EXPECT(t, copy_from_user(buf, VA + PAGE_SIZE - 8, 8) == 0);
	/* Strings: a NUL within the page, none before the hole, none within max. */
	((char *)(uptr)VA)[PAGE_SIZE - 3] = 0;
	KT_EXPECT(t, strncpy_from_user(s, VA + PAGE_SIZE - 10, sizeof s) == 0 && s[7] == 0 && s[6] == 'x');
	((char *)(uptr)VA)[PAGE_SIZE - 3] = 'x';
	KT_EXPECT(t, strncpy_from_user(s, VA + PAGE_SIZE - 10, sizeof s) == -EFAULT);
	KT_EXPECT(t, strncpy_from_user(s, VA, 16) == -EINVAL);
	KT_EXPECT(t, strncpy_from_user(s, VA + PAGE_SIZE, 16) == -EFAULT);
	teardown();
}

/* Ranges outside the user half or wrapping are refused before any access; the fixup claims only faults
 * on user addresses inside the copy loops. */
static void ranges_and_fixup_are_checked(struct ktest *t)
{
	u8 b[8] = {0};
	KT_EXPECT(t, copy_from_user(b, (u64)(uptr)b, sizeof b) == -EFAULT); /* a kernel address */
	KT_EXPECT(t, copy_to_user(VMK_USER_TOP - 4, b, 8) == -EFAULT);
	KT_EXPECT(t, copy_from_user(b, VMK_USER_BASE + 8, ~0ULL) == -EFAULT);
	KT_EXPECT(t, copy_from_user(b, 0, 8) == -EFAULT);
	KT_EXPECT(t, copy_from_user(b, VA, 0) == 0);
	u64 in_loop = (u64)(uptr)uaccess_copy + 16, pc = in_loop;
	KT_EXPECT(t, !uaccess_fixup(&pc, (u64)(uptr)b) && pc == in_loop); /* kernel address: a real bug */
	pc = (u64)(uptr)ranges_and_fixup_are_checked;
	KT_EXPECT(t, !uaccess_fixup(&pc, VA)); /* not a copy loop */
	pc = in_loop;
	KT_EXPECT(t, uaccess_fixup(&pc, VA) && pc != in_loop);
}

static bool sum_on(void) { return csr_read(sstatus) & SSTATUS_SUM; }

/* What kernel/uaccess.h promises of SUM in each mode: in task mode it is on from aspace_activate to
 * aspace_deactivate and a copy leaves it so; in copy mode a copy turns it on and off again and an
 * address space does not touch it; with no task on the hart it is off in both. Copies work in both. */
static void sum_follows_the_mode(struct ktest *t)
{
	u8 mode = uaccess_sum_per_copy;
	u8 b[16] = {0};
	for (u8 per_copy = 0; per_copy < 2; per_copy++) {
		uaccess_sum_per_copy = per_copy;
		KT_EXPECT(t, !sum_on());
		if (!setup(t)) break;
		KT_EXPECT(t, sum_on() == !per_copy);
		KT_EXPECT(t, copy_to_user(VA, "sixteen bytes..", 16) == 0);
		KT_EXPECT(t, copy_from_user(b, VA, 16) == 0 && !memcmp(b, "sixteen bytes..", 16));
		KT_EXPECT(t, copy_from_user(b, VA + PAGE_SIZE, 16) == -EFAULT);
		KT_EXPECT(t, sum_on() == !per_copy); /* after copies and after a fault alike */
		teardown();
		KT_EXPECT(t, !sum_on());
	}
	uaccess_sum_per_copy = mode;
}

KTEST_SUITE(uaccess, {"copies_move_exactly_the_bytes", copies_move_exactly_the_bytes},
	    {"faults_end_the_copy", faults_end_the_copy}, {"ranges_and_fixup_are_checked", ranges_and_fixup_are_checked},
	    {"sum_follows_the_mode", sum_follows_the_mode});
