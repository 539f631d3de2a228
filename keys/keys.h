/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_KEYS_H
#define ITK_KEYS_H

/*
 * Key files and the key store, as used by the gateway, the worker and the
 * tools.  Secret key files are encrypted under a passphrase (Argon2id +
 * XChaCha20-Poly1305) unless made with --dev; formats in docs/keys.md.
 * Secret material lives in sodium_malloc'd memory and is wiped on free.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "labels.h"
#include "wire.h"

typedef enum {
	ITK_KEY_ORG = 1,      /* Ed25519: signs the key bundle */
	ITK_KEY_INTAKE = 2,   /* X25519: submissions are sealed to it */
	ITK_KEY_RECEIPT = 3,  /* Ed25519: gateway signs receipts */
	ITK_KEY_LOG = 4,      /* Ed25519: signs log checkpoints */
	ITK_KEY_OPERATOR = 5, /* Ed25519: an operator signs requests */
	ITK_KEY_VAULT = 6,    /* 32-byte symmetric: vault contact data */
	ITK_KEY_SERVICE = 7,  /* X25519: intake-opd's own (queue keys in
				 transit inside one request) */
	ITK_KEY_QUEUE = 8,    /* X25519: one version of one queue's key */
} itk_key_kind;

typedef struct itk_secret_key itk_secret_key;

/* Operator roles (keys of kind ITK_KEY_OPERATOR only).  Stored in key
 * files: never renumber. */
typedef enum {
	ITK_ROLE_NONE = 0,
	ITK_ROLE_TRIAGE = 1,
	ITK_ROLE_SUPERVISOR = 2,
	ITK_ROLE_PHONE = 3,
	ITK_ROLE_ADMIN = 4,
} itk_role;

#define ITK_KEY_NAME_MAX    64u   /* bytes of a key name, without NUL */
#define ITK_KEY_FILE_MAX    4096u /* largest .key or .pub file accepted */
#define ITK_KEY_SECRET_MAX  64u
#define ITK_FINGERPRINT_LEN 40u /* "xxxx xxxx ... xxxx" + NUL */
/* Every queue (bit q = itk_queue q). */
#define ITK_KEY_QUEUES_ALL ((1u << ITK_QUEUE_COUNT) - 1u)

/*
 * Argon2id cost, stored in every encrypted key file so that a file made
 * with any cost opens anywhere.  Loading refuses costs outside
 * [ITK_KDF_OPS_MIN, ITK_KDF_OPS_MAX] x [ITK_KDF_MEM_MIN_KIB,
 * ITK_KDF_MEM_MAX_KIB] (ITK_E_RANGE) so a crafted file cannot make a
 * loader allocate without bound.
 */
typedef struct {
	uint32_t opslimit;
	uint32_t memlimit_kib;
} itk_kdf_params;

#define ITK_KDF_OPS_MIN     1u
#define ITK_KDF_OPS_MAX     16u
#define ITK_KDF_MEM_MIN_KIB 8u              /* crypto_pwhash_MEMLIMIT_MIN */
#define ITK_KDF_MEM_MAX_KIB (1024u * 1024u) /* 1 GiB */

/* libsodium's interactive (2, 64 MiB), moderate (3, 256 MiB, the
 * default) and sensitive (4, 1 GiB) costs. */
extern const itk_kdf_params itk_kdf_interactive;
extern const itk_kdf_params itk_kdf_moderate;
extern const itk_kdf_params itk_kdf_sensitive;

/* The public part of a key: everything in its file header. */
typedef struct {
	itk_key_kind kind;
	bool dev;            /* made with --dev: no passphrase */
	uint32_t key_id;     /* itk_intake_key_id(public_key), every kind */
	uint64_t created;    /* Unix seconds */
	uint64_t not_before; /* intake keys; 0 for other kinds */
	uint64_t not_after;  /* intake keys; 0 for other kinds */
	itk_role role;       /* operator keys; ITK_ROLE_NONE otherwise */
	uint32_t queues;     /* operator keys: bit q = may work itk_queue q */
	char name[ITK_KEY_NAME_MAX + 1]; /* [A-Za-z0-9._-], NUL-terminated */
	/* X25519 or Ed25519 public key; for a vault key, a check value
	 * SHA-256("intake-v1 vault key check" 0x00 || key) instead. */
	uint8_t public_key[32];
} itk_key_info;

/*
 * Loads a secret key file.  passphrase may be NULL for a --dev
 * (unencrypted) file; an encrypted file with a NULL or wrong passphrase is
 * ITK_E_PASSPHRASE.  A group/world-readable file is ITK_E_PERM.
 */
itk_err itk_key_load(const char *path, const char *passphrase,
		     itk_secret_key **out) ITK_WUR;
void itk_key_free(itk_secret_key *k);

itk_key_kind itk_key_kind_of(const itk_secret_key *k);
/* Public key (32 bytes) for the asymmetric kinds. */
const uint8_t *itk_key_public(const itk_secret_key *k);
/* Secret: 32 bytes (X25519, vault) or 64 bytes (Ed25519, libsodium). */
const uint8_t *itk_key_secret(const itk_secret_key *k);
/* Intake keys: key id and validity window (Unix seconds). */
uint32_t itk_key_id(const itk_secret_key *k);
uint64_t itk_key_not_before(const itk_secret_key *k);
uint64_t itk_key_not_after(const itk_secret_key *k);
/* Operator keys: the role name ("triage", "supervisor", ...) or "". */
const char *itk_key_role(const itk_secret_key *k);

/*
 * Loads every intake secret key of a key store directory (the worker's
 * view), up to max.  *n receives the count.
 *
 * Keys come sorted newest first (not_before descending).  All or nothing:
 * on failure nothing is left in keys.  Errors: ITK_E_NOT_FOUND (no intake
 * key in dir), ITK_E_FULL (more than max), ITK_E_FORMAT (a file's name and
 * key id disagree), and whatever itk_key_load returns.  Free each key
 * with itk_key_free.
 */
itk_err itk_keystore_load_intake(const char *dir, const char *passphrase,
				 itk_secret_key **keys, size_t max,
				 size_t *n) ITK_WUR;

/* ------------------------------------------------------------------ */
/* Key files (keys/keyfile.c).  Byte layouts: docs/keys.md. */

/* All secret key accessors above, plus: */
const itk_key_info *itk_key_info_of(const itk_secret_key *k);
/* Secret length in bytes: 64 (Ed25519 kinds) or 32 (intake, vault). */
size_t itk_key_secret_len(const itk_secret_key *k);
bool itk_key_is_dev(const itk_secret_key *k);
uint32_t itk_key_queues(const itk_secret_key *k);
const char *itk_key_name(const itk_secret_key *k);
uint64_t itk_key_created(const itk_secret_key *k);

/* "org", "intake", "receipt", "log", "operator", "vault" ("?" if
 * unknown) and back (-1 if unknown). */
const char *itk_key_kind_name(itk_key_kind kind);
int itk_key_kind_from_name(const char *s);
/* "triage", "supervisor", "phone", "admin" ("" for ITK_ROLE_NONE) and
 * back (-1 if unknown; "" is not accepted). */
const char *itk_role_name(itk_role role);
int itk_role_from_name(const char *s);
/* True if s is a valid key name: 1..ITK_KEY_NAME_MAX of [A-Za-z0-9._-],
 * not starting with '.'. */
bool itk_key_name_ok(const char *s);

/* Queue keys (kind ITK_KEY_QUEUE) are named "<queue>-<version>", e.g.
 * "surrender-3", version 1..ITK_QUEUE_KEY_VERSION_MAX; their queues field
 * is the one bit of their queue. */
#define ITK_QUEUE_KEY_VERSION_MAX 999999u
/* Writes the name of (q, version) into out; ITK_E_RANGE if out of range. */
itk_err itk_queue_key_name(itk_queue q, uint32_t version,
			   char out[static ITK_KEY_NAME_MAX + 1]) ITK_WUR;
/* Parses such a name strictly (no leading zeros); ITK_E_FORMAT if not. */
itk_err itk_queue_key_parse(const char *name, itk_queue *q,
			    uint32_t *version) ITK_WUR;

/*
 * Makes a new random key.  From tmpl it takes kind, created, not_before,
 * not_after (intake), role, queues (operator) and name; it computes
 * public_key and key_id; dev is set when the key is saved.  Errors:
 * ITK_E_RANGE (a field not allowed or missing for the kind),
 * ITK_E_FORMAT (bad name), ITK_E_NOMEM.  Free with itk_key_free.
 */
itk_err itk_key_generate(const itk_key_info *tmpl,
			 itk_secret_key **out) ITK_WUR;

/*
 * Serializes k as a secret key file, appended to out.  With passphrase
 * NULL the file is a --dev file (no passphrase, marked in its header);
 * otherwise kdf gives the Argon2id cost (NULL = itk_kdf_moderate).  An
 * empty passphrase is ITK_E_RANGE.
 */
itk_err itk_key_encode(const itk_secret_key *k, const char *passphrase,
		       const itk_kdf_params *kdf, itk_buf *out) ITK_WUR;
/*
 * Parses and decrypts a secret key file held in memory.  Errors:
 * ITK_E_SHORT (truncated), ITK_E_TOO_BIG, ITK_E_FORMAT (bad magic or
 * inconsistent header), ITK_E_VERSION, ITK_E_RANGE (a field out of its
 * range), ITK_E_TRAILING, ITK_E_PASSPHRASE (wrong or missing passphrase,
 * or any altered byte), ITK_E_NOMEM.  Never prints the dev warning.
 */
itk_err itk_key_decode(const uint8_t *p, size_t len, const char *passphrase,
		       itk_secret_key **out) ITK_WUR;
/*
 * Writes k to path atomically with mode 0600; never overwrites an existing
 * file (ITK_E_EXISTS).  passphrase and kdf as for itk_key_encode.
 */
itk_err itk_key_save(const itk_secret_key *k, const char *path,
		     const char *passphrase,
		     const itk_kdf_params *kdf) ITK_WUR;

/* Public key files (.pub), for distribution: header fields plus a
 * SHA-256 checksum against accidental damage (not a signature). */
itk_err itk_key_public_encode(const itk_key_info *info, itk_buf *out) ITK_WUR;
itk_err itk_key_public_decode(const uint8_t *p, size_t len,
			      itk_key_info *out) ITK_WUR;
/*
 * Writes a .pub atomically, mode 0644, replacing any old one.  Pass the
 * header as saved: itk_key_info_of(k) with dev set as it was for
 * itk_key_save (a .pub must agree with its .key).
 */
itk_err itk_key_save_public(const itk_key_info *info,
			    const char *path) ITK_WUR;
/*
 * Reads the public header of a .key file (without decrypting it; the
 * header is authenticated only when the key is loaded) or a whole .pub
 * file, telling them apart by magic.  .key files must be 0600 as for
 * itk_key_load.
 */
itk_err itk_key_info_load(const char *path, itk_key_info *out) ITK_WUR;

/*
 * Fingerprint to compare aloud: the first 16 bytes of
 * SHA-256("intake-v1 fingerprint" 0x00 || kind || public_key) as 8 groups
 * of 4 hex digits separated by spaces.
 */
void itk_key_fingerprint(itk_key_kind kind, const uint8_t public_key[32],
			 char out[static ITK_FINGERPRINT_LEN]);

/* ------------------------------------------------------------------ */
/* The key store (keys/keystore.c): a directory, layout in docs/keys.md. */

#define ITK_KEYSTORE_BUNDLE      "bundle.pb"
#define ITK_KEYSTORE_STATE       "state"
#define ITK_KEYSTORE_OPERATORS   "operators"
#define ITK_KEYSTORE_ENTRIES_MAX 256u

/*
 * The path of a key's file in dir: "<kind>.key" (org, receipt, log,
 * vault, service), "intake-<8 hex key id>.key", "operators/<name>.key",
 * "queue-<queue>-<version>.key"; ".pub" with pub.  ITK_E_TOO_BIG if it does
 * not fit in outlen.
 */
itk_err itk_keystore_path(char *out, size_t outlen, const char *dir,
			  itk_key_kind kind, uint32_t key_id, const char *name,
			  bool pub) ITK_WUR;
/*
 * Loads the one key of a kind that a store holds once (org, receipt, log,
 * vault, service): dir/<kind>.key.  ITK_E_RANGE for intake, operator or
 * queue.
 */
itk_err itk_keystore_load_key(const char *dir, itk_key_kind kind,
			      const char *passphrase,
			      itk_secret_key **out) ITK_WUR;
/* Loads dir/operators/<name>.key. */
itk_err itk_keystore_load_operator(const char *dir, const char *name,
				   const char *passphrase,
				   itk_secret_key **out) ITK_WUR;
/* Reads dir/bundle.pb (unverified bytes; verify before use). */
itk_err itk_keystore_read_bundle(const char *dir, itk_buf **out) ITK_WUR;

/* One key the store knows of, from its .key header and/or .pub. */
typedef struct {
	itk_key_info info;
	bool has_secret; /* a .key file is there */
	bool has_public; /* a .pub file is there */
} itk_keystore_entry;

/*
 * Lists the keys of dir (top level and operators/), at most max, sorted
 * by kind, then not_before descending, then name.  Reads headers only (no
 * passphrase).  A key present as both .key and .pub is one entry; a .pub
 * whose header differs from its .key, or a file whose name disagrees with
 * its header, is ITK_E_FORMAT.  More than max keys: ITK_E_FULL.  On
 * failure the path of the file at fault is written to bad (if not NULL).
 */
itk_err itk_keystore_list(const char *dir, itk_keystore_entry *out, size_t max,
			  size_t *n, char *bad, size_t badlen) ITK_WUR;

/*
 * Destroys a secret key file for forward secrecy: overwrites it with
 * random bytes, then zeros (fsync after each), unlinks it and syncs the
 * directory.  On copy-on-write or flash storage the old blocks may
 * survive the overwrite: docs/keys.md ("Retirement") says what else to do.
 */
itk_err itk_key_destroy_file(const char *path) ITK_WUR;

/* ------------------------------------------------------------------ */
/* Bundles (keys/bundle.c). */

/*
 * Makes a signed KeyBundle (serialized, appended to out): intake keys in
 * the order given (current first), receipt, log and org public keys,
 * origin, serial, issued_at.  org must be an org key; every intake entry
 * an intake key; 1..ITK_BUNDLE_KEYS_MAX of them.  The result is checked
 * with itk_bundle_verify before it is returned.
 */
itk_err itk_bundle_make(const itk_secret_key *org, const itk_key_info *intake,
			size_t n_intake,
			const uint8_t receipt_pk[static ITK_SIGN_PK_LEN],
			const uint8_t log_pk[static ITK_SIGN_PK_LEN],
			const char *origin, uint64_t serial,
			uint64_t issued_at, itk_buf *out) ITK_WUR;

/* ------------------------------------------------------------------ */
/* Passphrases for key files (keys/askpass.c). */

#define ITK_ASKPASS_ENV "INTAKE_KEYS_PASSPHRASE"
#define ITK_ASKPASS_MAX 1024u

/*
 * Obtains a key file passphrase, in this order: the INTAKE_KEYS_PASSPHRASE
 * environment variable; file (its first line; the file must be 0600), if
 * not NULL; a prompt on the terminal (/dev/tty, no echo), asked twice when
 * confirm.  *out is sodium_malloc'd: free with itk_askpass_free.  Errors:
 * ITK_E_MISSING (no source: no variable, no file, no terminal; or empty),
 * ITK_E_VERIFY (the two entries differ), ITK_E_PERM, ITK_E_IO.
 */
itk_err itk_askpass(const char *file, const char *prompt, bool confirm,
		    char **out) ITK_WUR;
/* Wipes and frees; NULL is fine. */
void itk_askpass_free(char *p);

/*
 * Verifies a serialized KeyBundle against the pinned organisation public
 * key and returns its decoded body.  Checks: signature (context
 * "intake-v1 key-bundle"), body decode, body.org_public_key equals the
 * pinned key.  Errors: ITK_E_VERIFY, ITK_E_FORMAT, ITK_E_RANGE, ...
 */
itk_err itk_bundle_verify(const uint8_t *bundle, size_t len,
			  const uint8_t org_pk[static ITK_SIGN_PK_LEN],
			  itk_pb_key_bundle_body **out) ITK_WUR;

/*
 * Reads the pinned organisation public key: an org .pub file made by
 * intake-keys, or 64 hex digits.  ITK_E_RANGE if the .pub holds another
 * kind of key, ITK_E_FORMAT if it is neither.
 */
itk_err itk_org_pub_load(const char *path,
			 uint8_t pk[static ITK_SIGN_PK_LEN]) ITK_WUR;

/* The intake key a client should seal to at time now: the first listed
 * key whose window contains now; NULL if none. */
const Intake__V1__IntakeKey *
itk_bundle_current_intake_key(const itk_pb_key_bundle_body *b, uint64_t now);

#endif
