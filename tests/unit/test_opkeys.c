/* SPDX-License-Identifier: Apache-2.0 */
/*
 * operator/opkeys: intake-opd's key-store reader.  The answer's wire form
 * (every cut, a trailing byte, caps, a bad role or name, a result this
 * build does not know: refused, nothing returned), and the real reader
 * process, sandboxed, listing a key store as it changes: an operator
 * added, a file broken, the store gone; freeing it reaps it.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "keys.h"
#include "opkeys.h"

static itk_key_info
op_info(const char *name, itk_role role, uint32_t queues)
{
	itk_key_info k;

	memset(&k, 0, sizeof(k));
	k.kind = ITK_KEY_OPERATOR;
	k.role = role;
	k.queues = queues;
	k.key_id = 0x01020304u;
	k.created = 1700000000u;
	k.dev = true;
	snprintf(k.name, sizeof(k.name), "%s", name);
	for (size_t i = 0; i < sizeof(k.public_key); i++) {
		k.public_key[i] = (uint8_t)(i + (uint8_t)name[0]);
	}
	return k;
}

/* Three entries, two of them operators. */
static itk_buf *
packed(itk_err result, const char *bad)
{
	itk_keystore_entry e[3];
	itk_buf *b = itk_buf_new(OP_KEYS_ANSWER_MAX);

	assert_non_null(b);
	memset(e, 0, sizeof(e));
	e[0].info = op_info("alice", ITK_ROLE_TRIAGE, 0x5);
	e[1].info = op_info("intake-1", ITK_ROLE_NONE, 0);
	e[1].info.kind = ITK_KEY_INTAKE;
	e[2].info = op_info("bob.s-2", ITK_ROLE_SUPERVISOR, 0);
	assert_int_equal(op_keys_pack(result, bad, e, 3, b), ITK_OK);
	return b;
}

static void
test_round_trip(void **state)
{
	itk_buf *b = packed(ITK_OK, NULL);
	itk_key_info out[4], a = op_info("alice", ITK_ROLE_TRIAGE, 0x5),
			     c = op_info("bob.s-2", ITK_ROLE_SUPERVISOR, 0);
	char bad[64] = "x";
	size_t n = 99;

	(void)state;
	assert_int_equal(op_keys_parse(itk_buf_ptr(b), itk_buf_len(b), out, 4,
				       &n, bad, sizeof(bad)),
			 ITK_OK);
	assert_int_equal(n, 2); /* the intake key is not sent */
	assert_memory_equal(&out[0], &a, sizeof(a));
	assert_memory_equal(&out[1], &c, sizeof(c));
	assert_string_equal(bad, "");
	itk_buf_free(b);
}

static void
test_every_cut_and_trailing(void **state)
{
	itk_buf *b = packed(ITK_OK, "/k/operators/x.pub");
	itk_key_info out[4];
	uint8_t more[OP_KEYS_ANSWER_MAX];
	char bad[64];
	size_t n, len = itk_buf_len(b);

	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		n = 7;
		assert_int_equal(op_keys_parse(itk_buf_ptr(b), cut, out, 4, &n,
					       bad, sizeof(bad)),
				 ITK_E_SHORT);
		assert_int_equal(n, 0);
	}
	memcpy(more, itk_buf_ptr(b), len);
	more[len] = 0;
	assert_int_equal(
	    op_keys_parse(more, len + 1, out, 4, &n, bad, sizeof(bad)),
	    ITK_E_TRAILING);
	assert_int_equal(n, 0);
	/* Fewer slots than operators: refused, not cut short. */
	assert_int_equal(
	    op_keys_parse(itk_buf_ptr(b), len, out, 1, &n, bad, sizeof(bad)),
	    ITK_E_TOO_BIG);
	assert_int_equal(n, 0);
	itk_buf_free(b);
}

/* Offsets in a body made by packed(ITK_OK, NULL): result 4, bad length
 * 2, count 4, then alice: role 1, queues 4, dev 1, key id 4, created 8,
 * name length 1, name 5, key 32. */
#define OFF_COUNT 6u
#define OFF_ROLE  10u
#define OFF_DEV   15u
#define OFF_NLEN  28u
#define OFF_NAME  29u

static itk_err
parse_altered(size_t off, uint8_t v)
{
	itk_buf *b = packed(ITK_OK, NULL);
	uint8_t copy[OP_KEYS_ANSWER_MAX];
	itk_key_info out[4];
	char bad[64];
	size_t n = 5, len = itk_buf_len(b);
	itk_err r;

	memcpy(copy, itk_buf_ptr(b), len);
	copy[off] = v;
	r = op_keys_parse(copy, len, out, 4, &n, bad, sizeof(bad));
	assert_true(r == ITK_OK || n == 0);
	itk_buf_free(b);
	return r;
}

static void
test_bad_fields(void **state)
{
	(void)state;
	/* Sanity: the offsets are right (alice's role 1 -> 4 is fine). */
	assert_int_equal(parse_altered(OFF_ROLE, ITK_ROLE_ADMIN), ITK_OK);
	assert_int_equal(parse_altered(OFF_ROLE, ITK_ROLE_ADMIN + 1),
			 ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_ROLE, 0xff), ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_DEV, 2), ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_NLEN, 0), ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_NLEN, ITK_KEY_NAME_MAX + 1),
			 ITK_E_FORMAT);
	/* A name the key store would not accept: a path, a dot file. */
	assert_int_equal(parse_altered(OFF_NAME, '/'), ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_NAME, '.'), ITK_E_FORMAT);
	assert_int_equal(parse_altered(OFF_NAME, 0), ITK_E_FORMAT);
	/* A NUL inside the name ("al\0ce"): shorter than its length says
	 * (found by fuzz_opkeys: it did not pack back to the same bytes). */
	assert_int_equal(parse_altered(OFF_NAME + 2, 0), ITK_E_FORMAT);
	/* More operators than the store may hold. */
	assert_int_equal(parse_altered(OFF_COUNT, 0xff), ITK_E_TOO_BIG);
}

static void
test_result_and_bad_file(void **state)
{
	itk_buf *b = packed(ITK_E_FORMAT, "/k/operators/ev\x01l.pub");
	itk_key_info out[4];
	char bad[64], small[8];
	uint8_t copy[OP_KEYS_ANSWER_MAX];
	size_t n = 0, len = itk_buf_len(b);

	(void)state;
	/* The listing's own result comes through, the file for the log
	 * with its control bytes replaced, cut to the room given. */
	assert_int_equal(
	    op_keys_parse(itk_buf_ptr(b), len, out, 4, &n, bad, sizeof(bad)),
	    ITK_E_FORMAT);
	assert_string_equal(bad, "/k/operators/ev?l.pub");
	assert_int_equal(op_keys_parse(itk_buf_ptr(b), len, out, 4, &n, small,
				       sizeof(small)),
			 ITK_E_FORMAT);
	assert_string_equal(small, "/k/oper");
	/* A result this build does not know is a malformed answer. */
	memcpy(copy, itk_buf_ptr(b), len);
	copy[0] = 0x7f;
	assert_int_equal(
	    op_keys_parse(copy, len, out, 4, &n, bad, sizeof(bad)),
	    ITK_E_FORMAT);
	assert_int_equal(n, 0);
	itk_buf_free(b);
	/* A file name over the cap. */
	{
		uint8_t big[16 + OP_KEYS_BAD_MAX];
		memset(big, 0, sizeof(big));
		big[4] = (uint8_t)((OP_KEYS_BAD_MAX + 1) >> 8);
		big[5] = (uint8_t)((OP_KEYS_BAD_MAX + 1) & 0xff);
		assert_int_equal(op_keys_parse(big, sizeof(big), out, 4, &n,
					       bad, sizeof(bad)),
				 ITK_E_TOO_BIG);
	}
}

/* ------------------------------------------------ the real process */

static char store[64];

static void
save_operator(const char *name, itk_role role)
{
	itk_key_info tmpl;
	itk_secret_key *k = NULL;
	char path[256];

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.kind = ITK_KEY_OPERATOR;
	tmpl.created = (uint64_t)time(NULL);
	tmpl.role = role;
	tmpl.queues = 1u; /* every role works at least one queue */
	snprintf(tmpl.name, sizeof(tmpl.name), "%s", name);
	assert_int_equal(itk_key_generate(&tmpl, &k), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), store,
					   ITK_KEY_OPERATOR, 0, name, true),
			 ITK_OK);
	assert_int_equal(itk_key_save_public(itk_key_info_of(k), path),
			 ITK_OK);
	itk_key_free(k);
}

static size_t
names(op_keys_reader *kr, itk_err *r, char *bad, size_t badlen, char *joined,
      size_t jlen)
{
	itk_key_info out[ITK_KEYSTORE_ENTRIES_MAX];
	size_t n = 0, used = 0;

	*r = op_keys_reader_list(kr, out, ITK_KEYSTORE_ENTRIES_MAX, &n, bad,
				 badlen);
	joined[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(joined + used, jlen - used, "%s%s",
				 i ? "," : "", out[i].name);
		assert_true(w > 0 && (size_t)w < jlen - used);
		used += (size_t)w;
	}
	return n;
}

static void
test_reader_process(void **state)
{
	op_keys_reader *kr = NULL;
	char sub[128], path[256], bad[OP_KEYS_BAD_MAX + 1], got[512];
	itk_err r;
	long pid;
	FILE *f;

	(void)state;
	assert_int_equal(itk_crypto_init(), ITK_OK);
	snprintf(store, sizeof(store), "/tmp/itk-opkeys-XXXXXX");
	assert_non_null(mkdtemp(store));
	snprintf(sub, sizeof(sub), "%s/operators", store);
	assert_int_equal(mkdir(sub, 0700), 0);
	save_operator("alice", ITK_ROLE_TRIAGE);
	save_operator("bob", ITK_ROLE_ADMIN);
	assert_int_equal(op_keys_reader_start(store, &kr), ITK_OK);
	pid = op_keys_reader_pid(kr);
	assert_true(pid > 0);

	/* Sorted by the store (kind, then name). */
	assert_int_equal(names(kr, &r, bad, sizeof(bad), got, sizeof(got)), 2);
	assert_int_equal(r, ITK_OK);
	assert_string_equal(got, "alice,bob");
	/* The store changes; the same reader sees it. */
	save_operator("carol", ITK_ROLE_SUPERVISOR);
	assert_int_equal(names(kr, &r, bad, sizeof(bad), got, sizeof(got)), 3);
	assert_string_equal(got, "alice,bob,carol");
	/* A broken file: the listing fails and names it. */
	snprintf(path, sizeof(path), "%s/dave.pub", sub);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs("not a key\n", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(names(kr, &r, bad, sizeof(bad), got, sizeof(got)), 0);
	assert_int_not_equal(r, ITK_OK);
	assert_non_null(strstr(bad, "dave.pub"));
	/* Mended: listed again. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(names(kr, &r, bad, sizeof(bad), got, sizeof(got)), 3);
	assert_int_equal(r, ITK_OK);
	/* Freeing closes its socket: it exits and is reaped. */
	op_keys_reader_free(kr);
	assert_int_equal(kill((pid_t)pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	op_keys_reader_free(NULL);

	/* A store that is not there: an error, not a hang. */
	snprintf(path, sizeof(path), "%s/nothing-here", store);
	assert_int_equal(op_keys_reader_start(path, &kr), ITK_OK);
	assert_int_equal(names(kr, &r, bad, sizeof(bad), got, sizeof(got)), 0);
	assert_int_not_equal(r, ITK_OK);
	op_keys_reader_free(kr);
	snprintf(path, sizeof(path), "rm -rf '%s'", store);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_every_cut_and_trailing),
	    cmocka_unit_test(test_bad_fields),
	    cmocka_unit_test(test_result_and_bad_file),
	    cmocka_unit_test(test_reader_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
