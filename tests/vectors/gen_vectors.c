/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Generates the published test vectors tests/vectors/<name>.json from fixed
 * inputs, using the project's own code (common/crypto.c, passphrase.c,
 * proto/wire.c).  Every input is derived from a fixed label, so the output
 * is byte-for-byte stable; "gen_vectors --check DIR" regenerates them in
 * memory and compares with the committed files, so the vectors cannot rot.
 *
 *   gen_vectors DIR          write DIR/<name>.json
 *   gen_vectors --check DIR  exit 1 if any DIR/<name>.json differs
 *
 * Layout: one JSON object per file with "construction", "description",
 * other top-level facts, and "vectors": an array with one object per line
 * (tests/vectors/test_vectors.c relies on that layout; any JSON parser
 * reads the files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "file.h"
#include "intake.pb-c.h"
#include "passphrase.h"
#include "wire.h"

#define OUT_MAX (4u * 1024u * 1024u)

/* --------------------------------------------------------- JSON output */

typedef struct {
	itk_buf *b;
	int first_member; /* inside the current object */
	int first_vector;
	itk_err r; /* first error; later writes are skipped */
} jw;

static void
put(jw *w, const char *s)
{
	if (w->r == ITK_OK) {
		w->r = itk_buf_put_str(w->b, s);
	}
}

static void
key(jw *w, const char *k)
{
	put(w, w->first_member ? "" : ", ");
	w->first_member = 0;
	put(w, "\"");
	put(w, k);
	put(w, "\": ");
}

/* Values written here are ASCII without quotes or backslashes. */
static void
kv_str(jw *w, const char *k, const char *v)
{
	key(w, k);
	put(w, "\"");
	put(w, v);
	put(w, "\"");
}

static void
kv_u64(jw *w, const char *k, unsigned long long v)
{
	char num[32];

	key(w, k);
	snprintf(num, sizeof(num), "%llu", v);
	put(w, num);
}

static void
kv_hex(jw *w, const char *k, const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (h == NULL) {
		w->r = ITK_E_NOMEM;
		return;
	}
	itk_hex(h, p, n);
	kv_str(w, k, h);
	free(h);
}

static void
file_begin(jw *w, const char *construction, const char *description)
{
	w->first_vector = 1;
	w->first_member = 1;
	put(w, "{\n");
	kv_str(w, "construction", construction);
	put(w, ",\n");
	w->first_member = 1;
	kv_str(w, "description", description);
	put(w, ",\n");
}

/* A top-level member between the description and the vectors. */
static void
top_begin(jw *w)
{
	w->first_member = 1;
}

static void
top_end(jw *w)
{
	put(w, ",\n");
}

static void
vectors_begin(jw *w)
{
	put(w, "\"vectors\": [\n");
}

static void
vec_begin(jw *w)
{
	put(w, w->first_vector ? "{" : ",\n{");
	w->first_vector = 0;
	w->first_member = 1;
}

static void
vec_end(jw *w)
{
	put(w, "}");
}

/* Opens a nested object as the value of k. */
static void
obj_begin(jw *w, const char *k)
{
	key(w, k);
	put(w, "{");
	w->first_member = 1;
}

static void
obj_end(jw *w)
{
	put(w, "}");
	w->first_member = 0;
}

static void
file_end(jw *w)
{
	put(w, "\n]\n}\n");
}

/* ------------------------------------------------------- fixed inputs */

/* 32 bytes named by a label: SHA-256("intake-v1 test vector " label). */
static void
fixed32(uint8_t out[32], const char *label)
{
	crypto_hash_sha256_state st;
	static const char pre[] = "intake-v1 test vector ";

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)pre, sizeof(pre) - 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)label, strlen(label));
	crypto_hash_sha256_final(&st, out);
}

/* Message bytes for padding vectors: byte i is i mod 251. */
static void
pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)(i % 251);
	}
}

/*
 * crypto_box_seal with a chosen ephemeral key, so that the vector is
 * reproducible: sealed = epk || crypto_box_easy(m, nonce, rpk, esk) with
 * nonce = BLAKE2b-192(epk || rpk).  This is libsodium's construction
 * (crypto_box_seal.c); only the ephemeral key is fixed instead of random.
 */
static int
seal_fixed(uint8_t *sealed, const uint8_t *m, size_t mlen,
	   const uint8_t rpk[32], const uint8_t eseed[32], uint8_t epk[32],
	   uint8_t nonce[crypto_box_NONCEBYTES])
{
	uint8_t esk[32];
	crypto_generichash_state st;
	int rc = -1;

	if (crypto_box_seed_keypair(epk, esk, eseed) != 0) {
		goto out;
	}
	crypto_generichash_init(&st, NULL, 0, crypto_box_NONCEBYTES);
	crypto_generichash_update(&st, epk, 32);
	crypto_generichash_update(&st, rpk, 32);
	crypto_generichash_final(&st, nonce, crypto_box_NONCEBYTES);
	memcpy(sealed, epk, 32);
	rc = crypto_box_easy(sealed + 32, m, mlen, nonce, rpk, esk);
out:
	sodium_memzero(esk, sizeof(esk));
	return rc;
}

/* ------------------------------------------------------------ padding */

static itk_err
gen_padding(jw *w)
{
	static const size_t lens[] = {
	    0,          1,      100,    510,
	    511,        512,    2047,   2048,
	    8191,       8192,   32767,  32768,
	    131071,     131072, 100000, ITK_PAD_MAX - 1,
	    ITK_PAD_MAX};
	uint8_t *msg = malloc(ITK_PAD_MAX), *padded = malloc(ITK_PAD_MAX);
	uint8_t h[ITK_HASH_LEN];
	itk_err r = ITK_E_NOMEM;

	if (msg == NULL || padded == NULL) {
		goto out;
	}
	file_begin(w, "padding",
		   "ISO/IEC 7816-4 padding (sodium_pad) to the smallest "
		   "bucket strictly larger than the message. Message byte i "
		   "is i mod 251. padded = message || 0x80 || 0x00... up to "
		   "bucket bytes. Sealed length = bucket + 48. A message of "
		   "1048576 bytes or more has no bucket (too_big).");
	top_begin(w);
	key(w, "buckets");
	put(w, "[");
	for (size_t i = 0; i < ITK_PAD_BUCKETS; i++) {
		char num[32];

		snprintf(num, sizeof(num), "%s%zu", i ? ", " : "",
			 itk_pad_buckets[i]);
		put(w, num);
	}
	put(w, "]");
	top_end(w);
	vectors_begin(w);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], bucket = itk_pad_bucket(len), plen = 0;

		vec_begin(w);
		kv_u64(w, "message_len", len);
		if (bucket == 0) {
			kv_str(w, "result", "too_big");
			vec_end(w);
			continue;
		}
		pattern(msg, len);
		memcpy(padded, msg, len);
		if (sodium_pad(&plen, padded, len, bucket, bucket) != 0 ||
		    plen != bucket) {
			r = ITK_E_INTERNAL;
			goto out;
		}
		itk_sha256(h, padded, plen);
		kv_str(w, "result", "ok");
		kv_u64(w, "bucket", bucket);
		kv_u64(w, "sealed_len", bucket + ITK_SEAL_OVERHEAD);
		kv_hex(w, "padded_sha256", h, sizeof(h));
		if (bucket == itk_pad_buckets[0]) {
			kv_hex(w, "padded_hex", padded, plen);
		}
		vec_end(w);
	}
	file_end(w);
	r = w->r;
out:
	free(msg);
	free(padded);
	return r;
}

/* ------------------------------------------------------------ key ids */

static itk_err
gen_key_id(jw *w)
{
	file_begin(
	    w, "intake-key-id",
	    "key_id = first 4 bytes, big-endian, of SHA-256(\\\"intake-v1 "
	    "key id\\\" || 0x00 || public_key). public_key is the "
	    "X25519 key made by crypto_box_seed_keypair(seed).");
	vectors_begin(w);
	for (int i = 0; i < 3; i++) {
		uint8_t seed[32], pk[32], sk[32];
		char label[32], hex[9];
		uint8_t be[4];
		uint32_t id;

		snprintf(label, sizeof(label), "intake key %d", i);
		fixed32(seed, label);
		if (crypto_box_seed_keypair(pk, sk, seed) != 0) {
			return ITK_E_CRYPTO;
		}
		id = itk_intake_key_id(pk);
		itk_store_u32(be, id);
		itk_hex(hex, be, 4);
		vec_begin(w);
		kv_hex(w, "seed", seed, 32);
		kv_hex(w, "public_key", pk, 32);
		kv_str(w, "key_id_hex", hex);
		kv_u64(w, "key_id", id);
		vec_end(w);
		sodium_memzero(sk, sizeof(sk));
	}
	file_end(w);
	return w->r;
}

/* --------------------------------------------------------- signatures */

static itk_err
gen_signatures(jw *w)
{
	static const char *msgs[] = {"", "intake test message"};

	file_begin(w, "signature",
		   "Ed25519 (deterministic) over context || 0x00 || message. "
		   "Key pair = crypto_sign_seed_keypair(seed). A signature "
		   "made under one context never verifies under another.");
	vectors_begin(w);
	for (int c = 0; c < ITK_SIG_CTX_COUNT; c++) {
		for (size_t m = 0; m < 2; m++) {
			uint8_t seed[32], pk[32], sk[64], sig[ITK_SIG_LEN];
			const char *ctx = itk_sig_context((itk_sig_ctx)c);
			size_t mlen = strlen(msgs[m]), clen = strlen(ctx);
			uint8_t *in = malloc(clen + 1 + mlen + 1);
			itk_err r;

			if (in == NULL) {
				return ITK_E_NOMEM;
			}
			fixed32(seed, "signing key");
			if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
				free(in);
				return ITK_E_CRYPTO;
			}
			r = itk_sign((itk_sig_ctx)c, sk,
				     (const uint8_t *)msgs[m], mlen, sig);
			sodium_memzero(sk, sizeof(sk));
			if (r != ITK_OK) {
				free(in);
				return r;
			}
			memcpy(in, ctx, clen + 1);
			memcpy(in + clen + 1, msgs[m], mlen);
			vec_begin(w);
			kv_str(w, "context", ctx);
			kv_hex(w, "seed", seed, 32);
			kv_hex(w, "public_key", pk, 32);
			kv_hex(w, "message_hex", (const uint8_t *)msgs[m],
			       mlen);
			kv_hex(w, "signed_bytes_hex", in, clen + 1 + mlen);
			kv_hex(w, "signature", sig, sizeof(sig));
			vec_end(w);
			free(in);
		}
	}
	file_end(w);
	return w->r;
}

/* --------------------------------------------------------- passphrase */

static const itk_lang langs[] = {ITK_LANG_EN, ITK_LANG_RU, ITK_LANG_UK};
static const char *const lang_codes[] = {"en", "ru", "uk"};

static void
fixed_indices(uint16_t idx[ITK_PASSPHRASE_DATA_WORDS], size_t l, int n)
{
	uint8_t h[32];
	char label[64];
	size_t size = itk_passphrase_list_size(langs[l]);

	snprintf(label, sizeof(label), "passphrase %s %d", lang_codes[l], n);
	fixed32(h, label);
	for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
		idx[i] = (uint16_t)(((unsigned)h[2 * i] << 8 | h[2 * i + 1]) &
				    (size - 1));
	}
}

/* A typed variant of pp: upper case first letters, extra blanks. */
static void
messy(char *out, size_t outlen, const char *pp)
{
	size_t o = 0;
	int start = 1;

	if (o + 2 < outlen) {
		out[o++] = ' ';
		out[o++] = ' ';
	}
	for (const char *p = pp; *p != '\0' && o + 3 < outlen; p++) {
		if (*p == ' ') {
			out[o++] = ' ';
			out[o++] = ' ';
			start = 1;
			continue;
		}
		out[o++] = start ? (char)(*p - 'a' + 'A') : *p;
		start = 0;
	}
	out[o] = '\0';
}

static itk_err
gen_variant(jw *w, const char *typed, const char *expect)
{
	vec_begin(w);
	kv_str(w, "kind", "variant");
	kv_str(w, "typed", typed);
	kv_str(w, "result", expect);
	vec_end(w);
	return w->r;
}

static itk_err
gen_passphrase(jw *w)
{
	uint8_t salt[ITK_PASSPHRASE_SALT_LEN];
	itk_err r = ITK_OK;

	file_begin(
	    w, "passphrase",
	    "Passphrase -> identity. canonical = \\\"intake-v1 "
	    "passphrase\\\" || 0x00 || lang (2 ASCII) || 0x08 || 8 x "
	    "u16 BE word index. checksum word index = BE16(SHA-256("
	    "\\\"intake-v1 passphrase checksum\\\" || 0x00 || canonical)"
	    "[0:2]) mod list size. master = Argon2id13(canonical, salt, "
	    "opslimit, memlimit, 32). reply_seed = crypto_kdf(master, "
	    "id 1, ctx intakeid); (reply_pk, reply_sk) = "
	    "crypto_box_seed_keypair(reply_seed); mailbox_id = "
	    "crypto_kdf(master, id 2, ctx intakeid). Variants: what a "
	    "person may type and the expected result.");
	itk_passphrase_salt(salt);
	top_begin(w);
	obj_begin(w, "kdf");
	kv_str(w, "algorithm", "argon2id13");
	kv_u64(w, "opslimit", ITK_PASSPHRASE_OPSLIMIT);
	kv_u64(w, "memlimit", ITK_PASSPHRASE_MEMLIMIT);
	kv_hex(w, "salt", salt, sizeof(salt));
	kv_str(w, "salt_input", "intake-v1 passphrase salt");
	kv_u64(w, "master_len", ITK_PASSPHRASE_MASTER_LEN);
	kv_str(w, "kdf_context", ITK_PASSPHRASE_KDF_CTX);
	kv_u64(w, "subkey_reply", ITK_PASSPHRASE_SUBKEY_REPLY);
	kv_u64(w, "subkey_mailbox", ITK_PASSPHRASE_SUBKEY_MAILBOX);
	obj_end(w);
	top_end(w);
	top_begin(w);
	obj_begin(w, "wordlists");
	for (size_t l = 0; l < 3; l++) {
		obj_begin(w, lang_codes[l]);
		kv_u64(w, "size", itk_passphrase_list_size(langs[l]));
		kv_str(w, "sha256", itk_passphrase_list_sha256(langs[l]));
		obj_end(w);
	}
	obj_end(w);
	top_end(w);
	vectors_begin(w);
	for (size_t l = 0; l < 3 && r == ITK_OK; l++) {
		for (int n = 0; n < 2 && r == ITK_OK; n++) {
			uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
			char pp[ITK_PASSPHRASE_MAX],
			    typed[2 * ITK_PASSPHRASE_MAX];
			uint8_t canon[ITK_PASSPHRASE_CANON_LEN], master[32];
			uint8_t seed[32];
			itk_identity id;
			itk_lang got;
			char idxs[128];
			size_t o = 0;

			fixed_indices(idx, l, n);
			if ((r = itk_passphrase_from_indices(
				 langs[l], idx, pp, sizeof(pp))) != ITK_OK ||
			    (r = itk_passphrase_parse(pp, &got, canon)) !=
				ITK_OK ||
			    (r = itk_passphrase_kdf(canon, master)) !=
				ITK_OK ||
			    (r = itk_identity_from_master(master, &id)) !=
				ITK_OK) {
				break;
			}
			if (got != langs[l] ||
			    crypto_kdf_derive_from_key(
				seed, 32, ITK_PASSPHRASE_SUBKEY_REPLY,
				ITK_PASSPHRASE_KDF_CTX, master) != 0) {
				r = ITK_E_INTERNAL;
				break;
			}
			for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS;
			     i++) {
				o += (size_t)snprintf(
				    idxs + o, sizeof(idxs) - o, "%s%u",
				    i ? " " : "", (unsigned)idx[i]);
			}
			vec_begin(w);
			kv_str(w, "kind", "identity");
			kv_str(w, "lang", lang_codes[l]);
			kv_str(w, "indices", idxs);
			kv_str(w, "passphrase", pp);
			kv_hex(w, "canonical", canon, sizeof(canon));
			kv_hex(w, "master", master, sizeof(master));
			kv_hex(w, "reply_seed", seed, sizeof(seed));
			kv_hex(w, "reply_sk", id.reply_sk, ITK_SK_LEN);
			kv_hex(w, "reply_pk", id.reply_pk, ITK_PK_LEN);
			kv_hex(w, "mailbox_id", id.mailbox_id,
			       ITK_MAILBOX_ID_LEN);
			vec_end(w);
			itk_identity_wipe(&id);
			if (n == 0) {
				char *last;

				/* Same identity: case and blanks. */
				messy(typed, sizeof(typed), pp);
				gen_variant(w, typed, "ok");
				/* Checksum word replaced by its neighbour. */
				last = strrchr(pp, ' ');
				if (last != NULL) {
					uint8_t c2[ITK_PASSPHRASE_CANON_LEN];
					size_t ci = 0,
					       sz = itk_passphrase_list_size(
						   langs[l]);
					const char *cw;

					*last = '\0';
					while (ci < sz &&
					       strcmp(itk_passphrase_word(
							  langs[l], ci),
						      last + 1) != 0) {
						ci++;
					}
					cw = itk_passphrase_word(
					    langs[l], (ci + 1) % sz);
					snprintf(typed, sizeof(typed), "%s %s",
						 pp, cw);
					*last = ' ';
					gen_variant(w, typed,
						    itk_passphrase_parse(
							typed, NULL, c2) ==
							    ITK_E_CHECKSUM
							? "checksum"
							: "UNEXPECTED");
					/* First word misspelt. */
					snprintf(typed, sizeof(typed), "x%s",
						 pp);
					gen_variant(w, typed,
						    itk_passphrase_parse(
							typed, NULL, c2) ==
							    ITK_E_WORD
							? "word"
							: "UNEXPECTED");
					/* The checksum word missing. */
					snprintf(typed, sizeof(typed), "%.*s",
						 (int)(last - pp), pp);
					gen_variant(w, typed,
						    itk_passphrase_parse(
							typed, NULL, c2) ==
							    ITK_E_RANGE
							? "range"
							: "UNEXPECTED");
				}
			}
		}
	}
	if (r != ITK_OK) {
		return r;
	}
	file_end(w);
	return w->r;
}

/* --------------------------------------------------------- sealed box */

/* The InnerMessage sealed in the third sealed-box vector; its reply key
 * and mailbox id are those of the first English passphrase vector. */
static itk_err
inner_message(itk_buf *out)
{
	Intake__V1__InnerMessage m = INTAKE__V1__INNER_MESSAGE__INIT;
	Intake__V1__Field f = INTAKE__V1__FIELD__INIT;
	Intake__V1__Field *fields[1] = {&f};
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
	char pp[ITK_PASSPHRASE_MAX];
	itk_identity id;
	itk_err r;

	fixed_indices(idx, 0, 0);
	if ((r = itk_passphrase_from_indices(ITK_LANG_EN, idx, pp,
					     sizeof(pp))) != ITK_OK ||
	    (r = itk_passphrase_derive(pp, &id)) != ITK_OK) {
		return r;
	}
	m.version = 1;
	m.channel = INTAKE__V1__CHANNEL__CHANNEL_WEB;
	m.form_category = INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE;
	m.language = (char *)"en";
	m.text = (char *)"Test vector: I am asking about my brother.";
	f.name = (char *)"full_name";
	f.value = (char *)"Test Person";
	m.n_fields = 1;
	m.fields = fields;
	m.reply_public_key.data = id.reply_pk;
	m.reply_public_key.len = ITK_PK_LEN;
	m.mailbox_id.data = id.mailbox_id;
	m.mailbox_id.len = ITK_MAILBOX_ID_LEN;
	m.written_at = 1700000000;
	r = itk_wire_pack(&m.base, out);
	itk_identity_wipe(&id);
	return r;
}

static itk_err
gen_sealed(jw *w)
{
	itk_buf *pt = itk_buf_new(ITK_INNER_MAX);
	uint8_t *padded = malloc(ITK_PAD_MAX + ITK_SEAL_OVERHEAD);
	uint8_t *sealed = malloc(ITK_PAD_MAX + ITK_SEAL_OVERHEAD);
	itk_err r = ITK_E_NOMEM;

	if (pt == NULL || padded == NULL || sealed == NULL) {
		goto out;
	}
	file_begin(w, "sealed-box",
		   "sealed = crypto_box_seal(pad(plaintext), recipient_pk) = "
		   "ephemeral_pk || crypto_box_easy(padded, nonce, "
		   "recipient_pk, ephemeral_sk), nonce = BLAKE2b-192("
		   "ephemeral_pk || recipient_pk). crypto_box_seal draws the "
		   "ephemeral key at random; these vectors fix it "
		   "(crypto_box_seed_keypair(ephemeral_seed)) so the bytes "
		   "are reproducible. Open with recipient_sk, unpad, expect "
		   "plaintext. submission_id = SHA-256(sealed). Vectors with "
		   "result decrypt are altered and must not open.");
	vectors_begin(w);
	for (int v = 0; v < 4; v++) {
		uint8_t rseed[32], rpk[32], rsk[32], eseed[32], epk[32];
		uint8_t nonce[crypto_box_NONCEBYTES], sid[ITK_HASH_LEN];
		size_t bucket, plen = 0, slen;
		char label[32];

		itk_buf_reset(pt);
		switch (v) {
		case 0:
			r = ITK_OK;
			break;
		case 1:
		case 3:
			r = itk_buf_put_str(pt, "hello from a test vector");
			break;
		case 2:
			r = inner_message(pt);
			break;
		default:
			r = ITK_E_INTERNAL;
			break;
		}
		if (r != ITK_OK) {
			goto out;
		}
		fixed32(rseed, "recipient");
		snprintf(label, sizeof(label), "ephemeral %d", v);
		fixed32(eseed, label);
		if (crypto_box_seed_keypair(rpk, rsk, rseed) != 0) {
			r = ITK_E_CRYPTO;
			goto out;
		}
		bucket = itk_pad_bucket(itk_buf_len(pt));
		if (itk_buf_len(pt) > 0) { /* the empty vector has no bytes */
			memcpy(padded, itk_buf_ptr(pt), itk_buf_len(pt));
		}
		if (sodium_pad(&plen, padded, itk_buf_len(pt), bucket,
			       bucket) != 0 ||
		    seal_fixed(sealed, padded, plen, rpk, eseed, epk, nonce) !=
			0) {
			r = ITK_E_CRYPTO;
			goto out;
		}
		slen = plen + ITK_SEAL_OVERHEAD;
		if (v == 3) {
			/* One bit of the ciphertext flipped. */
			sealed[100] ^= 0x01;
		}
		itk_sha256(sid, sealed, slen);
		vec_begin(w);
		kv_hex(w, "recipient_seed", rseed, 32);
		kv_hex(w, "recipient_pk", rpk, 32);
		kv_hex(w, "recipient_sk", rsk, 32);
		kv_hex(w, "ephemeral_seed", eseed, 32);
		kv_hex(w, "ephemeral_pk", epk, 32);
		kv_hex(w, "nonce", nonce, sizeof(nonce));
		kv_hex(w, "plaintext", itk_buf_ptr(pt), itk_buf_len(pt));
		kv_u64(w, "bucket", bucket);
		kv_hex(w, "sealed", sealed, slen);
		kv_hex(w, "submission_id", sid, sizeof(sid));
		kv_str(w, "result", v == 3 ? "decrypt" : "ok");
		vec_end(w);
		sodium_memzero(rsk, sizeof(rsk));
	}
	file_end(w);
	r = w->r;
out:
	itk_buf_free(pt);
	free(padded);
	free(sealed);
	return r;
}

/* ----------------------------------------------------------- protobuf */

static itk_err
emit_pb(jw *w, const char *type, const ProtobufCMessage *m)
{
	itk_buf *b = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r;

	if (b == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_wire_pack(m, b)) == ITK_OK) {
		kv_hex(w, "encoding", itk_buf_ptr(b), itk_buf_len(b));
	}
	itk_buf_free(b);
	(void)type;
	return r;
}

/* Packs m, signs it under ctx with the fixed signing key, emits both. */
static itk_err
pack_and_sign(const ProtobufCMessage *m, itk_sig_ctx ctx, itk_buf *body,
	      uint8_t sig[ITK_SIG_LEN])
{
	uint8_t seed[32], pk[32], sk[64];
	itk_err r;

	fixed32(seed, "signing key");
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		return ITK_E_CRYPTO;
	}
	if ((r = itk_wire_pack(m, body)) == ITK_OK) {
		r = itk_sign(ctx, sk, itk_buf_ptr(body), itk_buf_len(body),
			     sig);
	}
	sodium_memzero(sk, sizeof(sk));
	return r;
}

static itk_err
gen_protobuf(jw *w)
{
	Intake__V1__Submission s = INTAKE__V1__SUBMISSION__INIT;
	Intake__V1__ProofOfWork pow = INTAKE__V1__PROOF_OF_WORK__INIT;
	Intake__V1__KeyBundleBody kb = INTAKE__V1__KEY_BUNDLE_BODY__INIT;
	Intake__V1__IntakeKey k0 = INTAKE__V1__INTAKE_KEY__INIT;
	Intake__V1__IntakeKey k1 = INTAKE__V1__INTAKE_KEY__INIT;
	Intake__V1__IntakeKey *keys[2] = {&k0, &k1};
	Intake__V1__KeyBundle bundle = INTAKE__V1__KEY_BUNDLE__INIT;
	Intake__V1__ReceiptBody rb = INTAKE__V1__RECEIPT_BODY__INIT;
	Intake__V1__Receipt rc = INTAKE__V1__RECEIPT__INIT;
	uint8_t seed[32], pk0[32], pk1[32], sk[64], spk[32], sealed[560];
	uint8_t sid[ITK_HASH_LEN], sig[ITK_SIG_LEN];
	itk_buf *body = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r = ITK_E_NOMEM;

	if (body == NULL) {
		return r;
	}
	file_begin(w, "protobuf",
		   "proto3 encodings (package intake.v1, proto/intake.proto) "
		   "of fixed messages, fields in field-number order as every "
		   "conforming encoder writes them. Bytes fields are given as "
		   "hex. KeyBundle.signature and Receipt.signature are "
		   "Ed25519 by the signing key of signature.json over the "
		   "context string, 0x00, then the body bytes.");
	vectors_begin(w);

	/* Submission. */
	fixed32(seed, "intake key 0");
	if (crypto_box_seed_keypair(pk0, sealed, seed) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	fixed32(seed, "intake key 1");
	if (crypto_box_seed_keypair(pk1, sealed, seed) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	sodium_memzero(sealed, sizeof(sealed));
	for (size_t i = 0; i < sizeof(sealed); i++) {
		sealed[i] = (uint8_t)(i % 251);
	}
	s.version = 1;
	s.intake_key_id = itk_intake_key_id(pk0);
	s.sealed.data = sealed;
	s.sealed.len = sizeof(sealed);
	pow.challenge.data = (uint8_t *)"challenge";
	pow.challenge.len = 9;
	pow.solution.data = (uint8_t *)"solution";
	pow.solution.len = 8;
	s.pow = &pow;
	vec_begin(w);
	kv_str(w, "message", "Submission");
	obj_begin(w, "fields");
	kv_u64(w, "version", s.version);
	kv_u64(w, "intake_key_id", s.intake_key_id);
	kv_str(w, "sealed", "bytes i mod 251, 560 bytes");
	kv_hex(w, "pow.challenge", pow.challenge.data, pow.challenge.len);
	kv_hex(w, "pow.solution", pow.solution.data, pow.solution.len);
	obj_end(w);
	if ((r = emit_pb(w, "Submission", &s.base)) != ITK_OK) {
		goto out;
	}
	vec_end(w);

	/* KeyBundleBody and the signed KeyBundle. */
	fixed32(seed, "signing key");
	if (crypto_sign_seed_keypair(spk, sk, seed) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	sodium_memzero(sk, sizeof(sk));
	k0.key_id = itk_intake_key_id(pk0);
	k0.public_key.data = pk0;
	k0.public_key.len = 32;
	k0.not_before = 1700000000;
	k0.not_after = 1731536000;
	k1.key_id = itk_intake_key_id(pk1);
	k1.public_key.data = pk1;
	k1.public_key.len = 32;
	k1.not_before = 1690000000;
	k1.not_after = 1701000000;
	kb.version = 1;
	kb.origin = (char *)"intake.example/log";
	kb.issued_at = 1700000100;
	kb.n_intake_keys = 2;
	kb.intake_keys = keys;
	kb.receipt_public_key.data = spk;
	kb.receipt_public_key.len = 32;
	kb.log_public_key.data = spk;
	kb.log_public_key.len = 32;
	kb.org_public_key.data = spk;
	kb.org_public_key.len = 32;
	kb.serial = 7;
	vec_begin(w);
	kv_str(w, "message", "KeyBundleBody");
	obj_begin(w, "fields");
	kv_u64(w, "version", kb.version);
	kv_str(w, "origin", kb.origin);
	kv_u64(w, "issued_at", kb.issued_at);
	kv_hex(w, "intake_keys.0.public_key", pk0, 32);
	kv_u64(w, "intake_keys.0.key_id", k0.key_id);
	kv_u64(w, "intake_keys.0.not_before", k0.not_before);
	kv_u64(w, "intake_keys.0.not_after", k0.not_after);
	kv_hex(w, "intake_keys.1.public_key", pk1, 32);
	kv_u64(w, "intake_keys.1.key_id", k1.key_id);
	kv_u64(w, "intake_keys.1.not_before", k1.not_before);
	kv_u64(w, "intake_keys.1.not_after", k1.not_after);
	kv_hex(w, "receipt_public_key", spk, 32);
	kv_hex(w, "log_public_key", spk, 32);
	kv_hex(w, "org_public_key", spk, 32);
	kv_u64(w, "serial", kb.serial);
	obj_end(w);
	if ((r = emit_pb(w, "KeyBundleBody", &kb.base)) != ITK_OK) {
		goto out;
	}
	vec_end(w);
	if ((r = pack_and_sign(&kb.base, ITK_SIG_KEY_BUNDLE, body, sig)) !=
	    ITK_OK) {
		goto out;
	}
	bundle.body.data = itk_buf_mutable_ptr(body);
	bundle.body.len = itk_buf_len(body);
	bundle.signature.data = sig;
	bundle.signature.len = sizeof(sig);
	vec_begin(w);
	kv_str(w, "message", "KeyBundle");
	obj_begin(w, "fields");
	kv_str(w, "body", "the KeyBundleBody encoding above");
	kv_hex(w, "signature", sig, sizeof(sig));
	obj_end(w);
	kv_str(w, "signature_context", itk_sig_context(ITK_SIG_KEY_BUNDLE));
	if ((r = emit_pb(w, "KeyBundle", &bundle.base)) != ITK_OK) {
		goto out;
	}
	vec_end(w);

	/* ReceiptBody and the signed Receipt. */
	itk_sha256(sid, sealed, sizeof(sealed));
	rb.version = 1;
	rb.submission_id.data = sid;
	rb.submission_id.len = sizeof(sid);
	rb.accepted_at = 1700000200;
	rb.intake_key_id = k0.key_id;
	rb.origin = (char *)"intake.example/log";
	vec_begin(w);
	kv_str(w, "message", "ReceiptBody");
	obj_begin(w, "fields");
	kv_u64(w, "version", rb.version);
	kv_hex(w, "submission_id", sid, sizeof(sid));
	kv_u64(w, "accepted_at", rb.accepted_at);
	kv_u64(w, "intake_key_id", rb.intake_key_id);
	kv_str(w, "origin", rb.origin);
	obj_end(w);
	if ((r = emit_pb(w, "ReceiptBody", &rb.base)) != ITK_OK) {
		goto out;
	}
	vec_end(w);
	itk_buf_reset(body);
	if ((r = pack_and_sign(&rb.base, ITK_SIG_RECEIPT, body, sig)) !=
	    ITK_OK) {
		goto out;
	}
	rc.body.data = itk_buf_mutable_ptr(body);
	rc.body.len = itk_buf_len(body);
	rc.signature.data = sig;
	rc.signature.len = sizeof(sig);
	vec_begin(w);
	kv_str(w, "message", "Receipt");
	obj_begin(w, "fields");
	kv_str(w, "body", "the ReceiptBody encoding above");
	kv_hex(w, "signature", sig, sizeof(sig));
	obj_end(w);
	kv_str(w, "signature_context", itk_sig_context(ITK_SIG_RECEIPT));
	if ((r = emit_pb(w, "Receipt", &rc.base)) != ITK_OK) {
		goto out;
	}
	vec_end(w);

	/* The InnerMessage of sealed_box.json vector 2. */
	itk_buf_reset(body);
	if ((r = inner_message(body)) != ITK_OK) {
		goto out;
	}
	vec_begin(w);
	kv_str(w, "message", "InnerMessage");
	obj_begin(w, "fields");
	kv_u64(w, "version", 1);
	kv_u64(w, "channel", INTAKE__V1__CHANNEL__CHANNEL_WEB);
	kv_u64(w, "form_category", INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE);
	kv_str(w, "language", "en");
	kv_str(w, "text", "Test vector: I am asking about my brother.");
	kv_str(w, "fields.0.name", "full_name");
	kv_str(w, "fields.0.value", "Test Person");
	kv_str(w, "reply_public_key", "reply_pk of passphrase.json en #0");
	kv_str(w, "mailbox_id", "mailbox_id of passphrase.json en #0");
	kv_u64(w, "written_at", 1700000000);
	obj_end(w);
	kv_hex(w, "encoding", itk_buf_ptr(body), itk_buf_len(body));
	vec_end(w);
	file_end(w);
	r = w->r;
out:
	sodium_memzero(sk, sizeof(sk));
	itk_buf_free(body);
	return r;
}

/* --------------------------------------------------------------- main */

typedef struct {
	const char *name;
	itk_err (*gen)(jw *w);
} vector_file;

static const vector_file files[] = {
    {"padding", gen_padding},      {"key_id", gen_key_id},
    {"signature", gen_signatures}, {"passphrase", gen_passphrase},
    {"sealed_box", gen_sealed},    {"protobuf", gen_protobuf},
};

/* Compares b with the file at path; 0 when identical. */
static int
same_as_file(const itk_buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n = itk_buf_len(b), got;
	uint8_t *p;
	int diff = 1;

	if (f == NULL) {
		return 1;
	}
	if ((p = malloc(n + 1)) != NULL) {
		got = fread(p, 1, n + 1, f);
		diff = got != n || memcmp(p, itk_buf_ptr(b), n) != 0;
		free(p);
	}
	fclose(f);
	return diff;
}

int
main(int argc, char **argv)
{
	int check = argc == 3 && strcmp(argv[1], "--check") == 0;
	const char *dir = check ? argv[2] : (argc == 2 ? argv[1] : NULL);
	int failed = 0;

	if (dir == NULL) {
		fprintf(stderr, "usage: gen_vectors [--check] DIR\n");
		return 2;
	}
	if (itk_crypto_init() != ITK_OK) {
		return 2;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		jw w = {.b = itk_buf_new(OUT_MAX), .r = ITK_OK};
		char path[4096];
		itk_err r;

		if (w.b == NULL) {
			return 2;
		}
		snprintf(path, sizeof(path), "%s/%s.json", dir, files[i].name);
		r = files[i].gen(&w);
		if (r == ITK_OK && check && same_as_file(w.b, path) != 0) {
			fprintf(stderr, "%s: differs from the generator\n",
				path);
			failed++;
		} else if (r == ITK_OK && !check) {
			r = itk_file_write_atomic(path, itk_buf_ptr(w.b),
						  itk_buf_len(w.b), 0644, 0);
		}
		if (r != ITK_OK) {
			fprintf(stderr, "%s: %s\n", path, itk_strerror(r));
			failed++;
		} else {
			printf("%s %s\n", check ? "checked" : "wrote", path);
		}
		itk_buf_free(w.b);
	}
	printf("%zu passed, %d failed\n",
	       sizeof(files) / sizeof(files[0]) - (size_t)failed, failed);
	return failed ? 1 : 0;
}
