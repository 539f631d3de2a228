/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker's monitor (worker/monitor.c) and the child's stubs
 * (worker/monitor_wrap.c) over a real socketpair, with a real key store,
 * the real triage rules and a real LMDB vault: the round trip returns the
 * ids the vault stored; every request that is not permitted at that point,
 * and every malformed message, ends the monitor with an error (the worker
 * then kills its child) instead of being answered.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "keyring.h"
#include "keys.h"
#include "monitor.h"
#include "monitor_wrap.h"
#include "process.h"
#include "triage.h"
#include "vault.h"
#include "wire.h"

#define WORKER_FIXTURE_NAME "wmon"
#include "worker_fixture.h"

/* The monitor, served in a thread; the test plays the child on fd. */
struct mon {
	wk_monitor *m;
	int sv[2];
	pthread_t t;
	itk_err r;
	int fd; /* the child's end */
};

static void *
serve_thread(void *arg)
{
	struct mon *s = arg;

	s->r = wk_monitor_serve(s->m, s->sv[0]);
	/* As the worker does: the monitor's end closes when it stops. */
	close(s->sv[0]);
	return NULL;
}

static void
mon_start(struct fx *f, struct mon *s)
{
	memset(s, 0, sizeof(*s));
	s->m = wk_monitor_new(f->keys, f->rules, f->v, "w-test", 64);
	assert_non_null(s->m);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s->sv), 0);
	s->fd = s->sv[1];
	assert_int_equal(pthread_create(&s->t, NULL, serve_thread, s), 0);
}

/* Closes the child's end and returns how the monitor ended. */
static itk_err
mon_stop(struct mon *s)
{
	close(s->fd);
	assert_int_equal(pthread_join(s->t, NULL), 0);
	wk_monitor_free(s->m);
	return s->r;
}

/* Waits for the monitor to end on its own (a fatal request). */
static itk_err
mon_wait_fatal(struct mon *s)
{
	uint8_t type = 0;
	itk_buf *b = itk_buf_new(1024);

	/* No answer comes: the monitor closed its end. */
	assert_int_not_equal(wk_mon_recv(s->fd, &type, b), ITK_OK);
	itk_buf_free(b);
	return mon_stop(s);
}

static void
send_raw(int fd, uint8_t type, const void *p, size_t n)
{
	itk_buf *b = itk_buf_new(1u << 20);

	assert_int_equal(itk_buf_put(b, p, n), ITK_OK);
	assert_int_equal(wk_mon_send(fd, type, b), ITK_OK);
	itk_buf_free(b);
}

static void
round_trip(void **state)
{
	struct fx *f = *state;
	struct mon s;
	struct dlv a, b;
	Intake__V1__Delivery *batch[2];
	uint8_t ids[2][ITK_HASH_LEN];
	wk_batch_stats st;
	size_t nkeys = 0;

	make_message(f, &a, "Хочу сдаться в плен", 1, 1);
	make_message(f, &b, "Where is my brother, a prisoner?", 2, 1);
	/* The gateway lies about an id: the monitor computes its own. */
	memset(b.d.submission_id.data, 0xee, ITK_HASH_LEN);
	batch[0] = &a.d;
	batch[1] = &b.d;
	mon_start(f, &s);
	assert_int_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
	assert_int_equal(nkeys, 1);
	assert_int_equal(wk_mm_process_batch(s.fd, batch, 2, &st, ids),
			 ITK_OK);
	assert_int_equal(st.new_cases, 2);
	assert_int_equal(st.messages, 2);
	for (int i = 0; i < 2; i++) {
		uint8_t want[ITK_HASH_LEN];
		itk_sha256(want, batch[i]->submission->sealed.data,
			   batch[i]->submission->sealed.len);
		assert_memory_equal(ids[i], want, ITK_HASH_LEN);
	}
	/* Redelivered: acknowledged again, stored once. */
	assert_int_equal(wk_mm_process_batch(s.fd, batch, 2, &st, ids),
			 ITK_OK);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.messages, 0);
	/* The child closing between messages is a clean end. */
	assert_int_equal(mon_stop(&s), ITK_OK);
	dlv_free(&a);
	dlv_free(&b);
}

static void
altered_submission_is_quarantined_not_fatal(void **state)
{
	struct fx *f = *state;
	struct mon s;
	struct dlv a;
	Intake__V1__Delivery *batch[1];
	uint8_t ids[1][ITK_HASH_LEN];
	wk_batch_stats st;
	size_t nkeys;

	make_message(f, &a, "bit flip", 3, 1);
	a.s.sealed.data[a.s.sealed.len / 2] ^= 0x01;
	batch[0] = &a.d;
	mon_start(f, &s);
	assert_int_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
	assert_int_equal(wk_mm_process_batch(s.fd, batch, 1, &st, ids),
			 ITK_OK);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.messages, 0);
	assert_int_equal(mon_stop(&s), ITK_OK);
	dlv_free(&a);
}

static void
batch_before_ready_is_fatal(void **state)
{
	struct fx *f = *state;
	struct mon s;
	struct dlv a;
	Intake__V1__Delivery *batch[1];
	uint8_t ids[1][ITK_HASH_LEN];
	wk_batch_stats st;

	make_message(f, &a, "too early", 4, 1);
	batch[0] = &a.d;
	mon_start(f, &s);
	assert_int_not_equal(wk_mm_process_batch(s.fd, batch, 1, &st, ids),
			     ITK_OK);
	assert_int_equal(mon_stop(&s), ITK_E_PERM);
	dlv_free(&a);
}

static void
ready_twice_is_fatal(void **state)
{
	struct fx *f = *state;
	struct mon s;
	size_t nkeys;

	mon_start(f, &s);
	assert_int_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
	assert_int_not_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
	assert_int_equal(mon_stop(&s), ITK_E_PERM);
}

static void
unknown_and_answer_types_are_fatal(void **state)
{
	struct fx *f = *state;
	static const uint8_t types[] = {0, WK_MON_ANS_READY, WK_MON_ANS_BATCH,
					99, 255};

	for (size_t i = 0; i < sizeof(types); i++) {
		struct mon s;
		size_t nkeys;

		mon_start(f, &s);
		assert_int_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
		send_raw(s.fd, types[i], "", 0);
		assert_int_equal(mon_wait_fatal(&s), ITK_E_PERM);
	}
}

/* A batch body built by hand: n, then items as given. */
static void
malformed_batch(struct fx *f, const uint8_t *body, size_t len, itk_err want)
{
	struct mon s;
	size_t nkeys;

	mon_start(f, &s);
	assert_int_equal(wk_mm_ready(s.fd, &nkeys), ITK_OK);
	send_raw(s.fd, WK_MON_REQ_BATCH, body, len);
	assert_int_equal(mon_wait_fatal(&s), want);
}

static void
malformed_batches_are_fatal(void **state)
{
	struct fx *f = *state;
	uint8_t b[128] = {0};
	size_t item = ITK_HASH_LEN + 4 + 8 + 4 + 4;

	/* Empty body; n = 0; n above the cap. */
	malformed_batch(f, b, 0, ITK_E_SHORT);
	memset(b, 0, sizeof(b));
	malformed_batch(f, b, 4, ITK_E_RANGE);
	itk_store_u32(b, WK_MON_BATCH_MAX + 1);
	malformed_batch(f, b, 4, ITK_E_RANGE);
	/* n = 1, the item cut short. */
	itk_store_u32(b, 1);
	malformed_batch(f, b, 4 + 20, ITK_E_SHORT);
	/* n = 1, sealed length beyond the bytes sent. */
	memset(b + 4, 0, item);
	itk_store_u32(b + 4 + item - 4, 64);
	malformed_batch(f, b, 4 + item + 10, ITK_E_SHORT);
	/* n = 1, sealed length above ITK_SUBMISSION_MAX. */
	itk_store_u32(b + 4 + item - 4, ITK_SUBMISSION_MAX + 1);
	malformed_batch(f, b, 4 + item, ITK_E_TOO_BIG);
	/* n = 1, an empty sealed box, then trailing bytes. */
	itk_store_u32(b + 4 + item - 4, 0);
	malformed_batch(f, b, 4 + item + 3, ITK_E_TRAILING);
}

static void
frame_lengths_are_capped(void **state)
{
	struct fx *f = *state;
	static const uint32_t lens[] = {0, WK_MON_MSG_MAX + 1, 0xffffffffu};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct mon s;
		uint8_t hdr[5];

		mon_start(f, &s);
		itk_store_u32(hdr, lens[i]);
		hdr[4] = WK_MON_REQ_READY;
		assert_int_equal(write(s.fd, hdr, sizeof(hdr)), 5);
		assert_int_equal(mon_wait_fatal(&s), ITK_E_TOO_BIG);
	}
}

static void
stream_cut_mid_message(void **state)
{
	int sv[2];
	uint8_t hdr[5], type;
	itk_buf *b = itk_buf_new(WK_MON_MSG_MAX - 1);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Clean end before a message. */
	close(sv[1]);
	assert_int_equal(wk_mon_recv(sv[0], &type, b), ITK_E_SHORT);
	close(sv[0]);
	/* A header promising 100 bytes, then the end. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	itk_store_u32(hdr, 100);
	hdr[4] = WK_MON_REQ_BATCH;
	assert_int_equal(write(sv[1], hdr, sizeof(hdr)), 5);
	assert_int_equal(write(sv[1], "abc", 3), 3);
	close(sv[1]);
	assert_int_equal(wk_mon_recv(sv[0], &type, b), ITK_E_IO);
	/* Half a header. */
	close(sv[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], hdr, 3), 3);
	close(sv[1]);
	assert_int_equal(wk_mon_recv(sv[0], &type, b), ITK_E_IO);
	close(sv[0]);
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		altered_submission_is_quarantined_not_fatal, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_before_ready_is_fatal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(ready_twice_is_fatal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(unknown_and_answer_types_are_fatal,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(malformed_batches_are_fatal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(frame_lengths_are_capped, setup,
					    teardown),
	    cmocka_unit_test(stream_cut_mid_message),
	};

	/* A monitor that hangs up on a request must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
