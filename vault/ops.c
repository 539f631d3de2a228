/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator tier's records: leases, actions, notes, tags, outbox and
 * the request replay cache.  Byte layouts: docs/vault.md ("Operator
 * records").  Every stored change ends in vault_txn_changed, the Merkle
 * log hook; the nonce cache and meta counters are bookkeeping, not leaves.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "ops.h"
#include "vault_impl.h"

#define SEQ_LEN       8u
#define CASE_SEQ_LEN  (VAULT_ID_LEN + SEQ_LEN)
#define NONCE_KEY_MAX (8u + 4u + VAULT_NONCE_MAX)
#define REC_MAX                                                               \
	(1u + 8u + 4u + 1u + VAULT_ACTOR_MAX + 1u + 2u + VAULT_NOTE_MAX +     \
	 VAULT_NOTE_OVERHEAD + 64u)
#define OUTBOX_FIXED (1u + VAULT_ID_LEN + 8u + 4u)

static const char META_SEQ[] = "ops_seq";

static const char *const action_names[VAULT_ACT_COUNT] = {
    [VAULT_ACT_QUEUES] = "queues",
    [VAULT_ACT_NEXT] = "next",
    [VAULT_ACT_RELEASE] = "release",
    [VAULT_ACT_SHOW] = "show",
    [VAULT_ACT_REPLY] = "reply",
    [VAULT_ACT_NOTE] = "note",
    [VAULT_ACT_TAG] = "tag",
    [VAULT_ACT_UNTAG] = "untag",
    [VAULT_ACT_MOVE] = "move",
    [VAULT_ACT_ESCALATE] = "escalate",
    [VAULT_ACT_CLOSE] = "close",
    [VAULT_ACT_HISTORY] = "history",
    [VAULT_ACT_SEARCH] = "search",
    [VAULT_ACT_PHONE_INTAKE] = "phone-intake",
    [VAULT_ACT_REPLY_SENT] = "reply_sent",
    [VAULT_ACT_APPROVAL_REQUEST] = "request-approval",
    [VAULT_ACT_APPROVE] = "approve",
    [VAULT_ACT_EXPORT] = "export",
    [VAULT_ACT_PENDING] = "pending",
};

struct vault_op {
	vault_txn t;
	itk_buf *b; /* record scratch */
};

vault_txn *
vault_op_txn(vault_op *o)
{
	return &o->t;
}

const char *
vault_action_name(vault_action a)
{
	if ((unsigned)a >= VAULT_ACT_COUNT || action_names[a] == NULL) {
		return "?";
	}
	return action_names[a];
}

bool
vault_tag_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > VAULT_TAG_MAX) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

static bool
actor_ok(const vault_actor *who)
{
	size_t n;

	if (who == NULL || who->name == NULL) {
		return false;
	}
	n = strlen(who->name);
	return n > 0 && n <= VAULT_ACTOR_MAX;
}

itk_err
vault_op_begin(vault *v, vault_op **out)
{
	vault_op *o;
	itk_err r;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((o->b = itk_buf_new(REC_MAX)) == NULL) {
		free(o);
		return ITK_E_NOMEM;
	}
	if ((r = vault_txn_begin(v, &o->t)) != ITK_OK) {
		itk_buf_free(o->b);
		free(o);
		return r;
	}
	*out = o;
	return ITK_OK;
}

itk_err
vault_op_commit(vault_op *o)
{
	itk_err r = vault_txn_commit(&o->t);

	itk_buf_free(o->b);
	free(o);
	return r;
}

void
vault_op_abort(vault_op *o)
{
	if (o == NULL) {
		return;
	}
	vault_txn_abort(&o->t);
	itk_buf_free(o->b);
	free(o);
}

/* ------------------------------------------------------------ nonces */

itk_err
vault_op_nonce(vault_op *o, uint64_t t, uint32_t key_id, const uint8_t *nonce,
	       size_t len, uint64_t oldest)
{
	static const uint8_t one = 1;
	uint8_t k[NONCE_KEY_MAX];
	MDB_cursor *c = NULL;
	MDB_val ck, cd;
	itk_err r;
	int rc;

	if (nonce == NULL || len == 0 || len > VAULT_NONCE_MAX) {
		return ITK_E_RANGE;
	}
	/*
	 * Keyed by time first: the purge below is a walk from the start,
	 * and a replay (the same signed bytes) lands on the same key.
	 */
	itk_store_u64(k, t);
	itk_store_u32(k + 8, key_id);
	memcpy(k + 12, nonce, len);
	rc = mdb_put(o->t.txn, o->t.v->dbi[VAULT_DB_NONCES],
		     &(MDB_val){.mv_size = 12 + len, .mv_data = k},
		     &(MDB_val){.mv_size = 1, .mv_data = (void *)&one},
		     MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		return ITK_E_DUPLICATE;
	}
	if ((r = vault_mdb_err(rc)) != ITK_OK) {
		return r;
	}
	if ((r = vault_mdb_err(mdb_cursor_open(
		 o->t.txn, o->t.v->dbi[VAULT_DB_NONCES], &c))) != ITK_OK) {
		return r;
	}
	/* At most a few dozen per request, so no request pays for a long
	 * idle time all at once. */
	for (int i = 0; i < 64; i++) {
		rc = mdb_cursor_get(c, &ck, &cd, MDB_FIRST);
		if (rc != MDB_SUCCESS || ck.mv_size < 8 ||
		    itk_load_u64(ck.mv_data) >= oldest) {
			break;
		}
		if ((rc = mdb_cursor_del(c, 0)) != MDB_SUCCESS) {
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? ITK_OK
						       : vault_mdb_err(rc);
}

/* ----------------------------------------------------------- actions */

/* The next sequence number (meta "ops_seq"), shared by actions and notes
 * so that a case's records interleave in the order they were made. */
static itk_err
next_seq(vault_op *o, uint64_t *seq)
{
	uint8_t v[8];
	MDB_val d;
	itk_err r;

	r = vault_db_get(o->t.txn, o->t.v, VAULT_DB_META, META_SEQ,
			 sizeof(META_SEQ) - 1, &d);
	if (r == ITK_E_NOT_FOUND) {
		*seq = 1;
	} else if (r != ITK_OK) {
		return r;
	} else if (d.mv_size != 8) {
		return ITK_E_FORMAT;
	} else {
		*seq = itk_load_u64(d.mv_data) + 1;
	}
	itk_store_u64(v, *seq);
	return vault_db_put(o->t.txn, o->t.v, VAULT_DB_META, META_SEQ,
			    sizeof(META_SEQ) - 1, v, sizeof(v), 0);
}

static void
case_seq_key(const uint8_t *case_id, uint64_t seq, uint8_t k[CASE_SEQ_LEN])
{
	if (case_id != NULL) {
		memcpy(k, case_id, VAULT_ID_LEN);
	} else {
		memset(k, 0, VAULT_ID_LEN);
	}
	itk_store_u64(k + VAULT_ID_LEN, seq);
}

static itk_err
put_actor(itk_buf *b, const vault_actor *who)
{
	itk_err r;

	if ((r = itk_buf_put_u32(b, who->key_id)) != ITK_OK ||
	    (r = itk_buf_put_u8(b, (uint8_t)strlen(who->name))) != ITK_OK) {
		return r;
	}
	return itk_buf_put(b, who->name, strlen(who->name));
}

itk_err
vault_op_record(vault_op *o, const uint8_t *case_id, uint64_t at,
		const vault_actor *who, vault_action what, const char *detail)
{
	uint8_t k[CASE_SEQ_LEN];
	size_t dn = detail != NULL ? strlen(detail) : 0;
	uint64_t seq;
	itk_err r;

	if (!actor_ok(who) || (unsigned)what == 0 ||
	    (unsigned)what >= VAULT_ACT_COUNT || dn > VAULT_DETAIL_MAX) {
		return ITK_E_RANGE;
	}
	if ((r = next_seq(o, &seq)) != ITK_OK) {
		return r;
	}
	case_seq_key(case_id, seq, k);
	itk_buf_reset(o->b);
	if ((r = itk_buf_put_u8(o->b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put_u64(o->b, at)) != ITK_OK ||
	    (r = put_actor(o->b, who)) != ITK_OK ||
	    (r = itk_buf_put_u8(o->b, (uint8_t)what)) != ITK_OK ||
	    (r = itk_buf_put_u8(o->b, (uint8_t)dn)) != ITK_OK ||
	    (r = itk_buf_put(o->b, detail, dn)) != ITK_OK) {
		return r;
	}
	return vault_txn_put(&o->t, VAULT_DB_ACTIONS, VAULT_CHANGE_ACTION, k,
			     sizeof(k), itk_buf_ptr(o->b), itk_buf_len(o->b),
			     MDB_NOOVERWRITE);
}

/* ------------------------------------------------------------ leases */

/* Lease value: version || until (8) || key id (4) || n (1) || name (n). */
static itk_err
lease_decode(const uint8_t *p, size_t n, vault_lease *l)
{
	itk_reader rd;
	const uint8_t *name;
	uint8_t ver, len;

	memset(l, 0, sizeof(*l));
	itk_reader_init(&rd, p, n);
	if (itk_get_u8(&rd, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_u64(&rd, &l->until) != ITK_OK ||
	    itk_get_u32(&rd, &l->key_id) != ITK_OK ||
	    itk_get_u8(&rd, &len) != ITK_OK || len == 0 ||
	    len > VAULT_ACTOR_MAX || itk_get_view(&rd, len, &name) != ITK_OK ||
	    itk_reader_end(&rd) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	memcpy(l->holder, name, len);
	l->holder[len] = '\0';
	return ITK_OK;
}

static itk_err
lease_read(MDB_txn *txn, vault *v, const uint8_t case_id[VAULT_ID_LEN],
	   uint64_t now, vault_lease *out)
{
	MDB_val d;
	itk_err r;

	r = vault_db_get(txn, v, VAULT_DB_LEASES, case_id, VAULT_ID_LEN, &d);
	if (r != ITK_OK) {
		return r;
	}
	if ((r = lease_decode(d.mv_data, d.mv_size, out)) != ITK_OK) {
		return r;
	}
	/* An expired lease is no lease: the case is back in its queue. */
	return out->until > now ? ITK_OK : ITK_E_NOT_FOUND;
}

itk_err
vault_op_lease_get(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		   uint64_t now, vault_lease *out)
{
	return lease_read(o->t.txn, o->t.v, case_id, now, out);
}

static itk_err
lease_put(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
	  const vault_actor *who, uint64_t until)
{
	itk_err r;

	itk_buf_reset(o->b);
	if ((r = itk_buf_put_u8(o->b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put_u64(o->b, until)) != ITK_OK ||
	    (r = put_actor(o->b, who)) != ITK_OK) {
		return r;
	}
	return vault_txn_put(&o->t, VAULT_DB_LEASES, VAULT_CHANGE_LEASE,
			     case_id, VAULT_ID_LEN, itk_buf_ptr(o->b),
			     itk_buf_len(o->b), 0);
}

itk_err
vault_op_claim(vault_op *o, itk_queue q, const vault_actor *who, uint64_t now,
	       uint64_t until, vault_case_view *out)
{
	uint8_t first = (uint8_t)q;
	vault_case_rec c;
	vault_lease l;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	itk_err r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((unsigned)q >= ITK_QUEUE_COUNT || !actor_ok(who) || until <= now) {
		return ITK_E_RANGE;
	}
	if ((r = vault_mdb_err(mdb_cursor_open(
		 o->t.txn, o->t.v->dbi[VAULT_DB_QUEUE], &cur))) != ITK_OK) {
		return r;
	}
	/* The queue index is in the operators' order: the first case
	 * without a live lease is the one to take.  The whole walk is in
	 * this write transaction, so two operators never take the same. */
	k = vault_mval(&first, 1);
	r = ITK_E_NOT_FOUND;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	     rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		itk_err lr;

		if (k.mv_size != VAULT_QKEY_LEN) {
			r = ITK_E_FORMAT;
			goto out;
		}
		if (key[0] != first) {
			break;
		}
		lr = lease_read(o->t.txn, o->t.v, key + 10, now, &l);
		if (lr == ITK_OK) {
			continue; /* someone holds it */
		}
		if (lr != ITK_E_NOT_FOUND) {
			r = lr;
			goto out;
		}
		if ((r = vault_txn_case_load(&o->t, key + 10, &c)) != ITK_OK) {
			r = r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
			goto out;
		}
		mdb_cursor_close(cur);
		cur = NULL; /* lease_put writes to another database */
		if ((r = lease_put(o, c.id, who, until)) != ITK_OK) {
			goto out;
		}
		vault_case_view_fill(&c, out);
		r = ITK_OK;
		goto out;
	}
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		r = vault_mdb_err(rc);
	}
out:
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	sodium_memzero(&c, sizeof(c));
	return r;
}

itk_err
vault_op_release(vault_op *o, const uint8_t case_id[VAULT_ID_LEN])
{
	return vault_txn_del(&o->t, VAULT_DB_LEASES, VAULT_CHANGE_LEASE,
			     case_id, VAULT_ID_LEN);
}

/* ------------------------------------------------------- case changes */

itk_err
vault_op_get_case(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		  vault_case_view *out)
{
	vault_case_rec c;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = vault_txn_case_load(&o->t, case_id, &c)) == ITK_OK) {
		vault_case_view_fill(&c, out);
	}
	sodium_memzero(&c, sizeof(c));
	return r;
}

/* Applies a queue or urgency change to an open case: the index entry is
 * keyed by both, so it leaves and re-enters. */
static itk_err
relabel(vault_op *o, const uint8_t case_id[VAULT_ID_LEN], int queue,
	int urgency)
{
	vault_case_rec c;
	itk_err r;

	if ((r = vault_txn_case_load(&o->t, case_id, &c)) != ITK_OK) {
		goto out;
	}
	if ((c.flags & VAULT_CASE_OPEN) == 0) {
		r = ITK_E_RANGE; /* a closed case is in no queue */
		goto out;
	}
	if ((queue < 0 || c.queue == (uint8_t)queue) &&
	    (urgency < 0 || c.urgency == (uint8_t)urgency)) {
		r = ITK_OK;
		goto out;
	}
	if ((r = vault_txn_queue_leave(&o->t, &c)) != ITK_OK) {
		goto out;
	}
	if (queue >= 0) {
		c.queue = (uint8_t)queue;
	}
	if (urgency >= 0) {
		c.urgency = (uint8_t)urgency;
	}
	if ((r = vault_txn_queue_enter(&o->t, &c)) != ITK_OK) {
		goto out;
	}
	r = vault_txn_case_store(&o->t, &c);
out:
	sodium_memzero(&c, sizeof(c));
	return r;
}

itk_err
vault_op_move(vault_op *o, const uint8_t case_id[VAULT_ID_LEN], itk_queue q)
{
	if ((unsigned)q >= ITK_QUEUE_COUNT) {
		return ITK_E_RANGE;
	}
	return relabel(o, case_id, (int)q, -1);
}

itk_err
vault_op_set_urgency(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		     itk_urgency u)
{
	if ((unsigned)u >= ITK_URGENCY_COUNT) {
		return ITK_E_RANGE;
	}
	return relabel(o, case_id, -1, (int)u);
}

itk_err
vault_op_close(vault_op *o, const uint8_t case_id[VAULT_ID_LEN])
{
	vault_case_rec c;
	itk_err r;

	if ((r = vault_txn_case_load(&o->t, case_id, &c)) != ITK_OK) {
		goto out;
	}
	if ((c.flags & VAULT_CASE_OPEN) == 0) {
		r = ITK_OK;
		goto out;
	}
	if ((r = vault_txn_queue_leave(&o->t, &c)) != ITK_OK) {
		goto out;
	}
	c.flags &= (uint8_t)~VAULT_CASE_OPEN;
	if ((r = vault_txn_case_store(&o->t, &c)) != ITK_OK) {
		goto out;
	}
	r = vault_op_release(o, case_id);
	if (r == ITK_E_NOT_FOUND) {
		r = ITK_OK;
	}
out:
	sodium_memzero(&c, sizeof(c));
	return r;
}

itk_err
vault_op_commit_message(vault_op *o, const vault_message *m, vault_result *res)
{
	return vault_txn_commit_message(&o->t, m, res);
}

/* ------------------------------------------------------------- notes */

/* The AEAD's associated data: "note" || the note's key, so a note moved
 * to another case or position does not open. */
static void
note_ad(const uint8_t k[CASE_SEQ_LEN], uint8_t ad[4 + CASE_SEQ_LEN])
{
	memcpy(ad, "note", 4);
	memcpy(ad + 4, k, CASE_SEQ_LEN);
}

/* Kind byte bit 7: the note is under the case's data key (qkeys.h). */
#define NOTE_UNDER_DEK 0x80u

itk_err
vault_op_note(vault_op *o, const uint8_t case_id[VAULT_ID_LEN], uint64_t at,
	      const vault_actor *who, vault_note_kind kind, const char *text)
{
	return vault_op_note_dek(o, case_id, at, who, kind, text, NULL);
}

itk_err
vault_op_note_dek(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		  uint64_t at, const vault_actor *who, vault_note_kind kind,
		  const char *text, const uint8_t *dek)
{
	uint8_t k[CASE_SEQ_LEN], ad[4 + CASE_SEQ_LEN];
	size_t n = text != NULL ? strlen(text) : 0;
	vault_case_rec c;
	uint64_t seq;
	itk_err r;

	if (!actor_ok(who) || n == 0 || n > VAULT_NOTE_MAX ||
	    (kind != VAULT_NOTE_INTERNAL && kind != VAULT_NOTE_REPLY)) {
		return ITK_E_RANGE;
	}
	if ((r = vault_txn_case_load(&o->t, case_id, &c)) != ITK_OK) {
		return r;
	}
	sodium_memzero(&c, sizeof(c));
	if ((r = next_seq(o, &seq)) != ITK_OK) {
		return r;
	}
	case_seq_key(case_id, seq, k);
	note_ad(k, ad);
	itk_buf_reset(o->b);
	if ((r = itk_buf_put_u8(o->b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put_u64(o->b, at)) != ITK_OK ||
	    (r = itk_buf_put_u8(
		 o->b, (uint8_t)kind | (dek != NULL ? NOTE_UNDER_DEK : 0u))) !=
		ITK_OK ||
	    (r = put_actor(o->b, who)) != ITK_OK) {
		return r;
	}
	r = dek != NULL ? vault_note_seal_with(dek, ad, sizeof(ad),
					       (const uint8_t *)text, n, o->b)
			: vault_note_seal(o->t.v, ad, sizeof(ad),
					  (const uint8_t *)text, n, o->b);
	if (r != ITK_OK) {
		return r;
	}
	return vault_txn_put(&o->t, VAULT_DB_NOTES, VAULT_CHANGE_NOTE, k,
			     sizeof(k), itk_buf_ptr(o->b), itk_buf_len(o->b),
			     MDB_NOOVERWRITE);
}

/* -------------------------------------------------------------- tags */

itk_err
vault_op_tag(vault_op *o, const uint8_t case_id[VAULT_ID_LEN], const char *tag,
	     bool add)
{
	static const uint8_t one = 1;
	uint8_t k[VAULT_ID_LEN + VAULT_TAG_MAX];
	vault_case_rec c;
	size_t n;
	MDB_val d;
	itk_err r;

	if (!vault_tag_ok(tag)) {
		return ITK_E_FORMAT;
	}
	if ((r = vault_txn_case_load(&o->t, case_id, &c)) != ITK_OK) {
		return r;
	}
	sodium_memzero(&c, sizeof(c));
	n = strlen(tag);
	memcpy(k, case_id, VAULT_ID_LEN);
	memcpy(k + VAULT_ID_LEN, tag, n);
	r = vault_db_get(o->t.txn, o->t.v, VAULT_DB_TAGS, k, VAULT_ID_LEN + n,
			 &d);
	if (r != ITK_OK && r != ITK_E_NOT_FOUND) {
		return r;
	}
	if ((r == ITK_OK) == add) {
		return ITK_OK; /* already so */
	}
	return add ? vault_txn_put(&o->t, VAULT_DB_TAGS, VAULT_CHANGE_TAG, k,
				   VAULT_ID_LEN + n, &one, 1, 0)
		   : vault_txn_del(&o->t, VAULT_DB_TAGS, VAULT_CHANGE_TAG, k,
				   VAULT_ID_LEN + n);
}

/* ------------------------------------------------------------ outbox */

itk_err
vault_op_outbox_put(vault_op *o, const uint8_t case_id[VAULT_ID_LEN],
		    const uint8_t reply_id[VAULT_ID_LEN], uint64_t posted_at,
		    const uint8_t *sealed, size_t len)
{
	uint8_t h[ITK_HASH_LEN];
	itk_buf *b = NULL;
	itk_err r;

	if (sealed == NULL || !itk_sealed_len_ok(len)) {
		return ITK_E_RANGE;
	}
	itk_sha256(h, sealed, len);
	if (sodium_memcmp(h, reply_id, ITK_HASH_LEN) != 0) {
		return ITK_E_INTERNAL; /* the gateway checks it too */
	}
	if ((b = itk_buf_new(OUTBOX_FIXED + len)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put(b, case_id, VAULT_ID_LEN)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, posted_at)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, (uint32_t)len)) != ITK_OK ||
	    (r = itk_buf_put(b, sealed, len)) != ITK_OK) {
		goto out;
	}
	r = vault_txn_put(&o->t, VAULT_DB_OUTBOX, VAULT_CHANGE_OUTBOX,
			  reply_id, VAULT_ID_LEN, itk_buf_ptr(b),
			  itk_buf_len(b), MDB_NOOVERWRITE);
out:
	itk_buf_free(b);
	return r;
}

static itk_err
outbox_decode(const uint8_t *p, size_t n, vault_outbox_view *ov)
{
	itk_reader rd;
	uint8_t ver;
	uint32_t len;

	itk_reader_init(&rd, p, n);
	if (itk_get_u8(&rd, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_bytes(&rd, ov->case_id, VAULT_ID_LEN) != ITK_OK ||
	    itk_get_u64(&rd, &ov->posted_at) != ITK_OK ||
	    itk_get_u32(&rd, &len) != ITK_OK || !itk_sealed_len_ok(len) ||
	    itk_get_view(&rd, len, &ov->sealed) != ITK_OK ||
	    itk_reader_end(&rd) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	ov->sealed_len = len;
	return ITK_OK;
}

/* --------------------------------------------------------- approvals */

/* Value: version || requested_at (8) || expires (8) || key id (4) ||
 * n (1) || name || len (4) || request (len). */
static itk_err
approval_decode(const uint8_t *p, size_t n, vault_approval *a)
{
	const uint8_t *name;
	itk_reader rd;
	uint8_t ver, nlen;
	uint32_t len;

	itk_reader_init(&rd, p, n);
	if (itk_get_u8(&rd, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_u64(&rd, &a->requested_at) != ITK_OK ||
	    itk_get_u64(&rd, &a->expires) != ITK_OK ||
	    itk_get_u32(&rd, &a->key_id) != ITK_OK ||
	    itk_get_u8(&rd, &nlen) != ITK_OK || nlen == 0 ||
	    nlen > VAULT_ACTOR_MAX ||
	    itk_get_view(&rd, nlen, &name) != ITK_OK ||
	    itk_get_u32(&rd, &len) != ITK_OK || len == 0 ||
	    len > VAULT_APPROVAL_REQ_MAX ||
	    itk_get_view(&rd, len, &a->request) != ITK_OK ||
	    itk_reader_end(&rd) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	memcpy(a->requester, name, nlen);
	a->requester[nlen] = '\0';
	a->request_len = len;
	return ITK_OK;
}

/* Deletes up to 64 approvals that expired by now. */
static itk_err
approvals_purge(vault_op *o, uint64_t now)
{
	uint8_t dead[64][VAULT_APPROVAL_ID_LEN];
	MDB_cursor *c = NULL;
	vault_approval a;
	size_t n = 0;
	MDB_val k, d;
	itk_err r;
	int rc;

	if ((r = vault_mdb_err(mdb_cursor_open(
		 o->t.txn, o->t.v->dbi[VAULT_DB_APPROVALS], &c))) != ITK_OK) {
		return r;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	     rc == MDB_SUCCESS && n < 64;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != VAULT_APPROVAL_ID_LEN ||
		    approval_decode(d.mv_data, d.mv_size, &a) != ITK_OK) {
			mdb_cursor_close(c);
			return ITK_E_FORMAT;
		}
		if (a.expires <= now) {
			memcpy(dead[n++], k.mv_data, VAULT_APPROVAL_ID_LEN);
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		return vault_mdb_err(rc);
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = vault_txn_del(&o->t, VAULT_DB_APPROVALS,
				       VAULT_CHANGE_APPROVAL, dead[i],
				       VAULT_APPROVAL_ID_LEN)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

itk_err
vault_op_approval_put(vault_op *o, const vault_approval *a, uint64_t now)
{
	vault_actor who;
	itk_buf *b = NULL;
	itk_err r;
	int rc;

	who.key_id = a->key_id;
	who.name = a->requester;
	if (!actor_ok(&who) || a->request == NULL || a->request_len == 0 ||
	    a->request_len > VAULT_APPROVAL_REQ_MAX || a->expires <= now) {
		return ITK_E_RANGE;
	}
	if ((r = approvals_purge(o, now)) != ITK_OK) {
		return r;
	}
	if ((b = itk_buf_new(64u + VAULT_ACTOR_MAX + a->request_len)) ==
	    NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, a->requested_at)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, a->expires)) != ITK_OK ||
	    (r = put_actor(b, &who)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, (uint32_t)a->request_len)) != ITK_OK ||
	    (r = itk_buf_put(b, a->request, a->request_len)) != ITK_OK) {
		goto out;
	}
	rc = mdb_put(o->t.txn, o->t.v->dbi[VAULT_DB_APPROVALS],
		     &(MDB_val){.mv_size = VAULT_APPROVAL_ID_LEN,
				.mv_data = (void *)(uintptr_t)a->id},
		     &(MDB_val){.mv_size = itk_buf_len(b),
				.mv_data = (void *)(uintptr_t)itk_buf_ptr(b)},
		     MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		r = ITK_E_EXISTS;
		goto out;
	}
	if ((r = vault_mdb_err(rc)) != ITK_OK) {
		goto out;
	}
	r = vault_txn_changed(&o->t, VAULT_CHANGE_APPROVAL, a->id,
			      VAULT_APPROVAL_ID_LEN, itk_buf_ptr(b),
			      itk_buf_len(b));
out:
	itk_buf_free(b);
	return r;
}

/* Copies a stored approval's record out of LMDB's memory into req. */
static itk_err
approval_copy(const MDB_val *d, const uint8_t id[VAULT_APPROVAL_ID_LEN],
	      vault_approval *out, itk_buf *req)
{
	size_t at;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = approval_decode(d->mv_data, d->mv_size, out)) != ITK_OK) {
		return r;
	}
	memcpy(out->id, id, VAULT_APPROVAL_ID_LEN);
	at = itk_buf_len(req);
	if ((r = itk_buf_put(req, out->request, out->request_len)) != ITK_OK) {
		return r;
	}
	out->request = itk_buf_ptr(req) + at;
	return ITK_OK;
}

itk_err
vault_op_approval_take(vault_op *o, const uint8_t id[VAULT_APPROVAL_ID_LEN],
		       vault_approval *out, itk_buf *req)
{
	MDB_val d;
	itk_err r;

	if ((r = vault_db_get(o->t.txn, o->t.v, VAULT_DB_APPROVALS, id,
			      VAULT_APPROVAL_ID_LEN, &d)) != ITK_OK ||
	    (r = approval_copy(&d, id, out, req)) != ITK_OK) {
		return r;
	}
	return vault_txn_del(&o->t, VAULT_DB_APPROVALS, VAULT_CHANGE_APPROVAL,
			     id, VAULT_APPROVAL_ID_LEN);
}

itk_err
vault_ops_approval_get(vault *v, const uint8_t id[VAULT_APPROVAL_ID_LEN],
		       vault_approval *out, itk_buf *req)
{
	MDB_txn *t = NULL;
	MDB_val d;
	itk_err r;

	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	r = vault_db_get(t, v, VAULT_DB_APPROVALS, id, VAULT_APPROVAL_ID_LEN,
			 &d);
	if (r == ITK_OK) {
		r = approval_copy(&d, id, out, req);
	}
	mdb_txn_abort(t);
	return r;
}

struct approvals_ctx {
	uint64_t now;
	itk_err (*fn)(const vault_approval *a, void *arg);
	void *arg;
};

static itk_err
visit_approval(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct approvals_ctx *ac = ctx;
	vault_approval a;
	itk_err r;

	if (k->mv_size != VAULT_APPROVAL_ID_LEN) {
		return ITK_E_FORMAT;
	}
	memset(&a, 0, sizeof(a));
	if ((r = approval_decode(d->mv_data, d->mv_size, &a)) != ITK_OK) {
		return r;
	}
	memcpy(a.id, k->mv_data, VAULT_APPROVAL_ID_LEN);
	return a.expires > ac->now ? ac->fn(&a, ac->arg) : ITK_OK;
}

itk_err
vault_ops_approvals(vault *v, uint64_t now,
		    itk_err (*fn)(const vault_approval *a, void *arg),
		    void *arg)
{
	struct approvals_ctx ac = {now, fn, arg};

	return vault_walk(v, VAULT_DB_APPROVALS, NULL, 0, visit_approval, &ac);
}

/* ------------------------------------------------------------- reads */

itk_err
vault_ops_queue_summary(vault *v, uint64_t now,
			vault_queue_summary out[ITK_QUEUE_COUNT])
{
	MDB_txn *t = NULL;
	MDB_cursor *c = NULL;
	vault_lease l;
	MDB_val k, d;
	itk_err r;
	int rc;

	memset(out, 0, ITK_QUEUE_COUNT * sizeof(*out));
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	if ((r = vault_mdb_err(
		 mdb_cursor_open(t, v->dbi[VAULT_DB_QUEUE], &c))) != ITK_OK) {
		c = NULL;
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		vault_queue_summary *s;
		uint64_t created;
		itk_err lr;

		if (k.mv_size != VAULT_QKEY_LEN || key[0] >= ITK_QUEUE_COUNT ||
		    key[1] >= ITK_URGENCY_COUNT) {
			r = ITK_E_FORMAT;
			goto out;
		}
		s = &out[key[0]];
		s->by_urgency[key[1]]++;
		created = itk_load_u64(key + 2);
		if (s->oldest == 0 || created < s->oldest) {
			s->oldest = created;
		}
		lr = lease_read(t, v, key + 10, now, &l);
		if (lr == ITK_OK) {
			s->claimed++;
		} else if (lr == ITK_E_NOT_FOUND) {
			s->free++;
		} else {
			r = lr;
			goto out;
		}
	}
	r = rc == MDB_NOTFOUND ? ITK_OK : vault_mdb_err(rc);
out:
	if (c != NULL) {
		mdb_cursor_close(c);
	}
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_ops_lease(vault *v, const uint8_t case_id[VAULT_ID_LEN], uint64_t now,
		vault_lease *out)
{
	MDB_txn *t = NULL;
	itk_err r;

	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	r = lease_read(t, v, case_id, now, out);
	mdb_txn_abort(t);
	return r;
}

itk_err
vault_ops_nonce_count(vault *v, size_t *n)
{
	MDB_txn *t = NULL;
	MDB_stat st;
	itk_err r;

	*n = 0;
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	r = vault_mdb_err(mdb_stat(t, v->dbi[VAULT_DB_NONCES], &st));
	if (r == ITK_OK) {
		*n = st.ms_entries;
	}
	mdb_txn_abort(t);
	return r;
}

struct hist_ctx {
	itk_err (*fn)(const vault_action_view *a, void *arg);
	void *arg;
};

static itk_err
visit_action(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct hist_ctx *h = ctx;
	char actor[VAULT_ACTOR_MAX + 1], detail[VAULT_DETAIL_MAX + 1];
	const uint8_t *name, *det;
	vault_action_view a;
	uint8_t ver, nlen, act, dlen;
	itk_reader rd;

	if (k->mv_size != CASE_SEQ_LEN) {
		return ITK_E_FORMAT;
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.case_id, k->mv_data, VAULT_ID_LEN);
	a.has_case = !sodium_is_zero(a.case_id, VAULT_ID_LEN);
	a.seq = itk_load_u64((const uint8_t *)k->mv_data + VAULT_ID_LEN);
	itk_reader_init(&rd, d->mv_data, d->mv_size);
	if (itk_get_u8(&rd, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_u64(&rd, &a.at) != ITK_OK ||
	    itk_get_u32(&rd, &a.key_id) != ITK_OK ||
	    itk_get_u8(&rd, &nlen) != ITK_OK || nlen == 0 ||
	    nlen > VAULT_ACTOR_MAX ||
	    itk_get_view(&rd, nlen, &name) != ITK_OK ||
	    itk_get_u8(&rd, &act) != ITK_OK || act == 0 ||
	    act >= VAULT_ACT_COUNT || itk_get_u8(&rd, &dlen) != ITK_OK ||
	    dlen > VAULT_DETAIL_MAX ||
	    itk_get_view(&rd, dlen, &det) != ITK_OK ||
	    itk_reader_end(&rd) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	memcpy(actor, name, nlen);
	actor[nlen] = '\0';
	memcpy(detail, det, dlen);
	detail[dlen] = '\0';
	a.actor = actor;
	a.detail = detail;
	a.action = (vault_action)act;
	return h->fn(&a, h->arg);
}

itk_err
vault_ops_history(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		  itk_err (*fn)(const vault_action_view *a, void *arg),
		  void *arg)
{
	struct hist_ctx h = {fn, arg};

	return vault_walk(v, VAULT_DB_ACTIONS, case_id, VAULT_ID_LEN,
			  visit_action, &h);
}

struct note_ctx {
	vault *v;
	const uint8_t *dek; /* the case data key, or NULL */
	itk_err (*fn)(const vault_note_view *n, void *arg);
	void *arg;
};

static itk_err
visit_note(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct note_ctx *nc = ctx;
	uint8_t ad[4 + CASE_SEQ_LEN], ver, kind, nlen;
	char author[VAULT_ACTOR_MAX + 1];
	const uint8_t *name;
	vault_note_view nv;
	itk_buf *pt = NULL;
	uint32_t key_id;
	itk_reader rd;
	itk_err r;

	if (k->mv_size != CASE_SEQ_LEN) {
		return ITK_E_FORMAT;
	}
	memset(&nv, 0, sizeof(nv));
	itk_reader_init(&rd, d->mv_data, d->mv_size);
	if (itk_get_u8(&rd, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (ver != VAULT_REC_VERSION) {
		return ITK_E_VERSION;
	}
	if (itk_get_u64(&rd, &nv.at) != ITK_OK ||
	    itk_get_u8(&rd, &kind) != ITK_OK ||
	    (kind & ~NOTE_UNDER_DEK) > VAULT_NOTE_REPLY ||
	    itk_get_u32(&rd, &key_id) != ITK_OK ||
	    itk_get_u8(&rd, &nlen) != ITK_OK || nlen == 0 ||
	    nlen > VAULT_ACTOR_MAX ||
	    itk_get_view(&rd, nlen, &name) != ITK_OK ||
	    itk_reader_left(&rd) < VAULT_NOTE_OVERHEAD ||
	    itk_reader_left(&rd) > VAULT_NOTE_MAX + VAULT_NOTE_OVERHEAD) {
		return ITK_E_FORMAT;
	}
	memcpy(author, name, nlen);
	author[nlen] = '\0';
	note_ad(k->mv_data, ad);
	if ((pt = itk_buf_new(VAULT_NOTE_MAX + 1)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((kind & NOTE_UNDER_DEK) && nc->dek == NULL) {
		nv.sealed = true; /* needs the case key: shown as such */
	} else if ((r = (kind & NOTE_UNDER_DEK)
			    ? vault_note_open_with(nc->dek, ad, sizeof(ad),
						   rd.p + rd.off,
						   itk_reader_left(&rd), pt)
			    : vault_note_open(
				  nc->v, ad, sizeof(ad), rd.p + rd.off,
				  itk_reader_left(&rd), pt)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_buf_put_u8(pt, 0)) != ITK_OK) {
		goto out;
	}
	nv.author = author;
	nv.kind = (vault_note_kind)(kind & ~NOTE_UNDER_DEK);
	nv.text = (const char *)itk_buf_ptr(pt);
	r = nc->fn(&nv, nc->arg);
out:
	itk_buf_free(pt); /* wipes */
	return r;
}

itk_err
vault_ops_notes(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		itk_err (*fn)(const vault_note_view *n, void *arg), void *arg)
{
	return vault_ops_notes_dek(v, case_id, NULL, fn, arg);
}

itk_err
vault_ops_notes_dek(vault *v, const uint8_t case_id[VAULT_ID_LEN],
		    const uint8_t *dek,
		    itk_err (*fn)(const vault_note_view *n, void *arg),
		    void *arg)
{
	struct note_ctx nc = {v, dek, fn, arg};

	if (v->keys == NULL) {
		return ITK_E_PERM;
	}
	return vault_walk(v, VAULT_DB_NOTES, case_id, VAULT_ID_LEN, visit_note,
			  &nc);
}

struct tag_ctx {
	itk_err (*fn)(const char *tag, void *arg);
	void *arg;
};

static itk_err
visit_tag(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct tag_ctx *tc = ctx;
	char tag[VAULT_TAG_MAX + 1];
	size_t n;

	(void)d;
	if (k->mv_size <= VAULT_ID_LEN ||
	    k->mv_size > VAULT_ID_LEN + VAULT_TAG_MAX) {
		return ITK_E_FORMAT;
	}
	n = k->mv_size - VAULT_ID_LEN;
	memcpy(tag, (const uint8_t *)k->mv_data + VAULT_ID_LEN, n);
	tag[n] = '\0';
	if (!vault_tag_ok(tag)) {
		return ITK_E_FORMAT;
	}
	return tc->fn(tag, tc->arg);
}

itk_err
vault_ops_tags(vault *v, const uint8_t case_id[VAULT_ID_LEN],
	       itk_err (*fn)(const char *tag, void *arg), void *arg)
{
	struct tag_ctx tc = {fn, arg};

	return vault_walk(v, VAULT_DB_TAGS, case_id, VAULT_ID_LEN, visit_tag,
			  &tc);
}

struct search_ctx {
	vault *v;
	const vault_search *s;
	size_t limit, n;
	itk_err (*fn)(const vault_case_view *c, void *arg);
	void *arg;
};

/* Whether a case carries a tag: one lookup in its own read snapshot. */
static itk_err
has_tag(vault *v, const uint8_t case_id[VAULT_ID_LEN], const char *tag,
	bool *yes)
{
	uint8_t k[VAULT_ID_LEN + VAULT_TAG_MAX];
	size_t n = strlen(tag);
	MDB_txn *t = NULL;
	MDB_val d;
	itk_err r;

	*yes = false;
	memcpy(k, case_id, VAULT_ID_LEN);
	memcpy(k + VAULT_ID_LEN, tag, n);
	if ((r = vault_mdb_begin(v, MDB_RDONLY, &t)) != ITK_OK) {
		return r;
	}
	r = vault_db_get(t, v, VAULT_DB_TAGS, k, VAULT_ID_LEN + n, &d);
	mdb_txn_abort(t);
	if (r == ITK_OK) {
		*yes = true;
	}
	return r == ITK_E_NOT_FOUND ? ITK_OK : r;
}

static itk_err
visit_case(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct search_ctx *sc = ctx;
	const vault_search *s = sc->s;
	vault_case_view cv;
	vault_case_rec c;
	bool tagged;
	itk_err r;

	if (k->mv_size != VAULT_ID_LEN) {
		return ITK_E_FORMAT;
	}
	if ((r = vault_case_decode(d->mv_data, d->mv_size, &c)) != ITK_OK) {
		return r;
	}
	memcpy(c.id, k->mv_data, VAULT_ID_LEN);
	vault_case_view_fill(&c, &cv);
	sodium_memzero(&c, sizeof(c));
	if ((s->queues & (1u << cv.queue)) == 0 ||
	    (s->queue >= 0 && (int)cv.queue != s->queue) ||
	    (s->state >= 0 && cv.open != (s->state == 1)) ||
	    cv.created < s->since ||
	    (s->until != 0 && cv.created >= s->until)) {
		return ITK_OK;
	}
	if (s->tag != NULL) {
		if ((r = has_tag(sc->v, cv.case_id, s->tag, &tagged)) !=
		    ITK_OK) {
			return r;
		}
		if (!tagged) {
			return ITK_OK;
		}
	}
	if ((r = sc->fn(&cv, sc->arg)) != ITK_OK) {
		return r;
	}
	/* ITK_E_FULL ends the walk early; the caller turns it into OK. */
	return ++sc->n >= sc->limit ? ITK_E_FULL : ITK_OK;
}

itk_err
vault_ops_search(vault *v, const vault_search *s,
		 itk_err (*fn)(const vault_case_view *c, void *arg), void *arg)
{
	struct search_ctx sc = {v, s,  s->limit != 0 ? s->limit : 100,
				0, fn, arg};
	itk_err r;

	if (s->tag != NULL && !vault_tag_ok(s->tag)) {
		return ITK_E_FORMAT;
	}
	r = vault_walk(v, VAULT_DB_CASES, NULL, 0, visit_case, &sc);
	return r == ITK_E_FULL && sc.n >= sc.limit ? ITK_OK : r;
}

struct msgs_ctx {
	const uint8_t *case_id;
	itk_err (*fn)(const vault_message_view *m, void *arg);
	void *arg;
};

static itk_err
visit_case_message(const vault_message_view *m, void *arg)
{
	struct msgs_ctx *mc = arg;

	if (memcmp(m->case_id, mc->case_id, VAULT_ID_LEN) != 0) {
		return ITK_OK;
	}
	return mc->fn(m, mc->arg);
}

itk_err
vault_ops_case_messages(vault *v, const uint8_t case_id[VAULT_ID_LEN],
			itk_err (*fn)(const vault_message_view *m, void *arg),
			void *arg)
{
	struct msgs_ctx mc = {case_id, fn, arg};

	return vault_foreach_message(v, visit_case_message, &mc);
}

struct outbox_ctx {
	size_t max, n;
	itk_err (*fn)(const vault_outbox_view *o, void *arg);
	void *arg;
};

static itk_err
visit_outbox(const MDB_val *k, const MDB_val *d, void *ctx)
{
	struct outbox_ctx *oc = ctx;
	vault_outbox_view ov;
	itk_err r;

	if (oc->n >= oc->max) {
		return ITK_E_FULL;
	}
	if (k->mv_size != VAULT_ID_LEN) {
		return ITK_E_FORMAT;
	}
	memset(&ov, 0, sizeof(ov));
	memcpy(ov.reply_id, k->mv_data, VAULT_ID_LEN);
	if ((r = outbox_decode(d->mv_data, d->mv_size, &ov)) != ITK_OK) {
		return r;
	}
	oc->n++;
	return oc->fn(&ov, oc->arg);
}

itk_err
vault_outbox_pending(vault *v, size_t max,
		     itk_err (*fn)(const vault_outbox_view *o, void *arg),
		     void *arg)
{
	struct outbox_ctx oc = {max, 0, fn, arg};
	itk_err r;

	r = vault_walk(v, VAULT_DB_OUTBOX, NULL, 0, visit_outbox, &oc);
	return r == ITK_E_FULL && oc.n >= max ? ITK_OK : r;
}

itk_err
vault_outbox_sent(vault *v, const uint8_t (*ids)[VAULT_ID_LEN], size_t n,
		  const vault_actor *who, uint64_t now)
{
	vault_outbox_view ov;
	vault_op *o = NULL;
	char detail[2 * 8 + 10];
	MDB_val d;
	itk_err r;

	if (n == 0) {
		return ITK_OK;
	}
	if ((r = vault_op_begin(v, &o)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = vault_db_get(o->t.txn, o->t.v, VAULT_DB_OUTBOX, ids[i],
				 VAULT_ID_LEN, &d);
		if (r == ITK_E_NOT_FOUND) {
			continue; /* another worker sent it first */
		}
		if (r != ITK_OK ||
		    (r = outbox_decode(d.mv_data, d.mv_size, &ov)) != ITK_OK) {
			goto out;
		}
		/* Copy what we keep before the delete frees the page. */
		memcpy(ov.reply_id, ids[i], VAULT_ID_LEN);
		if ((r = vault_txn_del(&o->t, VAULT_DB_OUTBOX,
				       VAULT_CHANGE_OUTBOX, ids[i],
				       VAULT_ID_LEN)) != ITK_OK) {
			goto out;
		}
		memcpy(detail, "reply=", 6);
		itk_hex(detail + 6, ids[i], 8);
		if ((r = vault_op_record(o, ov.case_id, now, who,
					 VAULT_ACT_REPLY_SENT, detail)) !=
		    ITK_OK) {
			goto out;
		}
	}
	r = vault_op_commit(o);
	o = NULL; /* freed */
out:
	vault_op_abort(o);
	return r;
}
