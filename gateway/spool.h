/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

/*
 * The gateway spool: an LMDB environment holding sealed submissions until
 * a worker has committed them to the vault, the ids of submissions already
 * delivered (so that a resend gets its original receipt), and the sealed
 * replies waiting in mailboxes.  Ciphertext only: the gateway never holds
 * a key that opens anything stored here.  Layouts in docs/gateway.md.
 *
 * Leases live in memory only.  After a restart every pending submission is
 * simply leased again; the vault is idempotent on the submission id, so a
 * second delivery is harmless.
 *
 * Thread safety: every function may be called from any thread.  Writers
 * are serialised by LMDB; the in-memory queue has its own mutex, never
 * held across an fsync.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"

#define GW_ID_LEN             ITK_HASH_LEN
#define GW_CURSOR_LEN         40u  /* posted_at (8) || reply_id (32) */
#define GW_DELIVERY_MAX       256u /* hard cap on deliveries per lease */
#define GW_DELIVERY_BYTES     (48u * 1024u * 1024u)
#define GW_MAILBOX_PAGE_MAX   64u
#define GW_MAILBOX_PAGE_BYTES (6u * 1024u * 1024u)
/* A serialized Reply: a sealed box of at most the largest bucket plus
 * its few small fields. */
#define GW_REPLY_MAX (ITK_PAD_MAX + ITK_SEAL_OVERHEAD + 1024u)

typedef struct gw_spool gw_spool;

typedef struct {
	uint64_t max_bytes;         /* cap on sealed bytes pending */
	uint64_t lease_ms;          /* lease timeout */
	uint64_t seen_retention;    /* seconds a delivered id is remembered */
	uint64_t mailbox_retention; /* seconds a reply is kept */
} gw_spool_opts;

/*
 * Opens (creating if missing, mode 0700) the spool in dir and loads the
 * pending queue into memory.  Returns ITK_OK and *out (free with
 * gw_spool_free), ITK_E_IO, ITK_E_DB or ITK_E_NOMEM.
 */
itk_err gw_spool_open(const char *dir, const gw_spool_opts *o,
		      gw_spool **out) ITK_WUR;
/* Closes the environment and frees everything; NULL is fine. */
void gw_spool_free(gw_spool *s);

/*
 * Called (without any spool lock held) after new submissions were
 * committed or leases returned to the queue, so that a long-polling worker
 * can be answered.  Set once before use.
 */
void gw_spool_set_notify(gw_spool *s, void (*fn)(void *), void *arg);

/*
 * Looks id up among pending submissions and the seen table.  ITK_OK with
 * the original *accepted_at and *key_id, ITK_E_NOT_FOUND, or ITK_E_DB.
 */
itk_err gw_spool_lookup(gw_spool *s, const uint8_t id[static GW_ID_LEN],
			uint64_t *accepted_at, uint32_t *key_id) ITK_WUR;

/* True if adding len more sealed bytes would exceed max_bytes now. */
bool gw_spool_would_overflow(gw_spool *s, size_t len);

/* One submission of a group commit; the caller's memory. */
typedef struct {
	const uint8_t *id;     /* GW_ID_LEN bytes: SHA-256(sealed) */
	const uint8_t *sealed; /* the sealed bytes */
	size_t len;
	uint32_t key_id;
	uint64_t accepted_at;
	/* Out: ITK_OK stored now; ITK_E_DUPLICATE already known (accepted_at
	 * and key_id then hold the original values); ITK_E_FULL. */
	itk_err result;
} gw_spool_item;

/*
 * Appends n submissions in ONE transaction, synced to disk before it
 * returns (the group commit).  Per-item results in items[i].result.
 * Returns ITK_OK when the transaction is durable (each item's own result
 * says what happened to it), else ITK_E_DB/ITK_E_FULL and nothing of the
 * batch is stored.
 */
itk_err gw_spool_append(gw_spool *s, gw_spool_item *items, size_t n) ITK_WUR;

/* One leased submission handed to the lease callback. */
typedef struct {
	const uint8_t *id; /* GW_ID_LEN bytes */
	const uint8_t *sealed;
	size_t len;
	uint32_t key_id;
	uint64_t accepted_at;
	uint32_t attempt; /* 1 on the first delivery */
} gw_delivery;

/*
 * Leases up to max (capped at GW_DELIVERY_MAX and GW_DELIVERY_BYTES)
 * pending submissions, oldest first, to owner (a nonzero pipe id) until
 * now_ms + lease_ms, then calls fn once with them.  The views in d are
 * valid only during fn.  fn's return value is returned.  With nothing
 * available fn is not called, *n is 0 and ITK_OK returned.
 */
itk_err
gw_spool_lease(gw_spool *s, uint32_t owner, uint64_t now_ms, size_t max,
	       itk_err (*fn)(void *arg, const gw_delivery *d, size_t n),
	       void *arg, size_t *n) ITK_WUR;

/* Number of submissions currently leased to owner. */
size_t gw_spool_leased_by(gw_spool *s, uint32_t owner);

/* A sealed reply to post, the caller's memory. */
typedef struct {
	const uint8_t *mailbox_id; /* ITK_MAILBOX_ID_LEN */
	const uint8_t *reply_id;   /* GW_ID_LEN */
	uint64_t posted_at;
	const uint8_t *reply; /* serialized intake.v1.Reply */
	size_t reply_len;
} gw_spool_reply;

/*
 * Applies a worker's acknowledgements (acks[i] points at GW_ID_LEN bytes) and
 * posts its replies in ONE synced transaction: each acked id leaves the
 * pending queue (if it is there) and is remembered in the seen table.  *acked
 * counts acks that removed a pending submission, *stored replies that were new
 * (a resent reply is stored once).  Returns ITK_OK, ITK_E_FULL (map full) or
 * ITK_E_DB.
 */
itk_err gw_spool_worker_commit(gw_spool *s, const uint8_t *const *acks,
			       size_t n_acks, const gw_spool_reply *replies,
			       size_t n_replies, uint64_t now_s, size_t *acked,
			       size_t *stored) ITK_WUR;

/*
 * Called after a worker commit is on disk, on the committing thread and
 * without any spool lock held, with the replies that commit stored new
 * (views valid during the call only), so that chat subscribers
 * (gateway/chat.c) get them at once.  fn NULL: none.  May be set while
 * the link runs.
 */
typedef void (*gw_spool_reply_fn)(void *arg, const gw_spool_reply *r,
				  size_t n);
void gw_spool_set_reply_hook(gw_spool *s, gw_spool_reply_fn fn, void *arg);

/* Returns every lease of owner to the front of the queue; the count. */
size_t gw_spool_release_owner(gw_spool *s, uint32_t owner);
/* Returns leases that ended before now_ms to the front; the count. */
size_t gw_spool_expire(gw_spool *s, uint64_t now_ms);

/*
 * Reads up to GW_MAILBOX_PAGE_MAX replies of mailbox_id after cursor
 * (NULL = from the start) and calls fn once with their serialized Reply
 * bytes (views valid during fn).  next receives the cursor of the last
 * reply returned when more may follow, and *has_next says so.
 */
itk_err gw_spool_mailbox_read(
    gw_spool *s, const uint8_t mailbox_id[static ITK_MAILBOX_ID_LEN],
    const uint8_t *cursor,
    itk_err (*fn)(void *arg, const uint8_t *const *reply, const size_t *len,
		  size_t n),
    void *arg, uint8_t next[static GW_CURSOR_LEN], bool *has_next) ITK_WUR;

/* Deletes seen ids and replies older than their retention (at most
 * limit records per call); the number deleted. */
size_t gw_spool_prune(gw_spool *s, uint64_t now_s, size_t limit);

typedef struct {
	uint64_t pending;     /* submissions not yet acknowledged */
	uint64_t bytes;       /* their sealed bytes */
	uint64_t leased;      /* of which leased to a worker now */
	uint64_t redelivered; /* leases that ended without an ack */
	bool writable;        /* false after a failed write */
} gw_spool_stats;

void gw_spool_get_stats(gw_spool *s, gw_spool_stats *st);

#endif
