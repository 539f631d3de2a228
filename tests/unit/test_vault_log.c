/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault's Merkle log wiring: the leaf encoding (leaf.h), one leaf per
 * change in the change's own transaction, none for an aborted one, and
 * the worker tier's log API (vault_log.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "file.h"
#include "leaf.h"
#include "note.h"
#include "tiles.h"
#include "tlog.h"
#include "vault.h"
#include "vault_impl.h"
#include "vault_log.h"

#define VAULT_FIXTURE_NAME "vlog"
#include "vault_fixture.h"

/* Message seed in the captivity queue, accepted at 3600, in Russian. */
static void
tmsg_init1(tmsg *t, int seed, int mbx)
{
	tmsg_init(t, seed, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, mbx, 3600);
	t->m.language = ITK_LANG_RU;
}

static uint64_t
log_size(vault *v)
{
	uint64_t n = 0;

	assert_int_equal(vault_log_size(v, &n), ITK_OK);
	return n;
}

/* Leaf index i must be (kind, db, key) and its hash that of the record
 * stored now under db/key (the latest leaf of a key only). */
static void
check_leaf(vault *v, uint64_t i, uint8_t kind, const char *db,
	   const uint8_t *k, size_t klen, bool latest)
{
	uint8_t h[32];
	itk_buf *b = itk_buf_new(VAULT_LEAF_MAX);
	vault_leaf l;
	MDB_txn *t = NULL;
	MDB_dbi dbi;
	MDB_val mk = {klen, (void *)(uintptr_t)k}, mv;

	assert_non_null(b);
	assert_int_equal(vault_log_entry(v, i, b), ITK_OK);
	assert_int_equal(vault_leaf_decode(itk_buf_ptr(b), itk_buf_len(b), &l),
			 ITK_OK);
	assert_int_equal(l.kind, kind);
	assert_int_equal(l.flags, 0);
	assert_int_equal(l.db_len, strlen(db));
	assert_memory_equal(l.db, db, l.db_len);
	assert_int_equal(l.key_len, klen);
	assert_memory_equal(l.key, k, klen);
	assert_int_equal(l.time % VAULT_LEAF_TIME_STEP, 0);
	assert_true(l.time > 1700000000u - VAULT_LEAF_TIME_STEP);
	if (latest) {
		assert_int_equal(mdb_txn_begin(v->env, NULL, MDB_RDONLY, &t),
				 0);
		assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
		assert_int_equal(mdb_get(t, dbi, &mk, &mv), 0);
		itk_sha256(h, mv.mv_data, mv.mv_size);
		assert_memory_equal(h, l.value_hash, 32);
		mdb_txn_abort(t);
	}
	itk_buf_free(b);
}

/* --- leaf encoding -------------------------------------------------- */

static size_t
sample_leaf(uint8_t *out, size_t cap, uint8_t flags)
{
	static const uint8_t k[32] = {1, 2, 3};
	vault_leaf l = {.kind = VAULT_LEAF_MESSAGE,
			.flags = flags,
			.time = 1763776800u,
			.db = "messages",
			.db_len = 8,
			.key = k,
			.key_len = sizeof(k)};
	size_t n = 0;

	if (flags == 0) {
		memset(l.value_hash, 0xab, sizeof(l.value_hash));
	}
	assert_int_equal(vault_leaf_encode(&l, out, cap, &n), ITK_OK);
	return n;
}

static void
leaf_bytes_and_roundtrip(void **state)
{
	uint8_t p[VAULT_LEAF_MAX];
	vault_leaf l;
	size_t n;

	(void)state;
	n = sample_leaf(p, sizeof(p), 0);
	/* docs/audit.md: 12 fixed bytes before the name, then name, key
	 * length, key, hash. */
	assert_int_equal(n, VAULT_LEAF_FIXED_LEN + 8 + 32);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[1], VAULT_LEAF_MESSAGE);
	assert_int_equal(p[2], 0);
	assert_int_equal(itk_load_u64(p + 3), 1763776800u);
	assert_int_equal(p[11], 8);
	assert_memory_equal(p + 12, "messages", 8);
	assert_int_equal(p[20], 32);
	assert_int_equal(p[21], 1);
	assert_int_equal(p[n - 1], 0xab);
	assert_int_equal(vault_leaf_decode(p, n, &l), ITK_OK);
	assert_int_equal(l.kind, VAULT_LEAF_MESSAGE);
	assert_int_equal(l.time, 1763776800u);
	assert_int_equal(l.key_len, 32);
	assert_int_equal(l.value_hash[31], 0xab);
	/* A deleted record's leaf has a zero hash. */
	n = sample_leaf(p, sizeof(p), VAULT_LEAF_F_DELETED);
	assert_int_equal(vault_leaf_decode(p, n, &l), ITK_OK);
	assert_int_equal(l.flags, VAULT_LEAF_F_DELETED);
	assert_int_equal(l.value_hash[0], 0);
	assert_int_equal(vault_leaf_time(1763779199u), 1763776800u);
}

static void
leaf_decode_is_strict(void **state)
{
	uint8_t p[VAULT_LEAF_MAX + 1], q[VAULT_LEAF_MAX + 1];
	vault_leaf l;
	size_t n;

	(void)state;
	n = sample_leaf(p, sizeof(p), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_leaf_decode(p, i, &l), ITK_OK);
	}
	p[n] = 0;
	assert_int_equal(vault_leaf_decode(p, n + 1, &l), ITK_E_TRAILING);
	memcpy(q, p, n);
	q[0] = 2;
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_VERSION);
	memcpy(q, p, n);
	q[1] = 0; /* kind 0 */
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_FORMAT);
	memcpy(q, p, n);
	q[2] = 0x02; /* unknown flag */
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_FORMAT);
	memcpy(q, p, n);
	q[2] = VAULT_LEAF_F_DELETED; /* deleted, yet a hash */
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_FORMAT);
	memcpy(q, p, n);
	q[10] ^= 1; /* time not on the hour */
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_FORMAT);
	memcpy(q, p, n);
	q[12] = 'M'; /* db name outside [a-z0-9_.] */
	assert_int_equal(vault_leaf_decode(q, n, &l), ITK_E_FORMAT);
	memcpy(q, p, n);
	q[11] = 9; /* name length off by one: everything shifts */
	assert_int_not_equal(vault_leaf_decode(q, n, &l), ITK_OK);
	memcpy(q, p, n);
	q[20] = 0; /* empty key */
	assert_int_not_equal(vault_leaf_decode(q, n, &l), ITK_OK);
	/* The encoder refuses what the decoder would. */
	{
		vault_leaf bad = {.kind = 1,
				  .db = "Messages",
				  .db_len = 8,
				  .key = p,
				  .key_len = 1};
		assert_int_equal(vault_leaf_encode(&bad, q, sizeof(q), &n),
				 ITK_E_RANGE);
		bad.db = "messages";
		bad.key_len = 0;
		assert_int_equal(vault_leaf_encode(&bad, q, sizeof(q), &n),
				 ITK_E_RANGE);
		bad.key_len = 1;
		assert_int_equal(vault_leaf_encode(&bad, q, 10, &n),
				 ITK_E_TOO_BIG);
	}
}

/* --- one leaf per change ------------------------------------------- */

static void
every_change_one_leaf(void **state)
{
	vault *v = open_vault(0);
	tmsg a, b, c;
	uint8_t garbage[40] = "garbage";
	vault_quarantine_item q = {.intake_key_id = 1,
				   .accepted_at = 7200,
				   .sealed = garbage,
				   .sealed_len = sizeof(garbage),
				   .reason = ITK_E_DECRYPT};
	vault_result res[3];

	(void)state;
	itk_sha256(q.submission_id, garbage, sizeof(garbage));
	assert_int_equal(log_size(v), 0);
	tmsg_init1(&a, 1, 1);
	tmsg_init1(&b, 2, 1); /* follows a up: same mailbox */
	tmsg_init1(&c, 3, -1);
	/* a: case created + message; b: case joined + message. */
	assert_int_equal(vault_commit(v, &a.m, 1, NULL, 0, res), ITK_OK);
	assert_int_equal(log_size(v), 2);
	check_leaf(v, 0, VAULT_LEAF_CASE_NEW, "cases", a.m.submission_id, 32,
		   false);
	check_leaf(v, 1, VAULT_LEAF_MESSAGE, "messages", a.m.submission_id, 32,
		   true);
	assert_int_equal(vault_commit(v, &b.m, 1, &q, 1, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_FOLLOW_UP);
	assert_int_equal(log_size(v), 5);
	check_leaf(v, 2, VAULT_LEAF_CASE_JOIN, "cases", a.m.submission_id, 32,
		   true);
	check_leaf(v, 3, VAULT_LEAF_MESSAGE, "messages", b.m.submission_id, 32,
		   true);
	check_leaf(v, 4, VAULT_LEAF_QUARANTINE, "quarantine", q.submission_id,
		   32, true);
	/* Duplicates change nothing and append nothing. */
	assert_int_equal(vault_commit(v, &a.m, 1, &q, 1, res), ITK_OK);
	assert_int_equal(res[0].outcome, VAULT_STORED_DUPLICATE);
	assert_int_equal(log_size(v), 5);
	/* Two in one batch: four leaves in one transaction. */
	{
		tmsg two[2];
		vault_message m2[2];
		tmsg_init1(&two[0], 10, 10);
		tmsg_init1(&two[1], 11, 11);
		m2[0] = two[0].m;
		m2[1] = two[1].m;
		assert_int_equal(vault_commit(v, m2, 2, NULL, 0, res), ITK_OK);
		assert_int_equal(log_size(v), 9);
	}
	/* Closing: one leaf; closing again: none. */
	assert_int_equal(vault_case_close(v, a.m.submission_id), ITK_OK);
	assert_int_equal(log_size(v), 10);
	check_leaf(v, 9, VAULT_LEAF_CASE_CLOSE, "cases", a.m.submission_id, 32,
		   true);
	assert_int_equal(vault_case_close(v, a.m.submission_id), ITK_OK);
	assert_int_equal(log_size(v), 10);
	/* c: a case without contact; the log survives a reopen. */
	assert_int_equal(vault_commit(v, &c.m, 1, NULL, 0, res), ITK_OK);
	vault_free(v);
	v = open_vault(0);
	assert_int_equal(log_size(v), 12);
	check_leaf(v, 11, VAULT_LEAF_MESSAGE, "messages", c.m.submission_id,
		   32, true);
	vault_free(v);
	/* A read-only open (an auditor's) sees the same log. */
	{
		vault_options o = {.dir = vdir, .read_only = true};
		assert_int_equal(vault_open(&o, NULL, &v), ITK_OK);
		assert_int_equal(log_size(v), 12);
		vault_free(v);
	}
}

static void
aborted_txn_appends_nothing(void **state)
{
	static const uint8_t k[32] = {9};
	vault *v = open_vault(0);
	vault_txn t;
	tmsg a;

	(void)state;
	tmsg_init1(&a, 1, 1);
	assert_int_equal(vault_commit(v, &a.m, 1, NULL, 0, NULL), ITK_OK);
	assert_int_equal(log_size(v), 2);
	assert_int_equal(vault_txn_begin(v, &t), ITK_OK);
	assert_int_equal(
	    vault_txn_changed(&t, VAULT_CHANGE_MESSAGE, k, 32, k, 32), ITK_OK);
	assert_int_equal(
	    vault_txn_changed(&t, VAULT_CHANGE_CASE, k, 32, NULL, 0), ITK_OK);
	assert_int_equal(t.changes, 2);
	/* Bad calls are bugs, refused without appending. */
	assert_int_equal(vault_txn_changed(&t, (vault_change)99, k, 32, k, 32),
			 ITK_E_INTERNAL);
	assert_int_equal(vault_txn_changed(&t, VAULT_CHANGE_CASE, k, 0, k, 32),
			 ITK_E_INTERNAL);
	assert_int_equal(t.changes, 2);
	vault_txn_abort(&t);
	assert_int_equal(log_size(v), 2);
	vault_free(v);
}

/* A batch that fills the map aborts: neither records nor leaves. */
static void
map_full_appends_nothing(void **state)
{
	enum { N = 64 };
	vault *v = open_vault(1u << 20);
	uint8_t(*sealed)[64 * 1024] = calloc(N, 64 * 1024);
	vault_message m[N];
	vault_stats st;
	uint64_t before;

	(void)state;
	assert_non_null(sealed);
	{
		tmsg a;
		tmsg_init1(&a, 1, -1);
		assert_int_equal(vault_commit(v, &a.m, 1, NULL, 0, NULL),
				 ITK_OK);
	}
	before = log_size(v);
	for (int i = 0; i < N; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		randombytes_buf(sealed[i], sizeof(sealed[i]));
		m[i].sealed = sealed[i];
		m[i].sealed_len = sizeof(sealed[i]);
		itk_sha256(m[i].submission_id, sealed[i], sizeof(sealed[i]));
		m[i].language = ITK_LANG_EN;
	}
	assert_int_equal(vault_commit(v, m, N, NULL, 0, NULL), ITK_E_FULL);
	assert_int_equal(log_size(v), before);
	assert_int_equal(vault_get_stats(v, &st), ITK_OK);
	assert_int_equal(st.messages, 1);
	free(sealed);
	vault_free(v);
}

/* --- signing and tiles ---------------------------------------------- */

static note_signer *
test_signer(void)
{
	uint8_t seed[32], pk[32], sk[64];
	note_signer *s = NULL;

	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_int_equal(
	    note_signer_new("test.example/log", NOTE_TYPE_ED25519, sk, &s),
	    ITK_OK);
	sodium_memzero(sk, sizeof(sk));
	return s;
}

struct collect {
	vault *v;
	const char *dir;
	size_t n;
	size_t matched;
};

static itk_err
tile_matches_file(void *arg, int level, uint64_t n, unsigned w)
{
	struct collect *c = arg;
	char rel[TILES_PATH_MAX], path[512];
	itk_buf *mine = itk_buf_new(TILES_BUNDLE_MAX), *disk = NULL;
	itk_err r;

	assert_non_null(mine);
	assert_int_equal(tiles_path(rel, sizeof(rel), level, n, w), ITK_OK);
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	assert_int_equal(vault_log_tile(c->v, level, n, w, mine), ITK_OK);
	r = itk_file_read(path, TILES_BUNDLE_MAX, &disk);
	assert_int_equal(r, ITK_OK);
	assert_int_equal(itk_buf_len(mine), itk_buf_len(disk));
	assert_memory_equal(itk_buf_ptr(mine), itk_buf_ptr(disk),
			    itk_buf_len(disk));
	c->n++;
	c->matched++;
	itk_buf_free(mine);
	itk_buf_free(disk);
	return ITK_OK;
}

static size_t
count_tiles(uint64_t old, uint64_t new)
{
	size_t total = 0;

	/* Counted by a different route: every tile of new minus those
	 * of old with the same path. */
	for (int l = -1; l < 8; l++) {
		unsigned sh = l < 0 ? 0 : (unsigned)l * 8;
		uint64_t cn = new >> sh, co = old >> sh;
		if (l >= 0 && cn == 0) {
			continue;
		}
		for (uint64_t n = 0; n * 256 < cn; n++) {
			uint64_t wn = cn - n * 256 > 256 ? 256 : cn - n * 256;
			uint64_t wo = co > n * 256 ? co - n * 256 : 0;
			wo = wo > 256 ? 256 : wo;
			total += wn != wo;
		}
	}
	return total;
}

static void
sign_and_tiles(void **state)
{
	uint64_t sizes[] = {1, 255, 256, 257, 700};
	uint64_t prev = 0;
	note_signer *s = test_signer();
	vault *v = open_vault(0);
	itk_buf *note = itk_buf_new(CHECKPOINT_MAX);
	char tdir[128];
	int seed = 0;

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/tiles", dir);
	assert_int_equal(vault_log_latest(v, note), ITK_E_NOT_FOUND);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct collect c = {.v = v, .dir = tdir};
		checkpoint cp;
		uint64_t sz = 0;
		/* Quarantine items: exactly one leaf each. */
		while (log_size(v) < sizes[i]) {
			uint8_t g[40] = {0};
			vault_quarantine_item q = {.sealed = g,
						   .sealed_len = sizeof(g),
						   .reason = ITK_E_FORMAT};
			itk_store_u32(g, (uint32_t)++seed);
			itk_sha256(q.submission_id, g, sizeof(g));
			assert_int_equal(vault_commit(v, NULL, 0, &q, 1, NULL),
					 ITK_OK);
		}
		itk_buf_reset(note);
		assert_int_equal(vault_log_sign(v, s, note, &sz), ITK_OK);
		assert_int_equal(sz, sizes[i]);
		assert_int_equal(
		    checkpoint_open(itk_buf_ptr(note), itk_buf_len(note),
				    note_signer_verifier(s), &cp, NULL),
		    ITK_OK);
		assert_int_equal(cp.size, sizes[i]);
		/* Signing again at the same size returns the same note. */
		{
			itk_buf *again = itk_buf_new(CHECKPOINT_MAX);
			assert_int_equal(vault_log_sign(v, s, again, NULL),
					 ITK_OK);
			assert_int_equal(itk_buf_len(again),
					 itk_buf_len(note));
			assert_memory_equal(itk_buf_ptr(again),
					    itk_buf_ptr(note),
					    itk_buf_len(note));
			itk_buf_free(again);
		}
		assert_int_equal(vault_log_export(v, tdir, NULL), ITK_OK);
		/* The tiles listed as new equal the exported files. */
		assert_int_equal(vault_log_tiles_between(
				     prev, sizes[i], tile_matches_file, &c),
				 ITK_OK);
		assert_int_equal(c.n, count_tiles(prev, sizes[i]));
		assert_true(c.n > 0);
		prev = sizes[i];
	}
	/* A tile past the end is not there. */
	{
		itk_buf *b = itk_buf_new(TILES_BUNDLE_MAX);
		assert_int_equal(vault_log_tile(v, 0, 3, 1, b),
				 ITK_E_NOT_FOUND);
		assert_int_equal(vault_log_tile(v, 0, 0, 0, b), ITK_E_RANGE);
		itk_buf_free(b);
	}
	itk_buf_free(note);
	note_signer_free(s);
	vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(leaf_bytes_and_roundtrip),
	    cmocka_unit_test(leaf_decode_is_strict),
	    cmocka_unit_test_setup_teardown(every_change_one_leaf, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(aborted_txn_appends_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(map_full_appends_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(sign_and_tiles, setup, teardown),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
