/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_key_bundle_body_decode: the signed body of a KeyBundle. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_key_bundle_body relies on. */
static void
invariant(const itk_pb_key_bundle_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->origin != NULL && m->origin[0] != '\0');
	FUZZ_CHECK(m->n_intake_keys >= 1);
	FUZZ_CHECK(m->n_intake_keys <= ITK_BUNDLE_KEYS_MAX);
	FUZZ_CHECK(m->receipt_public_key.len == ITK_SIGN_PK_LEN);
	FUZZ_CHECK(m->log_public_key.len == ITK_SIGN_PK_LEN);
	FUZZ_CHECK(m->org_public_key.len == ITK_SIGN_PK_LEN);
	for (size_t i = 0; i < m->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *k = m->intake_keys[i];
		FUZZ_CHECK(k != NULL && k->public_key.len == ITK_PK_LEN);
		FUZZ_CHECK(k->not_before <= k->not_after);
		FUZZ_CHECK(k->key_id == itk_intake_key_id(k->public_key.data));
	}
}

FUZZ_WIRE_TARGET(itk_wire_key_bundle_body_decode, itk_pb_key_bundle_body,
		 ITK_KEY_BUNDLE_MAX, invariant)
