/* SPDX-License-Identifier: Apache-2.0 */
#include "spool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "buf.h"
#include "file.h"
#include "log.h"

/*
 * LMDB layout (docs/gateway.md, "Spool"):
 *   items   id(32) -> ver(1) accepted_at(8) key_id(4) seq(8) sealed
 *   pending seq(8, big-endian) -> id(32)
 *   seen    id(32) -> ver(1) accepted_at(8) key_id(4) acked_at(8)
 *   mailbox mailbox_id(32) posted_at(8) reply_id(32)
 *           -> stored_at(8) Reply(protobuf)
 *   meta    "next_seq" -> u64
 */
#define REC_VERSION  1u
#define ITEM_HDR     21u
#define SEEN_LEN     21u
#define MBOX_KEY_LEN (ITK_MAILBOX_ID_LEN + GW_CURSOR_LEN)

/* One pending submission in memory.  On exactly one list: ready or
 * leased. */
struct entry {
	uint8_t id[GW_ID_LEN];
	uint64_t seq;
	uint64_t accepted_at;
	uint64_t lease_until;
	uint32_t key_id;
	uint32_t len;
	uint32_t attempts;
	uint32_t owner; /* pipe id; 0 when not leased */
	struct entry *prev, *next;
	struct entry *hnext;
};

struct list {
	struct entry *head, *tail;
	size_t n;
};

struct gw_spool {
	MDB_env *env;
	MDB_dbi items, pending, seen, mailbox, meta;
	gw_spool_opts o;

	pthread_mutex_t mtx; /* guards everything below */
	struct list ready;   /* front = next to deliver */
	struct list leased;  /* in lease order = expiry order */
	struct entry **tab;  /* hash of all entries by id */
	size_t tab_size;     /* power of two */
	size_t count;
	uint64_t bytes;
	uint64_t next_seq;
	uint64_t redelivered;
	bool failed;
	uint8_t hkey[crypto_shorthash_KEYBYTES];

	void (*notify)(void *);
	void *notify_arg;
	gw_spool_reply_fn reply_fn; /* guarded by mtx (chat.c's hook) */
	void *reply_arg;
};

static void
list_remove(struct list *l, struct entry *e)
{
	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else {
		l->head = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else {
		l->tail = e->prev;
	}
	e->prev = e->next = NULL;
	l->n--;
}

static void
list_push_back(struct list *l, struct entry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail != NULL) {
		l->tail->next = e;
	} else {
		l->head = e;
	}
	l->tail = e;
	l->n++;
}

static void
list_push_front(struct list *l, struct entry *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head != NULL) {
		l->head->prev = e;
	} else {
		l->tail = e;
	}
	l->head = e;
	l->n++;
}

/*
 * Ids are SHA-256 of attacker-chosen bytes: a keyed hash (SipHash) keeps
 * anyone from grinding submissions into one bucket.
 */
static size_t
slot(const gw_spool *s, const uint8_t id[GW_ID_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, id, GW_ID_LEN, s->hkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (s->tab_size - 1));
}

static struct entry *
tab_find(const gw_spool *s, const uint8_t id[GW_ID_LEN])
{
	struct entry *e = s->tab[slot(s, id)];

	while (e != NULL && memcmp(e->id, id, GW_ID_LEN) != 0) {
		e = e->hnext;
	}
	return e;
}

static itk_err
tab_grow(gw_spool *s)
{
	size_t nsize = s->tab_size * 2, old = s->tab_size;
	struct entry **ntab, **otab = s->tab;

	if ((ntab = calloc(nsize, sizeof(*ntab))) == NULL) {
		return ITK_E_NOMEM;
	}
	s->tab = ntab;
	s->tab_size = nsize;
	for (size_t i = 0; i < old; i++) {
		struct entry *e = otab[i], *nx;
		for (; e != NULL; e = nx) {
			size_t k = slot(s, e->id);
			nx = e->hnext;
			e->hnext = ntab[k];
			ntab[k] = e;
		}
	}
	free(otab);
	return ITK_OK;
}

static itk_err
tab_insert(gw_spool *s, struct entry *e)
{
	size_t k;

	if (s->count + 1 > s->tab_size) {
		itk_err r = tab_grow(s);
		if (r != ITK_OK) {
			return r;
		}
	}
	k = slot(s, e->id);
	e->hnext = s->tab[k];
	s->tab[k] = e;
	s->count++;
	return ITK_OK;
}

static void
tab_remove(gw_spool *s, struct entry *e)
{
	struct entry **pp = &s->tab[slot(s, e->id)];

	while (*pp != NULL && *pp != e) {
		pp = &(*pp)->hnext;
	}
	if (*pp == e) {
		*pp = e->hnext;
		s->count--;
	}
}

/* Removes e from memory entirely (acknowledged). */
static void
entry_drop(gw_spool *s, struct entry *e)
{
	list_remove(e->owner != 0 ? &s->leased : &s->ready, e);
	tab_remove(s, e);
	s->bytes -= e->len;
	free(e);
}

static itk_err
db_err(int rc)
{
	return rc == MDB_MAP_FULL ? ITK_E_FULL : ITK_E_DB;
}

static void
log_db(const char *what, int rc)
{
	itk_log_error("spool.db", "op=%s err=\"%s\"", what, mdb_strerror(rc));
}

static void
put_item_hdr(uint8_t *p, uint64_t accepted_at, uint32_t key_id, uint64_t seq)
{
	p[0] = REC_VERSION;
	itk_store_u64(p + 1, accepted_at);
	itk_store_u32(p + 9, key_id);
	itk_store_u64(p + 13, seq);
}

/* Parses the fixed header of an items or seen record (same first 13). */
static itk_err
get_rec_hdr(const MDB_val *v, size_t minlen, uint64_t *accepted_at,
	    uint32_t *key_id, uint64_t *tail)
{
	itk_reader rd;
	uint8_t ver;
	itk_err r;

	if (v->mv_size < minlen) {
		return ITK_E_DB;
	}
	itk_reader_init(&rd, v->mv_data, v->mv_size);
	if ((r = itk_get_u8(&rd, &ver)) != ITK_OK ||
	    (r = itk_get_u64(&rd, accepted_at)) != ITK_OK ||
	    (r = itk_get_u32(&rd, key_id)) != ITK_OK ||
	    (r = itk_get_u64(&rd, tail)) != ITK_OK) {
		return ITK_E_DB;
	}
	return ver == REC_VERSION ? ITK_OK : ITK_E_DB;
}

/* Loads the pending queue, in seq order, into memory. */
static itk_err
load_pending(gw_spool *s)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;
	itk_err r = ITK_E_DB;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, s->pending, &cur)) != 0) {
		log_db("load", rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		MDB_val ik, iv;
		struct entry *e;
		uint64_t seq;

		if (k.mv_size != 8 || v.mv_size != GW_ID_LEN) {
			goto out;
		}
		ik = v;
		if (mdb_get(txn, s->items, &ik, &iv) != 0) {
			/* A pending key without its item: skip it, the
			 * next write of that id repairs nothing needed. */
			continue;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			r = ITK_E_NOMEM;
			goto out;
		}
		memcpy(e->id, v.mv_data, GW_ID_LEN);
		if (get_rec_hdr(&iv, ITEM_HDR, &e->accepted_at, &e->key_id,
				&seq) != ITK_OK) {
			free(e);
			goto out;
		}
		e->seq = seq;
		e->len = (uint32_t)(iv.mv_size - ITEM_HDR);
		if ((r = tab_insert(s, e)) != ITK_OK) {
			free(e);
			goto out;
		}
		list_push_back(&s->ready, e);
		s->bytes += e->len;
		if (seq >= s->next_seq) {
			s->next_seq = seq + 1;
		}
	}
	if (rc != MDB_NOTFOUND) {
		log_db("load", rc);
		r = ITK_E_DB;
		goto out;
	}
	k.mv_data = "next_seq";
	k.mv_size = 8;
	if ((rc = mdb_get(txn, s->meta, &k, &v)) == 0 && v.mv_size == 8) {
		uint64_t ns = itk_load_u64(v.mv_data);
		if (ns > s->next_seq) {
			s->next_seq = ns;
		}
	}
	r = ITK_OK;
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r;
}

itk_err
gw_spool_open(const char *dir, const gw_spool_opts *o, gw_spool **out)
{
	gw_spool *s = NULL;
	MDB_txn *txn = NULL;
	size_t mapsize;
	int rc;
	itk_err r;

	if ((r = itk_mkdir_p(dir, 0700)) != ITK_OK) {
		goto out;
	}
	r = ITK_E_NOMEM;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		goto out;
	}
	s->o = *o;
	s->next_seq = 1;
	s->tab_size = 1024;
	if ((s->tab = calloc(s->tab_size, sizeof(*s->tab))) == NULL) {
		goto out;
	}
	randombytes_buf(s->hkey, sizeof(s->hkey));
	if (pthread_mutex_init(&s->mtx, NULL) != 0) {
		free(s->tab);
		free(s);
		s = NULL;
		goto out;
	}
	/*
	 * The map must hold the pending bytes plus B-tree overhead, the seen
	 * table and the mailboxes: four times the cap plus 64 MiB.  A full
	 * map is answered like a full spool (503), never a crash.
	 *
	 * A writable map without readahead (MDB_WRITEMAP, MDB_NORDAHEAD):
	 * pages enter the page cache one by one, so a commit flushes the
	 * pages it changed and not the large folios the kernel would build
	 * from LMDB's multi-page writes (vault/vault.c says more).  The
	 * file is sparse at the map's size.  Commits still flush data, then
	 * the meta page.
	 */
	mapsize = (size_t)(o->max_bytes * 4u + 64u * 1024u * 1024u);
	r = ITK_E_DB;
	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 8)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, 512)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, mapsize)) != 0 ||
	    (rc = mdb_env_open(s->env, dir,
			       MDB_NOTLS | MDB_WRITEMAP | MDB_NORDAHEAD,
			       0600)) != 0) {
		log_db("open", rc);
		goto out;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "items", MDB_CREATE, &s->items)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &s->pending)) !=
		0 ||
	    (rc = mdb_dbi_open(txn, "seen", MDB_CREATE, &s->seen)) != 0 ||
	    (rc = mdb_dbi_open(txn, "mailbox", MDB_CREATE, &s->mailbox)) !=
		0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0) {
		log_db("open", rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		log_db("open", rc);
		goto out;
	}
	if ((r = load_pending(s)) != ITK_OK) {
		goto out;
	}
	*out = s;
	s = NULL; /* transferred */
	r = ITK_OK;
out:
	mdb_txn_abort(txn);
	gw_spool_free(s);
	return r;
}

void
gw_spool_free(gw_spool *s)
{
	if (s == NULL) {
		return;
	}
	if (s->env != NULL) {
		mdb_env_close(s->env);
	}
	for (size_t i = 0; s->tab != NULL && i < s->tab_size; i++) {
		struct entry *e = s->tab[i], *nx;
		for (; e != NULL; e = nx) {
			nx = e->hnext;
			free(e);
		}
	}
	free(s->tab);
	pthread_mutex_destroy(&s->mtx);
	sodium_memzero(s->hkey, sizeof(s->hkey));
	free(s);
}

void
gw_spool_set_notify(gw_spool *s, void (*fn)(void *), void *arg)
{
	s->notify = fn;
	s->notify_arg = arg;
}

void
gw_spool_set_reply_hook(gw_spool *s, gw_spool_reply_fn fn, void *arg)
{
	pthread_mutex_lock(&s->mtx);
	s->reply_fn = fn;
	s->reply_arg = arg;
	pthread_mutex_unlock(&s->mtx);
}

static void
notify(gw_spool *s)
{
	if (s->notify != NULL) {
		s->notify(s->notify_arg);
	}
}

itk_err
gw_spool_lookup(gw_spool *s, const uint8_t id[static GW_ID_LEN],
		uint64_t *accepted_at, uint32_t *key_id)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	struct entry *e;
	uint64_t acked;
	int rc;
	itk_err r;

	pthread_mutex_lock(&s->mtx);
	if ((e = tab_find(s, id)) != NULL) {
		*accepted_at = e->accepted_at;
		*key_id = e->key_id;
	}
	pthread_mutex_unlock(&s->mtx);
	if (e != NULL) {
		return ITK_OK;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		log_db("lookup", rc);
		return ITK_E_DB;
	}
	k.mv_data = (void *)id;
	k.mv_size = GW_ID_LEN;
	rc = mdb_get(txn, s->seen, &k, &v);
	if (rc == MDB_NOTFOUND) {
		r = ITK_E_NOT_FOUND;
	} else if (rc != 0) {
		log_db("lookup", rc);
		r = ITK_E_DB;
	} else {
		r = get_rec_hdr(&v, SEEN_LEN, accepted_at, key_id, &acked);
	}
	mdb_txn_abort(txn);
	return r;
}

bool
gw_spool_would_overflow(gw_spool *s, size_t len)
{
	bool full;

	pthread_mutex_lock(&s->mtx);
	full = s->bytes + len > s->o.max_bytes;
	pthread_mutex_unlock(&s->mtx);
	return full;
}

/* Within the append transaction: is id already spooled or seen?  On
 * ITK_E_DUPLICATE the item's accepted_at/key_id are the original ones. */
static itk_err
find_existing(gw_spool *s, MDB_txn *txn, gw_spool_item *it)
{
	MDB_val k = {GW_ID_LEN, (void *)it->id}, v;
	uint64_t tail;
	int rc;

	rc = mdb_get(txn, s->items, &k, &v);
	if (rc == 0) {
		return get_rec_hdr(&v, ITEM_HDR, &it->accepted_at, &it->key_id,
				   &tail) == ITK_OK
			   ? ITK_E_DUPLICATE
			   : ITK_E_DB;
	}
	if (rc != MDB_NOTFOUND) {
		return ITK_E_DB;
	}
	rc = mdb_get(txn, s->seen, &k, &v);
	if (rc == 0) {
		return get_rec_hdr(&v, SEEN_LEN, &it->accepted_at, &it->key_id,
				   &tail) == ITK_OK
			   ? ITK_E_DUPLICATE
			   : ITK_E_DB;
	}
	return rc == MDB_NOTFOUND ? ITK_OK : ITK_E_DB;
}

itk_err
gw_spool_append(gw_spool *s, gw_spool_item *items, size_t n)
{
	MDB_txn *txn = NULL;
	struct entry **fresh = NULL;
	uint64_t bytes, seq;
	size_t nfresh = 0;
	uint8_t seqbuf[8];
	int rc = 0;
	itk_err r = ITK_E_NOMEM;

	if (n == 0) {
		return ITK_OK;
	}
	if ((fresh = calloc(n, sizeof(*fresh))) == NULL) {
		goto out;
	}
	pthread_mutex_lock(&s->mtx);
	bytes = s->bytes;
	seq = s->next_seq;
	pthread_mutex_unlock(&s->mtx);

	r = ITK_E_DB;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		gw_spool_item *it = &items[i];
		MDB_val k = {GW_ID_LEN, (void *)it->id}, v, pk;
		struct entry *e;

		if ((it->result = find_existing(s, txn, it)) != ITK_OK) {
			if (it->result == ITK_E_DB) {
				goto out;
			}
			continue; /* duplicate: original values filled in */
		}
		if (bytes + it->len > s->o.max_bytes) {
			it->result = ITK_E_FULL;
			continue;
		}
		v.mv_size = ITEM_HDR + it->len;
		if ((rc = mdb_put(txn, s->items, &k, &v, MDB_RESERVE)) != 0) {
			r = db_err(rc);
			goto out;
		}
		put_item_hdr(v.mv_data, it->accepted_at, it->key_id, seq);
		memcpy((uint8_t *)v.mv_data + ITEM_HDR, it->sealed, it->len);
		itk_store_u64(seqbuf, seq);
		pk.mv_data = seqbuf;
		pk.mv_size = 8;
		if ((rc = mdb_put(txn, s->pending, &pk, &k, 0)) != 0) {
			r = db_err(rc);
			goto out;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			r = ITK_E_NOMEM;
			goto out;
		}
		memcpy(e->id, it->id, GW_ID_LEN);
		e->seq = seq++;
		e->accepted_at = it->accepted_at;
		e->key_id = it->key_id;
		e->len = (uint32_t)it->len;
		fresh[nfresh++] = e;
		bytes += it->len;
		it->result = ITK_OK;
	}
	if (nfresh > 0) {
		MDB_val k = {8, "next_seq"}, v = {8, seqbuf};
		itk_store_u64(seqbuf, seq);
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0) {
			r = db_err(rc);
			goto out;
		}
	}
	/* The environment syncs on commit: this is the one fsync of the
	 * whole batch. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		r = db_err(rc);
		goto out;
	}
	pthread_mutex_lock(&s->mtx);
	for (size_t i = 0; i < nfresh; i++) {
		/* The table only grows by doubling; on NOMEM the entry is
		 * still durable and is loaded again on restart. */
		if (tab_insert(s, fresh[i]) != ITK_OK) {
			free(fresh[i]);
			continue;
		}
		list_push_back(&s->ready, fresh[i]);
		s->bytes += fresh[i]->len;
	}
	if (seq > s->next_seq) {
		s->next_seq = seq;
	}
	pthread_mutex_unlock(&s->mtx);
	nfresh = 0;
	r = ITK_OK;
	notify(s);
out:
	if (rc != 0 && r != ITK_OK) {
		log_db("append", rc);
	}
	if (r != ITK_OK && r != ITK_E_FULL) {
		pthread_mutex_lock(&s->mtx);
		s->failed = true;
		pthread_mutex_unlock(&s->mtx);
	}
	mdb_txn_abort(txn);
	for (size_t i = 0; i < nfresh; i++) {
		free(fresh[i]);
	}
	free(fresh);
	return r;
}

itk_err
gw_spool_lease(gw_spool *s, uint32_t owner, uint64_t now_ms, size_t max,
	       itk_err (*fn)(void *arg, const gw_delivery *d, size_t n),
	       void *arg, size_t *n)
{
	struct {
		uint8_t id[GW_ID_LEN];
		uint32_t attempt;
	} picked[GW_DELIVERY_MAX];
	gw_delivery d[GW_DELIVERY_MAX];
	MDB_txn *txn = NULL;
	size_t np = 0, nd = 0;
	uint64_t budget = 0;
	int rc;
	itk_err r = ITK_OK;

	*n = 0;
	if (max > GW_DELIVERY_MAX) {
		max = GW_DELIVERY_MAX;
	}
	if (owner == 0 || max == 0) {
		return ITK_OK;
	}
	pthread_mutex_lock(&s->mtx);
	while (np < max && s->ready.head != NULL) {
		struct entry *e = s->ready.head;
		/* Always at least one, so a large item cannot starve. */
		if (np > 0 && budget + e->len > GW_DELIVERY_BYTES) {
			break;
		}
		budget += e->len;
		list_remove(&s->ready, e);
		e->owner = owner;
		e->lease_until = now_ms + s->o.lease_ms;
		e->attempts++;
		list_push_back(&s->leased, e);
		memcpy(picked[np].id, e->id, GW_ID_LEN);
		picked[np].attempt = e->attempts;
		np++;
	}
	pthread_mutex_unlock(&s->mtx);
	if (np == 0) {
		return ITK_OK;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		log_db("lease", rc);
		r = ITK_E_DB;
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		MDB_val k = {GW_ID_LEN, picked[i].id}, v;
		uint64_t seq;

		/* Acknowledged meanwhile by another worker: skip. */
		if (mdb_get(txn, s->items, &k, &v) != 0) {
			continue;
		}
		if (get_rec_hdr(&v, ITEM_HDR, &d[nd].accepted_at,
				&d[nd].key_id, &seq) != ITK_OK) {
			continue;
		}
		d[nd].id = picked[i].id;
		d[nd].sealed = (const uint8_t *)v.mv_data + ITEM_HDR;
		d[nd].len = v.mv_size - ITEM_HDR;
		d[nd].attempt = picked[i].attempt;
		nd++;
	}
	if (nd > 0) {
		r = fn(arg, d, nd);
	}
	*n = nd;
out:
	mdb_txn_abort(txn);
	return r;
}

size_t
gw_spool_leased_by(gw_spool *s, uint32_t owner)
{
	size_t n = 0;

	pthread_mutex_lock(&s->mtx);
	for (struct entry *e = s->leased.head; e != NULL; e = e->next) {
		n += e->owner == owner;
	}
	pthread_mutex_unlock(&s->mtx);
	return n;
}

/* Moves the leases matching (owner, or expired before now) back to the
 * front of the ready queue, keeping their relative order. */
static size_t
requeue(gw_spool *s, uint32_t owner, uint64_t now_ms)
{
	size_t n = 0;

	pthread_mutex_lock(&s->mtx);
	for (struct entry *e = s->leased.tail, *pv; e != NULL; e = pv) {
		pv = e->prev;
		if (owner != 0 ? e->owner != owner : e->lease_until > now_ms) {
			continue;
		}
		list_remove(&s->leased, e);
		e->owner = 0;
		list_push_front(&s->ready, e);
		n++;
	}
	s->redelivered += n;
	pthread_mutex_unlock(&s->mtx);
	if (n > 0) {
		notify(s);
	}
	return n;
}

size_t
gw_spool_release_owner(gw_spool *s, uint32_t owner)
{
	return owner == 0 ? 0 : requeue(s, owner, 0);
}

size_t
gw_spool_expire(gw_spool *s, uint64_t now_ms)
{
	return requeue(s, 0, now_ms);
}

/* Within the worker transaction: acknowledge one id. */
static itk_err
ack_one(gw_spool *s, MDB_txn *txn, const uint8_t id[GW_ID_LEN], uint64_t now_s,
	bool *applied)
{
	MDB_val k = {GW_ID_LEN, (void *)id}, v, pk;
	uint8_t seen[SEEN_LEN], seqbuf[8];
	uint64_t accepted_at, seq;
	uint32_t key_id;
	int rc;

	*applied = false;
	rc = mdb_get(txn, s->items, &k, &v);
	if (rc == MDB_NOTFOUND) {
		return ITK_OK; /* already acknowledged: idempotent */
	}
	if (rc != 0 ||
	    get_rec_hdr(&v, ITEM_HDR, &accepted_at, &key_id, &seq) != ITK_OK) {
		return ITK_E_DB;
	}
	seen[0] = REC_VERSION;
	itk_store_u64(seen + 1, accepted_at);
	itk_store_u32(seen + 9, key_id);
	itk_store_u64(seen + 13, now_s);
	itk_store_u64(seqbuf, seq);
	pk.mv_data = seqbuf;
	pk.mv_size = 8;
	v.mv_data = seen;
	v.mv_size = sizeof(seen);
	if ((rc = mdb_del(txn, s->items, &k, NULL)) != 0 ||
	    ((rc = mdb_del(txn, s->pending, &pk, NULL)) != 0 &&
	     rc != MDB_NOTFOUND) ||
	    (rc = mdb_put(txn, s->seen, &k, &v, 0)) != 0) {
		return db_err(rc);
	}
	*applied = true;
	return ITK_OK;
}

static itk_err
reply_one(gw_spool *s, MDB_txn *txn, const gw_spool_reply *rp, uint64_t now_s,
	  bool *stored)
{
	uint8_t key[MBOX_KEY_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	*stored = false;
	if (rp->reply_len > GW_REPLY_MAX) {
		return ITK_E_TOO_BIG;
	}
	memcpy(key, rp->mailbox_id, ITK_MAILBOX_ID_LEN);
	itk_store_u64(key + ITK_MAILBOX_ID_LEN, rp->posted_at);
	memcpy(key + ITK_MAILBOX_ID_LEN + 8, rp->reply_id, GW_ID_LEN);
	v.mv_size = 8 + rp->reply_len;
	rc = mdb_put(txn, s->mailbox, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST) {
		return ITK_OK; /* a resent reply is stored once */
	}
	if (rc != 0) {
		return db_err(rc);
	}
	itk_store_u64(v.mv_data, now_s);
	memcpy((uint8_t *)v.mv_data + 8, rp->reply, rp->reply_len);
	*stored = true;
	return ITK_OK;
}

itk_err
gw_spool_worker_commit(gw_spool *s, const uint8_t *const *acks, size_t n_acks,
		       const gw_spool_reply *replies, size_t n_replies,
		       uint64_t now_s, size_t *acked, size_t *stored)
{
	MDB_txn *txn = NULL;
	bool *applied = NULL;
	gw_spool_reply *fresh = NULL; /* stored new: for the hook */
	gw_spool_reply_fn hook;
	void *hook_arg;
	size_t na = 0, ns = 0;
	int rc;
	itk_err r = ITK_E_NOMEM;

	*acked = *stored = 0;
	if (n_acks == 0 && n_replies == 0) {
		return ITK_OK;
	}
	if (n_acks > 0 &&
	    (applied = calloc(n_acks, sizeof(*applied))) == NULL) {
		goto out;
	}
	if (n_replies > 0 &&
	    (fresh = calloc(n_replies, sizeof(*fresh))) == NULL) {
		goto out;
	}
	r = ITK_E_DB;
	/*
	 * Fully synced, like the append.  (Acknowledgements alone would not
	 * need the meta flush, but LMDB 0.9.24 flushes it whatever the
	 * transaction's flags, and the environment's flag would also reach
	 * a concurrent append.)
	 */
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		log_db("worker_commit", rc);
		goto out;
	}
	for (size_t i = 0; i < n_acks; i++) {
		if ((r = ack_one(s, txn, acks[i], now_s, &applied[i])) !=
		    ITK_OK) {
			goto out;
		}
		na += applied[i];
	}
	for (size_t i = 0; i < n_replies; i++) {
		bool st;
		if ((r = reply_one(s, txn, &replies[i], now_s, &st)) !=
		    ITK_OK) {
			goto out;
		}
		if (st) {
			fresh[ns] = replies[i];
		}
		ns += st;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		log_db("worker_commit", rc);
		r = db_err(rc);
		goto out;
	}
	pthread_mutex_lock(&s->mtx);
	for (size_t i = 0; i < n_acks; i++) {
		struct entry *e;
		if (applied[i] && (e = tab_find(s, acks[i])) != NULL) {
			entry_drop(s, e);
		}
	}
	hook = s->reply_fn;
	hook_arg = s->reply_arg;
	pthread_mutex_unlock(&s->mtx);
	/* Durable now: live subscribers may see them. */
	if (hook != NULL && ns > 0) {
		hook(hook_arg, fresh, ns);
	}
	*acked = na;
	*stored = ns;
	r = ITK_OK;
out:
	mdb_txn_abort(txn);
	free(applied);
	free(fresh);
	return r;
}

itk_err
gw_spool_mailbox_read(gw_spool *s,
		      const uint8_t mailbox_id[static ITK_MAILBOX_ID_LEN],
		      const uint8_t *cursor,
		      itk_err (*fn)(void *arg, const uint8_t *const *reply,
				    const size_t *len, size_t n),
		      void *arg, uint8_t next[static GW_CURSOR_LEN],
		      bool *has_next)
{
	const uint8_t *rep[GW_MAILBOX_PAGE_MAX];
	size_t len[GW_MAILBOX_PAGE_MAX];
	uint8_t key[MBOX_KEY_LEN];
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = {sizeof(key), key}, v;
	size_t n = 0, bytes = 0;
	int rc;
	MDB_cursor_op op = MDB_SET_RANGE;
	itk_err r = ITK_E_DB;

	*has_next = false;
	memcpy(key, mailbox_id, ITK_MAILBOX_ID_LEN);
	if (cursor != NULL) {
		memcpy(key + ITK_MAILBOX_ID_LEN, cursor, GW_CURSOR_LEN);
	} else {
		memset(key + ITK_MAILBOX_ID_LEN, 0, GW_CURSOR_LEN);
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, s->mailbox, &cur)) != 0) {
		log_db("mailbox_read", rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != MBOX_KEY_LEN ||
		    memcmp(k.mv_data, mailbox_id, ITK_MAILBOX_ID_LEN) != 0) {
			break;
		}
		/* The cursor names the last reply already seen. */
		if (cursor != NULL &&
		    memcmp((uint8_t *)k.mv_data + ITK_MAILBOX_ID_LEN, cursor,
			   GW_CURSOR_LEN) == 0) {
			continue;
		}
		if (v.mv_size < 8) {
			continue;
		}
		if (n == GW_MAILBOX_PAGE_MAX ||
		    (n > 0 && bytes + v.mv_size > GW_MAILBOX_PAGE_BYTES)) {
			*has_next = true;
			break;
		}
		rep[n] = (const uint8_t *)v.mv_data + 8;
		len[n] = v.mv_size - 8;
		bytes += v.mv_size;
		memcpy(next, (uint8_t *)k.mv_data + ITK_MAILBOX_ID_LEN,
		       GW_CURSOR_LEN);
		n++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_db("mailbox_read", rc);
		goto out;
	}
	r = fn(arg, rep, len, n);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r;
}

size_t
gw_spool_prune(gw_spool *s, uint64_t now_s, size_t limit)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		log_db("prune", rc);
		return 0;
	}
	if ((rc = mdb_cursor_open(txn, s->seen, &cur)) != 0) {
		goto fail;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t at = v.mv_size == SEEN_LEN
				  ? itk_load_u64((uint8_t *)v.mv_data + 13)
				  : 0;
		if (at + s->o.seen_retention <= now_s) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0) {
				goto fail;
			}
			n++;
		}
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = mdb_cursor_open(txn, s->mailbox, &cur)) != 0) {
		goto fail;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t at = v.mv_size >= 8 ? itk_load_u64(v.mv_data) : 0;
		if (at + s->o.mailbox_retention <= now_s) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0) {
				goto fail;
			}
			n++;
		}
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	return n;
fail:
	log_db("prune", rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return 0;
}

void
gw_spool_get_stats(gw_spool *s, gw_spool_stats *st)
{
	pthread_mutex_lock(&s->mtx);
	st->pending = s->count;
	st->bytes = s->bytes;
	st->leased = s->leased.n;
	st->redelivered = s->redelivered;
	st->writable = !s->failed;
	pthread_mutex_unlock(&s->mtx);
}
