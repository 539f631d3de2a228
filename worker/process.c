/* SPDX-License-Identifier: Apache-2.0 */
#include "process.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "copy.h"
#include "crypto.h"
#include "log.h"

/* Per-delivery scratch that must live until the commit. */
struct item {
	itk_pb_inner *inner;
	int is_message;
};

static const char *
form_name(Intake__V1__FormCategory f)
{
	switch (f) {
	case INTAKE__V1__FORM_CATEGORY__FORM_SURRENDER:
		return "surrender";
	case INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE:
		return "relative";
	case INTAKE__V1__FORM_CATEGORY__FORM_OTHER:
		return "other";
	case INTAKE__V1__FORM_CATEGORY__FORM_NONE:
		return "none";
	default:
		return "none";
	}
}

itk_err
wk_triage_text(const itk_pb_inner *inner, itk_buf *out)
{
	itk_err r;

	if (inner->text != NULL &&
	    (r = itk_buf_put_str(out, inner->text)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < inner->n_fields; i++) {
		const char *v = inner->fields[i]->value;
		if (v == NULL || v[0] == '\0') {
			continue;
		}
		if ((r = itk_buf_put_u8(out, '\n')) != ITK_OK ||
		    (r = itk_buf_put_str(out, v)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* Opens, decodes and triages one delivery into msg, or returns why it
 * must be quarantined. */
static itk_err
open_one(const wk_keyring *keys, const triage_rules *rules,
	 const Intake__V1__Delivery *d, itk_buf *plain, itk_buf *text,
	 vault_message *msg, itk_pb_inner **inner_out)
{
	const itk_pb_submission *s = d->submission;
	itk_pb_inner *inner = NULL;
	triage_result t;
	itk_err r;

	itk_buf_reset(plain);
	itk_buf_reset(text);
	if ((r = wk_keyring_open(keys, s->intake_key_id, s->sealed.data,
				 s->sealed.len, plain)) != ITK_OK) {
		return r;
	}
	if ((r = itk_wire_inner_decode(itk_buf_ptr(plain), itk_buf_len(plain),
				       &inner)) != ITK_OK) {
		return r;
	}
	if ((r = wk_triage_text(inner, text)) != ITK_OK ||
	    (r = triage_classify(
		 rules, (const char *)itk_buf_ptr(text), itk_buf_len(text),
		 form_name(inner->form_category), &t)) != ITK_OK) {
		itk_wire_free(inner);
		return r;
	}
	msg->queue = t.queue;
	msg->urgency = t.urgency;
	msg->language = t.language;
	msg->channel = (uint32_t)inner->channel;
	msg->mailbox_id = inner->mailbox_id.data;
	msg->reply_pk = inner->reply_public_key.data;
	msg->thread_id = inner->thread_id.len == ITK_HASH_LEN
			     ? inner->thread_id.data
			     : NULL;
	*inner_out = inner;
	return ITK_OK;
}

itk_err
wk_process_batch(const wk_keyring *keys, const triage_rules *rules, vault *v,
		 Intake__V1__Delivery *const *deliveries, size_t n,
		 wk_batch_stats *stats)
{
	vault_message *msgs = NULL;
	vault_quarantine_item *quar = NULL;
	vault_result *res = NULL;
	itk_pb_inner **inners = NULL;
	itk_buf *plain = NULL, *text = NULL;
	wk_copies *copies = NULL; /* copies under queue keys (copy.h) */
	size_t nm = 0, nq = 0;
	itk_err r = ITK_E_NOMEM;

	memset(stats, 0, sizeof(*stats));
	if (n == 0) {
		return ITK_OK;
	}
	if ((msgs = calloc(n, sizeof(*msgs))) == NULL ||
	    (quar = calloc(n, sizeof(*quar))) == NULL ||
	    (res = calloc(n, sizeof(*res))) == NULL ||
	    (inners = calloc(n, sizeof(*inners))) == NULL ||
	    (plain = itk_buf_new(ITK_PAD_MAX)) == NULL ||
	    (text = itk_buf_new(ITK_PAD_MAX + 4096)) == NULL ||
	    wk_copies_new(n, &copies) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const Intake__V1__Delivery *d = deliveries[i];
		const itk_pb_submission *s = d->submission;
		uint8_t id[ITK_HASH_LEN];
		vault_message *m = &msgs[nm];
		itk_err why;

		/* The id is ours to compute: never trust the one sent. */
		itk_sha256(id, s->sealed.data, s->sealed.len);
		if (sodium_memcmp(id, d->submission_id.data, ITK_HASH_LEN) !=
		    0) {
			itk_log_warn("delivery.id_mismatch", "attempt=%u",
				     d->attempt);
		}
		why = open_one(keys, rules, d, plain, text, m, &inners[nm]);
		if (why == ITK_OK &&
		    (r = wk_copies_add(copies, id, itk_buf_ptr(plain),
				       itk_buf_len(plain), m)) != ITK_OK) {
			goto out;
		}
		if (why == ITK_OK) {
			memcpy(m->submission_id, id, ITK_HASH_LEN);
			m->intake_key_id = s->intake_key_id;
			m->accepted_at = d->accepted_at;
			m->sealed = s->sealed.data;
			m->sealed_len = s->sealed.len;
			nm++;
			continue;
		}
		if (why == ITK_E_NOMEM) {
			r = why;
			goto out;
		}
		memcpy(quar[nq].submission_id, id, ITK_HASH_LEN);
		quar[nq].intake_key_id = s->intake_key_id;
		quar[nq].accepted_at = d->accepted_at;
		quar[nq].sealed = s->sealed.data;
		quar[nq].sealed_len = s->sealed.len;
		quar[nq].reason = why;
		nq++;
		itk_log_warn("submission.quarantined", "reason=%s key_id=%08x",
			     itk_errname(why), s->intake_key_id);
	}
	if ((r = vault_commit(v, msgs, nm, quar, nq, res)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < nm + nq; i++) {
		switch (res[i].outcome) {
		case VAULT_STORED_NEW_CASE:
			stats->messages++;
			stats->new_cases++;
			break;
		case VAULT_STORED_FOLLOW_UP:
			stats->messages++;
			stats->follow_ups++;
			break;
		case VAULT_STORED_DUPLICATE:
			stats->duplicates++;
			break;
		case VAULT_STORED_QUARANTINED:
			stats->quarantined++;
			break;
		default:
			break;
		}
	}
	r = ITK_OK;
out:
	for (size_t i = 0; inners != NULL && i < n; i++) {
		itk_wire_free(inners[i]);
	}
	free(inners);
	free(msgs);
	free(quar);
	free(res);
	itk_buf_free(plain); /* wipes the plaintext */
	itk_buf_free(text);
	wk_copies_free(copies); /* wipes the message keys */
	return r;
}
