/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's published copy of the vault log (gw_log.h): pushed
 * files checked and stored, served under /log/, inclusion proofs for
 * submitters, cosignatures from auditors.
 *
 * The files live in an LMDB environment of their own (path -> bytes),
 * opened before the gateway drops privileges: writing them then needs no
 * system call beyond those the spool already uses (no open for writing,
 * rename or mkdir under the seccomp filter), and a crash never leaves a
 * half-written tile.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <sodium.h>

#include "checkpoint.h"
#include "crypto.h"
#include "file.h"
#include "gw.h"
#include "gw_log.h"
#include "leaf.h"
#include "log.h"
#include "note.h"
#include "tiles.h"
#include "tlog.h"

#define LOG_DIR_MODE  0700
#define LOG_MAP_SIZE  (4ull << 30)
#define COSIG_LEN     76u /* key id (4) || timestamp (8) || signature (64) */
#define COSIG_B64_MAX 104u

/* The submission index: open addressing, id -> leaf index. */
typedef struct {
	uint8_t id[32];
	uint64_t index;
	bool used;
} slot;

struct gw_log {
	pthread_mutex_t mtx;
	MDB_env *env;
	MDB_dbi dbi; /* "files": path -> bytes */
	note_verifier key;
	uint64_t size;               /* published checkpoint's */
	uint8_t root[TLOG_HASH_LEN]; /* published checkpoint's */
	itk_buf *note;               /* published checkpoint, as signed */
	itk_buf *cosigs;             /* kept cosignature lines */
	size_t n_cosigs;
	slot *idx;
	size_t idx_cap, idx_n;
};

/* --- the submission index ------------------------------------------- */

static size_t
idx_hash(const uint8_t id[32], size_t cap)
{
	/* Ids are SHA-256 outputs: their first bytes are uniform. */
	uint64_t h = 0;

	for (size_t i = 0; i < 8; i++) {
		h = (h << 8) | id[i];
	}
	return (size_t)(h & (cap - 1));
}

static itk_err
idx_put(gw_log *g, const uint8_t id[32], uint64_t index)
{
	size_t i;

	if ((g->idx_n + 1) * 2 > g->idx_cap) {
		size_t ncap = g->idx_cap == 0 ? 1024 : g->idx_cap * 2;
		slot *n = calloc(ncap, sizeof(*n));
		if (n == NULL) {
			return ITK_E_NOMEM;
		}
		for (size_t j = 0; j < g->idx_cap; j++) {
			if (g->idx[j].used) {
				size_t k = idx_hash(g->idx[j].id, ncap);
				while (n[k].used) {
					k = (k + 1) & (ncap - 1);
				}
				n[k] = g->idx[j];
			}
		}
		free(g->idx);
		g->idx = n;
		g->idx_cap = ncap;
	}
	for (i = idx_hash(id, g->idx_cap); g->idx[i].used;
	     i = (i + 1) & (g->idx_cap - 1)) {
		if (memcmp(g->idx[i].id, id, 32) == 0) {
			return ITK_OK; /* the first leaf of an id stays */
		}
	}
	memcpy(g->idx[i].id, id, 32);
	g->idx[i].index = index;
	g->idx[i].used = true;
	g->idx_n++;
	return ITK_OK;
}

static bool
idx_get(const gw_log *g, const uint8_t id[32], uint64_t *index)
{
	if (g->idx_cap == 0) {
		return false;
	}
	for (size_t i = idx_hash(id, g->idx_cap); g->idx[i].used;
	     i = (i + 1) & (g->idx_cap - 1)) {
		if (memcmp(g->idx[i].id, id, 32) == 0) {
			*index = g->idx[i].index;
			return true;
		}
	}
	return false;
}

static itk_err
index_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	vault_leaf l;

	/* The root was checked first: these entries are the log's. */
	if (vault_leaf_decode(entry, len, &l) != ITK_OK) {
		return ITK_OK; /* a leaf of a newer version: not indexed */
	}
	if (l.kind != VAULT_LEAF_MESSAGE || l.key_len != 32) {
		return ITK_OK;
	}
	return idx_put(arg, l.key, index);
}

/* --- paths ----------------------------------------------------------- */

/* Reads a decimal without leading zero (or "0"), at most max. */
static bool
dec(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9' ||
	    (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) {
		return false;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10) {
			return false;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

/*
 * Parses a tile path; accepts only the canonical form (re-rendered with
 * tiles_path and compared), so that one tile has exactly one name and no
 * path can leave the directory.
 */
static bool
tile_path_parse(const char *path, int *level, uint64_t *n, unsigned *w)
{
	char again[TILES_PATH_MAX];
	const char *p = path;
	uint64_t v, num = 0;

	if (strlen(path) >= TILES_PATH_MAX || strncmp(p, "tile/", 5) != 0) {
		return false;
	}
	p += 5;
	if (strncmp(p, "entries/", 8) == 0) {
		*level = TILES_LEVEL_ENTRIES;
		p += 8;
	} else {
		if (!dec(&p, 63, &v) || *p != '/') {
			return false;
		}
		*level = (int)v;
		p++;
	}
	/* Groups: x### / ... / ###  (7 groups cover 2^64). */
	for (int g = 0; g < 7; g++) {
		bool more = *p == 'x';
		unsigned d = 0;
		if (more) {
			p++;
		}
		for (int i = 0; i < 3; i++, p++) {
			if (*p < '0' || *p > '9') {
				return false;
			}
			d = d * 10 + (unsigned)(*p - '0');
		}
		if (num > (UINT64_MAX - d) / 1000) {
			return false;
		}
		num = num * 1000 + d;
		if (!more) {
			break;
		}
		if (*p != '/') {
			return false;
		}
		p++;
	}
	*w = TILE_WIDTH;
	if (*p == '.') {
		if (strncmp(p, ".p/", 3) != 0) {
			return false;
		}
		p += 3;
		if (!dec(&p, TILE_WIDTH - 1, &v) || v == 0) {
			return false;
		}
		*w = (unsigned)v;
	}
	if (*p != '\0') {
		return false;
	}
	*n = num;
	return tiles_path(again, sizeof(again), *level, num, *w) == ITK_OK &&
	       strcmp(again, path) == 0;
}

static itk_err
mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return ITK_OK;
	case MDB_NOTFOUND:
		return ITK_E_NOT_FOUND;
	case MDB_MAP_FULL:
		return ITK_E_FULL;
	default:
		return ITK_E_DB;
	}
}

static itk_err
open_env(gw_log *g, const char *dir)
{
	MDB_txn *t = NULL;
	int rc;

	if ((rc = mdb_env_create(&g->env)) != 0) {
		g->env = NULL;
		return mdb_err(rc);
	}
	if ((rc = mdb_env_set_maxdbs(g->env, 1)) != 0 ||
	    (rc = mdb_env_set_mapsize(g->env, LOG_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_open(g->env, dir, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(g->env, NULL, 0, &t)) != 0) {
		return mdb_err(rc);
	}
	if ((rc = mdb_dbi_open(t, "files", MDB_CREATE, &g->dbi)) != 0) {
		mdb_txn_abort(t);
		return mdb_err(rc);
	}
	return mdb_err(mdb_txn_commit(t));
}

/* Writes one file (its own transaction: fsync'd on return). */
static itk_err
write_rel(gw_log *g, const char *rel, const uint8_t *data, size_t len)
{
	MDB_txn *t = NULL;
	MDB_val k = {strlen(rel), (void *)(uintptr_t)rel};
	MDB_val d = {len, (void *)(uintptr_t)data};
	int rc;

	if ((rc = mdb_txn_begin(g->env, NULL, 0, &t)) != 0) {
		return mdb_err(rc);
	}
	if ((rc = mdb_put(t, g->dbi, &k, &d, 0)) != 0) {
		mdb_txn_abort(t);
		return mdb_err(rc);
	}
	return mdb_err(mdb_txn_commit(t));
}

/* Copies one file into a new buffer (*out, freed by the caller). */
static itk_err
read_rel(gw_log *g, const char *rel, size_t max, itk_buf **out)
{
	MDB_txn *t = NULL;
	MDB_val k = {strlen(rel), (void *)(uintptr_t)rel}, d;
	itk_err r;
	int rc;

	*out = NULL;
	if ((rc = mdb_txn_begin(g->env, NULL, MDB_RDONLY, &t)) != 0) {
		return mdb_err(rc);
	}
	if ((r = mdb_err(mdb_get(t, g->dbi, &k, &d))) != ITK_OK) {
		goto out;
	}
	if (d.mv_size > max) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if ((*out = itk_buf_new(d.mv_size > 0 ? d.mv_size : 1)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	r = itk_buf_put(*out, d.mv_data, d.mv_size);
out:
	mdb_txn_abort(t);
	return r;
}

/*
 * A tlog_hash_fn over the tiles stored here, for a tree of size leaves,
 * inside one read transaction (tiles_hash_fn does the same over a
 * directory).
 */
typedef struct {
	gw_log *g;
	MDB_txn *txn;
	uint64_t size;
} store_reader;

/* The stored tile (level, n) of width w, else the full tile (tlog-tiles
 * lets a partial tile go once the full one exists: its prefix serves). */
static itk_err
load_tile(store_reader *sr, int level, uint64_t n, unsigned w, MDB_val *d)
{
	char rel[TILES_PATH_MAX];
	MDB_val k;
	itk_err r;

	if ((r = tiles_path(rel, sizeof(rel), level, n, w)) != ITK_OK) {
		return r;
	}
	k.mv_data = rel;
	k.mv_size = strlen(rel);
	r = mdb_err(mdb_get(sr->txn, sr->g->dbi, &k, d));
	if (r == ITK_E_NOT_FOUND && w < TILE_WIDTH) {
		if ((r = tiles_path(rel, sizeof(rel), level, n, TILE_WIDTH)) !=
		    ITK_OK) {
			return r;
		}
		k.mv_size = strlen(rel);
		r = mdb_err(mdb_get(sr->txn, sr->g->dbi, &k, d));
	}
	return r;
}

static unsigned
width_at(uint64_t count, uint64_t n)
{
	uint64_t left = count - n * TILE_WIDTH;

	return left >= TILE_WIDTH ? TILE_WIDTH : (unsigned)left;
}

static itk_err
store_hash_fn(void *arg, unsigned level, uint64_t index,
	      uint8_t out[TLOG_HASH_LEN])
{
	store_reader *sr = arg;
	uint8_t tmp[TILE_WIDTH / 2][TLOG_HASH_LEN];
	unsigned tl = level / TILE_HEIGHT, up = level % TILE_HEIGHT;
	size_t cnt = (size_t)1 << up, off;
	const uint8_t *h;
	uint64_t base, n, count;
	MDB_val d;
	itk_err r;

	if (level > 62 || index >= (TLOG_SIZE_MAX >> level) ||
	    ((index + 1) << level) > sr->size) {
		return ITK_E_RANGE;
	}
	base = index << up;
	n = base / TILE_WIDTH;
	off = (size_t)(base % TILE_WIDTH);
	count = sr->size >> (tl * TILE_HEIGHT);
	if ((r = load_tile(sr, (int)tl, n, width_at(count, n), &d)) !=
	    ITK_OK) {
		return r;
	}
	if (d.mv_size % TLOG_HASH_LEN != 0 ||
	    d.mv_size / TLOG_HASH_LEN < off + cnt) {
		return ITK_E_FORMAT;
	}
	h = d.mv_data;
	if (cnt == 1) {
		memcpy(out, h + off * TLOG_HASH_LEN, TLOG_HASH_LEN);
		return ITK_OK;
	}
	for (size_t i = 0; i < cnt / 2; i++) {
		tlog_node_hash(tmp[i], h + (off + 2 * i) * TLOG_HASH_LEN,
			       h + (off + 2 * i + 1) * TLOG_HASH_LEN);
	}
	for (size_t m = cnt / 2; m > 1; m /= 2) {
		for (size_t i = 0; i < m / 2; i++) {
			tlog_node_hash(tmp[i], tmp[2 * i], tmp[2 * i + 1]);
		}
	}
	memcpy(out, tmp[0], TLOG_HASH_LEN);
	return ITK_OK;
}

/* Counts the entries of a bundle prefix: where entry w starts. */
static itk_err
bundle_prefix(const uint8_t *p, size_t len, unsigned w, size_t *end)
{
	size_t off = 0;

	for (unsigned i = 0; i < w; i++) {
		size_t n;
		if (len - off < 2) {
			return ITK_E_FORMAT;
		}
		n = (size_t)p[off] << 8 | p[off + 1];
		if (len - off - 2 < n) {
			return ITK_E_FORMAT;
		}
		off += 2 + n;
	}
	*end = off;
	return ITK_OK;
}

/* Calls fn for each entry of bundle n of the reader's tree. */
static itk_err
store_entries(store_reader *sr, uint64_t n,
	      itk_err (*fn)(void *, uint64_t, const uint8_t *, size_t),
	      void *arg)
{
	unsigned w = width_at(sr->size, n);
	size_t end = 0;
	MDB_val d;
	itk_err r;

	if ((r = load_tile(sr, TILES_LEVEL_ENTRIES, n, w, &d)) != ITK_OK) {
		return r;
	}
	/* A full bundle standing in for a partial one: its first w. */
	if ((r = bundle_prefix(d.mv_data, d.mv_size, w, &end)) != ITK_OK) {
		return r;
	}
	return tiles_bundle_parse(d.mv_data, end, w, n * TILE_WIDTH, fn, arg);
}

static itk_err
reader_begin(gw_log *g, uint64_t size, store_reader *sr)
{
	sr->g = g;
	sr->size = size;
	sr->txn = NULL;
	return mdb_err(mdb_txn_begin(g->env, NULL, MDB_RDONLY, &sr->txn));
}

/* Indexes the message leaves [from, to) from the bundles in the dir. */
static itk_err
index_range(gw_log *g, uint64_t from, uint64_t to)
{
	store_reader sr;
	itk_err r;

	if (from >= to) {
		return ITK_OK;
	}
	if ((r = reader_begin(g, to, &sr)) != ITK_OK) {
		return r;
	}
	for (uint64_t n = from / TILE_WIDTH; n * TILE_WIDTH < to; n++) {
		if ((r = store_entries(&sr, n, index_entry, g)) != ITK_OK) {
			break;
		}
	}
	mdb_txn_abort(sr.txn);
	return r;
}

static itk_err
count_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	(void)arg;
	(void)index;
	(void)entry;
	(void)len;
	return ITK_OK;
}

/* Stores a tile or bundle: right length, never rewritten. */
static itk_err
store_tile(gw_log *g, const char *path, const uint8_t *data, size_t len)
{
	itk_buf *old = NULL;
	uint64_t n;
	unsigned w;
	int level;
	itk_err r;

	if (!tile_path_parse(path, &level, &n, &w)) {
		return ITK_E_FORMAT;
	}
	if (level == TILES_LEVEL_ENTRIES) {
		if ((r = tiles_bundle_parse(data, len, w, n * TILE_WIDTH,
					    count_entry, NULL)) != ITK_OK) {
			return ITK_E_FORMAT;
		}
	} else if (len != (size_t)w * TLOG_HASH_LEN) {
		return ITK_E_FORMAT;
	}
	r = read_rel(g, path, GW_LOG_FILE_MAX, &old);
	if (r == ITK_OK) {
		bool same = itk_buf_len(old) == len &&
			    memcmp(itk_buf_ptr(old), data, len) == 0;
		itk_buf_free(old);
		return same ? ITK_OK : ITK_E_EXISTS;
	}
	if (r != ITK_E_NOT_FOUND) {
		return r;
	}
	return write_rel(g, path, data, len);
}

/*
 * Verifies and publishes a checkpoint: signed by the log key, not older
 * than the published one, the same root at the same size, the root
 * recomputed from the tiles held, consistent with the published one.
 */
static itk_err
store_checkpoint(gw_log *g, const uint8_t *data, size_t len)
{
	uint8_t root[TLOG_HASH_LEN];
	store_reader sr = {0};
	tlog_proof pf;
	checkpoint cp;
	note_msg msg;
	itk_err r;

	if ((r = checkpoint_open(data, len, &g->key, &cp, &msg)) != ITK_OK) {
		return r == ITK_E_KEY_UNKNOWN ? ITK_E_VERIFY : r;
	}
	if (cp.size < g->size) {
		return ITK_E_RANGE; /* an older one: a slower worker's */
	}
	if (cp.size == g->size && itk_buf_len(g->note) > 0) {
		/* The log key signed two roots for one size: keep proof. */
		if (sodium_memcmp(cp.root, g->root, TLOG_HASH_LEN) != 0) {
			(void)write_rel(g, "fork-evidence", data, len);
			itk_log_error("log.fork", "size=%llu",
				      (unsigned long long)cp.size);
			return ITK_E_VERIFY;
		}
		return ITK_OK;
	}
	if ((r = reader_begin(g, cp.size, &sr)) != ITK_OK) {
		return r;
	}
	if ((r = tlog_tree_hash_from(store_hash_fn, &sr, cp.size, root)) !=
	    ITK_OK) {
		goto out;
	}
	if (sodium_memcmp(root, cp.root, TLOG_HASH_LEN) != 0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	if (g->size > 0) {
		if ((r = tlog_prove_consistency_from(store_hash_fn, &sr,
						     g->size, cp.size, &pf)) !=
			ITK_OK ||
		    (r = tlog_verify_consistency(g->size, cp.size, g->root,
						 cp.root, pf.h[0], pf.n)) !=
			ITK_OK) {
			goto out;
		}
	}
	mdb_txn_abort(sr.txn);
	sr.txn = NULL;
	if ((r = index_range(g, g->size, cp.size)) != ITK_OK) {
		goto out;
	}
	/* Last: the checkpoint makes the tiles above reachable. */
	if ((r = write_rel(g, "checkpoint", data, len)) != ITK_OK) {
		goto out;
	}
	itk_buf_reset(g->note);
	if ((r = itk_buf_put(g->note, data, len)) != ITK_OK) {
		goto out;
	}
	itk_buf_reset(g->cosigs);
	g->n_cosigs = 0;
	(void)write_rel(g, "cosignatures", (const uint8_t *)"", 0);
	itk_log_info("log.published", "size=%llu previous=%llu",
		     (unsigned long long)cp.size, (unsigned long long)g->size);
	g->size = cp.size;
	memcpy(g->root, cp.root, TLOG_HASH_LEN);
out:
	mdb_txn_abort(sr.txn);
	return r;
}

itk_err
gw_log_store(gw_log *g, const char *path, const uint8_t *data, size_t len)
{
	itk_err r;

	if (path == NULL || len > GW_LOG_FILE_MAX) {
		return path == NULL ? ITK_E_FORMAT : ITK_E_TOO_BIG;
	}
	pthread_mutex_lock(&g->mtx);
	if (strcmp(path, "checkpoint") == 0) {
		r = store_checkpoint(g, data, len);
	} else {
		r = store_tile(g, path, data, len);
	}
	pthread_mutex_unlock(&g->mtx);
	return r;
}

uint64_t
gw_log_size(gw_log *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->mtx);
	n = g->size;
	pthread_mutex_unlock(&g->mtx);
	return n;
}

/* --- open ------------------------------------------------------------ */

/* Loads the published checkpoint and cosignatures at start. */
static itk_err
load_published(gw_log *g)
{
	itk_buf *b = NULL;
	checkpoint cp;
	itk_err r;

	r = read_rel(g, "checkpoint", CHECKPOINT_MAX, &b);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK; /* nothing published yet */
	}
	if (r != ITK_OK) {
		return r;
	}
	if ((r = checkpoint_open(itk_buf_ptr(b), itk_buf_len(b), &g->key, &cp,
				 NULL)) != ITK_OK ||
	    (r = itk_buf_put(g->note, itk_buf_ptr(b), itk_buf_len(b))) !=
		ITK_OK) {
		goto out;
	}
	g->size = cp.size;
	memcpy(g->root, cp.root, TLOG_HASH_LEN);
	r = index_range(g, 0, cp.size);
out:
	itk_buf_free(b);
	return r;
}

itk_err
gw_log_open(const char *dir, const char *origin, const uint8_t pk[32],
	    gw_log **out)
{
	gw_log *g;
	itk_err r;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		return ITK_E_NOMEM;
	}
	if (pthread_mutex_init(&g->mtx, NULL) != 0) {
		free(g);
		return ITK_E_NOMEM;
	}

	if ((g->note = itk_buf_new(CHECKPOINT_MAX)) == NULL ||
	    (g->cosigs = itk_buf_new(GW_LOG_COSIGS_MAX * 512u)) == NULL) {
		r = ITK_E_NOMEM;
		goto fail;
	}
	if ((r = note_verifier_init(&g->key, origin, strlen(origin),
				    NOTE_TYPE_ED25519, pk)) != ITK_OK ||
	    (r = itk_mkdir_p(dir, LOG_DIR_MODE)) != ITK_OK ||
	    (r = open_env(g, dir)) != ITK_OK ||
	    (r = load_published(g)) != ITK_OK) {
		goto fail;
	}
	*out = g;
	return ITK_OK;
fail:
	gw_log_free(g);
	return r;
}

void
gw_log_free(gw_log *g)
{
	if (g == NULL) {
		return;
	}
	itk_buf_free(g->note);
	itk_buf_free(g->cosigs);
	free(g->idx);
	if (g->env != NULL) {
		mdb_env_close(g->env);
	}
	pthread_mutex_destroy(&g->mtx);
	free(g);
}

/* --- reads ----------------------------------------------------------- */

itk_err
gw_log_get(gw_log *g, const char *path, itk_buf **out, const char **ctype)
{
	uint64_t n;
	unsigned w;
	int level;
	itk_buf *b = NULL;
	itk_err r;

	*out = NULL;
	*ctype = "text/plain; charset=utf-8";
	pthread_mutex_lock(&g->mtx);
	if (strcmp(path, "checkpoint") == 0 ||
	    strcmp(path, "cosignatures") == 0) {
		bool cp = path[0] == 'c' && path[1] == 'h';
		if (itk_buf_len(g->note) == 0) {
			r = ITK_E_NOT_FOUND;
			goto out;
		}
		if ((b = itk_buf_new(CHECKPOINT_MAX +
				     itk_buf_max(g->cosigs))) == NULL) {
			r = ITK_E_NOMEM;
			goto out;
		}
		/* The checkpoint with the cosignatures received for it
		 * appended (C2SP: verifiers ignore lines of keys they do
		 * not know); "cosignatures" is the lines alone. */
		if ((cp &&
		     (r = itk_buf_put(b, itk_buf_ptr(g->note),
				      itk_buf_len(g->note))) != ITK_OK) ||
		    (r = itk_buf_put(b, itk_buf_ptr(g->cosigs),
				     itk_buf_len(g->cosigs))) != ITK_OK) {
			goto out;
		}
	} else if (tile_path_parse(path, &level, &n, &w)) {
		*ctype = "application/octet-stream";
		r = read_rel(g, path, GW_LOG_FILE_MAX, &b);
		if (r != ITK_OK) {
			goto out;
		}
	} else {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	*out = b;
	b = NULL;
	r = ITK_OK;
out:
	pthread_mutex_unlock(&g->mtx);
	itk_buf_free(b);
	return r;
}

struct find_entry {
	uint64_t want;
	itk_buf *entry;
};

static itk_err
copy_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct find_entry *f = arg;

	if (index != f->want) {
		return ITK_OK;
	}
	return itk_buf_put(f->entry, entry, len);
}

itk_err
gw_log_proof(gw_log *g, const uint8_t id[32], itk_buf *out)
{
	struct find_entry f = {0};
	store_reader sr = {0};
	tlog_proof pf;
	uint64_t index;
	itk_err r;

	pthread_mutex_lock(&g->mtx);
	if (!idx_get(g, id, &index) || index >= g->size) {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	f.want = index;
	if ((f.entry = itk_buf_new(VAULT_LEAF_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = reader_begin(g, g->size, &sr)) != ITK_OK ||
	    (r = store_entries(&sr, index / TILE_WIDTH, copy_entry, &f)) !=
		ITK_OK ||
	    (r = tlog_prove_inclusion_from(store_hash_fn, &sr, index, g->size,
					   &pf)) != ITK_OK) {
		goto out;
	}
	/* docs/audit.md "Receipts with proofs". */
	if ((r = itk_buf_put(out, "itk-proof/1\n", 12)) != ITK_OK ||
	    (r = itk_buf_put_u64(out, index)) != ITK_OK ||
	    (r = itk_buf_put_u16(out, (uint16_t)itk_buf_len(f.entry))) !=
		ITK_OK ||
	    (r = itk_buf_put(out, itk_buf_ptr(f.entry),
			     itk_buf_len(f.entry))) != ITK_OK ||
	    (r = itk_buf_put_u8(out, (uint8_t)pf.n)) != ITK_OK ||
	    (r = itk_buf_put(out, pf.h[0], pf.n * TLOG_HASH_LEN)) != ITK_OK ||
	    (r = itk_buf_put_u32(out, (uint32_t)itk_buf_len(g->note))) !=
		ITK_OK) {
		goto out;
	}
	r = itk_buf_put(out, itk_buf_ptr(g->note), itk_buf_len(g->note));
out:
	pthread_mutex_unlock(&g->mtx);
	mdb_txn_abort(sr.txn);
	itk_buf_free(f.entry);
	return r;
}

itk_err
gw_log_cosign(gw_log *g, const uint8_t *p, size_t len, size_t *added)
{
	uint8_t bin[COSIG_LEN + 8];
	note_msg mine, theirs;
	itk_err r;

	*added = 0;
	if ((r = note_parse(p, len, &theirs)) != ITK_OK) {
		return r;
	}
	pthread_mutex_lock(&g->mtx);
	if (itk_buf_len(g->note) == 0 ||
	    note_parse(itk_buf_ptr(g->note), itk_buf_len(g->note), &mine) !=
		ITK_OK ||
	    mine.text_len != theirs.text_len ||
	    memcmp(mine.text, theirs.text, mine.text_len) != 0) {
		r = ITK_E_RANGE; /* not the checkpoint published now */
		goto out;
	}
	for (size_t i = 0; i < theirs.nsigs; i++) {
		const note_sig *s = &theirs.sigs[i];
		size_t n = 0;
		const uint8_t *have = itk_buf_ptr(g->cosigs);
		bool dup = false;
		if (s->name_len == g->key.name_len &&
		    memcmp(s->name, g->key.name, s->name_len) == 0) {
			continue; /* the log's own signature */
		}
		if (s->b64_len > COSIG_B64_MAX ||
		    sodium_base642bin(bin, sizeof(bin), s->b64, s->b64_len,
				      NULL, &n, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    n != COSIG_LEN) {
			continue; /* not a cosignature/v1 */
		}
		/* The whole line, as received: "— name b64\n". */
		{
			const char *start = s->name - 4; /* "— " is 4 bytes */
			size_t ll = 4 + s->name_len + 1 + s->b64_len + 1;
			for (size_t off = 0;
			     off + ll <= itk_buf_len(g->cosigs); off++) {
				if (memcmp(have + off, start, ll) == 0) {
					dup = true;
					break;
				}
			}
			if (dup) {
				continue;
			}
			if (g->n_cosigs >= GW_LOG_COSIGS_MAX) {
				r = ITK_E_FULL;
				goto out;
			}
			if ((r = itk_buf_put(g->cosigs, start, ll)) !=
			    ITK_OK) {
				goto out;
			}
		}
		g->n_cosigs++;
		(*added)++;
	}
	r = write_rel(g, "cosignatures", itk_buf_ptr(g->cosigs),
		      itk_buf_len(g->cosigs));
out:
	pthread_mutex_unlock(&g->mtx);
	return r;
}

/* --- HTTP ------------------------------------------------------------ */

static void
respond(nng_aio *aio, uint16_t status, const char *ctype, const void *p,
	size_t n)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	if (nng_http_res_set_status(res, status) != 0 ||
	    nng_http_res_set_header(res, "Content-Type", ctype) != 0 ||
	    nng_http_res_set_header(res, "Cache-Control", "no-cache") != 0 ||
	    nng_http_res_copy_data(res, p, n) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static gw_log *
handler_log(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);

	return nng_http_handler_get_data(hd);
}

static void
text(nng_aio *aio, uint16_t status, const char *msg)
{
	respond(aio, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

static void
log_get_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);
	const char *ctype;
	itk_buf *b = NULL;
	itk_err r;

	if (uri == NULL || strlen(uri) > 5 + TILES_PATH_MAX ||
	    strncmp(uri, "/log/", 5) != 0) {
		text(aio, 404, "not found\n");
		return;
	}
	r = gw_log_get(handler_log(aio), uri + 5, &b, &ctype);
	if (r == ITK_OK) {
		respond(aio, 200, ctype, itk_buf_ptr(b), itk_buf_len(b));
	} else if (r == ITK_E_NOT_FOUND) {
		text(aio, 404, "not found\n");
	} else {
		text(aio, 500, "internal error\n");
	}
	itk_buf_free(b);
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

static void
proof_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);
	static const char prefix[] = "/v1/proof/";
	uint8_t id[32];
	itk_buf *b = NULL;
	itk_err r;

	if (uri == NULL || strlen(uri) != sizeof(prefix) - 1 + 64 ||
	    strncmp(uri, prefix, sizeof(prefix) - 1) != 0) {
		text(aio, 400, "want /v1/proof/<64 lowercase hex>\n");
		return;
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = unhex(uri[sizeof(prefix) - 1 + 2 * i]);
		int lo = unhex(uri[sizeof(prefix) - 1 + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			text(aio, 400, "want /v1/proof/<64 lowercase hex>\n");
			return;
		}
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((b = itk_buf_new(GW_PROOF_MAX + CHECKPOINT_MAX)) == NULL) {
		text(aio, 500, "internal error\n");
		return;
	}
	r = gw_log_proof(handler_log(aio), id, b);
	if (r == ITK_OK) {
		respond(aio, 200, "application/octet-stream", itk_buf_ptr(b),
			itk_buf_len(b));
	} else if (r == ITK_E_NOT_FOUND) {
		/* Not yet: it appears with the next checkpoint. */
		text(aio, 404, "not in the published log (yet)\n");
	} else {
		text(aio, 500, "internal error\n");
	}
	itk_buf_free(b);
}

static void
cosign_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	void *body = NULL;
	size_t len = 0, added = 0;
	char msg[64];
	itk_err r;

	nng_http_req_get_data(req, &body, &len);
	r = gw_log_cosign(handler_log(aio), body, len, &added);
	if (r == ITK_OK) {
		snprintf(msg, sizeof(msg), "kept %zu cosignature(s)\n", added);
		text(aio, 200, msg);
	} else if (r == ITK_E_RANGE) {
		text(aio, 409, "not the checkpoint published now\n");
	} else if (r == ITK_E_FULL) {
		text(aio, 507, "cosignatures full for this checkpoint\n");
	} else {
		text(aio, 400, "not a signed note\n");
	}
}

itk_err
gw_log_http_add(void *srv, gw_log *g)
{
	itk_err r;

	if ((r = gw_http_handler_add(srv, g, "/log/cosignatures", "POST",
				     false, NOTE_MAX, true, cosign_cb)) !=
		ITK_OK ||
	    (r = gw_http_handler_add(srv, g, "/log", "GET", true, 0, true,
				     log_get_cb)) != ITK_OK ||
	    (r = gw_http_handler_add(srv, g, "/v1/proof", "GET", true, 0, true,
				     proof_cb)) != ITK_OK) {
		return r;
	}
	return ITK_OK;
}
