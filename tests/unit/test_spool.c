/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "spool.h"

#define SEALED_LEN (512u + ITK_SEAL_OVERHEAD)

static char dir[64];

static const gw_spool_opts opts = {
    .max_bytes = 10u * SEALED_LEN,
    .lease_ms = 1000,
    .seen_retention = 100,
    .mailbox_retention = 1000,
};

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/itk-test-spool-XXXXXX");
	if (itk_crypto_init() != ITK_OK) {
		return -1;
	}
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* A fake sealed submission: bytes derived from n, id = SHA-256. */
struct sub {
	uint8_t sealed[SEALED_LEN];
	uint8_t id[GW_ID_LEN];
};

static void
make_sub(struct sub *s, unsigned n)
{
	for (size_t i = 0; i < sizeof(s->sealed); i++) {
		s->sealed[i] = (uint8_t)(i * 31u + n * 7u + (n >> 8));
	}
	itk_sha256(s->id, s->sealed, sizeof(s->sealed));
}

static itk_err
append_one(gw_spool *sp, struct sub *s, uint64_t at, uint32_t key_id,
	   gw_spool_item *it)
{
	it->id = s->id;
	it->sealed = s->sealed;
	it->len = sizeof(s->sealed);
	it->key_id = key_id;
	it->accepted_at = at;
	it->result = ITK_E_INTERNAL;
	return gw_spool_append(sp, it, 1);
}

/* Collects leased ids and checks the bytes arrived intact. */
struct got {
	uint8_t id[GW_DELIVERY_MAX][GW_ID_LEN];
	uint32_t attempt[GW_DELIVERY_MAX];
	size_t n;
};

static itk_err
collect(void *arg, const gw_delivery *d, size_t n)
{
	struct got *g = arg;
	for (size_t i = 0; i < n; i++) {
		uint8_t h[GW_ID_LEN];
		itk_sha256(h, d[i].sealed, d[i].len);
		assert_memory_equal(h, d[i].id, GW_ID_LEN);
		memcpy(g->id[g->n], d[i].id, GW_ID_LEN);
		g->attempt[g->n] = d[i].attempt;
		g->n++;
	}
	return ITK_OK;
}

static void
lease_n(gw_spool *sp, uint32_t owner, uint64_t now, size_t max, struct got *g,
	size_t want)
{
	size_t n = 99;
	memset(g, 0, sizeof(*g));
	assert_int_equal(gw_spool_lease(sp, owner, now, max, collect, g, &n),
			 ITK_OK);
	assert_int_equal(n, want);
	assert_int_equal(g->n, want);
}

static void
append_lease_ack_reopen(void **state)
{
	gw_spool *sp = NULL;
	gw_spool_stats st;
	struct sub s[3];
	gw_spool_item it;
	struct got g;
	uint64_t at;
	uint32_t kid;
	size_t acked, stored;

	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	for (unsigned i = 0; i < 3; i++) {
		make_sub(&s[i], i);
		assert_int_equal(
		    append_one(sp, &s[i], 3600 * (i + 1), 7 + i, &it), ITK_OK);
		assert_int_equal(it.result, ITK_OK);
	}
	gw_spool_get_stats(sp, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.bytes, 3 * SEALED_LEN);

	/* Oldest first, attempt 1. */
	lease_n(sp, 5, 1000, 2, &g, 2);
	assert_memory_equal(g.id[0], s[0].id, GW_ID_LEN);
	assert_memory_equal(g.id[1], s[1].id, GW_ID_LEN);
	assert_int_equal(g.attempt[0], 1);
	assert_int_equal(gw_spool_leased_by(sp, 5), 2);

	/* Ack the first; an unknown id is a harmless no-op. */
	{
		uint8_t unknown[GW_ID_LEN];
		const uint8_t *acks[2] = {s[0].id, unknown};
		memset(unknown, 0xee, GW_ID_LEN);
		assert_int_equal(gw_spool_worker_commit(sp, acks, 2, NULL, 0,
							50, &acked, &stored),
				 ITK_OK);
		assert_int_equal(acked, 1);
		assert_int_equal(stored, 0);
		/* Acking again does nothing more. */
		assert_int_equal(gw_spool_worker_commit(sp, acks, 1, NULL, 0,
							50, &acked, &stored),
				 ITK_OK);
		assert_int_equal(acked, 0);
	}
	gw_spool_get_stats(sp, &st);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.leased, 1);

	/* The acked id is remembered with its original values. */
	assert_int_equal(gw_spool_lookup(sp, s[0].id, &at, &kid), ITK_OK);
	assert_int_equal(at, 3600);
	assert_int_equal(kid, 7);
	assert_int_equal(gw_spool_lookup(sp, s[2].id, &at, &kid), ITK_OK);
	assert_int_equal(at, 3 * 3600);

	/* Restart: leases are forgotten, both pending come back in order. */
	gw_spool_free(sp);
	sp = NULL;
	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	gw_spool_get_stats(sp, &st);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.leased, 0);
	lease_n(sp, 9, 0, 10, &g, 2);
	assert_memory_equal(g.id[0], s[1].id, GW_ID_LEN);
	assert_memory_equal(g.id[1], s[2].id, GW_ID_LEN);
	assert_int_equal(gw_spool_lookup(sp, s[0].id, &at, &kid), ITK_OK);
	assert_int_equal(at, 3600);
	/* Nothing left to lease. */
	lease_n(sp, 9, 0, 10, &g, 0);
	gw_spool_free(sp);
}

static void
expire_and_release_go_to_front(void **state)
{
	gw_spool *sp = NULL;
	struct sub s[4];
	gw_spool_item it;
	struct got g;

	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	for (unsigned i = 0; i < 4; i++) {
		make_sub(&s[i], 100 + i);
		assert_int_equal(append_one(sp, &s[i], 0, 1, &it), ITK_OK);
	}
	lease_n(sp, 1, 1000, 1, &g, 1); /* s0 until 2000 */
	lease_n(sp, 2, 1500, 1, &g, 1); /* s1 until 2500 */
	/* Nothing expired yet. */
	assert_int_equal(gw_spool_expire(sp, 1999), 0);
	/* s0 expires and goes before s2, s3. */
	assert_int_equal(gw_spool_expire(sp, 2000), 1);
	lease_n(sp, 3, 2000, 1, &g, 1);
	assert_memory_equal(g.id[0], s[0].id, GW_ID_LEN);
	assert_int_equal(g.attempt[0], 2);
	/* Owner 2's pipe closes: s1 back to the front at once. */
	assert_int_equal(gw_spool_release_owner(sp, 2), 1);
	assert_int_equal(gw_spool_release_owner(sp, 2), 0);
	assert_int_equal(gw_spool_release_owner(sp, 0), 0);
	lease_n(sp, 4, 2000, 3, &g, 3);
	assert_memory_equal(g.id[0], s[1].id, GW_ID_LEN);
	assert_int_equal(g.attempt[0], 2);
	assert_memory_equal(g.id[1], s[2].id, GW_ID_LEN);
	assert_int_equal(g.attempt[1], 1);
	assert_memory_equal(g.id[2], s[3].id, GW_ID_LEN);
	/* Owner 0 and max 0 lease nothing. */
	lease_n(sp, 0, 0, 5, &g, 0);
	gw_spool_free(sp);
}

static void
full_and_idempotent(void **state)
{
	gw_spool *sp = NULL;
	gw_spool_stats st;
	struct sub s[12];
	gw_spool_item items[12];
	size_t n = 0;

	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	for (unsigned i = 0; i < 12; i++) {
		make_sub(&s[i], 200 + i);
	}
	/* One batch of 12 with a duplicate inside it: room for 10. */
	for (unsigned i = 0; i < 12; i++) {
		struct sub *x = i == 5 ? &s[4] : &s[i];
		items[n].id = x->id;
		items[n].sealed = x->sealed;
		items[n].len = sizeof(x->sealed);
		items[n].key_id = 3;
		items[n].accepted_at = 100 + i;
		n++;
	}
	assert_int_equal(gw_spool_append(sp, items, n), ITK_OK);
	assert_int_equal(items[4].result, ITK_OK);
	assert_int_equal(items[5].result, ITK_E_DUPLICATE);
	assert_int_equal(items[5].accepted_at, 104); /* the original's */
	assert_int_equal(items[10].result, ITK_OK);
	assert_int_equal(items[11].result, ITK_E_FULL);
	gw_spool_get_stats(sp, &st);
	assert_int_equal(st.pending, 10);
	assert_int_equal(st.bytes, 10 * SEALED_LEN);
	assert_true(gw_spool_would_overflow(sp, 1));
	/* A resend of a stored one is a duplicate, even when full. */
	{
		gw_spool_item it;
		assert_int_equal(append_one(sp, &s[0], 999, 3, &it), ITK_OK);
		assert_int_equal(it.result, ITK_E_DUPLICATE);
		assert_int_equal(it.accepted_at, 100);
	}
	gw_spool_get_stats(sp, &st);
	assert_int_equal(st.pending, 10);
	gw_spool_free(sp);
}

struct page {
	size_t n;
	size_t lens[GW_MAILBOX_PAGE_MAX];
	uint8_t first[GW_MAILBOX_PAGE_MAX];
};

static itk_err
page_cb(void *arg, const uint8_t *const *reply, const size_t *len, size_t n)
{
	struct page *p = arg;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		p->lens[i] = len[i];
		p->first[i] = reply[i][0];
	}
	return ITK_OK;
}

static void
mailbox_paging_and_prune(void **state)
{
	gw_spool *sp = NULL;
	uint8_t mbox[ITK_MAILBOX_ID_LEN], other[ITK_MAILBOX_ID_LEN];
	uint8_t rid[GW_MAILBOX_PAGE_MAX + 5][GW_ID_LEN];
	uint8_t body[GW_MAILBOX_PAGE_MAX + 5][16];
	gw_spool_reply rp[GW_MAILBOX_PAGE_MAX + 5];
	uint8_t next[GW_CURSOR_LEN];
	struct page p;
	bool more;
	size_t acked, stored, total = GW_MAILBOX_PAGE_MAX + 5;

	memset(mbox, 0x11, sizeof(mbox));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	for (size_t i = 0; i < total; i++) {
		memset(body[i], (int)i, sizeof(body[i]));
		itk_sha256(rid[i], body[i], sizeof(body[i]));
		rp[i].mailbox_id = i == total - 1 ? other : mbox;
		rp[i].reply_id = rid[i];
		rp[i].posted_at = 1000 + i;
		rp[i].reply = body[i];
		rp[i].reply_len = sizeof(body[i]);
	}
	assert_int_equal(gw_spool_worker_commit(sp, NULL, 0, rp, total, 10,
						&acked, &stored),
			 ITK_OK);
	assert_int_equal(stored, total);
	/* A resent batch stores nothing. */
	assert_int_equal(
	    gw_spool_worker_commit(sp, NULL, 0, rp, 3, 10, &acked, &stored),
	    ITK_OK);
	assert_int_equal(stored, 0);

	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    gw_spool_mailbox_read(sp, mbox, NULL, page_cb, &p, next, &more),
	    ITK_OK);
	assert_int_equal(p.n, GW_MAILBOX_PAGE_MAX);
	assert_true(more);
	assert_int_equal(p.first[0], 0);
	assert_int_equal(p.first[GW_MAILBOX_PAGE_MAX - 1],
			 GW_MAILBOX_PAGE_MAX - 1);
	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    gw_spool_mailbox_read(sp, mbox, next, page_cb, &p, next, &more),
	    ITK_OK);
	assert_int_equal(p.n, total - 1 - GW_MAILBOX_PAGE_MAX);
	assert_false(more);
	assert_int_equal(p.first[0], GW_MAILBOX_PAGE_MAX);
	/* Another mailbox sees only its own. */
	assert_int_equal(
	    gw_spool_mailbox_read(sp, other, NULL, page_cb, &p, next, &more),
	    ITK_OK);
	assert_int_equal(p.n, 1);

	/* Prune: replies stored at 10, retention 1000. */
	assert_int_equal(gw_spool_prune(sp, 1009, 1000), 0);
	assert_int_equal(gw_spool_prune(sp, 1010, 5), 5);
	assert_int_equal(gw_spool_prune(sp, 1010, 1000), total - 5);
	assert_int_equal(
	    gw_spool_mailbox_read(sp, mbox, NULL, page_cb, &p, next, &more),
	    ITK_OK);
	assert_int_equal(p.n, 0);
	gw_spool_free(sp);
}

static void
seen_retention_is_bounded(void **state)
{
	gw_spool *sp = NULL;
	struct sub s;
	gw_spool_item it;
	const uint8_t *acks[1] = {s.id};
	size_t acked, stored;
	uint64_t at;
	uint32_t kid;

	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	make_sub(&s, 999);
	assert_int_equal(append_one(sp, &s, 7200, 4, &it), ITK_OK);
	assert_int_equal(
	    gw_spool_worker_commit(sp, acks, 1, NULL, 0, 500, &acked, &stored),
	    ITK_OK);
	assert_int_equal(acked, 1);
	assert_int_equal(gw_spool_lookup(sp, s.id, &at, &kid), ITK_OK);
	assert_int_equal(gw_spool_prune(sp, 599, 100), 0);
	assert_int_equal(gw_spool_prune(sp, 600, 100), 1);
	assert_int_equal(gw_spool_lookup(sp, s.id, &at, &kid),
			 ITK_E_NOT_FOUND);
	gw_spool_free(sp);
}

static itk_err
fail_cb(void *arg, const gw_delivery *d, size_t n)
{
	return ITK_E_NET;
}

static void
lease_callback_error_is_returned(void **state)
{
	gw_spool *sp = NULL;
	struct sub s;
	gw_spool_item it;
	size_t n;

	assert_int_equal(gw_spool_open(dir, &opts, &sp), ITK_OK);
	make_sub(&s, 4242);
	assert_int_equal(append_one(sp, &s, 0, 1, &it), ITK_OK);
	assert_int_equal(gw_spool_lease(sp, 8, 0, 1, fail_cb, NULL, &n),
			 ITK_E_NET);
	/* The lease stands until the pipe closes or it times out. */
	assert_int_equal(gw_spool_leased_by(sp, 8), 1);
	assert_int_equal(gw_spool_expire(sp, 999), 0);
	assert_int_equal(gw_spool_expire(sp, 1000), 1);
	gw_spool_free(sp);
}

static void
open_refuses_a_file_as_dir(void **state)
{
	gw_spool *sp = NULL;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/notadir", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_not_equal(gw_spool_open(path, &opts, &sp), ITK_OK);
	assert_null(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(append_lease_ack_reopen, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(expire_and_release_go_to_front,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(full_and_idempotent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(mailbox_paging_and_prune, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(seen_retention_is_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lease_callback_error_is_returned,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(open_refuses_a_file_as_dir, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
