/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed notes and checkpoints: Go's known answers
 * (tests/vectors/tlog/note.txt), strict parsing of hostile notes, keys and
 * checkpoint bodies, the fork guard, and cosignatures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <sodium.h>

#include "buf.h"
#include "checkpoint.h"
#include "file.h"
#include "note.h"
#include "tlog_test_env.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

#define H TLOG_HASH_LEN

/* --- The known-answer file ---------------------------------------------- */

typedef struct {
	char skey[256], vkey[256], vkey2[256];
	char text[256], sig[256], sig2[256];
} note_kat;

/* Copies value into out with "\n" escapes turned into newlines. */
static void
unescape(char *out, size_t cap, const char *v, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		assert_true(o + 1 < cap);
		if (v[i] == '\\' && i + 1 < len && v[i + 1] == 'n') {
			out[o++] = '\n';
			i++;
		} else {
			out[o++] = v[i];
		}
	}
	out[o] = '\0';
}

static void
load_kat(note_kat *k)
{
	itk_buf *f = NULL;
	const char *p, *end;

	memset(k, 0, sizeof(*k));
	assert_int_equal(itk_file_read(TEST_SRCDIR
				       "/tests/vectors/tlog/note.txt",
				       1u << 16, &f),
			 ITK_OK);
	p = (const char *)itk_buf_ptr(f);
	end = p + itk_buf_len(f);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		if (*p != '#' && sp != NULL) {
			size_t kl = (size_t)(sp - p),
			       vl = (size_t)(le - sp - 1);
			char *dst = NULL;
			if (kl == 4 && memcmp(p, "skey", 4) == 0) {
				dst = k->skey;
			} else if (kl == 4 && memcmp(p, "vkey", 4) == 0) {
				dst = k->vkey;
			} else if (kl == 5 && memcmp(p, "vkey2", 5) == 0) {
				dst = k->vkey2;
			} else if (kl == 4 && memcmp(p, "text", 4) == 0) {
				dst = k->text;
			} else if (kl == 3 && memcmp(p, "sig", 3) == 0) {
				dst = k->sig;
			} else if (kl == 4 && memcmp(p, "sig2", 4) == 0) {
				dst = k->sig2;
			}
			assert_non_null(dst);
			unescape(dst, 256, sp + 1, vl);
		}
		p = le + 1;
	}
	itk_buf_free(f);
	assert_true(k->skey[0] && k->vkey[0] && k->vkey2[0] && k->text[0] &&
		    k->sig[0] && k->sig2[0]);
}

/* The Ed25519 secret key in Go's "PRIVATE+KEY+name+id+base64(1||seed)". */
static void
sk_from_go(const char *skey, uint8_t sk[NOTE_SK_LEN])
{
	const char *b64 = skey;

	/* PRIVATE+KEY+name+id+: the base64 itself may hold '+'. */
	for (int i = 0; i < 4; i++) {
		b64 = strchr(b64, '+');
		assert_non_null(b64);
		b64++;
	}
	uint8_t raw[33], pk[32];
	size_t n = 0;

	assert_int_equal(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64),
					   NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(n, 33);
	assert_int_equal(raw[0], 1);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, raw + 1), 0);
}

static void
make_key(uint8_t sk[NOTE_SK_LEN])
{
	uint8_t pk[32];

	assert_int_equal(crypto_sign_keypair(pk, sk), 0);
}

/* --- Notes -------------------------------------------------------------- */

static void
note_go_known_answers(void **state)
{
	note_kat k;
	uint8_t sk[NOTE_SK_LEN];
	note_signer *s = NULL;
	note_verifier peter, enoch, other;
	itk_buf *b = itk_buf_new(4096);
	char want[600];
	note_msg m;

	(void)state;
	assert_int_equal(itk_crypto_init(), ITK_OK);
	load_kat(&k);
	sk_from_go(k.skey, sk);
	assert_int_equal(
	    note_signer_new("PeterNeumann", NOTE_TYPE_ED25519, sk, &s),
	    ITK_OK);
	/* Our verifier key string is Go's, byte for byte. */
	assert_int_equal(note_verifier_format(note_signer_verifier(s), b),
			 ITK_OK);
	assert_int_equal(itk_buf_len(b), strlen(k.vkey));
	assert_memory_equal(itk_buf_ptr(b), k.vkey, strlen(k.vkey));
	/* Our signed note is Go's, byte for byte (Ed25519 is deterministic).
	 */
	itk_buf_reset(b);
	assert_int_equal(
	    note_sign(s, (const uint8_t *)k.text, strlen(k.text), b), ITK_OK);
	snprintf(want, sizeof(want), "%s\n%s", k.text, k.sig);
	assert_int_equal(itk_buf_len(b), strlen(want));
	assert_memory_equal(itk_buf_ptr(b), want, strlen(want));
	/* Go's two-signature note opens for either key. */
	assert_int_equal(note_verifier_parse(k.vkey, strlen(k.vkey), &peter),
			 ITK_OK);
	assert_int_equal(note_verifier_parse(k.vkey2, strlen(k.vkey2), &enoch),
			 ITK_OK);
	assert_int_equal(peter.key_id, 0xc74f20a3u);
	snprintf(want, sizeof(want), "%s\n%s%s", k.text, k.sig, k.sig2);
	assert_int_equal(
	    note_open((const uint8_t *)want, strlen(want), &peter, &m),
	    ITK_OK);
	assert_int_equal(m.nsigs, 2);
	assert_int_equal(m.text_len, strlen(k.text));
	assert_int_equal(
	    note_open((const uint8_t *)want, strlen(want), &enoch, &m),
	    ITK_OK);
	/* A key that did not sign: unknown, not "verified". */
	make_key(sk);
	assert_int_equal(note_verifier_init(&other, "PeterNeumann", 12,
					    NOTE_TYPE_ED25519, sk + 32),
			 ITK_OK);
	assert_int_equal(
	    note_open((const uint8_t *)want, strlen(want), &other, &m),
	    ITK_E_KEY_UNKNOWN);
	/* A line claiming Peter's name and key id but carrying Enoch's
	 * signature bytes: a known key's bad signature rejects the note. */
	uint8_t raw[68];
	char b64[96];
	size_t rawlen = 0;
	const char *eb64 = strchr(k.sig2 + 4, ' ') + 1;
	assert_int_equal(
	    sodium_base642bin(raw, sizeof(raw), eb64, strlen(eb64) - 1, NULL,
			      &rawlen, NULL, sodium_base64_VARIANT_ORIGINAL),
	    0);
	assert_int_equal(rawlen, 68);
	itk_store_u32(raw, peter.key_id);
	sodium_bin2base64(b64, sizeof(b64), raw, rawlen,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof(want), "%s\n\xe2\x80\x94 PeterNeumann %s\n%s",
		 k.text, b64, k.sig);
	assert_int_equal(
	    note_open((const uint8_t *)want, strlen(want), &peter, &m),
	    ITK_E_VERIFY);
	sodium_memzero(sk, sizeof(sk));
	note_signer_free(s);
	itk_buf_free(b);
}

static void
note_bit_flips_never_verify(void **state)
{
	note_kat k;
	uint8_t buf[600];
	note_verifier peter;
	note_msg m;
	size_t len;
	unsigned bad = 0;

	(void)state;
	load_kat(&k);
	assert_int_equal(note_verifier_parse(k.vkey, strlen(k.vkey), &peter),
			 ITK_OK);
	len = (size_t)snprintf((char *)buf, sizeof(buf), "%s\n%s", k.text,
			       k.sig);
	assert_int_equal(note_open(buf, len, &peter, &m), ITK_OK);
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(note_open(buf, len, &peter, &m),
					     ITK_OK);
			buf[i] ^= (uint8_t)(1u << bit);
			bad++;
		}
	}
	assert_int_equal(bad, len * 8);
	/* Every truncation fails too. */
	for (size_t n = 0; n < len; n++) {
		assert_int_not_equal(note_open(buf, n, &peter, &m), ITK_OK);
	}
}

typedef struct {
	const char *note;
	itk_err want;
} bad_note;

static void
malformed_notes_refused(void **state)
{
	/* A well-formed signature line to splice into bad notes. */
	static const char *good_sig = "\xe2\x80\x94 a/b AAAAAAA=\n";
	static const bad_note cases[] = {
	    {"", ITK_E_FORMAT},
	    {"\n", ITK_E_FORMAT},
	    {"text\n", ITK_E_FORMAT},
	    {"text\n\n", ITK_E_FORMAT}, /* no signature */
	    {"text\n\n- a/b AAAAAAA=\n",
	     ITK_E_FORMAT}, /* hyphen, not em dash */
	    {"text\n\n\xe2\x80\x94 a/b AAAAAAA=", ITK_E_FORMAT}, /* no \n */
	    {"text\n\n\xe2\x80\x94  AAAAAAA=\n", ITK_E_FORMAT},  /* no name */
	    {"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", ITK_E_FORMAT}, /* '+' */
	    {"text\n\n\xe2\x80\x94 a\xc2\xa0"
	     "b AAAAAAA=\n",
	     ITK_E_FORMAT},                                /* NBSP in name */
	    {"text\n\n\xe2\x80\x94 a/b\n", ITK_E_FORMAT},  /* no sig */
	    {"text\n\n\xe2\x80\x94 a/b \n", ITK_E_FORMAT}, /* empty */
	    {"text\n\n\xe2\x80\x94 a/b AAAA\n", ITK_E_FORMAT},    /* 3 bytes */
	    {"text\n\n\xe2\x80\x94 a/b AAAAAAA\n", ITK_E_FORMAT}, /* no pad */
	    {"text\n\n\xe2\x80\x94 a/b AAAAAAB=\n",
	     ITK_E_FORMAT}, /* non-canonical trailing bits */
	    {"text\n\n\xe2\x80\x94 a/b AAAA AAA=\n", ITK_E_FORMAT},
	    {"text\r\n\n\xe2\x80\x94 a/b AAAAAAA=\n", ITK_E_FORMAT}, /* CR */
	    {"te\txt\n\n\xe2\x80\x94 a/b AAAAAAA=\n", ITK_E_FORMAT}, /* TAB */
	    {"te\xc0\xafxt\n\n\xe2\x80\x94 a/b AAAAAAA=\n",
	     ITK_E_FORMAT}, /* overlong */
	    {"te\xed\xa0\x80xt\n\n\xe2\x80\x94 a/b AAAAAAA=\n",
	     ITK_E_FORMAT}, /* surrogate */
	    {"te\xf4\x90\x80\x80xt\n\n\xe2\x80\x94 a/b AAAAAAA=\n",
	     ITK_E_FORMAT}, /* > U+10FFFF */
	    {"te\xe2\x80xt\n\n\xe2\x80\x94 a/b AAAAAAA=\n",
	     ITK_E_FORMAT}, /* truncated sequence */
	    {"text\n\n\xe2\x80\x94 a/b AAAAAAA=\n\n", ITK_E_FORMAT},
	};
	note_msg m;
	char big[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		itk_err r = note_parse((const uint8_t *)cases[i].note,
				       strlen(cases[i].note), &m);
		if (r != cases[i].want) {
			fail_msg("case %zu: got %d want %d", i, (int)r,
				 (int)cases[i].want);
		}
		assert_int_equal(m.nsigs, 0);
	}
	/* The splice itself is fine (so the cases above fail for their
	 * reason only). */
	snprintf(big, sizeof(big), "text\n\n%s", good_sig);
	assert_int_equal(note_parse((const uint8_t *)big, strlen(big), &m),
			 ITK_OK);
	assert_int_equal(m.nsigs, 1);
	assert_int_equal(m.text_len, 5);
}

static void
oversized_notes_refused(void **state)
{
	itk_buf *b = itk_buf_new(NOTE_MAX + 4096);
	note_msg m;

	(void)state;
	/* NOTE_SIGS_MAX signatures pass, one more does not. */
	assert_int_equal(itk_buf_put_str(b, "text\n\n"), ITK_OK);
	for (unsigned i = 0; i < NOTE_SIGS_MAX; i++) {
		assert_int_equal(
		    itk_buf_printf(b, "\xe2\x80\x94 k%u AAAAAAA=\n", i),
		    ITK_OK);
	}
	assert_int_equal(note_parse(itk_buf_ptr(b), itk_buf_len(b), &m),
			 ITK_OK);
	assert_int_equal(m.nsigs, NOTE_SIGS_MAX);
	assert_int_equal(itk_buf_put_str(b, "\xe2\x80\x94 x AAAAAAA=\n"),
			 ITK_OK);
	assert_int_equal(note_parse(itk_buf_ptr(b), itk_buf_len(b), &m),
			 ITK_E_TOO_BIG);
	/* A whole note over NOTE_MAX. */
	itk_buf_reset(b);
	for (size_t i = 0; i < NOTE_MAX; i += 8) {
		assert_int_equal(itk_buf_put_str(b, "aaaaaaa\n"), ITK_OK);
	}
	assert_int_equal(itk_buf_put_str(b, "\n\xe2\x80\x94 a AAAAAAA=\n"),
			 ITK_OK);
	assert_int_equal(note_parse(itk_buf_ptr(b), itk_buf_len(b), &m),
			 ITK_E_TOO_BIG);
	/* One signature over NOTE_SIG_B64_MAX characters. */
	itk_buf_reset(b);
	assert_int_equal(itk_buf_put_str(b, "text\n\n\xe2\x80\x94 a "),
			 ITK_OK);
	for (size_t i = 0; i < NOTE_SIG_B64_MAX + 4; i += 4) {
		assert_int_equal(itk_buf_put_str(b, "AAAA"), ITK_OK);
	}
	assert_int_equal(itk_buf_put_str(b, "\n"), ITK_OK);
	assert_int_equal(note_parse(itk_buf_ptr(b), itk_buf_len(b), &m),
			 ITK_E_TOO_BIG);
	/* A name over NOTE_NAME_MAX. */
	char name[NOTE_NAME_MAX + 2];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(note_name_valid(name, strlen(name)));
	assert_true(note_name_valid(name, NOTE_NAME_MAX));
	itk_buf_free(b);
}

static void
verifier_key_manglings_refused(void **state)
{
	note_kat k;
	note_verifier v;
	char b[128];
	size_t len;

	(void)state;
	load_kat(&k);
	len = strlen(k.vkey);
	assert_int_equal(note_verifier_parse(k.vkey, len, &v), ITK_OK);
	/* Every proper substring (as Go's TestNewVerifier). */
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i + 1; j <= len; j++) {
			if (i == 0 && j == len) {
				continue;
			}
			assert_int_not_equal(
			    note_verifier_parse(k.vkey + i, j - i, &v),
			    ITK_OK);
		}
	}
	/* Every byte incremented. */
	memcpy(b, k.vkey, len + 1);
	for (size_t i = 0; i < len; i++) {
		b[i]++;
		assert_int_not_equal(note_verifier_parse(b, len, &v), ITK_OK);
		b[i]--;
	}
	/* Go's two: wrong key length, unknown algorithm, ids adjusted. */
	static const char *bad[] = {
	    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TWBADKEY==",
	    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW",
	};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(
		    note_verifier_parse(bad[i], strlen(bad[i]), &v),
		    ITK_E_FORMAT);
	}
}

/* --- Checkpoint bodies -------------------------------------------------- */

/* Copies tmpl into out with each '@' replaced by root; returns length. */
static size_t
expand(char *out, size_t cap, const char *tmpl, const char *root)
{
	size_t o = 0, rl = strlen(root);

	for (const char *t = tmpl; *t != '\0'; t++) {
		if (*t == '@') {
			assert_true(o + rl < cap);
			memcpy(out + o, root, rl);
			o += rl;
		} else {
			assert_true(o + 1 < cap);
			out[o++] = *t;
		}
	}
	out[o] = '\0';
	return o;
}

static void
checkpoint_parse_strict(void **state)
{
	static const char root[] =
	    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
	static const struct {
		const char *tmpl; /* '@' = the root line */
		itk_err want;
	} cases[] = {
	    {"example.com/log\n20852163\n@\n", ITK_OK},
	    {"example.com/log\n0\n@\n", ITK_OK},
	    {"example.com/log\n20852163\n@\next one\next two\n", ITK_OK},
	    {"\n1\n@\n", ITK_E_FORMAT},   /* empty origin */
	    {"o\n01\n@\n", ITK_E_FORMAT}, /* leading zero */
	    {"o\n00\n@\n", ITK_E_FORMAT},
	    {"o\n-1\n@\n", ITK_E_FORMAT},
	    {"o\n+1\n@\n", ITK_E_FORMAT},
	    {"o\n1 \n@\n", ITK_E_FORMAT},
	    {"o\n\n@\n", ITK_E_FORMAT},
	    {"o\n4611686018427387905\n@\n", ITK_E_RANGE},  /* 2^62 + 1 */
	    {"o\n18446744073709551616\n@\n", ITK_E_RANGE}, /* 2^64 */
	    {"o\n123456789012345678901\n@\n", ITK_E_FORMAT},
	    {"o\n1\n@", ITK_E_FORMAT},      /* no final newline */
	    {"o\n1\n@\n\n", ITK_E_FORMAT},  /* empty extension */
	    {"o\n1\n@=\n", ITK_E_FORMAT},   /* 45 characters */
	    {"o\n1\nAAAA\n", ITK_E_FORMAT}, /* 3 bytes */
	    {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
	     ITK_E_FORMAT}, /* no padding */
	    {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
	     ITK_E_FORMAT},                  /* non-canonical trailing bits */
	    {"o\x01\n1\n@\n", ITK_E_FORMAT}, /* control character */
	};
	char text[256];
	checkpoint cp;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = expand(text, sizeof(text), cases[i].tmpl, root);
		itk_err r = checkpoint_parse((const uint8_t *)text, n, &cp);
		if (r != cases[i].want) {
			fail_msg("case %zu: got %d want %d", i, (int)r,
				 (int)cases[i].want);
		}
	}
	/* The third case's fields. */
	n = expand(text, sizeof(text), cases[2].tmpl, root);
	assert_int_equal(checkpoint_parse((const uint8_t *)text, n, &cp),
			 ITK_OK);
	assert_string_equal(cp.origin, "example.com/log");
	assert_int_equal(cp.size, 20852163);
	assert_int_equal(cp.n_ext, 2);
	/* Too many extension lines. */
	itk_buf *b = itk_buf_new(4096);
	assert_int_equal(itk_buf_printf(b, "o\n1\n%s\n", root), ITK_OK);
	for (unsigned i = 0; i <= CHECKPOINT_EXT_MAX; i++) {
		assert_int_equal(itk_buf_put_str(b, "x\n"), ITK_OK);
	}
	assert_int_equal(checkpoint_parse(itk_buf_ptr(b), itk_buf_len(b), &cp),
			 ITK_E_TOO_BIG);
	itk_buf_free(b);
}

/* --- Signing from the store --------------------------------------------- */

typedef struct {
	test_env e;
	note_signer *s;
	uint8_t sk[NOTE_SK_LEN];
} cp_state;

static int
setup(void **state)
{
	static cp_state c;

	if (test_env_open(&c.e, "checkpoint") != 0) {
		return -1;
	}
	uint8_t pk[32];
	if (crypto_sign_keypair(pk, c.sk) != 0 ||
	    note_signer_new("log.example/intake", NOTE_TYPE_ED25519, c.sk,
			    &c.s) != ITK_OK) {
		return -1;
	}
	*state = &c;
	return 0;
}

static int
teardown(void **state)
{
	cp_state *c = *state;

	note_signer_free(c->s);
	c->s = NULL;
	sodium_memzero(c->sk, sizeof(c->sk));
	test_env_close(&c->e);
	return 0;
}

/* Signs the current size in its own write txn; returns the itk_err. */
static itk_err
sign_now(cp_state *c, itk_buf *out)
{
	MDB_txn *txn = NULL;
	itk_err r;

	itk_buf_reset(out);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, 0, &txn), 0);
	r = checkpoint_sign(c->e.t, txn, c->s, out);
	if (r == ITK_OK) {
		assert_int_equal(mdb_txn_commit(txn), 0);
	} else {
		mdb_txn_abort(txn);
	}
	return r;
}

static void
sign_open_and_extend(void **state)
{
	cp_state *c = *state;
	const note_verifier *v = note_signer_verifier(c->s);
	itk_buf *a = itk_buf_new(CHECKPOINT_MAX),
		*b = itk_buf_new(CHECKPOINT_MAX);
	checkpoint ca, cb;
	uint8_t root[H];
	MDB_txn *txn = NULL;
	tlog_proof p;

	/* The empty log can be signed: its root is SHA-256(""). */
	assert_int_equal(sign_now(c, a), ITK_OK);
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &ca, NULL),
	    ITK_OK);
	tlog_empty_root(root);
	assert_int_equal(ca.size, 0);
	assert_memory_equal(ca.root, root, H);

	assert_int_equal(test_env_append(&c->e, 0, 10), 0);
	assert_int_equal(sign_now(c, a), ITK_OK);
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &ca, NULL),
	    ITK_OK);
	assert_int_equal(ca.size, 10);
	assert_string_equal(ca.origin, "log.example/intake");
	/* Same size again: the stored note, unchanged. */
	assert_int_equal(sign_now(c, b), ITK_OK);
	assert_int_equal(itk_buf_len(a), itk_buf_len(b));
	assert_memory_equal(itk_buf_ptr(a), itk_buf_ptr(b), itk_buf_len(a));
	/* Grow, sign, and prove the second extends the first. */
	assert_int_equal(test_env_append(&c->e, 10, 300), 0);
	assert_int_equal(sign_now(c, b), ITK_OK);
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(b), itk_buf_len(b), v, &cb, NULL),
	    ITK_OK);
	assert_int_equal(cb.size, 300);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_prove_consistency(c->e.t, txn, 10, 300, &p),
			 ITK_OK);
	assert_int_equal(
	    tlog_verify_consistency(10, 300, ca.root, cb.root, p.h[0], p.n),
	    ITK_OK);
	itk_buf_reset(a);
	assert_int_equal(checkpoint_latest(c->e.t, txn, a), ITK_OK);
	assert_int_equal(itk_buf_len(a), itk_buf_len(b));
	assert_memory_equal(itk_buf_ptr(a), itk_buf_ptr(b), itk_buf_len(b));
	mdb_txn_abort(txn);
	itk_buf_free(a);
	itk_buf_free(b);
}

/* Overwrites stored hash (level, index) with garbage, as an attacker with
 * the file would. */
static void
tamper_hash(cp_state *c, unsigned level, uint64_t index)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint8_t kb[8], h[H];
	MDB_val k = {8, kb}, v = {H, h};

	memset(h, 0xa5, sizeof(h));
	itk_store_u64(kb, tlog_stored_index(level, index));
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_HASH, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void
two_roots_for_one_size_refused(void **state)
{
	cp_state *c = *state;
	itk_buf *a = itk_buf_new(CHECKPOINT_MAX);

	assert_int_equal(test_env_append(&c->e, 0, 8), 0);
	assert_int_equal(sign_now(c, a), ITK_OK);
	/* The tree under the signed size changes: same size, other root. */
	tamper_hash(c, 3, 0);
	assert_int_equal(sign_now(c, a), ITK_E_EXISTS);
	/* And growing does not launder it. */
	assert_int_equal(test_env_append(&c->e, 8, 9), 0);
	assert_int_equal(sign_now(c, a), ITK_E_VERIFY);
	itk_buf_free(a);
}

static void
truncated_log_refused(void **state)
{
	cp_state *c = *state;
	itk_buf *a = itk_buf_new(CHECKPOINT_MAX);
	MDB_txn *txn = NULL;
	MDB_dbi hdb, edb;
	uint8_t kb[8];
	MDB_val k = {8, kb};

	assert_int_equal(test_env_append(&c->e, 0, 5), 0);
	assert_int_equal(sign_now(c, a), ITK_OK);
	/* Remove the last leaf cleanly (entry and its hashes): the store
	 * is self-consistent at size 4, but 5 was signed. */
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_HASH, 0, &hdb), 0);
	assert_int_equal(mdb_dbi_open(txn, TLOG_DB_ENTRY, 0, &edb), 0);
	itk_store_u64(kb, 4);
	assert_int_equal(mdb_del(txn, edb, &k, NULL), 0);
	itk_store_u64(kb, tlog_stored_index(0, 4));
	assert_int_equal(mdb_del(txn, hdb, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(sign_now(c, a), ITK_E_RANGE);
	itk_buf_free(a);
}

static void
wrong_key_and_altered_checkpoint(void **state)
{
	cp_state *c = *state;
	const note_verifier *v = note_signer_verifier(c->s);
	itk_buf *a = itk_buf_new(CHECKPOINT_MAX), *b = itk_buf_new(4096);
	uint8_t sk2[NOTE_SK_LEN];
	note_verifier same_name;
	note_signer *s2 = NULL;
	checkpoint cp;
	uint8_t *p;

	assert_int_equal(test_env_append(&c->e, 0, 12), 0);
	assert_int_equal(sign_now(c, a), ITK_OK);
	/* Another key under the same name: no signature of its own. */
	make_key(sk2);
	assert_int_equal(note_verifier_init(&same_name, v->name, v->name_len,
					    NOTE_TYPE_ED25519, sk2 + 32),
			 ITK_OK);
	assert_int_equal(checkpoint_open(itk_buf_ptr(a), itk_buf_len(a),
					 &same_name, &cp, NULL),
			 ITK_E_KEY_UNKNOWN);
	/* The size altered: "12" -> "13". */
	p = itk_buf_mutable_ptr(a);
	p[v->name_len + 2] ^= 0x01;
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &cp, NULL),
	    ITK_E_VERIFY);
	p[v->name_len + 2] ^= 0x01;
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &cp, NULL),
	    ITK_OK);
	/* A note by the right key whose origin is another log's. */
	static const char body[] =
	    "other.example/log\n1\nCsUYapGGPo4dkMgIAUqom/"
	    "Xajj7h2fB2MPA3j2jxq2I="
	    "\n";
	assert_int_equal(
	    note_sign(c->s, (const uint8_t *)body, sizeof(body) - 1, b),
	    ITK_OK);
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(b), itk_buf_len(b), v, &cp, NULL),
	    ITK_E_FORMAT);
	/* Signers refuse bad names, bad text and mismatched key halves. */
	assert_int_equal(note_signer_new("a b", NOTE_TYPE_ED25519, sk2, &s2),
			 ITK_E_FORMAT);
	assert_int_equal(note_signer_new("a", 0x07, sk2, &s2), ITK_E_RANGE);
	sk2[40] ^= 1;
	assert_int_equal(note_signer_new("a", NOTE_TYPE_ED25519, sk2, &s2),
			 ITK_E_CRYPTO);
	assert_null(s2);
	itk_buf_reset(b);
	assert_int_equal(note_sign(c->s, (const uint8_t *)"no newline", 10, b),
			 ITK_E_FORMAT);
	assert_int_equal(note_sign(c->s, (const uint8_t *)"two\n\n", 5, b),
			 ITK_E_FORMAT);
	assert_int_equal(note_sign(c->s, (const uint8_t *)"c\x01\n", 3, b),
			 ITK_E_FORMAT);
	sodium_memzero(sk2, sizeof(sk2));
	itk_buf_free(a);
	itk_buf_free(b);
}

static void
cosignature_verifies(void **state)
{
	cp_state *c = *state;
	const note_verifier *v = note_signer_verifier(c->s);
	itk_buf *a = itk_buf_new(CHECKPOINT_MAX);
	uint8_t wsk[NOTE_SK_LEN];
	note_signer *w = NULL;
	note_verifier wv;
	checkpoint cp;
	note_msg m;
	uint64_t ts = 0;
	itk_buf *vk = itk_buf_new(256);

	assert_int_equal(test_env_append(&c->e, 0, 3), 0);
	assert_int_equal(sign_now(c, a), ITK_OK);
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &cp, &m),
	    ITK_OK);
	make_key(wsk);
	assert_int_equal(
	    note_signer_new("witness.example/w1", NOTE_TYPE_COSIG, wsk, &w),
	    ITK_OK);
	/* The witness's vkey round-trips with type 0x04. */
	assert_int_equal(note_verifier_format(note_signer_verifier(w), vk),
			 ITK_OK);
	assert_int_equal(note_verifier_parse((const char *)itk_buf_ptr(vk),
					     itk_buf_len(vk), &wv),
			 ITK_OK);
	assert_int_equal(wv.type, NOTE_TYPE_COSIG);
	/* A witness cannot make plain note signatures, nor a log cosigs. */
	itk_buf *junk = itk_buf_new(1024);
	assert_int_equal(note_sign(w, m.text, m.text_len, junk), ITK_E_RANGE);
	assert_int_equal(note_cosign_line(c->s, m.text, m.text_len, 1, junk),
			 ITK_E_RANGE);
	itk_buf_free(junk);
	assert_int_equal(
	    note_cosign_line(w, m.text, m.text_len, 1679315147, a), ITK_OK);
	/* The log's signature still opens; the cosignature verifies. */
	assert_int_equal(
	    checkpoint_open(itk_buf_ptr(a), itk_buf_len(a), v, &cp, &m),
	    ITK_OK);
	assert_int_equal(m.nsigs, 2);
	assert_int_equal(note_verify_cosignature(&m, &wv, &ts), ITK_OK);
	assert_int_equal(ts, 1679315147);
	/* The log key is no cosigner, and a cosigner no note signer. */
	assert_int_equal(note_verify_cosignature(&m, v, &ts), ITK_E_RANGE);
	assert_int_equal(note_verify(&m, &wv), ITK_E_RANGE);
	/* A flipped bit anywhere in the cosignature's base64 fails. */
	uint8_t *p = itk_buf_mutable_ptr(a);
	size_t off = (size_t)((const uint8_t *)m.sigs[1].b64 - itk_buf_ptr(a));
	for (size_t i = 8; i < 16; i++) { /* inside the timestamp */
		p[off + i] = p[off + i] == 'A' ? 'B' : 'A';
		itk_err r = note_parse(itk_buf_ptr(a), itk_buf_len(a), &m);
		if (r == ITK_OK) {
			r = note_verify_cosignature(&m, &wv, &ts);
		}
		assert_int_not_equal(r, ITK_OK);
		p[off + i] = p[off + i] == 'A' ? 'B' : 'A';
	}
	note_signer_free(w);
	sodium_memzero(wsk, sizeof(wsk));
	itk_buf_free(vk);
	itk_buf_free(a);
}

/* The value of "key" in a known-answer file, unescaped into out. */
static void
kat_get(const itk_buf *f, const char *key, char *out, size_t cap)
{
	const char *p = (const char *)itk_buf_ptr(f);
	const char *end = p + itk_buf_len(f);
	size_t kl = strlen(key);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0 &&
		    p[kl] == ' ') {
			unescape(out, cap, p + kl + 1,
				 (size_t)(le - p - kl - 1));
			return;
		}
		p = le + 1;
	}
	fail_msg("no %s in the known-answer file", key);
}

static void
signer_from_seed(const char *seed_hex, const char *name, uint8_t type,
		 note_signer **out)
{
	uint8_t seed[32], pk[32], sk[NOTE_SK_LEN];

	assert_int_equal(itk_unhex(seed, 32, seed_hex, strlen(seed_hex)),
			 ITK_OK);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_int_equal(note_signer_new(name, type, sk, out), ITK_OK);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
}

static void
checkpoint_known_answer(void **state)
{
	cp_state *c = *state;
	itk_buf *f = NULL, *b = itk_buf_new(CHECKPOINT_MAX);
	char v[512], name[64], want[512];
	note_signer *s = NULL, *w = NULL;
	const char *p, *end;
	MDB_txn *txn = NULL;
	note_verifier wv;
	note_msg m;
	checkpoint cp;
	uint64_t ts = 0;

	assert_int_equal(itk_file_read(TEST_SRCDIR
				       "/tests/vectors/tlog/checkpoint.txt",
				       1u << 16, &f),
			 ITK_OK);
	kat_get(f, "name", name, sizeof(name));
	kat_get(f, "seed", v, sizeof(v));
	signer_from_seed(v, name, NOTE_TYPE_ED25519, &s);
	kat_get(f, "keyid", v, sizeof(v));
	char id[9];
	snprintf(id, sizeof(id), "%08" PRIx32,
		 note_signer_verifier(s)->key_id);
	assert_string_equal(id, v);
	kat_get(f, "vkey", v, sizeof(v));
	assert_int_equal(note_verifier_format(note_signer_verifier(s), b),
			 ITK_OK);
	assert_int_equal(itk_buf_len(b), strlen(v));
	assert_memory_equal(itk_buf_ptr(b), v, strlen(v));
	/* The leaves, appended as the vault would. */
	kat_get(f, "leaves", v, sizeof(v));
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, 0, &txn), 0);
	p = v;
	end = v + strlen(v);
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *te = sp != NULL ? sp : end;
		uint8_t leaf[32];
		size_t n = (size_t)(te - p) / 2;
		if (te - p == 1 && *p == '-') {
			n = 0;
		} else {
			assert_int_equal(
			    itk_unhex(leaf, n, p, (size_t)(te - p)), ITK_OK);
		}
		assert_int_equal(tlog_append(c->e.t, txn, leaf, n, NULL),
				 ITK_OK);
		p = te + 1;
	}
	itk_buf_reset(b);
	assert_int_equal(checkpoint_sign(c->e.t, txn, s, b), ITK_OK);
	assert_int_equal(mdb_txn_commit(txn), 0);
	kat_get(f, "note", want, sizeof(want));
	assert_int_equal(itk_buf_len(b), strlen(want));
	assert_memory_equal(itk_buf_ptr(b), want, strlen(want));
	/* The witness's cosignature line, byte for byte, and it verifies. */
	kat_get(f, "wname", name, sizeof(name));
	kat_get(f, "wseed", v, sizeof(v));
	signer_from_seed(v, name, NOTE_TYPE_COSIG, &w);
	kat_get(f, "wvkey", v, sizeof(v));
	assert_int_equal(note_verifier_parse(v, strlen(v), &wv), ITK_OK);
	assert_int_equal(wv.key_id, note_signer_verifier(w)->key_id);
	kat_get(f, "ts", v, sizeof(v));
	ts = strtoull(v, NULL, 10);
	assert_int_equal(note_parse(itk_buf_ptr(b), itk_buf_len(b), &m),
			 ITK_OK);
	itk_buf *line = itk_buf_new(512);
	assert_int_equal(note_cosign_line(w, m.text, m.text_len, ts, line),
			 ITK_OK);
	kat_get(f, "cosig", v, sizeof(v));
	assert_int_equal(itk_buf_len(line), strlen(v));
	assert_memory_equal(itk_buf_ptr(line), v, strlen(v));
	assert_int_equal(itk_buf_put(b, itk_buf_ptr(line), itk_buf_len(line)),
			 ITK_OK);
	assert_int_equal(checkpoint_open(itk_buf_ptr(b), itk_buf_len(b),
					 note_signer_verifier(s), &cp, &m),
			 ITK_OK);
	assert_int_equal(cp.size, 8);
	uint64_t got_ts = 0;
	assert_int_equal(note_verify_cosignature(&m, &wv, &got_ts), ITK_OK);
	assert_int_equal(got_ts, ts);
	itk_buf_free(line);
	note_signer_free(s);
	note_signer_free(w);
	itk_buf_free(b);
	itk_buf_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(note_go_known_answers),
	    cmocka_unit_test(note_bit_flips_never_verify),
	    cmocka_unit_test(malformed_notes_refused),
	    cmocka_unit_test(oversized_notes_refused),
	    cmocka_unit_test(verifier_key_manglings_refused),
	    cmocka_unit_test(checkpoint_parse_strict),
	    cmocka_unit_test_setup_teardown(sign_open_and_extend, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(two_roots_for_one_size_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(truncated_log_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(wrong_key_and_altered_checkpoint,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(cosignature_verifies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(checkpoint_known_answer, setup,
					    teardown),
	};
	if (itk_crypto_init() != ITK_OK) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
