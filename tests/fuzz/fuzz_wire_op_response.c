/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_op_response_decode: the operator service's answer as
 * intake-op reads it before opening it. */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_op_response *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->error != NULL ? m->error->code != 0
				    : itk_sealed_len_ok(m->sealed.len));
}

FUZZ_WIRE_TARGET(itk_wire_op_response_decode, itk_pb_op_response,
		 ITK_OP_RESPONSE_MAX, invariant)
