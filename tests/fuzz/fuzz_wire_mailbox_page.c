/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_mailbox_page_decode: a MailboxPage as GET /v1/mailbox/{id}
 * returns it. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_mailbox_page relies on. */
static void
invariant(const itk_pb_mailbox_page *m)
{
	for (size_t i = 0; i < m->n_replies; i++) {
		const itk_pb_reply *r = m->replies[i];
		FUZZ_CHECK(r != NULL);
		FUZZ_CHECK(r->reply_id.len == ITK_HASH_LEN);
		FUZZ_CHECK(r->mailbox_id.len == ITK_MAILBOX_ID_LEN);
		FUZZ_CHECK(itk_sealed_len_ok(r->sealed.len));
	}
}

FUZZ_WIRE_TARGET(itk_wire_mailbox_page_decode, itk_pb_mailbox_page,
		 ITK_MAILBOX_PAGE_MAX, invariant)
