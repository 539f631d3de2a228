/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte layouts of the vault's records (docs/vault.md).  Every record starts
 * with a version byte; decoders read through itk_reader, check every enum
 * and flag, refuse trailing bytes, and treat whatever LMDB hands back as
 * untrusted: a damaged file gives ITK_E_FORMAT, never a crash.
 */
#include <string.h>

#include "buf.h"
#include "vault_impl.h"

/* Any reader failure inside a record is a format error of the record. */
static itk_err
fmt(itk_err e)
{
	return e == ITK_OK ? ITK_OK : ITK_E_FORMAT;
}

static itk_err
get_version(itk_reader *r)
{
	uint8_t ver;

	if (itk_get_u8(r, &ver) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	return ver == VAULT_REC_VERSION ? ITK_OK : ITK_E_VERSION;
}

static itk_err
get_enum(itk_reader *r, uint8_t count, uint8_t *v)
{
	if (itk_get_u8(r, v) != ITK_OK || *v >= count) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static itk_err
get_labels(itk_reader *r, uint8_t *q, uint8_t *u, uint8_t *l)
{
	itk_err e;

	if ((e = get_enum(r, ITK_QUEUE_COUNT, q)) != ITK_OK ||
	    (e = get_enum(r, ITK_URGENCY_COUNT, u)) != ITK_OK ||
	    (e = get_enum(r, ITK_LANG_COUNT, l)) != ITK_OK) {
		return e;
	}
	return ITK_OK;
}

static itk_err
get_sealed(itk_reader *r, const uint8_t **p, size_t *n)
{
	return fmt(itk_get_string32(r, VAULT_SEALED_MAX, p, n));
}

itk_err
vault_case_encode(const vault_case_rec *c, itk_buf *b)
{
	itk_err e;

	if ((e = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, c->queue)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, c->urgency)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, c->language)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, c->flags)) != ITK_OK ||
	    (e = itk_buf_put_u64(b, c->created)) != ITK_OK ||
	    (e = itk_buf_put_u64(b, c->updated)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, c->message_count)) != ITK_OK) {
		return e;
	}
	if ((c->flags & VAULT_CASE_HAS_CONTACT) != 0) {
		return itk_buf_put(b, c->contact, sizeof(c->contact));
	}
	return ITK_OK;
}

itk_err
vault_case_decode(const uint8_t *p, size_t n, vault_case_rec *c)
{
	itk_reader r;
	itk_err e;

	/* The id is the LMDB key; the caller fills it in. */
	memset(c->contact, 0, sizeof(c->contact));
	itk_reader_init(&r, p, n);
	if ((e = get_version(&r)) != ITK_OK ||
	    (e = get_labels(&r, &c->queue, &c->urgency, &c->language)) !=
		ITK_OK ||
	    (e = fmt(itk_get_u8(&r, &c->flags))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &c->created))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &c->updated))) != ITK_OK ||
	    (e = fmt(itk_get_u32(&r, &c->message_count))) != ITK_OK) {
		return e;
	}
	if ((c->flags & ~VAULT_CASE_FLAGS_KNOWN) != 0 ||
	    c->message_count == 0 || c->updated < c->created) {
		return ITK_E_FORMAT;
	}
	if ((c->flags & VAULT_CASE_HAS_CONTACT) != 0 &&
	    (e = fmt(itk_get_bytes(&r, c->contact, sizeof(c->contact)))) !=
		ITK_OK) {
		return e;
	}
	return fmt(itk_reader_end(&r));
}

itk_err
vault_msg_encode(const vault_msg_rec *m, itk_buf *b)
{
	itk_err e;

	if (m->sealed_len > VAULT_SEALED_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (e = itk_buf_put(b, m->case_id, VAULT_ID_LEN)) != ITK_OK ||
	    (e = itk_buf_put_u64(b, m->accepted_at)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, m->intake_key_id)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, m->queue)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, m->urgency)) != ITK_OK ||
	    (e = itk_buf_put_u8(b, m->language)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, m->channel)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, (uint32_t)m->sealed_len)) != ITK_OK ||
	    (e = itk_buf_put(b, m->sealed, m->sealed_len)) != ITK_OK) {
		return e;
	}
	return ITK_OK;
}

itk_err
vault_msg_decode(const uint8_t *p, size_t n, vault_msg_rec *m)
{
	itk_reader r;
	itk_err e;

	itk_reader_init(&r, p, n);
	if ((e = get_version(&r)) != ITK_OK ||
	    (e = fmt(itk_get_bytes(&r, m->case_id, VAULT_ID_LEN))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &m->accepted_at))) != ITK_OK ||
	    (e = fmt(itk_get_u32(&r, &m->intake_key_id))) != ITK_OK ||
	    (e = get_labels(&r, &m->queue, &m->urgency, &m->language)) !=
		ITK_OK ||
	    (e = fmt(itk_get_u32(&r, &m->channel))) != ITK_OK ||
	    (e = get_sealed(&r, &m->sealed, &m->sealed_len)) != ITK_OK) {
		return e;
	}
	return fmt(itk_reader_end(&r));
}

itk_err
vault_quar_encode(const vault_quar_rec *q, itk_buf *b)
{
	itk_err e;

	if (q->sealed_len > VAULT_SEALED_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_buf_put_u8(b, VAULT_REC_VERSION)) != ITK_OK ||
	    (e = itk_buf_put_u16(b, q->reason)) != ITK_OK ||
	    (e = itk_buf_put_u64(b, q->accepted_at)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, q->intake_key_id)) != ITK_OK ||
	    (e = itk_buf_put_u32(b, (uint32_t)q->sealed_len)) != ITK_OK ||
	    (e = itk_buf_put(b, q->sealed, q->sealed_len)) != ITK_OK) {
		return e;
	}
	return ITK_OK;
}

itk_err
vault_quar_decode(const uint8_t *p, size_t n, vault_quar_rec *q)
{
	itk_reader r;
	itk_err e;

	itk_reader_init(&r, p, n);
	if ((e = get_version(&r)) != ITK_OK ||
	    (e = fmt(itk_get_u16(&r, &q->reason))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &q->accepted_at))) != ITK_OK ||
	    (e = fmt(itk_get_u32(&r, &q->intake_key_id))) != ITK_OK ||
	    (e = get_sealed(&r, &q->sealed, &q->sealed_len)) != ITK_OK) {
		return e;
	}
	return fmt(itk_reader_end(&r));
}

void
vault_mbx_encode(const uint8_t case_id[VAULT_ID_LEN],
		 uint8_t out[VAULT_MBX_VAL_LEN])
{
	out[0] = VAULT_REC_VERSION;
	memcpy(out + 1, case_id, VAULT_ID_LEN);
}

itk_err
vault_mbx_decode(const uint8_t *p, size_t n, uint8_t case_id[VAULT_ID_LEN])
{
	itk_reader r;
	itk_err e;

	itk_reader_init(&r, p, n);
	if ((e = get_version(&r)) != ITK_OK ||
	    (e = fmt(itk_get_bytes(&r, case_id, VAULT_ID_LEN))) != ITK_OK) {
		return e;
	}
	return fmt(itk_reader_end(&r));
}

/* queue || urgency || created (big-endian) || case id: LMDB's memcmp order
 * is then queue, most urgent first, oldest first. */
void
vault_qkey_encode(const vault_case_rec *c, uint8_t out[VAULT_QKEY_LEN])
{
	out[0] = c->queue;
	out[1] = c->urgency;
	itk_store_u64(out + 2, c->created);
	memcpy(out + 10, c->id, VAULT_ID_LEN);
}

void
vault_counters_encode(const vault_counters *c, uint8_t out[VAULT_COUNTERS_LEN])
{
	out[0] = VAULT_REC_VERSION;
	itk_store_u64(out + 1, c->cases);
	itk_store_u64(out + 9, c->messages);
	itk_store_u64(out + 17, c->quarantined);
	for (size_t i = 0; i < ITK_QUEUE_COUNT; i++) {
		itk_store_u64(out + 25 + 8 * i, c->open_by_queue[i]);
	}
}

itk_err
vault_counters_decode(const uint8_t *p, size_t n, vault_counters *c)
{
	itk_reader r;
	itk_err e;

	itk_reader_init(&r, p, n);
	if ((e = get_version(&r)) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &c->cases))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &c->messages))) != ITK_OK ||
	    (e = fmt(itk_get_u64(&r, &c->quarantined))) != ITK_OK) {
		return e;
	}
	for (size_t i = 0; i < ITK_QUEUE_COUNT; i++) {
		if ((e = fmt(itk_get_u64(&r, &c->open_by_queue[i]))) !=
		    ITK_OK) {
			return e;
		}
	}
	return fmt(itk_reader_end(&r));
}

void
vault_case_view_fill(const vault_case_rec *c, vault_case_view *out)
{
	memcpy(out->case_id, c->id, VAULT_ID_LEN);
	out->queue = (itk_queue)c->queue;
	out->urgency = (itk_urgency)c->urgency;
	out->language = (itk_lang)c->language;
	out->created = c->created;
	out->updated = c->updated;
	out->message_count = c->message_count;
	out->open = (c->flags & VAULT_CASE_OPEN) != 0;
	out->has_contact = (c->flags & VAULT_CASE_HAS_CONTACT) != 0;
}
