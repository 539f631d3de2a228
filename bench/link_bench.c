/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link-bench: request/reply exchanges per second over nng, shaped like the
 * worker link as configured (docs/gateway.md): the server listens with rep0
 * and serves CONTEXTS nng contexts asynchronously, as gateway/relay.c
 * does; CLIENTS threads (the workers) each dial with their own req0 socket
 * and loop: send a request of REQ bytes (the acks of the last batch),
 * receive an answer of REP bytes (a batch of deliveries), which the server
 * copies from a prepared buffer as the gateway copies sealed bytes.
 * Nothing else is done, so this is the link's own ceiling.
 *
 *   link-bench [--url URL] [--clients N] [--contexts N] [--batch N]
 *              [--sealed BYTES] [--seconds S]
 *
 * REQ = batch * 34 + 8 (acks), REP = batch * (sealed + 64) (deliveries).
 * Prints key=value lines: exchanges_per_s, submissions_per_s (exchanges
 * times batch), req_bytes, rep_bytes.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "config.h"

#define CONTEXTS_MAX 256u

struct srv_ctx {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
};

static uint8_t *rep_bytes;
static size_t rep_len;
static atomic_bool stopping;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One context's loop: receive a request, answer it, receive again. */
static void
srv_cb(void *arg)
{
	struct srv_ctx *c = arg;
	nng_msg *m;

	if (nng_aio_result(c->aio) != 0) {
		if (c->sending) {
			nng_msg_free(nng_aio_get_msg(c->aio));
		}
		if (atomic_load(&stopping)) {
			return;
		}
		c->sending = 0;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	if (c->sending) {
		c->sending = 0;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(c->aio));
	if (nng_msg_alloc(&m, 0) != 0 ||
	    nng_msg_append(m, rep_bytes, rep_len) != 0) {
		fprintf(stderr, "link-bench: out of memory\n");
		abort();
	}
	nng_aio_set_msg(c->aio, m);
	c->sending = 1;
	nng_ctx_send(c->ctx, c->aio);
}

struct client {
	const char *url;
	size_t req_len;
	uint64_t until_ns;
	uint64_t exchanges;
	int err;
};

static void *
client_thread(void *arg)
{
	struct client *cl = arg;
	nng_socket s;
	uint8_t *req = calloc(1, cl->req_len);
	int rv;

	if (req == NULL) {
		cl->err = NNG_ENOMEM;
		return NULL;
	}
	if ((rv = nng_req0_open(&s)) != 0) {
		cl->err = rv;
		free(req);
		return NULL;
	}
	if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0)) != 0 ||
	    (rv = nng_dial(s, cl->url, NULL, 0)) != 0) {
		cl->err = rv;
		goto out;
	}
	while (now_ns() < cl->until_ns) {
		nng_msg *m;
		if ((rv = nng_msg_alloc(&m, 0)) != 0 ||
		    (rv = nng_msg_append(m, req, cl->req_len)) != 0 ||
		    (rv = nng_sendmsg(s, m, 0)) != 0 ||
		    (rv = nng_recvmsg(s, &m, 0)) != 0) {
			cl->err = rv;
			goto out;
		}
		if (nng_msg_len(m) != rep_len) {
			cl->err = NNG_EPROTO;
			nng_msg_free(m);
			goto out;
		}
		nng_msg_free(m);
		cl->exchanges++;
	}
out:
	nng_close(s);
	free(req);
	return NULL;
}

static int
parse(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (itk_parse_u64(s, min, max, v) != ITK_OK) {
		fprintf(stderr, "link-bench: bad number %s\n", s);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"clients", required_argument, NULL, 'k'},
	    {"contexts", required_argument, NULL, 'x'},
	    {"batch", required_argument, NULL, 'b'},
	    {"sealed", required_argument, NULL, 's'},
	    {"seconds", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char tmpl[] = "/tmp/link-bench-XXXXXX", url[256];
	const char *dir = NULL, *u = NULL;
	uint64_t clients = 2, contexts = 16, batch = 16, sealed = 2096,
		 seconds = 3, t0, dt, total = 0;
	struct srv_ctx *ctxs = NULL;
	struct client *cl = NULL;
	pthread_t *th = NULL;
	nng_socket srv = NNG_SOCKET_INITIALIZER;
	int ch, rc = 1, rv, w;
	size_t started = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'u':
			u = optarg;
			break;
		case 'k':
			bad = parse(optarg, 1, 64, &clients);
			break;
		case 'x':
			bad = parse(optarg, 1, CONTEXTS_MAX, &contexts);
			break;
		case 'b':
			bad = parse(optarg, 1, 4096, &batch);
			break;
		case 's':
			bad = parse(optarg, 1, 1u << 21, &sealed);
			break;
		case 't':
			bad = parse(optarg, 1, 3600, &seconds);
			break;
		case 'h':
			printf("usage: link-bench [--url URL] [--clients N] "
			       "[--contexts N] [--batch N] [--sealed BYTES] "
			       "[--seconds S]\n");
			return 0;
		default:
			bad = -1;
			break;
		}
		if (bad != 0) {
			return 2;
		}
	}
	if (u == NULL) {
		if ((dir = mkdtemp(tmpl)) == NULL) {
			perror("link-bench: mkdtemp");
			return 1;
		}
		w = snprintf(url, sizeof(url), "ipc://%s/link.ipc", dir);
		if (w <= 0 || (size_t)w >= sizeof(url)) {
			return 1;
		}
		u = url;
	}
	rep_len = (size_t)(batch * (sealed + 64));
	if ((rep_bytes = malloc(rep_len)) == NULL ||
	    (ctxs = calloc(contexts, sizeof(*ctxs))) == NULL ||
	    (cl = calloc(clients, sizeof(*cl))) == NULL ||
	    (th = calloc(clients, sizeof(*th))) == NULL) {
		goto out;
	}
	memset(rep_bytes, 0xa5, rep_len);
	if ((rv = nng_rep0_open(&srv)) != 0 ||
	    (rv = nng_socket_set_size(srv, NNG_OPT_RECVMAXSZ, 16u << 20)) !=
		0 ||
	    (rv = nng_listen(srv, u, NULL, 0)) != 0) {
		fprintf(stderr, "link-bench: listen %s: %s\n", u,
			nng_strerror(rv));
		goto out;
	}
	for (size_t i = 0; i < contexts; i++) {
		if ((rv = nng_ctx_open(&ctxs[i].ctx, srv)) != 0 ||
		    (rv = nng_aio_alloc(&ctxs[i].aio, srv_cb, &ctxs[i])) !=
			0) {
			fprintf(stderr, "link-bench: ctx: %s\n",
				nng_strerror(rv));
			goto out;
		}
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	t0 = now_ns();
	for (size_t i = 0; i < clients; i++) {
		cl[i].url = u;
		cl[i].req_len = (size_t)(batch * 34 + 8);
		cl[i].until_ns = t0 + seconds * 1000000000u;
		if (pthread_create(&th[i], NULL, client_thread, &cl[i]) != 0) {
			goto join;
		}
		started++;
	}
join:
	for (size_t i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (cl[i].err != 0) {
			fprintf(stderr, "link-bench: client: %s\n",
				nng_strerror(cl[i].err));
			goto out;
		}
		total += cl[i].exchanges;
	}
	dt = now_ns() - t0;
	if (started != clients) {
		goto out;
	}
	printf("clients=%llu\ncontexts=%llu\nbatch=%llu\nreq_bytes=%llu\n"
	       "rep_bytes=%zu\nexchanges_per_s=%.1f\nsubmissions_per_s=%.1f\n",
	       (unsigned long long)clients, (unsigned long long)contexts,
	       (unsigned long long)batch, (unsigned long long)(batch * 34 + 8),
	       rep_len, (double)total * 1e9 / (double)dt,
	       (double)(total * batch) * 1e9 / (double)dt);
	rc = 0;
out:
	atomic_store(&stopping, true);
	if (ctxs != NULL) {
		for (size_t i = 0; i < contexts; i++) {
			if (ctxs[i].aio != NULL) {
				nng_aio_stop(ctxs[i].aio);
			}
		}
	}
	nng_close(srv);
	if (ctxs != NULL) {
		for (size_t i = 0; i < contexts; i++) {
			nng_aio_free(ctxs[i].aio);
		}
	}
	if (dir != NULL) {
		char p[300];
		w = snprintf(p, sizeof(p), "%s/link.ipc", dir);
		if (w > 0 && (size_t)w < sizeof(p)) {
			unlink(p);
		}
		rmdir(dir);
	}
	free(ctxs);
	free(cl);
	free(th);
	free(rep_bytes);
	return rc;
}
