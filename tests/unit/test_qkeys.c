/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access by queue keys: the signed queue-keys file and grants
 * (keys/qgrants.c), queue key names (keys/keyfile.c), message copies,
 * case data keys and re-wrapping in the vault (vault/qkeys.c), notes under
 * a case key (vault/ops.c).  Every bad, truncated, wrong-key or
 * wrong-version input is refused and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "keys.h"
#include "ops.h"
#include "qgrants.h"
#include "qkeys.h"
#include "vault.h"

/* ------------------------------------------------------------ helpers */

typedef struct {
	uint8_t org_pk[ITK_SIGN_PK_LEN], org_sk[ITK_SIGN_SK_LEN];
	uint8_t op_pk[ITK_SIGN_PK_LEN], op_sk[ITK_SIGN_SK_LEN];
	uint8_t op2_pk[ITK_SIGN_PK_LEN], op2_sk[ITK_SIGN_SK_LEN];
	uint8_t qpk[2][ITK_PK_LEN], qsk[2][ITK_SK_LEN];
	itk_qgrants *g;
	itk_buf *file;
} world;

/* Two queue keys (surrender-1, captivity-1), one grant each to op. */
static world *
world_new(void)
{
	world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(crypto_sign_keypair(w->org_pk, w->org_sk), 0);
	assert_int_equal(crypto_sign_keypair(w->op_pk, w->op_sk), 0);
	assert_int_equal(crypto_sign_keypair(w->op2_pk, w->op2_sk), 0);
	assert_non_null(w->g = calloc(1, sizeof(*w->g)));
	assert_non_null(w->file = itk_buf_new(ITK_QGRANTS_FILE_MAX));
	w->g->issued_at = 1700000000;
	randombytes_buf(w->g->service_pk, ITK_PK_LEN);
	for (int i = 0; i < 2; i++) {
		itk_qgrant *gr = &w->g->grants[i];
		assert_int_equal(itk_box_keypair(w->qpk[i], w->qsk[i]),
				 ITK_OK);
		w->g->keys[i].queue = (itk_queue)i;
		w->g->keys[i].version = 1;
		memcpy(w->g->keys[i].public_key, w->qpk[i], ITK_PK_LEN);
		gr->queue = (itk_queue)i;
		gr->version = 1;
		gr->operator_key_id = 7;
		assert_int_equal(
		    itk_qgrant_seal(w->qsk[i], w->op_pk, gr->wrapped), ITK_OK);
	}
	w->g->n_keys = 2;
	w->g->n_grants = 2;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file), ITK_OK);
	return w;
}

static void
world_free(world *w)
{
	itk_buf_free(w->file);
	free(w->g);
	sodium_memzero(w, sizeof(*w));
	free(w);
}

/* ----------------------------------------------------- key names */

static void
queue_key_names(void **state)
{
	static const char *const bad[] = {"surrender-0",       "surrender-01",
					  "surrender-",        "-1",
					  "surrender",         "bogus-1",
					  "surrender-1234567", "surrender-1a",
					  "surrender--1",      ""};
	char name[ITK_KEY_NAME_MAX + 1];
	itk_queue q;
	uint32_t v;

	(void)state;
	assert_int_equal(itk_queue_key_name(ITK_QUEUE_CASUALTY, 12, name),
			 ITK_OK);
	assert_string_equal(name, "casualty-12");
	assert_int_equal(itk_queue_key_parse(name, &q, &v), ITK_OK);
	assert_int_equal(q, ITK_QUEUE_CASUALTY);
	assert_int_equal(v, 12);
	assert_int_equal(itk_queue_key_name(ITK_QUEUE_OTHER, 0, name),
			 ITK_E_RANGE);
	assert_int_equal(itk_queue_key_name(ITK_QUEUE_COUNT, 1, name),
			 ITK_E_RANGE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(itk_queue_key_parse(bad[i], &q, &v),
				 ITK_E_FORMAT);
	}
}

static void
queue_key_file_round_trip(void **state)
{
	itk_key_info t;
	itk_secret_key *k = NULL, *k2 = NULL;
	itk_buf *b = itk_buf_new(ITK_KEY_FILE_MAX);

	(void)state;
	memset(&t, 0, sizeof(t));
	t.kind = ITK_KEY_QUEUE;
	t.queues = 1u << ITK_QUEUE_CAPTIVITY;
	memcpy(t.name, "captivity-3", 12);
	assert_int_equal(itk_key_generate(&t, &k), ITK_OK);
	assert_int_equal(itk_key_encode(k, NULL, NULL, b), ITK_OK);
	assert_int_equal(
	    itk_key_decode(itk_buf_ptr(b), itk_buf_len(b), NULL, &k2), ITK_OK);
	assert_memory_equal(itk_key_public(k), itk_key_public(k2), 32);
	assert_true(itk_box_pair_ok(itk_key_public(k2), itk_key_secret(k2)));
	itk_key_free(k2);
	itk_key_free(k);
	/* The name and the queues field must agree. */
	t.queues = 1u << ITK_QUEUE_SURRENDER;
	k = NULL;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	assert_null(k);
	t.queues = (1u << ITK_QUEUE_CAPTIVITY) | 1u;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	memcpy(t.name, "captivity", 10);
	t.queues = 1u << ITK_QUEUE_CAPTIVITY;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	itk_buf_free(b);
}

/* ------------------------------------------------------ grants file */

static void
grants_round_trip(void **state)
{
	world *w = world_new();
	itk_qgrants *out = calloc(1, sizeof(*out));
	const itk_qgrant *gr;
	uint8_t qsk[ITK_SK_LEN];

	(void)state;
	assert_non_null(out);
	assert_int_equal(itk_qgrants_decode(itk_buf_ptr(w->file),
					    itk_buf_len(w->file), w->org_pk,
					    out),
			 ITK_OK);
	assert_int_equal(out->n_keys, 2);
	assert_int_equal(out->n_grants, 2);
	assert_memory_equal(out->service_pk, w->g->service_pk, ITK_PK_LEN);
	assert_non_null(itk_qgrants_current(out, ITK_QUEUE_CAPTIVITY));
	assert_null(itk_qgrants_current(out, ITK_QUEUE_OTHER));
	gr = itk_qgrants_find(out, ITK_QUEUE_CAPTIVITY, 1, 7);
	assert_non_null(gr);
	assert_null(itk_qgrants_find(out, ITK_QUEUE_CAPTIVITY, 2, 7));
	assert_null(itk_qgrants_find(out, ITK_QUEUE_CAPTIVITY, 1, 8));
	/* The grantee opens it ... */
	assert_int_equal(
	    itk_qgrant_open(gr->wrapped, w->op_sk, w->qpk[1], qsk), ITK_OK);
	assert_memory_equal(qsk, w->qsk[1], ITK_SK_LEN);
	/* ... nobody else, nor for another queue key (zeroed on failure). */
	assert_int_equal(
	    itk_qgrant_open(gr->wrapped, w->op2_sk, w->qpk[1], qsk),
	    ITK_E_DECRYPT);
	assert_true(sodium_is_zero(qsk, sizeof(qsk)));
	assert_int_equal(
	    itk_qgrant_open(gr->wrapped, w->op_sk, w->qpk[0], qsk),
	    ITK_E_DECRYPT);
	assert_true(sodium_is_zero(qsk, sizeof(qsk)));
	free(out);
	world_free(w);
}

static void
grants_refused(void **state)
{
	world *w = world_new();
	itk_qgrants *out = calloc(1, sizeof(*out));
	const uint8_t *p = itk_buf_ptr(w->file);
	size_t n = itk_buf_len(w->file);
	uint8_t *copy = malloc(n + 1);
	itk_qgrant wrapped;

	(void)state;
	assert_non_null(out);
	assert_non_null(copy);
	/* Truncated at every length. */
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(itk_qgrants_decode(p, i, w->org_pk, out),
				     ITK_OK);
		assert_int_equal(out->n_keys, 0); /* nothing half-filled */
	}
	/* A trailing byte. */
	memcpy(copy, p, n);
	copy[n] = 0;
	assert_int_equal(itk_qgrants_decode(copy, n + 1, w->org_pk, out),
			 ITK_E_TRAILING);
	/* Every flipped bit. */
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, p, n);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(
		    itk_qgrants_decode(copy, n, w->org_pk, out), ITK_OK);
	}
	/* Magic, format version, another org key. */
	memcpy(copy, p, n);
	copy[0] = 'X';
	assert_int_equal(itk_qgrants_decode(copy, n, w->org_pk, out),
			 ITK_E_FORMAT);
	memcpy(copy, p, n);
	copy[8] = 2;
	assert_int_equal(itk_qgrants_decode(copy, n, w->org_pk, out),
			 ITK_E_VERSION);
	assert_int_equal(itk_qgrants_decode(p, n, w->op_pk, out),
			 ITK_E_VERIFY);
	/* The encoder refuses what the decoder would: order, a grant of an
	 * unlisted key, a zero version, a queue out of range. */
	itk_buf_reset(w->file);
	wrapped = w->g->grants[0];
	w->g->grants[0] = w->g->grants[1];
	w->g->grants[1] = wrapped;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file),
			 ITK_E_FORMAT);
	w->g->grants[1] = w->g->grants[0];
	w->g->grants[0] = wrapped;
	w->g->grants[1].version = 2;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file),
			 ITK_E_FORMAT);
	w->g->grants[1].version = 1;
	w->g->keys[1].version = 0;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file),
			 ITK_E_FORMAT);
	w->g->keys[1].version = 1;
	w->g->keys[1].queue = ITK_QUEUE_COUNT;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file),
			 ITK_E_RANGE);
	w->g->keys[1].queue = ITK_QUEUE_CAPTIVITY;
	w->g->n_keys = ITK_QGRANTS_KEYS_MAX + 1;
	assert_int_equal(itk_qgrants_encode(w->g, w->org_sk, w->file),
			 ITK_E_RANGE);
	assert_int_equal(itk_buf_len(w->file), 0);
	free(copy);
	free(out);
	world_free(w);
}

/* ------------------------------------------------------------ vault */

static char dir[64];

static vault *
vault_make(void)
{
	uint8_t key[VAULT_KEY_LEN];
	vault_options o = {0};
	vault *v = NULL;

	snprintf(dir, sizeof(dir), "/tmp/itk-qkeys-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(key, 0x42, sizeof(key));
	o.dir = dir;
	o.map_size = 64u << 20;
	assert_int_equal(vault_open(&o, key, &v), ITK_OK);
	return v;
}

static void
vault_gone(vault *v)
{
	char cmd[128];

	vault_free(v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A committed message of queue q whose text is `text`, with its copy. */
static void
commit_with_copy(vault *v, itk_queue q, const char *text,
		 uint8_t id[VAULT_ID_LEN], bool copy)
{
	uint8_t sealed[600], mk[VAULT_MK_LEN], nonce[VAULT_COPY_NONCE];
	itk_buf *ct = itk_buf_new(ITK_PAD_MAX + VAULT_COPY_TAG);
	vault_message m;
	vault_result res;

	randombytes_buf(sealed, sizeof(sealed));
	memset(&m, 0, sizeof(m));
	itk_sha256(m.submission_id, sealed, sizeof(sealed));
	m.sealed = sealed;
	m.sealed_len = sizeof(sealed);
	m.queue = q;
	m.urgency = ITK_URGENCY_NORMAL;
	m.language = ITK_LANG_EN;
	m.accepted_at = 1700000000;
	if (copy) {
		assert_int_equal(vault_copy_seal(m.submission_id,
						 (const uint8_t *)text,
						 strlen(text), mk, nonce, ct),
				 ITK_OK);
		/* Padded: the ciphertext says only the bucket. */
		assert_int_equal(itk_buf_len(ct), 512 + VAULT_COPY_TAG);
		m.copy_key = mk;
		m.copy_nonce = nonce;
		m.copy_ct = itk_buf_ptr(ct);
		m.copy_ct_len = itk_buf_len(ct);
	}
	assert_int_equal(vault_commit(v, &m, 1, NULL, 0, &res), ITK_OK);
	memcpy(id, m.submission_id, VAULT_ID_LEN);
	sodium_memzero(mk, sizeof(mk));
	itk_buf_free(ct);
}

static void
secret_of(vault_qsecret *s, itk_queue q, uint32_t v, const uint8_t pk[32],
	  const uint8_t sk[32])
{
	memset(s, 0, sizeof(*s));
	s->queue = q;
	s->version = v;
	memcpy(s->pk, pk, 32);
	memcpy(s->sk, sk, 32);
}

static void
copies_open_only_with_their_key(void **state)
{
	world *w = world_new();
	vault *v = vault_make();
	vault_qkey k[2];
	vault_qsecret s[2], wrong;
	uint8_t id[VAULT_ID_LEN], id2[VAULT_ID_LEN];
	itk_buf *plain = itk_buf_new(ITK_PAD_MAX);
	itk_queue q;
	uint32_t ver;
	size_t added;

	(void)state;
	for (int i = 0; i < 2; i++) {
		k[i].queue = (itk_queue)i;
		k[i].version = 1;
		memcpy(k[i].pk, w->qpk[i], 32);
		secret_of(&s[i], (itk_queue)i, 1, w->qpk[i], w->qsk[i]);
	}
	assert_int_equal(vault_qkeys_import(v, k, 1, 1, &added), ITK_OK);
	assert_int_equal(added, 1);
	/* A queue without a key gets no copy. */
	commit_with_copy(v, ITK_QUEUE_CAPTIVITY, "no key yet", id2, true);
	assert_int_equal(vault_ops_copy_open(v, id2, s, 2, plain, NULL, NULL),
			 ITK_E_NOT_FOUND);
	commit_with_copy(v, ITK_QUEUE_SURRENDER, "I surrender at the bridge",
			 id, true);
	assert_int_equal(vault_ops_copy_open(v, id, s, 2, plain, &q, &ver),
			 ITK_OK);
	assert_int_equal(q, ITK_QUEUE_SURRENDER);
	assert_int_equal(ver, 1);
	assert_int_equal(itk_buf_len(plain),
			 strlen("I surrender at the bridge"));
	assert_memory_equal(itk_buf_ptr(plain), "I surrender at the bridge",
			    itk_buf_len(plain));
	/* Another queue's key, no key, a wrong version, a wrong secret. */
	itk_buf_reset(plain);
	assert_int_equal(
	    vault_ops_copy_open(v, id, &s[1], 1, plain, NULL, NULL),
	    ITK_E_KEY_UNKNOWN);
	assert_int_equal(
	    vault_ops_copy_open(v, id, NULL, 0, plain, NULL, NULL),
	    ITK_E_KEY_UNKNOWN);
	secret_of(&wrong, ITK_QUEUE_SURRENDER, 2, w->qpk[0], w->qsk[0]);
	assert_int_equal(
	    vault_ops_copy_open(v, id, &wrong, 1, plain, NULL, NULL),
	    ITK_E_KEY_UNKNOWN);
	secret_of(&wrong, ITK_QUEUE_SURRENDER, 1, w->qpk[1], w->qsk[1]);
	assert_int_equal(
	    vault_ops_copy_open(v, id, &wrong, 1, plain, NULL, NULL),
	    ITK_E_DECRYPT);
	assert_int_equal(itk_buf_len(plain), 0); /* nothing appended */
	/* A key version is never replaced; the same one again adds none. */
	memcpy(k[0].pk, w->qpk[1], 32);
	assert_int_equal(vault_qkeys_import(v, k, 1, 1, &added), ITK_E_EXISTS);
	memcpy(k[0].pk, w->qpk[0], 32);
	assert_int_equal(vault_qkeys_import(v, k, 2, 1, &added), ITK_OK);
	assert_int_equal(added, 1);
	{
		vault_qkey cur;
		assert_int_equal(
		    vault_qkey_current(v, ITK_QUEUE_SURRENDER, &cur), ITK_OK);
		assert_memory_equal(cur.pk, w->qpk[0], 32);
		assert_int_equal(vault_qkey_current(v, ITK_QUEUE_OTHER, &cur),
				 ITK_E_NOT_FOUND);
	}
	sodium_memzero(s, sizeof(s));
	itk_buf_free(plain);
	vault_gone(v);
	world_free(w);
}

/* A copy record as docs/vault.md lays it out. */
static size_t
record(uint8_t *p, uint8_t ver, uint8_t q, uint32_t kv, uint32_t ctlen)
{
	size_t n = 0;

	p[n++] = ver;
	p[n++] = q;
	itk_store_u32(p + n, kv);
	n += 4;
	memset(p + n, 0xa5, ITK_WRAP_LEN + VAULT_COPY_NONCE);
	n += ITK_WRAP_LEN + VAULT_COPY_NONCE;
	itk_store_u32(p + n, ctlen);
	n += 4;
	memset(p + n, 0x5a, ctlen);
	return n + ctlen;
}

static void
copy_records_parsed_strictly(void **state)
{
	static uint8_t p[VAULT_COPY_FIXED + 2048 + 64];
	vault_copy_view cv;
	size_t n;

	(void)state;
	n = record(p, 1, ITK_QUEUE_OTHER, 5, 512 + VAULT_COPY_TAG);
	assert_int_equal(vault_copy_parse(p, n, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_OTHER);
	assert_int_equal(cv.version, 5);
	assert_int_equal(cv.ct_len, 512 + VAULT_COPY_TAG);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_copy_parse(p, i, &cv), ITK_OK);
	}
	assert_int_equal(vault_copy_parse(p, n + 1, &cv), ITK_E_FORMAT);
	n = record(p, 2, 0, 1, 512 + VAULT_COPY_TAG);
	assert_int_equal(vault_copy_parse(p, n, &cv), ITK_E_VERSION);
	n = record(p, 1, ITK_QUEUE_COUNT, 1, 512 + VAULT_COPY_TAG);
	assert_int_equal(vault_copy_parse(p, n, &cv), ITK_E_FORMAT);
	n = record(p, 1, 0, 0, 512 + VAULT_COPY_TAG);
	assert_int_equal(vault_copy_parse(p, n, &cv), ITK_E_FORMAT);
	n = record(p, 1, 0, 1, 600); /* not a bucket */
	assert_int_equal(vault_copy_parse(p, n, &cv), ITK_E_FORMAT);
	/* Case key records: the head alone. */
	n = record(p, 1, 1, 3, 0) - 4 - VAULT_COPY_NONCE;
	assert_int_equal(vault_case_key_parse(p, n, &cv), ITK_OK);
	assert_int_equal(cv.version, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(vault_case_key_parse(p, i, &cv), ITK_OK);
	}
	assert_int_equal(vault_case_key_parse(p, n + 1, &cv), ITK_E_FORMAT);
}

static void
copy_bound_to_its_submission(void **state)
{
	uint8_t id[VAULT_ID_LEN], other[VAULT_ID_LEN], mk[VAULT_MK_LEN];
	uint8_t nonce[VAULT_COPY_NONCE], rec[VAULT_COPY_FIXED + 600];
	uint8_t qpk[32], qsk[32], wrapped[ITK_WRAP_LEN];
	itk_buf *ct = itk_buf_new(1024), *plain = itk_buf_new(1024);
	vault_copy_view cv;
	vault_qsecret s;
	size_t n;

	(void)state;
	randombytes_buf(id, sizeof(id));
	memcpy(other, id, sizeof(id));
	other[0] ^= 1;
	assert_int_equal(itk_box_keypair(qpk, qsk), ITK_OK);
	assert_int_equal(
	    vault_copy_seal(id, (const uint8_t *)"hello", 5, mk, nonce, ct),
	    ITK_OK);
	assert_int_equal(itk_wrap_key(qpk, mk, wrapped), ITK_OK);
	n = record(rec, 1, 0, 1, (uint32_t)itk_buf_len(ct));
	memcpy(rec + 6, wrapped, ITK_WRAP_LEN);
	memcpy(rec + 6 + ITK_WRAP_LEN, nonce, VAULT_COPY_NONCE);
	memcpy(rec + VAULT_COPY_FIXED, itk_buf_ptr(ct), itk_buf_len(ct));
	assert_int_equal(vault_copy_parse(rec, n, &cv), ITK_OK);
	secret_of(&s, 0, 1, qpk, qsk);
	assert_int_equal(vault_copy_open(&cv, id, &s, 1, plain), ITK_OK);
	assert_memory_equal(itk_buf_ptr(plain), "hello", 5);
	itk_buf_reset(plain);
	/* Moved to another submission: the AD no longer matches. */
	assert_int_equal(vault_copy_open(&cv, other, &s, 1, plain),
			 ITK_E_DECRYPT);
	/* An altered ciphertext or wrap. */
	rec[n - 1] ^= 1;
	assert_int_equal(vault_copy_open(&cv, id, &s, 1, plain),
			 ITK_E_DECRYPT);
	rec[n - 1] ^= 1;
	rec[10] ^= 1;
	assert_int_equal(vault_copy_open(&cv, id, &s, 1, plain),
			 ITK_E_DECRYPT);
	assert_int_equal(itk_buf_len(plain), 0);
	/* Too large for any bucket. */
	itk_buf_reset(ct);
	{
		uint8_t *big = calloc(1, ITK_PAD_MAX);
		assert_non_null(big);
		assert_int_equal(
		    vault_copy_seal(id, big, ITK_PAD_MAX, mk, nonce, ct),
		    ITK_E_TOO_BIG);
		free(big);
	}
	sodium_memzero(&s, sizeof(s));
	itk_buf_free(ct);
	itk_buf_free(plain);
}

static itk_err
note_seen(const vault_note_view *n, void *arg)
{
	int *seen = arg;

	seen[n->sealed ? 1 : 0]++;
	if (!n->sealed) {
		assert_string_equal(n->text, "meet at dawn");
	} else {
		assert_string_equal(n->text, "");
	}
	return ITK_OK;
}

static void
case_keys_notes_and_rewrap(void **state)
{
	world *w = world_new();
	vault *v = vault_make();
	vault_qkey k[2];
	vault_qsecret s[2];
	vault_actor who = {7, "tri"};
	uint8_t id[VAULT_ID_LEN], dek[VAULT_MK_LEN], dek2[VAULT_MK_LEN];
	itk_buf *plain = itk_buf_new(ITK_PAD_MAX);
	vault_op *o = NULL;
	size_t moved, left;
	int seen[2] = {0, 0};

	(void)state;
	for (int i = 0; i < 2; i++) {
		k[i].queue = (itk_queue)i;
		k[i].version = 1;
		memcpy(k[i].pk, w->qpk[i], 32);
		secret_of(&s[i], (itk_queue)i, 1, w->qpk[i], w->qsk[i]);
	}
	assert_int_equal(vault_qkeys_import(v, k, 2, 1, NULL), ITK_OK);
	commit_with_copy(v, ITK_QUEUE_SURRENDER, "at the bridge", id, true);
	/* No data key yet, and none made without create. */
	assert_int_equal(vault_ops_case_key(v, id, s, 2, dek),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_op_begin(v, &o), ITK_OK);
	assert_int_equal(vault_op_case_key(o, id, s, 2, true, dek), ITK_OK);
	assert_int_equal(vault_op_note_dek(o, id, 1, &who, VAULT_NOTE_INTERNAL,
					   "meet at dawn", dek),
			 ITK_OK);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_case_key(v, id, s, 2, dek2), ITK_OK);
	assert_memory_equal(dek, dek2, sizeof(dek));
	/* The vault key alone: the note is listed, sealed; the key opens
	 * it; another queue's key does not open the data key. */
	assert_int_equal(vault_ops_notes(v, id, note_seen, seen), ITK_OK);
	assert_int_equal(seen[1], 1);
	assert_int_equal(vault_ops_notes_dek(v, id, dek, note_seen, seen),
			 ITK_OK);
	assert_int_equal(seen[0], 1);
	assert_int_equal(vault_ops_case_key(v, id, &s[1], 1, dek2),
			 ITK_E_KEY_UNKNOWN);
	dek2[0] = (uint8_t)(dek[0] ^ 1);
	assert_int_equal(vault_ops_notes_dek(v, id, dek2, note_seen, seen),
			 ITK_E_DECRYPT);
	/* Re-wrap without the surrender key: nothing moves. */
	assert_int_equal(vault_op_begin(v, &o), ITK_OK);
	assert_int_equal(vault_op_rewrap_case(o, id, ITK_QUEUE_CAPTIVITY,
					      &s[1], 1, &moved, &left),
			 ITK_OK);
	assert_int_equal(moved, 0);
	assert_int_equal(left, 2);
	vault_op_abort(o);
	/* With it: the copy and the data key follow to captivity. */
	assert_int_equal(vault_op_begin(v, &o), ITK_OK);
	assert_int_equal(vault_op_rewrap_case(o, id, ITK_QUEUE_CAPTIVITY, s, 2,
					      &moved, &left),
			 ITK_OK);
	assert_int_equal(moved, 2);
	assert_int_equal(left, 0);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(
	    vault_ops_copy_open(v, id, &s[0], 1, plain, NULL, NULL),
	    ITK_E_KEY_UNKNOWN);
	assert_int_equal(
	    vault_ops_copy_open(v, id, &s[1], 1, plain, NULL, NULL), ITK_OK);
	assert_memory_equal(itk_buf_ptr(plain), "at the bridge", 13);
	assert_int_equal(vault_ops_case_key(v, id, &s[1], 1, dek2), ITK_OK);
	assert_memory_equal(dek, dek2, sizeof(dek));
	sodium_memzero(dek, sizeof(dek));
	sodium_memzero(dek2, sizeof(dek2));
	sodium_memzero(s, sizeof(s));
	itk_buf_free(plain);
	vault_gone(v);
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(queue_key_names),
	    cmocka_unit_test(queue_key_file_round_trip),
	    cmocka_unit_test(grants_round_trip),
	    cmocka_unit_test(grants_refused),
	    cmocka_unit_test(copies_open_only_with_their_key),
	    cmocka_unit_test(copy_records_parsed_strictly),
	    cmocka_unit_test(copy_bound_to_its_submission),
	    cmocka_unit_test(case_keys_notes_and_rewrap),
	};

	if (itk_crypto_init() != ITK_OK) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
