/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_TRIAGE_TEXT_H
#define ITK_TRIAGE_TEXT_H

/*
 * Internal to triage: normalisation and tokenisation of text, shared by
 * the rules parser (rule words are normalised exactly like message words)
 * and the classifier.  Not for use outside worker/triage*.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest token kept, in code points (longer ones are cut). */
#define TT_TOKEN_CP_MAX 48

enum tt_kind {
	TT_WORD = 0, /* letters (and apostrophes) only */
	TT_NUM = 1,  /* digits, maybe with inner . : , */
	TT_CODE = 2, /* letters and digits mixed: unit codes, call signs */
};

/* Number shapes, a bit set on TT_NUM tokens. */
enum tt_numclass {
	TT_C_YEAR = 1u << 0, /* 4 digits, 1900..2039 */
	TT_C_TIME = 1u << 1, /* h:mm or hh:mm */
	TT_C_DATE = 1u << 2, /* d.m.y */
	TT_C_DEC = 1u << 3,  /* n.nnn or n,nnn: coordinates and the like */
};

enum tt_flags {
	TT_F_CAP = 1u << 0,   /* first letter was upper case */
	TT_F_TITLE = 1u << 1, /* upper first letter, the rest lower */
	TT_F_SENT = 1u << 2,  /* first token of a sentence or line */
	TT_F_CYR = 1u << 3,   /* has Cyrillic letters */
	TT_F_LAT = 1u << 4,   /* has Latin letters */
	TT_F_OTH = 1u << 5,   /* has letters of another script */
	TT_F_UPPER = 1u << 6, /* every letter upper case (2+ letters) */
};

typedef struct {
	uint32_t off;   /* normalised UTF-8 in the arena */
	uint16_t len;   /* bytes */
	uint16_t ncp;   /* code points */
	uint8_t kind;   /* enum tt_kind */
	uint8_t cls;    /* enum tt_numclass bits */
	uint16_t flags; /* enum tt_flags bits */
} tt_token;

typedef struct {
	tt_token *tok;
	size_t n;
	size_t cap;
	char *arena;
	size_t used;
	size_t arena_cap;
} tt_tokens;

/*
 * Splits text into normalised tokens: lower case (Latin, Cyrillic,
 * Greek), ё -> е, composed й/ї, apostrophes unified, Latin look-alikes in
 * Cyrillic words mapped to Cyrillic, punctuation, emoji and links dropped.
 * Invalid UTF-8 bytes separate tokens.  Stops quietly when t is full.
 * t->tok must hold cap entries and t->arena 2 * len + 64 bytes.
 */
void tt_tokenize(const char *text, size_t len, tt_tokens *t);

/* The token's normalised text (not NUL-terminated; tok->len bytes). */
static inline const char *
tt_text(const tt_tokens *t, const tt_token *tok)
{
	return t->arena + tok->off;
}

/* Decodes one UTF-8 sequence at s[*i]; invalid bytes give 0xFFFD. */
uint32_t tt_utf8_next(const uint8_t *s, size_t len, size_t *i);
/* True when s holds only well-formed UTF-8. */
bool tt_utf8_valid(const uint8_t *s, size_t len);
/* Lower-case mapping used by the tokenizer, with ё -> е. */
uint32_t tt_fold(uint32_t cp);

#endif
