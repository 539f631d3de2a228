/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_op_request_body_decode: the signed operator request. */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_op_request_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->operator_ != NULL && m->operator_[0] != '\0');
	FUZZ_CHECK(m->nonce.len == ITK_OP_NONCE_LEN);
	FUZZ_CHECK(m->case_id.len == 0 || m->case_id.len == ITK_HASH_LEN);
	FUZZ_CHECK(m->text != NULL && strlen(m->text) <= ITK_OP_TEXT_MAX);
}

FUZZ_WIRE_TARGET(itk_wire_op_request_body_decode, itk_pb_op_request_body,
		 ITK_OP_REQUEST_MAX, invariant)
