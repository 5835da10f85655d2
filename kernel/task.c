/* Task lifecycle: spawn from the initrd (ELF checked by kernel/elf.c, segments mapped W^X), exit with
 * every resource released, wait and reap, sleep, killing a task that faulted and SYS_kill. */
#include "kernel/task.h"
#include "kernel/aspace.h"
#include "kernel/cpio.h"
#include "kernel/elf.h"
#include "kernel/sched.h"
#include "kernel/shm.h"
#include "kernel/trap_return.h"
#include "kernel/uaccess.h"
#include "lib/bootargs.h"
#include "lib/printk.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

static const void *initrd_base;
static u64 initrd_size;
static u32 tid_gen = 1;
u32 orphan_exempt_tid; /* init: its status is collected by kernel/init.c, not reaped as an orphan */


void initrd_set(const void *base, u64 size)
{
	initrd_base = base;
	initrd_size = size;
}

int initrd_lookup(const char *name, const void **data, u64 *size)
{
	if (!initrd_base) return -ENOENT;
	return cpio_find(initrd_base, initrd_size, name, data, size);
}

/* A new task's first kernel code: it arrives from the scheduler holding sched_lock. */
static void task_entry(void)
{
	struct task *t = current_task();
	spin_unlock(&sched_lock);
	task_die_if_killed(); /* marked while it was being built (init's end): it never reaches user mode */
	trap_return(t->tf);
}

static struct task *slot_alloc(void)
{
	unsigned long f = sched_lock_irqsave();
	struct task *t = NULL;
	for (int i = 1; i < MAX_TASKS; i++) /* slot 0 stays unused: ASID 0 and owner 0 are the kernel's */
		if (tasks[i].state == T_FREE) {
			t = &tasks[i];
			/* All but shm_lock: a share that looked the slot's last task up may hold it still (it
			 * finds the tid changed and lets go); zeroing a held lock would let two take it. A lock
			 * is always let go unlocked, and the static table starts with every one unlocked. */
			memset(t, 0, offsetof(struct task, shm_lock));
			memset((u8 *)&t->shm_lock + sizeof(t->shm_lock), 0,
			       sizeof(*t) - offsetof(struct task, shm_lock) - sizeof(t->shm_lock));
			t->slot = (u32)i;
			t->tid = (tid_gen++ << 6) | (u32)i;
			t->state = T_NEW; /* not runnable, nor reachable by tid, until fully built */
			t->on_hart = -1;
			break;
		}
	sched_unlock_irqrestore(f);
	return t;
}

static void slot_release(struct task *t)
{
	unsigned long f = sched_lock_irqsave();
	t->state = T_FREE;
	sched_unlock_irqrestore(f);
}

static int load_segments(struct task *t, const u8 *img, const struct elf_plan *plan)
{
	for (u32 i = 0; i < plan->nsegs; i++) {
		const struct elf_seg *s = &plan->segs[i];
		u64 start = ALIGN_DOWN(s->vaddr, PAGE_SIZE), end = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
		u64 prot = ((s->prot & ELF_PROT_R) ? PTE_R : 0) | ((s->prot & ELF_PROT_W) ? PTE_W : 0) |
			   ((s->prot & ELF_PROT_X) ? PTE_X : 0);
		if (!(prot & PTE_R)) prot |= PTE_R; /* execute-only (XWR=100) is valid Sv39, but mapped readable too (abi.h) */
		for (u64 va = start; va < end; va += PAGE_SIZE) {
			u64 pa = vm_zeroed_table_alloc();
			if (!pa) return -ENOMEM;
			/* Copy the part of the file image that lands in this page. */
			u64 lo = MAX(va, s->vaddr), hi = MIN(va + PAGE_SIZE, s->vaddr + s->filesz);
			if (lo < hi) memcpy((u8 *)phys_to_virt(pa) + (lo - va), img + s->offset + (lo - s->vaddr), hi - lo);
			int e = pt_map(t->root_pa, va, pa, PAGE_SIZE, prot | PTE_U, 0);
			if (e) {
				page_cache_free(pa);
				return e;
			}
		}
	}
	return 0;
}

/* Lays out argv on the new stack: strings at the top, then the pointer array, 16-byte aligned. */
static int push_args(struct task *t, const char *const *argv, int argc, u64 *sp_out, u64 *argv_out)
{
	struct pt_walk w;
	u64 top = VMK_STACK_TOP, sp = top;
	u64 ptrs[VMK_ARGV_MAX + 1];

	if (pt_walk(t->root_pa, top - PAGE_SIZE, &w)) return -ENOMEM;
	u8 *page = phys_to_virt(w.pa);
	for (int i = argc - 1; i >= 0; i--) {
		u64 len = strlen(argv[i]) + 1;
		sp -= len;
		if (top - sp > PAGE_SIZE / 2) return -E2BIG;
		memcpy(page + (sp - (top - PAGE_SIZE)), argv[i], len);
		ptrs[i] = sp;
	}
	ptrs[argc] = 0;
	sp = ALIGN_DOWN(sp, 16) - ALIGN_UP((u64)(argc + 1) * 8, 16);
	memcpy(page + (sp - (top - PAGE_SIZE)), ptrs, (u64)(argc + 1) * 8);
	*sp_out = sp;
	*argv_out = sp;
	return 0;
}

u64 task_default_quota(void)
{
	static u64 quota;
	u64 v;
	if (!quota) quota = !bootarg_u64("vmalloc.task_quota_pages", &v) && v && v <= VMK_MAX_QUOTA_PAGES
				    ? v : VMK_DEFAULT_QUOTA_PAGES;
	return quota;
}

/* A task's quota: init, the root of every task tree, holds VMK_MAX_QUOTA_PAGES; any other task what it
 * was asked (or the default), bounded by what its parent has left. The account hangs under the parent's
 * (vm_owner_set_above), so what the child later holds is the parent's too: a subtree never holds more than
 * the quota at its root, however many children share it. */
static u64 child_quota(const struct task *parent, u64 asked, u64 image)
{
	if (!parent) return VMK_MAX_QUOTA_PAGES;
	/* The parent's account holds its own image outside its quota, and will hold the child's image too. */
	u64 q = asked ? asked : task_default_quota(), limit = parent->quota_pages + parent->image_pages,
	    used = vm_owner_pages(parent->slot) + image;
	return MIN(q, limit > used ? limit - used : 0);
}

/* The pages a task's image holds from spawn to exit: its segments, its stack, and the page tables both
 * need (the root included), counted as an shm mapping's are (pt_tables_spanned). They are charged to its
 * account on top of its quota (its limit is the sum), so a task's own quota is all for its objects and
 * mappings; but every account above holds them, so a parent pays for its children's programs and a
 * subtree's quota bounds them as well as its objects. */
static u64 image_pages(const struct elf_plan *p)
{
	u64 pages = elf_plan_pages(p) + VMK_STACK_SIZE / PAGE_SIZE + 1 +
		    pt_tables_spanned(VMK_STACK_TOP - VMK_STACK_SIZE, VMK_STACK_SIZE);
	for (u32 i = 0; i < p->nsegs; i++) pages += pt_tables_spanned(p->segs[i].vaddr, p->segs[i].memsz);
	return pages;
}

/* Gives back what image_pages charged; once a task's image is gone, or was never loaded. */
static void image_uncharge(struct task *t)
{
	vm_owner_charge(t->slot, -(s64)t->image_pages, false);
	t->image_pages = 0;
}

__noinline long task_spawn(const char *name, const char *const *argv, int argc, struct task *parent, const u64 *handles,
		u32 nhandles, u64 quota_pages, u64 flags)
{
	const void *img;
	u64 img_size;
	struct elf_plan plan;
	const char *why = NULL;
	long err;

	int e = initrd_lookup(name, &img, &img_size);
	if (e) return e == -ENOENT ? -ENOENT : -ENOEXEC;
	/* The name is an archive entry's, which may hold any byte: the console gets a cleaned, bounded copy. */
	char shown[48];
	strlcpy(shown, name, sizeof(shown));
	trace_clean(shown);
	if (elf_plan(img, img_size, &plan, &why)) {
		printk("spawn: %s is not a valid program: %s\n", shown, why);
		return -ENOEXEC;
	}
	/* A full task table (EAGAIN) comes before ENOMEM in SYS_spawn's error order. */
	struct task *t = slot_alloc();
	if (!t) return -EAGAIN;
	/* Refused before the first page is allocated: a 10 GiB bss must not be loaded page by page until
	 * memory runs out. The bound is the largest quota any task may hold (the quota itself counts shm). */
	u64 need = elf_plan_pages(&plan);
	if (need > VMK_MAX_QUOTA_PAGES) {
		printk("spawn: %s needs %lu pages for its segments, more than any task's quota (VMK_MAX_QUOTA_PAGES, "
		       "%lu pages)\n", shown, need, VMK_MAX_QUOTA_PAGES);
		slot_release(t);
		return -ENOMEM;
	}
	const char *base = strchr(name, '/') == name ? name + 1 : name;
	strlcpy(t->name, base, sizeof(t->name));
	trace_clean(t->name); /* printed in kill reports and traced quoted: no control bytes, no quotes */
	t->parent = parent;
	u64 image = image_pages(&plan);
	t->quota_pages = child_quota(parent, quota_pages, image);
	t->diag = !parent || (parent->diag && (flags & VMK_SPAWN_DIAG));
	/* kernel/shm.c hands every charge of an exiting task on, so the slot's account starts empty. */
	if (vm_owner_pages(t->slot)) printk("spawn: slot %u still charged %lu pages\n", t->slot, vm_owner_pages(t->slot));
	vm_owner_set_limit(t->slot, t->quota_pages + image);
	vm_owner_set_above(t->slot, parent ? parent->slot : 0); /* its pages count against its parent's quota too */

	err = -ENOMEM;
	if (vm_owner_charge(t->slot, (s64)image, false)) goto fail; /* refused when an account above is full */
	t->image_pages = image;
	t->kstack = vmalloc(KSTACK_SIZE); /* guard page below the next area catches overflow of the one above */
	if (!t->kstack) goto fail;
	if (aspace_create(t)) goto fail;
	if ((err = load_segments(t, img, &plan))) goto fail;
	if ((err = aspace_map_anon(t, VMK_STACK_TOP - VMK_STACK_SIZE, VMK_STACK_SIZE, PTE_R | PTE_W))) goto fail;
	u64 sp, uargv;
	if ((err = push_args(t, argv, argc, &sp, &uargv))) goto fail;
	if ((err = shm_inherit(parent, t, handles, parent ? nhandles : 0))) goto fail;

	t->tf = (struct trap_frame *)((u8 *)t->kstack + KSTACK_SIZE - sizeof(struct trap_frame));
	memset(t->tf, 0, sizeof(*t->tf));
	t->tf->sepc = plan.entry;
	/* SPP = 0: sret goes to U-mode with interrupts on; SUM as the uaccess mode wants it while the task runs. */
	t->tf->sstatus = SSTATUS_SPIE | uaccess_task_sstatus();
	t->tf->regs[REG_SP] = sp;
	t->tf->regs[REG_A0] = (u64)argc;
	t->tf->regs[REG_A0 + 1] = uargv;
	t->ctx.ra = (u64)(uptr)task_entry;
	t->ctx.sp = (u64)(uptr)t->tf;
	TRACE(TRACE_SHM, __builtin_return_address(0), "ev=spawn tid=%u name=\"%s\" parent=%u", t->tid, t->name,
	      parent ? parent->tid : 0);
	unsigned long f = sched_lock_irqsave();
	t->state = T_RUNNABLE;
	sched_unlock_irqrestore(f);
	return t->tid;

fail:
	shm_release_task(t);
	aspace_destroy(t);
	image_uncharge(t);
	aspace_free_root(t);
	vfree(t->kstack);
	slot_release(t);
	return err;
}

/* Releases what a task owns while it still runs on its own kernel stack; the stack and the root table
 * go when it is reaped. */
static void release_resources(struct task *t)
{
	shm_release_task(t);
	aspace_destroy(t);
	image_uncharge(t);
}

void task_exit(int status)
{
	struct task *t = current_task();
	release_resources(t);
	unsigned long f = sched_lock_irqsave();
	(void)f;
	/* A kill that SYS_kill reported as done (0) wins over the task's own status, even one landing while
	 * the task was already inside SYS_exit: task_kill sets `killed` under this lock only while the task
	 * is not yet a zombie, so either it saw the zombie (-ESRCH, the task's own status stands) or it is
	 * seen here. */
	t->exit_status = t->killed ? VMK_STATUS_KILLED : status;
	t->state = T_ZOMBIE;
	/* Children outlive it: each live one goes to its parent (adopted), so that the tasks above can still
	 * kill the whole subtree (SYS_kill reaches any descendant); with no parent above, to the kernel. A
	 * zombie child, and this task if it was adopted, nobody will wait for: the kernel reaps them. */
	struct task *above = t->parent;
	static struct task *kids[MAX_TASKS]; /* under sched_lock: one exit at a time here */
	static u32 kid_slots[MAX_TASKS];
	static u64 limits[MAX_TASKS];
	u32 n = 0;
	if (t->adopted) t->parent = NULL;
	for (int i = 0; i < MAX_TASKS; i++) {
		struct task *c = &tasks[i];
		if (c->parent != t) continue;
		bool live = task_state_live(c->state);
		c->parent = live ? above : NULL;
		c->adopted = live && above;
		if (live) {
			kids[n] = c;
			kid_slots[n++] = c->slot;
		} else {
			vm_owner_set_above(c->slot, 0); /* it holds nothing */
		}
	}
	/* Their accounts (and what they hold) go with them, this task's slot is about to be free; but its
	 * quota still bounds them together: each keeps what it holds plus a share of the room left. */
	vm_owner_rehang(t->slot, above ? above->slot : 0, kid_slots, n, limits);
	for (u32 i = 0; i < n; i++) {
		/* The quota SYS_vm_stats reports, and a grandchild's spawn cuts from, follows the new limit. */
		struct task *c = kids[i];
		if (limits[i] < c->quota_pages + c->image_pages)
			c->quota_pages = limits[i] > c->image_pages ? limits[i] - c->image_pages : 0;
	}
	sched_switch_out(t);
	for (;;) {
	}
}

void task_reap_one(struct task *t)
{
	aspace_free_root(t);
	vfree(t->kstack);
	t->kstack = NULL;
	slot_release(t);
}

long task_wait(long tid, u64 ustatus)
{
	struct task *me = current_task();
	for (;;) {
		unsigned long f = sched_lock_irqsave();
		struct task *child = NULL;
		for (int i = 1; i < MAX_TASKS; i++)
			if (tasks[i].state != T_FREE && tasks[i].state != T_REAPING && (long)tasks[i].tid == tid &&
			    tasks[i].parent == me && !tasks[i].adopted)
				child = &tasks[i];
		if (!child) {
			sched_unlock_irqrestore(f);
			return -ECHILD;
		}
		if (child->state == T_ZOMBIE) {
			int status = child->exit_status;
			child->state = T_REAPING; /* ours: nobody else reaps it while the status goes out */
			sched_unlock_irqrestore(f);
			if (ustatus && copy_to_user(ustatus, &status, sizeof(status))) {
				f = sched_lock_irqsave();
				child->state = T_ZOMBIE; /* nothing reaped: it can be waited for again */
				sched_unlock_irqrestore(f);
				return -EFAULT;
			}
			f = sched_lock_irqsave();
			child->parent = NULL;
			sched_unlock_irqrestore(f);
			task_reap_one(child);
			return 0;
		}
		if (me->killed) {
			sched_unlock_irqrestore(f);
			return -EINTR;
		}
		me->waiting_for = tid;
		me->state = T_BLOCKED;
		sched_switch_out(me);
		me->waiting_for = 0;
		sched_unlock_irqrestore(f);
	}
}

/* Marks t to die at its next return to user mode, asked by task `by` (0: the kernel). A blocked task
 * wakes at the next pick to die on the way out; a T_NEW one has nothing to wake yet (task_entry ends it).
 * sched_lock held. */
static void mark_killed(struct task *t, u32 by)
{
	t->killed = true;
	t->killed_by = by;
	if (t->state == T_BLOCKED) t->wake_at = 1;
}

__noinline long task_kill(struct task *me, long tid)
{
	struct task *t = task_by_tid(tid);
	if (!t) return -ESRCH;
	long r = -EPERM;
	unsigned long f = sched_lock_irqsave();
	bool below = false; /* t is in the caller's subtree: a child, a child's child, ... */
	for (const struct task *p = t->parent; p && !below; p = p->parent) below = p == me;
	if (t->tid != (u32)tid || !task_state_live(t->state)) {
		r = -ESRCH;
	} else if (below) {
		mark_killed(t, me->tid);
		r = 0;
	}
	sched_unlock_irqrestore(f);
	if (!r) TRACE(TRACE_FAULT, __builtin_return_address(0), "ev=kill tid=%u by=%u", (u32)tid, me->tid);
	return r;
}

u32 task_kill_all_but(const struct task *keep)
{
	u32 n = 0;
	unsigned long f = sched_lock_irqsave();
	for (int i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t == keep || !task_state_live(t->state) || t->killed) continue;
		mark_killed(t, 0);
		n++;
	}
	sched_unlock_irqrestore(f);
	return n;
}

void task_die_if_killed(void)
{
	struct task *t = current_task();
	if (!t || !READ_ONCE(t->killed)) return;
	if (t->killed_by) printk("task %u (%s) killed by task %u\n", t->tid, t->name, t->killed_by);
	else printk("task %u (%s) killed: init has ended\n", t->tid, t->name);
	irq_enable();
	task_exit(VMK_STATUS_KILLED);
}

void task_user_return_work(void)
{
	task_die_if_killed();
	/* A hart busy with system calls drains before the tick would; with tracing off nothing is queued
	 * (what an earlier run left, the tick drains). */
	if (trace_on(TRACE_ALL)) trace_drain_if_half_full();
	if (sched_take_resched()) task_yield();
}

void task_kill_current(struct trap_frame *tf, const char *why)
{
	struct task *t = current_task();
	printk("task %u (%s) killed: %s, address 0x%lx, pc 0x%lx\n", t->tid, t->name, why, tf->stval, tf->sepc);
	TRACE(TRACE_FAULT, (void *)(uptr)tf->sepc, "ev=kill tid=%u addr=0x%lx pc=0x%lx why=\"%s\"", t->tid,
	      tf->stval, tf->sepc, why);
	irq_enable();
	task_exit(VMK_STATUS_KILLED);
}

/* Reaps zombies nobody waits for (orphans): run from the idle loop. */
void task_reap_orphans(void)
{
	for (int i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		/* Idle harts call this in a loop: look without the lock, and take it only for a candidate. */
		if (READ_ONCE(t->state) != T_ZOMBIE || READ_ONCE(t->parent)) continue;
		unsigned long f = sched_lock_irqsave();
		bool orphan = t->state == T_ZOMBIE && !t->parent && t->on_hart < 0 && t->tid != orphan_exempt_tid;
		if (orphan) t->state = T_REAPING;
		sched_unlock_irqrestore(f);
		if (orphan) task_reap_one(t);
	}
}
