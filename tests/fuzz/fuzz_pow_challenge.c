/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the proof-of-work challenge parser and the gateway's check of
 * Submission.pow: any bytes as challenge and solution. */
#include <string.h>

#include "fuzz.h"
#include "gw_pow.h"
#include "pow.h"

static gw_pow *pw;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t id[32] = {1};
	itk_pow_challenge c;
	unsigned need;
	itk_err r;

	if (pw == NULL) {
		gw_pow_opts o = {.min_difficulty = 1,
				 .base_difficulty = 1,
				 .max_difficulty = 8,
				 .trigger_permille = 500,
				 .ttl_s = 60,
				 .max_used = 64};
		if (sodium_init() < 0 || gw_pow_new(&o, NULL, &pw) != ITK_OK) {
			abort();
		}
	}
	r = itk_pow_challenge_parse(data, size, &c);
	/* Only exactly-sized, version-1, in-range challenges parse. */
	FUZZ_CHECK(r != ITK_OK || (size == ITK_POW_CHALLENGE_LEN &&
				   c.version == ITK_POW_VERSION &&
				   c.difficulty <= ITK_POW_DIFFICULTY_MAX &&
				   c.expires_at >= c.issued_at));
	/* The first bytes as challenge, the rest as solution: random bytes
	 * never carry our mac, so nothing passes. */
	{
		size_t cl = size < ITK_POW_CHALLENGE_LEN
				? size
				: ITK_POW_CHALLENGE_LEN;
		gw_pow_verdict v =
		    gw_pow_check(pw, data, cl, data + cl, size - cl, id,
				 1700000000u, 1000u, &need);
		FUZZ_CHECK(v != GW_POW_OK);
		FUZZ_CHECK(need >= 1);
	}
	return 0;
}
