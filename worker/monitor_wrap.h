/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_MONITOR_WRAP_H
#define ITK_WORKER_MONITOR_WRAP_H

/*
 * The child's side of the monitor socket (OpenSSH monitor_wrap.c): one
 * stub per request.  Each sends one request and waits for its answer; a
 * broken socket or a malformed answer is fatal to the child (it returns
 * ITK_E_IO or a parse error and the child exits).  Protocol: monitor.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "process.h"
#include "wire.h"

/* Tells the monitor the child is sandboxed; *n_keys is how many intake
 * keys the monitor holds.  Returns ITK_OK or the failure. */
itk_err wk_mm_ready(int fd, size_t *n_keys) ITK_WUR;

/*
 * Asks the monitor to open, triage and commit n deliveries (1 ..
 * WK_MON_BATCH_MAX) in one vault transaction.  On ITK_OK ids[0..n-1]
 * (caller's array of n) hold the submission ids the vault stored, to be
 * acknowledged, and *st the batch's counts.  Returns the monitor's
 * verdict (e.g. ITK_E_DB: nothing committed, do not acknowledge) or
 * ITK_E_IO / a parse error when the socket or answer is broken.
 */
itk_err wk_mm_process_batch(int fd, Intake__V1__Delivery *const *d, size_t n,
			    wk_batch_stats *st,
			    uint8_t (*ids)[ITK_HASH_LEN]) ITK_WUR;

#endif
