/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"

static int
setup(void **state)
{
	return itk_crypto_init() == ITK_OK ? 0 : -1;
}

static void
seal_open_round_trip_every_bucket(void **state)
{
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];
	static uint8_t msg[ITK_PAD_MAX];
	const size_t lens[] = {0, 1, 511, 512, 2047, 100000, ITK_PAD_MAX - 1};

	crypto_box_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		itk_buf *sealed = itk_buf_new(ITK_BUF_SIZE_MAX);
		itk_buf *plain = itk_buf_new(ITK_BUF_SIZE_MAX);

		assert_int_equal(itk_seal(pk, msg, lens[i], sealed), ITK_OK);
		assert_int_equal(itk_buf_len(sealed),
				 itk_pad_bucket(lens[i]) + ITK_SEAL_OVERHEAD);
		assert_true(itk_sealed_len_ok(itk_buf_len(sealed)));
		assert_int_equal(itk_open(pk, sk, itk_buf_ptr(sealed),
					  itk_buf_len(sealed), plain),
				 ITK_OK);
		assert_int_equal(itk_buf_len(plain), lens[i]);
		if (lens[i] > 0) {
			assert_memory_equal(itk_buf_ptr(plain), msg, lens[i]);
		}
		itk_buf_free(sealed);
		itk_buf_free(plain);
	}
}

static void
seal_refuses_oversize(void **state)
{
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];
	static uint8_t msg[ITK_PAD_MAX];
	itk_buf *sealed = itk_buf_new(ITK_BUF_SIZE_MAX);

	crypto_box_keypair(pk, sk);
	assert_int_equal(itk_pad_bucket(ITK_PAD_MAX), 0);
	assert_int_equal(itk_seal(pk, msg, ITK_PAD_MAX, sealed),
			 ITK_E_TOO_BIG);
	assert_int_equal(itk_buf_len(sealed), 0);
	itk_buf_free(sealed);
}

static void
open_fails_closed(void **state)
{
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN], pk2[ITK_PK_LEN],
	    sk2[ITK_SK_LEN];
	const char *msg = "marker-open-fails-closed";
	itk_buf *sealed = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_buf *plain = itk_buf_new(ITK_BUF_SIZE_MAX);
	uint8_t *s;
	size_t n;

	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	assert_int_equal(
	    itk_seal(pk, (const uint8_t *)msg, strlen(msg), sealed), ITK_OK);
	s = itk_buf_mutable_ptr(sealed);
	n = itk_buf_len(sealed);
	/* wrong key */
	assert_int_equal(itk_open(pk2, sk2, s, n, plain), ITK_E_DECRYPT);
	/* truncated, extended */
	assert_int_equal(itk_open(pk, sk, s, n - 1, plain), ITK_E_DECRYPT);
	assert_int_equal(itk_open(pk, sk, s, 10, plain), ITK_E_DECRYPT);
	/* every bit flip in the first bytes and the tag region */
	for (size_t i = 0; i < 80; i++) {
		s[i] ^= 0x01;
		assert_int_equal(itk_open(pk, sk, s, n, plain), ITK_E_DECRYPT);
		s[i] ^= 0x01;
	}
	assert_int_equal(itk_buf_len(plain), 0);
	assert_int_equal(itk_open(pk, sk, s, n, plain), ITK_OK);
	itk_buf_free(sealed);
	itk_buf_free(plain);
}

static void
open_rejects_bad_padding(void **state)
{
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];
	uint8_t padded[512], sealed[512 + ITK_SEAL_OVERHEAD];
	itk_buf *plain = itk_buf_new(ITK_BUF_SIZE_MAX);

	/* A correctly sealed box whose content has no 0x80 marker. */
	crypto_box_keypair(pk, sk);
	memset(padded, 0, sizeof(padded));
	assert_int_equal(crypto_box_seal(sealed, padded, sizeof(padded), pk),
			 0);
	assert_int_equal(itk_open(pk, sk, sealed, sizeof(sealed), plain),
			 ITK_E_DECRYPT);
	itk_buf_free(plain);
}

static void
signatures_are_domain_separated(void **state)
{
	uint8_t pk[ITK_SIGN_PK_LEN], sk[ITK_SIGN_SK_LEN], sig[ITK_SIG_LEN];
	const uint8_t msg[] = "body";

	crypto_sign_keypair(pk, sk);
	assert_int_equal(itk_sign(ITK_SIG_RECEIPT, sk, msg, sizeof(msg), sig),
			 ITK_OK);
	assert_int_equal(
	    itk_verify(ITK_SIG_RECEIPT, pk, msg, sizeof(msg), sig), ITK_OK);
	assert_int_equal(
	    itk_verify(ITK_SIG_KEY_BUNDLE, pk, msg, sizeof(msg), sig),
	    ITK_E_VERIFY);
	/* A raw signature over the body alone is not accepted either. */
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	assert_int_equal(
	    itk_verify(ITK_SIG_RECEIPT, pk, msg, sizeof(msg), sig),
	    ITK_E_VERIFY);
	assert_int_equal(itk_sign(ITK_SIG_CTX_COUNT, sk, msg, 1, sig),
			 ITK_E_INTERNAL);
}

static void
key_id_matches_definition(void **state)
{
	uint8_t pk[ITK_PK_LEN], h[32], in[17 + ITK_PK_LEN];

	randombytes_buf(pk, sizeof(pk));
	memcpy(in, "intake-v1 key id", 17); /* includes the NUL */
	memcpy(in + 17, pk, ITK_PK_LEN);
	crypto_hash_sha256(h, in, sizeof(in));
	assert_int_equal(itk_intake_key_id(pk),
			 ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
			     ((uint32_t)h[2] << 8) | h[3]);
}

static void
hex_is_strict(void **state)
{
	uint8_t out[2];
	char s[5];

	assert_int_equal(itk_unhex(out, 2, "a0ff", 4), ITK_OK);
	assert_int_equal(out[0], 0xa0);
	itk_hex(s, out, 2);
	assert_string_equal(s, "a0ff");
	assert_int_equal(itk_unhex(out, 2, "a0f", 3), ITK_E_FORMAT);
	assert_int_equal(itk_unhex(out, 2, "a0fg", 4), ITK_E_FORMAT);
	assert_int_equal(itk_unhex(out, 2, "a0 f", 4), ITK_E_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seal_open_round_trip_every_bucket),
	    cmocka_unit_test(seal_refuses_oversize),
	    cmocka_unit_test(open_fails_closed),
	    cmocka_unit_test(open_rejects_bad_padding),
	    cmocka_unit_test(signatures_are_domain_separated),
	    cmocka_unit_test(key_id_matches_definition),
	    cmocka_unit_test(hex_is_strict),
	};
	return cmocka_run_group_tests_name("crypto", tests, setup, NULL);
}
