/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-opd: the operator service of the worker tier.  Listens on an nng
 * rep0 socket (ipc:// on the same host, tls+tcp:// across hosts), takes
 * signed operator requests, and answers each sealed to its operator.  It
 * holds the intake secret keys (to show cases) and the vault key; it is a
 * process of its own, so the intake worker's loop never waits for staff.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "config.h"
#include "crypto.h"
#include "keyring.h"
#include "keys.h"
#include "log.h"
#include "link.h"
#include "opd.h"
#include "relay.h"
#include "triage.h"
#include "tier.h"
#include "vault.h"
#include "wire.h"

struct opd_cfg {
	const char *listen;
	const char *link_url;
	const char *keys_dir;
	const char *keys_passphrase_file;
	const char *vault_dir;
	const char *vault_key;
	const char *rules;
	const char *tls_cert_key_file;
	itk_link_tls_files link_tls; /* the relay's tls+tcp:// link */
	uint64_t map_size;
	uint64_t lease_s;
	uint64_t skew_s;
	uint64_t approval_s;
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: intake-opd --config FILE\n"
	    "\n"
	    "The operator service: answers intake-op.  Config keys:\n"
	    "  listen                ipc:///path or tls+tcp://host:port\n"
	    "  link_url              the gateway's worker link (replies go "
	    "there)\n"
	    "  keys_dir              key store: intake keys, operators/\n"
	    "  keys_passphrase_file  passphrase of the key files (omit for "
	    "--dev keys)\n"
	    "  vault_dir             LMDB vault directory\n"
	    "  vault_key             vault key file\n"
	    "  vault_map_size        bytes (default 4294967296)\n"
	    "  triage_rules          rules file for phone intake (default: "
	    "built in)\n"
	    "  tls_cert_key_file     PEM certificate and key (tls+tcp)\n"
	    "  link_tls_cert, link_tls_key, link_tls_ca, "
	    "link_tls_server_name\n"
	    "                        a tls+tcp:// link_url: as "
	    "intake-worker's\n"
	    "  lease_seconds         how long next claims a case (60-86400, "
	    "default 900)\n"
	    "  clock_skew_seconds    accepted request age (5-3600, default "
	    "120)\n"
	    "  approval_seconds      how long a two-person request waits for "
	    "its\n"
	    "                        second supervisor (60-604800, default "
	    "3600)\n");
}

static itk_err
load_config(const char *path, struct opd_cfg *w, itk_config **cfgp)
{
	char err[256] = "";
	itk_config *c = NULL;
	itk_err r;

	if ((r = itk_config_load(path, &c, err, sizeof(err))) != ITK_OK) {
		fprintf(stderr, "intake-opd: %s\n", err);
		return r;
	}
	w->listen = itk_config_str(c, "listen", NULL);
	w->link_url = itk_config_str(c, "link_url", NULL);
	w->keys_dir = itk_config_str(c, "keys_dir", NULL);
	w->keys_passphrase_file =
	    itk_config_str(c, "keys_passphrase_file", NULL);
	w->vault_dir = itk_config_str(c, "vault_dir", NULL);
	w->vault_key = itk_config_str(c, "vault_key", NULL);
	w->rules = itk_config_str(c, "triage_rules", NULL);
	w->tls_cert_key_file = itk_config_str(c, "tls_cert_key_file", NULL);
	w->link_tls.url = w->link_url;
	w->link_tls.cert = itk_config_str(c, "link_tls_cert", NULL);
	w->link_tls.key = itk_config_str(c, "link_tls_key", NULL);
	w->link_tls.ca = itk_config_str(c, "link_tls_ca", NULL);
	w->link_tls.server_name =
	    itk_config_str(c, "link_tls_server_name", NULL);
	if ((r = itk_config_u64(c, "vault_map_size", 4ull << 30, 1ull << 20,
				1ull << 40, &w->map_size, err, sizeof(err))) !=
		ITK_OK ||
	    (r = itk_config_u64(c, "lease_seconds", 900, 1, 86400, &w->lease_s,
				err, sizeof(err))) != ITK_OK ||
	    (r = itk_config_u64(c, "clock_skew_seconds", 120, 5, 3600,
				&w->skew_s, err, sizeof(err))) != ITK_OK ||
	    (r = itk_config_u64(c, "approval_seconds", 3600, 60, 604800,
				&w->approval_s, err, sizeof(err))) != ITK_OK ||
	    (r = itk_config_check_unused(c, err, sizeof(err))) != ITK_OK) {
		fprintf(stderr, "intake-opd: %s: %s\n", path, err);
		itk_config_free(c);
		return r;
	}
	if (w->listen == NULL || w->link_url == NULL || w->keys_dir == NULL ||
	    w->vault_dir == NULL || w->vault_key == NULL) {
		fprintf(stderr,
			"intake-opd: %s: listen, link_url, keys_dir, "
			"vault_dir and vault_key are required\n",
			path);
		itk_config_free(c);
		return ITK_E_CONFIG;
	}
	if (itk_link_tls_check(&w->link_tls, true, err, sizeof(err)) !=
	    ITK_OK) {
		fprintf(stderr, "intake-opd: %s: %s\n", path, err);
		itk_config_free(c);
		return ITK_E_CONFIG;
	}
	/* Requests are signed and answers sealed, but who talks to whom
	 * and when is still worth hiding: no plain tcp://. */
	if (strncmp(w->listen, "ipc://", 6) != 0 &&
	    strncmp(w->listen, "tls+tcp://", 10) != 0) {
		fprintf(stderr,
			"intake-opd: %s: listen must be ipc:// or "
			"tls+tcp://\n",
			path);
		itk_config_free(c);
		return ITK_E_CONFIG;
	}
	*cfgp = c;
	return ITK_OK;
}

static itk_err
listen_on(nng_socket s, const struct opd_cfg *w)
{
	nng_listener l;
	nng_tls_config *tls = NULL;
	int rv;

	if ((rv = nng_listener_create(&l, s, w->listen)) != 0) {
		return ITK_E_NET;
	}
	if (strncmp(w->listen, "tls+tcp://", 10) == 0) {
		if (w->tls_cert_key_file == NULL) {
			return ITK_E_CONFIG;
		}
		if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) !=
			0 ||
		    (rv = nng_tls_config_cert_key_file(
			 tls, w->tls_cert_key_file, NULL)) != 0 ||
		    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) !=
			0) {
			if (tls != NULL) {
				nng_tls_config_free(tls);
			}
			return ITK_E_CONFIG;
		}
		nng_tls_config_free(tls); /* the listener holds a reference */
	}
	return nng_listener_start(l, 0) == 0 ? ITK_OK : ITK_E_NET;
}

/* Relays queued replies; a gateway that is away is tried again on the
 * next turn of the loop (at most every half second). */
static void
relay(vault *v, wk_link *l)
{
	size_t sent = 0;
	itk_err r = op_relay_flush(v, l, "opd", &sent);

	if (r != ITK_OK) {
		itk_log_debug("outbox.relay_failed", "err=%s", itk_errname(r));
	} else if (sent > 0) {
		itk_log_info("replies.sent", "n=%zu", sent);
	}
}

static itk_err
serve(opd *s, nng_socket sock, vault *v, wk_link *l)
{
	itk_buf *out = itk_buf_new(ITK_OP_RESPONSE_MAX);

	if (out == NULL) {
		return ITK_E_NOMEM;
	}
	while (!stopping) {
		nng_msg *m = NULL, *a = NULL;
		int rv;
		itk_err r;

		relay(v, l);
		rv = nng_recvmsg(sock, &m, 0);
		if (rv == NNG_ETIMEDOUT) {
			continue; /* look at the stop flag */
		}
		if (rv != 0) {
			if (rv == NNG_ECLOSED) {
				break;
			}
			continue;
		}
		/* The request's own cap is applied by the decoder; the
		 * outcome is logged by opd_handle, the answer sent anyway. */
		r = opd_handle(s, nng_msg_body(m), nng_msg_len(m),
			       (uint64_t)time(NULL), out);
		(void)r;
		nng_msg_free(m);
		if (nng_msg_alloc(&a, itk_buf_len(out)) != 0) {
			continue;
		}
		memcpy(nng_msg_body(a), itk_buf_ptr(out), itk_buf_len(out));
		itk_buf_reset(out); /* wipes */
		if (nng_sendmsg(sock, a, 0) != 0) {
			nng_msg_free(a);
		}
	}
	itk_buf_free(out);
	return ITK_OK;
}

int
main(int argc, char **argv)
{
	struct opd_cfg w = {0};
	itk_config *cfg = NULL;
	char *pass = NULL, err[256] = "";
	wk_keyring *ring = NULL;
	triage_rules *rules = NULL;
	vault *v = NULL;
	opd *s = NULL;
	wk_link *link = NULL;
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	struct sigaction sa;
	opd_options oo;
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
	itk_log_init("opd");
	if (itk_crypto_init() != ITK_OK) {
		return 1;
	}
	if (load_config(argv[2], &w, &cfg) != ITK_OK) {
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = wk_daemon_passphrase(w.keys_passphrase_file, &pass)) !=
	    ITK_OK) {
		itk_log_error("start.failed", "what=passphrase err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_keyring_load(w.keys_dir, pass, &ring)) != ITK_OK) {
		itk_log_error("start.failed", "what=intake_keys err=%s",
			      itk_errname(r));
		goto out;
	}
	r = w.rules != NULL
		? triage_rules_load(w.rules, &rules, err, sizeof(err))
		: triage_rules_default(&rules);
	if (r != ITK_OK) {
		itk_log_error("start.failed", "what=triage_rules err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_vault_open_keyed(w.vault_dir, w.map_size, w.vault_key,
				     pass, &v)) != ITK_OK) {
		itk_log_error("start.failed", "what=vault err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_askpass_free(pass);
	pass = NULL;
	memset(&oo, 0, sizeof(oo));
	oo.keys_dir = w.keys_dir;
	oo.v = v;
	oo.ring = ring;
	oo.rules = rules;
	oo.lease_seconds = w.lease_s;
	oo.skew_seconds = w.skew_s;
	oo.approval_seconds = w.approval_s;
	if ((r = opd_new(&oo, &s)) != ITK_OK) {
		itk_log_error("start.failed", "what=operators err=%s",
			      itk_errname(r));
		goto out;
	}
	if (nng_rep0_open(&sock) != 0 ||
	    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 500) != 0 ||
	    nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
				ITK_OP_REQUEST_MAX + 1024) != 0 ||
	    (r = listen_on(sock, &w)) != ITK_OK) {
		itk_log_error("start.failed", "what=listen url=%s", w.listen);
		goto out;
	}
	itk_log_info("opd.started", "listen=%s operators=%zu intake_keys=%zu",
		     w.listen, opd_operator_count(s), wk_keyring_count(ring));
	{
		itk_link_tls *lt = NULL;
		char lerr[256] = "";

		if ((r = itk_link_tls_load(&w.link_tls, true, &lt, lerr,
					   sizeof(lerr))) != ITK_OK) {
			itk_log_error("start.failed",
				      "what=link_tls err=\"%s\"", lerr);
			goto out;
		}
		r = wk_link_new_tls(w.link_url, lt, &link);
		itk_link_tls_free(lt); /* nng holds the parsed copy */
	}
	if (r != ITK_OK) {
		itk_log_error("start.failed", "what=link url=%s", w.link_url);
		goto out;
	}
	r = serve(s, sock, v, link);
	itk_log_info("opd.stopped", "err=%s", itk_errname(r));
	rc = r == ITK_OK ? 0 : 1;
out:
	nng_close(sock);
	wk_link_free(link);
	opd_free(s);
	vault_free(v);
	triage_rules_free(rules);
	wk_keyring_free(ring);
	itk_askpass_free(pass);
	itk_config_free(cfg);
	return rc;
}
