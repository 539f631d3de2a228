/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_inner_decode: the InnerMessage the worker finds inside an
 * opened sealed box. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_inner relies on. */
static void
invariant(const itk_pb_inner *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	/* Phone cases (channel PHONE) may have no contact, both empty. */
	if (m->channel == INTAKE__V1__CHANNEL__CHANNEL_PHONE &&
	    m->reply_public_key.len == 0) {
		FUZZ_CHECK(m->mailbox_id.len == 0);
		return;
	}
	FUZZ_CHECK(m->reply_public_key.len == ITK_PK_LEN);
	FUZZ_CHECK(m->mailbox_id.len == ITK_MAILBOX_ID_LEN);
	FUZZ_CHECK(m->thread_id.len == 0 || m->thread_id.len == ITK_HASH_LEN);
	FUZZ_CHECK(m->language != NULL && m->text != NULL);
	for (size_t i = 0; i < m->n_fields; i++) {
		FUZZ_CHECK(m->fields[i] != NULL);
		FUZZ_CHECK(m->fields[i]->name != NULL);
		FUZZ_CHECK(m->fields[i]->value != NULL);
	}
	for (size_t i = 0; i < m->n_attachments; i++) {
		FUZZ_CHECK(m->attachments[i] != NULL);
		FUZZ_CHECK(m->attachments[i]->media_type != NULL);
		FUZZ_CHECK(m->attachments[i]->name != NULL);
	}
}

FUZZ_WIRE_TARGET(itk_wire_inner_decode, itk_pb_inner, ITK_INNER_MAX, invariant)
