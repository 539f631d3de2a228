/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault's LMDB environment: opening, transactions, and the read side
 * (contains, stats, walks, case lookups).  Writes are in commit.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "leaf.h"
#include "tlog.h"
#include "vault_impl.h"

#define DEFAULT_MAP_SIZE (4ull * 1024u * 1024u * 1024u)

static const char *const db_names[VAULT_DB_COUNT] = {
    [VAULT_DB_META] = "meta",           [VAULT_DB_MESSAGES] = "messages",
    [VAULT_DB_CASES] = "cases",         [VAULT_DB_MAILBOXES] = "mailboxes",
    [VAULT_DB_QUEUE] = "queue",         [VAULT_DB_QUARANTINE] = "quarantine",
    [VAULT_DB_LEASES] = "leases",       [VAULT_DB_ACTIONS] = "actions",
    [VAULT_DB_NOTES] = "notes",         [VAULT_DB_TAGS] = "tags",
    [VAULT_DB_OUTBOX] = "outbox",       [VAULT_DB_NONCES] = "nonces",
    [VAULT_DB_APPROVALS] = "approvals", [VAULT_DB_QUEUE_KEYS] = "queue_keys",
    [VAULT_DB_COPIES] = "copies",       [VAULT_DB_CASE_KEYS] = "case_keys",
};

static const char META_FORMAT[] = "format";
static const char META_KEY_CHECK[] = "key_check";
static const char META_COUNTERS[] = "counters";

itk_err
vault_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return ITK_OK;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return ITK_E_FULL;
	case MDB_NOTFOUND:
	case ENOENT:
		return ITK_E_NOT_FOUND;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		return ITK_E_FORMAT;
	case MDB_VERSION_MISMATCH:
		return ITK_E_VERSION;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		return ITK_E_BUSY;
	case ENOMEM:
		return ITK_E_NOMEM;
	case EACCES:
	case EPERM:
	case EROFS:
		return ITK_E_PERM;
	case ENOSPC:
	case EIO:
		return ITK_E_IO;
	default:
		return ITK_E_DB;
	}
}

itk_err
vault_db_get(MDB_txn *txn, const vault *v, vault_db db, const void *key,
	     size_t klen, MDB_val *d)
{
	MDB_val k = vault_mval(key, klen);

	return vault_mdb_err(mdb_get(txn, v->dbi[db], &k, d));
}

itk_err
vault_db_put(MDB_txn *txn, const vault *v, vault_db db, const void *key,
	     size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = vault_mval(key, klen), d = vault_mval(val, vlen);

	return vault_mdb_err(mdb_put(txn, v->dbi[db], &k, &d, flags));
}

itk_err
vault_db_del(MDB_txn *txn, const vault *v, vault_db db, const void *key,
	     size_t klen)
{
	MDB_val k = vault_mval(key, klen);

	return vault_mdb_err(mdb_del(txn, v->dbi[db], &k, NULL));
}

/*
 * Begins a transaction.  Another process may have grown the map since we
 * mapped it (MDB_MAP_RESIZED): adopt its size and try once more.
 */
itk_err
vault_mdb_begin(vault *v, unsigned flags, MDB_txn **t)
{
	int rc;

	rc = mdb_txn_begin(v->env, NULL, flags, t);
	if (rc == MDB_MAP_RESIZED) {
		if ((rc = mdb_env_set_mapsize(v->env, 0)) != MDB_SUCCESS) {
			return vault_mdb_err(rc);
		}
		rc = mdb_txn_begin(v->env, NULL, flags, t);
	}
	return vault_mdb_err(rc);
}

static itk_err
meta_get(MDB_txn *t, vault *v, const char *name, MDB_val *val)
{
	return vault_db_get(t, v, VAULT_DB_META, name, strlen(name), val);
}

static itk_err
meta_put(MDB_txn *t, vault *v, const char *name, const void *p, size_t n)
{
	return vault_db_put(t, v, VAULT_DB_META, name, strlen(name), p, n, 0);
}

static itk_err
check_format(MDB_val *val)
{
	if (val->mv_size != 4) {
		return ITK_E_FORMAT;
	}
	return itk_load_u32(val->mv_data) == VAULT_FORMAT_VERSION
		   ? ITK_OK
		   : ITK_E_VERSION;
}

static itk_err
check_key(vault *v, MDB_val *val)
{
	uint8_t want[VAULT_HASH_LEN];
	itk_err r = ITK_E_DECRYPT;

	if (val->mv_size != VAULT_HASH_LEN) {
		return ITK_E_FORMAT;
	}
	vault_key_check(v, want);
	if (sodium_memcmp(want, val->mv_data, VAULT_HASH_LEN) == 0) {
		r = ITK_OK;
	}
	sodium_memzero(want, sizeof(want));
	return r;
}

/* Creates the databases and meta records of a new vault, or checks those
 * of an existing one; in one write transaction so that two processes
 * opening a new vault at once cannot both initialise it. */
static itk_err
open_rw(vault *v)
{
	uint8_t fmtv[4], kc[VAULT_HASH_LEN], cnt[VAULT_COUNTERS_LEN];
	vault_counters zero;
	MDB_txn *t = NULL;
	MDB_val val;
	itk_err r;

	if ((r = vault_mdb_begin(v, 0, &t)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < VAULT_DB_COUNT; i++) {
		r = vault_mdb_err(
		    mdb_dbi_open(t, db_names[i], MDB_CREATE, &v->dbi[i]));
		if (r != ITK_OK) {
			goto out;
		}
	}
	r = meta_get(t, v, META_FORMAT, &val);
	if (r == ITK_E_NOT_FOUND) {
		itk_store_u32(fmtv, VAULT_FORMAT_VERSION);
		memset(&zero, 0, sizeof(zero));
		vault_counters_encode(&zero, cnt);
		vault_key_check(v, kc);
		if ((r = meta_put(t, v, META_FORMAT, fmtv, sizeof(fmtv))) !=
			ITK_OK ||
		    (r = meta_put(t, v, META_KEY_CHECK, kc, sizeof(kc))) !=
			ITK_OK ||
		    (r = meta_put(t, v, META_COUNTERS, cnt, sizeof(cnt))) !=
			ITK_OK) {
			goto out;
		}
	} else if (r != ITK_OK || (r = check_format(&val)) != ITK_OK) {
		goto out;
	} else {
		if ((r = meta_get(t, v, META_KEY_CHECK, &val)) != ITK_OK) {
			r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
			goto out;
		}
		if ((r = check_key(v, &val)) != ITK_OK) {
			goto out;
		}
	}
	/* The Merkle log lives in the same environment (created here if
	 * needed) so that every change and its leaf share one txn. */
	if ((r = tlog_open(t, &v->log)) != ITK_OK) {
		goto out;
	}
	r = vault_mdb_err(mdb_txn_commit(t));
	t = NULL; /* committed or freed by LMDB either way */
out:
	mdb_txn_abort(t);
	if (r != ITK_OK) {
		tlog_free(v->log); /* its handles died with the txn */
		v->log = NULL;
	}
	sodium_memzero(kc, sizeof(kc));
	return r;
}

/* Opens the databases of an existing vault without writing anything. */
static itk_err
open_ro(vault *v)
{
	MDB_txn *t = NULL;
	MDB_val val;
	itk_err r;

	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < VAULT_DB_COUNT; i++) {
		r = vault_mdb_err(mdb_dbi_open(t, db_names[i], 0, &v->dbi[i]));
		if (r != ITK_OK) {
			/* A missing database: this is not a vault. */
			r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
			goto out;
		}
	}
	if ((r = meta_get(t, v, META_FORMAT, &val)) != ITK_OK ||
	    (r = check_format(&val)) != ITK_OK) {
		r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
		goto out;
	}
	if (v->keys != NULL) {
		if ((r = meta_get(t, v, META_KEY_CHECK, &val)) != ITK_OK ||
		    (r = check_key(v, &val)) != ITK_OK) {
			r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
			goto out;
		}
	}
	/* A vault written before the log existed has none: v->log stays
	 * NULL and the log API answers ITK_E_NOT_FOUND. */
	r = tlog_open(t, &v->log);
	if (r == ITK_E_NOT_FOUND) {
		v->log = NULL;
	} else if (r != ITK_OK) {
		goto out;
	}
	/* Commit, not abort: an abort would close the dbi handles. */
	r = vault_mdb_err(mdb_txn_commit(t));
	t = NULL;
out:
	mdb_txn_abort(t);
	if (r != ITK_OK) {
		tlog_free(v->log);
		v->log = NULL;
	}
	return r;
}

/*
 * A writer's map size: the configured one, or the data file's size if
 * that is larger.  With MDB_WRITEMAP, LMDB sizes the file to the map at
 * open; a writer configured smaller (a worker, intake-opd and intake-logd
 * share the vault) would cut the file under the others' maps, and their
 * next new page would fault (SIGBUS).  The file only ever grows.
 */
static size_t
writer_map_size(const vault_options *opts)
{
	char path[4096];
	struct stat sb;
	size_t want = opts->map_size != 0 ? (size_t)opts->map_size
					  : (size_t)DEFAULT_MAP_SIZE;
	int n = snprintf(path, sizeof(path), "%s/data.mdb", opts->dir);

	if (n > 0 && (size_t)n < sizeof(path) && stat(path, &sb) == 0 &&
	    sb.st_size > 0 && (uint64_t)sb.st_size > want) {
		want = (size_t)sb.st_size;
	}
	return want;
}

itk_err
vault_open(const vault_options *opts, const uint8_t vault_key[VAULT_KEY_LEN],
	   vault **out)
{
	vault *v = NULL;
	unsigned flags;
	int dead;
	itk_err r;

	*out = NULL;
	if ((r = itk_crypto_init()) != ITK_OK) {
		return r;
	}
	if (opts == NULL || opts->dir == NULL || opts->dir[0] == '\0' ||
	    (!opts->read_only && vault_key == NULL)) {
		return ITK_E_CONFIG;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		return ITK_E_NOMEM;
	}
	v->read_only = opts->read_only;
	if (vault_key != NULL &&
	    (r = vault_keys_derive(v, vault_key)) != ITK_OK) {
		goto out;
	}
	if (!v->read_only && mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
		r = vault_mdb_err(errno);
		r = r == ITK_E_DB ? ITK_E_IO : r;
		goto out;
	}
	if ((r = vault_mdb_err(mdb_env_create(&v->env))) != ITK_OK) {
		v->env = NULL;
		goto out;
	}
	if ((r = vault_mdb_err(mdb_env_set_maxdbs(
		 v->env, VAULT_DB_COUNT + TLOG_DB_COUNT + VAULT_DB_SPARE))) !=
	    ITK_OK) {
		goto out;
	}
	/* A read-only open maps whatever size the file has. */
	if (!v->read_only && (r = vault_mdb_err(mdb_env_set_mapsize(
				  v->env, writer_map_size(opts)))) != ITK_OK) {
		goto out;
	}
	/*
	 * MDB_NOTLS: read transactions are not tied to a thread.  No NOSYNC
	 * or NOMETASYNC: a commit returns only after the data and then the
	 * meta page are flushed, since the worker acknowledges a submission
	 * to the gateway on our return.
	 *
	 * Writers map the file writable (MDB_WRITEMAP) without readahead
	 * (MDB_NORDAHEAD), so every page enters the page cache alone: the
	 * kernel keeps ext4 files in large folios (up to 2 MiB), and LMDB's
	 * pwrite of one 4 KiB page into a page cached from a large write
	 * dirtied, and flushed, the whole folio: 100-150 KiB written per
	 * 2 KiB message, against ~28 KiB now (docs/vault.md, "Durability").
	 * A commit still flushes data (msync) before the meta page, as
	 * with fdatasync.  Every writer opens through here, so they never
	 * mix modes; read-only opens keep readahead for scans.
	 */
	flags = MDB_NOTLS |
		(v->read_only ? MDB_RDONLY : MDB_WRITEMAP | MDB_NORDAHEAD);
	if ((r = vault_mdb_err(
		 mdb_env_open(v->env, opts->dir, flags, 0600))) != ITK_OK) {
		goto out;
	}
	/* Free reader slots left by processes that were killed (kill -9)
	 * mid-read, so they do not pin old pages forever. */
	if ((r = vault_mdb_err(mdb_reader_check(v->env, &dead))) != ITK_OK) {
		goto out;
	}
	r = v->read_only ? open_ro(v) : open_rw(v);
	if (r != ITK_OK) {
		goto out;
	}
	*out = v;
	v = NULL; /* transferred */
out:
	vault_free(v);
	return r;
}

void
vault_free(vault *v)
{
	if (v == NULL) {
		return;
	}
	tlog_free(v->log);
	if (v->env != NULL) {
		mdb_env_close(v->env);
	}
	vault_keys_free(v);
	free(v);
}

itk_err
vault_txn_begin(vault *v, vault_txn *t)
{
	MDB_val val;
	itk_err r;

	memset(t, 0, sizeof(*t));
	t->v = v;
	if (v->read_only || v->keys == NULL) {
		return ITK_E_PERM;
	}
	if ((r = vault_mdb_begin(v, 0, &t->txn)) != ITK_OK) {
		t->txn = NULL;
		return r;
	}
	if ((r = meta_get(t->txn, v, META_COUNTERS, &val)) != ITK_OK ||
	    (r = vault_counters_decode(val.mv_data, val.mv_size,
				       &t->counters)) != ITK_OK) {
		vault_txn_abort(t);
		return r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
	}
	return ITK_OK;
}

itk_err
vault_txn_commit(vault_txn *t)
{
	uint8_t cnt[VAULT_COUNTERS_LEN];
	itk_err r;

	vault_counters_encode(&t->counters, cnt);
	if ((r = meta_put(t->txn, t->v, META_COUNTERS, cnt, sizeof(cnt))) !=
	    ITK_OK) {
		vault_txn_abort(t);
		return r;
	}
	r = vault_mdb_err(mdb_txn_commit(t->txn));
	t->txn = NULL; /* LMDB frees it whether or not the commit worked */
	return r;
}

void
vault_txn_abort(vault_txn *t)
{
	mdb_txn_abort(t->txn);
	t->txn = NULL;
}

/* The database each kind of change writes: named in its leaf, so that an
 * auditor finds the record a leaf stands for (docs/audit.md). */
static const char *
change_db(vault_change kind)
{
	switch (kind) {
	case VAULT_CHANGE_MESSAGE:
		return "messages";
	case VAULT_CHANGE_QUARANTINE:
		return "quarantine";
	case VAULT_CHANGE_CASE:
	case VAULT_CHANGE_CASE_JOIN:
	case VAULT_CHANGE_CASE_CLOSE:
	case VAULT_CHANGE_CASE_UPDATE:
		return "cases";
	case VAULT_CHANGE_LEASE:
		return "leases";
	case VAULT_CHANGE_ACTION:
		return "actions";
	case VAULT_CHANGE_NOTE:
		return "notes";
	case VAULT_CHANGE_TAG:
		return "tags";
	case VAULT_CHANGE_OUTBOX:
		return "outbox";
	case VAULT_CHANGE_APPROVAL:
		return "approvals";
	case VAULT_CHANGE_COPY:
		return "copies";
	case VAULT_CHANGE_CASE_KEY:
		return "case_keys";
	case VAULT_CHANGE_QUEUE_KEY:
		return "queue_keys";
	default:
		return NULL;
	}
}

itk_err
vault_txn_put(vault_txn *t, vault_db db, vault_change kind, const uint8_t *key,
	      size_t klen, const uint8_t *val, size_t vlen, unsigned flags)
{
	itk_err r;

	if ((r = vault_db_put(t->txn, t->v, db, key, klen, val, vlen,
			      flags)) != ITK_OK) {
		return r;
	}
	return vault_txn_changed(t, kind, key, klen, val, vlen);
}

itk_err
vault_txn_del(vault_txn *t, vault_db db, vault_change kind, const uint8_t *key,
	      size_t klen)
{
	itk_err r;

	if ((r = vault_db_del(t->txn, t->v, db, key, klen)) != ITK_OK) {
		return r;
	}
	return vault_txn_changed(t, kind, key, klen, NULL, 0);
}

itk_err
vault_txn_changed(vault_txn *t, vault_change kind, const uint8_t *key,
		  size_t klen, const uint8_t *val, size_t vlen)
{
	uint8_t leaf[VAULT_LEAF_MAX];
	const char *db = change_db(kind);
	vault_leaf l;
	size_t n;
	itk_err r;

	/*
	 * The Merkle log hook: the leaf for (kind, key, value) is appended
	 * in t->txn, so that the record and its leaf commit or vanish
	 * together.  val == NULL with vlen == 0: the record was deleted.
	 */
	if (db == NULL || key == NULL || klen == 0 ||
	    (val == NULL && vlen != 0)) {
		return ITK_E_INTERNAL;
	}
	if (t->v->log == NULL) {
		return ITK_E_INTERNAL; /* writable opens always have one */
	}
	memset(&l, 0, sizeof(l));
	l.kind = (uint8_t)kind;
	l.flags = val == NULL ? VAULT_LEAF_F_DELETED : 0u;
	l.time = vault_leaf_time((uint64_t)time(NULL));
	l.db = db;
	l.db_len = strlen(db);
	l.key = key;
	l.key_len = klen;
	if (val != NULL) {
		itk_sha256(l.value_hash, val, vlen);
	}
	if ((r = vault_leaf_encode(&l, leaf, sizeof(leaf), &n)) != ITK_OK) {
		return r == ITK_E_RANGE ? ITK_E_INTERNAL : r;
	}
	if ((r = tlog_append(t->v->log, t->txn, leaf, n, NULL)) != ITK_OK) {
		return r;
	}
	t->changes++;
	return ITK_OK;
}

itk_err
vault_contains(vault *v, const uint8_t id[VAULT_ID_LEN], bool *present)
{
	MDB_txn *t = NULL;
	MDB_val d;
	itk_err r;

	*present = false;
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	r = vault_db_get(t, v, VAULT_DB_MESSAGES, id, VAULT_ID_LEN, &d);
	if (r == ITK_E_NOT_FOUND) {
		r = vault_db_get(t, v, VAULT_DB_QUARANTINE, id, VAULT_ID_LEN,
				 &d);
	}
	if (r == ITK_OK) {
		*present = true;
	} else if (r == ITK_E_NOT_FOUND) {
		r = ITK_OK;
	}
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_get_stats(vault *v, vault_stats *out)
{
	vault_counters c;
	MDB_txn *t = NULL;
	MDB_val val;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = meta_get(t, v, META_COUNTERS, &val)) != ITK_OK ||
	    (r = vault_counters_decode(val.mv_data, val.mv_size, &c)) !=
		ITK_OK) {
		r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
		goto out;
	}
	out->cases = c.cases;
	out->messages = c.messages;
	out->quarantined = c.quarantined;
	memcpy(out->open_by_queue, c.open_by_queue, sizeof(c.open_by_queue));
out:
	mdb_txn_abort(t);
	return r;
}

/* Walks db from the first key >= prefix while keys start with prefix
 * (plen 0: everything), in a read transaction. */
itk_err
vault_walk(vault *v, vault_db db, const uint8_t *prefix, size_t plen,
	   vault_visit_fn visit, void *ctx)
{
	MDB_txn *t = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	itk_err r;
	int rc;

	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = vault_mdb_err(mdb_cursor_open(t, v->dbi[db], &c))) !=
	    ITK_OK) {
		c = NULL;
		goto out;
	}
	k = vault_mval(prefix, plen);
	rc = mdb_cursor_get(c, &k, &d, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (plen > 0 && (k.mv_size < plen ||
				 memcmp(k.mv_data, prefix, plen) != 0)) {
			break;
		}
		if ((r = visit(&k, &d, ctx)) != ITK_OK) {
			goto out;
		}
	}
	r = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? ITK_OK
						    : vault_mdb_err(rc);
out:
	if (c != NULL) {
		mdb_cursor_close(c);
	}
	mdb_txn_abort(t);
	return r;
}

struct msg_walk {
	itk_err (*fn)(const vault_message_view *m, void *arg);
	void *arg;
};

static itk_err
visit_message(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct msg_walk *w = ctx;
	vault_message_view mv;
	vault_msg_rec m;
	itk_err r;

	if (k->mv_size != VAULT_ID_LEN) {
		return ITK_E_FORMAT;
	}
	if ((r = vault_msg_decode(d->mv_data, d->mv_size, &m)) != ITK_OK) {
		return r;
	}
	memset(&mv, 0, sizeof(mv));
	memcpy(mv.submission_id, k->mv_data, VAULT_ID_LEN);
	memcpy(mv.case_id, m.case_id, VAULT_ID_LEN);
	mv.accepted_at = m.accepted_at;
	mv.queue = (itk_queue)m.queue;
	mv.urgency = (itk_urgency)m.urgency;
	mv.language = (itk_lang)m.language;
	mv.intake_key_id = m.intake_key_id;
	mv.channel = m.channel;
	mv.sealed = m.sealed;
	mv.sealed_len = m.sealed_len;
	return w->fn(&mv, w->arg);
}

itk_err
vault_foreach_message(vault *v,
		      itk_err (*fn)(const vault_message_view *m, void *arg),
		      void *arg)
{
	struct msg_walk w = {fn, arg};

	return vault_walk(v, VAULT_DB_MESSAGES, NULL, 0, visit_message, &w);
}

struct quar_walk {
	itk_err (*fn)(const vault_quarantine_view *q, void *arg);
	void *arg;
};

static itk_err
visit_quarantined(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct quar_walk *w = ctx;
	vault_quarantine_view qv;
	vault_quar_rec q;
	itk_err r;

	if (k->mv_size != VAULT_ID_LEN) {
		return ITK_E_FORMAT;
	}
	if ((r = vault_quar_decode(d->mv_data, d->mv_size, &q)) != ITK_OK) {
		return r;
	}
	memset(&qv, 0, sizeof(qv));
	memcpy(qv.submission_id, k->mv_data, VAULT_ID_LEN);
	qv.intake_key_id = q.intake_key_id;
	qv.accepted_at = q.accepted_at;
	qv.reason = (itk_err)q.reason;
	qv.sealed = q.sealed;
	qv.sealed_len = q.sealed_len;
	return w->fn(&qv, w->arg);
}

itk_err
vault_foreach_quarantined(vault *v,
			  itk_err (*fn)(const vault_quarantine_view *q,
					void *arg),
			  void *arg)
{
	struct quar_walk w = {fn, arg};

	return vault_walk(v, VAULT_DB_QUARANTINE, NULL, 0, visit_quarantined,
			  &w);
}

/* Reads and decodes one case record inside t. */
static itk_err
case_read(vault *v, MDB_txn *t, const uint8_t id[VAULT_ID_LEN],
	  vault_case_rec *c)
{
	MDB_val d;
	itk_err r;

	r = vault_db_get(t, v, VAULT_DB_CASES, id, VAULT_ID_LEN, &d);
	if (r != ITK_OK) {
		return r;
	}
	if ((r = vault_case_decode(d.mv_data, d.mv_size, c)) != ITK_OK) {
		return r;
	}
	memcpy(c->id, id, VAULT_ID_LEN);
	return ITK_OK;
}

itk_err
vault_get_case(vault *v, const uint8_t case_id[VAULT_ID_LEN],
	       vault_case_view *out)
{
	vault_case_rec c;
	MDB_txn *t = NULL;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = case_read(v, t, case_id, &c)) == ITK_OK) {
		vault_case_view_fill(&c, out);
	}
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_queue_next(vault *v, itk_queue q, vault_case_view *out)
{
	uint8_t first = (uint8_t)q;
	vault_case_rec c;
	MDB_txn *t = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((unsigned)q > ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = vault_mdb_err(mdb_cursor_open(t, v->dbi[VAULT_DB_QUEUE],
					       &cur))) != ITK_OK) {
		cur = NULL;
		goto out;
	}
	if (q == ITK_QUEUE_COUNT) {
		r = vault_mdb_err(mdb_cursor_get(cur, &k, &d, MDB_FIRST));
	} else {
		/* The first key >= the one-byte prefix q is the head of q. */
		k = vault_mval(&first, 1);
		r = vault_mdb_err(mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE));
	}
	if (r != ITK_OK) {
		goto out;
	}
	if (k.mv_size != VAULT_QKEY_LEN) {
		r = ITK_E_FORMAT;
		goto out;
	}
	if (q != ITK_QUEUE_COUNT && ((const uint8_t *)k.mv_data)[0] != first) {
		r = ITK_E_NOT_FOUND; /* queue q is empty */
		goto out;
	}
	if ((r = case_read(v, t, (const uint8_t *)k.mv_data + 10, &c)) !=
	    ITK_OK) {
		/* The index names a case that is not there. */
		r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
		goto out;
	}
	vault_case_view_fill(&c, out);
out:
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_case_contact(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		   uint8_t reply_pk[32], uint8_t mailbox_id[32])
{
	vault_case_rec c;
	MDB_txn *t = NULL;
	itk_err r;

	if (v->keys == NULL) {
		return ITK_E_PERM;
	}
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = case_read(v, t, case_id, &c)) != ITK_OK) {
		goto out;
	}
	if ((c.flags & VAULT_CASE_HAS_CONTACT) == 0) {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	r = vault_contact_open(v, case_id, c.contact, reply_pk, mailbox_id);
out:
	mdb_txn_abort(t);
	return r;
}
