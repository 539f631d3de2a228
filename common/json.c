/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct itk_json_obj {
	char *copy;  /* the line, so raw values point into it */
	char *arena; /* decoded keys and strings, NUL after each */
	size_t arena_used;
	size_t arena_cap;
	itk_json_member m[ITK_JSON_MEMBERS_MAX];
	size_t n;
};

/* The parser's cursor: a bounded reader over the object's copy. */
typedef struct {
	itk_reader r;
	itk_json_obj *o;
} parser;

/* Peeks the next byte; -1 at the end.  Bounded by the reader. */
static int
peek(const parser *p)
{
	if (itk_reader_left(&p->r) == 0) {
		return -1;
	}
	return p->r.p[p->r.off];
}

static itk_err
next(parser *p, uint8_t *c)
{
	return itk_get_u8(&p->r, c);
}

static void
skip_ws(parser *p)
{
	int c = peek(p);
	uint8_t d;

	while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
		if (next(p, &d) != ITK_OK) {
			return;
		}
		c = peek(p);
	}
}

static itk_err
expect(parser *p, uint8_t want)
{
	uint8_t c;

	if (next(p, &c) != ITK_OK || c != want) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static itk_err
expect_word(parser *p, const char *w)
{
	for (; *w != '\0'; w++) {
		if (expect(p, (uint8_t)*w) != ITK_OK) {
			return ITK_E_FORMAT;
		}
	}
	return ITK_OK;
}

/* Appends one code point as UTF-8 to the arena (room is reserved). */
static void
arena_put_cp(itk_json_obj *o, uint32_t cp)
{
	char *d = o->arena + o->arena_used;

	if (cp < 0x80) {
		d[0] = (char)cp;
		o->arena_used += 1;
	} else if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		o->arena_used += 2;
	} else if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		o->arena_used += 3;
	} else {
		d[0] = (char)(0xf0 | (cp >> 18));
		d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[3] = (char)(0x80 | (cp & 0x3f));
		o->arena_used += 4;
	}
}

static itk_err
hex4(parser *p, uint32_t *v)
{
	uint8_t c;

	*v = 0;
	for (int i = 0; i < 4; i++) {
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		*v <<= 4;
		if (c >= '0' && c <= '9') {
			*v |= (uint32_t)(c - '0');
		} else if (c >= 'a' && c <= 'f') {
			*v |= (uint32_t)(c - 'a' + 10);
		} else if (c >= 'A' && c <= 'F') {
			*v |= (uint32_t)(c - 'A' + 10);
		} else {
			return ITK_E_FORMAT;
		}
	}
	return ITK_OK;
}

/* One \uXXXX escape (the "\u" already read), pairing surrogates. */
static itk_err
unicode_escape(parser *p, uint32_t *cp)
{
	uint32_t hi, lo;

	if (hex4(p, &hi) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		return ITK_E_FORMAT; /* a low surrogate alone */
	}
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = hi;
		return ITK_OK;
	}
	if (expect(p, '\\') != ITK_OK || expect(p, 'u') != ITK_OK ||
	    hex4(p, &lo) != ITK_OK || lo < 0xdc00 || lo > 0xdfff) {
		return ITK_E_FORMAT; /* a high surrogate alone */
	}
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return ITK_OK;
}

/*
 * One UTF-8 sequence whose first byte c0 was read; strict: no overlongs,
 * no surrogates, nothing above U+10FFFF.
 */
static itk_err
utf8_rest(parser *p, uint8_t c0, uint32_t *cp)
{
	uint8_t c;
	int n;
	uint32_t min;

	if (c0 >= 0xc2 && c0 <= 0xdf) {
		n = 1, *cp = c0 & 0x1f, min = 0x80;
	} else if (c0 >= 0xe0 && c0 <= 0xef) {
		n = 2, *cp = c0 & 0x0f, min = 0x800;
	} else if (c0 >= 0xf0 && c0 <= 0xf4) {
		n = 3, *cp = c0 & 0x07, min = 0x10000;
	} else {
		return ITK_E_FORMAT;
	}
	for (int i = 0; i < n; i++) {
		if (next(p, &c) != ITK_OK || (c & 0xc0) != 0x80) {
			return ITK_E_FORMAT;
		}
		*cp = (*cp << 6) | (c & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

/*
 * A string (the opening quote is next).  When decode is true the decoded
 * bytes go to the arena, NUL-terminated, and *s / *n point at them.
 */
static itk_err
string(parser *p, bool decode, const char **s, size_t *n)
{
	itk_json_obj *o = p->o;
	size_t start = o->arena_used;
	uint8_t c;
	uint32_t cp;

	if (expect(p, '"') != ITK_OK) {
		return ITK_E_FORMAT;
	}
	for (;;) {
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		if (c == '"') {
			break;
		}
		if (c < 0x20) {
			return ITK_E_FORMAT;
		}
		if (c == '\\') {
			if (next(p, &c) != ITK_OK) {
				return ITK_E_FORMAT;
			}
			switch (c) {
			case '"':
			case '\\':
			case '/':
				cp = c;
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (unicode_escape(p, &cp) != ITK_OK) {
					return ITK_E_FORMAT;
				}
				break;
			default:
				return ITK_E_FORMAT;
			}
		} else if (c >= 0x80) {
			if (utf8_rest(p, c, &cp) != ITK_OK) {
				return ITK_E_FORMAT;
			}
		} else {
			cp = c;
		}
		/*
		 * The arena is as large as the line plus one NUL per string,
		 * and no escape decodes longer than its source: no overflow.
		 */
		if (decode) {
			arena_put_cp(o, cp);
		}
	}
	if (decode) {
		o->arena[o->arena_used++] = '\0';
		*s = o->arena + start;
		*n = o->arena_used - start - 1;
	}
	return ITK_OK;
}

static itk_err
digits(parser *p, bool need)
{
	int c = peek(p);
	uint8_t d;
	bool any = false;

	while (c >= '0' && c <= '9') {
		if (next(p, &d) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		any = true;
		c = peek(p);
	}
	return (need && !any) ? ITK_E_FORMAT : ITK_OK;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static itk_err
number(parser *p)
{
	uint8_t c;

	if (peek(p) == '-' && next(p, &c) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (peek(p) == '0') {
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
	} else if (digits(p, true) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (peek(p) == '.') {
		if (next(p, &c) != ITK_OK || digits(p, true) != ITK_OK) {
			return ITK_E_FORMAT;
		}
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		if ((peek(p) == '+' || peek(p) == '-') &&
		    next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		if (digits(p, true) != ITK_OK) {
			return ITK_E_FORMAT;
		}
	}
	return ITK_OK;
}

static itk_err value(parser *p, unsigned depth, itk_json_type *type);

/* An object or array below the top level: validated, not kept apart. */
static itk_err
container(parser *p, unsigned depth, uint8_t close)
{
	itk_json_type t;
	uint8_t c;
	const char *s;
	size_t n;

	if (depth > ITK_JSON_DEPTH_MAX) {
		return ITK_E_TOO_BIG;
	}
	if (next(p, &c) != ITK_OK) { /* the opening bracket */
		return ITK_E_FORMAT;
	}
	skip_ws(p);
	if (peek(p) == close) {
		return expect(p, close);
	}
	for (;;) {
		itk_err r;

		skip_ws(p);
		if (close == '}') {
			if (peek(p) != '"' ||
			    string(p, false, &s, &n) != ITK_OK) {
				return ITK_E_FORMAT;
			}
			skip_ws(p);
			if (expect(p, ':') != ITK_OK) {
				return ITK_E_FORMAT;
			}
			skip_ws(p);
		}
		r = value(p, depth, &t);
		if (r != ITK_OK) {
			return r;
		}
		skip_ws(p);
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		if (c == close) {
			return ITK_OK;
		}
		if (c != ',') {
			return ITK_E_FORMAT;
		}
	}
}

static itk_err
value(parser *p, unsigned depth, itk_json_type *type)
{
	const char *s;
	size_t n;

	switch (peek(p)) {
	case '"':
		*type = ITK_JSON_STRING;
		return string(p, false, &s, &n);
	case '{':
		*type = ITK_JSON_OBJECT;
		return container(p, depth + 1, '}');
	case '[':
		*type = ITK_JSON_ARRAY;
		return container(p, depth + 1, ']');
	case 't':
		*type = ITK_JSON_BOOL;
		return expect_word(p, "true");
	case 'f':
		*type = ITK_JSON_BOOL;
		return expect_word(p, "false");
	case 'n':
		*type = ITK_JSON_NULL;
		return expect_word(p, "null");
	default:
		*type = ITK_JSON_NUMBER;
		return number(p);
	}
}

/* One member of the top-level object: "key" : value. */
static itk_err
member(parser *p)
{
	itk_json_obj *o = p->o;
	itk_json_member *m;
	itk_reader save;
	itk_err r;

	if (o->n >= ITK_JSON_MEMBERS_MAX) {
		return ITK_E_TOO_BIG;
	}
	m = &o->m[o->n];
	if (peek(p) != '"' ||
	    string(p, true, &m->key, &m->key_len) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	skip_ws(p);
	if (expect(p, ':') != ITK_OK) {
		return ITK_E_FORMAT;
	}
	skip_ws(p);
	m->raw = (const char *)p->r.p + p->r.off;
	save = p->r;
	r = value(p, 1, &m->type);
	if (r != ITK_OK) {
		return r;
	}
	m->raw_len = p->r.off - save.off;
	m->str = NULL;
	m->str_len = 0;
	if (m->type == ITK_JSON_STRING) {
		/* Second pass over the same bytes, now decoding. */
		itk_reader end = p->r;

		p->r = save;
		if (string(p, true, &m->str, &m->str_len) != ITK_OK) {
			return ITK_E_INTERNAL;
		}
		p->r = end;
	}
	o->n++;
	return ITK_OK;
}

static itk_err
object(parser *p)
{
	uint8_t c;
	itk_err r;

	skip_ws(p);
	if (expect(p, '{') != ITK_OK) {
		return ITK_E_FORMAT;
	}
	skip_ws(p);
	if (peek(p) == '}') {
		return expect(p, '}');
	}
	for (;;) {
		skip_ws(p);
		r = member(p);
		if (r != ITK_OK) {
			return r;
		}
		skip_ws(p);
		if (next(p, &c) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		if (c == '}') {
			return ITK_OK;
		}
		if (c != ',') {
			return ITK_E_FORMAT;
		}
	}
}

itk_err
itk_json_obj_parse(const char *text, size_t len, itk_json_obj **out,
		   size_t *erroff)
{
	itk_json_obj *o = NULL;
	parser p;
	itk_err r = ITK_E_INTERNAL;

	*out = NULL;
	if (erroff != NULL) {
		*erroff = 0;
	}
	if (len > ITK_JSON_LINE_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	/* Decoded text never outgrows its source; one NUL per string. */
	o->arena_cap = len + len / 2 + 1;
	o->copy = malloc(len + 1);
	o->arena = malloc(o->arena_cap);
	if (o->copy == NULL || o->arena == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if (len > 0) {
		memcpy(o->copy, text, len);
	}
	o->copy[len] = '\0';
	itk_reader_init(&p.r, o->copy, len);
	p.o = o;
	r = object(&p);
	if (r == ITK_OK) {
		skip_ws(&p);
		if (itk_reader_left(&p.r) != 0) {
			r = ITK_E_FORMAT;
		}
	}
	if (r != ITK_OK) {
		if (erroff != NULL) {
			*erroff = p.r.off;
		}
		goto out;
	}
	*out = o;
	o = NULL; /* transferred */
out:
	itk_json_obj_free(o);
	return r;
}

void
itk_json_obj_free(itk_json_obj *o)
{
	if (o == NULL) {
		return;
	}
	free(o->copy);
	free(o->arena);
	free(o);
}

size_t
itk_json_obj_count(const itk_json_obj *o)
{
	return o == NULL ? 0 : o->n;
}

const itk_json_member *
itk_json_obj_at(const itk_json_obj *o, size_t i)
{
	if (o == NULL || i >= o->n) {
		return NULL;
	}
	return &o->m[i];
}

const itk_json_member *
itk_json_obj_get(const itk_json_obj *o, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = itk_json_obj_count(o); i > 0; i--) {
		const itk_json_member *m = &o->m[i - 1];

		if (m->key_len == kl && memcmp(m->key, key, kl) == 0) {
			return m;
		}
	}
	return NULL;
}

itk_err
itk_json_put_string(itk_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	itk_err r;
	size_t run = 0;

	r = itk_buf_put_u8(b, '"');
	for (size_t i = 0; r == ITK_OK && i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		/* Flush the plain run before this byte, then escape it. */
		r = itk_buf_put(b, s + i - run, run);
		run = 0;
		if (r != ITK_OK) {
			break;
		}
		switch (c) {
		case '"':
			r = itk_buf_put(b, "\\\"", 2);
			break;
		case '\\':
			r = itk_buf_put(b, "\\\\", 2);
			break;
		case '\n':
			r = itk_buf_put(b, "\\n", 2);
			break;
		case '\t':
			r = itk_buf_put(b, "\\t", 2);
			break;
		case '\r':
			r = itk_buf_put(b, "\\r", 2);
			break;
		default:
			r = itk_buf_put(b, esc, sizeof(esc));
			break;
		}
	}
	if (r == ITK_OK) {
		r = itk_buf_put(b, s + n - run, run);
	}
	if (r == ITK_OK) {
		r = itk_buf_put_u8(b, '"');
	}
	return r;
}
