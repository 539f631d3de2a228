/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256-bench: SHA-256 throughput on one thread for each implementation
 * behind itk_sha256 (common/sha256.h): the x86 SHA extensions, when this
 * CPU has them, and libsodium's portable C.  Sizes: 65 bytes (a Merkle
 * node: 0x01 || left || right, two blocks), 1 KiB, 16 KiB.  A
 * measurement, not a test:
 *
 *   sha256-bench [SECONDS]      (per implementation and size; default 1)
 *
 * Prints key=value lines for bench/run: sha256_<impl>_<size>_mb_s (MB/s
 * of thread CPU time, 10^6 bytes), sha256_<impl>_<size>_ns (per hash),
 * sha256_active (the implementation itk_sha256 picks here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "sha256.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hashes len bytes over and over for `seconds` of thread CPU time. */
static void
run(const char *impl, const char *name, const uint8_t *buf, size_t len,
    double seconds)
{
	uint8_t out[ITK_HASH_LEN] = {0};
	uint64_t n = 0;
	double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), dt;

	do {
		for (int i = 0; i < 256; i++) {
			/* Chain through out so no call can be skipped. */
			itk_sha256(out, buf, len);
			memcpy((uint8_t *)buf, out, 4);
		}
		n += 256;
		dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	} while (dt < seconds);
	printf("sha256_%s_%s_mb_s=%.1f\nsha256_%s_%s_ns=%.1f\n", impl, name,
	       (double)n * (double)len / dt / 1e6, impl, name,
	       dt * 1e9 / (double)n);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t len;
	} sizes[] = {{"65", 65}, {"1k", 1024}, {"16k", 16384}};
	static const itk_sha256_impl impls[] = {ITK_SHA256_SHANI,
						ITK_SHA256_SODIUM};
	static uint8_t buf[16384];
	uint64_t s = 1;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: sha256-bench [SECONDS]\n");
		return 2;
	}
	if (argc == 2 && itk_parse_u64(argv[1], 1, 3600, &s) != ITK_OK) {
		fprintf(stderr, "sha256-bench: bad SECONDS\n");
		return 2;
	}
	if (itk_crypto_init() != ITK_OK) {
		fprintf(stderr, "sha256-bench: libsodium failed\n");
		return 1;
	}
	printf("sha256_active=%s\n",
	       itk_sha256_impl_name(itk_sha256_active()));
	randombytes_buf(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		const char *impl =
		    impls[i] == ITK_SHA256_SHANI ? "shani" : "sodium";
		if (itk_sha256_force(impls[i]) != ITK_OK) {
			printf("sha256_%s=unavailable\n", impl);
			continue;
		}
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			run(impl, sizes[j].name, buf, sizes[j].len, (double)s);
		}
	}
	return 0;
}
