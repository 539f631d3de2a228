/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_VAULT_H
#define ITK_VAULT_H

/*
 * The vault: one LMDB environment holding cases, the messages of each case
 * (the original sealed bytes), triage state, quarantine and mailboxes.
 * Nothing a submitter wrote is stored in the clear: the sealed bytes are
 * ciphertext to the intake key, and the reply key and mailbox id are
 * encrypted under the vault key (held only at the worker tier).  Layout:
 * docs/vault.md.
 *
 * Several worker processes may open the same vault; LMDB serialises their
 * write transactions.  Every commit is idempotent on the submission id.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "labels.h"

#define VAULT_KEY_LEN 32u
#define VAULT_ID_LEN  32u

typedef struct vault vault;

typedef struct {
	const char *dir;   /* directory of the LMDB environment */
	uint64_t map_size; /* bytes; 0 = default (4 GiB) */
	bool read_only;    /* auditors and backups */
} vault_options;

/* Largest sealed submission the vault stores (message or quarantine). */
#define VAULT_SEALED_MAX (1024u * 1024u + 48u)

/*
 * Opens (creating if needed, unless read_only) the vault in opts->dir.
 * vault_key: the 32-byte key under which contact data is encrypted; may be
 * NULL for read_only opens that never decrypt, required otherwise
 * (ITK_E_CONFIG).  The vault remembers a keyed check value: opening it
 * with a different key is ITK_E_DECRYPT.  An unknown format version is
 * ITK_E_VERSION.  On success *out is the caller's, freed with vault_free.
 * One vault_open per environment per process (an LMDB rule); not across
 * fork(): open after forking.
 */
itk_err vault_open(const vault_options *opts,
		   const uint8_t vault_key[VAULT_KEY_LEN],
		   vault **out) ITK_WUR;
/* Closes and frees; NULL is fine.  Wipes the vault key copy. */
void vault_free(vault *v);

/* One opened, triaged submission to commit. */
typedef struct {
	uint8_t submission_id[VAULT_ID_LEN]; /* SHA-256(sealed) */
	uint32_t intake_key_id;
	uint64_t accepted_at;  /* gateway's (rounded) accept time */
	const uint8_t *sealed; /* original sealed bytes */
	size_t sealed_len;
	itk_queue queue;
	itk_urgency urgency;
	itk_lang language;
	uint32_t channel;          /* intake.v1.Channel */
	const uint8_t *mailbox_id; /* 32 bytes, from the inner message */
	const uint8_t *reply_pk;   /* 32 bytes, from the inner message */
	const uint8_t *thread_id;  /* NULL, or 32 bytes: case to join */
	/*
	 * Optional copy of the inner message under a queue key (qkeys.h,
	 * vault_copy_seal): the message key and the ciphertext.  At commit
	 * the key is wrapped to the newest key of the queue the case is in
	 * then; without a queue key in the vault no copy is stored.  NULL:
	 * no copy.
	 */
	const uint8_t *copy_key;   /* 32 bytes, wiped by the caller */
	const uint8_t *copy_nonce; /* 24 bytes */
	const uint8_t *copy_ct;    /* padded inner message + 16-byte tag */
	size_t copy_ct_len;
} vault_message;

/* A submission that could not be opened or parsed. */
typedef struct {
	uint8_t submission_id[VAULT_ID_LEN];
	uint32_t intake_key_id;
	uint64_t accepted_at;
	const uint8_t *sealed;
	size_t sealed_len;
	itk_err reason; /* why: ITK_E_DECRYPT, ITK_E_FORMAT, ... */
} vault_quarantine_item;

typedef enum {
	VAULT_STORED_NEW_CASE = 0,  /* opened a new case */
	VAULT_STORED_FOLLOW_UP = 1, /* joined an existing case */
	VAULT_STORED_DUPLICATE = 2, /* already in the vault: nothing done */
	VAULT_STORED_QUARANTINED = 3,
} vault_outcome;

typedef struct {
	uint8_t case_id[VAULT_ID_LEN]; /* zero for quarantine */
	vault_outcome outcome;
} vault_result;

/*
 * Commits n messages and m quarantine items in ONE write transaction
 * (one fsync).  Idempotent: a submission id already stored (as message or
 * quarantine), or earlier in the same batch, is VAULT_STORED_DUPLICATE and
 * changes nothing (its result names the case it is in, zero if
 * quarantined).  Thread linking: a message joins the case its thread_id
 * names, if that case exists and has no contact or the same mailbox id;
 * otherwise the case its mailbox id is indexed to; otherwise it opens a
 * new case whose id is its own submission id.  A follow-up reopens a
 * closed case.  A case's urgency is the most urgent of its messages and its
 * queue the first of surrender, captivity, casualty, other among them.
 * results (n + m entries, messages first) may be NULL.
 * Each submission_id must be SHA-256(sealed) (ITK_E_INTERNAL otherwise);
 * labels out of range are ITK_E_RANGE, sealed above VAULT_SEALED_MAX
 * ITK_E_TOO_BIG.  ITK_E_FULL: the map is full.  A stored record that does
 * not parse is ITK_E_FORMAT.  All or nothing: on failure nothing was
 * written and results are zeroed.
 */
itk_err vault_commit(vault *v, const vault_message *msgs, size_t n,
		     const vault_quarantine_item *q, size_t m,
		     vault_result *results) ITK_WUR;

/* Whether a submission id is stored (message or quarantine). */
itk_err vault_contains(vault *v, const uint8_t id[VAULT_ID_LEN],
		       bool *present) ITK_WUR;

typedef struct {
	uint64_t cases;
	uint64_t messages;
	uint64_t quarantined;
	uint64_t open_by_queue[ITK_QUEUE_COUNT];
} vault_stats;

itk_err vault_get_stats(vault *v, vault_stats *out) ITK_WUR;

/* A stored message as seen by tests, the operator tier and auditors. */
typedef struct {
	uint8_t submission_id[VAULT_ID_LEN];
	uint8_t case_id[VAULT_ID_LEN];
	uint64_t accepted_at;
	itk_queue queue;
	itk_urgency urgency;
	itk_lang language;
	uint32_t intake_key_id;
	uint32_t channel;
	const uint8_t *sealed; /* valid only during the callback */
	size_t sealed_len;
} vault_message_view;

/* Calls fn for every stored message in submission-id order; stops early
 * and returns fn's error if fn returns non-ITK_OK.  A stored record that
 * does not parse stops the walk with ITK_E_FORMAT (ITK_E_VERSION for an
 * unknown record version).  fn runs inside a read transaction: it may read
 * the vault but must not call vault_commit or vault_case_close. */
itk_err vault_foreach_message(vault *v,
			      itk_err (*fn)(const vault_message_view *m,
					    void *arg),
			      void *arg) ITK_WUR;

/* A quarantined submission, as vault_foreach_quarantined shows it. */
typedef struct {
	uint8_t submission_id[VAULT_ID_LEN];
	uint32_t intake_key_id;
	uint64_t accepted_at;
	itk_err reason;
	const uint8_t *sealed; /* valid only during the callback */
	size_t sealed_len;
} vault_quarantine_view;

/* As vault_foreach_message, for the quarantine. */
itk_err vault_foreach_quarantined(vault *v,
				  itk_err (*fn)(const vault_quarantine_view *q,
						void *arg),
				  void *arg) ITK_WUR;

/* The triage state of one case (no contact data: see vault_case_contact). */
typedef struct {
	uint8_t case_id[VAULT_ID_LEN]; /* submission id of its first message */
	itk_queue queue;               /* most urgent queue of its messages */
	itk_urgency urgency;           /* most urgent of its messages */
	itk_lang language;
	uint64_t created; /* accepted_at of the first message */
	uint64_t updated; /* latest accepted_at of its messages */
	uint32_t message_count;
	bool open;
	bool has_contact;
} vault_case_view;

/* Fills *out with the case; ITK_E_NOT_FOUND if there is none. */
itk_err vault_get_case(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		       vault_case_view *out) ITK_WUR;

/*
 * The operators' "next": the open case of queue q that is most urgent and,
 * among equals, oldest (created).  q == ITK_QUEUE_COUNT means any queue
 * (surrender first).  ITK_E_NOT_FOUND if there is none.  Does not lease.
 */
itk_err vault_queue_next(vault *v, itk_queue q, vault_case_view *out) ITK_WUR;

/*
 * Decrypts the contact data of a case into the caller's buffers (which the
 * caller wipes).  ITK_E_NOT_FOUND: no such case or no contact stored;
 * ITK_E_PERM: opened without a vault key; ITK_E_DECRYPT: wrong vault key or
 * altered record.
 */
itk_err vault_case_contact(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			   uint8_t reply_pk[32],
			   uint8_t mailbox_id[32]) ITK_WUR;

/*
 * Closes a case: it leaves its queue.  A later follow-up (same mailbox or
 * thread id) reopens it.  ITK_E_NOT_FOUND if there is no such case;
 * closing a closed case is ITK_OK and changes nothing.
 */
itk_err vault_case_close(vault *v,
			 const uint8_t case_id[VAULT_ID_LEN]) ITK_WUR;

#endif
