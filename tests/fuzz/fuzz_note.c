/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the signed-note and checkpoint readers of the Merkle log
 * (vault/note.c, vault/checkpoint.c): notes come from mirrors, witnesses
 * and auditors' disks.  The first input byte picks a mode:
 *
 *   0  note_parse, then note_verify / note_verify_cosignature against the
 *      fixed test keys: every view lies inside the input, errors are the
 *      documented ones.
 *   1  note_verifier_parse: an accepted vkey formats back to the same
 *      string (but for the case of its hex key id) and parses again.
 *   2  checkpoint_parse: an accepted body without extension lines is
 *      rebuilt byte for byte by checkpoint_body.
 *   3  the rest is a note text, signed here with the test log key: if
 *      note_sign takes it, the signed note parses, verifies, and gives the
 *      same text back; one flipped signature byte makes it fail.
 */
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "checkpoint.h"
#include "fuzz.h"
#include "note.h"

static note_signer *signer, *cosigner;

/* The test log key (fuzz.h) as a note signer, and the org key as a
 * witness; made once. */
static void
signers(void)
{
	const struct fuzz_keys *k = fuzz_keys();

	if (signer != NULL) {
		return;
	}
	FUZZ_CHECK(note_signer_new("fuzz.test/log", NOTE_TYPE_ED25519,
				   k->log_sk, &signer) == ITK_OK);
	FUZZ_CHECK(note_signer_new("fuzz.test/witness", NOTE_TYPE_COSIG,
				   k->org_sk, &cosigner) == ITK_OK);
}

static int
inside(const void *v, size_t n, const uint8_t *p, size_t len)
{
	const uint8_t *b = v;

	return n == 0 || (b >= p && n <= len && b - p <= (ptrdiff_t)(len - n));
}

static void
mode_note(const uint8_t *p, size_t n)
{
	note_msg m;
	uint64_t ts = 0;
	itk_err r = note_parse(p, n, &m);

	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_TOO_BIG);
		return;
	}
	FUZZ_CHECK(m.text_len > 0 && inside(m.text, m.text_len, p, n));
	FUZZ_CHECK(m.text[m.text_len - 1] == '\n');
	FUZZ_CHECK(m.nsigs >= 1 && m.nsigs <= NOTE_SIGS_MAX);
	for (size_t i = 0; i < m.nsigs; i++) {
		const note_sig *s = &m.sigs[i];
		FUZZ_CHECK(inside(s->name, s->name_len, p, n));
		FUZZ_CHECK(inside(s->b64, s->b64_len, p, n));
		FUZZ_CHECK(note_name_valid(s->name, s->name_len));
	}
	r = note_verify(&m, note_signer_verifier(signer));
	FUZZ_CHECK(r == ITK_OK || r == ITK_E_VERIFY || r == ITK_E_KEY_UNKNOWN);
	r = note_verify_cosignature(&m, note_signer_verifier(cosigner), &ts);
	FUZZ_CHECK(r == ITK_OK || r == ITK_E_VERIFY || r == ITK_E_KEY_UNKNOWN);
	FUZZ_CHECK(r != ITK_OK || ts <= INT64_MAX);
}

static void
mode_vkey(const uint8_t *p, size_t n)
{
	note_verifier v, v2;
	itk_buf *b;
	itk_err r = note_verifier_parse((const char *)p, n, &v);

	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_TOO_BIG);
		return;
	}
	FUZZ_CHECK(v.type == NOTE_TYPE_ED25519 || v.type == NOTE_TYPE_COSIG);
	FUZZ_CHECK(v.name_len <= NOTE_NAME_MAX && v.name[v.name_len] == '\0');
	FUZZ_CHECK(v.key_id == note_key_id(v.name, v.name_len, v.type, v.pk));
	FUZZ_CHECK((b = itk_buf_new(4096)) != NULL);
	FUZZ_CHECK(note_verifier_format(&v, b) == ITK_OK);
	/* The same string, but for the case of the key id's hex digits
	 * (accepted either way, as Go's note package does). */
	FUZZ_CHECK(itk_buf_len(b) == n);
	FUZZ_CHECK(memcmp(itk_buf_ptr(b), p, v.name_len + 1) == 0);
	FUZZ_CHECK(strncasecmp((const char *)itk_buf_ptr(b) + v.name_len + 1,
			       (const char *)p + v.name_len + 1, 8) == 0);
	FUZZ_CHECK(memcmp(itk_buf_ptr(b) + v.name_len + 9, p + v.name_len + 9,
			  n - v.name_len - 9) == 0);
	FUZZ_CHECK(note_verifier_parse((const char *)itk_buf_ptr(b),
				       itk_buf_len(b), &v2) == ITK_OK);
	FUZZ_CHECK(v2.type == v.type && v2.key_id == v.key_id);
	FUZZ_CHECK(v2.name_len == v.name_len &&
		   memcmp(v2.name, v.name, v.name_len) == 0);
	FUZZ_CHECK(memcmp(v2.pk, v.pk, NOTE_PK_LEN) == 0);
	itk_buf_free(b);
}

static void
mode_checkpoint(const uint8_t *p, size_t n)
{
	checkpoint c;
	itk_buf *b;
	itk_err r = checkpoint_parse(p, n, &c);

	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_RANGE ||
			   r == ITK_E_TOO_BIG);
		return;
	}
	FUZZ_CHECK(c.origin_len > 0 && c.origin_len <= CHECKPOINT_ORIGIN_MAX);
	FUZZ_CHECK(c.origin[c.origin_len] == '\0');
	FUZZ_CHECK(c.n_ext <= CHECKPOINT_EXT_MAX);
	if (c.n_ext > 0) {
		return; /* the body is the three signed lines only */
	}
	FUZZ_CHECK((b = itk_buf_new(CHECKPOINT_MAX)) != NULL);
	r = checkpoint_body(c.origin, c.size, c.root, b);
	/* An origin that parses may still not be a key name. */
	FUZZ_CHECK(r == ITK_OK || r == ITK_E_FORMAT);
	FUZZ_CHECK(r != ITK_OK ||
		   (itk_buf_len(b) == n && memcmp(itk_buf_ptr(b), p, n) == 0));
	itk_buf_free(b);
}

static void
mode_sign(const uint8_t *p, size_t n)
{
	itk_buf *b = itk_buf_new(2 * NOTE_MAX);
	note_msg m;
	uint8_t *mut, *sp;
	size_t len;
	itk_err r;

	FUZZ_CHECK(b != NULL);
	r = note_sign(signer, p, n, b);
	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_TOO_BIG);
		goto out;
	}
	len = itk_buf_len(b);
	r = note_open(itk_buf_ptr(b), len, note_signer_verifier(signer), &m);
	if (r == ITK_E_TOO_BIG) {
		/* A text near the cap: signed, but too big to read back. */
		FUZZ_CHECK(len > NOTE_MAX);
		goto out;
	}
	FUZZ_CHECK(r == ITK_OK);
	FUZZ_CHECK(m.text_len == n && memcmp(m.text, p, n) == 0);
	FUZZ_CHECK(m.nsigs == 1);
	/* A base64 character inside the signature (past the key id),
	 * changed: the signature must no longer verify. */
	mut = itk_buf_mutable_ptr(b);
	sp = memrchr(mut, ' ', len);
	FUZZ_CHECK(sp != NULL && (size_t)(sp - mut) + 30 < len);
	sp[20] = sp[20] == 'A' ? 'B' : 'A';
	r = note_open(mut, len, note_signer_verifier(signer), &m);
	FUZZ_CHECK(r != ITK_OK);
out:
	itk_buf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	signers();
	switch (data[0] % 4) {
	case 0:
		mode_note(data + 1, size - 1);
		break;
	case 1:
		mode_vkey(data + 1, size - 1);
		break;
	case 2:
		mode_checkpoint(data + 1, size - 1);
		break;
	default:
		mode_sign(data + 1, size - 1);
		break;
	}
	return 0;
}
