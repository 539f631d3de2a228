/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Triage engine.  Generic: everything about Russian, Ukrainian, English,
 * surrender or captivity lives in the rules file (worker/rules/triage.rules,
 * format in docs/triage.md).  This file only knows how to
 *   - parse that file strictly (errors name the line), under hard caps;
 *   - match word patterns (exact words, prefixes, suffixes, word lists,
 *     token classes, small gaps) over the tokens of a message, with
 *     exception patterns that cancel overlapping matches (negations);
 *   - apply the ordered queue and urgency rules (first match wins), and
 *   - count words per language with the guide's tie rule.
 */
#include "triage.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "triage_text.h"

/* Caps on the rules file: a typo must not make the worker allocate GBs. */
#define RULES_FILE_MAX    (512u * 1024u)
#define RULES_LINE_MAX    1024u
#define ATOMS_MAX         32768u
#define SLOTS_MAX         16384u
#define PATTERNS_MAX      8192u
#define SIGNALS_MAX       256u
#define LEXICONS_MAX      64u
#define RULES_MAX         256u
#define CONDS_MAX         2048u
#define LETTERS_MAX       512u
#define KEYROWS_MAX       16u
#define KEYROW_CP_MAX     32u
#define NAME_LEN          32u
#define PATTERN_SLOTS_MAX 8u
#define SLOT_ATOMS_MAX    128u
#define GAP_MAX           8u
#define STRINGS_MAX       (1024u * 1024u)
/* Letters below this code point are looked up in a table (Latin,
 * Cyrillic and Greek all are); the others in a sorted list. */
#define LOW_CP 0x800u

/* Caps on a message: larger ones are refused with ITK_E_TOO_BIG. */
#define TEXT_MAX (64u * 1024u)

enum atom_kind { A_EXACT, A_PREFIX, A_SUFFIX, A_LEX, A_CLASS };
enum atom_class {
	CL_ANY,
	CL_WORD,
	CL_NUM,
	CL_YEAR,
	CL_TIME,
	CL_DATE,
	CL_DEC,
	CL_CODE,
	CL_CAP,
	CL_TITLE,
	CL_COUNT
};
static const char *const class_names[CL_COUNT] = {
    "any",  "word",    "num",  "year", "time",
    "date", "decimal", "code", "cap",  "title"};

struct atom {
	uint8_t kind; /* enum atom_kind */
	uint8_t cap;  /* 1: the token must be capitalised */
	uint16_t arg; /* lexicon index or class */
	uint32_t off; /* normalised text in strings */
	uint32_t len;
};

struct slot {
	uint32_t atom0;
	uint16_t natoms;
	uint8_t gap; /* tokens that may be skipped before this slot */
};

struct pattern {
	uint32_t slot0;
	uint8_t nslots;
	uint8_t except;
};

struct signal {
	char name[NAME_LEN];
	uint32_t pat0, npat;
};

struct lexicon {
	char name[NAME_LEN];
	uint32_t atom0, natoms;
};

enum cond_kind { C_SIG, C_NOTSIG, C_QUEUE };

struct cond {
	uint8_t kind;
	uint16_t idx;
};

struct rule {
	uint8_t target;
	uint16_t cond0, ncond;
};

struct language {
	bool defined;
	uint32_t atom0, natoms;
	uint32_t let0, nlet;
	unsigned order; /* position in the file: letter checks go in order */
};

enum fallback {
	FB_SHARED_CYR,
	FB_SHARED_LAT,
	FB_UNKNOWN_CYR,
	FB_UNKNOWN_LAT,
	FB_NONE,
	FB_COUNT
};
static const char *const fallback_names[FB_COUNT] = {
    "shared-cyrillic", "shared-latin", "unknown-cyrillic", "unknown-latin",
    "none"};

struct triage_rules {
	char *strings;
	size_t strings_used;
	struct atom *atoms;
	size_t natoms;
	struct slot *slots;
	size_t nslots;
	struct pattern *pats;
	size_t npats;
	struct signal sig[SIGNALS_MAX];
	size_t nsig;
	struct lexicon lex[LEXICONS_MAX];
	size_t nlex;
	struct cond conds[CONDS_MAX];
	size_t nconds;
	struct rule queue_rules[RULES_MAX];
	size_t nqueue;
	struct rule urg_rules[RULES_MAX];
	size_t nurg;
	struct language lang[ITK_LANG_COUNT];
	unsigned nlang_defined;
	uint32_t letters[LETTERS_MAX];
	size_t nletters;
	uint32_t keyrow[KEYROWS_MAX][KEYROW_CP_MAX];
	size_t keyrow_len[KEYROWS_MAX];
	size_t nkeyrows;
	unsigned gap_default;
	itk_lang fallback[FB_COUNT];
	bool have_version, have_queue, have_urgency;
	/* Built after parsing (build_index): see "Index" below. */
	struct ikey *keys;
	size_t nkeys;
	uint32_t *table; /* size tmask + 1; see struct ikey */
	uint32_t tmask;
	unsigned kbits; /* low bits of a table entry: key index + 1 */
	struct owner *owners;
	size_t nowners;
	uint32_t lex_first[LEXICONS_MAX]; /* owner chains, 0 = end */
	uint32_t class_first[CL_COUNT];
	uint16_t *pat_sig;
	size_t prefix_max, suffix_max; /* longest prefix and suffix key */
	uint8_t classes[CL_COUNT];     /* classes with owner chains */
	size_t nclasses;
	/* Language letters by code point: bit l set when language l lists
	 * the letter.  Below LOW_CP a table, above it a sorted list. */
	uint16_t letter_lo[LOW_CP];
	struct cpmask *letter_hi;
	size_t nletter_hi;
	/* Neighbouring keys, (low << 32 | high) code points, sorted. */
	uint64_t keypair[KEYROWS_MAX * KEYROW_CP_MAX];
	size_t nkeypairs;
	/* When no key is on two rows or twice on one: the row and place of
	 * each key below LOW_CP (row * (KEYROW_CP_MAX + 1) + place + 1, 0 =
	 * not a key; rows KEYROW_CP_MAX + 1 apart so that the last key of a
	 * row and the first of the next are never adjacent), so that
	 * neighbours cost two loads. */
	uint16_t keypos[LOW_CP];
	bool keypos_ok;
};

struct cpmask {
	uint32_t cp;
	uint16_t mask;
};

/*
 * Index: the classifier used to try every pattern's first slot, and every
 * word of every list, against every token.  Instead, at load time each
 * word (exact, prefix or suffix; normalised bytes) becomes a key of one
 * hash table whose value is the chain of its owners: the patterns whose
 * first slot holds it, the word lists and the languages that list it.  A
 * token then costs one lookup per distinct prefix and suffix length.
 * Patterns whose first slot holds a word list or a class are chained per
 * list and per class.  The index only narrows which patterns are tried
 * where; the match itself is the same code as before.
 */
enum owner_type { O_PAT, O_LEX, O_LANG };

struct owner {
	uint32_t next; /* owner index + 1, 0 = end of chain */
	uint32_t id;   /* pattern, word list or language */
	uint8_t type;  /* enum owner_type */
	uint8_t cap;   /* pattern atom wants a capitalised token */
};

/*
 * A key.  A table entry is the key's index + 1 in its low kbits bits and
 * the top bits of the key's hash above them, so that a probe that misses
 * reads only the table, which is kept small (a load on it was most of the
 * classifier's time when it did not fit the cache).
 */
struct ikey {
	uint32_t off; /* in strings */
	uint16_t len; /* bytes */
	uint8_t kind; /* A_EXACT, A_PREFIX or A_SUFFIX */
	uint32_t hash;
	uint32_t head; /* owner chain */
};

/* ------------------------------------------------------------------ */
/* Parsing */

enum section {
	SEC_TOP,
	SEC_LEXICON,
	SEC_SIGNAL,
	SEC_LANGUAGE,
	SEC_QUEUE,
	SEC_URGENCY,
	SEC_SETTINGS
};

typedef struct {
	triage_rules *r;
	enum section sec;
	int cur; /* index of the current signal, lexicon or language */
	unsigned line;
	char *err;
	size_t errlen;
	/* Scratch for normalising one rule word. */
	tt_token tok[4];
	char arena[2 * RULES_LINE_MAX + 64];
} pstate;

static itk_err fail(pstate *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static itk_err
fail(pstate *ps, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (ps->err == NULL || ps->errlen == 0) {
		return ITK_E_FORMAT;
	}
	n = (size_t)snprintf(ps->err, ps->errlen, "line %u: ", ps->line);
	if (n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return ITK_E_FORMAT;
}

/* Splits the next whitespace-separated word off *s (modified in place). */
static char *
next_word(char **s)
{
	char *p = *s, *w;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	w = p;
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		p++;
	}
	if (*p != '\0') {
		*p++ = '\0';
	}
	*s = p;
	return w;
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAME_LEN) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

static int
find_signal(const triage_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nsig; i++) {
		if (strcmp(r->sig[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static int
find_lexicon(const triage_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nlex; i++) {
		if (strcmp(r->lex[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static itk_err
put_string(pstate *ps, const char *s, size_t n, uint32_t *off)
{
	triage_rules *r = ps->r;

	if (STRINGS_MAX - r->strings_used < n) {
		return fail(ps, "too many words (cap %u bytes)", STRINGS_MAX);
	}
	memcpy(r->strings + r->strings_used, s, n);
	*off = (uint32_t)r->strings_used;
	r->strings_used += n;
	return ITK_OK;
}

/*
 * One atom: word, word*, *suffix, ^word (capitalised), @lexicon, <class>.
 * plain: only word, word* and *suffix are allowed (word lists).
 */
static itk_err
parse_atom(pstate *ps, const char *w, bool plain)
{
	triage_rules *r = ps->r;
	struct atom a;
	size_t n = strlen(w);
	tt_tokens t;

	memset(&a, 0, sizeof(a));
	if (r->natoms >= ATOMS_MAX) {
		return fail(ps, "too many words (cap %u)", ATOMS_MAX);
	}
	if (!plain && w[0] == '^') {
		a.cap = 1;
		w++;
		n--;
	}
	if (n == 0) {
		return fail(ps, "empty word");
	}
	if (w[0] == '@') {
		int li = find_lexicon(r, w + 1);

		if (plain) {
			return fail(ps, "'%s': no @lists inside a word list",
				    w);
		}
		if (li < 0) {
			return fail(ps,
				    "unknown word list '%s' (define it "
				    "above)",
				    w);
		}
		a.kind = A_LEX;
		a.arg = (uint16_t)li;
		goto add;
	}
	if (w[0] == '<') {
		if (plain) {
			return fail(ps, "'%s': no <classes> in a word list",
				    w);
		}
		for (unsigned c = 0; c < CL_COUNT; c++) {
			size_t cl = strlen(class_names[c]);

			if (n == cl + 2 && w[n - 1] == '>' &&
			    memcmp(w + 1, class_names[c], cl) == 0) {
				a.kind = A_CLASS;
				a.arg = (uint16_t)c;
				goto add;
			}
		}
		return fail(ps, "unknown class '%s'", w);
	}
	a.kind = A_EXACT;
	if (w[0] == '*') {
		a.kind = A_SUFFIX;
		w++;
		n--;
	}
	if (n > 0 && w[n - 1] == '*') {
		if (a.kind == A_SUFFIX) {
			return fail(ps, "'%s': '*' at both ends", w - 1);
		}
		a.kind = A_PREFIX;
		n--;
	}
	if (n == 0) {
		return fail(ps, "a bare '*' matches everything; use <word>");
	}
	t.tok = ps->tok;
	t.cap = sizeof(ps->tok) / sizeof(ps->tok[0]);
	t.arena = ps->arena;
	t.arena_cap = sizeof(ps->arena);
	tt_tokenize(w, n, &t);
	if (t.n != 1 || t.tok[0].len == 0) {
		return fail(ps,
			    "'%.*s' is not one word (write phrases as "
			    "separate words)",
			    (int)n, w);
	}
	if (memchr(w, '*', n) != NULL) {
		return fail(ps, "'*' only at the start or end of '%.*s'",
			    (int)n, w);
	}
	a.len = t.tok[0].len;
	if (put_string(ps, tt_text(&t, &t.tok[0]), a.len, &a.off) != ITK_OK) {
		return ITK_E_FORMAT;
	}
add:
	r->atoms[r->natoms++] = a;
	return ITK_OK;
}

/* A pattern: slots separated by spaces, alternatives by '|', gaps "..N". */
static itk_err
parse_pattern(pstate *ps, char *rest, bool except)
{
	triage_rules *r = ps->r;
	struct pattern p;
	struct signal *sg = &r->sig[ps->cur];
	unsigned gap = 0;
	bool gap_pending = false;
	char *w;

	if (r->npats >= PATTERNS_MAX) {
		return fail(ps, "too many patterns (cap %u)", PATTERNS_MAX);
	}
	memset(&p, 0, sizeof(p));
	p.slot0 = (uint32_t)r->nslots;
	p.except = except ? 1 : 0;
	while ((w = next_word(&rest)) != NULL) {
		struct slot sl;
		char *alt, *bar;

		if (w[0] == '.' && w[1] == '.') {
			if (p.nslots == 0 || gap_pending) {
				return fail(ps, "'..' must stand between "
						"two words");
			}
			gap = ps->r->gap_default;
			if (w[2] != '\0') {
				if (w[2] < '0' || w[2] > '9' || w[3] != '\0' ||
				    (unsigned)(w[2] - '0') > GAP_MAX) {
					return fail(ps,
						    "bad gap '%s' (..0 to "
						    "..%u)",
						    w, GAP_MAX);
				}
				gap = (unsigned)(w[2] - '0');
			}
			gap_pending = true;
			continue;
		}
		if (p.nslots >= PATTERN_SLOTS_MAX) {
			return fail(ps, "pattern longer than %u words",
				    PATTERN_SLOTS_MAX);
		}
		if (r->nslots >= SLOTS_MAX) {
			return fail(ps, "too many pattern words (cap %u)",
				    SLOTS_MAX);
		}
		memset(&sl, 0, sizeof(sl));
		sl.atom0 = (uint32_t)r->natoms;
		sl.gap = (uint8_t)(gap_pending ? gap : 0);
		gap_pending = false;
		for (alt = w; alt != NULL; alt = bar) {
			bar = strchr(alt, '|');
			if (bar != NULL) {
				*bar++ = '\0';
			}
			if (sl.natoms >= SLOT_ATOMS_MAX) {
				return fail(ps, "more than %u alternatives",
					    SLOT_ATOMS_MAX);
			}
			if (parse_atom(ps, alt, false) != ITK_OK) {
				return ITK_E_FORMAT;
			}
			sl.natoms++;
		}
		r->slots[r->nslots++] = sl;
		p.nslots++;
	}
	if (p.nslots == 0) {
		return fail(ps, "empty pattern");
	}
	if (gap_pending) {
		return fail(ps, "'..' must stand between two words");
	}
	r->pats[r->npats++] = p;
	sg->npat++;
	return ITK_OK;
}

/* "any a b c": each word is a pattern of its own. */
static itk_err
parse_any(pstate *ps, char *rest)
{
	char *w;
	bool some = false;

	while ((w = next_word(&rest)) != NULL) {
		if (parse_pattern(ps, w, false) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		some = true;
	}
	return some ? ITK_OK : fail(ps, "'any' needs words");
}

static itk_err
parse_words(pstate *ps, char *rest, uint32_t *count)
{
	char *w;

	while ((w = next_word(&rest)) != NULL) {
		if (parse_atom(ps, w, true) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		(*count)++;
	}
	return ITK_OK;
}

static itk_err
parse_letters(pstate *ps, char *rest)
{
	triage_rules *r = ps->r;
	struct language *lg = &r->lang[ps->cur];
	char *w;

	while ((w = next_word(&rest)) != NULL) {
		size_t i = 0, n = strlen(w);

		while (i < n) {
			uint32_t cp = tt_utf8_next((const uint8_t *)w, n, &i);

			if (r->nletters >= LETTERS_MAX) {
				return fail(ps, "too many letters (cap %u)",
					    LETTERS_MAX);
			}
			r->letters[r->nletters++] = tt_fold(cp);
			lg->nlet++;
		}
	}
	return ITK_OK;
}

/* "label = cond cond ..." in [queue] or [urgency]. */
static itk_err
parse_rule(pstate *ps, char *line)
{
	triage_rules *r = ps->r;
	bool urg = ps->sec == SEC_URGENCY;
	struct rule ru;
	char *label = next_word(&line), *eq = next_word(&line), *w;
	int t;

	t = urg ? itk_urgency_from_name(label) : itk_queue_from_name(label);
	if (t < 0) {
		return fail(ps, "unknown %s '%s'", urg ? "urgency" : "queue",
			    label);
	}
	if (eq == NULL || strcmp(eq, "=") != 0) {
		return fail(ps, "expected '%s = conditions'", label);
	}
	if ((urg ? r->nurg : r->nqueue) >= RULES_MAX) {
		return fail(ps, "too many rules (cap %u)", RULES_MAX);
	}
	memset(&ru, 0, sizeof(ru));
	ru.target = (uint8_t)t;
	ru.cond0 = (uint16_t)r->nconds;
	while ((w = next_word(&line)) != NULL) {
		struct cond c;

		if (r->nconds >= CONDS_MAX) {
			return fail(ps, "too many conditions (cap %u)",
				    CONDS_MAX);
		}
		memset(&c, 0, sizeof(c));
		if (strncmp(w, "queue:", 6) == 0) {
			int q = itk_queue_from_name(w + 6);

			if (!urg || q < 0) {
				return fail(ps, "bad condition '%s'", w);
			}
			c.kind = C_QUEUE;
			c.idx = (uint16_t)q;
		} else {
			int s;

			c.kind = C_SIG;
			if (w[0] == '!') {
				c.kind = C_NOTSIG;
				w++;
			}
			s = find_signal(r, w);
			if (s < 0) {
				return fail(ps,
					    "unknown signal '%s' (define "
					    "it above)",
					    w);
			}
			c.idx = (uint16_t)s;
		}
		r->conds[r->nconds++] = c;
		ru.ncond++;
	}
	if (urg) {
		r->urg_rules[r->nurg++] = ru;
	} else {
		r->queue_rules[r->nqueue++] = ru;
	}
	return ITK_OK;
}

static itk_err
parse_settings(pstate *ps, const char *d, char *rest)
{
	triage_rules *r = ps->r;
	char *w;

	if (strcmp(d, "gap") == 0) {
		w = next_word(&rest);
		if (w == NULL || w[0] < '0' || w[0] > '9' || w[1] != '\0' ||
		    (unsigned)(w[0] - '0') > GAP_MAX ||
		    next_word(&rest) != NULL) {
			return fail(ps, "gap takes one number 0..%u", GAP_MAX);
		}
		r->gap_default = (unsigned)(w[0] - '0');
		return ITK_OK;
	}
	if (strcmp(d, "keyboard") == 0) {
		while ((w = next_word(&rest)) != NULL) {
			size_t i = 0, n = strlen(w), k = 0;

			if (r->nkeyrows >= KEYROWS_MAX) {
				return fail(ps, "too many keyboard rows");
			}
			while (i < n) {
				uint32_t cp =
				    tt_utf8_next((const uint8_t *)w, n, &i);

				if (k >= KEYROW_CP_MAX) {
					return fail(ps, "keyboard row too "
							"long");
				}
				r->keyrow[r->nkeyrows][k++] = tt_fold(cp);
			}
			r->keyrow_len[r->nkeyrows++] = k;
		}
		return ITK_OK;
	}
	if (strcmp(d, "fallback") == 0) {
		char *what = next_word(&rest), *lang = next_word(&rest);
		int l = lang == NULL ? -1 : itk_lang_from_name(lang);

		for (unsigned f = 0; what != NULL && f < FB_COUNT; f++) {
			if (strcmp(what, fallback_names[f]) == 0 && l >= 0 &&
			    next_word(&rest) == NULL) {
				r->fallback[f] = (itk_lang)l;
				return ITK_OK;
			}
		}
		return fail(ps, "expected 'fallback shared-cyrillic|"
				"shared-latin|unknown-cyrillic|unknown-latin|"
				"none LANGUAGE'");
	}
	return fail(ps, "unknown directive '%s' in [settings]", d);
}

static itk_err
parse_section(pstate *ps, char *line)
{
	triage_rules *r = ps->r;
	size_t n = strlen(line);
	char *kind, *name, *rest;

	if (line[n - 1] != ']') {
		return fail(ps, "section header must end with ']'");
	}
	line[n - 1] = '\0';
	rest = line + 1;
	kind = next_word(&rest);
	name = next_word(&rest);
	if (kind == NULL || next_word(&rest) != NULL) {
		return fail(ps, "bad section header");
	}
	if (!r->have_version) {
		return fail(ps, "the file must start with 'version 1'");
	}
	if (strcmp(kind, "queue") == 0 || strcmp(kind, "urgency") == 0 ||
	    strcmp(kind, "settings") == 0) {
		bool q = kind[0] == 'q', u = kind[0] == 'u';

		if (name != NULL) {
			return fail(ps, "[%s] takes no name", kind);
		}
		if ((q && r->have_queue) || (u && r->have_urgency)) {
			return fail(ps, "[%s] given twice", kind);
		}
		r->have_queue |= q;
		r->have_urgency |= u;
		ps->sec = q ? SEC_QUEUE : u ? SEC_URGENCY : SEC_SETTINGS;
		return ITK_OK;
	}
	if (name == NULL) {
		return fail(ps, "[%s] needs a name", kind);
	}
	if (strcmp(kind, "language") == 0) {
		int l = itk_lang_from_name(name);

		if (l < 0) {
			return fail(ps, "unknown language '%s'", name);
		}
		if (r->lang[l].defined) {
			return fail(ps, "[language %s] given twice", name);
		}
		r->lang[l].defined = true;
		r->lang[l].atom0 = (uint32_t)r->natoms;
		r->lang[l].let0 = (uint32_t)r->nletters;
		r->lang[l].order = r->nlang_defined++;
		ps->sec = SEC_LANGUAGE;
		ps->cur = l;
		return ITK_OK;
	}
	if (!valid_name(name)) {
		return fail(ps, "bad name '%s' (a-z 0-9 _ -, under %u)", name,
			    NAME_LEN);
	}
	if (strcmp(kind, "signal") == 0) {
		struct signal *s;

		if (find_signal(r, name) >= 0 || r->nsig >= SIGNALS_MAX) {
			return fail(ps, "signal '%s' twice or too many", name);
		}
		s = &r->sig[r->nsig];
		memset(s, 0, sizeof(*s));
		memcpy(s->name, name, strlen(name) + 1);
		s->pat0 = (uint32_t)r->npats;
		ps->cur = (int)r->nsig++;
		ps->sec = SEC_SIGNAL;
		return ITK_OK;
	}
	if (strcmp(kind, "words") == 0) {
		struct lexicon *lx;

		if (find_lexicon(r, name) >= 0 || r->nlex >= LEXICONS_MAX) {
			return fail(ps, "word list '%s' twice or too many",
				    name);
		}
		lx = &r->lex[r->nlex];
		memset(lx, 0, sizeof(*lx));
		memcpy(lx->name, name, strlen(name) + 1);
		lx->atom0 = (uint32_t)r->natoms;
		ps->cur = (int)r->nlex++;
		ps->sec = SEC_LEXICON;
		return ITK_OK;
	}
	return fail(ps, "unknown section '[%s]'", kind);
}

static itk_err
parse_line(pstate *ps, char *line)
{
	triage_rules *r = ps->r;
	char *rest = line, *d;

	if (line[0] == '[') {
		return parse_section(ps, line);
	}
	if (ps->sec == SEC_QUEUE || ps->sec == SEC_URGENCY) {
		return parse_rule(ps, line);
	}
	d = next_word(&rest);
	switch (ps->sec) {
	case SEC_TOP:
		if (strcmp(d, "version") == 0 && !r->have_version) {
			char *v = next_word(&rest);

			if (v == NULL || strcmp(v, "1") != 0 ||
			    next_word(&rest) != NULL) {
				return fail(ps, "unsupported version (this "
						"engine reads version 1)");
			}
			r->have_version = true;
			return ITK_OK;
		}
		return fail(ps,
			    "unknown directive '%s' (expected 'version "
			    "1' or a [section])",
			    d);
	case SEC_LEXICON:
		if (strcmp(d, "words") == 0) {
			return parse_words(ps, rest, &r->lex[ps->cur].natoms);
		}
		break;
	case SEC_LANGUAGE:
		if (strcmp(d, "words") == 0) {
			return parse_words(ps, rest, &r->lang[ps->cur].natoms);
		}
		if (strcmp(d, "letters") == 0) {
			return parse_letters(ps, rest);
		}
		break;
	case SEC_SIGNAL:
		if (strcmp(d, "match") == 0 || strcmp(d, "except") == 0) {
			return parse_pattern(ps, rest, d[0] == 'e');
		}
		if (strcmp(d, "any") == 0) {
			return parse_any(ps, rest);
		}
		break;
	case SEC_SETTINGS:
		return parse_settings(ps, d, rest);
	case SEC_QUEUE:
	case SEC_URGENCY:
	default:
		break;
	}
	return fail(ps, "unknown directive '%s' here", d);
}

/* Strips a comment: '#' at the start of a word starts one. */
static void
strip_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
		s[--n] = '\0';
	}
	return s;
}

void
triage_rules_free(triage_rules *r)
{
	if (r == NULL) {
		return;
	}
	free(r->strings);
	free(r->atoms);
	free(r->slots);
	free(r->pats);
	free(r->keys);
	free(r->table);
	free(r->letter_hi);
	free(r->owners);
	free(r->pat_sig);
	free(r);
}

static itk_err
check_complete(pstate *ps)
{
	triage_rules *r = ps->r;

	if (!r->have_version) {
		return fail(ps, "the file must start with 'version 1'");
	}
	if (!r->have_queue || !r->have_urgency) {
		return fail(ps, "[queue] and [urgency] are required");
	}
	for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
		if (l != ITK_LANG_OTHER && !r->lang[l].defined) {
			return fail(ps, "[language %s] is required",
				    itk_lang_name((itk_lang)l));
		}
	}
	return ITK_OK;
}

/* FNV-1a, seeded by kind; suffix keys are hashed from their last byte so
 * that a token's suffixes can be hashed in one pass from its end. */
static uint32_t
hash_seed(unsigned kind)
{
	return 2166136261u ^ ((kind + 1u) * 0x9e3779b9u);
}

static uint32_t
hash_step(uint32_t h, uint8_t b)
{
	return (h ^ b) * 16777619u;
}

static uint32_t
key_hash(unsigned kind, const char *s, size_t n)
{
	uint32_t h = hash_seed(kind);

	for (size_t i = 0; i < n; i++) {
		h = hash_step(h, (uint8_t)s[kind == A_SUFFIX ? n - 1 - i : i]);
	}
	return h;
}

/* The table slot of hash h: FNV-1a's low bits cluster on short words,
 * which made linear probing walk long runs; mix before masking. */
static uint32_t
slot_of(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

/* memcmp for the short words here, without a library call. */
static bool
same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i]) {
			return false;
		}
	}
	return true;
}

/* The key of kind with these n bytes, or NULL. */
static const struct ikey *
key_find(const triage_rules *r, unsigned kind, uint32_t h, const char *s,
	 size_t n)
{
	uint32_t kmask = ((uint32_t)1 << r->kbits) - 1;

	for (uint32_t i = slot_of(h) & r->tmask;; i = (i + 1) & r->tmask) {
		uint32_t e = r->table[i];
		const struct ikey *k;

		if (e == 0) {
			return NULL;
		}
		if ((e & ~kmask) != (h & ~kmask)) {
			continue;
		}
		k = &r->keys[(e & kmask) - 1];
		if (k->kind == kind && k->len == n &&
		    same_bytes(r->strings + k->off, s, n)) {
			return k;
		}
	}
}

static void
add_owner(triage_rules *r, uint32_t *head, unsigned type, uint32_t id,
	  unsigned cap)
{
	struct owner *o = &r->owners[r->nowners];

	o->next = *head;
	o->id = id;
	o->type = (uint8_t)type;
	o->cap = (uint8_t)cap;
	*head = (uint32_t)++r->nowners;
}

/* Enters key j (its hash set) into table t of mask + 1 slots. */
static void
table_put(const triage_rules *r, uint32_t *t, uint32_t mask, uint32_t j)
{
	uint32_t h = r->keys[j].hash, kmask = ((uint32_t)1 << r->kbits) - 1;
	uint32_t i = slot_of(h) & mask;

	while (t[i] != 0) {
		i = (i + 1) & mask;
	}
	t[i] = (h & ~kmask) | (j + 1);
}

/* The key of kind for the n bytes at strings + off, found or added. */
static struct ikey *
key_put(triage_rules *r, unsigned kind, uint32_t off, uint32_t n)
{
	const char *s = r->strings + off;
	uint32_t h = key_hash(kind, s, n);
	const struct ikey *found = key_find(r, kind, h, s, n);
	struct ikey *k;
	if (found != NULL) {
		return &r->keys[found - r->keys];
	}
	k = &r->keys[r->nkeys];
	memset(k, 0, sizeof(*k));
	k->off = off;
	k->len = (uint16_t)n;
	k->hash = h;
	k->kind = (uint8_t)kind;
	table_put(r, r->table, r->tmask, (uint32_t)r->nkeys++);
	return k;
}

/*
 * Adds the word of a (exact, prefix or suffix) to the table for owner.
 * A prefix word also adds its shorter prefixes, and a suffix word its
 * shorter suffixes, as keys without owners (cut at code points: a token
 * is whole code points, so no key can end inside one): the classifier
 * then walks a token's prefixes only while some key still continues
 * them, a trie in the hash table.
 */
static itk_err
index_word(triage_rules *r, const struct atom *a, unsigned type, uint32_t id)
{
	const char *s = r->strings + a->off;
	struct ikey *k;

	/* Words are one token: at most TT_TOKEN_CP_MAX code points. */
	if (a->len == 0 || a->len > 255) {
		return ITK_E_INTERNAL;
	}
	k = key_put(r, a->kind, a->off, a->len);
	if (a->kind == A_PREFIX) {
		r->prefix_max =
		    a->len > r->prefix_max ? a->len : r->prefix_max;
		for (uint32_t n = 1; n < a->len; n++) {
			if (((uint8_t)s[n] & 0xc0) != 0x80) {
				(void)key_put(r, A_PREFIX, a->off, n);
			}
		}
	} else if (a->kind == A_SUFFIX) {
		r->suffix_max =
		    a->len > r->suffix_max ? a->len : r->suffix_max;
		for (uint32_t n = 1; n < a->len; n++) {
			if (((uint8_t)s[a->len - n] & 0xc0) != 0x80) {
				(void)key_put(r, A_SUFFIX, a->off + a->len - n,
					      n);
			}
		}
	}
	add_owner(r, &k->head, type, id, a->cap);
	return ITK_OK;
}

/* Rebuilds the table for the keys there are (the size above counted
 * every byte of every prefix): half full at most, and small enough to
 * stay in cache. */
static itk_err
table_shrink(triage_rules *r)
{
	size_t tsize = 16;
	uint32_t *t;

	while (tsize < 2 * (r->nkeys + 1)) {
		tsize *= 2;
	}
	if (tsize >= (size_t)r->tmask + 1) {
		return ITK_OK;
	}
	t = calloc(tsize, sizeof(*t));
	if (t == NULL) {
		return ITK_E_NOMEM;
	}
	for (size_t j = 0; j < r->nkeys; j++) {
		table_put(r, t, (uint32_t)(tsize - 1), (uint32_t)j);
	}
	free(r->table);
	r->table = t;
	r->tmask = (uint32_t)(tsize - 1);
	return ITK_OK;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_cpmask(const void *a, const void *b)
{
	uint32_t x = ((const struct cpmask *)a)->cp,
		 y = ((const struct cpmask *)b)->cp;

	return x < y ? -1 : x > y;
}

/*
 * The language letters by code point and the keyboard's neighbouring
 * pairs, so that the language count costs a lookup per letter instead of
 * a walk over every language's letters and every keyboard row.
 */
static itk_err
build_letters(triage_rules *r)
{
	size_t n = 0;

	r->letter_hi = calloc(r->nletters + 1, sizeof(*r->letter_hi));
	if (r->letter_hi == NULL) {
		return ITK_E_NOMEM;
	}
	for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
		const struct language *lg = &r->lang[l];

		for (uint32_t j = 0; lg->defined && j < lg->nlet; j++) {
			uint32_t cp = r->letters[lg->let0 + j];

			if (cp < LOW_CP) {
				r->letter_lo[cp] |= (uint16_t)(1u << l);
			} else {
				r->letter_hi[n].cp = cp;
				r->letter_hi[n++].mask = (uint16_t)(1u << l);
			}
		}
	}
	qsort(r->letter_hi, n, sizeof(*r->letter_hi), cmp_cpmask);
	/* Merge duplicates: one entry per code point. */
	r->nletter_hi = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = r->nletter_hi;

		if (k > 0 && r->letter_hi[k - 1].cp == r->letter_hi[i].cp) {
			r->letter_hi[k - 1].mask |= r->letter_hi[i].mask;
		} else {
			r->letter_hi[r->nletter_hi++] = r->letter_hi[i];
		}
	}
	for (size_t row = 0; row < r->nkeyrows; row++) {
		for (size_t i = 0; i + 1 < r->keyrow_len[row]; i++) {
			uint64_t x = r->keyrow[row][i],
				 y = r->keyrow[row][i + 1];

			r->keypair[r->nkeypairs++] =
			    x < y ? (x << 32 | y) : (y << 32 | x);
		}
	}
	qsort(r->keypair, r->nkeypairs, sizeof(r->keypair[0]), cmp_u64);
	r->keypos_ok = true;
	for (size_t row = 0; row < r->nkeyrows; row++) {
		for (size_t i = 0; i < r->keyrow_len[row]; i++) {
			uint32_t cp = r->keyrow[row][i];

			if (cp >= LOW_CP || r->keypos[cp] != 0) {
				r->keypos_ok = false;
			} else {
				r->keypos[cp] =
				    (uint16_t)(row * (KEYROW_CP_MAX + 1) + i +
					       1);
			}
		}
	}
	return ITK_OK;
}

/* Builds the index described above "Parsing". */
static itk_err
build_index(triage_rules *r)
{
	size_t tsize = 16, nkeys = 1;
	itk_err rc = ITK_OK;

	/* Keys: one per word, and for prefix and suffix words one per
	 * shorter prefix or suffix (index_word). */
	for (size_t i = 0; i < r->natoms; i++) {
		const struct atom *a = &r->atoms[i];

		nkeys +=
		    a->kind == A_PREFIX || a->kind == A_SUFFIX ? a->len : 1;
	}
	/* Under ATOMS_MAX * 256 keys: kbits stays under 24, leaving the
	 * entries 8+ bits of hash.  At most half full while building. */
	r->kbits = 1;
	while (((size_t)1 << r->kbits) <= nkeys) {
		r->kbits++;
	}
	while (tsize < 2 * nkeys) {
		tsize *= 2;
	}
	r->tmask = (uint32_t)(tsize - 1);
	r->table = calloc(tsize, sizeof(*r->table));
	r->keys = calloc(nkeys, sizeof(*r->keys));
	r->owners = calloc(r->natoms + 1, sizeof(*r->owners));
	r->pat_sig = calloc(r->npats + 1, sizeof(*r->pat_sig));
	if (r->table == NULL || r->keys == NULL || r->owners == NULL ||
	    r->pat_sig == NULL) {
		return ITK_E_NOMEM;
	}
	for (size_t si = 0; si < r->nsig; si++) {
		for (uint32_t pi = 0; pi < r->sig[si].npat; pi++) {
			r->pat_sig[r->sig[si].pat0 + pi] = (uint16_t)si;
		}
	}
	for (size_t pi = 0; pi < r->npats && rc == ITK_OK; pi++) {
		const struct slot *sl = &r->slots[r->pats[pi].slot0];

		for (uint32_t i = 0; i < sl->natoms && rc == ITK_OK; i++) {
			const struct atom *a = &r->atoms[sl->atom0 + i];

			if (a->kind == A_LEX) {
				add_owner(r, &r->lex_first[a->arg], O_PAT,
					  (uint32_t)pi, a->cap);
			} else if (a->kind == A_CLASS) {
				add_owner(r, &r->class_first[a->arg], O_PAT,
					  (uint32_t)pi, a->cap);
			} else {
				rc = index_word(r, a, O_PAT, (uint32_t)pi);
			}
		}
	}
	for (size_t li = 0; li < r->nlex && rc == ITK_OK; li++) {
		for (uint32_t i = 0; i < r->lex[li].natoms && rc == ITK_OK;
		     i++) {
			rc = index_word(r, &r->atoms[r->lex[li].atom0 + i],
					O_LEX, (uint32_t)li);
		}
	}
	for (unsigned l = 0; l < ITK_LANG_COUNT && rc == ITK_OK; l++) {
		for (uint32_t i = 0; r->lang[l].defined &&
				     i < r->lang[l].natoms && rc == ITK_OK;
		     i++) {
			rc = index_word(r, &r->atoms[r->lang[l].atom0 + i],
					O_LANG, l);
		}
	}
	for (unsigned cl = 0; cl < CL_COUNT; cl++) {
		if (r->class_first[cl] != 0) {
			r->classes[r->nclasses++] = (uint8_t)cl;
		}
	}
	rc = rc == ITK_OK ? table_shrink(r) : rc;
	return rc == ITK_OK ? build_letters(r) : rc;
}

itk_err
triage_rules_parse(const char *text, size_t len, triage_rules **out, char *err,
		   size_t errlen)
{
	triage_rules *r = NULL;
	pstate *ps = NULL;
	char line[RULES_LINE_MAX + 2];
	itk_err rc = ITK_E_INTERNAL;
	size_t pos = 0;

	*out = NULL;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	ps = calloc(1, sizeof(*ps));
	r = calloc(1, sizeof(*r));
	if (ps == NULL || r == NULL) {
		rc = ITK_E_NOMEM;
		goto out;
	}
	ps->r = r;
	ps->err = err;
	ps->errlen = errlen;
	if (len > RULES_FILE_MAX) {
		rc = fail(ps, "rules file larger than %u bytes",
			  RULES_FILE_MAX);
		rc = ITK_E_TOO_BIG;
		goto out;
	}
	r->strings = malloc(STRINGS_MAX);
	r->atoms = calloc(ATOMS_MAX, sizeof(*r->atoms));
	r->slots = calloc(SLOTS_MAX, sizeof(*r->slots));
	r->pats = calloc(PATTERNS_MAX, sizeof(*r->pats));
	if (r->strings == NULL || r->atoms == NULL || r->slots == NULL ||
	    r->pats == NULL) {
		rc = ITK_E_NOMEM;
		goto out;
	}
	r->gap_default = 3;
	r->fallback[FB_SHARED_CYR] = ITK_LANG_RU;
	r->fallback[FB_SHARED_LAT] = ITK_LANG_EN;
	r->fallback[FB_UNKNOWN_CYR] = ITK_LANG_RU;
	r->fallback[FB_UNKNOWN_LAT] = ITK_LANG_OTHER;
	r->fallback[FB_NONE] = ITK_LANG_OTHER;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n =
		    nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		char *s;

		ps->line++;
		if (n > RULES_LINE_MAX) {
			rc = fail(ps, "line longer than %u bytes",
				  RULES_LINE_MAX);
			goto out;
		}
		if (memchr(text + pos, '\0', n) != NULL ||
		    !tt_utf8_valid((const uint8_t *)text + pos, n)) {
			rc = fail(ps, "not valid UTF-8 text");
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL ? 1 : 0);
		strip_comment(line);
		s = trim(line);
		if (*s == '\0') {
			continue;
		}
		rc = parse_line(ps, s);
		if (rc != ITK_OK) {
			goto out;
		}
	}
	rc = check_complete(ps);
	if (rc != ITK_OK) {
		goto out;
	}
	rc = build_index(r);
	if (rc != ITK_OK) {
		goto out;
	}
	*out = r;
	r = NULL; /* transferred */
	rc = ITK_OK;
out:
	triage_rules_free(r);
	free(ps);
	return rc;
}

itk_err
triage_rules_load(const char *path, triage_rules **out, char *err,
		  size_t errlen)
{
	itk_buf *data = NULL;
	itk_err r;

	*out = NULL;
	r = itk_file_read(path, RULES_FILE_MAX, &data);
	if (r != ITK_OK) {
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "%s: %s", path, itk_strerror(r));
		}
		goto out;
	}
	r = triage_rules_parse((const char *)itk_buf_ptr(data),
			       itk_buf_len(data), out, err, errlen);
out:
	itk_buf_free(data);
	return r;
}

/* The default rules, embedded at build time (triage_embed.c). */
extern const char triage_rules_builtin[];
extern const size_t triage_rules_builtin_len;

itk_err
triage_rules_default(triage_rules **out)
{
	return triage_rules_parse(triage_rules_builtin,
				  triage_rules_builtin_len, out, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Matching */

typedef struct {
	const triage_rules *r;
	tt_tokens t;
	/* Per token: signal index + 1 when an exception of that signal
	 * covers it (no clearing between signals). */
	uint32_t *covered;
	/* Per token, from the index: the word lists that match it, and the
	 * languages whose words (not endings) and endings match it. */
	uint64_t *lex_hit;
	uint16_t *lang_word;
	uint16_t *lang_end;
	/* Per token: words whose letters are of several languages, decided
	 * after the clear words are counted (language()). */
	uint32_t *amb_tok;
	uint16_t *amb_mask;
	/* (token, pattern) pairs where a pattern's first slot matches,
	 * chained per signal from sig_head (index + 1, 0 = end), exceptions
	 * ([1]) apart from matches ([0]) so that each pass walks only its
	 * own.  Grown by doubling up to starts_cap. */
	struct start *starts;
	size_t nstarts, starts_alloc, starts_cap;
	uint32_t sig_head[SIGNALS_MAX][2];
	uint32_t *stamp; /* per pattern: last token + 1 it started at */
	bool fired[SIGNALS_MAX];
} ctx;

struct start {
	uint32_t tok, pat;
	uint32_t next; /* the signal's next start + 1, 0 = end */
};

static bool atom_match(const ctx *c, const struct atom *a, const tt_token *k);

static bool
text_match(const ctx *c, const struct atom *a, const tt_token *k)
{
	const char *s = tt_text(&c->t, k);
	const char *w = c->r->strings + a->off;

	switch (a->kind) {
	case A_EXACT:
		return k->len == a->len && memcmp(s, w, a->len) == 0;
	case A_PREFIX:
		return k->len >= a->len && memcmp(s, w, a->len) == 0;
	case A_SUFFIX:
		return k->len >= a->len &&
		       memcmp(s + k->len - a->len, w, a->len) == 0;
	default:
		return false;
	}
}

static bool
class_match(unsigned cl, const tt_token *k)
{
	switch (cl) {
	case CL_ANY:
		return true;
	case CL_WORD:
		return k->kind == TT_WORD;
	case CL_NUM:
		return k->kind == TT_NUM;
	case CL_YEAR:
		return (k->cls & TT_C_YEAR) != 0;
	case CL_TIME:
		return (k->cls & TT_C_TIME) != 0;
	case CL_DATE:
		return (k->cls & TT_C_DATE) != 0;
	case CL_DEC:
		return (k->cls & TT_C_DEC) != 0;
	case CL_CODE:
		return k->kind == TT_CODE;
	case CL_CAP:
		return k->kind == TT_WORD && (k->flags & TT_F_CAP) != 0;
	case CL_TITLE:
		return k->kind == TT_WORD && (k->flags & TT_F_TITLE) != 0;
	default:
		return false;
	}
}

static bool
atom_match(const ctx *c, const struct atom *a, const tt_token *k)
{
	if (a->cap && (k->flags & TT_F_CAP) == 0) {
		return false;
	}
	switch (a->kind) {
	case A_LEX: {
		size_t ti = (size_t)(k - c->t.tok);

		return (c->lex_hit[ti] & ((uint64_t)1 << a->arg)) != 0;
	}
	case A_CLASS:
		return class_match(a->arg, k);
	case A_EXACT:
	case A_PREFIX:
	case A_SUFFIX:
		return text_match(c, a, k);
	default:
		return false;
	}
}

static bool
slot_match(const ctx *c, const struct slot *s, const tt_token *k)
{
	for (uint32_t i = 0; i < s->natoms; i++) {
		if (atom_match(c, &c->r->atoms[s->atom0 + i], k)) {
			return true;
		}
	}
	return false;
}

/*
 * Matches slots si.. of p with slot si at a token after `prev` (within the
 * slot's gap), never crossing a sentence start.  Returns the index of the
 * last token matched, or -1.
 */
static long
match_rest(const ctx *c, const struct pattern *p, unsigned si, size_t prev)
{
	const struct slot *s;

	if (si == p->nslots) {
		return (long)prev;
	}
	s = &c->r->slots[p->slot0 + si];
	for (size_t j = prev + 1; j < c->t.n && j <= prev + 1 + s->gap; j++) {
		const tt_token *k = &c->t.tok[j];
		long end;

		if (k->flags & TT_F_SENT) {
			return -1;
		}
		if (!slot_match(c, s, k)) {
			continue;
		}
		end = match_rest(c, p, si + 1, j);
		if (end >= 0) {
			return end;
		}
	}
	return -1;
}

static long
match_at(const ctx *c, const struct pattern *p, size_t i)
{
	if (!slot_match(c, &c->r->slots[p->slot0], &c->t.tok[i])) {
		return -1;
	}
	return match_rest(c, p, 1, i);
}

/*
 * The slow path, used only when the index finds too many starts (rules
 * with very common first words over a long text): every pattern at every
 * token.  Gives the same answer as the fast path.
 */
static bool
signal_fires_all(ctx *c, size_t si)
{
	const triage_rules *r = c->r;
	const struct signal *sg = &r->sig[si];
	uint32_t gen = (uint32_t)si + 1;

	for (uint32_t pi = 0; pi < sg->npat; pi++) {
		const struct pattern *p = &r->pats[sg->pat0 + pi];

		for (size_t i = 0; p->except && i < c->t.n; i++) {
			long end = match_at(c, p, i);

			for (long j = (long)i; j <= end; j++) {
				c->covered[j] = gen;
			}
		}
	}
	for (uint32_t pi = 0; pi < sg->npat; pi++) {
		const struct pattern *p = &r->pats[sg->pat0 + pi];

		for (size_t i = 0; !p->except && i < c->t.n; i++) {
			long end = match_at(c, p, i);
			bool clear = end >= 0;

			for (long j = (long)i; clear && j <= end; j++) {
				clear = c->covered[j] != gen;
			}
			if (clear) {
				return true;
			}
		}
	}
	return false;
}

/*
 * The fast path: only the signal's starts (its patterns at the tokens
 * where their first slot matches).  A signal fires when a pattern
 * matches over tokens no exception covers; the order starts are tried in
 * does not change that answer.
 */
static bool
signal_fires_at(ctx *c, size_t si)
{
	const triage_rules *r = c->r;
	uint32_t gen = (uint32_t)si + 1;

	for (uint32_t x = c->sig_head[si][1]; x != 0;
	     x = c->starts[x - 1].next) {
		const struct start *st = &c->starts[x - 1];
		const struct pattern *p = &r->pats[st->pat];
		long end = match_rest(c, p, 1, st->tok);

		for (long j = (long)st->tok; j <= end; j++) {
			c->covered[j] = gen;
		}
	}
	for (uint32_t x = c->sig_head[si][0]; x != 0;
	     x = c->starts[x - 1].next) {
		const struct start *st = &c->starts[x - 1];
		const struct pattern *p = &r->pats[st->pat];
		long end = match_rest(c, p, 1, st->tok);
		bool clear;

		clear = end >= 0;
		for (long j = (long)st->tok; clear && j <= end; j++) {
			clear = c->covered[j] != gen;
		}
		if (clear) {
			return true;
		}
	}
	return false;
}

/* Records that pattern pat's first slot matches token i; false when the
 * cap on starts is reached or they cannot grow (the caller then takes
 * the slow path, which needs no starts). */
static bool
add_start(ctx *c, size_t i, uint32_t pat)
{
	struct start *st;
	uint32_t *head;

	if (c->stamp[pat] == (uint32_t)i + 1) {
		return true;
	}
	c->stamp[pat] = (uint32_t)i + 1;
	if (c->nstarts == c->starts_alloc) {
		size_t n = c->starts_alloc * 2;
		struct start *p;

		if (c->starts_alloc >= c->starts_cap) {
			return false;
		}
		n = n < c->starts_cap ? n : c->starts_cap;
		p = realloc(c->starts, n * sizeof(*p));
		if (p == NULL) {
			return false;
		}
		c->starts = p;
		c->starts_alloc = n;
	}
	head = &c->sig_head[c->r->pat_sig[pat]][c->r->pats[pat].except];
	st = &c->starts[c->nstarts];
	st->tok = (uint32_t)i;
	st->pat = pat;
	st->next = *head;
	*head = (uint32_t)++c->nstarts;
	return true;
}

/* Walks one owner chain found for token i; false when starts are full. */
static bool
visit(ctx *c, size_t i, uint32_t head, unsigned kind)
{
	const triage_rules *r = c->r;
	bool cap = (c->t.tok[i].flags & TT_F_CAP) != 0, ok = true;

	for (uint32_t e = head; e != 0; e = r->owners[e - 1].next) {
		const struct owner *o = &r->owners[e - 1];

		switch (o->type) {
		case O_PAT:
			if (!o->cap || cap) {
				ok = ok && add_start(c, i, o->id);
			}
			break;
		case O_LEX:
			c->lex_hit[i] |= (uint64_t)1 << o->id;
			break;
		case O_LANG:
			if (kind == A_SUFFIX) {
				c->lang_end[i] |= (uint16_t)(1u << o->id);
			} else {
				c->lang_word[i] |= (uint16_t)(1u << o->id);
			}
			break;
		default:
			break;
		}
	}
	return ok;
}

/* Fills the per-token index results for token i; false when starts are
 * full (the caller then takes the slow path). */
static bool
scan_token(ctx *c, size_t i)
{
	const triage_rules *r = c->r;
	const tt_token *k = &c->t.tok[i];
	const char *s = tt_text(&c->t, k);
	const struct ikey *key;
	bool ok = true, cap = (k->flags & TT_F_CAP) != 0;
	uint32_t h;

	c->lex_hit[i] = 0;
	c->lang_word[i] = 0;
	c->lang_end[i] = 0;
	c->covered[i] = 0;
	key = key_find(r, A_EXACT, key_hash(A_EXACT, s, k->len), s, k->len);
	if (key != NULL) {
		ok = visit(c, i, key->head, A_EXACT) && ok;
	}
	/* Prefixes, at code point ends, while some key continues them. */
	h = hash_seed(A_PREFIX);
	for (size_t n = 1; n <= k->len && n <= r->prefix_max; n++) {
		h = hash_step(h, (uint8_t)s[n - 1]);
		if (n < k->len && ((uint8_t)s[n] & 0xc0) == 0x80) {
			continue;
		}
		if ((key = key_find(r, A_PREFIX, h, s, n)) == NULL) {
			break;
		}
		ok = visit(c, i, key->head, A_PREFIX) && ok;
	}
	/* Suffixes, the same from the end. */
	h = hash_seed(A_SUFFIX);
	for (size_t n = 1; n <= k->len && n <= r->suffix_max; n++) {
		h = hash_step(h, (uint8_t)s[k->len - n]);
		if (((uint8_t)s[k->len - n] & 0xc0) == 0x80) {
			continue;
		}
		if ((key = key_find(r, A_SUFFIX, h, s + k->len - n, n)) ==
		    NULL) {
			break;
		}
		ok = visit(c, i, key->head, A_SUFFIX) && ok;
	}
	/* The word lists that matched, lowest first. */
	for (uint64_t m = c->lex_hit[i]; m != 0; m &= m - 1) {
		unsigned li = (unsigned)__builtin_ctzll(m);

		for (uint32_t e = r->lex_first[li]; e != 0;
		     e = r->owners[e - 1].next) {
			const struct owner *o = &r->owners[e - 1];

			if (!o->cap || cap) {
				ok = ok && add_start(c, i, o->id);
			}
		}
	}
	for (size_t x = 0; x < r->nclasses; x++) {
		unsigned cl = r->classes[x];

		if (class_match(cl, k)) {
			for (uint32_t e = r->class_first[cl]; e != 0;
			     e = r->owners[e - 1].next) {
				const struct owner *o = &r->owners[e - 1];

				if (!o->cap || cap) {
					ok = ok && add_start(c, i, o->id);
				}
			}
		}
	}
	return ok;
}

/* Sets c->fired for every signal. */
static void
fire_signals(ctx *c)
{
	const triage_rules *r = c->r;
	bool ok = true;

	for (size_t i = 0; i < c->t.n; i++) {
		ok = scan_token(c, i) && ok;
	}
	for (size_t si = 0; si < r->nsig; si++) {
		c->fired[si] =
		    ok ? signal_fires_at(c, si) : signal_fires_all(c, si);
	}
}

static bool
rule_holds(const ctx *c, const struct rule *ru, int queue)
{
	for (uint16_t i = 0; i < ru->ncond; i++) {
		const struct cond *cd = &c->r->conds[ru->cond0 + i];

		switch (cd->kind) {
		case C_SIG:
			if (!c->fired[cd->idx]) {
				return false;
			}
			break;
		case C_NOTSIG:
			if (c->fired[cd->idx]) {
				return false;
			}
			break;
		case C_QUEUE:
			if (queue != cd->idx) {
				return false;
			}
			break;
		default:
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Language */

static bool
keyboard_neighbours(const triage_rules *r, uint32_t a, uint32_t b)
{
	uint64_t key =
	    a < b ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
	size_t lo = 0, hi = r->nkeypairs;

	if (a == b) {
		return true;
	}
	if (r->keypos_ok && a < LOW_CP && b < LOW_CP) {
		unsigned pa = r->keypos[a], pb = r->keypos[b];

		/* Same row, next to each other (see keypos). */
		return pa != 0 && pb != 0 && (pa == pb + 1 || pb == pa + 1);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->keypair[mid] == key) {
			return true;
		}
		if (r->keypair[mid] < key) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return false;
}

/* The languages that list letter cp, as a bit set. */
static unsigned
letter_langs(const triage_rules *r, uint32_t cp)
{
	size_t lo = 0, hi = r->nletter_hi;

	if (cp < LOW_CP) {
		return r->letter_lo[cp];
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->letter_hi[mid].cp == cp) {
			return r->letter_hi[mid].mask;
		}
		if (r->letter_hi[mid].cp < cp) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return 0;
}

/*
 * One pass over a word the lists do not know: the languages whose
 * letters it has (a bit set), and whether it is keyboard mashing
 * ("asdfgh", "ываыва": 5+ letters, mostly neighbouring keys), in which
 * case it is ignored and the mask does not matter.
 */
static unsigned
word_letters(const ctx *c, const tt_token *k, bool *mash)
{
	const triage_rules *r = c->r;
	const uint8_t *s = (const uint8_t *)tt_text(&c->t, k);
	bool keys = k->ncp >= 5 && r->nkeyrows > 0;
	uint32_t prev = 0, cp;
	size_t i = 0, pairs = 0, near = 0;
	unsigned mask = 0;

	while (i < k->len) {
		cp = tt_utf8_next(s, k->len, &i);
		mask |= letter_langs(r, cp);
		if (keys && prev != 0) {
			pairs++;
			near += keyboard_neighbours(r, prev, cp) ? 1 : 0;
		}
		prev = cp;
	}
	*mash = keys && near * 10 >= pairs * 6;
	return mask;
}

static itk_lang
language(const ctx *c)
{
	const triage_rules *r = c->r;
	size_t count[ITK_LANG_COUNT] = {0};
	size_t first[ITK_LANG_COUNT];
	bool shared_cyr = false, shared_lat = false;
	bool unknown_cyr = false, unknown_lat = false;
	size_t total = 0, namb = 0;
	size_t amb_count[ITK_LANG_COUNT] = {0};
	int best = -1;

	for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
		first[l] = SIZE_MAX;
	}
	for (size_t i = 0; i < c->t.n; i++) {
		const tt_token *k = &c->t.tok[i];
		bool cyr = (k->flags & TT_F_CYR) != 0;
		int lang = -1, hits = 0;
		unsigned lmask;
		bool mash;

		if (k->kind != TT_WORD) {
			continue; /* numbers, unit codes, call-sign codes */
		}
		if (k->flags & TT_F_OTH) {
			lang = ITK_LANG_OTHER;
		}
		/*
		 * Whole words and stems first; endings ("*ться") only when
		 * no list knows the word: they are weaker evidence.
		 */
		for (int weak = 0; weak < 2 && hits == 0 && lang < 0; weak++) {
			unsigned m =
			    weak != 0 ? c->lang_end[i] : c->lang_word[i];

			for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
				if ((m >> l) & 1u) {
					hits++;
					lang = (int)l;
				}
			}
		}
		if (hits > 1) {
			/* Spelt the same in two languages: counts for none. */
			shared_cyr |= cyr;
			shared_lat |= !cyr;
			continue;
		}
		if (lang < 0) {
			/* Names, places, acronyms and mashing are ignored. */
			if (((k->flags & TT_F_TITLE) &&
			     !(k->flags & TT_F_SENT)) ||
			    ((k->flags & TT_F_UPPER) && k->ncp <= 4)) {
				continue;
			}
			lmask = word_letters(c, k, &mash);
			if (mash) {
				continue;
			}
			if (lmask != 0 && (lmask & (lmask - 1)) != 0) {
				/* Letters of several languages (і is
				 * Ukrainian, Belarusian and Kazakh): decided
				 * after the clear words are counted. */
				c->amb_tok[namb] = (uint32_t)i;
				c->amb_mask[namb++] = (uint16_t)lmask;
				continue;
			}
			for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
				lang = (lmask & (1u << l)) ? (int)l : lang;
			}
		}
		if (lang < 0) {
			unknown_cyr |= cyr;
			unknown_lat |= !cyr;
			continue;
		}
		count[lang]++;
		total++;
		if (first[lang] == SIZE_MAX) {
			first[lang] = i;
		}
	}
	/* Ambiguous letters go to the language the clear words favour. */
	for (size_t a = 0; a < namb; a++) {
		int pick = -1;

		for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
			if ((c->amb_mask[a] & (1u << l)) &&
			    (pick < 0 || count[l] > count[pick] ||
			     (count[l] == count[pick] &&
			      r->lang[l].order < r->lang[pick].order))) {
				pick = (int)l;
			}
		}
		amb_count[pick]++;
		if (first[pick] == SIZE_MAX || c->amb_tok[a] < first[pick]) {
			first[pick] = c->amb_tok[a];
		}
	}
	for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
		count[l] += amb_count[l];
		total += amb_count[l];
	}
	if (total == 0) {
		return shared_cyr    ? r->fallback[FB_SHARED_CYR]
		       : unknown_cyr ? r->fallback[FB_UNKNOWN_CYR]
		       : shared_lat  ? r->fallback[FB_SHARED_LAT]
		       : unknown_lat ? r->fallback[FB_UNKNOWN_LAT]
				     : r->fallback[FB_NONE];
	}
	/* Most words wins; a tie goes to the one counted first. */
	for (unsigned l = 0; l < ITK_LANG_COUNT; l++) {
		if (count[l] == 0) {
			continue;
		}
		if (best < 0 || count[l] > count[best] ||
		    (count[l] == count[best] && first[l] < first[best])) {
			best = (int)l;
		}
	}
	return (itk_lang)best;
}

/* ------------------------------------------------------------------ */
/* Classification */

/*
 * Carves the per-message arrays out of one block (one malloc per message
 * instead of one per array): tokens and the per-token arrays sized for
 * the most tokens len bytes can hold, the arena, and the per-pattern
 * stamps.  Returns the block (caller frees) or NULL.
 */
static void *
ctx_alloc(ctx *c, size_t len)
{
	const triage_rules *r = c->r;
	/* A token takes at least one byte and a separator. */
	size_t cap = len / 2 + 1, np = r->npats + 1;
	size_t arena = 2 * len + 64;
	/* Largest alignment first, so every array stays aligned. */
	size_t total = cap * sizeof(uint64_t) + cap * sizeof(tt_token) +
		       cap * sizeof(uint32_t) * 2 + np * sizeof(uint32_t) +
		       cap * sizeof(uint16_t) * 3 + arena;
	char *blk = malloc(total), *p = blk;

	if (blk == NULL) {
		return NULL;
	}
	c->lex_hit = (uint64_t *)(void *)p;
	p += cap * sizeof(uint64_t);
	c->t.tok = (tt_token *)(void *)p;
	p += cap * sizeof(tt_token);
	c->covered = (uint32_t *)(void *)p;
	p += cap * sizeof(uint32_t);
	c->amb_tok = (uint32_t *)(void *)p;
	p += cap * sizeof(uint32_t);
	c->stamp = (uint32_t *)(void *)p;
	p += np * sizeof(uint32_t);
	c->lang_word = (uint16_t *)(void *)p;
	p += cap * sizeof(uint16_t);
	c->lang_end = (uint16_t *)(void *)p;
	p += cap * sizeof(uint16_t);
	c->amb_mask = (uint16_t *)(void *)p;
	p += cap * sizeof(uint16_t);
	c->t.arena = p;
	c->t.cap = cap;
	c->t.arena_cap = arena;
	/* Only the stamps need zeroing: the tokenizer writes every token it
	 * counts and scan_token every per-token entry. */
	memset(c->stamp, 0, np * sizeof(uint32_t));
	return blk;
}

static itk_err
classify(const triage_rules *r, const char *text, size_t len,
	 triage_result *out, char *why, size_t whylen)
{
	ctx c;
	void *blk = NULL;
	itk_err rc = ITK_E_INTERNAL;
	int queue = ITK_QUEUE_OTHER;
	int urg = ITK_URGENCY_LOW;

	memset(&c, 0, sizeof(c));
	out->queue = ITK_QUEUE_OTHER;
	out->urgency = ITK_URGENCY_LOW;
	out->language = ITK_LANG_OTHER;
	if (why != NULL && whylen > 0) {
		why[0] = '\0';
	}
	if (len > TEXT_MAX) {
		rc = ITK_E_TOO_BIG;
		goto out;
	}
	if (r == NULL || (text == NULL && len > 0)) {
		rc = ITK_E_INTERNAL;
		goto out;
	}
	c.r = r;
	blk = ctx_alloc(&c, len);
	if (blk == NULL) {
		rc = ITK_E_NOMEM;
		goto out;
	}
	tt_tokenize(text == NULL ? "" : text, len, &c.t);
	/* Beyond this many starts the slow path is cheaper in memory.  Most
	 * messages need far fewer: start small and double. */
	c.starts_cap = 64 * c.t.n + 4096;
	c.starts_alloc = 8 * c.t.n + 64;
	c.starts = malloc(c.starts_alloc * sizeof(*c.starts));
	if (c.starts == NULL) {
		rc = ITK_E_NOMEM;
		goto out;
	}
	fire_signals(&c);
	for (size_t i = 0; i < r->nsig; i++) {
		if (c.fired[i] && why != NULL && whylen > 0) {
			size_t used = strlen(why);

			snprintf(why + used, whylen - used, "%s%s",
				 used > 0 ? " " : "", r->sig[i].name);
		}
	}
	for (size_t i = 0; i < r->nqueue; i++) {
		if (rule_holds(&c, &r->queue_rules[i], -1)) {
			queue = r->queue_rules[i].target;
			break;
		}
	}
	for (size_t i = 0; i < r->nurg; i++) {
		if (rule_holds(&c, &r->urg_rules[i], queue)) {
			urg = r->urg_rules[i].target;
			break;
		}
	}
	out->queue = (itk_queue)queue;
	out->urgency = (itk_urgency)urg;
	out->language = language(&c);
	rc = ITK_OK;
out:
	free(c.starts);
	free(blk);
	return rc;
}

itk_err
triage_classify(const triage_rules *r, const char *text, size_t len,
		const char *form_category, triage_result *out)
{
	/*
	 * The form's choice is a hint the guide says never decides a label,
	 * and the examples show it wrong often enough that using it costs
	 * accuracy: it is deliberately not read.
	 */
	(void)form_category;
	return classify(r, text, len, out, NULL, 0);
}

itk_err
triage_classify_explain(const triage_rules *r, const char *text, size_t len,
			const char *form_category, triage_result *out,
			char *why, size_t whylen)
{
	(void)form_category;
	return classify(r, text, len, out, why, whylen);
}
