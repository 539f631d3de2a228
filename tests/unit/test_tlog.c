/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Merkle log: RFC 6962 known answers (tests/vectors/tlog/rfc6962.txt),
 * every proof against a naive reference written from the RFC text, the
 * verifiers' negative cases, and the LMDB store's transactional and
 * integrity behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"
#include "file.h"
#include "tlog_test_env.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

#define H TLOG_HASH_LEN

/* --- A naive reference, straight from RFC 9162 2.1 -------------------- */

static uint64_t
ref_k(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n) {
		k *= 2;
	}
	return k;
}

/* MTH over leaf hashes lh[lo:hi]. */
static void
ref_mth(uint8_t (*lh)[H], uint64_t lo, uint64_t hi, uint8_t out[H])
{
	uint8_t l[H], r[H];
	uint64_t k;

	if (hi - lo == 0) {
		tlog_empty_root(out);
		return;
	}
	if (hi - lo == 1) {
		memcpy(out, lh[lo], H);
		return;
	}
	k = ref_k(hi - lo);
	ref_mth(lh, lo, lo + k, l);
	ref_mth(lh, lo + k, hi, r);
	tlog_node_hash(out, l, r);
}

static void
ref_path(uint8_t (*lh)[H], uint64_t m, uint64_t lo, uint64_t hi, tlog_proof *p)
{
	uint64_t k;

	if (hi - lo <= 1) {
		return;
	}
	k = ref_k(hi - lo);
	if (m < k) {
		ref_path(lh, m, lo, lo + k, p);
		ref_mth(lh, lo + k, hi, p->h[p->n++]);
	} else {
		ref_path(lh, m - k, lo + k, hi, p);
		ref_mth(lh, lo, lo + k, p->h[p->n++]);
	}
}

static void
ref_subproof(uint8_t (*lh)[H], uint64_t m, uint64_t lo, uint64_t hi, int b,
	     tlog_proof *p)
{
	uint64_t k;

	if (m == hi - lo) {
		if (!b) {
			ref_mth(lh, lo, hi, p->h[p->n++]);
		}
		return;
	}
	k = ref_k(hi - lo);
	if (m <= k) {
		ref_subproof(lh, m, lo, lo + k, b, p);
		ref_mth(lh, lo + k, hi, p->h[p->n++]);
	} else {
		ref_subproof(lh, m - k, lo + k, hi, 0, p);
		ref_mth(lh, lo, lo + k, p->h[p->n++]);
	}
}

/* --- Known answers ------------------------------------------------------ */

typedef struct {
	uint8_t leaves[8][32];
	size_t leaf_len[8];
	size_t nleaves;
} kat;

/* Splits the next space-separated token off *p (within end). */
static int
token(const char **p, const char *end, const char **tok, size_t *len)
{
	while (*p < end && **p == ' ') {
		(*p)++;
	}
	if (*p >= end) {
		return 0;
	}
	*tok = *p;
	while (*p < end && **p != ' ') {
		(*p)++;
	}
	*len = (size_t)(*p - *tok);
	return 1;
}

static uint64_t
tok_u64(const char *tok, size_t len)
{
	char tmp[24];
	char *endp = NULL;
	uint64_t v;

	assert_true(len > 0 && len < sizeof(tmp));
	memcpy(tmp, tok, len);
	tmp[len] = '\0';
	v = strtoull(tmp, &endp, 10);
	assert_true(*endp == '\0');
	return v;
}

static void
tok_hash(const char *tok, size_t len, uint8_t out[H])
{
	assert_int_equal(itk_unhex(out, H, tok, len), ITK_OK);
}

/* Reads the rest of a line as hashes into p. */
static void
tok_proof(const char **p, const char *end, tlog_proof *out)
{
	const char *tok;
	size_t len;

	out->n = 0;
	while (token(p, end, &tok, &len)) {
		assert_true(out->n < TLOG_PROOF_MAX);
		tok_hash(tok, len, out->h[out->n++]);
	}
}

static void
assert_proof_eq(const tlog_proof *a, const tlog_proof *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_memory_equal(a->h[i], b->h[i], H);
	}
}

static void
rfc6962_known_answers(void **state)
{
	test_env *e = *state;
	itk_buf *f = NULL;
	MDB_txn *txn = NULL;
	const char *p, *end, *tok;
	size_t len;
	kat k = {0};
	unsigned roots = 0, incl = 0, cons = 0;

	assert_int_equal(itk_file_read(TEST_SRCDIR
				       "/tests/vectors/tlog/rfc6962.txt",
				       1u << 16, &f),
			 ITK_OK);
	p = (const char *)itk_buf_ptr(f);
	end = p + itk_buf_len(f);
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		uint8_t want[H], got[H];
		tlog_proof wp, gp;
		if (*p == '#' || p == le || !token(&p, le, &tok, &len)) {
			p = le + 1;
			continue;
		}
		if (len == 4 && memcmp(tok, "leaf", 4) == 0) {
			assert_true(token(&p, le, &tok, &len));
			size_t n = k.nleaves++;
			if (len == 1 && tok[0] == '-') {
				k.leaf_len[n] = 0;
			} else {
				k.leaf_len[n] = len / 2;
				assert_int_equal(
				    itk_unhex(k.leaves[n], len / 2, tok, len),
				    ITK_OK);
			}
			assert_int_equal(tlog_append(e->t, txn, k.leaves[n],
						     k.leaf_len[n], NULL),
					 ITK_OK);
		} else if (len == 4 && memcmp(tok, "root", 4) == 0) {
			assert_true(token(&p, le, &tok, &len));
			uint64_t size = tok_u64(tok, len);
			assert_true(token(&p, le, &tok, &len));
			tok_hash(tok, len, want);
			assert_int_equal(tlog_root(e->t, txn, size, got),
					 ITK_OK);
			assert_memory_equal(got, want, H);
			roots++;
		} else if (len == 9 && memcmp(tok, "inclusion", 9) == 0) {
			assert_true(token(&p, le, &tok, &len));
			uint64_t idx = tok_u64(tok, len);
			assert_true(token(&p, le, &tok, &len));
			uint64_t size = tok_u64(tok, len);
			tok_proof(&p, le, &wp);
			assert_int_equal(
			    tlog_prove_inclusion(e->t, txn, idx, size, &gp),
			    ITK_OK);
			assert_proof_eq(&gp, &wp);
			uint8_t leaf[H];
			tlog_leaf_hash(leaf, k.leaves[idx], k.leaf_len[idx]);
			assert_int_equal(tlog_root(e->t, txn, size, got),
					 ITK_OK);
			assert_int_equal(tlog_verify_inclusion(leaf, idx, size,
							       wp.h[0], wp.n,
							       got),
					 ITK_OK);
			incl++;
		} else if (len == 11 && memcmp(tok, "consistency", 11) == 0) {
			assert_true(token(&p, le, &tok, &len));
			uint64_t m = tok_u64(tok, len);
			assert_true(token(&p, le, &tok, &len));
			uint64_t n = tok_u64(tok, len);
			tok_proof(&p, le, &wp);
			assert_int_equal(
			    tlog_prove_consistency(e->t, txn, m, n, &gp),
			    ITK_OK);
			assert_proof_eq(&gp, &wp);
			uint8_t rm[H];
			assert_int_equal(tlog_root(e->t, txn, m, rm), ITK_OK);
			assert_int_equal(tlog_root(e->t, txn, n, got), ITK_OK);
			assert_int_equal(tlog_verify_consistency(
					     m, n, rm, got, wp.h[0], wp.n),
					 ITK_OK);
			cons++;
		} else {
			fail_msg("unknown vector line");
		}
		p = le + 1;
	}
	/* Every kind of vector was present and checked. */
	assert_int_equal(k.nleaves, 8);
	assert_int_equal(roots, 9);
	assert_true(incl >= 4 && cons >= 3);

	/* The streaming hasher agrees at every size. */
	tlog_hasher hs;
	tlog_hasher_init(&hs);
	for (size_t i = 0; i <= k.nleaves; i++) {
		uint8_t a[H], b[H], lh[H];
		tlog_hasher_root(&hs, a);
		assert_int_equal(tlog_root(e->t, txn, i, b), ITK_OK);
		assert_memory_equal(a, b, H);
		if (i < k.nleaves) {
			tlog_leaf_hash(lh, k.leaves[i], k.leaf_len[i]);
			assert_int_equal(tlog_hasher_push(&hs, lh), ITK_OK);
		}
	}
	mdb_txn_abort(txn);
	itk_buf_free(f);
}

/* --- Every proof against the reference ---------------------------------- */

#define REF_N 70u

static void
all_proofs_match_reference(void **state)
{
	test_env *e = *state;
	static uint8_t lh[REF_N][H];
	uint8_t buf[64], root[H], rm[H];
	MDB_txn *txn = NULL;
	tlog_proof got, want;

	assert_int_equal(test_env_append(e, 0, REF_N), 0);
	for (uint64_t i = 0; i < REF_N; i++) {
		size_t len = test_entry(i, buf, sizeof(buf));
		tlog_leaf_hash(lh[i], buf, len);
	}
	assert_int_equal(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn), 0);
	for (uint64_t n = 1; n <= REF_N; n++) {
		ref_mth(lh, 0, n, want.h[0]);
		assert_int_equal(tlog_root(e->t, txn, n, root), ITK_OK);
		assert_memory_equal(root, want.h[0], H);
		for (uint64_t i = 0; i < n; i++) {
			want.n = 0;
			ref_path(lh, i, 0, n, &want);
			assert_int_equal(
			    tlog_prove_inclusion(e->t, txn, i, n, &got),
			    ITK_OK);
			assert_proof_eq(&got, &want);
			assert_int_equal(tlog_verify_inclusion(lh[i], i, n,
							       got.h[0], got.n,
							       root),
					 ITK_OK);
		}
		for (uint64_t m = 1; m <= n; m++) {
			want.n = 0;
			if (m < n) {
				ref_subproof(lh, m, 0, n, 1, &want);
			}
			assert_int_equal(
			    tlog_prove_consistency(e->t, txn, m, n, &got),
			    ITK_OK);
			assert_proof_eq(&got, &want);
			ref_mth(lh, 0, m, rm);
			assert_int_equal(tlog_verify_consistency(
					     m, n, rm, root, got.h[0], got.n),
					 ITK_OK);
		}
	}
	mdb_txn_abort(txn);
}

/* --- Verifier negatives ------------------------------------------------- */

static void
bad_inclusion_proofs_fail(void **state)
{
	test_env *e = *state;
	uint8_t buf[64], leaf[H], root[H], other[H];
	MDB_txn *txn = NULL;
	tlog_proof p, q;
	const uint64_t n = 37, i = 21;

	assert_int_equal(test_env_append(e, 0, n), 0);
	assert_int_equal(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn), 0);
	tlog_leaf_hash(leaf, buf, test_entry(i, buf, sizeof(buf)));
	assert_int_equal(tlog_root(e->t, txn, n, root), ITK_OK);
	assert_int_equal(tlog_prove_inclusion(e->t, txn, i, n, &p), ITK_OK);
	assert_int_equal(tlog_verify_inclusion(leaf, i, n, p.h[0], p.n, root),
			 ITK_OK);

	/* Every single bit flipped in the proof. */
	for (size_t k = 0; k < p.n; k++) {
		for (size_t bit = 0; bit < 8 * H; bit++) {
			q = p;
			q.h[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(tlog_verify_inclusion(
					     leaf, i, n, q.h[0], q.n, root),
					 ITK_E_VERIFY);
		}
	}
	/* Flipped leaf, flipped root. */
	memcpy(other, leaf, H);
	other[0] ^= 1;
	assert_int_equal(tlog_verify_inclusion(other, i, n, p.h[0], p.n, root),
			 ITK_E_VERIFY);
	memcpy(other, root, H);
	other[31] ^= 0x80;
	assert_int_equal(tlog_verify_inclusion(leaf, i, n, p.h[0], p.n, other),
			 ITK_E_VERIFY);
	/* Wrong index, wrong size, index out of range. */
	assert_int_equal(
	    tlog_verify_inclusion(leaf, i + 1, n, p.h[0], p.n, root),
	    ITK_E_VERIFY);
	assert_int_equal(
	    tlog_verify_inclusion(leaf, i, 2 * n, p.h[0], p.n, root),
	    ITK_E_VERIFY);
	assert_int_equal(tlog_verify_inclusion(leaf, n, n, p.h[0], p.n, root),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_inclusion(leaf, 0, 0, p.h[0], 0, root),
			 ITK_E_VERIFY);
	/* Truncated, extended, and reordered paths. */
	assert_int_equal(
	    tlog_verify_inclusion(leaf, i, n, p.h[0], p.n - 1, root),
	    ITK_E_VERIFY);
	q = p;
	memcpy(q.h[q.n], root, H);
	q.n++;
	assert_int_equal(tlog_verify_inclusion(leaf, i, n, q.h[0], q.n, root),
			 ITK_E_VERIFY);
	q = p;
	memcpy(q.h[0], p.h[1], H);
	memcpy(q.h[1], p.h[0], H);
	assert_int_equal(tlog_verify_inclusion(leaf, i, n, q.h[0], q.n, root),
			 ITK_E_VERIFY);
	/* Oversized path count is refused before reading it. */
	assert_int_equal(tlog_verify_inclusion(leaf, i, n, p.h[0],
					       TLOG_PROOF_MAX + 1, root),
			 ITK_E_VERIFY);
	/* Asking the store for proofs it cannot make. */
	assert_int_equal(tlog_prove_inclusion(e->t, txn, n, n, &q),
			 ITK_E_RANGE);
	assert_int_equal(tlog_prove_inclusion(e->t, txn, 0, n + 1, &q),
			 ITK_E_RANGE);
	mdb_txn_abort(txn);
}

static void
bad_consistency_proofs_fail(void **state)
{
	test_env *e = *state;
	uint8_t r6[H], r37[H], empty[H], x[H];
	MDB_txn *txn = NULL;
	tlog_proof p, q;

	assert_int_equal(test_env_append(e, 0, 37), 0);
	assert_int_equal(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_root(e->t, txn, 6, r6), ITK_OK);
	assert_int_equal(tlog_root(e->t, txn, 37, r37), ITK_OK);
	tlog_empty_root(empty);
	assert_int_equal(tlog_prove_consistency(e->t, txn, 6, 37, &p), ITK_OK);
	assert_int_equal(tlog_verify_consistency(6, 37, r6, r37, p.h[0], p.n),
			 ITK_OK);
	for (size_t k = 0; k < p.n; k++) {
		for (size_t bit = 0; bit < 8 * H; bit += 7) {
			q = p;
			q.h[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(tlog_verify_consistency(
					     6, 37, r6, r37, q.h[0], q.n),
					 ITK_E_VERIFY);
		}
	}
	/* Swapped roots, wrong sizes, m > n, empty and extended paths. */
	assert_int_equal(tlog_verify_consistency(6, 37, r37, r6, p.h[0], p.n),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_consistency(7, 37, r6, r37, p.h[0], p.n),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_consistency(6, 70, r6, r37, p.h[0], p.n),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_consistency(37, 6, r37, r6, p.h[0], p.n),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_consistency(6, 37, r6, r37, p.h[0], 0),
			 ITK_E_VERIFY);
	q = p;
	memcpy(q.h[q.n++], r6, H);
	assert_int_equal(tlog_verify_consistency(6, 37, r6, r37, q.h[0], q.n),
			 ITK_E_VERIFY);
	assert_int_equal(
	    tlog_verify_consistency(6, 37, r6, r37, p.h[0], p.n - 1),
	    ITK_E_VERIFY);
	/* Equal sizes: only an empty proof and equal roots. */
	assert_int_equal(tlog_verify_consistency(37, 37, r37, r37, p.h[0], 0),
			 ITK_OK);
	assert_int_equal(tlog_verify_consistency(37, 37, r37, r6, p.h[0], 0),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_verify_consistency(37, 37, r37, r37, p.h[0], 1),
			 ITK_E_VERIFY);
	/* From the empty tree: the empty root and an empty proof. */
	assert_int_equal(tlog_verify_consistency(0, 37, empty, r37, p.h[0], 0),
			 ITK_OK);
	memcpy(x, empty, H);
	x[5] ^= 4;
	assert_int_equal(tlog_verify_consistency(0, 37, x, r37, p.h[0], 0),
			 ITK_E_VERIFY);
	assert_int_equal(tlog_prove_consistency(e->t, txn, 6, 38, &q),
			 ITK_E_RANGE);
	assert_int_equal(tlog_prove_consistency(e->t, txn, 7, 6, &q),
			 ITK_E_RANGE);
	mdb_txn_abort(txn);
}

/* --- The store ---------------------------------------------------------- */

static void
stored_index_is_go_order(void **state)
{
	/* Go sumdb/tlog: leaf0 leaf1 (1,0) leaf2 leaf3 (1,1) (2,0) leaf4 */
	static const struct {
		unsigned level;
		uint64_t index, want;
	} v[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 2}, {0, 2, 3},
		 {0, 3, 4}, {1, 1, 5}, {2, 0, 6}, {0, 4, 7}};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(tlog_stored_index(v[i].level, v[i].index),
				 v[i].want);
	}
}

static void
append_is_transactional(void **state)
{
	test_env *e = *state;
	MDB_txn *txn = NULL;
	uint8_t big[TLOG_ENTRY_MAX + 1] = {0}, r1[H], r2[H];
	uint64_t n, idx;
	const uint8_t *p;
	size_t len;

	assert_int_equal(test_env_append(e, 0, 10), 0);
	/* An aborted txn takes its leaves with it. */
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	assert_int_equal(tlog_root(e->t, txn, 10, r1), ITK_OK);
	assert_int_equal(tlog_append(e->t, txn, big, 5, &idx), ITK_OK);
	assert_int_equal(idx, 10);
	assert_int_equal(tlog_size(e->t, txn, &n), ITK_OK);
	assert_int_equal(n, 11);
	mdb_txn_abort(txn);
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	assert_int_equal(tlog_size(e->t, txn, &n), ITK_OK);
	assert_int_equal(n, 10);
	assert_int_equal(tlog_root(e->t, txn, 10, r2), ITK_OK);
	assert_memory_equal(r1, r2, H);
	/* Entry caps: the largest passes, one more byte does not. */
	assert_int_equal(tlog_append(e->t, txn, big, TLOG_ENTRY_MAX + 1, NULL),
			 ITK_E_TOO_BIG);
	assert_int_equal(tlog_append(e->t, txn, big, TLOG_ENTRY_MAX, &idx),
			 ITK_OK);
	assert_int_equal(tlog_append(e->t, txn, NULL, 0, &idx), ITK_OK);
	assert_int_equal(idx, 11);
	assert_int_equal(tlog_entry(e->t, txn, 10, &p, &len), ITK_OK);
	assert_int_equal(len, TLOG_ENTRY_MAX);
	assert_int_equal(tlog_entry(e->t, txn, 11, &p, &len), ITK_OK);
	assert_int_equal(len, 0);
	assert_int_equal(tlog_entry(e->t, txn, 12, &p, &len), ITK_E_NOT_FOUND);
	assert_int_equal(tlog_root(e->t, txn, 13, r1), ITK_E_RANGE);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void
damaged_store_is_refused(void **state)
{
	test_env *e = *state;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;
	uint64_t n;

	assert_int_equal(test_env_append(e, 0, 9), 0);
	/* Delete one stored hash behind the log's back. */
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_HASH, 0, &dbi), 0);
	itk_store_u64(kb, tlog_stored_index(1, 1));
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(tlog_size(e->t, txn, &n), ITK_E_FORMAT);
	assert_int_equal(tlog_append(e->t, txn, kb, 1, NULL), ITK_E_FORMAT);
	mdb_txn_abort(txn);
	/* A stored hash of the wrong length. */
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_HASH, 0, &dbi), 0);
	itk_store_u64(kb, tlog_stored_index(3, 0));
	uint8_t short_hash[31] = {0};
	v.mv_size = sizeof(short_hash);
	v.mv_data = short_hash;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	uint8_t r[H];
	assert_int_equal(tlog_root(e->t, txn, 9, r), ITK_E_FORMAT);
	mdb_txn_abort(txn);
}

static void
open_read_only_and_version(void **state)
{
	test_env *e = *state;
	MDB_env *env2 = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	char dir2[64];
	tlog *t = NULL;
	uint8_t ver[4];
	MDB_val k = {7, (void *)"version"}, v = {4, ver};

	/* A read-only txn on an environment without a log. */
	snprintf(dir2, sizeof(dir2), "/tmp/itk-test-tlog2-XXXXXX");
	assert_non_null(mkdtemp(dir2));
	assert_int_equal(mdb_env_create(&env2), 0);
	assert_int_equal(mdb_env_set_maxdbs(env2, TLOG_DB_COUNT), 0);
	assert_int_equal(mdb_env_open(env2, dir2, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env2, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_open(txn, &t), ITK_E_NOT_FOUND);
	assert_null(t);
	mdb_txn_abort(txn);
	mdb_env_close(env2);
	rm_rf(dir2);

	/* Reopening an existing log read-only works... */
	assert_int_equal(test_env_append(e, 0, 3), 0);
	assert_int_equal(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_open(txn, &t), ITK_OK);
	uint64_t n;
	assert_int_equal(tlog_size(t, txn, &n), ITK_OK);
	assert_int_equal(n, 3);
	tlog_free(t);
	t = NULL;
	mdb_txn_abort(txn);
	/* ... and an unknown layout version is refused. */
	assert_int_equal(mdb_txn_begin(e->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_META, 0, &dbi), 0);
	itk_store_u32(ver, 2);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(tlog_open(txn, &t), ITK_E_VERSION);
	assert_null(t);
	mdb_txn_abort(txn);
}

static void
hasher_matches_store_on_odd_sizes(void **state)
{
	test_env *e = *state;
	MDB_txn *txn = NULL;
	tlog_hasher hs;
	uint8_t buf[64], lh[H], a[H], b[H];

	assert_int_equal(test_env_append(e, 0, 1000), 0);
	assert_int_equal(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn), 0);
	tlog_hasher_init(&hs);
	for (uint64_t i = 0; i < 1000; i++) {
		tlog_leaf_hash(lh, buf, test_entry(i, buf, sizeof(buf)));
		assert_int_equal(tlog_hasher_push(&hs, lh), ITK_OK);
		if ((i + 1) % 97 == 0 || i + 1 == 1000 || i < 20) {
			tlog_hasher_root(&hs, a);
			assert_int_equal(tlog_root(e->t, txn, i + 1, b),
					 ITK_OK);
			assert_memory_equal(a, b, H);
		}
	}
	mdb_txn_abort(txn);
}

static int
setup(void **state)
{
	static test_env e;

	if (test_env_open(&e, "tlog") != 0) {
		return -1;
	}
	*state = &e;
	return 0;
}

static int
teardown(void **state)
{
	test_env_close(*state);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(rfc6962_known_answers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(all_proofs_match_reference, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(bad_inclusion_proofs_fail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(bad_consistency_proofs_fail, setup,
					    teardown),
	    cmocka_unit_test(stored_index_is_go_order),
	    cmocka_unit_test_setup_teardown(append_is_transactional, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(damaged_store_is_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(open_read_only_and_version, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(hasher_matches_store_on_odd_sizes,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
