/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_json_obj_parse (common/json.c), the strict JSON Lines reader
 * of the staff tools.  Never a crash; on failure the error offset lies in
 * the input; on success every member is well formed, the object rebuilt
 * from its members (keys re-escaped by itk_json_put_string, values as raw
 * text) parses to the same members, and itk_json_obj_get finds the last
 * member of each name.
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "json.h"

static void
check_member(const itk_json_member *m)
{
	FUZZ_CHECK(m != NULL && m->key != NULL && m->key[m->key_len] == '\0');
	FUZZ_CHECK(m->type <= ITK_JSON_ARRAY);
	FUZZ_CHECK(m->raw != NULL && m->raw_len > 0);
	if (m->type == ITK_JSON_STRING) {
		FUZZ_CHECK(m->str != NULL && m->str[m->str_len] == '\0');
		FUZZ_CHECK(m->raw[0] == '"' && m->raw[m->raw_len - 1] == '"');
	} else {
		FUZZ_CHECK(m->str == NULL);
	}
}

static int
same_key(const itk_json_member *a, const itk_json_member *b)
{
	return a->key_len == b->key_len &&
	       memcmp(a->key, b->key, a->key_len) == 0;
}

/* {"k1":raw1,"k2":raw2,...} from o's members. */
static itk_buf *
rebuild(const itk_json_obj *o)
{
	itk_buf *b = itk_buf_new(ITK_BUF_SIZE_MAX);

	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(itk_buf_put_str(b, "{") == ITK_OK);
	for (size_t i = 0; i < itk_json_obj_count(o); i++) {
		const itk_json_member *m = itk_json_obj_at(o, i);
		FUZZ_CHECK(i == 0 || itk_buf_put_str(b, ",") == ITK_OK);
		FUZZ_CHECK(itk_json_put_string(b, m->key, m->key_len) ==
			   ITK_OK);
		FUZZ_CHECK(itk_buf_put_str(b, ":") == ITK_OK);
		FUZZ_CHECK(itk_buf_put(b, m->raw, m->raw_len) == ITK_OK);
	}
	FUZZ_CHECK(itk_buf_put_str(b, "}") == ITK_OK);
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	itk_json_obj *o = NULL, *o2 = NULL;
	size_t off = SIZE_MAX, n;
	itk_buf *b;
	itk_err r;

	r = itk_json_obj_parse((const char *)data, size, &o, &off);
	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_TOO_BIG ||
			   r == ITK_E_NOMEM);
		FUZZ_CHECK(o == NULL);
		FUZZ_CHECK(r != ITK_E_FORMAT || off <= size);
		return 0;
	}
	n = itk_json_obj_count(o);
	FUZZ_CHECK(n <= ITK_JSON_MEMBERS_MAX);
	FUZZ_CHECK(itk_json_obj_at(o, n) == NULL);
	for (size_t i = 0; i < n; i++) {
		const itk_json_member *m = itk_json_obj_at(o, i);
		check_member(m);
		/* get() returns the last member of that name. */
		if (strlen(m->key) == m->key_len) {
			const itk_json_member *g = itk_json_obj_get(o, m->key);
			size_t last = i;
			for (size_t j = i + 1; j < n; j++) {
				if (same_key(itk_json_obj_at(o, j), m)) {
					last = j;
				}
			}
			FUZZ_CHECK(g == itk_json_obj_at(o, last));
		}
	}

	b = rebuild(o);
	r = itk_json_obj_parse((const char *)itk_buf_ptr(b), itk_buf_len(b),
			       &o2, NULL);
	/* Re-escaping may lengthen a key past the line cap; nothing else
	 * may fail. */
	FUZZ_CHECK(r == ITK_OK ||
		   (r == ITK_E_TOO_BIG && itk_buf_len(b) > ITK_JSON_LINE_MAX));
	if (r == ITK_OK) {
		FUZZ_CHECK(itk_json_obj_count(o2) == n);
		for (size_t i = 0; i < n; i++) {
			const itk_json_member *a = itk_json_obj_at(o, i);
			const itk_json_member *c = itk_json_obj_at(o2, i);
			FUZZ_CHECK(same_key(a, c) && a->type == c->type);
			FUZZ_CHECK(a->raw_len == c->raw_len &&
				   memcmp(a->raw, c->raw, a->raw_len) == 0);
			FUZZ_CHECK(a->str_len == c->str_len);
			FUZZ_CHECK(a->str == NULL ||
				   memcmp(a->str, c->str, a->str_len) == 0);
		}
	}
	itk_json_obj_free(o2);
	itk_json_obj_free(o);
	itk_buf_free(b);
	return 0;
}
