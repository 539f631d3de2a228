/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <sodium.h>

#include "pow.h"

/* The puzzle itself; see pow.h and docs/protocol.md. */

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

itk_err
itk_pow_challenge_parse(const uint8_t *p, size_t len, itk_pow_challenge *out)
{
	itk_pow_challenge c;

	if (p == NULL || len < ITK_POW_CHALLENGE_LEN) {
		return ITK_E_SHORT;
	}
	if (len > ITK_POW_CHALLENGE_LEN) {
		return ITK_E_TRAILING;
	}
	/* version | difficulty | issued_at | expires_at | nonce | mac */
	c.version = p[0];
	c.difficulty = p[1];
	c.issued_at = be64(p + 2);
	c.expires_at = be64(p + 10);
	memcpy(c.nonce, p + 18, ITK_POW_NONCE_LEN);
	memcpy(c.mac, p + ITK_POW_SIGNED_LEN, ITK_POW_MAC_LEN);
	if (c.version != ITK_POW_VERSION) {
		return ITK_E_VERSION;
	}
	if (c.difficulty > ITK_POW_DIFFICULTY_MAX ||
	    c.expires_at < c.issued_at) {
		return ITK_E_RANGE;
	}
	*out = c;
	return ITK_OK;
}

unsigned
itk_pow_zeros(const uint8_t *h, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++) {
		if (h[i] == 0) {
			n += 8;
			continue;
		}
		for (uint8_t b = h[i]; (b & 0x80u) == 0;
		     b = (uint8_t)(b << 1)) {
			n++;
		}
		break;
	}
	return n;
}

void
itk_pow_hash(uint8_t out[static 32],
	     const uint8_t challenge[static ITK_POW_CHALLENGE_LEN],
	     const uint8_t id[static ITK_HASH_LEN],
	     const uint8_t solution[static ITK_POW_SOLUTION_LEN])
{
	crypto_generichash_state st;

	/* Cannot fail for these lengths (libsodium checks only sizes). */
	(void)crypto_generichash_init(&st, NULL, 0, 32);
	(void)crypto_generichash_update(&st, (const uint8_t *)ITK_POW_LABEL,
					sizeof(ITK_POW_LABEL));
	(void)crypto_generichash_update(&st, challenge, ITK_POW_CHALLENGE_LEN);
	(void)crypto_generichash_update(&st, id, ITK_HASH_LEN);
	(void)crypto_generichash_update(&st, solution, ITK_POW_SOLUTION_LEN);
	(void)crypto_generichash_final(&st, out, 32);
}

bool
itk_pow_verify(const uint8_t challenge[static ITK_POW_CHALLENGE_LEN],
	       const uint8_t id[static ITK_HASH_LEN],
	       const uint8_t solution[static ITK_POW_SOLUTION_LEN],
	       unsigned difficulty)
{
	uint8_t h[32];

	itk_pow_hash(h, challenge, id, solution);
	return itk_pow_zeros(h, sizeof(h)) >= difficulty;
}

itk_err
itk_pow_solve(const uint8_t *challenge, size_t len,
	      const uint8_t id[static ITK_HASH_LEN],
	      uint8_t solution[static ITK_POW_SOLUTION_LEN],
	      uint64_t max_tries, uint64_t *tries)
{
	crypto_generichash_state base, st;
	itk_pow_challenge c;
	uint8_t s[ITK_POW_SOLUTION_LEN], h[32];
	uint64_t n = 0;

	*tries = 0;
	if (itk_pow_challenge_parse(challenge, len, &c) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	/* The prefix is the same for every candidate: hash it once. */
	(void)crypto_generichash_init(&base, NULL, 0, 32);
	(void)crypto_generichash_update(&base, (const uint8_t *)ITK_POW_LABEL,
					sizeof(ITK_POW_LABEL));
	(void)crypto_generichash_update(&base, challenge,
					ITK_POW_CHALLENGE_LEN);
	(void)crypto_generichash_update(&base, id, ITK_HASH_LEN);
	/* A random start, so two solvers of one challenge do not race
	 * through the same candidates (and nothing betrays a counter). */
	randombytes_buf(s, sizeof(s));
	for (;;) {
		if (max_tries != 0 && n >= max_tries) {
			*tries = n;
			return ITK_E_BUSY;
		}
		n++;
		st = base;
		(void)crypto_generichash_update(&st, s, sizeof(s));
		(void)crypto_generichash_final(&st, h, sizeof(h));
		if (itk_pow_zeros(h, sizeof(h)) >= c.difficulty) {
			break;
		}
		sodium_increment(s, sizeof(s));
	}
	memcpy(solution, s, sizeof(s));
	*tries = n;
	return ITK_OK;
}
