/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-worker: dials the gateway, takes leased submissions, opens and
 * triages them, commits them to the vault, and only then acknowledges
 * them.  Delivery is at-least-once; the vault is idempotent on the
 * submission id, so every acknowledged submission is stored exactly once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "file.h"
#include "itk_config.h"
#include "keyring.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "process.h"
#include "triage.h"
#include "vault.h"

#define ACKS_MAX 4096u

struct worker_cfg {
	const char *link_url;
	const char *keys_dir;
	const char *keys_passphrase_file;
	const char *vault_dir;
	const char *vault_key;
	const char *rules;
	const char *id;
	uint64_t batch;
	uint64_t wait_ms;
	uint64_t map_size;
};

static atomic_int stopping;

/*
 * SIGTERM and SIGINT are blocked in every thread and taken here by
 * sigwait, so that stopping can cancel the link's blocking exchange
 * (nng calls are not async-signal-safe).
 */
struct sigthread {
	sigset_t set;
	wk_link *link;
};

static void *
signal_thread(void *arg)
{
	struct sigthread *st = arg;
	int sig = 0;

	if (sigwait(&st->set, &sig) == 0) {
		atomic_store(&stopping, 1);
		wk_link_stop(st->link);
	}
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: intake-worker --config FILE\n"
		"\n"
		"Dials the gateway's worker link, opens and triages submissions"
		"\nand commits them to the vault.  Config keys (key = value):\n"
		"  link_url              gateway link to dial (ipc:// or "
		"tcp://)\n"
		"  keys_dir              key store with the intake secret keys\n"
		"  keys_passphrase_file  passphrase of the key files (omit for "
		"--dev keys)\n"
		"  vault_dir             LMDB vault directory\n"
		"  vault_key             vault key file (from intake-keys)\n"
		"  vault_map_size        bytes (default 4294967296)\n"
		"  triage_rules          rules file (default: built in)\n"
		"  worker_id             name in logs (default worker-PID)\n"
		"  batch_max             deliveries per request (1-1024, "
		"default 64)\n"
		"  link_wait_ms          long-poll time (100-5000, default "
		"1000)\n");
}

static itk_err
load_config(const char *path, struct worker_cfg *w, itk_config **cfgp)
{
	char err[256] = "";
	itk_config *c = NULL;
	itk_err r;

	if ((r = itk_config_load(path, &c, err, sizeof(err))) != ITK_OK) {
		fprintf(stderr, "intake-worker: %s\n", err);
		return r;
	}
	w->link_url = itk_config_str(c, "link_url", NULL);
	w->keys_dir = itk_config_str(c, "keys_dir", NULL);
	w->keys_passphrase_file =
	    itk_config_str(c, "keys_passphrase_file", NULL);
	w->vault_dir = itk_config_str(c, "vault_dir", NULL);
	w->vault_key = itk_config_str(c, "vault_key", NULL);
	w->rules = itk_config_str(c, "triage_rules", NULL);
	w->id = itk_config_str(c, "worker_id", NULL);
	if ((r = itk_config_u64(c, "batch_max", 64, 1, 1024, &w->batch, err,
				sizeof(err))) != ITK_OK ||
	    (r = itk_config_u64(c, "link_wait_ms", 1000, 100, 5000,
				&w->wait_ms, err, sizeof(err))) != ITK_OK ||
	    (r = itk_config_u64(c, "vault_map_size", 4ull << 30, 1ull << 20,
				1ull << 40, &w->map_size, err, sizeof(err))) !=
		ITK_OK ||
	    (r = itk_config_check_unused(c, err, sizeof(err))) != ITK_OK) {
		fprintf(stderr, "intake-worker: %s: %s\n", path, err);
		itk_config_free(c);
		return r;
	}
	if (w->link_url == NULL || w->keys_dir == NULL ||
	    w->vault_dir == NULL || w->vault_key == NULL) {
		fprintf(stderr, "intake-worker: %s: link_url, keys_dir, "
				"vault_dir and vault_key are required\n",
			path);
		itk_config_free(c);
		return ITK_E_CONFIG;
	}
	*cfgp = c;
	return ITK_OK;
}

/*
 * The key files' passphrase: from keys_passphrase_file or the
 * INTAKE_KEYS_PASSPHRASE variable; none (NULL) for a development store.
 * A daemon never prompts.
 */
static itk_err
read_passphrase(const char *path, char **out)
{
	*out = NULL;
	if (path == NULL && getenv(ITK_ASKPASS_ENV) == NULL) {
		return ITK_OK;
	}
	return itk_askpass(path, NULL, false, out);
}

static itk_err
open_vault(const struct worker_cfg *w, const char *pass, vault **v)
{
	itk_secret_key *vk = NULL;
	vault_options vo = {.dir = w->vault_dir, .map_size = w->map_size};
	itk_err r;

	if ((r = itk_key_load(w->vault_key, pass, &vk)) != ITK_OK) {
		return r;
	}
	if (itk_key_kind_of(vk) != ITK_KEY_VAULT) {
		itk_key_free(vk);
		return ITK_E_CONFIG;
	}
	r = vault_open(&vo, itk_key_secret(vk), v);
	itk_key_free(vk);
	return r;
}

/* The request/commit loop.  acks carries what is committed but not yet
 * confirmed by an answer from the gateway. */
static itk_err
run(const struct worker_cfg *w, const char *wid, wk_link *link,
    const wk_keyring *keys, const triage_rules *rules, vault *v)
{
	uint8_t(*ackbuf)[ITK_HASH_LEN] = NULL;
	ProtobufCBinaryData *acks = NULL;
	size_t nacks = 0;
	itk_err r = ITK_E_NOMEM;

	if ((ackbuf = calloc(ACKS_MAX, ITK_HASH_LEN)) == NULL ||
	    (acks = calloc(ACKS_MAX, sizeof(*acks))) == NULL) {
		goto out;
	}
	for (size_t i = 0; i < ACKS_MAX; i++) {
		acks[i].data = ackbuf[i];
		acks[i].len = ITK_HASH_LEN;
	}
	for (;;) {
		itk_pb_worker_request req = INTAKE__V1__WORKER_REQUEST__INIT;
		itk_pb_gateway_response *resp = NULL;
		wk_batch_stats st;
		int last = atomic_load(&stopping) != 0;

		req.version = ITK_WIRE_VERSION;
		req.worker_id = (char *)wid;
		req.n_acks = nacks;
		req.acks = acks;
		/* Room for every delivery's ack in the next request. */
		req.max_deliveries =
		    last ? 0 : (uint32_t)(w->batch < ACKS_MAX - nacks
					      ? w->batch
					      : ACKS_MAX - nacks);
		req.wait_ms = last ? 0 : (uint32_t)w->wait_ms;
		/*
		 * A live gateway answers within wait_ms; the margin covers a
		 * slow one.  The last exchange is short: a stopping worker
		 * whose gateway is gone must not hang, and its acks are only
		 * an optimisation (unacked leases expire and the vault
		 * recognises the redelivery).
		 */
		r = wk_link_exchange(link, &req,
				     last ? 2000 : (uint32_t)w->wait_ms + 10000,
				     last, &resp);
		if (r != ITK_OK) {
			if (last) {
				itk_log_warn("worker.final_ack_failed",
					     "pending=%zu", nacks);
				r = ITK_OK;
				goto out;
			}
			itk_log_debug("link.retry", "err=%s", itk_errname(r));
			continue;
		}
		nacks = 0; /* the gateway answered: acks applied */
		if (resp->error != NULL) {
			itk_log_warn("link.refused", "code=%u",
				     resp->error->code);
		}
		if (last) {
			itk_wire_free(resp);
			r = ITK_OK;
			goto out;
		}
		r = wk_process_batch(keys, rules, v, resp->deliveries,
				     resp->n_deliveries, &st);
		if (r != ITK_OK) {
			/* Not acknowledged: the gateway re-leases them. */
			itk_log_error("vault.commit_failed", "err=%s n=%zu",
				      itk_errname(r), resp->n_deliveries);
			itk_wire_free(resp);
			if (r == ITK_E_NOMEM || r == ITK_E_FULL) {
				goto out;
			}
			continue;
		}
		for (size_t i = 0; i < resp->n_deliveries; i++) {
			/* Ack by the id we compute, as the vault stored it. */
			const ProtobufCBinaryData *s =
			    &resp->deliveries[i]->submission->sealed;
			itk_sha256(ackbuf[nacks++], s->data, s->len);
		}
		if (resp->n_deliveries > 0) {
			itk_log_info("batch.committed",
				     "n=%zu new_cases=%llu follow_ups=%llu "
				     "duplicates=%llu quarantined=%llu",
				     resp->n_deliveries,
				     (unsigned long long)st.new_cases,
				     (unsigned long long)st.follow_ups,
				     (unsigned long long)st.duplicates,
				     (unsigned long long)st.quarantined);
		}
		itk_wire_free(resp);
	}
out:
	free(acks);
	free(ackbuf);
	return r;
}

int
main(int argc, char **argv)
{
	struct worker_cfg w = {0};
	itk_config *cfg = NULL;
	char *pass = NULL;
	char wid[64];
	wk_keyring *keys = NULL;
	triage_rules *rules = NULL;
	vault *v = NULL;
	wk_link *link = NULL;
	struct sigthread sigt;
	pthread_t sigtid;
	int sigt_running = 0;
	char err[256] = "";
	int rc = 1;
	itk_err r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		usage(stderr);
		return 2;
	}
	itk_log_init("worker");
	if (itk_crypto_init() != ITK_OK) {
		itk_log_error("start.failed", "what=libsodium");
		return 1;
	}
	if (load_config(argv[2], &w, &cfg) != ITK_OK) {
		return 2;
	}
	if (w.id == NULL) {
		snprintf(wid, sizeof(wid), "worker-%ld", (long)getpid());
	} else {
		snprintf(wid, sizeof(wid), "%s", w.id);
	}
	/* Before any thread exists, so that every thread inherits it. */
	sigemptyset(&sigt.set);
	sigaddset(&sigt.set, SIGTERM);
	sigaddset(&sigt.set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &sigt.set, NULL) != 0) {
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = read_passphrase(w.keys_passphrase_file, &pass)) != ITK_OK) {
		itk_log_error("start.failed", "what=passphrase err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_keyring_load(w.keys_dir, pass, &keys)) != ITK_OK) {
		itk_log_error("start.failed", "what=intake_keys err=%s",
			      itk_errname(r));
		goto out;
	}
	if (w.rules != NULL) {
		r = triage_rules_load(w.rules, &rules, err, sizeof(err));
	} else {
		r = triage_rules_default(&rules);
	}
	if (r != ITK_OK) {
		itk_log_error("start.failed", "what=triage_rules err=%s",
			      itk_errname(r));
		fprintf(stderr, "intake-worker: %s\n", err);
		goto out;
	}
	if ((r = open_vault(&w, pass, &v)) != ITK_OK) {
		itk_log_error("start.failed", "what=vault err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_askpass_free(pass); /* wipes */
	pass = NULL;
	if ((r = wk_link_new(w.link_url, &link)) != ITK_OK) {
		itk_log_error("start.failed", "what=link err=%s",
			      itk_errname(r));
		goto out;
	}
	sigt.link = link;
	if (pthread_create(&sigtid, NULL, signal_thread, &sigt) != 0) {
		itk_log_error("start.failed", "what=signal_thread");
		goto out;
	}
	sigt_running = 1;
	itk_log_info("worker.started", "id=%s intake_keys=%zu batch=%llu",
		     wid, wk_keyring_count(keys),
		     (unsigned long long)w.batch);
	r = run(&w, wid, link, keys, rules, v);
	itk_log_info("worker.stopped", "id=%s err=%s", wid, itk_errname(r));
	rc = r == ITK_OK ? 0 : 1;
out:
	if (sigt_running) {
		/* Wakes the signal thread if no signal came; then joins it
		 * before the link it uses is freed. */
		pthread_kill(sigtid, SIGTERM);
		pthread_join(sigtid, NULL);
	}
	wk_link_free(link);
	vault_free(v);
	triage_rules_free(rules);
	wk_keyring_free(keys);
	itk_askpass_free(pass);
	itk_config_free(cfg);
	return rc;
}
