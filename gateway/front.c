/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "config.h"
#include "gw.h"
#include "gw_front.h"
#include "log.h"

/*
 * The connection-accounting front (gw_front.h).  One thread, one epoll
 * set, level-triggered; interest in each direction follows buffer space.
 *
 * Per connection: `in` holds bytes from the client.  Its first `fwd`
 * bytes are cleared for the backend (complete checked heads and body
 * bytes); the rest is a head still arriving (or a pipelined next one).
 * `out` holds answer bytes on their way to the client: nng's, relayed,
 * or the front's own.
 *
 * A request the front serves itself (struct lreq) reads its body into
 * its own buffer (S_LBODY), is handed to gw_submit_handle and waits
 * (S_LWAIT) for the committer's callback; the callback formats the
 * answer on its own thread and queues it for the front thread (`done`,
 * eventfd `cfd`), which appends it to `out`.  While a request waits, the
 * connection's next pipelined bytes stay in `in`: answers keep the order
 * of requests.
 */

#define OUT_CAP          (16u * 1024u)
#define TICK_MS          100
#define MAX_EVENTS       64
#define FRONT_REJECT_MAX 512u
#define ANSWER_HEAD_MAX  384u
#define RETRY_BUSY       1u
#define ACCEPT_BATCH     4u /* per wake-up: the others' turn next */

#define SUBMIT_PATH    "/v1/submissions"
#define KEYS_PATH      "/v1/keys"
#define CHALLENGE_PATH "/v1/challenge"

enum cstate {
	S_HEAD,  /* between requests, or a head arriving */
	S_BODY,  /* a relayed request's body on its way to nng */
	S_LBODY, /* a local request's body arriving */
	S_LWAIT, /* a local request handed to submit.c, not answered */
};

enum ewhich { W_CLIENT, W_BACKEND, W_LISTEN, W_STOP, W_DONE };

struct ep {
	struct conn *c; /* NULL: listener or an eventfd */
	enum ewhich which;
};

/* A submission served by the front (from its head to its answer). */
struct lreq {
	struct lreq *next; /* f->done */
	struct shard *f;
	struct conn *c; /* NULL once the connection is gone (front thread) */
	bool close;     /* answer with Connection: close, then close */
	bool entered;   /* counted by opts.enter */
	bool answered;  /* the callback ran (front thread reads it) */
	uint8_t *body;
	size_t len, got;
	uint8_t *ans; /* the whole HTTP answer; NULL: out of memory */
	size_t alen;
};

struct conn {
	struct conn *prev, *next;
	struct ep cev, bev;
	int cfd, bfd;
	bool connecting, ceof, beof, head_partial, dead;
	bool close_after; /* close once `out` is sent; read no more */
	/* nng's answers, followed byte by byte (rs_feed) so that a request
	 * of ours waits for none of them: requests relayed and not yet
	 * wholly answered; opaque once an answer cannot be followed (then
	 * every later request goes to nng too). */
	uint32_t bpend;
	bool opaque;
	bool rs_cl_seen, rs_bad;
	unsigned rs_status;
	uint32_t rs_lines;
	uint64_t rs_cl, rs_body;
	size_t rs_llen;
	char rs_line[48];
	enum cstate st;
	uint64_t body_left;
	uint64_t deadline; /* monotonic ms */
	uint32_t cmask, bmask;
	size_t len, fwd;
	uint8_t *in;
	size_t olen, ooff, ocap;
	uint8_t *out;
	struct lreq *lr; /* S_LBODY, S_LWAIT */
};

/* One event thread with its own epoll set.  All shards wait on the one
 * listening socket (EPOLLEXCLUSIVE: a new connection wakes one of them)
 * and each takes a few connections per wake-up, so an idle shard gets
 * the next ones. */
struct shard {
	gw_front *fr;
	gw_front_opts o;
	int lfd; /* the front's, not owned */
	int efd, wfd, cfd, spare;
	struct ep lev, wev, dev;
	pthread_t thr;
	uint64_t accepted;
	bool started;
	atomic_bool *stop;
	atomic_size_t *n; /* connections of all shards */
	struct conn *head;
	struct conn *dead; /* closed, freed after the event batch */
	pthread_t self;    /* the event thread, set by it */
	atomic_bool self_set;
	/* Answers from the committer thread; guarded by mtx. */
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct lreq *done, *done_tail;
	size_t outstanding; /* handed to submit.c, callback not run yet */
};

#define SHARDS_MAX 8u

struct gw_front {
	gw_front_opts o;
	int lfd;
	atomic_bool stop;
	atomic_size_t n;
	size_t nshards;
	struct shard sh[SHARDS_MAX];
};

/* ------------------------------------------------------------ answers */

static const char *
reason_of(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 408:
		return "Request Timeout";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/*
 * Formats a whole answer (status line, the headers http.c's answers
 * carry, body) into a new buffer of *alen bytes (caller frees); NULL if
 * out of memory.  retry_after > 0 adds Retry-After, pow >= 0
 * Intake-Pow-Difficulty.
 */
static uint8_t *
answer_new(unsigned status, const char *ctype, const uint8_t *body, size_t len,
	   uint32_t retry_after, int pow, bool close, size_t *alen)
{
	char ra[40] = "", pw[48] = "";
	uint8_t *a;
	int n;

	if (retry_after > 0) {
		n = snprintf(ra, sizeof(ra), "Retry-After: %u\r\n",
			     retry_after);
		if (n <= 0 || (size_t)n >= sizeof(ra)) {
			return NULL;
		}
	}
	if (pow >= 0) {
		n = snprintf(pw, sizeof(pw), "Intake-Pow-Difficulty: %d\r\n",
			     pow);
		if (n <= 0 || (size_t)n >= sizeof(pw)) {
			return NULL;
		}
	}
	if ((a = malloc(ANSWER_HEAD_MAX + len)) == NULL) {
		return NULL;
	}
	n = snprintf((char *)a, ANSWER_HEAD_MAX,
		     "HTTP/1.1 %u %s\r\nContent-Type: %s\r\n"
		     "Cache-Control: no-store\r\n%s%s%s"
		     "Content-Length: %zu\r\n\r\n",
		     status, reason_of(status), ctype,
		     close ? "Connection: close\r\n" : "", ra, pw, len);
	if (n <= 0 || (size_t)n >= ANSWER_HEAD_MAX) {
		free(a);
		return NULL;
	}
	if (len > 0) {
		memcpy(a + n, body, len);
	}
	*alen = (size_t)n + len;
	return a;
}

/* An intake.v1.Error answer (answer_new); NULL if out of memory. */
static uint8_t *
error_new(unsigned status, itk_err code, const char *msg, uint32_t retry,
	  int pow, bool close, size_t *alen)
{
	itk_buf *b = itk_buf_new(ITK_ERROR_MAX);
	uint8_t *a = NULL;

	if (b != NULL && gw_error_pack(code, msg, retry, b) == ITK_OK) {
		a = answer_new(status, "application/x-protobuf",
			       itk_buf_ptr(b), itk_buf_len(b), retry, pow,
			       close, alen);
	}
	itk_buf_free(b);
	return a;
}

/*
 * Writes a complete refusal (status line, headers, Error body) without
 * waiting: a client that does not read it simply loses it.  The caller
 * closes the connection.
 */
static void
refuse_fd(int fd, unsigned status, itk_err code, const char *msg,
	  uint32_t retry_after, gw_reject why)
{
	size_t alen = 0;
	uint8_t *a;

	gw_metrics_reject(why);
	a = error_new(status, code, msg, retry_after, -1, true, &alen);
	if (a != NULL) {
		/* Best effort: the socket buffer of a fresh connection
		 * takes a few hundred bytes. */
		(void)send(fd, a, alen, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(a);
}

static void
set_mask(struct shard *f, int fd, struct ep *e, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = {.events = want, .data.ptr = e};

	if (fd < 0 || *cur == want) {
		return;
	}
	if (epoll_ctl(f->efd, EPOLL_CTL_MOD, fd, &ev) == 0) {
		*cur = want;
	}
}

static void
lreq_free(struct shard *f, struct lreq *lr)
{
	if (lr == NULL) {
		return;
	}
	if (lr->entered && f->o.leave != NULL) {
		f->o.leave(f->o.gate);
	}
	free(lr->body);
	free(lr->ans);
	free(lr);
}

/*
 * Closes c and takes it off the list.  The memory waits on f->dead until
 * the current batch of events (which may still name c) is done.  A
 * request still with submit.c is left to its callback.
 */
static void
conn_free(struct shard *f, struct conn *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		f->head = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	if (c->cfd >= 0) {
		close(c->cfd); /* also leaves the epoll set */
	}
	if (c->bfd >= 0) {
		close(c->bfd);
	}
	if (c->lr != NULL) {
		if (c->st == S_LWAIT) {
			c->lr->c = NULL; /* freed when its answer comes */
		} else {
			lreq_free(f, c->lr);
		}
		c->lr = NULL;
	}
	c->cfd = c->bfd = -1;
	c->dead = true;
	c->prev = NULL;
	c->next = f->dead;
	f->dead = c;
	atomic_fetch_sub(f->n, 1);
	gw_metrics_conns(-1);
	gw_pow_set_load(f->o.pow, GW_LOAD_CONNS, atomic_load(f->n),
			f->o.max_conns);
}

static void
reap(struct shard *f)
{
	while (f->dead != NULL) {
		struct conn *c = f->dead;
		f->dead = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

/* Appends a to c's answers (c->out grows as needed).  false: no memory. */
static bool
out_put(struct conn *c, const uint8_t *a, size_t n)
{
	if (c->ooff > 0 && c->ooff == c->olen) {
		c->ooff = c->olen = 0;
	}
	if (c->olen + n > c->ocap) {
		size_t cap = c->olen + n < OUT_CAP ? OUT_CAP : c->olen + n;
		uint8_t *p = realloc(c->out, cap);
		if (p == NULL) {
			return false;
		}
		c->out = p;
		c->ocap = cap;
	}
	memcpy(c->out + c->olen, a, n);
	c->olen += n;
	return true;
}

/* Nothing of nng's outstanding on c: a request may be served here. */
static bool
backend_idle(const struct conn *c)
{
	return !c->opaque && c->bpend == 0 && c->fwd == 0 && c->st != S_BODY;
}

static void
conn_refuse(struct shard *f, struct conn *c, unsigned status, itk_err code,
	    const char *msg, gw_reject why)
{
	itk_log_debug("front.refused", "status=%u reason=%s", status,
		      itk_errname(code));
	if (backend_idle(c) && c->olen > c->ooff) {
		/* Earlier answers still on their way: this one after them,
		 * then close. */
		size_t alen = 0;
		uint8_t *a = error_new(status, code, msg, 0, -1, true, &alen);
		gw_metrics_reject(why);
		if (c->lr != NULL && c->st != S_LWAIT) {
			lreq_free(f, c->lr);
			c->lr = NULL;
		}
		if (a != NULL && out_put(c, a, alen)) {
			free(a);
			c->close_after = true;
			c->st = S_HEAD;
			c->len = 0; /* nothing more is read from it */
			return;
		}
		free(a);
		conn_free(f, c);
		return;
	}
	refuse_fd(c->cfd, status, code, msg, 0, why);
	conn_free(f, c);
}

/* ------------------------------------------------------ head parsing */

static bool
name_is(const uint8_t *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n == k && strncasecmp((const char *)p, name, k) == 0;
}

static bool
bytes_are(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n == k && memcmp(p, s, k) == 0;
}

/* The request line p[0, n) (no CR LF): which route, and HTTP/1.0? */
static gw_route
request_line(const uint8_t *p, size_t n, bool *http10, bool *http11)
{
	size_t m = 0, u, v;

	*http10 = *http11 = false;
	while (m < n && p[m] != ' ') {
		m++;
	}
	u = m + 1;
	v = u;
	while (v < n && p[v] != ' ') {
		v++;
	}
	if (m >= n || v >= n) {
		return GW_ROUTE_NNG;
	}
	*http11 = bytes_are(p + v + 1, n - v - 1, "HTTP/1.1");
	*http10 = bytes_are(p + v + 1, n - v - 1, "HTTP/1.0");
	if (!*http10 && !*http11) {
		return GW_ROUTE_NNG;
	}
	if (bytes_are(p, m, "POST") && bytes_are(p + u, v - u, SUBMIT_PATH)) {
		return GW_ROUTE_SUBMIT;
	}
	if (bytes_are(p, m, "GET") && bytes_are(p + u, v - u, KEYS_PATH)) {
		return GW_ROUTE_KEYS;
	}
	if (bytes_are(p, m, "GET") &&
	    bytes_are(p + u, v - u, CHALLENGE_PATH)) {
		return GW_ROUTE_CHALLENGE;
	}
	return GW_ROUTE_NNG;
}

/* Does the comma-separated value p[0, n) hold the token "close"? */
static bool
has_close(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ',')) {
			i++;
		}
		s = i;
		while (i < n && p[i] != ',') {
			i++;
		}
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t')) {
			e--;
		}
		if (name_is(p + s, e - s, "close")) {
			return true;
		}
	}
	return false;
}

static unsigned
head_refuse(gw_front_head *h, unsigned status, itk_err code, gw_reject why)
{
	h->code = code;
	h->why = why;
	return status;
}

unsigned
gw_front_head_check(const uint8_t *p, size_t n, size_t max_lines,
		    uint64_t max_body, gw_front_head *h)
{
	size_t i = 0, lines = 0, hosts = 0;
	bool http10, http11, conn_close = false;

	memset(h, 0, sizeof(*h));
	h->route = GW_ROUTE_NNG;
	h->code = ITK_OK;
	h->why = GW_REJ_COUNT;
	/* The request line: nng checks method, URI and version of what is
	 * relayed; here only our own routes are recognised. */
	while (i < n && p[i] != '\n') {
		i++;
	}
	h->route = request_line(p, i > 0 && p[i - 1] == '\r' ? i - 1 : i,
				&http10, &http11);
	i++;
	while (i < n) {
		size_t s = i, colon = 0, e;
		while (i < n && p[i] != '\n') {
			if (colon == 0 && p[i] == ':') {
				colon = i;
			}
			i++;
		}
		e = i > s && p[i - 1] == '\r' ? i - 1 : i;
		i++;
		if (e == s) {
			continue;
		}
		if (++lines > max_lines) {
			return head_refuse(h, 431, ITK_E_TOO_BIG,
					   GW_REJ_HEADER_SIZE);
		}
		/* No colon, an empty name, white space in the name or a
		 * folded line (RFC 9112 5.1, 5.2): two parsers could read
		 * it differently, so it is refused. */
		if (colon == 0 || colon > e || colon == s) {
			return head_refuse(h, 400, ITK_E_FORMAT,
					   GW_REJ_FORMAT);
		}
		for (size_t k = s; k < colon; k++) {
			if (p[k] == ' ' || p[k] == '\t') {
				return head_refuse(h, 400, ITK_E_FORMAT,
						   GW_REJ_FORMAT);
			}
		}
		if (name_is(p + s, colon - s, "transfer-encoding")) {
			return head_refuse(h, 411, ITK_E_MISSING,
					   GW_REJ_LENGTH);
		}
		{
			size_t v = colon + 1, w = e;
			while (v < w && (p[v] == ' ' || p[v] == '\t')) {
				v++;
			}
			while (w > v &&
			       (p[w - 1] == ' ' || p[w - 1] == '\t')) {
				w--;
			}
			if (name_is(p + s, colon - s, "host")) {
				hosts++;
			} else if (name_is(p + s, colon - s, "connection")) {
				conn_close =
				    conn_close || has_close(p + v, w - v);
			} else if (name_is(p + s, colon - s,
					   "content-length")) {
				char num[24];
				uint64_t x;
				if (w - v == 0 || w - v >= sizeof(num)) {
					return head_refuse(h, 400,
							   ITK_E_FORMAT,
							   GW_REJ_FORMAT);
				}
				memcpy(num, p + v, w - v);
				num[w - v] = '\0';
				if (itk_parse_u64(num, 0, UINT64_MAX, &x) !=
					ITK_OK ||
				    (h->has_length && x != h->length)) {
					return head_refuse(h, 400,
							   ITK_E_FORMAT,
							   GW_REJ_FORMAT);
				}
				h->has_length = true;
				h->length = x;
			}
		}
	}
	if (h->length > max_body) {
		return head_refuse(h, 413, ITK_E_TOO_BIG, GW_REJ_TOO_BIG);
	}
	/* nng's own answers for these (400 without Host on HTTP/1.1). */
	if (http11 && hosts != 1) {
		h->route = GW_ROUTE_NNG;
	}
	/* A GET with a body: nng decides. */
	if ((h->route == GW_ROUTE_KEYS || h->route == GW_ROUTE_CHALLENGE) &&
	    h->length > 0) {
		h->route = GW_ROUTE_NNG;
	}
	h->close = http10 || conn_close;
	h->head_method = n >= 5 && memcmp(p, "HEAD ", 5) == 0;
	return 0;
}

size_t
gw_front_head_end(const uint8_t *p, size_t n)
{
	const uint8_t *q = p;

	/* memchr: the head's bytes are scanned once, fast. */
	while ((q = memchr(q, '\n', n - (size_t)(q - p))) != NULL) {
		size_t i = (size_t)(q - p);
		if (i >= 1 && p[i - 1] == '\n') {
			return i + 1;
		}
		if (i >= 3 && p[i - 1] == '\r' && p[i - 2] == '\n' &&
		    p[i - 3] == '\r') {
			return i + 1;
		}
		q++;
		if (i + 1 >= n) {
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------ nng's answers */

/* One line of an answer's head (without its line end) is complete. */
static void
rs_line_done(struct conn *c)
{
	size_t n =
	    c->rs_llen < sizeof(c->rs_line) ? c->rs_llen : sizeof(c->rs_line);
	const char *l = c->rs_line;
	static const char cl[] = "content-length:";

	if (c->rs_lines++ == 0) {
		/* "HTTP/1.1 200 ...": 1xx (an interim answer) is not one
		 * we can count. */
		if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[9] < '2' ||
		    l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' ||
		    l[11] > '9') {
			c->rs_bad = true;
		}
		return;
	}
	if (c->rs_llen > sizeof(c->rs_line)) {
		return; /* a long header: not one of those below */
	}
	if (n >= sizeof(cl) - 1 && strncasecmp(l, cl, sizeof(cl) - 1) == 0) {
		char num[24];
		size_t v = sizeof(cl) - 1, w = n;
		uint64_t x;
		while (v < w && (l[v] == ' ' || l[v] == '\t')) {
			v++;
		}
		while (w > v && (l[w - 1] == ' ' || l[w - 1] == '\t')) {
			w--;
		}
		if (w == v || w - v >= sizeof(num) || c->rs_cl_seen) {
			c->rs_bad = true;
			return;
		}
		memcpy(num, l + v, w - v);
		num[w - v] = '\0';
		if (itk_parse_u64(num, 0, UINT64_MAX, &x) != ITK_OK) {
			c->rs_bad = true;
			return;
		}
		c->rs_cl_seen = true;
		c->rs_cl = x;
	} else if (n >= 18 && strncasecmp(l, "transfer-encoding:", 18) == 0) {
		c->rs_bad = true;
	}
}

static void
rs_answer_done(struct conn *c)
{
	if (c->bpend == 0) {
		c->opaque = true; /* an answer to nothing we sent */
		return;
	}
	c->bpend--;
}

/*
 * Follows nng's answer bytes p[0, n) (on their way to the client,
 * unchanged): heads up to their blank line, then Content-Length body
 * bytes.  An answer without a Content-Length, with Transfer-Encoding or
 * with a 1xx status makes c opaque.
 */
static void
rs_feed(struct conn *c, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && !c->opaque) {
		uint8_t b;
		if (c->rs_body > 0) {
			size_t k =
			    n - i < c->rs_body ? n - i : (size_t)c->rs_body;
			c->rs_body -= k;
			i += k;
			if (c->rs_body == 0) {
				rs_answer_done(c);
			}
			continue;
		}
		b = p[i++];
		if (b == '\r') {
			continue;
		}
		if (b != '\n') {
			if (c->rs_llen < sizeof(c->rs_line)) {
				c->rs_line[c->rs_llen] = (char)b;
			}
			if (c->rs_llen <= sizeof(c->rs_line)) {
				c->rs_llen++;
			}
			continue;
		}
		if (c->rs_llen > 0) {
			rs_line_done(c);
			c->rs_llen = 0;
			continue;
		}
		if (c->rs_lines == 0) {
			continue; /* blank lines before an answer */
		}
		/* The blank line: the head is complete. */
		if (c->rs_bad || !c->rs_cl_seen) {
			c->opaque = true;
			return;
		}
		c->rs_body = c->rs_cl;
		c->rs_lines = 0;
		c->rs_cl_seen = false;
		c->rs_cl = 0;
		if (c->rs_body == 0) {
			rs_answer_done(c);
		}
	}
}

/* ------------------------------------------------ local requests */

static bool
on_front_thread(struct shard *f)
{
	return atomic_load(&f->self_set) &&
	       pthread_equal(pthread_self(), f->self);
}

/*
 * gw_submit_handle's callback: on the front thread (an answer known at
 * once) or on the committer's (after the spool's fsync).  Formats the
 * answer here, then queues it for the front thread.
 */
static void
submit_done(void *arg, const gw_answer *a)
{
	struct lreq *lr = arg;
	struct shard *f = lr->f;
	uint64_t one = 1;

	if (a->code == ITK_OK) {
		lr->ans =
		    answer_new(a->status, "application/x-protobuf", a->body,
			       a->len, 0, -1, lr->close, &lr->alen);
	} else {
		lr->ans = error_new(
		    a->status, a->code, a->message, a->retry_after,
		    a->code == ITK_E_POW ? (int)a->pow_difficulty : -1,
		    lr->close, &lr->alen);
	}
	gw_metrics_request(GW_EP_SUBMIT, lr->ans != NULL ? a->status : 500);
	if (lr->entered && f->o.leave != NULL) {
		f->o.leave(f->o.gate);
	}
	lr->entered = false;
	pthread_mutex_lock(&f->mtx);
	f->outstanding--;
	if (on_front_thread(f)) {
		lr->answered = true; /* the caller takes it from here */
	} else {
		lr->next = NULL;
		if (f->done_tail != NULL) {
			f->done_tail->next = lr;
		} else {
			f->done = lr;
		}
		f->done_tail = lr;
		if (write(f->cfd, &one, sizeof(one)) < 0) {
			/* the loop still looks within TICK_MS */
		}
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mtx);
}

/*
 * c's request lr has its answer: put it in c->out and go back to reading
 * heads.  Frees lr.  false: c was freed (out of memory).
 */
static bool
lreq_finish(struct shard *f, struct conn *c, struct lreq *lr, uint64_t now)
{
	bool ok = lr->ans != NULL && out_put(c, lr->ans, lr->alen);

	c->lr = NULL;
	if (lr->close) {
		c->close_after = true;
	}
	lreq_free(f, lr);
	if (!ok) {
		conn_free(f, c);
		return false;
	}
	c->st = S_HEAD;
	c->head_partial = false;
	c->deadline = now + f->o.header_timeout_ms;
	return true;
}

/* The body is complete: hand it to submit.c.  false: c was freed. */
static bool
lreq_submit(struct shard *f, struct conn *c, uint64_t now)
{
	struct lreq *lr = c->lr;

	c->st = S_LWAIT;
	c->deadline = UINT64_MAX; /* the fsync is ours to wait for */
	pthread_mutex_lock(&f->mtx);
	f->outstanding++;
	pthread_mutex_unlock(&f->mtx);
	gw_submit_handle(f->o.submit, lr->body, lr->len, submit_done, lr);
	if (!lr->answered) {
		return true;
	}
	return lreq_finish(f, c, lr, now);
}

/* A whole answer of the front's own; false: c was freed. */
static bool
answer_local(struct shard *f, struct conn *c, gw_endpoint ep, unsigned status,
	     const char *ctype, const uint8_t *body, size_t len, int pow,
	     bool close)
{
	size_t alen = 0;
	uint8_t *a =
	    answer_new(status, ctype, body, len, 0, pow, close, &alen);
	bool ok = a != NULL && out_put(c, a, alen);

	free(a);
	gw_metrics_request(ep, ok ? status : 500);
	if (!ok) {
		conn_free(f, c);
		return false;
	}
	if (close) {
		c->close_after = true;
	}
	return true;
}

/* A refusal that closes the connection after it (http.c's "closes"). */
static void
refuse_local(struct shard *f, struct conn *c, unsigned status, itk_err code,
	     const char *msg, uint32_t retry, gw_reject why)
{
	size_t alen = 0;
	uint8_t *a = error_new(status, code, msg, retry, -1, true, &alen);

	gw_metrics_reject(why);
	gw_metrics_request(GW_EP_SUBMIT, a != NULL ? status : 500);
	if (a == NULL || !out_put(c, a, alen)) {
		free(a);
		conn_free(f, c);
		return;
	}
	free(a);
	c->close_after = true;
}

/*
 * A checked head of ours, e bytes at the start of c->in (nothing relayed
 * on c, so fwd is 0).  Consumes it and starts or answers the request.
 * false: c was freed.
 */
static bool
local_start(struct shard *f, struct conn *c, const gw_front_head *h, size_t e,
	    uint64_t now)
{
	struct lreq *lr;

	memmove(c->in, c->in + e, c->len - e);
	c->len -= e;
	c->head_partial = false;
	c->deadline = now + f->o.header_timeout_ms;
	switch (h->route) {
	case GW_ROUTE_KEYS:
		return answer_local(f, c, GW_EP_KEYS, 200,
				    "application/x-protobuf", f->o.bundle,
				    f->o.bundle_len, -1, h->close);
	case GW_ROUTE_CHALLENGE: {
		uint8_t ch[ITK_POW_CHALLENGE_LEN];
		unsigned d;
		/* A fresh challenge (docs/protocol.md); issuing stores
		 * nothing. */
		gw_pow_issue(f->o.pow, (uint64_t)time(NULL), gw_now_ms(), ch);
		d = ch[1];
		gw_metrics_pow(d, gw_pow_issued(f->o.pow));
		return answer_local(f, c, GW_EP_CHALLENGE, 200,
				    "application/octet-stream", ch, sizeof(ch),
				    (int)d, h->close);
	}
	case GW_ROUTE_SUBMIT:
		break;
	case GW_ROUTE_NNG:
	default:
		conn_free(f, c); /* not reached: routed before */
		return false;
	}
	/* http.c's checks 3 and 6 (1, 4, 5 are done; 2 is submit.c's). */
	if (!h->has_length) {
		refuse_local(f, c, 411, ITK_E_MISSING,
			     "Content-Length is required", 0, GW_REJ_LENGTH);
		return !c->dead;
	}
	if ((lr = calloc(1, sizeof(*lr))) == NULL ||
	    (h->length > 0 && (lr->body = malloc(h->length)) == NULL)) {
		free(lr);
		refuse_local(f, c, 503, ITK_E_BUSY,
			     "too many requests in progress", RETRY_BUSY,
			     GW_REJ_BUSY);
		return !c->dead;
	}
	lr->f = f;
	lr->c = c;
	lr->len = h->length;
	lr->close = h->close;
	if (f->o.enter != NULL && !f->o.enter(f->o.gate)) {
		lreq_free(f, lr);
		refuse_local(f, c, 503, ITK_E_BUSY,
			     "too many requests in progress", RETRY_BUSY,
			     GW_REJ_BUSY);
		return !c->dead;
	}
	lr->entered = f->o.enter != NULL;
	c->lr = lr;
	c->st = S_LBODY;
	c->deadline = now + f->o.body_timeout_ms;
	return true;
}

/* Takes what c->in holds of the local body; submits it when whole. */
static bool
local_body(struct shard *f, struct conn *c, uint64_t now)
{
	struct lreq *lr = c->lr;
	size_t k = lr->len - lr->got;

	if (k > c->len) {
		k = c->len;
	}
	if (k > 0) {
		memcpy(lr->body + lr->got, c->in, k);
		lr->got += k;
		memmove(c->in, c->in + k, c->len - k);
		c->len -= k;
	}
	if (lr->got < lr->len) {
		return true;
	}
	return lreq_submit(f, c, now);
}

/*
 * Clears what can be cleared in c->in.  Returns false if c was refused
 * (and freed).
 */
static bool
advance(struct shard *f, struct conn *c, uint64_t now)
{
	for (;;) {
		gw_front_head h;
		size_t e;
		unsigned st;

		if (c->st == S_BODY) {
			size_t avail = c->len - c->fwd;
			size_t k = avail < c->body_left ? avail
							: (size_t)c->body_left;
			c->fwd += k;
			c->body_left -= k;
			if (c->body_left > 0) {
				return true;
			}
			c->st = S_HEAD;
			c->head_partial = false;
			c->deadline = now + f->o.header_timeout_ms;
			continue;
		}
		if (c->st == S_LBODY) {
			if (!local_body(f, c, now)) {
				return false;
			}
			if (c->st == S_LBODY) {
				return true;
			}
			continue;
		}
		if (c->st == S_LWAIT || c->close_after || c->len == c->fwd) {
			return true;
		}
		/* A client that does not read its answers gets no more. */
		if (backend_idle(c) && c->olen - c->ooff >= OUT_CAP) {
			return true;
		}
		if (!c->head_partial) {
			/* The head timer runs from its first byte. */
			c->head_partial = true;
			c->deadline = now + f->o.header_timeout_ms;
		}
		e = gw_front_head_end(c->in + c->fwd, c->len - c->fwd);
		if (e == 0) {
			if (c->fwd == 0 && c->len == f->o.max_header) {
				conn_refuse(f, c, 431, ITK_E_TOO_BIG,
					    "request head too large",
					    GW_REJ_HEADER_SIZE);
				return false;
			}
			return true;
		}
		st = gw_front_head_check(c->in + c->fwd, e,
					 f->o.max_header_lines, f->o.max_body,
					 &h);
		if (st != 0) {
			conn_refuse(f, c, st, h.code,
				    st == 411 ? "chunked bodies are not "
						"supported"
					      : NULL,
				    h.why);
			return false;
		}
		if (h.route == GW_ROUTE_CHALLENGE && f->o.pow == NULL) {
			h.route = GW_ROUTE_NNG;
		}
		if (h.route == GW_ROUTE_KEYS && f->o.bundle == NULL) {
			h.route = GW_ROUTE_NNG;
		}
		if (h.route != GW_ROUTE_NNG && backend_idle(c) &&
		    f->o.submit != NULL) {
			if (!local_start(f, c, &h, e, now)) {
				return false;
			}
			if (c->dead) {
				return false;
			}
			continue;
		}
		c->bpend++;
		if (h.head_method) {
			c->opaque = true; /* its answer has no body */
		}
		c->fwd += e;
		c->head_partial = false;
		if (h.length > 0) {
			c->st = S_BODY;
			c->body_left = h.length;
			c->deadline = now + f->o.body_timeout_ms;
		} else {
			c->deadline = now + f->o.header_timeout_ms;
		}
	}
}

/* ------------------------------------------------------------- I/O */

static bool
backend_connect(struct shard *f, struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->bev};
	int fd;

	a.sin_port = htons(f->o.backend_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c->ocap < OUT_CAP) {
		uint8_t *p = realloc(c->out, OUT_CAP);
		if (p == NULL) {
			return false;
		}
		c->out = p;
		c->ocap = OUT_CAP;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) < 0) {
		return false;
	}
	c->bfd = fd;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	    errno != EINPROGRESS) {
		return false;
	}
	c->connecting = true;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		return false;
	}
	c->bmask = EPOLLOUT;
	return true;
}

/* Where the next client bytes go: straight into a local body when
 * nothing else waits in `in`, else `in`.  0 room: do not read. */
static size_t
recv_room(const struct shard *f, struct conn *c, uint8_t **dst, bool *direct)
{
	*direct = false;
	if (c->ceof || (c->close_after && c->st == S_HEAD)) {
		return 0;
	}
	if (c->st == S_LBODY && c->len == 0 && c->lr->got < c->lr->len) {
		*direct = true;
		*dst = c->lr->body + c->lr->got;
		return c->lr->len - c->lr->got;
	}
	*dst = c->in + c->len;
	return f->o.max_header - c->len;
}

/* Moves bytes both ways as far as they go.  false: c was freed. */
static bool
pump(struct shard *f, struct conn *c, uint64_t now)
{
	ssize_t n;

	/* client -> in (or a local body) */
	for (;;) {
		uint8_t *dst;
		bool direct;
		size_t room = recv_room(f, c, &dst, &direct);
		if (room == 0) {
			break;
		}
		n = recv(c->cfd, dst, room, 0);
		if (n > 0) {
			if (direct) {
				c->lr->got += (size_t)n;
			} else {
				c->len += (size_t)n;
			}
			if ((size_t)n < room) {
				break; /* drained: spare the EAGAIN call */
			}
			continue;
		}
		if (n == 0) {
			c->ceof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR) {
			conn_free(f, c);
			return false;
		}
		break;
	}
	if (!advance(f, c, now)) {
		return false;
	}
	/* in[0, fwd) -> backend */
	if (c->fwd > 0 && c->bfd < 0 && !backend_connect(f, c)) {
		itk_log_warn("front.backend", "err=\"%s\"", strerror(errno));
		conn_refuse(f, c, 503, ITK_E_BUSY,
			    "the gateway cannot take this request now",
			    GW_REJ_BUSY);
		return false;
	}
	if (c->fwd > 0 && !c->connecting) {
		n = send(c->bfd, c->in, c->fwd, MSG_NOSIGNAL);
		if (n > 0) {
			memmove(c->in, c->in + n, c->len - (size_t)n);
			c->len -= (size_t)n;
			c->fwd -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR) {
			conn_free(f, c);
			return false;
		}
	}
	/* backend -> out */
	while (c->bfd >= 0 && !c->connecting && !c->beof &&
	       c->olen < c->ocap) {
		n = recv(c->bfd, c->out + c->olen, c->ocap - c->olen, 0);
		if (n > 0) {
			rs_feed(c, c->out + c->olen, (size_t)n);
			c->olen += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->beof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR) {
			c->beof = true;
		}
		break;
	}
	/* out -> client */
	while (c->ooff < c->olen) {
		n = send(c->cfd, c->out + c->ooff, c->olen - c->ooff,
			 MSG_NOSIGNAL);
		if (n > 0) {
			c->ooff += (size_t)n;
			/* Answer bytes moving: not idle. */
			if (c->st == S_HEAD && !c->head_partial) {
				c->deadline = now + f->o.header_timeout_ms;
			}
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			conn_free(f, c);
			return false;
		}
		break;
	}
	if (c->ooff == c->olen) {
		c->ooff = c->olen = 0;
		/* Room again for answers held back: go on with `in`. */
		if (backend_idle(c) && c->st == S_HEAD && c->len > 0 &&
		    !c->close_after && !advance(f, c, now)) {
			return false;
		}
	}
	/* Ends: the backend closed and all of it reached the client; our
	 * own "Connection: close" answer is out; or the client closed and
	 * everything it sent went on (or was answered). */
	if (c->beof && (c->st == S_LBODY || c->st == S_LWAIT)) {
		/* nng closed while a request of ours is under way: answer
		 * it, then close like nng did. */
		c->close_after = true;
	} else if (c->beof && c->olen == 0) {
		conn_free(f, c);
		return false;
	}
	if (c->close_after && c->st == S_HEAD && c->olen == 0) {
		conn_free(f, c);
		return false;
	}
	if (c->ceof && c->fwd == 0) {
		if (c->st == S_LWAIT || (c->olen > 0 && backend_idle(c))) {
			/* an answer of ours to come or to send: then close */
			c->close_after = true;
		} else if (c->bfd >= 0 && c->len == 0) {
			(void)shutdown(c->bfd, SHUT_WR); /* nng's to come */
		} else {
			conn_free(f, c);
			return false;
		}
	}
	{
		uint32_t cm = 0, bm = 0;
		uint8_t *dst;
		bool direct;
		if (recv_room(f, c, &dst, &direct) > 0) {
			cm |= EPOLLIN;
		}
		if (c->olen > 0) {
			cm |= EPOLLOUT;
		}
		if (c->connecting || c->fwd > 0) {
			bm |= EPOLLOUT;
		}
		if (c->bfd >= 0 && !c->connecting && !c->beof &&
		    c->olen < c->ocap) {
			bm |= EPOLLIN;
		}
		set_mask(f, c->cfd, &c->cev, &c->cmask, cm);
		set_mask(f, c->bfd, &c->bev, &c->bmask, bm);
	}
	return true;
}

/* Answers from the committer thread, in the order they came. */
static void
drain_done(struct shard *f, uint64_t now)
{
	struct lreq *lr;
	uint64_t v;

	if (read(f->cfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: someone else's wake-up already read */
	}
	pthread_mutex_lock(&f->mtx);
	lr = f->done;
	f->done = f->done_tail = NULL;
	pthread_mutex_unlock(&f->mtx);
	while (lr != NULL) {
		struct lreq *nx = lr->next;
		struct conn *c = lr->c;
		if (c == NULL) {
			lreq_free(f, lr); /* the client left meanwhile */
		} else if (lreq_finish(f, c, lr, now)) {
			(void)pump(f, c, now);
		}
		lr = nx;
	}
}

static void
on_backend(struct shard *f, struct conn *c, uint64_t now)
{
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 ||
		    err != 0) {
			conn_refuse(f, c, 503, ITK_E_BUSY,
				    "the gateway cannot take this request now",
				    GW_REJ_BUSY);
			return;
		}
		c->connecting = false;
	}
	(void)pump(f, c, now);
}

static void
accept_all(struct shard *f, uint64_t now)
{
	for (unsigned k = 0; k < ACCEPT_BATCH; k++) {
		struct epoll_event ev;
		struct conn *c;
		int fd =
		    accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: free the spare, take
				 * the connection, refuse it, close it, so
				 * the listener does not spin. */
				if (f->spare >= 0) {
					close(f->spare);
					f->spare = -1;
					fd = accept4(f->lfd, NULL, NULL,
						     SOCK_NONBLOCK);
					if (fd >= 0) {
						refuse_fd(fd, 503, ITK_E_BUSY,
							  "too many "
							  "connections",
							  1, GW_REJ_CONNS);
						close(fd);
					}
					f->spare = open("/dev/null",
							O_RDONLY | O_CLOEXEC);
					continue;
				}
			}
			return; /* EAGAIN, or try again on the next event */
		}
		/* Counted first, so that shards accepting at once never
		 * pass max_conns together. */
		if (atomic_fetch_add(f->n, 1) >= f->o.max_conns) {
			atomic_fetch_sub(f->n, 1);
			refuse_fd(fd, 503, ITK_E_BUSY, "too many connections",
				  1, GW_REJ_CONNS);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->in = malloc(f->o.max_header)) == NULL) {
			atomic_fetch_sub(f->n, 1);
			free(c);
			close(fd);
			continue;
		}
		{
			/* Answers are one write each: no Nagle delay. */
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
		c->cfd = fd;
		c->bfd = -1;
		c->cev.c = c->bev.c = c;
		c->cev.which = W_CLIENT;
		c->bev.which = W_BACKEND;
		c->deadline = now + f->o.header_timeout_ms;
		ev.events = EPOLLIN;
		ev.data.ptr = &c->cev;
		if (epoll_ctl(f->efd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			atomic_fetch_sub(f->n, 1);
			free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->cmask = EPOLLIN;
		f->accepted++;
		c->next = f->head;
		if (f->head != NULL) {
			f->head->prev = c;
		}
		f->head = c;
		gw_metrics_conns(1);
		gw_pow_set_load(f->o.pow, GW_LOAD_CONNS, atomic_load(f->n),
				f->o.max_conns);
	}
}

static void
expire(struct shard *f, uint64_t now)
{
	struct conn *c = f->head, *nx;

	for (; c != NULL; c = nx) {
		nx = c->next;
		if (now < c->deadline) {
			continue;
		}
		if (c->st == S_BODY || c->st == S_LBODY) {
			conn_refuse(f, c, 408, ITK_E_BUSY,
				    "the request body was too slow",
				    GW_REJ_BODY_TIMEOUT);
		} else if (c->head_partial) {
			conn_refuse(f, c, 408, ITK_E_BUSY,
				    "the request head was too slow",
				    GW_REJ_HEADER_TIMEOUT);
		} else if (c->st == S_HEAD) {
			conn_free(f, c); /* idle keep-alive */
		}
	}
}

static void *
loop(void *arg)
{
	struct shard *f = arg;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t last = gw_now_ms();

	f->self = pthread_self();
	atomic_store(&f->self_set, true);
	while (!atomic_load(f->stop)) {
		int n = epoll_wait(f->efd, evs, MAX_EVENTS, TICK_MS);
		uint64_t now = gw_now_ms();

		for (int i = 0; i < n; i++) {
			struct ep *e = evs[i].data.ptr;
			if (e->which == W_LISTEN) {
				accept_all(f, now);
			} else if (e->which == W_STOP) {
				continue; /* stop: checked by the loop */
			} else if (e->which == W_DONE) {
				drain_done(f, now);
			} else if (e->c->dead) {
				continue; /* closed earlier in this batch */
			} else if (e->which == W_BACKEND) {
				on_backend(f, e->c, now);
			} else {
				(void)pump(f, e->c, now);
			}
		}
		reap(f);
		if (now - last >= TICK_MS) {
			/* A wake-up lost to a full eventfd never strands
			 * an answer. */
			drain_done(f, now);
			expire(f, now);
			reap(f);
			last = now;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- public */

static itk_err
bind_listen(gw_front *fr, const char *url)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	nng_url *u = NULL;
	const char *host;
	int one = 1;
	itk_err r = ITK_E_CONFIG;

	if (nng_url_parse(&u, url) != 0 || strcmp(u->u_scheme, "http") != 0) {
		goto out;
	}
	host = u->u_hostname[0] != '\0' ? u->u_hostname : NULL;
	if (getaddrinfo(host, u->u_port, &hints, &ai) != 0) {
		goto out;
	}
	r = ITK_E_NET;
	fr->lfd = socket(ai->ai_family,
			 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fr->lfd < 0 ||
	    setsockopt(fr->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
		0 ||
	    bind(fr->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fr->lfd, 512) != 0) {
		itk_log_error("front.listen", "url=%s err=\"%s\"", url,
			      strerror(errno));
		goto out;
	}
	r = ITK_OK;
out:
	if (ai != NULL) {
		freeaddrinfo(ai);
	}
	if (u != NULL) {
		nng_url_free(u);
	}
	return r;
}

static itk_err
shard_init(gw_front *fr, struct shard *f)
{
	struct epoll_event ev;

	f->fr = fr;
	f->o = fr->o;
	f->stop = &fr->stop;
	f->n = &fr->n;
	f->lfd = fr->lfd;
	f->efd = f->wfd = f->cfd = f->spare = -1;
	atomic_init(&f->self_set, false);
	if (pthread_mutex_init(&f->mtx, NULL) != 0) {
		return ITK_E_NOMEM;
	}
	if (pthread_cond_init(&f->cv, NULL) != 0) {
		pthread_mutex_destroy(&f->mtx);
		return ITK_E_NOMEM;
	}
	fr->nshards++; /* from here on shard_fini cleans up */
	f->lev.which = W_LISTEN;
	f->wev.which = W_STOP;
	f->dev.which = W_DONE;
	if ((f->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (f->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (f->cfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (f->spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		return ITK_E_NET;
	}
	/* EPOLLEXCLUSIVE: a connection wakes one waiting shard, not all. */
	ev.events = EPOLLIN | (fr->o.threads == 1 ? 0u : EPOLLEXCLUSIVE);
	ev.data.ptr = &f->lev;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, f->lfd, &ev) != 0) {
		return ITK_E_NET;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &f->wev;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, f->wfd, &ev) != 0) {
		return ITK_E_NET;
	}
	ev.data.ptr = &f->dev;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, f->cfd, &ev) != 0) {
		return ITK_E_NET;
	}
	return ITK_OK;
}

/* Stops f's thread, waits for its submissions' callbacks, frees all. */
static void
shard_fini(struct shard *f)
{
	uint64_t one = 1;
	struct lreq *lr;

	if (f->started) {
		if (write(f->wfd, &one, sizeof(one)) < 0) {
			/* the loop still wakes within TICK_MS */
		}
		pthread_join(f->thr, NULL);
		f->started = false;
	}
	/* Submissions still with submit.c: their callbacks name f. */
	pthread_mutex_lock(&f->mtx);
	while (f->outstanding > 0) {
		pthread_cond_wait(&f->cv, &f->mtx);
	}
	lr = f->done;
	f->done = f->done_tail = NULL;
	pthread_mutex_unlock(&f->mtx);
	while (f->head != NULL) {
		conn_free(f, f->head);
	}
	while (lr != NULL) {
		struct lreq *nx = lr->next;
		lreq_free(f, lr);
		lr = nx;
	}
	reap(f);
	if (f->efd >= 0) {
		close(f->efd);
	}
	if (f->wfd >= 0) {
		close(f->wfd);
	}
	if (f->cfd >= 0) {
		close(f->cfd);
	}
	if (f->spare >= 0) {
		close(f->spare);
	}
	f->efd = f->wfd = f->cfd = f->spare = -1;
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mtx);
}

itk_err
gw_front_start(const gw_front_opts *o, gw_front **out)
{
	gw_front *fr;
	size_t want = o->threads;
	itk_err r = ITK_E_NOMEM;

	if (o->max_conns == 0 || o->max_header < 256 ||
	    o->max_header_lines == 0 || o->header_timeout_ms == 0 ||
	    o->body_timeout_ms == 0 || o->backend_port == 0 ||
	    o->threads > SHARDS_MAX) {
		return ITK_E_CONFIG;
	}
	if (want == 0) {
		/* One event thread per core: on a small machine the front's
		 * system calls are most of a request's cost. */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		want = ncpu < 1 ? 1 : (size_t)ncpu;
		want = want > GW_FRONT_THREADS_DEFAULT_MAX
			   ? GW_FRONT_THREADS_DEFAULT_MAX
			   : want;
	}
	if ((fr = calloc(1, sizeof(*fr))) == NULL) {
		return ITK_E_NOMEM;
	}
	fr->o = *o;
	fr->o.threads = want;
	fr->lfd = -1;
	atomic_init(&fr->stop, false);
	atomic_init(&fr->n, 0);
	if ((r = bind_listen(fr, o->listen)) != ITK_OK) {
		goto fail;
	}
	for (size_t i = 0; i < want; i++) {
		if ((r = shard_init(fr, &fr->sh[i])) != ITK_OK) {
			goto fail;
		}
	}
	r = ITK_E_NET;
	for (size_t i = 0; i < fr->nshards; i++) {
		struct shard *f = &fr->sh[i];
		if (pthread_create(&f->thr, NULL, loop, f) != 0) {
			goto fail;
		}
		f->started = true;
	}
	itk_log_info("front.listening",
		     "url=%s max_conns=%zu header_timeout_ms=%u threads=%zu "
		     "local=%s",
		     o->listen, o->max_conns, o->header_timeout_ms,
		     fr->nshards, o->submit != NULL ? "yes" : "no");
	*out = fr;
	return ITK_OK;
fail:
	gw_front_free(fr);
	return r;
}

void
gw_front_free(gw_front *fr)
{
	if (fr == NULL) {
		return;
	}
	atomic_store(&fr->stop, true);
	for (size_t i = 0; i < fr->nshards; i++) {
		itk_log_debug("front.thread", "n=%zu accepted=%llu", i,
			      (unsigned long long)fr->sh[i].accepted);
		shard_fini(&fr->sh[i]);
	}
	if (fr->lfd >= 0) {
		close(fr->lfd);
	}
	free(fr);
}

size_t
gw_front_conns(const gw_front *f)
{
	return f == NULL ? 0 : atomic_load(&((gw_front *)f)->n);
}

uint16_t
gw_front_port(const gw_front *f)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (f == NULL || f->lfd < 0 ||
	    getsockname(f->lfd, (struct sockaddr *)&ss, &l) != 0) {
		return 0;
	}
	if (ss.ss_family == AF_INET) {
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	if (ss.ss_family == AF_INET6) {
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
}
