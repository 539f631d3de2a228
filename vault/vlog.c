/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker tier's view of the vault's Merkle log (vault_log.h): reads
 * and signing, each in its own LMDB transaction.
 */
#include <string.h>

#include "checkpoint.h"
#include "tiles.h"
#include "tlog.h"
#include "vault_impl.h"
#include "vault_log.h"

static itk_err
ro_begin(vault *v, MDB_txn **t)
{
	int rc;

	*t = NULL;
	if (v->log == NULL) {
		return ITK_E_NOT_FOUND;
	}
	rc = mdb_txn_begin(v->env, NULL, MDB_RDONLY, t);
	if (rc == MDB_MAP_RESIZED) {
		if ((rc = mdb_env_set_mapsize(v->env, 0)) == MDB_SUCCESS) {
			rc = mdb_txn_begin(v->env, NULL, MDB_RDONLY, t);
		}
	}
	if (rc != MDB_SUCCESS) {
		*t = NULL;
	}
	return vault_mdb_err(rc);
}

itk_err
vault_log_size(vault *v, uint64_t *size)
{
	MDB_txn *t = NULL;
	itk_err r;

	*size = 0;
	if ((r = ro_begin(v, &t)) != ITK_OK) {
		return r;
	}
	r = tlog_size(v->log, t, size);
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_log_entry(vault *v, uint64_t index, itk_buf *out)
{
	const uint8_t *p;
	MDB_txn *t = NULL;
	size_t len;
	itk_err r;

	if ((r = ro_begin(v, &t)) != ITK_OK) {
		return r;
	}
	if ((r = tlog_entry(v->log, t, index, &p, &len)) == ITK_OK) {
		r = itk_buf_put(out, p, len);
	}
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_log_sign(vault *v, const note_signer *s, itk_buf *out, uint64_t *size)
{
	vault_txn t;
	size_t start = itk_buf_len(out);
	note_msg msg;
	checkpoint cp;
	itk_err r;

	if (size != NULL) {
		*size = 0;
	}
	if (v->log == NULL) {
		return ITK_E_NOT_FOUND;
	}
	/* A vault_txn so that the counters are carried over untouched. */
	if ((r = vault_txn_begin(v, &t)) != ITK_OK) {
		return r;
	}
	if ((r = checkpoint_sign(v->log, t.txn, s, out)) != ITK_OK) {
		vault_txn_abort(&t);
		return r;
	}
	if ((r = vault_txn_commit(&t)) != ITK_OK) {
		return r;
	}
	if (size != NULL &&
	    note_parse(itk_buf_ptr(out) + start, itk_buf_len(out) - start,
		       &msg) == ITK_OK &&
	    checkpoint_parse(msg.text, msg.text_len, &cp) == ITK_OK) {
		*size = cp.size;
	}
	return ITK_OK;
}

itk_err
vault_log_latest(vault *v, itk_buf *out)
{
	MDB_txn *t = NULL;
	itk_err r;

	if ((r = ro_begin(v, &t)) != ITK_OK) {
		return r;
	}
	r = checkpoint_latest(v->log, t, out);
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_log_tile(vault *v, int level, uint64_t n, unsigned w, itk_buf *out)
{
	uint8_t h[TLOG_HASH_LEN];
	const uint8_t *e;
	MDB_txn *t = NULL;
	size_t len;
	itk_err r;

	if (w == 0 || w > TILE_WIDTH || level < TILES_LEVEL_ENTRIES ||
	    level > 7) {
		return ITK_E_RANGE;
	}
	if ((r = ro_begin(v, &t)) != ITK_OK) {
		return r;
	}
	for (unsigned j = 0; j < w && r == ITK_OK; j++) {
		uint64_t i = n * TILE_WIDTH + j;
		if (level == TILES_LEVEL_ENTRIES) {
			if ((r = tlog_entry(v->log, t, i, &e, &len)) ==
				ITK_OK &&
			    (r = itk_buf_put_u16(out, (uint16_t)len)) ==
				ITK_OK) {
				r = itk_buf_put(out, e, len);
			}
		} else if ((r = tlog_stored_hash(v->log, t,
						 (unsigned)level * TILE_HEIGHT,
						 i, h)) == ITK_OK) {
			r = itk_buf_put(out, h, sizeof(h));
		}
	}
	mdb_txn_abort(t);
	return r;
}

/* The tiles of one level (count hashes or entries at size new) that the
 * level did not have, at the same width, with count_old. */
static itk_err
level_between(int level, uint64_t count_old, uint64_t count_new,
	      itk_err (*fn)(void *, int, uint64_t, unsigned), void *arg)
{
	uint64_t first = count_old / TILE_WIDTH;
	uint64_t ntiles = (count_new + TILE_WIDTH - 1) / TILE_WIDTH;
	itk_err r;

	if (count_new <= count_old) {
		return ITK_OK;
	}
	for (uint64_t n = first; n < ntiles; n++) {
		uint64_t left = count_new - n * TILE_WIDTH;
		unsigned w = left >= TILE_WIDTH ? TILE_WIDTH : (unsigned)left;
		if ((r = fn(arg, level, n, w)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

itk_err
vault_log_tiles_between(uint64_t old_size, uint64_t new_size,
			itk_err (*fn)(void *arg, int level, uint64_t n,
				      unsigned w),
			void *arg)
{
	itk_err r;

	if (old_size > new_size) {
		old_size = 0; /* the other side lost track: send everything */
	}
	for (unsigned l = 0; l < 8; l++) {
		uint64_t cn = new_size >> (l * TILE_HEIGHT);
		if (cn == 0) {
			break;
		}
		if ((r = level_between((int)l, old_size >> (l * TILE_HEIGHT),
				       cn, fn, arg)) != ITK_OK) {
			return r;
		}
	}
	return level_between(TILES_LEVEL_ENTRIES, old_size, new_size, fn, arg);
}

itk_err
vault_log_export(vault *v, const char *dir, tiles_export_stats *st)
{
	MDB_txn *t = NULL;
	itk_err r;

	if ((r = ro_begin(v, &t)) != ITK_OK) {
		return r;
	}
	r = tiles_export(v->log, t, dir, st);
	mdb_txn_abort(t);
	return r;
}
