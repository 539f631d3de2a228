/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_PASSPHRASE_H
#define ITK_PASSPHRASE_H

/*
 * Submitter identity.  A passphrase of words from a fixed list (with a
 * checksum word, so a mistyped passphrase is caught on the device) is the
 * only thing a submitter keeps.  From it a KDF derives the reply key pair
 * (X25519) and the mailbox id.  Word lists, KDF and parameters:
 * docs/protocol.md ("Submitter identity").
 *
 * Pipeline: text -> itk_passphrase_parse (words -> list id + indices, the
 * canonical bytes; case and spacing do not matter) -> itk_passphrase_kdf
 * (Argon2id -> 32-byte master) -> itk_identity_from_master (crypto_kdf
 * subkeys -> reply key pair seed, mailbox id).  itk_passphrase_derive does
 * all three.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "labels.h"

/* Longest passphrase text, with NUL. */
#define ITK_PASSPHRASE_MAX 256u

/* 8 random words + 1 checksum word. */
#define ITK_PASSPHRASE_DATA_WORDS 8u
#define ITK_PASSPHRASE_WORDS      (ITK_PASSPHRASE_DATA_WORDS + 1u)
/* Longest word in any list. */
#define ITK_PASSPHRASE_WORD_MAX 10u

/*
 * Canonical encoding (the KDF password):
 * "intake-v1 passphrase" 0x00 || lang (2 ASCII bytes: "en"/"ru"/"uk") ||
 * u8 8 || 8 x u16 big-endian word index.  40 bytes.
 */
#define ITK_PASSPHRASE_CANON_LEN 40u

/* KDF parameters (Argon2id v1.3); docs/protocol.md says why these. */
#define ITK_PASSPHRASE_OPSLIMIT   3u
#define ITK_PASSPHRASE_MEMLIMIT   (64u * 1024u * 1024u)
#define ITK_PASSPHRASE_SALT_LEN   16u
#define ITK_PASSPHRASE_MASTER_LEN 32u
/* crypto_kdf_derive_from_key context and subkey ids. */
#define ITK_PASSPHRASE_KDF_CTX        "intakeid"
#define ITK_PASSPHRASE_SUBKEY_REPLY   1u
#define ITK_PASSPHRASE_SUBKEY_MAILBOX 2u

typedef struct {
	uint8_t reply_pk[ITK_PK_LEN];
	uint8_t reply_sk[ITK_SK_LEN];
	uint8_t mailbox_id[ITK_MAILBOX_ID_LEN];
} itk_identity;

/* Writes a new random passphrase in the word list of lang (ITK_LANG_OTHER
 * means English) to out: nine lower-case words separated by single spaces.
 * ITK_E_RANGE if outlen is too small (ITK_PASSPHRASE_MAX always fits). */
itk_err itk_passphrase_generate(itk_lang lang, char *out,
				size_t outlen) ITK_WUR;
/*
 * Checks the passphrase (word count, every word known, checksum) and
 * derives the identity.  Tolerates case and extra blanks.  Errors:
 * ITK_E_WORD, ITK_E_CHECKSUM, ITK_E_RANGE (word count), ITK_E_TOO_BIG
 * (longer than ITK_PASSPHRASE_MAX - 1), ITK_E_NOMEM.
 * Wipe *out with itk_identity_wipe.
 */
itk_err itk_passphrase_derive(const char *passphrase,
			      itk_identity *out) ITK_WUR;
void itk_identity_wipe(itk_identity *id);

/*
 * The steps of itk_passphrase_derive, for the test vectors and for callers
 * that check a passphrase before paying for the KDF.
 *
 * itk_passphrase_parse: words are separated by any run of blanks (space,
 * tab, CR, LF), '-', ',' or '.'; letters are folded to lower case; anything
 * else (digits, non-ASCII) makes the word unknown.  Writes the canonical
 * bytes to canon and the list's language to *lang (may be NULL).  Same
 * errors as itk_passphrase_derive except ITK_E_NOMEM.
 */
itk_err
itk_passphrase_parse(const char *passphrase, itk_lang *lang,
		     uint8_t canon[static ITK_PASSPHRASE_CANON_LEN]) ITK_WUR;
/* Argon2id over canon with the fixed salt: the 32-byte master secret.
 * ITK_E_NOMEM if the 64 MiB cannot be had. */
itk_err
itk_passphrase_kdf(const uint8_t canon[static ITK_PASSPHRASE_CANON_LEN],
		   uint8_t master[static ITK_PASSPHRASE_MASTER_LEN]) ITK_WUR;
/* crypto_kdf subkeys of master: reply key pair and mailbox id. */
itk_err itk_identity_from_master(
    const uint8_t master[static ITK_PASSPHRASE_MASTER_LEN],
    itk_identity *out) ITK_WUR;
/* The fixed salt: first 16 bytes of SHA-256("intake-v1 passphrase salt"). */
void itk_passphrase_salt(uint8_t salt[static ITK_PASSPHRASE_SALT_LEN]);

/*
 * Builds the passphrase whose data words are idx[0..7] in lang's list and
 * appends the checksum word (deterministic; itk_passphrase_generate uses it
 * with random indices).  ITK_E_RANGE if an index is outside the list or out
 * is too small.
 */
itk_err itk_passphrase_from_indices(
    itk_lang lang, const uint16_t idx[static ITK_PASSPHRASE_DATA_WORDS],
    char *out, size_t outlen) ITK_WUR;

/* Word list access.  Size of lang's list (a power of two) and its i-th
 * word, or NULL past the end.  ITK_LANG_OTHER means English. */
size_t itk_passphrase_list_size(itk_lang lang);
const char *itk_passphrase_word(itk_lang lang, size_t i);
/* Hex SHA-256 of the list's source file common/wordlists/<lang>.txt. */
const char *itk_passphrase_list_sha256(itk_lang lang);

#endif
