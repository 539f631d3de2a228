/* SPDX-License-Identifier: Apache-2.0 */
#include "chat.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/*
 * The chat client (chat.h).  nng's WebSocket dialer in message mode
 * ("ws:msgmode", as the gateway's listener): each nng_msg is one
 * WebSocket message, so frames keep their boundaries.
 */

#define OPT_MSGMODE "ws:msgmode"

struct itk_chat {
	nng_stream_dialer *d;
	nng_stream *s;
	nng_aio *rx, *tx;
	pthread_mutex_t send_mtx; /* one send at a time */
};

static itk_err
set_tls(nng_stream_dialer *d, const char *url, const char *ca_file)
{
	nng_tls_config *cfg = NULL;
	nng_url *u = NULL;
	itk_err r = ITK_E_CONFIG;

	if (ca_file == NULL || nng_url_parse(&u, url) != 0 ||
	    nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) != 0) {
		goto out;
	}
	if (nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED) != 0 ||
	    nng_tls_config_ca_file(cfg, ca_file) != 0 ||
	    nng_tls_config_server_name(cfg, u->u_hostname) != 0 ||
	    nng_stream_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) != 0) {
		goto out;
	}
	r = ITK_OK;
out:
	if (cfg != NULL) {
		nng_tls_config_free(cfg); /* the dialer holds its own */
	}
	if (u != NULL) {
		nng_url_free(u);
	}
	return r;
}

itk_err
itk_chat_open(const char *url, const char *ca_file, itk_chat **out)
{
	itk_chat *ch;
	bool wss = strncmp(url, "wss://", 6) == 0;
	itk_err r = ITK_E_CONFIG;

	if (!wss && strncmp(url, "ws://", 5) != 0) {
		return ITK_E_CONFIG;
	}
	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		return ITK_E_NOMEM;
	}
	if (pthread_mutex_init(&ch->send_mtx, NULL) != 0) {
		free(ch);
		return ITK_E_NOMEM;
	}
	if (nng_stream_dialer_alloc(&ch->d, url) != 0 ||
	    nng_stream_dialer_set_bool(ch->d, OPT_MSGMODE, true) != 0 ||
	    nng_stream_dialer_set_size(ch->d, NNG_OPT_RECVMAXSZ,
				       ITK_CHAT_SERVER_MAX) != 0 ||
	    nng_stream_dialer_set_size(ch->d, NNG_OPT_WS_RECVMAXFRAME,
				       ITK_CHAT_SERVER_MAX) != 0 ||
	    (wss && (r = set_tls(ch->d, url, ca_file)) != ITK_OK)) {
		goto fail;
	}
	r = ITK_E_NOMEM;
	if (nng_aio_alloc(&ch->rx, NULL, NULL) != 0 ||
	    nng_aio_alloc(&ch->tx, NULL, NULL) != 0) {
		goto fail;
	}
	r = ITK_E_NET;
	nng_aio_set_timeout(ch->tx, 10000);
	nng_stream_dialer_dial(ch->d, ch->tx);
	nng_aio_wait(ch->tx);
	if (nng_aio_result(ch->tx) != 0) {
		goto fail;
	}
	ch->s = nng_aio_get_output(ch->tx, 0);
	*out = ch;
	return ITK_OK;
fail:
	itk_chat_free(ch);
	return r;
}

void
itk_chat_free(itk_chat *ch)
{
	if (ch == NULL) {
		return;
	}
	if (ch->s != NULL) {
		nng_stream_close(ch->s);
	}
	if (ch->rx != NULL) {
		nng_aio_stop(ch->rx);
	}
	if (ch->tx != NULL) {
		nng_aio_stop(ch->tx);
	}
	if (ch->s != NULL) {
		nng_stream_free(ch->s);
	}
	if (ch->d != NULL) {
		nng_stream_dialer_free(ch->d);
	}
	if (ch->rx != NULL) {
		nng_aio_free(ch->rx);
	}
	if (ch->tx != NULL) {
		nng_aio_free(ch->tx);
	}
	pthread_mutex_destroy(&ch->send_mtx);
	free(ch);
}

itk_err
itk_chat_send_raw(itk_chat *ch, const uint8_t *p, size_t len)
{
	nng_msg *m = NULL;
	itk_err r = ITK_E_NET;

	if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, p, len) != 0) {
		if (m != NULL) {
			nng_msg_free(m);
		}
		return ITK_E_NOMEM;
	}
	pthread_mutex_lock(&ch->send_mtx);
	nng_aio_set_msg(ch->tx, m);
	nng_stream_send(ch->s, ch->tx);
	nng_aio_wait(ch->tx);
	if (nng_aio_result(ch->tx) == 0) {
		r = ITK_OK;
	} else if ((m = nng_aio_get_msg(ch->tx)) != NULL) {
		/* Not sent: still ours. */
		nng_aio_set_msg(ch->tx, NULL);
		nng_msg_free(m);
	}
	pthread_mutex_unlock(&ch->send_mtx);
	return r;
}

static itk_err
send_frame(itk_chat *ch, Intake__V1__ChatClientFrame *f)
{
	itk_buf *b = itk_buf_new(ITK_CHAT_CLIENT_MAX);
	itk_err r = ITK_E_NOMEM;

	if (b != NULL && (r = itk_wire_pack(&f->base, b)) == ITK_OK) {
		r = itk_chat_send_raw(ch, itk_buf_ptr(b), itk_buf_len(b));
	}
	itk_buf_free(b);
	return r;
}

itk_err
itk_chat_subscribe(itk_chat *ch, uint32_t seq,
		   const uint8_t id[static ITK_MAILBOX_ID_LEN])
{
	Intake__V1__ChatClientFrame f = INTAKE__V1__CHAT_CLIENT_FRAME__INIT;

	f.version = ITK_WIRE_VERSION;
	f.seq = seq;
	f.kind_case = INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBSCRIBE;
	f.subscribe.data = (uint8_t *)id;
	f.subscribe.len = ITK_MAILBOX_ID_LEN;
	return send_frame(ch, &f);
}

itk_err
itk_chat_submit(itk_chat *ch, uint32_t seq, const uint8_t *sub, size_t len)
{
	Intake__V1__ChatClientFrame f = INTAKE__V1__CHAT_CLIENT_FRAME__INIT;

	f.version = ITK_WIRE_VERSION;
	f.seq = seq;
	f.kind_case = INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBMIT;
	f.submit.data = (uint8_t *)sub;
	f.submit.len = len;
	return send_frame(ch, &f);
}

itk_err
itk_chat_ping(itk_chat *ch, uint32_t seq)
{
	Intake__V1__ChatClientFrame f = INTAKE__V1__CHAT_CLIENT_FRAME__INIT;

	f.version = ITK_WIRE_VERSION;
	f.seq = seq;
	f.kind_case = INTAKE__V1__CHAT_CLIENT_FRAME__KIND_PING;
	f.ping = true;
	return send_frame(ch, &f);
}

itk_err
itk_chat_recv(itk_chat *ch, int timeout_ms, itk_pb_chat_server **out)
{
	nng_msg *m;
	itk_err r;
	int rv;

	nng_aio_set_timeout(ch->rx, (nng_duration)timeout_ms);
	nng_stream_recv(ch->s, ch->rx);
	nng_aio_wait(ch->rx);
	if ((rv = nng_aio_result(ch->rx)) != 0) {
		return rv == NNG_ETIMEDOUT ? ITK_E_BUSY : ITK_E_NET;
	}
	if ((m = nng_aio_get_msg(ch->rx)) == NULL) {
		return ITK_E_NET;
	}
	nng_aio_set_msg(ch->rx, NULL);
	r = itk_wire_chat_server_decode(nng_msg_body(m), nng_msg_len(m), out);
	nng_msg_free(m);
	return r;
}
