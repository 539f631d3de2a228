/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-opd: the operator service of the worker tier.  Listens on an nng
 * rep0 socket (ipc:// on the same host, tls+tcp:// across hosts), takes
 * signed operator requests, and answers each sealed to its operator.  It
 * holds the intake secret keys (to show cases) and the vault key; it is a
 * process of its own, so the intake worker's loop never waits for staff.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
#include "opkeys.h"
#include "privdrop.h"
#include "relay.h"
#include "triage.h"
#include "tier.h"
#include "vault.h"
#include "wire.h"

struct opd_cfg {
	wk_tier_config t; /* link, keys, vault, user/group (tier.h) */
	const char *listen;
	const char *rules;
	const char *tls_cert_key_file;
	const char *ipc_group; /* group of the ipc:// socket file, or NULL */
	unsigned ipc_mode;     /* its mode, default 0660 */
	bool ipc_mode_set;     /* ipc_mode was in the file */
	uint64_t lease_s;
	uint64_t skew_s;
	uint64_t approval_s;
};

static volatile sig_atomic_t stopping, reload_pending;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reload_pending = 1;
	} else {
		stopping = 1;
	}
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
	    "3600)\n"
	    "  user, group           started as root: the ids it drops to "
	    "(default\n"
	    "                        nobody/nogroup)\n"
	    "  ipc_mode              mode of the ipc:// socket file (octal, "
	    "group\n"
	    "                        bits at most; default 0660)\n"
	    "  ipc_group             group of the ipc:// socket file (default:"
	    " group)\n"
	    "SIGHUP reads the operators again (keys_dir/operators).\n");
}

/* intake-opd's own keys (tier.h reads the common ones). */
static itk_err
read_own(itk_config *c, void *arg, char *err, size_t errlen)
{
	struct opd_cfg *w = arg;
	const char *mode;
	itk_err r;

	w->listen = itk_config_str(c, "listen", NULL);
	w->rules = itk_config_str(c, "triage_rules", NULL);
	w->tls_cert_key_file = itk_config_str(c, "tls_cert_key_file", NULL);
	w->ipc_group = itk_config_str(c, "ipc_group", NULL);
	mode = itk_config_str(c, "ipc_mode", NULL);
	w->ipc_mode = 0660;
	w->ipc_mode_set = mode != NULL;
	if (mode != NULL && wk_tier_parse_mode(mode, &w->ipc_mode) != ITK_OK) {
		snprintf(err, errlen,
			 "ipc_mode: \"%s\" is not an octal mode with "
			 "owner and group bits only (such as 0660)",
			 mode);
		return ITK_E_CONFIG;
	}
	if ((r = itk_config_u64(c, "lease_seconds", 900, 1, 86400, &w->lease_s,
				err, errlen)) != ITK_OK ||
	    (r = itk_config_u64(c, "clock_skew_seconds", 120, 5, 3600,
				&w->skew_s, err, errlen)) != ITK_OK) {
		return r;
	}
	return itk_config_u64(c, "approval_seconds", 3600, 60, 604800,
			      &w->approval_s, err, errlen);
}

/* Requests are signed and answers sealed, but who talks to whom and when
 * is still worth hiding: no plain tcp://. */
static itk_err
check_own(void *arg, const wk_tier_config *t, char *err, size_t errlen)
{
	const struct opd_cfg *w = arg;
	bool ipc = strncmp(w->listen, "ipc://", 6) == 0;

	(void)t;
	if (!ipc && strncmp(w->listen, "tls+tcp://", 10) != 0) {
		snprintf(err, errlen, "listen must be ipc:// or tls+tcp://");
		return ITK_E_CONFIG;
	}
	if (!ipc && (w->ipc_group != NULL || w->ipc_mode_set)) {
		snprintf(err, errlen,
			 "ipc_mode and ipc_group are for an ipc:// listen");
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

/* The gid of group, looked up while /etc/group is readable. */
static itk_err
group_id(const char *group, gid_t *gid)
{
	struct group gr, *grp = NULL;
	long n = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t len = n > 0 ? (size_t)n : 16384u;
	char *buf = malloc(len);
	itk_err r = ITK_E_CONFIG;

	if (buf == NULL) {
		return ITK_E_NOMEM;
	}
	if (getgrnam_r(group, &gr, buf, len, &grp) == 0 && grp != NULL) {
		*gid = gr.gr_gid;
		r = ITK_OK;
	}
	free(buf);
	return r;
}

/*
 * The ipc:// socket file: ipc_mode (default 0660) and, as owner, the user
 * the service drops to, as group ipc_group or its group; so that only
 * intake-op run by that user or group can reach the service.  nng made
 * the file under umask 077 (see listen_on): it was never open to others.
 */
static itk_err
protect_ipc(const struct opd_cfg *w, const itk_privdrop_target *t)
{
	const char *p = w->listen + 6;
	uid_t uid = t->change ? t->uid : (uid_t)-1;
	gid_t gid = t->change ? t->gid : (gid_t)-1;
	itk_err r;

	if (w->ipc_group != NULL &&
	    (r = group_id(w->ipc_group, &gid)) != ITK_OK) {
		itk_log_error("start.failed", "what=ipc_group group=%s",
			      w->ipc_group);
		return r;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(AT_FDCWD, p, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
		itk_log_error("start.failed",
			      "what=ipc_owner path=%s errno=%d", p, errno);
		return ITK_E_PERM;
	}
	if (fchmodat(AT_FDCWD, p, (mode_t)w->ipc_mode, 0) != 0) {
		itk_log_error("start.failed", "what=ipc_mode path=%s errno=%d",
			      p, errno);
		return ITK_E_PERM;
	}
	itk_log_info("opd.ipc", "path=%s mode=%04o group=%ld", p, w->ipc_mode,
		     (long)gid);
	return ITK_OK;
}

static itk_err
listen_on(nng_socket s, const struct opd_cfg *w)
{
	nng_listener l;
	nng_tls_config *tls = NULL;
	mode_t mask;
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
	/* An ipc:// socket file is made by the start: under umask 077 it
	 * is never open to others, even before protect_ipc sets its mode. */
	mask = umask(077);
	rv = nng_listener_start(l, 0);
	(void)umask(mask);
	return rv == 0 ? ITK_OK : ITK_E_NET;
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

/*
 * SIGHUP: the operators as the key reader lists them now, parsed in full
 * before they replace the list in use; a store that does not list (a
 * broken file) or lists no operator leaves the old list in place.
 */
static void
reload_operators(opd *s, op_keys_reader *kr)
{
	itk_key_info *ops = calloc(ITK_KEYSTORE_ENTRIES_MAX, sizeof(*ops));
	size_t n = 0, before = opd_operator_count(s);
	char bad[OP_KEYS_BAD_MAX + 1] = "";
	itk_err r = ITK_E_NOMEM;

	if (ops != NULL) {
		r = op_keys_reader_list(kr, ops, ITK_KEYSTORE_ENTRIES_MAX, &n,
					bad, sizeof(bad));
	}
	if (r == ITK_OK) {
		r = opd_set_operators(s, ops, n);
	}
	if (r != ITK_OK) {
		itk_log_error(
		    "operators.reload_failed",
		    "err=%s file=\"%s\" operators=%zu "
		    "msg=\"the operators file could not be used: the "
		    "%zu operators loaded before stay\"",
		    itk_errname(r), bad, before, before);
	} else {
		itk_log_info("operators.reloaded", "operators=%zu before=%zu",
			     opd_operator_count(s), before);
	}
	free(ops);
}

static itk_err
serve(opd *s, nng_socket sock, vault *v, wk_link *l, op_keys_reader *kr)
{
	itk_buf *out = itk_buf_new(ITK_OP_RESPONSE_MAX);

	if (out == NULL) {
		return ITK_E_NOMEM;
	}
	while (!stopping) {
		nng_msg *m = NULL, *a = NULL;
		int rv;
		itk_err r;

		if (reload_pending) {
			reload_pending = 0;
			reload_operators(s, kr);
		}
		relay(v, l);
		rv = nng_recvmsg(sock, &m, 0);
		if (rv == NNG_ETIMEDOUT) {
			continue; /* look at the stop and reload flags */
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
	wk_tier_spec spec = {.own = read_own,
			     .arg = &w,
			     .required = "listen",
			     .required_value = &w.listen,
			     .check = check_own};
	char *pass = NULL, err[256] = "";
	wk_keyring *ring = NULL;
	triage_rules *rules = NULL;
	vault *v = NULL;
	opd *s = NULL;
	wk_link *link = NULL;
	op_keys_reader *kr = NULL;
	itk_privdrop_target pt;
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	struct sigaction sa;
	opd_options oo;
	int rc = 1;
	itk_err r;

	if ((rc = wk_tier_begin(argc, argv, "opd", usage, &spec, &w.t, &cfg,
				&pt)) >= 0) {
		return rc;
	}
	rc = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		goto out;
	}
	/* Forked before any secret is read, while single-threaded. */
	if ((r = op_keys_reader_start(w.t.keys_dir, &kr)) != ITK_OK) {
		itk_log_error("start.failed", "what=key_reader err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = wk_daemon_passphrase(w.t.keys_passphrase_file, &pass)) !=
	    ITK_OK) {
		itk_log_error("start.failed", "what=passphrase err=%s",
			      itk_errname(r));
		goto out;
	}
	/* Without intake keys the service reads copies under queue keys
	 * only (docs/vault.md): opd_new then needs the queue-keys file. */
	r = wk_keyring_load(w.t.keys_dir, pass, &ring);
	if (r == ITK_E_NOT_FOUND) {
		ring = NULL;
	} else if (r != ITK_OK) {
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
	if ((r = wk_vault_open_keyed(w.t.vault_dir, w.t.map_size,
				     w.t.vault_key, pass, &v)) != ITK_OK) {
		itk_log_error("start.failed", "what=vault err=%s",
			      itk_errname(r));
		goto out;
	}
	memset(&oo, 0, sizeof(oo));
	oo.keys_passphrase = pass; /* service.key; freed after opd_new */
	oo.keys_dir = w.t.keys_dir;
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
	itk_askpass_free(pass);
	pass = NULL;
	if (nng_rep0_open(&sock) != 0 ||
	    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 500) != 0 ||
	    nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
				ITK_OP_REQUEST_MAX + 1024) != 0 ||
	    (r = listen_on(sock, &w)) != ITK_OK) {
		itk_log_error("start.failed", "what=listen url=%s", w.listen);
		goto out;
	}
	if (strncmp(w.listen, "ipc://", 6) == 0 &&
	    protect_ipc(&w, &pt) != ITK_OK) {
		goto out;
	}
	if ((r = wk_tier_link_new(&w.t, &link, err, sizeof(err))) != ITK_OK) {
		itk_log_error("start.failed",
			      "what=link url=%s err=%s why=\"%s\"",
			      w.t.link_url, itk_errname(r), err);
		goto out;
	}
	/* Everything is open: drop to the user, then the allow-list. */
	if ((r = wk_tier_lock_down(&pt, ITK_SANDBOX_OPD, NULL)) != ITK_OK) {
		itk_log_error("start.failed", "what=lock_down err=%s",
			      itk_errname(r));
		goto out;
	}
	itk_log_info("opd.started",
		     "listen=%s operators=%zu intake_keys=%zu key_reader=%ld",
		     w.listen, opd_operator_count(s),
		     ring != NULL ? wk_keyring_count(ring) : 0,
		     op_keys_reader_pid(kr));
	r = serve(s, sock, v, link, kr);
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
	op_keys_reader_free(kr);
	itk_config_free(cfg);
	return rc;
}
