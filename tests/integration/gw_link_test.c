/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of intake-gateway: starts the real process with a
 * temporary config and fresh keys, talks HTTP to it with a small raw
 * socket client, and plays a worker over the nng link (req0).
 *
 * Usage: gw_link_test PATH-TO-intake-gateway
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "buf.h"
#include "crypto.h"
#include "file.h"
#include "keys.h"
#include "wire.h"

#define BUCKET0     (512u + ITK_SEAL_OVERHEAD)
#define LEASE_MS    700u
#define MAX_DELIV   8u
#define DEADLINE_MS 15000u

static const char *gateway_path;
static char dir[64];
static char link_url[128];
static int http_port, metrics_port;
static pid_t gw_pid = -1;

static itk_secret_key *org, *receipt, *logk, *ik_cur, *ik_old, *ik_new;
static itk_buf *bundle;

/* --------------------------------------------------------------- time */

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A short pause between polls of a condition (never a synchronisation
 * by itself: every caller re-checks its condition with a deadline). */
static void
pause_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------- http */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0) {
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
		port = ntohs(a.sin_port);
	}
	close(fd);
	return port;
}

struct resp {
	int status;
	itk_buf *body;
	char headers[4096];
};

static void
resp_free(struct resp *r)
{
	itk_buf_free(r->body);
	r->body = NULL;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * One request on a fresh connection with Connection: close.  head is the
 * request line and headers (without the final blank line).  Returns 0
 * with r filled, -1 on a connection failure.
 */
static int
http_raw(int port, const char *head, const void *body, size_t len,
	 struct resp *r)
{
	struct sockaddr_in a;
	itk_buf *in = itk_buf_new(16u * 1024u * 1024u);
	uint64_t end = now_ms() + DEADLINE_MS;
	const char *p, *hend;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	if (in == NULL || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		itk_buf_free(in);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write_all(fd, head, strlen(head)) != 0 ||
	    write_all(fd, "\r\n\r\n", 4) != 0 ||
	    (len > 0 && write_all(fd, body, len) != 0)) {
		/* A server may answer and close before reading a body. */
		if (errno != EPIPE && errno != ECONNRESET) {
			goto out;
		}
	}
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		static uint8_t chunk[65536];
		ssize_t n;
		uint64_t t = now_ms();
		if (t >= end || poll(&pf, 1, (int)(end - t)) <= 0) {
			goto out;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			break;
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			goto out;
		}
		if (itk_buf_put(in, chunk, (size_t)n) != ITK_OK) {
			goto out;
		}
	}
	if (itk_buf_put_u8(in, 0) != ITK_OK) {
		goto out;
	}
	p = (const char *)itk_buf_ptr(in);
	if (strncmp(p, "HTTP/1.1 ", 9) != 0 ||
	    (hend = strstr(p, "\r\n\r\n")) == NULL) {
		goto out;
	}
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	{
		size_t hl = (size_t)(hend - p);
		if (hl >= sizeof(r->headers)) {
			hl = sizeof(r->headers) - 1;
		}
		memcpy(r->headers, p, hl);
		r->headers[hl] = '\0';
	}
	hend += 4;
	if ((r->body = itk_buf_new(16u * 1024u * 1024u)) == NULL ||
	    itk_buf_put(r->body, hend,
			itk_buf_len(in) - 1 - (size_t)(hend - p)) != ITK_OK) {
		goto out;
	}
	rc = 0;
out:
	close(fd);
	itk_buf_free(in);
	return rc;
}

static int
http_get(int port, const char *path, struct resp *r)
{
	char head[8192];
	snprintf(head, sizeof(head),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close",
		 path);
	return http_raw(port, head, NULL, 0, r);
}

static int
http_post(const void *body, size_t len, struct resp *r)
{
	char head[512];
	snprintf(head, sizeof(head),
		 "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Connection: close\r\n"
		 "Content-Type: application/x-protobuf\r\n"
		 "Content-Length: %zu",
		 len);
	return http_raw(http_port, head, body, len, r);
}

/* The value of a metric line "name value" (name may carry labels). */
static long long
metric(const char *name)
{
	struct resp r;
	long long v = -1;
	const char *p;
	size_t n = strlen(name);

	if (http_get(metrics_port, "/metrics", &r) != 0 || r.status != 200 ||
	    itk_buf_put_u8(r.body, 0) != ITK_OK) {
		resp_free(&r);
		return -1;
	}
	p = (const char *)itk_buf_ptr(r.body);
	while ((p = strstr(p, name)) != NULL) {
		if ((p == (const char *)itk_buf_ptr(r.body) ||
		     p[-1] == '\n') &&
		    p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
		p += n;
	}
	resp_free(&r);
	return v;
}

/* ----------------------------------------------------------- payloads */

struct sub {
	itk_buf *body; /* serialized Submission */
	itk_buf *sealed;
	uint8_t id[ITK_HASH_LEN];
};

static void
sub_free(struct sub *s)
{
	itk_buf_free(s->body);
	itk_buf_free(s->sealed);
	memset(s, 0, sizeof(*s));
}

/* Seals msg (padded to its bucket) to the key and wraps it. */
static void
make_sub_v(struct sub *s, const itk_secret_key *k, uint32_t key_id,
	   uint32_t version, size_t msglen, unsigned seed)
{
	Intake__V1__Submission m = INTAKE__V1__SUBMISSION__INIT;
	uint8_t *msg = malloc(msglen + 1);

	assert_non_null(msg);
	for (size_t i = 0; i < msglen; i++) {
		msg[i] = (uint8_t)('a' + (i + seed) % 26);
	}
	assert_non_null(s->sealed = itk_buf_new(ITK_SUBMISSION_MAX));
	assert_non_null(s->body = itk_buf_new(ITK_SUBMISSION_MAX + 64));
	assert_int_equal(itk_seal(itk_key_public(k), msg, msglen, s->sealed),
			 ITK_OK);
	free(msg);
	itk_sha256(s->id, itk_buf_ptr(s->sealed), itk_buf_len(s->sealed));
	m.version = version;
	m.intake_key_id = key_id;
	m.sealed.data = itk_buf_mutable_ptr(s->sealed);
	m.sealed.len = itk_buf_len(s->sealed);
	assert_int_equal(itk_wire_pack(&m.base, s->body), ITK_OK);
}

static void
make_sub(struct sub *s, unsigned seed)
{
	make_sub_v(s, ik_cur, itk_key_id(ik_cur), 1, 100, seed);
}

/* POSTs s, expects 200 and a receipt that verifies; returns its bytes. */
static itk_buf *
post_ok(const struct sub *s)
{
	struct resp r;
	itk_pb_receipt *rc = NULL;
	itk_pb_receipt_body *b = NULL;
	itk_buf *out;

	assert_int_equal(
	    http_post(itk_buf_ptr(s->body), itk_buf_len(s->body), &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(itk_wire_receipt_decode(itk_buf_ptr(r.body),
						 itk_buf_len(r.body), &rc),
			 ITK_OK);
	assert_int_equal(itk_verify(ITK_SIG_RECEIPT, itk_key_public(receipt),
				    rc->body.data, rc->body.len,
				    rc->signature.data),
			 ITK_OK);
	/* Signed for the receipt context only. */
	assert_int_equal(itk_verify(ITK_SIG_KEY_BUNDLE,
				    itk_key_public(receipt), rc->body.data,
				    rc->body.len, rc->signature.data),
			 ITK_E_VERIFY);
	assert_int_equal(
	    itk_wire_receipt_body_decode(rc->body.data, rc->body.len, &b),
	    ITK_OK);
	assert_memory_equal(b->submission_id.data, s->id, ITK_HASH_LEN);
	assert_int_equal(b->accepted_at % 3600, 0);
	assert_true(b->accepted_at <= (uint64_t)time(NULL));
	assert_string_equal(b->origin, "test.intake/gw");
	itk_wire_free(b);
	itk_wire_free(rc);
	out = r.body;
	r.body = NULL;
	return out;
}

/* Expects status and an Error with code; returns nothing. */
static void
expect_error(const struct resp *r, int status, itk_err code)
{
	itk_pb_error *e = NULL;

	assert_int_equal(r->status, status);
	assert_int_equal(itk_wire_error_decode(itk_buf_ptr(r->body),
					       itk_buf_len(r->body), &e),
			 ITK_OK);
	assert_int_equal(e->code, (uint32_t)code);
	assert_string_equal(e->name, itk_errname(code));
	assert_non_null(e->message);
	assert_true(strlen(e->message) > 0);
	itk_wire_free(e);
}

/* ------------------------------------------------------------- worker */

static nng_socket
worker_open(void)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ,
					     ITK_GATEWAY_RESPONSE_MAX),
			 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 20000), 0);
	/* Never resend a request on our own: the test controls retries. */
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, -1), 0);
	assert_int_equal(nng_dial(s, link_url, NULL, 0), 0);
	return s;
}

/* Sends a WorkerRequest; returns the decoded GatewayResponse. */
static itk_pb_gateway_response *
worker_call(nng_socket s, const uint8_t *const *acks, size_t n_acks,
	    Intake__V1__Reply **replies, size_t n_replies, uint32_t max,
	    uint32_t wait_ms)
{
	Intake__V1__WorkerRequest w = INTAKE__V1__WORKER_REQUEST__INIT;
	ProtobufCBinaryData ab[64];
	itk_buf *b = itk_buf_new(ITK_WORKER_REQUEST_MAX);
	itk_pb_gateway_response *g = NULL;
	nng_msg *m = NULL;

	assert_true(n_acks <= 64);
	for (size_t i = 0; i < n_acks; i++) {
		ab[i].data = (uint8_t *)acks[i];
		ab[i].len = ITK_HASH_LEN;
	}
	w.version = 1;
	w.worker_id = "test-worker";
	w.n_acks = n_acks;
	w.acks = ab;
	w.n_replies = n_replies;
	w.replies = replies;
	w.max_deliveries = max;
	w.wait_ms = wait_ms;
	assert_int_equal(itk_wire_pack(&w.base, b), ITK_OK);
	assert_int_equal(
	    nng_send(s, itk_buf_mutable_ptr(b), itk_buf_len(b), 0), 0);
	assert_int_equal(nng_recvmsg(s, &m, 0), 0);
	assert_int_equal(itk_wire_gateway_response_decode(nng_msg_body(m),
							  nng_msg_len(m), &g),
			 ITK_OK);
	nng_msg_free(m);
	itk_buf_free(b);
	return g;
}

/* ---------------------------------------------------------- start-up */

static void
save_key(itk_secret_key *k, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(itk_key_save(k, path, NULL, NULL), ITK_OK);
}

#include "../unit/keygen.h"

static void
write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(itk_file_write_atomic(path, p, n, 0600, 0), ITK_OK);
}

static int
start_gateway(void)
{
	char cfg[4096], path[256], logp[256];
	uint64_t now = (uint64_t)time(NULL), end;
	itk_key_info ik[3];
	int n;

	org = gen(ITK_KEY_ORG, "org", 0, 0);
	receipt = gen(ITK_KEY_RECEIPT, "receipt", 0, 0);
	logk = gen(ITK_KEY_LOG, "log", 0, 0);
	ik_cur = gen(ITK_KEY_INTAKE, "cur", now - 86400, now + 86400);
	ik_old =
	    gen(ITK_KEY_INTAKE, "old", now - 30 * 86400, now - 20 * 86400);
	ik_new =
	    gen(ITK_KEY_INTAKE, "new", now + 20 * 86400, now + 30 * 86400);
	ik[0] = *itk_key_info_of(ik_cur);
	ik[1] = *itk_key_info_of(ik_old);
	ik[2] = *itk_key_info_of(ik_new);
	bundle = itk_buf_new(ITK_KEY_BUNDLE_MAX);
	if (bundle == NULL ||
	    itk_bundle_make(org, ik, 3, itk_key_public(receipt),
			    itk_key_public(logk), "test.intake/gw", 1, now,
			    bundle) != ITK_OK) {
		return -1;
	}
	write_file("bundle.pb", itk_buf_ptr(bundle), itk_buf_len(bundle));
	snprintf(path, sizeof(path), "%s/org.pub", dir);
	if (itk_key_save_public(itk_key_info_of(org), path) != ITK_OK) {
		return -1;
	}
	save_key(receipt, "receipt.key");

	http_port = free_port();
	metrics_port = free_port();
	if (http_port <= 0 || metrics_port <= 0 || http_port == metrics_port) {
		return -1;
	}
	snprintf(link_url, sizeof(link_url), "ipc://%s/link.ipc", dir);
	n = snprintf(cfg, sizeof(cfg),
		     "# gw_link_test\n"
		     "http_listen = http://127.0.0.1:%d\n"
		     "metrics_listen = http://127.0.0.1:%d\n"
		     "spool_dir = %s/spool\n"
		     "spool_max_bytes = 1048576\n"
		     "link_listen = %s\n"
		     "lease_timeout_ms = %u\n"
		     "max_deliveries = %u\n"
		     "link_max_wait_ms = 5000\n"
		     "bundle_file = %s/bundle.pb\n"
		     "org_public_key_file = %s/org.pub\n"
		     "receipt_key_file = %s/receipt.key\n"
		     "origin = test.intake/gw\n"
		     "max_concurrent = 64\n"
		     /* arrival order and timing: these tests check them */
		     "link_batch_ms = 0\n"
		     "log_level = debug\n",
		     http_port, metrics_port, dir, link_url, LEASE_MS,
		     MAX_DELIV, dir, dir, dir);
	if (n <= 0 || (size_t)n >= sizeof(cfg)) {
		return -1;
	}
	write_file("gw.conf", cfg, (size_t)n);
	snprintf(path, sizeof(path), "%s/gw.conf", dir);
	snprintf(logp, sizeof(logp), "%s/gw.log", dir);

	if ((gw_pid = fork()) < 0) {
		return -1;
	}
	if (gw_pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0) {
			_exit(126);
		}
		execl(gateway_path, "intake-gateway", "--config", path,
		      (char *)NULL);
		_exit(127);
	}
	/* Ready when /healthz answers 200 and metrics answer. */
	for (end = now_ms() + DEADLINE_MS; now_ms() < end; pause_ms(20)) {
		struct resp r;
		int st;
		if (waitpid(gw_pid, &st, WNOHANG) == gw_pid) {
			gw_pid = -1;
			return -1;
		}
		if (http_get(http_port, "/healthz", &r) == 0 &&
		    r.status == 200 && metric("intake_gw_spool_depth") >= 0) {
			resp_free(&r);
			return 0;
		}
		resp_free(&r);
	}
	return -1;
}

static int
group_setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/itk-gw-test-XXXXXX");
	if (itk_crypto_init() != ITK_OK || mkdtemp(dir) == NULL) {
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (start_gateway() != 0) {
		char cmd[256];
		fprintf(stderr, "gateway did not start; its log:\n");
		snprintf(cmd, sizeof(cmd), "cat %s/gw.log >&2", dir);
		(void)system(cmd);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];
	int st = 0;

	if (gw_pid > 0) {
		kill(gw_pid, SIGKILL);
		waitpid(gw_pid, &st, 0);
	}
	itk_key_free(org);
	itk_key_free(receipt);
	itk_key_free(logk);
	itk_key_free(ik_cur);
	itk_key_free(ik_old);
	itk_key_free(ik_new);
	itk_buf_free(bundle);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* --------------------------------------------------------------- tests */

static void
keys_endpoint_serves_the_bundle(void **state)
{
	struct resp r;
	itk_pb_key_bundle_body *b = NULL;

	assert_int_equal(http_get(http_port, "/v1/keys", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "application/x-protobuf"));
	assert_int_equal(itk_buf_len(r.body), itk_buf_len(bundle));
	assert_memory_equal(itk_buf_ptr(r.body), itk_buf_ptr(bundle),
			    itk_buf_len(bundle));
	assert_int_equal(itk_bundle_verify(itk_buf_ptr(r.body),
					   itk_buf_len(r.body),
					   itk_key_public(org), &b),
			 ITK_OK);
	itk_wire_free(b);
	resp_free(&r);
}

static void
submission_gets_verifiable_receipt_and_resend_same(void **state)
{
	struct sub s = {0};
	itk_buf *a, *b;
	long long depth0 = metric("intake_gw_spool_depth");

	make_sub(&s, 1);
	a = post_ok(&s);
	assert_int_equal(metric("intake_gw_spool_depth"), depth0 + 1);
	b = post_ok(&s);
	assert_int_equal(itk_buf_len(a), itk_buf_len(b));
	assert_memory_equal(itk_buf_ptr(a), itk_buf_ptr(b), itk_buf_len(a));
	/* Stored once. */
	assert_int_equal(metric("intake_gw_spool_depth"), depth0 + 1);
	itk_buf_free(a);
	itk_buf_free(b);
	sub_free(&s);
}

/* One row of docs/bad-input.md. */
struct bad {
	const char *name;
	int kind; /* 0 post body, 1 raw head, 2 get path */
	const char *arg;
	int status;
	itk_err code;       /* 0: status only (framework answer) */
	const char *reason; /* rejections_total label, or NULL */
};

static void
build_body(const char *name, itk_buf *out)
{
	Intake__V1__Submission m = INTAKE__V1__SUBMISSION__INIT;
	struct sub s = {0};
	uint8_t junk[600];

	memset(junk, 0x5a, sizeof(junk));
	make_sub(&s, 77);
	m.version = 1;
	m.intake_key_id = itk_key_id(ik_cur);
	m.sealed.data = itk_buf_mutable_ptr(s.sealed);
	m.sealed.len = itk_buf_len(s.sealed);
	if (strcmp(name, "malformed") == 0) {
		assert_int_equal(itk_buf_put(out, "\xff\xff\xff\xff\x0f", 5),
				 ITK_OK);
		goto out;
	}
	if (strcmp(name, "truncated") == 0) {
		assert_int_equal(itk_buf_put(out, itk_buf_ptr(s.body),
					     itk_buf_len(s.body) / 2),
				 ITK_OK);
		goto out;
	}
	if (strcmp(name, "empty") == 0) {
		goto out;
	}
	if (strcmp(name, "version2") == 0) {
		m.version = 2;
	} else if (strcmp(name, "version0") == 0) {
		m.version = 0;
	} else if (strcmp(name, "no_sealed") == 0) {
		m.sealed.len = 0;
		m.sealed.data = NULL;
	} else if (strcmp(name, "sealed_not_bucket") == 0) {
		m.sealed.data = junk;
		m.sealed.len = 100;
	} else if (strcmp(name, "sealed_one_short") == 0) {
		m.sealed.len = BUCKET0 - 1;
	} else if (strcmp(name, "sealed_one_long") == 0) {
		m.sealed.data = junk;
		m.sealed.len = BUCKET0 + 1;
	} else if (strcmp(name, "key_unknown") == 0) {
		m.intake_key_id = itk_key_id(ik_cur) ^ 0x01010101u;
	} else if (strcmp(name, "key_expired") == 0) {
		m.intake_key_id = itk_key_id(ik_old);
	} else if (strcmp(name, "key_not_yet") == 0) {
		m.intake_key_id = itk_key_id(ik_new);
	} else {
		fail_msg("unknown case %s", name);
	}
	assert_int_equal(itk_wire_pack(&m.base, out), ITK_OK);
out:
	sub_free(&s);
}

static const struct bad bad_cases[] = {
    {"malformed", 0, NULL, 400, ITK_E_FORMAT, "format"},
    {"truncated", 0, NULL, 400, ITK_E_FORMAT, "format"},
    {"empty", 0, NULL, 400, ITK_E_VERSION, "version"},
    {"version2", 0, NULL, 400, ITK_E_VERSION, "version"},
    {"version0", 0, NULL, 400, ITK_E_VERSION, "version"},
    {"no_sealed", 0, NULL, 400, ITK_E_MISSING, "missing"},
    {"sealed_not_bucket", 0, NULL, 400, ITK_E_RANGE, "range"},
    {"sealed_one_short", 0, NULL, 400, ITK_E_RANGE, "range"},
    {"sealed_one_long", 0, NULL, 400, ITK_E_RANGE, "range"},
    {"key_unknown", 0, NULL, 422, ITK_E_KEY_UNKNOWN, "key_unknown"},
    {"key_expired", 0, NULL, 410, ITK_E_KEY_EXPIRED, "key_expired"},
    {"key_not_yet", 0, NULL, 410, ITK_E_KEY_EXPIRED, "key_expired"},
    {"too_large", 1,
     "POST /v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000",
     413, ITK_E_TOO_BIG, "too_big"},
    {"length_overflow", 1,
     "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n"
     "Content-Length: 99999999999999999999999",
     400, ITK_E_FORMAT, "format"},
    {"length_negative", 1,
     "POST /v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Length: -5", 400,
     ITK_E_FORMAT, "format"},
    {"no_length", 1, "POST /v1/submissions HTTP/1.1\r\nHost: x", 411,
     ITK_E_MISSING, "length_required"},
    {"mailbox_short_hex", 2, "/v1/mailbox/abcd", 400, ITK_E_FORMAT, "format"},
    {"mailbox_not_hex", 2,
     "/v1/mailbox/"
     "zz00000000000000000000000000000000000000000000000000000000000000",
     400, ITK_E_FORMAT, "format"},
    {"mailbox_bad_cursor", 2,
     "/v1/mailbox/"
     "0000000000000000000000000000000000000000000000000000000000000000"
     "?cursor=12",
     400, ITK_E_FORMAT, "format"},
    {"mailbox_trailing", 2,
     "/v1/mailbox/"
     "0000000000000000000000000000000000000000000000000000000000000000/x",
     400, ITK_E_FORMAT, "format"},
    {"uri_too_long", 2, NULL, 414, ITK_E_TOO_BIG, "uri_too_long"},
    {"get_submissions", 1,
     "GET /v1/submissions HTTP/1.1\r\nHost: x\r\nConnection: close", 405, 0,
     NULL},
    {"unknown_path", 2, "/v2/nothing", 404, 0, NULL},
};

static void
bad_inputs_answered_counted_nothing_stored(void **state)
{
	long long depth0 = metric("intake_gw_spool_depth");
	long long bytes0 = metric("intake_gw_spool_bytes");

	assert_true(depth0 >= 0);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		char label[128];
		long long before = -1;
		struct resp r;

		if (c->reason != NULL) {
			snprintf(label, sizeof(label),
				 "intake_gw_rejections_total{reason=\"%s\"}",
				 c->reason);
			before = metric(label);
			assert_true(before >= 0);
		}
		if (c->kind == 0) {
			itk_buf *b = itk_buf_new(ITK_SUBMISSION_MAX);
			build_body(c->name, b);
			assert_int_equal(
			    http_post(itk_buf_ptr(b), itk_buf_len(b), &r), 0);
			itk_buf_free(b);
		} else if (c->kind == 1) {
			assert_int_equal(
			    http_raw(http_port, c->arg, NULL, 0, &r), 0);
		} else if (c->arg != NULL) {
			assert_int_equal(http_get(http_port, c->arg, &r), 0);
		} else {
			char path[4000];
			memset(path, 'a', sizeof(path));
			memcpy(path, "/v1/keys?", 9);
			path[sizeof(path) - 1] = '\0';
			assert_int_equal(http_get(http_port, path, &r), 0);
		}
		print_message("bad input %-20s -> %d\n", c->name, r.status);
		if (c->code != 0) {
			expect_error(&r, c->status, c->code);
		} else {
			assert_int_equal(r.status, c->status);
		}
		resp_free(&r);
		if (c->reason != NULL) {
			assert_int_equal(metric(label), before + 1);
		}
	}
	assert_int_equal(metric("intake_gw_spool_depth"), depth0);
	assert_int_equal(metric("intake_gw_spool_bytes"), bytes0);
}

/* Delivers everything pending to a fresh worker and acks it. */
static void
drain(void)
{
	nng_socket w = worker_open();
	uint64_t end = now_ms() + DEADLINE_MS;

	while (metric("intake_gw_spool_depth") > 0 && now_ms() < end) {
		itk_pb_gateway_response *g =
		    worker_call(w, NULL, 0, NULL, 0, MAX_DELIV, 200);
		const uint8_t *acks[MAX_DELIV];
		for (size_t i = 0; i < g->n_deliveries; i++) {
			acks[i] = g->deliveries[i]->submission_id.data;
		}
		itk_pb_gateway_response *a =
		    worker_call(w, acks, g->n_deliveries, NULL, 0, 0, 0);
		assert_int_equal(a->acked, g->n_deliveries);
		itk_wire_free(a);
		itk_wire_free(g);
	}
	assert_int_equal(metric("intake_gw_spool_depth"), 0);
	nng_close(w);
}

static void
worker_gets_deliveries_and_redelivery_on_pipe_close(void **state)
{
	struct sub s[3] = {{0}};
	nng_socket w;
	itk_pb_gateway_response *g;
	const uint8_t *acks[3];
	uint64_t end;

	drain();
	for (unsigned i = 0; i < 3; i++) {
		make_sub(&s[i], 100 + i);
		itk_buf_free(post_ok(&s[i]));
	}
	/* First worker takes two and vanishes without acking. */
	w = worker_open();
	g = worker_call(w, NULL, 0, NULL, 0, 2, 0);
	assert_int_equal(g->n_deliveries, 2);
	for (size_t i = 0; i < 2; i++) {
		const Intake__V1__Delivery *d = g->deliveries[i];
		assert_memory_equal(d->submission_id.data, s[i].id,
				    ITK_HASH_LEN);
		assert_int_equal(d->submission->sealed.len,
				 itk_buf_len(s[i].sealed));
		assert_memory_equal(d->submission->sealed.data,
				    itk_buf_ptr(s[i].sealed),
				    itk_buf_len(s[i].sealed));
		assert_int_equal(d->submission->intake_key_id,
				 itk_key_id(ik_cur));
		assert_int_equal(d->attempt, 1);
		assert_int_equal(d->accepted_at % 3600, 0);
	}
	itk_wire_free(g);
	assert_int_equal(metric("intake_gw_spool_leased"), 2);
	assert_int_equal(metric("intake_gw_workers_connected"), 1);
	nng_close(w);

	/* Its leases return at once (well before the lease timeout). */
	end = now_ms() + LEASE_MS / 2;
	while (metric("intake_gw_spool_leased") != 0 && now_ms() < end) {
		pause_ms(5);
	}
	assert_int_equal(metric("intake_gw_spool_leased"), 0);

	w = worker_open();
	g = worker_call(w, NULL, 0, NULL, 0, 10, 0);
	assert_int_equal(g->n_deliveries, 3);
	/* The returned two come first, on their second attempt. */
	assert_memory_equal(g->deliveries[0]->submission_id.data, s[0].id,
			    ITK_HASH_LEN);
	assert_int_equal(g->deliveries[0]->attempt, 2);
	assert_memory_equal(g->deliveries[1]->submission_id.data, s[1].id,
			    ITK_HASH_LEN);
	assert_int_equal(g->deliveries[1]->attempt, 2);
	assert_memory_equal(g->deliveries[2]->submission_id.data, s[2].id,
			    ITK_HASH_LEN);
	assert_int_equal(g->deliveries[2]->attempt, 1);
	for (size_t i = 0; i < 3; i++) {
		acks[i] = g->deliveries[i]->submission_id.data;
	}
	{
		itk_pb_gateway_response *a =
		    worker_call(w, acks, 3, NULL, 0, 0, 0);
		assert_int_equal(a->acked, 3);
		assert_int_equal(a->n_deliveries, 0);
		itk_wire_free(a);
		/* A second ack of the same ids applies nothing. */
		a = worker_call(w, acks, 3, NULL, 0, 0, 0);
		assert_int_equal(a->acked, 0);
		itk_wire_free(a);
	}
	itk_wire_free(g);
	assert_int_equal(metric("intake_gw_spool_depth"), 0);

	/* Resent after delivery: the same receipt, nothing stored. */
	{
		itk_buf *again = post_ok(&s[0]);
		assert_int_equal(metric("intake_gw_spool_depth"), 0);
		itk_buf_free(again);
	}
	nng_close(w);
	for (unsigned i = 0; i < 3; i++) {
		sub_free(&s[i]);
	}
}

static void
lease_timeout_redelivers_and_in_flight_is_bounded(void **state)
{
	struct sub s[MAX_DELIV + 2] = {{0}};
	nng_socket a, b;
	itk_pb_gateway_response *g;
	uint64_t t0;

	drain();
	for (unsigned i = 0; i < MAX_DELIV + 2; i++) {
		make_sub(&s[i], 200 + i);
		itk_buf_free(post_ok(&s[i]));
	}
	a = worker_open();
	t0 = now_ms();
	/* Asking for more than the cap gets the cap. */
	g = worker_call(a, NULL, 0, NULL, 0, 1000, 0);
	assert_int_equal(g->n_deliveries, MAX_DELIV);
	itk_wire_free(g);
	/* Holding the cap, the same worker gets nothing more. */
	g = worker_call(a, NULL, 0, NULL, 0, 1000, 0);
	assert_int_equal(g->n_deliveries, 0);
	itk_wire_free(g);
	/* Another worker takes the rest. */
	b = worker_open();
	g = worker_call(b, NULL, 0, NULL, 0, 1000, 0);
	assert_int_equal(g->n_deliveries, 2);
	/*
	 * a keeps its pipe open but never acks.  b acks its two and
	 * long-polls in the same request: after a's lease timeout it is
	 * woken with a's submissions, on their second attempt.
	 */
	{
		const uint8_t *acks[2] = {
		    g->deliveries[0]->submission_id.data,
		    g->deliveries[1]->submission_id.data};
		itk_pb_gateway_response *h =
		    worker_call(b, acks, 2, NULL, 0, 1000, 4000);
		assert_int_equal(h->acked, 2);
		assert_true(now_ms() - t0 >= LEASE_MS - 50);
		assert_int_equal(h->n_deliveries, MAX_DELIV);
		for (size_t i = 0; i < h->n_deliveries; i++) {
			assert_int_equal(h->deliveries[i]->attempt, 2);
		}
		itk_wire_free(h);
	}
	itk_wire_free(g);
	assert_true(metric("intake_gw_redeliveries_total") >= MAX_DELIV);
	nng_close(a);
	nng_close(b);
	drain();
	for (unsigned i = 0; i < MAX_DELIV + 2; i++) {
		sub_free(&s[i]);
	}
}

static void
long_poll_is_woken_by_a_submission(void **state)
{
	nng_socket w;
	nng_msg *m = NULL;
	itk_pb_gateway_response *g = NULL;
	Intake__V1__WorkerRequest q = INTAKE__V1__WORKER_REQUEST__INIT;
	itk_buf *b = itk_buf_new(1024);
	struct sub s = {0};
	uint64_t t0;

	drain();
	w = worker_open();
	q.version = 1;
	q.max_deliveries = 4;
	q.wait_ms = 4000;
	assert_int_equal(itk_wire_pack(&q.base, b), ITK_OK);
	t0 = now_ms();
	assert_int_equal(
	    nng_send(w, itk_buf_mutable_ptr(b), itk_buf_len(b), 0), 0);
	make_sub(&s, 300);
	itk_buf_free(post_ok(&s));
	assert_int_equal(nng_recvmsg(w, &m, 0), 0);
	/* Answered by the submission, not by the 4 s timeout. */
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(itk_wire_gateway_response_decode(nng_msg_body(m),
							  nng_msg_len(m), &g),
			 ITK_OK);
	assert_int_equal(g->n_deliveries, 1);
	assert_memory_equal(g->deliveries[0]->submission_id.data, s.id,
			    ITK_HASH_LEN);
	itk_wire_free(g);
	nng_msg_free(m);
	itk_buf_free(b);
	nng_close(w);
	drain();
	sub_free(&s);

	/* With nothing to deliver, the answer comes at wait_ms. */
	w = worker_open();
	t0 = now_ms();
	g = worker_call(w, NULL, 0, NULL, 0, 4, 300);
	assert_int_equal(g->n_deliveries, 0);
	assert_true(now_ms() - t0 >= 290);
	itk_wire_free(g);
	nng_close(w);
}

static void
mailbox_replies_round_trip(void **state)
{
	itk_secret_key *rk = gen(ITK_KEY_INTAKE, "reply", 0, 1);
	uint8_t mbox[ITK_MAILBOX_ID_LEN];
	char path[256], hex[2 * ITK_MAILBOX_ID_LEN + 1];
	Intake__V1__Reply rep[3], *rp[3];
	itk_buf *sealed[3];
	nng_socket w = worker_open();
	itk_pb_gateway_response *g;
	itk_pb_mailbox_page *page = NULL;
	struct resp r;
	uint8_t ids[3][ITK_HASH_LEN];

	for (size_t i = 0; i < sizeof(mbox); i++) {
		mbox[i] = (uint8_t)(0xa0 + i);
	}
	for (size_t i = 0; i < 3; i++) {
		Intake__V1__ReplyBody rb = INTAKE__V1__REPLY_BODY__INIT;
		itk_buf *pb = itk_buf_new(4096);
		char text[64];
		snprintf(text, sizeof(text), "reply number %zu", i);
		rb.version = 1;
		rb.text = text;
		rb.sent_at = 1000 + i;
		rb.from = "staff";
		assert_int_equal(itk_wire_pack(&rb.base, pb), ITK_OK);
		sealed[i] = itk_buf_new(ITK_SUBMISSION_MAX);
		assert_int_equal(itk_seal(itk_key_public(rk), itk_buf_ptr(pb),
					  itk_buf_len(pb), sealed[i]),
				 ITK_OK);
		itk_buf_free(pb);
		intake__v1__reply__init(&rep[i]);
		itk_sha256(ids[i], itk_buf_ptr(sealed[i]),
			   itk_buf_len(sealed[i]));
		rep[i].reply_id.data = ids[i];
		rep[i].reply_id.len = ITK_HASH_LEN;
		rep[i].mailbox_id.data = mbox;
		rep[i].mailbox_id.len = sizeof(mbox);
		rep[i].sealed.data = itk_buf_mutable_ptr(sealed[i]);
		rep[i].sealed.len = itk_buf_len(sealed[i]);
		rep[i].posted_at = 5000 + i;
		rp[i] = &rep[i];
	}
	/* A reply whose id is not SHA-256(sealed) is refused, and the
	 * whole request with it. */
	ids[2][0] ^= 1;
	g = worker_call(w, NULL, 0, rp, 3, 0, 0);
	assert_non_null(g->error);
	assert_int_equal(g->error->code, ITK_E_RANGE);
	assert_int_equal(g->replies_stored, 0);
	itk_wire_free(g);
	ids[2][0] ^= 1;
	g = worker_call(w, NULL, 0, rp, 3, 0, 0);
	assert_null(g->error);
	assert_int_equal(g->replies_stored, 3);
	itk_wire_free(g);
	/* Resent: stored once. */
	g = worker_call(w, NULL, 0, rp, 3, 0, 0);
	assert_int_equal(g->replies_stored, 0);
	itk_wire_free(g);

	itk_hex(hex, mbox, sizeof(mbox));
	snprintf(path, sizeof(path), "/v1/mailbox/%s", hex);
	assert_int_equal(http_get(http_port, path, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(itk_wire_mailbox_page_decode(
			     itk_buf_ptr(r.body), itk_buf_len(r.body), &page),
			 ITK_OK);
	assert_int_equal(page->n_replies, 3);
	assert_int_equal(page->mailbox_id.len, sizeof(mbox));
	assert_int_equal(page->next_cursor.len, 0);
	for (size_t i = 0; i < 3; i++) {
		itk_buf *pt = itk_buf_new(ITK_SUBMISSION_MAX);
		itk_pb_reply_body *rb = NULL;
		char want[64];
		assert_int_equal(itk_open(itk_key_public(rk),
					  itk_key_secret(rk),
					  page->replies[i]->sealed.data,
					  page->replies[i]->sealed.len, pt),
				 ITK_OK);
		assert_int_equal(itk_wire_reply_body_decode(
				     itk_buf_ptr(pt), itk_buf_len(pt), &rb),
				 ITK_OK);
		snprintf(want, sizeof(want), "reply number %zu", i);
		assert_string_equal(rb->text, want);
		itk_wire_free(rb);
		itk_buf_free(pt);
	}
	itk_wire_free(page);
	resp_free(&r);

	/* Another mailbox is empty. */
	mbox[0] ^= 0xff;
	itk_hex(hex, mbox, sizeof(mbox));
	snprintf(path, sizeof(path), "/v1/mailbox/%s", hex);
	assert_int_equal(http_get(http_port, path, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(itk_wire_mailbox_page_decode(
			     itk_buf_ptr(r.body), itk_buf_len(r.body), &page),
			 ITK_OK);
	assert_int_equal(page->n_replies, 0);
	itk_wire_free(page);
	resp_free(&r);

	for (size_t i = 0; i < 3; i++) {
		itk_buf_free(sealed[i]);
	}
	itk_key_free(rk);
	nng_close(w);
}

static void
malformed_worker_requests_are_refused(void **state)
{
	nng_socket w = worker_open();
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	Intake__V1__WorkerRequest q = INTAKE__V1__WORKER_REQUEST__INIT;
	itk_buf *b = itk_buf_new(1024);
	ProtobufCBinaryData shortack = {5, (uint8_t *)"short"};
	struct {
		const void *p;
		size_t n;
		itk_err want;
	} cases[3];
	long long before = metric("intake_gw_link_rejects_total");

	cases[0].p = junk;
	cases[0].n = sizeof(junk);
	cases[0].want = ITK_E_FORMAT;
	q.version = 2;
	assert_int_equal(itk_wire_pack(&q.base, b), ITK_OK);
	cases[1].p = itk_buf_ptr(b);
	cases[1].n = itk_buf_len(b);
	cases[1].want = ITK_E_VERSION;
	for (size_t i = 0; i < 2; i++) {
		nng_msg *m = NULL;
		itk_pb_gateway_response *g = NULL;
		assert_int_equal(
		    nng_send(w, (void *)cases[i].p, cases[i].n, 0), 0);
		assert_int_equal(nng_recvmsg(w, &m, 0), 0);
		assert_int_equal(itk_wire_gateway_response_decode(
				     nng_msg_body(m), nng_msg_len(m), &g),
				 ITK_OK);
		assert_non_null(g->error);
		assert_int_equal(g->error->code, cases[i].want);
		assert_int_equal(g->n_deliveries, 0);
		itk_wire_free(g);
		nng_msg_free(m);
	}
	/* An ack that is not 32 bytes. */
	itk_buf_reset(b);
	q.version = 1;
	q.n_acks = 1;
	q.acks = &shortack;
	assert_int_equal(itk_wire_pack(&q.base, b), ITK_OK);
	{
		nng_msg *m = NULL;
		itk_pb_gateway_response *g = NULL;
		assert_int_equal(
		    nng_send(w, itk_buf_mutable_ptr(b), itk_buf_len(b), 0), 0);
		assert_int_equal(nng_recvmsg(w, &m, 0), 0);
		assert_int_equal(itk_wire_gateway_response_decode(
				     nng_msg_body(m), nng_msg_len(m), &g),
				 ITK_OK);
		assert_non_null(g->error);
		assert_int_equal(g->error->code, ITK_E_RANGE);
		itk_wire_free(g);
		nng_msg_free(m);
	}
	assert_int_equal(metric("intake_gw_link_rejects_total"), before + 3);
	itk_buf_free(b);
	nng_close(w);
}

static void
full_spool_refuses_then_drains(void **state)
{
	struct sub s[12] = {{0}};
	struct resp r;
	size_t ok = 0, i;
	long long depth;

	drain();
	/* 128 KiB buckets: the 1 MiB spool takes 7. */
	for (i = 0; i < 12; i++) {
		make_sub_v(&s[i], ik_cur, itk_key_id(ik_cur), 1, 100000,
			   400 + (unsigned)i);
		assert_int_equal(http_post(itk_buf_ptr(s[i].body),
					   itk_buf_len(s[i].body), &r),
				 0);
		if (r.status == 200) {
			ok++;
			resp_free(&r);
			continue;
		}
		break;
	}
	assert_int_equal(ok, 7);
	expect_error(&r, 503, ITK_E_FULL);
	{
		itk_pb_error *e = NULL;
		assert_int_equal(itk_wire_error_decode(itk_buf_ptr(r.body),
						       itk_buf_len(r.body),
						       &e),
				 ITK_OK);
		assert_true(e->retry_after > 0);
		itk_wire_free(e);
		assert_non_null(strstr(r.headers, "Retry-After:"));
	}
	resp_free(&r);
	depth = metric("intake_gw_spool_depth");
	assert_int_equal(depth, 7);
	/* A resend of a stored one still gets its receipt when full. */
	itk_buf_free(post_ok(&s[0]));
	/* Workers come back: the spool drains and accepts again. */
	drain();
	itk_buf_free(post_ok(&s[i]));
	drain();
	for (i = 0; i < 12; i++) {
		sub_free(&s[i]);
	}
}

static void
sigterm_stops_cleanly(void **state)
{
	uint64_t end = now_ms() + DEADLINE_MS;
	int st = 0;
	pid_t p = 0;

	assert_int_equal(kill(gw_pid, SIGTERM), 0);
	while (now_ms() < end && (p = waitpid(gw_pid, &st, WNOHANG)) == 0) {
		pause_ms(10);
	}
	assert_int_equal(p, gw_pid);
	gw_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys_endpoint_serves_the_bundle),
	    cmocka_unit_test(
		submission_gets_verifiable_receipt_and_resend_same),
	    cmocka_unit_test(bad_inputs_answered_counted_nothing_stored),
	    cmocka_unit_test(
		worker_gets_deliveries_and_redelivery_on_pipe_close),
	    cmocka_unit_test(
		lease_timeout_redelivers_and_in_flight_is_bounded),
	    cmocka_unit_test(long_poll_is_woken_by_a_submission),
	    cmocka_unit_test(mailbox_replies_round_trip),
	    cmocka_unit_test(malformed_worker_requests_are_refused),
	    cmocka_unit_test(full_spool_refuses_then_drains),
	    cmocka_unit_test(sigterm_stops_cleanly),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-intake-gateway\n", argv[0]);
		return 2;
	}
	gateway_path = argv[1];
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
