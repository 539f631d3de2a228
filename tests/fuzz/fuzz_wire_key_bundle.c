/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_key_bundle_decode: a KeyBundle as a client fetches it from
 * GET /v1/keys. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_key_bundle relies on. */
static void
invariant(const itk_pb_key_bundle *m)
{
	FUZZ_CHECK(m->body.len > 0 && m->body.data != NULL);
	FUZZ_CHECK(m->signature.len == ITK_SIG_LEN);
}

FUZZ_WIRE_TARGET(itk_wire_key_bundle_decode, itk_pb_key_bundle,
		 ITK_KEY_BUNDLE_MAX, invariant)
