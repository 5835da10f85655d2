/* demo_consumer: the shared-memory demo's reading side. It maps the producer's object read-only with
 * room to grow, prints what appears at each step, shows that write access is refused, and at the end maps
 * a sealed mailbox with SHM_MAP_REQUIRE_NOSHRINK: a mapping nothing the producer does can cut. */
#include "user/vmk.h"
#include "user/demo.h"

static u64 size_of(u64 h)
{
	struct vmk_shm_info info;
	return vmk_shm_info(h, &info) == 0 ? info.size : 0;
}

/* Step 4: map the mailbox only if it can never shrink, read it, and see writes refused by the seal. */
static int read_mailbox(u64 box)
{
	long a = vmk_shm_map(box, 0, 0, PROT_READ | SHM_MAP_REQUIRE_NOSHRINK);
	if (a < 0) {
		printf("demo_consumer: mailbox map failed: %s\n", errno_name(a));
		return 1;
	}
	printf("demo_consumer: step 4: mailbox mapped with SHM_MAP_REQUIRE_NOSHRINK says: %.80s\n", (const char *)a);
	long w = vmk_shm_write(box, 0, "x", 1);
	printf("demo_consumer: writing the sealed mailbox: %s\n", errno_name(w));
	vmk_shm_unmap(a);
	vmk_shm_close(box);
	return w == -EPERM ? 0 : 1;
}

int main(void)
{
	u64 hs[2];
	if (vmk_handles(hs, 2) != 2) {
		printf("demo_consumer: expected 2 handles\n");
		return 1;
	}
	u64 data = hs[0], ctl = hs[1];
	long ca = vmk_shm_map(ctl, 0, 0, PROT_READ | PROT_WRITE);
	long da = vmk_shm_map(data, 0, DEMO_MAX_PAGES * DEMO_PAGE, PROT_READ);
	if (ca < 0 || da < 0) {
		printf("demo_consumer: map failed: %s %s\n", errno_name(ca), errno_name(da));
		return 1;
	}
	struct demo_ctl *c = (struct demo_ctl *)ca;
	const char *text = (const char *)da;
	int rc = 0;

	long w = vmk_shm_map(data, 0, 0, PROT_READ | PROT_WRITE);
	printf("demo_consumer: mapping the data writable: %s (read-only handle)\n", errno_name(w));
	if (w != -EACCES) rc = 1;

	for (u64 n = 1; n <= DEMO_STEPS; n++) {
		/* Asleep in the kernel until the producer posts: no polling. */
		if (vmk_sem_wait(&c->step, DEMO_TIMEOUT_NS) || c->producer_step != n) {
			printf("demo_consumer: producer never reached step %llu\n", (unsigned long long)n);
			return 1;
		}
		u64 size = size_of(data);
		if (n < 4)
			printf("demo_consumer: step %llu: object is %llu bytes\n", (unsigned long long)n,
			       (unsigned long long)size);
		if (n == 1) printf("demo_consumer: page 0 says: %.80s\n", text);
		if (n == 2) {
			/* Growth shows up in place because this mapping reserved DEMO_MAX_PAGES. */
			printf("demo_consumer: page 2 says: %.80s\n", text + 2 * DEMO_PAGE);
			if (size != 3 * DEMO_PAGE) rc = 1;
		}
		if (n == 3) {
			/* Only page 0 is left; touching page 2 now would get this task killed. */
			printf("demo_consumer: page 0 still says: %.40s\n", text);
			if (size != DEMO_PAGE) rc = 1;
		}
		if (n == 4) rc |= read_mailbox(c->mailbox);
		vmk_sem_post(&c->ack);
	}
	return rc;
}
