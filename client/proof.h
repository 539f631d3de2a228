/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_PROOF_H
#define ITK_PROOF_H

/*
 * A submitter's proof that the vault holds their submission: what
 * GET /v1/proof/<submission id> returns, checked against the log key of
 * the organisation-signed key bundle.  Bytes: docs/audit.md "Receipts
 * with proofs".
 *
 *   "itk-proof/1\n" (12) | leaf index (u64 BE) | entry length (u16 BE) |
 *   entry | n (u8) | n x 32-byte inclusion path | checkpoint length
 *   (u32 BE) | the signed checkpoint
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "wire.h"

#define ITK_PROOF_MAGIC     "itk-proof/1\n"
#define ITK_PROOF_MAGIC_LEN 12u

typedef struct {
	uint64_t leaf_index;
	uint64_t tree_size;
	uint8_t root[32];
	uint64_t leaf_time; /* the leaf's (rounded) time */
} itk_proof_info;

/*
 * Parses p strictly (capped, no trailing bytes) and verifies: the
 * checkpoint is signed by the bundle's log key (origin = the bundle's
 * origin), the entry is a vault leaf for a message whose key is id, and
 * the path proves the entry's leaf hash at leaf_index under the
 * checkpoint's root.  ITK_OK with *out filled; ITK_E_VERIFY if any check
 * fails; ITK_E_FORMAT / ITK_E_SHORT / ITK_E_TRAILING / ITK_E_TOO_BIG for
 * malformed bytes.
 */
itk_err itk_proof_verify(const uint8_t *p, size_t len,
			 const itk_pb_key_bundle_body *bundle,
			 const uint8_t id[32], itk_proof_info *out) ITK_WUR;

#endif
