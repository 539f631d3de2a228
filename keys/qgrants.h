/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_QGRANTS_H
#define ITK_QGRANTS_H

/*
 * The queue-keys file (docs/keys.md, "Queue keys and grants"): what the
 * key ceremony publishes so that access to a queue's cases is enforced by
 * keys.  Signed by the organisation key; it holds only public keys and
 * sealed blobs:
 *
 *   - intake-opd's service public key (X25519), to which operators seal a
 *     queue secret for the duration of one request;
 *   - each queue key version's public key QPK(q, v), under which the
 *     worker wraps message keys;
 *   - grants: QSK(q, v) sealed (crypto_box_seal) to the X25519 form of an
 *     operator's Ed25519 key, one per operator per queue it may work.
 *
 * Layout (integers big-endian):
 *   magic "ITKQKEYS" (8) | format u8 = 1 | issued_at u64 |
 *   service public key (32) |
 *   n_keys u8, n_keys x { queue u8 | version u32 | public key (32) }
 *     in strictly increasing (queue, version) order |
 *   n_grants u16, n_grants x { queue u8 | version u32 | operator key id
 *     u32 | wrapped (80) } in strictly increasing (queue, version, key
 *     id) order, each naming a listed key |
 *   signature (64): Ed25519 by the org key over
 *     "intake-v1 queue-keys" 0x00 || every byte before it.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "labels.h"

#define ITK_QGRANTS_FILE       "queue-keys.bin" /* in the key store */
#define ITK_QGRANTS_KEYS_MAX   64u
#define ITK_QGRANTS_GRANTS_MAX 2048u
#define ITK_QGRANTS_FILE_MAX                                                  \
	(8u + 1u + 8u + 32u + 1u + ITK_QGRANTS_KEYS_MAX * 37u + 2u +          \
	 ITK_QGRANTS_GRANTS_MAX * (9u + ITK_WRAP_LEN) + ITK_SIG_LEN)

typedef struct {
	itk_queue queue;
	uint32_t version; /* 1.. */
	uint8_t public_key[ITK_PK_LEN];
} itk_qkey;

typedef struct {
	itk_queue queue;
	uint32_t version;
	uint32_t operator_key_id; /* itk_key_info.key_id of the operator */
	uint8_t wrapped[ITK_WRAP_LEN];
} itk_qgrant;

typedef struct {
	uint64_t issued_at;
	uint8_t service_pk[ITK_PK_LEN];
	size_t n_keys;
	itk_qkey keys[ITK_QGRANTS_KEYS_MAX];
	size_t n_grants;
	itk_qgrant grants[ITK_QGRANTS_GRANTS_MAX];
} itk_qgrants;

/*
 * Serializes and signs g with the org secret key (64 bytes), appending to
 * out.  The same checks as the decoder apply first (ITK_E_RANGE,
 * ITK_E_FORMAT), so a file that is written also reads.
 */
itk_err itk_qgrants_encode(const itk_qgrants *g,
			   const uint8_t org_sk[static ITK_SIGN_SK_LEN],
			   itk_buf *out) ITK_WUR;
/*
 * Parses and verifies a queue-keys file against the pinned org public
 * key.  Errors: ITK_E_SHORT, ITK_E_TRAILING, ITK_E_FORMAT (magic, order,
 * a grant naming no listed key, a zero version), ITK_E_VERSION (format
 * byte), ITK_E_RANGE (counts, queue), ITK_E_VERIFY (signature).  *out is
 * filled only on success.
 */
itk_err itk_qgrants_decode(const uint8_t *p, size_t len,
			   const uint8_t org_pk[static ITK_SIGN_PK_LEN],
			   itk_qgrants *out) ITK_WUR;
/* Reads and verifies dir/ITK_QGRANTS_FILE (or path if it names a file). */
itk_err itk_qgrants_load(const char *path,
			 const uint8_t org_pk[static ITK_SIGN_PK_LEN],
			 itk_qgrants *out) ITK_WUR;

/* The newest version of queue q in g, or NULL. */
const itk_qkey *itk_qgrants_current(const itk_qgrants *g, itk_queue q);
/* The grant of (q, version) to an operator key id, or NULL. */
const itk_qgrant *itk_qgrants_find(const itk_qgrants *g, itk_queue q,
				   uint32_t version, uint32_t key_id);

/*
 * A grant: qsk sealed to the X25519 form of an operator's Ed25519 public
 * key.  ITK_E_RANGE if the operator key is not a valid point.
 */
itk_err itk_qgrant_seal(const uint8_t qsk[static ITK_SK_LEN],
			const uint8_t op_sign_pk[static ITK_SIGN_PK_LEN],
			uint8_t wrapped[static ITK_WRAP_LEN]) ITK_WUR;
/*
 * Opens a grant with the operator's Ed25519 secret key and checks that
 * the queue secret is the secret half of qpk.  Any failure (wrong
 * operator, altered bytes, a secret for another key) is ITK_E_DECRYPT and
 * leaves qsk zeroed.  The caller wipes qsk.
 */
itk_err itk_qgrant_open(const uint8_t wrapped[static ITK_WRAP_LEN],
			const uint8_t op_sign_sk[static ITK_SIGN_SK_LEN],
			const uint8_t qpk[static ITK_PK_LEN],
			uint8_t qsk[static ITK_SK_LEN]) ITK_WUR;

#endif
