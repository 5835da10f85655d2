/* Waiting for other tasks without polling: a mutex, a semaphore and "wait until this word says so", all
 * over SYS_shm_wait / SYS_shm_wake on words in the caller's own shm mappings (handle 0 addressing: the
 * kernel keys the word by object and offset, so tasks that map the object at different addresses meet on
 * the same word). A task sleeps in the kernel until another changes the word and wakes it; no loop here
 * runs without a sleep between its turns. */
#include "user/vmk.h"

#define WAKE_ALL (~0UL)

static u64 addr(const volatile void *p) { return (u64)(uptr)p; }

void store_u64(volatile u64 *p, u64 v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	vmk_shm_wake(0, addr(p), WAKE_ALL); /* -EFAULT when *p is private memory: nobody can wait there */
}

u64 add_u64(volatile u64 *p, u64 n)
{
	u64 v = __atomic_add_fetch(p, n, __ATOMIC_SEQ_CST);
	vmk_shm_wake(0, addr(p), WAKE_ALL);
	return v;
}

bool wait_for_u64(const volatile u64 *p, u64 want, u64 timeout_ns)
{
	u64 deadline = now_ns() + timeout_ns;
	for (;;) {
		u64 v = load_u64(p);
		if (v == want) return true;
		u64 now = now_ns();
		if (now >= deadline) return false;
		/* The kernel compares the low word (little-endian: at p): a change there ends the sleep. */
		long r = vmk_shm_wait(0, addr(p), (u32)v, deadline - now);
		if (r < 0 && r != -EAGAIN && r != -ETIMEDOUT) return load_u64(p) == want; /* no waiting here */
	}
}

/* States: 0 free, 1 held, 2 held and somebody may sleep on it (Drepper, "Futexes Are Tricky"). */
long vmk_mutex_lock(struct vmk_mutex *m)
{
	u32 c = 0;
	if (__atomic_compare_exchange_n(&m->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
	if (c != 2) c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		long r = vmk_shm_wait(0, addr(&m->state), 2, 0);
		if (r < 0 && r != -EAGAIN) return r; /* -EPIPE: the holder is gone for good */
		c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
	}
	return 0;
}

bool vmk_mutex_trylock(struct vmk_mutex *m)
{
	u32 c = 0;
	return __atomic_compare_exchange_n(&m->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void vmk_mutex_unlock(struct vmk_mutex *m)
{
	if (__atomic_fetch_sub(&m->state, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(&m->state, 0, __ATOMIC_RELEASE);
		vmk_shm_wake(0, addr(&m->state), 1);
	}
}

void vmk_sem_post(struct vmk_sem *s)
{
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST)) vmk_shm_wake(0, addr(&s->count), 1);
}

long vmk_sem_wait(struct vmk_sem *s, u64 timeout_ns)
{
	u64 deadline = timeout_ns ? now_ns() + timeout_ns : 0;
	long r = 0;
	__atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		u32 c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
		if (c && __atomic_compare_exchange_n(&s->count, &c, c - 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) break;
		if (c) continue; /* lost a race for the count: look again */
		u64 left = 0;
		if (deadline) {
			u64 now = now_ns();
			if (now >= deadline) {
				r = -ETIMEDOUT;
				break;
			}
			left = deadline - now;
		}
		r = vmk_shm_wait(0, addr(&s->count), 0, left);
		if (r < 0 && r != -EAGAIN && r != -ETIMEDOUT) break;
		r = 0;
	}
	__atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
	return r;
}
