/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "gw_pow.h"
#include "log.h"

/*
 * POST /v1/submissions: validate -> spool -> receipt.
 *
 * Checks run in a fixed order and the first failure answers (the order is
 * part of docs/http-api.md).  A new submission is queued for the
 * committer thread, which writes every waiting submission in one LMDB
 * transaction with one fsync (group commit) and only then answers them.
 */

#define BATCH_MAX   256u
#define BATCH_BYTES (8u * 1024u * 1024u)

#define RETRY_FULL     30u
#define RETRY_SHUTDOWN 10u

struct sreq {
	struct sreq *next;
	itk_pb_submission *sub; /* owns the sealed bytes */
	uint8_t id[ITK_HASH_LEN];
	uint32_t key_id;
	uint64_t accepted_at;
	uint8_t receipt[ITK_RECEIPT_MAX]; /* signed before queueing */
	size_t rlen;
	gw_done_fn done;
	void *arg;
};

struct gw_submit {
	gw_submit_opts o;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct sreq *head, *tail; /* guarded by mtx */
	size_t depth;             /* queued, guarded by mtx */
	bool stop;                /* guarded by mtx */
	atomic_bool closed;
	pthread_t thr;
	bool started;
};

unsigned
gw_status_of(itk_err code, gw_reject *why)
{
	switch (code) {
	case ITK_E_TOO_BIG:
		*why = GW_REJ_TOO_BIG;
		return 413;
	case ITK_E_FORMAT:
	case ITK_E_SHORT:
	case ITK_E_TRAILING:
		*why = GW_REJ_FORMAT;
		return 400;
	case ITK_E_VERSION:
		*why = GW_REJ_VERSION;
		return 400;
	case ITK_E_MISSING:
		*why = GW_REJ_MISSING;
		return 400;
	case ITK_E_RANGE:
		*why = GW_REJ_RANGE;
		return 400;
	case ITK_E_KEY_UNKNOWN:
		*why = GW_REJ_KEY_UNKNOWN;
		return 422;
	case ITK_E_KEY_EXPIRED:
		*why = GW_REJ_KEY_EXPIRED;
		return 410;
	case ITK_E_FULL:
		*why = GW_REJ_FULL;
		return 503;
	case ITK_E_BUSY:
		*why = GW_REJ_BUSY;
		return 503;
	case ITK_E_POW:
		*why = GW_REJ_POW;
		return 429;
	default:
		*why = GW_REJ_INTERNAL;
		return 500;
	}
}

static void
refuse(gw_done_fn done, void *arg, itk_err code, const char *msg,
       uint32_t retry_after, gw_reject why_override)
{
	gw_answer a = {0};
	gw_reject why;

	a.status = gw_status_of(code, &why);
	if (why_override != GW_REJ_COUNT) {
		why = why_override;
	}
	a.code = code;
	a.message = msg != NULL ? msg : itk_strerror(code);
	a.retry_after = retry_after;
	gw_metrics_reject(why);
	/* Debug only: every refusal is counted in the metrics, and a line
	 * per refusal at info would let a flood fill the log (and cost the
	 * front thread more than the refusal itself). */
	itk_log_debug("submit.rejected", "status=%u reason=%s", a.status,
		      itk_errname(code));
	done(arg, &a);
}

/* A proof-of-work refusal: 429 (solve one) or 403 (this one is bad). */
static void
refuse_pow(gw_done_fn done, void *arg, gw_pow_verdict v, unsigned need)
{
	gw_answer a = {0};

	a.status = gw_pow_status(v);
	a.code = ITK_E_POW;
	a.message = gw_pow_message(v);
	a.pow_difficulty = need;
	a.retry_after = v == GW_POW_FULL ? 1u : 0u;
	gw_metrics_reject(GW_REJ_POW);
	itk_log_debug("submit.rejected",
		      "status=%u reason=pow verdict=%d need=%u", a.status,
		      (int)v, need);
	done(arg, &a);
}

static void
accept_with(gw_done_fn done, void *arg, const uint8_t *receipt, size_t len)
{
	gw_answer a = {0};

	a.status = 200;
	a.code = ITK_OK;
	a.body = receipt;
	a.len = len;
	done(arg, &a);
}

static uint64_t
now_s(void)
{
	return (uint64_t)time(NULL);
}

/* Key id and window check: unknown is 422, outside its window is 410. */
static itk_err
check_key(const gw_submit *s, uint32_t key_id, uint64_t now)
{
	for (size_t i = 0; i < s->o.n_keys; i++) {
		const gw_intake_key *k = &s->o.keys[i];
		if (k->key_id != key_id) {
			continue;
		}
		if (now + s->o.clock_skew < k->not_before ||
		    now > k->not_after + s->o.clock_skew) {
			return ITK_E_KEY_EXPIRED;
		}
		return ITK_OK;
	}
	return ITK_E_KEY_UNKNOWN;
}

void
gw_submit_handle(gw_submit *s, const uint8_t *body, size_t len,
		 gw_done_fn done, void *arg)
{
	itk_pb_submission *sub = NULL;
	struct sreq *q = NULL;
	uint8_t id[ITK_HASH_LEN];
	uint8_t receipt[ITK_RECEIPT_MAX];
	uint64_t at, now;
	uint32_t kid;
	size_t rlen;
	itk_err r;

	if (atomic_load(&s->closed)) {
		refuse(done, arg, ITK_E_BUSY, "the gateway is shutting down",
		       RETRY_SHUTDOWN, GW_REJ_SHUTDOWN);
		goto out;
	}
	if (len > s->o.max_body) {
		refuse(done, arg, ITK_E_TOO_BIG, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	/* too big, format, version, missing, range: in the decoder. */
	if ((r = itk_wire_submission_decode(body, len, &sub)) != ITK_OK) {
		refuse(done, arg, r, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	now = now_s();
	if ((r = check_key(s, sub->intake_key_id, now)) != ITK_OK) {
		refuse(done, arg, r, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	itk_sha256(id, sub->sealed.data, sub->sealed.len);

	/* Seen before (spooled or delivered): the same receipt again. */
	r = gw_spool_lookup(s->o.spool, id, &at, &kid);
	if (r == ITK_OK) {
		if ((r = gw_receipt_sign(s->o.receipt_key, s->o.origin, id, at,
					 kid, receipt, sizeof(receipt),
					 &rlen)) != ITK_OK) {
			refuse(done, arg, r, NULL, 0, GW_REJ_COUNT);
			goto out;
		}
		itk_log_debug("submit.duplicate", "answer=same_receipt");
		accept_with(done, arg, receipt, rlen);
		goto out;
	}
	if (r != ITK_E_NOT_FOUND) {
		refuse(done, arg, ITK_E_DB, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	/* Proof of work after the duplicate check: a resent submission
	 * (lost answer) gets its receipt without solving again. */
	if (s->o.pow != NULL) {
		const Intake__V1__ProofOfWork *pw = sub->pow;
		unsigned need = 0;
		gw_pow_verdict v = gw_pow_check(
		    s->o.pow, pw != NULL ? pw->challenge.data : NULL,
		    pw != NULL ? pw->challenge.len : 0,
		    pw != NULL ? pw->solution.data : NULL,
		    pw != NULL ? pw->solution.len : 0, id, now, gw_now_ms(),
		    &need);
		gw_metrics_pow(need, gw_pow_issued(s->o.pow));
		if (v != GW_POW_OK) {
			refuse_pow(done, arg, v, need);
			goto out;
		}
	}
	if (gw_spool_would_overflow(s->o.spool, sub->sealed.len)) {
		refuse(done, arg, ITK_E_FULL, NULL, RETRY_FULL, GW_REJ_COUNT);
		goto out;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		refuse(done, arg, ITK_E_NOMEM, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	q->sub = sub;
	sub = NULL; /* transferred */
	memcpy(q->id, id, sizeof(id));
	q->key_id = q->sub->intake_key_id;
	q->accepted_at = now - now % s->o.granularity;
	q->done = done;
	q->arg = arg;
	/* Signed here, on the request's own thread, so that the committer
	 * only writes; it re-signs only for a duplicate. */
	if ((r = gw_receipt_sign(s->o.receipt_key, s->o.origin, q->id,
				 q->accepted_at, q->key_id, q->receipt,
				 sizeof(q->receipt), &q->rlen)) != ITK_OK) {
		refuse(done, arg, r, NULL, 0, GW_REJ_COUNT);
		goto out;
	}
	pthread_mutex_lock(&s->mtx);
	if (s->stop) {
		pthread_mutex_unlock(&s->mtx);
		refuse(done, arg, ITK_E_BUSY, "the gateway is shutting down",
		       RETRY_SHUTDOWN, GW_REJ_SHUTDOWN);
		goto out;
	}
	if (s->tail != NULL) {
		s->tail->next = q;
	} else {
		s->head = q;
	}
	s->tail = q;
	q = NULL; /* queued */
	/* A commit queue deeper than one batch: fsync is not keeping up. */
	s->depth++;
	gw_pow_set_load(s->o.pow, GW_LOAD_QUEUE, s->depth, BATCH_MAX);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mtx);
out:
	if (q != NULL) {
		itk_wire_free(q->sub);
		free(q);
	}
	itk_wire_free(sub);
}

/* Answers one request of a committed batch. */
static void
complete(gw_submit *s, struct sreq *q, const gw_spool_item *it, itk_err txn)
{
	itk_err r = txn != ITK_OK ? txn : it->result;

	switch (r) {
	case ITK_OK:
		accept_with(q->done, q->arg, q->receipt, q->rlen);
		break;
	case ITK_E_DUPLICATE:
		/* Keep the original accepted_at: re-sign if it differs. */
		if ((it->accepted_at != q->accepted_at ||
		     it->key_id != q->key_id) &&
		    gw_receipt_sign(s->o.receipt_key, s->o.origin, q->id,
				    it->accepted_at, it->key_id, q->receipt,
				    sizeof(q->receipt), &q->rlen) != ITK_OK) {
			refuse(q->done, q->arg, ITK_E_INTERNAL, NULL, 0,
			       GW_REJ_COUNT);
			break;
		}
		accept_with(q->done, q->arg, q->receipt, q->rlen);
		break;
	case ITK_E_FULL:
		refuse(q->done, q->arg, ITK_E_FULL, NULL, RETRY_FULL,
		       GW_REJ_COUNT);
		break;
	default:
		refuse(q->done, q->arg, ITK_E_INTERNAL,
		       "the spool could not store the submission", 0,
		       GW_REJ_COUNT);
		break;
	}
}

static void *
committer(void *arg)
{
	gw_submit *s = arg;
	gw_spool_item items[BATCH_MAX];
	struct sreq *batch[BATCH_MAX];

	for (;;) {
		size_t n = 0, bytes = 0;
		itk_err r;

		pthread_mutex_lock(&s->mtx);
		while (s->head == NULL && !s->stop) {
			pthread_cond_wait(&s->cv, &s->mtx);
		}
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->mtx);
			break; /* stopping, and everything answered */
		}
		while (s->head != NULL && n < BATCH_MAX &&
		       (n == 0 ||
			bytes + s->head->sub->sealed.len <= BATCH_BYTES)) {
			struct sreq *q = s->head;
			s->head = q->next;
			if (s->head == NULL) {
				s->tail = NULL;
			}
			bytes += q->sub->sealed.len;
			batch[n++] = q;
		}
		s->depth -= n;
		gw_pow_set_load(s->o.pow, GW_LOAD_QUEUE, s->depth, BATCH_MAX);
		pthread_mutex_unlock(&s->mtx);

		for (size_t i = 0; i < n; i++) {
			gw_spool_item *it = &items[i];
			it->id = batch[i]->id;
			it->sealed = batch[i]->sub->sealed.data;
			it->len = batch[i]->sub->sealed.len;
			it->key_id = batch[i]->key_id;
			it->accepted_at = batch[i]->accepted_at;
			it->result = ITK_E_INTERNAL;
		}
		r = gw_spool_append(s->o.spool, items, n);
		gw_metrics_batch(n);
		if (r != ITK_OK) {
			itk_log_error("submit.commit", "n=%zu err=%s", n,
				      itk_errname(r));
		}
		for (size_t i = 0; i < n; i++) {
			complete(s, batch[i], &items[i], r);
			itk_wire_free(batch[i]->sub);
			free(batch[i]);
		}
	}
	return NULL;
}

itk_err
gw_submit_new(const gw_submit_opts *o, gw_submit **out)
{
	gw_submit *s;

	if (o->granularity == 0) {
		return ITK_E_CONFIG;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ITK_E_NOMEM;
	}
	s->o = *o;
	atomic_init(&s->closed, false);
	if (pthread_mutex_init(&s->mtx, NULL) != 0) {
		free(s);
		return ITK_E_NOMEM;
	}
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mtx);
		free(s);
		return ITK_E_NOMEM;
	}
	if (pthread_create(&s->thr, NULL, committer, s) != 0) {
		gw_submit_free(s);
		return ITK_E_NOMEM;
	}
	s->started = true;
	*out = s;
	return ITK_OK;
}

void
gw_submit_close(gw_submit *s)
{
	if (s != NULL) {
		atomic_store(&s->closed, true);
	}
}

void
gw_submit_free(gw_submit *s)
{
	if (s == NULL) {
		return;
	}
	gw_submit_close(s);
	pthread_mutex_lock(&s->mtx);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	if (s->started) {
		pthread_join(s->thr, NULL);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}
