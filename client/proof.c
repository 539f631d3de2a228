/* SPDX-License-Identifier: Apache-2.0 */
/* Inclusion proofs for receipts (proof.h). */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "checkpoint.h"
#include "leaf.h"
#include "note.h"
#include "proof.h"
#include "tlog.h"

itk_err
itk_proof_verify(const uint8_t *p, size_t len,
		 const itk_pb_key_bundle_body *bundle, const uint8_t id[32],
		 itk_proof_info *out)
{
	const uint8_t *magic, *entry, *path, *cpb;
	uint8_t lh[TLOG_HASH_LEN], n;
	uint16_t elen;
	uint32_t cplen;
	uint64_t index;
	note_verifier key;
	checkpoint cp;
	vault_leaf l;
	itk_reader r;
	itk_err e;

	memset(out, 0, sizeof(*out));
	itk_reader_init(&r, p, len);
	if ((e = itk_get_view(&r, ITK_PROOF_MAGIC_LEN, &magic)) != ITK_OK) {
		return e;
	}
	if (memcmp(magic, ITK_PROOF_MAGIC, ITK_PROOF_MAGIC_LEN) != 0) {
		return ITK_E_FORMAT;
	}
	if ((e = itk_get_u64(&r, &index)) != ITK_OK ||
	    (e = itk_get_u16(&r, &elen)) != ITK_OK) {
		return e;
	}
	if (elen > VAULT_LEAF_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_get_view(&r, elen, &entry)) != ITK_OK ||
	    (e = itk_get_u8(&r, &n)) != ITK_OK) {
		return e;
	}
	if (n > TLOG_PROOF_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_get_view(&r, (size_t)n * TLOG_HASH_LEN, &path)) !=
		ITK_OK ||
	    (e = itk_get_u32(&r, &cplen)) != ITK_OK) {
		return e;
	}
	if (cplen > CHECKPOINT_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_get_view(&r, cplen, &cpb)) != ITK_OK ||
	    (e = itk_reader_end(&r)) != ITK_OK) {
		return e;
	}
	/* The log key as the organisation published it. */
	if (bundle->log_public_key.len != NOTE_PK_LEN ||
	    bundle->origin == NULL ||
	    note_verifier_init(&key, bundle->origin, strlen(bundle->origin),
			       NOTE_TYPE_ED25519,
			       bundle->log_public_key.data) != ITK_OK) {
		return ITK_E_VERIFY;
	}
	if (checkpoint_open(cpb, cplen, &key, &cp, NULL) != ITK_OK) {
		return ITK_E_VERIFY;
	}
	/* The entry must be the leaf of exactly this submission. */
	if (vault_leaf_decode(entry, elen, &l) != ITK_OK ||
	    l.kind != VAULT_LEAF_MESSAGE ||
	    /* A deletion leaf proves the opposite of what is asked. */
	    (l.flags & VAULT_LEAF_F_DELETED) != 0 || l.key_len != 32 ||
	    l.db_len != 8 || memcmp(l.db, "messages", 8) != 0 ||
	    sodium_memcmp(l.key, id, 32) != 0) {
		return ITK_E_VERIFY;
	}
	tlog_leaf_hash(lh, entry, elen);
	if (tlog_verify_inclusion(lh, index, cp.size, path, n, cp.root) !=
	    ITK_OK) {
		return ITK_E_VERIFY;
	}
	out->leaf_index = index;
	out->tree_size = cp.size;
	memcpy(out->root, cp.root, 32);
	out->leaf_time = l.time;
	return ITK_OK;
}
