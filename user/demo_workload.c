/* demo_workload: the `make trace` workload. Run with no arguments it starts WORKERS copies of itself and
 * waits for them; each worker keeps up to LIVE shared-memory objects of mixed sizes and, for OPS steps,
 * creates, grows, shrinks, maps and closes them at random (a fixed seed per worker, so every run does the
 * same), marking each phase. Every object is vmalloc memory in the kernel, so the trace shows hundreds of
 * allocations, resizes (vrealloc) and lazy purges from several tasks at once, and the arena fragments. */
#include "user/vmk.h"

#define WORKERS 4
#define OPS 160
#define LIVE 16
#define PAGE 4096UL

static const u64 sizes[] = {1, 1, 2, 3, 4, 5, 8, 13, 16, 24, 32, 64, 100}; /* pages */

struct obj {
	long handle;
	u64 pages;
};

static int work(u64 seed)
{
	struct obj objs[LIVE] = {{0}};
	u64 rng = seed;
	int errors = 0;

	vmk_trace_mark(seed, "worker start");
	for (int op = 0; op < OPS; op++) {
		struct obj *o = &objs[rng_next(&rng) % LIVE];
		u64 r = rng_next(&rng) % 10;
		if (!o->handle) {
			o->pages = sizes[rng_next(&rng) % ARRAY_SIZE(sizes)];
			o->handle = vmk_shm_create(o->pages * PAGE, 0);
			if (o->handle < 0) {
				errors++;
				o->handle = 0;
			}
		} else if (r < 3) {
			u64 pages = o->pages < 2 ? 2 : (r == 0 ? o->pages / 2 : o->pages + o->pages / 2 + 1);
			if (vmk_shm_resize((u64)o->handle, pages * PAGE) == 0) o->pages = pages;
			else errors++;
		} else if (r < 5) {
			long addr = vmk_shm_map((u64)o->handle, 0, 0, PROT_READ | PROT_WRITE);
			if (addr > 0) {
				((volatile u8 *)addr)[0] = (u8)op;
				((volatile u8 *)addr)[o->pages * PAGE - 1] = (u8)op;
				vmk_shm_unmap((u64)addr);
			} else {
				errors++;
			}
		} else {
			vmk_shm_close((u64)o->handle);
			o->handle = 0;
		}
		if (op == OPS / 2) vmk_trace_mark(seed, "worker halfway");
	}
	for (int i = 0; i < LIVE; i++)
		if (objs[i].handle) vmk_shm_close((u64)objs[i].handle);
	vmk_trace_mark(seed, "worker done");
	if (errors) printf("demo_workload: worker %llu: %d operations failed\n", (unsigned long long)seed, errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "worker") == 0) return work((u64)(argv[2][0] - '0') + 1);
	long tids[WORKERS];
	char ids[WORKERS][2];
	for (int i = 0; i < WORKERS; i++) {
		ids[i][0] = (char)('0' + i);
		ids[i][1] = 0;
		const char *wargv[] = {"/demo_workload", "worker", ids[i], NULL};
		tids[i] = vmk_spawn("/demo_workload", wargv, NULL, 0, 0);
		if (tids[i] < 0) printf("demo_workload: spawn failed: %s\n", errno_name(tids[i]));
	}
	int bad = 0;
	for (int i = 0; i < WORKERS; i++) bad |= tids[i] < 0 || wait_status(tids[i]) != 0;
	printf("demo_workload: %d workers done, %s\n", WORKERS, bad ? "some failed" : "all ok");
	return bad;
}
