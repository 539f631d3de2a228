/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_CLIENT_H
#define ITK_CLIENT_H

/*
 * The reference client library: what a submitter's device does, in C.
 * Used by intake-submit, by the integration tests and by the load
 * generator in bench/.  One itk_client holds one keep-alive HTTP
 * connection to one gateway; it is not thread-safe (use one per thread).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "passphrase.h"
#include "wire.h"

typedef struct itk_client itk_client;

/*
 * base_url: "http://127.0.0.1:8080" or "https://host:8443".  org_pk: the
 * pinned organisation public key; every bundle must verify against it.
 * ca_file: for https, the PEM CA certificate(s) the gateway's certificate
 * must chain to (required: there is no system store to fall back on);
 * ignored for http.  ITK_E_CONFIG for https without ca_file or for another
 * scheme.
 */
itk_err itk_client_new(const char *base_url,
		       const uint8_t org_pk[static ITK_SIGN_PK_LEN],
		       const char *ca_file, itk_client **out) ITK_WUR;
void itk_client_free(itk_client *c);

/* GET /v1/keys and verify it against the pinned key.  Needed before
 * sealing; ITK_E_VERIFY if the bundle does not verify. */
itk_err itk_client_fetch_keys(itk_client *c) ITK_WUR;
/* The verified bundle body (after fetch), owned by c. */
const itk_pb_key_bundle_body *itk_client_bundle(const itk_client *c);

/* What the submitter writes. */
typedef struct {
	uint32_t channel;       /* intake.v1.Channel */
	uint32_t form_category; /* intake.v1.FormCategory */
	const char *language;   /* UI language: "ru", "uk", "en" */
	const char *text;
	const char *const *field_names; /* n_fields names and values */
	const char *const *field_values;
	size_t n_fields;
	const uint8_t *thread_id; /* NULL or 32 bytes */
} itk_client_message;

/*
 * Builds the inner message for identity id, pads and seals it to the
 * bundle's current intake key, and writes the serialized Submission to
 * out, its id (SHA-256 of the sealed bytes) to sub_id.  Sealing is
 * randomised: sealing twice gives two submissions.
 */
itk_err itk_client_seal(itk_client *c, const itk_identity *id,
			const itk_client_message *m, itk_buf *out,
			uint8_t sub_id[static ITK_HASH_LEN]) ITK_WUR;

typedef struct {
	uint8_t submission_id[ITK_HASH_LEN];
	uint64_t accepted_at;
	uint32_t intake_key_id;
	uint8_t signature[ITK_SIG_LEN];
	uint8_t body[256]; /* the signed ReceiptBody bytes */
	size_t body_len;
} itk_client_receipt;

/*
 * POSTs a serialized Submission.  On 200, checks the receipt: signature by
 * the bundle's receipt key, and that it names sub_id.  *http_status gets
 * the status (0 if no answer).  A refusal is returned as the itk_err the
 * gateway's Error names (e.g. ITK_E_FULL), ITK_E_VERIFY for a bad receipt,
 * ITK_E_NET when the gateway could not be reached.
 */
itk_err itk_client_post(itk_client *c, const uint8_t *submission, size_t len,
			const uint8_t sub_id[static ITK_HASH_LEN],
			itk_client_receipt *rcpt, int *http_status) ITK_WUR;

/*
 * Checks a Receipt received some other way (the chat WebSocket) exactly
 * as itk_client_post does: the bundle's receipt key signed it, and it
 * names sub_id.  ITK_OK and *rcpt, ITK_E_VERIFY, or a decoder error.
 */
itk_err itk_client_check_receipt(itk_client *c, const uint8_t *receipt,
				 size_t len,
				 const uint8_t sub_id[static ITK_HASH_LEN],
				 itk_client_receipt *rcpt) ITK_WUR;

/* One opened reply. */
typedef struct {
	uint8_t reply_id[ITK_HASH_LEN];
	uint64_t posted_at;
	uint64_t sent_at;
	const char *text; /* valid during the callback only */
} itk_client_reply;

/*
 * Fetches the mailbox of id and opens each reply with the reply key,
 * calling fn for each.  Replies that do not open are counted in *bad (not
 * fatal: anybody may learn a mailbox id and post junk to it... only the
 * worker tier can post, but the client does not rely on it).
 */
itk_err itk_client_replies(itk_client *c, const itk_identity *id,
			   itk_err (*fn)(const itk_client_reply *r, void *arg),
			   void *arg, size_t *bad) ITK_WUR;

/* Raw HTTP for tests: method, path, body -> status and body. */
itk_err itk_client_http(itk_client *c, const char *method, const char *path,
			const uint8_t *body, size_t len, int *status,
			itk_buf *resp) ITK_WUR;

#endif
