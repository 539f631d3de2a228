/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WK_LOGPUB_H
#define WK_LOGPUB_H

/*
 * The worker's checkpointer and log publisher.  Every few seconds while
 * the vault log grows it signs a checkpoint with the log key (in an LMDB
 * write transaction: with several workers, checkpoint_sign's guard makes
 * the checkpoints one linear sequence, never two roots for one size), and
 * pushes the new tiles, entry bundles and then the checkpoint to the
 * gateway on the existing link (WorkerRequest.log_files), from the size
 * the gateway reports it publishes (GatewayResponse.log_size).  Files go
 * in publication order and at most WK_LOGPUB_BYTES per request; the
 * checkpoint only in a request that carries (or follows) every tile it
 * needs.  docs/audit.md "Publishing".
 */

#include <stdint.h>

#include "err.h"
#include "vault.h"
#include "wire.h"

#define WK_LOGPUB_BYTES (2u * 1024u * 1024u)

typedef struct wk_logpub wk_logpub;

/*
 * Loads the log key (keys_dir/log.key, passphrase as for the other keys)
 * and the log's origin (origin, or the key store's bundle's origin when
 * NULL).  interval_ms: the time between checkpoints.  ITK_E_NOT_FOUND:
 * the store has no log key.  *out freed with wk_logpub_free.
 */
itk_err wk_logpub_new(vault *v, const char *keys_dir, const char *passphrase,
		      const char *origin, uint64_t interval_ms,
		      wk_logpub **out) ITK_WUR;
void wk_logpub_free(wk_logpub *p);

/*
 * Before an exchange: signs a checkpoint if one is due and attaches the
 * files the gateway still lacks to req (views into p, valid until the
 * next call).  Failures are logged and leave req without files.
 */
void wk_logpub_fill(wk_logpub *p, itk_pb_worker_request *req);

/* After an exchange: resp is the answer, or NULL if there was none. */
void wk_logpub_answer(wk_logpub *p, const itk_pb_gateway_response *resp);

#endif
