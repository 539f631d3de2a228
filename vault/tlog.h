/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_TLOG_H
#define ITK_TLOG_H

/*
 * The vault's transparency log: an append-only Merkle tree hashed as in
 * RFC 6962 / RFC 9162 section 2.1 (SHA-256, leaf = H(0x00 || entry),
 * node = H(0x01 || left || right), empty tree = H("")).  Bytes and the
 * auditor's procedure: docs/audit.md.
 *
 * Two halves:
 *
 *  - Pure functions over hashes (hashing, root of a list of leaf hashes,
 *    proof generation over any hash source, proof verification).  They
 *    need no LMDB and no secret: clients and auditors link them alone.
 *
 *  - A store inside the vault's LMDB environment.  The caller owns every
 *    transaction: tlog_append runs inside the vault's own write
 *    transaction, so a vault record and its leaf commit or vanish
 *    together.  The store keeps every entry and every complete-subtree
 *    hash (2n - popcount(n) hashes for n entries, in the append order of
 *    Go's sumdb "stored hash index"), so an append is O(log n) writes and
 *    reads, and roots and proofs read O(log n) stored hashes.
 *
 * Not thread-safe per transaction (LMDB rules); a tlog handle itself holds
 * only database handles and may be shared by threads of one process.
 */

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TLOG_HASH_LEN 32u
/* Largest entry: entry bundles (C2SP tlog-tiles) prefix each entry with a
 * big-endian uint16 length. */
#define TLOG_ENTRY_MAX 65535u
/* Largest tree: keeps stored-hash indexes and proof lengths in range. */
#define TLOG_SIZE_MAX (UINT64_C(1) << 62)
/* Longest proof for any tree up to TLOG_SIZE_MAX (62 + 1, rounded up). */
#define TLOG_PROOF_MAX 64u

/* The named LMDB databases the log opens: add to mdb_env_set_maxdbs. */
#define TLOG_DB_COUNT 3u
#define TLOG_DB_HASH  "tlog.hash"  /* u64 BE stored index -> 32-byte hash */
#define TLOG_DB_ENTRY "tlog.entry" /* u64 BE leaf index -> entry bytes */
#define TLOG_DB_META  "tlog.meta"  /* "version", "checkpoint" */

/* A proof: n hashes, in RFC 9162 order (innermost sibling first). */
typedef struct {
	size_t n;
	uint8_t h[TLOG_PROOF_MAX][TLOG_HASH_LEN];
} tlog_proof;

/* --- Hashing (RFC 6962 section 2.1) ---------------------------------- */

/* out = SHA-256(0x00 || entry). */
void tlog_leaf_hash(uint8_t out[TLOG_HASH_LEN], const uint8_t *entry,
		    size_t len);
/* out = SHA-256(0x01 || left || right); out may alias either input. */
void tlog_node_hash(uint8_t out[TLOG_HASH_LEN],
		    const uint8_t left[TLOG_HASH_LEN],
		    const uint8_t right[TLOG_HASH_LEN]);
/* out = SHA-256(""), the root of the empty tree. */
void tlog_empty_root(uint8_t out[TLOG_HASH_LEN]);

/*
 * A streaming root over leaf hashes given in order, in O(log n) memory
 * (a "compact range"): for the auditor who rebuilds the tree from
 * records.  Embed it; no _free.
 */
typedef struct {
	uint64_t size;
	size_t depth; /* number of stacked subtree roots = popcount(size) */
	uint8_t stack[64][TLOG_HASH_LEN];
} tlog_hasher;

void tlog_hasher_init(tlog_hasher *h);
/* Appends one leaf hash; ITK_E_FULL past TLOG_SIZE_MAX. */
itk_err tlog_hasher_push(tlog_hasher *h,
			 const uint8_t leaf_hash[TLOG_HASH_LEN]) ITK_WUR;
/* Appends 2^level leaves at once, given the root of their complete
 * subtree (for hashers that build subtrees in parallel): the same as
 * pushing those leaves one by one.  ITK_E_RANGE unless level <= 62 and
 * the size so far is a multiple of 2^level; ITK_E_FULL past
 * TLOG_SIZE_MAX. */
itk_err tlog_hasher_push_subtree(tlog_hasher *h, unsigned level,
				 const uint8_t root[TLOG_HASH_LEN]) ITK_WUR;
/* The root of the leaves pushed so far (the empty root if none). */
void tlog_hasher_root(const tlog_hasher *h, uint8_t out[TLOG_HASH_LEN]);

/* --- Proofs over any hash source -------------------------------------- */

/*
 * A source of complete-subtree hashes: writes to out the Merkle tree hash
 * of entries [index << level, (index + 1) << level).  Returns ITK_OK, or
 * an error that the caller passes on unchanged (ITK_E_NOT_FOUND if the
 * source does not hold it).  The LMDB store and a tiles directory
 * (tiles.h) are two such sources.
 */
typedef itk_err (*tlog_hash_fn)(void *arg, unsigned level, uint64_t index,
				uint8_t out[TLOG_HASH_LEN]);

/* The root of the first size entries; the empty root for size 0. */
itk_err tlog_tree_hash_from(tlog_hash_fn fn, void *arg, uint64_t size,
			    uint8_t out[TLOG_HASH_LEN]) ITK_WUR;
/* RFC 9162 2.1.3.1 PATH(index, D[0:size]); ITK_E_RANGE unless
 * index < size <= TLOG_SIZE_MAX. */
itk_err tlog_prove_inclusion_from(tlog_hash_fn fn, void *arg, uint64_t index,
				  uint64_t size, tlog_proof *out) ITK_WUR;
/* RFC 9162 2.1.4.1 PROOF(m, D[0:n]); m == n (and m == 0) give the empty
 * proof.  ITK_E_RANGE unless m <= n <= TLOG_SIZE_MAX. */
itk_err tlog_prove_consistency_from(tlog_hash_fn fn, void *arg, uint64_t m,
				    uint64_t n, tlog_proof *out) ITK_WUR;

/* --- Verification: pure, for clients and auditors --------------------- */

/* Paths are n hashes back to back (n * 32 bytes), as tlog_proof.h[0]
 * holds them or as they arrive off the wire. */

/*
 * RFC 9162 2.1.3.2: ITK_OK if path proves that leaf_hash is entry index
 * of the tree of size whose root is root; ITK_E_VERIFY otherwise
 * (including index >= size and a path of the wrong length).
 */
itk_err tlog_verify_inclusion(const uint8_t leaf_hash[TLOG_HASH_LEN],
			      uint64_t index, uint64_t size,
			      const uint8_t *path, size_t n,
			      const uint8_t root[TLOG_HASH_LEN]) ITK_WUR;
/*
 * RFC 9162 2.1.4.2: ITK_OK if path proves that the tree of size m with
 * root root_m is a prefix of the tree of size n with root root_n;
 * ITK_E_VERIFY otherwise.  m == n needs an empty path and equal roots;
 * m == 0 needs an empty path and root_m the empty root (the empty tree is
 * a prefix of every tree); m > n always fails.
 */
itk_err tlog_verify_consistency(uint64_t m, uint64_t n,
				const uint8_t root_m[TLOG_HASH_LEN],
				const uint8_t root_n[TLOG_HASH_LEN],
				const uint8_t *path, size_t count) ITK_WUR;

/* --- The store in the vault's LMDB environment ------------------------- */

typedef struct tlog tlog;

/*
 * Opens the log's databases in txn, creating them if txn is a write
 * transaction and they do not exist yet.  The database handles become
 * usable by other transactions only once txn commits (an LMDB rule):
 * commit txn before using *out elsewhere; if txn aborts, free *out.
 * ITK_E_NOT_FOUND: a read-only txn and no log yet.  ITK_E_VERSION: a log
 * of an unknown layout version.  *out is freed with tlog_free.
 */
itk_err tlog_open(MDB_txn *txn, tlog **out) ITK_WUR;
/* Frees the handle (not the databases); NULL is fine. */
void tlog_free(tlog *t);

/*
 * Appends entry (len <= TLOG_ENTRY_MAX, else ITK_E_TOO_BIG) as the next
 * leaf, inside the caller's write transaction; *index (may be NULL) is
 * its leaf index.  The caller commits or aborts txn: an abort takes the
 * leaf away with everything else.  ITK_E_FULL: map full or
 * TLOG_SIZE_MAX reached.  ITK_E_FORMAT: the store is inconsistent.
 */
itk_err tlog_append(tlog *t, MDB_txn *txn, const uint8_t *entry, size_t len,
		    uint64_t *index) ITK_WUR;

/* The number of leaves; ITK_E_FORMAT if the hash and entry databases
 * disagree (a damaged or tampered store). */
itk_err tlog_size(tlog *t, MDB_txn *txn, uint64_t *size) ITK_WUR;

/* The root of the first size leaves (size <= tlog_size, else
 * ITK_E_RANGE), from stored hashes. */
itk_err tlog_root(tlog *t, MDB_txn *txn, uint64_t size,
		  uint8_t out[TLOG_HASH_LEN]) ITK_WUR;

/* Stored entry number index: *p points into LMDB's map and is valid only
 * until txn ends or writes again.  ITK_E_NOT_FOUND past the end. */
itk_err tlog_entry(tlog *t, MDB_txn *txn, uint64_t index, const uint8_t **p,
		   size_t *len) ITK_WUR;

/*
 * Entries in index order through one LMDB cursor, for readers of the whole
 * log (the auditor, tile export): a cursor step instead of a B-tree
 * descent per entry.  tlog_iter_new positions before entry first;
 * tlog_iter_next yields entry first, first + 1, ... (*p as for
 * tlog_entry).  ITK_E_NOT_FOUND after the last entry; ITK_E_FORMAT if the
 * next stored key is not the next index (a gap: damage or tampering) or
 * an entry is too long.  *out is freed with tlog_iter_free, before txn
 * ends.
 */
typedef struct tlog_iter tlog_iter;
itk_err tlog_iter_new(tlog *t, MDB_txn *txn, uint64_t first,
		      tlog_iter **out) ITK_WUR;
itk_err tlog_iter_next(tlog_iter *it, const uint8_t **p, size_t *len) ITK_WUR;
/* NULL is fine. */
void tlog_iter_free(tlog_iter *it);

/* The stored hash of a complete subtree (a tlog_hash_fn over the store;
 * see tlog_store_reader). */
itk_err tlog_stored_hash(tlog *t, MDB_txn *txn, unsigned level, uint64_t index,
			 uint8_t out[TLOG_HASH_LEN]) ITK_WUR;

/* Inclusion of leaf index in the tree of size (<= tlog_size). */
itk_err tlog_prove_inclusion(tlog *t, MDB_txn *txn, uint64_t index,
			     uint64_t size, tlog_proof *out) ITK_WUR;
/* Consistency of the tree of size m with the tree of size n. */
itk_err tlog_prove_consistency(tlog *t, MDB_txn *txn, uint64_t m, uint64_t n,
			       tlog_proof *out) ITK_WUR;

/* A tlog_hash_fn over the store, for code that is generic over sources:
 * fill one and pass tlog_store_hash_fn with it. */
typedef struct {
	tlog *t;
	MDB_txn *txn;
} tlog_store_reader;
itk_err tlog_store_hash_fn(void *reader, unsigned level, uint64_t index,
			   uint8_t out[TLOG_HASH_LEN]) ITK_WUR;

/*
 * The latest signed checkpoint (a C2SP signed note), kept so that the log
 * never signs two roots for one size.  Used by checkpoint.c; *p as for
 * tlog_entry.  ITK_E_NOT_FOUND: none signed yet.
 */
itk_err tlog_checkpoint_load(tlog *t, MDB_txn *txn, const uint8_t **p,
			     size_t *len) ITK_WUR;
itk_err tlog_checkpoint_store(tlog *t, MDB_txn *txn, const uint8_t *p,
			      size_t len) ITK_WUR;

/* Go sumdb's stored hash index of hash (level, index), exposed for tests
 * and tools: hashes are written in this order. */
uint64_t tlog_stored_index(unsigned level, uint64_t index);

#endif
