/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_FUZZ_H
#define ITK_FUZZ_H

/*
 * Shared by every fuzz target (tests/fuzz/fuzz_<parser>.c), the replay
 * driver and the seed generator.  A target defines LLVMFuzzerTestOneInput;
 * it is linked either with libFuzzer (-Dfuzz=enabled, clang) or with
 * replay.c, which feeds it each committed corpus file (every other build).
 *
 * A target must never crash on any input.  Beyond that, FUZZ_CHECK states
 * properties the parser promises (a failed read consumes nothing, a decoded
 * message re-encodes to something that decodes again, ...): a broken
 * promise aborts, so libFuzzer records the input like any other crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

/* The libFuzzer entry point (prototype for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n",     \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/*
 * FIXED TEST KEYS, NOT SECRET.  Every signature and sealed box in the seed
 * corpora (tests/fuzz/corpus/) is made with keys derived from these public
 * seeds, so that a target can verify or open them.  They are published in
 * this file on purpose; nothing outside tests/fuzz/ may use them.
 */
static const uint8_t fuzz_org_seed[32] = "FUZZ TEST ORG KEY - NOT SECRET!";
static const uint8_t fuzz_intake_seed[32] = "FUZZ TEST INTAKE KEY-NOT SECRET";
static const uint8_t fuzz_receipt_seed[32] = "FUZZ RECEIPT KEY - NOT SECRET!!";
static const uint8_t fuzz_log_seed[32] = "FUZZ TEST LOG KEY - NOT SECRET!";
static const uint8_t fuzz_reply_seed[32] = "FUZZ TEST REPLY KEY, NOT SECRET";

/* The test keys, derived once (fuzz_keys()). */
struct fuzz_keys {
	uint8_t org_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t org_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t receipt_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t receipt_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t log_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t log_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t intake_pk[crypto_box_PUBLICKEYBYTES];
	uint8_t intake_sk[crypto_box_SECRETKEYBYTES];
	uint8_t reply_pk[crypto_box_PUBLICKEYBYTES];
	uint8_t reply_sk[crypto_box_SECRETKEYBYTES];
};

/*
 * Returns the test keys, initialising libsodium and deriving them on the
 * first call; aborts if libsodium cannot start (nothing can be tested).
 */
static inline const struct fuzz_keys *
fuzz_keys(void)
{
	static struct fuzz_keys k;
	static int done;

	if (!done) {
		FUZZ_CHECK(sodium_init() >= 0);
		FUZZ_CHECK(crypto_sign_seed_keypair(k.org_pk, k.org_sk,
						    fuzz_org_seed) == 0);
		FUZZ_CHECK(crypto_sign_seed_keypair(k.receipt_pk, k.receipt_sk,
						    fuzz_receipt_seed) == 0);
		FUZZ_CHECK(crypto_sign_seed_keypair(k.log_pk, k.log_sk,
						    fuzz_log_seed) == 0);
		FUZZ_CHECK(crypto_box_seed_keypair(k.intake_pk, k.intake_sk,
						   fuzz_intake_seed) == 0);
		FUZZ_CHECK(crypto_box_seed_keypair(k.reply_pk, k.reply_sk,
						   fuzz_reply_seed) == 0);
		done = 1;
	}
	return &k;
}

#endif
