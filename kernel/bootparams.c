/* The boot arguments the kernel knows (types and accepted ranges), the check that refuses a bad command
 * line before anything reads it, and the escaped echo of the line for the boot log. */
#include "kernel/bootparams.h"
#include <vmk/abi.h>
#include "lib/bootargs.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/layout.h"

#define VMALLOC_PAGES (VMALLOC_SIZE >> PAGE_SHIFT)

/* Every key some part of the kernel reads; a new bootarg must be added here or it warns as unknown. */
static const struct bootarg_param kernel_params[] = {
	{"test", BA_TEXT, 0, 0, "in-kernel suites to run", NULL},
	{"init", BA_TEXT, 0, 0, "the first user program", NULL},
	{"trace", BA_TEXT, 0, 0, "trace classes", NULL},
	{"oops", BA_TEXT, 0, 0, "a deliberate kernel fault", NULL},
	{"vmallocinfo", BA_FLAG, 0, 0, "list vmalloc areas at power-off", NULL},
	{"ktest.pass_status", BA_NUMBER, 1, 255, "exit status of a test= boot whose suites all ran and passed", NULL},
	{"vmalloc.lazy_max_pages", BA_NUMBER, 1, VMALLOC_PAGES, "lazy-purge threshold in pages", NULL},
	{"vmalloc.debug_uaf", BA_NUMBER, 0, 1, "use-after-vfree detection on the freeing hart (costs a TLB flush per vfree)", NULL},
	{"tlb.remote", BA_CHOICE, 0, 0, "remote TLB fence mechanism", "sbi|ipi|auto"},
	{"uaccess.sum", BA_CHOICE, 0, 0, "when the kernel may reach user memory", "task|copy"},
	{"vmalloc.task_quota_pages", BA_NUMBER, 1, VMK_MAX_QUOTA_PAGES, "per-task vmalloc quota in pages", NULL},
	{"test_vmalloc.run_test_mask", BA_NUMBER, 0, ~0ULL, "test_vmalloc cases", NULL},
	{"test_vmalloc.test_loop_count", BA_NUMBER, 1, 100000000, "test_vmalloc loops", NULL},
	{"test_vmalloc.test_repeat_count", BA_NUMBER, 1, 1000, "test_vmalloc repeats", NULL},
	{"test_vmalloc.nr_threads", BA_NUMBER, 0, 1024, "test_vmalloc workers (0: one per hart)", NULL},
	{"test_vmalloc.sequential_test_order", BA_NUMBER, 0, 1, "test_vmalloc order", NULL},
	{"test_vmalloc.nr_pages", BA_NUMBER, 0, 1 << 20, "test_vmalloc pages per area", NULL},
	{"test_vmalloc.use_huge", BA_NUMBER, 0, 1, "test_vmalloc huge mappings", NULL},
	{"vm_tail.calls", BA_NUMBER, 1, 1000000, "vm_tail_bench timed calls per hart per case", NULL},
};

bool bootparams_is_flag(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(kernel_params); i++)
		if (kernel_params[i].type == BA_FLAG && !strcmp(kernel_params[i].key, key)) return true;
	return false;
}

int bootparams_init_args(const char **args, int max)
{
	int n = 0;
	for (int i = 0; i < bootarg_count(); i++) {
		const char *k = bootarg_key(i);
		if (bootarg_has_value(i) || strchr(k, '.') || bootparams_is_flag(k)) continue;
		if (args && n < max) args[n] = k;
		n++;
	}
	return n;
}

/* Control bytes and non-ASCII as \xNN, so a hostile line cannot drive the terminal. Returns the length
 * written (dst holds at least 4 * n + 1 bytes). */
static size_t escape(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			dst[o++] = (char)c;
			continue;
		}
		dst[o++] = '\\';
		if (c == '\\') {
			dst[o++] = '\\';
			continue;
		}
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
	}
	dst[o] = '\0';
	return o;
}

char *bootparams_escape_name(char *dst, const char *s)
{
	size_t n = strlen(s), o = escape(dst, s, MIN(n, (size_t)64));
	if (n > 64) memcpy(dst + o, "...", 4);
	return dst;
}

void bootparams_print_escaped(const char *s, size_t n)
{
	char buf[4 * 64 + 1];

	for (size_t done = 0; done < n; done += 64) {
		escape(buf, s + done, MIN(n - done, (size_t)64));
		printk("%s", buf);
	}
}

void bootparams_echo(void)
{
	const char *line = bootargs_cmdline();
	struct bootargs_info info;

	bootargs_get_info(&info);
	printk("bootargs: ");
	bootparams_print_escaped(line, strlen(line));
	printk("%s\n", info.truncated ? " [cut]" : "");
}

static void print_word(int i)
{
	const char *k = bootarg_key(i), *v = bootarg_value(i);

	bootparams_print_escaped(k, strlen(k));
	if (*v) {
		printk("=");
		bootparams_print_escaped(v, strlen(v));
	}
}

static void problem(void *ctx, int what, int word, const struct bootarg_param *p)
{
	printk("bootargs: %s: '", what == BA_UNKNOWN_KEY ? "warning" : "error");
	print_word(word);
	switch (what) {
	case BA_UNKNOWN_KEY: printk("': unknown key, ignored\n"); break;
	case BA_NOT_A_NUMBER: printk("': not a number (%s, accepted %lu..%lu)\n", p->what, p->min, p->max); break;
	case BA_OUT_OF_RANGE: printk("': out of range (%s, accepted %lu..%lu)\n", p->what, p->min, p->max); break;
	case BA_NOT_A_BOOLEAN: printk("': not a boolean (%s: 1/0, y/n, yes/no, on/off, true/false)\n", p->what); break;
	case BA_NOT_A_CHOICE: printk("': not one of %s (%s)\n", p->choices, p->what); break;
	}
}

int bootparams_check(void)
{
	const struct bootarg_bad_word *bad;
	struct bootargs_info info;
	const char *line = bootargs_cmdline();
	int nbad = bootargs_bad_words(&bad), errors;

	bootargs_get_info(&info);
	for (int i = 0; i < nbad; i++) {
		printk("bootargs: error: '");
		bootparams_print_escaped(line + bad[i].offset, bad[i].len);
		printk("': %s\n", bootarg_flaw_text(bad[i].flaw));
	}
	errors = info.malformed + info.dropped_words;
	if (errors > nbad) printk("bootargs: error: %d more bad words not shown\n", errors - nbad);
	errors += bootargs_check(kernel_params, (int)ARRAY_SIZE(kernel_params), problem, NULL);
	int init_args = bootparams_init_args(NULL, 0);
	if (init_args > VMK_ARGV_MAX - 1) {
		printk("bootargs: error: %d arguments for init, at most %d (VMK_ARGV_MAX less its name)\n", init_args,
		       VMK_ARGV_MAX - 1);
		errors++;
	}
	return errors;
}
