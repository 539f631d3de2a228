/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_POW_H
#define ITK_POW_H

/*
 * The proof-of-work puzzle (docs/protocol.md, "Proof of work"), shared by
 * the gateway (which checks) and the reference client (which solves).
 *
 * A challenge is 66 bytes issued by the gateway:
 *
 *   version u8 (1) | difficulty u8 | issued_at u64 | expires_at u64 |
 *   nonce[16] | mac[32]
 *
 * (integers big-endian; mac = BLAKE2b-256 keyed with the gateway's secret
 * over ITK_POW_MAC_LABEL 0x00 || the first 34 bytes).  A solution is 8
 * bytes s such that
 *
 *   BLAKE2b-256(ITK_POW_LABEL 0x00 || challenge || submission_id || s)
 *
 * begins with at least `difficulty` zero bits (most significant bit of
 * byte 0 first).  submission_id = SHA-256(sealed), so a solution is good
 * for one submission only.  Memory-light on purpose: a cheap phone solves
 * it as fast as its CPU allows, with nothing to allocate.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"

#define ITK_POW_CHALLENGE_LEN 66u
#define ITK_POW_SOLUTION_LEN  8u
#define ITK_POW_NONCE_LEN     16u
#define ITK_POW_MAC_LEN       32u
#define ITK_POW_SIGNED_LEN    34u /* bytes the mac covers */
#define ITK_POW_VERSION       1u
/* Hard cap: 2^28 hashes is minutes on a phone; more is never asked. */
#define ITK_POW_DIFFICULTY_MAX 28u
#define ITK_POW_LABEL          "intake-v1 pow"
#define ITK_POW_MAC_LABEL      "intake-v1 pow challenge"

/* A parsed challenge (its mac is not checked by the parser). */
typedef struct {
	unsigned version;
	unsigned difficulty;
	uint64_t issued_at;
	uint64_t expires_at;
	uint8_t nonce[ITK_POW_NONCE_LEN];
	uint8_t mac[ITK_POW_MAC_LEN];
} itk_pow_challenge;

/*
 * Parses challenge bytes.  Returns ITK_OK; ITK_E_SHORT / ITK_E_TRAILING
 * (length is not ITK_POW_CHALLENGE_LEN), ITK_E_VERSION, ITK_E_RANGE
 * (difficulty above ITK_POW_DIFFICULTY_MAX or expires_at < issued_at).
 */
itk_err itk_pow_challenge_parse(const uint8_t *p, size_t len,
				itk_pow_challenge *out) ITK_WUR;

/* Number of leading zero bits of h (0..256). */
unsigned itk_pow_zeros(const uint8_t *h, size_t len);

/* The puzzle hash for one candidate solution (see above). */
void itk_pow_hash(uint8_t out[static 32],
		  const uint8_t challenge[static ITK_POW_CHALLENGE_LEN],
		  const uint8_t id[static ITK_HASH_LEN],
		  const uint8_t solution[static ITK_POW_SOLUTION_LEN]);

/* True if solution meets difficulty for challenge and id. */
bool itk_pow_verify(const uint8_t challenge[static ITK_POW_CHALLENGE_LEN],
		    const uint8_t id[static ITK_HASH_LEN],
		    const uint8_t solution[static ITK_POW_SOLUTION_LEN],
		    unsigned difficulty);

/*
 * Searches for a solution of challenge (at its own difficulty) for id,
 * trying at most max_tries candidates (0 = no limit).  Returns ITK_OK and
 * solution, *tries the number of hashes; ITK_E_FORMAT if challenge does
 * not parse; ITK_E_BUSY if max_tries ran out.
 */
itk_err itk_pow_solve(const uint8_t *challenge, size_t len,
		      const uint8_t id[static ITK_HASH_LEN],
		      uint8_t solution[static ITK_POW_SOLUTION_LEN],
		      uint64_t max_tries, uint64_t *tries) ITK_WUR;

#endif
