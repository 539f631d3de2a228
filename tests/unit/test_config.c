/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static itk_config *
parse_ok(const char *s)
{
	itk_config *c = NULL;
	char err[256] = "";

	assert_int_equal(itk_config_parse(s, strlen(s), &c, err, sizeof(err)),
			 ITK_OK);
	return c;
}

static void
parses_keys_comments_blanks(void **state)
{
	itk_config *c = parse_ok("# comment\n\n  listen = tcp://127.0.0.1:1 \n"
				 "spool.max_bytes=1048576\r\nflag = yes\n");
	char err[256];
	uint64_t v;
	bool b;

	assert_string_equal(itk_config_str(c, "listen", "x"),
			    "tcp://127.0.0.1:1");
	assert_int_equal(itk_config_u64(c, "spool.max_bytes", 1, 0, UINT64_MAX,
					&v, err, sizeof(err)),
			 ITK_OK);
	assert_true(v == 1048576);
	assert_int_equal(
	    itk_config_bool(c, "flag", false, &b, err, sizeof(err)), ITK_OK);
	assert_true(b);
	assert_string_equal(itk_config_str(c, "absent", "dflt"), "dflt");
	assert_int_equal(itk_config_check_unused(c, err, sizeof(err)), ITK_OK);
	itk_config_free(c);
}

static void
rejects_malformed(void **state)
{
	static const char *bad[] = {
	    "no equals sign\n", "Upper = 1\n", " = value\n",
	    "a = 1\na = 2\n",   "we!rd = 1\n", "nul = a\0b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		itk_config *c = NULL;
		char err[256] = "";
		size_t len = i == 5 ? 11 : strlen(bad[i]);

		assert_int_equal(
		    itk_config_parse(bad[i], len, &c, err, sizeof(err)),
		    ITK_E_CONFIG);
		assert_null(c);
		assert_non_null(strstr(err, "line "));
	}
}

static void
unknown_key_is_named(void **state)
{
	itk_config *c = parse_ok("listen = x\nspool.max_bytse = 5\n");
	char err[256] = "";

	(void)itk_config_str(c, "listen", NULL);
	assert_int_equal(itk_config_check_unused(c, err, sizeof(err)),
			 ITK_E_CONFIG);
	assert_non_null(strstr(err, "spool.max_bytse"));
	assert_non_null(strstr(err, "line 2"));
	itk_config_free(c);
}

static void
numbers_are_strict(void **state)
{
	itk_config *c = parse_ok("a = -1\nb = 12x\nc = 99999999999999999999\n"
				 "d = 70\nbool = maybe\n");
	char err[256];
	uint64_t v = 5;
	bool b;

	assert_int_equal(itk_config_u64(c, "a", 0, 0, 100, &v, err, 256),
			 ITK_E_CONFIG);
	assert_int_equal(itk_config_u64(c, "b", 0, 0, 100, &v, err, 256),
			 ITK_E_CONFIG);
	assert_int_equal(
	    itk_config_u64(c, "c", 0, 0, UINT64_MAX, &v, err, 256),
	    ITK_E_CONFIG);
	assert_int_equal(itk_config_u64(c, "d", 0, 0, 69, &v, err, 256),
			 ITK_E_CONFIG);
	assert_int_equal(v, 5);
	assert_int_equal(itk_config_bool(c, "bool", true, &b, err, 256),
			 ITK_E_CONFIG);
	itk_config_free(c);
}

static void
size_caps(void **state)
{
	static char big[ITK_CONFIG_SIZE_MAX + 2];
	itk_config *c = NULL;
	char err[256];

	memset(big, '#', sizeof(big));
	assert_int_equal(itk_config_parse(big, sizeof(big), &c, err, 256),
			 ITK_E_TOO_BIG);
	memset(big, 'a', 2000);
	big[2000] = '\n';
	assert_int_equal(itk_config_parse(big, 2001, &c, err, 256),
			 ITK_E_TOO_BIG);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_keys_comments_blanks),
	    cmocka_unit_test(rejects_malformed),
	    cmocka_unit_test(unknown_key_is_named),
	    cmocka_unit_test(numbers_are_strict),
	    cmocka_unit_test(size_caps),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
