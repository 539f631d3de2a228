/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text normalisation for triage.  Messages come from people in a hurry on
 * phones: mixed scripts, no punctuation, all capitals, Latin look-alike
 * letters inside Cyrillic words, emoji.  The tokenizer reduces all of that
 * to lower-case words, numbers and codes with a few flags the rules can
 * test (capitalised, sentence start, script, number shape).
 */
#include "triage_text.h"

#include <stddef.h>
#include <string.h>

enum script { S_NONE = 0, S_LAT, S_CYR, S_OTH };

/* The decoder proper, inlined into the tokenizer's loop (the exported
 * tt_utf8_next is a call per code point, which showed in profiles). */
static inline uint32_t
utf8_next(const uint8_t *s, size_t len, size_t *i)
{
	uint8_t c0 = s[*i];
	uint32_t cp, min;
	size_t n;

	if (c0 < 0x80) {
		*i += 1;
		return c0;
	}
	if (c0 >= 0xc2 && c0 <= 0xdf) {
		n = 1, cp = c0 & 0x1f, min = 0x80;
	} else if (c0 >= 0xe0 && c0 <= 0xef) {
		n = 2, cp = c0 & 0x0f, min = 0x800;
	} else if (c0 >= 0xf0 && c0 <= 0xf4) {
		n = 3, cp = c0 & 0x07, min = 0x10000;
	} else {
		*i += 1;
		return 0xfffd;
	}
	if (len - *i <= n) {
		*i += 1;
		return 0xfffd;
	}
	for (size_t k = 1; k <= n; k++) {
		uint8_t c = s[*i + k];

		if ((c & 0xc0) != 0x80) {
			*i += 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (c & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*i += 1;
		return 0xfffd;
	}
	*i += n + 1;
	return cp;
}

uint32_t
tt_utf8_next(const uint8_t *s, size_t len, size_t *i)
{
	return utf8_next(s, len, i);
}

bool
tt_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t before = i;
		uint32_t cp = utf8_next(s, len, &i);

		/* A real U+FFFD is three bytes; a replacement is one. */
		if (cp == 0xfffd && i - before != 3) {
			return false;
		}
	}
	return true;
}

uint32_t
tt_fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z') {
		return c + 32;
	}
	if (c < 0x80) {
		return c;
	}
	/* The common case in these messages, before the other ranges. */
	if (c >= 0x430 && c <= 0x44f) {
		return c;
	}
	if (c >= 0xc0 && c <= 0xde && c != 0xd7) {
		return c + 32;
	}
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) {
		return c | 1;
	}
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) {
		return (c & 1) ? c + 1 : c;
	}
	if (c == 0x178) {
		return 0xff;
	}
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) {
		return c + 32;
	}
	if (c >= 0x410 && c <= 0x42f) {
		c += 32;
	} else if (c >= 0x400 && c <= 0x40f) {
		c += 80;
	} else if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
		   (c >= 0x4d0 && c <= 0x52f)) {
		c |= 1;
	} else if (c == 0x4c0) {
		c = 0x4cf;
	} else if (c >= 0x4c1 && c <= 0x4ce) {
		c = (c & 1) ? c + 1 : c;
	}
	/* ё -> е: the guide treats them as one letter. */
	return c == 0x451 ? 0x435 : c;
}

static enum script
script_of(uint32_t c)
{
	if (c < 0x80) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			   ? S_LAT
			   : S_NONE;
	}
	/* Cyrillic first: the common case (the ranges are disjoint). */
	if (c >= 0x400 && c <= 0x481) {
		return S_CYR;
	}
	if ((c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7) ||
	    (c >= 0x1e00 && c <= 0x1eff)) {
		return S_LAT;
	}
	if ((c >= 0x400 && c <= 0x481) || (c >= 0x48a && c <= 0x52f)) {
		return S_CYR;
	}
	/* Letters of other scripts: a word in them is "other" language. */
	if ((c >= 0x386 && c <= 0x3ff) || (c >= 0x531 && c <= 0x587) ||
	    (c >= 0x5d0 && c <= 0x5ea) || (c >= 0x620 && c <= 0x64a) ||
	    (c >= 0x671 && c <= 0x6d3) || (c >= 0x904 && c <= 0x939) ||
	    (c >= 0xe01 && c <= 0xe30) || (c >= 0x10a0 && c <= 0x10ff) ||
	    (c >= 0x3041 && c <= 0x30fa) || (c >= 0x4e00 && c <= 0x9fff) ||
	    (c >= 0xac00 && c <= 0xd7a3)) {
		return S_OTH;
	}
	return S_NONE;
}

/* Marks that ride on the previous letter; handled, never split words. */
static bool
is_mark(uint32_t c)
{
	return (c >= 0x300 && c <= 0x36f) || (c >= 0x483 && c <= 0x489) ||
	       (c >= 0x591 && c <= 0x5bd) || (c >= 0x64b && c <= 0x65f) ||
	       c == 0x670 || (c >= 0x93a && c <= 0x94f);
}

/* Invisible characters that must not split a word (soft hyphen, ZWJ). */
static bool
is_invisible(uint32_t c)
{
	return c == 0xad || (c >= 0x200b && c <= 0x200d) || c == 0x2060 ||
	       c == 0xfeff || (c >= 0xfe00 && c <= 0xfe0f);
}

static bool
is_apostrophe(uint32_t c)
{
	return c == '\'' || c == 0x2019 || c == 0x2bc || c == 0x2bb ||
	       c == '`' || c == 0x2018;
}

static bool
is_space(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xa0 ||
	       c == 0x2028 || c == 0x2029 || (c >= 0x2000 && c <= 0x200a);
}

static bool
is_sentence_end(uint32_t c)
{
	return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == ';';
}

/* Latin letters that look like Cyrillic ones, for mixed-script words. */
static uint32_t
lookalike(uint32_t c)
{
	static const struct {
		char lat;
		uint16_t cyr;
	} map[] = {{'a', 0x430}, {'e', 0x435}, {'o', 0x43e}, {'p', 0x440},
		   {'c', 0x441}, {'x', 0x445}, {'y', 0x443}, {'k', 0x43a},
		   {'m', 0x43c}, {'t', 0x442}, {'h', 0x43d}, {'b', 0x432},
		   {'i', 0x456}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if ((uint32_t)map[i].lat == c) {
			return map[i].cyr;
		}
	}
	return c;
}

static size_t
put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A token being built, as code points. */
typedef struct {
	size_t n;
	size_t letters, uppers, digits, seps;
	uint16_t flags;
	bool first_upper;
	size_t groups[4]; /* digits per number group, for the shape */
	uint32_t sep;     /* the number's separator */
	/* Last: builder_reset leaves it, only cp[0..n) is ever read. */
	uint32_t cp[TT_TOKEN_CP_MAX];
} builder;

/* Empties b; the code points are not cleared (a token's worth of memset
 * per token showed in profiles). */
static void
builder_reset(builder *b)
{
	memset(b, 0, offsetof(builder, cp));
}

static void
classify_number(builder *b, tt_token *tok)
{
	size_t ng = b->seps + 1;

	tok->cls = 0;
	if (ng == 1 && b->groups[0] == 4) {
		uint32_t y = 0;

		for (size_t i = 0; i < 4; i++) {
			y = y * 10 + (b->cp[i] - '0');
		}
		if (y >= 1900 && y <= 2039) {
			tok->cls |= TT_C_YEAR;
		}
	}
	if (ng == 2 && b->sep == ':' && b->groups[0] <= 2 &&
	    b->groups[1] == 2) {
		tok->cls |= TT_C_TIME;
	}
	if (ng == 3 && b->sep == '.' && b->groups[0] <= 2 &&
	    b->groups[1] <= 2 && (b->groups[2] == 2 || b->groups[2] == 4)) {
		tok->cls |= TT_C_DATE;
	}
	if (ng == 2 && (b->sep == '.' || b->sep == ',') && b->groups[1] >= 3) {
		tok->cls |= TT_C_DEC;
	}
}

static void
emit(builder *b, tt_tokens *t, bool *sent)
{
	tt_token *tok;
	bool cyr = (b->flags & TT_F_CYR) != 0,
	     lat = (b->flags & TT_F_LAT) != 0;

	if (b->n == 0) {
		return;
	}
	if (t->n >= t->cap) {
		b->n = 0;
		return;
	}
	/* Drop a trailing apostrophe ("quote'"), keep inner ones. */
	while (b->n > 0 && b->cp[b->n - 1] == '\'') {
		b->n--;
	}
	if (b->n == 0) {
		return;
	}
	tok = &t->tok[t->n];
	memset(tok, 0, sizeof(*tok));
	tok->off = (uint32_t)t->used;
	if (b->letters == 0) {
		tok->kind = TT_NUM;
		classify_number(b, tok);
	} else {
		tok->kind = b->digits > 0 ? TT_CODE : TT_WORD;
	}
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->cp[i];

		/* "сдaться" with a Latin a is a Russian word. */
		if (cyr && lat && c < 0x80) {
			c = lookalike(c);
		}
		t->used += put_utf8(t->arena + t->used, c);
	}
	tok->len = (uint16_t)(t->used - tok->off);
	tok->ncp = (uint16_t)b->n;
	tok->flags = b->flags;
	if (b->first_upper) {
		tok->flags |= TT_F_CAP;
		if (b->uppers == 1 && b->letters >= 2) {
			tok->flags |= TT_F_TITLE;
		}
	}
	if (b->letters >= 2 && b->uppers == b->letters) {
		tok->flags |= TT_F_UPPER;
	}
	if (*sent) {
		tok->flags |= TT_F_SENT;
		*sent = false;
	}
	t->n++;
	builder_reset(b);
}

static void
add_cp(builder *b, uint32_t c)
{
	if (b->n < TT_TOKEN_CP_MAX) {
		b->cp[b->n++] = c;
	}
}

/* True at "http://", "https://", "www." (any case): a link to skip.
 * Called at every token start and separator, so the first byte decides
 * most cases and the prefixes' lengths are constants. */
static bool
link_starts(const uint8_t *s, size_t len, size_t i)
{
	static const struct {
		const char *p;
		size_t n;
	} pre[] = {{"http://", 7}, {"https://", 8}, {"www.", 4}};
	uint8_t c0 = s[i] | 0x20;

	if (c0 != 'h' && c0 != 'w') {
		return false;
	}
	for (size_t k = 0; k < 3; k++) {
		size_t n = pre[k].n;

		if (len - i >= n) {
			size_t j = 0;

			while (j < n &&
			       (s[i + j] | 0x20) == (pre[k].p[j] | 0x20)) {
				j++;
			}
			if (j == n) {
				return true;
			}
		}
	}
	return false;
}

void
tt_tokenize(const char *text, size_t len, tt_tokens *t)
{
	const uint8_t *s = (const uint8_t *)text;
	builder b;
	bool sent = true;   /* the next token starts a sentence */
	bool ended = false; /* saw . ! ? waiting for a space to confirm */
	size_t i = 0;

	builder_reset(&b);
	t->n = 0;
	t->used = 0;
	while (i < len && t->n < t->cap) {
		uint32_t c;
		enum script sc;

		if (b.n == 0 && link_starts(s, len, i)) {
			while (i < len && !is_space(s[i])) {
				i++;
			}
			continue;
		}
		c = utf8_next(s, len, &i);
		/* Invisible characters and marks are never ASCII. */
		if (c >= 0x80 && is_invisible(c)) {
			continue;
		}
		if (c >= 0x80 && is_mark(c)) {
			/* и + breve = й, і + diaeresis = ї, е + diaeresis = е
			 */
			if (b.n > 0 && c == 0x306 && b.cp[b.n - 1] == 0x438) {
				b.cp[b.n - 1] = 0x439;
			} else if (b.n > 0 && c == 0x308 &&
				   b.cp[b.n - 1] == 0x456) {
				b.cp[b.n - 1] = 0x457;
			}
			continue;
		}
		sc = script_of(c);
		if (sc != S_NONE && b.letters + b.digits > 0 &&
		    b.letters == 0 && b.seps > 0) {
			emit(&b, t, &sent); /* "3.Хочу": number, then word */
		}
		if (sc != S_NONE) {
			uint32_t f = tt_fold(c);

			if (b.letters == 0 && b.digits == 0) {
				b.first_upper = f != c;
			}
			if (f != c) {
				b.uppers++;
			}
			b.letters++;
			b.flags |= sc == S_LAT   ? TT_F_LAT
				   : sc == S_CYR ? TT_F_CYR
						 : TT_F_OTH;
			add_cp(&b, f);
			ended = false;
			continue;
		}
		if (c >= '0' && c <= '9') {
			if (b.letters == 0) {
				b.groups[b.seps < 3 ? b.seps : 3]++;
			}
			b.digits++;
			add_cp(&b, c);
			ended = false;
			continue;
		}
		/* Inner apostrophe of a word: з'язок, o'g'lim, don't. */
		if (is_apostrophe(c) && b.letters > 0 && i < len) {
			size_t j = i;
			uint32_t nx = utf8_next(s, len, &j);

			if (script_of(nx) != S_NONE) {
				add_cp(&b, '\'');
				continue;
			}
		}
		/* Inner separator of a number: 4:00, 05.05.1996, 48.0123. */
		if ((c == '.' || c == ':' || c == ',') && b.letters == 0 &&
		    b.digits > 0 && i < len && s[i] >= '0' && s[i] <= '9' &&
		    b.seps < 3 && (b.seps == 0 || b.sep == c)) {
			b.sep = c;
			b.seps++;
			add_cp(&b, c);
			continue;
		}
		emit(&b, t, &sent);
		if (c == '\n' || c == 0x2028 || c == 0x2029) {
			sent = true;
			ended = false;
		} else if (is_sentence_end(c)) {
			ended = true;
		} else if (is_space(c) && ended) {
			sent = true;
			ended = false;
		}
	}
	emit(&b, t, &sent);
}
