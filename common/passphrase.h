/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_PASSPHRASE_H
#define ITK_PASSPHRASE_H

/*
 * Submitter identity.  A passphrase of words from a fixed list (with a
 * checksum word, so a mistyped passphrase is caught on the device) is the
 * only thing a submitter keeps.  From it a KDF derives the reply key pair
 * (X25519) and the mailbox id.  Word lists, KDF and parameters:
 * docs/protocol.md ("Submitter identity").
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "labels.h"

/* Longest passphrase text, with NUL. */
#define ITK_PASSPHRASE_MAX 256u

typedef struct {
	uint8_t reply_pk[ITK_PK_LEN];
	uint8_t reply_sk[ITK_SK_LEN];
	uint8_t mailbox_id[ITK_MAILBOX_ID_LEN];
} itk_identity;

/* Writes a new random passphrase in the word list of lang (ITK_LANG_OTHER
 * means English) to out. */
itk_err itk_passphrase_generate(itk_lang lang, char *out,
				size_t outlen) ITK_WUR;
/*
 * Checks the passphrase (word count, every word known, checksum) and
 * derives the identity.  Tolerates case and extra blanks.  Errors:
 * ITK_E_WORD, ITK_E_CHECKSUM, ITK_E_RANGE (word count), ITK_E_NOMEM.
 * Wipe *out with itk_identity_wipe.
 */
itk_err itk_passphrase_derive(const char *passphrase,
			      itk_identity *out) ITK_WUR;
void itk_identity_wipe(itk_identity *id);

#endif
