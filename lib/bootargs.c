/* Kernel command line parsing: one static copy split in place into key/value words. */
#include "lib/bootargs.h"
#include "lib/string.h"

struct bootarg_word {
	const char *key;
	const char *value;
	bool has_value; /* the word had an '=' */
};

static bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The original is kept apart from the split copy because splitting writes NULs over the
 * separators and removes quotes; both live here so the caller's string can go away. */
static char cmdline_copy[BOOTARGS_MAX_LEN + 1];
static char words_buf[BOOTARGS_MAX_LEN + 1];
static struct bootarg_word words[BOOTARGS_MAX_WORDS];
static int nr_words;
static struct bootargs_info info;
static struct bootarg_bad_word bad_words[BOOTARGS_MAX_BAD];
static int nr_bad;

/* [start, end) is where the reader went in words_buf; the same offsets in the untouched copy hold the
 * word as typed (splitting has written over words_buf by then). */
static void note_bad(const char *start, const char *end, int flaw)
{
	size_t from = (size_t)(start - words_buf), to = (size_t)(end - words_buf);

	if (nr_bad == BOOTARGS_MAX_BAD) return;
	while (to > from && is_sep(cmdline_copy[to - 1])) to--;
	bad_words[nr_bad++] = (struct bootarg_bad_word){(u16)from, (u16)(to - from), (u8)flaw};
}

/*
 * Reads one word from *rp, writing it without its quotes at *wp (never ahead of the reader,
 * so it can share the buffer), the key and value NUL-terminated. Returns 0, or the word's flaw
 * (enum bootarg_flaw). `cut` says the buffer ends where the original line did not.
 */
static int parse_word(char **rp, char **wp, bool cut, struct bootarg_word *out)
{
	char *r = *rp, *w = *wp;
	char *value = NULL;
	bool quoted = false;
	int flaw = 0;

	out->key = w;
	while (*r && (quoted || !is_sep(*r))) {
		char c = *r++;

		if (c == '"') {
			quoted = !quoted;
			continue;
		}
		if (c == '=' && !value) {
			*w++ = '\0';
			value = w;
			continue;
		}
		if (!value && is_sep(c) && !flaw) flaw = BA_FLAW_SPACE_IN_KEY;
		*w++ = c;
	}
	if (!*r && cut) flaw = BA_FLAW_CUT; /* the most useful explanation when several apply */
	else if (quoted) flaw = BA_FLAW_OPEN_QUOTE;
	if (*r) r++; /* the separator; the NUL below may land on it */
	*w++ = '\0';
	out->value = value ? value : w - 1; /* bare key: the empty string after it */
	out->has_value = value != NULL;
	if (out->key[0] == '\0' && !flaw) flaw = BA_FLAW_EMPTY_KEY;
	*rp = r;
	*wp = w;
	return flaw;
}

void bootargs_init(const char *cmdline)
{
	size_t len = cmdline ? strnlen(cmdline, BOOTARGS_MAX_LEN + 1) : 0;
	bool cut;
	char *r = words_buf, *w = words_buf;

	memset(&info, 0, sizeof(info));
	nr_words = 0;
	nr_bad = 0;
	if (len > BOOTARGS_MAX_LEN) {
		info.truncated = true;
		len = BOOTARGS_MAX_LEN;
	}
	/* A cut only breaks a word if the line went on with more of it. */
	cut = info.truncated && !is_sep(cmdline[BOOTARGS_MAX_LEN]);
	if (len) memcpy(cmdline_copy, cmdline, len);
	cmdline_copy[len] = '\0';
	memcpy(words_buf, cmdline_copy, len + 1);

	for (;;) {
		struct bootarg_word word;
		const char *start;
		int flaw;

		while (is_sep(*r)) r++;
		if (!*r) break;
		start = r;
		flaw = parse_word(&r, &w, cut, &word);
		if (flaw) {
			info.malformed++;
			note_bad(start, r, flaw);
		} else if (nr_words == BOOTARGS_MAX_WORDS) {
			info.dropped_words++;
			note_bad(start, r, BA_FLAW_TOO_MANY);
		} else {
			words[nr_words++] = word;
		}
	}
}

void bootargs_get_info(struct bootargs_info *out) { *out = info; }

const char *bootargs_cmdline(void) { return cmdline_copy; }

int bootargs_bad_words(const struct bootarg_bad_word **out)
{
	*out = bad_words;
	return nr_bad;
}

_Static_assert(BOOTARGS_MAX_LEN == 1024 && BOOTARGS_MAX_WORDS == 64, "update bootarg_flaw_text's numbers");

const char *bootarg_flaw_text(int flaw)
{
	switch (flaw) {
	case BA_FLAW_EMPTY_KEY: return "empty key";
	case BA_FLAW_SPACE_IN_KEY: return "space inside the key";
	case BA_FLAW_OPEN_QUOTE: return "unterminated quote";
	case BA_FLAW_CUT: return "cut off: the line is longer than 1024 bytes";
	case BA_FLAW_TOO_MANY: return "beyond the limit of 64 words";
	default: return "malformed";
	}
}

static char key_char(char c) { return c == '-' ? '_' : c; }

static bool key_eq(const char *a, const char *b)
{
	while (*a && key_char(*a) == key_char(*b)) a++, b++;
	return *a == *b;
}

const char *bootarg_get(const char *key)
{
	if (!key) return NULL;
	for (int i = nr_words - 1; i >= 0; i--)
		if (key_eq(words[i].key, key)) return words[i].value;
	return NULL;
}

bool bootarg_has(const char *key) { return bootarg_get(key) != NULL; }

static int digit_value(char c, unsigned base)
{
	int d = -1;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

static int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	default: return -1;
	}
}

static int parse_u64(const char *s, u64 *out)
{
	unsigned base = 10;
	u64 v = 0;
	int shift, d, ndigits = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; (d = digit_value(*s, base)) >= 0; s++, ndigits++) {
		if (v > (~0ull - (u64)d) / base) return -ERANGE;
		v = v * base + (u64)d;
	}
	if (!ndigits) return -EINVAL;
	if (*s) {
		shift = suffix_shift(*s++);
		if (shift < 0 || *s) return -EINVAL;
		if (v > (~0ull >> shift)) return -ERANGE;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int bootarg_u64(const char *key, u64 *out)
{
	const char *s = bootarg_get(key);

	return s ? parse_u64(s, out) : -ENOENT;
}

static bool str_in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0) return true;
	return false;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"", "1", "y", "yes", "on", "true"};
	static const char *const no[] = {"0", "n", "no", "off", "false"};

	if (str_in(s, yes, ARRAY_SIZE(yes))) {
		*out = true;
		return 0;
	}
	if (str_in(s, no, ARRAY_SIZE(no))) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int bootarg_bool(const char *key, bool *out)
{
	const char *s = bootarg_get(key);

	return s ? parse_bool(s, out) : -ENOENT;
}

#ifdef HOST_TEST /* test support: only host tests call these */
/* Does the element [s, s+n) equal the NUL-terminated word? */
static bool element_is(const char *s, size_t n, const char *word)
{
	return strncmp(s, word, n) == 0 && word[n] == '\0';
}

bool bootarg_list_has(const char *key, const char *item)
{
	const char *s = bootarg_get(key);

	if (!s || !*s || !item || !*item) return false;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);

		if (element_is(s, n, item) || element_is(s, n, "all")) return true;
		if (!comma) return false;
		s = comma + 1;
	}
}
#endif

int bootarg_count(void) { return nr_words; }

const char *bootarg_key(int i) { return i >= 0 && i < nr_words ? words[i].key : NULL; }

const char *bootarg_value(int i) { return i >= 0 && i < nr_words ? words[i].value : NULL; }
bool bootarg_has_value(int i) { return i >= 0 && i < nr_words && words[i].has_value; }

static const struct bootarg_param *find_param(const struct bootarg_param *params, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (key_eq(params[i].key, key)) return &params[i];
	return NULL;
}

/* Whether v is one of the '|'-separated words of choices, whole. */
static bool is_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *c = choices; c && *c;) {
		const char *end = strchr(c, '|');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == n && n && !strncmp(c, v, n)) return true;
		c = end ? end + 1 : NULL;
	}
	return false;
}

int bootargs_check(const struct bootarg_param *params, int nparams, bootarg_problem_fn fn, void *ctx)
{
	int errors = 0;

	for (int i = 0; i < nr_words; i++) {
		const struct bootarg_param *p = find_param(params, nparams, words[i].key);
		const char *v = words[i].value;
		int problem = 0;
		u64 n;
		bool b;

		if (!p) {
			/* A bare word without a '.' is an argument for init, as in Linux. */
			if (words[i].has_value || strchr(words[i].key, '.')) problem = BA_UNKNOWN_KEY;
		} else if (p->type == BA_NUMBER) {
			int e = parse_u64(v, &n);
			if (e == -ERANGE || (!e && (n < p->min || n > p->max))) problem = BA_OUT_OF_RANGE;
			else if (e) problem = BA_NOT_A_NUMBER;
		} else if (p->type == BA_FLAG && parse_bool(v, &b)) {
			problem = BA_NOT_A_BOOLEAN;
		} else if (p->type == BA_CHOICE && !is_choice(p->choices, v)) {
			problem = BA_NOT_A_CHOICE;
		}
		if (!problem) continue;
		if (problem != BA_UNKNOWN_KEY) errors++;
		if (fn) fn(ctx, problem, i, p);
	}
	return errors;
}
