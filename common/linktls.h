/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_LINKTLS_H
#define ITK_LINKTLS_H

/*
 * TLS on the gateway-worker link (tls+tcp://): both ends present a
 * certificate and both REQUIRE the peer's to chain to the link CA
 * (mutual TLS); the dialling side also checks the gateway's name.
 * docs/operations.md ("Multi-host deployment").
 *
 * The files are read by itk_link_tls_load, at start-up and before any
 * privilege drop or chroot (the worker's child reads them as root, then
 * drops); the nng configuration is built later from the copies in memory,
 * which itk_link_tls_free wipes.
 */

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include "err.h"

typedef struct {
	const char *url;  /* the link URL (ipc://, tcp://, tls+tcp://) */
	const char *cert; /* PEM certificate (chain) of this end */
	const char *key;  /* PEM private key (mode 0600 or stricter) */
	const char *ca;   /* PEM CA certificate(s) the peer must chain to */
	const char *server_name; /* dialler: the name the gateway's certificate
				  * must carry; listener: must be NULL */
} itk_link_tls_files;

typedef struct itk_link_tls itk_link_tls;

/*
 * Checks f against its URL without reading anything (for start-up, before
 * the process that reads the files exists).  ITK_OK, or ITK_E_CONFIG with
 * a reason in err: for a tls+tcp:// URL, cert, key and ca are required,
 * and server_name too when dialer (a listener takes none); for any other
 * URL none may be set (a stray key means a mistaken deployment).
 */
itk_err itk_link_tls_check(const itk_link_tls_files *f, bool dialer, char *err,
			   size_t errlen) ITK_WUR;

/*
 * Checks f as itk_link_tls_check and reads the files.  Returns ITK_OK with
 * *out = NULL for a URL without TLS; ITK_E_CONFIG with a reason in err
 * otherwise; file errors as itk_file_read_secret.  The caller frees *out with
 * itk_link_tls_free.
 */
itk_err itk_link_tls_load(const itk_link_tls_files *f, bool dialer,
			  itk_link_tls **out, char *err,
			  size_t errlen) ITK_WUR;

/* Wipes the key copy and frees t (NULL is fine). */
void itk_link_tls_free(itk_link_tls *t);

/*
 * Builds the nng TLS configuration (mutual, NNG_TLS_AUTH_MODE_REQUIRED)
 * and sets it on an endpoint that is created but not started.  ITK_OK or
 * ITK_E_CONFIG (a PEM that does not parse; a key that parses but is not
 * the certificate's is not caught here: the handshake fails); the endpoint
 * keeps its own reference, nothing for the caller to free.
 */
itk_err itk_link_tls_set_dialer(const itk_link_tls *t, nng_dialer d) ITK_WUR;
itk_err itk_link_tls_set_listener(const itk_link_tls *t,
				  nng_listener l) ITK_WUR;

#endif
