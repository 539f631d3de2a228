/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gw.h"
#include "keys.h"

/*
 * The receipt key is an intake-keys key file of kind "receipt"
 * (keys/keys.h, docs/keys.md): a --dev file loads without a passphrase;
 * an encrypted one takes its passphrase from INTAKE_KEYS_PASSPHRASE or
 * passphrase_file (itk_askpass).  The secret stays in the key's
 * sodium_malloc'd memory.
 */
struct gw_receipt_key {
	itk_secret_key *k;
};

itk_err
gw_receipt_key_load(const char *path, const char *passphrase_file,
		    const uint8_t expect_pk[static ITK_SIGN_PK_LEN],
		    gw_receipt_key **out)
{
	gw_receipt_key *rk = NULL;
	itk_secret_key *k = NULL;
	char *pass = NULL;
	itk_err r;

	r = itk_key_load(path, NULL, &k);
	if (r == ITK_E_PASSPHRASE) {
		if ((r = itk_askpass(passphrase_file,
				     "receipt key passphrase: ", false,
				     &pass)) != ITK_OK) {
			goto out;
		}
		r = itk_key_load(path, pass, &k);
	}
	if (r != ITK_OK) {
		goto out;
	}
	if (itk_key_kind_of(k) != ITK_KEY_RECEIPT) {
		r = ITK_E_RANGE;
		goto out;
	}
	/* A gateway must never sign receipts nobody can verify. */
	if (sodium_memcmp(itk_key_public(k), expect_pk, ITK_SIGN_PK_LEN) !=
	    0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	if ((rk = calloc(1, sizeof(*rk))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	rk->k = k;
	k = NULL; /* transferred */
	*out = rk;
	r = ITK_OK;
out:
	itk_askpass_free(pass);
	itk_key_free(k);
	return r;
}

void
gw_receipt_key_free(gw_receipt_key *rk)
{
	if (rk != NULL) {
		itk_key_free(rk->k);
		free(rk);
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
	if ((r = itk_sign(ITK_SIG_RECEIPT, itk_key_secret(k->k), bbuf, blen,
			  sig)) != ITK_OK) {
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
