/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_PROCESS_H
#define ITK_WORKER_PROCESS_H

/*
 * One batch of deliveries -> one vault transaction.  Each submission is
 * opened with the keyring, its inner message decoded and triaged; what
 * cannot be opened or parsed goes to the quarantine with its reason.
 * Nothing is ever dropped: every delivery ends as a vault message or a
 * quarantine item, and only then is it acknowledged.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keyring.h"
#include "triage.h"
#include "vault.h"
#include "wire.h"

typedef struct {
	uint64_t messages; /* newly stored messages */
	uint64_t new_cases;
	uint64_t follow_ups;
	uint64_t duplicates;
	uint64_t quarantined;
} wk_batch_stats;

/*
 * Processes n deliveries and commits them in one vault transaction.  On
 * ITK_OK every delivery is durable in the vault (stored now or before) and
 * may be acknowledged; on failure nothing was committed.
 */
itk_err wk_process_batch(const wk_keyring *keys, const triage_rules *rules,
			 vault *v, Intake__V1__Delivery *const *deliveries,
			 size_t n, wk_batch_stats *stats) ITK_WUR;

/*
 * The text triage reads: the message, then each form field's value on its
 * own line (the place and time a surrender form asks for are urgency
 * cues).  Appends to out.
 */
itk_err wk_triage_text(const itk_pb_inner *inner, itk_buf *out) ITK_WUR;

#endif
