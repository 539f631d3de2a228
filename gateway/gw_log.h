/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_LOG_H
#define GW_LOG_H

/*
 * The gateway's copy of the vault's Merkle log, served read-only over
 * HTTP (C2SP tlog-tiles under /log/), so that a mirror or an auditor
 * needs nothing but GET.  The worker tier pushes tiles, entry bundles and
 * then the signed checkpoint over the link (WorkerRequest.log_files).  The
 * gateway trusts none of it: a checkpoint is published only if the log
 * key signed it, it does not shrink or fork the log, the root recomputed
 * from the tiles held equals its root, and the tiles prove it consistent
 * with the one published before.  Tiles are never rewritten.
 *
 * Also: inclusion proofs for submitters (GET /v1/proof/<id hex>, from an
 * index of the message leaves' submission ids) and auditors'
 * cosignatures (POST /log/cosignatures; served appended to the
 * checkpoint).  Bytes: docs/audit.md.  Thread-safe.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

typedef struct gw_log gw_log;

/* Largest file accepted over the link (a bundle of 256 of our leaves is
 * far smaller; the cap bounds a hostile or buggy worker). */
#define GW_LOG_FILE_MAX   (256u * 1024u)
#define GW_LOG_FILES_MAX  256u  /* per request */
#define GW_LOG_COSIGS_MAX 16u   /* cosignature lines kept per checkpoint */
#define GW_PROOF_MAX      8192u /* a proof answer */

/*
 * Opens (creating) the log directory dir for the log whose key is named
 * origin with Ed25519 public key pk (from the key bundle), and rebuilds
 * the submission index from the tiles there.  *out freed with
 * gw_log_free.
 */
itk_err gw_log_open(const char *dir, const char *origin, const uint8_t pk[32],
		    gw_log **out) ITK_WUR;
void gw_log_free(gw_log *g);

/* Tree size of the published checkpoint (0: none yet). */
uint64_t gw_log_size(gw_log *g);

/*
 * Stores one pushed file.  path: "checkpoint" or a canonical tile path
 * ("tile/<L>/<N>[.p/<W>]", "tile/entries/<N>[.p/<W>]"), anything else
 * ITK_E_FORMAT.  A tile's length must fit its width (a bundle must parse
 * as exactly W entries); an existing tile with other bytes is
 * ITK_E_EXISTS (never rewritten).  A checkpoint is verified as described
 * above (ITK_E_VERIFY, ITK_E_RANGE for an older one, ITK_E_NOT_FOUND if a
 * tile it needs is missing) and then published.
 */
itk_err gw_log_store(gw_log *g, const char *path, const uint8_t *data,
		     size_t len) ITK_WUR;

/*
 * The bytes served at /log/<path> ("checkpoint" with cosignatures
 * appended, a tile, or "cosignatures"); ITK_E_NOT_FOUND otherwise.
 * *ctype: the content type.  *out freed by the caller.
 */
itk_err gw_log_get(gw_log *g, const char *path, itk_buf **out,
		   const char **ctype) ITK_WUR;

/*
 * The inclusion proof of the message leaf of submission id against the
 * published checkpoint (format: docs/audit.md "Receipts with proofs"),
 * appended to out.  ITK_E_NOT_FOUND: not in the published log (yet).
 */
itk_err gw_log_proof(gw_log *g, const uint8_t id[32], itk_buf *out) ITK_WUR;

/*
 * Takes a cosigned checkpoint (the published note with the witness's
 * cosignature lines): the text must be the published checkpoint's, and
 * each new signature line must be a cosignature/v1 line (type 0x04) that
 * is kept, up to GW_LOG_COSIGS_MAX.  The gateway cannot check a witness's
 * signature without its key, so it keeps the line and leaves the check
 * to readers, who know their witnesses.  *added: lines kept.
 */
itk_err gw_log_cosign(gw_log *g, const uint8_t *note, size_t len,
		      size_t *added) ITK_WUR;

/* Adds the /log/, /v1/proof/ and POST /log/cosignatures handlers to an
 * nng HTTP server (a nng_http_server *). */
itk_err gw_log_http_add(void *srv, gw_log *g) ITK_WUR;

#endif
