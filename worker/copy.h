/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_COPY_H
#define ITK_WORKER_COPY_H

/*
 * Message copies under queue keys (docs/vault.md, "Access by queue
 * keys"): while a batch is open, each opened message's inner message is
 * encrypted under a fresh message key (vault_copy_seal); vault_commit
 * wraps that key to the case's queue key.  This object owns the keys and
 * ciphertexts of one batch until the commit, and wipes the keys.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vault.h"

typedef struct wk_copies wk_copies;

/* Room for n copies.  *out is the caller's, freed with wk_copies_free. */
itk_err wk_copies_new(size_t n, wk_copies **out) ITK_WUR;
/* Wipes the message keys and frees; NULL is fine. */
void wk_copies_free(wk_copies *c);
/*
 * Encrypts plain (the inner message as opened) for submission id and
 * points m's copy fields at the result, valid until wk_copies_free.
 * ITK_E_FULL after n copies; ITK_E_TOO_BIG if plain fits no bucket.
 */
itk_err wk_copies_add(wk_copies *c, const uint8_t id[VAULT_ID_LEN],
		      const uint8_t *plain, size_t len,
		      vault_message *m) ITK_WUR;

#endif
