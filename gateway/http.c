/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "config.h"
#include "file.h"
#include "gw.h"
#include "gw_front.h"
#include "gw_log.h"
#include "gw_pow.h"
#include "gw_static.h"
#include "log.h"

/*
 * The HTTP front: routes, caps and request contexts.  Handlers are nng
 * async callbacks; a submission's aio stays pending until the committer
 * has made it durable, so no thread waits for an fsync.
 *
 * Caps: the request URI (GW_URI_MAX), the body (max_body, checked on
 * Content-Length before a byte of it is read), the time to receive the
 * body (body_timeout_ms), and the requests being handled at once
 * (max_concurrent; beyond it 503 busy).  With max_conns > 0 the plain
 * listener is gateway/front.c, which adds what nng's server lacks
 * (connections, head size and time); nng then listens on 127.0.0.1 only.
 */

#define GW_URI_MAX         2048u
#define GW_BODY_TIMEOUT_MS 30000         /* when body_timeout_ms is 0 */
#define GW_SMALL_BODY      (64u * 1024u) /* kept between requests */
#define RETRY_BUSY         1u

#define MAILBOX_PREFIX "/v1/mailbox/"
#define CURSOR_PARAM   "?cursor="

/* One POST in flight: its read aio and body buffer, reused. */
struct hctx {
	struct hctx *next; /* free list */
	gw_http *h;
	nng_aio *uaio; /* the server's handler aio, pending */
	nng_aio *rdaio;
	uint8_t *buf;
	size_t cap;
};

#define N_SERVERS 2

struct gw_http {
	gw_http_opts o;
	nng_http_server *srv[N_SERVERS];
	size_t n_srv;
	atomic_size_t inflight;
	atomic_bool closed;
	pthread_mutex_t mtx;
	struct hctx *free; /* guarded by mtx */
	struct hctx *ctxs; /* all of them, max_concurrent */
	gw_front *front;   /* NULL when max_conns is 0 */
};

itk_err
gw_error_pack(itk_err code, const char *message, uint32_t retry_after,
	      itk_buf *out)
{
	Intake__V1__Error e = INTAKE__V1__ERROR__INIT;

	e.code = (uint32_t)code;
	e.name = (char *)itk_errname(code);
	e.message = (char *)(message != NULL ? message : itk_strerror(code));
	e.retry_after = retry_after;
	return itk_wire_pack(&e.base, out);
}

/*
 * Finishes the handler aio with a response.  body is copied.  With close,
 * the connection is closed after the answer (used when a body we did not
 * read may follow).
 */
static void
respond_full(nng_aio *aio, gw_endpoint ep, unsigned status, const char *ctype,
	     const void *body, size_t len, bool copy, bool close,
	     uint32_t retry_after, int pow)
{
	nng_http_res *res = NULL;
	char ra[16], pw[16];
	int rv;

	if ((rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_res_set_status(res, (uint16_t)status)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Content-Type", ctype)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Cache-Control", "no-store")) !=
		0 ||
	    (close && (rv = nng_http_res_set_header(res, "Connection",
						    "close")) != 0)) {
		goto fail;
	}
	if (retry_after > 0) {
		/* Also in the header, for generic clients and proxies. */
		int w = snprintf(ra, sizeof(ra), "%u", retry_after);
		if (w <= 0 || (size_t)w >= sizeof(ra) ||
		    (rv = nng_http_res_set_header(res, "Retry-After", ra)) !=
			0) {
			rv = rv != 0 ? rv : NNG_EINVAL;
			goto fail;
		}
	}
	if (pow >= 0) {
		/* The difficulty asked now (a challenge carries its own). */
		int w = snprintf(pw, sizeof(pw), "%d", pow);
		if (w <= 0 || (size_t)w >= sizeof(pw) ||
		    (rv = nng_http_res_set_header(res, "Intake-Pow-Difficulty",
						  pw)) != 0) {
			rv = rv != 0 ? rv : NNG_EINVAL;
			goto fail;
		}
	}
	if (len > 0) {
		rv = copy ? nng_http_res_copy_data(res, body, len)
			  : nng_http_res_set_data(res, body, len);
		if (rv != 0) {
			goto fail;
		}
	}
	gw_metrics_request(ep, status);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	return;
fail:
	/* Out of memory: an error result makes nng drop the connection. */
	if (res != NULL) {
		nng_http_res_free(res);
	}
	gw_metrics_request(ep, 500);
	nng_aio_finish(aio, rv);
}

static void
respond(nng_aio *aio, gw_endpoint ep, unsigned status, const char *ctype,
	const void *body, size_t len, bool copy, bool close)
{
	respond_full(aio, ep, status, ctype, body, len, copy, close, 0, -1);
}

static void
respond_error_pow(nng_aio *aio, gw_endpoint ep, unsigned status, itk_err code,
		  const char *msg, uint32_t retry_after, bool close, int pow)
{
	itk_buf *b = itk_buf_new(ITK_ERROR_MAX);

	if (b == NULL || gw_error_pack(code, msg, retry_after, b) != ITK_OK) {
		itk_buf_free(b);
		gw_metrics_request(ep, 500);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	respond_full(aio, ep, status, "application/x-protobuf", itk_buf_ptr(b),
		     itk_buf_len(b), true, close, retry_after, pow);
	itk_buf_free(b);
}

static void
respond_error(nng_aio *aio, gw_endpoint ep, unsigned status, itk_err code,
	      const char *msg, uint32_t retry_after, bool close)
{
	respond_error_pow(aio, ep, status, code, msg, retry_after, close, -1);
}

/* Counts a request in; false (answer 503) beyond max_concurrent. */
static bool
enter(gw_http *h)
{
	size_t n = atomic_fetch_add(&h->inflight, 1) + 1;

	if (n > h->o.max_concurrent) {
		atomic_fetch_sub(&h->inflight, 1);
		return false;
	}
	gw_pow_set_load(h->o.pow, GW_LOAD_INFLIGHT, n, h->o.max_concurrent);
	return true;
}

static void
leave(gw_http *h)
{
	size_t n = atomic_fetch_sub(&h->inflight, 1) - 1;

	gw_pow_set_load(h->o.pow, GW_LOAD_INFLIGHT, n, h->o.max_concurrent);
}

/* enter/leave for the front's own submissions (any thread). */
static bool
front_enter(void *gate)
{
	return enter(gate);
}

static void
front_leave(void *gate)
{
	leave(gate);
}

static gw_http *
handler_http(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	return nng_http_handler_get_data(hd);
}

static bool
uri_ok(nng_aio *aio, gw_endpoint ep)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);

	if (uri == NULL || strlen(uri) > GW_URI_MAX) {
		gw_metrics_reject(GW_REJ_URI);
		respond_error(aio, ep, 414, ITK_E_TOO_BIG,
			      "the request URI is too long", 0, true);
		return false;
	}
	return true;
}

static void
busy(nng_aio *aio, gw_endpoint ep)
{
	gw_metrics_reject(GW_REJ_BUSY);
	respond_error(aio, ep, 503, ITK_E_BUSY,
		      "too many requests in progress", RETRY_BUSY, true);
}

/* ------------------------------------------------------------ /v1/keys */

static void
keys_cb(nng_aio *aio)
{
	gw_http *h = handler_http(aio);

	if (!uri_ok(aio, GW_EP_KEYS)) {
		return;
	}
	/* The bundle outlives the server: no copy. */
	respond(aio, GW_EP_KEYS, 200, "application/x-protobuf", h->o.bundle,
		h->o.bundle_len, false, false);
}

/* ------------------------------------------------------------ /healthz */

static void
healthz_cb(nng_aio *aio)
{
	gw_http *h = handler_http(aio);
	gw_spool_stats st;

	gw_spool_get_stats(h->o.spool, &st);
	if (st.writable && !atomic_load(&h->closed)) {
		respond(aio, GW_EP_HEALTHZ, 200, "text/plain", "ok\n", 3,
			false, false);
	} else {
		respond(aio, GW_EP_HEALTHZ, 503, "text/plain",
			"not accepting\n", 14, false, false);
	}
}

/* ------------------------------------------------------- /v1/challenge */

/* A fresh proof-of-work challenge (66 bytes, docs/protocol.md); issuing
 * stores nothing. */
static void
challenge_cb(nng_aio *aio)
{
	gw_http *h = handler_http(aio);
	uint8_t ch[ITK_POW_CHALLENGE_LEN];
	unsigned d;

	if (!uri_ok(aio, GW_EP_CHALLENGE)) {
		return;
	}
	gw_pow_issue(h->o.pow, (uint64_t)time(NULL), gw_now_ms(), ch);
	d = ch[1];
	gw_metrics_pow(d, gw_pow_issued(h->o.pow));
	respond_full(aio, GW_EP_CHALLENGE, 200, "application/octet-stream", ch,
		     sizeof(ch), true, false, 0, (int)d);
}

/* ----------------------------------------------------- /v1/submissions */

static struct hctx *
ctx_get(gw_http *h)
{
	struct hctx *c;

	pthread_mutex_lock(&h->mtx);
	if ((c = h->free) != NULL) {
		h->free = c->next;
		c->next = NULL;
	}
	pthread_mutex_unlock(&h->mtx);
	return c;
}

static void
ctx_put(struct hctx *c)
{
	gw_http *h = c->h;

	/* A large buffer is not kept: memory is max_concurrent times this. */
	if (c->cap > GW_SMALL_BODY) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
	c->uaio = NULL;
	pthread_mutex_lock(&h->mtx);
	c->next = h->free;
	h->free = c;
	pthread_mutex_unlock(&h->mtx);
	leave(h);
}

static void
submit_done(void *arg, const gw_answer *a)
{
	struct hctx *c = arg;
	nng_aio *uaio = c->uaio;

	if (a->code == ITK_OK) {
		respond(uaio, GW_EP_SUBMIT, a->status,
			"application/x-protobuf", a->body, a->len, true,
			false);
	} else if (a->code == ITK_E_POW) {
		respond_error_pow(uaio, GW_EP_SUBMIT, a->status, a->code,
				  a->message, a->retry_after, false,
				  (int)a->pow_difficulty);
	} else {
		respond_error(uaio, GW_EP_SUBMIT, a->status, a->code,
			      a->message, a->retry_after, false);
	}
	ctx_put(c);
}

static void
body_read_cb(void *arg)
{
	struct hctx *c = arg;
	nng_aio *uaio = c->uaio;
	size_t n = nng_aio_count(c->rdaio);
	int rv = nng_aio_result(c->rdaio);

	if (rv != 0) {
		/* Peer gone, or too slow: drop the connection. */
		itk_log_info("http.body", "err=\"%s\"", nng_strerror(rv));
		if (rv == NNG_ETIMEDOUT) {
			gw_metrics_reject(GW_REJ_BODY_TIMEOUT);
		}
		gw_metrics_request(GW_EP_SUBMIT, 400);
		ctx_put(c);
		nng_aio_finish(uaio, rv);
		return;
	}
	gw_submit_handle(c->h->o.submit, c->buf, n, submit_done, c);
}

static void
submit_cb(nng_aio *aio)
{
	gw_http *h = handler_http(aio);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_conn *conn = nng_aio_get_input(aio, 2);
	const char *cl;
	struct hctx *c;
	uint64_t len;
	nng_iov iov;
	int rv;

	if (!uri_ok(aio, GW_EP_SUBMIT)) {
		return;
	}
	if (atomic_load(&h->closed)) {
		gw_metrics_reject(GW_REJ_SHUTDOWN);
		respond_error(aio, GW_EP_SUBMIT, 503, ITK_E_BUSY,
			      "the gateway is shutting down", 10, true);
		return;
	}
	/* Chunked bodies are not supported: a length is required. */
	if ((cl = nng_http_req_get_header(req, "Content-Length")) == NULL) {
		gw_metrics_reject(GW_REJ_LENGTH);
		respond_error(aio, GW_EP_SUBMIT, 411, ITK_E_MISSING,
			      "Content-Length is required", 0, true);
		return;
	}
	if (itk_parse_u64(cl, 0, UINT64_MAX, &len) != ITK_OK) {
		gw_metrics_reject(GW_REJ_FORMAT);
		respond_error(aio, GW_EP_SUBMIT, 400, ITK_E_FORMAT,
			      "Content-Length is malformed", 0, true);
		return;
	}
	if (len > h->o.max_body) {
		gw_metrics_reject(GW_REJ_TOO_BIG);
		respond_error(aio, GW_EP_SUBMIT, 413, ITK_E_TOO_BIG, NULL, 0,
			      true);
		return;
	}
	if (!enter(h)) {
		busy(aio, GW_EP_SUBMIT);
		return;
	}
	if ((c = ctx_get(h)) == NULL) {
		leave(h);
		busy(aio, GW_EP_SUBMIT);
		return;
	}
	if (len > c->cap) {
		uint8_t *nb = malloc(len);
		if (nb == NULL) {
			ctx_put(c);
			busy(aio, GW_EP_SUBMIT);
			return;
		}
		free(c->buf);
		c->buf = nb;
		c->cap = len;
	}
	c->uaio = aio;
	if (len == 0) {
		gw_submit_handle(h->o.submit, c->buf, 0, submit_done, c);
		return;
	}
	iov.iov_buf = c->buf;
	iov.iov_len = len;
	if ((rv = nng_aio_set_iov(c->rdaio, 1, &iov)) != 0) {
		ctx_put(c);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_timeout(c->rdaio, h->o.body_timeout_ms > 0
					  ? (nng_duration)h->o.body_timeout_ms
					  : GW_BODY_TIMEOUT_MS);
	nng_http_conn_read_all(conn, c->rdaio);
}

/* -------------------------------------------------- /v1/mailbox/{id} */

static itk_err
put_varint(itk_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0) {
			tmp[n] |= 0x80;
		}
		n++;
	} while (v != 0);
	return itk_buf_put(b, tmp, n);
}

/* A length-delimited protobuf field (wire type 2). */
static itk_err
put_field(itk_buf *b, unsigned field, const uint8_t *p, size_t n)
{
	itk_err r;

	if ((r = put_varint(b, (uint64_t)field << 3 | 2u)) != ITK_OK ||
	    (r = put_varint(b, n)) != ITK_OK) {
		return r;
	}
	return itk_buf_put(b, p, n);
}

struct page_arg {
	itk_buf *b;
};

/*
 * MailboxPage is written directly: a repeated embedded message field is
 * its tag, its length and the message bytes, and the stored Reply bytes
 * were produced by protobuf-c when the worker's request was decoded.
 */
static itk_err
page_cb(void *arg, const uint8_t *const *reply, const size_t *len, size_t n)
{
	struct page_arg *pa = arg;

	for (size_t i = 0; i < n; i++) {
		itk_err r = put_field(pa->b, 2, reply[i], len[i]);
		if (r != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* Parses "/v1/mailbox/<64 hex>[?cursor=<80 hex>]". */
static itk_err
parse_mailbox_uri(const char *uri, uint8_t id[static ITK_MAILBOX_ID_LEN],
		  uint8_t cursor[static GW_CURSOR_LEN], bool *has_cursor)
{
	size_t plen = strlen(MAILBOX_PREFIX), qlen = strlen(CURSOR_PARAM);
	size_t n = strlen(uri);
	itk_err r;

	*has_cursor = false;
	if (n < plen || memcmp(uri, MAILBOX_PREFIX, plen) != 0) {
		return ITK_E_FORMAT;
	}
	uri += plen;
	n -= plen;
	if (n < 2 * ITK_MAILBOX_ID_LEN) {
		return ITK_E_FORMAT;
	}
	if ((r = itk_unhex(id, ITK_MAILBOX_ID_LEN, uri,
			   2 * ITK_MAILBOX_ID_LEN)) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	uri += 2 * ITK_MAILBOX_ID_LEN;
	n -= 2 * ITK_MAILBOX_ID_LEN;
	if (n == 0) {
		return ITK_OK;
	}
	if (n != qlen + 2 * GW_CURSOR_LEN ||
	    memcmp(uri, CURSOR_PARAM, qlen) != 0 ||
	    itk_unhex(cursor, GW_CURSOR_LEN, uri + qlen, 2 * GW_CURSOR_LEN) !=
		ITK_OK) {
		return ITK_E_FORMAT;
	}
	*has_cursor = true;
	return ITK_OK;
}

static void
mailbox_cb(nng_aio *aio)
{
	gw_http *h = handler_http(aio);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	uint8_t id[ITK_MAILBOX_ID_LEN], cursor[GW_CURSOR_LEN];
	uint8_t next[GW_CURSOR_LEN];
	struct page_arg pa = {NULL};
	bool has_cursor, more;
	itk_err r;

	if (!uri_ok(aio, GW_EP_MAILBOX)) {
		return;
	}
	if (parse_mailbox_uri(nng_http_req_get_uri(req), id, cursor,
			      &has_cursor) != ITK_OK) {
		gw_metrics_reject(GW_REJ_FORMAT);
		respond_error(aio, GW_EP_MAILBOX, 400, ITK_E_FORMAT,
			      "expected /v1/mailbox/<64 hex>"
			      "[?cursor=<80 hex>]",
			      0, false);
		return;
	}
	if (!enter(h)) {
		busy(aio, GW_EP_MAILBOX);
		return;
	}
	if ((pa.b = itk_buf_new(ITK_MAILBOX_PAGE_MAX)) == NULL ||
	    put_field(pa.b, 1, id, sizeof(id)) != ITK_OK) {
		r = ITK_E_NOMEM;
		goto fail;
	}
	if ((r = gw_spool_mailbox_read(h->o.spool, id,
				       has_cursor ? cursor : NULL, page_cb,
				       &pa, next, &more)) != ITK_OK) {
		goto fail;
	}
	if (more && (r = put_field(pa.b, 3, next, sizeof(next))) != ITK_OK) {
		goto fail;
	}
	respond(aio, GW_EP_MAILBOX, 200, "application/x-protobuf",
		itk_buf_ptr(pa.b), itk_buf_len(pa.b), true, false);
	itk_buf_free(pa.b);
	leave(h);
	return;
fail:
	itk_buf_free(pa.b);
	leave(h);
	gw_metrics_reject(GW_REJ_INTERNAL);
	itk_log_error("mailbox.read", "err=%s", itk_errname(r));
	respond_error(aio, GW_EP_MAILBOX, 500, ITK_E_INTERNAL, NULL, 0, false);
}

/* ------------------------------------------------------------- servers */

itk_err
gw_http_handler_add(nng_http_server *srv, void *data, const char *path,
		    const char *method, bool tree, size_t maxbody,
		    bool collect, void (*cb)(nng_aio *))
{
	nng_http_handler *hd = NULL;
	int rv;

	if ((rv = nng_http_handler_alloc(&hd, path, cb)) != 0 ||
	    (rv = nng_http_handler_set_method(hd, method)) != 0 ||
	    (rv = nng_http_handler_collect_body(hd, collect, maxbody)) != 0 ||
	    (tree && (rv = nng_http_handler_set_tree(hd)) != 0) ||
	    (rv = nng_http_handler_set_data(hd, data, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(srv, hd)) != 0) {
		itk_log_error("http.handler", "path=%s err=\"%s\"", path,
			      nng_strerror(rv));
		if (hd != NULL) {
			nng_http_handler_free(hd);
		}
		return ITK_E_NET;
	}
	return ITK_OK;
}

itk_err
gw_pem_read(const char *path, bool secret, char **out)
{
	itk_buf *b = NULL;
	char *s = NULL;
	itk_err r;

	r = secret ? itk_file_read_secret(path, 1024u * 1024u, &b)
		   : itk_file_read(path, 1024u * 1024u, &b);
	if (r != ITK_OK) {
		goto out;
	}
	if ((s = malloc(itk_buf_len(b) + 1)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(s, itk_buf_ptr(b), itk_buf_len(b));
	s[itk_buf_len(b)] = '\0';
	*out = s;
	r = ITK_OK;
out:
	itk_buf_free(b);
	return r;
}

static itk_err
set_tls(nng_http_server *srv, const char *cert, const char *key)
{
	nng_tls_config *tls = NULL;
	char *c = NULL, *k = NULL;
	int rv;
	itk_err r;

	if ((r = gw_pem_read(cert, false, &c)) != ITK_OK ||
	    (r = gw_pem_read(key, true, &k)) != ITK_OK) {
		itk_log_error("http.tls", "err=\"cannot read %s: %s\"",
			      c == NULL ? "tls_cert" : "tls_key",
			      itk_strerror(r));
		goto out;
	}
	r = ITK_E_CONFIG;
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0 ||
	    (rv = nng_tls_config_own_cert(tls, c, k, NULL)) != 0 ||
	    (rv = nng_http_server_set_tls(srv, tls)) != 0) {
		itk_log_error("http.tls", "err=\"%s\"", nng_strerror(rv));
		goto out;
	}
	r = ITK_OK;
out:
	if (tls != NULL) {
		nng_tls_config_free(tls); /* the server holds its own ref */
	}
	if (k != NULL) {
		sodium_memzero(k, strlen(k));
	}
	free(k);
	free(c);
	return r;
}

static itk_err
start_server(gw_http *h, const char *url, bool tls)
{
	nng_http_server *srv = NULL;
	nng_url *u = NULL;
	int rv;
	itk_err r = ITK_E_CONFIG;

	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    strcmp(u->u_scheme, tls ? "https" : "http") != 0) {
		itk_log_error("http.listen", "url=%s err=\"want %s://\"", url,
			      tls ? "https" : "http");
		goto out;
	}
	r = ITK_E_NET;
	if ((rv = nng_http_server_hold(&srv, u)) != 0) {
		itk_log_error("http.listen", "url=%s err=\"%s\"", url,
			      nng_strerror(rv));
		goto out;
	}
	h->srv[h->n_srv++] = srv;
	if (tls && (r = set_tls(srv, h->o.tls_cert, h->o.tls_key)) != ITK_OK) {
		goto out;
	}
	if ((r = gw_http_handler_add(srv, h, "/v1/keys", "GET", false, 0, true,
				     keys_cb)) != ITK_OK ||
	    (r = gw_http_handler_add(srv, h, "/healthz", "GET", false, 0, true,
				     healthz_cb)) != ITK_OK ||
	    (r = gw_http_handler_add(srv, h, "/v1/submissions", "POST", false,
				     0, false, submit_cb)) != ITK_OK ||
	    (r = gw_http_handler_add(srv, h, "/v1/mailbox", "GET", true, 0,
				     true, mailbox_cb)) != ITK_OK ||
	    (h->o.pow != NULL &&
	     (r = gw_http_handler_add(srv, h, "/v1/challenge", "GET", false, 0,
				      true, challenge_cb)) != ITK_OK)) {
		goto out;
	}
	/* The published vault log (gateway/logpub.c). */
	if (h->o.log != NULL &&
	    (r = gw_log_http_add(srv, h->o.log)) != ITK_OK) {
		goto out;
	}
	/* The page's files, with the headers of gateway/static.c. */
	if (h->o.web_root != NULL &&
	    (r = gw_static_add(srv, h->o.web_root)) != ITK_OK) {
		goto out;
	}
	if ((rv = nng_http_server_start(srv)) != 0) {
		itk_log_error("http.listen", "url=%s err=\"%s\"", url,
			      nng_strerror(rv));
		r = ITK_E_NET;
		goto out;
	}
	itk_log_info("http.listening", "url=%s", url);
	r = ITK_OK;
out:
	if (u != NULL) {
		nng_url_free(u);
	}
	return r;
}

/*
 * nng's server on an ephemeral loopback port, and the front on the
 * public address relaying to it.
 */
static itk_err
start_front(gw_http *h)
{
	gw_front_opts fo = {0};
	nng_sockaddr sa;
	itk_err r;
	int rv;

	if ((r = start_server(h, "http://127.0.0.1:0", false)) != ITK_OK) {
		return r;
	}
	if ((rv = nng_http_server_get_addr(h->srv[h->n_srv - 1], &sa)) != 0 ||
	    sa.s_family != NNG_AF_INET || sa.s_in.sa_port == 0) {
		itk_log_error("http.front", "err=\"no backend port: %s\"",
			      nng_strerror(rv));
		return ITK_E_NET;
	}
	fo.listen = h->o.listen;
	fo.backend_port = ntohs(sa.s_in.sa_port);
	fo.max_conns = h->o.max_conns;
	fo.max_header = h->o.max_header;
	fo.max_header_lines = h->o.max_header_lines;
	fo.header_timeout_ms = h->o.header_timeout_ms;
	fo.body_timeout_ms = h->o.body_timeout_ms > 0 ? h->o.body_timeout_ms
						      : GW_BODY_TIMEOUT_MS;
	fo.max_body = h->o.max_body;
	fo.pow = h->o.pow;
	/* The hot endpoints on the front's own thread (gw_front.h). */
	fo.submit = h->o.submit;
	fo.bundle = h->o.bundle;
	fo.bundle_len = h->o.bundle_len;
	fo.enter = front_enter;
	fo.leave = front_leave;
	fo.gate = h;
	return gw_front_start(&fo, &h->front);
}

itk_err
gw_http_start(const gw_http_opts *o, gw_http **out)
{
	gw_http *h;
	itk_err r = ITK_E_NOMEM;

	if (o->max_concurrent == 0) {
		return ITK_E_CONFIG;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		return ITK_E_NOMEM;
	}
	h->o = *o;
	atomic_init(&h->inflight, 0);
	atomic_init(&h->closed, false);
	if (pthread_mutex_init(&h->mtx, NULL) != 0) {
		free(h);
		return ITK_E_NOMEM;
	}
	if ((h->ctxs = calloc(o->max_concurrent, sizeof(*h->ctxs))) == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < o->max_concurrent; i++) {
		struct hctx *c = &h->ctxs[i];
		c->h = h;
		if (nng_aio_alloc(&c->rdaio, body_read_cb, c) != 0) {
			goto fail;
		}
		c->next = h->free;
		h->free = c;
	}
	if (o->max_conns == 0) {
		if ((r = start_server(h, o->listen, false)) != ITK_OK) {
			goto fail;
		}
	} else if ((r = start_front(h)) != ITK_OK) {
		goto fail;
	}
	if (o->tls_listen != NULL &&
	    (r = start_server(h, o->tls_listen, true)) != ITK_OK) {
		goto fail;
	}
	*out = h;
	return ITK_OK;
fail:
	gw_http_stop(h);
	gw_http_free(h);
	return r;
}

void
gw_http_stop(gw_http *h)
{
	if (h == NULL) {
		return;
	}
	atomic_store(&h->closed, true);
	/* The front first: no new bytes reach nng. */
	gw_front_free(h->front);
	h->front = NULL;
	for (size_t i = 0; i < h->n_srv; i++) {
		nng_http_server_stop(h->srv[i]);
	}
	/* Waits for body reads in flight and their callbacks. */
	for (size_t i = 0; h->ctxs != NULL && i < h->o.max_concurrent; i++) {
		if (h->ctxs[i].rdaio != NULL) {
			nng_aio_stop(h->ctxs[i].rdaio);
		}
	}
}

void
gw_http_free(gw_http *h)
{
	if (h == NULL) {
		return;
	}
	for (size_t i = 0; i < h->n_srv; i++) {
		nng_http_server_release(h->srv[i]);
	}
	for (size_t i = 0; h->ctxs != NULL && i < h->o.max_concurrent; i++) {
		if (h->ctxs[i].rdaio != NULL) {
			nng_aio_free(h->ctxs[i].rdaio);
		}
		free(h->ctxs[i].buf);
	}
	free(h->ctxs);
	pthread_mutex_destroy(&h->mtx);
	free(h);
}
