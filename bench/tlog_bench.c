/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A throughput measurement of the transparency log, not a test.
 *
 * Usage: tlog-bench [leaves] [dir]
 *
 * Appends `leaves` (default 1,000,000) 100-byte entries in transactions of
 * 1,000 (MDB_NOSYNC: this measures the log's own cost, not the disk's
 * fsync), then times root computation, proof generation and verification,
 * the streaming rebuild an auditor does (tlog_hasher), and a first tiles
 * export.  dir defaults to a fresh directory under /tmp, removed after.
 */
#include <ftw.h>
#include <inttypes.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "crypto.h"
#include "note.h"
#include "tiles.h"
#include "tlog.h"

#define BATCH 1000u

/* Wall-clock seconds; the machine may be shared, so cpu() is printed
 * next to it for the log's own cost. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
die(const char *what)
{
	fprintf(stderr, "tlog-bench: %s failed\n", what);
	exit(1);
}

static void
entry(uint64_t i, uint8_t e[100])
{
	for (size_t k = 0; k < 100; k++) {
		e[k] = (uint8_t)(i >> (8 * (k % 8))) ^ (uint8_t)k;
	}
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000u;
	char dir[256], pub[300];
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	tlog *t = NULL;
	uint8_t e[100], root[TLOG_HASH_LEN], r2[TLOG_HASH_LEN];
	uint8_t pk[32], sk[NOTE_SK_LEN];
	note_signer *s = NULL;
	tlog_proof p;
	tlog_hasher hs;
	tiles_export_stats st;
	itk_buf *b = NULL;
	double t0, dt, c0;
	const unsigned reps = 10000;

	if (n == 0 || itk_crypto_init() != ITK_OK) {
		die("arguments or libsodium");
	}
	if (argc > 2) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/tlog-bench-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			die("mkdtemp");
		}
	}
	if (mdb_env_create(&env) != 0 ||
	    mdb_env_set_maxdbs(env, TLOG_DB_COUNT) != 0 ||
	    mdb_env_set_mapsize(env, 8ull << 30) != 0 ||
	    mdb_env_open(env, dir, MDB_NOSYNC, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    tlog_open(txn, &t) != ITK_OK || mdb_txn_commit(txn) != 0) {
		die("open");
	}

	t0 = now();
	c0 = cpu();
	for (uint64_t i = 0; i < n;) {
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0) {
			die("txn");
		}
		for (unsigned k = 0; k < BATCH && i < n; k++, i++) {
			entry(i, e);
			if (tlog_append(t, txn, e, sizeof(e), NULL) !=
			    ITK_OK) {
				die("append");
			}
		}
		if (mdb_txn_commit(txn) != 0) {
			die("commit");
		}
	}
	dt = now() - t0;
	printf("append: %" PRIu64 " leaves in %.2f s = %.0f leaves/s "
	       "(%u per txn, no fsync; cpu %.2f s = %.0f leaves/cpu-s)\n",
	       n, dt, (double)n / dt, BATCH, cpu() - c0,
	       (double)n / (cpu() - c0));

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0) {
		die("txn");
	}
	t0 = now();
	for (unsigned k = 0; k < reps; k++) {
		if (tlog_root(t, txn, n - (k % 1000), root) != ITK_OK) {
			die("root");
		}
	}
	dt = now() - t0;
	printf("root at size ~%" PRIu64 ": %.1f us each (from stored "
	       "hashes)\n",
	       n, dt / reps * 1e6);
	if (tlog_root(t, txn, n, root) != ITK_OK) {
		die("root");
	}
	t0 = now();
	for (unsigned k = 0; k < reps; k++) {
		if (tlog_prove_inclusion(t, txn, (k * 2654435761u) % n, n,
					 &p) != ITK_OK) {
			die("prove");
		}
	}
	dt = now() - t0;
	printf("inclusion proof (%zu hashes): %.1f us each\n", p.n,
	       dt / reps * 1e6);
	entry(n - 1, e);
	uint8_t leaf[TLOG_HASH_LEN];
	tlog_leaf_hash(leaf, e, sizeof(e));
	if (tlog_prove_inclusion(t, txn, n - 1, n, &p) != ITK_OK) {
		die("prove");
	}
	t0 = now();
	for (unsigned k = 0; k < reps; k++) {
		if (tlog_verify_inclusion(leaf, n - 1, n, p.h[0], p.n, root) !=
		    ITK_OK) {
			die("verify");
		}
	}
	dt = now() - t0;
	printf("inclusion verify: %.1f us each\n", dt / reps * 1e6);
	t0 = now();
	for (unsigned k = 0; k < reps; k++) {
		if (tlog_prove_consistency(t, txn, 1 + (k * 40503u) % n, n,
					   &p) != ITK_OK) {
			die("prove");
		}
	}
	dt = now() - t0;
	printf("consistency proof: %.1f us each\n", dt / reps * 1e6);

	/* The auditor's rebuild: every entry read and hashed, in order. */
	t0 = now();
	c0 = cpu();
	tlog_hasher_init(&hs);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *ep;
		size_t len;
		if (tlog_entry(t, txn, i, &ep, &len) != ITK_OK) {
			die("entry");
		}
		tlog_leaf_hash(leaf, ep, len);
		if (tlog_hasher_push(&hs, leaf) != ITK_OK) {
			die("push");
		}
	}
	tlog_hasher_root(&hs, r2);
	dt = now() - t0;
	if (memcmp(root, r2, sizeof(root)) != 0) {
		die("rebuild");
	}
	printf("rebuild from entries: %.2f s = %.0f leaves/s (cpu %.2f s)\n",
	       dt, (double)n / dt, cpu() - c0);
	mdb_txn_abort(txn);

	/* Sign and export (with fsync per file: the real cost). */
	if (crypto_sign_keypair(pk, sk) != 0 ||
	    note_signer_new("bench.example/log", NOTE_TYPE_ED25519, sk, &s) !=
		ITK_OK ||
	    (b = itk_buf_new(CHECKPOINT_MAX)) == NULL ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    checkpoint_sign(t, txn, s, b) != ITK_OK ||
	    mdb_txn_commit(txn) != 0) {
		die("sign");
	}
	sodium_memzero(sk, sizeof(sk));
	snprintf(pub, sizeof(pub), "%s/pub", dir);
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0) {
		die("txn");
	}
	t0 = now();
	if (tiles_export(t, txn, pub, &st) != ITK_OK) {
		die("export");
	}
	dt = now() - t0;
	printf("first export: %" PRIu64 " tiles + %" PRIu64
	       " bundles in %.2f s\n",
	       st.tiles_written, st.bundles_written, dt);
	t0 = now();
	if (tiles_export(t, txn, pub, &st) != ITK_OK) {
		die("export");
	}
	dt = now() - t0;
	printf("repeat export (nothing new): %.3f s\n", dt);
	mdb_txn_abort(txn);

	MDB_envinfo info;
	MDB_stat ms;
	if (mdb_env_info(env, &info) == 0 && mdb_env_stat(env, &ms) == 0) {
		printf(
		    "LMDB pages used: %zu (%.1f MiB, %.1f bytes/leaf)\n",
		    info.me_last_pgno + 1,
		    (double)(info.me_last_pgno + 1) * ms.ms_psize / 1048576.0,
		    (double)(info.me_last_pgno + 1) * ms.ms_psize / (double)n);
	}
	note_signer_free(s);
	itk_buf_free(b);
	tlog_free(t);
	mdb_env_close(env);
	if (argc <= 2) {
		(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	return 0;
}
