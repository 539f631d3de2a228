/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_VAULT_QKEYS_H
#define ITK_VAULT_QKEYS_H

/*
 * Access enforced by queue keys (docs/vault.md, "Access by queue keys").
 * Each queue q has X25519 key versions (QPK(q,v), QSK(q,v)); the vault
 * stores only the public halves (imported by intake-opd from the signed
 * queue-keys file).  The worker stores, beside each message's original
 * sealed bytes, a copy: the padded inner message under a fresh message key
 * MK (XChaCha20-Poly1305-IETF, AD = "msg" || submission id), MK sealed to
 * the case's queue key.  Notes and reply copies are under a per-case data
 * key DEK, sealed to the queue key too.  Reading any of it needs QSK,
 * which only the operators granted the queue can unwrap and which
 * intake-opd holds only during one request.
 *
 * Records (integers big-endian, version byte 0x01 first):
 *   queue_keys  queue (1) || version (4)  ->  0x01 | public key (32) |
 *                                             added_at (8)
 *   copies      submission id (32)        ->  0x01 | queue (1) | version
 *               (4) | wrapped MK (80) | nonce (24) | n (4) | ciphertext
 *               with tag (n, 16 + a padding bucket)
 *   case_keys   case id (32)              ->  0x01 | queue (1) | version
 *               (4) | wrapped DEK (80)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "labels.h"
#include "ops.h"
#include "vault.h"

#define VAULT_MK_LEN        32u
#define VAULT_COPY_NONCE    24u
#define VAULT_COPY_TAG      16u
#define VAULT_COPY_CT_MAX   (ITK_PAD_MAX + VAULT_COPY_TAG)
#define VAULT_COPY_FIXED    (1u + 1u + 4u + ITK_WRAP_LEN + 24u + 4u)
#define VAULT_CASE_KEY_LEN  (1u + 1u + 4u + ITK_WRAP_LEN)
#define VAULT_QUEUE_KEY_LEN (1u + ITK_PK_LEN + 8u)

/* A queue key's public half, as the vault stores it. */
typedef struct {
	itk_queue queue;
	uint32_t version;
	uint8_t pk[ITK_PK_LEN];
} vault_qkey;

/* A queue key pair held for one request (sodium_malloc'd by the holder). */
typedef struct {
	itk_queue queue;
	uint32_t version;
	uint8_t pk[ITK_PK_LEN];
	uint8_t sk[ITK_SK_LEN];
} vault_qsecret;

/* A parsed copy or case-key record: views into the bytes parsed. */
typedef struct {
	itk_queue queue;
	uint32_t version;
	const uint8_t *wrapped; /* ITK_WRAP_LEN */
	const uint8_t *nonce;   /* copies only */
	const uint8_t *ct;      /* copies only */
	size_t ct_len;
} vault_copy_view;

/* ------------------------------------------------- formats (pure) */

/*
 * Draws a message key, pads plain to its bucket and encrypts it under the
 * key with AD "msg" || id.  mk and nonce receive the key and nonce (the
 * caller wipes mk); ct receives ciphertext || tag.  ITK_E_TOO_BIG if plain
 * fits no bucket.
 */
itk_err vault_copy_seal(const uint8_t id[VAULT_ID_LEN], const uint8_t *plain,
			size_t len, uint8_t mk[VAULT_MK_LEN],
			uint8_t nonce[VAULT_COPY_NONCE], itk_buf *ct) ITK_WUR;
/*
 * Parses a copies record strictly: version (ITK_E_VERSION), queue in
 * range, version >= 1, ciphertext length 16 + a padding bucket, no
 * trailing byte (ITK_E_FORMAT otherwise).  out holds views into p.
 */
itk_err vault_copy_parse(const uint8_t *p, size_t n,
			 vault_copy_view *out) ITK_WUR;
/* Parses a case_keys record (no nonce/ciphertext); as vault_copy_parse. */
itk_err vault_case_key_parse(const uint8_t *p, size_t n,
			     vault_copy_view *out) ITK_WUR;
/*
 * Opens a parsed copy of submission id with one of keys (the one of its
 * queue and version), appending the inner message, unpadded, to plain.
 * ITK_E_KEY_UNKNOWN: no key of that queue and version among keys;
 * ITK_E_DECRYPT: the key does not open it (wrong key, altered bytes,
 * moved to another id, bad padding).  Nothing is appended on failure.
 */
itk_err vault_copy_open(const vault_copy_view *c,
			const uint8_t id[VAULT_ID_LEN],
			const vault_qsecret *keys, size_t nkeys,
			itk_buf *plain) ITK_WUR;

/* ------------------------------------------------------ queue keys */

/*
 * Stores the queue public keys not yet stored, one leaf each, in one
 * transaction; *added counts them (may be NULL).  A (queue, version)
 * already stored with another key is ITK_E_EXISTS and nothing is written:
 * a key version is never replaced.
 */
itk_err vault_qkeys_import(vault *v, const vault_qkey *keys, size_t n,
			   uint64_t now, size_t *added) ITK_WUR;
/* The stored public key of (q, version); ITK_E_NOT_FOUND if none. */
itk_err vault_qkey_get(vault *v, itk_queue q, uint32_t version,
		       uint8_t pk[ITK_PK_LEN]) ITK_WUR;
/* The newest stored version of q; ITK_E_NOT_FOUND if none. */
itk_err vault_qkey_current(vault *v, itk_queue q, vault_qkey *out) ITK_WUR;

/* ----------------------------------------------------------- reads */

/*
 * Opens the copy of a message: ITK_E_NOT_FOUND if it has none; otherwise
 * as vault_copy_open.  *q and *version (may be NULL) receive the queue
 * key the copy is under, even when it does not open.
 */
itk_err vault_ops_copy_open(vault *v, const uint8_t id[VAULT_ID_LEN],
			    const vault_qsecret *keys, size_t nkeys,
			    itk_buf *plain, itk_queue *q,
			    uint32_t *version) ITK_WUR;

/* ---------------------------------------------- operator-side writes */

/*
 * The case's data key, for notes and reply copies: unwrapped with keys if
 * the case has one; otherwise (create true) a new one is drawn, sealed to
 * the newest key of the case's queue and stored.  ITK_E_NOT_FOUND: no
 * data key and create false, or no queue key for the case's queue;
 * ITK_E_KEY_UNKNOWN / ITK_E_DECRYPT as for vault_copy_open.  The caller
 * wipes dek.
 */
itk_err vault_op_case_key(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			  const vault_qsecret *keys, size_t nkeys, bool create,
			  uint8_t dek[VAULT_MK_LEN]) ITK_WUR;
/* As above, read-only, in its own snapshot (create is false). */
itk_err vault_ops_case_key(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			   const vault_qsecret *keys, size_t nkeys,
			   uint8_t dek[VAULT_MK_LEN]) ITK_WUR;
/*
 * Moves a case's keys from its wraps' queue keys to the newest key of
 * queue to: every copy of its messages and its data key, unwrapped with
 * keys and sealed again (one leaf each).  *moved counts the wraps
 * re-sealed, *left those that keys could not open (their queue key was
 * not in the request); both may be NULL.
 */
itk_err vault_op_rewrap_case(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			     itk_queue to, const vault_qsecret *keys,
			     size_t nkeys, size_t *moved,
			     size_t *left) ITK_WUR;

#endif
