/* SPDX-License-Identifier: Apache-2.0 */
#include "copy.h"

#include <stdlib.h>

#include <sodium.h>

#include "buf.h"
#include "qkeys.h"

struct wk_copies {
	size_t n, used;
	uint8_t *keys;   /* n x VAULT_MK_LEN, sodium_malloc'd */
	uint8_t *nonces; /* n x VAULT_COPY_NONCE */
	itk_buf **ct;    /* n ciphertexts */
};

itk_err
wk_copies_new(size_t n, wk_copies **out)
{
	wk_copies *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return ITK_E_NOMEM;
	}
	c->n = n;
	if (n > 0 && ((c->keys = sodium_malloc(n * VAULT_MK_LEN)) == NULL ||
		      (c->nonces = calloc(n, VAULT_COPY_NONCE)) == NULL ||
		      (c->ct = calloc(n, sizeof(*c->ct))) == NULL)) {
		wk_copies_free(c);
		return ITK_E_NOMEM;
	}
	*out = c;
	return ITK_OK;
}

void
wk_copies_free(wk_copies *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; c->ct != NULL && i < c->used; i++) {
		itk_buf_free(c->ct[i]);
	}
	if (c->keys != NULL) {
		sodium_memzero(c->keys, c->n * VAULT_MK_LEN);
		sodium_free(c->keys);
	}
	free(c->nonces);
	free(c->ct);
	free(c);
}

itk_err
wk_copies_add(wk_copies *c, const uint8_t id[VAULT_ID_LEN],
	      const uint8_t *plain, size_t len, vault_message *m)
{
	uint8_t *mk, *nonce;
	itk_buf *ct;
	size_t bucket = itk_pad_bucket(len);
	itk_err r;

	if (c->used >= c->n) {
		return ITK_E_FULL;
	}
	if (bucket == 0) {
		return ITK_E_TOO_BIG;
	}
	if ((ct = itk_buf_new(bucket + VAULT_COPY_TAG)) == NULL) {
		return ITK_E_NOMEM;
	}
	mk = c->keys + c->used * VAULT_MK_LEN;
	nonce = c->nonces + c->used * VAULT_COPY_NONCE;
	if ((r = vault_copy_seal(id, plain, len, mk, nonce, ct)) != ITK_OK) {
		sodium_memzero(mk, VAULT_MK_LEN);
		itk_buf_free(ct);
		return r;
	}
	c->ct[c->used++] = ct;
	m->copy_key = mk;
	m->copy_nonce = nonce;
	m->copy_ct = itk_buf_ptr(ct);
	m->copy_ct_len = itk_buf_len(ct);
	return ITK_OK;
}
