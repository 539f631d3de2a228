/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_OP_RELAY_H
#define ITK_OP_RELAY_H

/*
 * Hands the vault's reply outbox to the gateway: up to OP_RELAY_MAX
 * sealed replies per WorkerRequest (max_deliveries 0), over the same link
 * the intake workers dial.  Replies the gateway stored are marked sent in
 * the vault (and recorded as "reply_sent" actions).  The gateway keys
 * replies by reply id, so a reply sent twice (a crash between the answer
 * and the mark) is stored once.
 */

#include <stddef.h>

#include "err.h"
#include "link.h"
#include "vault.h"

#define OP_RELAY_MAX 64u

/* Sends what is pending; *sent = how many were stored.  ITK_OK with
 * *sent = 0 when the outbox is empty. */
itk_err op_relay_flush(vault *v, wk_link *l, const char *who,
		       size_t *sent) ITK_WUR;

#endif
