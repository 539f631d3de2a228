/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_case_export_decode: an export file as the recipient's
 * intake-op open-export reads it before checking its signature. */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_case_export *m)
{
	FUZZ_CHECK(m->header.len > 0);
	FUZZ_CHECK(m->signature.len == ITK_SIG_LEN);
}

FUZZ_WIRE_TARGET(itk_wire_case_export_decode, itk_pb_case_export,
		 ITK_EXPORT_MAX, invariant)
