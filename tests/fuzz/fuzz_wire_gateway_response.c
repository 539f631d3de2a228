/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_gateway_response_decode: a GatewayResponse as the worker
 * receives it over nng. */
#include "fuzz_wire.h"

/* What every reader of a decoded itk_pb_gateway_response relies on. */
static void
invariant(const itk_pb_gateway_response *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	for (size_t i = 0; i < m->n_deliveries; i++) {
		const Intake__V1__Delivery *d = m->deliveries[i];
		FUZZ_CHECK(d != NULL && d->submission != NULL);
		FUZZ_CHECK(d->submission_id.len == ITK_HASH_LEN);
		FUZZ_CHECK(d->submission->version == ITK_WIRE_VERSION);
		FUZZ_CHECK(itk_sealed_len_ok(d->submission->sealed.len));
	}
}

FUZZ_WIRE_TARGET(itk_wire_gateway_response_decode, itk_pb_gateway_response,
		 ITK_GATEWAY_RESPONSE_MAX, invariant)
