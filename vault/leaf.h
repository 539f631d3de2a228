/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_LEAF_H
#define ITK_LEAF_H

/*
 * The vault log's leaf (entry) encoding: one leaf per vault change, with
 * ids, kinds, a rounded time and the hash of the record as stored, never
 * content.  Byte by byte in docs/audit.md section 1.  Pure functions: the
 * auditor's tool and the submitter's client link them without a vault.
 *
 *   version (1) = 0x01
 *   kind (1)          VAULT_LEAF_* below
 *   flags (1)         bit 0: the record was deleted; other bits 0
 *   time (8, BE)      Unix seconds, rounded down to VAULT_LEAF_TIME_STEP
 *   db name length (1), db name (1..32 bytes of [a-z0-9_.])
 *   key length (1), key (1..255 bytes)
 *   value hash (32)   SHA-256 of the record value as stored; zeros if
 *                     deleted
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VAULT_LEAF_VERSION   1u
#define VAULT_LEAF_HASH_LEN  32u
#define VAULT_LEAF_DB_MAX    32u
#define VAULT_LEAF_KEY_MAX   255u
#define VAULT_LEAF_FIXED_LEN (1u + 1u + 1u + 8u + 1u + 1u + 32u)
#define VAULT_LEAF_MAX                                                        \
	(VAULT_LEAF_FIXED_LEN + VAULT_LEAF_DB_MAX + VAULT_LEAF_KEY_MAX)
/* The published log reveals changes' times to the hour only. */
#define VAULT_LEAF_TIME_STEP 3600u

#define VAULT_LEAF_F_DELETED 0x01u

/*
 * Leaf kinds.  The values are the vault's own vault_change values
 * (vault_impl.h), so the two lists must stay the same; docs/audit.md keeps
 * the table.  1..15: intake (worker tier); 16..63: operator actions;
 * 64..: keys and administration.
 */
#define VAULT_LEAF_MESSAGE     1u /* message added; key = submission id */
#define VAULT_LEAF_QUARANTINE  2u /* quarantined; key = submission id */
#define VAULT_LEAF_CASE_NEW    3u /* case created; key = case id */
#define VAULT_LEAF_CASE_JOIN   4u /* case updated by a follow-up */
#define VAULT_LEAF_CASE_CLOSE  5u /* case closed */
#define VAULT_LEAF_CASE_UPDATE 6u /* case changed by an operator action */
#define VAULT_LEAF_COPY        7u /* message copy under a queue key */
/* Operator tier (vault/ops.c): "deleted" leaves for releases/removals. */
#define VAULT_LEAF_LEASE    16u /* case claimed; deleted: released */
#define VAULT_LEAF_ACTION   17u /* operator action recorded */
#define VAULT_LEAF_NOTE     18u /* encrypted note added */
#define VAULT_LEAF_TAG      19u /* tag added; deleted: removed */
#define VAULT_LEAF_OUTBOX   20u /* reply queued; deleted: handed over */
#define VAULT_LEAF_APPROVAL 21u /* approval stored; deleted: used/expired */
#define VAULT_LEAF_CASE_KEY 22u /* case data key stored or re-wrapped */
/* Keys and administration. */
#define VAULT_LEAF_QUEUE_KEY 64u /* queue public key imported */

/* A decoded leaf: db and key are views into the bytes decoded. */
typedef struct {
	uint8_t kind;
	uint8_t flags;
	uint64_t time;
	const char *db;
	size_t db_len;
	const uint8_t *key;
	size_t key_len;
	uint8_t value_hash[VAULT_LEAF_HASH_LEN];
} vault_leaf;

/*
 * Encodes l into out (cap bytes; VAULT_LEAF_MAX always suffices); *len is
 * the length written.  ITK_E_RANGE for a kind of 0, unknown flag bits, an
 * empty or overlong db name or key, or a db name outside [a-z0-9_.];
 * ITK_E_TOO_BIG if cap is too small.  The time is written as given (the
 * caller rounds: vault_leaf_time).
 */
itk_err vault_leaf_encode(const vault_leaf *l, uint8_t *out, size_t cap,
			  size_t *len) ITK_WUR;

/*
 * Decodes a leaf strictly (untrusted: entries come from tiles): version 1
 * (else ITK_E_VERSION), every length within its cap, no trailing byte,
 * time a multiple of VAULT_LEAF_TIME_STEP, a deleted leaf's hash all
 * zeros.  ITK_E_FORMAT / ITK_E_SHORT / ITK_E_TRAILING otherwise.  out
 * holds views into p.
 */
itk_err vault_leaf_decode(const uint8_t *p, size_t len,
			  vault_leaf *out) ITK_WUR;

/* now rounded down to VAULT_LEAF_TIME_STEP. */
uint64_t vault_leaf_time(uint64_t now);

/* A short English name for a kind ("message", "case-close", ...), or
 * "unknown". */
const char *vault_leaf_kind_name(uint8_t kind);

#endif
