/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-load: a closed-loop HTTP/1.1 load client for the HTTP-layer
 * ceiling.  CONNS keep-alive connections on one thread (one epoll set),
 * each sending the same POST with a BODY-byte body and waiting for the
 * whole answer before sending again.  One thread keeps the client's own
 * share of the 2 cores small and the same for every server it drives
 * (http-empty, nginx, the gateway).
 *
 *   http-load --port PORT [--host 127.0.0.1] [--path /] [--conns 64]
 *             [--body 4096] [--seconds 5] [--warmup 1]
 *
 * Answers are counted by status class; "Connection: close" makes the
 * client reconnect.  Prints key=value lines: responses, rate (answers per
 * second after the warm-up), ok (2xx), non2xx, errors, reconnects.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define CONNS_MAX 4096u
#define RBUF      (64u * 1024u)

struct conn {
	int fd;
	size_t sent;  /* bytes of the request sent */
	size_t rlen;  /* bytes in rbuf */
	bool reading; /* request sent, waiting for the answer */
	uint8_t rbuf[RBUF];
};

struct load {
	struct sockaddr_in sa;
	int efd;
	uint8_t *req;
	size_t req_len;
	uint64_t ok, non2xx, errors, reconnects, counted;
	uint64_t count_from_ns, until_ns;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
conn_open(struct load *L, struct conn *c)
{
	struct epoll_event ev = {0};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		return -1;
	}
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) !=
		0 ||
	    (connect(c->fd, (const struct sockaddr *)&L->sa, sizeof(L->sa)) !=
		 0 &&
	     errno != EINPROGRESS)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->sent = 0;
	c->rlen = 0;
	c->reading = false;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(L->efd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
conn_reopen(struct load *L, struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	L->reconnects++;
	if (conn_open(L, c) != 0) {
		L->errors++;
	}
}

static void
want(struct load *L, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {0};

	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(L->efd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		L->errors++;
	}
}

/* Case-insensitive search for header name (with ':') in the head; returns
 * the value's start or NULL. */
static const char *
header(const char *head, size_t n, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < n; i++) {
		if ((i == 0 || head[i - 1] == '\n') &&
		    strncasecmp(head + i, name, nl) == 0) {
			const char *v = head + i + nl;
			while (v < head + n && (*v == ' ' || *v == '\t')) {
				v++;
			}
			return v;
		}
	}
	return NULL;
}

static uint64_t
digits(const char *p, const char *end)
{
	uint64_t v = 0;

	while (p < end && *p >= '0' && *p <= '9' && v < (1u << 30)) {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	return v;
}

/* A whole answer in rbuf?  Returns its length, 0 if more is needed, or
 * (size_t)-1 if it is not HTTP. */
static size_t
answer_len(struct conn *c, unsigned *status, bool *close_after)
{
	const char *b = (const char *)c->rbuf, *cl, *cn;
	const uint8_t *e;
	size_t head;

	e = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (e == NULL) {
		return c->rlen == RBUF ? (size_t)-1 : 0;
	}
	head = (size_t)(e - c->rbuf) + 4;
	if (head < 12 || memcmp(b, "HTTP/1.", 7) != 0) {
		return (size_t)-1;
	}
	*status = (unsigned)digits(b + 9, b + 12);
	cl = header(b, head, "Content-Length:");
	cn = header(b, head, "Connection:");
	*close_after = cn != NULL && strncasecmp(cn, "close", 5) == 0;
	if (cl == NULL) {
		return head; /* no body (we never ask for chunked ones) */
	}
	head += (size_t)digits(cl, b + head);
	if (head > RBUF) {
		return (size_t)-1;
	}
	return c->rlen >= head ? head : 0;
}

static void
on_event(struct load *L, struct conn *c, uint32_t ev)
{
	if ((ev & (EPOLLERR | EPOLLHUP)) != 0 && (ev & EPOLLIN) == 0) {
		L->errors++;
		conn_reopen(L, c);
		return;
	}
	if (!c->reading && (ev & EPOLLOUT) != 0) {
		ssize_t w = send(c->fd, L->req + c->sent, L->req_len - c->sent,
				 MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				L->errors++;
				conn_reopen(L, c);
			}
			return;
		}
		c->sent += (size_t)w;
		if (c->sent == L->req_len) {
			c->reading = true;
			want(L, c, EPOLLIN);
		}
		return;
	}
	if (c->reading && (ev & EPOLLIN) != 0) {
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
		unsigned status = 0;
		bool close_after = false;
		size_t n;

		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				return;
			}
			L->errors++;
			conn_reopen(L, c);
			return;
		}
		c->rlen += (size_t)r;
		n = answer_len(c, &status, &close_after);
		if (n == 0) {
			return;
		}
		if (n == (size_t)-1) {
			L->errors++;
			conn_reopen(L, c);
			return;
		}
		if (now_ns() >= L->count_from_ns) {
			L->counted++;
			if (status >= 200 && status < 300) {
				L->ok++;
			} else {
				L->non2xx++;
			}
		}
		if (close_after) {
			conn_reopen(L, c);
			return;
		}
		c->sent = 0;
		c->rlen = 0;
		c->reading = false;
		want(L, c, EPOLLOUT);
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: http-load --port PORT [--host IPV4] [--path P] "
		   "[--conns N] [--body BYTES] [--seconds S] [--warmup S]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"path", required_argument, NULL, 'P'},
	    {"conns", required_argument, NULL, 'c'},
	    {"body", required_argument, NULL, 'b'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct load L = {0};
	struct epoll_event evs[256];
	const char *host = "127.0.0.1", *path = "/";
	uint64_t port = 0, conns = 64, body = 4096, seconds = 5, warmup = 1;
	struct conn *cs = NULL;
	uint64_t t0;
	int ch, rc = 1, w;
	char head[512];

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		itk_err r = ITK_OK;
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			r = itk_parse_u64(optarg, 1, 65535, &port);
			break;
		case 'P':
			path = optarg;
			break;
		case 'c':
			r = itk_parse_u64(optarg, 1, CONNS_MAX, &conns);
			break;
		case 'b':
			r = itk_parse_u64(optarg, 0, 1u << 20, &body);
			break;
		case 's':
			r = itk_parse_u64(optarg, 1, 3600, &seconds);
			break;
		case 'w':
			r = itk_parse_u64(optarg, 0, 3600, &warmup);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			r = ITK_E_FORMAT;
			break;
		}
		if (r != ITK_OK) {
			usage(stderr);
			return 2;
		}
	}
	L.sa.sin_family = AF_INET;
	L.sa.sin_port = htons((uint16_t)port);
	if (port == 0 || inet_pton(AF_INET, host, &L.sa.sin_addr) != 1 ||
	    strlen(path) > 256) {
		usage(stderr);
		return 2;
	}
	w = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s\r\n"
		     "Content-Type: application/x-protobuf\r\n"
		     "Content-Length: %llu\r\n\r\n",
		     path, host, (unsigned long long)body);
	if (w <= 0 || (size_t)w >= sizeof(head)) {
		return 2;
	}
	L.req_len = (size_t)w + (size_t)body;
	if ((L.req = malloc(L.req_len)) == NULL ||
	    (cs = calloc(conns, sizeof(*cs))) == NULL ||
	    (L.efd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		goto out;
	}
	memcpy(L.req, head, (size_t)w);
	/* Not a valid Submission: the gateway refuses it at decoding. */
	memset(L.req + w, 0x5a, (size_t)body);
	for (size_t i = 0; i < conns; i++) {
		if (conn_open(&L, &cs[i]) != 0) {
			fprintf(stderr, "http-load: connect: %s\n",
				strerror(errno));
			goto out;
		}
	}
	t0 = now_ns();
	L.count_from_ns = t0 + warmup * 1000000000u;
	L.until_ns = L.count_from_ns + seconds * 1000000000u;
	while (now_ns() < L.until_ns) {
		int n = epoll_wait(L.efd, evs, 256, 100);
		if (n < 0 && errno != EINTR) {
			goto out;
		}
		for (int i = 0; i < n; i++) {
			on_event(&L, evs[i].data.ptr, evs[i].events);
		}
		if (L.errors > 1000 + L.counted) {
			fprintf(stderr, "http-load: too many errors\n");
			break;
		}
	}
	printf("conns=%llu\nbody=%llu\nresponses=%llu\nrate=%.1f\nok=%llu\n"
	       "non2xx=%llu\nerrors=%llu\nreconnects=%llu\n",
	       (unsigned long long)conns, (unsigned long long)body,
	       (unsigned long long)L.counted,
	       (double)L.counted / (double)seconds, (unsigned long long)L.ok,
	       (unsigned long long)L.non2xx, (unsigned long long)L.errors,
	       (unsigned long long)L.reconnects);
	rc = L.counted > 0 ? 0 : 1;
out:
	if (cs != NULL) {
		for (size_t i = 0; i < conns; i++) {
			if (cs[i].fd > 0) {
				close(cs[i].fd);
			}
		}
	}
	if (L.efd > 0) {
		close(L.efd);
	}
	free(cs);
	free(L.req);
	return rc;
}
