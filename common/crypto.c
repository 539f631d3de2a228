/* SPDX-License-Identifier: Apache-2.0 */
#include "crypto.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sha256.h"

const size_t itk_pad_buckets[ITK_PAD_BUCKETS] = {
    512, 2048, 8192, 32768, 131072, ITK_PAD_MAX,
};

static const char *const sig_contexts[ITK_SIG_CTX_COUNT] = {
    [ITK_SIG_KEY_BUNDLE] = "intake-v1 key-bundle",
    [ITK_SIG_RECEIPT] = "intake-v1 receipt",
    [ITK_SIG_OPERATOR] = "intake-v1 operator-request",
    [ITK_SIG_EXPORT] = "intake-v1 case-export",
    [ITK_SIG_QUEUE_KEYS] = "intake-v1 queue-keys",
};

itk_err
itk_crypto_init(void)
{
	return sodium_init() < 0 ? ITK_E_CRYPTO : ITK_OK;
}

size_t
itk_pad_bucket(size_t len)
{
	for (size_t i = 0; i < ITK_PAD_BUCKETS; i++) {
		/* sodium_pad always adds at least the 0x80 marker byte. */
		if (len < itk_pad_buckets[i]) {
			return itk_pad_buckets[i];
		}
	}
	return 0;
}

bool
itk_sealed_len_ok(size_t len)
{
	for (size_t i = 0; i < ITK_PAD_BUCKETS; i++) {
		if (len == itk_pad_buckets[i] + ITK_SEAL_OVERHEAD) {
			return true;
		}
	}
	return false;
}

itk_err
itk_seal(const uint8_t pk[static ITK_PK_LEN], const uint8_t *msg, size_t len,
	 itk_buf *out)
{
	size_t bucket = itk_pad_bucket(len), padded_len = 0;
	uint8_t *padded = NULL, *dst;
	itk_err r = ITK_E_INTERNAL;

	if (bucket == 0) {
		return ITK_E_TOO_BIG;
	}
	if ((padded = malloc(bucket)) == NULL) {
		return ITK_E_NOMEM;
	}
	if (len > 0) {
		memcpy(padded, msg, len);
	}
	/* Block size = bucket, so the result is exactly one bucket long. */
	if (sodium_pad(&padded_len, padded, len, bucket, bucket) != 0 ||
	    padded_len != bucket) {
		r = ITK_E_INTERNAL;
		goto out;
	}
	if ((r = itk_buf_reserve(out, bucket + ITK_SEAL_OVERHEAD, &dst)) !=
	    ITK_OK) {
		goto out;
	}
	if (crypto_box_seal(dst, padded, bucket, pk) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(padded, bucket);
	free(padded);
	return r;
}

itk_err
itk_open(const uint8_t pk[static ITK_PK_LEN],
	 const uint8_t sk[static ITK_SK_LEN], const uint8_t *sealed,
	 size_t len, itk_buf *out)
{
	uint8_t *padded = NULL;
	size_t plen, unpadded;
	itk_err r = ITK_E_DECRYPT;

	if (!itk_sealed_len_ok(len)) {
		return ITK_E_DECRYPT;
	}
	plen = len - ITK_SEAL_OVERHEAD;
	if ((padded = malloc(plen)) == NULL) {
		return ITK_E_NOMEM;
	}
	if (crypto_box_seal_open(padded, sealed, len, pk, sk) != 0) {
		goto out;
	}
	if (sodium_unpad(&unpadded, padded, plen, plen) != 0) {
		goto out;
	}
	r = itk_buf_put(out, padded, unpadded);
out:
	sodium_memzero(padded, plen);
	free(padded);
	return r;
}

void
itk_sha256(uint8_t out[static ITK_HASH_LEN], const void *data, size_t len)
{
	/* SHA-NI when the CPU has it, else libsodium (sha256.h). */
	itk_sha256_digest(out, data, len);
}

uint32_t
itk_intake_key_id(const uint8_t pk[static ITK_PK_LEN])
{
	static const char ctx[] = "intake-v1 key id";
	itk_sha256_state st;
	uint8_t h[ITK_HASH_LEN];

	/* sizeof(ctx) includes the NUL: that is the 0x00 separator. */
	itk_sha256_init(&st);
	itk_sha256_update(&st, ctx, sizeof(ctx));
	itk_sha256_update(&st, pk, ITK_PK_LEN);
	itk_sha256_final(&st, h);
	return itk_load_u32(h);
}

const char *
itk_sig_context(itk_sig_ctx ctx)
{
	if ((unsigned)ctx >= ITK_SIG_CTX_COUNT) {
		return NULL;
	}
	return sig_contexts[ctx];
}

/* Builds context || 0x00 || msg in a new buffer. */
static itk_err
sig_input(itk_sig_ctx ctx, const uint8_t *msg, size_t len, itk_buf **out)
{
	const char *c = itk_sig_context(ctx);
	itk_buf *b;
	itk_err r;

	if (c == NULL) {
		return ITK_E_INTERNAL;
	}
	if ((b = itk_buf_new(ITK_BUF_SIZE_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_buf_put(b, c, strlen(c) + 1)) != ITK_OK ||
	    (r = itk_buf_put(b, msg, len)) != ITK_OK) {
		itk_buf_free(b);
		return r;
	}
	*out = b;
	return ITK_OK;
}

itk_err
itk_sign(itk_sig_ctx ctx, const uint8_t sk[static ITK_SIGN_SK_LEN],
	 const uint8_t *msg, size_t len, uint8_t sig[static ITK_SIG_LEN])
{
	itk_buf *in = NULL;
	itk_err r;

	if ((r = sig_input(ctx, msg, len, &in)) != ITK_OK) {
		return r;
	}
	if (crypto_sign_detached(sig, NULL, itk_buf_ptr(in), itk_buf_len(in),
				 sk) != 0) {
		r = ITK_E_CRYPTO;
	}
	itk_buf_free(in);
	return r;
}

itk_err
itk_verify(itk_sig_ctx ctx, const uint8_t pk[static ITK_SIGN_PK_LEN],
	   const uint8_t *msg, size_t len,
	   const uint8_t sig[static ITK_SIG_LEN])
{
	itk_buf *in = NULL;
	itk_err r;

	if ((r = sig_input(ctx, msg, len, &in)) != ITK_OK) {
		return r;
	}
	if (crypto_sign_verify_detached(sig, itk_buf_ptr(in), itk_buf_len(in),
					pk) != 0) {
		r = ITK_E_VERIFY;
	}
	itk_buf_free(in);
	return r;
}

void
itk_hex(char *out, const uint8_t *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

itk_err
itk_unhex(uint8_t *out, size_t n, const char *in, size_t inlen)
{
	size_t got = 0;
	const char *end = NULL;

	if (inlen != 2 * n) {
		return ITK_E_FORMAT;
	}
	if (sodium_hex2bin(out, n, in, inlen, NULL, &got, &end) != 0 ||
	    got != n || end != in + inlen) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

itk_err
itk_sign_pk_to_box_pk(const uint8_t spk[static ITK_SIGN_PK_LEN],
		      uint8_t pk[static ITK_PK_LEN])
{
	/* Fails for points of small order and non-canonical encodings. */
	return crypto_sign_ed25519_pk_to_curve25519(pk, spk) == 0
		   ? ITK_OK
		   : ITK_E_RANGE;
}

itk_err
itk_sign_sk_to_box_sk(const uint8_t ssk[static ITK_SIGN_SK_LEN],
		      uint8_t sk[static ITK_SK_LEN])
{
	return crypto_sign_ed25519_sk_to_curve25519(sk, ssk) == 0
		   ? ITK_OK
		   : ITK_E_CRYPTO;
}

itk_err
itk_wrap_key(const uint8_t pk[static ITK_PK_LEN],
	     const uint8_t key[static ITK_WRAP_KEY_LEN],
	     uint8_t wrapped[static ITK_WRAP_LEN])
{
	return crypto_box_seal(wrapped, key, ITK_WRAP_KEY_LEN, pk) == 0
		   ? ITK_OK
		   : ITK_E_CRYPTO;
}

itk_err
itk_unwrap_key(const uint8_t pk[static ITK_PK_LEN],
	       const uint8_t sk[static ITK_SK_LEN],
	       const uint8_t wrapped[static ITK_WRAP_LEN],
	       uint8_t key[static ITK_WRAP_KEY_LEN])
{
	if (crypto_box_seal_open(key, wrapped, ITK_WRAP_LEN, pk, sk) != 0) {
		sodium_memzero(key, ITK_WRAP_KEY_LEN);
		return ITK_E_DECRYPT;
	}
	return ITK_OK;
}

itk_err
itk_box_keypair(uint8_t pk[static ITK_PK_LEN], uint8_t sk[static ITK_SK_LEN])
{
	return crypto_box_keypair(pk, sk) == 0 ? ITK_OK : ITK_E_CRYPTO;
}

bool
itk_box_pair_ok(const uint8_t pk[static ITK_PK_LEN],
		const uint8_t sk[static ITK_SK_LEN])
{
	uint8_t p[ITK_PK_LEN];
	bool ok;

	ok = crypto_scalarmult_base(p, sk) == 0 &&
	     sodium_memcmp(p, pk, ITK_PK_LEN) == 0;
	sodium_memzero(p, sizeof(p));
	return ok;
}
