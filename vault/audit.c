/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auditor's check of a vault (audit.h).  Opens the LMDB environment
 * itself, read-only (and without a lock file when the copy sits on
 * read-only media), so that it needs nothing of the vault but its bytes:
 * no vault key, no vault code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "leaf.h"

#define MAXDBS     64u
#define NAMES_MAX  32u
#define PROGRESS_N 65536u
#define MSG_MAX    512u

/* The databases whose records are leaves even if no leaf names them. */
static const char *const always_logged[] = {"messages", "cases", "quarantine"};

/* One (database, key): its latest leaf. */
typedef struct {
	uint8_t fp[32];   /* SHA-256(db || 0x00 || key) */
	uint8_t hash[32]; /* the leaf's value hash */
	uint64_t index;   /* the latest leaf's index */
	uint8_t flags;    /* the leaf's flags */
	uint8_t used, seen;
} slot;

typedef struct {
	const audit_opts *o;
	audit_report *rep;
	MDB_env *env;
	MDB_txn *txn;
	tlog *log;
	slot *map;
	size_t cap, n;
	char names[NAMES_MAX][VAULT_LEAF_DB_MAX + 1];
	size_t nnames;
} ctx;

const char *
audit_finding_name(audit_finding f)
{
	switch (f) {
	case AUDIT_NO_LOG:
		return "no-log";
	case AUDIT_NO_CHECKPOINT:
		return "no-checkpoint";
	case AUDIT_BAD_SIGNATURE:
		return "bad-signature";
	case AUDIT_TRUNCATED:
		return "truncated";
	case AUDIT_ROOT_MISMATCH:
		return "root-mismatch";
	case AUDIT_STORE_MISMATCH:
		return "store-mismatch";
	case AUDIT_BAD_LEAF:
		return "bad-leaf";
	case AUDIT_RECORD_ALTERED:
		return "record-altered";
	case AUDIT_RECORD_MISSING:
		return "record-missing";
	case AUDIT_RECORD_UNLOGGED:
		return "record-unlogged";
	case AUDIT_RECORD_UNDELETED:
		return "record-undeleted";
	case AUDIT_DAMAGED:
		return "damaged";
	default:
		return "unknown";
	}
}

static void find(ctx *c, audit_finding f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
find(ctx *c, audit_finding f, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->rep->findings++;
	if (c->o != NULL && c->o->finding != NULL) {
		c->o->finding(c->o->arg, f, msg);
	}
}

/* "db/hexkey" (key cut at 32 bytes) into out. */
static void
name_of(char *out, size_t cap, const char *db, size_t dblen,
	const uint8_t *key, size_t klen)
{
	char hex[2 * 32 + 1];
	size_t n = klen > 32 ? 32 : klen;

	itk_hex(hex, key, n);
	(void)snprintf(out, cap, "%.*s/%s%s", (int)dblen, db, hex,
		       klen > 32 ? "..." : "");
}

static void
fingerprint(uint8_t fp[32], const char *db, size_t dblen, const uint8_t *key,
	    size_t klen)
{
	crypto_hash_sha256_state st;
	static const uint8_t zero = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)db, dblen);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, key, klen);
	crypto_hash_sha256_final(&st, fp);
}

static size_t
slot_of(const ctx *c, const uint8_t fp[32])
{
	uint64_t h = itk_load_u64(fp);
	size_t i = (size_t)(h & (c->cap - 1));

	while (c->map[i].used && memcmp(c->map[i].fp, fp, 32) != 0) {
		i = (i + 1) & (c->cap - 1);
	}
	return i;
}

static itk_err
map_grow(ctx *c)
{
	size_t ncap = c->cap == 0 ? 4096 : c->cap * 2;
	slot *old = c->map;
	size_t ocap = c->cap;

	if ((c->map = calloc(ncap, sizeof(*c->map))) == NULL) {
		c->map = old;
		return ITK_E_NOMEM;
	}
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].used) {
			c->map[slot_of(c, old[i].fp)] = old[i];
		}
	}
	free(old);
	return ITK_OK;
}

/* Remembers a database name that leaves write to. */
static void
note_name(ctx *c, const char *db, size_t len)
{
	for (size_t i = 0; i < c->nnames; i++) {
		if (strlen(c->names[i]) == len &&
		    memcmp(c->names[i], db, len) == 0) {
			return;
		}
	}
	if (c->nnames < NAMES_MAX) {
		memcpy(c->names[c->nnames], db, len);
		c->names[c->nnames][len] = '\0';
		c->nnames++;
	}
}

/* Records leaf index: the latest leaf of its (db, key) wins. */
static itk_err
map_leaf(ctx *c, uint64_t index, const vault_leaf *l)
{
	uint8_t fp[32];
	size_t i;
	itk_err r;

	if ((c->n + 1) * 2 > c->cap && (r = map_grow(c)) != ITK_OK) {
		return r;
	}
	fingerprint(fp, l->db, l->db_len, l->key, l->key_len);
	i = slot_of(c, fp);
	if (!c->map[i].used) {
		memcpy(c->map[i].fp, fp, 32);
		c->map[i].used = 1;
		c->n++;
	}
	memcpy(c->map[i].hash, l->value_hash, 32);
	c->map[i].index = index;
	c->map[i].flags = l->flags;
	note_name(c, l->db, l->db_len);
	return ITK_OK;
}

/* Opens and verifies a signed checkpoint; reports a bad one. */
static bool
open_cp(ctx *c, const uint8_t *p, size_t len, const note_verifier *key,
	const char *what, checkpoint *cp)
{
	itk_err r = checkpoint_open(p, len, key, cp, NULL);

	if (r != ITK_OK) {
		find(c, AUDIT_BAD_SIGNATURE,
		     "%s does not verify against the log key %s: %s", what,
		     key->name, itk_strerror(r));
		return false;
	}
	return true;
}

static itk_err
open_env(ctx *c, const char *dir)
{
	int rc;

	if ((rc = mdb_env_create(&c->env)) != 0) {
		c->env = NULL;
		return ITK_E_DB;
	}
	if ((rc = mdb_env_set_maxdbs(c->env, MAXDBS)) != 0) {
		return ITK_E_DB;
	}
	rc = mdb_env_open(c->env, dir, MDB_RDONLY | MDB_NOTLS, 0);
	if (rc == EACCES || rc == EROFS) {
		/* A copy on read-only media: no lock file; nobody writes. */
		mdb_env_close(c->env);
		if (mdb_env_create(&c->env) != 0) {
			c->env = NULL;
			return ITK_E_DB;
		}
		if (mdb_env_set_maxdbs(c->env, MAXDBS) != 0) {
			return ITK_E_DB;
		}
		rc = mdb_env_open(c->env, dir,
				  MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0);
	}
	if (rc == ENOENT) {
		return ITK_E_NOT_FOUND;
	}
	return rc == 0 ? ITK_OK : ITK_E_DB;
}

/* Walks the leaves: rebuilds the roots and maps the latest leaves. */
static itk_err
walk_leaves(ctx *c, uint64_t size, uint64_t want1, uint8_t root1[32],
	    uint64_t want2, uint8_t root2[32], uint8_t full[32])
{
	tlog_hasher h;
	uint8_t lh[TLOG_HASH_LEN];
	const uint8_t *e;
	vault_leaf l;
	size_t len;
	itk_err r;

	tlog_hasher_init(&h);
	if (want1 == 0) {
		tlog_empty_root(root1);
	}
	if (want2 == 0) {
		tlog_empty_root(root2);
	}
	for (uint64_t i = 0; i < size; i++) {
		if ((r = tlog_entry(c->log, c->txn, i, &e, &len)) != ITK_OK) {
			find(c, AUDIT_DAMAGED, "leaf #%llu cannot be read: %s",
			     (unsigned long long)i, itk_strerror(r));
			return r;
		}
		tlog_leaf_hash(lh, e, len);
		if ((r = tlog_hasher_push(&h, lh)) != ITK_OK) {
			return r;
		}
		if (h.size == want1) {
			tlog_hasher_root(&h, root1);
		}
		if (h.size == want2) {
			tlog_hasher_root(&h, root2);
		}
		if ((r = vault_leaf_decode(e, len, &l)) != ITK_OK) {
			find(c, AUDIT_BAD_LEAF,
			     "leaf #%llu does not parse: %s",
			     (unsigned long long)i, itk_strerror(r));
		} else if ((r = map_leaf(c, i, &l)) != ITK_OK) {
			return r;
		}
		if (c->o != NULL && c->o->progress != NULL &&
		    (i + 1) % PROGRESS_N == 0) {
			c->o->progress(c->o->arg, i + 1, size);
		}
	}
	tlog_hasher_root(&h, full);
	if (c->o != NULL && c->o->progress != NULL) {
		c->o->progress(c->o->arg, size, size);
	}
	return ITK_OK;
}

/* Every record of database name against its latest leaf. */
static itk_err
check_db(ctx *c, const char *name)
{
	uint8_t fp[32], h[32];
	char where[128];
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, d;
	int rc;

	rc = mdb_dbi_open(c->txn, name, 0, &dbi);
	if (rc == MDB_NOTFOUND) {
		return ITK_OK; /* no such database: nothing stored in it */
	}
	if (rc != 0 || (rc = mdb_cursor_open(c->txn, dbi, &cur)) != 0) {
		find(c, AUDIT_DAMAGED, "database %s cannot be read: %s", name,
		     mdb_strerror(rc));
		return ITK_E_DB;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		size_t i;
		fingerprint(fp, name, strlen(name), k.mv_data, k.mv_size);
		name_of(where, sizeof(where), name, strlen(name), k.mv_data,
			k.mv_size);
		c->rep->records++;
		i = c->cap > 0 ? slot_of(c, fp) : 0;
		if (c->cap == 0 || !c->map[i].used) {
			find(c, AUDIT_RECORD_UNLOGGED,
			     "record %s has no leaf in the log (written "
			     "outside the log)",
			     where);
			continue;
		}
		c->map[i].seen = 1;
		if ((c->map[i].flags & VAULT_LEAF_F_DELETED) != 0) {
			find(c, AUDIT_RECORD_UNDELETED,
			     "record %s is present but leaf #%llu deleted it",
			     where, (unsigned long long)c->map[i].index);
			continue;
		}
		itk_sha256(h, d.mv_data, d.mv_size);
		if (sodium_memcmp(h, c->map[i].hash, 32) != 0) {
			find(c, AUDIT_RECORD_ALTERED,
			     "record %s does not match its leaf #%llu "
			     "(altered or swapped)",
			     where, (unsigned long long)c->map[i].index);
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		find(c, AUDIT_DAMAGED, "database %s: %s", name,
		     mdb_strerror(rc));
		return ITK_E_DB;
	}
	return ITK_OK;
}

/* Leaves whose record was never seen: deleted outside the log. */
static void
check_missing(ctx *c)
{
	char where[128];
	const uint8_t *e;
	vault_leaf l;
	size_t len;

	for (size_t i = 0; i < c->cap; i++) {
		slot *s = &c->map[i];
		if (!s->used || s->seen ||
		    (s->flags & VAULT_LEAF_F_DELETED) != 0) {
			continue;
		}
		if (tlog_entry(c->log, c->txn, s->index, &e, &len) != ITK_OK ||
		    vault_leaf_decode(e, len, &l) != ITK_OK) {
			continue; /* reported by the walk */
		}
		name_of(where, sizeof(where), l.db, l.db_len, l.key,
			l.key_len);
		find(c, AUDIT_RECORD_MISSING,
		     "record %s of leaf #%llu (%s) is not in the vault "
		     "(deleted outside the log)",
		     where, (unsigned long long)s->index,
		     vault_leaf_kind_name(l.kind));
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

itk_err
audit_verify(const char *dir, const note_verifier *log_key,
	     const audit_opts *o, audit_report *rep)
{
	uint8_t root_cp[32], root_seen[32], full[32], stored[32];
	checkpoint cp, seen;
	bool have_cp = false, have_seen = false;
	const uint8_t *p;
	uint64_t size = 0;
	size_t len;
	itk_buf *note = NULL;
	ctx c;
	double t0 = now_s();
	itk_err r;

	memset(&c, 0, sizeof(c));
	memset(rep, 0, sizeof(*rep));
	c.o = o;
	c.rep = rep;
	if ((r = itk_crypto_init()) != ITK_OK) {
		return r;
	}
	if ((r = open_env(&c, dir)) != ITK_OK) {
		find(&c, AUDIT_DAMAGED,
		     "%s does not open as an LMDB "
		     "environment: %s",
		     dir, itk_strerror(r));
		goto out;
	}
	if (mdb_txn_begin(c.env, NULL, MDB_RDONLY, &c.txn) != 0) {
		c.txn = NULL;
		r = ITK_E_DB;
		goto out;
	}
	r = tlog_open(c.txn, &c.log);
	if (r == ITK_E_NOT_FOUND) {
		find(&c, AUDIT_NO_LOG, "%s has no Merkle log", dir);
		r = ITK_OK;
		goto out;
	}
	if (r != ITK_OK) {
		find(&c, AUDIT_DAMAGED, "the log does not open: %s",
		     itk_strerror(r));
		goto out;
	}
	if ((r = tlog_size(c.log, c.txn, &size)) != ITK_OK) {
		find(&c, AUDIT_DAMAGED,
		     "the log store is inconsistent (hashes and entries "
		     "disagree): %s",
		     itk_strerror(r));
		goto out;
	}
	rep->leaves = size;
	/* The vault's own latest checkpoint (copied: the txn stays). */
	r = tlog_checkpoint_load(c.log, c.txn, &p, &len);
	if (r == ITK_E_NOT_FOUND) {
		find(&c, AUDIT_NO_CHECKPOINT, "no checkpoint has been signed");
	} else if (r != ITK_OK) {
		goto out;
	} else {
		if ((note = itk_buf_new(len)) == NULL) {
			r = ITK_E_NOMEM;
			goto out;
		}
		if ((r = itk_buf_put(note, p, len)) != ITK_OK) {
			goto out;
		}
		have_cp = open_cp(&c, itk_buf_ptr(note), itk_buf_len(note),
				  log_key, "the vault's checkpoint", &cp);
	}
	if (o != NULL && o->seen != NULL) {
		have_seen = open_cp(&c, o->seen, o->seen_len, log_key,
				    "the checkpoint given", &seen);
	}
	if (have_cp) {
		rep->checkpoint_size = cp.size;
		memcpy(rep->checkpoint_root, cp.root, 32);
		if (cp.size > size) {
			find(&c, AUDIT_TRUNCATED,
			     "the log is truncated: its checkpoint signs %llu "
			     "leaves, the vault holds %llu",
			     (unsigned long long)cp.size,
			     (unsigned long long)size);
			have_cp = false;
		}
	}
	if (have_seen) {
		rep->seen_size = seen.size;
		if (seen.size > size) {
			find(&c, AUDIT_TRUNCATED,
			     "the vault was rolled back or truncated: a "
			     "checkpoint seen signs %llu leaves, the vault "
			     "holds %llu",
			     (unsigned long long)seen.size,
			     (unsigned long long)size);
			have_seen = false;
		}
	}
	if ((r = walk_leaves(&c, size, have_cp ? cp.size : 0, root_cp,
			     have_seen ? seen.size : 0, root_seen, full)) !=
	    ITK_OK) {
		goto out;
	}
	if (have_cp && sodium_memcmp(root_cp, cp.root, 32) != 0) {
		find(&c, AUDIT_ROOT_MISMATCH,
		     "the first %llu leaves do not rebuild the root the "
		     "vault's checkpoint signs (leaves changed, removed or "
		     "reordered)",
		     (unsigned long long)cp.size);
	}
	if (have_seen && sodium_memcmp(root_seen, seen.root, 32) != 0) {
		find(&c, AUDIT_ROOT_MISMATCH,
		     "the first %llu leaves do not rebuild the root of the "
		     "checkpoint given (a fork, or the log was rewritten)",
		     (unsigned long long)seen.size);
	}
	if ((r = tlog_root(c.log, c.txn, size, stored)) != ITK_OK ||
	    sodium_memcmp(stored, full, 32) != 0) {
		find(&c, AUDIT_STORE_MISMATCH,
		     "the stored hash tree does not match the %llu leaves",
		     (unsigned long long)size);
	}
	rep->keys = c.n;
	for (size_t i = 0; i < sizeof(always_logged) / sizeof(*always_logged);
	     i++) {
		note_name(&c, always_logged[i], strlen(always_logged[i]));
	}
	for (size_t i = 0; i < c.nnames; i++) {
		if ((r = check_db(&c, c.names[i])) != ITK_OK) {
			goto out;
		}
	}
	check_missing(&c);
	r = ITK_OK;
out:
	rep->seconds = now_s() - t0;
	mdb_txn_abort(c.txn);
	tlog_free(c.log);
	if (c.env != NULL) {
		mdb_env_close(c.env);
	}
	free(c.map);
	itk_buf_free(note);
	return r;
}
