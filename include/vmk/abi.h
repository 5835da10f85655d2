/* The user/kernel contract: syscall numbers, argument rules, error codes, limits and shared structs.
 * Everything a user program may rely on is written down here; the kernel implements exactly this. */
#ifndef VMK_ABI_H
#define VMK_ABI_H

#include <vmk/errno.h>

/*
 * CALLING CONVENTION
 *   `ecall` from U-mode with the syscall number in a7 and up to six arguments in a0..a5. The result comes
 *   back in a0: >= 0 on success, -errno (see <vmk/errno.h>) on failure. All other registers except a0 are
 *   preserved. An unknown number in a7 returns -ENOSYS and does no harm.
 *
 * PROGRAM START
 *   Programs are static ELF64 RISC-V ET_EXEC files from the initrd (newc cpio), linked at 0x10000. Every
 *   PT_LOAD must lie in the program area [0x1000, VMK_PROG_TOP): a segment over the stack or in the shm
 *   window makes the file "not a valid program" (-ENOEXEC from SYS_spawn, the reason on the console).
 *   The kernel maps each PT_LOAD with its R/W/X flags (W+X, W without R and no access at all are refused;
 *   an execute-only segment is mapped readable too), sets sp to a 16-byte aligned
 *   user stack of VMK_STACK_SIZE bytes ending at VMK_STACK_TOP (shm_map never places mappings in
 *   [VMK_STACK_TOP - VMK_STACK_RESERVE, VMK_STACK_TOP), the rest of that window stays unmapped), and
 *   enters the ELF entry with a0 = argc and a1 = argv (argc pointers then NULL, strings
 *   copied onto the user stack). argv is exactly the array the spawner passed, so by convention argv[0]
 *   is the program name. The boot task is /init, started with argv = {"/init", <bootarg words>...}.
 *
 * POINTER RULES (every syscall)
 *   A user pointer argument must lie wholly in the user half [0x1000, VMK_USER_TOP), must not wrap, and
 *   must be mapped with the access the call needs (readable for inputs, writable for outputs). Pointers to
 *   structs, u64 arrays and int must be naturally aligned (8 bytes; 4 for int). Breaking any of these
 *   returns -EFAULT; the kernel never faults on a user pointer. Kernel addresses, NULL, unmapped pages,
 *   ranges that wrap and misaligned struct pointers all give -EFAULT. Strings must be NUL-terminated
 *   within their limit, else -EINVAL (or -EFAULT if the bytes run into unmapped memory first).
 *
 * HANDLES
 *   Shared-memory objects are reached through opaque u64 handles held per task, each with a rights mask.
 *   A handle value is meaningful only in the task that holds it: the kernel tags values with their owner,
 *   so a value that is valid in another task, a closed handle, or any made-up number gives -EBADF.
 *   Handles are never 0 and always below 2^63, so a non-negative long result from shm_create or shm_share
 *   is a handle and a negative one an error. A task holds at most VMK_MAX_HANDLES at once (-EMFILE beyond).
 *
 * EXIT STATUS
 *   SYS_exit(status) is reported to the parent's SYS_wait as (status & 0xff), so it can never collide with
 *   VMK_STATUS_KILLED, which is reported for a task the kernel killed or an ancestor killed (SYS_kill).
 *   Every U-mode exception other than ecall kills: page faults (kernel, unmapped or wrongly-permissioned
 *   addresses, including shm pages cut off by a shrink, executing data, stack or any shm mapping: shm
 *   mappings are never executable), illegal or privileged instructions, ebreak. The only fault not fatal
 *   is a load or store that raced a resize which has since mapped the page: it is retried, a few times at
 *   most. The kernel logs the reason on the console; the killed task's mappings and handles are released.
 *
 * QUOTAS AND OWNERSHIP
 *   Each task has a page quota, set at spawn: the quota asked for (or the default, VMK_DEFAULT_QUOTA_PAGES
 *   or the vmalloc.task_quota_pages bootarg), but never more than the pages its parent has left at that
 *   moment less the child's image; init, the root of every task tree, holds VMK_MAX_QUOTA_PAGES.
 *   Each task has an account, hung under its parent's as a memory cgroup is: every page charged to a
 *   task is charged to each account above it as well, each within its own limit, so a quota bounds the
 *   task's whole subtree: children share what their parent has, they cannot each spend it again.
 *   An account's limit is the task's quota plus its image: the pages of its program segments, its
 *   stack, and their page tables (the root included), charged at spawn (-ENOMEM when an account
 *   above has no room) and credited at exit. The image is outside the task's own quota, but inside its
 *   parent's: a spawner pays for its children's programs. SYS_vm_stats reports the caller's quota, its
 *   image and its account (held_pages: image, objects, tables, and everything its subtree holds).
 *   When a task exits, its live children's accounts, with all they hold, move under its parent's; its
 *   quota still bounds them together: each child's limit is cut to what it holds plus an equal share of
 *   the room the exited task had left (SYS_vm_stats shows the cut quota).
 *   Charged against it, -ENOMEM beyond:
 *   - the pages of every shm object the task owns: an object is owned by its creator. A huge object
 *     (SHM_F_HUGE that really got 2 MiB blocks) is charged its backing, its size rounded up to 2 MiB;
 *     any other object its size in pages. A resize charges or credits only the difference.
 *   - the page tables of every mapping the task makes: one page per 2 MiB-aligned span and one per
 *     1 GiB-aligned span that the mapped part [addr, addr + size) touches (a small mapping costs 2
 *     pages), charged at map time (-ENOMEM when they do not fit), charged again as the object grows,
 *     within the task's limits: a mapping whose task cannot pay for the tables of the new part does
 *     not follow that growth (it stays as it was; an access past it faults, as past any mapping's
 *     mapped part, and kills; SYS_shm_info's `mapped` tells how far the caller's mappings reach),
 *     and follows again at a later grow it can pay for. Growth is the
 *     grower's call: another mapper's quota never refuses it; the grower's own mappings always
 *     follow, or the grow fails with -ENOMEM. A mapping made with SHM_MAP_REQUIRE_NOSHRINK is charged
 *     the tables of its whole reserve at map time instead, and always follows. Credited as the
 *     mapping shrinks and at unmap.
 *   A task also owns at most VMK_MAX_OBJECTS objects, holds at most VMK_MAX_HANDLES handles and makes at
 *   most VMK_MAX_MAPS mappings (-EMFILE beyond each). When the owner exits, every object it created that
 *   others still hold changes owner: to its parent if the parent is alive and has room (pages and
 *   objects), else to the kernel's orphan pool (VMK_ORPHAN_QUOTA_PAGES, VMK_ORPHAN_MAX_OBJECTS), else to
 *   the parent beyond its limits, else to the pool beyond its own. The new owner's limits then refuse its
 *   further growth; the pool, which every task's orphans share, also lets no object of it grow past
 *   VMK_ORPHAN_GROW_PAGES, so that one holder of SHM_RESIZE cannot take the whole pool from the others.
 *   The parent's account held the object's pages all along, so only its object limit or its absence
 *   sends an object to the pool. Nothing stays charged to an exited task: a new task starts with its
 *   whole quota.
 *
 * ERROR ORDER
 *   When several errors apply, the one listed first in the call's Errors line below wins (for the shm
 *   calls: the handle, then rights or arguments as listed, then resources).
 *
 * PRIVILEGE
 *   SYS_vm_dump and SYS_trace_ctl show kernel addresses and steer the kernel's trace: only init and the
 *   tasks spawned with VMK_SPAWN_DIAG by a task that has it may use them (-EPERM for everyone else).
 */

/* Syscall numbers. */
#define SYS_exit 0
#define SYS_spawn 1
#define SYS_wait 2
#define SYS_yield 3
#define SYS_getpid 4
#define SYS_write 5
#define SYS_clock_gettime 6
#define SYS_sleep 7
#define SYS_handles 8
#define SYS_kill 9
#define SYS_shm_create 16
#define SYS_shm_map 17
#define SYS_shm_unmap 18
#define SYS_shm_resize 19
#define SYS_shm_share 20
#define SYS_shm_close 21
#define SYS_shm_info 22
#define SYS_shm_seal 23
#define SYS_shm_read 24
#define SYS_shm_write 25
#define SYS_shm_wait 26
#define SYS_shm_wake 27
#define SYS_shm_list 28
#define SYS_vm_stats 32
#define SYS_vm_dump 33
#define SYS_trace_ctl 34
#define SYS_trace_mark 35
#define SYS_MAX 36 /* every number >= SYS_MAX, and every gap below it, is -ENOSYS */

/*
 * void SYS_exit(int status)
 *   Ends the task; never returns. Its mappings are torn down and its handles closed. A SYS_kill that
 *   returned 0 wins over the status even when it landed while the task was already in SYS_exit: the
 *   parent then sees VMK_STATUS_KILLED (see SYS_kill).
 *
 * long SYS_spawn(const char *name, const char *const *argv, const u64 *handles, u64 nhandles,
 *                u64 quota_pages, u64 flags) -> tid (> 0) of the new child task
 *   name: initrd path, with or without a leading "/" (at most VMK_NAME_MAX bytes with the NUL).
 *   argv: NULL-terminated array (NULL means argc = 0); at most VMK_ARGV_MAX strings and VMK_ARGV_BYTES
 *   bytes including NULs. handles: nhandles of the caller's handles; the child receives a handle for each,
 *   with the same rights, readable with SYS_handles in the order given (passing a handle needs no
 *   SHM_SHARE right: the child gets exactly the rights the caller holds). quota_pages 0 means the default
 *   (see QUOTAS); any quota is cut to what the caller has left. flags: VMK_SPAWN_DIAG or 0.
 *   What is read: the name up to VMK_NAME_MAX bytes, argv up to VMK_ARGV_MAX + 1 entries and each of
 *   their strings up to VMK_ARGV_BYTES bytes, the first min(nhandles, VMK_SPAWN_HANDLES_MAX) handle
 *   words; -EFAULT covers exactly those bytes, and nothing past them is ever read.
 *   Errors: -EFAULT bad name/argv/handles pointer; -EINVAL name too long or empty, quota_pages >
 *   VMK_MAX_QUOTA_PAGES, unknown flags; -E2BIG too many or too long args, nhandles >
 *   VMK_SPAWN_HANDLES_MAX; -EPERM VMK_SPAWN_DIAG from a task without it; -EBADF a handle is not the
 *   caller's; -ENOENT no such file; -ENOEXEC the file is not a valid program (see kernel/elf.h);
 *   -EAGAIN task table full; -ENOMEM out of memory, the program's segments need more than
 *   VMK_MAX_QUOTA_PAGES pages, or its image does not fit in the caller's account or one above it
 *   (see QUOTAS).
 *
 * long SYS_wait(long tid, int *status) -> 0
 *   Blocks until child `tid` has ended, stores its status (if status != NULL), and only then reaps it.
 *   Errors: -EFAULT bad status pointer, whether bad before blocking or made bad while blocked (another
 *   task shrank the object holding it): nothing is reaped, the child can be waited for again; -ECHILD
 *   tid is not a live or unreaped child of the caller (including itself, already waited for, another
 *   task's child, a task adopted after its own parent ended, or any value above 2^32 - 1); -EINTR the
 *   caller was killed while waiting (it never sees this: it dies on the way out).
 *   When a task ends, its children that still run are adopted by its parent (which may kill them but
 *   does not wait for them: the kernel reaps them), or with no parent above by the kernel; when init
 *   ends, every task still running is killed, so that the machine can power off.
 *
 * long SYS_yield(void) -> 0
 * long SYS_getpid(void) -> tid of the caller (> 0)
 *
 * long SYS_write(int fd, const void *buf, u64 len) -> len
 *   fd 1 and 2 are the console. len 0 returns 0 without touching buf.
 *   Errors: -EBADF other fd; -EINVAL len > VMK_WRITE_MAX (this check comes first, so wrapping lengths are
 *   -EINVAL); -EFAULT bad buf.
 *
 * long SYS_clock_gettime(struct vmk_timespec *ts) -> 0      monotonic time since boot
 *   Errors: -EFAULT.
 *
 * long SYS_sleep(u64 nanoseconds) -> 0                       sleeps at least that long (0 = yield)
 *   Any length works: lengths past what the clock can count sleep until killed.
 *
 * long SYS_kill(long tid) -> 0
 *   Ends task `tid` of the caller's subtree (a child, a child's child, ..., adopted ones included): it
 *   dies with VMK_STATUS_KILLED at its next return to user mode, whether it is running, spinning,
 *   sleeping or waiting; its parent then reaps it with SYS_wait (the kernel, for an adopted one).
 *   A kill and the child's own SYS_exit race without a window: 0 means the child's status will be
 *   VMK_STATUS_KILLED, even if it was already inside SYS_exit; -ESRCH means it had ended first and its
 *   own status stands.
 *   Errors: -ESRCH no such live task (tids are > 0 and below 2^32; a task that has ended is gone, one
 *   still being spawned is not there yet);
 *   -EPERM the task is not below the caller (itself included).
 *
 * long SYS_handles(u64 *out, u64 max) -> number of handles received at spawn
 *   Writes the first min(count, max) of them to out. Only those min(count, max) words are checked, so
 *   out may be anything (NULL included) when max is 0 or the task received no handles.
 *   Errors: -EFAULT bad out when something is to be written.
 *
 * long SYS_shm_create(u64 size, u64 flags) -> handle with SHM_ALL rights
 *   size is rounded up to whole pages and zero-filled. flags: SHM_F_HUGE asks for 2 MiB physical blocks
 *   where the size allows (falls back to 4 KiB pages silently when blocks, or the quota for a size
 *   rounded up to 2 MiB, run short; shm_info's `huge` tells). The caller owns the object (see QUOTAS).
 *   Errors: -EINVAL size 0, size > VMK_SHM_MAX_SIZE, unknown flag bits; -ENOMEM over quota or out of
 *   memory; -EMFILE the caller owns VMK_MAX_OBJECTS objects already, or its handle table is full.
 *
 * long SYS_shm_map(u64 handle, u64 hint, u64 max_size, u64 prot) -> user address (page aligned)
 *   Maps the object's current size; max_size (rounded up to pages) reserves address space so that later
 *   growth shows up in this mapping in place, up to max_size, as far as the caller's account pays for
 *   the tables (see QUOTAS). max_size 0 means the current size.
 *   hint 0 lets the kernel choose; otherwise it is a page-aligned address in the shm window
 *   [VMK_SHM_BASE, VMK_SHM_TOP), taken when [hint, hint + max_size) is free with a page to spare on
 *   either side of other mappings, else the kernel chooses as for 0. Mappings are never executable.
 *   prot: PROT_READ or PROT_READ|PROT_WRITE (write-only does not exist on RISC-V), optionally with
 *   SHM_MAP_REQUIRE_NOSHRINK: the mapping is made only if the object is sealed against shrinking, so no
 *   task can ever cut it (and so kill the mapper through it); and the page tables of its whole reserve
 *   (max_size) are charged at once, so it follows every growth up to max_size and is never left behind
 *   (see QUOTAS): [0, size) as shm_info reports it is always safe to touch, up to max_size.
 *   Errors: -EBADF bad handle; -EACCES handle lacks SHM_MAP, SHM_R, or SHM_W when PROT_WRITE asked;
 *   -EINVAL max_size > VMK_SHM_MAX_SIZE, prot without PROT_READ or with unknown bits, hint not page
 *   aligned or outside the shm window, max_size < size (when non-zero), hint + max_size past
 *   VMK_SHM_TOP; -EPERM PROT_WRITE on a write-sealed object, or SHM_MAP_REQUIRE_NOSHRINK on an object
 *   without SHM_SEAL_SHRINK; -EMFILE more than VMK_MAX_MAPS mappings; -ENOMEM no room in the window,
 *   quota left for the mapping's page tables (see QUOTAS), or memory for them.
 *
 * long SYS_shm_unmap(u64 addr) -> 0
 *   addr must be exactly an address SYS_shm_map returned and not yet unmapped.
 *   Errors: -EINVAL anything else (including a second unmap of the same address).
 *
 * long SYS_shm_resize(u64 handle, u64 new_size) -> 0
 *   new_size is rounded up to pages. Growth is zero-filled and appears in every mapping up to that
 *   mapping's reserved max_size before the call returns; pages that stay are never unmapped, not even
 *   for a moment, so other tasks' accesses and system calls using them keep working throughout.
 *   Shrinking unmaps the cut tail from every mapping in every task at once (TLBs included); any later
 *   access there kills the accessing task (map with SHM_MAP_REQUIRE_NOSHRINK to be immune), and tasks
 *   waiting on a word past the new end return -ERANGE. Bytes below the cut are untouched. A page-table
 *   page a mapping no longer needs after a shrink is freed and credited to its mapper at once.
 *   A big resize works in steps and lets other tasks' calls on the object in between: they see the
 *   old size until a grow returns, the new one from the start of a shrink. Resizes of one object run
 *   one after another (a second waits for the first).
 *   Errors: -EBADF; -EACCES no SHM_RESIZE right; -EINVAL new_size 0 or > VMK_SHM_MAX_SIZE; -EPERM a
 *   shrink of an object sealed with SHM_SEAL_SHRINK, a grow of one sealed with SHM_SEAL_GROW; -ENOMEM
 *   growth over the owner's quota (see QUOTAS; an object in the orphan pool past VMK_ORPHAN_GROW_PAGES)
 *   or out of memory or page tables in some mapper: the
 *   object keeps its old size and every mapping stays exactly as it was.
 *
 * long SYS_shm_share(u64 handle, long tid, u64 rights) -> handle value valid in task tid
 *   Gives task tid (which may be the caller itself, to make a reduced copy) a new handle to the same
 *   object with `rights`, which must be a subset of the caller's rights on this handle. The target is
 *   not notified: the caller passes the value on itself (e.g. through a shared object).
 *   Errors: -EBADF; -EINVAL rights 0 or unknown bits; -EACCES caller lacks SHM_SHARE or rights exceed
 *   the caller's; -ESRCH no such live task (tids are > 0 and below 2^32; an exited task is gone even
 *   before it is reaped, and one being spawned takes none until its spawn handles are in); -EMFILE
 *   target's handle table full, or the target (not the caller itself) already holds
 *   VMK_MAX_GIVEN_HANDLES handles that other tasks gave it: whatever tasks it does not know do, it
 *   keeps the rest of its table for its own objects, and it can find and close what it was given
 *   (SYS_shm_list).
 *
 * long SYS_shm_close(u64 handle) -> 0
 *   Drops the handle. Mappings made through it stay valid; the object is freed (and its owner's quota
 *   credited) when the last handle and the last mapping, in any task, are gone. A closed handle's value
 *   is not handed out again (generations are 32 bits wide, drawn from one counter for all tasks).
 *   Errors: -EBADF (including a second close).
 *
 * long SYS_shm_info(u64 handle, struct vmk_shm_info *info) -> 0
 *   Any valid handle may ask, whatever its rights.
 *   Errors: -EBADF; -EFAULT.
 *
 * long SYS_shm_seal(u64 handle, u64 seals) -> the object's seals after the call
 *   Adds seals (memfd's F_ADD_SEALS); a seal is never removed, and holds against every task and call:
 *   SHM_SEAL_SHRINK (no resize below the current size), SHM_SEAL_GROW (none above it), SHM_SEAL_WRITE
 *   (no writable mapping, no SYS_shm_write; mappings made read-only stay), SHM_SEAL_SEAL (no more seals).
 *   seals 0 only reads them, with any handle. Adding seals needs the SHM_SEAL right, which shm_create
 *   gives and shm_share may withhold: a sealer restricts every holder, so only whom the creator trusts may.
 *   Errors: -EBADF; -EACCES no SHM_SEAL right; -EINVAL unknown bits; -EPERM the object has SHM_SEAL_SEAL
 *   (and seals is not 0); -EBUSY SHM_SEAL_WRITE while some task has a writable mapping (nothing added).
 *
 * long SYS_shm_read(u64 handle, u64 offset, void *buf, u64 len) -> bytes copied
 * long SYS_shm_write(u64 handle, u64 offset, const void *buf, u64 len) -> bytes copied
 *   Copy between the object at offset and buf without mapping it (pread/pwrite). The count stops at the
 *   object's end: a write never grows it; 0 at or past the end, whatever offset and len (wrapping ones
 *   included). A copy is made a page of buf at a time: a buf that becomes bad part-way (unmapped, or
 *   read-only for a read), a shrink racing the call or a write seal added meanwhile ends it with the
 *   count so far. Never kills the caller.
 *   Errors: -EBADF; -EACCES no SHM_R (read) / SHM_W (write) right; -EPERM write to a write-sealed
 *   object; -EFAULT buf bad at its first byte (nothing copied).
 *
 * long SYS_shm_wait(u64 handle, u64 offset, u64 expected, u64 timeout_ns) -> 0
 *   Futex wait on the aligned 32-bit word at offset, keyed by (object, offset): the same word whatever
 *   address each task maps the object at, or with no mapping. Sleeps while the word equals the low 32
 *   bits of expected; the check and the sleep are atomic with respect to SYS_shm_wake (no lost wake-up).
 *   On a machine with more than one hart it may first spin up to 100 us (its own hart's time only) so
 *   that a wake arriving soon costs no sleep. timeout_ns 0: no timeout. handle 0 means offset is an
 *   address in one of the caller's own shm mappings (the word there); a handle needs SHM_R. A return of
 *   0 may be spurious: re-check the word.
 *   Errors: -EBADF; -EACCES no SHM_R; -EFAULT handle 0 and offset in none of the caller's mappings;
 *   -EINVAL offset not 4-byte aligned; -ERANGE the word lies past the object's end, at the call or cut
 *   by a shrink while waiting; -EAGAIN the word did not equal expected; -ETIMEDOUT; -EPIPE (timeout_ns 0
 *   only) every other task's handle and mapping of the object is gone (nobody could ever wake it); -EINTR the caller was killed
 *   (it never sees this: it dies on the way out).
 *
 * long SYS_shm_wake(u64 handle, u64 offset, u64 count) -> tasks woken
 *   Wakes up to count tasks waiting on the word at offset, oldest first. handle 0 as for SYS_shm_wait;
 *   a handle needs SHM_R (waking is harmless: waiters re-check their word).
 *   Errors: -EBADF; -EACCES no SHM_R; -EFAULT handle 0 and offset in none of the caller's mappings;
 *   -EINVAL offset not 4-byte aligned; -ERANGE the word lies past the object's end.
 *
 * long SYS_shm_list(u64 *out, u64 max, u64 flags) -> how many handles the caller holds
 *   Writes the values of the caller's handles to out, at most max of them (max 0: just counts), in table
 *   order. flags SHM_LIST_GIVEN: only the handles other tasks' SYS_shm_share gave it, e.g. to close
 *   those a task it does not trust pushed on it.
 *   Errors: -EINVAL unknown flags; -EFAULT out bad or not 8-byte aligned (when something is written).
 *
 * long SYS_vm_stats(struct vmk_vm_stats *st) -> 0              snapshot of the kernel's vmalloc counters
 *   Errors: -EFAULT.
 *
 * long SYS_vm_dump(void) -> 0                                   prints the vmalloc areas on the console
 *   Errors: -EPERM the caller lacks the diagnostic grant (see PRIVILEGE).
 *
 * long SYS_trace_ctl(u64 enable_mask, u64 disable_mask) -> the resulting trace mask
 *   Turns trace classes on, then off. (0, 0) just reads the mask.
 *   Errors: -EPERM the caller lacks the diagnostic grant (see PRIVILEGE); -EINVAL bits outside
 *   TRACE_ALL in either mask (nothing changes).
 *
 * long SYS_trace_mark(u64 id, const char *label) -> 0
 *   Puts a marker event into the trace stream. label may be NULL.
 *   Errors: -EFAULT bad label; -EINVAL label longer than VMK_LABEL_MAX bytes with the NUL.
 */

/* Exit status reported by SYS_wait for a task the kernel killed. */
#define VMK_STATUS_KILLED (-1000)

/* Limits. */
#define VMK_USER_BASE 0x1000UL
#define VMK_USER_TOP 0x4000000000UL /* 2^38: end of the Sv39 user half */
#define VMK_PROG_BASE 0x10000UL     /* where programs are linked */
#define VMK_PROG_TOP 0x1000000000UL /* program segments must end by here (-ENOEXEC otherwise) */
#define VMK_SHM_BASE 0x1000000000UL /* shm mappings (and map hints) lie in [VMK_SHM_BASE, VMK_SHM_TOP) */
#define VMK_SHM_TOP 0x3000000000UL
#define VMK_STACK_TOP 0x3fff000000UL
#define VMK_STACK_SIZE 0x10000UL      /* 64 KiB, mapped read-write at start */
#define VMK_STACK_RESERVE 0x1000000UL /* 16 MiB window below VMK_STACK_TOP kept for the stack */
#define VMK_WRITE_MAX 4096UL
#define VMK_NAME_MAX 64
#define VMK_ARGV_MAX 16
#define VMK_ARGV_BYTES 1024
#define VMK_LABEL_MAX 64
#define VMK_SPAWN_HANDLES_MAX 8
#define VMK_MAX_HANDLES 64
#define VMK_MAX_GIVEN_HANDLES 32 /* of those, given by other tasks' shm_share */
#define VMK_MAX_MAPS 64
#define VMK_SHM_MAX_SIZE (1UL << 30)
#define VMK_DEFAULT_QUOTA_PAGES 4096UL /* 16 MiB */
#define VMK_MAX_QUOTA_PAGES 65536UL    /* 256 MiB */
#define VMK_MAX_OBJECTS 64             /* shm objects charged to one task at once (-EMFILE beyond) */
#define VMK_ORPHAN_QUOTA_PAGES 16384UL /* the orphan pool's page limit (64 MiB) */
#define VMK_ORPHAN_MAX_OBJECTS 256     /* and its object limit */
#define VMK_ORPHAN_GROW_PAGES 64UL     /* an object in the pool grows to at most this: the pool's share of one */

/* SYS_spawn flags (its sixth argument). */
#define VMK_SPAWN_DIAG 1UL /* the child may use SYS_vm_dump and SYS_trace_ctl (only a task that may) */

/* shm_create flags. */
#define SHM_F_HUGE 1UL

/* shm_map protections. */
#define PROT_READ 1UL
#define PROT_WRITE 2UL

/* Handle rights. */
#define SHM_R 1UL       /* map readable, shm_read, shm_wait/wake (shm_info needs no right) */
#define SHM_W 2UL       /* map writable, shm_write */
#define SHM_MAP 4UL     /* map at all */
#define SHM_RESIZE 8UL  /* shm_resize */
#define SHM_SHARE 16UL  /* shm_share (to other tasks or to self) */
#define SHM_SEAL 32UL   /* shm_seal: add seals */
#define SHM_ALL 63UL

/* shm_map: in its prot argument, map only an object sealed against shrinking. */
#define SHM_MAP_REQUIRE_NOSHRINK 0x100UL

/* shm_list: in its flags, only the handles other tasks gave. */
#define SHM_LIST_GIVEN 1UL

/* Seals (shm_seal, shm_info). */
#define SHM_SEAL_SHRINK 1UL
#define SHM_SEAL_GROW 2UL
#define SHM_SEAL_WRITE 4UL
#define SHM_SEAL_SEAL 8UL
#define SHM_SEAL_ALL 15UL

/* Trace classes for SYS_trace_ctl. */
#define TRACE_VMALLOC 1UL
#define TRACE_PURGE 2UL
#define TRACE_SHM 4UL
#define TRACE_FAULT 8UL
#define TRACE_ALL 15UL

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Every field is a uint64_t so the layout is identical for any compiler and never needs padding rules. */
struct vmk_timespec {
	uint64_t sec;
	uint64_t nsec;
};

struct vmk_shm_info {
	uint64_t size;    /* current size in bytes (whole pages) */
	uint64_t pages;   /* size / 4096 */
	uint64_t mappers; /* live mappings of the object, across all tasks */
	uint64_t rights;  /* rights of the handle asked about */
	uint64_t huge;    /* number of 2 MiB blocks backing it (0 = all 4 KiB pages) */
	uint64_t seals;   /* SHM_SEAL_* bits */
	uint64_t mapped;  /* bytes from the start every one of the caller's mappings of it reaches (the least
			   * among them; 0 when it maps none): size, unless a growth the caller's quota could
			   * not pay the tables of left a mapping behind (see QUOTAS) */
};

struct vmk_vm_stats {
	uint64_t seq;              /* bumps on every change, so two equal reads mean nothing moved */
	uint64_t live_areas;       /* vmalloc areas currently allocated */
	uint64_t live_pages;       /* pages backing them */
	uint64_t peak_pages;       /* highest live_pages seen */
	uint64_t rejected;         /* requests refused as invalid (size 0, bad align, ...) */
	uint64_t failures;         /* valid requests that failed (no space or memory) */
	uint64_t lazy_pages;       /* freed pages waiting for a lazy purge */
	uint64_t purges;           /* lazy purges done */
	uint64_t local_fences;     /* sfence.vma on this hart */
	uint64_t remote_fences;    /* TLB shootdowns sent to other harts */
	uint64_t flushed_pages;    /* pages covered by those flushes */
	uint64_t free_phys_pages;  /* physical page allocator: free */
	uint64_t total_phys_pages; /* physical page allocator: managed */
	uint64_t last_fail_size;   /* the last failed request's size (no guard page), */
	uint64_t last_fail_align;  /* its alignment, */
	uint64_t last_fail_reason; /* and why it failed (a positive errno number, 0 if none yet) */
	uint64_t hart;             /* the hart that served this call (0 .. harts_online - 1): where the caller ran */
	uint64_t harts_online;     /* harts the kernel runs on */
	uint64_t sched_lock_takes; /* acquisitions of the scheduler's lock, every hart, since boot */
	uint64_t wait_spins;       /* SYS_shm_wait calls that spun before sleeping */
	uint64_t wait_spin_wakes;  /* of those, the ones a wake ended while spinning (no lock, IPI, switch) */
	uint64_t wake_ipis;        /* IPIs sent to wake a hart for a task made runnable */
	uint64_t vmalloc_tables;   /* page-table pages (level-0 tables) the vmalloc region holds now */
	uint64_t tables_reclaimed; /* of those made, the ones given back (their 2 MiB block wholly free) */
	uint64_t quota_pages;      /* the caller's quota (see QUOTAS) */
	uint64_t image_pages;      /* the caller's image, charged to its account on top of its quota */
	uint64_t held_pages;       /* the caller's account: its image, objects, tables, and all its subtree's */
	uint64_t shm_steps;        /* times a long shm operation (a create, resize, map, unmap, copy or an
				    * object's free) paused between two steps of its work, every task, since boot */
};
#endif

#endif
