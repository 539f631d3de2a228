/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_FRONT_H
#define GW_FRONT_H

/*
 * gateway/front.c: connection accounting in front of nng's HTTP server.
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
 * body_timeout_ms (else 408).  Only complete, checked heads and their
 * bodies are relayed to nng on 127.0.0.1:backend_port; answers are
 * relayed back unchanged.  A connection with nothing moving towards the
 * client for header_timeout_ms while no head is partial is closed
 * silently (keep-alive idle).  Every refusal is counted
 * (gw_metrics_reject) and answered with an intake.v1.Error body.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
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
	gw_pow *pow; /* NULL ok: load source GW_LOAD_CONNS */
} gw_front_opts;

typedef struct gw_front gw_front;

/* Binds listen and starts the event thread.  ITK_E_CONFIG (bad url),
 * ITK_E_NET (cannot bind), ITK_E_NOMEM. */
itk_err gw_front_start(const gw_front_opts *o, gw_front **out) ITK_WUR;
/* Stops accepting and closes every connection; NULL ok. */
void gw_front_free(gw_front *f);
/* Open client connections now (for tests). */
size_t gw_front_conns(const gw_front *f);

#endif
