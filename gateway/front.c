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
 * `out` holds the backend's answer bytes on their way to the client.
 */

#define OUT_CAP          (16u * 1024u)
#define TICK_MS          100
#define MAX_EVENTS       64
#define FRONT_REJECT_MAX 512u

enum cstate { S_HEAD, S_BODY };

struct ep {
	struct conn *c; /* NULL: listener or wake fd */
	int which;      /* 0 client, 1 backend, 2 listener, 3 wake */
};

struct conn {
	struct conn *prev, *next;
	struct ep cev, bev;
	int cfd, bfd;
	bool connecting, ceof, beof, head_partial, dead;
	enum cstate st;
	uint64_t body_left;
	uint64_t deadline; /* monotonic ms */
	uint32_t cmask, bmask;
	size_t len, fwd;
	uint8_t *in;
	size_t olen, ooff;
	uint8_t *out;
};

struct gw_front {
	gw_front_opts o;
	int lfd, efd, wfd, spare;
	struct ep lev, wev;
	pthread_t thr;
	bool started;
	atomic_bool stop;
	atomic_size_t n;
	struct conn *head;
	struct conn *dead; /* closed, freed after the event batch */
};

/* ------------------------------------------------------------ helpers */

/*
 * Writes a complete refusal (status line, headers, Error body) without
 * waiting: a client that does not read it simply loses it.  The caller
 * closes the connection.
 */
static void
refuse_fd(int fd, unsigned status, const char *reason, itk_err code,
	  const char *msg, uint32_t retry_after, gw_reject why)
{
	char hdr[256], ra[40] = "";
	itk_buf *b = itk_buf_new(FRONT_REJECT_MAX);
	int n;

	gw_metrics_reject(why);
	if (b == NULL || gw_error_pack(code, msg, retry_after, b) != ITK_OK) {
		itk_buf_free(b);
		return;
	}
	if (retry_after > 0) {
		n = snprintf(ra, sizeof(ra), "Retry-After: %u\r\n",
			     retry_after);
		if (n <= 0 || (size_t)n >= sizeof(ra)) {
			ra[0] = '\0';
		}
	}
	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %u %s\r\nContent-Type: application/x-protobuf"
		     "\r\nCache-Control: no-store\r\nConnection: close\r\n"
		     "%sContent-Length: %zu\r\n\r\n",
		     status, reason, ra, itk_buf_len(b));
	if (n > 0 && (size_t)n < sizeof(hdr)) {
		struct iovec iov[2] = {
		    {hdr, (size_t)n},
		    {(void *)itk_buf_ptr(b), itk_buf_len(b)}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		/* Best effort: the socket buffer of a fresh connection
		 * takes a few hundred bytes. */
		(void)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	itk_buf_free(b);
}

static void
set_mask(gw_front *f, int fd, struct ep *e, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = {.events = want, .data.ptr = e};

	if (fd < 0 || *cur == want) {
		return;
	}
	if (epoll_ctl(f->efd, EPOLL_CTL_MOD, fd, &ev) == 0) {
		*cur = want;
	}
}

/*
 * Closes c and takes it off the list.  The memory waits on f->dead until
 * the current batch of events (which may still name c) is done.
 */
static void
conn_free(gw_front *f, struct conn *c)
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
	c->cfd = c->bfd = -1;
	c->dead = true;
	c->prev = NULL;
	c->next = f->dead;
	f->dead = c;
	atomic_fetch_sub(&f->n, 1);
	gw_metrics_conns(-1);
	gw_pow_set_load(f->o.pow, GW_LOAD_CONNS, atomic_load(&f->n),
			f->o.max_conns);
}

static void
reap(gw_front *f)
{
	while (f->dead != NULL) {
		struct conn *c = f->dead;
		f->dead = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

static void
conn_refuse(gw_front *f, struct conn *c, unsigned status, const char *reason,
	    itk_err code, const char *msg, gw_reject why)
{
	refuse_fd(c->cfd, status, reason, code, msg, 0, why);
	itk_log_debug("front.refused", "status=%u reason=%s", status,
		      itk_errname(code));
	conn_free(f, c);
}

/* ------------------------------------------------------ head parsing */

static bool
name_is(const uint8_t *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n == k && strncasecmp((const char *)p, name, k) == 0;
}

/*
 * Checks one complete head in[from, end) (end excludes the blank line).
 * Returns 0 and *cl, or the HTTP status to refuse with.
 */
static unsigned
check_head(const gw_front *f, const uint8_t *p, size_t n, uint64_t *cl,
	   itk_err *code)
{
	size_t i = 0, lines = 0;
	bool have_cl = false;

	*cl = 0;
	*code = ITK_E_FORMAT;
	/* The request line: nng checks method, URI and version. */
	while (i < n && p[i] != '\n') {
		i++;
	}
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
		if (++lines > f->o.max_header_lines) {
			*code = ITK_E_TOO_BIG;
			return 431;
		}
		if (colon == 0 || colon > e) {
			return 400;
		}
		if (name_is(p + s, colon - s, "transfer-encoding")) {
			*code = ITK_E_MISSING;
			return 411;
		}
		if (name_is(p + s, colon - s, "content-length")) {
			char num[24];
			size_t v = colon + 1, w = e;
			uint64_t x;
			while (v < w && (p[v] == ' ' || p[v] == '\t')) {
				v++;
			}
			while (w > v &&
			       (p[w - 1] == ' ' || p[w - 1] == '\t')) {
				w--;
			}
			if (w - v == 0 || w - v >= sizeof(num)) {
				return 400;
			}
			memcpy(num, p + v, w - v);
			num[w - v] = '\0';
			if (itk_parse_u64(num, 0, UINT64_MAX, &x) != ITK_OK ||
			    (have_cl && x != *cl)) {
				return 400;
			}
			have_cl = true;
			*cl = x;
		}
	}
	if (*cl > f->o.max_body) {
		*code = ITK_E_TOO_BIG;
		return 413;
	}
	return 0;
}

/* Finds "\r\n\r\n" (or "\n\n") in p[0, n); its end offset or 0. */
static size_t
head_end(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (p[i] != '\n') {
			continue;
		}
		if (p[i - 1] == '\n') {
			return i + 1;
		}
		if (i >= 3 && p[i - 1] == '\r' && p[i - 2] == '\n' &&
		    p[i - 3] == '\r') {
			return i + 1;
		}
	}
	return 0;
}

/*
 * Clears what can be cleared in c->in.  Returns false if c was refused
 * (and freed).
 */
static bool
advance(gw_front *f, struct conn *c, uint64_t now)
{
	for (;;) {
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
		if (c->len == c->fwd) {
			return true;
		}
		if (!c->head_partial) {
			/* The head timer runs from its first byte. */
			c->head_partial = true;
			c->deadline = now + f->o.header_timeout_ms;
		}
		{
			size_t e = head_end(c->in + c->fwd, c->len - c->fwd);
			uint64_t cl;
			itk_err code;
			unsigned st;
			if (e == 0) {
				if (c->fwd == 0 && c->len == f->o.max_header) {
					conn_refuse(
					    f, c, 431,
					    "Request Header Fields Too "
					    "Large",
					    ITK_E_TOO_BIG,
					    "request head too large",
					    GW_REJ_HEADER_SIZE);
					return false;
				}
				return true;
			}
			st = check_head(f, c->in + c->fwd, e, &cl, &code);
			if (st != 0) {
				conn_refuse(
				    f, c, st,
				    st == 431   ? "Request Header Fields Too "
						  "Large"
				    : st == 411 ? "Length Required"
				    : st == 413 ? "Payload Too Large"
						: "Bad Request",
				    code,
				    st == 411 ? "chunked bodies are not "
						"supported"
					      : NULL,
				    st == 431   ? GW_REJ_HEADER_SIZE
				    : st == 411 ? GW_REJ_LENGTH
				    : st == 413 ? GW_REJ_TOO_BIG
						: GW_REJ_FORMAT);
				return false;
			}
			c->fwd += e;
			c->head_partial = false;
			if (cl > 0) {
				c->st = S_BODY;
				c->body_left = cl;
				c->deadline = now + f->o.body_timeout_ms;
			} else {
				c->deadline = now + f->o.header_timeout_ms;
			}
		}
	}
}

/* ------------------------------------------------------------- I/O */

static bool
backend_connect(gw_front *f, struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->bev};
	int fd;

	a.sin_port = htons(f->o.backend_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->out = malloc(OUT_CAP)) == NULL ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
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

/* Moves bytes both ways as far as they go.  false: c was freed. */
static bool
pump(gw_front *f, struct conn *c, uint64_t now)
{
	ssize_t n;

	/* client -> in */
	while (!c->ceof && c->len < f->o.max_header) {
		n = recv(c->cfd, c->in + c->len, f->o.max_header - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
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
		conn_refuse(f, c, 503, "Service Unavailable", ITK_E_BUSY,
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
	/* backend -> out -> client */
	while (c->bfd >= 0 && !c->connecting && !c->beof &&
	       c->olen < OUT_CAP) {
		n = recv(c->bfd, c->out + c->olen, OUT_CAP - c->olen, 0);
		if (n > 0) {
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
	}
	/* Ends: the backend closed and all of it reached the client; or
	 * the client closed and everything it sent went on. */
	if (c->beof && c->olen == 0) {
		conn_free(f, c);
		return false;
	}
	if (c->ceof && c->fwd == 0) {
		if (c->bfd < 0 || c->len > 0) {
			conn_free(f, c);
			return false;
		}
		(void)shutdown(c->bfd, SHUT_WR);
	}
	{
		uint32_t cm = 0, bm = 0;
		if (!c->ceof && c->len < f->o.max_header) {
			cm |= EPOLLIN;
		}
		if (c->olen > 0) {
			cm |= EPOLLOUT;
		}
		if (c->connecting || c->fwd > 0) {
			bm |= EPOLLOUT;
		}
		if (!c->connecting && !c->beof && c->olen < OUT_CAP) {
			bm |= EPOLLIN;
		}
		set_mask(f, c->cfd, &c->cev, &c->cmask, cm);
		set_mask(f, c->bfd, &c->bev, &c->bmask, bm);
	}
	return true;
}

static void
on_backend(gw_front *f, struct conn *c, uint64_t now)
{
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 ||
		    err != 0) {
			conn_refuse(f, c, 503, "Service Unavailable",
				    ITK_E_BUSY,
				    "the gateway cannot take this request now",
				    GW_REJ_BUSY);
			return;
		}
		c->connecting = false;
	}
	(void)pump(f, c, now);
}

static void
accept_all(gw_front *f, uint64_t now)
{
	for (;;) {
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
						refuse_fd(
						    fd, 503,
						    "Service Unavailable",
						    ITK_E_BUSY,
						    "too many connections", 1,
						    GW_REJ_CONNS);
						close(fd);
					}
					f->spare = open("/dev/null",
							O_RDONLY | O_CLOEXEC);
					continue;
				}
			}
			return; /* EAGAIN, or try again on the next event */
		}
		if (atomic_load(&f->n) >= f->o.max_conns) {
			refuse_fd(fd, 503, "Service Unavailable", ITK_E_BUSY,
				  "too many connections", 1, GW_REJ_CONNS);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->in = malloc(f->o.max_header)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->cfd = fd;
		c->bfd = -1;
		c->cev.c = c->bev.c = c;
		c->cev.which = 0;
		c->bev.which = 1;
		c->deadline = now + f->o.header_timeout_ms;
		ev.events = EPOLLIN;
		ev.data.ptr = &c->cev;
		if (epoll_ctl(f->efd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->cmask = EPOLLIN;
		c->next = f->head;
		if (f->head != NULL) {
			f->head->prev = c;
		}
		f->head = c;
		atomic_fetch_add(&f->n, 1);
		gw_metrics_conns(1);
		gw_pow_set_load(f->o.pow, GW_LOAD_CONNS, atomic_load(&f->n),
				f->o.max_conns);
	}
}

static void
expire(gw_front *f, uint64_t now)
{
	struct conn *c = f->head, *nx;

	for (; c != NULL; c = nx) {
		nx = c->next;
		if (now < c->deadline) {
			continue;
		}
		if (c->st == S_BODY) {
			conn_refuse(f, c, 408, "Request Timeout", ITK_E_BUSY,
				    "the request body was too slow",
				    GW_REJ_BODY_TIMEOUT);
		} else if (c->head_partial) {
			conn_refuse(f, c, 408, "Request Timeout", ITK_E_BUSY,
				    "the request head was too slow",
				    GW_REJ_HEADER_TIMEOUT);
		} else {
			conn_free(f, c); /* idle keep-alive */
		}
	}
}

static void *
loop(void *arg)
{
	gw_front *f = arg;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t last = gw_now_ms();

	while (!atomic_load(&f->stop)) {
		int n = epoll_wait(f->efd, evs, MAX_EVENTS, TICK_MS);
		uint64_t now = gw_now_ms();

		for (int i = 0; i < n; i++) {
			struct ep *e = evs[i].data.ptr;
			if (e->which == 2) {
				accept_all(f, now);
			} else if (e->which == 3) {
				continue; /* stop: checked by the loop */
			} else if (e->c->dead) {
				continue; /* closed earlier in this batch */
			} else if (e->which == 1) {
				on_backend(f, e->c, now);
			} else {
				(void)pump(f, e->c, now);
			}
		}
		reap(f);
		if (now - last >= TICK_MS) {
			expire(f, now);
			reap(f);
			last = now;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- public */

static itk_err
bind_listen(gw_front *f, const char *url)
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
	f->lfd = socket(ai->ai_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 ||
	    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
		0 ||
	    bind(f->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(f->lfd, 512) != 0) {
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

itk_err
gw_front_start(const gw_front_opts *o, gw_front **out)
{
	struct epoll_event ev;
	gw_front *f;
	itk_err r = ITK_E_NOMEM;

	if (o->max_conns == 0 || o->max_header < 256 ||
	    o->max_header_lines == 0 || o->header_timeout_ms == 0 ||
	    o->body_timeout_ms == 0 || o->backend_port == 0) {
		return ITK_E_CONFIG;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		return ITK_E_NOMEM;
	}
	f->o = *o;
	f->lfd = f->efd = f->wfd = f->spare = -1;
	atomic_init(&f->stop, false);
	atomic_init(&f->n, 0);
	f->lev.which = 2;
	f->wev.which = 3;
	if ((r = bind_listen(f, o->listen)) != ITK_OK) {
		goto fail;
	}
	r = ITK_E_NET;
	if ((f->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (f->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (f->spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &f->lev;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, f->lfd, &ev) != 0) {
		goto fail;
	}
	ev.data.ptr = &f->wev;
	if (epoll_ctl(f->efd, EPOLL_CTL_ADD, f->wfd, &ev) != 0) {
		goto fail;
	}
	if (pthread_create(&f->thr, NULL, loop, f) != 0) {
		goto fail;
	}
	f->started = true;
	itk_log_info("front.listening",
		     "url=%s max_conns=%zu header_timeout_ms=%u", o->listen,
		     o->max_conns, o->header_timeout_ms);
	*out = f;
	return ITK_OK;
fail:
	gw_front_free(f);
	return r;
}

void
gw_front_free(gw_front *f)
{
	uint64_t one = 1;

	if (f == NULL) {
		return;
	}
	atomic_store(&f->stop, true);
	if (f->started) {
		if (write(f->wfd, &one, sizeof(one)) < 0) {
			/* the loop still wakes within TICK_MS */
		}
		pthread_join(f->thr, NULL);
	}
	while (f->head != NULL) {
		conn_free(f, f->head);
	}
	reap(f);
	if (f->lfd >= 0) {
		close(f->lfd);
	}
	if (f->efd >= 0) {
		close(f->efd);
	}
	if (f->wfd >= 0) {
		close(f->wfd);
	}
	if (f->spare >= 0) {
		close(f->spare);
	}
	free(f);
}

size_t
gw_front_conns(const gw_front *f)
{
	return f == NULL ? 0 : atomic_load(&((gw_front *)f)->n);
}
