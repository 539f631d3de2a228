/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_SHA256_H
#define ITK_SHA256_H

/*
 * SHA-256 (FIPS 180-4) for the hot paths: submission ids, receipts, the
 * Merkle log's leaves and nodes, the auditor's record hashes.  Two
 * implementations with the same bytes out:
 *
 *  - the x86 SHA extensions (SHA-NI), used when the CPU has them (CPUID
 *    leaf 7 EBX bit 29, with SSSE3 and SSE4.1); only the functions that
 *    use them are compiled for that target, so the rest of the build
 *    stays generic and runs on any x86-64;
 *  - libsodium's crypto_hash_sha256 (portable C) everywhere else.
 *
 * The choice is made once, at the first hash: SHA-NI if present, unless
 * the environment variable ITK_SHA256=sodium asks for libsodium (so that
 * tests and benchmarks cover both paths on one machine).  Both are
 * thread-safe; an incremental state keeps the implementation it started
 * with.  common/crypto.h's itk_sha256 is the one-shot form.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_hash_sha256.h>

#include "err.h"

#define ITK_SHA256_LEN   32u
#define ITK_SHA256_BLOCK 64u

typedef enum {
	ITK_SHA256_AUTO = 0, /* SHA-NI if the CPU has it, else libsodium */
	ITK_SHA256_SODIUM,   /* libsodium's portable C */
	ITK_SHA256_SHANI,    /* x86 SHA extensions */
} itk_sha256_impl;

/*
 * An incremental hash.  Embed it (no _free): itk_sha256_final wipes it.
 * Members are private.
 */
typedef struct {
	union {
		crypto_hash_sha256_state sodium;
		struct {
			uint32_t h[8];
			uint64_t len; /* bytes hashed so far */
			uint8_t buf[ITK_SHA256_BLOCK];
		} ni;
	} u;
	itk_sha256_impl impl;
} itk_sha256_state;

void itk_sha256_init(itk_sha256_state *st);
void itk_sha256_update(itk_sha256_state *st, const void *data, size_t len);
/* Writes the digest and wipes st; st needs _init before it is used again. */
void itk_sha256_final(itk_sha256_state *st, uint8_t out[ITK_SHA256_LEN]);

/* out = SHA-256(data); data may be NULL when len is 0. */
void itk_sha256_digest(uint8_t out[ITK_SHA256_LEN], const void *data,
		       size_t len);

/* True if this CPU can run the SHA-NI implementation. */
bool itk_sha256_shani_available(void);
/* The implementation hashes now use (never ITK_SHA256_AUTO). */
itk_sha256_impl itk_sha256_active(void);
/* "sha-ni" or "libsodium". */
const char *itk_sha256_impl_name(itk_sha256_impl impl);

/*
 * For tests and benchmarks: makes every hash started after this call use
 * impl (ITK_SHA256_AUTO: the CPU's best again, ignoring the environment).
 * ITK_E_RANGE if impl is SHA-NI and the CPU lacks it (nothing changes).
 * Not for use while other threads are starting hashes.
 */
itk_err itk_sha256_force(itk_sha256_impl impl) ITK_WUR;

#endif
