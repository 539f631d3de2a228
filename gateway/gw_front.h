/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_FRONT_H
#define GW_FRONT_H

/*
 * gateway/front.c: connection accounting in front of nng's HTTP server,
 * and the hot endpoints served on the front's own thread.
 *
 * nng 1.5.2's server has no cap on connections, no timeout on reading a
 * request head and no cap on the number of header lines (each one is
 * kept), so one slow or endless client holds a connection, its memory
 * and a file descriptor for as long as it likes.  The front owns the
 * public plain-HTTP socket, and for each connection: counts it against
 * max_conns (beyond: 503 busy), reads each request head into a bounded
 * buffer (beyond max_header bytes or max_header_lines lines: 431) within
 * header_timeout_ms of its first byte (else 408), checks Content-Length
 * (chunked: 411; above max_body: 413), and gives the body
 * body_timeout_ms (else 408).  A connection with nothing moving towards
 * the client for header_timeout_ms while no head is partial is closed
 * silently (keep-alive idle).  Every refusal is counted
 * (gw_metrics_reject) and answered with an intake.v1.Error body.
 *
 * The work is spread over `threads` event threads (one per core by
 * default), each with its own epoll set and its own connections, all
 * waiting on the one listening socket (EPOLLEXCLUSIVE).
 *
 * Served here, without nng (when opts.submit is set): POST
 * /v1/submissions (the body goes to gw_submit_handle; the answer is
 * written to the client when the committer calls back, i.e. after the
 * spool's fsync), GET /v1/keys and GET /v1/challenge (with pow).  These
 * are matched byte for byte on the request line ("POST /v1/submissions
 * HTTP/1.1", a Host header on HTTP/1.1); anything else -- other paths,
 * a query string, HEAD, other versions -- is relayed to nng on
 * 127.0.0.1:backend_port as before and its answers relayed back
 * unchanged.  The front follows nng's answers (status line,
 * Content-Length, body) so that one of our requests is served here only
 * when nng owes the connection nothing; an answer it cannot follow (no
 * Content-Length, 1xx, chunked, an answer to HEAD) sends all later
 * requests of that connection to nng too, so answers keep their order.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gw.h"
#include "gw_pow.h"

typedef struct {
	const char *listen;      /* http://host:port, the public socket */
	uint16_t backend_port;   /* nng's server on 127.0.0.1 */
	size_t max_conns;        /* open client connections */
	size_t max_header;       /* bytes of one request head */
	size_t max_header_lines; /* header lines of one request */
	uint32_t header_timeout_ms;
	uint32_t body_timeout_ms;
	uint64_t max_body;
	gw_pow *pow; /* NULL ok: load source GW_LOAD_CONNS; challenges */
	/* The endpoints served by the front itself; submit NULL = none
	 * (every request goes to nng).  enter/leave count a submission
	 * against http.c's max_concurrent (enter false: 503 busy); both
	 * are called from any thread. */
	gw_submit *submit;
	const uint8_t *bundle; /* GET /v1/keys; NULL: nng answers */
	size_t bundle_len;
	bool (*enter)(void *gate);
	void (*leave)(void *gate);
	void *gate;
	/* Event threads, each with its share of the connections; 0 = one
	 * per online CPU, at most GW_FRONT_THREADS_DEFAULT_MAX (at most 8
	 * when given). */
	size_t threads;
} gw_front_opts;

#define GW_FRONT_THREADS_DEFAULT_MAX 4u

typedef struct gw_front gw_front;

/* Binds listen and starts the event thread.  ITK_E_CONFIG (bad url or
 * options), ITK_E_NET (cannot bind), ITK_E_NOMEM. */
itk_err gw_front_start(const gw_front_opts *o, gw_front **out) ITK_WUR;
/* Stops accepting, waits for the submissions it handed to submit.c to be
 * answered (the committer must still run), closes every connection;
 * NULL ok. */
void gw_front_free(gw_front *f);
/* Open client connections now (for tests). */
size_t gw_front_conns(const gw_front *f);
/* The port listened on (useful with port 0); 0 if unknown. */
uint16_t gw_front_port(const gw_front *f);

/* ------------------------------------------- the request head parser */

/* Where a checked request goes. */
typedef enum {
	GW_ROUTE_NNG = 0,   /* relayed to nng */
	GW_ROUTE_SUBMIT,    /* POST /v1/submissions */
	GW_ROUTE_KEYS,      /* GET /v1/keys */
	GW_ROUTE_CHALLENGE, /* GET /v1/challenge */
} gw_route;

/* What gw_front_head_check found in one head. */
typedef struct {
	gw_route route;
	bool has_length;  /* a Content-Length header was present */
	uint64_t length;  /* its value (0 without) */
	bool close;       /* HTTP/1.0, or "Connection: close" */
	bool head_method; /* HEAD: its answer has no body */
	/* With a refusal: the Error code and the metrics reason. */
	itk_err code;
	gw_reject why;
} gw_front_head;

/*
 * Finds the end of a request head in p[0, n): returns the offset just
 * past "\r\n\r\n" (or "\n\n"), or 0 if the head is not complete yet.
 */
size_t gw_front_head_end(const uint8_t *p, size_t n);

/*
 * Checks one complete head p[0, n) (n from gw_front_head_end).  Returns
 * 0 and fills *h, or the HTTP status to refuse with (431 more than
 * max_lines header lines; 400 a line without a colon, a header name with
 * white space, a folded line, a bad or conflicting Content-Length; 411
 * Transfer-Encoding; 413 Content-Length above max_body) with h->code and
 * h->why set.  Reads only p[0, n).
 */
unsigned gw_front_head_check(const uint8_t *p, size_t n, size_t max_lines,
			     uint64_t max_body, gw_front_head *h);

#endif
