/* What vmk adds under and beside picolibc: the console streams stdout/stderr (line buffered over
 * SYS_write), the _exit, kill and getpid hooks picolibc calls, dprintf, errno names, time, a PRNG and
 * the spawn/wait helpers. */
#include "user/vmk.h"

/* A console stream's line buffer: a line goes out in one write when it ends, fills the buffer, or the
 * program exits. */
struct console_stream {
	FILE file; /* first: picolibc hands put() this pointer */
	int fd;
	u32 used;
	char buf[PRINTF_MAX];
};

static int console_flush(FILE *f)
{
	struct console_stream *cs = (struct console_stream *)f;
	long r = cs->used ? vmk_write(cs->fd, cs->buf, cs->used) : 0;
	cs->used = 0;
	return r < 0 ? EOF : 0;
}

static int console_put(char c, FILE *f)
{
	struct console_stream *cs = (struct console_stream *)f;
	cs->buf[cs->used++] = c;
	if (c == '\n' || cs->used == sizeof(cs->buf)) return console_flush(f) ? EOF : (unsigned char)c;
	return (unsigned char)c;
}

static int no_input(FILE *f)
{
	(void)f;
	return EOF;
}

static struct console_stream console_out = {
	.file = FDEV_SETUP_STREAM(console_put, no_input, console_flush, _FDEV_SETUP_RW), .fd = 1};
static struct console_stream console_err = {
	.file = FDEV_SETUP_STREAM(console_put, no_input, console_flush, _FDEV_SETUP_WRITE), .fd = 2};

FILE *const stdin = &console_out.file; /* reads give EOF: there is no console input */
FILE *const stdout = &console_out.file;
FILE *const stderr = &console_err.file;

/* The console's pending partial lines, written before the task ends. */
static void console_flush_all(void)
{
	console_flush(&console_out.file);
	console_flush(&console_err.file);
}

/* SYS_exit after the console's pending partial lines: a last line without its newline still reaches the
 * console. Here rather than in user/sys.c because the console streams are this file's. */
void vmk_exit(int status)
{
	console_flush_all();
	vmk_syscall(SYS_exit, (u64)(s64)status, 0, 0, 0, 0, 0);
	for (;;) /* the kernel never returns from exit; spin rather than run off the end if it did */
		;
}

/* picolibc's exit() ends here, after its atexit handlers; vmk_exit flushes the console streams. */
void _exit(int status)
{
	vmk_exit(status);
}

/* picolibc's raise() (behind abort(), so behind a failed assert) delivers a default-handled signal with
 * kill(getpid(), sig). There are no signals between tasks: a task can only end itself, with status
 * 128 + sig as a shell would report it. */
int getpid(void) { return (int)vmk_getpid(); }

int kill(int pid, int sig)
{
	if (pid != getpid()) {
		errno = EPERM;
		return -1;
	}
	fprintf(stderr, "# task %d: ended by signal %d\n", pid, sig);
	vmk_exit(128 + sig);
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[PRINTF_MAX];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0) return n;
	u64 len = (u64)n < sizeof(buf) ? (u64)n : sizeof(buf) - 1;
	if (fd == 1 || fd == 2) console_flush(fd == 1 ? stdout : stderr); /* keep the order of the output */
	long r = vmk_write(fd, buf, len);
	return r < 0 ? (int)r : n;
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

const char *errno_name(long err)
{
	static const struct {
		int num;
		const char *name;
	} names[] = {
		{0, "ok"},          {EPERM, "EPERM"},   {ENOENT, "ENOENT"},     {ESRCH, "ESRCH"},
		{EINTR, "EINTR"},   {EIO, "EIO"},       {E2BIG, "E2BIG"},       {ENOEXEC, "ENOEXEC"},
		{EBADF, "EBADF"},   {ECHILD, "ECHILD"}, {EAGAIN, "EAGAIN"},     {ENOMEM, "ENOMEM"},
		{EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},       {EEXIST, "EEXIST"},
		{ENODEV, "ENODEV"}, {EINVAL, "EINVAL"}, {ENFILE, "ENFILE"},     {EMFILE, "EMFILE"},
		{ENOSPC, "ENOSPC"}, {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"},     {EOVERFLOW, "EOVERFLOW"}, {EPIPE, "EPIPE"}, {ETIMEDOUT, "ETIMEDOUT"},
	};
	if (err == VMK_STATUS_KILLED) return "KILLED";
	if (err > 0) return "";
	err = -err;
	for (u32 i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].num == err) return names[i].name;
	return "E?";
}

u64 now_ns(void)
{
	struct vmk_timespec ts;
	if (vmk_clock_gettime(&ts) < 0) return 0;
	return ts.sec * 1000000000ULL + ts.nsec;
}

u64 rng_next(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

long spawn_with(const char *prog, const u64 *handles, u64 nhandles, ...)
{
	const char *argv[VMK_ARGV_MAX + 1];
	int argc = 0;
	va_list ap;

	argv[argc++] = prog;
	va_start(ap, nhandles);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
		if (argc == VMK_ARGV_MAX) {
			va_end(ap);
			return -E2BIG;
		}
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return vmk_spawn(prog, argv, handles, nhandles, 0);
}

int wait_status(long tid)
{
	int status = 0;
	long r = vmk_wait(tid, &status);
	if (r < 0) {
		printf("# wait(%ld) failed: %s\n", tid, errno_name(r));
		return WAIT_FAILED;
	}
	return status;
}
