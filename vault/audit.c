/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auditor's check of a vault (audit.h).  Opens the LMDB environment
 * itself, read-only (and without a lock file when the copy sits on
 * read-only media), so that it needs nothing of the vault but its bytes:
 * no vault key, no vault code.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "leaf.h"
#include "sha256.h"

#define MAXDBS     64u
#define NAMES_MAX  32u
#define PROGRESS_N 65536u
#define MSG_MAX    512u
/* Leaves or records handled per step: their map slots are prefetched
 * while the next ones are hashed, so that the walk does not wait for
 * memory once per key. */
#define STEP 32u
/* Leaves or records read per window: the reading thread collects their
 * pointers (valid for the read transaction), then two threads share the
 * hashing in units of UNIT.  Only the reading thread calls LMDB. */
#define WINDOW 8192u
/* Leaves or records per unit of shared work: a power of two, so that a
 * unit of leaves in a full window is a complete subtree. */
#define UNIT_LEVEL 8u
#define UNIT       (1u << UNIT_LEVEL)
/* The map is sized for this many keys before the walk (no rehash up to
 * it); past it, it doubles as it fills. */
#define PRESIZE_KEYS (UINT64_C(1) << 20)
/* Largest fingerprint input: db name, 0x00, key. */
#define FP_IN_MAX (VAULT_LEAF_DB_MAX + 1u + VAULT_LEAF_KEY_MAX)

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
	struct pool *pool; /* the second thread, or NULL */
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

/* SHA-256(db || 0x00 || key): a collision-resistant name for the pair,
 * so that the map compares 32 bytes instead of following pointers.  False
 * if the pair is longer than any leaf can name. */
static bool
fingerprint(uint8_t fp[32], const char *db, size_t dblen, const uint8_t *key,
	    size_t klen)
{
	uint8_t in[FP_IN_MAX];

	if (dblen > VAULT_LEAF_DB_MAX || klen > VAULT_LEAF_KEY_MAX) {
		return false;
	}
	memcpy(in, db, dblen);
	in[dblen] = 0x00;
	memcpy(in + dblen + 1, key, klen);
	itk_sha256(fp, in, dblen + 1 + klen);
	return true;
}

static size_t
slot_home(const ctx *c, const uint8_t fp[32])
{
	return (size_t)(itk_load_u64(fp) & (c->cap - 1));
}

/* Asks for the cache lines of fp's home slot, ahead of slot_of. */
static void
slot_prefetch(const ctx *c, const uint8_t fp[32])
{
	const slot *s = &c->map[slot_home(c, fp)];

	__builtin_prefetch(s, 1);
	__builtin_prefetch((const uint8_t *)(s + 1) - 1, 1);
}

static size_t
slot_of(const ctx *c, const uint8_t fp[32])
{
	size_t i = slot_home(c, fp);

	while (c->map[i].used && memcmp(c->map[i].fp, fp, 32) != 0) {
		i = (i + 1) & (c->cap - 1);
	}
	return i;
}

/* A zeroed table of cap slots.  Anonymous memory asked for in huge pages:
 * every lookup lands on a random page, and with 4 KiB pages most of them
 * would also miss the TLB. */
static slot *
map_alloc(size_t cap)
{
	size_t bytes = cap * sizeof(slot);
	void *p;

	if (cap > SIZE_MAX / sizeof(slot)) {
		return NULL;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: may be refused */
#endif
	return p;
}

static void
map_release(slot *m, size_t cap)
{
	if (m != NULL) {
		(void)munmap(m, cap * sizeof(slot));
	}
}

/* Makes room for ncap slots (a power of two), rehashing what is there. */
static itk_err
map_resize(ctx *c, size_t ncap)
{
	slot *old = c->map;
	size_t ocap = c->cap;

	if ((c->map = map_alloc(ncap)) == NULL) {
		c->map = old;
		return ITK_E_NOMEM;
	}
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].used) {
			c->map[slot_of(c, old[i].fp)] = old[i];
		}
	}
	map_release(old, ocap);
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

/* A decoded leaf waiting for its map slot (walk_leaves).  db points into
 * LMDB's map, valid for the read transaction. */
typedef struct {
	uint8_t fp[32];
	uint8_t hash[32];
	uint64_t index;
	const char *db;
	size_t db_len;
	itk_err status; /* ITK_OK, or why the leaf does not parse */
	uint8_t flags;
} pending_leaf;

/* Records a leaf: the latest leaf of its (db, key) wins.  At most half
 * the slots are used (short probe runs). */
static itk_err
map_leaf(ctx *c, const pending_leaf *l)
{
	size_t i;
	itk_err r;

	if ((c->n + 1) * 2 > c->cap &&
	    (r = map_resize(c, c->cap == 0 ? 4096 : c->cap * 2)) != ITK_OK) {
		return r;
	}
	i = slot_of(c, l->fp);
	if (!c->map[i].used) {
		memcpy(c->map[i].fp, l->fp, 32);
		c->map[i].used = 1;
		c->n++;
	}
	memcpy(c->map[i].hash, l->hash, 32);
	c->map[i].index = l->index;
	c->map[i].flags = l->flags;
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

/*
 * The second thread: a helper that shares jobs split into units.  The
 * caller posts a job and works on it too; each thread claims the next
 * unit until none is left, so a helper that the scheduler keeps waiting
 * costs at most the unit it holds.  Units must not call LMDB or report
 * findings: they only read the window and write their own slots.
 */
typedef void (*unit_fn)(void *arg, size_t unit);

typedef struct pool {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t gen; /* jobs posted */
	bool busy;    /* the helper is inside the current job */
	bool quit;
	unit_fn fn; /* the current job; NULL once withdrawn */
	void *arg;
	size_t units;
	size_t next; /* the next unit to claim (atomic) */
} pool;

static void
claim_units(pool *p, unit_fn fn, void *arg, size_t units)
{
	size_t u;

	while ((u = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) <
	       units) {
		fn(arg, u);
	}
}

static void *
pool_main(void *arg)
{
	pool *p = arg;
	uint64_t seen = 0;

	(void)pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen) {
			(void)pthread_cond_wait(&p->cv, &p->mu);
		}
		if (p->quit) {
			break;
		}
		seen = p->gen;
		if (p->fn == NULL) {
			continue; /* finished before we woke */
		}
		unit_fn fn = p->fn;
		void *farg = p->arg;
		size_t units = p->units;
		p->busy = true;
		(void)pthread_mutex_unlock(&p->mu);
		claim_units(p, fn, farg, units);
		(void)pthread_mutex_lock(&p->mu);
		p->busy = false;
		(void)pthread_cond_broadcast(&p->cv);
	}
	(void)pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Starts the helper; NULL (work on one thread) if it cannot start. */
static pool *
pool_new(void)
{
	pool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return NULL;
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	if (pthread_create(&p->th, NULL, pool_main, p) != 0) {
		(void)pthread_cond_destroy(&p->cv);
		(void)pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

static void
pool_free(pool *p)
{
	if (p == NULL) {
		return;
	}
	(void)pthread_mutex_lock(&p->mu);
	p->quit = true;
	(void)pthread_cond_broadcast(&p->cv);
	(void)pthread_mutex_unlock(&p->mu);
	(void)pthread_join(p->th, NULL);
	(void)pthread_cond_destroy(&p->cv);
	(void)pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Offers the job fn(arg, u), u < units, to the helper, which starts on
 * it while this thread does something else; par_finish completes it.
 * Without a helper, nothing runs until par_finish. */
static void
par_post(pool *p, unit_fn fn, void *arg, size_t units)
{
	if (p == NULL) {
		return;
	}
	(void)pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->units = units;
	__atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
	p->gen++;
	(void)pthread_cond_broadcast(&p->cv);
	(void)pthread_mutex_unlock(&p->mu);
}

/* Runs the units of the posted job that nobody has taken yet, then waits
 * for the helper's last one: when it returns, all have run. */
static void
par_finish(pool *p, unit_fn fn, void *arg, size_t units)
{
	if (p == NULL) {
		for (size_t u = 0; u < units; u++) {
			fn(arg, u);
		}
		return;
	}
	claim_units(p, fn, arg, units);
	(void)pthread_mutex_lock(&p->mu);
	p->fn = NULL; /* a helper that has not woken yet skips it */
	while (p->busy) {
		(void)pthread_cond_wait(&p->cv, &p->mu);
	}
	(void)pthread_mutex_unlock(&p->mu);
}

/* A window of leaves, as read. */
typedef struct {
	const uint8_t *p;
	size_t len;
} entry_ref;

/* Hashing and decoding a window of leaves, a unit at a time. */
typedef struct {
	const entry_ref *e;
	size_t n;
	uint64_t first;     /* index of e[0] */
	uint8_t (*lh)[32];  /* leaf hashes, one per leaf */
	uint8_t (*sub)[32]; /* with fold: the root of each unit */
	pending_leaf *pl;   /* one per leaf */
	bool fold;          /* units are complete subtrees: fold them */
} leaf_job;

static void
leaf_unit(void *arg, size_t u)
{
	leaf_job *j = arg;
	size_t lo = u * UNIT, hi = lo + UNIT < j->n ? lo + UNIT : j->n;
	vault_leaf l;

	for (size_t i = lo; i < hi; i++) {
		pending_leaf *pl = &j->pl[i];
		tlog_leaf_hash(j->lh[i], j->e[i].p, j->e[i].len);
		pl->index = j->first + i;
		if ((pl->status = vault_leaf_decode(j->e[i].p, j->e[i].len,
						    &l)) != ITK_OK) {
			continue;
		}
		if (!fingerprint(pl->fp, l.db, l.db_len, l.key, l.key_len)) {
			pl->status = ITK_E_TOO_BIG;
			continue;
		}
		memcpy(pl->hash, l.value_hash, 32);
		pl->flags = l.flags;
		pl->db = l.db;
		pl->db_len = l.db_len;
	}
	if (j->fold) {
		/* A complete subtree of UNIT leaves (RFC 6962 MTH), folded
		 * in place: level by level, left := H(left, right). */
		for (size_t w = 1; w < UNIT; w *= 2) {
			for (size_t i = lo; i < hi; i += 2 * w) {
				tlog_node_hash(j->lh[i], j->lh[i],
					       j->lh[i + w]);
			}
		}
		memcpy(j->sub[u], j->lh[lo], 32);
	}
}

/* The window's leaves into the tree, in order; a root at each signed
 * size reached. */
static itk_err
push_window(const leaf_job *j, tlog_hasher *h, uint64_t want1,
	    uint8_t root1[32], uint64_t want2, uint8_t root2[32])
{
	size_t units = (j->n + UNIT - 1) / UNIT;
	itk_err r;

	for (size_t i = 0; i < (j->fold ? units : j->n); i++) {
		r = j->fold
			? tlog_hasher_push_subtree(h, UNIT_LEVEL, j->sub[i])
			: tlog_hasher_push(h, j->lh[i]);
		if (r != ITK_OK) {
			return r;
		}
		if (h->size == want1) {
			tlog_hasher_root(h, root1);
		}
		if (h->size == want2) {
			tlog_hasher_root(h, root2);
		}
	}
	return ITK_OK;
}

/* The window's parsed leaves into the map, in order (the latest leaf of
 * a key wins); the others reported. */
static itk_err
map_window(ctx *c, const leaf_job *j)
{
	itk_err r;

	for (size_t i = 0; i < j->n && i < STEP; i++) {
		if (j->pl[i].status == ITK_OK) {
			slot_prefetch(c, j->pl[i].fp);
		}
	}
	for (size_t i = 0; i < j->n; i++) {
		const pending_leaf *pl = &j->pl[i];
		if (i + STEP < j->n && j->pl[i + STEP].status == ITK_OK) {
			slot_prefetch(c, j->pl[i + STEP].fp);
		}
		if (pl->status != ITK_OK) {
			find(c, AUDIT_BAD_LEAF,
			     "leaf #%llu does not parse: %s",
			     (unsigned long long)pl->index,
			     itk_strerror(pl->status));
			continue;
		}
		note_name(c, pl->db, pl->db_len);
		if ((r = map_leaf(c, pl)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* One window of leaves and what is computed from it. */
typedef struct {
	entry_ref win[WINDOW];
	uint8_t lh[WINDOW][32];
	uint8_t sub[WINDOW / UNIT][32];
	pending_leaf pl[WINDOW];
	leaf_job j;
} leaf_buf;

/* Reads the window of leaves from index i (at most WINDOW, up to size)
 * into b.  On failure *bad is the leaf that cannot be read (the caller
 * reports it once the leaves before it are in). */
static itk_err
read_leaves(tlog_iter *it, uint64_t i, uint64_t size, uint64_t want1,
	    uint64_t want2, leaf_buf *b, uint64_t *bad)
{
	size_t n;
	itk_err r;

	for (n = 0; n < WINDOW && i + n < size; n++) {
		if ((r = tlog_iter_next(it, &b->win[n].p, &b->win[n].len)) !=
		    ITK_OK) {
			*bad = i + n;
			return r;
		}
	}
	/* A full window (i is a multiple of WINDOW) with no signed size
	 * inside it is WINDOW / UNIT complete subtrees. */
	b->j =
	    (leaf_job){.e = b->win,
		       .n = n,
		       .first = i,
		       .lh = b->lh,
		       .sub = b->sub,
		       .pl = b->pl,
		       .fold = n == WINDOW && !(want1 > i && want1 < i + n) &&
			       !(want2 > i && want2 < i + n)};
	return ITK_OK;
}

/*
 * Walks the leaves in order through one cursor, a window at a time, in a
 * pipeline: while both threads hash and decode window k, this one adds
 * window k - 1 to the tree and the map and reads window k + 1.  Findings
 * come in index order, as on one thread.
 */
static itk_err
walk_leaves(ctx *c, uint64_t size, uint64_t want1, uint8_t root1[32],
	    uint64_t want2, uint8_t root2[32], uint8_t full[32])
{
	leaf_buf *buf = NULL, *cur, *prev = NULL;
	tlog_iter *it = NULL;
	tlog_hasher h;
	uint64_t next, bad = 0;
	itk_err r, rr;

	tlog_hasher_init(&h);
	if (want1 == 0) {
		tlog_empty_root(root1);
	}
	if (want2 == 0) {
		tlog_empty_root(root2);
	}
	if (c->cap == 0) {
		uint64_t keys = size < PRESIZE_KEYS ? size : PRESIZE_KEYS;
		size_t cap = 4096;
		while (cap < 2 * keys) {
			cap *= 2;
		}
		if ((r = map_resize(c, cap)) != ITK_OK) {
			goto out;
		}
	}
	if ((buf = calloc(2, sizeof(*buf))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = tlog_iter_new(c->log, c->txn, 0, &it)) != ITK_OK) {
		find(c, AUDIT_DAMAGED, "the leaves cannot be read: %s",
		     itk_strerror(r));
		goto out;
	}
	cur = &buf[0];
	if (size > 0 && (r = read_leaves(it, 0, size, want1, want2, cur,
					 &bad)) != ITK_OK) {
		find(c, AUDIT_DAMAGED, "leaf #%llu cannot be read: %s",
		     (unsigned long long)bad, itk_strerror(r));
		goto out;
	}
	for (next = size > 0 ? cur->j.n : 0; size > 0;) {
		size_t units = (cur->j.n + UNIT - 1) / UNIT;
		r = ITK_OK;
		par_post(c->pool, leaf_unit, &cur->j, units);
		if (prev != NULL) {
			if ((r = push_window(&prev->j, &h, want1, root1, want2,
					     root2)) == ITK_OK) {
				r = map_window(c, &prev->j);
			}
			if (r == ITK_OK && c->o != NULL &&
			    c->o->progress != NULL) {
				c->o->progress(c->o->arg,
					       prev->j.first + prev->j.n,
					       size);
			}
		}
		prev = cur;
		cur = cur == &buf[0] ? &buf[1] : &buf[0];
		rr = r == ITK_OK && next < size
			 ? read_leaves(it, next, size, want1, want2, cur, &bad)
			 : ITK_OK;
		/* The helper may hold prev's units: finish before leaving. */
		par_finish(c->pool, leaf_unit, &prev->j, units);
		if (r != ITK_OK) {
			goto out;
		}
		if (rr != ITK_OK || next >= size) {
			/* The last window read (or the one before a leaf
			 * that cannot be read) still goes in. */
			if ((r = push_window(&prev->j, &h, want1, root1, want2,
					     root2)) != ITK_OK ||
			    (r = map_window(c, &prev->j)) != ITK_OK) {
				goto out;
			}
			if (rr != ITK_OK) {
				find(c, AUDIT_DAMAGED,
				     "leaf #%llu cannot be read: %s",
				     (unsigned long long)bad,
				     itk_strerror(rr));
				r = rr;
				goto out;
			}
			break;
		}
		next += cur->j.n;
	}
	tlog_hasher_root(&h, full);
	if (c->o != NULL && c->o->progress != NULL) {
		c->o->progress(c->o->arg, size, size);
	}
	r = ITK_OK;
out:
	tlog_iter_free(it);
	free(buf);
	return r;
}

/* A record waiting for its map slot (check_db).  k and d point into
 * LMDB's map, valid for the read transaction. */
typedef struct {
	uint8_t fp[32];
	uint8_t hash[32];
	MDB_val k, d;
	bool named; /* fp computed: the key is short enough for a leaf */
} pending_rec;

/* One record against its slot's latest leaf. */
static void
match_record(ctx *c, const char *name, const pending_rec *pr)
{
	char where[128];
	size_t i;

	c->rep->records++;
	i = pr->named && c->cap > 0 ? slot_of(c, pr->fp) : 0;
	if (!pr->named || c->cap == 0 || !c->map[i].used) {
		name_of(where, sizeof(where), name, strlen(name),
			pr->k.mv_data, pr->k.mv_size);
		find(c, AUDIT_RECORD_UNLOGGED,
		     "record %s has no leaf in the log (written "
		     "outside the log)",
		     where);
		return;
	}
	c->map[i].seen = 1;
	if ((c->map[i].flags & VAULT_LEAF_F_DELETED) != 0) {
		name_of(where, sizeof(where), name, strlen(name),
			pr->k.mv_data, pr->k.mv_size);
		find(c, AUDIT_RECORD_UNDELETED,
		     "record %s is present but leaf #%llu deleted it", where,
		     (unsigned long long)c->map[i].index);
		return;
	}
	/* Public hashes: no need for a constant-time comparison. */
	if (memcmp(pr->hash, c->map[i].hash, 32) != 0) {
		name_of(where, sizeof(where), name, strlen(name),
			pr->k.mv_data, pr->k.mv_size);
		find(c, AUDIT_RECORD_ALTERED,
		     "record %s does not match its leaf #%llu "
		     "(altered or swapped)",
		     where, (unsigned long long)c->map[i].index);
	}
}

/* Hashing a window of records, a unit at a time: fingerprints and value
 * hashes. */
typedef struct {
	pending_rec *p;
	const char *name;
	size_t nlen, n;
} rec_job;

static void
rec_unit(void *arg, size_t u)
{
	rec_job *j = arg;
	size_t lo = u * UNIT, hi = lo + UNIT < j->n ? lo + UNIT : j->n;

	for (size_t i = lo; i < hi; i++) {
		pending_rec *pr = &j->p[i];
		pr->named = fingerprint(pr->fp, j->name, j->nlen,
					pr->k.mv_data, pr->k.mv_size);
		itk_sha256(pr->hash, pr->d.mv_data, pr->d.mv_size);
	}
}

/* Reads up to WINDOW records from the cursor (k, d and *rc: the last
 * read) into w; returns how many. */
static size_t
read_recs(MDB_cursor *cur, MDB_val *k, MDB_val *d, int *rc, pending_rec *w)
{
	size_t n;

	for (n = 0; n < WINDOW && *rc == 0; n++) {
		w[n].k = *k;
		w[n].d = *d;
		*rc = mdb_cursor_get(cur, k, d, MDB_NEXT);
	}
	return n;
}

/* A hashed window of records against the map, in order. */
static void
match_window(ctx *c, const char *name, const pending_rec *w, size_t n)
{
	for (size_t i = 0; i < STEP && i < n && c->cap > 0; i++) {
		if (w[i].named) {
			slot_prefetch(c, w[i].fp);
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* Ask for the slot a few records ahead. */
		if (i + STEP < n && w[i + STEP].named && c->cap > 0) {
			slot_prefetch(c, w[i + STEP].fp);
		}
		match_record(c, name, &w[i]);
	}
}

/* Every record of database name against its latest leaf, in key order
 * through one cursor, a window at a time, in a pipeline as for the
 * leaves: while both threads hash window k, this one matches window
 * k - 1 and reads window k + 1.  bufs: 2 * WINDOW records. */
static itk_err
check_db(ctx *c, const char *name, pending_rec *bufs)
{
	rec_job job[2];
	MDB_cursor *cur = NULL;
	size_t nlen = strlen(name), n, units;
	int b = 0, prev = -1;
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
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	n = read_recs(cur, &k, &d, &rc, bufs);
	while (n > 0) {
		job[b] = (rec_job){bufs + (size_t)b * WINDOW, name, nlen, n};
		units = (n + UNIT - 1) / UNIT;
		par_post(c->pool, rec_unit, &job[b], units);
		if (prev >= 0) {
			match_window(c, name, job[prev].p, job[prev].n);
		}
		prev = b;
		b = 1 - b;
		n = rc == 0 ? read_recs(cur, &k, &d, &rc,
					bufs + (size_t)b * WINDOW)
			    : 0;
		par_finish(c->pool, rec_unit, &job[prev], units);
	}
	if (prev >= 0) {
		match_window(c, name, job[prev].p, job[prev].n);
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
	pending_rec *recs = NULL;
	ctx c;
	double t0 = now_s();
	itk_err r;

	memset(&c, 0, sizeof(c));
	memset(rep, 0, sizeof(*rep));
	c.o = o;
	c.rep = rep;
	/* Two threads unless told otherwise or there is one CPU (or the
	 * second cannot start: then all on this one). */
	if ((o == NULL || o->threads != 1) &&
	    sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		c.pool = pool_new();
	}
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
	if ((recs = calloc(2 * WINDOW, sizeof(*recs))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.nnames; i++) {
		if ((r = check_db(&c, c.names[i], recs)) != ITK_OK) {
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
	pool_free(c.pool);
	map_release(c.map, c.cap);
	free(recs);
	itk_buf_free(note);
	return r;
}
