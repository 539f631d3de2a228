/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access enforced by queue keys (qkeys.h): queue public keys, message
 * copies under message keys wrapped to a queue key, and per-case data
 * keys.  Record layouts in qkeys.h and docs/vault.md.
 */
#include "qkeys.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vault_impl.h"

static const uint8_t AD_MSG[3] = {'m', 's', 'g'};

static void
qk_key(itk_queue q, uint32_t version, uint8_t out[5])
{
	out[0] = (uint8_t)q;
	itk_store_u32(out + 1, version);
}

/* ------------------------------------------------------------ formats */

static void
copy_ad(const uint8_t id[VAULT_ID_LEN], uint8_t ad[3 + VAULT_ID_LEN])
{
	memcpy(ad, AD_MSG, sizeof(AD_MSG));
	memcpy(ad + sizeof(AD_MSG), id, VAULT_ID_LEN);
}

itk_err
vault_copy_seal(const uint8_t id[VAULT_ID_LEN], const uint8_t *plain,
		size_t len, uint8_t mk[VAULT_MK_LEN],
		uint8_t nonce[VAULT_COPY_NONCE], itk_buf *ct)
{
	uint8_t ad[3 + VAULT_ID_LEN];
	size_t bucket = itk_pad_bucket(len), padded;
	uint8_t *p = NULL, *out;
	unsigned long long clen;
	itk_err r;

	if (bucket == 0) {
		return ITK_E_TOO_BIG;
	}
	if ((p = malloc(bucket)) == NULL) {
		return ITK_E_NOMEM;
	}
	memcpy(p, plain, len);
	/* Padded like a submission: the copy's size says only the bucket. */
	if (sodium_pad(&padded, p, len, bucket, bucket) != 0 ||
	    padded != bucket) {
		r = ITK_E_INTERNAL;
		goto out;
	}
	if ((r = itk_buf_reserve(ct, bucket + VAULT_COPY_TAG, &out)) !=
	    ITK_OK) {
		goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(mk);
	randombytes_buf(nonce, VAULT_COPY_NONCE);
	copy_ad(id, ad);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		out, &clen, p, bucket, ad, sizeof(ad), NULL, nonce, mk) != 0 ||
	    clen != bucket + VAULT_COPY_TAG) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	r = ITK_OK;
out:
	if (p != NULL) {
		sodium_memzero(p, bucket);
		free(p);
	}
	return r;
}

static bool
ct_len_ok(size_t n)
{
	if (n < VAULT_COPY_TAG) {
		return false;
	}
	for (size_t i = 0; i < ITK_PAD_BUCKETS; i++) {
		if (itk_pad_buckets[i] == n - VAULT_COPY_TAG) {
			return true;
		}
	}
	return false;
}

/* version, queue, key version, wrap: the part copies and case keys share */
static itk_err
get_wrap_head(itk_reader *rd, vault_copy_view *out)
{
	uint8_t ver, q;
	itk_err r;

	if ((r = itk_get_u8(rd, &ver)) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_u8(rd, &q) != ITK_OK ||
	    itk_get_u32(rd, &out->version) != ITK_OK ||
	    itk_get_view(rd, ITK_WRAP_LEN, &out->wrapped) != ITK_OK ||
	    q >= ITK_QUEUE_COUNT || out->version == 0) {
		return ITK_E_FORMAT;
	}
	out->queue = (itk_queue)q;
	return ITK_OK;
}

itk_err
vault_copy_parse(const uint8_t *p, size_t n, vault_copy_view *out)
{
	itk_reader rd;
	uint32_t len;
	itk_err r;

	memset(out, 0, sizeof(*out));
	itk_reader_init(&rd, p, n);
	if ((r = get_wrap_head(&rd, out)) != ITK_OK) {
		return r;
	}
	if (itk_get_view(&rd, VAULT_COPY_NONCE, &out->nonce) != ITK_OK ||
	    itk_get_u32(&rd, &len) != ITK_OK || !ct_len_ok(len) ||
	    itk_get_view(&rd, len, &out->ct) != ITK_OK ||
	    itk_reader_end(&rd) != ITK_OK) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	out->ct_len = len;
	return ITK_OK;
}

itk_err
vault_case_key_parse(const uint8_t *p, size_t n, vault_copy_view *out)
{
	itk_reader rd;
	itk_err r;

	memset(out, 0, sizeof(*out));
	itk_reader_init(&rd, p, n);
	if ((r = get_wrap_head(&rd, out)) != ITK_OK) {
		return r;
	}
	if (itk_reader_end(&rd) != ITK_OK) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static const vault_qsecret *
key_for(const vault_qsecret *keys, size_t nkeys, itk_queue q, uint32_t v)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].queue == q && keys[i].version == v) {
			return &keys[i];
		}
	}
	return NULL;
}

/* Unwraps a record's key with the matching queue key. */
static itk_err
unwrap(const vault_copy_view *c, const vault_qsecret *keys, size_t nkeys,
       uint8_t key[VAULT_MK_LEN])
{
	const vault_qsecret *k = key_for(keys, nkeys, c->queue, c->version);

	if (k == NULL) {
		return ITK_E_KEY_UNKNOWN;
	}
	return itk_unwrap_key(k->pk, k->sk, c->wrapped, key);
}

itk_err
vault_copy_open(const vault_copy_view *c, const uint8_t id[VAULT_ID_LEN],
		const vault_qsecret *keys, size_t nkeys, itk_buf *plain)
{
	uint8_t mk[VAULT_MK_LEN], ad[3 + VAULT_ID_LEN];
	uint8_t *p = NULL;
	unsigned long long plen;
	size_t unpadded;
	itk_err r;

	if ((r = unwrap(c, keys, nkeys, mk)) != ITK_OK) {
		goto out;
	}
	if (c->ct_len < VAULT_COPY_TAG ||
	    (p = malloc(c->ct_len - VAULT_COPY_TAG + 1)) == NULL) {
		r = c->ct_len < VAULT_COPY_TAG ? ITK_E_DECRYPT : ITK_E_NOMEM;
		goto out;
	}
	copy_ad(id, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		p, &plen, NULL, c->ct, c->ct_len, ad, sizeof(ad), c->nonce,
		mk) != 0 ||
	    sodium_unpad(&unpadded, p, (size_t)plen, (size_t)plen) != 0) {
		r = ITK_E_DECRYPT;
		goto out;
	}
	r = itk_buf_put(plain, p, unpadded);
out:
	if (p != NULL) {
		sodium_memzero(p, c->ct_len - VAULT_COPY_TAG + 1);
		free(p);
	}
	sodium_memzero(mk, sizeof(mk));
	return r;
}

/* ------------------------------------------------------ queue keys */

/* The newest version of q in txn t. */
static itk_err
current_in(vault *v, MDB_txn *t, itk_queue q, vault_qkey *out)
{
	uint8_t k[5];
	MDB_cursor *c = NULL;
	MDB_val key, d;
	itk_reader rd;
	uint8_t ver;
	int rc;
	itk_err r;

	/* Keys sort by queue, then version: the last key of q is the one
	 * just before (q, 0xffffffff) or at it. */
	qk_key(q, UINT32_MAX, k);
	if ((r = vault_mdb_err(mdb_cursor_open(t, v->dbi[VAULT_DB_QUEUE_KEYS],
					       &c))) != ITK_OK) {
		return r;
	}
	key = vault_mval(k, sizeof(k));
	rc = mdb_cursor_get(c, &key, &d, MDB_SET_RANGE);
	if (rc == MDB_SUCCESS &&
	    !(key.mv_size == 5 && memcmp(key.mv_data, k, 5) == 0)) {
		rc = mdb_cursor_get(c, &key, &d, MDB_PREV);
	} else if (rc == MDB_NOTFOUND) {
		rc = mdb_cursor_get(c, &key, &d, MDB_LAST);
	}
	if (rc != MDB_SUCCESS) {
		r = vault_mdb_err(rc);
		goto out;
	}
	if (key.mv_size != 5) {
		r = ITK_E_FORMAT;
		goto out;
	}
	if (((const uint8_t *)key.mv_data)[0] != (uint8_t)q) {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	out->queue = q;
	out->version = itk_load_u32((const uint8_t *)key.mv_data + 1);
	itk_reader_init(&rd, d.mv_data, d.mv_size);
	if (itk_get_u8(&rd, &ver) != ITK_OK || ver != VAULT_REC_VERSION ||
	    itk_get_bytes(&rd, out->pk, ITK_PK_LEN) != ITK_OK ||
	    d.mv_size != VAULT_QUEUE_KEY_LEN) {
		r = ITK_E_FORMAT;
		goto out;
	}
	r = ITK_OK;
out:
	mdb_cursor_close(c);
	return r;
}

static itk_err
get_in(vault *v, MDB_txn *t, itk_queue q, uint32_t version,
       uint8_t pk[ITK_PK_LEN])
{
	uint8_t k[5];
	MDB_val d;
	itk_err r;

	if ((unsigned)q >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	qk_key(q, version, k);
	if ((r = vault_db_get(t, v, VAULT_DB_QUEUE_KEYS, k, sizeof(k), &d)) !=
	    ITK_OK) {
		return r;
	}
	if (d.mv_size != VAULT_QUEUE_KEY_LEN ||
	    ((const uint8_t *)d.mv_data)[0] != VAULT_REC_VERSION) {
		return ITK_E_FORMAT;
	}
	memcpy(pk, (const uint8_t *)d.mv_data + 1, ITK_PK_LEN);
	return ITK_OK;
}

itk_err
vault_qkeys_import(vault *v, const vault_qkey *keys, size_t n, uint64_t now,
		   size_t *added)
{
	uint8_t k[5], val[VAULT_QUEUE_KEY_LEN], pk[ITK_PK_LEN];
	size_t count = 0;
	vault_txn t;
	itk_err r;

	if (added != NULL) {
		*added = 0;
	}
	if ((r = vault_txn_begin(v, &t)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keys[i].queue >= ITK_QUEUE_COUNT ||
		    keys[i].version == 0) {
			r = ITK_E_RANGE;
			goto fail;
		}
		r = get_in(v, t.txn, keys[i].queue, keys[i].version, pk);
		if (r == ITK_OK) {
			if (sodium_memcmp(pk, keys[i].pk, ITK_PK_LEN) != 0) {
				r = ITK_E_EXISTS; /* never replaced */
				goto fail;
			}
			continue;
		}
		if (r != ITK_E_NOT_FOUND) {
			goto fail;
		}
		qk_key(keys[i].queue, keys[i].version, k);
		val[0] = VAULT_REC_VERSION;
		memcpy(val + 1, keys[i].pk, ITK_PK_LEN);
		itk_store_u64(val + 1 + ITK_PK_LEN, now);
		if ((r = vault_txn_put(&t, VAULT_DB_QUEUE_KEYS,
				       VAULT_CHANGE_QUEUE_KEY, k, sizeof(k),
				       val, sizeof(val), MDB_NOOVERWRITE)) !=
		    ITK_OK) {
			goto fail;
		}
		count++;
	}
	if ((r = vault_txn_commit(&t)) != ITK_OK) {
		return r;
	}
	if (added != NULL) {
		*added = count;
	}
	return ITK_OK;
fail:
	vault_txn_abort(&t);
	return r;
}

/* Runs fn in a read snapshot. */
#define WITH_READ(v, t, expr)                                                 \
	do {                                                                  \
		if ((r = vault_mdb_begin((v), MDB_RDONLY, &(t))) != ITK_OK) { \
			return r;                                             \
		}                                                             \
		r = (expr);                                                   \
		mdb_txn_abort(t);                                             \
	} while (0)

itk_err
vault_qkey_get(vault *v, itk_queue q, uint32_t version, uint8_t pk[ITK_PK_LEN])
{
	MDB_txn *t;
	itk_err r;

	WITH_READ(v, t, get_in(v, t, q, version, pk));
	return r;
}

itk_err
vault_qkey_current(vault *v, itk_queue q, vault_qkey *out)
{
	MDB_txn *t;
	itk_err r;

	if ((unsigned)q >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	WITH_READ(v, t, current_in(v, t, q, out));
	return r;
}

/* ----------------------------------------------------------- copies */

static itk_err
copy_encode(itk_queue q, uint32_t version, const uint8_t *wrapped,
	    const uint8_t *nonce, const uint8_t *ct, size_t ct_len, itk_buf *b)
{
	itk_err r;

	if ((r = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put_u8(b, (uint8_t)q)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, version)) != ITK_OK ||
	    (r = itk_buf_put(b, wrapped, ITK_WRAP_LEN)) != ITK_OK) {
		return r;
	}
	if (nonce == NULL) {
		return ITK_OK; /* a case key record ends here */
	}
	if ((r = itk_buf_put(b, nonce, VAULT_COPY_NONCE)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, (uint32_t)ct_len)) != ITK_OK) {
		return r;
	}
	return itk_buf_put(b, ct, ct_len);
}

itk_err
vault_txn_copy_put(vault_txn *t, const vault_message *m, itk_queue q)
{
	uint8_t wrapped[ITK_WRAP_LEN];
	vault_qkey cur;
	itk_buf *b = NULL;
	itk_err r;

	if (m->copy_key == NULL) {
		return ITK_OK;
	}
	if (m->copy_nonce == NULL || m->copy_ct == NULL ||
	    !ct_len_ok(m->copy_ct_len)) {
		return ITK_E_INTERNAL;
	}
	r = current_in(t->v, t->txn, q, &cur);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK; /* no queue key yet: no copy (docs/vault.md) */
	}
	if (r != ITK_OK) {
		return r;
	}
	if ((r = itk_wrap_key(cur.pk, m->copy_key, wrapped)) != ITK_OK) {
		return r;
	}
	if ((b = itk_buf_new(VAULT_COPY_FIXED + VAULT_COPY_CT_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = copy_encode(q, cur.version, wrapped, m->copy_nonce,
			     m->copy_ct, m->copy_ct_len, b)) != ITK_OK) {
		goto out;
	}
	r = vault_txn_put(t, VAULT_DB_COPIES, VAULT_CHANGE_COPY,
			  m->submission_id, VAULT_ID_LEN, itk_buf_ptr(b),
			  itk_buf_len(b), MDB_NOOVERWRITE);
out:
	itk_buf_free(b);
	return r;
}

itk_err
vault_ops_copy_open(vault *v, const uint8_t id[VAULT_ID_LEN],
		    const vault_qsecret *keys, size_t nkeys, itk_buf *plain,
		    itk_queue *q, uint32_t *version)
{
	vault_copy_view cv;
	MDB_txn *t = NULL;
	MDB_val d;
	itk_err r;

	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = vault_db_get(t, v, VAULT_DB_COPIES, id, VAULT_ID_LEN, &d)) !=
		ITK_OK ||
	    (r = vault_copy_parse(d.mv_data, d.mv_size, &cv)) != ITK_OK) {
		goto out;
	}
	if (q != NULL) {
		*q = cv.queue;
	}
	if (version != NULL) {
		*version = cv.version;
	}
	r = vault_copy_open(&cv, id, keys, nkeys, plain);
out:
	mdb_txn_abort(t);
	return r;
}

/* -------------------------------------------------------- case keys */

static itk_err
case_key_in(vault *v, MDB_txn *t, const uint8_t case_id[VAULT_ID_LEN],
	    const vault_qsecret *keys, size_t nkeys, uint8_t dek[VAULT_MK_LEN])
{
	vault_copy_view cv;
	MDB_val d;
	itk_err r;

	if ((r = vault_db_get(t, v, VAULT_DB_CASE_KEYS, case_id, VAULT_ID_LEN,
			      &d)) != ITK_OK ||
	    (r = vault_case_key_parse(d.mv_data, d.mv_size, &cv)) != ITK_OK) {
		return r;
	}
	return unwrap(&cv, keys, nkeys, dek);
}

itk_err
vault_ops_case_key(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		   const vault_qsecret *keys, size_t nkeys,
		   uint8_t dek[VAULT_MK_LEN])
{
	MDB_txn *t;
	itk_err r;

	WITH_READ(v, t, case_key_in(v, t, case_id, keys, nkeys, dek));
	return r;
}

static itk_err
case_key_store(vault_txn *t, const uint8_t case_id[VAULT_ID_LEN],
	       const vault_qkey *to, const uint8_t dek[VAULT_MK_LEN])
{
	uint8_t wrapped[ITK_WRAP_LEN], val[VAULT_CASE_KEY_LEN];
	itk_buf *b = NULL;
	itk_err r;

	if ((r = itk_wrap_key(to->pk, dek, wrapped)) != ITK_OK) {
		return r;
	}
	if ((b = itk_buf_new(sizeof(val))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = copy_encode(to->queue, to->version, wrapped, NULL, NULL, 0,
			     b)) != ITK_OK) {
		goto out;
	}
	memcpy(val, itk_buf_ptr(b), sizeof(val));
	r = vault_txn_put(t, VAULT_DB_CASE_KEYS, VAULT_CHANGE_CASE_KEY,
			  case_id, VAULT_ID_LEN, val, sizeof(val), 0);
out:
	itk_buf_free(b);
	return r;
}

itk_err
vault_op_case_key(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		  const vault_qsecret *keys, size_t nkeys, bool create,
		  uint8_t dek[VAULT_MK_LEN])
{
	vault_txn *t = vault_op_txn(o);
	vault_case_rec c;
	vault_qkey cur;
	itk_err r;

	r = case_key_in(t->v, t->txn, case_id, keys, nkeys, dek);
	if (r != ITK_E_NOT_FOUND || !create) {
		return r;
	}
	if ((r = vault_txn_case_load(t, case_id, &c)) != ITK_OK) {
		return r;
	}
	r = current_in(t->v, t->txn, (itk_queue)c.queue, &cur);
	sodium_memzero(&c, sizeof(c));
	if (r != ITK_OK) {
		return r;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(dek);
	if ((r = case_key_store(t, case_id, &cur, dek)) != ITK_OK) {
		sodium_memzero(dek, VAULT_MK_LEN);
	}
	return r;
}

/* ------------------------------------------------------------ rewrap */

/* The submission ids of a case's messages (one pass over messages). */
static itk_err
case_message_ids(vault_txn *t, const uint8_t case_id[VAULT_ID_LEN],
		 uint8_t (**ids)[VAULT_ID_LEN], size_t *n)
{
	MDB_cursor *c = NULL;
	MDB_val k, d;
	vault_msg_rec m;
	size_t cap = 0;
	int rc;
	itk_err r = ITK_OK;

	*ids = NULL;
	*n = 0;
	if ((r = vault_mdb_err(mdb_cursor_open(
		 t->txn, t->v->dbi[VAULT_DB_MESSAGES], &c))) != ITK_OK) {
		return r;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != VAULT_ID_LEN ||
		    (r = vault_msg_decode(d.mv_data, d.mv_size, &m)) !=
			ITK_OK) {
			r = r == ITK_OK ? ITK_E_FORMAT : r;
			goto out;
		}
		if (memcmp(m.case_id, case_id, VAULT_ID_LEN) != 0) {
			continue;
		}
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			void *np = realloc(*ids, nc * VAULT_ID_LEN);
			if (np == NULL) {
				r = ITK_E_NOMEM;
				goto out;
			}
			*ids = np;
			cap = nc;
		}
		memcpy((*ids)[(*n)++], k.mv_data, VAULT_ID_LEN);
	}
	r = rc == MDB_NOTFOUND ? ITK_OK : vault_mdb_err(rc);
out:
	mdb_cursor_close(c);
	if (r != ITK_OK) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return r;
}

/* Re-seals one copy to `to`; counts it in moved or left. */
static itk_err
rewrap_copy(vault_txn *t, const uint8_t id[VAULT_ID_LEN], const vault_qkey *to,
	    const vault_qsecret *keys, size_t nkeys, itk_buf *b, size_t *moved,
	    size_t *left)
{
	uint8_t mk[VAULT_MK_LEN], wrapped[ITK_WRAP_LEN];
	vault_copy_view cv;
	MDB_val d;
	itk_err r;

	r = vault_db_get(t->txn, t->v, VAULT_DB_COPIES, id, VAULT_ID_LEN, &d);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK; /* stored before queue keys: nothing to move */
	}
	if (r != ITK_OK ||
	    (r = vault_copy_parse(d.mv_data, d.mv_size, &cv)) != ITK_OK) {
		return r;
	}
	if (cv.queue == to->queue && cv.version == to->version) {
		return ITK_OK;
	}
	r = unwrap(&cv, keys, nkeys, mk);
	if (r == ITK_E_KEY_UNKNOWN) {
		(*left)++; /* its key was not in the request: stays */
		return ITK_OK;
	}
	if (r != ITK_OK || (r = itk_wrap_key(to->pk, mk, wrapped)) != ITK_OK) {
		goto out;
	}
	itk_buf_reset(b);
	/* cv views LMDB's page: copy before the put replaces it. */
	if ((r = copy_encode(to->queue, to->version, wrapped, cv.nonce, cv.ct,
			     cv.ct_len, b)) != ITK_OK) {
		goto out;
	}
	if ((r = vault_txn_put(t, VAULT_DB_COPIES, VAULT_CHANGE_COPY, id,
			       VAULT_ID_LEN, itk_buf_ptr(b), itk_buf_len(b),
			       0)) != ITK_OK) {
		goto out;
	}
	(*moved)++;
out:
	sodium_memzero(mk, sizeof(mk));
	return r;
}

itk_err
vault_op_rewrap_case(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		     itk_queue to, const vault_qsecret *keys, size_t nkeys,
		     size_t *moved, size_t *left)
{
	vault_txn *t = vault_op_txn(o);
	uint8_t(*ids)[VAULT_ID_LEN] = NULL;
	uint8_t dek[VAULT_MK_LEN];
	size_t n = 0, mv = 0, lf = 0;
	vault_qkey cur;
	itk_buf *b = NULL;
	itk_err r;

	if ((unsigned)to >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	r = current_in(t->v, t->txn, to, &cur);
	if (r == ITK_E_NOT_FOUND) {
		r = ITK_OK; /* no queue key for the target: nothing to do */
		goto out;
	}
	if (r != ITK_OK ||
	    (r = case_message_ids(t, case_id, &ids, &n)) != ITK_OK) {
		goto out;
	}
	if ((b = itk_buf_new(VAULT_COPY_FIXED + VAULT_COPY_CT_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = rewrap_copy(t, ids[i], &cur, keys, nkeys, b, &mv,
				     &lf)) != ITK_OK) {
			goto out;
		}
	}
	r = case_key_in(t->v, t->txn, case_id, keys, nkeys, dek);
	if (r == ITK_OK) {
		if ((r = case_key_store(t, case_id, &cur, dek)) != ITK_OK) {
			goto out;
		}
		mv++;
	} else if (r == ITK_E_KEY_UNKNOWN) {
		lf++;
		r = ITK_OK;
	} else if (r == ITK_E_NOT_FOUND) {
		r = ITK_OK;
	} else {
		goto out;
	}
out:
	if (r == ITK_OK) {
		if (moved != NULL) {
			*moved = mv;
		}
		if (left != NULL) {
			*left = lf;
		}
	}
	sodium_memzero(dek, sizeof(dek));
	free(ids);
	itk_buf_free(b);
	return r;
}
