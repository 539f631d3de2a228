/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_case_export_header_decode: the signed header of an
 * export file (decoded before the signature is checked). */
#include "fuzz_wire.h"

static void
invariant(const itk_pb_case_export_header *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->case_id.len == ITK_HASH_LEN);
	FUZZ_CHECK(m->recipient_pk.len == ITK_PK_LEN);
	FUZZ_CHECK(m->signer_pk.len == ITK_SIGN_PK_LEN);
	FUZZ_CHECK(itk_sealed_len_ok(m->sealed.len));
	FUZZ_CHECK(m->sealed.len <= ITK_EXPORT_PLAIN_MAX + ITK_SEAL_OVERHEAD);
}

FUZZ_WIRE_TARGET(itk_wire_case_export_header_decode, itk_pb_case_export_header,
		 ITK_EXPORT_MAX, invariant)
