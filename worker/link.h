/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_LINK_H
#define ITK_WORKER_LINK_H

/*
 * The worker's side of the gateway link: an nng req0 socket that DIALS the
 * gateway (the worker tier makes only outbound connections).  One
 * exchange = one WorkerRequest, one GatewayResponse.  Protocol:
 * docs/protocol.md ("Gateway-worker link").
 */

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "linktls.h"
#include "wire.h"

typedef struct wk_link wk_link;

/* Dials url (ipc://, tcp://, tls+tcp://) in the background; reconnects
 * by itself. */
itk_err wk_link_new(const char *url, wk_link **out) ITK_WUR;
/* Likewise, with mutual TLS from tls (read earlier; NULL = none, which a
 * tls+tcp:// url refuses with ITK_E_CONFIG).  tls may be freed after. */
itk_err wk_link_new_tls(const char *url, const itk_link_tls *tls,
			wk_link **out) ITK_WUR;
void wk_link_free(wk_link *l);

/*
 * Sends req and waits up to timeout_ms for the answer (decoded with its
 * caps into *resp, freed by the caller with itk_wire_free).  ITK_E_NET on
 * timeout or transport failure: the caller keeps its acks and retries.
 */
itk_err wk_link_exchange(wk_link *l, const itk_pb_worker_request *req,
			 uint32_t timeout_ms, bool final,
			 itk_pb_gateway_response **resp) ITK_WUR;

/*
 * Stops the link for good: the exchange in progress, if any, and every
 * later one return ITK_E_NET at once, except the worker's last exchange
 * (final = true), which still carries its acknowledgements.  Safe to call
 * from any thread (not from a signal handler).
 */
void wk_link_stop(wk_link *l);

#endif
