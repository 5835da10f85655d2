/* Syscall wrappers: the ecall convention of include/vmk/abi.h, one function per call, each telling the
 * kernel its user call site in a6 for the trace (see vmk_call_site in user/vmk.h). The bottom of the user
 * runtime: libc.c, sync.c and malloc.c call down into it, it calls nothing of theirs (vmk_exit, which
 * flushes the console first, is libc.c's). */
#include "user/vmk.h"

u64 vmk_call_site;

/* Every argument register is passed (zero when unused) so the kernel never sees stale values. Always
 * inlined into a wrapper (never into its caller: the runtime is not built with LTO), so the return
 * address read here is the wrapper's, a line of whoever called it. One load and a move per call. */
static inline __attribute__((always_inline)) long ecall6(long nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	u64 site = vmk_call_site ? vmk_call_site : (u64)(uptr)__builtin_return_address(0);
	register u64 r6 __asm__("a6") = site;
	register u64 r0 __asm__("a0") = a0;
	register u64 r1 __asm__("a1") = a1;
	register u64 r2 __asm__("a2") = a2;
	register u64 r3 __asm__("a3") = a3;
	register u64 r4 __asm__("a4") = a4;
	register u64 r5 __asm__("a5") = a5;
	register long r7 __asm__("a7") = nr;
	__asm__ volatile("ecall"
			 : "+r"(r0)
			 : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
			 : "memory");
	return (long)r0;
}

long vmk_syscall(long nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	return ecall6(nr, a0, a1, a2, a3, a4, a5);
}

#define P(x) ((u64)(uptr)(x))

/* The heap's handle, as user/malloc.c reports it when it creates the heap: kept here, at the bottom of the
 * runtime, because the wrappers below refuse to pass it on and must not call up into the allocator. */
static u64 kept_heap_handle;

void heap_handle_set(u64 handle) { kept_heap_handle = handle; }

u64 heap_handle(void) { return kept_heap_handle; }

/* The heap's handle carries SHM_RESIZE: a child given it could shrink the heap under this task's malloc
 * (user/malloc.c), so the runtime never passes it on. The array is read here only once the kernel has
 * said it is readable: a spawn that must fail (empty name: -EINVAL) reads the handle words first and
 * answers -EFAULT for them (abi.h ERROR ORDER), so a bad pointer still gets -EFAULT instead of a fault. */
static bool passes_heap(const u64 *handles, u64 nhandles)
{
	u64 heap = heap_handle();
	if (!nhandles || !heap) return false; /* no heap yet: nothing to protect */
	if (ecall6(SYS_spawn, P(""), 0, P(handles), nhandles, 0, 0) == -EFAULT) return false;
	for (u64 i = 0; i < MIN(nhandles, VMK_SPAWN_HANDLES_MAX); i++)
		if (handles[i] == heap) return true;
	return false;
}

long vmk_spawn_flags(const char *name, const char *const *argv, const u64 *handles, u64 nhandles, u64 quota_pages,
		     u64 flags)
{
	if (passes_heap(handles, nhandles)) return -EPERM;
	return ecall6(SYS_spawn, P(name), P(argv), P(handles), nhandles, quota_pages, flags);
}

long vmk_spawn(const char *name, const char *const *argv, const u64 *handles, u64 nhandles, u64 quota_pages)
{
	return vmk_spawn_flags(name, argv, handles, nhandles, quota_pages, 0);
}

long vmk_wait(long tid, int *status) { return ecall6(SYS_wait, (u64)tid, P(status), 0, 0, 0, 0); }
long vmk_kill(long tid) { return ecall6(SYS_kill, (u64)tid, 0, 0, 0, 0, 0); }
long vmk_yield(void) { return ecall6(SYS_yield, 0, 0, 0, 0, 0, 0); }
long vmk_getpid(void) { return ecall6(SYS_getpid, 0, 0, 0, 0, 0, 0); }
long vmk_write(int fd, const void *buf, u64 len)
{
	return ecall6(SYS_write, (u64)(s64)fd, P(buf), len, 0, 0, 0);
}

long vmk_clock_gettime(struct vmk_timespec *ts) { return ecall6(SYS_clock_gettime, P(ts), 0, 0, 0, 0, 0); }
long vmk_sleep(u64 nanoseconds) { return ecall6(SYS_sleep, nanoseconds, 0, 0, 0, 0, 0); }
long vmk_handles(u64 *out, u64 max) { return ecall6(SYS_handles, P(out), max, 0, 0, 0, 0); }
long vmk_shm_create(u64 size, u64 flags) { return ecall6(SYS_shm_create, size, flags, 0, 0, 0, 0); }

long vmk_shm_map(u64 handle, u64 hint, u64 max_size, u64 prot)
{
	return ecall6(SYS_shm_map, handle, hint, max_size, prot, 0, 0);
}

long vmk_shm_unmap(u64 addr) { return ecall6(SYS_shm_unmap, addr, 0, 0, 0, 0, 0); }
long vmk_shm_resize(u64 handle, u64 new_size) { return ecall6(SYS_shm_resize, handle, new_size, 0, 0, 0, 0); }

long vmk_shm_share(u64 handle, long tid, u64 rights)
{
	/* See passes_heap: a sharer that could resize or seal the heap could take it away from malloc. */
	if ((rights & (SHM_RESIZE | SHM_SEAL)) && handle && handle == heap_handle()) return -EPERM;
	return ecall6(SYS_shm_share, handle, (u64)tid, rights, 0, 0, 0);
}

long vmk_shm_close(u64 handle) { return ecall6(SYS_shm_close, handle, 0, 0, 0, 0, 0); }
long vmk_shm_info(u64 handle, struct vmk_shm_info *info)
{
	return ecall6(SYS_shm_info, handle, P(info), 0, 0, 0, 0);
}
long vmk_shm_seal(u64 handle, u64 seals) { return ecall6(SYS_shm_seal, handle, seals, 0, 0, 0, 0); }
long vmk_shm_read(u64 handle, u64 offset, void *buf, u64 len)
{
	return ecall6(SYS_shm_read, handle, offset, P(buf), len, 0, 0);
}
long vmk_shm_write(u64 handle, u64 offset, const void *buf, u64 len)
{
	return ecall6(SYS_shm_write, handle, offset, P(buf), len, 0, 0);
}
long vmk_shm_wait(u64 handle, u64 offset, u32 expected, u64 timeout_ns)
{
	return ecall6(SYS_shm_wait, handle, offset, expected, timeout_ns, 0, 0);
}
long vmk_shm_wake(u64 handle, u64 offset, u64 count) { return ecall6(SYS_shm_wake, handle, offset, count, 0, 0, 0); }
long vmk_shm_list(u64 *out, u64 max, u64 flags) { return ecall6(SYS_shm_list, P(out), max, flags, 0, 0, 0); }

long vmk_vm_stats(struct vmk_vm_stats *st) { return ecall6(SYS_vm_stats, P(st), 0, 0, 0, 0, 0); }
long vmk_vm_dump(void) { return ecall6(SYS_vm_dump, 0, 0, 0, 0, 0, 0); }

long vmk_trace_ctl(u64 enable_mask, u64 disable_mask)
{
	return ecall6(SYS_trace_ctl, enable_mask, disable_mask, 0, 0, 0, 0);
}

long vmk_trace_mark(u64 id, const char *label) { return ecall6(SYS_trace_mark, id, P(label), 0, 0, 0, 0); }
