/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-worker: dials the gateway, takes leased submissions, opens and
 * triages them, commits them to the vault, and only then acknowledges
 * them.  Delivery is at-least-once; the vault is idempotent on the
 * submission id, so every acknowledged submission is stored exactly once.
 *
 * Two processes (docs/privsep.md): this one forks, before any secret is
 * read, an unprivileged child that dials the gateway and parses what it
 * sends; then it becomes the monitor, which loads the intake keys and
 * opens the vault, drops privileges and answers the child's requests.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
#include "monitor.h"
#include "monitor_wrap.h"
#include "privdrop.h"
#include "process.h"
#include "sandbox.h"
#include "triage.h"
#include "tier.h"
#include "vault.h"

#define ACKS_MAX 4096u
struct worker_cfg {
	wk_tier_config t; /* link, keys, vault, user/group (tier.h) */
	const char *rules;
	const char *id;
	const char *child_user, *child_chroot;
	uint64_t batch;
	uint64_t wait_ms;
};

static atomic_int stopping;
/* The monitor forwards SIGTERM/SIGINT to its child, which stops cleanly
 * (last acknowledgements) and closes the monitor socket. */
static volatile pid_t child_pid;
static volatile sig_atomic_t early_signal; /* came before the fork */

static void
forward_signal(int sig)
{
	if (child_pid > 0) {
		(void)kill(child_pid, sig);
	} else {
		early_signal = sig;
	}
}

/*
 * In the child, SIGTERM and SIGINT are blocked in every thread and taken
 * here by sigwait, so that stopping can cancel the link's blocking exchange
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
	fprintf(
	    f,
	    "usage: intake-worker --config FILE\n"
	    "\n"
	    "Dials the gateway's worker link, opens and triages submissions"
	    "\nand commits them to the vault.  Config keys (key = value):\n"
	    "  link_url              gateway link to dial (ipc://, tcp:// "
	    "or\n"
	    "                        tls+tcp://)\n"
	    "  link_tls_cert, link_tls_key\n"
	    "                        tls+tcp://: this worker's PEM "
	    "certificate and key\n"
	    "  link_tls_ca           tls+tcp://: CA the gateway's "
	    "certificate chains to\n"
	    "  link_tls_server_name  tls+tcp://: name the gateway's "
	    "certificate carries\n"
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
	    "1000)\n"
	    "  user, group           started as root: the monitor's ids "
	    "(default\n"
	    "                        nobody/nogroup)\n"
	    "  child_user            the network child's user (default: "
	    "user)\n"
	    "  child_chroot          empty directory the child chroots to "
	    "(not\n"
	    "                        with an ipc:// link_url)\n");
}

/* The worker's own keys (tier.h reads the common ones). */
static itk_err
read_own(itk_config *c, void *arg, char *err, size_t errlen)
{
	struct worker_cfg *w = arg;
	itk_err r;

	w->rules = itk_config_str(c, "triage_rules", NULL);
	w->id = itk_config_str(c, "worker_id", NULL);
	w->child_user = itk_config_str(c, "child_user", NULL);
	w->child_chroot = itk_config_str(c, "child_chroot", NULL);
	if ((r = itk_config_u64(c, "batch_max", 64, 1, 1024, &w->batch, err,
				errlen)) != ITK_OK) {
		return r;
	}
	return itk_config_u64(c, "link_wait_ms", 1000, 100, 5000, &w->wait_ms,
			      err, errlen);
}

/* The chroot would hide the socket path from the child's re-dials. */
static itk_err
check_own(void *arg, const wk_tier_config *t, char *err, size_t errlen)
{
	const struct worker_cfg *w = arg;

	if (w->child_chroot != NULL &&
	    strncmp(t->link_url, "ipc://", 6) == 0) {
		snprintf(
		    err, errlen,
		    "child_chroot cannot be used with an ipc:// link_url");
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

/* The child's request/commit loop.  acks carries what is committed but
 * not yet confirmed by an answer from the gateway.  mon: the monitor. */
static itk_err
run(const struct worker_cfg *w, const char *wid, wk_link *link, int mon)
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
		    last ? 0
			 : (uint32_t)(w->batch < ACKS_MAX - nacks
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
		r = wk_link_exchange(
		    link, &req, last ? 2000 : (uint32_t)w->wait_ms + 10000,
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
		if (resp->n_deliveries == 0) {
			itk_wire_free(resp);
			continue;
		}
		/* More than asked for would overrun the ack array. */
		if (resp->n_deliveries > req.max_deliveries) {
			itk_log_warn("link.too_many", "n=%zu asked=%u",
				     resp->n_deliveries, req.max_deliveries);
			itk_wire_free(resp);
			continue;
		}
		r = wk_mm_process_batch(mon, resp->deliveries,
					resp->n_deliveries, &st,
					&ackbuf[nacks]);
		if (r != ITK_OK) {
			/* Not acknowledged: the gateway re-leases them. */
			itk_log_error("vault.commit_failed", "err=%s n=%zu",
				      itk_errname(r), resp->n_deliveries);
			itk_wire_free(resp);
			if (r == ITK_E_NOMEM || r == ITK_E_FULL ||
			    r == ITK_E_IO || r == ITK_E_FORMAT ||
			    r == ITK_E_SHORT || r == ITK_E_TRAILING) {
				goto out; /* or the monitor is gone */
			}
			continue;
		}
		/* Ack by the ids the monitor computed, as the vault stored. */
		nacks += resp->n_deliveries;
		itk_log_info("batch.committed",
			     "n=%zu new_cases=%llu follow_ups=%llu "
			     "duplicates=%llu quarantined=%llu",
			     resp->n_deliveries,
			     (unsigned long long)st.new_cases,
			     (unsigned long long)st.follow_ups,
			     (unsigned long long)st.duplicates,
			     (unsigned long long)st.quarantined);
		itk_wire_free(resp);
	}
out:
	free(acks);
	free(ackbuf);
	return r;
}

/*
 * The passphrase may sit in the environment the child inherited: wipe
 * the string itself (unsetenv only unlinks it) before anything else.
 */
static void
scrub_env(void)
{
	char *e = getenv(ITK_ASKPASS_ENV);

	if (e != NULL) {
		sodium_memzero(e, strlen(e));
		(void)unsetenv(ITK_ASKPASS_ENV);
	}
}

/*
 * The unprivileged child: it never sees a key or the vault (forked before
 * either was loaded).  Order: read the link's TLS files (while root and
 * before the chroot hides them), drop ids, die with the monitor, block the
 * signals (before nng starts threads), dial, wipe the TLS copies, sandbox,
 * tell the monitor, serve.  The link's TLS key is the one secret the child
 * holds: it is the network end of the link (docs/privsep.md).
 */
static int
child_main(const struct worker_cfg *w, const char *wid, int mon,
	   const itk_privdrop_target *t, pid_t monitor)
{
	wk_link *link = NULL;
	itk_link_tls *tls = NULL;
	char err[256] = "";
	struct sigthread sigt;
	pthread_t sigtid;
	int sigt_running = 0;
	itk_sandbox_params sp = {0};
	size_t nkeys = 0;
	int rc = 1;
	itk_err r;

	itk_log_init("worker-child");
	scrub_env();
	(void)prctl(PR_SET_NAME, "intake-wk-child", 0, 0, 0);
	if ((r = itk_link_tls_load(&w->t.link_tls, true, &tls, err,
				   sizeof(err))) != ITK_OK) {
		itk_log_error("start.failed",
			      "what=link_tls err=%s why=\"%s\"",
			      itk_errname(r), err);
		goto out;
	}
	if (itk_privdrop_apply(t, w->child_chroot) != ITK_OK) {
		goto out;
	}
	/* Set after the id change, which clears it; then check that the
	 * monitor did not die in between. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != monitor) {
		goto out;
	}
	sigemptyset(&sigt.set);
	sigaddset(&sigt.set, SIGTERM);
	sigaddset(&sigt.set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &sigt.set, NULL) != 0) {
		goto out;
	}
	r = wk_link_new_tls(w->t.link_url, tls, &link);
	itk_link_tls_free(tls); /* nng holds the parsed copy */
	tls = NULL;
	if (r != ITK_OK) {
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
	/*
	 * glibc's malloc reads /sys/devices/system/cpu/online (openat, which
	 * the sandbox kills) the first time a thread needs a ninth arena; a
	 * link that keeps re-dialling (a refused TLS handshake) runs nng's
	 * resolver threads until one does.  A fixed cap, the default's value
	 * computed now, means glibc never asks.  A sanitizer's allocator
	 * refuses mallopt (returns 0) and has no such read: not fatal.
	 */
	if (mallopt(M_ARENA_MAX, 8 * get_nprocs()) != 1) {
		itk_log_info("malloc.arena_cap", "applied=0");
	}
	if ((r = itk_sandbox_apply(ITK_SANDBOX_WORKER_CHILD, &sp)) != ITK_OK ||
	    (r = wk_mm_ready(mon, &nkeys)) != ITK_OK) {
		itk_log_error("start.failed", "what=child err=%s",
			      itk_errname(r));
		goto out;
	}
	r = run(w, wid, link, mon);
	rc = r == ITK_OK ? 0 : 1;
out:
	if (sigt_running) {
		/* Wakes the signal thread if no signal came; then joins it
		 * before the link it uses is freed. */
		pthread_kill(sigtid, SIGTERM);
		pthread_join(sigtid, NULL);
	}
	wk_link_free(link);
	itk_link_tls_free(tls);
	return rc;
}

/* The monitor: keys, rules, vault; then drop, sandbox and serve. */
static int
monitor_main(const struct worker_cfg *w, const char *wid, int mon,
	     const itk_privdrop_target *t)
{
	char *pass = NULL;
	wk_keyring *keys = NULL;
	triage_rules *rules = NULL;
	vault *v = NULL;
	wk_monitor *m = NULL;
	itk_sandbox_params sp = {.child = child_pid};
	char err[256] = "";
	int rc = 1, status = 0;
	itk_err r;

	(void)prctl(PR_SET_NAME, "intake-wk-mon", 0, 0, 0);
	if ((r = wk_daemon_passphrase(w->t.keys_passphrase_file, &pass)) !=
	    ITK_OK) {
		itk_log_error("start.failed", "what=passphrase err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_keyring_load(w->t.keys_dir, pass, &keys)) != ITK_OK) {
		itk_log_error("start.failed", "what=intake_keys err=%s",
			      itk_errname(r));
		goto out;
	}
	if (w->rules != NULL) {
		r = triage_rules_load(w->rules, &rules, err, sizeof(err));
	} else {
		r = triage_rules_default(&rules);
	}
	if (r != ITK_OK) {
		itk_log_error("start.failed", "what=triage_rules err=%s",
			      itk_errname(r));
		fprintf(stderr, "intake-worker: %s\n", err);
		goto out;
	}
	if ((r = wk_vault_open_keyed(w->t.vault_dir, w->t.map_size,
				     w->t.vault_key, pass, &v)) != ITK_OK) {
		itk_log_error("start.failed", "what=vault err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_askpass_free(pass); /* wipes */
	pass = NULL;
	if ((r = itk_privdrop_apply(t, NULL)) != ITK_OK ||
	    (r = itk_sandbox_apply(ITK_SANDBOX_WORKER_MONITOR, &sp)) !=
		ITK_OK) {
		goto out;
	}
	if ((m = wk_monitor_new(keys, rules, v, wid, w->batch)) == NULL) {
		itk_log_error("start.failed", "what=monitor err=NOMEM");
		goto out;
	}
	if ((r = wk_monitor_serve(m, mon)) != ITK_OK) {
		itk_log_error("monitor.failed", "err=%s", itk_errname(r));
	}
	rc = r == ITK_OK ? 0 : 1;
out:
	if (rc != 0) {
		/* A child that asks for what it may not, or a monitor that
		 * cannot serve: the child must not outlive it. */
		(void)kill(child_pid, SIGKILL);
	}
	(void)close(mon);
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (WIFSIGNALED(status)) {
		itk_log_error("child.died", "signal=%d", WTERMSIG(status));
		rc = 1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		rc = 1;
	}
	itk_log_info("worker.stopped", "id=%s rc=%d", wid, rc);
	wk_monitor_free(m);
	vault_free(v);
	triage_rules_free(rules);
	wk_keyring_free(keys);
	itk_askpass_free(pass);
	return rc;
}

int
main(int argc, char **argv)
{
	struct worker_cfg w = {0};
	itk_config *cfg = NULL;
	wk_tier_spec spec = {.own = read_own, .arg = &w, .check = check_own};
	itk_privdrop_target mon_t, child_t;
	char wid[64];
	struct sigaction sa;
	int sv[2] = {-1, -1};
	int rc = 1;
	pid_t pid;

	if ((rc = wk_tier_begin(argc, argv, "worker", usage, &spec, &w.t, &cfg,
				&mon_t)) >= 0) {
		return rc;
	}
	rc = 1;
	if (w.id == NULL) {
		snprintf(wid, sizeof(wid), "worker-%ld", (long)getpid());
	} else {
		snprintf(wid, sizeof(wid), "%s", w.id);
	}
	/* Both processes: no core, no ptrace by our uid; ids resolved
	 * while /etc/passwd is readable. */
	if (itk_privdrop_resolve(
		w.child_user != NULL ? w.child_user : w.t.user,
		w.child_user != NULL ? NULL : w.t.group, &child_t) != ITK_OK) {
		rc = 2;
		goto out;
	}
	/* The monitor is single-threaded: a plain handler forwards. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		itk_log_error("start.failed", "what=socketpair errno=%d",
			      errno);
		goto out;
	}
	/* Fork before any secret exists in this address space. */
	if ((pid = fork()) < 0) {
		itk_log_error("start.failed", "what=fork errno=%d", errno);
		goto out;
	}
	if (pid == 0) {
		pid_t monitor = getppid();

		(void)close(sv[0]);
		rc = child_main(&w, wid, sv[1], &child_t, monitor);
		(void)close(sv[1]);
		goto out;
	}
	child_pid = pid;
	if (early_signal != 0) {
		(void)kill(pid, early_signal);
	}
	(void)close(sv[1]);
	rc = monitor_main(&w, wid, sv[0], &mon_t);
out:
	itk_config_free(cfg);
	return rc;
}
