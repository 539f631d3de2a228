/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_open (common/crypto.c), what the worker runs on every sealed
 * box a stranger sent, with the fixed test intake key of fuzz.h.  The first
 * input byte picks a mode; the rest is the payload:
 *
 *   0  the payload is a sealed box: itk_open must answer ITK_OK or the one
 *      error ITK_E_DECRYPT, and never crash;
 *   1  the payload is a padded plaintext of the fuzzer's choosing (sized up
 *      to a bucket), sealed here so that itk_open gets past the MAC and
 *      its unpadding sees adversarial padding: the result must match an
 *      independent ISO/IEC 7816-4 unpad;
 *   2  the payload is a message: itk_seal then itk_open gives it back, and
 *      a different key cannot open it.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"

/* ISO/IEC 7816-4: content, then 0x80, then zero bytes.  -1 if invalid. */
static long
ref_unpad(const uint8_t *p, size_t n)
{
	size_t i = n;

	while (i > 0 && p[i - 1] == 0x00) {
		i--;
	}
	if (i == 0 || p[i - 1] != 0x80) {
		return -1;
	}
	return (long)(i - 1);
}

static void
mode_sealed(const struct fuzz_keys *k, const uint8_t *p, size_t n,
	    itk_buf *out)
{
	itk_err r = itk_open(k->intake_pk, k->intake_sk, p, n, out);

	/* One error for every failure: no oracle. */
	FUZZ_CHECK(r == ITK_OK || r == ITK_E_DECRYPT || r == ITK_E_NOMEM);
	if (r != ITK_OK) {
		FUZZ_CHECK(itk_buf_len(out) == 0);
		return;
	}
	FUZZ_CHECK(itk_sealed_len_ok(n));
	FUZZ_CHECK(itk_buf_len(out) < n - ITK_SEAL_OVERHEAD);
}

static void
mode_padding(const struct fuzz_keys *k, const uint8_t *p, size_t n,
	     itk_buf *out)
{
	size_t bucket = ITK_PAD_MAX;
	uint8_t *padded, *sealed;
	long want;
	itk_err r;

	/* The smallest bucket that holds the payload, all of it chosen by
	 * the fuzzer (the last byte too); a longer payload is cut. */
	for (size_t i = ITK_PAD_BUCKETS; i-- > 0;) {
		if (n <= itk_pad_buckets[i]) {
			bucket = itk_pad_buckets[i];
		}
	}
	n = n < bucket ? n : bucket;
	FUZZ_CHECK((padded = calloc(1, bucket)) != NULL);
	FUZZ_CHECK((sealed = malloc(bucket + ITK_SEAL_OVERHEAD)) != NULL);
	if (n > 0) {
		memcpy(padded, p, n);
	}
	want = ref_unpad(padded, bucket);
	/*
	 * Sealed directly, not with itk_seal: the point is a box whose
	 * padding itk_seal would never make.
	 */
	FUZZ_CHECK(crypto_box_seal(sealed, padded, bucket, k->intake_pk) == 0);
	r = itk_open(k->intake_pk, k->intake_sk, sealed,
		     bucket + ITK_SEAL_OVERHEAD, out);
	if (want < 0) {
		FUZZ_CHECK(r == ITK_E_DECRYPT);
		FUZZ_CHECK(itk_buf_len(out) == 0);
	} else {
		FUZZ_CHECK(r == ITK_OK);
		FUZZ_CHECK(itk_buf_len(out) == (size_t)want);
		FUZZ_CHECK(want == 0 || memcmp(itk_buf_ptr(out), padded,
					       (size_t)want) == 0);
	}
	free(sealed);
	free(padded);
}

static void
mode_roundtrip(const struct fuzz_keys *k, const uint8_t *p, size_t n,
	       itk_buf *out)
{
	itk_buf *sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD);
	size_t bucket = itk_pad_bucket(n);
	itk_err r;

	FUZZ_CHECK(sealed != NULL);
	r = itk_seal(k->intake_pk, p, n, sealed);
	if (bucket == 0) {
		FUZZ_CHECK(r == ITK_E_TOO_BIG && itk_buf_len(sealed) == 0);
		goto out;
	}
	FUZZ_CHECK(r == ITK_OK);
	/* The size reveals the bucket and nothing else. */
	FUZZ_CHECK(itk_buf_len(sealed) == bucket + ITK_SEAL_OVERHEAD);
	FUZZ_CHECK(itk_open(k->reply_pk, k->reply_sk, itk_buf_ptr(sealed),
			    itk_buf_len(sealed), out) == ITK_E_DECRYPT);
	FUZZ_CHECK(itk_buf_len(out) == 0);
	FUZZ_CHECK(itk_open(k->intake_pk, k->intake_sk, itk_buf_ptr(sealed),
			    itk_buf_len(sealed), out) == ITK_OK);
	FUZZ_CHECK(itk_buf_len(out) == n);
	FUZZ_CHECK(n == 0 || memcmp(itk_buf_ptr(out), p, n) == 0);
out:
	itk_buf_free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();
	itk_buf *out;

	if (size == 0) {
		return 0;
	}
	FUZZ_CHECK((out = itk_buf_new(ITK_PAD_MAX)) != NULL);
	switch (data[0] % 3) {
	case 0:
		mode_sealed(k, data + 1, size - 1, out);
		break;
	case 1:
		mode_padding(k, data + 1, size - 1, out);
		break;
	default:
		mode_roundtrip(k, data + 1, size - 1, out);
		break;
	}
	itk_buf_free(out);
	return 0;
}
