/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "file.h"
#include "vault.h"
#include "vault_impl.h"

/* Each test gets its own directory; the vault lives in dir/v. */
#define VAULT_FIXTURE_NAME "vault"
#include "vault_fixture.h"

static void
tmsg_thread(tmsg *t, const uint8_t case_id[VAULT_ID_LEN])
{
	memcpy(t->thread, case_id, VAULT_ID_LEN);
	t->m.thread_id = t->thread;
}

static itk_err
commit1(vault *v, const tmsg *t, vault_result *res)
{
	return vault_commit(v, &t->m, 1, NULL, 0, res);
}

typedef struct {
	uint8_t sealed[64];
	vault_quarantine_item q;
} tquar;

static void
tquar_init(tquar *t, int seed, itk_err reason)
{
	memset(t, 0, sizeof(*t));
	snprintf((char *)t->sealed, sizeof(t->sealed), "garbage %d", seed);
	t->q.sealed = t->sealed;
	t->q.sealed_len = sizeof(t->sealed);
	itk_sha256(t->q.submission_id, t->sealed, sizeof(t->sealed));
	t->q.intake_key_id = 9;
	t->q.accepted_at = 1000 + (uint64_t)seed;
	t->q.reason = reason;
}

struct count {
	size_t n;
	uint64_t sealed_sum;
	const uint8_t *want_id; /* if set: check that message's fields */
	bool saw_want;
};

static itk_err
count_msg(const vault_message_view *m, void *arg)
{
	struct count *c = arg;

	c->n++;
	for (size_t i = 0; i < m->sealed_len; i++) {
		c->sealed_sum += m->sealed[i];
	}
	if (c->want_id != NULL &&
	    memcmp(m->submission_id, c->want_id, VAULT_ID_LEN) == 0) {
		c->saw_want = true;
	}
	return ITK_OK;
}

static itk_err
count_quar(const vault_quarantine_view *q, void *arg)
{
	struct count *c = arg;

	c->n++;
	c->sealed_sum += (uint64_t)q->reason;
	return ITK_OK;
}

static itk_err
stop_early(const vault_message_view *m, void *arg)
{
	(*(size_t *)arg)++;
	return ITK_E_BUSY;
}

static void
commit_contains_stats_foreach(void **state)
{
	tmsg a, b, c;
	tquar q;
	vault_message ms[3];
	vault_result res[4];
	vault_stats st;
	struct count cnt = {0};
	uint8_t other[VAULT_ID_LEN] = {1};
	bool present;
	size_t stops = 0;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_SURRENDER, ITK_URGENCY_CRITICAL, 1, 100);
	tmsg_init(&b, 2, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, 2, 101);
	tmsg_init(&c, 3, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, -1, 102);
	tquar_init(&q, 1, ITK_E_DECRYPT);
	ms[0] = a.m;
	ms[1] = b.m;
	ms[2] = c.m;
	assert_int_equal(vault_commit(v, ms, 3, &q.q, 1, res), ITK_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(res[i].outcome, VAULT_STORED_NEW_CASE);
		assert_memory_equal(res[i].case_id, ms[i].submission_id,
				    VAULT_ID_LEN);
	}
	assert_int_equal(res[3].outcome, VAULT_STORED_QUARANTINED);

	assert_int_equal(vault_contains(v, a.m.submission_id, &present),
			 ITK_OK);
	assert_true(present);
	assert_int_equal(vault_contains(v, q.q.submission_id, &present),
			 ITK_OK);
	assert_true(present);
	assert_int_equal(vault_contains(v, other, &present), ITK_OK);
	assert_false(present);

	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.cases, 3);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_SURRENDER], 1);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CAPTIVITY], 0);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CASUALTY], 1);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_OTHER], 1);

	cnt.want_id = b.m.submission_id;
	assert_int_equal(vault_foreach_message(v, count_msg, &cnt), ITK_OK);
	assert_int_equal(cnt.n, 3);
	assert_true(cnt.saw_want);
	{
		/* The sealed bytes come back exactly. */
		uint64_t want = 0;
		for (size_t i = 0; i < sizeof(a.sealed); i++) {
			want += a.sealed[i] + b.sealed[i] + c.sealed[i];
		}
		assert_int_equal(cnt.sealed_sum, want);
	}
	memset(&cnt, 0, sizeof(cnt));
	assert_int_equal(vault_foreach_quarantined(v, count_quar, &cnt),
			 ITK_OK);
	assert_int_equal(cnt.n, 1);
	assert_int_equal(cnt.sealed_sum, ITK_E_DECRYPT);
	/* The callback's error stops the walk and comes back. */
	assert_int_equal(vault_foreach_message(v, stop_early, &stops),
			 ITK_E_BUSY);
	assert_int_equal(stops, 1);
	vault_free(v);
}

static void
view_fields_round_trip(void **state)
{
	tmsg a;
	vault_case_view cv;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_HIGH, 1, 4242);
	a.m.language = ITK_LANG_RU;
	a.m.channel = 3;
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_memory_equal(cv.case_id, a.m.submission_id, VAULT_ID_LEN);
	assert_int_equal(cv.queue, ITK_QUEUE_CAPTIVITY);
	assert_int_equal(cv.urgency, ITK_URGENCY_HIGH);
	assert_int_equal(cv.language, ITK_LANG_RU);
	assert_int_equal(cv.created, 4242);
	assert_int_equal(cv.updated, 4242);
	assert_int_equal(cv.message_count, 1);
	assert_true(cv.open);
	assert_true(cv.has_contact);
	vault_free(v);
}

static void
idempotent_within_batch(void **state)
{
	tmsg a;
	tquar q;
	vault_message ms[3];
	vault_quarantine_item qs[2];
	vault_result res[5];
	vault_stats st;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	tquar_init(&q, 1, ITK_E_FORMAT);
	ms[0] = ms[1] = ms[2] = a.m;
	qs[0] = qs[1] = q.q;
	assert_int_equal(vault_commit(v, ms, 3, qs, 2, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_NEW_CASE);
	assert_int_equal(res[1].outcome, VAULT_STORED_DUPLICATE);
	assert_int_equal(res[2].outcome, VAULT_STORED_DUPLICATE);
	assert_memory_equal(res[1].case_id, a.m.submission_id, VAULT_ID_LEN);
	assert_int_equal(res[3].outcome, VAULT_STORED_QUARANTINED);
	assert_int_equal(res[4].outcome, VAULT_STORED_DUPLICATE);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.cases, 1);
	assert_int_equal(st.quarantined, 1);
	vault_free(v);
}

static void
idempotent_across_batches_and_reopen(void **state)
{
	tmsg a, b;
	tquar q;
	vault_result res[2];
	vault_stats st;
	vault_case_view cv;
	vault_quarantine_item as_quar;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	tmsg_init(&b, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 101);
	tquar_init(&q, 1, ITK_E_DECRYPT);
	assert_int_equal(commit1(v, &a, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_NEW_CASE);
	assert_int_equal(vault_commit(v, NULL, 0, &q.q, 1, res), ITK_OK);
	assert_int_equal(commit1(v, &a, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_DUPLICATE);
	vault_free(v);

	v = open_vault(0);
	/* After reopening: a duplicate next to a new follow-up. */
	{
		vault_message ms[2] = {a.m, b.m};
		assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_OK);
	}
	assert_int_equal(res[0].outcome, VAULT_STORED_DUPLICATE);
	assert_int_equal(res[1].outcome, VAULT_STORED_FOLLOW_UP);
	/* The same id as quarantine, and a quarantined id as message. */
	as_quar = q.q;
	memcpy(as_quar.submission_id, a.m.submission_id, VAULT_ID_LEN);
	as_quar.sealed = a.m.sealed;
	as_quar.sealed_len = a.m.sealed_len;
	assert_int_equal(vault_commit(v, NULL, 0, &as_quar, 1, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_DUPLICATE);
	assert_int_equal(vault_commit(v, NULL, 0, &q.q, 1, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_DUPLICATE);
	assert_memory_equal(res[0].case_id, (uint8_t[VAULT_ID_LEN]){0},
			    VAULT_ID_LEN);
	vault_free(v);

	v = open_vault(0);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.cases, 1);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.message_count, 2);
	vault_free(v);
}

static void
follow_up_by_mailbox(void **state)
{
	tmsg a, b, c;
	vault_result res;
	vault_case_view cv;
	vault_stats st;
	uint8_t pk[32], mbx[32];
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, 7, 100);
	tmsg_init(&b, 2, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, 7, 200);
	tmsg_init(&c, 3, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, 8, 300);
	assert_int_equal(commit1(v, &a, &res), ITK_OK);
	assert_int_equal(commit1(v, &b, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_memory_equal(res.case_id, a.m.submission_id, VAULT_ID_LEN);
	assert_int_equal(commit1(v, &c, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_NEW_CASE);
	assert_memory_equal(res.case_id, c.m.submission_id, VAULT_ID_LEN);

	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.message_count, 2);
	assert_int_equal(cv.created, 100);
	assert_int_equal(cv.updated, 200);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.cases, 2);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CAPTIVITY], 2);

	/* The contact data comes back from its encryption. */
	assert_int_equal(vault_case_contact(v, a.m.submission_id, pk, mbx),
			 ITK_OK);
	assert_memory_equal(pk, a.reply_pk, 32);
	assert_memory_equal(mbx, a.mailbox, 32);
	assert_int_equal(vault_case_contact(v, b.m.submission_id, pk, mbx),
			 ITK_E_NOT_FOUND);
	vault_free(v);
}

static void
follow_up_by_thread_id(void **state)
{
	tmsg hot, f1, web, stranger, lost;
	vault_result res;
	vault_case_view cv;
	uint8_t pk[32], mbx[32];
	vault *v = open_vault(0);

	/* A case entered from the hotline: no contact data. */
	tmsg_init(&hot, 1, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, -1, 100);
	assert_int_equal(commit1(v, &hot, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_NEW_CASE);
	/* A follow-up naming it by thread id, without contact: joins. */
	tmsg_init(&f1, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, -1, 110);
	tmsg_thread(&f1, hot.m.submission_id);
	assert_int_equal(commit1(v, &f1, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_memory_equal(res.case_id, hot.m.submission_id, VAULT_ID_LEN);
	/* The person writes from the web, quoting the case: joins, and the
	 * case takes this contact. */
	tmsg_init(&web, 3, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 5, 120);
	tmsg_thread(&web, hot.m.submission_id);
	assert_int_equal(commit1(v, &web, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_int_equal(vault_case_contact(v, hot.m.submission_id, pk, mbx),
			 ITK_OK);
	assert_memory_equal(mbx, web.mailbox, 32);
	/* Someone else quotes the case id from another mailbox: refused as
	 * a thread link, so it opens its own case. */
	tmsg_init(&stranger, 4, ITK_QUEUE_SURRENDER, ITK_URGENCY_CRITICAL, 6,
		  130);
	tmsg_thread(&stranger, hot.m.submission_id);
	assert_int_equal(commit1(v, &stranger, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_NEW_CASE);
	assert_int_equal(vault_get_case(v, hot.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.message_count, 3);
	assert_int_equal(cv.queue, ITK_QUEUE_CASUALTY);
	/* An unknown thread id falls back to the mailbox index. */
	tmsg_init(&lost, 5, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 5, 140);
	memset(lost.thread, 0xee, sizeof(lost.thread));
	lost.m.thread_id = lost.thread;
	assert_int_equal(commit1(v, &lost, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_memory_equal(res.case_id, hot.m.submission_id, VAULT_ID_LEN);
	vault_free(v);
}

static void
queue_and_urgency_promotion(void **state)
{
	tmsg a, b, c, d, e;
	vault_case_view cv;
	vault_stats st;
	vault_result res;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	/* Says more: a casualty inquiry. */
	tmsg_init(&b, 2, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, 1, 110);
	assert_int_equal(commit1(v, &b, NULL), ITK_OK);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_CASUALTY);
	assert_int_equal(cv.urgency, ITK_URGENCY_NORMAL);
	/* Then an offer to surrender, urgent. */
	tmsg_init(&c, 3, ITK_QUEUE_SURRENDER, ITK_URGENCY_CRITICAL, 1, 120);
	assert_int_equal(commit1(v, &c, NULL), ITK_OK);
	/* A captivity question and an "other" later never demote it. */
	tmsg_init(&d, 4, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_HIGH, 1, 130);
	tmsg_init(&e, 5, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 140);
	assert_int_equal(commit1(v, &d, NULL), ITK_OK);
	assert_int_equal(commit1(v, &e, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_SURRENDER);
	assert_int_equal(cv.urgency, ITK_URGENCY_CRITICAL);
	assert_int_equal(cv.message_count, 5);
	assert_int_equal(cv.updated, 140);
	/* The case moved between queues, not copied. */
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_SURRENDER], 1);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CASUALTY], 0);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_OTHER], 0);
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_OTHER, &cv),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_SURRENDER, &cv),
			 ITK_OK);
	assert_memory_equal(cv.case_id, a.m.submission_id, VAULT_ID_LEN);
	vault_free(v);
}

static void
queue_next_is_most_urgent_then_oldest(void **state)
{
	/* In the captivity queue: (urgency, created) pairs, committed out of
	 * order; the expected order is by urgency, then created. */
	static const struct {
		itk_urgency u;
		uint64_t at;
	} in[] = {
	    {ITK_URGENCY_NORMAL, 50}, {ITK_URGENCY_HIGH, 300},
	    {ITK_URGENCY_LOW, 10},    {ITK_URGENCY_HIGH, 200},
	    {ITK_URGENCY_NORMAL, 40},
	};
	static const size_t want[] = {3, 1, 4, 0, 2};
	tmsg t[5], other;
	vault_case_view cv;
	vault *v = open_vault(0);

	for (size_t i = 0; i < 5; i++) {
		tmsg_init(&t[i], (int)i, ITK_QUEUE_CAPTIVITY, in[i].u, (int)i,
			  in[i].at);
		assert_int_equal(commit1(v, &t[i], NULL), ITK_OK);
	}
	tmsg_init(&other, 99, ITK_QUEUE_SURRENDER, ITK_URGENCY_LOW, 99, 999);
	assert_int_equal(commit1(v, &other, NULL), ITK_OK);
	/* Any queue: surrender comes first whatever its urgency. */
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_COUNT, &cv), ITK_OK);
	assert_memory_equal(cv.case_id, other.m.submission_id, VAULT_ID_LEN);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(vault_queue_next(v, ITK_QUEUE_CAPTIVITY, &cv),
				 ITK_OK);
		assert_memory_equal(cv.case_id, t[want[i]].m.submission_id,
				    VAULT_ID_LEN);
		assert_int_equal(vault_case_close(v, cv.case_id), ITK_OK);
	}
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_CAPTIVITY, &cv),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_queue_next(v, (itk_queue)7, &cv), ITK_E_RANGE);
	vault_free(v);
}

static void
close_and_reopen_by_follow_up(void **state)
{
	tmsg a, b;
	vault_case_view cv;
	vault_stats st;
	vault_result res;
	uint8_t none[VAULT_ID_LEN] = {0};
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, 1, 100);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	assert_int_equal(vault_case_close(v, a.m.submission_id), ITK_OK);
	assert_int_equal(vault_case_close(v, a.m.submission_id), ITK_OK);
	assert_int_equal(vault_case_close(v, none), ITK_E_NOT_FOUND);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_false(cv.open);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CASUALTY], 0);
	assert_int_equal(st.cases, 1);
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_COUNT, &cv),
			 ITK_E_NOT_FOUND);
	tmsg_init(&b, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 200);
	assert_int_equal(commit1(v, &b, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_FOLLOW_UP);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_true(cv.open);
	assert_int_equal(cv.queue, ITK_QUEUE_CASUALTY);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.open_by_queue[ITK_QUEUE_CASUALTY], 1);
	vault_free(v);
}

static void
quarantine_keeps_reason_and_bytes(void **state)
{
	tquar q1, q2;
	vault_quarantine_item qs[2];
	vault_result res[2];
	struct count cnt = {0};
	vault_stats st;
	vault *v = open_vault(0);

	tquar_init(&q1, 1, ITK_E_DECRYPT);
	tquar_init(&q2, 2, ITK_E_KEY_UNKNOWN);
	qs[0] = q1.q;
	qs[1] = q2.q;
	assert_int_equal(vault_commit(v, NULL, 0, qs, 2, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_QUARANTINED);
	assert_int_equal(res[1].outcome, VAULT_STORED_QUARANTINED);
	assert_int_equal(vault_foreach_quarantined(v, count_quar, &cnt),
			 ITK_OK);
	assert_int_equal(cnt.n, 2);
	assert_int_equal(cnt.sealed_sum, ITK_E_DECRYPT + ITK_E_KEY_UNKNOWN);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.quarantined, 2);
	assert_int_equal(st.cases, 0);
	assert_int_equal(st.messages, 0);
	/* A quarantine item must say why. */
	q1.q.reason = ITK_OK;
	assert_int_equal(vault_commit(v, NULL, 0, &q1.q, 1, res), ITK_E_RANGE);
	vault_free(v);
}

static void
bad_batches_write_nothing(void **state)
{
	tmsg good, bad;
	tquar q;
	vault_message ms[2];
	vault_result res[2];
	vault_stats st;
	bool present;
	static uint8_t big[VAULT_SEALED_MAX + 1];
	vault *v = open_vault(0);

	tmsg_init(&good, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	/* Label out of range. */
	tmsg_init(&bad, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	bad.m.queue = ITK_QUEUE_COUNT;
	ms[0] = good.m;
	ms[1] = bad.m;
	memset(res, 0xff, sizeof(res));
	assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_E_RANGE);
	assert_int_equal(res[0].outcome, 0); /* zeroed on failure */
	bad.m.queue = ITK_QUEUE_OTHER;
	bad.m.language = (itk_lang)200;
	ms[1] = bad.m;
	assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_E_RANGE);
	/* An id that is not the hash of the sealed bytes. */
	tmsg_init(&bad, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	bad.m.submission_id[0] ^= 1;
	ms[1] = bad.m;
	assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_E_INTERNAL);
	/* A mailbox without a reply key. */
	tmsg_init(&bad, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	bad.m.reply_pk = NULL;
	ms[1] = bad.m;
	assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_E_MISSING);
	/* Too big. */
	tmsg_init(&bad, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	bad.m.sealed = big;
	bad.m.sealed_len = sizeof(big);
	itk_sha256(bad.m.submission_id, big, sizeof(big));
	ms[1] = bad.m;
	assert_int_equal(vault_commit(v, ms, 2, NULL, 0, res), ITK_E_TOO_BIG);
	/* A bad quarantine item spoils the batch too. */
	tquar_init(&q, 1, ITK_E_DECRYPT);
	q.q.sealed_len--;
	assert_int_equal(vault_commit(v, ms, 1, &q.q, 1, res), ITK_E_INTERNAL);
	assert_int_equal(vault_commit(v, NULL, 1, NULL, 0, res),
			 ITK_E_MISSING);

	assert_int_equal(vault_contains(v, good.m.submission_id, &present),
			 ITK_OK);
	assert_false(present);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages + st.cases + st.quarantined, 0);
	vault_free(v);
}

static void
open_errors(void **state)
{
	vault_options o = {.dir = vdir};
	uint8_t other[VAULT_KEY_LEN];
	vault *v = NULL;

	/* Writing needs the vault key. */
	assert_int_equal(vault_open(&o, NULL, &v), ITK_E_CONFIG);
	assert_null(v);
	/* Read-only does not create. */
	o.read_only = true;
	assert_int_equal(vault_open(&o, NULL, &v), ITK_E_NOT_FOUND);
	assert_null(v);
	o.read_only = false;
	v = open_vault(0);
	vault_free(v);
	/* The vault remembers its key. */
	memset(other, 0x33, sizeof(other));
	assert_int_equal(vault_open(&o, other, &v), ITK_E_DECRYPT);
	assert_null(v);
	o.read_only = true;
	assert_int_equal(vault_open(&o, other, &v), ITK_E_DECRYPT);
	assert_null(v);
	o.dir = "";
	assert_int_equal(vault_open(&o, NULL, &v), ITK_E_CONFIG);
}

/* ---- Raw LMDB access, to damage records as a disk or an attacker
 * would. ---- */

static void
raw_put(const char *db, const void *k, size_t kl, const void *val, size_t vl)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_val mk = {kl, (void *)(uintptr_t)k},
		mv = {vl, (void *)(uintptr_t)val};

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, vdir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
	assert_int_equal(mdb_put(t, dbi, &mk, &mv, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
}

/* Copies the value under k into out (at most cap bytes); returns length. */
static size_t
raw_get(const char *db, const void *k, size_t kl, uint8_t *out, size_t cap)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_val mk = {kl, (void *)(uintptr_t)k}, mv;
	size_t n;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, vdir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
	assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
	assert_int_equal(mdb_get(t, dbi, &mk, &mv), 0);
	assert_true(mv.mv_size <= cap);
	memcpy(out, mv.mv_data, mv.mv_size);
	n = mv.mv_size;
	mdb_txn_abort(t);
	mdb_env_close(env);
	return n;
}

static void
corrupted_records_are_format_errors(void **state)
{
	tmsg a, b, c;
	uint8_t rec[512], saved[512];
	size_t n, saved_n;
	vault_case_view cv;
	vault_stats st;
	struct count cnt = {0};
	uint8_t pk[32], mbx[32];
	bool present;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, 1, 100);
	tmsg_init(&b, 2, ITK_QUEUE_CASUALTY, ITK_URGENCY_NORMAL, 1, 200);
	tmsg_init(&c, 3, ITK_QUEUE_OTHER, ITK_URGENCY_NORMAL, 2, 300);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	vault_free(v);

	/* Message record: truncated, then an unknown version. */
	n = raw_get("messages", a.m.submission_id, VAULT_ID_LEN, rec,
		    sizeof(rec));
	memcpy(saved, rec, n);
	saved_n = n;
	raw_put("messages", a.m.submission_id, VAULT_ID_LEN, rec, n - 1);
	v = open_vault(0);
	assert_int_equal(vault_foreach_message(v, count_msg, &cnt),
			 ITK_E_FORMAT);
	/* A duplicate check that reads it also fails, and writes nothing. */
	assert_int_equal(commit1(v, &a, NULL), ITK_E_FORMAT);
	vault_free(v);
	rec[0] = 9;
	raw_put("messages", a.m.submission_id, VAULT_ID_LEN, rec, n);
	v = open_vault(0);
	assert_int_equal(vault_foreach_message(v, count_msg, &cnt),
			 ITK_E_VERSION);
	vault_free(v);
	/* A sealed length larger than the record. */
	memcpy(rec, saved, saved_n);
	itk_store_u32(rec + VAULT_MSG_FIXED_LEN - 4, 0xfffffff0u);
	raw_put("messages", a.m.submission_id, VAULT_ID_LEN, rec, saved_n);
	v = open_vault(0);
	assert_int_equal(vault_foreach_message(v, count_msg, &cnt),
			 ITK_E_FORMAT);
	vault_free(v);
	raw_put("messages", a.m.submission_id, VAULT_ID_LEN, saved, saved_n);

	/* Case record: unknown flag bit; a follow-up to it fails whole. */
	n = raw_get("cases", a.m.submission_id, VAULT_ID_LEN, rec,
		    sizeof(rec));
	memcpy(saved, rec, n);
	saved_n = n;
	rec[4] |= 0x80;
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, rec, n);
	v = open_vault(0);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv),
			 ITK_E_FORMAT);
	{
		vault_message ms[2] = {c.m, b.m};
		assert_int_equal(vault_commit(v, ms, 2, NULL, 0, NULL),
				 ITK_E_FORMAT);
	}
	assert_int_equal(vault_contains(v, c.m.submission_id, &present),
			 ITK_OK);
	assert_false(present); /* all or nothing */
	vault_free(v);
	/* Queue byte out of range. */
	memcpy(rec, saved, saved_n);
	rec[1] = ITK_QUEUE_COUNT;
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, rec, n);
	v = open_vault(0);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv),
			 ITK_E_FORMAT);
	assert_int_equal(vault_queue_next(v, ITK_QUEUE_CASUALTY, &cv),
			 ITK_E_FORMAT);
	vault_free(v);
	/* A flipped bit in the encrypted contact: the AEAD refuses it. */
	memcpy(rec, saved, saved_n);
	rec[saved_n - 1] ^= 0x01;
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, rec, n);
	v = open_vault(0);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(vault_case_contact(v, a.m.submission_id, pk, mbx),
			 ITK_E_DECRYPT);
	vault_free(v);
	/* The contact blob of another case does not open here (AD). */
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, saved, saved_n);
	v = open_vault(0);
	assert_int_equal(commit1(v, &c, NULL), ITK_OK);
	vault_free(v);
	n = raw_get("cases", c.m.submission_id, VAULT_ID_LEN, rec,
		    sizeof(rec));
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, rec, n);
	v = open_vault(0);
	assert_int_equal(vault_case_contact(v, a.m.submission_id, pk, mbx),
			 ITK_E_DECRYPT);
	vault_free(v);
	raw_put("cases", a.m.submission_id, VAULT_ID_LEN, saved, saved_n);

	/* Mailbox index value damaged: the follow-up fails whole. */
	{
		vault_options o = {.dir = vdir};
		uint8_t h[VAULT_HASH_LEN], bad[3] = {1, 2, 3};
		vault *tmp = NULL;

		assert_int_equal(vault_open(&o, key, &tmp), ITK_OK);
		vault_mailbox_hash(tmp, a.mailbox, h);
		vault_free(tmp);
		raw_put("mailboxes", h, sizeof(h), bad, sizeof(bad));
	}
	v = open_vault(0);
	assert_int_equal(commit1(v, &b, NULL), ITK_E_FORMAT);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 2);
	vault_free(v);

	/* Counters and format version. */
	raw_put("meta", "counters", 8, "\x01x", 2);
	v = open_vault(0);
	assert_int_equal(vault_get_stats(v, &st), ITK_E_FORMAT);
	assert_int_equal(commit1(v, &b, NULL), ITK_E_FORMAT);
	vault_free(v);
	{
		uint8_t ver[4];
		vault_options o = {.dir = vdir};

		itk_store_u32(ver, 2);
		raw_put("meta", "format", 6, ver, sizeof(ver));
		v = NULL;
		assert_int_equal(vault_open(&o, key, &v), ITK_E_VERSION);
		assert_null(v);
	}
}

/* Every truncation and every single-bit flip of valid records decodes to
 * an error or to a record that re-encodes to the same bytes: never a
 * crash, never a silent misread. */
static void
record_decoders_reject_damage(void **state)
{
	vault_case_rec c = {0}, c2;
	vault_msg_rec m = {0}, m2;
	vault_quar_rec q = {0}, q2;
	uint8_t sealed[40];
	itk_buf *b = itk_buf_new(4096), *b2 = itk_buf_new(4096);
	uint8_t w[512];
	size_t n;

	memset(sealed, 0xab, sizeof(sealed));
	c.queue = 1;
	c.urgency = 2;
	c.language = 0;
	c.flags = VAULT_CASE_OPEN | VAULT_CASE_HAS_CONTACT;
	c.created = 5;
	c.updated = 6;
	c.message_count = 2;
	memset(c.contact, 0x11, sizeof(c.contact));
	assert_int_equal(vault_case_encode(&c, b), ITK_OK);
	assert_int_equal(itk_buf_len(b),
			 VAULT_CASE_FIXED_LEN + VAULT_CONTACT_BLOB_LEN);
	n = itk_buf_len(b);
	memcpy(w, itk_buf_ptr(b), n);
	assert_int_equal(vault_case_decode(w, n, &c2), ITK_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_case_decode(w, i, &c2), ITK_OK);
	}
	for (size_t i = 0; i < n * 8; i++) {
		w[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (vault_case_decode(w, n, &c2) == ITK_OK) {
			itk_buf_reset(b2);
			assert_int_equal(vault_case_encode(&c2, b2), ITK_OK);
			assert_int_equal(itk_buf_len(b2), n);
			assert_memory_equal(itk_buf_ptr(b2), w, n);
		}
		w[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Trailing byte. */
	w[n] = 0;
	assert_int_equal(vault_case_decode(w, n + 1, &c2), ITK_E_FORMAT);

	m.accepted_at = 77;
	m.queue = 3;
	m.sealed = sealed;
	m.sealed_len = sizeof(sealed);
	itk_buf_reset(b);
	assert_int_equal(vault_msg_encode(&m, b), ITK_OK);
	n = itk_buf_len(b);
	assert_int_equal(n, VAULT_MSG_FIXED_LEN + sizeof(sealed));
	memcpy(w, itk_buf_ptr(b), n);
	assert_int_equal(vault_msg_decode(w, n, &m2), ITK_OK);
	assert_int_equal(m2.accepted_at, 77);
	assert_int_equal(m2.sealed_len, sizeof(sealed));
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_msg_decode(w, i, &m2), ITK_OK);
	}
	w[n] = 0;
	assert_int_equal(vault_msg_decode(w, n + 1, &m2), ITK_E_FORMAT);

	q.reason = ITK_E_DECRYPT;
	q.sealed = sealed;
	q.sealed_len = sizeof(sealed);
	itk_buf_reset(b);
	assert_int_equal(vault_quar_encode(&q, b), ITK_OK);
	n = itk_buf_len(b);
	assert_int_equal(n, VAULT_QUAR_FIXED_LEN + sizeof(sealed));
	memcpy(w, itk_buf_ptr(b), n);
	assert_int_equal(vault_quar_decode(w, n, &q2), ITK_OK);
	assert_int_equal(q2.reason, ITK_E_DECRYPT);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_quar_decode(w, i, &q2), ITK_OK);
	}
	w[0] = 2;
	assert_int_equal(vault_quar_decode(w, n, &q2), ITK_E_VERSION);
	assert_int_equal(vault_quar_decode(NULL, 0, &q2), ITK_E_FORMAT);
	itk_buf_free(b);
	itk_buf_free(b2);
}

/* Finds needle in the whole file at path. */
static bool
file_has(const char *path, const void *needle, size_t n)
{
	itk_buf *b = NULL;
	bool found;

	assert_int_equal(itk_file_read(path, ITK_BUF_SIZE_MAX, &b), ITK_OK);
	found = memmem(itk_buf_ptr(b), itk_buf_len(b), needle, n) != NULL;
	itk_buf_free(b);
	return found;
}

static void
contact_data_never_in_clear(void **state)
{
	static const char mbx_mark[] = "MBXMARKER-mailbox-id-0123456789";
	static const char pk_mark[] = "PKMARKER-reply-key-012345678901";
	char path[160];
	tmsg a, b, c;
	vault_case_view cv;
	/* A small map: a writer's file is as large as its map (sparse),
	 * and file_has reads it whole. */
	vault *v = open_vault(32u << 20);

	tmsg_init(&a, 1, ITK_QUEUE_SURRENDER, ITK_URGENCY_CRITICAL, 1, 100);
	memcpy(a.mailbox, mbx_mark, 32);
	memcpy(a.reply_pk, pk_mark, 32);
	/* A follow-up from the same mailbox, and one quoting the thread. */
	b = a;
	b.m.mailbox_id = b.mailbox;
	b.m.reply_pk = b.reply_pk;
	memcpy(b.sealed, "SEALEDMARKER second", 20);
	b.m.sealed = b.sealed;
	itk_sha256(b.m.submission_id, b.sealed, sizeof(b.sealed));
	tmsg_init(&c, 3, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, -1, 100);
	tmsg_thread(&c, a.m.submission_id);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	assert_int_equal(commit1(v, &b, NULL), ITK_OK);
	/* No mailbox, so the thread id alone cannot join a case with
	 * contact data: its own case. */
	assert_int_equal(commit1(v, &c, NULL), ITK_OK);
	assert_int_equal(vault_get_case(v, a.m.submission_id, &cv), ITK_OK);
	assert_int_equal(cv.message_count, 2);
	vault_free(v);

	snprintf(path, sizeof(path), "%s/data.mdb", vdir);
	/* The grep works: stored sealed bytes are found... */
	assert_true(file_has(path, "SEALEDMARKER", 12));
	/* ...and the contact data is not, whole or in part. */
	assert_false(file_has(path, mbx_mark, 32));
	assert_false(file_has(path, "MBXMARKER", 9));
	assert_false(file_has(path, pk_mark, 32));
	assert_false(file_has(path, "PKMARKER", 8));
	snprintf(path, sizeof(path), "%s/lock.mdb", vdir);
	assert_false(file_has(path, "MBXMARKER", 9));
}

static void
read_only_open_of_a_copy(void **state)
{
	char cmd[320], cdir[128];
	tmsg a;
	tquar q;
	vault_options o = {0};
	vault_stats st;
	struct count cnt = {0};
	vault_case_view cv;
	uint8_t pk[32], mbx[32];
	vault *v = open_vault(0), *ro = NULL;

	tmsg_init(&a, 1, ITK_QUEUE_SURRENDER, ITK_URGENCY_HIGH, 1, 100);
	tquar_init(&q, 1, ITK_E_DECRYPT);
	assert_int_equal(vault_commit(v, &a.m, 1, &q.q, 1, NULL), ITK_OK);
	/* mdb_copy of the live vault (still open here). */
	snprintf(cdir, sizeof(cdir), "%s/copy", dir);
	assert_int_equal(mkdir(cdir, 0700), 0);
	snprintf(cmd, sizeof(cmd), "mdb_copy %s %s", vdir, cdir);
	assert_int_equal(system(cmd), 0);
	vault_free(v);

	o.dir = cdir;
	o.read_only = true;
	assert_int_equal(vault_open(&o, NULL, &ro), ITK_OK);
	assert_int_equal(vault_get_stats(ro, &st), ITK_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(vault_foreach_message(ro, count_msg, &cnt), ITK_OK);
	assert_int_equal(cnt.n, 1);
	assert_int_equal(vault_queue_next(ro, ITK_QUEUE_COUNT, &cv), ITK_OK);
	assert_memory_equal(cv.case_id, a.m.submission_id, VAULT_ID_LEN);
	/* No key: no contact, and no writes. */
	assert_int_equal(vault_case_contact(ro, a.m.submission_id, pk, mbx),
			 ITK_E_PERM);
	assert_int_equal(commit1(ro, &a, NULL), ITK_E_PERM);
	assert_int_equal(vault_case_close(ro, a.m.submission_id), ITK_E_PERM);
	vault_free(ro);
	/* With the key, a read-only open decrypts. */
	assert_int_equal(vault_open(&o, key, &ro), ITK_OK);
	assert_int_equal(vault_case_contact(ro, a.m.submission_id, pk, mbx),
			 ITK_OK);
	assert_memory_equal(mbx, a.mailbox, 32);
	vault_free(ro);
}

/* n messages of sz random bytes each (so distinct ids) in sealed, which
 * holds n * sz bytes; no labels. */
static void
rand_batch(vault_message *ms, uint8_t *sealed, size_t n, size_t sz)
{
	for (size_t i = 0; i < n; i++) {
		memset(&ms[i], 0, sizeof(ms[i]));
		randombytes_buf(sealed + i * sz, sz);
		ms[i].sealed = sealed + i * sz;
		ms[i].sealed_len = sz;
		itk_sha256(ms[i].submission_id, ms[i].sealed, sz);
	}
}

static void
map_full_is_all_or_nothing(void **state)
{
	enum { BATCH = 8, SZ = 16 * 1024 };
	static uint8_t sealed[BATCH][SZ];
	vault_message ms[BATCH];
	vault_stats st;
	struct count cnt = {0};
	uint64_t stored = 0;
	int batches = 0;
	itk_err r = ITK_OK;
	bool present;
	vault *v = open_vault(512 * 1024);

	while (r == ITK_OK && batches < 100) {
		rand_batch(ms, sealed[0], BATCH, SZ);
		r = vault_commit(v, ms, BATCH, NULL, 0, NULL);
		if (r == ITK_OK) {
			stored += BATCH;
			batches++;
		}
	}
	assert_int_equal(r, ITK_E_FULL);
	assert_true(batches > 0);
	/* The failed batch left no trace, even its first message. */
	for (size_t i = 0; i < BATCH; i++) {
		assert_int_equal(
		    vault_contains(v, ms[i].submission_id, &present), ITK_OK);
		assert_false(present);
	}
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, stored);
	vault_free(v);
	/* Reopened with a bigger map, the same batch goes in. */
	v = open_vault(8 * 1024 * 1024);
	assert_int_equal(vault_commit(v, ms, BATCH, NULL, 0, NULL), ITK_OK);
	assert_int_equal(vault_foreach_message(v, count_msg, &cnt), ITK_OK);
	assert_int_equal(cnt.n, stored + BATCH);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, stored + BATCH);
	assert_int_equal(st.cases, stored + BATCH);
	vault_free(v);
}

/* Another process grows the map past what this one mapped: the next
 * commit here adopts the new size instead of failing. */
static void
map_grown_by_another_process_is_adopted(void **state)
{
	enum { BATCH = 8, SZ = 64 * 1024 };
	static uint8_t sealed[BATCH][SZ];
	vault_message ms[BATCH];
	vault_stats st;
	tmsg a;
	int status;
	pid_t pid;
	vault *v = open_vault(256 * 1024);

	tmsg_init(&a, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child never touches the parent's handle. */
		vault_options o = {.dir = vdir, .map_size = 16 * 1024 * 1024};
		vault *cv = NULL;

		if (vault_open(&o, key, &cv) != ITK_OK) {
			_exit(2);
		}
		for (int round = 0; round < 4; round++) {
			rand_batch(ms, sealed[0], BATCH, SZ);
			if (vault_commit(cv, ms, BATCH, NULL, 0, NULL) !=
			    ITK_OK) {
				_exit(3);
			}
		}
		vault_free(cv);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tmsg_init(&a, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 2 + 4 * BATCH);
	vault_free(v);
}

/* A writer killed (SIGKILL) inside its write transaction neither blocks
 * the next writer (LMDB's robust mutex) nor leaves a trace. */
static void
writer_killed_mid_transaction(void **state)
{
	tmsg a, b;
	vault_stats st;
	bool present;
	int status;
	pid_t pid;
	vault *v = open_vault(0);

	tmsg_init(&a, 1, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 1, 100);
	tmsg_init(&b, 2, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, 2, 100);
	assert_int_equal(commit1(v, &a, NULL), ITK_OK);
	vault_free(v);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *t;
		MDB_dbi dbi;
		MDB_val k = {VAULT_ID_LEN, b.m.submission_id}, d = {1, "x"};

		if (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, vdir, 0, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &t) != 0 ||
		    mdb_dbi_open(t, "messages", 0, &dbi) != 0 ||
		    mdb_put(t, dbi, &k, &d, 0) != 0) {
			_exit(2);
		}
		raise(SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	v = open_vault(0);
	assert_int_equal(vault_contains(v, b.m.submission_id, &present),
			 ITK_OK);
	assert_false(present);
	assert_int_equal(commit1(v, &b, NULL), ITK_OK);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 2);
	vault_free(v);
}

/* ---- Two processes. ---- */

#define NPROC_MSGS 240
#define NGROUPS    30

static void
proc_msg(tmsg *t, int i)
{
	/* Messages share mailboxes in groups, so both processes link
	 * follow-ups into the same cases concurrently. */
	tmsg_init(t, i, (itk_queue)(i % ITK_QUEUE_COUNT),
		  (itk_urgency)(i % ITK_URGENCY_COUNT), i % NGROUPS,
		  1000 + (uint64_t)i);
}

/* Commits messages [lo, hi) in batches of 8, forwards or backwards;
 * writes "stored new" counts to fd.  Runs in a child: exits. */
static void
child(int go, int fd, int lo, int hi, bool backwards)
{
	vault_options o = {.dir = vdir};
	uint32_t counts[2] = {0, 0};
	vault_message ms[8];
	vault_result res[8];
	static tmsg t[8];
	vault *v = NULL;
	char c;
	int k = 0;

	if (read(go, &c, 1) != 1 || vault_open(&o, key, &v) != ITK_OK) {
		_exit(2);
	}
	for (int j = 0; j < hi - lo; j++) {
		int i = backwards ? hi - 1 - j : lo + j;
		proc_msg(&t[k], i);
		ms[k] = t[k].m;
		k++;
		if (k == 8 || j == hi - lo - 1) {
			if (vault_commit(v, ms, (size_t)k, NULL, 0, res) !=
			    ITK_OK) {
				_exit(3);
			}
			for (int x = 0; x < k; x++) {
				counts[0] +=
				    res[x].outcome != VAULT_STORED_DUPLICATE;
				counts[1] +=
				    res[x].outcome == VAULT_STORED_NEW_CASE;
			}
			k = 0;
		}
	}
	vault_free(v);
	if (write(fd, counts, sizeof(counts)) != (ssize_t)sizeof(counts)) {
		_exit(4);
	}
	_exit(0);
}

struct group_check {
	uint8_t case_of[NGROUPS][VAULT_ID_LEN];
	bool seen[NGROUPS];
	size_t n;
	bool ok;
};

static itk_err
check_groups(const vault_message_view *m, void *arg)
{
	struct group_check *g = arg;
	int i;

	/* Recover i from the sealed text "SEALEDMARKER message %d". */
	i = 0;
	for (size_t p = 21;
	     p < m->sealed_len && m->sealed[p] >= '0' && m->sealed[p] <= '9';
	     p++) {
		i = i * 10 + (m->sealed[p] - '0');
	}
	if (i < 0 || i >= NPROC_MSGS) {
		g->ok = false;
		return ITK_OK;
	}
	g->n++;
	if (!g->seen[i % NGROUPS]) {
		g->seen[i % NGROUPS] = true;
		memcpy(g->case_of[i % NGROUPS], m->case_id, VAULT_ID_LEN);
	} else if (memcmp(g->case_of[i % NGROUPS], m->case_id, VAULT_ID_LEN) !=
		   0) {
		g->ok = false;
	}
	return ITK_OK;
}

/* want_stored / want_new: what the two together should report;
 * want_msgs: messages in the vault afterwards. */
static void
run_two(int alo, int ahi, bool aback, int blo, int bhi, bool bback,
	uint32_t want_stored, uint32_t want_new, uint64_t want_msgs)
{
	int go[2], out[2], status;
	uint32_t ca[2], cb[2];
	pid_t a, b;
	vault_stats st;
	struct group_check g;
	vault *v;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	fflush(NULL);
	a = fork();
	assert_true(a >= 0);
	if (a == 0) {
		child(go[0], out[1], alo, ahi, aback);
	}
	b = fork();
	assert_true(b >= 0);
	if (b == 0) {
		child(go[0], out[1], blo, bhi, bback);
	}
	/* Release both at once. */
	assert_int_equal(write(go[1], "gg", 2), 2);
	assert_int_equal(waitpid(a, &status, 0), a);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(waitpid(b, &status, 0), b);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(out[0], ca, sizeof(ca)), (ssize_t)sizeof(ca));
	assert_int_equal(read(out[0], cb, sizeof(cb)), (ssize_t)sizeof(cb));
	close(go[0]);
	close(go[1]);
	close(out[0]);
	close(out[1]);

	/* Exactly once: each message stored by exactly one process. */
	assert_int_equal(ca[0] + cb[0], want_stored);
	/* One case per mailbox group, opened by exactly one process. */
	assert_int_equal(ca[1] + cb[1], want_new);
	v = open_vault(0);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, want_msgs);
	assert_int_equal(st.cases, NGROUPS);
	memset(&g, 0, sizeof(g));
	g.ok = true;
	assert_int_equal(vault_foreach_message(v, check_groups, &g), ITK_OK);
	assert_int_equal(g.n, want_msgs);
	assert_true(g.ok);
	vault_free(v);
}

static void
two_processes_disjoint(void **state)
{
	run_two(0, 120, false, 120, 240, true, 240, NGROUPS, 240);
}

static void
two_processes_overlapping(void **state)
{
	/* Partial overlap (80..159 sent by both), then both resend
	 * everything, one forwards and one backwards: exactly once. */
	run_two(0, 160, false, 80, 240, true, 240, NGROUPS, 240);
	run_two(0, 240, false, 0, 240, true, 0, 0, 240);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(commit_contains_stats_foreach),
	    T(view_fields_round_trip),
	    T(idempotent_within_batch),
	    T(idempotent_across_batches_and_reopen),
	    T(follow_up_by_mailbox),
	    T(follow_up_by_thread_id),
	    T(queue_and_urgency_promotion),
	    T(queue_next_is_most_urgent_then_oldest),
	    T(close_and_reopen_by_follow_up),
	    T(quarantine_keeps_reason_and_bytes),
	    T(bad_batches_write_nothing),
	    T(open_errors),
	    T(corrupted_records_are_format_errors),
	    T(record_decoders_reject_damage),
	    T(contact_data_never_in_clear),
	    T(read_only_open_of_a_copy),
	    T(map_full_is_all_or_nothing),
	    T(map_grown_by_another_process_is_adopted),
	    T(writer_killed_mid_transaction),
	    T(two_processes_disjoint),
	    T(two_processes_overlapping),
	};
	return cmocka_run_group_tests_name("vault", tests, NULL, NULL);
}
