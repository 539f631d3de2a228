/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_case_export_body_decode: the opened body of an export
 * file (a case's thread, notes and history). */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_case_export_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->case_id.len == ITK_HASH_LEN);
	FUZZ_CHECK(m->summary != NULL &&
		   m->summary->case_id.len == ITK_HASH_LEN);
	for (size_t i = 0; i < m->n_messages; i++) {
		FUZZ_CHECK(m->messages[i]->submission_id.len == ITK_HASH_LEN);
	}
}

FUZZ_WIRE_TARGET(itk_wire_case_export_body_decode, itk_pb_case_export_body,
		 ITK_EXPORT_PLAIN_MAX, invariant)
