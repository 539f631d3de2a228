/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks the C code against the committed vectors tests/vectors/<name>.json.
 * The files are generator output with one vector object per line
 * (gen_vectors.c; the "vectors-uptodate" test keeps them so), which is all
 * the tiny field extractor below relies on: values are hex, ASCII without
 * quotes, or unsigned integers, and every key appears once per line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "file.h"
#include "passphrase.h"
#include "wire.h"

#define FILE_MAX (4u * 1024u * 1024u)
#define VAL_MAX  (4u * 1024u * 1024u)

typedef struct {
	itk_buf *file;
	size_t off; /* next line */
	char *line; /* current line, NUL-terminated copy */
} vec_file;

static void
vf_open(vec_file *vf, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.json", VECTORS_DIR, name);
	memset(vf, 0, sizeof(*vf));
	assert_int_equal(itk_file_read(path, FILE_MAX, &vf->file), ITK_OK);
}

/* Advances to the next vector line; false at the end. */
static bool
vf_next(vec_file *vf)
{
	const char *p = (const char *)itk_buf_ptr(vf->file);
	size_t len = itk_buf_len(vf->file);

	free(vf->line);
	vf->line = NULL;
	while (vf->off < len) {
		const char *nl = memchr(p + vf->off, '\n', len - vf->off);
		size_t end = nl ? (size_t)(nl - p) : len, n = end - vf->off;
		const char *s = p + vf->off;

		vf->off = end + 1;
		if (n >= 2 && s[0] == '{' && s[1] == '"') {
			vf->line = malloc(n + 1);
			assert_non_null(vf->line);
			memcpy(vf->line, s, n);
			vf->line[n] = '\0';
			return true;
		}
	}
	return false;
}

static void
vf_close(vec_file *vf)
{
	free(vf->line);
	itk_buf_free(vf->file);
}

/* The raw text of key's value, or NULL; *n its length.  Strings are
 * returned without quotes. */
static const char *
field(const char *line, const char *key, size_t *n)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	if ((p = strstr(line, pat)) == NULL) {
		return NULL;
	}
	p += strlen(pat);
	if (*p == '"') {
		p++;
		e = strchr(p, '"');
	} else {
		e = p + strspn(p, "0123456789");
	}
	assert_non_null(e);
	*n = (size_t)(e - p);
	return p;
}

/* The string value of key, in a new NUL-terminated copy (caller frees). */
static char *
str(const char *line, const char *key)
{
	size_t n;
	const char *v = field(line, key, &n);
	char *s;

	assert_non_null(v);
	s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, v, n);
	s[n] = '\0';
	return s;
}

static bool
str_is(const char *line, const char *key, const char *want)
{
	char *s = str(line, key);
	bool eq = strcmp(s, want) == 0;

	free(s);
	return eq;
}

static uint64_t
num(const char *line, const char *key)
{
	size_t n;
	const char *v = field(line, key, &n);
	uint64_t x = 0;

	assert_non_null(v);
	assert_true(n > 0 && n < 20);
	for (size_t i = 0; i < n; i++) {
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	return x;
}

/* Hex value of key decoded into a new buffer (caller frees). */
static itk_buf *
hexbuf(const char *line, const char *key)
{
	size_t n;
	const char *v = field(line, key, &n);
	itk_buf *b = itk_buf_new(VAL_MAX);
	uint8_t *dst;

	assert_non_null(v);
	assert_non_null(b);
	assert_int_equal(n % 2, 0);
	assert_int_equal(itk_buf_reserve(b, n / 2, &dst), ITK_OK);
	if (n > 0) {
		assert_int_equal(itk_unhex(dst, n / 2, v, n), ITK_OK);
	}
	return b;
}

/* Exactly len bytes of hex into out. */
static void
hexfix(const char *line, const char *key, uint8_t *out, size_t len)
{
	size_t n;
	const char *v = field(line, key, &n);

	assert_non_null(v);
	assert_int_equal(itk_unhex(out, len, v, n), ITK_OK);
}

static int
setup(void **state)
{
	(void)state;
	return itk_crypto_init() == ITK_OK ? 0 : -1;
}

/* ------------------------------------------------------------- tests */

static void
padding_buckets(void **state)
{
	vec_file vf;
	int count = 0;
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];

	(void)state;
	crypto_box_keypair(pk, sk);
	vf_open(&vf, "padding");
	while (vf_next(&vf)) {
		size_t len = num(vf.line, "message_len");
		itk_buf *sealed = itk_buf_new(ITK_BUF_SIZE_MAX);
		uint8_t *msg = malloc(len + 1);

		assert_non_null(msg);
		for (size_t i = 0; i < len; i++) {
			msg[i] = (uint8_t)(i % 251);
		}
		if (str_is(vf.line, "result", "too_big")) {
			assert_int_equal(itk_pad_bucket(len), 0);
			assert_int_equal(itk_seal(pk, msg, len, sealed),
					 ITK_E_TOO_BIG);
		} else {
			itk_buf *plain = itk_buf_new(ITK_BUF_SIZE_MAX);

			assert_int_equal(itk_pad_bucket(len),
					 num(vf.line, "bucket"));
			assert_true(
			    itk_sealed_len_ok(num(vf.line, "sealed_len")));
			assert_int_equal(itk_seal(pk, msg, len, sealed),
					 ITK_OK);
			assert_int_equal(itk_buf_len(sealed),
					 num(vf.line, "sealed_len"));
			assert_int_equal(itk_open(pk, sk, itk_buf_ptr(sealed),
						  itk_buf_len(sealed), plain),
					 ITK_OK);
			assert_int_equal(itk_buf_len(plain), len);
			if (len > 0) {
				assert_memory_equal(itk_buf_ptr(plain), msg,
						    len);
			}
			itk_buf_free(plain);
		}
		free(msg);
		itk_buf_free(sealed);
		count++;
	}
	vf_close(&vf);
	assert_true(count >= 10);
}

static void
key_ids(void **state)
{
	vec_file vf;
	int count = 0;

	(void)state;
	vf_open(&vf, "key_id");
	while (vf_next(&vf)) {
		uint8_t seed[32], pk[32], sk[32], want[32];

		hexfix(vf.line, "seed", seed, 32);
		hexfix(vf.line, "public_key", want, 32);
		assert_int_equal(crypto_box_seed_keypair(pk, sk, seed), 0);
		assert_memory_equal(pk, want, 32);
		assert_int_equal(itk_intake_key_id(pk),
				 num(vf.line, "key_id"));
		count++;
	}
	vf_close(&vf);
	assert_int_equal(count, 3);
}

static void
signatures(void **state)
{
	vec_file vf;
	int count = 0;

	(void)state;
	vf_open(&vf, "signature");
	while (vf_next(&vf)) {
		uint8_t seed[32], pk[32], sk[64], want_pk[32];
		uint8_t sig[ITK_SIG_LEN], want[ITK_SIG_LEN];
		itk_buf *msg = hexbuf(vf.line, "message_hex");
		int ctx = -1;

		for (int c = 0; c < ITK_SIG_CTX_COUNT; c++) {
			if (str_is(vf.line, "context",
				   itk_sig_context((itk_sig_ctx)c))) {
				ctx = c;
			}
		}
		assert_true(ctx >= 0);
		hexfix(vf.line, "seed", seed, 32);
		hexfix(vf.line, "public_key", want_pk, 32);
		hexfix(vf.line, "signature", want, sizeof(want));
		assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
		assert_memory_equal(pk, want_pk, 32);
		assert_int_equal(itk_sign((itk_sig_ctx)ctx, sk,
					  itk_buf_ptr(msg), itk_buf_len(msg),
					  sig),
				 ITK_OK);
		assert_memory_equal(sig, want, sizeof(sig));
		for (int c = 0; c < ITK_SIG_CTX_COUNT; c++) {
			assert_int_equal(itk_verify((itk_sig_ctx)c, pk,
						    itk_buf_ptr(msg),
						    itk_buf_len(msg), want),
					 c == ctx ? ITK_OK : ITK_E_VERIFY);
		}
		want[0] ^= 0x40;
		assert_int_equal(itk_verify((itk_sig_ctx)ctx, pk,
					    itk_buf_ptr(msg), itk_buf_len(msg),
					    want),
				 ITK_E_VERIFY);
		itk_buf_free(msg);
		count++;
	}
	vf_close(&vf);
	assert_int_equal(count, 2 * ITK_SIG_CTX_COUNT);
}

static itk_lang
lang_named(const char *line)
{
	if (str_is(line, "lang", "ru")) {
		return ITK_LANG_RU;
	}
	if (str_is(line, "lang", "uk")) {
		return ITK_LANG_UK;
	}
	assert_true(str_is(line, "lang", "en"));
	return ITK_LANG_EN;
}

static void
passphrase_identities(void **state)
{
	vec_file vf;
	int identities = 0, variants = 0;
	uint8_t last_canon[ITK_PASSPHRASE_CANON_LEN] = {0};
	const itk_lang langs[] = {ITK_LANG_EN, ITK_LANG_RU, ITK_LANG_UK};
	char want[128];

	(void)state;
	vf_open(&vf, "passphrase");
	/* The lists compiled in are the lists the vectors were made from. */
	for (size_t l = 0; l < 3; l++) {
		snprintf(want, sizeof(want), "\"sha256\": \"%s\"",
			 itk_passphrase_list_sha256(langs[l]));
		assert_non_null(
		    strstr((const char *)itk_buf_ptr(vf.file), want));
	}
	while (vf_next(&vf)) {
		uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
		char *pp;

		if (str_is(vf.line, "kind", "identity")) {
			uint8_t want_canon[ITK_PASSPHRASE_CANON_LEN];
			uint8_t master[32], want_master[32];
			uint8_t pk[32], sk[32], mb[32];
			uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
			char built[ITK_PASSPHRASE_MAX], *idxs, *p;
			itk_lang lang = lang_named(vf.line), got;
			itk_identity id;

			pp = str(vf.line, "passphrase");
			idxs = str(vf.line, "indices");
			p = idxs;
			for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS;
			     i++) {
				unsigned v = 0;

				while (*p >= '0' && *p <= '9') {
					v = v * 10 + (unsigned)(*p++ - '0');
				}
				if (*p == ' ') {
					p++;
				}
				idx[i] = (uint16_t)v;
			}
			assert_int_equal(itk_passphrase_from_indices(
					     lang, idx, built, sizeof(built)),
					 ITK_OK);
			assert_string_equal(built, pp);
			hexfix(vf.line, "canonical", want_canon,
			       sizeof(want_canon));
			assert_int_equal(itk_passphrase_parse(pp, &got, canon),
					 ITK_OK);
			assert_int_equal(got, lang);
			assert_memory_equal(canon, want_canon, sizeof(canon));
			hexfix(vf.line, "master", want_master, 32);
			assert_int_equal(itk_passphrase_kdf(canon, master),
					 ITK_OK);
			assert_memory_equal(master, want_master, 32);
			hexfix(vf.line, "reply_pk", pk, 32);
			hexfix(vf.line, "reply_sk", sk, 32);
			hexfix(vf.line, "mailbox_id", mb, 32);
			assert_int_equal(itk_identity_from_master(master, &id),
					 ITK_OK);
			assert_memory_equal(id.reply_pk, pk, 32);
			assert_memory_equal(id.reply_sk, sk, 32);
			assert_memory_equal(id.mailbox_id, mb, 32);
			memcpy(last_canon, canon, sizeof(canon));
			itk_identity_wipe(&id);
			free(idxs);
			identities++;
		} else {
			itk_err want_r = ITK_OK, r;

			pp = str(vf.line, "typed");
			if (str_is(vf.line, "result", "checksum")) {
				want_r = ITK_E_CHECKSUM;
			} else if (str_is(vf.line, "result", "word")) {
				want_r = ITK_E_WORD;
			} else if (str_is(vf.line, "result", "range")) {
				want_r = ITK_E_RANGE;
			} else {
				assert_true(str_is(vf.line, "result", "ok"));
			}
			r = itk_passphrase_parse(pp, NULL, canon);
			assert_int_equal(r, want_r);
			if (r == ITK_OK) {
				/* Same canonical bytes => same identity. */
				assert_memory_equal(canon, last_canon,
						    sizeof(canon));
			}
			variants++;
		}
		free(pp);
	}
	vf_close(&vf);
	assert_int_equal(identities, 6);
	assert_int_equal(variants, 12);
}

static void
sealed_boxes(void **state)
{
	vec_file vf;
	int ok = 0, bad = 0;

	(void)state;
	vf_open(&vf, "sealed_box");
	while (vf_next(&vf)) {
		uint8_t pk[32], sk[32], sid[32], want_sid[32];
		itk_buf *sealed = hexbuf(vf.line, "sealed");
		itk_buf *pt = hexbuf(vf.line, "plaintext");
		itk_buf *out = itk_buf_new(ITK_BUF_SIZE_MAX);

		hexfix(vf.line, "recipient_pk", pk, 32);
		hexfix(vf.line, "recipient_sk", sk, 32);
		hexfix(vf.line, "submission_id", want_sid, 32);
		itk_sha256(sid, itk_buf_ptr(sealed), itk_buf_len(sealed));
		assert_memory_equal(sid, want_sid, 32);
		assert_int_equal(itk_buf_len(sealed),
				 num(vf.line, "bucket") + ITK_SEAL_OVERHEAD);
		if (str_is(vf.line, "result", "ok")) {
			assert_int_equal(itk_open(pk, sk, itk_buf_ptr(sealed),
						  itk_buf_len(sealed), out),
					 ITK_OK);
			assert_int_equal(itk_buf_len(out), itk_buf_len(pt));
			if (itk_buf_len(pt) > 0) {
				assert_memory_equal(itk_buf_ptr(out),
						    itk_buf_ptr(pt),
						    itk_buf_len(pt));
			}
			ok++;
		} else {
			assert_int_equal(itk_open(pk, sk, itk_buf_ptr(sealed),
						  itk_buf_len(sealed), out),
					 ITK_E_DECRYPT);
			assert_int_equal(itk_buf_len(out), 0);
			bad++;
		}
		itk_buf_free(sealed);
		itk_buf_free(pt);
		itk_buf_free(out);
	}
	vf_close(&vf);
	assert_int_equal(ok, 3);
	assert_int_equal(bad, 1);
}

/* Decodes enc as the named message, re-packs it and expects the same
 * bytes; returns the decoded message (caller frees with itk_wire_free). */
static void *
decode_named(const char *type, const itk_buf *enc)
{
	const uint8_t *p = itk_buf_ptr(enc);
	size_t n = itk_buf_len(enc);
	itk_buf *again = itk_buf_new(ITK_BUF_SIZE_MAX);
	void *m = NULL;
	itk_err r = ITK_E_INTERNAL;

	if (strcmp(type, "Submission") == 0) {
		r = itk_wire_submission_decode(p, n, (itk_pb_submission **)&m);
	} else if (strcmp(type, "KeyBundleBody") == 0) {
		r = itk_wire_key_bundle_body_decode(
		    p, n, (itk_pb_key_bundle_body **)&m);
	} else if (strcmp(type, "KeyBundle") == 0) {
		r = itk_wire_key_bundle_decode(p, n, (itk_pb_key_bundle **)&m);
	} else if (strcmp(type, "ReceiptBody") == 0) {
		r = itk_wire_receipt_body_decode(p, n,
						 (itk_pb_receipt_body **)&m);
	} else if (strcmp(type, "Receipt") == 0) {
		r = itk_wire_receipt_decode(p, n, (itk_pb_receipt **)&m);
	} else if (strcmp(type, "InnerMessage") == 0) {
		r = itk_wire_inner_decode(p, n, (itk_pb_inner **)&m);
	}
	assert_int_equal(r, ITK_OK);
	assert_int_equal(itk_wire_pack((const ProtobufCMessage *)m, again),
			 ITK_OK);
	assert_int_equal(itk_buf_len(again), n);
	assert_memory_equal(itk_buf_ptr(again), p, n);
	itk_buf_free(again);
	return m;
}

static void
protobuf_encodings(void **state)
{
	vec_file vf, sv;
	uint8_t spk[32];
	int count = 0;

	(void)state;
	/* The signing key of signature.json signs the bundle and receipt. */
	vf_open(&sv, "signature");
	assert_true(vf_next(&sv));
	hexfix(sv.line, "public_key", spk, 32);
	vf_close(&sv);

	vf_open(&vf, "protobuf");
	while (vf_next(&vf)) {
		char *type = str(vf.line, "message");
		itk_buf *enc = hexbuf(vf.line, "encoding");
		void *m = decode_named(type, enc);

		if (strcmp(type, "Submission") == 0) {
			itk_pb_submission *s = m;

			assert_int_equal(s->intake_key_id,
					 num(vf.line, "intake_key_id"));
			assert_int_equal(s->sealed.len, 560);
		} else if (strcmp(type, "KeyBundleBody") == 0) {
			itk_pb_key_bundle_body *b = m;

			assert_int_equal(b->n_intake_keys, 2);
			assert_int_equal(b->serial, num(vf.line, "serial"));
			assert_string_equal(b->origin, "intake.example/log");
		} else if (strcmp(type, "KeyBundle") == 0) {
			itk_pb_key_bundle *b = m;

			assert_int_equal(b->signature.len, ITK_SIG_LEN);
			assert_int_equal(itk_verify(ITK_SIG_KEY_BUNDLE, spk,
						    b->body.data, b->body.len,
						    b->signature.data),
					 ITK_OK);
			assert_int_equal(itk_verify(ITK_SIG_RECEIPT, spk,
						    b->body.data, b->body.len,
						    b->signature.data),
					 ITK_E_VERIFY);
		} else if (strcmp(type, "ReceiptBody") == 0) {
			itk_pb_receipt_body *b = m;

			assert_int_equal(b->accepted_at,
					 num(vf.line, "accepted_at"));
			assert_int_equal(b->submission_id.len, 32);
		} else if (strcmp(type, "Receipt") == 0) {
			itk_pb_receipt *b = m;

			assert_int_equal(itk_verify(ITK_SIG_RECEIPT, spk,
						    b->body.data, b->body.len,
						    b->signature.data),
					 ITK_OK);
			assert_int_equal(itk_verify(ITK_SIG_KEY_BUNDLE, spk,
						    b->body.data, b->body.len,
						    b->signature.data),
					 ITK_E_VERIFY);
		} else if (strcmp(type, "InnerMessage") == 0) {
			itk_pb_inner *im = m;

			assert_string_equal(im->language, "en");
			assert_int_equal(im->reply_public_key.len, 32);
		}
		/* Truncated by one byte: must not decode as the same thing. */
		if (itk_buf_len(enc) > 1) {
			void *t = NULL;
			itk_err r = itk_wire_receipt_body_decode(
			    itk_buf_ptr(enc), itk_buf_len(enc) - 1,
			    (itk_pb_receipt_body **)&t);

			if (strcmp(type, "ReceiptBody") == 0) {
				assert_int_not_equal(r, ITK_OK);
			}
			itk_wire_free(t);
		}
		itk_wire_free(m);
		itk_buf_free(enc);
		free(type);
		count++;
	}
	vf_close(&vf);
	assert_int_equal(count, 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(padding_buckets),
	    cmocka_unit_test(key_ids),
	    cmocka_unit_test(signatures),
	    cmocka_unit_test(passphrase_identities),
	    cmocka_unit_test(sealed_boxes),
	    cmocka_unit_test(protobuf_encodings),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
