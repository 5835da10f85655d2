/* gdb_state: sets up a known state for the gdb helpers' test (tests/gdb/run.sh) and then asks the kernel
 * for its vmallocinfo listing, where the test's breakpoint stops the kernel: a grown heap, a 3-page object
 * shared with a child, and a 5-page object of the child's own, with both tasks alive. It prints what the
 * test needs to know (tids and user addresses) first, then lets the child go and exits 0. */
#include "user/vmk.h"

#define PROG "/gdb_state"
#define TIMEOUT (30 * 1000000000ULL)

/* The shared object's first page: the two tasks step each other through it. */
struct ctl {
	u64 child_ready;
	u64 parent_done;
	u64 child_obj_uva;
};

static int child(void)
{
	u64 h;
	if (vmk_handles(&h, 1) != 1) return 1;
	long a = vmk_shm_map(h, 0, 0, PROT_READ | PROT_WRITE);
	if (a < 0) return 2;
	struct ctl *c = (struct ctl *)a;
	long own = vmk_shm_create(5 * 4096, 0);
	if (own < 0) return 3;
	long b = vmk_shm_map((u64)own, 0, 0, PROT_READ | PROT_WRITE);
	if (b < 0) return 4;
	memset((void *)b, 0x77, 5 * 4096);
	c->child_obj_uva = (u64)a; /* where the child sees the shared object */
	store_u64(&c->child_ready, 1);
	return wait_for_u64(&c->parent_done, 1, TIMEOUT) ? 0 : 5;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) return child();

	/* A heap past its first size: blocks of 4..160 KiB, about 400 KiB in all. */
	void *blocks[8];
	for (int i = 0; i < 8; i++) {
		blocks[i] = malloc(4096 + (size_t)i * 20480);
		if (!blocks[i]) return 1;
		memset(blocks[i], i, 4096);
	}
	long h = vmk_shm_create(3 * 4096, 0);
	if (h < 0) return 2;
	long a = vmk_shm_map((u64)h, 0, 0, PROT_READ | PROT_WRITE);
	if (a < 0) return 3;
	struct ctl *c = (struct ctl *)a;
	u64 hs[1] = {(u64)h};
	long tid = spawn_with(PROG, hs, 1, "child", NULL);
	if (tid < 0) return 4;
	if (!wait_for_u64(&c->child_ready, 1, TIMEOUT)) return 5;

	struct heap_stats st;
	heap_get_stats(&st);
	printf("gdb_state: tid=%ld child=%ld obj=0x%lx child_obj=0x%lx heap=0x%llx heap_size=%llu\n", vmk_getpid(), tid,
	       (unsigned long)a, (unsigned long)c->child_obj_uva, (unsigned long long)st.base,
	       (unsigned long long)st.size);
	vmk_trace_mark(42, "gdb_state-ready");
	vmk_vm_dump(); /* the test stops the kernel in vm_dump_areas here */

	store_u64(&c->parent_done, 1);
	int status = wait_status(tid);
	for (int i = 0; i < 8; i++) free(blocks[i]);
	printf("gdb_state: child exited with %d\n", status);
	return status;
}
