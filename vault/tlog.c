/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Merkle log: RFC 6962 / RFC 9162 hashing, proofs, verifiers, and
 * the store inside the vault's LMDB environment (tlog.h).
 */
#include "tlog.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "sha256.h"

#define TLOG_VERSION 1u
/* The stored checkpoint is a signed note; notes are capped far below. */
#define TLOG_META_MAX (1024u * 1024u)

struct tlog {
	MDB_dbi hash;
	MDB_dbi entry;
	MDB_dbi meta;
};

/* --- Hashing ------------------------------------------------------------ */

void
tlog_leaf_hash(uint8_t out[TLOG_HASH_LEN], const uint8_t *entry, size_t len)
{
	itk_sha256_state st;
	static const uint8_t prefix = 0x00; /* RFC 6962 2.1: leaf */
	uint8_t in[1 + 127];

	/* SHA-NI when the CPU has it (sha256.h): this and the node hash
	 * are most of what rebuilding the tree costs.  A vault leaf (at
	 * most VAULT_LEAF_MAX, mostly under 100 bytes) goes in one call. */
	if (len < sizeof(in)) {
		in[0] = prefix;
		if (len > 0) {
			memcpy(in + 1, entry, len);
		}
		itk_sha256(out, in, 1 + len);
		return;
	}
	itk_sha256_init(&st);
	itk_sha256_update(&st, &prefix, 1);
	itk_sha256_update(&st, entry, len);
	itk_sha256_final(&st, out);
}

void
tlog_node_hash(uint8_t out[TLOG_HASH_LEN], const uint8_t left[TLOG_HASH_LEN],
	       const uint8_t right[TLOG_HASH_LEN])
{
	uint8_t in[1 + 2 * TLOG_HASH_LEN];

	in[0] = 0x01; /* RFC 6962 2.1: interior node */
	memcpy(in + 1, left, TLOG_HASH_LEN);
	memcpy(in + 1 + TLOG_HASH_LEN, right, TLOG_HASH_LEN);
	itk_sha256(out, in, sizeof(in));
}

void
tlog_empty_root(uint8_t out[TLOG_HASH_LEN])
{
	itk_sha256(out, "", 0); /* RFC 6962 2.1: MTH({}) = SHA-256() */
}

void
tlog_hasher_init(tlog_hasher *h)
{
	memset(h, 0, sizeof(*h));
}

itk_err
tlog_hasher_push(tlog_hasher *h, const uint8_t leaf_hash[TLOG_HASH_LEN])
{
	return tlog_hasher_push_subtree(h, 0, leaf_hash);
}

itk_err
tlog_hasher_push_subtree(tlog_hasher *h, unsigned level,
			 const uint8_t root[TLOG_HASH_LEN])
{
	uint8_t cur[TLOG_HASH_LEN];
	uint64_t n;

	if (level > 62) {
		return ITK_E_RANGE;
	}
	n = UINT64_C(1) << level;
	if ((h->size & (n - 1)) != 0) {
		return ITK_E_RANGE;
	}
	if (h->size > TLOG_SIZE_MAX - n) {
		return ITK_E_FULL;
	}
	memcpy(cur, root, TLOG_HASH_LEN);
	/* The stack holds one complete subtree per set bit of size, the
	 * smallest on top; size has no bit below level, so each set bit
	 * from level up is a subtree the new one now pairs with. */
	for (uint64_t s = h->size >> level; (s & 1u) != 0; s >>= 1) {
		h->depth--;
		tlog_node_hash(cur, h->stack[h->depth], cur);
	}
	memcpy(h->stack[h->depth], cur, TLOG_HASH_LEN);
	h->depth++;
	h->size += n;
	return ITK_OK;
}

void
tlog_hasher_root(const tlog_hasher *h, uint8_t out[TLOG_HASH_LEN])
{
	uint8_t r[TLOG_HASH_LEN];

	if (h->depth == 0) {
		tlog_empty_root(out);
		return;
	}
	/* MTH splits at the largest power of two: fold the subtrees from the
	 * smallest (rightmost) to the largest. */
	memcpy(r, h->stack[h->depth - 1], TLOG_HASH_LEN);
	for (size_t i = h->depth - 1; i > 0; i--) {
		tlog_node_hash(r, h->stack[i - 1], r);
	}
	memcpy(out, r, TLOG_HASH_LEN);
}

/* --- Tree arithmetic ---------------------------------------------------- */

/* The largest power of two strictly below n (n >= 2): RFC 6962's k. */
static uint64_t
split_point(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

static bool
is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

uint64_t
tlog_stored_index(unsigned level, uint64_t index)
{
	/* Go sumdb/tlog StoredHashIndex: hash (L, n) is written right after
	 * leaf ((n + 1) << L) - 1 and the L - 1 hashes it completes below;
	 * leaf m is preceded by sum(m >> k) = 2m - popcount(m) hashes. */
	uint64_t m = ((index + 1) << level) - 1;

	return 2 * m - (uint64_t)__builtin_popcountll(m) + level;
}

/* Hashes stored for a tree of n leaves: complete subtrees of every height,
 * sum(n >> k) = 2n - popcount(n). */
static uint64_t
stored_count(uint64_t n)
{
	return 2 * n - (uint64_t)__builtin_popcountll(n);
}

/*
 * MTH(D[lo:hi]) for the ranges RFC 9162's recursions produce: either a
 * complete aligned subtree (one source read) or a left complete subtree
 * of size k and a right remainder.  Depth is at most 63.
 */
static itk_err
sub_hash(tlog_hash_fn fn, void *arg, uint64_t lo, uint64_t hi,
	 uint8_t out[TLOG_HASH_LEN])
{
	uint8_t l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
	uint64_t n = hi - lo, k;
	itk_err e;

	if (hi <= lo) {
		return ITK_E_INTERNAL;
	}
	if (is_pow2(n) && (lo & (n - 1)) == 0) {
		unsigned level = (unsigned)__builtin_ctzll(n);
		return fn(arg, level, lo >> level, out);
	}
	k = split_point(n);
	if ((lo & (k - 1)) != 0) {
		return ITK_E_INTERNAL; /* not a range of the RFC recursion */
	}
	if ((e = fn(arg, (unsigned)__builtin_ctzll(k), lo / k, l)) != ITK_OK ||
	    (e = sub_hash(fn, arg, lo + k, hi, r)) != ITK_OK) {
		return e;
	}
	tlog_node_hash(out, l, r);
	return ITK_OK;
}

itk_err
tlog_tree_hash_from(tlog_hash_fn fn, void *arg, uint64_t size,
		    uint8_t out[TLOG_HASH_LEN])
{
	if (size > TLOG_SIZE_MAX) {
		return ITK_E_RANGE;
	}
	if (size == 0) {
		tlog_empty_root(out);
		return ITK_OK;
	}
	return sub_hash(fn, arg, 0, size, out);
}

/* The recursions below collect siblings outermost first; RFC 9162 lists
 * them innermost first. */
static void
proof_reverse(tlog_proof *p)
{
	uint8_t tmp[TLOG_HASH_LEN];

	for (size_t i = 0, j = p->n; i + 1 < j; i++, j--) {
		memcpy(tmp, p->h[i], TLOG_HASH_LEN);
		memcpy(p->h[i], p->h[j - 1], TLOG_HASH_LEN);
		memcpy(p->h[j - 1], tmp, TLOG_HASH_LEN);
	}
}

static itk_err
proof_push(tlog_hash_fn fn, void *arg, tlog_proof *p, uint64_t lo, uint64_t hi)
{
	if (p->n >= TLOG_PROOF_MAX) {
		return ITK_E_INTERNAL;
	}
	return sub_hash(fn, arg, lo, hi, p->h[p->n++]);
}

itk_err
tlog_prove_inclusion_from(tlog_hash_fn fn, void *arg, uint64_t index,
			  uint64_t size, tlog_proof *out)
{
	uint64_t lo = 0, hi = size;
	itk_err r;

	out->n = 0;
	if (size > TLOG_SIZE_MAX || index >= size) {
		return ITK_E_RANGE;
	}
	/* RFC 9162 2.1.3.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
	 * if m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]). */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		if (index < lo + k) {
			r = proof_push(fn, arg, out, lo + k, hi);
			hi = lo + k;
		} else {
			r = proof_push(fn, arg, out, lo, lo + k);
			lo += k;
		}
		if (r != ITK_OK) {
			out->n = 0;
			return r;
		}
	}
	proof_reverse(out);
	return ITK_OK;
}

itk_err
tlog_prove_consistency_from(tlog_hash_fn fn, void *arg, uint64_t m, uint64_t n,
			    tlog_proof *out)
{
	uint64_t lo = 0, hi = n;
	bool whole = true; /* SUBPROOF's b: D[0:m] is the old tree itself */
	itk_err r = ITK_OK;

	out->n = 0;
	if (n > TLOG_SIZE_MAX || m > n) {
		return ITK_E_RANGE;
	}
	if (m == 0 || m == n) {
		return ITK_OK;
	}
	/* RFC 9162 2.1.4.1, m relative to lo throughout. */
	for (;;) {
		if (m == hi - lo) {
			/* SUBPROOF(m, D[m], true) = {}; (.., false) = MTH */
			if (!whole) {
				r = proof_push(fn, arg, out, lo, hi);
			}
			break;
		}
		uint64_t k = split_point(hi - lo);
		if (m <= k) {
			r = proof_push(fn, arg, out, lo + k, hi);
			hi = lo + k;
		} else {
			r = proof_push(fn, arg, out, lo, lo + k);
			m -= k;
			lo += k;
			whole = false;
		}
		if (r != ITK_OK) {
			break;
		}
	}
	if (r != ITK_OK) {
		out->n = 0;
		return r;
	}
	proof_reverse(out);
	return ITK_OK;
}

/* --- Verification ------------------------------------------------------- */

static bool
hash_eq(const uint8_t a[TLOG_HASH_LEN], const uint8_t b[TLOG_HASH_LEN])
{
	/* Public values: a plain comparison is fine. */
	return memcmp(a, b, TLOG_HASH_LEN) == 0;
}

itk_err
tlog_verify_inclusion(const uint8_t leaf_hash[TLOG_HASH_LEN], uint64_t index,
		      uint64_t size, const uint8_t *path, size_t n,
		      const uint8_t root[TLOG_HASH_LEN])
{
	uint8_t r[TLOG_HASH_LEN];
	uint64_t fn, sn;

	/* RFC 9162 2.1.3.2, step by step. */
	if (index >= size || size > TLOG_SIZE_MAX || n > TLOG_PROOF_MAX) {
		return ITK_E_VERIFY; /* 1 */
	}
	fn = index; /* 2 */
	sn = size - 1;
	memcpy(r, leaf_hash, TLOG_HASH_LEN); /* 3 */
	for (size_t i = 0; i < n; i++) {     /* 4 */
		if (sn == 0) {
			return ITK_E_VERIFY; /* 4a */
		}
		if ((fn & 1u) != 0 || fn == sn) { /* 4b */
			tlog_node_hash(r, path + i * TLOG_HASH_LEN, r);
			while ((fn & 1u) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(r, r, path + i * TLOG_HASH_LEN);
		}
		fn >>= 1; /* 4c */
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(r, root)) { /* 5 */
		return ITK_E_VERIFY;
	}
	return ITK_OK;
}

itk_err
tlog_verify_consistency(uint64_t m, uint64_t n,
			const uint8_t root_m[TLOG_HASH_LEN],
			const uint8_t root_n[TLOG_HASH_LEN],
			const uint8_t *path, size_t count)
{
	uint8_t fr[TLOG_HASH_LEN], sr[TLOG_HASH_LEN], empty[TLOG_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (m > n || n > TLOG_SIZE_MAX || count > TLOG_PROOF_MAX) {
		return ITK_E_VERIFY;
	}
	if (m == n) {
		return count == 0 && hash_eq(root_m, root_n) ? ITK_OK
							     : ITK_E_VERIFY;
	}
	if (m == 0) {
		tlog_empty_root(empty);
		return count == 0 && hash_eq(root_m, empty) ? ITK_OK
							    : ITK_E_VERIFY;
	}
	/* RFC 9162 2.1.4.2, step by step. */
	if (count == 0) {
		return ITK_E_VERIFY; /* 1 */
	}
	/* 2: a power-of-two m proves itself: its root is the first value,
	 * "prepended" here by starting before the path's first hash. */
	fn = m - 1; /* 3 */
	sn = n - 1;
	while ((fn & 1u) != 0) { /* 4 */
		fn >>= 1;
		sn >>= 1;
	}
	if (is_pow2(m)) { /* 5 */
		memcpy(fr, root_m, TLOG_HASH_LEN);
	} else {
		memcpy(fr, path, TLOG_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, TLOG_HASH_LEN);
	for (; i < count; i++) { /* 6 */
		if (sn == 0) {
			return ITK_E_VERIFY; /* 6a */
		}
		if ((fn & 1u) != 0 || fn == sn) { /* 6b */
			tlog_node_hash(fr, path + i * TLOG_HASH_LEN, fr);
			tlog_node_hash(sr, path + i * TLOG_HASH_LEN, sr);
			while ((fn & 1u) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(sr, sr, path + i * TLOG_HASH_LEN);
		}
		fn >>= 1; /* 6c */
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(fr, root_m) || !hash_eq(sr, root_n)) { /* 7 */
		return ITK_E_VERIFY;
	}
	return ITK_OK;
}

/* --- The LMDB store ----------------------------------------------------- */

static itk_err
mdb_to_itk(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return ITK_OK;
	case MDB_NOTFOUND:
		return ITK_E_NOT_FOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return ITK_E_FULL;
	case MDB_KEYEXIST:
		/* Only appends write here: an existing key means the
		 * databases disagree with each other. */
		return ITK_E_FORMAT;
	case ENOMEM:
		return ITK_E_NOMEM;
	default:
		return ITK_E_DB;
	}
}

static itk_err
open_db(MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
	int rc = mdb_dbi_open(txn, name, 0, dbi);

	if (rc == MDB_NOTFOUND) {
		rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi);
		if (rc == EACCES) {
			return ITK_E_NOT_FOUND; /* read-only, no log yet */
		}
	}
	return mdb_to_itk(rc);
}

static itk_err
check_version(tlog *t, MDB_txn *txn)
{
	static const char key[] = "version";
	uint8_t want[4];
	MDB_val k = {sizeof(key) - 1, (void *)key}, v;
	int rc;

	itk_store_u32(want, TLOG_VERSION);
	rc = mdb_get(txn, t->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		/* A new log: record the layout version once. */
		v.mv_size = sizeof(want);
		v.mv_data = want;
		rc = mdb_put(txn, t->meta, &k, &v, MDB_NOOVERWRITE);
		return rc == EACCES ? ITK_E_FORMAT : mdb_to_itk(rc);
	}
	if (rc != MDB_SUCCESS) {
		return mdb_to_itk(rc);
	}
	if (v.mv_size != sizeof(want)) {
		return ITK_E_FORMAT;
	}
	return memcmp(v.mv_data, want, sizeof(want)) == 0 ? ITK_OK
							  : ITK_E_VERSION;
}

itk_err
tlog_open(MDB_txn *txn, tlog **out)
{
	tlog *t = NULL;
	itk_err r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = open_db(txn, TLOG_DB_HASH, &t->hash)) != ITK_OK ||
	    (r = open_db(txn, TLOG_DB_ENTRY, &t->entry)) != ITK_OK ||
	    (r = open_db(txn, TLOG_DB_META, &t->meta)) != ITK_OK ||
	    (r = check_version(t, txn)) != ITK_OK) {
		goto out;
	}
	*out = t;
	t = NULL; /* transferred */
	r = ITK_OK;
out:
	free(t);
	return r;
}

void
tlog_free(tlog *t)
{
	free(t);
}

itk_err
tlog_size(tlog *t, MDB_txn *txn, uint64_t *size)
{
	MDB_stat se, sh;
	itk_err r;

	*size = 0;
	if ((r = mdb_to_itk(mdb_stat(txn, t->entry, &se))) != ITK_OK ||
	    (r = mdb_to_itk(mdb_stat(txn, t->hash, &sh))) != ITK_OK) {
		return r;
	}
	/* Both databases only ever grow together, in one transaction: a
	 * mismatch is damage or tampering, and nothing may build on it. */
	if ((uint64_t)se.ms_entries > TLOG_SIZE_MAX ||
	    (uint64_t)sh.ms_entries != stored_count(se.ms_entries)) {
		return ITK_E_FORMAT;
	}
	*size = se.ms_entries;
	return ITK_OK;
}

static void
key_u64(uint8_t k[8], MDB_val *v, uint64_t x)
{
	itk_store_u64(k, x);
	v->mv_size = 8;
	v->mv_data = k;
}

itk_err
tlog_stored_hash(tlog *t, MDB_txn *txn, unsigned level, uint64_t index,
		 uint8_t out[TLOG_HASH_LEN])
{
	uint8_t kb[8];
	MDB_val k, v;
	itk_err r;

	if (level > 62 || index >= (TLOG_SIZE_MAX >> level)) {
		return ITK_E_RANGE;
	}
	key_u64(kb, &k, tlog_stored_index(level, index));
	if ((r = mdb_to_itk(mdb_get(txn, t->hash, &k, &v))) != ITK_OK) {
		return r;
	}
	if (v.mv_size != TLOG_HASH_LEN) {
		return ITK_E_FORMAT;
	}
	memcpy(out, v.mv_data, TLOG_HASH_LEN);
	return ITK_OK;
}

itk_err
tlog_store_hash_fn(void *reader, unsigned level, uint64_t index,
		   uint8_t out[TLOG_HASH_LEN])
{
	tlog_store_reader *sr = reader;

	return tlog_stored_hash(sr->t, sr->txn, level, index, out);
}

static itk_err
put_hash(tlog *t, MDB_txn *txn, unsigned level, uint64_t index,
	 const uint8_t h[TLOG_HASH_LEN])
{
	uint8_t kb[8];
	MDB_val k, v = {TLOG_HASH_LEN, (void *)h};

	key_u64(kb, &k, tlog_stored_index(level, index));
	/* Hashes arrive in stored-index order: MDB_APPEND packs pages and
	 * refuses (KEYEXIST) anything out of order. */
	return mdb_to_itk(mdb_put(txn, t->hash, &k, &v, MDB_APPEND));
}

itk_err
tlog_append(tlog *t, MDB_txn *txn, const uint8_t *entry, size_t len,
	    uint64_t *index)
{
	uint8_t h[TLOG_HASH_LEN], left[TLOG_HASH_LEN], kb[8];
	uint64_t n, idx;
	unsigned level = 0;
	MDB_val k, v = {len, (void *)entry};
	itk_err r;

	if (len > TLOG_ENTRY_MAX) {
		return ITK_E_TOO_BIG;
	}
	if (entry == NULL && len != 0) {
		return ITK_E_INTERNAL;
	}
	if ((r = tlog_size(t, txn, &n)) != ITK_OK) {
		return r;
	}
	if (n >= TLOG_SIZE_MAX) {
		return ITK_E_FULL;
	}
	key_u64(kb, &k, n);
	if ((r = mdb_to_itk(mdb_put(txn, t->entry, &k, &v, MDB_APPEND))) !=
	    ITK_OK) {
		return r;
	}
	tlog_leaf_hash(h, entry, len);
	if ((r = put_hash(t, txn, 0, n, h)) != ITK_OK) {
		return r;
	}
	/* Every subtree this leaf completes: while the node is a right
	 * child, hash it with its stored left sibling and go up. */
	for (idx = n; (idx & 1u) != 0; idx >>= 1) {
		if ((r = tlog_stored_hash(t, txn, level, idx - 1, left)) !=
		    ITK_OK) {
			return r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
		}
		tlog_node_hash(h, left, h);
		level++;
		if ((r = put_hash(t, txn, level, idx >> 1, h)) != ITK_OK) {
			return r;
		}
	}
	if (index != NULL) {
		*index = n;
	}
	return ITK_OK;
}

itk_err
tlog_root(tlog *t, MDB_txn *txn, uint64_t size, uint8_t out[TLOG_HASH_LEN])
{
	tlog_store_reader sr = {t, txn};
	uint64_t n;
	itk_err r;

	if ((r = tlog_size(t, txn, &n)) != ITK_OK) {
		return r;
	}
	if (size > n) {
		return ITK_E_RANGE;
	}
	return tlog_tree_hash_from(tlog_store_hash_fn, &sr, size, out);
}

itk_err
tlog_entry(tlog *t, MDB_txn *txn, uint64_t index, const uint8_t **p,
	   size_t *len)
{
	uint8_t kb[8];
	MDB_val k, v;
	itk_err r;

	key_u64(kb, &k, index);
	if ((r = mdb_to_itk(mdb_get(txn, t->entry, &k, &v))) != ITK_OK) {
		return r;
	}
	if (v.mv_size > TLOG_ENTRY_MAX) {
		return ITK_E_FORMAT;
	}
	*p = v.mv_data;
	*len = v.mv_size;
	return ITK_OK;
}

struct tlog_iter {
	MDB_cursor *cur;
	uint64_t next; /* the index the next entry must have */
	bool started;
};

itk_err
tlog_iter_new(tlog *t, MDB_txn *txn, uint64_t first, tlog_iter **out)
{
	tlog_iter *it;
	itk_err r;

	*out = NULL;
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = mdb_to_itk(mdb_cursor_open(txn, t->entry, &it->cur))) !=
	    ITK_OK) {
		free(it);
		return r;
	}
	it->next = first;
	*out = it;
	return ITK_OK;
}

itk_err
tlog_iter_next(tlog_iter *it, const uint8_t **p, size_t *len)
{
	uint8_t kb[8];
	MDB_val k, v;
	itk_err r;

	if (!it->started) {
		key_u64(kb, &k, it->next);
		r = mdb_to_itk(mdb_cursor_get(it->cur, &k, &v, MDB_SET_KEY));
		it->started = true;
	} else {
		r = mdb_to_itk(mdb_cursor_get(it->cur, &k, &v, MDB_NEXT));
	}
	if (r != ITK_OK) {
		return r;
	}
	/* Keys are the indexes, big-endian: the cursor's order is the
	 * log's order, and any other key here is a gap. */
	if (k.mv_size != 8 || itk_load_u64(k.mv_data) != it->next ||
	    v.mv_size > TLOG_ENTRY_MAX) {
		return ITK_E_FORMAT;
	}
	it->next++;
	*p = v.mv_data;
	*len = v.mv_size;
	return ITK_OK;
}

void
tlog_iter_free(tlog_iter *it)
{
	if (it != NULL) {
		mdb_cursor_close(it->cur);
		free(it);
	}
}

itk_err
tlog_prove_inclusion(tlog *t, MDB_txn *txn, uint64_t index, uint64_t size,
		     tlog_proof *out)
{
	tlog_store_reader sr = {t, txn};
	uint64_t n;
	itk_err r;

	out->n = 0;
	if ((r = tlog_size(t, txn, &n)) != ITK_OK) {
		return r;
	}
	if (size > n) {
		return ITK_E_RANGE;
	}
	return tlog_prove_inclusion_from(tlog_store_hash_fn, &sr, index, size,
					 out);
}

itk_err
tlog_prove_consistency(tlog *t, MDB_txn *txn, uint64_t m, uint64_t n,
		       tlog_proof *out)
{
	tlog_store_reader sr = {t, txn};
	uint64_t size;
	itk_err r;

	out->n = 0;
	if ((r = tlog_size(t, txn, &size)) != ITK_OK) {
		return r;
	}
	if (n > size) {
		return ITK_E_RANGE;
	}
	return tlog_prove_consistency_from(tlog_store_hash_fn, &sr, m, n, out);
}

static const char checkpoint_key[] = "checkpoint";

itk_err
tlog_checkpoint_load(tlog *t, MDB_txn *txn, const uint8_t **p, size_t *len)
{
	MDB_val k = {sizeof(checkpoint_key) - 1, (void *)checkpoint_key}, v;
	itk_err r;

	if ((r = mdb_to_itk(mdb_get(txn, t->meta, &k, &v))) != ITK_OK) {
		return r;
	}
	if (v.mv_size == 0 || v.mv_size > TLOG_META_MAX) {
		return ITK_E_FORMAT;
	}
	*p = v.mv_data;
	*len = v.mv_size;
	return ITK_OK;
}

itk_err
tlog_checkpoint_store(tlog *t, MDB_txn *txn, const uint8_t *p, size_t len)
{
	MDB_val k = {sizeof(checkpoint_key) - 1, (void *)checkpoint_key};
	MDB_val v = {len, (void *)p};

	if (len == 0 || len > TLOG_META_MAX) {
		return ITK_E_TOO_BIG;
	}
	return mdb_to_itk(mdb_put(txn, t->meta, &k, &v, 0));
}
