/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_VAULT_OPS_H
#define ITK_VAULT_OPS_H

/*
 * The operator tier's records in the vault: leases (who works a case until
 * when), the actions log (who did what, when), notes (encrypted under the
 * vault key), tags, the reply outbox the intake worker drains towards the
 * gateway, and the replay cache of operator request nonces.  Layouts:
 * docs/vault.md ("Operator records").
 *
 * Writes go through a vault_op: one LMDB write transaction in which the
 * operator service checks a request's nonce, makes its changes and records
 * the action, so that a request is applied entirely or not at all.  Every
 * change ends in the vault's Merkle log hook (vault_txn_changed).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "labels.h"
#include "vault.h"

#define VAULT_ACTOR_MAX  64u /* bytes of an operator name */
#define VAULT_TAG_MAX    32u /* a tag: 1..32 of [a-z0-9_-] */
#define VAULT_DETAIL_MAX 128u
#define VAULT_NOTE_MAX   (32u * 1024u)
#define VAULT_NONCE_MAX  32u

/* Who acts: an operator key (id and name), or the worker (key_id 0). */
typedef struct {
	uint32_t key_id;
	const char *name; /* 1..VAULT_ACTOR_MAX bytes */
} vault_actor;

/* Stored as one byte in the actions table: never renumber. */
typedef enum {
	VAULT_ACT_QUEUES = 1,
	VAULT_ACT_NEXT = 2,
	VAULT_ACT_RELEASE = 3,
	VAULT_ACT_SHOW = 4,
	VAULT_ACT_REPLY = 5,
	VAULT_ACT_NOTE = 6,
	VAULT_ACT_TAG = 7,
	VAULT_ACT_UNTAG = 8,
	VAULT_ACT_MOVE = 9,
	VAULT_ACT_ESCALATE = 10,
	VAULT_ACT_CLOSE = 11,
	VAULT_ACT_HISTORY = 12,
	VAULT_ACT_SEARCH = 13,
	VAULT_ACT_PHONE_INTAKE = 14,
	VAULT_ACT_REPLY_SENT = 15, /* the worker handed it to the gateway */
	/* Two-person rule. */
	VAULT_ACT_APPROVAL_REQUEST = 16, /* an export or bulk action waits */
	VAULT_ACT_APPROVE = 17,          /* a second supervisor approved */
	VAULT_ACT_EXPORT = 18,           /* the case left, sealed */
	VAULT_ACT_PENDING = 19,          /* the approvals were listed */
	VAULT_ACT_COUNT
} vault_action;

/* "queues", "next", ... ("?" if unknown). */
const char *vault_action_name(vault_action a);
/* True if s is a valid tag (1..VAULT_TAG_MAX of [a-z0-9_-]). */
bool vault_tag_ok(const char *s);

typedef enum {
	VAULT_NOTE_INTERNAL = 0, /* staff only, never sent */
	VAULT_NOTE_REPLY = 1,    /* the text of a reply that was sealed */
} vault_note_kind;

typedef struct {
	uint32_t key_id;
	char holder[VAULT_ACTOR_MAX + 1];
	uint64_t until; /* Unix seconds */
} vault_lease;

/* ------------------------------------------------------------ writes */

typedef struct vault_op vault_op;

/* Begins a write transaction (ITK_E_PERM on a read-only or keyless
 * vault).  End it with vault_op_commit or vault_op_abort. */
itk_err vault_op_begin(vault *v, vault_op **out) ITK_WUR;
/* Commits (one fsync) and frees o, whatever the result. */
itk_err vault_op_commit(vault_op *o) ITK_WUR;
/* Discards every change and frees o; NULL is fine. */
void vault_op_abort(vault_op *o);

/*
 * The replay cache: records (t, key_id, nonce) and returns ITK_OK, or
 * ITK_E_DUPLICATE if exactly that was recorded before.  Entries with a
 * time below oldest are deleted on the way (a request that old is refused
 * by its time anyway), so the cache holds one clock window.
 */
itk_err vault_op_nonce(vault_op *o, uint64_t t, uint32_t key_id,
		       const uint8_t *nonce, size_t len,
		       uint64_t oldest) ITK_WUR;

/* Appends to the actions log.  case_id may be NULL (queues, search);
 * detail may be NULL, at most VAULT_DETAIL_MAX bytes, and must never hold
 * content. */
itk_err vault_op_record(vault_op *o, const uint8_t *case_id, uint64_t at,
			const vault_actor *who, vault_action what,
			const char *detail) ITK_WUR;

/* The case as this transaction sees it; ITK_E_NOT_FOUND if none. */
itk_err vault_op_get_case(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			  vault_case_view *out) ITK_WUR;
/* The live lease of a case (until > now); ITK_E_NOT_FOUND if none. */
itk_err vault_op_lease_get(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			   uint64_t now, vault_lease *out) ITK_WUR;

/*
 * Claims the open case of queue q that is most urgent and, among equals,
 * oldest, skipping cases with a live lease; the lease runs until `until`.
 * An expired lease counts as none: that is how a case returns to its
 * queue.  ITK_E_NOT_FOUND if every case of q is claimed or q is empty.
 */
itk_err vault_op_claim(vault_op *o, itk_queue q, const vault_actor *who,
		       uint64_t now, uint64_t until,
		       vault_case_view *out) ITK_WUR;
/* Drops a case's lease, live or not; ITK_E_NOT_FOUND if it has none. */
itk_err vault_op_release(vault_op *o,
			 const uint8_t case_id[VAULT_ID_LEN]) ITK_WUR;

/* Stores a note encrypted under the vault key (at most VAULT_NOTE_MAX). */
itk_err vault_op_note(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		      uint64_t at, const vault_actor *who,
		      vault_note_kind kind, const char *text) ITK_WUR;
/* As vault_op_note, under the case's data key dek (32 bytes, qkeys.h)
 * instead when dek is not NULL: the vault key alone does not open it. */
itk_err vault_op_note_dek(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			  uint64_t at, const vault_actor *who,
			  vault_note_kind kind, const char *text,
			  const uint8_t *dek) ITK_WUR;
/* Adds (or removes) a tag; adding twice or removing a missing tag is
 * ITK_OK and changes nothing.  ITK_E_FORMAT for a bad tag. */
itk_err vault_op_tag(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		     const char *tag, bool add) ITK_WUR;
/* Moves an open case to queue q (its index entry moves). */
itk_err vault_op_move(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		      itk_queue q) ITK_WUR;
/* Sets an open case's urgency (escalate: ITK_URGENCY_CRITICAL). */
itk_err vault_op_set_urgency(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			     itk_urgency u) ITK_WUR;
/* Closes a case (leaves its queue) and drops its lease.  Closing a closed
 * case changes nothing. */
itk_err vault_op_close(vault_op *o,
		       const uint8_t case_id[VAULT_ID_LEN]) ITK_WUR;
/* Commits one message as vault_commit does (checks, thread linking,
 * idempotence), inside this transaction: phone intake stores the case and
 * its action together.  res as for vault_commit. */
itk_err vault_op_commit_message(vault_op *o, const vault_message *m,
				vault_result *res) ITK_WUR;
/* Queues a sealed reply (wk_reply) for the worker to post. */
itk_err vault_op_outbox_put(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
			    const uint8_t reply_id[VAULT_ID_LEN],
			    uint64_t posted_at, const uint8_t *sealed,
			    size_t len) ITK_WUR;

/* ---------------------------------------------------------- approvals */

#define VAULT_APPROVAL_ID_LEN  16u
#define VAULT_APPROVAL_REQ_MAX (64u * 1024u)

/*
 * A request waiting for a second supervisor (two-person rule): the
 * requester's own signed OperatorRequest, kept as it came, so that the
 * approval runs exactly what was signed and the signature can be checked
 * again.  It holds metadata only (case ids, a queue, a reason, a
 * recipient key), never content.
 */
typedef struct {
	uint8_t id[VAULT_APPROVAL_ID_LEN];
	uint64_t requested_at;
	uint64_t expires;
	uint32_t key_id;
	char requester[VAULT_ACTOR_MAX + 1];
	const uint8_t *request; /* see each function for how long */
	size_t request_len;     /* 1..VAULT_APPROVAL_REQ_MAX */
} vault_approval;

/* Stores a; approvals that expired by now are deleted on the way (at most
 * 64 per call).  ITK_E_EXISTS if the id is taken, ITK_E_RANGE for a bad
 * record. */
itk_err vault_op_approval_put(vault_op *o, const vault_approval *a,
			      uint64_t now) ITK_WUR;
/* Reads and deletes approval id: whoever takes it runs it, once.  The
 * request bytes are appended to req (out->request points into req).
 * ITK_E_NOT_FOUND if there is none (used, or never stored). */
itk_err vault_op_approval_take(vault_op *o,
			       const uint8_t id[VAULT_APPROVAL_ID_LEN],
			       vault_approval *out, itk_buf *req) ITK_WUR;
/* As _take, read-only, in its own snapshot. */
itk_err vault_ops_approval_get(vault *v,
			       const uint8_t id[VAULT_APPROVAL_ID_LEN],
			       vault_approval *out, itk_buf *req) ITK_WUR;
/* Calls fn for each approval with expires > now (request valid during
 * the call), in id order. */
itk_err vault_ops_approvals(vault *v, uint64_t now,
			    itk_err (*fn)(const vault_approval *a, void *arg),
			    void *arg) ITK_WUR;

/* ------------------------------------------------------------- reads */

typedef struct {
	uint32_t by_urgency[ITK_URGENCY_COUNT];
	uint64_t oldest; /* created of the oldest open case; 0 if empty */
	uint32_t claimed;
	uint32_t free;
} vault_queue_summary;

/* Walks the open cases once: counts per queue by urgency, claimed (live
 * lease at now) and free. */
itk_err
vault_ops_queue_summary(vault *v, uint64_t now,
			vault_queue_summary out[ITK_QUEUE_COUNT]) ITK_WUR;
itk_err vault_ops_lease(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			uint64_t now, vault_lease *out) ITK_WUR;

typedef struct {
	uint64_t seq; /* order of recording */
	uint64_t at;
	uint32_t key_id;
	const char *actor; /* valid during the callback */
	vault_action action;
	const char *detail; /* "" if none */
	uint8_t case_id[VAULT_ID_LEN];
	bool has_case;
} vault_action_view;

/* Calls fn for each recorded action of a case, oldest first.  A non-OK
 * return from fn stops the walk and is returned. */
itk_err vault_ops_history(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			  itk_err (*fn)(const vault_action_view *a, void *arg),
			  void *arg) ITK_WUR;

typedef struct {
	uint64_t at;
	const char *author;
	vault_note_kind kind;
	const char *text; /* NUL-terminated, wiped after the callback */
	bool sealed;      /* under the case data key, not given: text is "" */
} vault_note_view;

/* Decrypts and hands over each note of a case, oldest first.  ITK_E_PERM
 * without the vault key, ITK_E_DECRYPT for an altered note. */
itk_err vault_ops_notes(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			itk_err (*fn)(const vault_note_view *n, void *arg),
			void *arg) ITK_WUR;
/* As vault_ops_notes; notes under the case data key open with dek (NULL:
 * they are handed over with sealed set). */
itk_err vault_ops_notes_dek(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			    const uint8_t *dek,
			    itk_err (*fn)(const vault_note_view *n, void *arg),
			    void *arg) ITK_WUR;
/* Calls fn for each tag of a case, in byte order. */
itk_err vault_ops_tags(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		       itk_err (*fn)(const char *tag, void *arg),
		       void *arg) ITK_WUR;

/* Search by metadata only: no filter here can look at content. */
typedef struct {
	int state;       /* -1 any, 0 closed, 1 open */
	int queue;       /* -1 any, else itk_queue */
	uint32_t queues; /* bit q: queue q may be listed (access filter) */
	const char *tag; /* NULL: any */
	uint64_t since;  /* created >= since */
	uint64_t until;  /* created < until; 0: no bound */
	size_t limit;    /* stop after this many; 0: 100 */
} vault_search;

itk_err vault_ops_search(vault *v, const vault_search *s,
			 itk_err (*fn)(const vault_case_view *c, void *arg),
			 void *arg) ITK_WUR;

/* The messages of one case, in submission-id order.  Walks every stored
 * message (there is no per-case index yet: docs/vault.md). */
itk_err vault_ops_case_messages(vault *v, const uint8_t case_id[VAULT_ID_LEN],
				itk_err (*fn)(const vault_message_view *m,
					      void *arg),
				void *arg) ITK_WUR;

/* Entries in the replay cache (tests, metrics): bounded by one clock
 * window of requests. */
itk_err vault_ops_nonce_count(vault *v, size_t *n) ITK_WUR;

/* ------------------------------------------------------------ outbox */

typedef struct {
	uint8_t reply_id[VAULT_ID_LEN];
	uint8_t case_id[VAULT_ID_LEN];
	uint64_t posted_at;
	const uint8_t *sealed; /* valid only during the callback */
	size_t sealed_len;
} vault_outbox_view;

/* Calls fn for at most max pending replies (oldest reply id order is not
 * promised). */
itk_err vault_outbox_pending(vault *v, size_t max,
			     itk_err (*fn)(const vault_outbox_view *o,
					   void *arg),
			     void *arg) ITK_WUR;
/* The gateway stored these: removes them from the outbox and records a
 * "reply_sent" action by who for each, in one transaction.  Ids no longer
 * in the outbox are skipped. */
itk_err vault_outbox_sent(vault *v, const uint8_t (*ids)[VAULT_ID_LEN],
			  size_t n, const vault_actor *who,
			  uint64_t now) ITK_WUR;

#endif
