/* demo_producer: the shared-memory demo's driving side. It creates an object, writes a message, hands
 * the consumer a read-only handle at spawn, grows the object and writes more, shrinks it, then writes a
 * mailbox without mapping it, seals it for good and shares it; finally it prints the kernel's vmalloc
 * statistics. The two tasks step each other through semaphores in a small control object. */
#include "user/vmk.h"
#include "user/demo.h"

static int fail(const char *what, long err)
{
	printf("demo_producer: %s failed: %s\n", what, errno_name(err));
	return 1;
}

/* Moves the consumer to step n and sleeps until it has looked. */
static bool step(struct demo_ctl *c, u64 n)
{
	c->producer_step = n;
	vmk_sem_post(&c->step);
	if (vmk_sem_wait(&c->ack, DEMO_TIMEOUT_NS) == 0) return true;
	printf("demo_producer: consumer did not acknowledge step %llu\n", (unsigned long long)n);
	return false;
}

/* Step 4: a message written without a mapping, sealed so that nobody (the producer included) can shrink,
 * grow or write it again, and shared with the consumer, which may then map it immune to any cut. */
static long make_mailbox(long consumer)
{
	long box = vmk_shm_create(2 * DEMO_PAGE, 0);
	if (box < 0) return box;
	static const char msg[] = "a sealed mailbox: written with shm_write, mapped by nobody until now";
	long r = vmk_shm_write(box, 0, msg, sizeof(msg));
	if (r == (long)sizeof(msg)) r = vmk_shm_seal(box, SHM_SEAL_ALL);
	printf("demo_producer: mailbox written without a mapping and sealed (seals %ld); a shrink now gives %s\n", r,
	       errno_name(vmk_shm_resize(box, DEMO_PAGE)));
	long theirs = r >= 0 ? vmk_shm_share(box, consumer, SHM_R | SHM_W | SHM_MAP) : r;
	vmk_shm_close(box); /* the consumer's handle keeps it */
	return theirs;
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
	if (ok) {
		long box = make_mailbox(tid);
		if (box < 0) return fail("mailbox", box);
		c->mailbox = (u64)box;
		ok = step(c, 4);
	}
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
