/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-empty: nng's HTTP server (the one the gateway is built on) with one
 * POST handler that has nng read the whole body (up to 64 KiB) and answers
 * 200 with two bytes.  Nothing else: the HTTP layer's own ceiling, for
 * bench/http_load.c to drive and to set beside nginx.
 *
 *   http-empty URL          e.g. http://127.0.0.1:8099
 *
 * Prints "ready" on stdout once listening; runs until SIGTERM or SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#define BODY_MAX (64u * 1024u)

static void
empty_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_res *res = NULL;
	size_t len = 0;
	void *body;
	int rv;

	/* The body was read by the server (collect_body); touch its length
	 * so that the handler depends on it. */
	nng_http_req_get_data(req, &body, &len);
	if ((rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_res_set_status(res, len > 0 ? 200 : 400)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Content-Type",
					  "text/plain")) != 0 ||
	    (rv = nng_http_res_set_data(res, "ok", 2)) != 0) {
		if (res != NULL) {
			nng_http_res_free(res);
		}
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

int
main(int argc, char **argv)
{
	nng_http_server *srv = NULL;
	nng_http_handler *h = NULL;
	nng_url *url = NULL;
	sigset_t set;
	int rv, sig = 0, rc = 1;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: http-empty URL\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before nng starts its threads, so sigwait gets them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rv = nng_url_parse(&url, argv[1])) != 0 ||
	    (rv = nng_http_server_hold(&srv, url)) != 0 ||
	    (rv = nng_http_handler_alloc(&h, "/", empty_cb)) != 0 ||
	    (rv = nng_http_handler_set_method(h, "POST")) != 0 ||
	    (rv = nng_http_handler_collect_body(h, true, BODY_MAX)) != 0 ||
	    (rv = nng_http_server_add_handler(srv, h)) != 0) {
		fprintf(stderr, "http-empty: %s\n", nng_strerror(rv));
		goto out;
	}
	h = NULL; /* transferred to the server */
	if ((rv = nng_http_server_start(srv)) != 0) {
		fprintf(stderr, "http-empty: start: %s\n", nng_strerror(rv));
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	if (sigwait(&set, &sig) != 0) {
		goto out;
	}
	rc = 0;
out:
	if (h != NULL) {
		nng_http_handler_free(h);
	}
	if (srv != NULL) {
		nng_http_server_stop(srv);
		nng_http_server_release(srv);
	}
	nng_url_free(url);
	return rc;
}
