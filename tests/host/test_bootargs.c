/* Host tests for the command-line parser (lib/bootargs.c): words, quoting, numbers, lists, limits. */
#include <stdio.h>
#include <string.h>
#include "tests/host/htest.h"
#include "lib/bootargs.h"

static bool str_is(const char *got, const char *want)
{
	return got && strcmp(got, want) == 0;
}

static struct bootargs_info info_of(void)
{
	struct bootargs_info i;
	bootargs_get_info(&i);
	return i;
}

static void test_basic_words(void)
{
	bootargs_init("  console=ttyS0\tquiet  mem=512M\n debug ");
	CHECK_EQ(bootarg_count(), 4);
	CHECK(str_is(bootarg_get("console"), "ttyS0"));
	CHECK(str_is(bootarg_get("quiet"), ""));
	CHECK(str_is(bootarg_get("debug"), ""));
	CHECK(bootarg_get("loglevel") == NULL);
	CHECK(bootarg_has("quiet"));
	CHECK(!bootarg_has("quie"));
	CHECK(!bootarg_has("quiet2"));
	CHECK(!bootarg_has(""));
	CHECK(bootarg_get(NULL) == NULL);
	CHECK(str_is(bootarg_key(0), "console"));
	CHECK(str_is(bootarg_value(2), "512M"));
	CHECK(str_is(bootarg_key(3), "debug"));
	CHECK(bootarg_key(4) == NULL);
	CHECK(bootarg_value(-1) == NULL);
	CHECK(str_is(bootargs_cmdline(), "  console=ttyS0\tquiet  mem=512M\n debug "));
	CHECK_EQ(info_of().malformed, 0);
	CHECK(!info_of().truncated);
}

static void test_empty_and_null_lines(void)
{
	bootargs_init(NULL);
	CHECK_EQ(bootarg_count(), 0);
	CHECK(bootarg_get("x") == NULL);
	CHECK(str_is(bootargs_cmdline(), ""));
	bootargs_init(" \t\n ");
	CHECK_EQ(bootarg_count(), 0);
	/* A new line replaces the old one entirely. */
	bootargs_init("a=1");
	bootargs_init("b=2");
	CHECK(!bootarg_has("a"));
	CHECK(str_is(bootarg_get("b"), "2"));
}

static void test_empty_values_and_equals(void)
{
	bootargs_init("a= b==c d=x=y e=\"\"");
	CHECK(str_is(bootarg_get("a"), ""));
	CHECK(str_is(bootarg_get("b"), "=c"));
	CHECK(str_is(bootarg_get("d"), "x=y"));
	CHECK(str_is(bootarg_get("e"), ""));
	CHECK_EQ(bootarg_count(), 4);
}

static void test_quoting(void)
{
	bootargs_init("init=\"/bin/sh -c 'echo hi'\" \"name=a b\" x=a\" \"b y=\"\"z \"w\" q=\"tab\there\"");
	CHECK(str_is(bootarg_get("init"), "/bin/sh -c 'echo hi'"));
	CHECK(str_is(bootarg_get("name"), "a b"));
	CHECK(str_is(bootarg_get("x"), "a b"));
	CHECK(str_is(bootarg_get("y"), "z"));
	CHECK(str_is(bootarg_get("w"), ""));
	CHECK(str_is(bootarg_get("q"), "tab\there"));
	CHECK_EQ(bootarg_count(), 6);
	CHECK_EQ(info_of().malformed, 0);
}

static void test_malformed_words_skipped(void)
{
	bootargs_init("=x good=1 \"a b\"=c also=2 bad=\"unterminated rest");
	CHECK_EQ(bootarg_count(), 2);
	CHECK(str_is(bootarg_get("good"), "1"));
	CHECK(str_is(bootarg_get("also"), "2"));
	CHECK(!bootarg_has("bad"));
	CHECK(!bootarg_has("a b"));
	CHECK(!bootarg_has(""));
	CHECK_EQ(info_of().malformed, 3);
}

static void test_dotted_names_and_dashes(void)
{
	bootargs_init("vmalloc.huge_pages=off fdt.debug page-alloc.hot=32 vm.a=1 vm=2");
	CHECK(str_is(bootarg_get("vmalloc.huge_pages"), "off"));
	CHECK(str_is(bootarg_get("vmalloc.huge-pages"), "off"));
	CHECK(str_is(bootarg_get("page_alloc.hot"), "32"));
	CHECK(bootarg_has("fdt.debug"));
	CHECK(!bootarg_has("fdt"));
	CHECK(!bootarg_has("debug"));
	CHECK(str_is(bootarg_get("vm.a"), "1"));
	CHECK(str_is(bootarg_get("vm"), "2"));
	CHECK(!bootarg_has("vmalloc.huge.pages"));
}

static void test_last_occurrence_wins(void)
{
	bootargs_init("loglevel=3 x loglevel=7 x=1 loglevel");
	CHECK(str_is(bootarg_get("loglevel"), ""));
	CHECK(str_is(bootarg_get("x"), "1"));
	CHECK_EQ(bootarg_count(), 5);
	CHECK(str_is(bootarg_value(0), "3"));
	CHECK(str_is(bootarg_value(2), "7"));
	bootargs_init("loglevel=3 loglevel=7");
	CHECK(str_is(bootarg_get("loglevel"), "7"));
}

static int u64_of(const char *line, u64 *v)
{
	bootargs_init(line);
	return bootarg_u64("n", v);
}

static void test_numbers_and_suffixes(void)
{
	u64 v = 0;

	CHECK_EQ(u64_of("n=0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(u64_of("n=12345", &v), 0);
	CHECK_EQ(v, 12345);
	CHECK_EQ(u64_of("n=010", &v), 0); /* decimal, not octal */
	CHECK_EQ(v, 10);
	CHECK_EQ(u64_of("n=0x1F", &v), 0);
	CHECK_EQ(v, 31);
	CHECK_EQ(u64_of("n=0XabC", &v), 0);
	CHECK_EQ(v, 0xabc);
	CHECK_EQ(u64_of("n=4K", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(u64_of("n=4k", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(u64_of("n=512M", &v), 0);
	CHECK_EQ(v, 512ull << 20);
	CHECK_EQ(u64_of("n=3g", &v), 0);
	CHECK_EQ(v, 3ull << 30);
	CHECK_EQ(u64_of("n=0x10M", &v), 0);
	CHECK_EQ(v, 16ull << 20);
	CHECK_EQ(u64_of("n=\"64K\"", &v), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(u64_of("n=18446744073709551615", &v), 0);
	CHECK(v == ~0ull);
	CHECK_EQ(u64_of("n=0xffffffffffffffff", &v), 0);
	CHECK(v == ~0ull);
	CHECK_EQ(u64_of("n=17179869183G", &v), 0); /* 2^34 - 1 G fits */
	CHECK(v == ((1ull << 34) - 1) << 30);
}

static void test_number_garbage_and_overflow(void)
{
	static const char *const garbage[] = {
		"n", "n=", "n=x", "n=0x", "n=0xg", "n=-1", "n=+1", "n=\" 1\"", "n=\"1 \"",
		"n=1.5", "n=1KB", "n=1T", "n=K", "n=12a", "n=0x1K2", "n=1e3", "n=0b101",
	};
	static const char *const too_big[] = {
		"n=18446744073709551616", "n=99999999999999999999999", "n=0x10000000000000000",
		"n=17179869184G", "n=18014398509481984K", "n=0x100000000000M",
	};
	u64 v = 77;

	for (unsigned i = 0; i < ARRAY_SIZE(garbage); i++) {
		int err = u64_of(garbage[i], &v);
		if (err != -EINVAL) printf("# %s -> %d\n", garbage[i], err);
		CHECK_EQ(err, -EINVAL);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(too_big); i++) {
		int err = u64_of(too_big[i], &v);
		if (err != -ERANGE) printf("# %s -> %d\n", too_big[i], err);
		CHECK_EQ(err, -ERANGE);
	}
	CHECK_EQ(v, 77); /* never written on failure */
	CHECK_EQ(u64_of("m=1", &v), -ENOENT);
}

static void test_booleans(void)
{
	bool b = false;

	bootargs_init("a b=on c=off d=1 e=0 f=yes g=no h=maybe i=ON");
	CHECK_EQ(bootarg_bool("a", &b), 0);
	CHECK(b);
	CHECK_EQ(bootarg_bool("c", &b), 0);
	CHECK(!b);
	CHECK_EQ(bootarg_bool("b", &b), 0);
	CHECK(b);
	CHECK_EQ(bootarg_bool("e", &b), 0);
	CHECK(!b);
	CHECK_EQ(bootarg_bool("d", &b), 0);
	CHECK(b);
	CHECK_EQ(bootarg_bool("g", &b), 0);
	CHECK(!b);
	CHECK_EQ(bootarg_bool("f", &b), 0);
	CHECK(b);
	CHECK_EQ(bootarg_bool("h", &b), -EINVAL);
	CHECK_EQ(bootarg_bool("i", &b), -EINVAL);
	CHECK_EQ(bootarg_bool("z", &b), -ENOENT);
}

static void test_comma_lists(void)
{
	bootargs_init("test=vmalloc,fdt,,page_alloc bare empty= one=fdt suite=all mixed=x,all");
	CHECK(bootarg_list_has("test", "vmalloc"));
	CHECK(bootarg_list_has("test", "fdt"));
	CHECK(bootarg_list_has("test", "page_alloc"));
	CHECK(!bootarg_list_has("test", "page"));
	CHECK(!bootarg_list_has("test", "vmalloc,fdt"));
	CHECK(!bootarg_list_has("test", "fd"));
	CHECK(!bootarg_list_has("test", "vmallocx"));
	CHECK(!bootarg_list_has("test", ""));
	CHECK(!bootarg_list_has("test", NULL));
	CHECK(bootarg_list_has("one", "fdt"));
	CHECK(!bootarg_list_has("one", "FDT"));
	CHECK(bootarg_list_has("suite", "anything"));
	CHECK(bootarg_list_has("mixed", "y"));
	CHECK(!bootarg_list_has("bare", "x"));
	CHECK(!bootarg_list_has("empty", "x"));
	CHECK(!bootarg_list_has("absent", "x"));
}

static void test_word_limit(void)
{
	char line[BOOTARGS_MAX_LEN];
	size_t n = 0;

	for (int i = 0; i < BOOTARGS_MAX_WORDS + 10; i++) n += (size_t)sprintf(line + n, "w%d=%d ", i, i);
	bootargs_init(line);
	CHECK_EQ(bootarg_count(), BOOTARGS_MAX_WORDS);
	CHECK_EQ(info_of().dropped_words, 10);
	CHECK(!info_of().truncated);
	CHECK(str_is(bootarg_get("w63"), "63"));
	CHECK(!bootarg_has("w64"));
	CHECK(str_is(bootarg_key(BOOTARGS_MAX_WORDS - 1), "w63"));
}

/* A line longer than the buffer keeps its head; a word cut in two is dropped, not shortened. */
static void test_overlong_lines(void)
{
	static char line[4 * BOOTARGS_MAX_LEN];

	memset(line, 0, sizeof(line));
	memset(line, 'a', BOOTARGS_MAX_LEN - 6);
	memcpy(line + BOOTARGS_MAX_LEN - 6, " mem=1024M more=1", 17); /* cut after "mem=1" */
	bootargs_init(line);
	CHECK(info_of().truncated);
	CHECK_EQ(info_of().malformed, 1);
	CHECK(!bootarg_has("mem"));
	CHECK_EQ(bootarg_count(), 1);
	CHECK_EQ(strlen(bootarg_key(0)), BOOTARGS_MAX_LEN - 6);
	CHECK_EQ(strlen(bootargs_cmdline()), BOOTARGS_MAX_LEN);

	/* Cut exactly at a separator: the last word is whole and kept. */
	memset(line, 0, sizeof(line));
	memset(line, ' ', sizeof(line) - 1);
	memcpy(line + BOOTARGS_MAX_LEN - 5, "ab=cd e=f", 9);
	bootargs_init(line);
	CHECK(info_of().truncated);
	CHECK_EQ(info_of().malformed, 0);
	CHECK(str_is(bootarg_get("ab"), "cd"));
	CHECK(!bootarg_has("e"));

	/* A huge single word must not overflow anything. */
	memset(line, 'k', sizeof(line) - 1);
	line[5] = '=';
	bootargs_init(line);
	CHECK_EQ(bootarg_count(), 0);
	CHECK_EQ(info_of().malformed, 1);

	/* Exactly BOOTARGS_MAX_LEN bytes is not truncated. */
	memset(line, 0, sizeof(line));
	memset(line, 'z', BOOTARGS_MAX_LEN);
	line[0] = 'k';
	line[1] = '=';
	bootargs_init(line);
	CHECK(!info_of().truncated);
	CHECK_EQ(strlen(bootarg_get("k")), BOOTARGS_MAX_LEN - 2);
}

/* Bytes that are neither separators nor quotes are data; nothing crashes. */
static void test_hostile_bytes(void)
{
	static char line[BOOTARGS_MAX_LEN + 64];
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(seed % sizeof(line));
		for (size_t i = 0; i < len; i++) {
			static const char alphabet[] = "ab=\"  ,.\t\n-_0xK\x01\xff";
			seed = seed * 1103515245 + 12345;
			line[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		line[len] = '\0';
		bootargs_init(line);
		CHECK(bootarg_count() >= 0 && bootarg_count() <= BOOTARGS_MAX_WORDS);
		for (int i = 0; i < bootarg_count(); i++) {
			u64 v;
			bool b;
			CHECK(bootarg_key(i)[0] != '\0');
			CHECK(strchr(bootarg_key(i), '"') == NULL);
			CHECK(strchr(bootarg_value(i), '"') == NULL);
			(void)bootarg_u64(bootarg_key(i), &v);
			(void)bootarg_bool(bootarg_key(i), &b);
			(void)bootarg_list_has(bootarg_key(i), "a");
		}
		seed = seed * 1103515245 + 12345;
	}
}

/* Every dropped word is remembered with its reason and its bytes in the original line. */
static void test_bad_words_named(void)
{
	const struct bootarg_bad_word *bad;
	char line[600];
	int n, len = 0;

	bootargs_init("a=1 =x \"b c\"=2 d=\"open");
	n = bootargs_bad_words(&bad);
	CHECK_EQ(n, 3);
	CHECK(n == 3 && bad[0].flaw == BA_FLAW_EMPTY_KEY && bad[1].flaw == BA_FLAW_SPACE_IN_KEY &&
	      bad[2].flaw == BA_FLAW_OPEN_QUOTE);
	CHECK(n == 3 && !strncmp(bootargs_cmdline() + bad[0].offset, "=x", bad[0].len) && bad[0].len == 2);
	CHECK(n == 3 && !strncmp(bootargs_cmdline() + bad[2].offset, "d=\"open", bad[2].len) && bad[2].len == 7);
	CHECK(!strcmp(bootarg_flaw_text(BA_FLAW_OPEN_QUOTE), "unterminated quote"));

	for (int i = 0; i < BOOTARGS_MAX_WORDS; i++) len += sprintf(line + len, "w%d ", i);
	sprintf(line + len, "test=boot");
	bootargs_init(line);
	n = bootargs_bad_words(&bad);
	CHECK_EQ(n, 1);
	CHECK(n == 1 && bad[0].flaw == BA_FLAW_TOO_MANY && bad[0].len == 9);
	CHECK(n == 1 && !strncmp(bootargs_cmdline() + bad[0].offset, "test=boot", 9));
	CHECK(bootarg_get("test") == NULL);
}

struct seen {
	int n, kinds[8], words[8];
};
static void note(void *ctx, int problem, int word, const struct bootarg_param *p)
{
	struct seen *s = ctx;
	(void)p;
	if (s->n < 8) {
		s->kinds[s->n] = problem;
		s->words[s->n] = word;
	}
	s->n++;
}

/* Each occurrence is checked against the table: ranges, number syntax, booleans, unknown keys. */
static void test_check_against_table(void)
{
	static const struct bootarg_param params[] = {
		{"lazy", BA_NUMBER, 1, 100, "pages", NULL},
		{"flag", BA_FLAG, 0, 0, "a flag", NULL},
		{"name", BA_TEXT, 0, 0, "text", NULL},
	};
	struct seen s = {0};

	bootargs_init("lazy=-1 lazy=0 lazy=99999999999999999999 lazy=100 lazy=0x10 flag flag=maybe name=x "
		      "initarg other=1 dotted.word");
	CHECK_EQ(bootargs_check(params, 3, note, &s), 4);
	CHECK_EQ(s.n, 6);
	CHECK(s.kinds[0] == BA_NOT_A_NUMBER && s.words[0] == 0);
	CHECK(s.kinds[1] == BA_OUT_OF_RANGE && s.words[1] == 1);
	CHECK(s.kinds[2] == BA_OUT_OF_RANGE && s.words[2] == 2);
	CHECK(s.kinds[3] == BA_NOT_A_BOOLEAN && s.words[3] == 6);
	CHECK(s.kinds[4] == BA_UNKNOWN_KEY && s.words[4] == 9);  /* other=1; the bare initarg is init's */
	CHECK(s.kinds[5] == BA_UNKNOWN_KEY && s.words[5] == 10); /* dotted.word */
	bootargs_init("lazy=5 flag=off name=");
	CHECK_EQ(bootargs_check(params, 3, NULL, NULL), 0);
}

/* A choice accepts exactly its words: not a prefix, not an extension, not the empty or bare value. */
static void test_choices(void)
{
	static const struct bootarg_param params[] = {
		{"tlb.remote", BA_CHOICE, 0, 0, "remote fence", "sbi|ipi|auto"},
	};
	struct seen s = {0};

	bootargs_init("tlb.remote=sbi tlb.remote=ipi tlb.remote=auto tlb.remote=sb tlb.remote=sbix tlb.remote= "
		      "tlb.remote tlb.remote=SBI tlb.remote=sbi|ipi");
	CHECK_EQ(bootargs_check(params, 1, note, &s), 6);
	CHECK_EQ(s.n, 6);
	for (int i = 0; i < 6; i++) CHECK(s.kinds[i] == BA_NOT_A_CHOICE && s.words[i] == i + 3);
	bootargs_init("tlb.remote=auto");
	CHECK_EQ(bootargs_check(params, 1, NULL, NULL), 0);
}

int main(void)
{
	htest_begin("bootargs", 17);
	htest_run("basic_words", test_basic_words);
	htest_run("empty_and_null_lines", test_empty_and_null_lines);
	htest_run("empty_values_and_equals", test_empty_values_and_equals);
	htest_run("quoting", test_quoting);
	htest_run("malformed_words_skipped", test_malformed_words_skipped);
	htest_run("dotted_names_and_dashes", test_dotted_names_and_dashes);
	htest_run("last_occurrence_wins", test_last_occurrence_wins);
	htest_run("numbers_and_suffixes", test_numbers_and_suffixes);
	htest_run("number_garbage_and_overflow", test_number_garbage_and_overflow);
	htest_run("booleans", test_booleans);
	htest_run("comma_lists", test_comma_lists);
	htest_run("word_limit", test_word_limit);
	htest_run("overlong_lines", test_overlong_lines);
	htest_run("hostile_bytes", test_hostile_bytes);
	htest_run("bad_words_named", test_bad_words_named);
	htest_run("check_against_table", test_check_against_table);
	htest_run("choices", test_choices);
	return htest_end();
}
