/* demo_consumer: the shared-memory demo's reading side. It maps the producer's object read-only with
 * room to grow, prints what appears at each step, and shows that write access is refused. */
#include "user/vmk.h"
#include "user/demo.h"

static void ack(struct demo_ctl *c, u64 n) { store_u64(&c->consumer_ack, n); }

static u64 size_of(u64 h)
{
	struct vmk_shm_info info;
	return vmk_shm_info(h, &info) == 0 ? info.size : 0;
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

	for (u64 n = 1; n <= 3; n++) {
		if (!wait_for_u64(&c->producer_step, n, DEMO_TIMEOUT_NS)) {
			printf("demo_consumer: producer never reached step %llu\n", (unsigned long long)n);
			return 1;
		}
		u64 size = size_of(data);
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
		ack(c, n);
	}
	wait_for_u64(&c->producer_step, DEMO_STEP_DONE, DEMO_TIMEOUT_NS);
	return rc;
}
