/* init: the boot task. With "test" among its arguments it runs the user test programs one after the
 * other (all of them, or those named after "test") and reports one KTAP line per program; with no
 * arguments it runs the producer/consumer demo. Exits 0 when everything passed. */
#include "user/vmk.h"

static const char *const all_tests[] = {"t_syscalls", "t_shm", "t_rights", "t_resize", "t_malloc",
					 "t_hostile", "t_fault", "t_fuzz", "t_attack", "t_siege", "t_spawn", "t_ipc", "t_futex",
					 "t_quota_exit", "t_fuzz_shared", "t_resize_steps", "t_peer_served"};

/* Runs /<name> with no arguments and reports it as one case; tests spawn their own partners. Test
 * programs are trusted with the diagnostic syscalls (VMK_SPAWN_DIAG): some of them check those. */
static void run_program(const char *name)
{
	char path[VMK_NAME_MAX];
	char why[64];
	snprintf(path, sizeof(path), "/%s", name);
	const char *argv[] = {path, NULL};
	u64 t0 = now_ns();
	/* t_malloc grows a heap to 64 MiB in a child, t_attack's children exhaust a 256 MiB machine, and
	 * t_resize_steps and t_peer_served grow objects to 128 MiB: a quota bounds a task's whole subtree,
	 * so they get the largest quota; the others the default. */
	u64 quota = !strcmp(name, "t_malloc") || !strcmp(name, "t_attack") || !strcmp(name, "t_resize_steps") ||
				    !strcmp(name, "t_peer_served")
			    ? VMK_MAX_QUOTA_PAGES
			    : 0;
	long tid = vmk_syscall(SYS_spawn, (u64)(uptr)path, (u64)(uptr)argv, 0, 0, quota, VMK_SPAWN_DIAG);
	if (tid < 0) {
		snprintf(why, sizeof(why), "spawn failed: %s", errno_name(tid));
		ktap_result(false, name, why);
		return;
	}
	int status = wait_status(tid);
	u64 ms = (now_ns() - t0) / 1000000;
	printf("# init: %s finished in %llu ms with status %d\n", name, (unsigned long long)ms, status);
	if (status == VMK_STATUS_KILLED) snprintf(why, sizeof(why), "killed by the kernel");
	else if (status == WAIT_FAILED) snprintf(why, sizeof(why), "wait failed");
	else snprintf(why, sizeof(why), "exit status %d", status);
	ktap_result(status == 0, name, why);
}

static int run_tests(int argc, char **argv, int test_arg)
{
	ktap_begin("init");
	if (test_arg + 1 < argc) {
		for (int i = test_arg + 1; i < argc; i++) run_program(argv[i]);
	} else {
		for (u32 i = 0; i < ARRAY_SIZE(all_tests); i++) run_program(all_tests[i]);
	}
	return ktap_end();
}

static int run_demo(void)
{
	ktap_begin("init");
	printf("# init: starting the shared-memory demo\n");
	run_program("demo_producer");
	return ktap_end();
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "test") == 0) return run_tests(argc, argv, i);
	return run_demo();
}
