/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_receipt_decode: a Receipt as the client gets it back. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_receipt relies on. */
static void
invariant(const itk_pb_receipt *m)
{
	FUZZ_CHECK(m->body.len > 0 && m->body.data != NULL);
	FUZZ_CHECK(m->signature.len == ITK_SIG_LEN);
}

FUZZ_WIRE_TARGET(itk_wire_receipt_decode, itk_pb_receipt, ITK_RECEIPT_MAX,
		 invariant)
