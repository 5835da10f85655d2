/* demo_producer: the shared-memory demo's driving side. It creates an object, writes a message, hands
 * the consumer a read-only handle at spawn, grows the object and writes more, shrinks it, and finally
 * prints the kernel's vmalloc statistics. The two tasks step each other through a small control object. */
#include "user/vmk.h"
#include "user/demo.h"

static int fail(const char *what, long err)
{
	printf("demo_producer: %s failed: %s\n", what, errno_name(err));
	return 1;
}

/* Moves the consumer to `step` and waits until it has acknowledged it. */
static bool step(struct demo_ctl *c, u64 n)
{
	store_u64(&c->producer_step, n);
	if (wait_for_u64(&c->consumer_ack, n, DEMO_TIMEOUT_NS)) return true;
	printf("demo_producer: consumer did not acknowledge step %llu\n", (unsigned long long)n);
	return false;
}

int main(void)
{
	long data = vmk_shm_create(DEMO_PAGE, 0);
	if (data < 0) return fail("shm_create(data)", data);
	long ctl = vmk_shm_create(DEMO_PAGE, 0);
	if (ctl < 0) return fail("shm_create(ctl)", ctl);
	long da = vmk_shm_map(data, 0, DEMO_MAX_PAGES * DEMO_PAGE, PROT_READ | PROT_WRITE);
	if (da < 0) return fail("shm_map(data)", da);
	long ca = vmk_shm_map(ctl, 0, 0, PROT_READ | PROT_WRITE);
	if (ca < 0) return fail("shm_map(ctl)", ca);
	char *text = (char *)da;
	struct demo_ctl *c = (struct demo_ctl *)ca;

	snprintf(text, DEMO_PAGE, "hello from producer %ld: this page is all there is so far", vmk_getpid());
	long ro = vmk_shm_share(data, vmk_getpid(), SHM_R | SHM_MAP);
	if (ro < 0) return fail("shm_share(read-only)", ro);
	u64 hs[2] = {(u64)ro, (u64)ctl};
	const char *argv[] = {"/demo_consumer", NULL};
	long tid = vmk_spawn("/demo_consumer", argv, hs, 2, 0);
	if (tid < 0) return fail("spawn(demo_consumer)", tid);
	printf("demo_producer: wrote page 0, shared it read-only with consumer %ld\n", tid);
	vmk_shm_close(ro); /* the consumer holds its own copy now */

	bool ok = step(c, 1);
	if (ok) {
		long r = vmk_shm_resize(data, 3 * DEMO_PAGE);
		if (r < 0) return fail("shm_resize(grow)", r);
		snprintf(text + 2 * DEMO_PAGE, DEMO_PAGE, "page 2 appeared after growing to 3 pages");
		printf("demo_producer: grew the object to 3 pages and wrote page 2\n");
		ok = step(c, 2);
	}
	if (ok) {
		long r = vmk_shm_resize(data, DEMO_PAGE);
		if (r < 0) return fail("shm_resize(shrink)", r);
		printf("demo_producer: shrank the object back to 1 page\n");
		ok = step(c, 3);
	}
	store_u64(&c->producer_step, DEMO_STEP_DONE);
	int status = wait_status(tid);
	printf("demo_producer: consumer exited with status %d\n", status);

	struct vmk_vm_stats st;
	if (vmk_vm_stats(&st) == 0)
		printf("demo_producer: vm_stats: areas=%llu pages=%llu peak=%llu lazy=%llu purges=%llu "
		       "fences=%llu/%llu phys free=%llu/%llu\n",
		       (unsigned long long)st.live_areas, (unsigned long long)st.live_pages,
		       (unsigned long long)st.peak_pages, (unsigned long long)st.lazy_pages,
		       (unsigned long long)st.purges, (unsigned long long)st.local_fences,
		       (unsigned long long)st.remote_fences, (unsigned long long)st.free_phys_pages,
		       (unsigned long long)st.total_phys_pages);
	vmk_shm_unmap(da);
	vmk_shm_unmap(ca);
	vmk_shm_close(data);
	vmk_shm_close(ctl);
	return ok && status == 0 ? 0 : 1;
}
