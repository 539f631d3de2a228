/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault log's leaf encoding (leaf.h, docs/audit.md section 1).
 */
#include <string.h>

#include "buf.h"
#include "leaf.h"

static int
db_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > VAULT_LEAF_DB_MAX) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.')) {
			return 0;
		}
	}
	return 1;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++) {
		acc |= p[i];
	}
	return acc == 0;
}

itk_err
vault_leaf_encode(const vault_leaf *l, uint8_t *out, size_t cap, size_t *len)
{
	size_t n, off = 0;

	*len = 0;
	if (l->kind == 0 || (l->flags & ~VAULT_LEAF_F_DELETED) != 0 ||
	    !db_name_ok(l->db, l->db_len) || l->key == NULL ||
	    l->key_len == 0 || l->key_len > VAULT_LEAF_KEY_MAX) {
		return ITK_E_RANGE;
	}
	n = VAULT_LEAF_FIXED_LEN + l->db_len + l->key_len;
	if (cap < n) {
		return ITK_E_TOO_BIG;
	}
	out[off++] = VAULT_LEAF_VERSION;
	out[off++] = l->kind;
	out[off++] = l->flags;
	itk_store_u64(out + off, l->time);
	off += 8;
	out[off++] = (uint8_t)l->db_len;
	memcpy(out + off, l->db, l->db_len);
	off += l->db_len;
	out[off++] = (uint8_t)l->key_len;
	memcpy(out + off, l->key, l->key_len);
	off += l->key_len;
	if ((l->flags & VAULT_LEAF_F_DELETED) != 0) {
		memset(out + off, 0, VAULT_LEAF_HASH_LEN);
	} else {
		memcpy(out + off, l->value_hash, VAULT_LEAF_HASH_LEN);
	}
	off += VAULT_LEAF_HASH_LEN;
	*len = off;
	return ITK_OK;
}

itk_err
vault_leaf_decode(const uint8_t *p, size_t len, vault_leaf *out)
{
	const uint8_t *db, *key;
	uint8_t ver, dbn, kn;
	itk_reader r;
	itk_err e;

	memset(out, 0, sizeof(*out));
	itk_reader_init(&r, p, len);
	if ((e = itk_get_u8(&r, &ver)) != ITK_OK) {
		return e;
	}
	if (ver != VAULT_LEAF_VERSION) {
		return ITK_E_VERSION;
	}
	if ((e = itk_get_u8(&r, &out->kind)) != ITK_OK ||
	    (e = itk_get_u8(&r, &out->flags)) != ITK_OK ||
	    (e = itk_get_u64(&r, &out->time)) != ITK_OK ||
	    (e = itk_get_u8(&r, &dbn)) != ITK_OK ||
	    (e = itk_get_view(&r, dbn, &db)) != ITK_OK ||
	    (e = itk_get_u8(&r, &kn)) != ITK_OK ||
	    (e = itk_get_view(&r, kn, &key)) != ITK_OK ||
	    (e = itk_get_bytes(&r, out->value_hash, VAULT_LEAF_HASH_LEN)) !=
		ITK_OK ||
	    (e = itk_reader_end(&r)) != ITK_OK) {
		memset(out, 0, sizeof(*out));
		return e;
	}
	out->db = (const char *)db;
	out->db_len = dbn;
	out->key = key;
	out->key_len = kn;
	if (out->kind == 0 || (out->flags & ~VAULT_LEAF_F_DELETED) != 0 ||
	    !db_name_ok(out->db, out->db_len) || kn == 0 ||
	    out->time % VAULT_LEAF_TIME_STEP != 0 ||
	    ((out->flags & VAULT_LEAF_F_DELETED) != 0 &&
	     !all_zero(out->value_hash, VAULT_LEAF_HASH_LEN))) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

uint64_t
vault_leaf_time(uint64_t now)
{
	return now - now % VAULT_LEAF_TIME_STEP;
}

const char *
vault_leaf_kind_name(uint8_t kind)
{
	switch (kind) {
	case VAULT_LEAF_MESSAGE:
		return "message";
	case VAULT_LEAF_QUARANTINE:
		return "quarantine";
	case VAULT_LEAF_CASE_NEW:
		return "case-new";
	case VAULT_LEAF_CASE_JOIN:
		return "case-join";
	case VAULT_LEAF_CASE_CLOSE:
		return "case-close";
	case VAULT_LEAF_CASE_UPDATE:
		return "case-update";
	case VAULT_LEAF_LEASE:
		return "lease";
	case VAULT_LEAF_ACTION:
		return "action";
	case VAULT_LEAF_NOTE:
		return "note";
	case VAULT_LEAF_TAG:
		return "tag";
	case VAULT_LEAF_OUTBOX:
		return "outbox";
	case VAULT_LEAF_APPROVAL:
		return "approval";
	case VAULT_LEAF_COPY:
		return "copy";
	case VAULT_LEAF_CASE_KEY:
		return "case-key";
	case VAULT_LEAF_QUEUE_KEY:
		return "queue-key";
	default:
		return "unknown";
	}
}
