/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the submitter's proof reader (client/proof.c, itk_proof_verify)
 * and the vault log's leaf decoder (vault/leaf.h, vault_leaf_decode),
 * with the fixed test log key of fuzz.h.  The first input byte picks a
 * mode:
 *
 *   0  the rest is a whole proof, verified as is: never a crash, only the
 *      documented errors.
 *   1  the rest is a log entry.  The harness builds the one-leaf tree over
 *      it, signs its checkpoint with the test log key and assembles the
 *      proof, so the fuzzer reaches the leaf checks behind the signature:
 *      it must verify exactly when the entry is a "messages" leaf of kind
 *      message, not deleted, whose key is the id asked for, and never for
 *      another id.
 *   2  the rest is a leaf: vault_leaf_decode; a decoded leaf re-encodes to
 *      the same bytes (one encoding per leaf).
 */
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "fuzz.h"
#include "leaf.h"
#include "note.h"
#include "proof.h"
#include "tlog.h"

#define ORIGIN "fuzz.test/log"

static note_signer *signer;
static itk_pb_key_bundle_body bundle = INTAKE__V1__KEY_BUNDLE_BODY__INIT;

static void
setup(void)
{
	const struct fuzz_keys *k = fuzz_keys();

	if (signer != NULL) {
		return;
	}
	FUZZ_CHECK(note_signer_new(ORIGIN, NOTE_TYPE_ED25519, k->log_sk,
				   &signer) == ITK_OK);
	bundle.version = 1;
	bundle.origin = ORIGIN;
	bundle.log_public_key.data = (uint8_t *)k->log_pk;
	bundle.log_public_key.len = NOTE_PK_LEN;
}

static int
proof_err_ok(itk_err r)
{
	return r == ITK_E_VERIFY || r == ITK_E_FORMAT || r == ITK_E_SHORT ||
	       r == ITK_E_TRAILING || r == ITK_E_TOO_BIG || r == ITK_E_NOMEM;
}

static void
mode_raw(const uint8_t *p, size_t n)
{
	static const uint8_t id[32];
	itk_proof_info info;
	itk_err r = itk_proof_verify(p, n, &bundle, id, &info);

	FUZZ_CHECK(r == ITK_OK || proof_err_ok(r));
}

/* magic | index 0 | entry | n = 0 | checkpoint (size 1, root = leaf). */
static void
mode_signed(const uint8_t *entry, size_t n)
{
	uint8_t root[TLOG_HASH_LEN], id[32], other[32];
	itk_buf *body = itk_buf_new(CHECKPOINT_MAX);
	itk_buf *note = itk_buf_new(2 * CHECKPOINT_MAX);
	itk_buf *proof = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_proof_info info;
	vault_leaf l;
	itk_err r;
	int want;

	FUZZ_CHECK(body != NULL && note != NULL && proof != NULL);
	if (n > UINT16_MAX) {
		goto out;
	}
	tlog_leaf_hash(root, entry, n);
	FUZZ_CHECK(checkpoint_body(ORIGIN, 1, root, body) == ITK_OK);
	FUZZ_CHECK(note_sign(signer, itk_buf_ptr(body), itk_buf_len(body),
			     note) == ITK_OK);
	FUZZ_CHECK(itk_buf_put(proof, ITK_PROOF_MAGIC, ITK_PROOF_MAGIC_LEN) ==
		       ITK_OK &&
		   itk_buf_put_u64(proof, 0) == ITK_OK &&
		   itk_buf_put_u16(proof, (uint16_t)n) == ITK_OK &&
		   itk_buf_put(proof, entry, n) == ITK_OK &&
		   itk_buf_put_u8(proof, 0) == ITK_OK &&
		   itk_buf_put_u32(proof, (uint32_t)itk_buf_len(note)) ==
		       ITK_OK &&
		   itk_buf_put(proof, itk_buf_ptr(note), itk_buf_len(note)) ==
		       ITK_OK);

	/* The id to ask for: the leaf's key when it has 32 bytes. */
	memset(id, 0x42, sizeof(id));
	want = vault_leaf_decode(entry, n, &l) == ITK_OK &&
	       l.kind == VAULT_LEAF_MESSAGE && l.db_len == 8 &&
	       memcmp(l.db, "messages", 8) == 0 && l.key_len == 32;
	if (want) {
		memcpy(id, l.key, 32);
	}
	/* A deletion leaf is no proof of holding the message. */
	want = want && (l.flags & VAULT_LEAF_F_DELETED) == 0;
	r = itk_proof_verify(itk_buf_ptr(proof), itk_buf_len(proof), &bundle,
			     id, &info);
	FUZZ_CHECK(r == ITK_OK || proof_err_ok(r));
	FUZZ_CHECK((r == ITK_OK) == want);
	if (r == ITK_OK) {
		FUZZ_CHECK(info.leaf_index == 0 && info.tree_size == 1);
		FUZZ_CHECK(memcmp(info.root, root, sizeof(root)) == 0);
		memcpy(other, id, sizeof(other));
		other[31] ^= 1;
		FUZZ_CHECK(itk_proof_verify(itk_buf_ptr(proof),
					    itk_buf_len(proof), &bundle, other,
					    &info) != ITK_OK);
	}
out:
	itk_buf_free(proof);
	itk_buf_free(note);
	itk_buf_free(body);
}

static void
mode_leaf(const uint8_t *p, size_t n)
{
	uint8_t out[VAULT_LEAF_MAX];
	vault_leaf l;
	size_t len = 0;
	itk_err r = vault_leaf_decode(p, n, &l);

	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_VERSION || r == ITK_E_FORMAT ||
			   r == ITK_E_SHORT || r == ITK_E_TRAILING ||
			   r == ITK_E_RANGE);
		return;
	}
	FUZZ_CHECK(l.time % VAULT_LEAF_TIME_STEP == 0);
	FUZZ_CHECK(vault_leaf_encode(&l, out, sizeof(out), &len) == ITK_OK);
	FUZZ_CHECK(len == n && memcmp(out, p, n) == 0);
	(void)vault_leaf_kind_name(l.kind);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	setup();
	switch (data[0] % 3) {
	case 0:
		mode_raw(data + 1, size - 1);
		break;
	case 1:
		mode_signed(data + 1, size - 1);
		break;
	default:
		mode_leaf(data + 1, size - 1);
		break;
	}
	return 0;
}
