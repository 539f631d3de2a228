/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WIRE_H
#define ITK_WIRE_H

/*
 * The one place protobuf-c decoding happens.  Each decoder caps the input
 * size before protobuf sees it, checks the version and the fields every
 * reader relies on (lengths of keys and ids), and returns a specific
 * itk_err.  A decoded message is freed with the matching _free function or
 * itk_wire_free.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "intake.pb-c.h"

#define ITK_WIRE_VERSION 1u

/* Size caps (bytes) applied before decoding; see docs/protocol.md. */
#define ITK_SUBMISSION_MAX       (1024u * 1024u + 4096u)
#define ITK_INNER_MAX            (1024u * 1024u)
#define ITK_KEY_BUNDLE_MAX       (16u * 1024u)
#define ITK_RECEIPT_MAX          1024u
#define ITK_REPLY_BODY_MAX       (1024u * 1024u)
#define ITK_MAILBOX_PAGE_MAX     (8u * 1024u * 1024u)
#define ITK_WORKER_REQUEST_MAX   (16u * 1024u * 1024u)
#define ITK_GATEWAY_RESPONSE_MAX (64u * 1024u * 1024u)
#define ITK_ERROR_MAX            4096u
#define ITK_BUNDLE_KEYS_MAX      16u
/* Operator protocol (intake-op <-> intake-opd). */
#define ITK_OP_REQUEST_MAX       (64u * 1024u)
#define ITK_OP_RESPONSE_MAX      (1024u * 1024u + 48u + 8192u)
#define ITK_OP_RESPONSE_BODY_MAX (1024u * 1024u)
#define ITK_OP_NONCE_LEN         16u
#define ITK_OP_TEXT_MAX          (32u * 1024u) /* reply, note, phone text */
#define ITK_OP_BULK_MAX          256u /* case ids of one bulk action */
#define ITK_OP_APPROVAL_ID_LEN   16u
#define ITK_OP_QUEUE_KEYS_MAX    8u  /* queue keys carried by one request */
#define ITK_OP_QUEUE_KEY_LEN     80u /* a queue secret sealed: 32 + 48 */
/* A case export file (CaseExport): its sealed body is at most the
 * 128 KiB padding bucket, so that it fits in one operator answer. */
#define ITK_EXPORT_PLAIN_MAX (128u * 1024u)
#define ITK_EXPORT_MAX       (ITK_EXPORT_PLAIN_MAX + 48u + 4096u)
/* Chat frames (WebSocket): a submission, or a stored Reply (the largest
 * sealed box plus its few fields), with room for the frame's own fields. */
#define ITK_CHAT_CLIENT_MAX (ITK_SUBMISSION_MAX + 64u)
#define ITK_CHAT_SERVER_MAX (1024u * 1024u + 48u + 1024u + 64u)

typedef Intake__V1__Submission itk_pb_submission;
typedef Intake__V1__KeyBundle itk_pb_key_bundle;
typedef Intake__V1__KeyBundleBody itk_pb_key_bundle_body;
typedef Intake__V1__Receipt itk_pb_receipt;
typedef Intake__V1__ReceiptBody itk_pb_receipt_body;
typedef Intake__V1__InnerMessage itk_pb_inner;
typedef Intake__V1__ReplyBody itk_pb_reply_body;
typedef Intake__V1__Reply itk_pb_reply;
typedef Intake__V1__MailboxPage itk_pb_mailbox_page;
typedef Intake__V1__Error itk_pb_error;
typedef Intake__V1__WorkerRequest itk_pb_worker_request;
typedef Intake__V1__GatewayResponse itk_pb_gateway_response;
typedef Intake__V1__OperatorRequest itk_pb_op_request;
typedef Intake__V1__OperatorRequestBody itk_pb_op_request_body;
typedef Intake__V1__OperatorResponse itk_pb_op_response;
typedef Intake__V1__OperatorResponseBody itk_pb_op_response_body;
typedef Intake__V1__CaseExport itk_pb_case_export;
typedef Intake__V1__CaseExportHeader itk_pb_case_export_header;
typedef Intake__V1__CaseExportBody itk_pb_case_export_body;
typedef Intake__V1__ChatClientFrame itk_pb_chat_client;
typedef Intake__V1__ChatServerFrame itk_pb_chat_server;

/* Serializes any message, appending to out (capped by out's maximum). */
itk_err itk_wire_pack(const ProtobufCMessage *m, itk_buf *out) ITK_WUR;
/* Frees any decoded message; NULL is fine. */
void itk_wire_free(void *m);

/*
 * Decoders.  On ITK_OK *out owns a message; on failure *out is untouched.
 * Errors: ITK_E_TOO_BIG (over the cap), ITK_E_FORMAT (not protobuf),
 * ITK_E_VERSION (version != 1), ITK_E_MISSING (a required field is empty),
 * ITK_E_RANGE (a key or id has the wrong length).
 */
itk_err itk_wire_submission_decode(const uint8_t *p, size_t len,
				   itk_pb_submission **out) ITK_WUR;
itk_err itk_wire_key_bundle_decode(const uint8_t *p, size_t len,
				   itk_pb_key_bundle **out) ITK_WUR;
itk_err itk_wire_key_bundle_body_decode(const uint8_t *p, size_t len,
					itk_pb_key_bundle_body **out) ITK_WUR;
itk_err itk_wire_receipt_decode(const uint8_t *p, size_t len,
				itk_pb_receipt **out) ITK_WUR;
itk_err itk_wire_receipt_body_decode(const uint8_t *p, size_t len,
				     itk_pb_receipt_body **out) ITK_WUR;
itk_err itk_wire_inner_decode(const uint8_t *p, size_t len,
			      itk_pb_inner **out) ITK_WUR;
itk_err itk_wire_reply_body_decode(const uint8_t *p, size_t len,
				   itk_pb_reply_body **out) ITK_WUR;
itk_err itk_wire_mailbox_page_decode(const uint8_t *p, size_t len,
				     itk_pb_mailbox_page **out) ITK_WUR;
itk_err itk_wire_error_decode(const uint8_t *p, size_t len,
			      itk_pb_error **out) ITK_WUR;
itk_err itk_wire_worker_request_decode(const uint8_t *p, size_t len,
				       itk_pb_worker_request **out) ITK_WUR;
itk_err
itk_wire_gateway_response_decode(const uint8_t *p, size_t len,
				 itk_pb_gateway_response **out) ITK_WUR;
/* Operator protocol: the signed envelope (body non-empty, 64-byte
 * signature), the signed body (version, 16-byte nonce, case id empty or 32
 * bytes, text at most ITK_OP_TEXT_MAX), the answer (version; either an
 * error or a sealed body of a possible sealed-box size) and the opened
 * answer body (version, every case id 32 bytes). */
itk_err itk_wire_op_request_decode(const uint8_t *p, size_t len,
				   itk_pb_op_request **out) ITK_WUR;
itk_err itk_wire_op_request_body_decode(const uint8_t *p, size_t len,
					itk_pb_op_request_body **out) ITK_WUR;
itk_err itk_wire_op_response_decode(const uint8_t *p, size_t len,
				    itk_pb_op_response **out) ITK_WUR;
itk_err
itk_wire_op_response_body_decode(const uint8_t *p, size_t len,
				 itk_pb_op_response_body **out) ITK_WUR;
/* Case export (docs/operations.md "export"): the file (header non-empty,
 * 64-byte signature), its header (version, case id 32, recipient and
 * signer keys 32, sealed of a sealed-box size) and the opened body
 * (version, case id 32, every id 32). */
itk_err itk_wire_case_export_decode(const uint8_t *p, size_t len,
				    itk_pb_case_export **out) ITK_WUR;
itk_err
itk_wire_case_export_header_decode(const uint8_t *p, size_t len,
				   itk_pb_case_export_header **out) ITK_WUR;
itk_err
itk_wire_case_export_body_decode(const uint8_t *p, size_t len,
				 itk_pb_case_export_body **out) ITK_WUR;
/* Chat frames (docs/chat.md): version 1, exactly one kind set (else
 * ITK_E_MISSING), a non-empty submission, 32-byte mailbox ids, and each
 * payload within its own message's cap (ITK_E_TOO_BIG). */
itk_err itk_wire_chat_client_decode(const uint8_t *p, size_t len,
				    itk_pb_chat_client **out) ITK_WUR;
itk_err itk_wire_chat_server_decode(const uint8_t *p, size_t len,
				    itk_pb_chat_server **out) ITK_WUR;

#endif
