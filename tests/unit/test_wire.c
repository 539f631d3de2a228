/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "wire.h"

static int
setup(void **state)
{
	return itk_crypto_init() == ITK_OK ? 0 : -1;
}

/* A valid serialized Submission with a sealed body of the given size. */
static itk_buf *
make_submission(uint32_t version, size_t sealed_len)
{
	static uint8_t sealed[2048 + ITK_SEAL_OVERHEAD];
	itk_pb_submission s = INTAKE__V1__SUBMISSION__INIT;
	itk_buf *b = itk_buf_new(ITK_SUBMISSION_MAX * 2);

	randombytes_buf(sealed, sizeof(sealed));
	s.version = version;
	s.intake_key_id = 0x01020304;
	s.sealed.data = sealed;
	s.sealed.len = sealed_len;
	assert_int_equal(itk_wire_pack(&s.base, b), ITK_OK);
	return b;
}

static void
submission_round_trip(void **state)
{
	itk_buf *b = make_submission(1, 512 + ITK_SEAL_OVERHEAD);
	itk_pb_submission *s = NULL;

	assert_int_equal(
	    itk_wire_submission_decode(itk_buf_ptr(b), itk_buf_len(b), &s),
	    ITK_OK);
	assert_int_equal(s->intake_key_id, 0x01020304);
	assert_int_equal(s->sealed.len, 512 + ITK_SEAL_OVERHEAD);
	itk_wire_free(s);
	itk_buf_free(b);
}

static void
submission_bad_inputs(void **state)
{
	itk_pb_submission *s = NULL;
	itk_buf *b;
	static uint8_t big[ITK_SUBMISSION_MAX + 1];

	b = make_submission(2, 512 + ITK_SEAL_OVERHEAD);
	assert_int_equal(
	    itk_wire_submission_decode(itk_buf_ptr(b), itk_buf_len(b), &s),
	    ITK_E_VERSION);
	itk_buf_free(b);

	b = make_submission(1, 0);
	assert_int_equal(
	    itk_wire_submission_decode(itk_buf_ptr(b), itk_buf_len(b), &s),
	    ITK_E_MISSING);
	itk_buf_free(b);

	b = make_submission(1, 100);
	assert_int_equal(
	    itk_wire_submission_decode(itk_buf_ptr(b), itk_buf_len(b), &s),
	    ITK_E_RANGE);
	itk_buf_free(b);

	/* Truncated at every length: never a crash, never ITK_OK. */
	b = make_submission(1, 512 + ITK_SEAL_OVERHEAD);
	for (size_t n = 0; n < itk_buf_len(b); n++) {
		itk_err r = itk_wire_submission_decode(itk_buf_ptr(b), n, &s);
		assert_int_not_equal(r, ITK_OK);
	}
	itk_buf_free(b);

	assert_int_equal(itk_wire_submission_decode(big, sizeof(big), &s),
			 ITK_E_TOO_BIG);
	memset(big, 0xff, 64);
	assert_int_equal(itk_wire_submission_decode(big, 64, &s),
			 ITK_E_FORMAT);
	assert_null(s);
}

static void
bundle_body_checks_keys(void **state)
{
	Intake__V1__IntakeKey k = INTAKE__V1__INTAKE_KEY__INIT;
	Intake__V1__IntakeKey *keys[1] = {&k};
	itk_pb_key_bundle_body body = INTAKE__V1__KEY_BUNDLE_BODY__INIT;
	uint8_t pk[32], spk[32];
	itk_pb_key_bundle_body *out = NULL;
	itk_buf *b = itk_buf_new(ITK_KEY_BUNDLE_MAX);

	randombytes_buf(pk, 32);
	randombytes_buf(spk, 32);
	k.public_key.data = pk;
	k.public_key.len = 32;
	k.key_id = itk_intake_key_id(pk);
	k.not_before = 1;
	k.not_after = 2;
	body.version = 1;
	body.origin = "intake.test/log";
	body.n_intake_keys = 1;
	body.intake_keys = keys;
	body.receipt_public_key = (ProtobufCBinaryData){32, spk};
	body.log_public_key = (ProtobufCBinaryData){32, spk};
	body.org_public_key = (ProtobufCBinaryData){32, spk};
	assert_int_equal(itk_wire_pack(&body.base, b), ITK_OK);
	assert_int_equal(itk_wire_key_bundle_body_decode(itk_buf_ptr(b),
							 itk_buf_len(b), &out),
			 ITK_OK);
	itk_wire_free(out);

	/* A key id that does not belong to the key is refused. */
	k.key_id ^= 1;
	itk_buf_reset(b);
	assert_int_equal(itk_wire_pack(&body.base, b), ITK_OK);
	out = NULL;
	assert_int_equal(itk_wire_key_bundle_body_decode(itk_buf_ptr(b),
							 itk_buf_len(b), &out),
			 ITK_E_RANGE);
	assert_null(out);
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(submission_round_trip),
	    cmocka_unit_test(submission_bad_inputs),
	    cmocka_unit_test(bundle_body_checks_keys),
	};
	return cmocka_run_group_tests_name("wire", tests, setup, NULL);
}
