/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_KEYS_H
#define ITK_KEYS_H

/*
 * Key files and the key store, as used by the gateway, the worker and the
 * tools.  Secret key files are encrypted under a passphrase (Argon2id +
 * XChaCha20-Poly1305) unless made with --dev; formats in docs/keys.md.
 * Secret material lives in sodium_malloc'd memory and is wiped on free.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "wire.h"

typedef enum {
	ITK_KEY_ORG = 1,      /* Ed25519: signs the key bundle */
	ITK_KEY_INTAKE = 2,   /* X25519: submissions are sealed to it */
	ITK_KEY_RECEIPT = 3,  /* Ed25519: gateway signs receipts */
	ITK_KEY_LOG = 4,      /* Ed25519: signs log checkpoints */
	ITK_KEY_OPERATOR = 5, /* Ed25519: an operator signs requests */
	ITK_KEY_VAULT = 6,    /* 32-byte symmetric: vault contact data */
} itk_key_kind;

typedef struct itk_secret_key itk_secret_key;

/*
 * Loads a secret key file.  passphrase may be NULL for a --dev
 * (unencrypted) file; an encrypted file with a NULL or wrong passphrase is
 * ITK_E_PASSPHRASE.  A group/world-readable file is ITK_E_PERM.
 */
itk_err itk_key_load(const char *path, const char *passphrase,
		     itk_secret_key **out) ITK_WUR;
void itk_key_free(itk_secret_key *k);

itk_key_kind itk_key_kind_of(const itk_secret_key *k);
/* Public key (32 bytes) for the asymmetric kinds. */
const uint8_t *itk_key_public(const itk_secret_key *k);
/* Secret: 32 bytes (X25519, vault) or 64 bytes (Ed25519, libsodium). */
const uint8_t *itk_key_secret(const itk_secret_key *k);
/* Intake keys: key id and validity window (Unix seconds). */
uint32_t itk_key_id(const itk_secret_key *k);
uint64_t itk_key_not_before(const itk_secret_key *k);
uint64_t itk_key_not_after(const itk_secret_key *k);
/* Operator keys: the role name ("triage", "supervisor", ...) or "". */
const char *itk_key_role(const itk_secret_key *k);

/*
 * Loads every intake secret key of a key store directory (the worker's
 * view), up to max.  *n receives the count.
 */
itk_err itk_keystore_load_intake(const char *dir, const char *passphrase,
				 itk_secret_key **keys, size_t max,
				 size_t *n) ITK_WUR;

/*
 * Verifies a serialized KeyBundle against the pinned organisation public
 * key and returns its decoded body.  Checks: signature (context
 * "intake-v1 key-bundle"), body decode, body.org_public_key equals the
 * pinned key.  Errors: ITK_E_VERIFY, ITK_E_FORMAT, ITK_E_RANGE, ...
 */
itk_err itk_bundle_verify(const uint8_t *bundle, size_t len,
			  const uint8_t org_pk[static ITK_SIGN_PK_LEN],
			  itk_pb_key_bundle_body **out) ITK_WUR;

/* The intake key a client should seal to at time now: the first listed
 * key whose window contains now; NULL if none. */
const Intake__V1__IntakeKey *
itk_bundle_current_intake_key(const itk_pb_key_bundle_body *b, uint64_t now);

#endif
