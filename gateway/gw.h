/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_H
#define GW_H

/*
 * The gateway's modules and how main.c wires them together.  Nothing here
 * is used outside gateway/ (and its tests).
 *
 *   http.c    nng HTTP server(s): routes, caps, request contexts
 *   submit.c  validate -> spool (group commit) -> receipt
 *   receipt.c sign ReceiptBody with the receipt key
 *   spool.c   LMDB spool (spool.h)
 *   relay.c   the worker link: nng rep0, leases, long-poll
 *   metrics.c Prometheus text on a loopback-only listener
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "linktls.h"
#include "spool.h"
#include "wire.h"

/* ------------------------------------------------------------ receipt */

typedef struct gw_receipt_key gw_receipt_key;

/*
 * Loads the receipt signing key file (kind receipt) from path, asking for
 * its passphrase (itk_askpass: INTAKE_KEYS_PASSPHRASE, or passphrase_file
 * if not NULL) only if it is encrypted, and checks that its public half
 * is expect_pk (the bundle's receipt key).  Returns ITK_OK and *out (free
 * with gw_receipt_key_free); ITK_E_RANGE (not a receipt key),
 * ITK_E_VERIFY (not the bundle's), or what itk_key_load returns.
 */
itk_err gw_receipt_key_load(const char *path, const char *passphrase_file,
			    const uint8_t expect_pk[static ITK_SIGN_PK_LEN],
			    gw_receipt_key **out) ITK_WUR;
void gw_receipt_key_free(gw_receipt_key *k);

/*
 * Signs ReceiptBody{version 1, id, accepted_at, key_id, origin} and writes
 * the serialized Receipt to out (cap bytes), its length to *len.  Ed25519
 * is deterministic: the same inputs give the same bytes, which is what
 * makes a resent submission's receipt identical.
 */
itk_err gw_receipt_sign(const gw_receipt_key *k, const char *origin,
			const uint8_t id[static ITK_HASH_LEN],
			uint64_t accepted_at, uint32_t key_id, uint8_t *out,
			size_t cap, size_t *len) ITK_WUR;

/* ------------------------------------------------------------ metrics */

typedef enum {
	GW_EP_KEYS = 0,
	GW_EP_SUBMIT,
	GW_EP_MAILBOX,
	GW_EP_HEALTHZ,
	GW_EP_WEB,
	GW_EP_CHALLENGE,
	GW_EP_COUNT,
} gw_endpoint;

/* Why a request was refused (label reason="..." in metrics). */
typedef enum {
	GW_REJ_TOO_BIG = 0,
	GW_REJ_FORMAT,
	GW_REJ_VERSION,
	GW_REJ_MISSING,
	GW_REJ_RANGE,
	GW_REJ_KEY_UNKNOWN,
	GW_REJ_KEY_EXPIRED,
	GW_REJ_FULL,
	GW_REJ_SHUTDOWN,
	GW_REJ_BUSY,
	GW_REJ_LENGTH,
	GW_REJ_URI,
	GW_REJ_INTERNAL,
	GW_REJ_POW,            /* proof of work missing or wrong */
	GW_REJ_CONNS,          /* front: too many connections */
	GW_REJ_HEADER_SIZE,    /* front: request head too large */
	GW_REJ_HEADER_TIMEOUT, /* front: request head too slow */
	GW_REJ_BODY_TIMEOUT,   /* body too slow */
	GW_REJ_COUNT,
} gw_reject;

void gw_metrics_request(gw_endpoint ep, unsigned status);
void gw_metrics_reject(gw_reject why);
void gw_metrics_batch(size_t n);
void gw_metrics_link(size_t deliveries, size_t acks, size_t replies);
void gw_metrics_link_reject(void);
void gw_metrics_workers(int delta);
/* Open client connections (front.c), and the PoW difficulty asked now. */
void gw_metrics_conns(int delta);
void gw_metrics_pow(unsigned difficulty, uint64_t issued);

typedef struct gw_metrics gw_metrics;
/*
 * Serves GET /metrics on url, which must name a loopback address
 * (127.0.0.0/8 or [::1]); anything else is ITK_E_CONFIG.
 */
itk_err gw_metrics_start(const char *url, gw_spool *spool,
			 gw_metrics **out) ITK_WUR;
void gw_metrics_stop(gw_metrics *m);
/* The text itself (for tests). */
itk_err gw_metrics_render(gw_spool *spool, itk_buf *out) ITK_WUR;

/* ------------------------------------------------------------- submit */

/* One intake key the gateway accepts submissions for. */
typedef struct {
	uint32_t key_id;
	uint64_t not_before, not_after;
} gw_intake_key;

typedef struct {
	gw_spool *spool;
	const gw_receipt_key *receipt_key;
	const char *origin;
	uint64_t granularity; /* accepted_at rounding, seconds */
	uint64_t clock_skew;  /* slack on key windows, seconds */
	size_t max_body;
	const gw_intake_key *keys;
	size_t n_keys;
	struct gw_pow *pow; /* NULL: no proof of work ever asked */
} gw_submit_opts;

/* What a submission request is answered with. */
typedef struct {
	unsigned status;     /* HTTP status */
	itk_err code;        /* ITK_OK, or the Error.code */
	const char *message; /* Error.message when code != ITK_OK */
	uint32_t retry_after;
	const uint8_t *body; /* the Receipt bytes when code == ITK_OK */
	size_t len;
	unsigned pow_difficulty; /* with ITK_E_POW: what is asked now */
} gw_answer;

typedef void (*gw_done_fn)(void *arg, const gw_answer *a);

typedef struct gw_submit gw_submit;

/* Starts the committer thread.  opts' pointers must outlive it. */
itk_err gw_submit_new(const gw_submit_opts *o, gw_submit **out) ITK_WUR;
/*
 * Handles one POST body.  done is called exactly once, either before this
 * returns (a rejection, a known id) or from the committer thread after
 * the spool transaction is on disk.  body must stay valid until then.
 */
void gw_submit_handle(gw_submit *s, const uint8_t *body, size_t len,
		      gw_done_fn done, void *arg);
/* From now on every submission is answered 503 shutting down. */
void gw_submit_close(gw_submit *s);
/* Completes everything queued, stops the committer, frees; NULL ok. */
void gw_submit_free(gw_submit *s);

/* Maps a refusal to its HTTP status and metrics reason. */
unsigned gw_status_of(itk_err code, gw_reject *why);

/* --------------------------------------------------------------- http */

typedef struct {
	const char *listen;     /* http://host:port */
	const char *tls_listen; /* https://host:port or NULL */
	const char *tls_cert;   /* PEM file */
	const char *tls_key;    /* PEM file */
	const char *web_root;   /* directory or NULL */
	size_t max_body;
	size_t max_concurrent;
	gw_submit *submit;
	gw_spool *spool;
	const uint8_t *bundle; /* GET /v1/keys body */
	size_t bundle_len;
	struct gw_pow *pow;       /* GET /v1/challenge; NULL: 404 */
	uint32_t body_timeout_ms; /* 0: 30000 */
	/* Front (gateway/front.c) on the plain listener; max_conns 0 = off
	 * (nng listens on `listen` itself, with none of these limits). */
	size_t max_conns;
	size_t max_header;
	size_t max_header_lines;
	uint32_t header_timeout_ms;
	struct gw_log *log; /* /log/, /v1/proof/ (gw_log.h); NULL: none */
} gw_http_opts;

typedef struct gw_http gw_http;

itk_err gw_http_start(const gw_http_opts *o, gw_http **out) ITK_WUR;
/* Stops listening and waits for request callbacks in flight. */
void gw_http_stop(gw_http *h);
void gw_http_free(gw_http *h);

/*
 * Reads a PEM file (at most 1 MiB; secret: itk_file_read_secret, which
 * refuses a group- or world-readable file) into a NUL-terminated string
 * for nng's TLS configuration.  The caller frees *out (and wipes it first
 * when secret).  Errors as itk_file_read, or ITK_E_NOMEM.  The HTTPS
 * listener and the chat's wss:// listener both use it.
 */
itk_err gw_pem_read(const char *path, bool secret, char **out) ITK_WUR;

/*
 * Adds a handler for method on path to an nng HTTP server: cb gets data
 * as the handler's data; tree: also every path below; collect: nng reads
 * the body (at most maxbody, 0: nng's default) before cb.  Failure is
 * logged as http.handler and gives ITK_E_NET, the handler freed.  The
 * API's and the log's handlers both use it.
 */
struct nng_http_server;
struct nng_aio;
itk_err gw_http_handler_add(struct nng_http_server *srv, void *data,
			    const char *path, const char *method, bool tree,
			    size_t maxbody, bool collect,
			    void (*cb)(struct nng_aio *)) ITK_WUR;

/* Packs Error{code, name, message, retry_after} into out. */
itk_err gw_error_pack(itk_err code, const char *message, uint32_t retry_after,
		      itk_buf *out) ITK_WUR;

/* -------------------------------------------------------------- relay */

typedef struct {
	const char *listen; /* ipc://..., tcp://..., tls+tcp://... */
	gw_spool *spool;
	uint32_t max_deliveries; /* per request and per worker in flight */
	uint32_t max_wait_ms;    /* long-poll cap */
	size_t contexts;         /* concurrent requests served */
	uint32_t batch_ms;       /* hold new submissions up to this; 0 = off */
	size_t batch_min;        /* ...or until this many wait (>= 1) */
	struct gw_log *log; /* takes pushed log files (gw_log.h); or NULL */
	/* tls+tcp://: mutual TLS (required then); read by the caller; only
	 * used during gw_relay_start */
	const itk_link_tls *tls;
} gw_relay_opts;

typedef struct gw_relay gw_relay;

itk_err gw_relay_start(const gw_relay_opts *o, gw_relay **out) ITK_WUR;
void gw_relay_free(gw_relay *r);

/* Milliseconds on a monotonic clock. */
uint64_t gw_now_ms(void);

#endif
