/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_reply_body_decode: the ReplyBody a submitter finds inside an
 * opened reply. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_reply_body relies on. */
static void
invariant(const itk_pb_reply_body *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->text != NULL && m->from != NULL);
}

FUZZ_WIRE_TARGET(itk_wire_reply_body_decode, itk_pb_reply_body,
		 ITK_REPLY_BODY_MAX, invariant)
