/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/front.c: the request head parser (routes, Content-Length,
 * refusals) on its own, then a running front with a real submit path
 * (spool, receipt key) and a stand-in nng backend: answers split at every
 * byte, pipelined requests answered in order, oversized heads and bodies,
 * bad lengths, chunked bodies, slow heads and bodies (408), max_concurrent
 * (503), keys, Connection: close, and requests relayed to the backend
 * (the front follows its answers to serve the next request itself).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "gw.h"
#include "gw_front.h"
#include "keys.h"

#define MAX_BODY     4096u
#define MAX_HEADER   1024u
#define HEAD_TO_MS   400u
#define BODY_TO_MS   400u
#define BUNDLE       "the key bundle bytes"
#define BACKEND_ANS  "HTTP/1.1 299 Backend\r\nContent-Length: 2\r\n\r\nnn"
#define BACKEND_HEAD "HTTP/1.1 299 Backend\r\nContent-Length: 0\r\n\r\n"

#include "gw_fixture.h"
static gw_front *front;
static uint16_t port;
static atomic_bool busy_now;
static atomic_int entered;

/* The stand-in for nng: answers every request head with BACKEND_ANS. */
static int bk_fd = -1;
static pthread_t bk_thr;
static atomic_int bk_requests;

static void *
backend(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[4096];
		size_t have = 0;
		int c = accept(bk_fd, NULL, NULL);
		if (c < 0) {
			return NULL;
		}
		for (;;) {
			ssize_t n = recv(c, buf + have, sizeof(buf) - have, 0);
			char *e;
			if (n <= 0) {
				break;
			}
			have += (size_t)n;
			/* The test sends body-less requests here. */
			while ((e = memmem(buf, have, "\r\n\r\n", 4)) !=
			       NULL) {
				size_t k = (size_t)(e - buf) + 4;
				/* HEAD: a head only (its length is 0 here, so
				 * that the test's reader can take it). */
				const char *ans = memcmp(buf, "HEAD ", 5) == 0
						      ? BACKEND_HEAD
						      : BACKEND_ANS;
				atomic_fetch_add(&bk_requests, 1);
				if (send(c, ans, strlen(ans), MSG_NOSIGNAL) <
				    0) {
					break;
				}
				memmove(buf, buf + k, have - k);
				have -= k;
			}
		}
		close(c);
	}
}

static bool
gate_enter(void *g)
{
	(void)g;
	if (atomic_load(&busy_now)) {
		return false;
	}
	atomic_fetch_add(&entered, 1);
	return true;
}

static void
gate_leave(void *g)
{
	(void)g;
	atomic_fetch_sub(&entered, 1);
}

static int
setup(void **state)
{
	gw_front_opts fo;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	(void)state;
	if (gw_fixture_open("gwfront", MAX_BODY) != 0) {
		return -1;
	}
	/* The backend stand-in on an ephemeral loopback port. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((bk_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(bk_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(bk_fd, 16) != 0 ||
	    getsockname(bk_fd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&bk_thr, NULL, backend, NULL) != 0) {
		return -1;
	}
	memset(&fo, 0, sizeof(fo));
	fo.listen = "http://127.0.0.1:0";
	fo.backend_port = ntohs(a.sin_port);
	fo.max_conns = 64;
	fo.max_header = MAX_HEADER;
	fo.max_header_lines = 8;
	fo.header_timeout_ms = HEAD_TO_MS;
	fo.body_timeout_ms = BODY_TO_MS;
	fo.max_body = MAX_BODY;
	fo.submit = sub;
	fo.bundle = (const uint8_t *)BUNDLE;
	fo.bundle_len = strlen(BUNDLE);
	fo.enter = gate_enter;
	fo.leave = gate_leave;
	fo.threads = 2;
	atomic_store(&busy_now, false);
	if (gw_front_start(&fo, &front) != ITK_OK) {
		return -1;
	}
	port = gw_front_port(front);
	return port != 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	gw_front_free(front);
	shutdown(bk_fd, SHUT_RDWR);
	close(bk_fd);
	pthread_join(bk_thr, NULL);
	return gw_fixture_close();
}

/* ------------------------------------------------------------ helpers */

static itk_buf *
make_body(uint32_t version, unsigned seed)
{
	Intake__V1__Submission m = INTAKE__V1__SUBMISSION__INIT;
	itk_buf *sealed = itk_buf_new(4096), *b = itk_buf_new(8192);
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "front message %u", seed);

	assert_int_equal(itk_seal(itk_key_public(ik), (const uint8_t *)msg,
				  (size_t)n, sealed),
			 ITK_OK);
	m.version = version;
	m.intake_key_id = itk_key_id(ik);
	m.sealed.data = itk_buf_mutable_ptr(sealed);
	m.sealed.len = itk_buf_len(sealed);
	assert_int_equal(itk_wire_pack(&m.base, b), ITK_OK);
	itk_buf_free(sealed);
	return b;
}

/* "POST /v1/submissions" with body b into out (caller frees); *len. */
static uint8_t *
post(const itk_buf *b, const char *extra, size_t *len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "POST /v1/submissions HTTP/1.1\r\nHost: t\r\n%s"
			 "Content-Length: %zu\r\n\r\n",
			 extra, itk_buf_len(b));
	uint8_t *r = malloc((size_t)n + itk_buf_len(b));

	assert_non_null(r);
	assert_true(n > 0 && (size_t)n < sizeof(head));
	memcpy(r, head, (size_t)n);
	memcpy(r + n, itk_buf_ptr(b), itk_buf_len(b));
	*len = (size_t)n + itk_buf_len(b);
	return r;
}

static int
dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 10};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A receive that waits longer than this is a failed test. */
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		q += w;
		n -= (size_t)w;
	}
}

/* One parsed answer. */
struct answer {
	unsigned status;
	bool close;
	uint32_t retry_after;
	uint8_t body[8192];
	size_t len;
};

/* Per connection: bytes read past the previous answer. */
struct rd {
	uint8_t buf[32768];
	size_t have;
};

static const char *
hdr(const char *h, size_t n, const char *name)
{
	size_t k = strlen(name);

	for (size_t i = 0; i + k < n; i++) {
		if ((i == 0 || h[i - 1] == '\n') &&
		    strncasecmp(h + i, name, k) == 0) {
			const char *v = h + i + k;
			while (*v == ' ') {
				v++;
			}
			return v;
		}
	}
	return NULL;
}

static unsigned
num(const char *p)
{
	unsigned v = 0;

	while (p != NULL && *p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	return v;
}

/* Reads one whole answer; false on EOF or timeout before one. */
static bool
read_answer(int fd, struct rd *r, struct answer *a)
{
	for (;;) {
		uint8_t *e = memmem(r->buf, r->have, "\r\n\r\n", 4);
		if (e != NULL) {
			size_t hl = (size_t)(e - r->buf) + 4;
			const char *h = (const char *)r->buf;
			const char *cl = hdr(h, hl, "Content-Length:");
			const char *cn = hdr(h, hl, "Connection:");
			const char *ra = hdr(h, hl, "Retry-After:");
			size_t bl = num(cl);
			assert_non_null(cl);
			assert_true(bl <= sizeof(a->body));
			if (r->have >= hl + bl) {
				assert_memory_equal(r->buf, "HTTP/1.1 ", 9);
				a->status = num(h + 9);
				a->close = cn != NULL &&
					   strncasecmp(cn, "close", 5) == 0;
				a->retry_after = ra != NULL ? num(ra) : 0;
				memcpy(a->body, r->buf + hl, bl);
				a->len = bl;
				memmove(r->buf, r->buf + hl + bl,
					r->have - hl - bl);
				r->have -= hl + bl;
				return true;
			}
		}
		{
			ssize_t n = recv(fd, r->buf + r->have,
					 sizeof(r->buf) - r->have, 0);
			if (n <= 0) {
				return false;
			}
			r->have += (size_t)n;
		}
	}
}

/* EOF from the front (after its answers), within the receive timeout. */
static bool
at_eof(int fd, struct rd *r)
{
	uint8_t b[64];

	return r->have == 0 && recv(fd, b, sizeof(b), 0) <= 0;
}

static void
error_is(const struct answer *a, unsigned status, itk_err code)
{
	itk_pb_error *e = NULL;

	assert_int_equal(a->status, status);
	assert_int_equal(itk_wire_error_decode(a->body, a->len, &e), ITK_OK);
	assert_int_equal(e->code, (uint32_t)code);
	assert_string_equal(e->name, itk_errname(code));
	itk_wire_free(e);
}

/* The value of one metrics line (e.g. "...{reason=\"busy\"}"); 0 if
 * absent. */
static unsigned long long
metric(const char *key)
{
	itk_buf *b = itk_buf_new(1u << 20);
	unsigned long long v = 0;
	const char *p;

	assert_non_null(b);
	assert_int_equal(gw_metrics_render(spool, b), ITK_OK);
	assert_int_equal(itk_buf_put(b, (const uint8_t *)"", 1), ITK_OK);
	p = strstr((const char *)itk_buf_ptr(b), key);
	if (p != NULL) {
		p += strlen(key);
		while (*p == ' ') {
			p++;
		}
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (unsigned long long)(*p - '0');
			p++;
		}
	}
	itk_buf_free(b);
	return v;
}

/* One request on a fresh connection; its answer. */
static void
one(const void *req, size_t n, struct answer *a)
{
	struct rd r = {.have = 0};
	int fd = dial();

	send_all(fd, req, n);
	assert_true(read_answer(fd, &r, a));
	close(fd);
}

static size_t
head_check(const char *s, gw_front_head *h)
{
	size_t e = gw_front_head_end((const uint8_t *)s, strlen(s));

	assert_int_equal(e, strlen(s));
	return gw_front_head_check((const uint8_t *)s, e, 8, MAX_BODY, h);
}

/* -------------------------------------------------------- the parser */

static void
parser_routes(void **state)
{
	gw_front_head h;

	(void)state;
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.1\r\nHost: "
				    "x\r\nContent-Length: 5\r\n\r\n",
				    &h),
			 0);
	assert_int_equal(h.route, GW_ROUTE_SUBMIT);
	assert_true(h.has_length);
	assert_int_equal(h.length, 5);
	assert_false(h.close);
	/* HTTP/1.0: served, closes after the answer. */
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.0\r\n"
				    "Content-Length: 5\r\n\r\n",
				    &h),
			 0);
	assert_int_equal(h.route, GW_ROUTE_SUBMIT);
	assert_true(h.close);
	/* Connection: close among other tokens, any case. */
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.1\r\nHost: "
				    "x\r\nConnection: keep-alive, CLOSE\r\n"
				    "\r\n",
				    &h),
			 0);
	assert_true(h.close);
	assert_false(h.has_length);
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.1\r\nHost: "
				    "x\r\nConnection: closed\r\n\r\n",
				    &h),
			 0);
	assert_false(h.close);
	/* Everything not matched byte for byte goes to nng. */
	static const char *const nng[] = {
	    "POST /v1/submissions HTTP/1.1\r\n\r\n", /* no Host */
	    "POST /v1/submissions HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    "POST /v1/submissions?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
	    "POST /v1/submissions/ HTTP/1.1\r\nHost: a\r\n\r\n",
	    "post /v1/submissions HTTP/1.1\r\nHost: a\r\n\r\n",
	    "HEAD /v1/submissions HTTP/1.1\r\nHost: a\r\n\r\n",
	    "POST  /v1/submissions HTTP/1.1\r\nHost: a\r\n\r\n",
	    "POST /v1/submissions HTTP/1.2\r\nHost: a\r\n\r\n",
	    "POST /v1/submissions HTTP/2.0\r\nHost: a\r\n\r\n",
	    "POST /v1/submissions\r\nHost: a\r\n\r\n",
	    "POST\r\nHost: a\r\n\r\n",
	    "GET /v1/keys HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
	    "GET /v1/challenge HTTP/1.1\r\nHost:a\r\nContent-Length:1\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	    "\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(nng) / sizeof(nng[0]); i++) {
		assert_int_equal(head_check(nng[i], &h), 0);
		assert_int_equal(h.route, GW_ROUTE_NNG);
	}
	assert_int_equal(
	    head_check("GET /v1/keys HTTP/1.1\r\nHost: a\r\n\r\n", &h), 0);
	assert_int_equal(h.route, GW_ROUTE_KEYS);
	assert_int_equal(
	    head_check("GET /v1/challenge HTTP/1.1\r\nhost:a\r\n\r\n", &h), 0);
	assert_int_equal(h.route, GW_ROUTE_CHALLENGE);
	/* Bare LF line ends are read like CR LF. */
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.1\nHost: "
				    "x\nContent-Length: 0\n\n",
				    &h),
			 0);
	assert_int_equal(h.route, GW_ROUTE_SUBMIT);
	assert_true(h.has_length);
}

static void
parser_refusals(void **state)
{
	static const struct {
		const char *head;
		unsigned status;
		itk_err code;
		gw_reject why;
	} cases[] = {
	    {"Content-Length: abc", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length: -5", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length: +5", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length: 1 2", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length: 0x10", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length:", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length: 99999999999999999999999", 400, ITK_E_FORMAT,
	     GW_REJ_FORMAT},
	    {"Content-Length: 5\r\nContent-Length: 6", 400, ITK_E_FORMAT,
	     GW_REJ_FORMAT},
	    {"Content-Length: 4097", 413, ITK_E_TOO_BIG, GW_REJ_TOO_BIG},
	    {"Content-Length: 18446744073709551615", 413, ITK_E_TOO_BIG,
	     GW_REJ_TOO_BIG},
	    {"Transfer-Encoding: chunked", 411, ITK_E_MISSING, GW_REJ_LENGTH},
	    {"transfer-encoding: identity", 411, ITK_E_MISSING, GW_REJ_LENGTH},
	    {"No colon here", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {": no name", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"Content-Length : 5", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"X-A: 1\r\n folded: 2", 400, ITK_E_FORMAT, GW_REJ_FORMAT},
	    {"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8",
	     431, ITK_E_TOO_BIG, GW_REJ_HEADER_SIZE},
	};
	char head[512];
	gw_front_head h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(head, sizeof(head),
				 "POST /v1/submissions HTTP/1.1\r\nHost: "
				 "x\r\n%s\r\n\r\n",
				 cases[i].head);
		assert_true(n > 0 && (size_t)n < sizeof(head));
		assert_int_equal(head_check(head, &h), cases[i].status);
		assert_int_equal(h.code, cases[i].code);
		assert_int_equal(h.why, cases[i].why);
	}
	/* Same value twice is one length; 4096 is the cap itself. */
	assert_int_equal(head_check("POST /v1/submissions HTTP/1.1\r\nHost: "
				    "x\r\nContent-Length: 4096\r\n"
				    "Content-Length:4096\r\n\r\n",
				    &h),
			 0);
	assert_int_equal(h.length, 4096);
}

/* The head's end is found only once it is all there. */
static void
parser_head_end_every_prefix(void **state)
{
	static const char *const heads[] = {
	    "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET / HTTP/1.0\n\n",
	    "A\r\n\nB",
	};
	static const size_t ends[] = {0, 0, 4};

	(void)state;
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const uint8_t *p = (const uint8_t *)heads[i];
		size_t n = strlen(heads[i]);
		size_t end = ends[i] != 0 ? ends[i] : n;
		for (size_t k = 0; k < end; k++) {
			assert_int_equal(gw_front_head_end(p, k), 0);
		}
		for (size_t k = end; k <= n; k++) {
			assert_int_equal(gw_front_head_end(p, k), end);
		}
	}
	assert_int_equal(gw_front_head_end((const uint8_t *)"\n", 1), 0);
	assert_int_equal(gw_front_head_end((const uint8_t *)"\r\n\r", 3), 0);
}

/* ---------------------------------------------------- a running front */

static void
submission_answered_after_spool(void **state)
{
	itk_buf *b = make_body(1, 1);
	struct answer a;
	gw_spool_stats st0, st1;
	unsigned long long ok0 =
	    metric("intake_gw_http_requests_total{endpoint=\"submissions\","
		   "status=\"200\"}");
	size_t n;
	uint8_t *req = post(b, "", &n);

	(void)state;
	gw_spool_get_stats(spool, &st0);
	one(req, n, &a);
	assert_int_equal(a.status, 200);
	assert_false(a.close);
	gw_spool_get_stats(spool, &st1);
	/* The answer came after the spool's commit: it is there now. */
	assert_int_equal(st1.pending, st0.pending + 1);
	assert_int_equal(metric("intake_gw_http_requests_total{endpoint="
				"\"submissions\",status=\"200\"}"),
			 ok0 + 1);
	assert_int_equal(atomic_load(&entered), 0);
	free(req);
	itk_buf_free(b);
}

/* The same request cut in two at every byte: the same receipt. */
static void
split_at_every_byte(void **state)
{
	itk_buf *b = make_body(1, 2);
	struct answer first, a;
	size_t n;
	uint8_t *req = post(b, "", &n);

	(void)state;
	one(req, n, &first);
	assert_int_equal(first.status, 200);
	for (size_t k = 1; k < n; k++) {
		struct rd r = {.have = 0};
		int fd = dial();
		send_all(fd, req, k);
		send_all(fd, req + k, n - k);
		assert_true(read_answer(fd, &r, &a));
		assert_int_equal(a.status, 200);
		assert_int_equal(a.len, first.len);
		assert_memory_equal(a.body, first.body, a.len);
		close(fd);
	}
	free(req);
	itk_buf_free(b);
}

/* Three requests in one write: three answers in their order, and the
 * connection stays open for a fourth. */
static void
pipelined_in_order(void **state)
{
	itk_buf *b1 = make_body(1, 3), *b2 = make_body(2, 3);
	itk_buf *b3 = make_body(1, 4);
	size_t n1, n2, n3, n4;
	uint8_t *r1 = post(b1, "", &n1), *r2 = post(b2, "", &n2);
	uint8_t *r3 = post(b3, "", &n3);
	const char *keys_req = "GET /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t *all = malloc(n1 + n2 + n3);
	struct rd r = {.have = 0};
	struct answer a;
	int fd = dial();

	(void)state;
	assert_non_null(all);
	memcpy(all, r1, n1);
	memcpy(all + n1, r2, n2);
	memcpy(all + n1 + n2, r3, n3);
	send_all(fd, all, n1 + n2 + n3);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	assert_true(read_answer(fd, &r, &a));
	error_is(&a, 400, ITK_E_VERSION);
	assert_false(a.close);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	n4 = strlen(keys_req);
	send_all(fd, keys_req, n4);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	assert_int_equal(a.len, strlen(BUNDLE));
	assert_memory_equal(a.body, BUNDLE, a.len);
	close(fd);
	free(all);
	free(r1);
	free(r2);
	free(r3);
	itk_buf_free(b1);
	itk_buf_free(b2);
	itk_buf_free(b3);
}

static void
oversized_and_bad_lengths(void **state)
{
	char big[MAX_HEADER + 64];
	struct rd r = {.have = 0};
	struct answer a;
	unsigned long long len0 =
	    metric("intake_gw_rejections_total{reason=\"length_required\"}");
	unsigned long long hs0 =
	    metric("intake_gw_rejections_total{reason=\"header_too_large\"}");
	const char *no_len =
	    "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *chunked = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello";
	const char *too_big = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n"
			      "Content-Length: 4097\r\n\r\n";
	const char *bad_len = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n"
			      "Content-Length: 12ab\r\n\r\n";
	int fd;

	(void)state;
	one(no_len, strlen(no_len), &a);
	error_is(&a, 411, ITK_E_MISSING);
	assert_true(a.close);
	assert_int_equal(metric("intake_gw_rejections_total{reason=\""
				"length_required\"}"),
			 len0 + 1);
	one(chunked, strlen(chunked), &a);
	error_is(&a, 411, ITK_E_MISSING);
	assert_true(a.close);
	one(too_big, strlen(too_big), &a);
	error_is(&a, 413, ITK_E_TOO_BIG);
	assert_true(a.close);
	one(bad_len, strlen(bad_len), &a);
	error_is(&a, 400, ITK_E_FORMAT);
	assert_true(a.close);
	/* A head that does not fit the head buffer. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "POST /v1/submissions HTTP/1.1\r\nX: ", 35);
	fd = dial();
	send_all(fd, big, sizeof(big) - 1);
	assert_true(read_answer(fd, &r, &a));
	error_is(&a, 431, ITK_E_TOO_BIG);
	assert_true(at_eof(fd, &r));
	close(fd);
	assert_int_equal(metric("intake_gw_rejections_total{reason=\""
				"header_too_large\"}"),
			 hs0 + 1);
}

/* A head or body that stops arriving: 408 after its deadline.  The
 * receive waits on the front's answer (SO_RCVTIMEO is the bound). */
static void
slow_head_and_body(void **state)
{
	const char *part = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n";
	const char *body_part = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\n"
				"Content-Length: 100\r\n\r\n0123456789";
	unsigned long long ht0 =
	    metric("intake_gw_rejections_total{reason=\"header_timeout\"}");
	unsigned long long bt0 =
	    metric("intake_gw_rejections_total{reason=\"body_timeout\"}");
	struct rd r = {.have = 0};
	struct answer a;
	int fd = dial();

	(void)state;
	send_all(fd, part, strlen(part));
	assert_true(read_answer(fd, &r, &a));
	error_is(&a, 408, ITK_E_BUSY);
	assert_true(at_eof(fd, &r));
	close(fd);
	fd = dial();
	r.have = 0;
	send_all(fd, body_part, strlen(body_part));
	assert_true(read_answer(fd, &r, &a));
	error_is(&a, 408, ITK_E_BUSY);
	assert_true(at_eof(fd, &r));
	close(fd);
	assert_int_equal(metric("intake_gw_rejections_total{reason=\""
				"header_timeout\"}"),
			 ht0 + 1);
	assert_int_equal(metric("intake_gw_rejections_total{reason=\""
				"body_timeout\"}"),
			 bt0 + 1);
	/* Nothing left counted in: the body's request was let go. */
	assert_int_equal(atomic_load(&entered), 0);
}

static void
busy_beyond_max_concurrent(void **state)
{
	itk_buf *b = make_body(1, 5);
	struct answer a;
	size_t n;
	uint8_t *req = post(b, "", &n);

	(void)state;
	atomic_store(&busy_now, true);
	one(req, n, &a);
	atomic_store(&busy_now, false);
	error_is(&a, 503, ITK_E_BUSY);
	assert_true(a.close);
	assert_int_equal(a.retry_after, 1);
	free(req);
	itk_buf_free(b);
}

static void
connection_close_honoured(void **state)
{
	itk_buf *b = make_body(1, 6);
	struct rd r = {.have = 0};
	struct answer a;
	size_t n;
	uint8_t *req = post(b, "Connection: close\r\n", &n);
	int fd = dial();

	(void)state;
	send_all(fd, req, n);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	assert_true(a.close);
	assert_true(at_eof(fd, &r));
	close(fd);
	/* A client that half-closes after its request still gets the
	 * answer. */
	fd = dial();
	r.have = 0;
	send_all(fd, req, n);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	close(fd);
	free(req);
	itk_buf_free(b);
}

/* Other paths go to nng; a request of ours that arrives while nng still
 * owes an answer goes to nng too, so answers keep their order. */
static void
other_paths_relayed_in_order(void **state)
{
	itk_buf *b = make_body(1, 7);
	const char *get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *keys_req = "GET /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n";
	struct rd r = {.have = 0};
	struct answer a;
	int before = atomic_load(&bk_requests);
	int fd = dial();

	char three[256];
	int n3 =
	    snprintf(three, sizeof(three), "%s%s%s", keys_req, get, keys_req);

	(void)state;
	/* Ours first, then nng's, then one that would be ours, in one write
	 * (one loopback segment), so that the front reads the third while
	 * nng owes the second's answer.  Sent one by one, the third may
	 * arrive after nng has answered, and then the front rightly serves
	 * it itself (sequential_back_to_front). */
	assert_true(n3 > 0 && (size_t)n3 < sizeof(three));
	send_all(fd, three, (size_t)n3);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	assert_memory_equal(a.body, BUNDLE, a.len);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	assert_int_equal(atomic_load(&bk_requests), before + 2);
	close(fd);
	itk_buf_free(b);
}

/* One at a time: once nng has answered, a submission on the same
 * connection is served by the front again; after an answer the front
 * cannot follow (to HEAD), everything stays with nng. */
static void
sequential_back_to_front(void **state)
{
	itk_buf *b = make_body(1, 9);
	const char *get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *head = "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *keys_req = "GET /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n";
	struct rd r = {.have = 0};
	struct answer a;
	size_t n;
	uint8_t *req = post(b, "", &n);
	int before = atomic_load(&bk_requests);
	int fd = dial();

	(void)state;
	send_all(fd, get, strlen(get));
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	send_all(fd, req, n);
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200); /* a receipt: the front's */
	assert_int_equal(atomic_load(&bk_requests), before + 1);
	send_all(fd, get, strlen(get));
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	send_all(fd, keys_req, strlen(keys_req));
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 200);
	assert_memory_equal(a.body, BUNDLE, a.len);
	assert_int_equal(atomic_load(&bk_requests), before + 2);
	/* HEAD: from here on nng answers everything. */
	send_all(fd, head, strlen(head));
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	send_all(fd, keys_req, strlen(keys_req));
	assert_true(read_answer(fd, &r, &a));
	assert_int_equal(a.status, 299);
	assert_int_equal(atomic_load(&bk_requests), before + 4);
	close(fd);
	free(req);
	itk_buf_free(b);
}

/* Random bytes and random cuts of a valid request: every connection
 * gets at most well-formed answers and the front stays up. */
static void
garbage_does_not_break_it(void **state)
{
	itk_buf *b = make_body(1, 8);
	struct answer a;
	size_t n;
	uint8_t *req = post(b, "", &n);
	uint8_t junk[600];

	(void)state;
	for (unsigned i = 0; i < 40; i++) {
		struct rd r = {.have = 0};
		int fd = dial();
		randombytes_buf(junk, sizeof(junk));
		if (i % 2 == 0) {
			/* a valid head, a body of junk (400 at decode) */
			memcpy(junk, req, n < 120 ? n : 120);
		}
		junk[sizeof(junk) - 1] = '\n';
		send_all(fd, junk, sizeof(junk));
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
		while (read_answer(fd, &r, &a)) {
			assert_true(a.status >= 200 && a.status < 600);
		}
		close(fd);
	}
	one(req, n, &a);
	assert_int_equal(a.status, 200);
	free(req);
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parser_routes),
	    cmocka_unit_test(parser_refusals),
	    cmocka_unit_test(parser_head_end_every_prefix),
	    cmocka_unit_test(submission_answered_after_spool),
	    cmocka_unit_test(split_at_every_byte),
	    cmocka_unit_test(pipelined_in_order),
	    cmocka_unit_test(oversized_and_bad_lengths),
	    cmocka_unit_test(slow_head_and_body),
	    cmocka_unit_test(busy_beyond_max_concurrent),
	    cmocka_unit_test(connection_close_honoured),
	    cmocka_unit_test(other_paths_relayed_in_order),
	    cmocka_unit_test(sequential_back_to_front),
	    cmocka_unit_test(garbage_does_not_break_it),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
