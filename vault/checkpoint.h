/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_CHECKPOINT_H
#define ITK_CHECKPOINT_H

/*
 * C2SP tlog-checkpoint v1.0.0: the signed statement of the log's size and
 * root, as a signed note (note.h) by the log key.
 *
 *   <origin>\n<size, decimal, no leading zero>\n<base64 root>\n
 *   [extension lines, each non-empty]\n
 *   \n
 *   — <key name = origin> <base64(key id || Ed25519 signature)>\n
 *
 * The log signs only the three mandatory lines.  Exact bytes and the
 * auditor's procedure: docs/audit.md.
 */

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "note.h"
#include "tlog.h"

#define CHECKPOINT_ORIGIN_MAX NOTE_NAME_MAX
#define CHECKPOINT_EXT_MAX    16u /* extension lines accepted */
/* Largest checkpoint file or body accepted. */
#define CHECKPOINT_MAX NOTE_MAX

typedef struct {
	char origin[CHECKPOINT_ORIGIN_MAX + 1]; /* NUL-terminated */
	size_t origin_len;
	uint64_t size;
	uint8_t root[TLOG_HASH_LEN];
	size_t n_ext; /* extension lines seen (content ignored) */
} checkpoint;

/* Appends the checkpoint body (three lines) for (origin, size, root).
 * ITK_E_FORMAT if origin is not a valid key name (note_name_valid). */
itk_err checkpoint_body(const char *origin, uint64_t size,
			const uint8_t root[TLOG_HASH_LEN],
			itk_buf *out) ITK_WUR;

/*
 * Parses a checkpoint body (a note's text) strictly: non-empty origin of
 * at most CHECKPOINT_ORIGIN_MAX bytes, decimal size without leading zero
 * and <= TLOG_SIZE_MAX, canonical base64 of exactly 32 bytes, then at most
 * CHECKPOINT_EXT_MAX non-empty extension lines; every line ends in "\n".
 * ITK_E_FORMAT / ITK_E_RANGE / ITK_E_TOO_BIG otherwise.
 */
itk_err checkpoint_parse(const uint8_t *text, size_t len,
			 checkpoint *out) ITK_WUR;

/*
 * Opens a signed checkpoint: parses the note, verifies log_key's
 * signature (note_verify: ITK_E_VERIFY, ITK_E_KEY_UNKNOWN), parses the
 * body, and requires origin == the key's name (ITK_E_FORMAT).  msg (may
 * be NULL) receives the parsed note, e.g. to check cosignatures.
 */
itk_err checkpoint_open(const uint8_t *p, size_t len,
			const note_verifier *log_key, checkpoint *out,
			note_msg *msg) ITK_WUR;

/*
 * Signs a checkpoint for the log's current size inside the caller's write
 * txn, stores it as the latest, and appends the signed note to out.  The
 * origin is the signer's key name.  Refuses to fork the log:
 *  - same size as the stored checkpoint: returns the stored note unchanged
 *    if the root is the same, ITK_E_EXISTS if it differs;
 *  - smaller size than the stored checkpoint: ITK_E_RANGE (truncated or
 *    rolled-back store);
 *  - larger: the stored checkpoint's root must still be the root of the
 *    store at its size, ITK_E_VERIFY otherwise (the log was rewritten).
 * The caller commits txn, then publishes (tiles_export).
 */
itk_err checkpoint_sign(tlog *t, MDB_txn *txn, const note_signer *s,
			itk_buf *out) ITK_WUR;

/* Appends the latest stored signed checkpoint to out; ITK_E_NOT_FOUND if
 * none. */
itk_err checkpoint_latest(tlog *t, MDB_txn *txn, itk_buf *out) ITK_WUR;

#endif
