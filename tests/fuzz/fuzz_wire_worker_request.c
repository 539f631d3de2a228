/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_worker_request_decode: a WorkerRequest as the gateway
 * receives it over nng. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_worker_request relies on. */
static void
invariant(const itk_pb_worker_request *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	FUZZ_CHECK(m->worker_id != NULL);
	for (size_t i = 0; i < m->n_acks; i++) {
		FUZZ_CHECK(m->acks[i].len == ITK_HASH_LEN);
	}
	for (size_t i = 0; i < m->n_replies; i++) {
		const itk_pb_reply *r = m->replies[i];
		FUZZ_CHECK(r != NULL);
		FUZZ_CHECK(r->reply_id.len == ITK_HASH_LEN);
		FUZZ_CHECK(r->mailbox_id.len == ITK_MAILBOX_ID_LEN);
		FUZZ_CHECK(itk_sealed_len_ok(r->sealed.len));
	}
}

FUZZ_WIRE_TARGET(itk_wire_worker_request_decode, itk_pb_worker_request,
		 ITK_WORKER_REQUEST_MAX, invariant)
