/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_REPLY_H
#define ITK_WORKER_REPLY_H

/*
 * Replies from staff to a submitter: the ReplyBody is padded and sealed to
 * the submitter's reply key (from the case's contact data), and travels to
 * the gateway's mailbox as ciphertext in the next WorkerRequest.
 */

#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "wire.h"

typedef struct {
	uint8_t reply_id[ITK_HASH_LEN]; /* SHA-256(sealed) */
	uint8_t mailbox_id[ITK_MAILBOX_ID_LEN];
	itk_buf *sealed; /* owned; free with wk_reply_fini */
	uint64_t posted_at;
} wk_reply;

/*
 * Seals text (UTF-8) as a ReplyBody to reply_pk for mailbox_id.  case_ref
 * may be NULL (or 32 bytes the submitter may quote back).  sent_at is
 * rounded by the caller.
 */
itk_err wk_reply_seal(const uint8_t reply_pk[static ITK_PK_LEN],
		      const uint8_t mailbox_id[static ITK_MAILBOX_ID_LEN],
		      const char *text, const uint8_t *case_ref,
		      uint64_t sent_at, wk_reply *out) ITK_WUR;
void wk_reply_fini(wk_reply *r);

/* Points an intake.v1.Reply at r's bytes (no copy; r must outlive it). */
void wk_reply_to_pb(wk_reply *r, itk_pb_reply *pb);

#endif
