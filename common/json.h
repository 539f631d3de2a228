/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_JSON_H
#define ITK_JSON_H

/*
 * A small, strict reader for one JSON object per line (JSON Lines), and the
 * escaping needed to write one back.  It exists for intake-triage and other
 * staff tools: not a general JSON library.
 *
 * Strict: RFC 8259 grammar only (no comments, no trailing commas, no bare
 * words, no leading zeros, no lone surrogates, no control characters in
 * strings), valid UTF-8 only, and hard caps on size, depth and members.
 * Members of the top-level object are kept in order; a member's value is
 * kept as its raw JSON text (nested objects and arrays are validated and
 * kept verbatim), and string values are also decoded.
 */

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Largest line accepted (1 MiB), deepest nesting, most top-level members. */
#define ITK_JSON_LINE_MAX    (1024u * 1024u)
#define ITK_JSON_DEPTH_MAX   32u
#define ITK_JSON_MEMBERS_MAX 256u

typedef enum {
	ITK_JSON_STRING = 0,
	ITK_JSON_NUMBER = 1,
	ITK_JSON_BOOL = 2,
	ITK_JSON_NULL = 3,
	ITK_JSON_OBJECT = 4,
	ITK_JSON_ARRAY = 5,
} itk_json_type;

typedef struct {
	const char *key; /* decoded, NUL-terminated (may hold NUL: key_len) */
	size_t key_len;
	itk_json_type type;
	const char *raw; /* the value's JSON text, inside the object's copy */
	size_t raw_len;
	const char *str; /* decoded string value (type STRING), else NULL */
	size_t str_len;
} itk_json_member;

/* A parsed top-level object.  Opaque; owns copies of everything. */
typedef struct itk_json_obj itk_json_obj;

/*
 * Parses exactly one JSON object from text (len bytes; surrounding
 * whitespace and one trailing "\r" allowed).  Returns ITK_OK and a new
 * object in *out (caller frees with itk_json_obj_free); ITK_E_TOO_BIG past
 * a cap; ITK_E_FORMAT for anything else malformed, with the byte offset in
 * *erroff when erroff is not NULL; ITK_E_NOMEM.
 */
itk_err itk_json_obj_parse(const char *text, size_t len, itk_json_obj **out,
			   size_t *erroff) ITK_WUR;
/* Frees o; NULL is fine. */
void itk_json_obj_free(itk_json_obj *o);
/* Number of members, and the i-th (NULL when i is out of range). */
size_t itk_json_obj_count(const itk_json_obj *o);
const itk_json_member *itk_json_obj_at(const itk_json_obj *o, size_t i);
/* The last member named key, or NULL.  Duplicate keys are allowed. */
const itk_json_member *itk_json_obj_get(const itk_json_obj *o,
					const char *key);

/*
 * Appends s (n bytes of UTF-8) as a JSON string literal, quotes included,
 * escaping '"', '\\' and control characters.  Returns ITK_OK or the
 * buffer's error (ITK_E_TOO_BIG).
 */
itk_err itk_json_put_string(itk_buf *b, const char *s, size_t n) ITK_WUR;

#endif
