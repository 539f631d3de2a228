/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

/*
 * gateway/static.c: the submitter page's files (web_root), served with the
 * headers a meta tag cannot give (docs/web.md): Content-Security-Policy
 * frame-ancestors 'none', X-Frame-Options DENY, X-Content-Type-Options
 * nosniff, Referrer-Policy no-referrer, Cache-Control no-store,
 * Cross-Origin-Opener-Policy and -Resource-Policy same-origin.  nng's
 * directory handler sets no headers of ours, hence this one.
 *
 * Only GET.  The path must be plain: no '%', '\\', empty or dot-leading
 * component (so no "..", no hidden file); "/" and "dir/" mean index.html.
 * Symbolic links in the web root are followed (scripts/web-root.sh makes
 * one per file); only regular files of at most GW_STATIC_MAX bytes are
 * sent, with a Content-Type from a short list of extensions.
 */

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "err.h"

#define GW_STATIC_MAX (8u * 1024u * 1024u)

/* Adds the tree handler for "/" serving root to srv.  root must outlive
 * the server.  ITK_OK or ITK_E_CONFIG. */
itk_err gw_static_add(nng_http_server *srv, const char *root) ITK_WUR;

/* For tests: the file a request URI names under root, written to out (cap
 * bytes), and its Content-Type.  ITK_E_FORMAT for a refused path. */
itk_err gw_static_path(const char *root, const char *uri, char *out,
		       size_t cap, const char **ctype) ITK_WUR;

#endif
