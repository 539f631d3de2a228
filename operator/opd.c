/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator service's request handling (opd.h).  Each command is a row
 * of one table: the roles that may give it, what it needs checked before
 * it runs, and up to three steps: pre (after authentication, before the
 * write transaction: sealing), txn (inside the write transaction that
 * also records the nonce and the action) and post (after the commit:
 * reads for the answer).
 */
#include "opd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"
#include "keys.h"
#include "labels.h"
#include "log.h"
#include "opwire.h"
#include "ops.h"
#include "process.h"
#include "qgrants.h"
#include "qkeys.h"
#include "reply.h"
#include "wire.h"

#define OPERATORS_MAX      ITK_KEYSTORE_ENTRIES_MAX
#define DEFAULT_LEASE_S    900u
#define DEFAULT_SKEW_S     120u
#define SEARCH_LIMIT_MAX   1000u
#define PHONE_PLAIN_MAX    (ITK_OP_TEXT_MAX + 16u * 1024u)
#define DEFAULT_APPROVAL_S 3600u
/* What a note under a case key the request cannot open shows. */
#define SEALED_NOTE                                                           \
	"(sealed: under the case key of a queue key this "                    \
	"request does not carry)"

struct opd {
	opd_options o;
	itk_key_info *ops;
	size_t n_ops;
	/* Queue keys (docs/vault.md): on when the key store holds a signed
	 * queue-keys file.  svc: the service key pair, pk || sk,
	 * sodium_malloc'd. */
	bool qkeys;
	uint8_t *svc;
	/* The verified key bundle: the intake public key phone intake seals
	 * to when the service holds no intake secret key. */
	itk_pb_key_bundle_body *bundle;
};

/* ------------------------------------------------------------ arena */

/* Everything an answer points at, freed (and wiped) after sealing. */
typedef struct {
	void **p;
	size_t *len;
	size_t n, cap;
} arena;

static void *
arena_alloc(arena *a, size_t len)
{
	void *p;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->p, cap * sizeof(*np));
		size_t *nl;
		if (np == NULL) {
			return NULL;
		}
		a->p = np;
		if ((nl = realloc(a->len, cap * sizeof(*nl))) == NULL) {
			return NULL;
		}
		a->len = nl;
		a->cap = cap;
	}
	if ((p = calloc(1, len ? len : 1)) == NULL) {
		return NULL;
	}
	a->p[a->n] = p;
	a->len[a->n++] = len ? len : 1;
	return p;
}

static char *
arena_str(arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
	}
	return d;
}

static void
arena_free(arena *a)
{
	for (size_t i = 0; i < a->n; i++) {
		sodium_memzero(a->p[i], a->len[i]); /* plaintext of cases */
		free(a->p[i]);
	}
	free(a->p);
	free(a->len);
	memset(a, 0, sizeof(*a));
}

/* Appends a message pointer to a protobuf-c repeated field. */
#define ARENA_PUSH(a, arr, n, item)                                           \
	arena_push((a), (void ***)&(arr), &(n), (item))

static itk_err
arena_push(arena *a, void ***arr, size_t *n, void *item)
{
	void **na;

	if (item == NULL) {
		return ITK_E_NOMEM;
	}
	/* Grow by copying into a new arena block: old blocks stay owned. */
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;
		if ((na = arena_alloc(a, cap * sizeof(*na))) == NULL) {
			return ITK_E_NOMEM;
		}
		if (*n) {
			memcpy(na, *arr, *n * sizeof(*na));
		}
		*arr = na;
	}
	(*arr)[(*n)++] = item;
	return ITK_OK;
}

/* ---------------------------------------------------------- context */

typedef struct {
	opd *s;
	const itk_key_info *op;
	const itk_pb_op_request_body *rq;
	vault_actor who;
	uint64_t now;
	uint8_t case_id[VAULT_ID_LEN]; /* the request's, or the one found */
	bool has_case;
	itk_queue queue; /* NEED_QUEUE */
	vault_op *o;     /* during txn */
	char detail[VAULT_DETAIL_MAX + 1];
	const char *refusal; /* message for a refusal */
	arena a;
	itk_pb_op_response_body resp;
	/* The request's queue keys, sodium_malloc'd, wiped after it. */
	vault_qsecret *qk;
	size_t nqk;
	itk_buf *copy_ct; /* phone intake: the copy's ciphertext */
	uint8_t *copy_mk; /* its message key, sodium_malloc'd */
	uint8_t copy_nonce[VAULT_COPY_NONCE];
	/* reply */
	wk_reply reply;
	bool have_reply;
	/* phone intake */
	itk_buf *sealed;
	vault_message msg;
	/* the request as received: stored as is by a two-person request */
	const uint8_t *raw;
	size_t raw_len;
	/* approve: the stored request, its requester, the export built */
	itk_buf *appr_req;
	vault_approval appr;
	itk_pb_op_request *appr_env;
	itk_pb_op_request_body *appr_rq;
	const itk_key_info *requester;
	itk_buf *exp_sealed;
	Intake__V1__CaseExportHeader *exp_hdr;
} req_ctx;

enum {
	F_QUEUE = 1u << 0,   /* rq->queue names a queue the operator works */
	F_CASE = 1u << 1,    /* rq->case_id: a case in a queue it works */
	F_MUTATES = 1u << 2, /* the case must not be claimed by another */
	F_TWO = 1u << 3,     /* two-person rule: stored until approved */
};

#define ROLE(r) (1u << (r))
#define R_TS    (ROLE(ITK_ROLE_TRIAGE) | ROLE(ITK_ROLE_SUPERVISOR))
#define R_ANY   (R_TS | ROLE(ITK_ROLE_PHONE) | ROLE(ITK_ROLE_ADMIN))
#define R_SUP   ROLE(ITK_ROLE_SUPERVISOR)

typedef itk_err (*step_fn)(req_ctx *c);

typedef struct {
	Intake__V1__OperatorCommand cmd;
	uint32_t roles;
	unsigned flags;
	vault_action action;
	step_fn pre, txn, post;
} command;

/* ------------------------------------------------------ answer parts */

static Intake__V1__CaseSummary *
case_summary(req_ctx *c, const vault_case_view *cv)
{
	Intake__V1__CaseSummary *cs = arena_alloc(&c->a, sizeof(*cs));
	uint8_t *id;

	if (cs == NULL || (id = arena_alloc(&c->a, VAULT_ID_LEN)) == NULL) {
		return NULL;
	}
	intake__v1__case_summary__init(cs);
	memcpy(id, cv->case_id, VAULT_ID_LEN);
	cs->case_id.data = id;
	cs->case_id.len = VAULT_ID_LEN;
	cs->queue = (char *)itk_queue_name(cv->queue);
	cs->urgency = (char *)itk_urgency_name(cv->urgency);
	cs->language = (char *)itk_lang_name(cv->language);
	cs->created = cv->created;
	cs->updated = cv->updated;
	cs->messages = cv->message_count;
	cs->open = cv->open;
	cs->has_contact = cv->has_contact;
	return cs;
}

struct tag_acc {
	req_ctx *c;
	Intake__V1__CaseSummary *cs;
};

static itk_err
add_tag(const char *tag, void *arg)
{
	struct tag_acc *t = arg;
	char *s = arena_str(&t->c->a, tag, strlen(tag));

	return ARENA_PUSH(&t->c->a, t->cs->tags, t->cs->n_tags, s);
}

/* A case summary with its tags and lease, appended to resp.cases. */
static itk_err
push_case(req_ctx *c, const vault_case_view *cv)
{
	Intake__V1__CaseSummary *cs = case_summary(c, cv);
	struct tag_acc t = {c, cs};
	vault_lease l;
	itk_err r;

	if (cs == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = vault_ops_tags(c->s->o.v, cv->case_id, add_tag, &t)) !=
	    ITK_OK) {
		return r;
	}
	r = vault_ops_lease(c->s->o.v, cv->case_id, c->now, &l);
	if (r == ITK_OK) {
		cs->lease_holder =
		    arena_str(&c->a, l.holder, strlen(l.holder));
		cs->lease_until = l.until;
		if (cs->lease_holder == NULL) {
			return ITK_E_NOMEM;
		}
	} else if (r != ITK_E_NOT_FOUND) {
		return r;
	}
	return ARENA_PUSH(&c->a, c->resp.cases, c->resp.n_cases, cs);
}

static itk_err
push_action(const vault_action_view *av, void *arg)
{
	req_ctx *c = arg;
	Intake__V1__ActionEntry *e = arena_alloc(&c->a, sizeof(*e));
	uint8_t *id;

	if (e == NULL) {
		return ITK_E_NOMEM;
	}
	intake__v1__action_entry__init(e);
	e->at = av->at;
	e->operator_ = arena_str(&c->a, av->actor, strlen(av->actor));
	e->action = (char *)vault_action_name(av->action);
	e->detail = arena_str(&c->a, av->detail, strlen(av->detail));
	if (e->operator_ == NULL || e->detail == NULL) {
		return ITK_E_NOMEM;
	}
	if (av->has_case) {
		if ((id = arena_alloc(&c->a, VAULT_ID_LEN)) == NULL) {
			return ITK_E_NOMEM;
		}
		memcpy(id, av->case_id, VAULT_ID_LEN);
		e->case_id.data = id;
		e->case_id.len = VAULT_ID_LEN;
	}
	return ARENA_PUSH(&c->a, c->resp.history, c->resp.n_history, e);
}

static itk_err
push_note(const vault_note_view *nv, void *arg)
{
	req_ctx *c = arg;
	Intake__V1__CaseNote *n = arena_alloc(&c->a, sizeof(*n));

	if (n == NULL) {
		return ITK_E_NOMEM;
	}
	intake__v1__case_note__init(n);
	n->at = nv->at;
	n->author = arena_str(&c->a, nv->author, strlen(nv->author));
	n->kind = nv->kind == VAULT_NOTE_REPLY ? "reply" : "note";
	n->text = nv->sealed
		      ? arena_str(&c->a, SEALED_NOTE, sizeof(SEALED_NOTE) - 1)
		      : arena_str(&c->a, nv->text, strlen(nv->text));
	if (n->author == NULL || n->text == NULL) {
		return ITK_E_NOMEM;
	}
	return ARENA_PUSH(&c->a, c->resp.notes, c->resp.n_notes, n);
}

/* Copies what a reader of the thread needs out of a decoded inner
 * message; attachments are listed without their data (docs). */
static itk_err
fill_thread(req_ctx *c, Intake__V1__ThreadMessage *tm, const itk_pb_inner *in)
{
	itk_err r;

	tm->opened = true;
	if ((tm->text = arena_str(&c->a, in->text, strlen(in->text))) ==
	    NULL) {
		return ITK_E_NOMEM;
	}
	for (size_t i = 0; i < in->n_fields; i++) {
		Intake__V1__Field *f = arena_alloc(&c->a, sizeof(*f));
		if (f == NULL) {
			return ITK_E_NOMEM;
		}
		intake__v1__field__init(f);
		f->name = arena_str(&c->a, in->fields[i]->name,
				    strlen(in->fields[i]->name));
		f->value = arena_str(&c->a, in->fields[i]->value,
				     strlen(in->fields[i]->value));
		if (f->name == NULL || f->value == NULL ||
		    (r = ARENA_PUSH(&c->a, tm->fields, tm->n_fields, f)) !=
			ITK_OK) {
			return ITK_E_NOMEM;
		}
	}
	if (in->n_attachments > 0) {
		tm->attachment_sizes =
		    arena_alloc(&c->a, in->n_attachments * sizeof(uint32_t));
		if (tm->attachment_sizes == NULL) {
			return ITK_E_NOMEM;
		}
	}
	for (size_t i = 0; i < in->n_attachments; i++) {
		const Intake__V1__Attachment *src = in->attachments[i];
		Intake__V1__Attachment *at = arena_alloc(&c->a, sizeof(*at));
		if (at == NULL) {
			return ITK_E_NOMEM;
		}
		intake__v1__attachment__init(at);
		at->media_type =
		    arena_str(&c->a, src->media_type, strlen(src->media_type));
		at->name = arena_str(&c->a, src->name, strlen(src->name));
		if (at->media_type == NULL || at->name == NULL ||
		    (r = ARENA_PUSH(&c->a, tm->attachments, tm->n_attachments,
				    at)) != ITK_OK) {
			return ITK_E_NOMEM;
		}
		tm->attachment_sizes[tm->n_attachment_sizes++] =
		    (uint32_t)src->data.len;
	}
	return ITK_OK;
}

static itk_err
push_message(const vault_message_view *m, void *arg)
{
	req_ctx *c = arg;
	Intake__V1__ThreadMessage *tm = arena_alloc(&c->a, sizeof(*tm));
	itk_pb_inner *in = NULL;
	itk_buf *plain = NULL;
	uint8_t *id;
	itk_err r;

	if (tm == NULL || (id = arena_alloc(&c->a, VAULT_ID_LEN)) == NULL) {
		return ITK_E_NOMEM;
	}
	intake__v1__thread_message__init(tm);
	memcpy(id, m->submission_id, VAULT_ID_LEN);
	tm->submission_id.data = id;
	tm->submission_id.len = VAULT_ID_LEN;
	tm->accepted_at = m->accepted_at;
	tm->channel = (Intake__V1__Channel)m->channel;
	tm->queue = (char *)itk_queue_name(m->queue);
	tm->urgency = (char *)itk_urgency_name(m->urgency);
	tm->language = (char *)itk_lang_name(m->language);
	if ((plain = itk_buf_new(ITK_INNER_MAX + 1024)) == NULL) {
		return ITK_E_NOMEM;
	}
	/* A message whose key is gone is shown as such, not as an error:
	 * the rest of the thread still matters.  Its copy under the queue
	 * key first (the request's keys), then the intake key, if this
	 * service holds one. */
	r = vault_ops_copy_open(c->s->o.v, m->submission_id, c->qk, c->nqk,
				plain, NULL, NULL);
	if (r == ITK_E_NOMEM) {
		goto out;
	}
	if (r != ITK_OK) {
		itk_buf_reset(plain);
		r = c->s->o.ring != NULL
			? wk_keyring_open(c->s->o.ring, m->intake_key_id,
					  m->sealed, m->sealed_len, plain)
			: ITK_E_KEY_UNKNOWN;
	}
	if (r == ITK_OK &&
	    itk_wire_inner_decode(itk_buf_ptr(plain), itk_buf_len(plain),
				  &in) == ITK_OK) {
		if ((r = fill_thread(c, tm, in)) != ITK_OK) {
			goto out;
		}
	}
	r = ARENA_PUSH(&c->a, c->resp.messages, c->resp.n_messages, tm);
out:
	itk_wire_free(in);   /* protobuf-c frees without wiping: see docs */
	itk_buf_free(plain); /* wipes */
	return r;
}

/* ---------------------------------------------------------- commands */

static itk_err
post_queues(req_ctx *c)
{
	vault_queue_summary qs[ITK_QUEUE_COUNT];
	itk_err r;

	if ((r = vault_ops_queue_summary(c->s->o.v, c->now, qs)) != ITK_OK) {
		return r;
	}
	for (unsigned q = 0; q < ITK_QUEUE_COUNT; q++) {
		Intake__V1__QueueSummary *s;
		uint32_t *u;
		if ((c->op->queues & (1u << q)) == 0) {
			continue; /* not this operator's business */
		}
		s = arena_alloc(&c->a, sizeof(*s));
		u = arena_alloc(&c->a, ITK_URGENCY_COUNT * sizeof(*u));
		if (s == NULL || u == NULL) {
			return ITK_E_NOMEM;
		}
		intake__v1__queue_summary__init(s);
		s->queue = (char *)itk_queue_name((itk_queue)q);
		memcpy(u, qs[q].by_urgency, ITK_URGENCY_COUNT * sizeof(*u));
		s->by_urgency = u;
		s->n_by_urgency = ITK_URGENCY_COUNT;
		s->oldest = qs[q].oldest;
		s->claimed = qs[q].claimed;
		s->free = qs[q].free;
		if ((r = ARENA_PUSH(&c->a, c->resp.queues, c->resp.n_queues,
				    s)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

static itk_err
txn_next(req_ctx *c)
{
	vault_case_view cv;
	itk_err r;

	r = vault_op_claim(c->o, c->queue, &c->who, c->now,
			   c->now + c->s->o.lease_seconds, &cv);
	if (r == ITK_E_NOT_FOUND) {
		c->refusal = "no free case in this queue";
		return r;
	}
	if (r != ITK_OK) {
		return r;
	}
	/* The claimed case is the one the action is about. */
	memcpy(c->case_id, cv.case_id, VAULT_ID_LEN);
	c->has_case = true;
	snprintf(c->detail, sizeof(c->detail), "%s", itk_queue_name(c->queue));
	return ITK_OK;
}

static itk_err
post_case(req_ctx *c)
{
	vault_case_view cv;
	itk_err r;

	if ((r = vault_get_case(c->s->o.v, c->case_id, &cv)) != ITK_OK) {
		return r;
	}
	return push_case(c, &cv);
}

static itk_err
txn_release(req_ctx *c)
{
	vault_lease l;
	itk_err r;

	r = vault_op_lease_get(c->o, c->case_id, c->now, &l);
	if (r == ITK_E_NOT_FOUND) {
		c->refusal = "the case is not claimed";
		return r;
	}
	if (r != ITK_OK) {
		return r;
	}
	if (l.key_id != c->op->key_id && c->op->role != ITK_ROLE_SUPERVISOR) {
		c->refusal = "the case is claimed by another operator";
		return ITK_E_LEASE;
	}
	snprintf(c->detail, sizeof(c->detail), "holder=%s", l.holder);
	return vault_op_release(c->o, c->case_id);
}

static itk_err
post_show(req_ctx *c)
{
	const uint8_t *id = c->case_id;
	itk_err r;

	uint8_t *dek = NULL;
	bool have_dek = false;

	if ((r = post_case(c)) != ITK_OK ||
	    (r = vault_ops_case_messages(c->s->o.v, id, push_message, c)) !=
		ITK_OK) {
		return r;
	}
	/* Notes under the case's data key open with the request's queue
	 * keys; without them they are listed as sealed. */
	if (c->nqk > 0) {
		if ((dek = sodium_malloc(VAULT_MK_LEN)) == NULL) {
			return ITK_E_NOMEM;
		}
		have_dek = vault_ops_case_key(c->s->o.v, id, c->qk, c->nqk,
					      dek) == ITK_OK;
	}
	r = vault_ops_notes_dek(c->s->o.v, id, have_dek ? dek : NULL,
				push_note, c);
	if (dek != NULL) {
		sodium_free(dek); /* wipes */
	}
	if (r != ITK_OK) {
		return r;
	}
	return vault_ops_history(c->s->o.v, id, push_action, c);
}

/*
 * Stores the request's text as a note of the case.  With queue keys, under
 * the case's data key (drawn at the first note and sealed to the case's
 * queue key): always when this service holds no intake key, else when
 * the request carries queue keys.  Under the vault key otherwise, or when
 * the case's queue has no key yet.
 */
static itk_err
note_put(req_ctx *c, vault_note_kind kind)
{
	uint8_t *dek = NULL;
	itk_err r;

	if (!c->s->qkeys || (c->s->o.ring != NULL && c->nqk == 0)) {
		return vault_op_note(c->o, c->case_id, c->now, &c->who, kind,
				     c->rq->text);
	}
	if ((dek = sodium_malloc(VAULT_MK_LEN)) == NULL) {
		return ITK_E_NOMEM;
	}
	r = vault_op_case_key(c->o, c->case_id, c->qk, c->nqk, true, dek);
	if (r == ITK_E_NOT_FOUND) {
		/* No key for the case's queue: as before queue keys. */
		r = vault_op_note(c->o, c->case_id, c->now, &c->who, kind,
				  c->rq->text);
	} else if (r == ITK_OK) {
		r = vault_op_note_dek(c->o, c->case_id, c->now, &c->who, kind,
				      c->rq->text, dek);
	} else if (r == ITK_E_KEY_UNKNOWN || r == ITK_E_DECRYPT) {
		c->refusal =
		    "the case's key is not among this request's queue "
		    "keys";
	}
	sodium_free(dek); /* wipes */
	return r;
}

/* Seals the reply before the transaction: sealing needs the contact
 * data, which is read in its own snapshot. */
static itk_err
pre_reply(req_ctx *c)
{
	uint8_t pk[32], mbx[32];
	itk_err r;

	if (c->rq->text[0] == '\0') {
		c->refusal = "empty reply";
		return ITK_E_MISSING;
	}
	r = vault_case_contact(c->s->o.v, c->case_id, pk, mbx);
	if (r == ITK_E_NOT_FOUND) {
		c->refusal = "the case has no reply channel (phone case?)";
	}
	if (r == ITK_OK) {
		/* Rounded like the gateway's times: the minute is enough. */
		r = wk_reply_seal(pk, mbx, c->rq->text, c->case_id,
				  c->now - c->now % 60, &c->reply);
		c->have_reply = r == ITK_OK;
	}
	sodium_memzero(pk, sizeof(pk));
	sodium_memzero(mbx, sizeof(mbx));
	return r;
}

static itk_err
txn_reply(req_ctx *c)
{
	char hex[2 * VAULT_ID_LEN + 1];
	itk_err r;

	if ((r = vault_op_outbox_put(
		 c->o, c->case_id, c->reply.reply_id, c->reply.posted_at,
		 itk_buf_ptr(c->reply.sealed),
		 itk_buf_len(c->reply.sealed))) != ITK_OK ||
	    (r = note_put(c, VAULT_NOTE_REPLY)) != ITK_OK) {
		return r;
	}
	itk_hex(hex, c->reply.reply_id, VAULT_ID_LEN);
	snprintf(c->detail, sizeof(c->detail), "reply=%.16s", hex);
	c->resp.info = arena_str(&c->a, hex, strlen(hex));
	return c->resp.info != NULL ? ITK_OK : ITK_E_NOMEM;
}

static itk_err
txn_note(req_ctx *c)
{
	if (c->rq->text[0] == '\0') {
		c->refusal = "empty note";
		return ITK_E_MISSING;
	}
	return note_put(c, VAULT_NOTE_INTERNAL);
}

static itk_err
txn_tag(req_ctx *c)
{
	if (!vault_tag_ok(c->rq->tag)) {
		c->refusal = "a tag is 1..32 of a-z 0-9 _ -";
		return ITK_E_FORMAT;
	}
	snprintf(c->detail, sizeof(c->detail), "%s%s",
		 c->rq->remove ? "-" : "+", c->rq->tag);
	return vault_op_tag(c->o, c->case_id, c->rq->tag, !c->rq->remove);
}

static itk_err
txn_move(req_ctx *c)
{
	vault_case_view cv;
	itk_err r;

	if ((r = vault_op_get_case(c->o, c->case_id, &cv)) != ITK_OK) {
		return r;
	}
	if (!cv.open) {
		c->refusal = "the case is closed";
		return ITK_E_RANGE;
	}
	if ((r = vault_op_move(c->o, c->case_id, c->queue)) != ITK_OK) {
		return r;
	}
	/* The case's keys follow it: every wrap the request's keys open is
	 * sealed again to the new queue's key (docs/vault.md). */
	if (c->s->qkeys) {
		size_t moved = 0, left = 0;
		if ((r = vault_op_rewrap_case(c->o, c->case_id, c->queue,
					      c->qk, c->nqk, &moved, &left)) !=
		    ITK_OK) {
			return r;
		}
		snprintf(c->detail, sizeof(c->detail),
			 "%s->%s rewrapped=%zu left=%zu",
			 itk_queue_name(cv.queue), itk_queue_name(c->queue),
			 moved, left);
		return ITK_OK;
	}
	snprintf(c->detail, sizeof(c->detail), "%s->%s",
		 itk_queue_name(cv.queue), itk_queue_name(c->queue));
	return ITK_OK;
}

static itk_err
txn_escalate(req_ctx *c)
{
	vault_case_view cv;
	itk_err r;

	if ((r = vault_op_get_case(c->o, c->case_id, &cv)) != ITK_OK) {
		return r;
	}
	if (!cv.open) {
		c->refusal = "the case is closed";
		return ITK_E_RANGE;
	}
	snprintf(c->detail, sizeof(c->detail), "%s->critical",
		 itk_urgency_name(cv.urgency));
	return vault_op_set_urgency(c->o, c->case_id, ITK_URGENCY_CRITICAL);
}

static itk_err
txn_close(req_ctx *c)
{
	size_t n = strlen(c->rq->text);

	/* The reason is stored in the clear in the actions log: a short
	 * code ("surrendered", "duplicate"), never case content. */
	if (n == 0 || n > 64) {
		c->refusal = "close needs a short reason (1..64 bytes)";
		return ITK_E_RANGE;
	}
	snprintf(c->detail, sizeof(c->detail), "%s", c->rq->text);
	return vault_op_close(c->o, c->case_id);
}

static itk_err
post_history(req_ctx *c)
{
	return vault_ops_history(c->s->o.v, c->case_id, push_action, c);
}

static itk_err
push_found(const vault_case_view *cv, void *arg)
{
	return push_case(arg, cv);
}

static itk_err
post_search(req_ctx *c)
{
	vault_search s;
	int q = -1;

	memset(&s, 0, sizeof(s));
	if (c->rq->queue[0] != '\0' &&
	    (q = itk_queue_from_name(c->rq->queue)) < 0) {
		c->refusal = "unknown queue";
		return ITK_E_RANGE;
	}
	s.queue = q;
	s.queues = c->op->queues; /* only the operator's queues */
	if (strcmp(c->rq->state, "open") == 0) {
		s.state = 1;
	} else if (strcmp(c->rq->state, "closed") == 0) {
		s.state = 0;
	} else if (c->rq->state[0] == '\0') {
		s.state = -1;
	} else {
		c->refusal = "state is open or closed";
		return ITK_E_RANGE;
	}
	s.tag = c->rq->tag[0] != '\0' ? c->rq->tag : NULL;
	s.since = c->rq->since;
	s.until = c->rq->until;
	s.limit = c->rq->limit == 0                 ? 100
		  : c->rq->limit > SEARCH_LIMIT_MAX ? SEARCH_LIMIT_MAX
						    : c->rq->limit;
	return vault_ops_search(c->s->o.v, &s, push_found, c);
}

/* The intake key phone intake seals to: the keyring's current key, or
 * without one the bundle's (public keys only). */
static itk_err
phone_intake_key(req_ctx *c, uint32_t *kid, uint8_t pk[ITK_PK_LEN])
{
	const Intake__V1__IntakeKey *k;

	if (c->s->o.ring != NULL) {
		return wk_keyring_current(c->s->o.ring, c->now, kid, pk);
	}
	if (c->s->bundle == NULL ||
	    (k = itk_bundle_current_intake_key(c->s->bundle, c->now)) ==
		NULL ||
	    k->public_key.len != ITK_PK_LEN) {
		return ITK_E_KEY_EXPIRED;
	}
	*kid = k->key_id;
	memcpy(pk, k->public_key.data, ITK_PK_LEN);
	return ITK_OK;
}

/*
 * A case taken by phone: an InnerMessage (channel PHONE) sealed to the
 * current intake key, triaged like any other, committed through
 * vault_commit.  The vault holds only ciphertext, as for web cases; with
 * queue keys it also holds the copy under the case's queue key.
 */
static itk_err
pre_phone(req_ctx *c)
{
	itk_pb_inner in = INTAKE__V1__INNER_MESSAGE__INIT;
	uint8_t pk[ITK_PK_LEN];
	itk_buf *plain = NULL, *text = NULL;
	triage_result t;
	uint32_t kid;
	itk_err r;

	if (c->rq->text[0] == '\0') {
		c->refusal = "phone-intake needs the caller's message";
		return ITK_E_MISSING;
	}
	if ((r = phone_intake_key(c, &kid, pk)) != ITK_OK) {
		c->refusal = "no current intake key";
		return ITK_E_KEY_EXPIRED;
	}
	in.version = ITK_WIRE_VERSION;
	in.channel = INTAKE__V1__CHANNEL__CHANNEL_PHONE;
	in.form_category = c->rq->form_category;
	in.language = c->rq->language;
	in.text = c->rq->text;
	in.n_fields = c->rq->n_fields;
	in.fields = c->rq->fields;
	in.written_at = c->now;
	if ((plain = itk_buf_new(PHONE_PLAIN_MAX)) == NULL ||
	    (text = itk_buf_new(PHONE_PLAIN_MAX)) == NULL ||
	    (c->sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD)) ==
		NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_wire_pack(&in.base, plain)) != ITK_OK ||
	    (r = itk_seal(pk, itk_buf_ptr(plain), itk_buf_len(plain),
			  c->sealed)) != ITK_OK ||
	    (r = wk_triage_text(&in, text)) != ITK_OK ||
	    (r = triage_classify(c->s->o.rules,
				 (const char *)itk_buf_ptr(text),
				 itk_buf_len(text), NULL, &t)) != ITK_OK) {
		goto out;
	}
	memset(&c->msg, 0, sizeof(c->msg));
	itk_sha256(c->msg.submission_id, itk_buf_ptr(c->sealed),
		   itk_buf_len(c->sealed));
	c->msg.intake_key_id = kid;
	c->msg.accepted_at = c->now - c->now % 60;
	c->msg.sealed = itk_buf_ptr(c->sealed);
	c->msg.sealed_len = itk_buf_len(c->sealed);
	c->msg.queue = t.queue;
	c->msg.urgency = t.urgency;
	/* The operator knows the caller's language better than the rules. */
	{
		int l = itk_lang_from_name(c->rq->language);
		c->msg.language = l >= 0 ? (itk_lang)l : t.language;
	}
	c->msg.channel = INTAKE__V1__CHANNEL__CHANNEL_PHONE;
	/* The copy under the queue key, written directly: the service has
	 * the plaintext in hand (vault_commit wraps its key). */
	if (c->s->qkeys) {
		if ((c->copy_mk = sodium_malloc(VAULT_MK_LEN)) == NULL ||
		    (c->copy_ct = itk_buf_new(ITK_PAD_MAX + VAULT_COPY_TAG)) ==
			NULL ||
		    (r = vault_copy_seal(
			 c->msg.submission_id, itk_buf_ptr(plain),
			 itk_buf_len(plain), c->copy_mk, c->copy_nonce,
			 c->copy_ct)) != ITK_OK) {
			r = r == ITK_OK ? ITK_E_NOMEM : r;
			goto out;
		}
		c->msg.copy_key = c->copy_mk;
		c->msg.copy_nonce = c->copy_nonce;
		c->msg.copy_ct = itk_buf_ptr(c->copy_ct);
		c->msg.copy_ct_len = itk_buf_len(c->copy_ct);
	}
	/* The new case's id is its first submission id. */
	memcpy(c->case_id, c->msg.submission_id, VAULT_ID_LEN);
	c->has_case = true;
	snprintf(c->detail, sizeof(c->detail), "%s/%s",
		 itk_queue_name(t.queue), itk_urgency_name(t.urgency));
	r = ITK_OK;
out:
	itk_buf_free(text);  /* wipes */
	itk_buf_free(plain); /* wipes */
	return r;
}

/* The case is committed in the request's own transaction: the case and
 * the phone-intake action are stored together or not at all. */
static itk_err
txn_phone(req_ctx *c)
{
	vault_result res;

	return vault_op_commit_message(c->o, &c->msg, &res);
}

/* ------------------------------------------------- two-person rule */

static const itk_key_info *find_operator(const opd *s, const char *name);

static bool
is_two_person(Intake__V1__OperatorCommand cmd)
{
	return cmd == INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT ||
	       cmd == INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE ||
	       cmd == INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE;
}

/* The case exists and op may work its queue (inside the transaction). */
static itk_err
check_access(req_ctx *c, const itk_key_info *op, const uint8_t *case_id,
	     vault_case_view *out)
{
	itk_err r;

	if ((r = vault_op_get_case(c->o, case_id, out)) != ITK_OK) {
		if (r == ITK_E_NOT_FOUND) {
			c->refusal = "no such case";
		}
		return r;
	}
	if ((op->queues & (1u << out->queue)) == 0) {
		c->refusal = "a case is in a queue the operator may not work";
		return ITK_E_PERM;
	}
	return ITK_OK;
}

/* The cases a two-person request is about: its case ids, or its one case
 * (export).  *n = 0 if none. */
static void
request_cases(const itk_pb_op_request_body *rq, const uint8_t **ids,
	      size_t max, size_t *n)
{
	*n = 0;
	if (rq->command == INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT) {
		if (rq->case_id.len == VAULT_ID_LEN && max > 0) {
			ids[(*n)++] = rq->case_id.data;
		}
		return;
	}
	for (size_t i = 0; i < rq->n_case_ids && *n < max; i++) {
		ids[(*n)++] = rq->case_ids[i].data;
	}
}

/* What a pending approval is about, for people: never content. */
static void
request_detail(const itk_pb_op_request_body *rq, char *out, size_t len)
{
	switch (rq->command) {
	case INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT:
		snprintf(out, len, "export to %s", rq->recipient);
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE:
		snprintf(out, len, "close (%s)", rq->text);
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE:
		snprintf(out, len, "move to %s", rq->queue);
		break;
	default:
		snprintf(out, len, "?");
		break;
	}
}

static Intake__V1__Approval *
approval_summary(req_ctx *c, const vault_approval *a,
		 const itk_pb_op_request_body *rq)
{
	Intake__V1__Approval *m = arena_alloc(&c->a, sizeof(*m));
	const uint8_t *ids[ITK_OP_BULK_MAX];
	char detail[VAULT_DETAIL_MAX + 1];
	uint8_t *id;
	size_t n;

	if (m == NULL ||
	    (id = arena_alloc(&c->a, VAULT_APPROVAL_ID_LEN)) == NULL) {
		return NULL;
	}
	intake__v1__approval__init(m);
	memcpy(id, a->id, VAULT_APPROVAL_ID_LEN);
	m->approval_id.data = id;
	m->approval_id.len = VAULT_APPROVAL_ID_LEN;
	m->requested_by = arena_str(&c->a, a->requester, strlen(a->requester));
	m->command = rq->command;
	m->requested_at = a->requested_at;
	m->expires = a->expires;
	request_detail(rq, detail, sizeof(detail));
	m->detail = arena_str(&c->a, detail, strlen(detail));
	request_cases(rq, ids, ITK_OP_BULK_MAX, &n);
	if (m->requested_by == NULL || m->detail == NULL ||
	    (n > 0 && (m->case_ids = arena_alloc(
			   &c->a, n * sizeof(*m->case_ids))) == NULL)) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *cid = arena_alloc(&c->a, VAULT_ID_LEN);
		if (cid == NULL) {
			return NULL;
		}
		memcpy(cid, ids[i], VAULT_ID_LEN);
		m->case_ids[i].data = cid;
		m->case_ids[i].len = VAULT_ID_LEN;
	}
	m->n_case_ids = n;
	return m;
}

/*
 * A supervisor's export or bulk action: checked now as if it ran (every
 * case exists and is in the requester's queues; the arguments are sane),
 * then stored with the request's own signed bytes until a second
 * supervisor approves it or it expires.
 */
static itk_err
txn_request(req_ctx *c)
{
	const itk_pb_op_request_body *rq = c->rq;
	const uint8_t *ids[ITK_OP_BULK_MAX];
	char hex[2 * VAULT_APPROVAL_ID_LEN + 1], what[VAULT_DETAIL_MAX + 1];
	vault_approval a;
	vault_case_view cv;
	Intake__V1__Approval *m;
	size_t n;
	itk_err r;

	switch (rq->command) {
	case INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT:
		if (rq->recipient_pk.len != ITK_PK_LEN ||
		    sodium_is_zero(rq->recipient_pk.data, ITK_PK_LEN) ||
		    !itk_key_name_ok(rq->recipient)) {
			c->refusal =
			    "export needs the recipient's key and name";
			return ITK_E_MISSING;
		}
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE:
		if (rq->text[0] == '\0' || strlen(rq->text) > 64) {
			c->refusal =
			    "close needs a short reason (1..64 bytes)";
			return ITK_E_RANGE;
		}
		/* fall through */
	case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE:
		if (rq->n_case_ids == 0) {
			c->refusal = "a bulk action needs case ids";
			return ITK_E_MISSING;
		}
		break;
	default:
		return ITK_E_INTERNAL;
	}
	request_cases(rq, ids, ITK_OP_BULK_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		if ((r = check_access(c, c->op, ids[i], &cv)) != ITK_OK) {
			return r;
		}
	}
	memset(&a, 0, sizeof(a));
	randombytes_buf(a.id, sizeof(a.id));
	a.requested_at = c->now;
	a.expires = c->now + c->s->o.approval_seconds;
	a.key_id = c->op->key_id;
	snprintf(a.requester, sizeof(a.requester), "%s", c->op->name);
	a.request = c->raw;
	a.request_len = c->raw_len;
	if ((r = vault_op_approval_put(c->o, &a, c->now)) != ITK_OK) {
		return r;
	}
	itk_hex(hex, a.id, sizeof(a.id));
	request_detail(rq, what, sizeof(what));
	snprintf(c->detail, sizeof(c->detail), "%.80s approval=%.8s", what,
		 hex);
	/* A bulk request is recorded on each case; export's one case is
	 * recorded by run(). */
	for (size_t i = 0; rq->n_case_ids > 0 && i < n; i++) {
		if ((r = vault_op_record(c->o, ids[i], c->now, &c->who,
					 VAULT_ACT_APPROVAL_REQUEST,
					 c->detail)) != ITK_OK) {
			return r;
		}
	}
	if ((m = approval_summary(c, &a, rq)) == NULL ||
	    (c->resp.info = arena_str(&c->a, hex, strlen(hex))) == NULL) {
		return ITK_E_NOMEM;
	}
	return ARENA_PUSH(&c->a, c->resp.approvals, c->resp.n_approvals, m);
}

static itk_err
push_approval(const vault_approval *a, void *arg)
{
	req_ctx *c = arg;
	itk_pb_op_request *env = NULL;
	itk_pb_op_request_body *rq = NULL;
	Intake__V1__Approval *m;
	itk_err r;

	if ((r = itk_wire_op_request_decode(a->request, a->request_len,
					    &env)) != ITK_OK ||
	    (r = itk_wire_op_request_body_decode(env->body.data, env->body.len,
						 &rq)) != ITK_OK) {
		r = ITK_E_FORMAT; /* we stored it: not the caller's fault */
		goto out;
	}
	if ((m = approval_summary(c, a, rq)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	r = ARENA_PUSH(&c->a, c->resp.approvals, c->resp.n_approvals, m);
out:
	itk_wire_free(rq);
	itk_wire_free(env);
	return r;
}

static itk_err
post_pending(req_ctx *c)
{
	return vault_ops_approvals(c->s->o.v, c->now, push_approval, c);
}

/*
 * The export itself, built before the approval's transaction (reads in
 * their own snapshots): the thread, notes and history as show gives them,
 * packed as a CaseExportBody and sealed to the recipient's X25519 key.
 * The plaintext lives only in the arena (wiped) and a wiped buffer.
 */
static itk_err
build_export(req_ctx *c)
{
	const itk_pb_op_request_body *rq = c->appr_rq;
	itk_pb_op_response_body saved = c->resp;
	Intake__V1__CaseExportBody eb = INTAKE__V1__CASE_EXPORT_BODY__INIT;
	Intake__V1__CaseExportHeader *h;
	itk_buf *plain = NULL;
	uint8_t *id;
	itk_err r;

	memcpy(c->case_id, rq->case_id.data, VAULT_ID_LEN);
	intake__v1__operator_response_body__init(&c->resp);
	r = post_show(c);
	eb.version = ITK_WIRE_VERSION;
	eb.case_id.data = c->case_id;
	eb.case_id.len = VAULT_ID_LEN;
	eb.exported_at = c->now;
	eb.summary = c->resp.n_cases > 0 ? c->resp.cases[0] : NULL;
	eb.n_messages = c->resp.n_messages;
	eb.messages = c->resp.messages;
	eb.n_notes = c->resp.n_notes;
	eb.notes = c->resp.notes;
	eb.n_history = c->resp.n_history;
	eb.history = c->resp.history;
	c->resp = saved;
	if (r != ITK_OK) {
		return r;
	}
	if (eb.summary == NULL) {
		return ITK_E_INTERNAL;
	}
	if ((plain = itk_buf_new(ITK_EXPORT_PLAIN_MAX)) == NULL ||
	    (c->exp_sealed = itk_buf_new(ITK_EXPORT_PLAIN_MAX +
					 ITK_SEAL_OVERHEAD)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if (itk_wire_pack(&eb.base, plain) != ITK_OK) {
		c->refusal = "the case is too large for one export file";
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if ((r = itk_seal(rq->recipient_pk.data, itk_buf_ptr(plain),
			  itk_buf_len(plain), c->exp_sealed)) != ITK_OK) {
		if (r == ITK_E_TOO_BIG) {
			c->refusal =
			    "the case is too large for one export file";
		}
		goto out;
	}
	if ((h = arena_alloc(&c->a, sizeof(*h))) == NULL ||
	    (id = arena_alloc(&c->a, VAULT_ID_LEN)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	intake__v1__case_export_header__init(h);
	memcpy(id, c->case_id, VAULT_ID_LEN);
	h->version = ITK_WIRE_VERSION;
	h->case_id.data = id;
	h->case_id.len = VAULT_ID_LEN;
	h->exported_at = c->now;
	h->requested_by = (char *)c->requester->name;
	h->approved_by = (char *)c->op->name;
	h->recipient = rq->recipient;
	h->recipient_pk = rq->recipient_pk;
	h->sealed.data = itk_buf_mutable_ptr(c->exp_sealed);
	h->sealed.len = itk_buf_len(c->exp_sealed);
	c->exp_hdr = h;
	r = ITK_OK;
out:
	itk_buf_free(plain); /* wipes */
	return r;
}

/*
 * Approve: the stored request must exist and be live, its signature must
 * still verify under its requester's current key, the requester must
 * still be a supervisor, and the approver must be another supervisor.
 */
static itk_err
pre_approve(req_ctx *c)
{
	const itk_pb_op_request_body *rq;
	itk_err r;

	if (c->rq->approval_id.len != VAULT_APPROVAL_ID_LEN) {
		c->refusal = "approve needs an approval id";
		return ITK_E_MISSING;
	}
	if ((c->appr_req = itk_buf_new(VAULT_APPROVAL_REQ_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	r = vault_ops_approval_get(c->s->o.v, c->rq->approval_id.data,
				   &c->appr, c->appr_req);
	if (r == ITK_E_NOT_FOUND) {
		c->refusal = "no such approval (used, or never made)";
	}
	if (r != ITK_OK) {
		return r;
	}
	if (c->appr.expires <= c->now) {
		c->refusal = "the approval expired: request it again";
		return ITK_E_KEY_EXPIRED;
	}
	if (itk_wire_op_request_decode(c->appr.request, c->appr.request_len,
				       &c->appr_env) != ITK_OK ||
	    itk_wire_op_request_body_decode(c->appr_env->body.data,
					    c->appr_env->body.len,
					    &c->appr_rq) != ITK_OK ||
	    !is_two_person(c->appr_rq->command)) {
		return ITK_E_FORMAT;
	}
	rq = c->appr_rq;
	if ((c->requester = find_operator(c->s, rq->operator_)) == NULL ||
	    c->requester->key_id != rq->key_id ||
	    c->requester->key_id != c->appr.key_id ||
	    itk_verify(ITK_SIG_OPERATOR, c->requester->public_key,
		       c->appr_env->body.data, c->appr_env->body.len,
		       c->appr_env->signature.data) != ITK_OK) {
		c->refusal = "the requester's key is no longer known";
		return ITK_E_KEY_UNKNOWN;
	}
	if (c->requester->role != ITK_ROLE_SUPERVISOR) {
		c->refusal = "the requester is no longer a supervisor";
		return ITK_E_PERM;
	}
	if (c->requester->key_id == c->op->key_id ||
	    strcmp(c->requester->name, c->op->name) == 0) {
		c->refusal = "a second supervisor must approve (two-person "
			     "rule)";
		return ITK_E_PERM;
	}
	if (rq->command == INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT) {
		vault_case_view cv;
		if ((r = vault_get_case(c->s->o.v, rq->case_id.data, &cv)) !=
		    ITK_OK) {
			c->refusal = "no such case";
			return r;
		}
		if ((c->op->queues & (1u << cv.queue)) == 0 ||
		    (c->requester->queues & (1u << cv.queue)) == 0) {
			c->refusal =
			    "a case is in a queue the operator may not work";
			return ITK_E_PERM;
		}
		return build_export(c);
	}
	return ITK_OK;
}

/* Runs the approved request in the approver's transaction: the approval
 * is taken (deleted) first, so two approvals of it never both run. */
static itk_err
txn_approve(req_ctx *c)
{
	const itk_pb_op_request_body *rq = c->appr_rq;
	const uint8_t *ids[ITK_OP_BULK_MAX];
	char hex[2 * VAULT_APPROVAL_ID_LEN + 1], what[VAULT_DETAIL_MAX + 1];
	char done[VAULT_DETAIL_MAX + 1];
	vault_actor req_who = {c->requester->key_id, c->requester->name};
	vault_approval taken;
	itk_buf *scratch = itk_buf_new(VAULT_APPROVAL_REQ_MAX);
	vault_case_view cv;
	size_t n;
	itk_err r;

	if (scratch == NULL) {
		return ITK_E_NOMEM;
	}
	r = vault_op_approval_take(c->o, c->appr.id, &taken, scratch);
	if (r == ITK_E_NOT_FOUND) {
		c->refusal = "no such approval (used, or never made)";
	}
	if (r != ITK_OK) {
		goto out;
	}
	if (taken.request_len != c->appr.request_len ||
	    memcmp(taken.request, c->appr.request, taken.request_len) != 0) {
		r = ITK_E_INTERNAL; /* ids are random: never another's */
		goto out;
	}
	itk_hex(hex, c->appr.id, VAULT_APPROVAL_ID_LEN);
	request_detail(rq, what, sizeof(what));
	request_cases(rq, ids, ITK_OP_BULK_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		vault_action act;
		/* Both supervisors must be allowed the case now. */
		if ((r = check_access(c, c->requester, ids[i], &cv)) !=
			ITK_OK ||
		    (r = check_access(c, c->op, ids[i], &cv)) != ITK_OK) {
			goto out;
		}
		switch (rq->command) {
		case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE:
			act = VAULT_ACT_CLOSE;
			snprintf(done, sizeof(done), "%.64s approved-by=%.40s",
				 rq->text, c->op->name);
			r = vault_op_close(c->o, ids[i]);
			break;
		case INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE: {
			int q = itk_queue_from_name(rq->queue);
			act = VAULT_ACT_MOVE;
			if (q < 0 || (c->op->queues & (1u << q)) == 0 ||
			    (c->requester->queues & (1u << q)) == 0) {
				c->refusal = "the operator may not work this "
					     "queue";
				r = ITK_E_PERM;
				goto out;
			}
			snprintf(
			    done, sizeof(done), "%s->%s approved-by=%.40s",
			    itk_queue_name(cv.queue), rq->queue, c->op->name);
			r = cv.open ? vault_op_move(c->o, ids[i], (itk_queue)q)
				    : ITK_OK; /* a closed case stays closed */
			/* The keys follow, to the newest version of the
			 * queue the case is now in, with the approver's
			 * queue keys: after a rotation, a bulk move within
			 * the queue re-wraps it (docs/operations.md). */
			if (r == ITK_OK && c->s->qkeys) {
				size_t mv = 0, lf = 0;
				r = vault_op_rewrap_case(
				    c->o, ids[i],
				    cv.open ? (itk_queue)q : cv.queue, c->qk,
				    c->nqk, &mv, &lf);
				snprintf(done, sizeof(done),
					 "%s->%s rewrapped=%zu left=%zu "
					 "approved-by=%.40s",
					 itk_queue_name(cv.queue), rq->queue,
					 mv, lf, c->op->name);
			}
			break;
		}
		case INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT:
			act = VAULT_ACT_EXPORT;
			snprintf(done, sizeof(done),
				 "to %.40s approved-by=%.40s", rq->recipient,
				 c->op->name);
			r = ITK_OK;
			break;
		default:
			r = ITK_E_INTERNAL;
			break;
		}
		if (r != ITK_OK ||
		    (r = vault_op_record(c->o, ids[i], c->now, &req_who, act,
					 done)) != ITK_OK) {
			goto out;
		}
		snprintf(done, sizeof(done), "%.80s approval=%.8s", what, hex);
		if ((r = vault_op_record(c->o, ids[i], c->now, &c->who,
					 VAULT_ACT_APPROVE, done)) != ITK_OK) {
			goto out;
		}
	}
	/* run() records the approval once more, on no case: the log of
	 * approvals given. */
	c->has_case = false;
	snprintf(c->detail, sizeof(c->detail), "%.80s approval=%.8s n=%zu",
		 what, hex, n);
	r = ITK_OK;
out:
	itk_buf_free(scratch);
	return r;
}

static itk_err
post_approve(req_ctx *c)
{
	const uint8_t *ids[ITK_OP_BULK_MAX];
	vault_case_view cv;
	size_t n;
	itk_err r;

	request_cases(c->appr_rq, ids, ITK_OP_BULK_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		if ((r = vault_get_case(c->s->o.v, ids[i], &cv)) != ITK_OK ||
		    (r = push_case(c, &cv)) != ITK_OK) {
			return r;
		}
	}
	c->resp.export = c->exp_hdr;
	return ITK_OK;
}

static const command commands[] = {
    {INTAKE__V1__OPERATOR_COMMAND__OP_QUEUES, R_ANY, 0, VAULT_ACT_QUEUES, NULL,
     NULL, post_queues},
    {INTAKE__V1__OPERATOR_COMMAND__OP_NEXT, R_TS, F_QUEUE, VAULT_ACT_NEXT,
     NULL, txn_next, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_RELEASE, R_TS, F_CASE, VAULT_ACT_RELEASE,
     NULL, txn_release, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_SHOW, R_TS, F_CASE, VAULT_ACT_SHOW, NULL,
     NULL, post_show},
    {INTAKE__V1__OPERATOR_COMMAND__OP_REPLY, R_TS, F_CASE | F_MUTATES,
     VAULT_ACT_REPLY, pre_reply, txn_reply, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_NOTE, R_TS, F_CASE | F_MUTATES,
     VAULT_ACT_NOTE, NULL, txn_note, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_TAG, R_TS, F_CASE | F_MUTATES,
     VAULT_ACT_TAG, NULL, txn_tag, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_MOVE, R_TS, F_CASE | F_QUEUE | F_MUTATES,
     VAULT_ACT_MOVE, NULL, txn_move, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_ESCALATE, R_TS, F_CASE | F_MUTATES,
     VAULT_ACT_ESCALATE, NULL, txn_escalate, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_CLOSE, R_TS, F_CASE | F_MUTATES,
     VAULT_ACT_CLOSE, NULL, txn_close, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_HISTORY, R_TS | ROLE(ITK_ROLE_ADMIN),
     F_CASE, VAULT_ACT_HISTORY, NULL, NULL, post_history},
    {INTAKE__V1__OPERATOR_COMMAND__OP_SEARCH, R_TS | ROLE(ITK_ROLE_ADMIN), 0,
     VAULT_ACT_SEARCH, NULL, NULL, post_search},
    {INTAKE__V1__OPERATOR_COMMAND__OP_PHONE_INTAKE,
     ROLE(ITK_ROLE_PHONE) | ROLE(ITK_ROLE_SUPERVISOR), 0,
     VAULT_ACT_PHONE_INTAKE, pre_phone, txn_phone, post_case},
    {INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT, R_SUP, F_CASE | F_TWO,
     VAULT_ACT_APPROVAL_REQUEST, NULL, txn_request, NULL},
    {INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE, R_SUP, F_TWO,
     VAULT_ACT_APPROVAL_REQUEST, NULL, txn_request, NULL},
    {INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE, R_SUP, F_QUEUE | F_TWO,
     VAULT_ACT_APPROVAL_REQUEST, NULL, txn_request, NULL},
    {INTAKE__V1__OPERATOR_COMMAND__OP_APPROVE, R_SUP, 0, VAULT_ACT_APPROVE,
     pre_approve, txn_approve, post_approve},
    {INTAKE__V1__OPERATOR_COMMAND__OP_PENDING, R_SUP, 0, VAULT_ACT_PENDING,
     NULL, NULL, post_pending},
};

static const command *
find_command(Intake__V1__OperatorCommand cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].cmd == cmd) {
			return &commands[i];
		}
	}
	return NULL;
}

static const char *
command_name(Intake__V1__OperatorCommand cmd)
{
	static const char *const names[] = {
	    "?",          "queues",    "next",    "release",      "show",
	    "reply",      "note",      "tag",     "move",         "escalate",
	    "close",      "history",   "search",  "phone-intake", "export",
	    "bulk-close", "bulk-move", "approve", "pending"};

	return (unsigned)cmd < sizeof(names) / sizeof(names[0]) ? names[cmd]
								: "?";
}

/* ------------------------------------------------------------ service */

/*
 * Queue keys: with a queue-keys file in the key store, its signature is
 * checked against the store's org.pub, the queue public keys go into the
 * vault (for the workers' copies), and the service key must be the one
 * the file names.  Without the file the service runs as before (intake
 * keys only).  The bundle is read for phone intake without intake keys.
 */
static itk_err
load_queue_keys(opd *s)
{
	char path[4096];
	uint8_t org[ITK_SIGN_PK_LEN];
	itk_qgrants *g = NULL;
	itk_secret_key *svc = NULL;
	itk_buf *b = NULL;
	vault_qkey *qk = NULL;
	size_t added = 0;
	int n;
	itk_err r;

	n = snprintf(path, sizeof(path), "%s/org.pub", s->o.keys_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	if (itk_org_pub_load(path, org) != ITK_OK) {
		return ITK_OK; /* no org key here: neither bundle nor keys */
	}
	if (itk_keystore_read_bundle(s->o.keys_dir, &b) == ITK_OK &&
	    itk_bundle_verify(itk_buf_ptr(b), itk_buf_len(b), org,
			      &s->bundle) != ITK_OK) {
		s->bundle = NULL;
	}
	itk_buf_free(b);
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		return ITK_E_NOMEM;
	}
	r = itk_qgrants_load(s->o.keys_dir, org, g);
	if (r == ITK_E_NOT_FOUND) {
		r = ITK_OK; /* queue keys not set up: checks only */
		goto out;
	}
	if (r != ITK_OK) {
		itk_log_error("queue_keys.load_failed", "err=%s",
			      itk_errname(r));
		goto out;
	}
	if ((r = itk_keystore_load_key(s->o.keys_dir, ITK_KEY_SERVICE,
				       s->o.keys_passphrase, &svc)) !=
	    ITK_OK) {
		itk_log_error("service_key.load_failed", "err=%s",
			      itk_errname(r));
		goto out;
	}
	if (sodium_memcmp(itk_key_public(svc), g->service_pk, ITK_PK_LEN) !=
	    0) {
		itk_log_error("service_key.mismatch", "file=%s",
			      ITK_QGRANTS_FILE);
		r = ITK_E_KEY_UNKNOWN;
		goto out;
	}
	if ((s->svc = sodium_malloc(2 * ITK_PK_LEN)) == NULL ||
	    (qk = calloc(g->n_keys ? g->n_keys : 1, sizeof(*qk))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(s->svc, itk_key_public(svc), ITK_PK_LEN);
	memcpy(s->svc + ITK_PK_LEN, itk_key_secret(svc), ITK_SK_LEN);
	sodium_mprotect_readonly(s->svc);
	for (size_t i = 0; i < g->n_keys; i++) {
		qk[i].queue = g->keys[i].queue;
		qk[i].version = g->keys[i].version;
		memcpy(qk[i].pk, g->keys[i].public_key, ITK_PK_LEN);
	}
	if ((r = vault_qkeys_import(s->o.v, qk, g->n_keys,
				    (uint64_t)time(NULL), &added)) != ITK_OK) {
		itk_log_error("queue_keys.import_failed", "err=%s",
			      itk_errname(r));
		goto out;
	}
	s->qkeys = true;
	itk_log_info("queue_keys.loaded", "versions=%zu new=%zu grants=%zu",
		     g->n_keys, added, g->n_grants);
out:
	itk_key_free(svc);
	free(qk);
	free(g);
	return r;
}

/*
 * The request's queue keys: each must name a queue the operator works
 * and a key version the vault knows, and open with the service key to
 * the secret half of that version.  Any that does not is refused: a
 * request is carried out with all its keys or not at all.
 */
static itk_err
open_queue_keys(req_ctx *c, const command *cmd)
{
	const itk_pb_op_request_body *rq = c->rq;
	itk_err r;

	if (rq->n_queue_keys == 0) {
		return ITK_OK;
	}
	if (cmd->flags & F_TWO) {
		c->refusal = "queue keys are never stored: send them with "
			     "approve";
		return ITK_E_RANGE;
	}
	if (!c->s->qkeys) {
		c->refusal = "this service has no queue keys set up";
		return ITK_E_KEY_UNKNOWN;
	}
	if ((c->qk = sodium_malloc(ITK_OP_QUEUE_KEYS_MAX * sizeof(*c->qk))) ==
	    NULL) {
		return ITK_E_NOMEM;
	}
	sodium_memzero(c->qk, ITK_OP_QUEUE_KEYS_MAX * sizeof(*c->qk));
	for (size_t i = 0; i < rq->n_queue_keys; i++) {
		const Intake__V1__QueueKeyInTransit *t = rq->queue_keys[i];
		vault_qsecret *k = &c->qk[c->nqk];
		int q = itk_queue_from_name(t->queue);
		if (q < 0 || (c->op->queues & (1u << q)) == 0) {
			c->refusal =
			    "a queue key for a queue the operator may "
			    "not work";
			return ITK_E_PERM;
		}
		k->queue = (itk_queue)q;
		k->version = t->version;
		r = vault_qkey_get(c->s->o.v, k->queue, k->version, k->pk);
		if (r == ITK_E_NOT_FOUND) {
			c->refusal = "unknown queue key version: restart "
				     "intake-opd after the key ceremony";
			return ITK_E_KEY_UNKNOWN;
		}
		if (r != ITK_OK) {
			return r;
		}
		if (itk_unwrap_key(c->s->svc, c->s->svc + ITK_PK_LEN,
				   t->sealed.data, k->sk) != ITK_OK ||
		    !itk_box_pair_ok(k->pk, k->sk)) {
			c->refusal = "a queue key does not open";
			return ITK_E_DECRYPT;
		}
		c->nqk++;
	}
	return ITK_OK;
}

itk_err
opd_new(const opd_options *o, opd **out)
{
	itk_keystore_entry *e = NULL;
	size_t n = 0;
	char bad[512];
	opd *s = NULL;
	itk_err r;

	*out = NULL;
	if (o == NULL || o->keys_dir == NULL || o->v == NULL ||
	    o->rules == NULL) {
		return ITK_E_CONFIG;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (e = calloc(OPERATORS_MAX, sizeof(*e))) == NULL ||
	    (s->ops = calloc(OPERATORS_MAX, sizeof(*s->ops))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	s->o = *o;
	if (s->o.lease_seconds == 0) {
		s->o.lease_seconds = DEFAULT_LEASE_S;
	}
	if (s->o.skew_seconds == 0) {
		s->o.skew_seconds = DEFAULT_SKEW_S;
	}
	if (s->o.approval_seconds == 0) {
		s->o.approval_seconds = DEFAULT_APPROVAL_S;
	}
	r = itk_keystore_list(o->keys_dir, e, OPERATORS_MAX, &n, bad,
			      sizeof(bad));
	if (r != ITK_OK) {
		itk_log_error("operators.load_failed", "err=%s",
			      itk_errname(r));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].info.kind == ITK_KEY_OPERATOR &&
		    e[i].info.role != ITK_ROLE_NONE) {
			s->ops[s->n_ops++] = e[i].info;
		}
	}
	if (s->n_ops == 0) {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	if ((r = load_queue_keys(s)) != ITK_OK) {
		goto out;
	}
	if (o->ring == NULL && !s->qkeys) {
		itk_log_error("opd.no_keys", "why=%s",
			      "neither intake keys nor a queue-keys file");
		r = ITK_E_CONFIG;
		goto out;
	}
	*out = s;
	s = NULL; /* transferred */
	r = ITK_OK;
out:
	free(e);
	opd_free(s);
	return r;
}

void
opd_free(opd *s)
{
	if (s == NULL) {
		return;
	}
	free(s->ops);
	if (s->svc != NULL) {
		sodium_free(s->svc); /* wipes */
	}
	itk_wire_free(s->bundle);
	free(s);
}

size_t
opd_operator_count(const opd *s)
{
	return s->n_ops;
}

itk_err
opd_set_operators(opd *s, const itk_key_info *ops, size_t n)
{
	itk_key_info *nw = NULL;
	size_t k = 0;

	if (n > OPERATORS_MAX) {
		return ITK_E_FULL;
	}
	if ((nw = calloc(OPERATORS_MAX, sizeof(*nw))) == NULL) {
		return ITK_E_NOMEM;
	}
	/* The same filter as opd_new. */
	for (size_t i = 0; i < n; i++) {
		if (ops[i].kind == ITK_KEY_OPERATOR &&
		    ops[i].role != ITK_ROLE_NONE) {
			nw[k++] = ops[i];
		}
	}
	if (k == 0) {
		free(nw);
		return ITK_E_NOT_FOUND; /* the old list stays */
	}
	free(s->ops);
	s->ops = nw;
	s->n_ops = k;
	return ITK_OK;
}

static const itk_key_info *
find_operator(const opd *s, const char *name)
{
	for (size_t i = 0; i < s->n_ops; i++) {
		if (strcmp(s->ops[i].name, name) == 0) {
			return &s->ops[i];
		}
	}
	return NULL;
}

/* Everything that needs no vault: who, signature, time, role, queue. */
static itk_err
authenticate(req_ctx *c, const itk_pb_op_request *env, const command **cmdp)
{
	const itk_pb_op_request_body *rq = c->rq;
	const command *cmd;
	int q;

	if ((c->op = find_operator(c->s, rq->operator_)) == NULL ||
	    c->op->key_id != rq->key_id) {
		c->refusal = "unknown operator";
		return ITK_E_KEY_UNKNOWN;
	}
	if (itk_verify(ITK_SIG_OPERATOR, c->op->public_key, env->body.data,
		       env->body.len, env->signature.data) != ITK_OK) {
		c->refusal = "bad signature";
		return ITK_E_VERIFY;
	}
	if (rq->time + c->s->o.skew_seconds < c->now ||
	    rq->time > c->now + c->s->o.skew_seconds) {
		c->refusal =
		    "request time outside the window: check the clock";
		return ITK_E_RANGE;
	}
	if ((cmd = find_command(rq->command)) == NULL) {
		c->refusal = "unknown command";
		return ITK_E_RANGE;
	}
	if ((cmd->roles & ROLE(c->op->role)) == 0) {
		c->refusal = "the operator's role may not do this";
		return ITK_E_PERM;
	}
	if (cmd->flags & F_QUEUE) {
		if ((q = itk_queue_from_name(rq->queue)) < 0) {
			c->refusal = "unknown queue";
			return ITK_E_RANGE;
		}
		if ((c->op->queues & (1u << q)) == 0) {
			c->refusal = "the operator may not work this queue";
			return ITK_E_PERM;
		}
		c->queue = (itk_queue)q;
	}
	if ((cmd->flags & F_CASE) && rq->case_id.len != VAULT_ID_LEN) {
		c->refusal = "a case id is needed";
		return ITK_E_MISSING;
	}
	if (rq->case_id.len == VAULT_ID_LEN) {
		memcpy(c->case_id, rq->case_id.data, VAULT_ID_LEN);
		c->has_case = true;
	}
	c->who.key_id = c->op->key_id;
	c->who.name = c->op->name;
	*cmdp = cmd;
	return ITK_OK;
}

/* Case-level checks inside the transaction: the case exists, is in a
 * queue the operator works, and is not claimed by somebody else. */
static itk_err
check_case(req_ctx *c, const command *cmd)
{
	vault_case_view cv;
	vault_lease l;
	itk_err r;

	if ((r = vault_op_get_case(c->o, c->case_id, &cv)) != ITK_OK) {
		if (r == ITK_E_NOT_FOUND) {
			c->refusal = "no such case";
		}
		return r;
	}
	if ((c->op->queues & (1u << cv.queue)) == 0) {
		c->refusal =
		    "the case is in a queue the operator may not work";
		return ITK_E_PERM;
	}
	if ((cmd->flags & F_MUTATES) == 0 ||
	    c->op->role == ITK_ROLE_SUPERVISOR) {
		return ITK_OK;
	}
	r = vault_op_lease_get(c->o, c->case_id, c->now, &l);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK;
	}
	if (r == ITK_OK && l.key_id != c->op->key_id) {
		c->refusal = "the case is claimed by another operator";
		return ITK_E_LEASE;
	}
	return r;
}

static itk_err
run(req_ctx *c, const command *cmd)
{
	itk_err r;

	if (cmd->pre != NULL && (r = cmd->pre(c)) != ITK_OK) {
		return r;
	}
	if ((r = vault_op_begin(c->s->o.v, &c->o)) != ITK_OK) {
		return r;
	}
	r = vault_op_nonce(
	    c->o, c->rq->time, c->op->key_id, c->rq->nonce.data,
	    c->rq->nonce.len,
	    c->now > c->s->o.skew_seconds ? c->now - c->s->o.skew_seconds : 0);
	if (r == ITK_E_DUPLICATE) {
		c->refusal = "replayed request";
		goto out;
	}
	if (r != ITK_OK) {
		goto out;
	}
	if ((cmd->flags & F_CASE) && (r = check_case(c, cmd)) != ITK_OK) {
		goto out;
	}
	if (cmd->txn != NULL && (r = cmd->txn(c)) != ITK_OK) {
		goto out;
	}
	if ((r = vault_op_record(c->o, c->has_case ? c->case_id : NULL, c->now,
				 &c->who, cmd->action, c->detail)) != ITK_OK) {
		goto out;
	}
	r = vault_op_commit(c->o);
	c->o = NULL; /* freed */
	if (r != ITK_OK) {
		return r;
	}
	return cmd->post != NULL ? cmd->post(c) : ITK_OK;
out:
	vault_op_abort(c->o);
	c->o = NULL;
	return r;
}

itk_err
opd_handle(opd *s, const uint8_t *req, size_t n, uint64_t now, itk_buf *out)
{
	itk_pb_op_request *env = NULL;
	itk_pb_op_request_body *rq = NULL;
	const command *cmd = NULL;
	req_ctx c;
	itk_err r, w;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.now = now;
	intake__v1__operator_response_body__init(&c.resp);
	if ((r = itk_wire_op_request_decode(req, n, &env)) != ITK_OK ||
	    (r = itk_wire_op_request_body_decode(env->body.data, env->body.len,
						 &rq)) != ITK_OK) {
		c.refusal = "malformed request";
		goto out;
	}
	c.rq = rq;
	c.raw = req;
	c.raw_len = n;
	if ((r = authenticate(&c, env, &cmd)) != ITK_OK ||
	    (r = open_queue_keys(&c, cmd)) != ITK_OK) {
		goto out;
	}
	r = run(&c, cmd);
out:
	itk_buf_reset(out);
	if (r == ITK_OK) {
		w = op_response_seal(c.op->public_key, rq->nonce.data, &c.resp,
				     out);
		if (w != ITK_OK) {
			itk_buf_reset(out);
			r = w;
			c.refusal = "the answer could not be sealed";
		}
	}
	if (r != ITK_OK) {
		w = op_response_error(rq != NULL ? rq->nonce.data : NULL, r,
				      c.refusal, out);
		(void)w; /* nothing better to send */
		itk_log_warn("op.refused", "operator=%s cmd=%s err=%s why=%s",
			     c.op != NULL ? c.op->name : "-",
			     rq != NULL ? command_name(rq->command) : "-",
			     itk_errname(r),
			     c.refusal != NULL ? c.refusal : itk_strerror(r));
	} else {
		itk_log_info("op.done", "operator=%s cmd=%s", c.op->name,
			     command_name(rq->command));
	}
	if (c.have_reply) {
		wk_reply_fini(&c.reply);
	}
	itk_buf_free(c.sealed);
	itk_buf_free(c.copy_ct);
	if (c.qk != NULL) {
		sodium_free(c.qk); /* the queue secrets: this request only */
	}
	if (c.copy_mk != NULL) {
		sodium_free(c.copy_mk);
	}
	itk_buf_free(c.exp_sealed);
	itk_buf_free(c.appr_req);
	itk_wire_free(c.appr_rq);
	itk_wire_free(c.appr_env);
	arena_free(&c.a);
	itk_wire_free(rq);
	itk_wire_free(env);
	return r;
}
