/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_TLOG_TEST_ENV_H
#define ITK_TLOG_TEST_ENV_H

/*
 * Shared by test_tlog.c, test_checkpoint.c and test_tiles.c: a throwaway
 * LMDB environment in a temporary directory holding only the log, the way
 * the vault will hold it (its own write transactions around appends).
 */

#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "tlog.h"

typedef struct {
	char dir[64];
	MDB_env *env;
	tlog *t;
} test_env;

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static inline void
rm_rf(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the environment and opens the log in a committed write txn.
 * Returns 0 on success. */
static inline int
test_env_open(test_env *e, const char *tag)
{
	MDB_txn *txn = NULL;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/itk-test-%s-XXXXXX", tag);
	if (itk_crypto_init() != ITK_OK || mkdtemp(e->dir) == NULL) {
		return -1;
	}
	if (mdb_env_create(&e->env) != 0 ||
	    mdb_env_set_maxdbs(e->env, TLOG_DB_COUNT) != 0 ||
	    mdb_env_set_mapsize(e->env, 1ull << 30) != 0 ||
	    mdb_env_open(e->env, e->dir, MDB_NOSYNC, 0600) != 0) {
		return -1;
	}
	if (mdb_txn_begin(e->env, NULL, 0, &txn) != 0) {
		return -1;
	}
	if (tlog_open(txn, &e->t) != ITK_OK) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

static inline void
test_env_close(test_env *e)
{
	tlog_free(e->t);
	e->t = NULL;
	if (e->env != NULL) {
		mdb_env_close(e->env);
		e->env = NULL;
	}
	if (e->dir[0] != '\0') {
		rm_rf(e->dir);
	}
}

/* The entry for leaf i of the synthetic logs the tests build. */
static inline size_t
test_entry(uint64_t i, uint8_t *buf, size_t cap)
{
	size_t len = 1 + (size_t)(i % 61);

	if (len > cap) {
		len = cap;
	}
	for (size_t k = 0; k < len; k++) {
		buf[k] = (uint8_t)(i * 131u + k * 7u + (i >> 8));
	}
	return len;
}

/* Appends leaves [from, to) in one write txn.  Returns 0 on success. */
static inline int
test_env_append(test_env *e, uint64_t from, uint64_t to)
{
	MDB_txn *txn = NULL;
	uint8_t buf[64];
	uint64_t idx;

	if (mdb_txn_begin(e->env, NULL, 0, &txn) != 0) {
		return -1;
	}
	for (uint64_t i = from; i < to; i++) {
		size_t len = test_entry(i, buf, sizeof(buf));
		if (tlog_append(e->t, txn, buf, len, &idx) != ITK_OK ||
		    idx != i) {
			mdb_txn_abort(txn);
			return -1;
		}
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

#endif
