/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_CRYPTO_H
#define ITK_CRYPTO_H

/*
 * The thin typed wrapper over libsodium that every tier uses.  No other
 * file calls crypto_box_* or crypto_sign_* directly.  Constructions and
 * their exact bytes are in docs/protocol.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ITK_PK_LEN         32u /* X25519 public key */
#define ITK_SK_LEN         32u /* X25519 secret key */
#define ITK_SIGN_PK_LEN    32u /* Ed25519 public key */
#define ITK_SIGN_SK_LEN    64u /* Ed25519 secret key (libsodium layout) */
#define ITK_SIG_LEN        64u
#define ITK_HASH_LEN       32u /* SHA-256 */
#define ITK_SEAL_OVERHEAD  48u /* crypto_box_SEALBYTES */
#define ITK_MAILBOX_ID_LEN 32u

/*
 * Padding buckets for anything sealed (submissions and replies).  A padded
 * plaintext is exactly one of these sizes, so a sealed box is exactly
 * bucket + ITK_SEAL_OVERHEAD bytes and its size reveals only the bucket.
 */
#define ITK_PAD_BUCKETS 6u
#define ITK_PAD_MAX     (1024u * 1024u)
extern const size_t itk_pad_buckets[ITK_PAD_BUCKETS];

/* Domain-separation contexts: a signature made for one never verifies as
 * another.  The context string is signed as a prefix (docs/protocol.md). */
typedef enum {
	ITK_SIG_KEY_BUNDLE = 0, /* "intake-v1 key-bundle" */
	ITK_SIG_RECEIPT,        /* "intake-v1 receipt" */
	ITK_SIG_OPERATOR,       /* "intake-v1 operator-request" */
	ITK_SIG_EXPORT,         /* "intake-v1 case-export" */
	ITK_SIG_QUEUE_KEYS,     /* "intake-v1 queue-keys" */
	ITK_SIG_CTX_COUNT,
} itk_sig_ctx;

/* Initialises libsodium once; ITK_E_CRYPTO if it cannot. */
itk_err itk_crypto_init(void) ITK_WUR;

/* Returns the smallest bucket that holds len bytes plus the 0x80 marker,
 * or 0 if len is too large for any bucket. */
size_t itk_pad_bucket(size_t len);
/* True if len is a possible sealed-box size (a bucket + overhead). */
bool itk_sealed_len_ok(size_t len);

/*
 * Pads msg to its bucket (ISO/IEC 7816-4, sodium_pad) and seals it to pk
 * (crypto_box_seal).  Appends the sealed bytes to out.
 */
itk_err itk_seal(const uint8_t pk[static ITK_PK_LEN], const uint8_t *msg,
		 size_t len, itk_buf *out) ITK_WUR;
/*
 * Opens a sealed box with (pk, sk) and removes the padding, appending the
 * plaintext to out.  Any failure (wrong size, wrong key, altered bytes, bad
 * padding) is ITK_E_DECRYPT: one error, no oracle.
 */
itk_err itk_open(const uint8_t pk[static ITK_PK_LEN],
		 const uint8_t sk[static ITK_SK_LEN], const uint8_t *sealed,
		 size_t len, itk_buf *out) ITK_WUR;

/* The 32-bit id of an intake public key: first 4 bytes (big-endian) of
 * SHA-256("intake-v1 key id" 0x00 || pk). */
uint32_t itk_intake_key_id(const uint8_t pk[static ITK_PK_LEN]);

void itk_sha256(uint8_t out[static ITK_HASH_LEN], const void *data,
		size_t len);

/* Returns the context string of ctx (without the 0x00 separator). */
const char *itk_sig_context(itk_sig_ctx ctx);
/* Ed25519 signature over context || 0x00 || msg. */
itk_err itk_sign(itk_sig_ctx ctx, const uint8_t sk[static ITK_SIGN_SK_LEN],
		 const uint8_t *msg, size_t len,
		 uint8_t sig[static ITK_SIG_LEN]) ITK_WUR;
/* ITK_OK or ITK_E_VERIFY. */
itk_err itk_verify(itk_sig_ctx ctx, const uint8_t pk[static ITK_SIGN_PK_LEN],
		   const uint8_t *msg, size_t len,
		   const uint8_t sig[static ITK_SIG_LEN]) ITK_WUR;

/*
 * The X25519 key pair of an Ed25519 key pair (libsodium's
 * crypto_sign_ed25519_{pk,sk}_to_curve25519), so that answers can be sealed
 * to an operator who holds only a signing key.  ITK_E_RANGE for a public
 * key that is not a valid point; the caller wipes sk.
 */
itk_err itk_sign_pk_to_box_pk(const uint8_t spk[static ITK_SIGN_PK_LEN],
			      uint8_t pk[static ITK_PK_LEN]) ITK_WUR;
itk_err itk_sign_sk_to_box_sk(const uint8_t ssk[static ITK_SIGN_SK_LEN],
			      uint8_t sk[static ITK_SK_LEN]) ITK_WUR;

/*
 * Key wrapping (queue keys, docs/vault.md): a 32-byte key sealed to an
 * X25519 public key with crypto_box_seal, without padding (a key has one
 * size).  wrapped is ITK_WRAP_LEN bytes.  ITK_E_CRYPTO if sealing fails.
 */
#define ITK_WRAP_KEY_LEN 32u
#define ITK_WRAP_LEN     (ITK_WRAP_KEY_LEN + ITK_SEAL_OVERHEAD)
itk_err itk_wrap_key(const uint8_t pk[static ITK_PK_LEN],
		     const uint8_t key[static ITK_WRAP_KEY_LEN],
		     uint8_t wrapped[static ITK_WRAP_LEN]) ITK_WUR;
/* Reverse with (pk, sk); any failure is ITK_E_DECRYPT and key is zeroed. */
itk_err itk_unwrap_key(const uint8_t pk[static ITK_PK_LEN],
		       const uint8_t sk[static ITK_SK_LEN],
		       const uint8_t wrapped[static ITK_WRAP_LEN],
		       uint8_t key[static ITK_WRAP_KEY_LEN]) ITK_WUR;
/* A new X25519 key pair (crypto_box_keypair); the caller wipes sk. */
itk_err itk_box_keypair(uint8_t pk[static ITK_PK_LEN],
			uint8_t sk[static ITK_SK_LEN]) ITK_WUR;
/* True if sk is the secret half of pk (X25519 base point multiply),
 * compared in constant time. */
bool itk_box_pair_ok(const uint8_t pk[static ITK_PK_LEN],
		     const uint8_t sk[static ITK_SK_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes with the NUL). */
void itk_hex(char *out, const uint8_t *in, size_t n);
/* Strict hex decode of exactly 2n characters; ITK_E_FORMAT otherwise. */
itk_err itk_unhex(uint8_t *out, size_t n, const char *in,
		  size_t inlen) ITK_WUR;

#endif
