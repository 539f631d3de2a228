/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_op_request_decode: the signed envelope an operator sends
 * to the operator service (read before the signature is checked). */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_op_request *m)
{
	FUZZ_CHECK(m->body.len > 0 && m->signature.len == ITK_SIG_LEN);
}

FUZZ_WIRE_TARGET(itk_wire_op_request_decode, itk_pb_op_request,
		 ITK_OP_REQUEST_MAX, invariant)
