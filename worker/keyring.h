/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_KEYRING_H
#define ITK_WORKER_KEYRING_H

/*
 * The intake secret keys a worker holds: current and previous ones, found
 * by key id.  Only the worker tier ever builds one.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define WK_KEYRING_MAX 16u

typedef struct wk_keyring wk_keyring;

/* Loads every intake key of the key store dir (passphrase NULL for a
 * development store).  ITK_E_NOT_FOUND if there is none. */
itk_err wk_keyring_load(const char *dir, const char *passphrase,
			wk_keyring **out) ITK_WUR;
void wk_keyring_free(wk_keyring *k);
size_t wk_keyring_count(const wk_keyring *k);

/*
 * Opens a sealed submission with the key named by key_id and appends the
 * unpadded inner message to out.  ITK_E_KEY_UNKNOWN if no such key is
 * held, ITK_E_DECRYPT if it does not open.
 */
itk_err wk_keyring_open(const wk_keyring *k, uint32_t key_id,
			const uint8_t *sealed, size_t len,
			itk_buf *out) ITK_WUR;

/*
 * The intake key a new submission should be sealed to at time now (the
 * operator service's phone intake): the newest whose window holds now.
 * ITK_E_KEY_EXPIRED if none does.
 */
itk_err wk_keyring_current(const wk_keyring *k, uint64_t now, uint32_t *key_id,
			   uint8_t pk[static 32]) ITK_WUR;

#endif
