/* The user runtime's small libc: console printf over SYS_write, strtoul, errno names, time and a PRNG.
 * Formatting is lib/format.c, the same code the kernel's printk uses. */
#include "user/vmk.h"

int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[PRINTF_MAX];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0) return n;
	u64 len = (u64)n < sizeof(buf) ? (u64)n : sizeof(buf) - 1;
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

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s) { return printf("%s\n", s); }

void exit(int status) { vmk_exit(status); }

static int digit_value(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'z') return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
	return 99;
}

/* Like C's strtoul without locale or errno: base 0 picks 16 for "0x", 8 for "0", else 10; on overflow
 * the result saturates at ~0UL. */
unsigned long strtoul(const char *s, char **end, int base)
{
	const char *p = s;
	unsigned long v = 0;
	bool any = false, overflow = false;

	while (*p == ' ' || *p == '\t' || *p == '\n') p++;
	if (*p == '+') p++;
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	if (base < 2 || base > 36) {
		if (end) *end = (char *)s;
		return 0;
	}
	for (int d; (d = digit_value(*p)) < base; p++) {
		if (v > (~0UL - (unsigned long)d) / (unsigned long)base) overflow = true;
		v = v * (unsigned long)base + (unsigned long)d;
		any = true;
	}
	if (end) *end = (char *)(any ? p : s);
	return overflow ? ~0UL : v;
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
		{ENOSPC, "ENOSPC"}, {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"},     {EOVERFLOW, "EOVERFLOW"},
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

bool wait_for_u64(const volatile u64 *p, u64 want, u64 timeout_ns)
{
	u64 start = now_ns();
	for (;;) {
		if (load_u64(p) == want) return true;
		if (now_ns() - start > timeout_ns) return load_u64(p) == want;
		vmk_yield();
	}
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
