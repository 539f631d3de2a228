/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_submission_decode: a Submission as POST /v1/submissions
 * receives it. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_submission relies on. */
static void
invariant(const itk_pb_submission *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(itk_sealed_len_ok(m->sealed.len));
	FUZZ_CHECK(m->sealed.data != NULL);
}

FUZZ_WIRE_TARGET(itk_wire_submission_decode, itk_pb_submission,
		 ITK_SUBMISSION_MAX, invariant)
