/* Kernel command line: Linux-style words (key, key=value, name.param=value) and typed lookups. */
#ifndef LIB_BOOTARGS_H
#define LIB_BOOTARGS_H

#include "lib/types.h"

#define BOOTARGS_MAX_LEN 1024 /* bytes of command line kept; the rest is dropped */
#define BOOTARGS_MAX_WORDS 64 /* words kept; later ones are dropped */

/*
 * Words are separated by spaces, tabs or newlines. Double quotes group text containing spaces
 * and are removed: key="a b", "key=a b" and key=a" "b all give key -> `a b`. A word splits at
 * its first '='. In keys, '-' and '_' are the same character (as in Linux), so
 * vmalloc.huge_pages and vmalloc.huge-pages name one parameter.
 *
 * Malformed words are skipped and counted: an empty key ("=x"), a key with a space in it, an
 * unterminated quote, and the last word when the line was truncated in the middle of it (a cut
 * "mem=1024M" must not become "mem=10").
 */
struct bootargs_info {
	bool truncated;    /* the line was longer than BOOTARGS_MAX_LEN */
	int dropped_words; /* well-formed words beyond BOOTARGS_MAX_WORDS */
	int malformed;     /* words rejected as described above */
};

/* Why a word of the line was not kept; the boot refuses a line with any of these. */
enum bootarg_flaw {
	BA_FLAW_EMPTY_KEY = 1, /* "=x" */
	BA_FLAW_SPACE_IN_KEY,  /* "\"a b\"=1" */
	BA_FLAW_OPEN_QUOTE,    /* a quote never closed */
	BA_FLAW_CUT,           /* the line was truncated in the middle of this word */
	BA_FLAW_TOO_MANY,      /* well-formed, but beyond BOOTARGS_MAX_WORDS */
};
#define BOOTARGS_MAX_BAD 16 /* bad words remembered for the warnings; all are counted in the info */
struct bootarg_bad_word {
	u16 offset, len; /* the word's bytes in bootargs_cmdline(), quotes included */
	u8 flaw;
};

/* Copies and splits the line (NULL means empty). May be called again; the previous line is
 * forgotten. Not thread-safe: meant for early boot. */
void bootargs_init(const char *cmdline);
void bootargs_get_info(struct bootargs_info *info);
const char *bootargs_cmdline(void); /* the copy as given (possibly truncated), for the boot log */
/* The first BOOTARGS_MAX_BAD bad words in line order; returns how many are in *out. */
int bootargs_bad_words(const struct bootarg_bad_word **out);
const char *bootarg_flaw_text(int flaw); /* "unterminated quote", ... */

/* The value of the last occurrence of key: "" for a bare key or "key=", NULL if absent. */
const char *bootarg_get(const char *key);
bool bootarg_has(const char *key);

/* Unsigned number: decimal or 0x-prefixed hex, optionally followed by one of K, M, G (either
 * case; binary multiples). 0, -ENOENT if absent, -EINVAL if empty or not a number (no sign, no
 * spaces, nothing after the suffix), -ERANGE if it does not fit in 64 bits. *out is written only
 * on success. */
int bootarg_u64(const char *key, u64 *out);

/* Boolean: a bare key, 1, y, yes, on, true mean true; 0, n, no, off, false mean false (lower
 * case). 0, -ENOENT if absent, -EINVAL otherwise. */
int bootarg_bool(const char *key, bool *out);

#ifdef HOST_TEST /* test support: only host tests call these */
/* Comma lists, e.g. test=vmalloc,fdt: true if item, or "all", is one of the elements. False if
 * the key is absent or bare, or item is empty. Elements compare exactly (case and all). */
bool bootarg_list_has(const char *key, const char *item);
#endif

/*
 * The parameters a program knows, to check a whole line against: every kept word whose key is not
 * listed (and is not a bare word without a '.', which is init's argument) is reported as unknown;
 * every occurrence of a listed number or boolean is parsed and range-checked, not just the last.
 */
enum bootarg_type {
	BA_TEXT,   /* any value */
	BA_FLAG,   /* a bare key or a boolean value */
	BA_NUMBER, /* bootarg_u64's syntax, min..max inclusive */
	BA_CHOICE, /* exactly one of the words in `choices` */
};
struct bootarg_param {
	const char *key;
	u8 type;
	u64 min, max;
	const char *what; /* one line of help for the warning */
	const char *choices; /* BA_CHOICE: the accepted values, '|' between them ("sbi|ipi|auto") */
};
enum bootarg_problem {
	BA_UNKNOWN_KEY = 1, /* a warning: the word is ignored */
	BA_NOT_A_NUMBER,    /* errors from here on */
	BA_OUT_OF_RANGE,    /* includes numbers that do not fit in 64 bits */
	BA_NOT_A_BOOLEAN,
	BA_NOT_A_CHOICE,
};
/* fn(ctx, problem, word index, the param or NULL for unknown keys) once per problem, in line order.
 * Returns the number of errors (unknown keys are not errors). */
typedef void (*bootarg_problem_fn)(void *ctx, int problem, int word, const struct bootarg_param *p);
int bootargs_check(const struct bootarg_param *params, int nparams, bootarg_problem_fn fn, void *ctx);

/* Iteration over the kept words in command-line order; NULL when i is out of range. */
int bootarg_count(void);
const char *bootarg_key(int i);
const char *bootarg_value(int i);
/* Whether word i had an '=' (false also when i is out of range): "x=" has one, with an empty value. */
bool bootarg_has_value(int i);

#endif
