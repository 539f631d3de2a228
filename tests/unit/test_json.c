/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "json.h"

static itk_err
parse(const char *s, itk_json_obj **o)
{
	return itk_json_obj_parse(s, strlen(s), o, NULL);
}

static void
parses_members_in_order(void **state)
{
	const char *line =
	    " {\"id\": \"d1\", \"n\": -12.5e+3, \"ok\": true, "
	    "\"no\": false, \"z\": null, \"o\": {\"a\": [1, {}]}, "
	    "\"e\": [], \"text\": \"hi\"}\r";
	itk_json_obj *o = NULL;
	const itk_json_member *m;

	assert_int_equal(parse(line, &o), ITK_OK);
	assert_int_equal(itk_json_obj_count(o), 8);
	m = itk_json_obj_at(o, 0);
	assert_string_equal(m->key, "id");
	assert_int_equal(m->type, ITK_JSON_STRING);
	assert_string_equal(m->str, "d1");
	m = itk_json_obj_at(o, 1);
	assert_int_equal(m->type, ITK_JSON_NUMBER);
	assert_int_equal(m->raw_len, strlen("-12.5e+3"));
	assert_memory_equal(m->raw, "-12.5e+3", m->raw_len);
	assert_int_equal(itk_json_obj_at(o, 2)->type, ITK_JSON_BOOL);
	assert_int_equal(itk_json_obj_at(o, 4)->type, ITK_JSON_NULL);
	m = itk_json_obj_get(o, "o");
	assert_non_null(m);
	assert_int_equal(m->type, ITK_JSON_OBJECT);
	/* Nested values are kept verbatim. */
	assert_int_equal(m->raw_len, strlen("{\"a\": [1, {}]}"));
	assert_memory_equal(m->raw, "{\"a\": [1, {}]}", m->raw_len);
	assert_null(itk_json_obj_get(o, "missing"));
	assert_null(itk_json_obj_at(o, 8));
	itk_json_obj_free(o);
}

static void
decodes_escapes_and_surrogates(void **state)
{
	/* é, U+1F600 as a surrogate pair, NUL, and the short escapes. */
	const char *line = "{\"text\": \"a\\u00e9\\ud83d\\ude00\\u0000"
			   "\\n\\t\\\"\\\\\\/\\b\\f\\r\\u041f\"}";
	const char want[] = "a\xc3\xa9\xf0\x9f\x98\x80\0\n\t\"\\/\b\f\r"
			    "\xd0\x9f";
	itk_json_obj *o = NULL;
	const itk_json_member *m;

	assert_int_equal(parse(line, &o), ITK_OK);
	m = itk_json_obj_get(o, "text");
	assert_non_null(m);
	assert_int_equal(m->str_len, sizeof(want) - 1);
	assert_memory_equal(m->str, want, sizeof(want) - 1);
	itk_json_obj_free(o);
}

static void
last_duplicate_key_wins(void **state)
{
	itk_json_obj *o = NULL;

	assert_int_equal(parse("{\"a\":\"1\",\"a\":\"2\"}", &o), ITK_OK);
	assert_int_equal(itk_json_obj_count(o), 2);
	assert_string_equal(itk_json_obj_get(o, "a")->str, "2");
	itk_json_obj_free(o);
}

static void
rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "[]",
	    "\"text\"",
	    "{",
	    "}",
	    "{\"a\"}",
	    "{\"a\" 1}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{,\"a\":1}",
	    "{\"a\":1 \"b\":2}",
	    "{a:1}",
	    "{'a':1}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":-}",
	    "{\"a\":1e}",
	    "{\"a\":+1}",
	    "{\"a\":tru}",
	    "{\"a\":nul}",
	    "{\"a\":True}",
	    "{\"a\":\"unterminated}",
	    "{\"a\":\"bad \\x escape\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\u12G4\"}",
	    "{\"a\":\"lone high \\ud83d\"}",
	    "{\"a\":\"lone high \\ud83d\\u0041\"}",
	    "{\"a\":\"lone low \\ude00\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":[1,2}",
	    "{\"a\":{\"b\":1]}",
	    "{\"a\":[1,]}",
	    "{\"a\":1} x",
	    "{\"a\":1}{}",
	    "{\"a\":1} // comment",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		itk_json_obj *o = (itk_json_obj *)&o;
		itk_err r = parse(bad[i], &o);

		if (r != ITK_E_FORMAT) {
			print_error("accepted or wrong error: %s\n", bad[i]);
		}
		assert_int_equal(r, ITK_E_FORMAT);
		assert_null(o);
	}
}

static void
rejects_bad_utf8(void **state)
{
	static const char *const bad[] = {
	    "{\"a\":\"\xc0\xaf\"}",         /* overlong '/' */
	    "{\"a\":\"\xe0\x80\xaf\"}",     /* overlong, 3 bytes */
	    "{\"a\":\"\xed\xa0\x80\"}",     /* encoded surrogate */
	    "{\"a\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
	    "{\"a\":\"\xd0\"}",             /* truncated */
	    "{\"a\":\"\x80\"}",             /* lone continuation */
	    "{\"a\":\"\xff\"}",
	    "{\"\xd0\":1}", /* in a key */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		itk_json_obj *o = NULL;
		size_t off = 0;

		assert_int_equal(
		    itk_json_obj_parse(bad[i], strlen(bad[i]), &o, &off),
		    ITK_E_FORMAT);
		assert_null(o);
		assert_true(off > 0 && off <= strlen(bad[i]));
	}
}

static void
enforces_caps(void **state)
{
	itk_json_obj *o = NULL;
	itk_buf *b = itk_buf_new(ITK_JSON_LINE_MAX + 16);
	char *big;

	assert_non_null(b);
	/* Nesting one deeper than the cap. */
	assert_int_equal(itk_buf_put_str(b, "{\"a\":"), ITK_OK);
	for (unsigned i = 0; i < ITK_JSON_DEPTH_MAX + 1; i++) {
		assert_int_equal(itk_buf_put_u8(b, '['), ITK_OK);
	}
	for (unsigned i = 0; i < ITK_JSON_DEPTH_MAX + 1; i++) {
		assert_int_equal(itk_buf_put_u8(b, ']'), ITK_OK);
	}
	assert_int_equal(itk_buf_put_u8(b, '}'), ITK_OK);
	assert_int_equal(itk_json_obj_parse((const char *)itk_buf_ptr(b),
					    itk_buf_len(b), &o, NULL),
			 ITK_E_TOO_BIG);
	assert_null(o);

	/* One member more than the cap. */
	itk_buf_reset(b);
	assert_int_equal(itk_buf_put_u8(b, '{'), ITK_OK);
	for (unsigned i = 0; i <= ITK_JSON_MEMBERS_MAX; i++) {
		assert_int_equal(
		    itk_buf_printf(b, "%s\"k%u\":%u", i ? "," : "", i, i),
		    ITK_OK);
	}
	assert_int_equal(itk_buf_put_u8(b, '}'), ITK_OK);
	assert_int_equal(itk_json_obj_parse((const char *)itk_buf_ptr(b),
					    itk_buf_len(b), &o, NULL),
			 ITK_E_TOO_BIG);
	assert_null(o);

	/* A line over the size cap is refused before it is read. */
	big = malloc(ITK_JSON_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', ITK_JSON_LINE_MAX + 1);
	big[0] = '{';
	big[ITK_JSON_LINE_MAX] = '}';
	assert_int_equal(
	    itk_json_obj_parse(big, ITK_JSON_LINE_MAX + 1, &o, NULL),
	    ITK_E_TOO_BIG);
	/* Exactly at the cap is fine. */
	big[ITK_JSON_LINE_MAX - 1] = '}';
	assert_int_equal(itk_json_obj_parse(big, ITK_JSON_LINE_MAX, &o, NULL),
			 ITK_OK);
	assert_int_equal(itk_json_obj_count(o), 0);
	itk_json_obj_free(o);
	free(big);
	itk_buf_free(b);
}

static void
put_string_round_trips(void **state)
{
	const char in[] =
	    "q\"b\\s/\x01\x1f\n\t\r\x7f \xd0\x9f\xf0\x9f\x98\x80";
	itk_buf *b = itk_buf_new(4096);
	itk_json_obj *o = NULL;
	const itk_json_member *m;

	assert_non_null(b);
	assert_int_equal(itk_buf_put_str(b, "{\"k\":"), ITK_OK);
	assert_int_equal(itk_json_put_string(b, in, sizeof(in) - 1), ITK_OK);
	assert_int_equal(itk_buf_put_u8(b, '}'), ITK_OK);
	assert_int_equal(itk_json_obj_parse((const char *)itk_buf_ptr(b),
					    itk_buf_len(b), &o, NULL),
			 ITK_OK);
	m = itk_json_obj_get(o, "k");
	assert_int_equal(m->str_len, sizeof(in) - 1);
	assert_memory_equal(m->str, in, sizeof(in) - 1);
	itk_json_obj_free(o);

	/* A full buffer reports it. */
	itk_buf_free(b);
	b = itk_buf_new(4);
	assert_non_null(b);
	assert_int_equal(itk_json_put_string(b, in, sizeof(in) - 1),
			 ITK_E_TOO_BIG);
	itk_buf_free(b);
}

/* Every single-byte change of a valid line parses or fails cleanly. */
static void
bit_flips_never_crash(void **state)
{
	const char line[] =
	    "{\"id\":\"x1\",\"text\":\"\\u0445\\ud83d\\ude00 "
	    "\xd1\x85\",\"n\":[1,2.5,{\"z\":null}],\"b\":true}";
	char copy[sizeof(line)];
	size_t ok = 0, bad = 0;

	for (size_t i = 0; i < sizeof(line) - 1; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			itk_json_obj *o = NULL;
			itk_err r;

			memcpy(copy, line, sizeof(line));
			copy[i] = (char)(copy[i] ^ (1u << bit));
			r = itk_json_obj_parse(copy, sizeof(line) - 1, &o,
					       NULL);
			if (r == ITK_OK) {
				ok++;
				assert_non_null(o);
			} else {
				bad++;
				assert_null(o);
			}
			itk_json_obj_free(o);
		}
	}
	/* Most flips break the line; some (inside text) do not. */
	assert_true(bad > 0);
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_members_in_order),
	    cmocka_unit_test(decodes_escapes_and_surrogates),
	    cmocka_unit_test(last_duplicate_key_wins),
	    cmocka_unit_test(rejects_malformed),
	    cmocka_unit_test(rejects_bad_utf8),
	    cmocka_unit_test(enforces_caps),
	    cmocka_unit_test(put_string_round_trips),
	    cmocka_unit_test(bit_flips_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
