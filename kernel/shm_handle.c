/* Handle values and the per-task handle table (kernel/shm_handle.h). A value is
 * tag(tid) << 38 | generation << 6 | index: below 2^63 and never 0, so a non-negative long result is a
 * handle. Generations come from one counter for all tasks, so a closed value is not reissued within 2^32
 * handles. */
#include "kernel/shm_handle.h"

#define HANDLE_IDX_BITS 6
#define HANDLE_GEN_SHIFT HANDLE_IDX_BITS
#define HANDLE_TAG_SHIFT (HANDLE_GEN_SHIFT + 32)
#define HANDLE_TAG_MASK ((1UL << (63 - HANDLE_TAG_SHIFT)) - 1) /* keeps values below 2^63 */

_Static_assert(VMK_MAX_HANDLES <= (1 << HANDLE_IDX_BITS), "handle index field too small");

static u32 handle_gen; /* global: a value is never reissued within 2^32 handles */

static u64 handle_tag(const struct task *t) { return (u64)t->tid & HANDLE_TAG_MASK; }

static u64 handle_value(struct task *t, u32 idx)
{
	return (handle_tag(t) << HANDLE_TAG_SHIFT) | ((u64)t->handles[idx].gen << HANDLE_GEN_SHIFT) | idx;
}

/* Caller holds t->shm_lock. */
static struct task_handle *lookup(struct task *t, u64 h)
{
	u64 idx = h & ((1UL << HANDLE_IDX_BITS) - 1), gen = (h >> HANDLE_GEN_SHIFT) & 0xffffffffUL;
	if ((h >> HANDLE_TAG_SHIFT) != handle_tag(t) || idx >= VMK_MAX_HANDLES) return NULL;
	struct task_handle *th = &t->handles[idx];
	return th->obj && th->gen == gen ? th : NULL;
}

long shm_handle_add(struct task *t, struct shm_obj *o, u64 rights, bool given)
{
	if (given && t->handles_given >= VMK_MAX_GIVEN_HANDLES) return -EMFILE;
	for (u32 i = 0; i < VMK_MAX_HANDLES; i++)
		if (!t->handles[i].obj) {
			u32 gen;
			do gen = __atomic_add_fetch(&handle_gen, 1, __ATOMIC_RELAXED);
			while (!gen);
			t->handles[i] = (struct task_handle){.obj = o, .rights = rights, .gen = gen, .given = given};
			t->handles_given += given;
			if (i >= t->handles_hi) t->handles_hi = i + 1;
			shm_obj_get(o);
			return (long)handle_value(t, i);
		}
	return -EMFILE;
}

struct shm_obj *shm_handle_get(struct task *t, u64 h, u64 *rights)
{
	spin_lock(&t->shm_lock);
	struct task_handle *th = lookup(t, h);
	struct shm_obj *o = th ? th->obj : NULL;
	if (o) {
		shm_obj_get(o);
		*rights = th->rights;
	}
	spin_unlock(&t->shm_lock);
	return o;
}

struct shm_obj *shm_handle_take(struct task *t, u64 h)
{
	spin_lock(&t->shm_lock);
	struct task_handle *th = lookup(t, h);
	struct shm_obj *o = th ? th->obj : NULL;
	if (th) {
		th->obj = NULL;
		t->handles_given -= th->given;
	}
	spin_unlock(&t->shm_lock);
	return o;
}

u32 shm_handle_list(struct task *t, u64 *out, u32 max, bool given_only)
{
	u32 n = 0;
	spin_lock(&t->shm_lock);
	for (u32 i = 0; i < t->handles_hi; i++) {
		const struct task_handle *th = &t->handles[i];
		if (!th->obj || (given_only && !th->given)) continue;
		if (n < max) out[n] = handle_value(t, i);
		n++;
	}
	spin_unlock(&t->shm_lock);
	return n;
}
