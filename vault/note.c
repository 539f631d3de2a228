/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP signed notes and tlog cosignatures (note.h).
 *
 * Ed25519 is called from libsodium directly here, not through itk_sign:
 * itk_sign prepends Intake's own domain-separation context, while a note
 * signature is fixed by the C2SP spec to cover exactly the note text (its
 * format is its domain separation: the log key signs nothing else).
 */
#include "note.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "crypto.h"

#define ED25519_SIG_LEN 64u
#define COSIG_LEN       (4u + 8u + ED25519_SIG_LEN)
#define NOTE_SIG_LEN    (4u + ED25519_SIG_LEN)
/* Decoded size of the largest accepted base64 signature. */
#define NOTE_SIG_BIN_MAX (NOTE_SIG_B64_MAX / 4u * 3u)

/* U+2014 EM DASH, then a space: every signature line starts so. */
static const uint8_t sig_prefix[4] = {0xe2, 0x80, 0x94, 0x20};
static const char cosig_header[] = "cosignature/v1\ntime ";

struct note_signer {
	note_verifier v;
	uint8_t *sk; /* sodium_malloc'd NOTE_SK_LEN bytes */
};

/* --- UTF-8 and names ---------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at p (left > 0 bytes), strictly as Go's
 * utf8.DecodeRune accepts it: no overlong forms, no surrogates, nothing
 * above U+10FFFF.  Returns its length, or 0 if invalid.
 */
static size_t
utf8_next(const uint8_t *p, size_t left, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n) {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		return 0;
	}
	*cp = c;
	return n;
}

/* Unicode White_Space, as Go's unicode.IsSpace (which Go's note package
 * uses to refuse key names). */
static bool
is_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

/* Valid UTF-8 with no control character other than newline. */
static bool
text_chars_ok(const uint8_t *p, size_t len)
{
	uint32_t c;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_next(p + i, len - i, &c);
		if (n == 0 || (c < 0x20 && c != '\n')) {
			return false;
		}
		i += n;
	}
	return true;
}

int
note_name_valid(const char *name, size_t len)
{
	const uint8_t *p = (const uint8_t *)name;
	uint32_t c;

	if (len == 0 || len > NOTE_NAME_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_next(p + i, len - i, &c);
		if (n == 0 || c < 0x20 || c == 0x7f || c == '+' ||
		    is_space(c)) {
			return 0;
		}
		i += n;
	}
	return 1;
}

uint32_t
note_key_id(const char *name, size_t len, uint8_t type,
	    const uint8_t pk[NOTE_PK_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	const uint8_t sep[2] = {0x0a, type};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, len);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, NOTE_PK_LEN);
	crypto_hash_sha256_final(&st, h);
	return itk_load_u32(h);
}

/* Strict standard base64 (padding required, canonical trailing bits).
 * ITK_E_FORMAT unless all of in decodes into at most max bytes. */
static itk_err
b64_decode(uint8_t *out, size_t max, const char *in, size_t inlen,
	   size_t *outlen)
{
	const char *end = NULL;

	/* libsodium 1.0.18 reads every byte 0x80-0xff as '/' (found by
	 * fuzz_note): only the alphabet may reach it. */
	for (size_t i = 0; i < inlen; i++) {
		if ((unsigned char)in[i] >= 0x80) {
			return ITK_E_FORMAT;
		}
	}
	if (inlen == 0 ||
	    sodium_base642bin(out, max, in, inlen, NULL, outlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + inlen) {
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

static itk_err
b64_append(itk_buf *out, const uint8_t *in, size_t len)
{
	/* Only short values are encoded here: keys and signatures. */
	char
	    tmp[sodium_base64_ENCODED_LEN(96, sodium_base64_VARIANT_ORIGINAL)];

	if (len > 96) {
		return ITK_E_INTERNAL;
	}
	sodium_bin2base64(tmp, sizeof(tmp), in, len,
			  sodium_base64_VARIANT_ORIGINAL);
	return itk_buf_put(out, tmp, strlen(tmp));
}

/* --- Parsing ------------------------------------------------------------ */

static itk_err
parse_sig_line(const uint8_t *line, size_t len, note_sig *s)
{
	uint8_t bin[NOTE_SIG_BIN_MAX];
	const uint8_t *sp;
	size_t rest, binlen = 0;
	itk_err r;

	if (len < sizeof(sig_prefix) ||
	    memcmp(line, sig_prefix, sizeof(sig_prefix)) != 0) {
		return ITK_E_FORMAT;
	}
	line += sizeof(sig_prefix);
	rest = len - sizeof(sig_prefix);
	if ((sp = memchr(line, ' ', rest)) == NULL) {
		return ITK_E_FORMAT;
	}
	s->name = (const char *)line;
	s->name_len = (size_t)(sp - line);
	s->b64 = (const char *)sp + 1;
	s->b64_len = rest - s->name_len - 1;
	if (!note_name_valid(s->name, s->name_len)) {
		return ITK_E_FORMAT;
	}
	if (s->b64_len > NOTE_SIG_B64_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((r = b64_decode(bin, sizeof(bin), s->b64, s->b64_len, &binlen)) !=
	    ITK_OK) {
		return r;
	}
	if (binlen < 5) { /* key id and at least one signature byte */
		return ITK_E_FORMAT;
	}
	s->key_id = itk_load_u32(bin);
	return ITK_OK;
}

itk_err
note_parse(const uint8_t *p, size_t len, note_msg *out)
{
	size_t split, off;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if (len > NOTE_MAX) {
		return ITK_E_TOO_BIG;
	}
	if (len < 2 || !text_chars_ok(p, len)) {
		return ITK_E_FORMAT;
	}
	/* The text ends at the last blank line (signed-note: "separated from
	 * the signatures by the last empty line"). */
	for (split = len - 1; split > 0; split--) {
		if (p[split - 1] == '\n' && p[split] == '\n') {
			break;
		}
	}
	if (split == 0) {
		return ITK_E_FORMAT;
	}
	off = split + 1; /* first byte of the signature block */
	if (off >= len || p[len - 1] != '\n') {
		return ITK_E_FORMAT;
	}
	out->text = p;
	out->text_len = split; /* up to and including the text's "\n" */
	while (off < len) {
		const uint8_t *nl = memchr(p + off, '\n', len - off);
		size_t line_len = (size_t)(nl - (p + off));
		if (out->nsigs == NOTE_SIGS_MAX) {
			r = ITK_E_TOO_BIG;
			goto fail;
		}
		if ((r = parse_sig_line(p + off, line_len,
					&out->sigs[out->nsigs])) != ITK_OK) {
			goto fail;
		}
		out->nsigs++;
		off += line_len + 1;
	}
	return ITK_OK;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}

/* --- Verifier keys ------------------------------------------------------ */

itk_err
note_verifier_init(note_verifier *v, const char *name, size_t len,
		   uint8_t type, const uint8_t pk[NOTE_PK_LEN])
{
	memset(v, 0, sizeof(*v));
	if (!note_name_valid(name, len)) {
		return ITK_E_FORMAT;
	}
	if (type != NOTE_TYPE_ED25519 && type != NOTE_TYPE_COSIG) {
		return ITK_E_RANGE;
	}
	memcpy(v->name, name, len);
	v->name[len] = '\0';
	v->name_len = len;
	v->type = type;
	memcpy(v->pk, pk, NOTE_PK_LEN);
	v->key_id = note_key_id(name, len, type, pk);
	return ITK_OK;
}

itk_err
note_verifier_parse(const char *s, size_t len, note_verifier *out)
{
	uint8_t id[4], key[1 + NOTE_PK_LEN];
	const char *plus;
	size_t name_len, keylen = 0;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((plus = memchr(s, '+', len)) == NULL) {
		return ITK_E_FORMAT;
	}
	name_len = (size_t)(plus - s);
	/* name "+" 8 hex "+" base64 */
	if (len - name_len < 1 + 8 + 1 + 1 || plus[9] != '+' ||
	    itk_unhex(id, sizeof(id), plus + 1, 8) != ITK_OK) {
		return ITK_E_FORMAT;
	}
	if ((r = b64_decode(key, sizeof(key), plus + 10, len - name_len - 10,
			    &keylen)) != ITK_OK ||
	    keylen != sizeof(key)) {
		return ITK_E_FORMAT;
	}
	if ((r = note_verifier_init(out, s, name_len, key[0], key + 1)) !=
	    ITK_OK) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	if (out->key_id != itk_load_u32(id)) {
		memset(out, 0, sizeof(*out));
		return ITK_E_FORMAT;
	}
	return ITK_OK;
}

itk_err
note_verifier_format(const note_verifier *v, itk_buf *out)
{
	uint8_t key[1 + NOTE_PK_LEN];
	itk_err r;

	key[0] = v->type;
	memcpy(key + 1, v->pk, NOTE_PK_LEN);
	if ((r = itk_buf_put(out, v->name, v->name_len)) != ITK_OK ||
	    (r = itk_buf_printf(out, "+%08" PRIx32 "+", v->key_id)) !=
		ITK_OK) {
		return r;
	}
	return b64_append(out, key, sizeof(key));
}

/* --- Verification ------------------------------------------------------- */

static bool
sig_is_from(const note_sig *s, const note_verifier *v)
{
	return s->key_id == v->key_id && s->name_len == v->name_len &&
	       memcmp(s->name, v->name, v->name_len) == 0;
}

itk_err
note_verify(const note_msg *n, const note_verifier *v)
{
	uint8_t bin[NOTE_SIG_BIN_MAX];
	size_t found = 0, binlen;

	if (v->type != NOTE_TYPE_ED25519) {
		return ITK_E_RANGE;
	}
	for (size_t i = 0; i < n->nsigs; i++) {
		const note_sig *s = &n->sigs[i];
		if (!sig_is_from(s, v)) {
			continue; /* unknown keys are ignored */
		}
		/* A known key's bad signature rejects the whole note. */
		if (b64_decode(bin, sizeof(bin), s->b64, s->b64_len,
			       &binlen) != ITK_OK ||
		    binlen != NOTE_SIG_LEN ||
		    crypto_sign_verify_detached(bin + 4, n->text, n->text_len,
						v->pk) != 0) {
			return ITK_E_VERIFY;
		}
		found++;
	}
	return found > 0 ? ITK_OK : ITK_E_KEY_UNKNOWN;
}

itk_err
note_open(const uint8_t *p, size_t len, const note_verifier *v, note_msg *out)
{
	itk_err r;

	if ((r = note_parse(p, len, out)) != ITK_OK) {
		return r;
	}
	return note_verify(out, v);
}

/* The cosignature/v1 signed message for text at ts. */
static itk_err
cosig_message(const uint8_t *text, size_t len, uint64_t ts, itk_buf *m)
{
	itk_err r;

	if ((r = itk_buf_put(m, cosig_header, sizeof(cosig_header) - 1)) !=
		ITK_OK ||
	    (r = itk_buf_printf(m, "%" PRIu64 "\n", ts)) != ITK_OK ||
	    (r = itk_buf_put(m, text, len)) != ITK_OK) {
		return r;
	}
	return ITK_OK;
}

itk_err
note_verify_cosignature(const note_msg *n, const note_verifier *v,
			uint64_t *timestamp)
{
	uint8_t bin[NOTE_SIG_BIN_MAX];
	itk_buf *m = NULL;
	size_t found = 0, binlen;
	uint64_t ts, newest = 0;
	itk_err r;

	if (v->type != NOTE_TYPE_COSIG) {
		return ITK_E_RANGE;
	}
	if ((m = itk_buf_new(n->text_len + 64)) == NULL) {
		return ITK_E_NOMEM;
	}
	for (size_t i = 0; i < n->nsigs; i++) {
		const note_sig *s = &n->sigs[i];
		if (!sig_is_from(s, v)) {
			continue;
		}
		if (b64_decode(bin, sizeof(bin), s->b64, s->b64_len,
			       &binlen) != ITK_OK ||
		    binlen != COSIG_LEN) {
			r = ITK_E_VERIFY;
			goto out;
		}
		ts = itk_load_u64(bin + 4);
		if (ts > (uint64_t)INT64_MAX) {
			r = ITK_E_VERIFY;
			goto out;
		}
		itk_buf_reset(m);
		if ((r = cosig_message(n->text, n->text_len, ts, m)) !=
		    ITK_OK) {
			goto out;
		}
		if (crypto_sign_verify_detached(bin + 12, itk_buf_ptr(m),
						itk_buf_len(m), v->pk) != 0) {
			r = ITK_E_VERIFY;
			goto out;
		}
		newest = ts > newest ? ts : newest;
		found++;
	}
	if (found == 0) {
		r = ITK_E_KEY_UNKNOWN;
		goto out;
	}
	if (timestamp != NULL) {
		*timestamp = newest;
	}
	r = ITK_OK;
out:
	itk_buf_free(m);
	return r;
}

/* --- Signing ------------------------------------------------------------ */

itk_err
note_signer_new(const char *name, uint8_t type, const uint8_t sk[NOTE_SK_LEN],
		note_signer **out)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk2[crypto_sign_SECRETKEYBYTES];
	note_signer *s = NULL;
	itk_err r;

	*out = NULL;
	if ((r = itk_crypto_init()) != ITK_OK) {
		return r;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ITK_E_NOMEM;
	}
	/* The public half must be the one the seed makes, or every signature
	 * would name a key that cannot verify it. */
	memcpy(seed, sk, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk2, seed) != 0 ||
	    memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	if ((r = note_verifier_init(&s->v, name, strlen(name), type, pk)) !=
	    ITK_OK) {
		goto out;
	}
	if ((s->sk = sodium_malloc(NOTE_SK_LEN)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(s->sk, sk, NOTE_SK_LEN);
	*out = s;
	s = NULL; /* transferred */
	r = ITK_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk2, sizeof(sk2));
	note_signer_free(s);
	return r;
}

void
note_signer_free(note_signer *s)
{
	if (s == NULL) {
		return;
	}
	if (s->sk != NULL) {
		sodium_free(s->sk); /* wipes */
	}
	free(s);
}

const note_verifier *
note_signer_verifier(const note_signer *s)
{
	return &s->v;
}

/* Appends "— name base64(bin)\n". */
static itk_err
put_sig_line(itk_buf *out, const note_verifier *v, const uint8_t *bin,
	     size_t len)
{
	itk_err r;

	if ((r = itk_buf_put(out, sig_prefix, sizeof(sig_prefix))) != ITK_OK ||
	    (r = itk_buf_put(out, v->name, v->name_len)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, ' ')) != ITK_OK ||
	    (r = b64_append(out, bin, len)) != ITK_OK) {
		return r;
	}
	return itk_buf_put_u8(out, '\n');
}

static bool
text_valid(const uint8_t *text, size_t len)
{
	/* Non-empty, ends in exactly one newline (a trailing blank line
	 * would blur the text/signature boundary), no control chars. */
	return len > 0 && len <= NOTE_MAX && text[len - 1] == '\n' &&
	       (len == 1 || text[len - 2] != '\n') && text_chars_ok(text, len);
}

itk_err
note_sign(const note_signer *s, const uint8_t *text, size_t len, itk_buf *out)
{
	uint8_t bin[NOTE_SIG_LEN];
	itk_err r;

	if (s->v.type != NOTE_TYPE_ED25519) {
		return ITK_E_RANGE;
	}
	if (!text_valid(text, len) || len == 1) {
		return ITK_E_FORMAT;
	}
	itk_store_u32(bin, s->v.key_id);
	if (crypto_sign_detached(bin + 4, NULL, text, len, s->sk) != 0) {
		return ITK_E_CRYPTO;
	}
	if ((r = itk_buf_put(out, text, len)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, '\n')) != ITK_OK) {
		return r;
	}
	return put_sig_line(out, &s->v, bin, sizeof(bin));
}

itk_err
note_cosign_line(const note_signer *s, const uint8_t *text, size_t len,
		 uint64_t timestamp, itk_buf *out)
{
	uint8_t bin[COSIG_LEN];
	itk_buf *m = NULL;
	itk_err r;

	if (s->v.type != NOTE_TYPE_COSIG || timestamp > (uint64_t)INT64_MAX) {
		return ITK_E_RANGE;
	}
	if (!text_valid(text, len) || len == 1) {
		return ITK_E_FORMAT;
	}
	if ((m = itk_buf_new(len + 64)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = cosig_message(text, len, timestamp, m)) != ITK_OK) {
		goto out;
	}
	itk_store_u32(bin, s->v.key_id);
	itk_store_u64(bin + 4, timestamp);
	if (crypto_sign_detached(bin + 12, NULL, itk_buf_ptr(m),
				 itk_buf_len(m), s->sk) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	r = put_sig_line(out, &s->v, bin, sizeof(bin));
out:
	itk_buf_free(m);
	return r;
}
