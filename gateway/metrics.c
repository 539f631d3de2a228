/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "gw.h"
#include "gw_chat.h"
#include "log.h"

/*
 * Process-wide counters: relaxed atomics, so that counting never takes a
 * lock on the request path.  Rendered in the Prometheus text format
 * (version 0.0.4) on a separate, loopback-only listener.
 */

static const unsigned statuses[] = {200, 400, 403, 404, 405, 408, 410, 411,
				    413, 414, 422, 429, 431, 500, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + other */

static const char *const ep_names[GW_EP_COUNT] = {
    [GW_EP_KEYS] = "keys",       [GW_EP_SUBMIT] = "submissions",
    [GW_EP_MAILBOX] = "mailbox", [GW_EP_HEALTHZ] = "healthz",
    [GW_EP_WEB] = "web",         [GW_EP_CHALLENGE] = "challenge",
};

static const char *const rej_names[GW_REJ_COUNT] = {
    [GW_REJ_TOO_BIG] = "too_big",
    [GW_REJ_FORMAT] = "format",
    [GW_REJ_VERSION] = "version",
    [GW_REJ_MISSING] = "missing",
    [GW_REJ_RANGE] = "range",
    [GW_REJ_KEY_UNKNOWN] = "key_unknown",
    [GW_REJ_KEY_EXPIRED] = "key_expired",
    [GW_REJ_FULL] = "full",
    [GW_REJ_SHUTDOWN] = "shutting_down",
    [GW_REJ_BUSY] = "busy",
    [GW_REJ_LENGTH] = "length_required",
    [GW_REJ_URI] = "uri_too_long",
    [GW_REJ_INTERNAL] = "internal",
    [GW_REJ_POW] = "pow",
    [GW_REJ_CONNS] = "connections",
    [GW_REJ_HEADER_SIZE] = "header_too_large",
    [GW_REJ_HEADER_TIMEOUT] = "header_timeout",
    [GW_REJ_BODY_TIMEOUT] = "body_timeout",
};

/* Batch-size histogram upper bounds; the last bucket is +Inf. */
static const unsigned batch_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_BATCH (sizeof(batch_le) / sizeof(batch_le[0]))

static atomic_ullong m_requests[GW_EP_COUNT][N_STATUS];
static atomic_ullong m_rejects[GW_REJ_COUNT];
static atomic_ullong m_batches, m_batch_sum, m_batch_hist[N_BATCH + 1];
static atomic_ullong m_deliveries, m_acks, m_replies, m_link_rejects;
static atomic_llong m_workers;
static atomic_llong m_conns;
static atomic_ullong m_pow_difficulty, m_pow_issued;

void
gw_metrics_request(gw_endpoint ep, unsigned status)
{
	size_t i = 0;

	if ((unsigned)ep >= GW_EP_COUNT) {
		return;
	}
	while (i < N_STATUS - 1 && statuses[i] != status) {
		i++;
	}
	atomic_fetch_add_explicit(&m_requests[ep][i], 1, memory_order_relaxed);
}

void
gw_metrics_reject(gw_reject why)
{
	if ((unsigned)why < GW_REJ_COUNT) {
		atomic_fetch_add_explicit(&m_rejects[why], 1,
					  memory_order_relaxed);
	}
}

void
gw_metrics_batch(size_t n)
{
	size_t i = 0;

	while (i < N_BATCH && n > batch_le[i]) {
		i++;
	}
	atomic_fetch_add_explicit(&m_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m_batch_sum, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&m_batch_hist[i], 1, memory_order_relaxed);
}

void
gw_metrics_link(size_t deliveries, size_t acks, size_t replies)
{
	atomic_fetch_add_explicit(&m_deliveries, deliveries,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m_acks, acks, memory_order_relaxed);
	atomic_fetch_add_explicit(&m_replies, replies, memory_order_relaxed);
}

void
gw_metrics_link_reject(void)
{
	atomic_fetch_add_explicit(&m_link_rejects, 1, memory_order_relaxed);
}

void
gw_metrics_workers(int delta)
{
	atomic_fetch_add_explicit(&m_workers, delta, memory_order_relaxed);
}

void
gw_metrics_conns(int delta)
{
	atomic_fetch_add_explicit(&m_conns, delta, memory_order_relaxed);
}

void
gw_metrics_pow(unsigned difficulty, uint64_t issued)
{
	atomic_store_explicit(&m_pow_difficulty, difficulty,
			      memory_order_relaxed);
	atomic_store_explicit(&m_pow_issued, issued, memory_order_relaxed);
}

static unsigned long long
get(atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

itk_err
gw_metrics_render(gw_spool *spool, itk_buf *out)
{
	gw_spool_stats st;
	unsigned long long cum = 0;
	itk_err r = ITK_OK;

#define P(...)                                                                \
	do {                                                                  \
		if (r == ITK_OK) {                                            \
			r = itk_buf_printf(out, __VA_ARGS__);                 \
		}                                                             \
	} while (0)

	gw_spool_get_stats(spool, &st);
	P("# HELP intake_gw_http_requests_total HTTP requests answered.\n"
	  "# TYPE intake_gw_http_requests_total counter\n");
	for (size_t e = 0; e < GW_EP_COUNT; e++) {
		for (size_t i = 0; i < N_STATUS; i++) {
			unsigned long long v = get(&m_requests[e][i]);
			if (v == 0) {
				continue;
			}
			if (i < N_STATUS - 1) {
				P("intake_gw_http_requests_total{endpoint=\"%"
				  "s\","
				  "status=\"%u\"} %llu\n",
				  ep_names[e], statuses[i], v);
			} else {
				P("intake_gw_http_requests_total{endpoint=\"%"
				  "s\","
				  "status=\"other\"} %llu\n",
				  ep_names[e], v);
			}
		}
	}
	P("# HELP intake_gw_rejections_total Requests refused, by reason.\n"
	  "# TYPE intake_gw_rejections_total counter\n");
	for (size_t i = 0; i < GW_REJ_COUNT; i++) {
		P("intake_gw_rejections_total{reason=\"%s\"} %llu\n",
		  rej_names[i], get(&m_rejects[i]));
	}
	P("# HELP intake_gw_spool_depth Submissions spooled, not yet "
	  "acknowledged by a worker.\n"
	  "# TYPE intake_gw_spool_depth gauge\n"
	  "intake_gw_spool_depth %llu\n"
	  "# HELP intake_gw_spool_bytes Sealed bytes spooled.\n"
	  "# TYPE intake_gw_spool_bytes gauge\n"
	  "intake_gw_spool_bytes %llu\n"
	  "# HELP intake_gw_spool_leased Submissions leased to a worker.\n"
	  "# TYPE intake_gw_spool_leased gauge\n"
	  "intake_gw_spool_leased %llu\n"
	  "# HELP intake_gw_spool_writable 1 while the spool accepts "
	  "writes.\n"
	  "# TYPE intake_gw_spool_writable gauge\n"
	  "intake_gw_spool_writable %d\n",
	  (unsigned long long)st.pending, (unsigned long long)st.bytes,
	  (unsigned long long)st.leased, st.writable ? 1 : 0);
	P("# HELP intake_gw_deliveries_total Submissions sent to workers.\n"
	  "# TYPE intake_gw_deliveries_total counter\n"
	  "intake_gw_deliveries_total %llu\n"
	  "# HELP intake_gw_acks_total Acknowledgements that removed a "
	  "submission.\n"
	  "# TYPE intake_gw_acks_total counter\n"
	  "intake_gw_acks_total %llu\n"
	  "# HELP intake_gw_redeliveries_total Leases that ended without "
	  "an ack (timeout or worker gone).\n"
	  "# TYPE intake_gw_redeliveries_total counter\n"
	  "intake_gw_redeliveries_total %llu\n"
	  "# HELP intake_gw_replies_stored_total Sealed replies posted to "
	  "mailboxes.\n"
	  "# TYPE intake_gw_replies_stored_total counter\n"
	  "intake_gw_replies_stored_total %llu\n"
	  "# HELP intake_gw_link_rejects_total Worker requests refused.\n"
	  "# TYPE intake_gw_link_rejects_total counter\n"
	  "intake_gw_link_rejects_total %llu\n"
	  "# HELP intake_gw_workers_connected Worker pipes connected now.\n"
	  "# TYPE intake_gw_workers_connected gauge\n"
	  "intake_gw_workers_connected %lld\n",
	  get(&m_deliveries), get(&m_acks), (unsigned long long)st.redelivered,
	  get(&m_replies), get(&m_link_rejects),
	  (long long)atomic_load_explicit(&m_workers, memory_order_relaxed));
	P("# HELP intake_gw_connections Client connections open now "
	  "(front).\n"
	  "# TYPE intake_gw_connections gauge\n"
	  "intake_gw_connections %lld\n"
	  "# HELP intake_gw_pow_difficulty Proof-of-work difficulty (leading "
	  "zero bits) last asked; 0 = none.\n"
	  "# TYPE intake_gw_pow_difficulty gauge\n"
	  "intake_gw_pow_difficulty %llu\n"
	  "# HELP intake_gw_pow_challenges_total Challenges issued.\n"
	  "# TYPE intake_gw_pow_challenges_total counter\n"
	  "intake_gw_pow_challenges_total %llu\n",
	  (long long)atomic_load_explicit(&m_conns, memory_order_relaxed),
	  get(&m_pow_difficulty), get(&m_pow_issued));
	P("# HELP intake_gw_commit_batch_size Submissions per group commit "
	  "(one LMDB transaction, one fsync).\n"
	  "# TYPE intake_gw_commit_batch_size histogram\n");
	for (size_t i = 0; i <= N_BATCH; i++) {
		cum += get(&m_batch_hist[i]);
		if (i < N_BATCH) {
			P("intake_gw_commit_batch_size_bucket{le=\"%u\"} "
			  "%llu\n",
			  batch_le[i], cum);
		} else {
			P("intake_gw_commit_batch_size_bucket{le=\"+Inf\"} "
			  "%llu\n",
			  cum);
		}
	}
	P("intake_gw_commit_batch_size_sum %llu\n"
	  "intake_gw_commit_batch_size_count %llu\n",
	  get(&m_batch_sum), get(&m_batches));
	if (r == ITK_OK) {
		r = gw_chat_metrics_render(out); /* gateway/chat.c */
	}
#undef P
	return r;
}

struct gw_metrics {
	nng_http_server *srv;
	nng_http_handler *h;
	gw_spool *spool;
};

static void
metrics_cb(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	gw_metrics *m = nng_http_handler_get_data(h);
	nng_http_res *res = NULL;
	itk_buf *b = itk_buf_new(256u * 1024u);
	int rv = NNG_ENOMEM;

	if (b == NULL || gw_metrics_render(m->spool, b) != ITK_OK) {
		goto out;
	}
	if ((rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Content-Type",
					  "text/plain; version=0.0.4")) != 0 ||
	    (rv = nng_http_res_copy_data(res, itk_buf_ptr(b),
					 itk_buf_len(b))) != 0) {
		goto out;
	}
	nng_aio_set_output(aio, 0, res);
	res = NULL; /* transferred */
	rv = 0;
out:
	itk_buf_free(b);
	nng_http_res_free(res);
	nng_aio_finish(aio, rv);
}

/* True for 127.0.0.0/8 and ::1 only: a name could resolve anywhere. */
static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1) {
		return (ntohl(a4.s_addr) >> 24) == 127;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

itk_err
gw_metrics_start(const char *url, gw_spool *spool, gw_metrics **out)
{
	gw_metrics *m = NULL;
	nng_url *u = NULL;
	int rv;
	itk_err r = ITK_E_CONFIG;

	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    strcmp(u->u_scheme, "http") != 0 || !is_loopback(u->u_hostname)) {
		itk_log_error("metrics.listen", "err=\"not a loopback "
						"http:// address\"");
		goto out;
	}
	r = ITK_E_NOMEM;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		goto out;
	}
	m->spool = spool;
	r = ITK_E_NET;
	if ((rv = nng_http_server_hold(&m->srv, u)) != 0 ||
	    (rv = nng_http_handler_alloc(&m->h, "/metrics", metrics_cb)) !=
		0 ||
	    (rv = nng_http_handler_collect_body(m->h, true, 0)) != 0 ||
	    (rv = nng_http_handler_set_data(m->h, m, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(m->srv, m->h)) != 0) {
		itk_log_error("metrics.listen", "err=\"%s\"",
			      nng_strerror(rv));
		goto out;
	}
	m->h = NULL; /* the server owns it now */
	if ((rv = nng_http_server_start(m->srv)) != 0) {
		itk_log_error("metrics.listen", "err=\"%s\"",
			      nng_strerror(rv));
		goto out;
	}
	itk_log_info("metrics.listening", "url=%s", url);
	*out = m;
	m = NULL; /* transferred */
	r = ITK_OK;
out:
	if (m != NULL) {
		if (m->h != NULL) {
			nng_http_handler_free(m->h);
		}
		if (m->srv != NULL) {
			nng_http_server_release(m->srv);
		}
		free(m);
	}
	if (u != NULL) {
		nng_url_free(u);
	}
	return r;
}

void
gw_metrics_stop(gw_metrics *m)
{
	if (m == NULL) {
		return;
	}
	nng_http_server_stop(m->srv);
	nng_http_server_release(m->srv);
	free(m);
}
