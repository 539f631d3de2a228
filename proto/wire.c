/* SPDX-License-Identifier: Apache-2.0 */
#include "wire.h"

#include <string.h>

#include "crypto.h"

itk_err
itk_wire_pack(const ProtobufCMessage *m, itk_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *dst;
	itk_err r;

	if ((r = itk_buf_reserve(out, n, &dst)) != ITK_OK) {
		return r;
	}
	if (protobuf_c_message_pack(m, dst) != n) {
		return ITK_E_INTERNAL;
	}
	return ITK_OK;
}

void
itk_wire_free(void *m)
{
	if (m != NULL) {
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

/* Caps, then unpacks.  The checks of each message follow in its decoder. */
static itk_err
unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
       size_t max, ProtobufCMessage **out)
{
	ProtobufCMessage *m;

	if (len > max) {
		return ITK_E_TOO_BIG;
	}
	if (len > 0 && p == NULL) {
		return ITK_E_INTERNAL;
	}
	if ((m = protobuf_c_message_unpack(d, NULL, len, p)) == NULL) {
		return ITK_E_FORMAT;
	}
	*out = m;
	return ITK_OK;
}

static bool
len_is(ProtobufCBinaryData b, size_t n)
{
	return b.len == n;
}

/*
 * The shape of every decoder: unpack under a cap, run the message's own
 * check, free on failure.
 */
#define DECODER(fn, type, desc, max, check)                                   \
	itk_err fn(const uint8_t *p, size_t len, type **out)                  \
	{                                                                     \
		ProtobufCMessage *pm = NULL;                                  \
		itk_err r;                                                    \
		if ((r = unpack(&(desc), p, len, (max), &pm)) != ITK_OK) {    \
			return r;                                             \
		}                                                             \
		if ((r = check((type *)pm)) != ITK_OK) {                      \
			itk_wire_free(pm);                                    \
			return r;                                             \
		}                                                             \
		*out = (type *)pm;                                            \
		return ITK_OK;                                                \
	}

static itk_err
check_submission(const itk_pb_submission *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (m->sealed.len == 0) {
		return ITK_E_MISSING;
	}
	if (!itk_sealed_len_ok(m->sealed.len)) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

static itk_err
check_key_bundle(const itk_pb_key_bundle *m)
{
	if (m->body.len == 0 || m->signature.len == 0) {
		return ITK_E_MISSING;
	}
	if (!len_is(m->signature, ITK_SIG_LEN)) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

static itk_err
check_key_bundle_body(const itk_pb_key_bundle_body *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (m->n_intake_keys == 0 || m->origin == NULL ||
	    m->origin[0] == '\0') {
		return ITK_E_MISSING;
	}
	if (m->n_intake_keys > ITK_BUNDLE_KEYS_MAX ||
	    !len_is(m->receipt_public_key, ITK_SIGN_PK_LEN) ||
	    !len_is(m->log_public_key, ITK_SIGN_PK_LEN) ||
	    !len_is(m->org_public_key, ITK_SIGN_PK_LEN)) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < m->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *k = m->intake_keys[i];
		if (!len_is(k->public_key, ITK_PK_LEN) ||
		    k->not_after < k->not_before ||
		    k->key_id != itk_intake_key_id(k->public_key.data)) {
			return ITK_E_RANGE;
		}
	}
	return ITK_OK;
}

static itk_err
check_receipt(const itk_pb_receipt *m)
{
	if (m->body.len == 0 || m->signature.len == 0) {
		return ITK_E_MISSING;
	}
	return len_is(m->signature, ITK_SIG_LEN) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_receipt_body(const itk_pb_receipt_body *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	return len_is(m->submission_id, ITK_HASH_LEN) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_inner(const itk_pb_inner *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	/* A case taken by phone (sealed by the operator service) has no
	 * reply channel: both contact fields empty, and only then. */
	if (m->channel == INTAKE__V1__CHANNEL__CHANNEL_PHONE &&
	    m->reply_public_key.len == 0 && m->mailbox_id.len == 0) {
		return m->thread_id.len != 0 &&
			       !len_is(m->thread_id, ITK_HASH_LEN)
			   ? ITK_E_RANGE
			   : ITK_OK;
	}
	if (m->reply_public_key.len == 0 || m->mailbox_id.len == 0) {
		return ITK_E_MISSING;
	}
	if (!len_is(m->reply_public_key, ITK_PK_LEN) ||
	    !len_is(m->mailbox_id, ITK_MAILBOX_ID_LEN) ||
	    (m->thread_id.len != 0 && !len_is(m->thread_id, ITK_HASH_LEN))) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

static itk_err
check_reply_body(const itk_pb_reply_body *m)
{
	return m->version == ITK_WIRE_VERSION ? ITK_OK : ITK_E_VERSION;
}

static itk_err
check_reply(const itk_pb_reply *m)
{
	if (!len_is(m->reply_id, ITK_HASH_LEN) ||
	    !len_is(m->mailbox_id, ITK_MAILBOX_ID_LEN) ||
	    !itk_sealed_len_ok(m->sealed.len)) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

static itk_err
check_mailbox_page(const itk_pb_mailbox_page *m)
{
	for (size_t i = 0; i < m->n_replies; i++) {
		itk_err r = check_reply(m->replies[i]);
		if (r != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

static itk_err
check_error(const itk_pb_error *m)
{
	return m->code == 0 ? ITK_E_MISSING : ITK_OK;
}

static itk_err
check_worker_request(const itk_pb_worker_request *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	for (size_t i = 0; i < m->n_acks; i++) {
		if (!len_is(m->acks[i], ITK_HASH_LEN)) {
			return ITK_E_RANGE;
		}
	}
	for (size_t i = 0; i < m->n_replies; i++) {
		itk_err r = check_reply(m->replies[i]);
		if (r != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

static itk_err
check_gateway_response(const itk_pb_gateway_response *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	for (size_t i = 0; i < m->n_deliveries; i++) {
		const Intake__V1__Delivery *d = m->deliveries[i];
		itk_err r;
		if (d->submission == NULL) {
			return ITK_E_MISSING;
		}
		if (!len_is(d->submission_id, ITK_HASH_LEN)) {
			return ITK_E_RANGE;
		}
		if ((r = check_submission(d->submission)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

DECODER(itk_wire_submission_decode, itk_pb_submission,
	intake__v1__submission__descriptor, ITK_SUBMISSION_MAX,
	check_submission)
DECODER(itk_wire_key_bundle_decode, itk_pb_key_bundle,
	intake__v1__key_bundle__descriptor, ITK_KEY_BUNDLE_MAX,
	check_key_bundle)
DECODER(itk_wire_key_bundle_body_decode, itk_pb_key_bundle_body,
	intake__v1__key_bundle_body__descriptor, ITK_KEY_BUNDLE_MAX,
	check_key_bundle_body)
DECODER(itk_wire_receipt_decode, itk_pb_receipt,
	intake__v1__receipt__descriptor, ITK_RECEIPT_MAX, check_receipt)
DECODER(itk_wire_receipt_body_decode, itk_pb_receipt_body,
	intake__v1__receipt_body__descriptor, ITK_RECEIPT_MAX,
	check_receipt_body)
DECODER(itk_wire_inner_decode, itk_pb_inner,
	intake__v1__inner_message__descriptor, ITK_INNER_MAX, check_inner)
DECODER(itk_wire_reply_body_decode, itk_pb_reply_body,
	intake__v1__reply_body__descriptor, ITK_REPLY_BODY_MAX,
	check_reply_body)
DECODER(itk_wire_mailbox_page_decode, itk_pb_mailbox_page,
	intake__v1__mailbox_page__descriptor, ITK_MAILBOX_PAGE_MAX,
	check_mailbox_page)
DECODER(itk_wire_error_decode, itk_pb_error, intake__v1__error__descriptor,
	ITK_ERROR_MAX, check_error)
DECODER(itk_wire_worker_request_decode, itk_pb_worker_request,
	intake__v1__worker_request__descriptor, ITK_WORKER_REQUEST_MAX,
	check_worker_request)
DECODER(itk_wire_gateway_response_decode, itk_pb_gateway_response,
	intake__v1__gateway_response__descriptor, ITK_GATEWAY_RESPONSE_MAX,
	check_gateway_response)

/* ------------------------------------------------- operator protocol */

static itk_err
check_op_request(const itk_pb_op_request *m)
{
	if (m->body.len == 0) {
		return ITK_E_MISSING;
	}
	return len_is(m->signature, ITK_SIG_LEN) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_op_request_body(const itk_pb_op_request_body *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (m->operator_[0] == '\0') {
		return ITK_E_MISSING;
	}
	if (!len_is(m->nonce, ITK_OP_NONCE_LEN) ||
	    (m->case_id.len != 0 && !len_is(m->case_id, ITK_HASH_LEN))) {
		return ITK_E_RANGE;
	}
	if (strlen(m->text) > ITK_OP_TEXT_MAX ||
	    m->n_case_ids > ITK_OP_BULK_MAX) {
		return ITK_E_TOO_BIG;
	}
	for (size_t i = 0; i < m->n_case_ids; i++) {
		if (!len_is(m->case_ids[i], ITK_HASH_LEN)) {
			return ITK_E_RANGE;
		}
	}
	if ((m->recipient_pk.len != 0 &&
	     !len_is(m->recipient_pk, ITK_PK_LEN)) ||
	    (m->approval_id.len != 0 &&
	     !len_is(m->approval_id, ITK_OP_APPROVAL_ID_LEN))) {
		return ITK_E_RANGE;
	}
	if (m->n_queue_keys > ITK_OP_QUEUE_KEYS_MAX) {
		return ITK_E_TOO_BIG;
	}
	for (size_t i = 0; i < m->n_queue_keys; i++) {
		if (m->queue_keys[i]->version == 0 ||
		    !len_is(m->queue_keys[i]->sealed, ITK_OP_QUEUE_KEY_LEN)) {
			return ITK_E_RANGE;
		}
	}
	return ITK_OK;
}

static itk_err
check_op_response(const itk_pb_op_response *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (m->error != NULL) {
		return check_error(m->error);
	}
	return itk_sealed_len_ok(m->sealed.len) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_case_summary(const Intake__V1__CaseSummary *c)
{
	return len_is(c->case_id, ITK_HASH_LEN) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_op_response_body(const itk_pb_op_response_body *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	for (size_t i = 0; i < m->n_cases; i++) {
		if (check_case_summary(m->cases[i]) != ITK_OK) {
			return ITK_E_RANGE;
		}
	}
	for (size_t i = 0; i < m->n_messages; i++) {
		if (!len_is(m->messages[i]->submission_id, ITK_HASH_LEN)) {
			return ITK_E_RANGE;
		}
	}
	for (size_t i = 0; i < m->n_history; i++) {
		const ProtobufCBinaryData *c = &m->history[i]->case_id;
		if (c->len != 0 && c->len != ITK_HASH_LEN) {
			return ITK_E_RANGE;
		}
	}
	for (size_t i = 0; i < m->n_approvals; i++) {
		const Intake__V1__Approval *a = m->approvals[i];
		if (!len_is(a->approval_id, ITK_OP_APPROVAL_ID_LEN) ||
		    a->n_case_ids > ITK_OP_BULK_MAX) {
			return ITK_E_RANGE;
		}
		for (size_t j = 0; j < a->n_case_ids; j++) {
			if (!len_is(a->case_ids[j], ITK_HASH_LEN)) {
				return ITK_E_RANGE;
			}
		}
	}
	return ITK_OK;
}

static itk_err
check_case_export(const itk_pb_case_export *m)
{
	if (m->header.len == 0) {
		return ITK_E_MISSING;
	}
	return len_is(m->signature, ITK_SIG_LEN) ? ITK_OK : ITK_E_RANGE;
}

static itk_err
check_case_export_header(const itk_pb_case_export_header *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (!len_is(m->case_id, ITK_HASH_LEN) ||
	    !len_is(m->recipient_pk, ITK_PK_LEN) ||
	    !len_is(m->signer_pk, ITK_SIGN_PK_LEN) ||
	    !itk_sealed_len_ok(m->sealed.len) ||
	    m->sealed.len > ITK_EXPORT_PLAIN_MAX + ITK_SEAL_OVERHEAD) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

static itk_err
check_case_export_body(const itk_pb_case_export_body *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	if (!len_is(m->case_id, ITK_HASH_LEN) || m->summary == NULL ||
	    check_case_summary(m->summary) != ITK_OK) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < m->n_messages; i++) {
		if (!len_is(m->messages[i]->submission_id, ITK_HASH_LEN)) {
			return ITK_E_RANGE;
		}
	}
	return ITK_OK;
}

DECODER(itk_wire_op_request_decode, itk_pb_op_request,
	intake__v1__operator_request__descriptor, ITK_OP_REQUEST_MAX,
	check_op_request)
DECODER(itk_wire_op_request_body_decode, itk_pb_op_request_body,
	intake__v1__operator_request_body__descriptor, ITK_OP_REQUEST_MAX,
	check_op_request_body)
DECODER(itk_wire_op_response_decode, itk_pb_op_response,
	intake__v1__operator_response__descriptor, ITK_OP_RESPONSE_MAX,
	check_op_response)
DECODER(itk_wire_op_response_body_decode, itk_pb_op_response_body,
	intake__v1__operator_response_body__descriptor,
	ITK_OP_RESPONSE_BODY_MAX, check_op_response_body)
DECODER(itk_wire_case_export_decode, itk_pb_case_export,
	intake__v1__case_export__descriptor, ITK_EXPORT_MAX, check_case_export)
DECODER(itk_wire_case_export_header_decode, itk_pb_case_export_header,
	intake__v1__case_export_header__descriptor, ITK_EXPORT_MAX,
	check_case_export_header)
DECODER(itk_wire_case_export_body_decode, itk_pb_case_export_body,
	intake__v1__case_export_body__descriptor, ITK_EXPORT_PLAIN_MAX,
	check_case_export_body)

/* ------------------------------------------------------------ chat */

static itk_err
check_chat_client(const itk_pb_chat_client *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	switch (m->kind_case) {
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBMIT:
		/* The submission itself is checked by the submit path. */
		return m->submit.len == 0 ? ITK_E_MISSING : ITK_OK;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBSCRIBE:
		return len_is(m->subscribe, ITK_MAILBOX_ID_LEN) ? ITK_OK
								: ITK_E_RANGE;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_UNSUBSCRIBE:
		return len_is(m->unsubscribe, ITK_MAILBOX_ID_LEN)
			   ? ITK_OK
			   : ITK_E_RANGE;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_PING:
		return ITK_OK;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND__NOT_SET:
	default:
		return ITK_E_MISSING;
	}
}

static itk_err
check_chat_server(const itk_pb_chat_server *m)
{
	if (m->version != ITK_WIRE_VERSION) {
		return ITK_E_VERSION;
	}
	switch (m->kind_case) {
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_RECEIPT:
		return m->receipt.len > ITK_RECEIPT_MAX ? ITK_E_TOO_BIG
							: ITK_OK;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_ERROR:
		return m->error.len > ITK_ERROR_MAX ? ITK_E_TOO_BIG : ITK_OK;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY:
		return m->reply.len == 0 ? ITK_E_MISSING : ITK_OK;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_SUBSCRIBED:
		return len_is(m->subscribed, ITK_MAILBOX_ID_LEN) ? ITK_OK
								 : ITK_E_RANGE;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_PONG:
		return ITK_OK;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND__NOT_SET:
	default:
		return ITK_E_MISSING;
	}
}

DECODER(itk_wire_chat_client_decode, itk_pb_chat_client,
	intake__v1__chat_client_frame__descriptor, ITK_CHAT_CLIENT_MAX,
	check_chat_client)
DECODER(itk_wire_chat_server_decode, itk_pb_chat_server,
	intake__v1__chat_server_frame__descriptor, ITK_CHAT_SERVER_MAX,
	check_chat_server)
