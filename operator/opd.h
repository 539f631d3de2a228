/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_OPD_H
#define ITK_OPD_H

/*
 * The operator service's request handling, without the network: one
 * signed OperatorRequest in, one OperatorResponse out.  intake-opd
 * (operator/main.c) feeds it from an nng rep0 socket; the unit tests feed
 * it bytes directly.
 *
 * Before anything happens, a request must: decode under its caps; name
 * an operator whose public key is in the key store's operators/ directory
 * with the same key id; carry a valid Ed25519 signature (context
 * "intake-v1 operator-request"); be dated within the clock window; be a
 * command the operator's role may give, on a queue the operator may work;
 * carry a nonce never seen in the window (the replay cache is in the
 * vault, in the same transaction as the request's changes).  A refused
 * request changes nothing and is logged.
 */

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keyring.h"
#include "keys.h"
#include "triage.h"
#include "vault.h"

typedef struct {
	const char *keys_dir;      /* operators/<name>.pub (or .key headers) */
	vault *v;                  /* borrowed; opened with the vault key */
	const wk_keyring *ring;    /* borrowed; intake secret keys */
	const triage_rules *rules; /* borrowed; for phone intake */
	uint64_t lease_seconds;    /* how long "next" claims a case; 0: 900 */
	uint64_t skew_seconds;     /* accepted clock difference; 0: 120 */
	uint64_t approval_seconds; /* two-person requests live; 0: 3600 */
	/* Passphrase of keys_dir/service.key (NULL: a --dev key).  Used by
	 * opd_new only.  ring may be NULL when keys_dir holds a queue-keys
	 * file: the service then reads message copies under queue keys and
	 * never holds an intake secret key (docs/vault.md). */
	const char *keys_passphrase;
} opd_options;

typedef struct opd opd;

/* Reads the operators of keys_dir.  ITK_E_NOT_FOUND if there is none. */
itk_err opd_new(const opd_options *o, opd **out) ITK_WUR;
void opd_free(opd *s);
/* Number of operators known. */
size_t opd_operator_count(const opd *s);
/*
 * Replaces the operators s knows by those of ops[0..n) that are operator
 * keys with a role (as opd_new keeps), for a reload.  Returns ITK_OK;
 * ITK_E_NOT_FOUND if none is left, ITK_E_FULL for more than the store may
 * hold, ITK_E_NOMEM: then s keeps its list.  Call between requests.
 */
itk_err opd_set_operators(opd *s, const itk_key_info *ops, size_t n) ITK_WUR;

/*
 * Handles one request received at time now (Unix seconds).  out always
 * receives an answer to send back: the sealed body, or a refusal.
 * Returns ITK_OK if the request was carried out, else why it was refused
 * (ITK_E_VERIFY, ITK_E_DUPLICATE, ITK_E_PERM, ...), for logs and tests.
 */
itk_err opd_handle(opd *s, const uint8_t *req, size_t n, uint64_t now,
		   itk_buf *out) ITK_WUR;

#endif
