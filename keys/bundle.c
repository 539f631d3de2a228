/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>

#include "keys.h"

itk_err
itk_bundle_verify(const uint8_t *bundle, size_t len,
		  const uint8_t org_pk[static ITK_SIGN_PK_LEN],
		  itk_pb_key_bundle_body **out)
{
	itk_pb_key_bundle *b = NULL;
	itk_pb_key_bundle_body *body = NULL;
	itk_err r;

	if ((r = itk_wire_key_bundle_decode(bundle, len, &b)) != ITK_OK) {
		goto out;
	}
	/* Signature first: nothing of an unsigned body is believed. */
	if ((r = itk_verify(ITK_SIG_KEY_BUNDLE, org_pk, b->body.data,
			    b->body.len, b->signature.data)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_wire_key_bundle_body_decode(b->body.data, b->body.len,
						 &body)) != ITK_OK) {
		goto out;
	}
	if (sodium_memcmp(body->org_public_key.data, org_pk,
			  ITK_SIGN_PK_LEN) != 0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	*out = body;
	body = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_wire_free(body);
	itk_wire_free(b);
	return r;
}

const Intake__V1__IntakeKey *
itk_bundle_current_intake_key(const itk_pb_key_bundle_body *b, uint64_t now)
{
	for (size_t i = 0; i < b->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *k = b->intake_keys[i];
		if (k->not_before <= now && now <= k->not_after) {
			return k;
		}
	}
	return NULL;
}
