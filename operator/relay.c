/* SPDX-License-Identifier: Apache-2.0 */
/* The reply outbox, relayed to the gateway (relay.h). */
#include "relay.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"
#include "log.h"
#include "ops.h"
#include "wire.h"

struct batch {
	vault *v;
	itk_pb_reply pb[OP_RELAY_MAX];
	itk_pb_reply *ptrs[OP_RELAY_MAX];
	uint8_t ids[OP_RELAY_MAX][ITK_HASH_LEN];
	uint8_t mbx[OP_RELAY_MAX][ITK_MAILBOX_ID_LEN];
	uint8_t *sealed[OP_RELAY_MAX];
	size_t n, unsendable;
};

static itk_err
take(const vault_outbox_view *ov, void *arg)
{
	struct batch *b = arg;
	uint8_t pk[32];
	size_t i = b->n;
	itk_err r;

	/* The mailbox id is never stored in the clear: it comes from the
	 * case's contact data, under the vault key. */
	r = vault_case_contact(b->v, ov->case_id, pk, b->mbx[i]);
	sodium_memzero(pk, sizeof(pk));
	if (r != ITK_OK) {
		b->unsendable++;
		return ITK_OK;
	}
	if ((b->sealed[i] = malloc(ov->sealed_len)) == NULL) {
		return ITK_E_NOMEM;
	}
	memcpy(b->sealed[i], ov->sealed, ov->sealed_len);
	memcpy(b->ids[i], ov->reply_id, ITK_HASH_LEN);
	intake__v1__reply__init(&b->pb[i]);
	b->pb[i].reply_id.data = b->ids[i];
	b->pb[i].reply_id.len = ITK_HASH_LEN;
	b->pb[i].mailbox_id.data = b->mbx[i];
	b->pb[i].mailbox_id.len = ITK_MAILBOX_ID_LEN;
	b->pb[i].sealed.data = b->sealed[i];
	b->pb[i].sealed.len = ov->sealed_len;
	b->pb[i].posted_at = ov->posted_at;
	b->ptrs[i] = &b->pb[i];
	b->n++;
	return ITK_OK;
}

itk_err
op_relay_flush(vault *v, wk_link *l, const char *who, size_t *sent)
{
	itk_pb_worker_request req = INTAKE__V1__WORKER_REQUEST__INIT;
	itk_pb_gateway_response *resp = NULL;
	struct batch *b = NULL;
	vault_actor actor = {0, who};
	itk_err r;

	*sent = 0;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		return ITK_E_NOMEM;
	}
	b->v = v;
	if ((r = vault_outbox_pending(v, OP_RELAY_MAX, take, b)) != ITK_OK ||
	    b->n == 0) {
		goto out;
	}
	req.version = ITK_WIRE_VERSION;
	req.worker_id = (char *)who;
	req.n_replies = b->n;
	req.replies = b->ptrs;
	if ((r = wk_link_exchange(l, &req, 5000, false, &resp)) != ITK_OK) {
		goto out;
	}
	if (resp->error != NULL || resp->replies_stored != b->n) {
		r = ITK_E_NET;
		goto out;
	}
	if ((r = vault_outbox_sent(v, (const uint8_t(*)[ITK_HASH_LEN])b->ids,
				   b->n, &actor, (uint64_t)time(NULL))) ==
	    ITK_OK) {
		*sent = b->n;
	}
out:
	if (b->unsendable > 0) {
		itk_log_warn("outbox.unsendable", "n=%zu", b->unsendable);
	}
	itk_wire_free(resp);
	for (size_t i = 0; i < b->n; i++) {
		free(b->sealed[i]);
	}
	sodium_memzero(b->mbx, sizeof(b->mbx));
	free(b);
	return r;
}
