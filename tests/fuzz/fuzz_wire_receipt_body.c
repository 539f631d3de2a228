/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_receipt_body_decode: the signed body of a Receipt. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_receipt_body relies on. */
static void
invariant(const itk_pb_receipt_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->submission_id.len == ITK_HASH_LEN);
	FUZZ_CHECK(m->origin != NULL);
}

FUZZ_WIRE_TARGET(itk_wire_receipt_body_decode, itk_pb_receipt_body,
		 ITK_RECEIPT_MAX, invariant)
