/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker's batch processing against a real key store, the real triage
 * rules and a real LMDB vault in a temp dir: every delivery ends stored or
 * quarantined, exactly once, whatever its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "keyring.h"
#include "keys.h"
#include "process.h"
#include "triage.h"
#include "vault.h"
#include "wire.h"

#define WORKER_FIXTURE_NAME "wproc"
#include "worker_fixture.h"

struct seen {
	int n;
	itk_queue q[16];
};

static itk_err
collect(const vault_message_view *m, void *arg)
{
	struct seen *s = arg;
	if (s->n < 16) {
		s->q[s->n] = m->queue;
	}
	s->n++;
	return ITK_OK;
}

static void
stores_triaged_messages_once(void **state)
{
	struct fx *f = *state;
	struct dlv a, b;
	Intake__V1__Delivery *batch[3];
	wk_batch_stats st;
	struct seen seen = {0};

	make_message(f, &a, "Хочу сдаться в плен, я на позиции у Работино", 1,
		     1);
	make_message(f, &b,
		     "My son is a prisoner of war, is he on the "
		     "exchange list?",
		     2, 1);
	batch[0] = &a.d;
	batch[1] = &b.d;
	batch[2] = &a.d; /* the same delivery twice in one batch */
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 3, &st), ITK_OK);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.new_cases, 2);
	assert_int_equal(st.duplicates, 1);
	/* Redelivered after a crash: nothing new. */
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 2, &st), ITK_OK);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(vault_foreach_message(f->v, collect, &seen), ITK_OK);
	assert_int_equal(seen.n, 2);
	assert_true((seen.q[0] == ITK_QUEUE_SURRENDER &&
		     seen.q[1] == ITK_QUEUE_CAPTIVITY) ||
		    (seen.q[1] == ITK_QUEUE_SURRENDER &&
		     seen.q[0] == ITK_QUEUE_CAPTIVITY));
	dlv_free(&a);
	dlv_free(&b);
}

static void
follow_up_joins_case_by_mailbox(void **state)
{
	struct fx *f = *state;
	struct dlv a, b;
	Intake__V1__Delivery *batch[1];
	wk_batch_stats st;

	make_message(f, &a, "Where is my brother? He was captured.", 7, 1);
	make_message(f, &b, "Any news?", 7, 1);
	batch[0] = &a.d;
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 1, &st), ITK_OK);
	assert_int_equal(st.new_cases, 1);
	batch[0] = &b.d;
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 1, &st), ITK_OK);
	assert_int_equal(st.follow_ups, 1);
	assert_int_equal(st.new_cases, 0);
	dlv_free(&a);
	dlv_free(&b);
}

static void
bad_submissions_are_quarantined_not_dropped(void **state)
{
	struct fx *f = *state;
	struct dlv unknown_key, garbage, not_proto, bad_version;
	Intake__V1__Delivery *batch[4];
	const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	wk_batch_stats st;
	vault_stats vs;
	bool present;

	make_message(f, &unknown_key, "hello", 3, 1);
	unknown_key.s.intake_key_id ^= 1;
	dlv_init(&garbage, f->key_id);
	assert_int_equal(itk_buf_put(garbage.sealed, junk, 1), ITK_OK);
	{
		uint8_t *p;
		assert_int_equal(itk_buf_reserve(garbage.sealed,
						 512 + ITK_SEAL_OVERHEAD - 1,
						 &p),
				 ITK_OK);
		randombytes_buf(p, 512 + ITK_SEAL_OVERHEAD - 1);
	}
	dlv_finish(&garbage);
	dlv_init(&not_proto, f->key_id);
	assert_int_equal(
	    itk_seal(f->intake_pk, junk, sizeof(junk), not_proto.sealed),
	    ITK_OK);
	dlv_finish(&not_proto);
	make_message(f, &bad_version, "hello", 4, 9);
	batch[0] = &unknown_key.d;
	batch[1] = &garbage.d;
	batch[2] = &not_proto.d;
	batch[3] = &bad_version.d;
	assert_int_equal(vault_get_stats(f->v, &vs), ITK_OK);
	assert_int_equal(vs.quarantined, 0);
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 4, &st), ITK_OK);
	assert_int_equal(st.quarantined, 4);
	assert_int_equal(st.messages, 0);
	assert_int_equal(vault_get_stats(f->v, &vs), ITK_OK);
	assert_int_equal(vs.quarantined, 4);
	assert_int_equal(vs.messages, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vault_contains(f->v,
						batch[i]->submission_id.data,
						&present),
				 ITK_OK);
		assert_true(present);
	}
	/* Redelivered quarantine items are duplicates, not new rows. */
	assert_int_equal(
	    wk_process_batch(f->keys, f->rules, f->v, batch, 4, &st), ITK_OK);
	assert_int_equal(st.duplicates, 4);
	dlv_free(&unknown_key);
	dlv_free(&garbage);
	dlv_free(&not_proto);
	dlv_free(&bad_version);
}

static void
triage_text_includes_fields(void **state)
{
	itk_pb_inner in = INTAKE__V1__INNER_MESSAGE__INIT;
	Intake__V1__Field f1 = INTAKE__V1__FIELD__INIT, f2 = f1;
	Intake__V1__Field *fs[2] = {&f1, &f2};
	itk_buf *b = itk_buf_new(1024);

	in.text = "text";
	f1.name = "where";
	f1.value = "Siversk";
	f2.name = "when";
	f2.value = "";
	in.n_fields = 2;
	in.fields = fs;
	assert_int_equal(wk_triage_text(&in, b), ITK_OK);
	assert_int_equal(itk_buf_len(b), strlen("text\nSiversk"));
	assert_memory_equal(itk_buf_ptr(b), "text\nSiversk", 12);
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(stores_triaged_messages_once,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(follow_up_joins_case_by_mailbox,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		bad_submissions_are_quarantined_not_dropped, setup, teardown),
	    cmocka_unit_test(triage_text_includes_fields),
	};
	return cmocka_run_group_tests_name("worker_process", tests, NULL,
					   NULL);
}
