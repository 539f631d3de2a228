/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_VAULT_IMPL_H
#define ITK_VAULT_IMPL_H

/*
 * Internals shared by the vault's files; nothing outside vault/ includes
 * this.  Byte layouts of every record: docs/vault.md.
 */

#include <lmdb.h>

#include "buf.h"

#include "vault.h"

/* Version of the whole layout, in meta "format"; and of each record. */
#define VAULT_FORMAT_VERSION 1u
#define VAULT_REC_VERSION    1u

#define VAULT_MAILBOX_LEN  32u
#define VAULT_REPLY_PK_LEN 32u
#define VAULT_HASH_LEN     32u
/* Contact plaintext: reply pk || mailbox id. */
#define VAULT_CONTACT_PT_LEN (VAULT_REPLY_PK_LEN + VAULT_MAILBOX_LEN)
/* Stored contact: 24-byte nonce || ciphertext || 16-byte tag. */
#define VAULT_NONCE_LEN 24u
#define VAULT_TAG_LEN   16u
#define VAULT_CONTACT_BLOB_LEN                                                \
	(VAULT_NONCE_LEN + VAULT_CONTACT_PT_LEN + VAULT_TAG_LEN)

/* Fixed record sizes (docs/vault.md). */
#define VAULT_CASE_FIXED_LEN 25u
#define VAULT_MSG_FIXED_LEN  56u
#define VAULT_QUAR_FIXED_LEN 19u
#define VAULT_MBX_VAL_LEN    (1u + VAULT_ID_LEN)
#define VAULT_QKEY_LEN       (1u + 1u + 8u + VAULT_ID_LEN)
#define VAULT_COUNTERS_LEN   (1u + 8u * (3u + ITK_QUEUE_COUNT))

/* Case flags (one byte; unknown bits are a format error). */
#define VAULT_CASE_OPEN        0x01u
#define VAULT_CASE_HAS_CONTACT 0x02u
#define VAULT_CASE_FLAGS_KNOWN (VAULT_CASE_OPEN | VAULT_CASE_HAS_CONTACT)

/* maxdbs headroom beyond the vault's and the log's own databases, for
 * databases added later (operator actions) and the auditor's reads. */
#define VAULT_DB_SPARE 8u

/* The named databases, in the order they are opened. */
typedef enum {
	VAULT_DB_META = 0,
	VAULT_DB_MESSAGES,
	VAULT_DB_CASES,
	VAULT_DB_MAILBOXES,
	VAULT_DB_QUEUE,
	VAULT_DB_QUARANTINE,
	/* Operator tier (ops.c, docs/vault.md "Operator records"). */
	VAULT_DB_LEASES,
	VAULT_DB_ACTIONS,
	VAULT_DB_NOTES,
	VAULT_DB_TAGS,
	VAULT_DB_OUTBOX,
	VAULT_DB_NONCES,
	VAULT_DB_APPROVALS, /* two-person rule: requests waiting */
	/* Access by queue keys (qkeys.c, docs/vault.md). */
	VAULT_DB_QUEUE_KEYS, /* queue (1) || version (4) -> public key */
	VAULT_DB_COPIES,     /* submission id -> message copy */
	VAULT_DB_CASE_KEYS,  /* case id -> wrapped case data key */
	VAULT_DB_COUNT
} vault_db;

struct vault {
	MDB_env *env;
	MDB_dbi dbi[VAULT_DB_COUNT];
	bool read_only;
	/* sodium_malloc'd, read-only between uses; NULL without a vault key.
	 * keys[0]: contact AEAD key, keys[1]: mailbox index MAC key. */
	uint8_t *keys;
	/* The Merkle log (tlog.h) in the same environment; NULL only for a
	 * read-only open of a vault that has no log. */
	struct tlog *log;
};

typedef struct {
	uint64_t cases;
	uint64_t messages;
	uint64_t quarantined;
	uint64_t open_by_queue[ITK_QUEUE_COUNT];
} vault_counters;

/* A decoded case record. */
typedef struct {
	uint8_t id[VAULT_ID_LEN];
	uint8_t queue, urgency, language, flags;
	uint64_t created, updated;
	uint32_t message_count;
	uint8_t contact[VAULT_CONTACT_BLOB_LEN]; /* if HAS_CONTACT */
} vault_case_rec;

/* A decoded message record; sealed points into LMDB's memory. */
typedef struct {
	uint8_t case_id[VAULT_ID_LEN];
	uint64_t accepted_at;
	uint32_t intake_key_id;
	uint8_t queue, urgency, language;
	uint32_t channel;
	const uint8_t *sealed;
	size_t sealed_len;
} vault_msg_rec;

/* A decoded quarantine record. */
typedef struct {
	uint16_t reason;
	uint64_t accepted_at;
	uint32_t intake_key_id;
	const uint8_t *sealed;
	size_t sealed_len;
} vault_quar_rec;

/*
 * What one write transaction changed.  Every per-change function below
 * takes the vault_txn; vault_txn_changed is the single spot where the
 * Merkle log appends its leaf in the same transaction.  The values are
 * the leaves' kind bytes (leaf.h, docs/audit.md): never renumber; add a
 * kind here, in leaf.h and in vault_txn_changed's db table together.
 * 1..15 intake, 16..63 operator actions, 64.. keys and administration.
 */
typedef enum {
	VAULT_CHANGE_MESSAGE = 1,     /* "messages": message added */
	VAULT_CHANGE_QUARANTINE = 2,  /* "quarantine": quarantined */
	VAULT_CHANGE_CASE = 3,        /* "cases": case created */
	VAULT_CHANGE_CASE_JOIN = 4,   /* "cases": a follow-up joined it */
	VAULT_CHANGE_CASE_CLOSE = 5,  /* "cases": case closed */
	VAULT_CHANGE_CASE_UPDATE = 6, /* "cases": changed by an operator */
	VAULT_CHANGE_COPY = 7, /* "copies": a message copy stored/re-wrapped */
	/* Operator tier (ops.c); val NULL, vlen 0 when a record is deleted. */
	VAULT_CHANGE_LEASE = 16, /* "leases": claimed, or released (deleted) */
	VAULT_CHANGE_ACTION = 17, /* "actions": an operator action recorded */
	VAULT_CHANGE_NOTE = 18,   /* "notes": an encrypted note added */
	VAULT_CHANGE_TAG = 19,    /* "tags": tag added, or removed (deleted) */
	VAULT_CHANGE_OUTBOX = 20, /* "outbox": reply queued; sent: deleted */
	/* "approvals": stored, or used or expired (deleted) */
	VAULT_CHANGE_APPROVAL = 21,
	VAULT_CHANGE_CASE_KEY =
	    22, /* "case_keys": data key stored/re-wrapped */
	/* Keys and administration. */
	VAULT_CHANGE_QUEUE_KEY = 64, /* "queue_keys": a queue key imported */
} vault_change;

typedef struct {
	vault *v;
	MDB_txn *txn;
	vault_counters counters; /* staged, written at commit */
	uint64_t changes;        /* vault_txn_changed calls so far */
} vault_txn;

/* Maps an LMDB return code to itk_err. */
itk_err vault_mdb_err(int rc);

/*
 * The LMDB helpers every file of the vault uses (vault.c), so that each
 * keeps one way of naming a database and mapping return codes.
 */
/* An MDB_val over n bytes at p; LMDB only reads through it. */
static inline MDB_val
vault_mval(const void *p, size_t n)
{
	MDB_val m;

	m.mv_data = (void *)(uintptr_t)p;
	m.mv_size = n;
	return m;
}
/* Looks key up in db within txn; d then points into LMDB's memory, valid
 * until txn ends or writes.  ITK_E_NOT_FOUND when absent. */
itk_err vault_db_get(MDB_txn *txn, const vault *v, vault_db db,
		     const void *key, size_t klen, MDB_val *d) ITK_WUR;
/* Stores key -> val in db within a write txn, with mdb_put's flags. */
itk_err vault_db_put(MDB_txn *txn, const vault *v, vault_db db,
		     const void *key, size_t klen, const void *val,
		     size_t vlen, unsigned flags) ITK_WUR;
/* Deletes key from db; ITK_E_NOT_FOUND when absent. */
itk_err vault_db_del(MDB_txn *txn, const vault *v, vault_db db,
		     const void *key, size_t klen) ITK_WUR;
/* Begins an LMDB transaction (flags: 0 or MDB_RDONLY) on v's environment;
 * a map another process has grown (MDB_MAP_RESIZED) is adopted and the
 * begin tried once more.  The caller commits or aborts *t. */
itk_err vault_mdb_begin(vault *v, unsigned flags, MDB_txn **t) ITK_WUR;
/* Visits one (key, value) of a walk; anything but ITK_OK stops it. */
typedef itk_err (*vault_visit_fn)(const MDB_val *k, const MDB_val *d,
				  void *ctx);
/* Walks db in key order in a read transaction of its own, from the first
 * key >= prefix while keys start with prefix (plen 0: every key); returns
 * the first error of LMDB or visit. */
itk_err vault_walk(vault *v, vault_db db, const uint8_t *prefix, size_t plen,
		   vault_visit_fn visit, void *ctx) ITK_WUR;

/* Write transactions (vault.c). */
itk_err vault_txn_begin(vault *v, vault_txn *t) ITK_WUR;
/* Writes the staged counters and commits; aborts on failure. */
itk_err vault_txn_commit(vault_txn *t) ITK_WUR;
void vault_txn_abort(vault_txn *t);
/* The log hook: called once per logical change with the record stored. */
itk_err vault_txn_changed(vault_txn *t, vault_change kind, const uint8_t *key,
			  size_t klen, const uint8_t *val,
			  size_t vlen) ITK_WUR;
/* Stores key -> val in db (mdb_put's flags), then hands the change to
 * vault_txn_changed as kind: the one way a record is written and logged. */
itk_err vault_txn_put(vault_txn *t, vault_db db, vault_change kind,
		      const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen, unsigned flags) ITK_WUR;
/* Deletes key from db, then logs the deletion (val NULL) as kind;
 * ITK_E_NOT_FOUND when absent. */
itk_err vault_txn_del(vault_txn *t, vault_db db, vault_change kind,
		      const uint8_t *key, size_t klen) ITK_WUR;

/* Records (record.c).  Encoders append to b; decoders never read past
 * the value and fail with ITK_E_FORMAT / ITK_E_VERSION. */
itk_err vault_case_encode(const vault_case_rec *c, itk_buf *b) ITK_WUR;
itk_err vault_case_decode(const uint8_t *p, size_t n,
			  vault_case_rec *c) ITK_WUR;
itk_err vault_msg_encode(const vault_msg_rec *m, itk_buf *b) ITK_WUR;
itk_err vault_msg_decode(const uint8_t *p, size_t n, vault_msg_rec *m) ITK_WUR;
itk_err vault_quar_encode(const vault_quar_rec *q, itk_buf *b) ITK_WUR;
itk_err vault_quar_decode(const uint8_t *p, size_t n,
			  vault_quar_rec *q) ITK_WUR;
itk_err vault_mbx_decode(const uint8_t *p, size_t n,
			 uint8_t case_id[VAULT_ID_LEN]) ITK_WUR;
void vault_mbx_encode(const uint8_t case_id[VAULT_ID_LEN],
		      uint8_t out[VAULT_MBX_VAL_LEN]);
void vault_qkey_encode(const vault_case_rec *c, uint8_t out[VAULT_QKEY_LEN]);
itk_err vault_counters_decode(const uint8_t *p, size_t n,
			      vault_counters *c) ITK_WUR;
void vault_counters_encode(const vault_counters *c,
			   uint8_t out[VAULT_COUNTERS_LEN]);
void vault_case_view_fill(const vault_case_rec *c, vault_case_view *out);

/* Vault key use (crypto.c).  All need v->keys. */
itk_err vault_keys_derive(vault *v, const uint8_t vault_key[VAULT_KEY_LEN]);
void vault_keys_free(vault *v);
/* The keyed check value stored in meta "key_check". */
void vault_key_check(const vault *v, uint8_t out[VAULT_HASH_LEN]);
/* Keyed hash of a mailbox id: the mailbox index key. */
void vault_mailbox_hash(const vault *v, const uint8_t mailbox[32],
			uint8_t out[VAULT_HASH_LEN]);
/* Encrypts reply_pk || mailbox_id with AD = case id into blob. */
itk_err vault_contact_seal(const vault *v, const uint8_t case_id[VAULT_ID_LEN],
			   const uint8_t reply_pk[32],
			   const uint8_t mailbox[32],
			   uint8_t blob[VAULT_CONTACT_BLOB_LEN]) ITK_WUR;
/* Reverse; ITK_E_DECRYPT on any failure.  Caller wipes the outputs. */
itk_err vault_contact_open(const vault *v, const uint8_t case_id[VAULT_ID_LEN],
			   const uint8_t blob[VAULT_CONTACT_BLOB_LEN],
			   uint8_t reply_pk[32], uint8_t mailbox[32]) ITK_WUR;

/* Operator tier: case state inside a vault_txn (commit.c), so that ops.c
 * moves cases between queues with the same counters and index rules as a
 * commit. */
itk_err vault_txn_case_load(vault_txn *t, const uint8_t id[VAULT_ID_LEN],
			    vault_case_rec *c) ITK_WUR;
itk_err vault_txn_case_store(vault_txn *t, const vault_case_rec *c) ITK_WUR;
itk_err vault_txn_queue_enter(vault_txn *t, const vault_case_rec *c) ITK_WUR;
itk_err vault_txn_queue_leave(vault_txn *t, const vault_case_rec *c) ITK_WUR;
/* One message committed as vault_commit would, inside t (phone intake). */
itk_err vault_txn_commit_message(vault_txn *t, const vault_message *m,
				 vault_result *res) ITK_WUR;

/* Queue keys (qkeys.c): stores m's copy, its message key wrapped to the
 * newest key of queue q (the case's queue after the commit); nothing if
 * m has no copy or q has no key yet. */
itk_err vault_txn_copy_put(vault_txn *t, const vault_message *m,
			   itk_queue q) ITK_WUR;
/* The transaction of an operator's vault_op (ops.c). */
struct vault_op;
vault_txn *vault_op_txn(struct vault_op *o);

/* Notes (vcrypto.c): XChaCha20-Poly1305-IETF under subkey 4 with the
 * caller's associated data; out gets nonce (24) || ciphertext || tag. */
#define VAULT_NOTE_OVERHEAD (VAULT_NONCE_LEN + VAULT_TAG_LEN)
itk_err vault_note_seal(const vault *v, const uint8_t *ad, size_t adlen,
			const uint8_t *pt, size_t n, itk_buf *out) ITK_WUR;
/* Reverse; ITK_E_DECRYPT on any failure.  The caller wipes out. */
itk_err vault_note_open(const vault *v, const uint8_t *ad, size_t adlen,
			const uint8_t *blob, size_t n, itk_buf *out) ITK_WUR;
/* As the two above, under a given key (a case data key, qkeys.h). */
itk_err vault_note_seal_with(const uint8_t key[VAULT_KEY_LEN],
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *pt, size_t n,
			     itk_buf *out) ITK_WUR;
itk_err vault_note_open_with(const uint8_t key[VAULT_KEY_LEN],
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *blob, size_t n,
			     itk_buf *out) ITK_WUR;

#endif
