/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_bundle_verify (keys/bundle.c), what every client runs on the
 * key bundle a possibly hostile network hands it, pinned to the fixed test
 * organisation key of fuzz.h.  The first input byte picks a mode:
 *
 *   0  the rest is a serialized KeyBundle, verified as is (mutations of a
 *      signed seed mostly stop at the signature, as they should);
 *   1  the rest is a KeyBundleBody, signed here with the test key, so the
 *      fuzzer reaches the body checks behind the signature: it must verify
 *      exactly when the body decodes and names the pinned key, and never
 *      under another pinned key.
 */
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "keys.h"
#include "wire.h"

static int
verify_err_ok(itk_err r)
{
	return r == ITK_E_VERIFY || r == ITK_E_FORMAT || r == ITK_E_RANGE ||
	       r == ITK_E_MISSING || r == ITK_E_VERSION ||
	       r == ITK_E_TOO_BIG || r == ITK_E_NOMEM;
}

/* A verified body: the pinned key, and a sane current-key choice. */
static void
check_body(const itk_pb_key_bundle_body *b, const uint8_t *org_pk)
{
	const uint64_t times[] = {0, b->issued_at, UINT64_MAX,
				  b->intake_keys[0]->not_before};

	FUZZ_CHECK(b->org_public_key.len == ITK_SIGN_PK_LEN);
	FUZZ_CHECK(memcmp(b->org_public_key.data, org_pk, ITK_SIGN_PK_LEN) ==
		   0);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		const Intake__V1__IntakeKey *k =
		    itk_bundle_current_intake_key(b, times[i]);
		FUZZ_CHECK(k == NULL || (k->not_before <= times[i] &&
					 times[i] <= k->not_after));
		/* The first key's own start is inside its window. */
		FUZZ_CHECK(i != 3 || k != NULL);
	}
}

static void
mode_bundle(const struct fuzz_keys *k, const uint8_t *p, size_t n)
{
	itk_pb_key_bundle_body *body = NULL;
	itk_err r = itk_bundle_verify(p, n, k->org_pk, &body);

	if (r != ITK_OK) {
		FUZZ_CHECK(verify_err_ok(r) && body == NULL);
		return;
	}
	check_body(body, k->org_pk);
	itk_wire_free(body);
}

static void
mode_body(const struct fuzz_keys *k, const uint8_t *p, size_t n)
{
	Intake__V1__KeyBundle kb = INTAKE__V1__KEY_BUNDLE__INIT;
	itk_pb_key_bundle_body *body = NULL, *plain = NULL;
	uint8_t sig[ITK_SIG_LEN];
	itk_buf *wire = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r, want;

	FUZZ_CHECK(wire != NULL);
	FUZZ_CHECK(itk_sign(ITK_SIG_KEY_BUNDLE, k->org_sk, p, n, sig) ==
		   ITK_OK);
	kb.body.data = (uint8_t *)p;
	kb.body.len = n;
	kb.signature.data = sig;
	kb.signature.len = sizeof(sig);
	FUZZ_CHECK(itk_wire_pack(&kb.base, wire) == ITK_OK);

	/* What the answer must be, from the decoder alone. */
	want = itk_wire_key_bundle_body_decode(p, n, &plain);
	if (want == ITK_OK && memcmp(plain->org_public_key.data, k->org_pk,
				     ITK_SIGN_PK_LEN) != 0) {
		want = ITK_E_VERIFY;
	}
	if (n == 0) {
		want = ITK_E_MISSING; /* an empty body is no bundle */
	} else if (itk_buf_len(wire) > ITK_KEY_BUNDLE_MAX) {
		want = ITK_E_TOO_BIG;
	}

	r = itk_bundle_verify(itk_buf_ptr(wire), itk_buf_len(wire), k->org_pk,
			      &body);
	FUZZ_CHECK(r == want);
	if (r == ITK_OK) {
		check_body(body, k->org_pk);
		itk_wire_free(body);
		body = NULL;
	}
	/* Pinned to another key, the same bytes never verify. */
	r = itk_bundle_verify(itk_buf_ptr(wire), itk_buf_len(wire),
			      k->receipt_pk, &body);
	FUZZ_CHECK(r != ITK_OK && body == NULL);
	itk_wire_free(plain);
	itk_buf_free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();

	if (size == 0) {
		return 0;
	}
	if (data[0] % 2 == 0) {
		mode_bundle(k, data + 1, size - 1);
	} else {
		mode_body(k, data + 1, size - 1);
	}
	return 0;
}
