/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open-bench: sealed-box opens per second on one thread, through the same
 * itk_open the worker calls (crypto_box_seal_open, then unpadding, then a
 * copy into an itk_buf), for 1 KiB and 16 KiB plaintexts.  The padding
 * puts those in the 2 KiB and 32 KiB buckets, as intake-load --pad 1024 and
 * --pad 16384 do end to end.  Also seals per second (what a client pays).
 * A measurement, not a test:
 *
 *   open-bench [SECONDS]        (per size; default 2)
 *
 * Prints key=value lines for bench/run: open_<size>_us (thread CPU time
 * per open, which other processes on the machine do not inflate),
 * open_<size>_per_s (what one core does at that cost), open_<size>_wall_us,
 * open_<size>_sealed_bytes, seal_<size>_us (CPU).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double
cpu_now(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* Seals a len-byte message, then opens it for `seconds`; 0 or 1. */
static int
run(const char *name, size_t len, double seconds,
    const uint8_t pk[static ITK_PK_LEN], const uint8_t sk[static ITK_SK_LEN])
{
	uint8_t *msg = NULL, *sealed = NULL;
	itk_buf *sb = NULL, *ob = NULL;
	size_t sealed_len, n = 0, ns = 0;
	double t0, dt, c0;
	int rc = 1;

	if ((msg = malloc(len)) == NULL ||
	    (sb = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD)) == NULL ||
	    (ob = itk_buf_new(ITK_PAD_MAX)) == NULL) {
		goto out;
	}
	randombytes_buf(msg, len);
	/* Sealing, timed too: the load generator pays this before its clock
	 * starts. */
	t0 = now();
	c0 = cpu_now();
	do {
		itk_buf_reset(sb);
		if (itk_seal(pk, msg, len, sb) != ITK_OK) {
			fprintf(stderr, "open-bench: seal failed\n");
			goto out;
		}
		ns++;
		dt = now() - t0;
	} while (dt < seconds / 4);
	printf("seal_%s_us=%.2f\n", name, (cpu_now() - c0) * 1e6 / (double)ns);
	sealed_len = itk_buf_len(sb);
	if ((sealed = malloc(sealed_len)) == NULL) {
		goto out;
	}
	memcpy(sealed, itk_buf_ptr(sb), sealed_len);
	t0 = now();
	c0 = cpu_now();
	do {
		/* Check the time once per 16 opens: clock_gettime is cheap
		 * but not free next to a 1 KiB open. */
		for (int i = 0; i < 16; i++) {
			itk_buf_reset(ob);
			if (itk_open(pk, sk, sealed, sealed_len, ob) !=
				ITK_OK ||
			    itk_buf_len(ob) != len) {
				fprintf(stderr, "open-bench: open failed\n");
				goto out;
			}
		}
		n += 16;
		dt = now() - t0;
	} while (dt < seconds);
	c0 = cpu_now() - c0;
	printf("open_%s_sealed_bytes=%zu\nopen_%s_per_s=%.1f\n"
	       "open_%s_us=%.2f\nopen_%s_wall_us=%.2f\n",
	       name, sealed_len, name, (double)n / c0, name,
	       c0 * 1e6 / (double)n, name, dt * 1e6 / (double)n);
	rc = 0;
out:
	itk_buf_free(sb);
	itk_buf_free(ob);
	free(msg);
	free(sealed);
	return rc;
}

int
main(int argc, char **argv)
{
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];
	uint64_t ms = 2000;
	int rc = 1;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: open-bench [SECONDS]\n");
		return 2;
	}
	if (argc == 2) {
		uint64_t s;
		if (itk_parse_u64(argv[1], 1, 3600, &s) != ITK_OK) {
			fprintf(stderr, "open-bench: bad SECONDS\n");
			return 2;
		}
		ms = s * 1000u;
	}
	if (itk_crypto_init() != ITK_OK) {
		fprintf(stderr, "open-bench: libsodium failed\n");
		return 1;
	}
	crypto_box_keypair(pk, sk);
	if (run("1k", 1024, (double)ms / 1000.0, pk, sk) != 0 ||
	    run("16k", 16384, (double)ms / 1000.0, pk, sk) != 0) {
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}
