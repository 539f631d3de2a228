/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The write side of the vault: committing batches of triaged messages and
 * quarantine items, thread linking, queue promotion, closing cases.  Every
 * write happens inside one vault_txn, and every logical change goes through
 * one of the per-change functions below, which end in vault_txn_changed
 * (the Merkle log hook).
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "vault_impl.h"

#define REC_BUF_MAX (VAULT_MSG_FIXED_LEN + VAULT_SEALED_MAX)

static itk_err
check_labels(itk_queue q, itk_urgency u, itk_lang l)
{
	if ((unsigned)q >= ITK_QUEUE_COUNT ||
	    (unsigned)u >= ITK_URGENCY_COUNT ||
	    (unsigned)l >= ITK_LANG_COUNT) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

/* The submission id is the receipt's and, later, the log leaf's: it must
 * be the hash of exactly the bytes we store. */
static itk_err
check_sealed(const uint8_t id[VAULT_ID_LEN], const uint8_t *sealed, size_t len)
{
	uint8_t h[ITK_HASH_LEN];

	if (sealed == NULL && len != 0) {
		return ITK_E_MISSING;
	}
	if (len > VAULT_SEALED_MAX) {
		return ITK_E_TOO_BIG;
	}
	itk_sha256(h, sealed, len);
	return sodium_memcmp(h, id, VAULT_ID_LEN) == 0 ? ITK_OK
						       : ITK_E_INTERNAL;
}

static itk_err
check_message(const vault_message *m)
{
	itk_err r;

	if ((r = check_labels(m->queue, m->urgency, m->language)) != ITK_OK) {
		return r;
	}
	/* Contact data is a pair: a reply key without a mailbox (or the
	 * reverse) could be neither used nor linked. */
	if ((m->mailbox_id == NULL) != (m->reply_pk == NULL)) {
		return ITK_E_MISSING;
	}
	return check_sealed(m->submission_id, m->sealed, m->sealed_len);
}

static itk_err
check_quarantine(const vault_quarantine_item *q)
{
	if (q->reason == ITK_OK || (unsigned)q->reason > UINT16_MAX) {
		return ITK_E_RANGE;
	}
	return check_sealed(q->submission_id, q->sealed, q->sealed_len);
}

/*
 * Whether id is stored already, as a message (case_id = its case) or in
 * quarantine (case_id = zero).  Sees earlier writes of the same batch.
 */
static itk_err
stored_as(vault_txn *t, const uint8_t id[VAULT_ID_LEN], bool *dup,
	  uint8_t case_id[VAULT_ID_LEN])
{
	vault_msg_rec m;
	MDB_val d;
	itk_err r;

	*dup = false;
	memset(case_id, 0, VAULT_ID_LEN);
	r = vault_db_get(t->txn, t->v, VAULT_DB_MESSAGES, id, VAULT_ID_LEN,
			 &d);
	if (r == ITK_OK) {
		if ((r = vault_msg_decode(d.mv_data, d.mv_size, &m)) !=
		    ITK_OK) {
			return r;
		}
		memcpy(case_id, m.case_id, VAULT_ID_LEN);
		*dup = true;
		return ITK_OK;
	}
	if (r != ITK_E_NOT_FOUND) {
		return r;
	}
	r = vault_db_get(t->txn, t->v, VAULT_DB_QUARANTINE, id, VAULT_ID_LEN,
			 &d);
	if (r == ITK_OK) {
		*dup = true;
		return ITK_OK;
	}
	return r == ITK_E_NOT_FOUND ? ITK_OK : r;
}

static itk_err
case_load(vault_txn *t, const uint8_t id[VAULT_ID_LEN], vault_case_rec *c)
{
	MDB_val d;
	itk_err r;

	if ((r = vault_db_get(t->txn, t->v, VAULT_DB_CASES, id, VAULT_ID_LEN,
			      &d)) != ITK_OK) {
		return r;
	}
	if ((r = vault_case_decode(d.mv_data, d.mv_size, c)) != ITK_OK) {
		return r;
	}
	memcpy(c->id, id, VAULT_ID_LEN);
	return ITK_OK;
}

/* Per-change: store a case's state record. */
static itk_err
case_put(vault_txn *t, vault_change kind, const vault_case_rec *c, itk_buf *b)
{
	itk_err r;

	itk_buf_reset(b);
	if ((r = vault_case_encode(c, b)) != ITK_OK) {
		return r;
	}
	return vault_txn_put(t, VAULT_DB_CASES, kind, c->id, VAULT_ID_LEN,
			     itk_buf_ptr(b), itk_buf_len(b), 0);
}

/* The queue index holds exactly the open cases, keyed by their labels. */
static itk_err
queue_enter(vault_txn *t, const vault_case_rec *c)
{
	static const uint8_t ver = VAULT_REC_VERSION;
	uint8_t k[VAULT_QKEY_LEN];

	vault_qkey_encode(c, k);
	t->counters.open_by_queue[c->queue]++;
	return vault_db_put(t->txn, t->v, VAULT_DB_QUEUE, k, sizeof(k), &ver,
			    1, 0);
}

static itk_err
queue_leave(vault_txn *t, const vault_case_rec *c)
{
	uint8_t k[VAULT_QKEY_LEN];
	itk_err r;

	if (t->counters.open_by_queue[c->queue] == 0) {
		return ITK_E_FORMAT; /* counters disagree with the cases */
	}
	t->counters.open_by_queue[c->queue]--;
	vault_qkey_encode(c, k);
	r = vault_db_del(t->txn, t->v, VAULT_DB_QUEUE, k, sizeof(k));
	/* An entry already missing is repaired by the caller's re-entry. */
	return r == ITK_E_NOT_FOUND ? ITK_OK : r;
}

/*
 * A thread id is a hint anyone who knows a case id could send: it joins
 * only a case without contact data, or one whose stored mailbox is the
 * message's own.  Otherwise a stranger could write into a case (and move
 * its queue) by quoting its id.
 */
static itk_err
thread_allowed(vault_txn *t, const vault_case_rec *c, const vault_message *m,
	       bool *ok)
{
	uint8_t pk[VAULT_REPLY_PK_LEN], mbx[VAULT_MAILBOX_LEN];
	itk_err r;

	*ok = false;
	if ((c->flags & VAULT_CASE_HAS_CONTACT) == 0) {
		*ok = true;
		return ITK_OK;
	}
	if (m->mailbox_id == NULL) {
		return ITK_OK;
	}
	r = vault_contact_open(t->v, c->id, c->contact, pk, mbx);
	if (r == ITK_OK) {
		*ok =
		    sodium_memcmp(mbx, m->mailbox_id, VAULT_MAILBOX_LEN) == 0;
	}
	sodium_memzero(pk, sizeof(pk));
	sodium_memzero(mbx, sizeof(mbx));
	return r;
}

/* Finds the case m follows up, if any: thread id first, then mailbox. */
static itk_err
find_case(vault_txn *t, const vault_message *m,
	  const uint8_t mbx_hash[VAULT_HASH_LEN], vault_case_rec *c,
	  bool *found)
{
	uint8_t cid[VAULT_ID_LEN];
	MDB_val d;
	itk_err r;

	*found = false;
	if (m->thread_id != NULL) {
		r = case_load(t, m->thread_id, c);
		if (r == ITK_OK) {
			if ((r = thread_allowed(t, c, m, found)) != ITK_OK ||
			    *found) {
				return r;
			}
		} else if (r != ITK_E_NOT_FOUND) {
			return r;
		}
	}
	if (m->mailbox_id == NULL) {
		return ITK_OK;
	}
	r = vault_db_get(t->txn, t->v, VAULT_DB_MAILBOXES, mbx_hash,
			 VAULT_HASH_LEN, &d);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK;
	}
	if (r != ITK_OK ||
	    (r = vault_mbx_decode(d.mv_data, d.mv_size, cid)) != ITK_OK) {
		return r;
	}
	if ((r = case_load(t, cid, c)) != ITK_OK) {
		/* The index names a case that is not there. */
		return r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
	}
	*found = true;
	return ITK_OK;
}

static itk_err
case_new(vault_txn *t, const vault_message *m, vault_case_rec *c, itk_buf *b)
{
	itk_err r;

	memset(c, 0, sizeof(*c));
	memcpy(c->id, m->submission_id, VAULT_ID_LEN);
	c->queue = (uint8_t)m->queue;
	c->urgency = (uint8_t)m->urgency;
	c->language = (uint8_t)m->language;
	c->flags = VAULT_CASE_OPEN;
	c->created = c->updated = m->accepted_at;
	c->message_count = 1;
	if (m->mailbox_id != NULL) {
		if ((r = vault_contact_seal(t->v, c->id, m->reply_pk,
					    m->mailbox_id, c->contact)) !=
		    ITK_OK) {
			return r;
		}
		c->flags |= VAULT_CASE_HAS_CONTACT;
	}
	t->counters.cases++;
	if ((r = queue_enter(t, c)) != ITK_OK) {
		return r;
	}
	return case_put(t, VAULT_CHANGE_CASE, c, b);
}

/*
 * A follow-up: the case takes the most urgent queue and urgency of its
 * messages (queue order surrender, captivity, casualty, other is the enum
 * order, so "most urgent" is the minimum and an "other" follow-up never
 * demotes), keeps its first language unless that was "other", and is
 * (re)opened.
 */
static itk_err
case_join(vault_txn *t, vault_case_rec *c, const vault_message *m, itk_buf *b)
{
	itk_err r;

	if (c->message_count == UINT32_MAX) {
		return ITK_E_RANGE;
	}
	if ((c->flags & VAULT_CASE_OPEN) != 0 &&
	    (r = queue_leave(t, c)) != ITK_OK) {
		return r;
	}
	if ((uint8_t)m->queue < c->queue) {
		c->queue = (uint8_t)m->queue;
	}
	if ((uint8_t)m->urgency < c->urgency) {
		c->urgency = (uint8_t)m->urgency;
	}
	if (c->language == ITK_LANG_OTHER) {
		c->language = (uint8_t)m->language;
	}
	/* Gateways deliver out of order: keep the span of accept times. */
	if (m->accepted_at < c->created) {
		c->created = m->accepted_at;
	}
	if (m->accepted_at > c->updated) {
		c->updated = m->accepted_at;
	}
	c->message_count++;
	c->flags |= VAULT_CASE_OPEN;
	if ((c->flags & VAULT_CASE_HAS_CONTACT) == 0 &&
	    m->mailbox_id != NULL) {
		if ((r = vault_contact_seal(t->v, c->id, m->reply_pk,
					    m->mailbox_id, c->contact)) !=
		    ITK_OK) {
			return r;
		}
		c->flags |= VAULT_CASE_HAS_CONTACT;
	}
	if ((r = queue_enter(t, c)) != ITK_OK) {
		return r;
	}
	return case_put(t, VAULT_CHANGE_CASE_JOIN, c, b);
}

/*
 * Indexes a mailbox to its case.  The first case of a mailbox keeps the
 * entry: a later thread-id join elsewhere does not steal it.
 */
static itk_err
mailbox_index(vault_txn *t, const uint8_t h[VAULT_HASH_LEN],
	      const uint8_t case_id[VAULT_ID_LEN])
{
	uint8_t mv[VAULT_MBX_VAL_LEN];
	MDB_val k = vault_mval(h, VAULT_HASH_LEN),
		d = vault_mval(mv, sizeof(mv));
	int rc;

	vault_mbx_encode(case_id, mv);
	rc = mdb_put(t->txn, t->v->dbi[VAULT_DB_MAILBOXES], &k, &d,
		     MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? ITK_OK : vault_mdb_err(rc);
}

/* Per-change: store a message record. */
static itk_err
message_put(vault_txn *t, const vault_message *m,
	    const uint8_t case_id[VAULT_ID_LEN], itk_buf *b)
{
	vault_msg_rec rec;
	itk_err r;

	memcpy(rec.case_id, case_id, VAULT_ID_LEN);
	rec.accepted_at = m->accepted_at;
	rec.intake_key_id = m->intake_key_id;
	rec.queue = (uint8_t)m->queue;
	rec.urgency = (uint8_t)m->urgency;
	rec.language = (uint8_t)m->language;
	rec.channel = m->channel;
	rec.sealed = m->sealed;
	rec.sealed_len = m->sealed_len;
	itk_buf_reset(b);
	if ((r = vault_msg_encode(&rec, b)) != ITK_OK ||
	    (r = vault_db_put(t->txn, t->v, VAULT_DB_MESSAGES,
			      m->submission_id, VAULT_ID_LEN, itk_buf_ptr(b),
			      itk_buf_len(b), MDB_NOOVERWRITE)) != ITK_OK) {
		return r;
	}
	t->counters.messages++;
	return vault_txn_changed(t, VAULT_CHANGE_MESSAGE, m->submission_id,
				 VAULT_ID_LEN, itk_buf_ptr(b), itk_buf_len(b));
}

static itk_err
commit_message(vault_txn *t, const vault_message *m, itk_buf *b,
	       vault_result *res)
{
	uint8_t h[VAULT_HASH_LEN] = {0};
	vault_case_rec c;
	bool dup, found;
	itk_err r;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	if ((r = stored_as(t, m->submission_id, &dup, res->case_id)) !=
	    ITK_OK) {
		goto out;
	}
	if (dup) {
		res->outcome = VAULT_STORED_DUPLICATE;
		goto out;
	}
	if (m->mailbox_id != NULL) {
		vault_mailbox_hash(t->v, m->mailbox_id, h);
	}
	if ((r = find_case(t, m, h, &c, &found)) != ITK_OK) {
		goto out;
	}
	r = found ? case_join(t, &c, m, b) : case_new(t, m, &c, b);
	if (r != ITK_OK) {
		goto out;
	}
	if (m->mailbox_id != NULL) {
		if ((r = mailbox_index(t, h, c.id)) != ITK_OK) {
			goto out;
		}
	}
	if ((r = message_put(t, m, c.id, b)) != ITK_OK ||
	    (r = vault_txn_copy_put(t, m, (itk_queue)c.queue)) != ITK_OK) {
		goto out;
	}
	memcpy(res->case_id, c.id, VAULT_ID_LEN);
	res->outcome = found ? VAULT_STORED_FOLLOW_UP : VAULT_STORED_NEW_CASE;
out:
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(h, sizeof(h));
	return r;
}

/* Per-change: store a quarantine record. */
static itk_err
commit_quarantine(vault_txn *t, const vault_quarantine_item *q, itk_buf *b,
		  vault_result *res)
{
	vault_quar_rec rec;
	bool dup;
	itk_err r;

	memset(res, 0, sizeof(*res));
	if ((r = stored_as(t, q->submission_id, &dup, res->case_id)) !=
	    ITK_OK) {
		return r;
	}
	if (dup) {
		res->outcome = VAULT_STORED_DUPLICATE;
		return ITK_OK;
	}
	rec.reason = (uint16_t)q->reason;
	rec.accepted_at = q->accepted_at;
	rec.intake_key_id = q->intake_key_id;
	rec.sealed = q->sealed;
	rec.sealed_len = q->sealed_len;
	itk_buf_reset(b);
	if ((r = vault_quar_encode(&rec, b)) != ITK_OK ||
	    (r = vault_db_put(t->txn, t->v, VAULT_DB_QUARANTINE,
			      q->submission_id, VAULT_ID_LEN, itk_buf_ptr(b),
			      itk_buf_len(b), MDB_NOOVERWRITE)) != ITK_OK) {
		return r;
	}
	t->counters.quarantined++;
	res->outcome = VAULT_STORED_QUARANTINED;
	return vault_txn_changed(t, VAULT_CHANGE_QUARANTINE, q->submission_id,
				 VAULT_ID_LEN, itk_buf_ptr(b), itk_buf_len(b));
}

itk_err
vault_commit(vault *v, const vault_message *msgs, size_t n,
	     const vault_quarantine_item *q, size_t m, vault_result *results)
{
	vault_result scratch;
	vault_txn t = {0};
	itk_buf *b = NULL;
	itk_err r;

	if ((n > 0 && msgs == NULL) || (m > 0 && q == NULL)) {
		r = ITK_E_MISSING;
		goto out;
	}
	/* Refuse a bad batch before touching the store. */
	for (size_t i = 0; i < n; i++) {
		if ((r = check_message(&msgs[i])) != ITK_OK) {
			goto out;
		}
	}
	for (size_t i = 0; i < m; i++) {
		if ((r = check_quarantine(&q[i])) != ITK_OK) {
			goto out;
		}
	}
	if ((b = itk_buf_new(REC_BUF_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = vault_txn_begin(v, &t)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = commit_message(&t, &msgs[i], b,
				   results != NULL ? &results[i] : &scratch);
		if (r != ITK_OK) {
			goto out;
		}
	}
	for (size_t i = 0; i < m; i++) {
		r = commit_quarantine(&t, &q[i], b,
				      results != NULL ? &results[n + i]
						      : &scratch);
		if (r != ITK_OK) {
			goto out;
		}
	}
	r = vault_txn_commit(&t);
out:
	vault_txn_abort(&t);
	if (r != ITK_OK && results != NULL && n + m > 0) {
		memset(results, 0, (n + m) * sizeof(*results));
	}
	itk_buf_free(b);
	return r;
}

itk_err
vault_case_close(vault *v, const uint8_t case_id[VAULT_ID_LEN])
{
	vault_txn t = {0};
	vault_case_rec c;
	itk_buf *b = NULL;
	itk_err r;

	if ((b = itk_buf_new(REC_BUF_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = vault_txn_begin(v, &t)) != ITK_OK ||
	    (r = case_load(&t, case_id, &c)) != ITK_OK) {
		goto out;
	}
	if ((c.flags & VAULT_CASE_OPEN) == 0) {
		r = ITK_OK; /* closing twice changes nothing */
		goto out;
	}
	if ((r = queue_leave(&t, &c)) != ITK_OK) {
		goto out;
	}
	c.flags &= (uint8_t)~VAULT_CASE_OPEN;
	if ((r = case_put(&t, VAULT_CHANGE_CASE_CLOSE, &c, b)) != ITK_OK) {
		goto out;
	}
	r = vault_txn_commit(&t);
out:
	vault_txn_abort(&t);
	itk_buf_free(b);
	return r;
}

/* The operator tier's handles on a case inside a transaction (ops.c). */
itk_err
vault_txn_case_load(vault_txn *t, const uint8_t id[VAULT_ID_LEN],
		    vault_case_rec *c)
{
	return case_load(t, id, c);
}

itk_err
vault_txn_case_store(vault_txn *t, const vault_case_rec *c)
{
	itk_buf *b = itk_buf_new(REC_BUF_MAX);
	itk_err r;

	if (b == NULL) {
		return ITK_E_NOMEM;
	}
	r = case_put(t, VAULT_CHANGE_CASE_UPDATE, c, b);
	itk_buf_free(b);
	return r;
}

itk_err
vault_txn_queue_enter(vault_txn *t, const vault_case_rec *c)
{
	return queue_enter(t, c);
}

itk_err
vault_txn_queue_leave(vault_txn *t, const vault_case_rec *c)
{
	return queue_leave(t, c);
}

/*
 * The operator tier's phone intake (ops.c): one message committed inside
 * the caller's transaction, with vault_commit's checks and linking, so that
 * the case and the operator's action are stored together or not at all.
 */
itk_err
vault_txn_commit_message(vault_txn *t, const vault_message *m,
			 vault_result *res)
{
	itk_buf *b = NULL;
	itk_err r;

	if ((r = check_message(m)) != ITK_OK) {
		return r;
	}
	if ((b = itk_buf_new(REC_BUF_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	r = commit_message(t, m, b, res);
	itk_buf_free(b);
	return r;
}
