/* Starting /init from the initrd, and ending the machine when it exits: the kernel reaps what is left,
 * checks that every page and vmalloc area came back, and powers off with init's status. */
#include "kernel/boot_input.h"
#include "kernel/bootparams.h"
#include "kernel/cpio.h"
#include "kernel/init.h"
#include "kernel/panic.h"
#include "kernel/sched.h"
#include "kernel/shm.h"
#include "kernel/task.h"
#include "lib/bootargs.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "lib/trace.h"
#include "platform/devtree.h"
#include "platform/poweroff.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/vm_idle.h"
#include "vm/vmalloc.h"


static u32 init_tid;
static u64 baseline_pages, baseline_areas;
static int finishing;

static bool others_alive(void)
{
	for (int i = 1; i < MAX_TASKS; i++)
		if (tasks[i].state != T_FREE && tasks[i].tid != init_tid) return true;
	return false;
}

static void init_watch(void)
{
	task_reap_orphans();
	struct task *init = &tasks[init_tid & (MAX_TASKS - 1)];
	if (init->tid != init_tid || init->state != T_ZOMBIE || init->on_hart >= 0) return;
	if (others_alive()) {
		/* Init has ended: the tasks still running are ended too (one that never stops would otherwise
		 * keep the machine from powering off), then reaped, before the leak check. */
		u32 n = task_kill_all_but(init);
		if (n) printk("init ended: killing %u task(s) still running\n", n);
		return;
	}
	if (__atomic_exchange_n(&finishing, 1, __ATOMIC_ACQ_REL)) return;

	int status = init->exit_status;
	init->parent = NULL;
	task_reap_orphans();
	task_reap_one(init);
	vm_quiesce();
	trace_drain_all();
	u64 pages = buddy_free_pages() + vm_cached_pages(), areas = vm_live_areas();
	/* Every task's account, and the orphan pool's, is empty once every task is gone. */
	u64 charged = 0;
	for (u32 o = 1; o < VM_MAX_OWNERS; o++)
		if (vm_owner_pages(o)) {
			printk("account %u still charged %lu pages\n", o, vm_owner_pages(o));
			charged += vm_owner_pages(o);
		}
	bool leak = pages != baseline_pages || areas != baseline_areas || shm_live_objects() || charged;
	bool killed = status == VMK_STATUS_KILLED;
	printk("init exited with status %d%s\n", status, killed ? " (killed)" : "");
	printk("%s 1 kernel_leak_check_after_all_tasks", leak ? "not ok" : "ok");
	if (leak)
		printk(" # free+cached pages %lu -> %lu, live areas %lu -> %lu, shm objects %lu", baseline_pages, pages,
		       baseline_areas, areas, shm_live_objects());
	printk("\n");
	kernel_poweroff(killed ? BOOT_EXIT_INIT_KILLED : status ? status : leak ? 1 : 0);
}

int kernel_start_init(const struct machine_desc *m)
{
	const char *why = NULL;
	const char *argv[VMK_ARGV_MAX + 1];
	int argc = 0;

	if (!m->has_initrd) return -ENOENT;
	const void *base = phys_to_virt(m->initrd_start);
	u64 size = m->initrd_end - m->initrd_start;
	if (cpio_check(base, size, &why)) {
		printk("initrd: not a usable newc archive: %s\n", why);
		return BOOT_EXIT_BAD_INITRD;
	}
	initrd_set(base, size);
	shm_init();
	const char *name = bootarg_get("init");
	argv[argc++] = name && *name ? name : "/init";
	/* bootparams_check refused a line with more than fit. */
	argc += MIN(bootparams_init_args(argv + 1, VMK_ARGV_MAX - 1), VMK_ARGV_MAX - 1);
	argv[argc] = NULL;

	vm_quiesce();
	baseline_pages = buddy_free_pages() + vm_cached_pages();
	baseline_areas = vm_live_areas();
	long tid = task_spawn(argv[0], argv, argc, NULL, NULL, 0, 0, 0);
	/* init's name as the command line gave it: escaped as the bootargs echo is, so that it cannot drive
	 * the terminal, and cut at 64 bytes. Printed in one printk: the task may already run on another hart. */
	char shown[4 * 64 + 4];
	bootparams_escape_name(shown, argv[0]);
	if (tid < 0) {
		const char *what = tid == -ENOENT    ? "no such file in the initrd"
				   : tid == -ENOEXEC ? "not a valid program"
				   : tid == -ENOMEM  ? "not enough memory, or over the page quota"
						     : "error";
		printk("init: cannot start %s: %s (error %ld)\n", shown, what, tid);
		return BOOT_EXIT_BAD_INIT;
	}
	init_tid = (u32)tid;
	orphan_exempt_tid = init_tid;
	printk("init: started %s as task %ld\n", shown, tid);
	sched_idle_hook = init_watch;
	scheduler_loop();
}
