/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signed queue-keys file and queue key grants (qgrants.h).  The parser
 * reads like the layout in qgrants.h: one small function per part.
 */
#include "qgrants.h"

#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "file.h"

static const uint8_t MAGIC[8] = {'I', 'T', 'K', 'Q', 'K', 'E', 'Y', 'S'};
#define QGRANTS_FORMAT 1u

/* (queue, version[, key id]) as one number, for the order checks. */
static uint64_t
key_order(itk_queue q, uint32_t v)
{
	return ((uint64_t)q << 32) | v;
}

static itk_err
check_key(const itk_qkey *k, const itk_qkey *prev)
{
	if ((unsigned)k->queue >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	if (k->version == 0 ||
	    (prev != NULL && key_order(k->queue, k->version) <=
				 key_order(prev->queue, prev->version))) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static bool
grant_before(const itk_qgrant *a, const itk_qgrant *b)
{
	uint64_t ka = key_order(a->queue, a->version);
	uint64_t kb = key_order(b->queue, b->version);

	return ka < kb ||
	       (ka == kb && a->operator_key_id < b->operator_key_id);
}

static const itk_qkey *
find_key(const itk_qgrants *g, itk_queue q, uint32_t v)
{
	for (size_t i = 0; i < g->n_keys; i++) {
		if (g->keys[i].queue == q && g->keys[i].version == v) {
			return &g->keys[i];
		}
	}
	return NULL;
}

static itk_err
check_grant(const itk_qgrants *g, const itk_qgrant *gr, const itk_qgrant *prev)
{
	if ((unsigned)gr->queue >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	if (find_key(g, gr->queue, gr->version) == NULL ||
	    (prev != NULL && !grant_before(prev, gr))) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static itk_err
check_all(const itk_qgrants *g)
{
	itk_err r;

	if (g->n_keys > ITK_QGRANTS_KEYS_MAX ||
	    g->n_grants > ITK_QGRANTS_GRANTS_MAX) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < g->n_keys; i++) {
		if ((r = check_key(&g->keys[i], i ? &g->keys[i - 1] : NULL)) !=
		    ITK_OK) {
			return r;
		}
	}
	for (size_t i = 0; i < g->n_grants; i++) {
		if ((r = check_grant(g, &g->grants[i],
				     i ? &g->grants[i - 1] : NULL)) !=
		    ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

itk_err
itk_qgrants_encode(const itk_qgrants *g,
		   const uint8_t org_sk[static ITK_SIGN_SK_LEN], itk_buf *out)
{
	size_t start = itk_buf_len(out);
	uint8_t sig[ITK_SIG_LEN];
	itk_err r;

	if ((r = check_all(g)) != ITK_OK) {
		return r;
	}
	if ((r = itk_buf_put(out, MAGIC, sizeof(MAGIC))) != ITK_OK ||
	    (r = itk_buf_put_u8(out, QGRANTS_FORMAT)) != ITK_OK ||
	    (r = itk_buf_put_u64(out, g->issued_at)) != ITK_OK ||
	    (r = itk_buf_put(out, g->service_pk, ITK_PK_LEN)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, (uint8_t)g->n_keys)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < g->n_keys; i++) {
		const itk_qkey *k = &g->keys[i];
		if ((r = itk_buf_put_u8(out, (uint8_t)k->queue)) != ITK_OK ||
		    (r = itk_buf_put_u32(out, k->version)) != ITK_OK ||
		    (r = itk_buf_put(out, k->public_key, ITK_PK_LEN)) !=
			ITK_OK) {
			return r;
		}
	}
	if ((r = itk_buf_put_u16(out, (uint16_t)g->n_grants)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < g->n_grants; i++) {
		const itk_qgrant *gr = &g->grants[i];
		if ((r = itk_buf_put_u8(out, (uint8_t)gr->queue)) != ITK_OK ||
		    (r = itk_buf_put_u32(out, gr->version)) != ITK_OK ||
		    (r = itk_buf_put_u32(out, gr->operator_key_id)) !=
			ITK_OK ||
		    (r = itk_buf_put(out, gr->wrapped, ITK_WRAP_LEN)) !=
			ITK_OK) {
			return r;
		}
	}
	if ((r = itk_sign(ITK_SIG_QUEUE_KEYS, org_sk, itk_buf_ptr(out) + start,
			  itk_buf_len(out) - start, sig)) != ITK_OK) {
		return r;
	}
	return itk_buf_put(out, sig, sizeof(sig));
}

static itk_err
get_header(itk_reader *rd, itk_qgrants *g)
{
	uint8_t magic[sizeof(MAGIC)], fmt;
	itk_err r;

	if ((r = itk_get_bytes(rd, magic, sizeof(magic))) != ITK_OK) {
		return r;
	}
	if (sodium_memcmp(magic, MAGIC, sizeof(MAGIC)) != 0) {
		return ITK_E_FORMAT;
	}
	if ((r = itk_get_u8(rd, &fmt)) != ITK_OK) {
		return r;
	}
	if (fmt != QGRANTS_FORMAT) {
		return ITK_E_VERSION;
	}
	if ((r = itk_get_u64(rd, &g->issued_at)) != ITK_OK) {
		return r;
	}
	return itk_get_bytes(rd, g->service_pk, ITK_PK_LEN);
}

static itk_err
get_keys(itk_reader *rd, itk_qgrants *g)
{
	uint8_t n, q;
	itk_err r;

	if ((r = itk_get_u8(rd, &n)) != ITK_OK) {
		return r;
	}
	if (n > ITK_QGRANTS_KEYS_MAX) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < n; i++) {
		itk_qkey *k = &g->keys[i];
		if ((r = itk_get_u8(rd, &q)) != ITK_OK ||
		    (r = itk_get_u32(rd, &k->version)) != ITK_OK ||
		    (r = itk_get_bytes(rd, k->public_key, ITK_PK_LEN)) !=
			ITK_OK) {
			return r;
		}
		k->queue = (itk_queue)q;
		g->n_keys = i + 1;
		if ((r = check_key(k, i ? &g->keys[i - 1] : NULL)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

static itk_err
get_grants(itk_reader *rd, itk_qgrants *g)
{
	uint16_t n;
	uint8_t q;
	itk_err r;

	if ((r = itk_get_u16(rd, &n)) != ITK_OK) {
		return r;
	}
	if (n > ITK_QGRANTS_GRANTS_MAX) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < n; i++) {
		itk_qgrant *gr = &g->grants[i];
		if ((r = itk_get_u8(rd, &q)) != ITK_OK ||
		    (r = itk_get_u32(rd, &gr->version)) != ITK_OK ||
		    (r = itk_get_u32(rd, &gr->operator_key_id)) != ITK_OK ||
		    (r = itk_get_bytes(rd, gr->wrapped, ITK_WRAP_LEN)) !=
			ITK_OK) {
			return r;
		}
		gr->queue = (itk_queue)q;
		g->n_grants = i + 1;
		if ((r = check_grant(g, gr, i ? &g->grants[i - 1] : NULL)) !=
		    ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

itk_err
itk_qgrants_decode(const uint8_t *p, size_t len,
		   const uint8_t org_pk[static ITK_SIGN_PK_LEN],
		   itk_qgrants *out)
{
	uint8_t sig[ITK_SIG_LEN];
	itk_reader rd;
	size_t body;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if (len > ITK_QGRANTS_FILE_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	itk_reader_init(&rd, p, len);
	if ((r = get_header(&rd, out)) != ITK_OK ||
	    (r = get_keys(&rd, out)) != ITK_OK ||
	    (r = get_grants(&rd, out)) != ITK_OK) {
		goto out;
	}
	body = len - itk_reader_left(&rd);
	if ((r = itk_get_bytes(&rd, sig, sizeof(sig))) != ITK_OK ||
	    (r = itk_reader_end(&rd)) != ITK_OK) {
		goto out;
	}
	/* Verified last, over exactly what was parsed: nothing above acts
	 * on the contents before this. */
	r = itk_verify(ITK_SIG_QUEUE_KEYS, org_pk, p, body, sig);
out:
	if (r != ITK_OK) {
		memset(out, 0, sizeof(*out));
	}
	return r;
}

itk_err
itk_qgrants_load(const char *path,
		 const uint8_t org_pk[static ITK_SIGN_PK_LEN],
		 itk_qgrants *out)
{
	char full[4096];
	struct stat st;
	itk_buf *b = NULL;
	itk_err r;
	int n;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		n = snprintf(full, sizeof(full), "%s/%s", path,
			     ITK_QGRANTS_FILE);
	} else {
		n = snprintf(full, sizeof(full), "%s", path);
	}
	if (n < 0 || (size_t)n >= sizeof(full)) {
		return ITK_E_TOO_BIG;
	}
	if ((r = itk_file_read(full, ITK_QGRANTS_FILE_MAX, &b)) != ITK_OK) {
		return r;
	}
	r = itk_qgrants_decode(itk_buf_ptr(b), itk_buf_len(b), org_pk, out);
	itk_buf_free(b);
	return r;
}

const itk_qkey *
itk_qgrants_current(const itk_qgrants *g, itk_queue q)
{
	const itk_qkey *best = NULL;

	for (size_t i = 0; i < g->n_keys; i++) {
		if (g->keys[i].queue == q &&
		    (best == NULL || g->keys[i].version > best->version)) {
			best = &g->keys[i];
		}
	}
	return best;
}

const itk_qgrant *
itk_qgrants_find(const itk_qgrants *g, itk_queue q, uint32_t version,
		 uint32_t key_id)
{
	for (size_t i = 0; i < g->n_grants; i++) {
		const itk_qgrant *gr = &g->grants[i];
		if (gr->queue == q && gr->version == version &&
		    gr->operator_key_id == key_id) {
			return gr;
		}
	}
	return NULL;
}

itk_err
itk_qgrant_seal(const uint8_t qsk[static ITK_SK_LEN],
		const uint8_t op_sign_pk[static ITK_SIGN_PK_LEN],
		uint8_t wrapped[static ITK_WRAP_LEN])
{
	uint8_t pk[ITK_PK_LEN];
	itk_err r;

	if ((r = itk_sign_pk_to_box_pk(op_sign_pk, pk)) != ITK_OK) {
		return r;
	}
	return itk_wrap_key(pk, qsk, wrapped);
}

itk_err
itk_qgrant_open(const uint8_t wrapped[static ITK_WRAP_LEN],
		const uint8_t op_sign_sk[static ITK_SIGN_SK_LEN],
		const uint8_t qpk[static ITK_PK_LEN],
		uint8_t qsk[static ITK_SK_LEN])
{
	uint8_t sk[ITK_SK_LEN], pk[ITK_PK_LEN];
	itk_err r = ITK_E_DECRYPT;

	memset(qsk, 0, ITK_SK_LEN);
	/* The public half of an Ed25519 libsodium secret is its last 32
	 * bytes. */
	if (itk_sign_sk_to_box_sk(op_sign_sk, sk) != ITK_OK ||
	    itk_sign_pk_to_box_pk(op_sign_sk + 32, pk) != ITK_OK ||
	    itk_unwrap_key(pk, sk, wrapped, qsk) != ITK_OK) {
		goto out;
	}
	if (!itk_box_pair_ok(qpk, qsk)) {
		sodium_memzero(qsk, ITK_SK_LEN);
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(sk, sizeof(sk));
	return r;
}
