/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <sodium.h>

#include "file.h"
#include "gw.h"

/*
 * The receipt key lives in sodium_malloc'd memory (guard pages, locked,
 * wiped on free).
 *
 * Key file: until keys/ provides itk_key_load for receipt keys, the file
 * is TEMPORARILY the raw 64-byte libsodium Ed25519 secret key (seed ||
 * public key), mode 0600, as documented in docs/gateway.md.
 */
struct gw_receipt_key {
	uint8_t sk[ITK_SIGN_SK_LEN];
	uint8_t pk[ITK_SIGN_PK_LEN];
};

itk_err
gw_receipt_key_load(const char *path,
		    const uint8_t expect_pk[static ITK_SIGN_PK_LEN],
		    gw_receipt_key **out)
{
	gw_receipt_key *k = NULL;
	itk_buf *b = NULL;
	uint8_t pk[ITK_SIGN_PK_LEN];
	itk_err r;

	if ((r = itk_file_read_secret(path, ITK_SIGN_SK_LEN, &b)) != ITK_OK) {
		goto out;
	}
	if (itk_buf_len(b) != ITK_SIGN_SK_LEN) {
		r = ITK_E_FORMAT;
		goto out;
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(k->sk, itk_buf_ptr(b), ITK_SIGN_SK_LEN);
	/* The public half is recomputed, not trusted from the file. */
	if (crypto_sign_ed25519_sk_to_pk(pk, k->sk) != 0 ||
	    sodium_memcmp(pk, k->sk + 32, ITK_SIGN_PK_LEN) != 0) {
		r = ITK_E_FORMAT;
		goto out;
	}
	{
		uint8_t seed[32], cpk[ITK_SIGN_PK_LEN], csk[ITK_SIGN_SK_LEN];
		int bad;
		if (crypto_sign_ed25519_sk_to_seed(seed, k->sk) != 0 ||
		    crypto_sign_seed_keypair(cpk, csk, seed) != 0) {
			sodium_memzero(seed, sizeof(seed));
			sodium_memzero(csk, sizeof(csk));
			r = ITK_E_CRYPTO;
			goto out;
		}
		bad = sodium_memcmp(cpk, pk, ITK_SIGN_PK_LEN);
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(csk, sizeof(csk));
		if (bad != 0) {
			r = ITK_E_FORMAT;
			goto out;
		}
	}
	if (sodium_memcmp(pk, expect_pk, ITK_SIGN_PK_LEN) != 0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	memcpy(k->pk, pk, sizeof(pk));
	if (sodium_mprotect_readonly(k) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	*out = k;
	k = NULL; /* transferred */
	r = ITK_OK;
out:
	gw_receipt_key_free(k);
	itk_buf_free(b);
	return r;
}

void
gw_receipt_key_free(gw_receipt_key *k)
{
	/* sodium_free wipes the region; it must be writable for that. */
	if (k != NULL) {
		(void)sodium_mprotect_readwrite(k);
		sodium_free(k);
	}
}

itk_err
gw_receipt_sign(const gw_receipt_key *k, const char *origin,
		const uint8_t id[static ITK_HASH_LEN], uint64_t accepted_at,
		uint32_t key_id, uint8_t *out, size_t cap, size_t *len)
{
	Intake__V1__ReceiptBody body = INTAKE__V1__RECEIPT_BODY__INIT;
	Intake__V1__Receipt rc = INTAKE__V1__RECEIPT__INIT;
	uint8_t bbuf[ITK_RECEIPT_MAX];
	uint8_t sig[ITK_SIG_LEN];
	size_t blen, rlen;
	itk_err r;

	body.version = ITK_WIRE_VERSION;
	body.submission_id.data = (uint8_t *)id;
	body.submission_id.len = ITK_HASH_LEN;
	body.accepted_at = accepted_at;
	body.intake_key_id = key_id;
	body.origin = (char *)origin;
	if ((blen = intake__v1__receipt_body__get_packed_size(&body)) >
	    sizeof(bbuf)) {
		return ITK_E_TOO_BIG;
	}
	if (intake__v1__receipt_body__pack(&body, bbuf) != blen) {
		return ITK_E_INTERNAL;
	}
	if ((r = itk_sign(ITK_SIG_RECEIPT, k->sk, bbuf, blen, sig)) !=
	    ITK_OK) {
		return r;
	}
	rc.body.data = bbuf;
	rc.body.len = blen;
	rc.signature.data = sig;
	rc.signature.len = sizeof(sig);
	if ((rlen = intake__v1__receipt__get_packed_size(&rc)) > cap) {
		return ITK_E_TOO_BIG;
	}
	if (intake__v1__receipt__pack(&rc, out) != rlen) {
		return ITK_E_INTERNAL;
	}
	*len = rlen;
	return ITK_OK;
}
