/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Differential target for common/sha256.c: the SHA-NI implementation (when
 * this CPU has it) and the libsodium path, each forced, one-shot and
 * incremental, must all give libsodium's crypto_hash_sha256 of the input.
 *
 * Input: [n u8][n split points, u8 each][message: the rest].  The split
 * points cut the message into n + 1 pieces for incremental updates (each
 * point, modulo 256, is a piece length; the last piece takes the rest),
 * so libFuzzer steers the pieces across block boundaries.
 */
#include <string.h>

#include "fuzz.h"
#include "sha256.h"

#define MAX_SPLITS 16u

static void
incremental(uint8_t out[32], const uint8_t *cuts, size_t ncuts,
	    const uint8_t *msg, size_t len)
{
	itk_sha256_state st;
	size_t off = 0;

	itk_sha256_init(&st);
	for (size_t i = 0; i < ncuts; i++) {
		size_t take = cuts[i];
		if (take > len - off) {
			take = len - off;
		}
		itk_sha256_update(&st, msg + off, take);
		off += take;
	}
	itk_sha256_update(&st, msg + off, len - off);
	itk_sha256_final(&st, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const itk_sha256_impl impls[] = {ITK_SHA256_SHANI,
						ITK_SHA256_SODIUM};
	uint8_t want[32], got[32];
	const uint8_t *cuts, *msg;
	size_t ncuts, len;

	(void)fuzz_keys(); /* sodium_init */
	if (size == 0) {
		return 0;
	}
	ncuts = data[0] % (MAX_SPLITS + 1);
	if (size - 1 < ncuts) {
		return 0;
	}
	cuts = data + 1;
	msg = data + 1 + ncuts;
	len = size - 1 - ncuts;
	FUZZ_CHECK(crypto_hash_sha256(want, msg, len) == 0);
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (itk_sha256_force(impls[i]) != ITK_OK) {
			FUZZ_CHECK(impls[i] == ITK_SHA256_SHANI &&
				   !itk_sha256_shani_available());
			continue;
		}
		itk_sha256_digest(got, msg, len);
		FUZZ_CHECK(memcmp(got, want, 32) == 0);
		incremental(got, cuts, ncuts, msg, len);
		FUZZ_CHECK(memcmp(got, want, 32) == 0);
	}
	FUZZ_CHECK(itk_sha256_force(ITK_SHA256_AUTO) == ITK_OK);
	return 0;
}
