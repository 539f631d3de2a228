/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_NOTE_H
#define ITK_NOTE_H

/*
 * C2SP signed notes (c2sp.org/signed-note@v1.0.0) with Ed25519 keys, and
 * the Ed25519 cosignatures of c2sp.org/tlog-cosignature@v1.0.0.
 *
 *   note      = text "\n" 1*sigline        (text ends in "\n")
 *   sigline   = U+2014 " " name " " base64(key id (4, BE) || sig) "\n"
 *   key id    = SHA-256(name || 0x0A || type || public key)[:4]
 *   vkey      = name "+" 8 hex (key id) "+" base64(type || public key)
 *
 * type 0x01: Ed25519 over the text.  type 0x04: cosignature/v1, sig =
 * u64 BE timestamp || Ed25519 over "cosignature/v1\ntime <ts>\n" || text.
 *
 * The parser is strict and capped: it reads untrusted bytes (notes come
 * from mirrors, witnesses and auditors' disks) and is a fuzzing target.
 * Exact bytes and examples: docs/audit.md.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Caps.  The spec asks verifiers to accept at least 16 signatures. */
#define NOTE_MAX         (128u * 1024u) /* whole note, bytes */
#define NOTE_SIGS_MAX    32u            /* signature lines */
#define NOTE_NAME_MAX    255u           /* key name, bytes */
#define NOTE_SIG_B64_MAX 8192u          /* one base64 signature, characters */

#define NOTE_TYPE_ED25519 0x01u /* signed-note Ed25519 */
#define NOTE_TYPE_COSIG   0x04u /* tlog-cosignature/v1 Ed25519 */

#define NOTE_PK_LEN 32u
#define NOTE_SK_LEN 64u /* libsodium layout: seed || public key */

/* One signature line, as views into the parsed note's bytes. */
typedef struct {
	const char *name;
	size_t name_len;
	uint32_t key_id;
	const char *b64; /* base64 of key id || signature */
	size_t b64_len;
} note_sig;

/* A parsed note: views into the caller's bytes, valid while they are. */
typedef struct {
	const uint8_t *text; /* the signed text, final "\n" included */
	size_t text_len;
	size_t nsigs;
	note_sig sigs[NOTE_SIGS_MAX];
} note_msg;

/* A public key that notes are checked against.  Plain data: copy it. */
typedef struct {
	char name[NOTE_NAME_MAX + 1]; /* NUL-terminated */
	size_t name_len;
	uint8_t type; /* NOTE_TYPE_* */
	uint32_t key_id;
	uint8_t pk[NOTE_PK_LEN];
} note_verifier;

/*
 * Parses a note strictly: UTF-8 with no control character but "\n", the
 * text (up to the last blank line) non-empty, at least one signature line,
 * every line well-formed (valid name, canonical base64 of >= 5 bytes).
 * Signatures are not checked here (note_verify).  ITK_E_TOO_BIG past the
 * caps, ITK_E_FORMAT for anything malformed.  out holds views into p.
 */
itk_err note_parse(const uint8_t *p, size_t len, note_msg *out) ITK_WUR;

/* Whether name is a valid key name: non-empty, <= NOTE_NAME_MAX bytes,
 * UTF-8, no Unicode space, no '+', no control character. */
int note_name_valid(const char *name, size_t len);

/* key id = SHA-256(name || 0x0A || type || pk)[:4], big-endian. */
uint32_t note_key_id(const char *name, size_t len, uint8_t type,
		     const uint8_t pk[NOTE_PK_LEN]);

/* Fills v from a name, type and public key (computing the key id). */
itk_err note_verifier_init(note_verifier *v, const char *name, size_t len,
			   uint8_t type,
			   const uint8_t pk[NOTE_PK_LEN]) ITK_WUR;
/* Parses "name+hhhhhhhh+base64(type || pk)" (types 0x01 and 0x04); the
 * key id must match the one computed.  ITK_E_FORMAT otherwise. */
itk_err note_verifier_parse(const char *s, size_t len,
			    note_verifier *out) ITK_WUR;
/* Appends the vkey string (no NUL, no newline) to out. */
itk_err note_verifier_format(const note_verifier *v, itk_buf *out) ITK_WUR;

/*
 * Checks n against one Ed25519 (type 0x01) verifier.  Signature lines
 * whose name and key id are not both v's are ignored, as the spec says.
 * ITK_OK: at least one line is v's and every line that is v's verifies.
 * ITK_E_VERIFY: a line of v's does not verify (wrong length included).
 * ITK_E_KEY_UNKNOWN: no line of v's.
 */
itk_err note_verify(const note_msg *n, const note_verifier *v) ITK_WUR;

/* note_parse, then note_verify. */
itk_err note_open(const uint8_t *p, size_t len, const note_verifier *v,
		  note_msg *out) ITK_WUR;

/*
 * Checks a cosignature/v1 (type 0x04 verifier v) over n's text, like
 * note_verify; *timestamp (may be NULL) is the newest verified one's.
 * Timestamps above 2^63 - 1 are ITK_E_VERIFY.
 */
itk_err note_verify_cosignature(const note_msg *n, const note_verifier *v,
				uint64_t *timestamp) ITK_WUR;

/* A private key for signing notes: opaque, secret in sodium_malloc. */
typedef struct note_signer note_signer;

/*
 * Makes a signer named name (note_name_valid) of the given type from a
 * libsodium Ed25519 secret key (seed || pk, 64 bytes, copied: the caller
 * wipes its own copy).  ITK_E_FORMAT for a bad name, ITK_E_RANGE for an
 * unknown type, ITK_E_CRYPTO if the key's halves disagree.  Freed with
 * note_signer_free.
 */
itk_err note_signer_new(const char *name, uint8_t type,
			const uint8_t sk[NOTE_SK_LEN],
			note_signer **out) ITK_WUR;
/* Wipes and frees; NULL is fine. */
void note_signer_free(note_signer *s);
/* The matching verifier; valid while s lives. */
const note_verifier *note_signer_verifier(const note_signer *s);

/*
 * Appends a signed note to out: text (which must be valid note text:
 * non-empty, ends in exactly one "\n", no control characters, valid
 * UTF-8; ITK_E_FORMAT otherwise), a blank line, and s's signature line.
 * s must be of type 0x01 (ITK_E_RANGE otherwise).
 */
itk_err note_sign(const note_signer *s, const uint8_t *text, size_t len,
		  itk_buf *out) ITK_WUR;

/*
 * Appends one cosignature/v1 signature line for text at timestamp (<=
 * 2^63 - 1) to out; s must be of type 0x04.  A witness appends it to the
 * note it verified.
 */
itk_err note_cosign_line(const note_signer *s, const uint8_t *text, size_t len,
			 uint64_t timestamp, itk_buf *out) ITK_WUR;

#endif
