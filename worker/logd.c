/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-logd: the vault log's checkpointer and publisher.  Every few
 * seconds while the log grows it signs a checkpoint with the log key and
 * pushes the new tiles, entry bundles and the checkpoint to the gateway
 * over the worker link (WorkerRequest.log_files, no deliveries asked).
 *
 * A process of its own, not a thread of intake-worker: the log key then
 * lives in one process that never parses network input but the
 * gateway's small answers, and with two workers there is still one signer.
 * Two logd processes by mistake would still be safe: each signature is
 * made in an LMDB write transaction and checkpoint_sign never signs two
 * roots for one size, so the checkpoints stay one linear sequence.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "itk_config.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "logpub.h"
#include "privdrop.h"
#include "sandbox.h"
#include "tier.h"
#include "vault.h"

struct logd_cfg {
	wk_tier_config t; /* link, keys, vault, user/group (tier.h) */
	const char *origin, *id;
	uint64_t interval_ms;
};

/* Stopping: a signal thread (sigwait) sets this, wakes the main loop's
 * wait and cancels the link's exchange (nng is not signal-safe). */
struct stopper {
	sigset_t set;
	wk_link *link;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	atomic_int stopping;
};

static void *
signal_thread(void *arg)
{
	struct stopper *st = arg;
	int sig = 0;

	if (sigwait(&st->set, &sig) == 0) {
		pthread_mutex_lock(&st->mtx);
		atomic_store(&st->stopping, 1);
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mtx);
		wk_link_stop(st->link);
	}
	return NULL;
}

/* Waits ms milliseconds or until stopping. */
static void
pause_ms(struct stopper *st, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000u);
	ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->mtx);
	while (!atomic_load(&st->stopping) &&
	       pthread_cond_timedwait(&st->cv, &st->mtx, &ts) == 0) {
	}
	pthread_mutex_unlock(&st->mtx);
}

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: intake-logd --config FILE\n"
	    "\n"
	    "Signs checkpoints of the vault's Merkle log with the log key\n"
	    "and pushes the log (C2SP tiles) to the gateway.  Config keys:\n"
	    "  link_url              gateway worker link to dial\n"
	    "  link_tls_cert, link_tls_key, link_tls_ca, "
	    "link_tls_server_name\n"
	    "                        tls+tcp://: as intake-worker's\n"
	    "  keys_dir              key store holding log.key (and the "
	    "bundle)\n"
	    "  keys_passphrase_file  passphrase of the key files (omit for "
	    "--dev keys)\n"
	    "  vault_dir             LMDB vault directory\n"
	    "  vault_key             vault key file\n"
	    "  vault_map_size        bytes (default 4294967296)\n"
	    "  log_interval_ms       time between checkpoints (100-600000, "
	    "default 2000)\n"
	    "  log_origin            log name (default: the bundle's "
	    "origin)\n"
	    "  worker_id             name on the link (default logd)\n"
	    "  user, group           started as root: the ids it drops to "
	    "(default\n"
	    "                        nobody/nogroup)\n");
}

/* logd's own keys (tier.h reads the common ones). */
static itk_err
read_own(itk_config *c, void *arg, char *err, size_t errlen)
{
	struct logd_cfg *w = arg;

	w->origin = itk_config_str(c, "log_origin", NULL);
	w->id = itk_config_str(c, "worker_id", "logd");
	return itk_config_u64(c, "log_interval_ms", 2000, 100, 600000,
			      &w->interval_ms, err, errlen);
}

int
main(int argc, char **argv)
{
	struct logd_cfg w = {0};
	itk_config *cfg = NULL;
	wk_tier_spec spec = {.own = read_own, .arg = &w};
	char *pass = NULL;
	vault *v = NULL;
	wk_logpub *lp = NULL;
	wk_link *link = NULL;
	struct stopper st = {.mtx = PTHREAD_MUTEX_INITIALIZER,
			     .cv = PTHREAD_COND_INITIALIZER};
	pthread_t sigtid;
	itk_privdrop_target pt;
	char err[256] = "";
	int sigt_running = 0;
	int rc = 1;
	itk_err r;

	if ((rc = wk_tier_begin(argc, argv, "logd", usage, &spec, &w.t, &cfg,
				&pt)) >= 0) {
		return rc;
	}
	rc = 1;
	/* Before any thread exists, so that every thread inherits it. */
	sigemptyset(&st.set);
	sigaddset(&st.set, SIGTERM);
	sigaddset(&st.set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &st.set, NULL) != 0) {
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = wk_daemon_passphrase(w.t.keys_passphrase_file, &pass)) !=
	    ITK_OK) {
		itk_log_error("start.failed", "what=passphrase err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_vault_open_keyed(w.t.vault_dir, w.t.map_size,
				     w.t.vault_key, pass, &v)) != ITK_OK) {
		itk_log_error("start.failed", "what=vault err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_logpub_new(v, w.t.keys_dir, pass, w.origin, w.interval_ms,
			       &lp)) != ITK_OK) {
		itk_log_error("start.failed", "what=log_key err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_askpass_free(pass);
	pass = NULL;
	if ((r = wk_tier_link_new(&w.t, &link, err, sizeof(err))) != ITK_OK) {
		itk_log_error("start.failed", "what=link err=%s why=\"%s\"",
			      itk_errname(r), err);
		goto out;
	}
	st.link = link;
	if (pthread_create(&sigtid, NULL, signal_thread, &st) != 0) {
		goto out;
	}
	sigt_running = 1;
	/* Everything is open (log key, vault, link): drop, then the
	 * allow-list, on every thread. */
	if ((r = wk_tier_lock_down(&pt, ITK_SANDBOX_LOGD, NULL)) != ITK_OK) {
		itk_log_error("start.failed", "what=lock_down err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_log_info("logd.started", "interval_ms=%llu",
		     (unsigned long long)w.interval_ms);
	while (!atomic_load(&st.stopping)) {
		itk_pb_worker_request req = INTAKE__V1__WORKER_REQUEST__INIT;
		itk_pb_gateway_response *resp = NULL;

		req.version = ITK_WIRE_VERSION;
		req.worker_id = (char *)(uintptr_t)w.id;
		wk_logpub_fill(lp, &req);
		r = wk_link_exchange(link, &req, 10000, false, &resp);
		wk_logpub_answer(lp, r == ITK_OK ? resp : NULL);
		itk_wire_free(resp);
		/* More to push right away, else wait for the next tick. */
		if (r != ITK_OK || req.n_log_files == 0) {
			pause_ms(&st, w.interval_ms);
		}
	}
	itk_log_info("logd.stopped", "rc=0");
	rc = 0;
out:
	if (sigt_running) {
		pthread_kill(sigtid, SIGTERM);
		pthread_join(sigtid, NULL);
	}
	wk_link_free(link);
	wk_logpub_free(lp);
	vault_free(v);
	itk_askpass_free(pass);
	itk_config_free(cfg);
	return rc;
}
