/* SPDX-License-Identifier: Apache-2.0 */
#include "reply.h"

#include <string.h>

itk_err
wk_reply_seal(const uint8_t reply_pk[static ITK_PK_LEN],
	      const uint8_t mailbox_id[static ITK_MAILBOX_ID_LEN],
	      const char *text, const uint8_t *case_ref, uint64_t sent_at,
	      wk_reply *out)
{
	itk_pb_reply_body body = INTAKE__V1__REPLY_BODY__INIT;
	itk_buf *plain = NULL;
	itk_err r = ITK_E_NOMEM;

	memset(out, 0, sizeof(*out));
	body.version = ITK_WIRE_VERSION;
	body.text = (char *)text;
	body.sent_at = sent_at;
	body.from = "staff";
	if (case_ref != NULL) {
		body.case_ref.data = (uint8_t *)case_ref;
		body.case_ref.len = ITK_HASH_LEN;
	}
	if ((plain = itk_buf_new(ITK_PAD_MAX)) == NULL ||
	    (out->sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD)) ==
		NULL) {
		goto out;
	}
	if ((r = itk_wire_pack(&body.base, plain)) != ITK_OK ||
	    (r = itk_seal(reply_pk, itk_buf_ptr(plain), itk_buf_len(plain),
			  out->sealed)) != ITK_OK) {
		goto out;
	}
	itk_sha256(out->reply_id, itk_buf_ptr(out->sealed),
		   itk_buf_len(out->sealed));
	memcpy(out->mailbox_id, mailbox_id, ITK_MAILBOX_ID_LEN);
	out->posted_at = sent_at;
	r = ITK_OK;
out:
	itk_buf_free(plain); /* wipes the reply text */
	if (r != ITK_OK) {
		wk_reply_fini(out);
	}
	return r;
}

void
wk_reply_fini(wk_reply *r)
{
	itk_buf_free(r->sealed);
	r->sealed = NULL;
}

void
wk_reply_to_pb(wk_reply *r, itk_pb_reply *pb)
{
	intake__v1__reply__init(pb);
	pb->reply_id.data = r->reply_id;
	pb->reply_id.len = ITK_HASH_LEN;
	pb->mailbox_id.data = r->mailbox_id;
	pb->mailbox_id.len = ITK_MAILBOX_ID_LEN;
	pb->sealed.data = itk_buf_mutable_ptr(r->sealed);
	pb->sealed.len = itk_buf_len(r->sealed);
	pb->posted_at = r->posted_at;
}
