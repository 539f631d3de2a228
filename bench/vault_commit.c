/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault-bench: commits per second into a fresh vault, for batches of 1 and
 * 64 messages (each a new case with its own mailbox, sealed bytes of the
 * 2 KiB bucket, where a 1 KiB message lands), with the default durable
 * sync.  A measurement, not a test:
 *   vault-bench [DIR] [SECONDS] [SEALED_BYTES] [BATCH]
 * (DIR default: a new /tmp directory; BATCH, default 64, replaces the
 * second batch size: bench/run passes the gateway's max_deliveries.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "vault.h"

#define SEALED_MAX (32768u + 48u) /* the 32 KiB bucket */
#define BATCH_MAX  64u

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sealed_len = 2048u + 48u; /* 2 KiB bucket + 48 */
static uint8_t sealed[BATCH_MAX][SEALED_MAX];
static uint8_t mbx[BATCH_MAX][32], pk[BATCH_MAX][32];

static int
run(vault *v, size_t batch, double seconds)
{
	vault_message msgs[BATCH_MAX];
	uint64_t commits = 0, n = 0;
	double t0 = now(), dt;
	itk_err r;

	do {
		for (size_t i = 0; i < batch; i++) {
			randombytes_buf(sealed[i], sealed_len);
			randombytes_buf(mbx[i], 32);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			itk_sha256(msgs[i].submission_id, sealed[i],
				   sealed_len);
			msgs[i].sealed = sealed[i];
			msgs[i].sealed_len = sealed_len;
			msgs[i].accepted_at = (uint64_t)time(NULL);
			msgs[i].queue = ITK_QUEUE_OTHER;
			msgs[i].urgency = ITK_URGENCY_NORMAL;
			msgs[i].language = ITK_LANG_EN;
			msgs[i].mailbox_id = mbx[i];
			msgs[i].reply_pk = pk[i];
		}
		if ((r = vault_commit(v, msgs, batch, NULL, 0, NULL)) !=
		    ITK_OK) {
			fprintf(stderr, "vault-bench: commit: %s\n",
				itk_strerror(r));
			return 1;
		}
		commits++;
		n += batch;
		dt = now() - t0;
	} while (dt < seconds);
	printf("batch %3zu: %6.0f commits/s  %8.0f messages/s  (%llu "
	       "commits in %.2f s)\n",
	       batch, (double)commits / dt, (double)n / dt,
	       (unsigned long long)commits, dt);
	return 0;
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/vault-bench-XXXXXX";
	uint8_t key[VAULT_KEY_LEN];
	vault_options o = {0};
	double seconds = 3.0;
	size_t batch = BATCH_MAX;
	vault *v = NULL;
	int rc = 1;
	itk_err r;

	if (argc > 5 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: vault-bench [DIR] [SECONDS] "
				"[SEALED_BYTES] [BATCH]\n");
		return 2;
	}
	if (argc > 2) {
		seconds = strtod(argv[2], NULL);
		if (!(seconds > 0.0 && seconds < 3600.0)) {
			fprintf(stderr, "vault-bench: bad SECONDS\n");
			return 2;
		}
	}
	if (argc > 3) {
		uint64_t val;
		if (itk_parse_u64(argv[3], 64, SEALED_MAX, &val) != ITK_OK) {
			fprintf(stderr, "vault-bench: bad SEALED_BYTES\n");
			return 2;
		}
		sealed_len = (size_t)val;
	}
	if (argc > 4) {
		uint64_t val;
		if (itk_parse_u64(argv[4], 1, BATCH_MAX, &val) != ITK_OK) {
			fprintf(stderr, "vault-bench: bad BATCH\n");
			return 2;
		}
		batch = (size_t)val;
	}
	o.dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
	if (o.dir == NULL || sodium_init() < 0) {
		fprintf(stderr, "vault-bench: cannot start\n");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	if ((r = vault_open(&o, key, &v)) != ITK_OK) {
		fprintf(stderr, "vault-bench: open %s: %s\n", o.dir,
			itk_strerror(r));
		goto out;
	}
	printf("vault-bench: %s, %zu-byte sealed messages, durable sync\n",
	       o.dir, sealed_len);
	if (run(v, 1, seconds) != 0 || run(v, batch, seconds) != 0) {
		goto out;
	}
	rc = 0;
out:
	vault_free(v);
	sodium_memzero(key, sizeof(key));
	return rc;
}
