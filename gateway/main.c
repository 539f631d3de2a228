/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "gw.h"
#include "gw_chat.h"
#include "gw_log.h"
#include "gw_pow.h"
#include "itk_config.h"
#include "keys.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"

/*
 * intake-gateway: start-up, configuration, signals.  Every key is
 * documented in docs/gateway.md; an unknown key stops start-up (strict
 * config), and so does a bundle that does not verify against the pinned
 * organisation key, or a receipt key that is not the bundle's.
 */

#define ERRLEN 256

static const char usage[] =
    "usage: intake-gateway --config FILE\n"
    "       intake-gateway --help\n"
    "\n"
    "The internet-facing Intake gateway: accepts sealed submissions over\n"
    "HTTP(S), spools them durably (LMDB), answers with a signed receipt,\n"
    "and relays them to the worker tier, which dials in over nng.\n"
    "It holds no decryption key.  Configuration keys: docs/gateway.md.\n"
    "SIGTERM or SIGINT stops it cleanly.\n";

struct cfg {
	const char *http_listen, *https_listen, *tls_cert, *tls_key;
	const char *metrics_listen, *spool_dir, *link_listen;
	const char *bundle_file, *org_key_file, *receipt_key_file;
	const char *receipt_pass_file;
	const char *origin, *web_root, *log_level;
	const char *run_user, *run_group; /* docs/privsep.md */
	const char *log_dir;         /* the published vault log (gw_log.h) */
	itk_link_tls_files link_tls; /* tls+tcp:// link (linktls.h) */
	uint64_t spool_max_bytes, seen_retention, mailbox_retention;
	uint64_t lease_ms, max_deliveries, max_wait_ms, link_contexts;
	uint64_t granularity, clock_skew, max_body, max_concurrent;
	uint64_t log_granularity;
	/* flood resistance and metadata (docs/gateway.md, "Limits") */
	uint64_t max_conns, max_header, max_header_lines, header_timeout_ms;
	uint64_t body_timeout_ms, pow_min, pow_base, pow_max, pow_trigger;
	uint64_t pow_ttl, pow_hold_ms, pow_max_used;
	uint64_t batch_ms, batch_min;
	/* the chat WebSocket (docs/chat.md) */
	const char *chat_listen;
	uint64_t chat_conns, chat_subs, chat_inflight, chat_fps, chat_idle_ms;
	uint64_t chat_frame, chat_queue;
};

static itk_err
u64(itk_config *c, const char *key, uint64_t def, uint64_t min, uint64_t max,
    uint64_t *out, char *err)
{
	return itk_config_u64(c, key, def, min, max, out, err, ERRLEN);
}

static itk_err
read_cfg(itk_config *c, struct cfg *g, char *err)
{
	itk_err r;

	g->http_listen = itk_config_str(c, "http_listen", NULL);
	g->https_listen = itk_config_str(c, "https_listen", NULL);
	g->tls_cert = itk_config_str(c, "tls_cert", NULL);
	g->tls_key = itk_config_str(c, "tls_key", NULL);
	g->metrics_listen = itk_config_str(c, "metrics_listen", NULL);
	g->spool_dir = itk_config_str(c, "spool_dir", NULL);
	g->link_listen = itk_config_str(c, "link_listen", NULL);
	g->link_tls.url = g->link_listen;
	g->link_tls.cert = itk_config_str(c, "link_tls_cert", NULL);
	g->link_tls.key = itk_config_str(c, "link_tls_key", NULL);
	g->link_tls.ca = itk_config_str(c, "link_tls_ca", NULL);
	g->bundle_file = itk_config_str(c, "bundle_file", NULL);
	g->org_key_file = itk_config_str(c, "org_public_key_file", NULL);
	g->receipt_key_file = itk_config_str(c, "receipt_key_file", NULL);
	g->receipt_pass_file =
	    itk_config_str(c, "receipt_key_passphrase_file", NULL);
	g->origin = itk_config_str(c, "origin", NULL);
	g->web_root = itk_config_str(c, "web_root", NULL);
	g->log_dir = itk_config_str(c, "log_dir", NULL);
	g->log_level = itk_config_str(c, "log_level", "info");
	g->run_user = itk_config_str(c, "user", NULL);
	g->run_group = itk_config_str(c, "group", NULL);
	if ((r = u64(c, "spool_max_bytes", 1024u * 1024u * 1024u,
		     1024u * 1024u, 1ull << 40, &g->spool_max_bytes, err)) !=
		ITK_OK ||
	    (r = u64(c, "seen_retention", 30u * 86400u, 3600u, 3650u * 86400u,
		     &g->seen_retention, err)) != ITK_OK ||
	    (r = u64(c, "mailbox_retention", 90u * 86400u, 3600u,
		     3650u * 86400u, &g->mailbox_retention, err)) != ITK_OK ||
	    (r = u64(c, "lease_timeout_ms", 60000u, 100u, 3600000u,
		     &g->lease_ms, err)) != ITK_OK ||
	    (r = u64(c, "max_deliveries", 64u, 1u, GW_DELIVERY_MAX,
		     &g->max_deliveries, err)) != ITK_OK ||
	    (r = u64(c, "link_max_wait_ms", 5000u, 0u, 30000u, &g->max_wait_ms,
		     err)) != ITK_OK ||
	    (r = u64(c, "link_contexts", 16u, 1u, 256u, &g->link_contexts,
		     err)) != ITK_OK ||
	    (r = u64(c, "accepted_at_granularity", 3600u, 1u, 86400u,
		     &g->granularity, err)) != ITK_OK ||
	    (r = u64(c, "key_clock_skew", 300u, 0u, 86400u, &g->clock_skew,
		     err)) != ITK_OK ||
	    (r = u64(c, "max_body", ITK_SUBMISSION_MAX, 1024u,
		     ITK_SUBMISSION_MAX, &g->max_body, err)) != ITK_OK ||
	    (r = u64(c, "max_concurrent", 256u, 1u, 65536u, &g->max_concurrent,
		     err)) != ITK_OK ||
	    (r = u64(c, "log_time_granularity", 60u, 1u, 86400u,
		     &g->log_granularity, err)) != ITK_OK) {
		return r;
	}
	if ((r = u64(c, "max_connections", 1024u, 0u, 65536u, &g->max_conns,
		     err)) != ITK_OK ||
	    (r = u64(c, "max_header_bytes", 8192u, 1024u, 65536u,
		     &g->max_header, err)) != ITK_OK ||
	    (r = u64(c, "max_header_lines", 64u, 8u, 1000u,
		     &g->max_header_lines, err)) != ITK_OK ||
	    (r = u64(c, "header_timeout_ms", 10000u, 100u, 600000u,
		     &g->header_timeout_ms, err)) != ITK_OK ||
	    (r = u64(c, "body_timeout_ms", 30000u, 100u, 600000u,
		     &g->body_timeout_ms, err)) != ITK_OK ||
	    (r = u64(c, "pow_min_difficulty", 0u, 0u, ITK_POW_DIFFICULTY_MAX,
		     &g->pow_min, err)) != ITK_OK ||
	    (r = u64(c, "pow_base_difficulty", 12u, 0u, ITK_POW_DIFFICULTY_MAX,
		     &g->pow_base, err)) != ITK_OK ||
	    (r = u64(c, "pow_max_difficulty", 20u, 0u, ITK_POW_DIFFICULTY_MAX,
		     &g->pow_max, err)) != ITK_OK ||
	    (r = u64(c, "pow_trigger_percent", 50u, 1u, 100u, &g->pow_trigger,
		     err)) != ITK_OK ||
	    (r = u64(c, "pow_ttl", 300u, 10u, 3600u, &g->pow_ttl, err)) !=
		ITK_OK ||
	    (r = u64(c, "pow_hold_ms", 10000u, 0u, 3600000u, &g->pow_hold_ms,
		     err)) != ITK_OK ||
	    (r = u64(c, "pow_max_used", 65536u, 16u, 1u << 24,
		     &g->pow_max_used, err)) != ITK_OK ||
	    (r = u64(c, "link_batch_ms", 500u, 0u, 5000u, &g->batch_ms,
		     err)) != ITK_OK ||
	    (r = u64(c, "link_batch_min", 16u, 1u, 4096u, &g->batch_min,
		     err)) != ITK_OK) {
		return r;
	}
	g->chat_listen = itk_config_str(c, "chat_listen", NULL);
	if ((r = u64(c, "chat_max_connections", 256u, 1u, 65536u,
		     &g->chat_conns, err)) != ITK_OK ||
	    (r = u64(c, "chat_max_subscriptions", 4u, 1u, 64u, &g->chat_subs,
		     err)) != ITK_OK ||
	    (r = u64(c, "chat_max_inflight", 4u, 1u, 64u, &g->chat_inflight,
		     err)) != ITK_OK ||
	    (r = u64(c, "chat_frames_per_second", 10u, 1u, 1000u, &g->chat_fps,
		     err)) != ITK_OK ||
	    (r = u64(c, "chat_idle_ms", 60000u, 1000u, 3600000u,
		     &g->chat_idle_ms, err)) != ITK_OK ||
	    (r = u64(c, "chat_max_frame", ITK_CHAT_CLIENT_MAX, 1024u,
		     ITK_CHAT_CLIENT_MAX, &g->chat_frame, err)) != ITK_OK ||
	    (r = u64(c, "chat_max_queue_bytes", 8u * 1024u * 1024u,
		     2u * ITK_CHAT_SERVER_MAX, 1ull << 30, &g->chat_queue,
		     err)) != ITK_OK) {
		return r;
	}
	if (g->pow_max > 0 &&
	    (g->pow_base > g->pow_max || g->pow_min > g->pow_max)) {
		snprintf(err, ERRLEN,
			 "pow_base_difficulty and pow_min_difficulty must not "
			 "exceed pow_max_difficulty");
		return ITK_E_CONFIG;
	}
	if ((r = itk_config_check_unused(c, err, ERRLEN)) != ITK_OK) {
		return r;
	}
	if (g->http_listen == NULL || g->spool_dir == NULL ||
	    g->link_listen == NULL || g->bundle_file == NULL ||
	    g->org_key_file == NULL || g->receipt_key_file == NULL) {
		snprintf(err, ERRLEN,
			 "http_listen, spool_dir, link_listen, bundle_file, "
			 "org_public_key_file and receipt_key_file are "
			 "required");
		return ITK_E_CONFIG;
	}
	if ((r = itk_link_tls_check(&g->link_tls, false, err, ERRLEN)) !=
	    ITK_OK) {
		return r;
	}
	if (g->https_listen != NULL &&
	    (g->tls_cert == NULL || g->tls_key == NULL)) {
		snprintf(err, ERRLEN,
			 "https_listen needs tls_cert and tls_key");
		return ITK_E_CONFIG;
	}
	if (g->https_listen == NULL &&
	    (g->tls_cert != NULL || g->tls_key != NULL)) {
		snprintf(err, ERRLEN, "tls_cert/tls_key without https_listen");
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

static itk_err
set_level(const char *s)
{
	static const struct {
		const char *name;
		itk_log_level lvl;
	} lv[] = {{"debug", ITK_LOG_DEBUG},
		  {"info", ITK_LOG_INFO},
		  {"warn", ITK_LOG_WARN},
		  {"error", ITK_LOG_ERROR}};

	for (size_t i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		if (strcmp(s, lv[i].name) == 0) {
			itk_log_set_level(lv[i].lvl);
			return ITK_OK;
		}
	}
	return ITK_E_CONFIG;
}

struct keys {
	itk_buf *bundle;
	itk_pb_key_bundle_body *body;
	gw_intake_key ik[ITK_BUNDLE_KEYS_MAX];
	size_t n_ik;
	gw_receipt_key *rk;
};

static itk_err
load_keys(const struct cfg *g, struct keys *k)
{
	uint8_t org[ITK_SIGN_PK_LEN];
	uint64_t now = (uint64_t)time(NULL);
	bool current = false;
	itk_err r;

	if ((r = itk_org_pub_load(g->org_key_file, org)) != ITK_OK) {
		itk_log_error("start.org_key", "file=%s err=%s",
			      g->org_key_file, itk_errname(r));
		return r;
	}
	if ((r = itk_file_read(g->bundle_file, ITK_KEY_BUNDLE_MAX,
			       &k->bundle)) != ITK_OK) {
		itk_log_error("start.bundle", "file=%s err=%s", g->bundle_file,
			      itk_errname(r));
		return r;
	}
	if ((r = itk_bundle_verify(itk_buf_ptr(k->bundle),
				   itk_buf_len(k->bundle), org, &k->body)) !=
	    ITK_OK) {
		itk_log_error("start.bundle",
			      "file=%s err=%s "
			      "msg=\"does not verify against "
			      "the organisation key\"",
			      g->bundle_file, itk_errname(r));
		return r;
	}
	if (g->origin != NULL && strcmp(g->origin, k->body->origin) != 0) {
		itk_log_error("start.origin", "msg=\"origin differs from the "
					      "bundle's\"");
		return ITK_E_CONFIG;
	}
	for (size_t i = 0; i < k->body->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *ik = k->body->intake_keys[i];
		k->ik[i].key_id = ik->key_id;
		k->ik[i].not_before = ik->not_before;
		k->ik[i].not_after = ik->not_after;
		current |= ik->not_before <= now && now <= ik->not_after;
	}
	k->n_ik = k->body->n_intake_keys;
	if (!current) {
		itk_log_warn("start.bundle", "msg=\"no intake key is valid "
					     "now\"");
	}
	if ((r = gw_receipt_key_load(g->receipt_key_file, g->receipt_pass_file,
				     k->body->receipt_public_key.data,
				     &k->rk)) != ITK_OK) {
		itk_log_error("start.receipt_key", "file=%s err=%s",
			      g->receipt_key_file, itk_errname(r));
		return r;
	}
	return ITK_OK;
}

/*
 * Least privilege (docs/privsep.md), once every listener, the spool and
 * the keys are open: hand the link's ipc socket file to the user we
 * become (workers of its group dial it), drop to that user, then install
 * the seccomp allow-list on every thread.  The gateway has no intake
 * secret key to protect (a meson test checks the binary cannot load one);
 * this guards the receipt key, the spool and the host.
 */
static itk_err
least_privilege(const struct cfg *g)
{
	itk_privdrop_target t;
	itk_err r;

	if ((r = itk_privdrop_resolve(g->run_user, g->run_group, &t)) !=
	    ITK_OK) {
		return r;
	}
	if (t.change && strncmp(g->link_listen, "ipc://", 6) == 0) {
		const char *p = g->link_listen + 6;
		int rc =
		    fchownat(AT_FDCWD, p, t.uid, t.gid, AT_SYMLINK_NOFOLLOW);

		if (rc != 0 || fchmodat(AT_FDCWD, p, 0660, 0) != 0) {
			itk_log_error("start.link_owner", "path=%s errno=%d",
				      p, errno);
			return ITK_E_PERM;
		}
	}
	if ((r = itk_privdrop_apply(&t, NULL)) != ITK_OK) {
		return r;
	}
	return itk_sandbox_apply(ITK_SANDBOX_GATEWAY, NULL);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	char err[ERRLEN] = "";
	itk_config *c = NULL;
	struct cfg g;
	struct keys k = {0};
	gw_spool *spool = NULL;
	gw_submit *submit = NULL;
	gw_http *http = NULL;
	gw_relay *relay = NULL;
	itk_link_tls *link_tls = NULL;
	gw_log *glog = NULL;
	gw_metrics *metrics = NULL;
	gw_pow *pow = NULL;
	gw_chat *chat = NULL;
	sigset_t set;
	int sig = 0, rc = 1;
	itk_err r;

	itk_log_init("gateway");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		fputs(usage, stderr);
		return 2;
	}
	if (path == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	/*
	 * Signals are taken synchronously by this thread (sigwait); every
	 * thread started below inherits the blocked mask.  SIGPIPE: a peer
	 * that hangs up is an error return, never a death.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		itk_log_error("start.signals", "err=sigmask");
		return 1;
	}
	if (itk_crypto_init() != ITK_OK) {
		itk_log_error("start.crypto", "err=sodium_init");
		return 1;
	}
	/* No core file and no ptrace while keys are in memory. */
	if (itk_privdrop_harden() != ITK_OK) {
		return 1;
	}
	memset(&g, 0, sizeof(g));
	if ((r = itk_config_load(path, &c, err, sizeof(err))) != ITK_OK ||
	    (r = read_cfg(c, &g, err)) != ITK_OK ||
	    (r = set_level(g.log_level)) != ITK_OK) {
		itk_log_error("start.config", "file=%s err=\"%s\"", path,
			      err[0] != '\0' ? err : itk_strerror(r));
		goto out;
	}
	itk_log_set_time_granularity((unsigned)g.log_granularity);
	if ((r = load_keys(&g, &k)) != ITK_OK) {
		goto out;
	}
	if (g.log_dir != NULL &&
	    (r = gw_log_open(g.log_dir, k.body->origin,
			     k.body->log_public_key.data, &glog)) != ITK_OK) {
		itk_log_error("start.log", "dir=%s err=%s", g.log_dir,
			      itk_errname(r));
		goto out;
	}
	{
		gw_spool_opts so = {
		    .max_bytes = g.spool_max_bytes,
		    .lease_ms = g.lease_ms,
		    .seen_retention = g.seen_retention,
		    .mailbox_retention = g.mailbox_retention,
		};
		if ((r = gw_spool_open(g.spool_dir, &so, &spool)) != ITK_OK) {
			itk_log_error("start.spool", "dir=%s err=%s",
				      g.spool_dir, itk_errname(r));
			goto out;
		}
	}
	{
		gw_spool_stats st;
		gw_spool_get_stats(spool, &st);
		itk_log_info("spool.opened", "pending=%llu bytes=%llu",
			     (unsigned long long)st.pending,
			     (unsigned long long)st.bytes);
	}
	{
		gw_relay_opts ro = {
		    .listen = g.link_listen,
		    .spool = spool,
		    .max_deliveries = (uint32_t)g.max_deliveries,
		    .max_wait_ms = (uint32_t)g.max_wait_ms,
		    .contexts = (size_t)g.link_contexts,
		    .batch_ms = (uint32_t)g.batch_ms,
		    .batch_min = (size_t)g.batch_min,
		    .log = glog,
		};
		/* Read now, before the privilege drop; nng keeps the parsed
		 * copy and ours is wiped right after. */
		if ((r = itk_link_tls_load(&g.link_tls, false, &link_tls, err,
					   sizeof(err))) != ITK_OK) {
			itk_log_error("start.link_tls", "err=\"%s\"", err);
			goto out;
		}
		ro.tls = link_tls;
		r = gw_relay_start(&ro, &relay);
		itk_link_tls_free(link_tls);
		link_tls = NULL;
		if (r != ITK_OK) {
			goto out;
		}
	}
	if (g.pow_max > 0) {
		gw_pow_opts po = {
		    .min_difficulty = (unsigned)g.pow_min,
		    .base_difficulty = (unsigned)g.pow_base,
		    .max_difficulty = (unsigned)g.pow_max,
		    .trigger_permille = (unsigned)g.pow_trigger * 10u,
		    .ttl_s = (uint32_t)g.pow_ttl,
		    .hold_ms = (uint32_t)g.pow_hold_ms,
		    .max_used = (size_t)g.pow_max_used,
		};
		if ((r = gw_pow_new(&po, NULL, &pow)) != ITK_OK) {
			itk_log_error("start.pow", "err=%s", itk_errname(r));
			goto out;
		}
	}
	{
		gw_submit_opts so = {
		    .spool = spool,
		    .receipt_key = k.rk,
		    .origin = k.body->origin,
		    .granularity = g.granularity,
		    .clock_skew = g.clock_skew,
		    .max_body = (size_t)g.max_body,
		    .keys = k.ik,
		    .n_keys = k.n_ik,
		    .pow = pow,
		};
		if ((r = gw_submit_new(&so, &submit)) != ITK_OK) {
			goto out;
		}
	}
	if (g.chat_listen != NULL) {
		gw_chat_opts co = {
		    .listen = g.chat_listen,
		    .tls_cert = g.tls_cert,
		    .tls_key = g.tls_key,
		    .submit = submit,
		    .spool = spool,
		    .max_conns = (size_t)g.chat_conns,
		    .max_subs = (size_t)g.chat_subs,
		    .max_inflight = (size_t)g.chat_inflight,
		    .frames_per_s = (uint32_t)g.chat_fps,
		    .idle_ms = (uint32_t)g.chat_idle_ms,
		    .max_frame = (size_t)g.chat_frame,
		    .max_queue = (size_t)g.chat_queue,
		};
		if ((r = gw_chat_start(&co, &chat)) != ITK_OK) {
			goto out;
		}
	}
	if (g.metrics_listen != NULL &&
	    (r = gw_metrics_start(g.metrics_listen, spool, &metrics)) !=
		ITK_OK) {
		goto out;
	}
	{
		gw_http_opts ho = {
		    .listen = g.http_listen,
		    .tls_listen = g.https_listen,
		    .tls_cert = g.tls_cert,
		    .tls_key = g.tls_key,
		    .web_root = g.web_root,
		    .max_body = (size_t)g.max_body,
		    .max_concurrent = (size_t)g.max_concurrent,
		    .submit = submit,
		    .spool = spool,
		    .bundle = itk_buf_ptr(k.bundle),
		    .bundle_len = itk_buf_len(k.bundle),
		    .pow = pow,
		    .body_timeout_ms = (uint32_t)g.body_timeout_ms,
		    .max_conns = (size_t)g.max_conns,
		    .max_header = (size_t)g.max_header,
		    .max_header_lines = (size_t)g.max_header_lines,
		    .header_timeout_ms = (uint32_t)g.header_timeout_ms,
		    .log = glog,
		};
		if ((r = gw_http_start(&ho, &http)) != ITK_OK) {
			goto out;
		}
	}
	if ((r = least_privilege(&g)) != ITK_OK) {
		goto out;
	}
	itk_log_info("start.ready", "origin=%s intake_keys=%zu",
		     k.body->origin, k.n_ik);
	if (sigwait(&set, &sig) != 0) {
		itk_log_error("signals", "err=sigwait");
		goto out;
	}
	itk_log_info("stop", "signal=%d", sig);
	rc = 0;
out:
	/*
	 * Order matters: refuse new submissions, stop the HTTP side, let the
	 * committer answer what it holds, then the link, then the spool.
	 */
	gw_submit_close(submit);
	gw_chat_stop(chat);
	gw_http_stop(http);
	gw_submit_free(submit);
	gw_http_free(http);
	gw_relay_free(relay);
	gw_chat_free(chat); /* after the committer and the relay: no more
			     * answers or replies can reach it */
	gw_log_free(glog);
	gw_metrics_stop(metrics);
	gw_pow_free(pow);
	gw_spool_free(spool);
	gw_receipt_key_free(k.rk);
	itk_wire_free(k.body);
	itk_buf_free(k.bundle);
	itk_config_free(c);
	if (rc == 0) {
		itk_log_info("stopped", "rc=0");
	}
	return rc;
}
