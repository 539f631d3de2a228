/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_op_response_body_decode: an opened operator answer. */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_op_response_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	for (size_t i = 0; i < m->n_cases; i++) {
		FUZZ_CHECK(m->cases[i]->case_id.len == ITK_HASH_LEN);
	}
	for (size_t i = 0; i < m->n_messages; i++) {
		FUZZ_CHECK(m->messages[i]->submission_id.len == ITK_HASH_LEN);
	}
}

FUZZ_WIRE_TARGET(itk_wire_op_response_body_decode, itk_pb_op_response_body,
		 ITK_OP_RESPONSE_BODY_MAX, invariant)
