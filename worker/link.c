/* SPDX-License-Identifier: Apache-2.0 */
#include "link.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

struct wk_link {
	nng_socket sock;
	nng_aio *aio; /* the one exchange in flight; cancellable */
	atomic_int stopping;
	int open;
};

itk_err
wk_link_new(const char *url, wk_link **out)
{
	return wk_link_new_tls(url, NULL, out);
}

itk_err
wk_link_new_tls(const char *url, const itk_link_tls *tls, wk_link **out)
{
	wk_link *l;
	nng_dialer d;
	itk_err r = ITK_E_NET;

	/* Without certificates nng would dial with no peer check at all. */
	if (tls == NULL && strncmp(url, "tls+tcp", 7) == 0) {
		return ITK_E_CONFIG;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		return ITK_E_NOMEM;
	}
	if (nng_aio_alloc(&l->aio, NULL, NULL) != 0) {
		goto out;
	}
	if (nng_req0_open(&l->sock) != 0) {
		goto out;
	}
	l->open = 1;
	/*
	 * No automatic resend: a request that times out is replaced by a
	 * new one carrying the same acks, and the gateway's leases expire.
	 */
	if (nng_socket_set_ms(l->sock, NNG_OPT_REQ_RESENDTIME,
			      NNG_DURATION_INFINITE) != 0 ||
	    nng_socket_set_ms(l->sock, NNG_OPT_RECONNMINT, 50) != 0 ||
	    nng_socket_set_ms(l->sock, NNG_OPT_RECONNMAXT, 2000) != 0 ||
	    nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ,
				ITK_GATEWAY_RESPONSE_MAX) != 0) {
		goto out;
	}
	r = ITK_E_CONFIG;
	if (nng_dialer_create(&d, l->sock, url) != 0) {
		goto out;
	}
	if (tls != NULL && (r = itk_link_tls_set_dialer(tls, d)) != ITK_OK) {
		goto out; /* the dialer goes with the socket */
	}
	if (nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0) {
		r = ITK_E_CONFIG;
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	r = ITK_OK;
out:
	wk_link_free(l);
	return r;
}

void
wk_link_free(wk_link *l)
{
	if (l == NULL) {
		return;
	}
	if (l->aio != NULL) {
		nng_aio_stop(l->aio);
	}
	if (l->open) {
		nng_close(l->sock);
	}
	if (l->aio != NULL) {
		nng_aio_free(l->aio);
	}
	free(l);
}

itk_err
wk_link_exchange(wk_link *l, const itk_pb_worker_request *req,
		 uint32_t timeout_ms, bool final,
		 itk_pb_gateway_response **resp)
{
	nng_msg *m = NULL;
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	itk_err r = ITK_E_NET;

	if (n > ITK_WORKER_REQUEST_MAX) {
		return ITK_E_TOO_BIG;
	}
	if (!final && atomic_load(&l->stopping)) {
		return ITK_E_NET;
	}
	if (nng_msg_alloc(&m, n) != 0) {
		return ITK_E_NOMEM;
	}
	if (protobuf_c_message_pack(&req->base, nng_msg_body(m)) != n) {
		nng_msg_free(m);
		return ITK_E_INTERNAL;
	}
	/* One timeout covers send and receive. */
	nng_aio_set_timeout(l->aio, (nng_duration)timeout_ms);
	nng_aio_set_msg(l->aio, m);
	nng_send_aio(l->sock, l->aio);
	/* A stop that came before the aio started is honoured here. */
	if (!final && atomic_load(&l->stopping)) {
		nng_aio_cancel(l->aio);
	}
	nng_aio_wait(l->aio);
	if (nng_aio_result(l->aio) != 0) {
		nng_msg_free(m); /* not sent: still ours */
		return ITK_E_NET;
	}
	m = NULL; /* transferred */
	nng_aio_set_timeout(l->aio, (nng_duration)timeout_ms);
	nng_recv_aio(l->sock, l->aio);
	if (!final && atomic_load(&l->stopping)) {
		nng_aio_cancel(l->aio);
	}
	nng_aio_wait(l->aio);
	if (nng_aio_result(l->aio) != 0) {
		return ITK_E_NET;
	}
	m = nng_aio_get_msg(l->aio);
	r = itk_wire_gateway_response_decode(nng_msg_body(m), nng_msg_len(m),
					     resp);
	nng_msg_free(m);
	return r;
}

void
wk_link_stop(wk_link *l)
{
	atomic_store(&l->stopping, 1);
	nng_aio_cancel(l->aio);
}
