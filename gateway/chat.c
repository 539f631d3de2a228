/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "file.h"
#include "gw.h"
#include "gw_chat.h"
#include "log.h"

/*
 * The chat endpoint (gw_chat.h, docs/chat.md).
 *
 * nng's WebSocket stream in its default "stream" mode joins the payloads
 * of consecutive messages, which would merge two protobuf frames into
 * one.  Its listener also takes "ws:msgmode" (the option nng's own SP
 * transport sets): then each receive yields exactly one WebSocket message
 * as an nng_msg, and each nng_msg sent is one message.  The listener caps
 * a message at max_frame bytes and closes the connection (1009) beyond.
 *
 * Locking: one mutex per chat guards the connection list and every
 * connection's queue, subscriptions and counters.  nng completes aios on
 * its own threads, never inside the calls made here under the mutex.
 * A connection is freed by the sweeper thread once nothing refers to it
 * (no receive armed, no send, no submission, no mailbox load), because
 * an aio cannot be freed from its own callback.
 */

#define OPT_MSGMODE "ws:msgmode"
#define MILLI       1000u

enum ev {
	EV_ACCEPTED = 0,
	EV_REFUSED_CONNS,
	EV_FRAMES_IN,
	EV_FRAMES_OUT,
	EV_BAD_FRAME,
	EV_RATE,
	EV_SUBS,
	EV_INFLIGHT,
	EV_IDLE,
	EV_QUEUE_FULL,
	EV_SUBMITS,
	EV_PUSHED,
	EV_COUNT,
};

static const char *const ev_names[EV_COUNT] = {
    [EV_ACCEPTED] = "intake_gw_chat_accepted_total",
    [EV_REFUSED_CONNS] = "intake_gw_chat_refused_connections_total",
    [EV_FRAMES_IN] = "intake_gw_chat_frames_in_total",
    [EV_FRAMES_OUT] = "intake_gw_chat_frames_out_total",
    [EV_BAD_FRAME] = "intake_gw_chat_bad_frames_total",
    [EV_RATE] = "intake_gw_chat_rate_limited_total",
    [EV_SUBS] = "intake_gw_chat_subscriptions_refused_total",
    [EV_INFLIGHT] = "intake_gw_chat_inflight_refused_total",
    [EV_IDLE] = "intake_gw_chat_idle_closed_total",
    [EV_QUEUE_FULL] = "intake_gw_chat_queue_full_closed_total",
    [EV_SUBMITS] = "intake_gw_chat_submissions_total",
    [EV_PUSHED] = "intake_gw_chat_replies_pushed_total",
};

static atomic_ullong m_ev[EV_COUNT];
static atomic_llong m_open;

static void
ev(enum ev e)
{
	atomic_fetch_add_explicit(&m_ev[e], 1, memory_order_relaxed);
}

struct out {
	struct out *next;
	nng_msg *m;
};

struct conn {
	struct conn *prev, *next; /* the live list, or the dead list */
	gw_chat *chat;
	nng_stream *s;
	nng_aio *rx, *tx;
	/* Everything below is guarded by chat->mtx. */
	struct out *qh, *qt;
	size_t qbytes;
	bool sending, closing, loading;
	size_t refs;
	size_t inflight;
	uint8_t (*subs)[ITK_MAILBOX_ID_LEN];
	bool *pending; /* subs[i]'s stored replies not all sent yet */
	size_t n_subs;
	uint8_t cursor[GW_CURSOR_LEN];         /* of the load in progress... */
	uint8_t cursor_id[ITK_MAILBOX_ID_LEN]; /* ...of this mailbox */
	bool has_cursor;
	uint64_t tokens; /* thousandths of a frame */
	uint64_t refill_ms;
};

struct gw_chat {
	gw_chat_opts o;
	nng_stream_listener *l;
	nng_aio *acc;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct conn *live, *dead;
	size_t n_conns;
	bool stopping, sweeper_stop;
	pthread_t sweeper;
	bool sweeper_started;
};

/* ------------------------------------------------------------ frames */

/* A ChatServerFrame in a fresh nng_msg (the caller sends or frees it). */
static itk_err
frame_new(uint32_t seq, Intake__V1__ChatServerFrame__KindCase kind,
	  const uint8_t *p, size_t n, uint32_t pow, nng_msg **out)
{
	Intake__V1__ChatServerFrame f = INTAKE__V1__CHAT_SERVER_FRAME__INIT;
	ProtobufCBinaryData b = {n, (uint8_t *)p};
	nng_msg *m = NULL;
	size_t size;

	f.version = ITK_WIRE_VERSION;
	f.seq = seq;
	f.pow_difficulty = pow;
	f.kind_case = kind;
	switch (kind) {
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_RECEIPT:
		f.receipt = b;
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_ERROR:
		f.error = b;
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY:
		f.reply = b;
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_SUBSCRIBED:
		f.subscribed = b;
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_PONG:
		f.pong = true;
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND__NOT_SET:
	default:
		return ITK_E_INTERNAL;
	}
	size = protobuf_c_message_get_packed_size(&f.base);
	if (size > ITK_CHAT_SERVER_MAX) {
		return ITK_E_TOO_BIG;
	}
	if (nng_msg_alloc(&m, size) != 0) {
		return ITK_E_NOMEM;
	}
	if (protobuf_c_message_pack(&f.base, nng_msg_body(m)) != size) {
		nng_msg_free(m);
		return ITK_E_INTERNAL;
	}
	*out = m;
	return ITK_OK;
}

static itk_err
error_frame(uint32_t seq, itk_err code, const char *msg, uint32_t retry,
	    uint32_t pow, nng_msg **out)
{
	itk_buf *b = itk_buf_new(ITK_ERROR_MAX);
	itk_err r = ITK_E_NOMEM;

	if (b != NULL && (r = gw_error_pack(code, msg, retry, b)) == ITK_OK) {
		r = frame_new(seq, INTAKE__V1__CHAT_SERVER_FRAME__KIND_ERROR,
			      itk_buf_ptr(b), itk_buf_len(b), pow, out);
	}
	itk_buf_free(b);
	return r;
}

/* ------------------------------------------------------- connections */

static void
list_remove(struct conn **head, struct conn *k)
{
	if (k->prev != NULL) {
		k->prev->next = k->next;
	} else {
		*head = k->next;
	}
	if (k->next != NULL) {
		k->next->prev = k->prev;
	}
	k->prev = k->next = NULL;
}

static void
list_push(struct conn **head, struct conn *k)
{
	k->prev = NULL;
	k->next = *head;
	if (*head != NULL) {
		(*head)->prev = k;
	}
	*head = k;
}

static void
queue_drop_locked(struct conn *k)
{
	struct out *o, *nx;

	for (o = k->qh; o != NULL; o = nx) {
		nx = o->next;
		nng_msg_free(o->m);
		free(o);
	}
	k->qh = k->qt = NULL;
	k->qbytes = 0;
}

/* Drops one reference; the last one of a closing connection hands it to
 * the sweeper.  The caller must not touch k afterwards. */
static void
unref_locked(struct conn *k)
{
	gw_chat *c = k->chat;

	if (--k->refs > 0 || !k->closing) {
		return;
	}
	list_remove(&c->live, k);
	c->n_conns--;
	list_push(&c->dead, k);
	pthread_cond_broadcast(&c->cv);
}

/* Marks k closing; true if the caller must close the stream (outside the
 * mutex).  Queued frames are dropped. */
static bool
close_locked(struct conn *k)
{
	if (k->closing) {
		return false;
	}
	k->closing = true;
	queue_drop_locked(k);
	return true;
}

static void
conn_close(struct conn *k)
{
	gw_chat *c = k->chat;
	bool doit;

	pthread_mutex_lock(&c->mtx);
	doit = close_locked(k);
	pthread_mutex_unlock(&c->mtx);
	if (doit) {
		nng_stream_close(k->s);
	}
}

static void
send_next_locked(struct conn *k)
{
	struct out *o = k->qh;

	if (k->sending || k->closing || o == NULL) {
		return;
	}
	k->qh = o->next;
	if (k->qh == NULL) {
		k->qt = NULL;
	}
	k->qbytes -= nng_msg_len(o->m);
	k->sending = true;
	k->refs++;
	nng_aio_set_msg(k->tx, o->m);
	free(o);
	nng_stream_send(k->s, k->tx);
}

/*
 * Queues m (taken in every case) towards the client.  Beyond max_queue
 * the client is not reading: the connection is closed; *close_it then
 * says the caller must close the stream.
 */
static void
enqueue_locked(struct conn *k, nng_msg *m, bool *close_it)
{
	struct out *o;

	if (k->closing) {
		nng_msg_free(m);
		return;
	}
	if (k->qbytes + nng_msg_len(m) > k->chat->o.max_queue ||
	    (o = calloc(1, sizeof(*o))) == NULL) {
		nng_msg_free(m);
		ev(EV_QUEUE_FULL);
		*close_it |= close_locked(k);
		return;
	}
	o->m = m;
	k->qbytes += nng_msg_len(m);
	if (k->qt != NULL) {
		k->qt->next = o;
	} else {
		k->qh = o;
	}
	k->qt = o;
	send_next_locked(k);
}

static void
enqueue(struct conn *k, nng_msg *m)
{
	bool close_it = false;

	pthread_mutex_lock(&k->chat->mtx);
	enqueue_locked(k, m, &close_it);
	pthread_mutex_unlock(&k->chat->mtx);
	if (close_it) {
		nng_stream_close(k->s);
	}
}

static void
send_error(struct conn *k, uint32_t seq, itk_err code, const char *msg,
	   uint32_t retry)
{
	nng_msg *m;

	if (error_frame(seq, code, msg, retry, 0, &m) == ITK_OK) {
		enqueue(k, m);
	}
}

/* ------------------------------------------------------ mailbox loads */

struct collect {
	nng_msg *m[GW_MAILBOX_PAGE_MAX];
	size_t n;
};

static itk_err
collect_cb(void *arg, const uint8_t *const *reply, const size_t *len, size_t n)
{
	struct collect *cl = arg;

	for (size_t i = 0; i < n && cl->n < GW_MAILBOX_PAGE_MAX; i++) {
		itk_err r =
		    frame_new(0, INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY,
			      reply[i], len[i], 0, &cl->m[cl->n]);
		if (r != ITK_OK) {
			return r;
		}
		cl->n++;
	}
	return ITK_OK;
}

static ssize_t
sub_find_locked(const struct conn *k, const uint8_t *id)
{
	for (size_t i = 0; i < k->n_subs; i++) {
		if (memcmp(k->subs[i], id, ITK_MAILBOX_ID_LEN) == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

/*
 * Claims the next mailbox load of k if one is due and the queue has room
 * (half of max_queue: a page is at most GW_MAILBOX_PAGE_BYTES more).  On
 * true a reference is held for load_run and *id says which mailbox.
 */
static bool
load_claim_locked(struct conn *k, uint8_t id[static ITK_MAILBOX_ID_LEN])
{
	ssize_t i = -1;

	if (k->closing || k->loading || k->qbytes > k->chat->o.max_queue / 2) {
		return false;
	}
	/* A load half done goes first: the cursor is its. */
	if (k->has_cursor &&
	    ((i = sub_find_locked(k, k->cursor_id)) < 0 || !k->pending[i])) {
		k->has_cursor = false;
		i = -1;
	}
	for (size_t j = 0; i < 0 && j < k->n_subs; j++) {
		if (k->pending[j]) {
			i = (ssize_t)j;
		}
	}
	if (i < 0) {
		return false;
	}
	memcpy(id, k->subs[i], ITK_MAILBOX_ID_LEN);
	k->loading = true;
	k->refs++;
	return true;
}

/*
 * Sends the stored replies of id, one page per round, while the queue has
 * room; the rest continues when sends complete (tx_cb).  After the last
 * page, a "subscribed" frame.  Replies pushed meanwhile by the hook may
 * come twice: clients keep them by reply_id.
 */
static void
load_run(struct conn *k, uint8_t id[static ITK_MAILBOX_ID_LEN])
{
	gw_chat *c = k->chat;
	uint8_t cursor[GW_CURSOR_LEN], next[GW_CURSOR_LEN];
	bool has_cursor, more = false, again = true, close_it = false;

	while (again) {
		struct collect cl = {.n = 0};
		itk_err r;
		ssize_t i;

		pthread_mutex_lock(&c->mtx);
		memcpy(cursor, k->cursor, sizeof(cursor));
		has_cursor = k->has_cursor &&
			     memcmp(k->cursor_id, id, ITK_MAILBOX_ID_LEN) == 0;
		pthread_mutex_unlock(&c->mtx);

		r = gw_spool_mailbox_read(c->o.spool, id,
					  has_cursor ? cursor : NULL,
					  collect_cb, &cl, next, &more);

		pthread_mutex_lock(&c->mtx);
		k->loading = false;
		i = sub_find_locked(k, id);
		if (r != ITK_OK || i < 0 || !k->pending[i]) {
			/* Unsubscribed meanwhile, or the read failed. */
			for (size_t j = 0; j < cl.n; j++) {
				nng_msg_free(cl.m[j]);
			}
			if (r != ITK_OK) {
				itk_log_error("chat.mailbox", "err=%s",
					      itk_errname(r));
				if (i >= 0) {
					k->pending[i] = false;
				}
			}
			k->has_cursor = false;
		} else {
			for (size_t j = 0; j < cl.n; j++) {
				enqueue_locked(k, cl.m[j], &close_it);
			}
			if (more) {
				memcpy(k->cursor, next, sizeof(next));
				memcpy(k->cursor_id, id, ITK_MAILBOX_ID_LEN);
				k->has_cursor = true;
			} else {
				nng_msg *m;
				k->pending[i] = false;
				k->has_cursor = false;
				if (frame_new(
					0,
					INTAKE__V1__CHAT_SERVER_FRAME__KIND_SUBSCRIBED,
					id, ITK_MAILBOX_ID_LEN, 0,
					&m) == ITK_OK) {
					enqueue_locked(k, m, &close_it);
				}
			}
		}
		/* Our reference goes to the next round, if any, or stays
		 * for the close below. */
		again = !close_it && load_claim_locked(k, id);
		if (again) {
			k->refs--; /* load_claim took a second one */
		} else if (!close_it) {
			unref_locked(k);
		}
		pthread_mutex_unlock(&c->mtx);
	}
	if (close_it) {
		nng_stream_close(k->s);
		pthread_mutex_lock(&c->mtx);
		unref_locked(k);
		pthread_mutex_unlock(&c->mtx);
	}
}

/* ---------------------------------------------------------- requests */

struct sctx {
	struct conn *k;
	itk_pb_chat_client *f; /* owns the submission bytes */
};

static void
submit_done(void *arg, const gw_answer *a)
{
	struct sctx *x = arg;
	struct conn *k = x->k;
	gw_chat *c = k->chat;
	nng_msg *m = NULL;
	bool close_it = false;
	itk_err r;

	if (a->code == ITK_OK) {
		r = frame_new(x->f->seq,
			      INTAKE__V1__CHAT_SERVER_FRAME__KIND_RECEIPT,
			      a->body, a->len, 0, &m);
	} else {
		r = error_frame(x->f->seq, a->code, a->message, a->retry_after,
				a->pow_difficulty, &m);
	}
	pthread_mutex_lock(&c->mtx);
	if (r == ITK_OK) {
		enqueue_locked(k, m, &close_it);
	}
	k->inflight--;
	if (close_it) {
		k->refs++; /* keep the stream until closed below */
	}
	unref_locked(k);
	pthread_mutex_unlock(&c->mtx);
	if (close_it) {
		nng_stream_close(k->s);
		pthread_mutex_lock(&c->mtx);
		unref_locked(k);
		pthread_mutex_unlock(&c->mtx);
	}
	itk_wire_free(x->f);
	free(x);
}

static void
do_submit(struct conn *k, itk_pb_chat_client *f)
{
	gw_chat *c = k->chat;
	struct sctx *x;

	pthread_mutex_lock(&c->mtx);
	if (k->inflight >= c->o.max_inflight) {
		pthread_mutex_unlock(&c->mtx);
		ev(EV_INFLIGHT);
		send_error(k, f->seq, ITK_E_BUSY,
			   "too many submissions in flight on this connection",
			   1);
		itk_wire_free(f);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		pthread_mutex_unlock(&c->mtx);
		send_error(k, f->seq, ITK_E_NOMEM, NULL, 1);
		itk_wire_free(f);
		return;
	}
	k->inflight++;
	k->refs++;
	pthread_mutex_unlock(&c->mtx);
	x->k = k;
	x->f = f; /* transferred */
	ev(EV_SUBMITS);
	/* The same path as POST /v1/submissions: every check, the group
	 * commit, the receipt. */
	gw_submit_handle(c->o.submit, f->submit.data, f->submit.len,
			 submit_done, x);
}

static void
do_subscribe(struct conn *k, uint32_t seq, const uint8_t *id)
{
	gw_chat *c = k->chat;
	uint8_t lid[ITK_MAILBOX_ID_LEN];
	ssize_t i;
	bool run;

	pthread_mutex_lock(&c->mtx);
	if ((i = sub_find_locked(k, id)) < 0) {
		if (k->n_subs == c->o.max_subs) {
			pthread_mutex_unlock(&c->mtx);
			ev(EV_SUBS);
			send_error(k, seq, ITK_E_RANGE,
				   "too many subscriptions on this connection",
				   0);
			return;
		}
		i = (ssize_t)k->n_subs++;
		memcpy(k->subs[i], id, ITK_MAILBOX_ID_LEN);
	}
	/* Subscribing again sends the stored replies again. */
	k->pending[i] = true;
	run = load_claim_locked(k, lid);
	pthread_mutex_unlock(&c->mtx);
	if (run) {
		load_run(k, lid);
	}
}

static void
do_unsubscribe(struct conn *k, const uint8_t *id)
{
	gw_chat *c = k->chat;
	ssize_t i;

	pthread_mutex_lock(&c->mtx);
	if ((i = sub_find_locked(k, id)) >= 0) {
		size_t last = k->n_subs - 1;
		memcpy(k->subs[i], k->subs[last], ITK_MAILBOX_ID_LEN);
		k->pending[i] = k->pending[last];
		k->n_subs--;
	}
	pthread_mutex_unlock(&c->mtx);
}

/* Token bucket: frames_per_s sustained, twice that in a burst. */
static bool
take_token(struct conn *k)
{
	gw_chat *c = k->chat;
	uint64_t now = gw_now_ms(), cap = 2u * c->o.frames_per_s * MILLI;
	bool ok;

	pthread_mutex_lock(&c->mtx);
	k->tokens += (now - k->refill_ms) * c->o.frames_per_s;
	if (k->tokens > cap) {
		k->tokens = cap;
	}
	k->refill_ms = now;
	if ((ok = k->tokens >= MILLI)) {
		k->tokens -= MILLI;
	}
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

static void
handle_frame(struct conn *k, const uint8_t *p, size_t len)
{
	itk_pb_chat_client *f = NULL;
	nng_msg *m;
	itk_err r;

	if (!take_token(k)) {
		ev(EV_RATE);
		send_error(k, 0, ITK_E_BUSY, "too many frames: slow down", 1);
		return;
	}
	if ((r = itk_wire_chat_client_decode(p, len, &f)) != ITK_OK) {
		ev(EV_BAD_FRAME);
		send_error(k, 0, r, NULL, 0);
		return;
	}
	switch (f->kind_case) {
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBMIT:
		do_submit(k, f);
		f = NULL; /* transferred */
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBSCRIBE:
		do_subscribe(k, f->seq, f->subscribe.data);
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_UNSUBSCRIBE:
		do_unsubscribe(k, f->unsubscribe.data);
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_PING:
		if (frame_new(f->seq, INTAKE__V1__CHAT_SERVER_FRAME__KIND_PONG,
			      NULL, 0, 0, &m) == ITK_OK) {
			enqueue(k, m);
		}
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND__NOT_SET:
	default:
		/* The decoder admits none of these. */
		send_error(k, f->seq, ITK_E_INTERNAL, NULL, 0);
		break;
	}
	itk_wire_free(f);
}

/* -------------------------------------------------------- callbacks */

static void
rx_cb(void *arg)
{
	struct conn *k = arg;
	gw_chat *c = k->chat;
	int rv = nng_aio_result(k->rx);
	nng_msg *m = NULL;
	bool rearm;

	if (rv == 0) {
		m = nng_aio_get_msg(k->rx);
		nng_aio_set_msg(k->rx, NULL);
	}
	if (rv != 0 || m == NULL) {
		if (rv == NNG_ETIMEDOUT) {
			ev(EV_IDLE);
		}
		conn_close(k);
		pthread_mutex_lock(&c->mtx);
		unref_locked(k);
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	ev(EV_FRAMES_IN);
	handle_frame(k, nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	pthread_mutex_lock(&c->mtx);
	if (!(rearm = !k->closing)) {
		unref_locked(k);
	}
	pthread_mutex_unlock(&c->mtx);
	if (rearm) {
		nng_stream_recv(k->s, k->rx);
	}
}

static void
tx_cb(void *arg)
{
	struct conn *k = arg;
	gw_chat *c = k->chat;
	int rv = nng_aio_result(k->tx);
	uint8_t id[ITK_MAILBOX_ID_LEN];
	bool load = false, doit = false;

	if (rv != 0) {
		nng_msg *m = nng_aio_get_msg(k->tx);
		if (m != NULL) {
			nng_aio_set_msg(k->tx, NULL);
			nng_msg_free(m);
		}
	} else {
		ev(EV_FRAMES_OUT);
	}
	pthread_mutex_lock(&c->mtx);
	k->sending = false;
	if (rv != 0) {
		doit = close_locked(k);
	} else {
		send_next_locked(k);
		load = load_claim_locked(k, id);
	}
	if (doit) {
		k->refs++; /* keep the stream until it is closed below */
	}
	unref_locked(k);
	pthread_mutex_unlock(&c->mtx);
	if (doit) {
		nng_stream_close(k->s);
		pthread_mutex_lock(&c->mtx);
		unref_locked(k);
		pthread_mutex_unlock(&c->mtx);
	}
	if (load) {
		load_run(k, id);
	}
}

static void
conn_free(struct conn *k)
{
	if (k->rx != NULL) {
		nng_aio_stop(k->rx);
	}
	if (k->tx != NULL) {
		nng_aio_stop(k->tx);
	}
	if (k->s != NULL) {
		nng_stream_free(k->s);
	}
	if (k->rx != NULL) {
		nng_aio_free(k->rx);
	}
	if (k->tx != NULL) {
		nng_aio_free(k->tx);
	}
	queue_drop_locked(k);
	free(k->subs);
	free(k->pending);
	free(k);
	atomic_fetch_sub_explicit(&m_open, 1, memory_order_relaxed);
}

static void
accept_cb(void *arg)
{
	gw_chat *c = arg;
	int rv = nng_aio_result(c->acc);
	nng_stream *s;
	struct conn *k = NULL;
	bool full;

	if (rv != 0) {
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			return;
		}
		itk_log_warn("chat.accept", "err=\"%s\"", nng_strerror(rv));
		goto rearm;
	}
	s = nng_aio_get_output(c->acc, 0);
	pthread_mutex_lock(&c->mtx);
	full = c->stopping || c->n_conns >= c->o.max_conns;
	pthread_mutex_unlock(&c->mtx);
	if (full) {
		ev(EV_REFUSED_CONNS);
		nng_stream_free(s);
		goto rearm;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->subs = calloc(c->o.max_subs, sizeof(*k->subs))) == NULL ||
	    (k->pending = calloc(c->o.max_subs, sizeof(*k->pending))) ==
		NULL ||
	    nng_aio_alloc(&k->rx, rx_cb, k) != 0 ||
	    nng_aio_alloc(&k->tx, tx_cb, k) != 0) {
		nng_stream_free(s);
		if (k != NULL) {
			k->s = NULL;
			atomic_fetch_add_explicit(&m_open, 1,
						  memory_order_relaxed);
			conn_free(k);
		}
		goto rearm;
	}
	k->chat = c;
	k->s = s;
	k->refill_ms = gw_now_ms();
	k->tokens = 2u * c->o.frames_per_s * MILLI;
	k->refs = 1; /* the receive armed below */
	nng_aio_set_timeout(k->rx, (nng_duration)c->o.idle_ms);
	atomic_fetch_add_explicit(&m_open, 1, memory_order_relaxed);
	ev(EV_ACCEPTED);
	pthread_mutex_lock(&c->mtx);
	list_push(&c->live, k);
	c->n_conns++;
	pthread_mutex_unlock(&c->mtx);
	nng_stream_recv(s, k->rx);
rearm:
	pthread_mutex_lock(&c->mtx);
	if (!c->stopping) {
		nng_stream_listener_accept(c->l, c->acc);
	}
	pthread_mutex_unlock(&c->mtx);
}

/* The spool's reply hook: push each new reply to its subscribers. */
static void
reply_hook(void *arg, const gw_spool_reply *r, size_t n)
{
	gw_chat *c = arg;
	struct conn *k, *nx;
	struct conn *to_close = NULL;

	pthread_mutex_lock(&c->mtx);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	for (k = c->live; k != NULL; k = nx) {
		bool close_it = false;

		nx = k->next;
		for (size_t i = 0; i < n && !k->closing; i++) {
			nng_msg *m;
			if (sub_find_locked(k, r[i].mailbox_id) < 0 ||
			    frame_new(
				0, INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY,
				r[i].reply, r[i].reply_len, 0, &m) != ITK_OK) {
				continue;
			}
			ev(EV_PUSHED);
			enqueue_locked(k, m, &close_it);
		}
		if (close_it && to_close == NULL) {
			/* One at a time is enough: the others close when
			 * their own sends fail or time out. */
			k->refs++;
			to_close = k;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	if (to_close != NULL) {
		nng_stream_close(to_close->s);
		pthread_mutex_lock(&c->mtx);
		unref_locked(to_close);
		pthread_mutex_unlock(&c->mtx);
	}
}

static void *
sweeper(void *arg)
{
	gw_chat *c = arg;

	pthread_mutex_lock(&c->mtx);
	for (;;) {
		struct conn *k = c->dead;
		if (k == NULL) {
			if (c->sweeper_stop) {
				break;
			}
			pthread_cond_wait(&c->cv, &c->mtx);
			continue;
		}
		list_remove(&c->dead, k);
		pthread_mutex_unlock(&c->mtx);
		conn_free(k);
		pthread_mutex_lock(&c->mtx);
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

/* ------------------------------------------------------------- setup */

static itk_err
set_tls(gw_chat *c)
{
	nng_tls_config *tls = NULL;
	char *cert = NULL, *key = NULL;
	int rv;
	itk_err r;

	if (c->o.tls_cert == NULL || c->o.tls_key == NULL) {
		itk_log_error("chat.tls", "err=\"wss:// needs tls_cert and "
					  "tls_key\"");
		return ITK_E_CONFIG;
	}
	if ((r = gw_pem_read(c->o.tls_cert, false, &cert)) != ITK_OK ||
	    (r = gw_pem_read(c->o.tls_key, true, &key)) != ITK_OK) {
		itk_log_error("chat.tls", "err=\"%s\"", itk_strerror(r));
		goto out;
	}
	r = ITK_E_CONFIG;
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0 ||
	    (rv = nng_tls_config_own_cert(tls, cert, key, NULL)) != 0 ||
	    (rv = nng_stream_listener_set_ptr(c->l, NNG_OPT_TLS_CONFIG,
					      tls)) != 0) {
		itk_log_error("chat.tls", "err=\"%s\"", nng_strerror(rv));
		goto out;
	}
	r = ITK_OK;
out:
	if (tls != NULL) {
		nng_tls_config_free(tls); /* the listener holds its own */
	}
	if (key != NULL) {
		sodium_memzero(key, strlen(key));
	}
	free(key);
	free(cert);
	return r;
}

itk_err
gw_chat_start(const gw_chat_opts *o, gw_chat **out)
{
	gw_chat *c;
	bool wss;
	int rv;
	itk_err r = ITK_E_NOMEM;

	wss = strncmp(o->listen, "wss://", 6) == 0;
	if ((!wss && strncmp(o->listen, "ws://", 5) != 0) ||
	    o->max_conns == 0 || o->max_subs == 0 || o->max_inflight == 0 ||
	    o->frames_per_s == 0 || o->max_frame == 0 ||
	    o->max_queue < 2u * ITK_CHAT_SERVER_MAX) {
		itk_log_error("chat.config", "err=\"want ws:// or wss://, "
					     "nonzero limits\"");
		return ITK_E_CONFIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return ITK_E_NOMEM;
	}
	c->o = *o;
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c);
		return ITK_E_NOMEM;
	}
	if (pthread_cond_init(&c->cv, NULL) != 0) {
		pthread_mutex_destroy(&c->mtx);
		free(c);
		return ITK_E_NOMEM;
	}
	if (pthread_create(&c->sweeper, NULL, sweeper, c) != 0) {
		goto fail;
	}
	c->sweeper_started = true;
	if (nng_aio_alloc(&c->acc, accept_cb, c) != 0) {
		goto fail;
	}
	r = ITK_E_CONFIG;
	if ((rv = nng_stream_listener_alloc(&c->l, o->listen)) != 0 ||
	    (rv = nng_stream_listener_set_bool(c->l, OPT_MSGMODE, true)) !=
		0 ||
	    (rv = nng_stream_listener_set_bool(c->l, NNG_OPT_WS_RECV_TEXT,
					       false)) != 0 ||
	    (rv = nng_stream_listener_set_bool(c->l, NNG_OPT_WS_SEND_TEXT,
					       false)) != 0 ||
	    (rv = nng_stream_listener_set_size(c->l, NNG_OPT_WS_RECVMAXFRAME,
					       o->max_frame)) != 0 ||
	    (rv = nng_stream_listener_set_size(c->l, NNG_OPT_RECVMAXSZ,
					       o->max_frame)) != 0) {
		itk_log_error("chat.listen", "url=%s err=\"%s\"", o->listen,
			      nng_strerror(rv));
		goto fail;
	}
	if (wss && (r = set_tls(c)) != ITK_OK) {
		goto fail;
	}
	if ((rv = nng_stream_listener_listen(c->l)) != 0) {
		itk_log_error("chat.listen", "url=%s err=\"%s\"", o->listen,
			      nng_strerror(rv));
		r = ITK_E_NET;
		goto fail;
	}
	gw_spool_set_reply_hook(o->spool, reply_hook, c);
	nng_stream_listener_accept(c->l, c->acc);
	itk_log_info("chat.listening", "url=%s", o->listen);
	*out = c;
	return ITK_OK;
fail:
	gw_chat_stop(c);
	gw_chat_free(c);
	return r;
}

void
gw_chat_stop(gw_chat *c)
{
	struct conn *k;

	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->mtx);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	c->stopping = true;
	pthread_mutex_unlock(&c->mtx);
	if (c->o.spool != NULL) {
		gw_spool_set_reply_hook(c->o.spool, NULL, NULL);
	}
	if (c->l != NULL) {
		nng_stream_listener_close(c->l);
	}
	if (c->acc != NULL) {
		nng_aio_stop(c->acc);
	}
	/* Close every connection; each leaves when its aios have. */
	pthread_mutex_lock(&c->mtx);
	for (;;) {
		for (k = c->live; k != NULL && k->closing; k = k->next) {
		}
		if (k == NULL) {
			break;
		}
		close_locked(k);
		k->refs++;
		pthread_mutex_unlock(&c->mtx);
		nng_stream_close(k->s);
		pthread_mutex_lock(&c->mtx);
		unref_locked(k);
	}
	pthread_mutex_unlock(&c->mtx);
}

void
gw_chat_free(gw_chat *c)
{
	if (c == NULL) {
		return;
	}
	gw_chat_stop(c);
	pthread_mutex_lock(&c->mtx);
	while (c->live != NULL || c->dead != NULL) {
		pthread_cond_wait(&c->cv, &c->mtx);
	}
	c->sweeper_stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	if (c->sweeper_started) {
		pthread_join(c->sweeper, NULL);
	}
	if (c->l != NULL) {
		nng_stream_listener_free(c->l);
	}
	if (c->acc != NULL) {
		nng_aio_free(c->acc);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

itk_err
gw_chat_metrics_render(itk_buf *out)
{
	itk_err r;

	if ((r = itk_buf_printf(
		 out,
		 "# HELP intake_gw_chat_connections Chat WebSockets open "
		 "now.\n"
		 "# TYPE intake_gw_chat_connections gauge\n"
		 "intake_gw_chat_connections %lld\n",
		 (long long)atomic_load_explicit(
		     &m_open, memory_order_relaxed))) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < EV_COUNT; i++) {
		if ((r = itk_buf_printf(
			 out, "# TYPE %s counter\n%s %llu\n", ev_names[i],
			 ev_names[i],
			 (unsigned long long)atomic_load_explicit(
			     &m_ev[i], memory_order_relaxed))) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}
