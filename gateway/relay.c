/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <sodium.h>

#include "gw.h"
#include "gw_log.h"
#include "log.h"

/*
 * The worker link.  The gateway LISTENS with a rep0 socket; workers DIAL
 * it with req0, so the secure tier only ever connects outwards.  Several
 * nng contexts serve several workers' requests at once.
 *
 * One request = (acks, replies, max_deliveries, wait_ms):
 *   1. acks and replies are applied in one synced spool transaction;
 *   2. up to max_deliveries pending submissions (capped by the configured
 *      maximum, minus what this worker already holds) are leased to the
 *      request's pipe, oldest first;
 *   3. if none was available and wait_ms > 0, the answer waits until a
 *      submission is spooled or wait_ms (capped) passes.
 * A lease ends with an ack, with the lease timeout, or at once when the
 * worker's pipe closes; the submission then goes back to the front.
 *
 * Metadata: newly spooled submissions are held back until batch_min of
 * them are waiting or batch_ms has passed since the first (a window), and
 * each answer lists its deliveries in a random order, so that arrival
 * order and timing at the worker tier do not mirror the network's.
 *
 * All requests are processed by one relay thread (the spool serialises
 * writes anyway); nng callbacks only queue work for it, so no nng thread
 * ever waits for an fsync.
 */

#define MAX_PIPES      256u
#define MAX_ACKS       4096u
#define MAX_REPLIES    256u
#define TICK_MS        100u
#define PRUNE_EVERY_MS (600u * 1000u)
#define PRUNE_LIMIT    10000u

enum rstate { R_RECV, R_WORK, R_WAIT, R_SEND };

struct rctx {
	gw_relay *r;
	nng_ctx ctx;
	nng_aio *aio;
	enum rstate state;
	nng_msg *req;
	uint32_t pipe;
	uint32_t want;     /* max_deliveries asked, capped */
	uint64_t deadline; /* long-poll end, monotonic ms */
	uint32_t acked;    /* for the answer */
	uint32_t stored;
	struct rctx *next; /* work queue or wait list */
};

struct gw_relay {
	gw_relay_opts o;
	nng_socket sock;
	bool sock_open;
	struct rctx *ctxs;
	size_t n_ctxs;
	pthread_t thr;
	bool started;

	pthread_mutex_t mtx; /* guards everything below */
	pthread_cond_t cv;
	struct rctx *work, *work_tail;
	struct rctx *waiters;
	bool notified;
	bool stop;
	uint64_t window; /* first spooled since the last flush; 0 = none */
	uint32_t live[MAX_PIPES];
	size_t n_live;
};

uint64_t
gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool
pipe_live_locked(const gw_relay *r, uint32_t p)
{
	for (size_t i = 0; i < r->n_live; i++) {
		if (r->live[i] == p) {
			return true;
		}
	}
	return false;
}

static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	gw_relay *r = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	bool refuse = false, was = false;

	pthread_mutex_lock(&r->mtx);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		if (r->n_live < MAX_PIPES) {
			r->live[r->n_live++] = id;
		} else {
			refuse = true;
		}
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		for (size_t i = 0; i < r->n_live; i++) {
			if (r->live[i] == id) {
				r->live[i] = r->live[--r->n_live];
				was = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&r->mtx);

	if (refuse) {
		itk_log_warn("link.refused", "pipe=%u reason=too_many", id);
		(void)nng_pipe_close(p);
		return;
	}
	if (ev == NNG_PIPE_EV_ADD_POST) {
		gw_metrics_workers(1);
		itk_log_info("link.connected", "pipe=%u", id);
	} else if (was) {
		/* Its leases go back to the front of the queue at once. */
		size_t n = gw_spool_release_owner(r->o.spool, id);
		gw_metrics_workers(-1);
		itk_log_info("link.disconnected", "pipe=%u released=%zu", id,
			     n);
	}
}

/* Spool callback: something new to deliver. */
static void
on_spooled(void *arg)
{
	gw_relay *r = arg;

	pthread_mutex_lock(&r->mtx);
	r->notified = true;
	if (r->window == 0 && r->o.batch_ms > 0) {
		r->window = gw_now_ms();
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mtx);
}

/* Submissions spooled and not leased. */
static uint64_t
unleased(gw_relay *r)
{
	gw_spool_stats st;

	gw_spool_get_stats(r->o.spool, &st);
	return st.pending > st.leased ? st.pending - st.leased : 0;
}

/*
 * Whether new submissions may go out now: no window open (a backlog from
 * before, or batching off), the window's time is up, or a batch is full.
 */
static bool
gate_open(gw_relay *r, uint64_t now)
{
	uint64_t w;

	pthread_mutex_lock(&r->mtx);
	w = r->window;
	pthread_mutex_unlock(&r->mtx);
	return w == 0 || now >= w + r->o.batch_ms ||
	       unleased(r) >= r->o.batch_min;
}

/* After a lease: once nothing waits, the next arrival opens a window. */
static void
gate_flushed(gw_relay *r)
{
	if (unleased(r) == 0) {
		pthread_mutex_lock(&r->mtx);
		r->window = 0;
		pthread_mutex_unlock(&r->mtx);
	}
}

static void
rctx_cb(void *arg)
{
	struct rctx *c = arg;
	gw_relay *r = c->r;
	int rv = nng_aio_result(c->aio);

	switch (c->state) {
	case R_SEND:
		if (rv != 0) {
			/* Pipe gone: its REM_POST releases the leases. */
			nng_msg *m = nng_aio_get_msg(c->aio);
			if (m != NULL) {
				nng_msg_free(m);
			}
			nng_aio_set_msg(c->aio, NULL);
		}
		c->state = R_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	case R_RECV:
		if (rv != 0) {
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
				return;
			}
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		c->req = nng_aio_get_msg(c->aio);
		nng_aio_set_msg(c->aio, NULL);
		c->pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(c->req));
		c->state = R_WORK;
		pthread_mutex_lock(&r->mtx);
		c->next = NULL;
		if (r->work_tail != NULL) {
			r->work_tail->next = c;
		} else {
			r->work = c;
		}
		r->work_tail = c;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mtx);
		return;
	case R_WORK:
	case R_WAIT:
	default:
		return; /* not waiting on the aio in these states */
	}
}

static void
send_msg(struct rctx *c, nng_msg *m)
{
	c->state = R_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

/* Packs resp into a new message and sends it; on failure re-arms recv. */
static void
send_resp(struct rctx *c, Intake__V1__GatewayResponse *resp)
{
	size_t n = intake__v1__gateway_response__get_packed_size(resp);
	nng_msg *m = NULL;

	if (c->r->o.log != NULL) {
		resp->log_size = gw_log_size(c->r->o.log);
		n = intake__v1__gateway_response__get_packed_size(resp);
	}
	if (nng_msg_alloc(&m, n) != 0 ||
	    intake__v1__gateway_response__pack(resp, nng_msg_body(m)) != n) {
		itk_log_error("link.send", "err=pack");
		if (m != NULL) {
			nng_msg_free(m);
		}
		c->state = R_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	send_msg(c, m);
}

static void
send_plain(struct rctx *c)
{
	Intake__V1__GatewayResponse resp = INTAKE__V1__GATEWAY_RESPONSE__INIT;

	resp.version = ITK_WIRE_VERSION;
	resp.acked = c->acked;
	resp.replies_stored = c->stored;
	send_resp(c, &resp);
}

static void
send_error(struct rctx *c, itk_err code, const char *msg)
{
	Intake__V1__GatewayResponse resp = INTAKE__V1__GATEWAY_RESPONSE__INIT;
	Intake__V1__Error e = INTAKE__V1__ERROR__INIT;

	gw_metrics_link_reject();
	itk_log_warn("link.rejected", "pipe=%u reason=%s", c->pipe,
		     itk_errname(code));
	e.code = (uint32_t)code;
	e.name = (char *)itk_errname(code);
	e.message = (char *)msg;
	resp.version = ITK_WIRE_VERSION;
	resp.error = &e;
	send_resp(c, &resp);
}

/* Lease callback: builds and sends the answer while the views live. */
static itk_err
deliver(void *arg, const gw_delivery *d, size_t n)
{
	struct rctx *c = arg;
	Intake__V1__GatewayResponse resp = INTAKE__V1__GATEWAY_RESPONSE__INIT;
	Intake__V1__Delivery dl[GW_DELIVERY_MAX], *dp[GW_DELIVERY_MAX];
	Intake__V1__Submission sub[GW_DELIVERY_MAX];

	for (size_t i = 0; i < n; i++) {
		intake__v1__delivery__init(&dl[i]);
		dp[i] = &dl[i];
		intake__v1__submission__init(&sub[i]);
		sub[i].version = ITK_WIRE_VERSION;
		sub[i].intake_key_id = d[i].key_id;
		sub[i].sealed.data = (uint8_t *)d[i].sealed;
		sub[i].sealed.len = d[i].len;
		dl[i].submission_id.data = (uint8_t *)d[i].id;
		dl[i].submission_id.len = GW_ID_LEN;
		dl[i].submission = &sub[i];
		dl[i].accepted_at = d[i].accepted_at;
		dl[i].attempt = d[i].attempt;
	}
	/* Fisher-Yates: the worker must not learn the arrival order (with
	 * batching off, link_batch_ms = 0, arrival order is kept). */
	for (size_t i = n; c->r->o.batch_ms > 0 && i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		Intake__V1__Delivery *t = dp[i - 1];
		dp[i - 1] = dp[j];
		dp[j] = t;
	}
	resp.version = ITK_WIRE_VERSION;
	resp.n_deliveries = n;
	resp.deliveries = dp;
	resp.acked = c->acked;
	resp.replies_stored = c->stored;
	send_resp(c, &resp);
	return ITK_OK;
}

/*
 * Tries to lease to c.  Returns true if c was answered (with deliveries),
 * false if nothing could be leased (c is untouched).
 */
static bool
try_deliver(gw_relay *r, struct rctx *c)
{
	size_t held, n = 0, grant;
	bool live;
	itk_err e;

	pthread_mutex_lock(&r->mtx);
	live = pipe_live_locked(r, c->pipe);
	pthread_mutex_unlock(&r->mtx);
	if (!live || c->want == 0 || !gate_open(r, gw_now_ms())) {
		return false;
	}
	/* Bounded in flight per worker: what it holds counts. */
	held = gw_spool_leased_by(r->o.spool, c->pipe);
	if (held >= c->want) {
		return false;
	}
	grant = c->want - held;
	e = gw_spool_lease(r->o.spool, c->pipe, gw_now_ms(), grant, deliver, c,
			   &n);
	if (e != ITK_OK) {
		itk_log_error("link.lease", "err=%s", itk_errname(e));
	}
	if (n > 0) {
		gw_metrics_link(n, 0, 0);
		gate_flushed(r);
	}
	return n > 0;
}

/* Validates and applies one request; answers it or parks it. */
static void
process(gw_relay *r, struct rctx *c)
{
	itk_pb_worker_request *wr = NULL;
	const uint8_t *acks[MAX_ACKS];
	gw_spool_reply rp[MAX_REPLIES];
	itk_buf *rbuf = NULL;
	size_t offs[MAX_REPLIES];
	size_t acked = 0, stored = 0;
	itk_err e;

	c->acked = c->stored = 0;
	c->want = 0;
	e = itk_wire_worker_request_decode(nng_msg_body(c->req),
					   nng_msg_len(c->req), &wr);
	nng_msg_free(c->req);
	c->req = NULL;
	if (e != ITK_OK) {
		send_error(c, e, "malformed worker request");
		goto out;
	}
	if (wr->n_acks > MAX_ACKS || wr->n_replies > MAX_REPLIES) {
		send_error(c, ITK_E_TOO_BIG, "too many acks or replies");
		goto out;
	}
	for (size_t i = 0; i < wr->n_acks; i++) {
		acks[i] = wr->acks[i].data;
	}
	/* Pushed log files: a refusal is logged, never fails the acks. */
	for (size_t i = 0;
	     r->o.log != NULL && i < wr->n_log_files && i < GW_LOG_FILES_MAX;
	     i++) {
		const Intake__V1__LogFile *f = wr->log_files[i];
		itk_err le =
		    gw_log_store(r->o.log, f->path, f->data.data, f->data.len);
		if (le != ITK_OK && le != ITK_E_RANGE) {
			itk_log_warn("log.refused", "path=%.96s err=%s",
				     f->path, itk_errname(le));
			break; /* what follows (the checkpoint) needs it */
		}
	}
	if (wr->n_replies > 0 &&
	    (rbuf = itk_buf_new(ITK_WORKER_REQUEST_MAX)) == NULL) {
		send_error(c, ITK_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < wr->n_replies; i++) {
		const Intake__V1__Reply *y = wr->replies[i];
		uint8_t h[ITK_HASH_LEN];

		/* The reply id names the sealed bytes; a mismatch would
		 * let one reply be stored under another's id. */
		itk_sha256(h, y->sealed.data, y->sealed.len);
		if (memcmp(h, y->reply_id.data, ITK_HASH_LEN) != 0) {
			send_error(c, ITK_E_RANGE,
				   "reply_id is not "
				   "SHA-256(sealed)");
			goto out;
		}
		offs[i] = itk_buf_len(rbuf);
		if ((e = itk_wire_pack(&y->base, rbuf)) != ITK_OK) {
			send_error(c, e, "reply too large");
			goto out;
		}
	}
	for (size_t i = 0; i < wr->n_replies; i++) {
		const Intake__V1__Reply *y = wr->replies[i];
		size_t end =
		    i + 1 < wr->n_replies ? offs[i + 1] : itk_buf_len(rbuf);
		rp[i].mailbox_id = y->mailbox_id.data;
		rp[i].reply_id = y->reply_id.data;
		rp[i].posted_at = y->posted_at;
		rp[i].reply = itk_buf_ptr(rbuf) + offs[i];
		rp[i].reply_len = end - offs[i];
	}
	e = gw_spool_worker_commit(r->o.spool, acks, wr->n_acks, rp,
				   wr->n_replies, (uint64_t)time(NULL), &acked,
				   &stored);
	if (e != ITK_OK) {
		/* Nothing applied: the worker sends the same again. */
		send_error(c, e, "the spool could not apply the request");
		goto out;
	}
	gw_metrics_link(0, acked, stored);
	c->acked = (uint32_t)acked;
	c->stored = (uint32_t)stored;
	c->want = wr->max_deliveries < r->o.max_deliveries
		      ? wr->max_deliveries
		      : r->o.max_deliveries;
	if (try_deliver(r, c)) {
		goto out;
	}
	if (wr->wait_ms == 0 || c->want == 0) {
		send_plain(c);
		goto out;
	}
	/* Long-poll: park until something is spooled or the deadline. */
	c->deadline =
	    gw_now_ms() +
	    (wr->wait_ms < r->o.max_wait_ms ? wr->wait_ms : r->o.max_wait_ms);
	c->state = R_WAIT;
	pthread_mutex_lock(&r->mtx);
	c->next = r->waiters;
	r->waiters = c;
	pthread_mutex_unlock(&r->mtx);
out:
	itk_buf_free(rbuf);
	itk_wire_free(wr);
}

/* Serves parked requests: on news, try to lease; past deadline, answer
 * with nothing. */
static void
serve_waiters(gw_relay *r, bool news, uint64_t now)
{
	struct rctx *list, *c, *nx, *keep = NULL;

	pthread_mutex_lock(&r->mtx);
	list = r->waiters;
	r->waiters = NULL;
	pthread_mutex_unlock(&r->mtx);
	for (c = list; c != NULL; c = nx) {
		nx = c->next;
		if (news && try_deliver(r, c)) {
			continue;
		}
		if (now >= c->deadline) {
			send_plain(c);
			continue;
		}
		c->next = keep;
		keep = c;
	}
	pthread_mutex_lock(&r->mtx);
	for (c = keep; c != NULL; c = nx) {
		nx = c->next;
		c->next = r->waiters;
		r->waiters = c;
	}
	pthread_mutex_unlock(&r->mtx);
}

static void *
relay_main(void *arg)
{
	gw_relay *r = arg;
	uint64_t last_prune = 0;

	pthread_mutex_lock(&r->mtx);
	while (!r->stop) {
		struct rctx *c;
		bool news;
		uint64_t now;

		if ((c = r->work) != NULL) {
			r->work = c->next;
			if (r->work == NULL) {
				r->work_tail = NULL;
			}
			pthread_mutex_unlock(&r->mtx);
			process(r, c);
			pthread_mutex_lock(&r->mtx);
			continue;
		}
		if (!r->notified) {
			struct timespec ts;
			uint64_t wake = gw_now_ms() + TICK_MS;
			for (c = r->waiters; c != NULL; c = c->next) {
				if (c->deadline < wake) {
					wake = c->deadline;
				}
			}
			/* The condvar runs on CLOCK_REALTIME: convert the
			 * remaining interval. */
			{
				uint64_t now0 = gw_now_ms();
				uint64_t left = wake > now0 ? wake - now0 : 0;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += (time_t)(left / 1000u);
				ts.tv_nsec += (long)(left % 1000u) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
			}
			(void)pthread_cond_timedwait(&r->cv, &r->mtx, &ts);
			if (r->work != NULL || r->stop) {
				continue;
			}
		}
		news = r->notified;
		r->notified = false;
		/* A batch window whose time is up is news too. */
		if (r->window != 0 &&
		    gw_now_ms() >= r->window + r->o.batch_ms) {
			news = true;
		}
		pthread_mutex_unlock(&r->mtx);

		now = gw_now_ms();
		/* Expired leases return to the queue (and notify). */
		if (gw_spool_expire(r->o.spool, now) > 0) {
			news = true;
		}
		serve_waiters(r, news, now);
		if (now - last_prune >= PRUNE_EVERY_MS || last_prune == 0) {
			size_t n = gw_spool_prune(
			    r->o.spool, (uint64_t)time(NULL), PRUNE_LIMIT);
			if (n > 0) {
				itk_log_info("spool.pruned", "n=%zu", n);
			}
			last_prune = now;
		}
		pthread_mutex_lock(&r->mtx);
	}
	pthread_mutex_unlock(&r->mtx);
	return NULL;
}

itk_err
gw_relay_start(const gw_relay_opts *o, gw_relay **out)
{
	gw_relay *r;
	nng_listener l;
	int rv;
	itk_err e = ITK_E_NET;

	if (o->contexts == 0 || o->max_deliveries == 0) {
		return ITK_E_CONFIG;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return ITK_E_NOMEM;
	}
	r->o = *o;
	if (pthread_mutex_init(&r->mtx, NULL) != 0) {
		free(r);
		return ITK_E_NOMEM;
	}
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mtx);
		free(r);
		return ITK_E_NOMEM;
	}
	if ((r->ctxs = calloc(o->contexts, sizeof(*r->ctxs))) == NULL) {
		e = ITK_E_NOMEM;
		goto fail;
	}
	if ((rv = nng_rep0_open(&r->sock)) != 0) {
		itk_log_error("link.open", "err=\"%s\"", nng_strerror(rv));
		goto fail;
	}
	r->sock_open = true;
	/* A worker request may carry many replies (ITK_WORKER_REQUEST_MAX);
	 * nng's default cap (1 MiB) would drop those silently. */
	if ((rv = nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ,
				      ITK_WORKER_REQUEST_MAX)) != 0 ||
	    (rv = nng_pipe_notify(r->sock, NNG_PIPE_EV_ADD_POST, pipe_cb,
				  r)) != 0 ||
	    (rv = nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, pipe_cb,
				  r)) != 0) {
		itk_log_error("link.open", "err=\"%s\"", nng_strerror(rv));
		goto fail;
	}
	gw_spool_set_notify(o->spool, on_spooled, r);
	if (pthread_create(&r->thr, NULL, relay_main, r) != 0) {
		e = ITK_E_NOMEM;
		goto fail;
	}
	r->started = true;
	for (size_t i = 0; i < o->contexts; i++) {
		struct rctx *c = &r->ctxs[i];
		c->r = r;
		if ((rv = nng_aio_alloc(&c->aio, rctx_cb, c)) != 0 ||
		    (rv = nng_ctx_open(&c->ctx, r->sock)) != 0) {
			itk_log_error("link.open", "err=\"%s\"",
				      nng_strerror(rv));
			goto fail;
		}
		r->n_ctxs = i + 1;
	}
	if (o->tls == NULL && strncmp(o->listen, "tls+tcp", 7) == 0) {
		e = ITK_E_CONFIG; /* nng would accept any worker */
		goto fail;
	}
	if ((rv = nng_listener_create(&l, r->sock, o->listen)) != 0) {
		itk_log_error("link.listen", "url=%s err=\"%s\"", o->listen,
			      nng_strerror(rv));
		goto fail;
	}
	if (o->tls != NULL &&
	    (e = itk_link_tls_set_listener(o->tls, l)) != ITK_OK) {
		goto fail; /* the listener goes with the socket */
	}
	e = ITK_E_NET;
	if ((rv = nng_listener_start(l, 0)) != 0) {
		itk_log_error("link.listen", "url=%s err=\"%s\"", o->listen,
			      nng_strerror(rv));
		goto fail;
	}
	for (size_t i = 0; i < r->n_ctxs; i++) {
		r->ctxs[i].state = R_RECV;
		nng_ctx_recv(r->ctxs[i].ctx, r->ctxs[i].aio);
	}
	itk_log_info("link.listening", "url=%s contexts=%zu", o->listen,
		     o->contexts);
	*out = r;
	return ITK_OK;
fail:
	gw_relay_free(r);
	return e;
}

void
gw_relay_free(gw_relay *r)
{
	if (r == NULL) {
		return;
	}
	pthread_mutex_lock(&r->mtx);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mtx);
	if (r->started) {
		pthread_join(r->thr, NULL);
	}
	/* Closing the socket fails every pending aio with NNG_ECLOSED. */
	if (r->sock_open) {
		nng_close(r->sock);
	}
	gw_spool_set_notify(r->o.spool, NULL, NULL);
	for (size_t i = 0; i < r->o.contexts && r->ctxs != NULL; i++) {
		struct rctx *c = &r->ctxs[i];
		if (c->aio != NULL) {
			nng_msg *m;
			nng_aio_stop(c->aio);
			if ((m = nng_aio_get_msg(c->aio)) != NULL) {
				nng_msg_free(m);
			}
			nng_aio_free(c->aio);
		}
		if (c->req != NULL) {
			nng_msg_free(c->req);
		}
	}
	free(r->ctxs);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mtx);
	free(r);
}
