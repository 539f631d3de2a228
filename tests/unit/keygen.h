/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test key generator, shared by the gateway unit tests (through
 * gw_fixture.h) and tests/integration/gw_link_test.c.  Include after
 * keys.h and cmocka.h.
 */
#ifndef ITK_TEST_KEYGEN_H
#define ITK_TEST_KEYGEN_H

/* A new key of kind, created now, valid from nb to na (0: unbounded);
 * fails the test if generation fails.  The caller frees it with
 * itk_key_free. */
static itk_secret_key *
gen(itk_key_kind kind, const char *name, uint64_t nb, uint64_t na)
{
	itk_key_info t;
	itk_secret_key *k = NULL;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.created = (uint64_t)time(NULL);
	t.not_before = nb;
	t.not_after = na;
	snprintf(t.name, sizeof(t.name), "%s", name);
	assert_int_equal(itk_key_generate(&t, &k), ITK_OK);
	return k;
}

#endif
