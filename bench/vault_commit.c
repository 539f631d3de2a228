/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault-bench: commits per second into a fresh vault, for batches of 1 and
 * 64 messages (each a new case with its own mailbox, sealed bytes of the
 * 1 KiB bucket), with the default durable sync.  A measurement, not a
 * test:  vault-bench [DIR] [SECONDS]   (DIR default: a new /tmp directory)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"
#include "vault.h"

#define SEALED_LEN 1072u /* 1024 bucket + 48 */
#define BATCH_MAX  64u

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t sealed[BATCH_MAX][SEALED_LEN];
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
			randombytes_buf(sealed[i], SEALED_LEN);
			randombytes_buf(mbx[i], 32);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			itk_sha256(msgs[i].submission_id, sealed[i],
				   SEALED_LEN);
			msgs[i].sealed = sealed[i];
			msgs[i].sealed_len = SEALED_LEN;
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
	vault *v = NULL;
	int rc = 1;
	itk_err r;

	if (argc > 3 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: vault-bench [DIR] [SECONDS]\n");
		return 2;
	}
	if (argc > 2) {
		seconds = strtod(argv[2], NULL);
		if (!(seconds > 0.0 && seconds < 3600.0)) {
			fprintf(stderr, "vault-bench: bad SECONDS\n");
			return 2;
		}
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
	printf("vault-bench: %s, %u-byte sealed messages, durable sync\n",
	       o.dir, SEALED_LEN);
	if (run(v, 1, seconds) != 0 || run(v, 64, seconds) != 0) {
		goto out;
	}
	rc = 0;
out:
	vault_free(v);
	sodium_memzero(key, sizeof(key));
	return rc;
}
