/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP tlog-checkpoint bodies, signed checkpoints, and the one rule a log
 * must never break: two different roots signed for one size (checkpoint.h).
 */
#include "checkpoint.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define ROOT_B64_LEN    44u /* base64 of 32 bytes, with one '=' */
#define SIZE_DIGITS_MAX 20u

/* Cuts the next "\n"-terminated line from *p; ITK_E_FORMAT if none. */
static itk_err
next_line(const uint8_t **p, size_t *left, const uint8_t **line, size_t *len)
{
	const uint8_t *nl = memchr(*p, '\n', *left);

	if (nl == NULL) {
		return ITK_E_FORMAT;
	}
	*line = *p;
	*len = (size_t)(nl - *p);
	*left -= *len + 1;
	*p = nl + 1;
	return ITK_OK;
}

static itk_err
parse_origin(const uint8_t *line, size_t len, checkpoint *out)
{
	if (len == 0) {
		return ITK_E_FORMAT;
	}
	if (len > CHECKPOINT_ORIGIN_MAX) {
		return ITK_E_TOO_BIG;
	}
	for (size_t i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] == 0x7f) {
			return ITK_E_FORMAT;
		}
	}
	memcpy(out->origin, line, len);
	out->origin[len] = '\0';
	out->origin_len = len;
	return ITK_OK;
}

static itk_err
parse_size(const uint8_t *line, size_t len, uint64_t *size)
{
	uint64_t v = 0;

	/* Decimal, no sign, no leading zero (except "0" itself). */
	if (len == 0 || len > SIZE_DIGITS_MAX || (line[0] == '0' && len > 1)) {
		return ITK_E_FORMAT;
	}
	for (size_t i = 0; i < len; i++) {
		if (line[i] < '0' || line[i] > '9') {
			return ITK_E_FORMAT;
		}
		uint64_t d = (uint64_t)(line[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			return ITK_E_RANGE;
		}
		v = v * 10 + d;
	}
	if (v > TLOG_SIZE_MAX) {
		return ITK_E_RANGE;
	}
	*size = v;
	return ITK_OK;
}

static itk_err
parse_root(const uint8_t *line, size_t len, uint8_t root[TLOG_HASH_LEN])
{
	const char *end = NULL;
	size_t got = 0;

	/* libsodium 1.0.18 reads every byte 0x80-0xff as '/' (found by
	 * fuzz_note): only the alphabet may reach it. */
	for (size_t i = 0; i < len; i++) {
		if (line[i] >= 0x80) {
			return ITK_E_FORMAT;
		}
	}
	if (len != ROOT_B64_LEN ||
	    sodium_base642bin(root, TLOG_HASH_LEN, (const char *)line, len,
			      NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != TLOG_HASH_LEN || end != (const char *)line + len) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

itk_err
checkpoint_parse(const uint8_t *text, size_t len, checkpoint *out)
{
	const uint8_t *p = text, *line;
	size_t left = len, ll;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if (len > CHECKPOINT_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((r = next_line(&p, &left, &line, &ll)) != ITK_OK ||
	    (r = parse_origin(line, ll, out)) != ITK_OK ||
	    (r = next_line(&p, &left, &line, &ll)) != ITK_OK ||
	    (r = parse_size(line, ll, &out->size)) != ITK_OK ||
	    (r = next_line(&p, &left, &line, &ll)) != ITK_OK ||
	    (r = parse_root(line, ll, out->root)) != ITK_OK) {
		goto fail;
	}
	/* Extension lines: opaque, each non-empty, and capped. */
	while (left > 0) {
		if ((r = next_line(&p, &left, &line, &ll)) != ITK_OK) {
			goto fail;
		}
		if (ll == 0) {
			r = ITK_E_FORMAT;
			goto fail;
		}
		if (out->n_ext == CHECKPOINT_EXT_MAX) {
			r = ITK_E_TOO_BIG;
			goto fail;
		}
		for (size_t i = 0; i < ll; i++) {
			if (line[i] < 0x20 || line[i] == 0x7f) {
				r = ITK_E_FORMAT;
				goto fail;
			}
		}
		out->n_ext++;
	}
	return ITK_OK;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}

itk_err
checkpoint_body(const char *origin, uint64_t size,
		const uint8_t root[TLOG_HASH_LEN], itk_buf *out)
{
	char b64[sodium_base64_ENCODED_LEN(TLOG_HASH_LEN,
					   sodium_base64_VARIANT_ORIGINAL)];
	size_t olen = strlen(origin);
	itk_err r;

	if (!note_name_valid(origin, olen)) {
		return ITK_E_FORMAT;
	}
	if (size > TLOG_SIZE_MAX) {
		return ITK_E_RANGE;
	}
	sodium_bin2base64(b64, sizeof(b64), root, TLOG_HASH_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	if ((r = itk_buf_put(out, origin, olen)) != ITK_OK ||
	    (r = itk_buf_printf(out, "\n%" PRIu64 "\n%s\n", size, b64)) !=
		ITK_OK) {
		return r;
	}
	return ITK_OK;
}

itk_err
checkpoint_open(const uint8_t *p, size_t len, const note_verifier *log_key,
		checkpoint *out, note_msg *msg)
{
	note_msg local;
	note_msg *m = msg != NULL ? msg : &local;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = note_open(p, len, log_key, m)) != ITK_OK ||
	    (r = checkpoint_parse(m->text, m->text_len, out)) != ITK_OK) {
		return r;
	}
	/* tlog-checkpoint: the log's key name matches the origin line; we
	 * require it, so a key cannot vouch for another log's tree. */
	if (out->origin_len != log_key->name_len ||
	    memcmp(out->origin, log_key->name, log_key->name_len) != 0) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

itk_err
checkpoint_latest(tlog *t, MDB_txn *txn, itk_buf *out)
{
	const uint8_t *p;
	size_t len;
	itk_err r;

	if ((r = tlog_checkpoint_load(t, txn, &p, &len)) != ITK_OK) {
		return r;
	}
	return itk_buf_put(out, p, len);
}

/*
 * The fork guard.  ITK_OK with *same set: the stored checkpoint already
 * covers (size, root).  ITK_OK with *same clear: signing (size, root) is
 * consistent with what was signed before.
 */
static itk_err
check_previous(tlog *t, MDB_txn *txn, uint64_t size,
	       const uint8_t root[TLOG_HASH_LEN], int *same)
{
	uint8_t old_root[TLOG_HASH_LEN];
	const uint8_t *p;
	size_t len;
	note_msg msg;
	checkpoint old;
	itk_err r;

	*same = 0;
	r = tlog_checkpoint_load(t, txn, &p, &len);
	if (r == ITK_E_NOT_FOUND) {
		return ITK_OK; /* the first checkpoint */
	}
	if (r != ITK_OK) {
		return r;
	}
	/* Our own record: parsed, not verified (the log key may have been
	 * rotated since), but it must parse. */
	if ((r = note_parse(p, len, &msg)) != ITK_OK ||
	    (r = checkpoint_parse(msg.text, msg.text_len, &old)) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if (old.size > size) {
		return ITK_E_RANGE;
	}
	if (old.size == size) {
		if (memcmp(old.root, root, TLOG_HASH_LEN) != 0) {
			return ITK_E_EXISTS; /* a second root for this size */
		}
		*same = 1;
		return ITK_OK;
	}
	if ((r = tlog_root(t, txn, old.size, old_root)) != ITK_OK) {
		return r;
	}
	if (memcmp(old_root, old.root, TLOG_HASH_LEN) != 0) {
		return ITK_E_VERIFY; /* the tree under a signed root changed */
	}
	return ITK_OK;
}

itk_err
checkpoint_sign(tlog *t, MDB_txn *txn, const note_signer *s, itk_buf *out)
{
	const note_verifier *v = note_signer_verifier(s);
	uint8_t root[TLOG_HASH_LEN];
	itk_buf *body = NULL, *signed_note = NULL;
	uint64_t size;
	int same = 0;
	itk_err r;

	if ((r = tlog_size(t, txn, &size)) != ITK_OK ||
	    (r = tlog_root(t, txn, size, root)) != ITK_OK ||
	    (r = check_previous(t, txn, size, root, &same)) != ITK_OK) {
		goto out;
	}
	if (same) {
		r = checkpoint_latest(t, txn, out);
		goto out;
	}
	if ((body = itk_buf_new(CHECKPOINT_ORIGIN_MAX + 128)) == NULL ||
	    (signed_note = itk_buf_new(CHECKPOINT_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = checkpoint_body(v->name, size, root, body)) != ITK_OK ||
	    (r = note_sign(s, itk_buf_ptr(body), itk_buf_len(body),
			   signed_note)) != ITK_OK ||
	    (r = tlog_checkpoint_store(t, txn, itk_buf_ptr(signed_note),
				       itk_buf_len(signed_note))) != ITK_OK ||
	    (r = itk_buf_put(out, itk_buf_ptr(signed_note),
			     itk_buf_len(signed_note))) != ITK_OK) {
		goto out;
	}
	r = ITK_OK;
out:
	itk_buf_free(body);
	itk_buf_free(signed_note);
	return r;
}
