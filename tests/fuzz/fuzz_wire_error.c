/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_error_decode: an Error as every non-2xx HTTP answer carries
 * it. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_error relies on. */
static void
invariant(const itk_pb_error *m)
{
	FUZZ_CHECK(m->code != 0);
	FUZZ_CHECK(m->name != NULL && m->message != NULL);
}

FUZZ_WIRE_TARGET(itk_wire_error_decode, itk_pb_error, ITK_ERROR_MAX, invariant)
