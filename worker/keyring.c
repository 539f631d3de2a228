/* SPDX-License-Identifier: Apache-2.0 */
#include "keyring.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keys.h"

struct wk_keyring {
	itk_secret_key *keys[WK_KEYRING_MAX];
	size_t n;
};

itk_err
wk_keyring_load(const char *dir, const char *passphrase, wk_keyring **out)
{
	wk_keyring *k;
	itk_err r;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		return ITK_E_NOMEM;
	}
	r = itk_keystore_load_intake(dir, passphrase, k->keys, WK_KEYRING_MAX,
				     &k->n);
	if (r == ITK_OK && k->n == 0) {
		r = ITK_E_NOT_FOUND;
	}
	if (r != ITK_OK) {
		wk_keyring_free(k);
		return r;
	}
	*out = k;
	return ITK_OK;
}

void
wk_keyring_free(wk_keyring *k)
{
	if (k == NULL) {
		return;
	}
	for (size_t i = 0; i < k->n; i++) {
		itk_key_free(k->keys[i]);
	}
	free(k);
}

size_t
wk_keyring_count(const wk_keyring *k)
{
	return k->n;
}

itk_err
wk_keyring_open(const wk_keyring *k, uint32_t key_id, const uint8_t *sealed,
		size_t len, itk_buf *out)
{
	/*
	 * The window is not checked here: the gateway refused expired keys
	 * on arrival, and a submission spooled inside the window must still
	 * open after it.
	 */
	for (size_t i = 0; i < k->n; i++) {
		if (itk_key_id(k->keys[i]) == key_id) {
			return itk_open(itk_key_public(k->keys[i]),
					itk_key_secret(k->keys[i]), sealed,
					len, out);
		}
	}
	return ITK_E_KEY_UNKNOWN;
}

itk_err
wk_keyring_current(const wk_keyring *k, uint64_t now, uint32_t *key_id,
		   uint8_t pk[static ITK_PK_LEN])
{
	/* Newest first (itk_keystore_load_intake): the first in its window
	 * is the one the key bundle tells clients to use. */
	for (size_t i = 0; i < k->n; i++) {
		if (itk_key_not_before(k->keys[i]) <= now &&
		    now <= itk_key_not_after(k->keys[i])) {
			*key_id = itk_key_id(k->keys[i]);
			memcpy(pk, itk_key_public(k->keys[i]), ITK_PK_LEN);
			return ITK_OK;
		}
	}
	return ITK_E_KEY_EXPIRED;
}
