/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit-bench: the auditor's verify (audit_verify, the core of
 * `intake-audit verify`) over a vault of many leaves.  Not a test.
 *
 *   audit-bench [DIR] [LEAVES] [RUNS] [THREADS]
 *                          (default: a temp dir, 1000000, 1, 0 = both CPUs)
 *
 * Builds the vault through vault_commit in batches of new cases without
 * contact data (two leaves each: case created, message added; 64-byte
 * sealed stand-ins), signs one checkpoint, then times audit_verify RUNS
 * times: every leaf read, hashed and rebuilt into the root, every record
 * (cases and messages) hashed and matched with its latest leaf.
 *
 * A DIR given is kept, with its keys in DIR/audit-bench.keys: a second
 * run over it skips the build (minutes at fsync per batch) and only
 * verifies, so that verify can be timed again and again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "file.h"
#include "note.h"
#include "sha256.h"
#include "vault.h"
#include "vault_log.h"

#define BATCH     4000u
#define KEYS_FILE "/audit-bench.keys"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
		   1e6;
}

static void
on_finding(void *arg, audit_finding f, const char *msg)
{
	(void)arg;
	fprintf(stderr, "finding %s: %s\n", audit_finding_name(f), msg);
}

int
main(int argc, char **argv)
{
	char tmp[] = "/tmp/audit-bench-XXXXXX";
	const char *dir = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
	uint64_t leaves = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000u;
	unsigned long runs = argc > 3 ? strtoul(argv[3], NULL, 10) : 1u;
	unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;
	char keys_path[4096];
	itk_buf *kb = NULL;
	uint8_t key[VAULT_KEY_LEN], seed[32], pk[32], sk[64];
	uint8_t kf[VAULT_KEY_LEN + 32];
	uint8_t(*sealed)[64] = NULL;
	vault_message *m = NULL;
	vault_options vo = {0};
	audit_opts ao = {.finding = on_finding};
	audit_report rep;
	note_signer *s = NULL;
	itk_buf *note = NULL;
	vault *v = NULL;
	uint64_t n = 0, have = 0;
	double t0, c0, t_build, t_verify, c_verify;
	int rc = 1;

	if (sodium_init() < 0 || itk_crypto_init() != ITK_OK) {
		return 1;
	}
	if (dir == NULL) {
		if (mkdtemp(tmp) == NULL) {
			return 1;
		}
		dir = tmp;
	}
	vo.dir = dir;
	vo.map_size = 16ull << 30;
	snprintf(keys_path, sizeof(keys_path), "%s" KEYS_FILE, dir);
	if (itk_file_read(keys_path, sizeof(key) + sizeof(seed), &kb) ==
		ITK_OK &&
	    itk_buf_len(kb) == sizeof(key) + sizeof(seed)) {
		/* A vault built before: the same vault key and log key. */
		memcpy(key, itk_buf_ptr(kb), sizeof(key));
		memcpy(seed, itk_buf_ptr(kb) + sizeof(key), sizeof(seed));
	} else {
		randombytes_buf(key, sizeof(key));
		randombytes_buf(seed, sizeof(seed));
		memcpy(kf, key, sizeof(key));
		memcpy(kf + sizeof(key), seed, sizeof(seed));
		if (dir != tmp &&
		    itk_file_write_atomic(keys_path, kf, sizeof(kf), 0600,
					  0) != ITK_OK) {
			fprintf(stderr, "audit-bench: cannot write %s\n",
				keys_path);
			goto out;
		}
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	if ((sealed = calloc(BATCH, sizeof(*sealed))) == NULL ||
	    (m = calloc(BATCH, sizeof(*m))) == NULL ||
	    (note = itk_buf_new(CHECKPOINT_MAX)) == NULL ||
	    note_signer_new("bench.example/log", NOTE_TYPE_ED25519, sk, &s) !=
		ITK_OK ||
	    vault_open(&vo, key, &v) != ITK_OK) {
		fprintf(stderr, "audit-bench: setup failed\n");
		goto out;
	}
	if (vault_log_size(v, &have) != ITK_OK) {
		have = 0; /* a new vault: no log yet */
	}
	n = have; /* sealed stand-ins stay distinct across runs */
	t0 = now_s();
	while (have < leaves) {
		size_t k = 0;
		for (; k < BATCH && have + 2 * (k + 1) <= leaves + 1; k++) {
			memset(&m[k], 0, sizeof(m[k]));
			itk_store_u64(sealed[k], n++);
			randombytes_buf(sealed[k] + 8, sizeof(sealed[k]) - 8);
			m[k].sealed = sealed[k];
			m[k].sealed_len = sizeof(sealed[k]);
			itk_sha256(m[k].submission_id, sealed[k],
				   sizeof(sealed[k]));
			m[k].accepted_at = 1795309200u;
			m[k].language = ITK_LANG_EN;
			m[k].queue = ITK_QUEUE_OTHER;
			m[k].urgency = ITK_URGENCY_NORMAL;
		}
		if (k == 0 || vault_commit(v, m, k, NULL, 0, NULL) != ITK_OK ||
		    vault_log_size(v, &have) != ITK_OK) {
			fprintf(stderr, "audit-bench: commit failed\n");
			goto out;
		}
	}
	if (vault_log_sign(v, s, note, NULL) != ITK_OK) {
		fprintf(stderr, "audit-bench: sign failed\n");
		goto out;
	}
	t_build = now_s() - t0;
	vault_free(v);
	v = NULL;
	ao.threads = threads;
	rc = 0;
	for (unsigned long run = 0; run < runs; run++) {
		t0 = now_s();
		c0 = cpu_s();
		if (audit_verify(dir, note_signer_verifier(s), &ao, &rep) !=
		    ITK_OK) {
			fprintf(stderr, "audit-bench: verify could not run\n");
			rc = 1;
			goto out;
		}
		t_verify = now_s() - t0;
		c_verify = cpu_s() - c0;
		printf("leaves=%llu records=%llu build_s=%.1f verify_s=%.2f "
		       "verify_cpu_s=%.2f leaves_per_s=%.0f findings=%llu "
		       "threads=%s sha256=%s\n",
		       (unsigned long long)rep.leaves,
		       (unsigned long long)rep.records, t_build, t_verify,
		       c_verify, (double)rep.leaves / t_verify,
		       (unsigned long long)rep.findings,
		       threads == 1 ? "1" : "auto",
		       itk_sha256_impl_name(itk_sha256_active()));
		fflush(stdout);
		if (rep.findings != 0) {
			rc = 1;
		}
	}
out:
	vault_free(v);
	itk_buf_free(kb);
	note_signer_free(s);
	itk_buf_free(note);
	free(sealed);
	free(m);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(kf, sizeof(kf));
	if (dir == tmp) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		(void)system(cmd);
	}
	return rc;
}
