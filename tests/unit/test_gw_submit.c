/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/submit.c, receipt.c and metrics.c without HTTP: the check
 * order, group commit answers, duplicates inside one batch, shutdown, and
 * the metrics listener's loopback rule.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw.h"
#include "keys.h"

#define N_CONC 40

#include "gw_fixture.h"

static int
setup(void **state)
{
	(void)state;
	return gw_fixture_open("gwsub", ITK_SUBMISSION_MAX);
}

static int
teardown(void **state)
{
	(void)state;
	return gw_fixture_close();
}

/* An answer, captured from whichever thread gives it. */
struct ans {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	bool done;
	int calls;
	unsigned status;
	itk_err code;
	uint32_t retry_after;
	uint8_t body[ITK_RECEIPT_MAX];
	size_t len;
};

static void
ans_init(struct ans *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->mtx, NULL);
	pthread_cond_init(&a->cv, NULL);
}

static void
on_done(void *arg, const gw_answer *g)
{
	struct ans *a = arg;

	/* No cmocka assertion here: this may run on the committer thread.
	 * The test thread checks calls == 1. */
	pthread_mutex_lock(&a->mtx);
	a->calls++;
	a->status = g->status;
	a->code = g->code;
	a->retry_after = g->retry_after;
	if (g->code == ITK_OK && g->len <= sizeof(a->body)) {
		memcpy(a->body, g->body, g->len);
		a->len = g->len;
	}
	a->done = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mtx);
}

static void
ans_wait(struct ans *a)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	pthread_mutex_lock(&a->mtx);
	while (!a->done) {
		assert_int_equal(pthread_cond_timedwait(&a->cv, &a->mtx, &ts),
				 0);
	}
	pthread_mutex_unlock(&a->mtx);
	assert_int_equal(a->calls, 1);
}

static itk_buf *
make_body(uint32_t version, uint32_t key_id, unsigned seed)
{
	Intake__V1__Submission m = INTAKE__V1__SUBMISSION__INIT;
	itk_buf *sealed = itk_buf_new(4096), *b = itk_buf_new(8192);
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "message %u", seed);

	assert_int_equal(itk_seal(itk_key_public(ik), (const uint8_t *)msg,
				  (size_t)n, sealed),
			 ITK_OK);
	m.version = version;
	m.intake_key_id = key_id;
	m.sealed.data = itk_buf_mutable_ptr(sealed);
	m.sealed.len = itk_buf_len(sealed);
	assert_int_equal(itk_wire_pack(&m.base, b), ITK_OK);
	itk_buf_free(sealed);
	return b;
}

static void
run(const itk_buf *b, struct ans *a)
{
	ans_init(a);
	gw_submit_handle(sub, itk_buf_ptr(b), itk_buf_len(b), on_done, a);
	ans_wait(a);
}

static void
rejections_in_order(void **state)
{
	itk_buf *b;
	struct ans a;
	gw_spool_stats st;

	/* Version is checked before the key: both wrong gives version. */
	b = make_body(2, 12345, 1);
	run(b, &a);
	assert_int_equal(a.status, 400);
	assert_int_equal(a.code, ITK_E_VERSION);
	itk_buf_free(b);
	b = make_body(1, itk_key_id(ik) + 1, 2);
	run(b, &a);
	assert_int_equal(a.status, 422);
	assert_int_equal(a.code, ITK_E_KEY_UNKNOWN);
	itk_buf_free(b);
	/* Over max_body (checked before decoding). */
	{
		static uint8_t big[ITK_SUBMISSION_MAX + 1];
		ans_init(&a);
		gw_submit_handle(sub, big, sizeof(big), on_done, &a);
		ans_wait(&a);
		assert_int_equal(a.status, 413);
		assert_int_equal(a.code, ITK_E_TOO_BIG);
	}
	gw_spool_get_stats(spool, &st);
	assert_int_equal(st.pending, 0);
}

struct job {
	itk_buf *b;
	struct ans a;
};

static void *
submit_thread(void *arg)
{
	struct job *j = arg;
	gw_submit_handle(sub, itk_buf_ptr(j->b), itk_buf_len(j->b), on_done,
			 &j->a);
	return NULL;
}

static void
concurrent_group_commit_and_same_receipts(void **state)
{
	static struct job jobs[N_CONC];
	pthread_t th[N_CONC];
	gw_spool_stats st;

	/* Pairs of identical bodies at once: each pair gets one receipt,
	 * whichever of the two was committed first. */
	for (size_t i = 0; i < N_CONC; i++) {
		jobs[i].b = make_body(1, itk_key_id(ik), 1000 + (unsigned)i);
		ans_init(&jobs[i].a);
	}
	for (size_t i = 1; i < N_CONC; i += 2) {
		itk_buf_reset(jobs[i].b);
		assert_int_equal(itk_buf_put(jobs[i].b,
					     itk_buf_ptr(jobs[i - 1].b),
					     itk_buf_len(jobs[i - 1].b)),
				 ITK_OK);
	}
	for (size_t i = 0; i < N_CONC; i++) {
		assert_int_equal(
		    pthread_create(&th[i], NULL, submit_thread, &jobs[i]), 0);
	}
	for (size_t i = 0; i < N_CONC; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		ans_wait(&jobs[i].a);
		assert_int_equal(jobs[i].a.status, 200);
	}
	for (size_t i = 1; i < N_CONC; i += 2) {
		assert_int_equal(jobs[i].a.len, jobs[i - 1].a.len);
		assert_memory_equal(jobs[i].a.body, jobs[i - 1].a.body,
				    jobs[i].a.len);
	}
	/* Each receipt verifies and names its submission. */
	for (size_t i = 0; i < N_CONC; i++) {
		itk_pb_receipt *rc = NULL;
		itk_pb_receipt_body *rb = NULL;
		itk_pb_submission *s = NULL;
		uint8_t id[ITK_HASH_LEN];
		assert_int_equal(itk_wire_receipt_decode(jobs[i].a.body,
							 jobs[i].a.len, &rc),
				 ITK_OK);
		assert_int_equal(itk_verify(ITK_SIG_RECEIPT,
					    itk_key_public(rk), rc->body.data,
					    rc->body.len, rc->signature.data),
				 ITK_OK);
		assert_int_equal(itk_wire_receipt_body_decode(
				     rc->body.data, rc->body.len, &rb),
				 ITK_OK);
		assert_int_equal(
		    itk_wire_submission_decode(itk_buf_ptr(jobs[i].b),
					       itk_buf_len(jobs[i].b), &s),
		    ITK_OK);
		itk_sha256(id, s->sealed.data, s->sealed.len);
		assert_memory_equal(rb->submission_id.data, id, ITK_HASH_LEN);
		assert_int_equal(rb->accepted_at % 60, 0);
		assert_int_equal(rb->intake_key_id, itk_key_id(ik));
		assert_string_equal(rb->origin, "unit.test");
		itk_wire_free(s);
		itk_wire_free(rb);
		itk_wire_free(rc);
		itk_buf_free(jobs[i].b);
	}
	gw_spool_get_stats(spool, &st);
	assert_int_equal(st.pending, N_CONC / 2);
}

static void
closed_answers_shutting_down(void **state)
{
	itk_buf *b = make_body(1, itk_key_id(ik), 99);
	struct ans a;

	gw_submit_close(sub);
	run(b, &a);
	assert_int_equal(a.status, 503);
	assert_int_equal(a.code, ITK_E_BUSY);
	assert_true(a.retry_after > 0);
	itk_buf_free(b);
}

static void
receipt_key_must_match_bundle(void **state)
{
	char path[128];
	gw_receipt_key *k = NULL;
	uint8_t other[ITK_SIGN_PK_LEN];

	snprintf(path, sizeof(path), "%s/receipt.key", dir);
	memcpy(other, itk_key_public(rk), sizeof(other));
	other[0] ^= 1;
	assert_int_equal(gw_receipt_key_load(path, NULL, other, &k),
			 ITK_E_VERIFY);
	assert_null(k);
	/* An intake key file is not a receipt key. */
	snprintf(path, sizeof(path), "%s/intake.key", dir);
	assert_int_equal(itk_key_save(ik, path, NULL, NULL), ITK_OK);
	assert_int_equal(
	    gw_receipt_key_load(path, NULL, itk_key_public(ik), &k),
	    ITK_E_RANGE);
	snprintf(path, sizeof(path), "%s/absent.key", dir);
	assert_int_not_equal(
	    gw_receipt_key_load(path, NULL, itk_key_public(rk), &k), ITK_OK);
}

/* Renders the metrics and returns the value of the line named name. */
static long long
scrape(itk_buf *b, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	itk_buf_reset(b);
	assert_int_equal(gw_metrics_render(spool, b), ITK_OK);
	assert_int_equal(itk_buf_put_u8(b, 0), ITK_OK);
	for (p = (const char *)itk_buf_ptr(b); p != NULL;
	     p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			return strtoll(p + n + 1, NULL, 10);
		}
	}
	fail_msg("no metric %s", name);
	return -1;
}

static void
metrics_refuse_non_loopback_and_render(void **state)
{
	gw_metrics *m = NULL;
	itk_buf *b = itk_buf_new(256u * 1024u);

	assert_int_equal(gw_metrics_start("http://0.0.0.0:1", spool, &m),
			 ITK_E_CONFIG);
	assert_int_equal(gw_metrics_start("http://localhost:1", spool, &m),
			 ITK_E_CONFIG);
	assert_int_equal(gw_metrics_start("http://10.0.0.1:1", spool, &m),
			 ITK_E_CONFIG);
	assert_int_equal(gw_metrics_start("tcp://127.0.0.1:1", spool, &m),
			 ITK_E_CONFIG);
	assert_int_equal(gw_metrics_start("not a url", spool, &m),
			 ITK_E_CONFIG);
	assert_null(m);
	{
		long long r0 =
		    scrape(b, "intake_gw_rejections_total{reason=\"range\"}");
		long long s0 = scrape(b, "intake_gw_commit_batch_size_sum");
		long long c0 = scrape(b, "intake_gw_commit_batch_size_count");
		gw_metrics_reject(GW_REJ_RANGE);
		gw_metrics_batch(3);
		assert_int_equal(
		    scrape(b, "intake_gw_rejections_total{reason=\"range\"}"),
		    r0 + 1);
		assert_int_equal(scrape(b, "intake_gw_commit_batch_size_sum"),
				 s0 + 3);
		assert_int_equal(
		    scrape(b, "intake_gw_commit_batch_size_count"), c0 + 1);
		assert_int_equal(scrape(b, "intake_gw_spool_depth"), 0);
	}
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(rejections_in_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		concurrent_group_commit_and_same_receipts, setup, teardown),
	    cmocka_unit_test_setup_teardown(closed_answers_shutting_down,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(receipt_key_must_match_bundle,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		metrics_refuse_non_loopback_and_render, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
