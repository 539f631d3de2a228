/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault/audit.c: audit_verify over a vault of 40,000 leaves (more than two
 * of its reading windows, so findings in later windows and the joins
 * between them are covered), clean and tampered, on one thread and on
 * two: both must report exactly the same findings in the same order.
 * Tampering is done on copies (mdb_env_copy) with LMDB directly, as an
 * attacker holding the file would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "note.h"
#include "sha256.h"
#include "tlog.h"
#include "vault.h"
#include "vault_log.h"

#define MESSAGES 20000u /* two leaves each: case created, message added */
#define LEAVES   (2u * MESSAGES)
#define BATCH    4000u
#define MAXF     64u

static char base[] = "/tmp/test-audit-XXXXXX";
static char vdir[sizeof(base) + 16];
static note_signer *signer;
static unsigned copies;
/* A checkpoint "seen elsewhere" passed to audit_verify, or NULL. */
static const uint8_t *seen_note;
static size_t seen_len;

/* What one verify reported. */
typedef struct {
	itk_err r;
	audit_report rep;
	unsigned count[AUDIT_DAMAGED + 1];
	size_t n;
	audit_finding kind[MAXF];
	char msg[MAXF][160];
} result;

static void
on_finding(void *arg, audit_finding f, const char *message)
{
	result *res = arg;

	if ((unsigned)f <= AUDIT_DAMAGED) {
		res->count[f]++;
	}
	if (res->n < MAXF) {
		res->kind[res->n] = f;
		(void)snprintf(res->msg[res->n], sizeof(res->msg[0]), "%s",
			       message);
		res->n++;
	}
}

static void
verify(const char *dir, unsigned threads, result *res)
{
	audit_opts o = {.finding = on_finding,
			.arg = res,
			.threads = threads,
			.seen = seen_note,
			.seen_len = seen_len};

	memset(res, 0, sizeof(*res));
	res->r =
	    audit_verify(dir, note_signer_verifier(signer), &o, &res->rep);
}

/* Verifies on one thread and on two; asserts they agree; *out = one. */
static void
verify_both(const char *dir, result *out)
{
	static result two;

	verify(dir, 1, out);
	verify(dir, 0, &two);
	assert_int_equal(out->r, two.r);
	assert_int_equal(out->rep.findings, two.rep.findings);
	assert_int_equal(out->rep.records, two.rep.records);
	assert_int_equal(out->rep.keys, two.rep.keys);
	assert_int_equal(out->rep.leaves, two.rep.leaves);
	assert_int_equal(out->n, two.n);
	for (size_t i = 0; i < out->n; i++) {
		assert_int_equal(out->kind[i], two.kind[i]);
		assert_string_equal(out->msg[i], two.msg[i]);
	}
}

static int
setup(void **state)
{
	uint8_t key[VAULT_KEY_LEN], seed[32], pk[32], sk[64];
	static uint8_t sealed[BATCH][64];
	static vault_message m[BATCH];
	vault_options vo = {0};
	itk_buf *note = itk_buf_new(4096);
	vault *v = NULL;
	uint64_t n = 0;
	int rc = -1;

	if (sodium_init() < 0 || itk_crypto_init() != ITK_OK || note == NULL ||
	    mkdtemp(base) == NULL) {
		goto out;
	}
	(void)snprintf(vdir, sizeof(vdir), "%s/vault", base);
	if (mkdir(vdir, 0700) != 0) {
		goto out;
	}
	vo.dir = vdir;
	vo.map_size = 1ull << 30;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if (note_signer_new("audit.test/log", NOTE_TYPE_ED25519, sk,
			    &signer) != ITK_OK ||
	    vault_open(&vo, key, &v) != ITK_OK) {
		goto out;
	}
	for (size_t done = 0; done < MESSAGES; done += BATCH) {
		for (size_t k = 0; k < BATCH; k++) {
			memset(&m[k], 0, sizeof(m[k]));
			itk_store_u64(sealed[k], n++);
			randombytes_buf(sealed[k] + 8, sizeof(sealed[k]) - 8);
			m[k].sealed = sealed[k];
			m[k].sealed_len = sizeof(sealed[k]);
			itk_sha256(m[k].submission_id, sealed[k],
				   sizeof(sealed[k]));
			m[k].accepted_at = 1795309200u;
			m[k].language = ITK_LANG_EN;
			m[k].queue = ITK_QUEUE_OTHER;
			m[k].urgency = ITK_URGENCY_NORMAL;
		}
		if (vault_commit(v, m, BATCH, NULL, 0, NULL) != ITK_OK) {
			goto out;
		}
	}
	if (vault_log_size(v, &n) != ITK_OK || n != LEAVES ||
	    vault_log_sign(v, signer, note, NULL) != ITK_OK) {
		goto out;
	}
	rc = 0;
out:
	vault_free(v);
	itk_buf_free(note);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
teardown(void **state)
{
	char cmd[128];

	note_signer_free(signer);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh copy of the vault to tamper with; its directory in out. */
static void
copy_vault(char *out, size_t cap)
{
	MDB_env *env;

	(void)snprintf(out, cap, "%s/copy%u", base, copies++);
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, vdir, MDB_RDONLY, 0), 0);
	assert_int_equal(mdb_env_copy(env, out), 0);
	mdb_env_close(env);
}

/* An open write transaction on dir with db opened. */
typedef struct {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
} edit;

static void
edit_begin(edit *e, const char *dir, const char *db)
{
	assert_int_equal(mdb_env_create(&e->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(e->env, 64), 0);
	assert_int_equal(mdb_env_set_mapsize(e->env, 1ull << 30), 0);
	assert_int_equal(mdb_env_open(e->env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &e->txn), 0);
	assert_int_equal(mdb_dbi_open(e->txn, db, 0, &e->dbi), 0);
}

static void
edit_commit(edit *e)
{
	assert_int_equal(mdb_txn_commit(e->txn), 0);
	mdb_env_close(e->env);
}

/* The key and value of the nth record of db (in key order), copied. */
static void
nth_record(edit *e, size_t nth, uint8_t *key, size_t *klen, uint8_t *val,
	   size_t *vlen)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc = 0;

	assert_int_equal(mdb_cursor_open(e->txn, e->dbi, &cur), 0);
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	for (size_t i = 0; i < nth && rc == 0; i++) {
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	assert_int_equal(rc, 0);
	assert_true(k.mv_size <= 255 && d.mv_size <= 4096);
	memcpy(key, k.mv_data, k.mv_size);
	*klen = k.mv_size;
	memcpy(val, d.mv_data, d.mv_size);
	*vlen = d.mv_size;
	mdb_cursor_close(cur);
}

static void
put(edit *e, const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_val k = {klen, (void *)key}, d = {vlen, (void *)val};

	assert_int_equal(mdb_put(e->txn, e->dbi, &k, &d, 0), 0);
}

static void
clean_vault_verifies(void **state)
{
	static result res;

	verify_both(vdir, &res);
	assert_int_equal(res.r, ITK_OK);
	assert_int_equal(res.rep.findings, 0);
	assert_int_equal(res.n, 0);
	assert_int_equal(res.rep.leaves, LEAVES);
	assert_int_equal(res.rep.checkpoint_size, LEAVES);
	assert_int_equal(res.rep.records, LEAVES);
	assert_int_equal(res.rep.keys, LEAVES);
}

/* The vault's hashes were made with SHA-NI (where present): the
 * libsodium path must agree on all 40,000 leaves and records. */
static void
clean_vault_verifies_with_libsodium_sha256(void **state)
{
	static result res;

	assert_int_equal(itk_sha256_force(ITK_SHA256_SODIUM), ITK_OK);
	verify_both(vdir, &res);
	assert_int_equal(itk_sha256_force(ITK_SHA256_AUTO), ITK_OK);
	assert_int_equal(res.r, ITK_OK);
	assert_int_equal(res.rep.findings, 0);
	assert_int_equal(res.rep.records, LEAVES);
}

/* A byte flipped in the last message record (last window of records),
 * and one in the first: two record-altered findings. */
static void
altered_records_found(void **state)
{
	static uint8_t key[255], val[4096];
	static result res;
	char dir[128];
	size_t klen, vlen;
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "messages");
	nth_record(&e, MESSAGES - 1, key, &klen, val, &vlen);
	val[vlen / 2] ^= 0x01;
	put(&e, key, klen, val, vlen);
	nth_record(&e, 0, key, &klen, val, &vlen);
	val[0] ^= 0x80;
	put(&e, key, klen, val, vlen);
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_equal(res.r, ITK_OK);
	assert_int_equal(res.rep.findings, 2);
	assert_int_equal(res.count[AUDIT_RECORD_ALTERED], 2);
}

/* Two message records with their values swapped (each still a valid
 * record): both altered. */
static void
swapped_records_found(void **state)
{
	static uint8_t k1[255], v1[4096], k2[255], v2[4096];
	static result res;
	char dir[128];
	size_t k1len, v1len, k2len, v2len;
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "messages");
	nth_record(&e, 17000, k1, &k1len, v1, &v1len);
	nth_record(&e, 17001, k2, &k2len, v2, &v2len);
	assert_true(v1len != v2len || memcmp(v1, v2, v1len) != 0);
	put(&e, k1, k1len, v2, v2len);
	put(&e, k2, k2len, v1, v1len);
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_equal(res.rep.findings, 2);
	assert_int_equal(res.count[AUDIT_RECORD_ALTERED], 2);
}

/* A record deleted and one added, both outside the log. */
static void
missing_and_unlogged_records_found(void **state)
{
	static uint8_t key[255], val[4096];
	static result res;
	char dir[128];
	size_t klen, vlen;
	MDB_val k;
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "messages");
	nth_record(&e, 19000, key, &klen, val, &vlen);
	k = (MDB_val){klen, key};
	assert_int_equal(mdb_del(e.txn, e.dbi, &k, NULL), 0);
	key[0] ^= 0xff; /* a new key, with a plausible value */
	put(&e, key, klen, val, vlen);
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_equal(res.rep.findings, 2);
	assert_int_equal(res.count[AUDIT_RECORD_MISSING], 1);
	assert_int_equal(res.count[AUDIT_RECORD_UNLOGGED], 1);
	assert_int_equal(res.rep.records, LEAVES);
}

/* A leaf in the third window rewritten (its value hash changed, the
 * stored tree left alone): the signed root, the stored tree and its
 * record all disagree. */
static void
rewritten_leaf_found(void **state)
{
	static uint8_t val[4096];
	static result res;
	uint8_t kb[8];
	char dir[128];
	MDB_val k = {8, kb}, d;
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "tlog.entry");
	itk_store_u64(kb, 35001);
	assert_int_equal(mdb_get(e.txn, e.dbi, &k, &d), 0);
	assert_true(d.mv_size <= sizeof(val) && d.mv_size > 32);
	memcpy(val, d.mv_data, d.mv_size);
	val[d.mv_size - 1] ^= 0x01; /* last byte of the value hash */
	put(&e, kb, 8, val, d.mv_size);
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_equal(res.r, ITK_OK);
	assert_int_equal(res.count[AUDIT_ROOT_MISMATCH], 1);
	assert_int_equal(res.count[AUDIT_STORE_MISMATCH], 1);
	assert_int_equal(res.count[AUDIT_RECORD_ALTERED], 1);
	assert_int_equal(res.rep.findings, 3);
}

/* A leaf replaced by bytes that do not parse: reported where it is, its
 * record then has no leaf, and the roots differ. */
static void
garbage_leaf_found(void **state)
{
	static const uint8_t junk[] = "not a leaf";
	static result res;
	uint8_t kb[8];
	char dir[128];
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "tlog.entry");
	itk_store_u64(kb, 20000);
	put(&e, kb, 8, junk, sizeof(junk));
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_equal(res.r, ITK_OK);
	assert_int_equal(res.count[AUDIT_BAD_LEAF], 1);
	assert_non_null(strstr(res.msg[0], "#20000"));
	assert_int_equal(res.count[AUDIT_ROOT_MISMATCH], 1);
	assert_int_equal(res.count[AUDIT_STORE_MISMATCH], 1);
	assert_int_equal(res.count[AUDIT_RECORD_UNLOGGED], 1);
	assert_int_equal(res.rep.findings, 4);
}

/* A leaf moved past the end (same count, so the store's size check
 * passes): the walk finds the gap and stops with damage. */
static void
gap_in_leaves_is_damage(void **state)
{
	static uint8_t val[4096];
	static result res;
	uint8_t kb[8];
	char dir[128];
	MDB_val k = {8, kb}, d;
	size_t len;
	edit e;

	copy_vault(dir, sizeof(dir));
	edit_begin(&e, dir, "tlog.entry");
	itk_store_u64(kb, 30000);
	assert_int_equal(mdb_get(e.txn, e.dbi, &k, &d), 0);
	memcpy(val, d.mv_data, d.mv_size);
	len = d.mv_size;
	assert_int_equal(mdb_del(e.txn, e.dbi, &k, NULL), 0);
	itk_store_u64(kb, LEAVES);
	put(&e, kb, 8, val, len);
	edit_commit(&e);
	verify_both(dir, &res);
	assert_int_not_equal(res.r, ITK_OK);
	assert_int_equal(res.count[AUDIT_DAMAGED], 1);
	assert_non_null(strstr(res.msg[res.n - 1], "#30000"));
}

/* A signed checkpoint for the first size leaves of the vault, with its
 * true root (or that root with a bit flipped), appended to out. */
static void
sign_at(uint64_t size, bool forge, itk_buf *out)
{
	uint8_t root[TLOG_HASH_LEN];
	itk_buf *body = itk_buf_new(1024);
	MDB_env *env;
	MDB_txn *txn;
	tlog *t;

	assert_non_null(body);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, vdir, MDB_RDONLY, 0), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_open(txn, &t), ITK_OK);
	assert_int_equal(tlog_root(t, txn, size, root), ITK_OK);
	tlog_free(t);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	if (forge) {
		root[7] ^= 0x10;
	}
	assert_int_equal(checkpoint_body("audit.test/log", size, root, body),
			 ITK_OK);
	assert_int_equal(
	    note_sign(signer, itk_buf_ptr(body), itk_buf_len(body), out),
	    ITK_OK);
	itk_buf_free(body);
}

/* A checkpoint seen elsewhere whose size falls inside a window (so that
 * window is hashed leaf by leaf, not as subtrees): its root is rebuilt;
 * a forged root for that size is a fork. */
static void
checkpoint_seen_mid_window(void **state)
{
	static const uint64_t sizes[] = {20001, 8192, 1, 39999};
	static result res;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		itk_buf *note = itk_buf_new(4096);
		assert_non_null(note);
		sign_at(sizes[i], false, note);
		seen_note = itk_buf_ptr(note);
		seen_len = itk_buf_len(note);
		verify_both(vdir, &res);
		assert_int_equal(res.r, ITK_OK);
		assert_int_equal(res.rep.findings, 0);
		assert_int_equal(res.rep.seen_size, sizes[i]);
		itk_buf_reset(note);
		sign_at(sizes[i], true, note);
		seen_note = itk_buf_ptr(note);
		seen_len = itk_buf_len(note);
		verify_both(vdir, &res);
		seen_note = NULL;
		seen_len = 0;
		itk_buf_free(note);
		assert_int_equal(res.r, ITK_OK);
		assert_int_equal(res.rep.findings, 1);
		assert_int_equal(res.count[AUDIT_ROOT_MISMATCH], 1);
	}
}

/* tlog_hasher_push_subtree (the auditor's parallel fold) equals pushing
 * the same leaves one by one, at every aligned position and level; a
 * misaligned subtree is refused and changes nothing. */
static void
hasher_subtree_equals_leaves(void **state)
{
	static uint8_t lh[1000][32];
	uint8_t a[32], b[32], sub[32];
	tlog_hasher h1, h2;

	randombytes_buf(lh, sizeof(lh));
	for (unsigned level = 0; level <= 6; level++) {
		size_t w = (size_t)1 << level;
		tlog_hasher_init(&h1);
		tlog_hasher_init(&h2);
		for (size_t i = 0; i + w <= 1000; i += w) {
			tlog_hasher t;
			tlog_hasher_init(&t);
			for (size_t k = 0; k < w; k++) {
				assert_int_equal(
				    tlog_hasher_push(&t, lh[i + k]), ITK_OK);
				assert_int_equal(
				    tlog_hasher_push(&h1, lh[i + k]), ITK_OK);
			}
			tlog_hasher_root(&t, sub);
			assert_int_equal(
			    tlog_hasher_push_subtree(&h2, level, sub), ITK_OK);
			assert_int_equal(h1.size, h2.size);
			tlog_hasher_root(&h1, a);
			tlog_hasher_root(&h2, b);
			assert_memory_equal(a, b, 32);
		}
		if (level > 0) {
			assert_int_equal(tlog_hasher_push(&h2, lh[0]), ITK_OK);
			tlog_hasher_root(&h2, a);
			assert_int_equal(
			    tlog_hasher_push_subtree(&h2, level, sub),
			    ITK_E_RANGE);
			tlog_hasher_root(&h2, b);
			assert_memory_equal(a, b, 32);
		}
	}
	tlog_hasher_init(&h1);
	assert_int_equal(tlog_hasher_push_subtree(&h1, 63, sub), ITK_E_RANGE);
	assert_int_equal(tlog_hasher_push_subtree(&h1, 62, sub), ITK_OK);
	assert_int_equal(tlog_hasher_push_subtree(&h1, 0, sub), ITK_E_FULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hasher_subtree_equals_leaves),
	    cmocka_unit_test(clean_vault_verifies),
	    cmocka_unit_test(clean_vault_verifies_with_libsodium_sha256),
	    cmocka_unit_test(checkpoint_seen_mid_window),
	    cmocka_unit_test(altered_records_found),
	    cmocka_unit_test(swapped_records_found),
	    cmocka_unit_test(missing_and_unlogged_records_found),
	    cmocka_unit_test(rewritten_leaf_found),
	    cmocka_unit_test(garbage_leaf_found),
	    cmocka_unit_test(gap_in_leaves_is_damage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
