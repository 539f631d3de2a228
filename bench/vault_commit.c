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

#include <sys/resource.h>

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

/* CPU seconds of this process (user + system). */
static double
cpu_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0) {
		return 0.0;
	}
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Bytes this process caused to be written to storage (/proc/self/io
 * write_bytes: pages written back, so LMDB's write amplification); 0
 * where the kernel does not account it. */
static unsigned long long
written_now(void)
{
	char line[128];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/io", "r");

	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "write_bytes:", 12) == 0) {
			v = strtoull(line + 12, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static size_t sealed_len = 2048u + 48u; /* 2 KiB bucket + 48 */
static uint8_t sealed[BATCH_MAX][SEALED_MAX];
static uint8_t mbx[BATCH_MAX][32], pk[BATCH_MAX][32];

static int
run(vault *v, size_t batch, double seconds)
{
	vault_message msgs[BATCH_MAX];
	uint64_t commits = 0, n = 0;
	double t0 = now(), c0 = cpu_now(), dt, cpu = 0.0;
	unsigned long long w0 = written_now(), wr = 0;
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
	cpu = cpu_now() - c0; /* includes sealing the inputs: an upper bound */
	wr = written_now() - w0;
	printf("batch %3zu: %6.0f commits/s  %8.0f messages/s  (%llu "
	       "commits in %.2f s; %.0f us CPU and %.1f KiB written per "
	       "message)\n",
	       batch, (double)commits / dt, (double)n / dt,
	       (unsigned long long)commits, dt, cpu * 1e6 / (double)n,
	       (double)wr / 1024.0 / (double)n);
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
