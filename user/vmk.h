/* The user runtime's interface: one wrapper per syscall, what vmk adds to picolibc (console streams,
 * errno names, spawn helpers, the shm-backed heap), and KTAP test helpers. It also settles two clashes
 * between picolibc's headers and ours, whichever comes first: errno numbers (picolibc uses newlib's, which
 * differ from Linux's and so from the kernel's for ENOSYS, EOVERFLOW and ETIMEDOUT; the kernel's win, as syscalls
 * return them) and the attribute macros lib/types.h spells its own way. Include it, or <vmk/abi.h>,
 * before any C library header (picolibc's <errno.h> followed by <vmk/abi.h> cannot be reconciled). */
#ifndef USER_VMK_H
#define USER_VMK_H

#ifdef VMK_ERRNO_H /* <vmk/abi.h> came first */
#undef ENOSYS
#undef EOVERFLOW
#undef ETIMEDOUT
#endif
#ifdef LIB_TYPES_H
#undef __unused
#undef __aligned
#endif
#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#undef ENOSYS
#undef EOVERFLOW
#undef ETIMEDOUT
#undef VMK_ERRNO_H
#include <vmk/errno.h>
#ifndef LIB_TYPES_H
#undef __unused
#undef __aligned
#endif
#include <vmk/abi.h>
#include "lib/types.h"

/* Syscalls (user/sys.c; vmk_exit, which flushes the console streams first, in user/libc.c). Each returns
 * what include/vmk/abi.h documents: >= 0 or -errno. */
__noreturn void vmk_exit(int status);
/* vmk_spawn is SYS_spawn with flags 0; vmk_spawn_flags passes flags (VMK_SPAWN_DIAG). Both refuse to pass
 * the heap's handle (heap_handle below) with -EPERM, before the kernel sees the call. */
long vmk_spawn(const char *name, const char *const *argv, const u64 *handles, u64 nhandles, u64 quota_pages);
long vmk_spawn_flags(const char *name, const char *const *argv, const u64 *handles, u64 nhandles, u64 quota_pages,
		     u64 flags);
long vmk_wait(long tid, int *status);
long vmk_kill(long tid);
long vmk_yield(void);
long vmk_getpid(void);
long vmk_write(int fd, const void *buf, u64 len);
long vmk_clock_gettime(struct vmk_timespec *ts);
long vmk_sleep(u64 nanoseconds);
long vmk_handles(u64 *out, u64 max);
long vmk_shm_create(u64 size, u64 flags);
long vmk_shm_map(u64 handle, u64 hint, u64 max_size, u64 prot);
long vmk_shm_unmap(u64 addr);
long vmk_shm_resize(u64 handle, u64 new_size);
long vmk_shm_share(u64 handle, long tid, u64 rights); /* -EPERM: SHM_RESIZE or SHM_SEAL of the heap's handle */
long vmk_shm_close(u64 handle);
long vmk_shm_info(u64 handle, struct vmk_shm_info *info);
long vmk_shm_seal(u64 handle, u64 seals);
long vmk_shm_read(u64 handle, u64 offset, void *buf, u64 len);
long vmk_shm_write(u64 handle, u64 offset, const void *buf, u64 len);
/* handle 0: offset is an address in one of the caller's shm mappings (see SYS_shm_wait). */
long vmk_shm_wait(u64 handle, u64 offset, u32 expected, u64 timeout_ns);
long vmk_shm_wake(u64 handle, u64 offset, u64 count);
long vmk_shm_list(u64 *out, u64 max, u64 flags); /* SHM_LIST_GIVEN: only what other tasks gave */
long vmk_vm_stats(struct vmk_vm_stats *st);
long vmk_vm_dump(void);
long vmk_trace_ctl(u64 enable_mask, u64 disable_mask);
long vmk_trace_mark(u64 id, const char *label);
/* Any number with any arguments, for the hostile and fuzz tests. */
long vmk_syscall(long nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);

/* The user call site every wrapper above passes the kernel in a6, for the trace's `ucaller` field
 * (docs/trace.md): the return address into whoever called the wrapper, unless vmk_call_site is set. A
 * runtime function that makes system calls on its caller's behalf (malloc growing the heap) sets it to
 * its own return address for the time of the call with VMK_CALL_SITE_BEGIN/END, so the events name the
 * program's line that called malloc, not user/malloc.c; an inner runtime call keeps the outermost site.
 * The function using them must be noinline (its return address is then its caller's line). Tasks are
 * single-threaded, so one variable suffices. */
extern u64 vmk_call_site;
#define VMK_CALL_SITE_BEGIN()                                                     \
	u64 vmk_outer_site_ = vmk_call_site;                                      \
	if (!vmk_outer_site_) vmk_call_site = (u64)(uptr)__builtin_return_address(0)
#define VMK_CALL_SITE_END() (vmk_call_site = vmk_outer_site_)

/* C library: picolibc (printf, snprintf, strtoul, qsort, assert, string.h, stdlib.h, exit ...) over the
 * hooks in user/libc.c. stdout and stderr are line buffered: each line (up to PRINTF_MAX bytes) is one
 * write, so lines from concurrent tasks never interleave mid-line; exit() and vmk_exit() flush what is
 * left. dprintf and vdprintf are ours (picolibc has none): one call is one write of at most PRINTF_MAX
 * bytes (longer output is cut). */
#define PRINTF_MAX 512
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vdprintf(int fd, const char *fmt, va_list ap);
const char *errno_name(long err); /* "EFAULT" for -14, "ok" for 0, "" for > 0, "E?" if unknown */
u64 now_ns(void);                 /* monotonic nanoseconds since boot, 0 if the clock call fails */
u64 rng_next(u64 *state);         /* splitmix64: deterministic pseudo-random numbers from a seed */

/* Spawns prog with argv = {prog, args..., NULL}: the variadic part is const char * strings ended by
 * NULL. Returns the tid or -errno. */
long spawn_with(const char *prog, const u64 *handles, u64 nhandles, ...);
/* Waits for tid and returns its exit status (VMK_STATUS_KILLED if killed), or WAIT_FAILED if the wait
 * itself failed (the error is printed as a diagnostic). */
#define WAIT_FAILED (-2000)
int wait_status(long tid);

/* Waiting for other tasks (user/sync.c), without polling: each sleeps in SYS_shm_wait on a word of one of
 * the caller's shm mappings, and the side that changes the word wakes it. Words in private memory cannot
 * be waited on (nobody else can change them).
 * store_u64 stores v (add_u64 adds n) and wakes every task waiting on *p. wait_for_u64 sleeps until *p == want (true) or
 * timeout_ns passes (false); it watches the low 32 bits, so a writer must change those (counters below
 * 2^32 always do) and publish with store_u64. */
void store_u64(volatile u64 *p, u64 v);
u64 add_u64(volatile u64 *p, u64 n); /* adds n, wakes every waiter; returns the new value */
bool wait_for_u64(const volatile u64 *p, u64 want, u64 timeout_ns);
/* A mutex in shared memory (zero-initialised = free), between tasks that map it, at any addresses.
 * lock returns 0, or -EPIPE when it would sleep forever (every other holder of the object is gone) or
 * another -errno of SYS_shm_wait (the word is not in a shm mapping: -EFAULT). */
struct vmk_mutex {
	u32 state;
};
long vmk_mutex_lock(struct vmk_mutex *m);
bool vmk_mutex_trylock(struct vmk_mutex *m);
void vmk_mutex_unlock(struct vmk_mutex *m);
/* A counting semaphore in shared memory (zero-initialised = count 0). wait takes one unit, sleeping
 * while there is none, up to timeout_ns (0: no timeout): 0, -ETIMEDOUT, or -EPIPE / -EFAULT as for the
 * mutex. post adds one and wakes a waiter (a syscall only when somebody waits). */
struct vmk_sem {
	u32 count;
	u32 waiters;
};
void vmk_sem_post(struct vmk_sem *s);
long vmk_sem_wait(struct vmk_sem *s, u64 timeout_ns);
static inline u64 load_u64(const volatile u64 *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/* malloc, calloc, realloc, free, memalign, aligned_alloc, posix_memalign (user/malloc.c): 16-byte
 * aligned blocks in a heap that is one private shm object, created at the first allocation, mapped at one
 * address for the task's life, grown with shm_resize and shrunk when its top is free. Out of quota or
 * memory: NULL with errno = ENOMEM. The heap holds one handle and one mapping of the task's tables. */
struct heap_stats {
	u64 handle;   /* the heap's shm handle (0 before the first allocation) */
	u64 base;     /* user address of the mapping */
	u64 size;     /* current size of the shm object, bytes */
	u64 reserved; /* the kernel area's reserved range: growth up to here is in place */
	u64 grows, shrinks, moves; /* shm_resize calls that grew / shrank it; grows past the reservation */
	u64 used;     /* bytes in allocated blocks, headers included */
};
void heap_get_stats(struct heap_stats *st);
/* The heap's own handle (0 before the first allocation). It holds SHM_ALL because malloc resizes the heap;
 * a task holding SHM_RESIZE on it could shrink the heap under malloc and get this task killed at its next
 * touch of a cut block. So the runtime keeps that right inside the task: vmk_spawn, vmk_spawn_flags and
 * spawn_with refuse to pass this handle, and vmk_shm_share refuses to share it with SHM_RESIZE (-EPERM).
 * To let another task see heap memory, share a reduced copy first, e.g.
 * vmk_shm_share(heap_handle(), vmk_getpid(), SHM_R | SHM_W | SHM_MAP), and pass that. The raw syscalls
 * (vmk_syscall) are not checked: a program that passes the heap's handle that way gives its child the
 * power to shrink it. */
u64 heap_handle(void);
/* user/malloc.c tells user/sys.c the heap's handle once it has created the heap (sys.c keeps it, below
 * the allocator, so the wrappers can refuse it without calling up). Not for programs. */
void heap_handle_set(u64 handle);

/* KTAP (user/ktap.c). A test program calls ktap_begin, then ktap_run per case, then returns ktap_end()
 * from main. Output: "# user: <name>", then "ok N case" or "not ok N case # reason" per case. */
void ktap_begin(const char *program);
void ktap_run(const char *name, void (*fn)(void));
int ktap_end(void); /* 0 if every case passed, else 1 */
/* Records the first failure of the current case (later ones only print a diagnostic). */
void ktap_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ktap_fail_eq(const char *file, int line, const char *expr, long long got, long long want);
/* Called by a case that cannot run on this machine (it returns right after): "ok N case # SKIP why",
 * which the test runner counts as skipped, not passed. */
void ktap_skip(const char *why);
/* Reports a result decided elsewhere (init uses it for whole child programs). */
void ktap_result(bool ok, const char *name, const char *reason);

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) ktap_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);  \
	} while (0)
/* Compares as signed 64-bit and shows both values; errno results print by name. */
#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                         \
		if (_a != _b) ktap_fail_eq(__FILE__, __LINE__, #a, _a, _b);                \
	} while (0)
/* Like CHECK but ends the case: for steps the rest of the case depends on. */
#define REQUIRE(cond)                                                                     \
	do {                                                                              \
		if (!(cond)) {                                                            \
			ktap_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);              \
			return;                                                           \
		}                                                                         \
	} while (0)

#endif
