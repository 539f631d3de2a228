/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault key and what it protects.  Subkeys are derived with
 * crypto_kdf (BLAKE2b) under the context "itkvault", so the contact
 * encryption, the mailbox index and the key check never share a key:
 *   id 1: contact AEAD key (XChaCha20-Poly1305-IETF, AD = case id)
 *   id 2: mailbox index key (keyed BLAKE2b-256 of the mailbox id)
 *   id 3: key check (keyed BLAKE2b-256 of a fixed string, in meta)
 *   id 4: operators' notes (XChaCha20-Poly1305-IETF, AD = note key)
 * The vault keeps only the subkeys, in sodium_malloc'd memory that is
 * read-only between uses.
 */
#include <string.h>

#include <sodium.h>

#include "vault_impl.h"

#define KDF_CTX          "itkvault"
#define SUBKEY_CONTACT   1u
#define SUBKEY_MAILBOX   2u
#define SUBKEY_CHECK     3u
#define SUBKEY_NOTES     4u
#define NKEYS            4u
#define KEY_CHECK_STRING "intake-v1 vault key check"

static const uint8_t *
subkey(const vault *v, unsigned id)
{
	return v->keys + (size_t)(id - 1u) * VAULT_KEY_LEN;
}

itk_err
vault_keys_derive(vault *v, const uint8_t vault_key[VAULT_KEY_LEN])
{
	itk_err r = ITK_E_CRYPTO;
	uint8_t *k;

	k = sodium_malloc((size_t)NKEYS * VAULT_KEY_LEN);
	if (k == NULL) {
		return ITK_E_NOMEM;
	}
	for (unsigned id = 1; id <= NKEYS; id++) {
		if (crypto_kdf_derive_from_key(
			k + (size_t)(id - 1u) * VAULT_KEY_LEN, VAULT_KEY_LEN,
			id, KDF_CTX, vault_key) != 0) {
			goto out;
		}
	}
	if (sodium_mprotect_readonly(k) != 0) {
		goto out;
	}
	v->keys = k;
	k = NULL; /* transferred */
	r = ITK_OK;
out:
	sodium_free(k); /* wipes */
	return r;
}

void
vault_keys_free(vault *v)
{
	/* sodium_free wipes, and copes with read-only protection. */
	sodium_free(v->keys);
	v->keys = NULL;
}

void
vault_key_check(const vault *v, uint8_t out[VAULT_HASH_LEN])
{
	static const char s[] = KEY_CHECK_STRING;

	crypto_generichash(out, VAULT_HASH_LEN, (const uint8_t *)s,
			   sizeof(s) - 1, subkey(v, SUBKEY_CHECK),
			   VAULT_KEY_LEN);
}

void
vault_mailbox_hash(const vault *v, const uint8_t mailbox[32],
		   uint8_t out[VAULT_HASH_LEN])
{
	crypto_generichash(out, VAULT_HASH_LEN, mailbox, VAULT_MAILBOX_LEN,
			   subkey(v, SUBKEY_MAILBOX), VAULT_KEY_LEN);
}

itk_err
vault_contact_seal(const vault *v, const uint8_t case_id[VAULT_ID_LEN],
		   const uint8_t reply_pk[32], const uint8_t mailbox[32],
		   uint8_t blob[VAULT_CONTACT_BLOB_LEN])
{
	uint8_t pt[VAULT_CONTACT_PT_LEN];
	itk_err r = ITK_E_CRYPTO;

	memcpy(pt, reply_pk, VAULT_REPLY_PK_LEN);
	memcpy(pt + VAULT_REPLY_PK_LEN, mailbox, VAULT_MAILBOX_LEN);
	/* Random 192-bit nonces: no counter to keep across processes. */
	randombytes_buf(blob, VAULT_NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		blob + VAULT_NONCE_LEN, NULL, pt, sizeof(pt), case_id,
		VAULT_ID_LEN, NULL, blob, subkey(v, SUBKEY_CONTACT)) != 0) {
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(pt, sizeof(pt));
	return r;
}

itk_err
vault_contact_open(const vault *v, const uint8_t case_id[VAULT_ID_LEN],
		   const uint8_t blob[VAULT_CONTACT_BLOB_LEN],
		   uint8_t reply_pk[32], uint8_t mailbox[32])
{
	uint8_t pt[VAULT_CONTACT_PT_LEN];
	itk_err r = ITK_E_DECRYPT;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		pt, NULL, NULL, blob + VAULT_NONCE_LEN,
		VAULT_CONTACT_BLOB_LEN - VAULT_NONCE_LEN, case_id,
		VAULT_ID_LEN, blob, subkey(v, SUBKEY_CONTACT)) != 0) {
		goto out;
	}
	memcpy(reply_pk, pt, VAULT_REPLY_PK_LEN);
	memcpy(mailbox, pt + VAULT_REPLY_PK_LEN, VAULT_MAILBOX_LEN);
	r = ITK_OK;
out:
	sodium_memzero(pt, sizeof(pt));
	return r;
}

itk_err
vault_note_seal_with(const uint8_t key[VAULT_KEY_LEN], const uint8_t *ad,
		     size_t adlen, const uint8_t *pt, size_t n, itk_buf *out)
{
	uint8_t *dst;
	itk_err r;

	if ((r = itk_buf_reserve(out, VAULT_NOTE_OVERHEAD + n, &dst)) !=
	    ITK_OK) {
		return r;
	}
	/* Random nonces: several processes write notes, no shared counter. */
	randombytes_buf(dst, VAULT_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    dst + VAULT_NONCE_LEN, NULL, pt, n, ad, adlen, NULL, dst, key);
	return ITK_OK;
}

itk_err
vault_note_open_with(const uint8_t key[VAULT_KEY_LEN], const uint8_t *ad,
		     size_t adlen, const uint8_t *blob, size_t n, itk_buf *out)
{
	uint8_t *dst;
	itk_err r;

	if (n < VAULT_NOTE_OVERHEAD) {
		return ITK_E_DECRYPT;
	}
	if ((r = itk_buf_reserve(out, n - VAULT_NOTE_OVERHEAD, &dst)) !=
	    ITK_OK) {
		return r;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		dst, NULL, NULL, blob + VAULT_NONCE_LEN, n - VAULT_NONCE_LEN,
		ad, adlen, blob, key) != 0) {
		itk_buf_reset(out);
		return ITK_E_DECRYPT;
	}
	return ITK_OK;
}

itk_err
vault_note_seal(const vault *v, const uint8_t *ad, size_t adlen,
		const uint8_t *pt, size_t n, itk_buf *out)
{
	if (v->keys == NULL) {
		return ITK_E_PERM;
	}
	return vault_note_seal_with(subkey(v, SUBKEY_NOTES), ad, adlen, pt, n,
				    out);
}

itk_err
vault_note_open(const vault *v, const uint8_t *ad, size_t adlen,
		const uint8_t *blob, size_t n, itk_buf *out)
{
	if (v->keys == NULL) {
		return ITK_E_PERM;
	}
	return vault_note_open_with(subkey(v, SUBKEY_NOTES), ad, adlen, blob,
				    n, out);
}
