/* SPDX-License-Identifier: Apache-2.0 */
#include "passphrase.h"

#include <string.h>

#include <sodium.h>

#include "itk_wordlists.h"

/* Domain-separation strings; sizeof includes the NUL, which is the 0x00
 * separator of docs/protocol.md. */
static const char canon_ctx[] = "intake-v1 passphrase";
static const char checksum_ctx[] = "intake-v1 passphrase checksum";
static const char salt_ctx[] = "intake-v1 passphrase salt";

/* One token as typed, folded to lower case.  bad: it held a character no
 * word has, or was too long, so it matches no list. */
typedef struct {
	char w[ITK_PASSPHRASE_WORD_MAX + 1];
	size_t len;
	int bad;
} token;

_Static_assert(sizeof(canon_ctx) + 2 + 1 + 2 * ITK_PASSPHRASE_DATA_WORDS ==
		   ITK_PASSPHRASE_CANON_LEN,
	       "canonical encoding length");
_Static_assert(sizeof(ITK_PASSPHRASE_KDF_CTX) - 1 == crypto_kdf_CONTEXTBYTES,
	       "crypto_kdf context is 8 bytes");
_Static_assert(ITK_PASSPHRASE_SALT_LEN == crypto_pwhash_SALTBYTES,
	       "Argon2 salt length");

/* The list of lang, by the order gen_wordlists.py was given: en, ru, uk. */
static const itk_wordlist *
list_of(itk_lang lang)
{
	switch (lang) {
	case ITK_LANG_RU:
		return &itk_wordlists[1];
	case ITK_LANG_UK:
		return &itk_wordlists[2];
	case ITK_LANG_EN:
	case ITK_LANG_OTHER:
	case ITK_LANG_COUNT:
	default:
		return &itk_wordlists[0];
	}
}

static itk_lang
lang_of(size_t list)
{
	switch (list) {
	case 1:
		return ITK_LANG_RU;
	case 2:
		return ITK_LANG_UK;
	default:
		return ITK_LANG_EN;
	}
}

size_t
itk_passphrase_list_size(itk_lang lang)
{
	return list_of(lang)->size;
}

const char *
itk_passphrase_word(itk_lang lang, size_t i)
{
	const itk_wordlist *l = list_of(lang);

	return i < l->size ? l->words[i] : NULL;
}

const char *
itk_passphrase_list_sha256(itk_lang lang)
{
	return list_of(lang)->sha256;
}

/* Binary search (lists are sorted); -1 if absent. */
static long
find_word(const itk_wordlist *l, const char *w)
{
	size_t lo = 0, hi = l->size;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w, l->words[mid]);

		if (c == 0) {
			return (long)mid;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return -1;
}

static void
make_canon(const itk_wordlist *l,
	   const uint16_t idx[static ITK_PASSPHRASE_DATA_WORDS],
	   uint8_t canon[static ITK_PASSPHRASE_CANON_LEN])
{
	size_t o = 0;

	memcpy(canon, canon_ctx, sizeof(canon_ctx));
	o += sizeof(canon_ctx);
	canon[o++] = (uint8_t)l->code[0];
	canon[o++] = (uint8_t)l->code[1];
	canon[o++] = ITK_PASSPHRASE_DATA_WORDS;
	for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
		canon[o++] = (uint8_t)(idx[i] >> 8);
		canon[o++] = (uint8_t)(idx[i] & 0xff);
	}
}

/* Index of the checksum word: the first two bytes (big-endian) of
 * SHA-256(checksum_ctx 0x00 || canon), reduced to the list size (a power of
 * two, so the mask is unbiased). */
static uint16_t
checksum_index(const itk_wordlist *l,
	       const uint8_t canon[static ITK_PASSPHRASE_CANON_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	uint16_t v;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)checksum_ctx,
				  sizeof(checksum_ctx));
	crypto_hash_sha256_update(&st, canon, ITK_PASSPHRASE_CANON_LEN);
	crypto_hash_sha256_final(&st, h);
	v = (uint16_t)(((unsigned)h[0] << 8 | h[1]) & (l->size - 1));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
	return v;
}

static int
is_separator(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-' ||
	       c == ',' || c == '.';
}

/* Splits s into tokens; *n is the number found, even past max. */
static itk_err
tokenize(const char *s, token *t, size_t max, size_t *n)
{
	size_t len = strnlen(s, ITK_PASSPHRASE_MAX), count = 0;
	token *cur = NULL;

	if (len >= ITK_PASSPHRASE_MAX) {
		return ITK_E_TOO_BIG;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_separator(c)) {
			cur = NULL;
			continue;
		}
		if (cur == NULL) {
			count++;
			if (count > max) {
				/* Keep counting words; store nothing more. */
				cur = &t[max];
				cur->len = 0;
				cur->bad = 1;
				continue;
			}
			cur = &t[count - 1];
			cur->len = 0;
			cur->bad = 0;
		}
		if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
		}
		if (c < 'a' || c > 'z' ||
		    cur->len >= ITK_PASSPHRASE_WORD_MAX) {
			cur->bad = 1;
			continue;
		}
		cur->w[cur->len++] = (char)c;
		cur->w[cur->len] = '\0';
	}
	*n = count;
	return ITK_OK;
}

itk_err
itk_passphrase_parse(const char *passphrase, itk_lang *lang,
		     uint8_t canon[static ITK_PASSPHRASE_CANON_LEN])
{
	/* One spare slot absorbs the words past the ninth. */
	token t[ITK_PASSPHRASE_WORDS + 1];
	uint16_t idx[ITK_PASSPHRASE_WORDS];
	size_t n = 0;
	int saw_checksum_fail = 0;
	itk_err r;

	memset(t, 0, sizeof(t));
	if ((r = tokenize(passphrase, t, ITK_PASSPHRASE_WORDS, &n)) !=
	    ITK_OK) {
		goto out;
	}
	if (n != ITK_PASSPHRASE_WORDS) {
		r = ITK_E_RANGE;
		goto out;
	}
	/*
	 * Lists may share words (ru and uk do), so try each list in a fixed
	 * order (en, ru, uk); the first whose list holds every word and
	 * whose checksum matches wins.  itk_passphrase_generate never issues
	 * a passphrase that an earlier list would also accept.
	 */
	for (size_t l = 0; l < ITK_WORDLIST_COUNT; l++) {
		const itk_wordlist *wl = &itk_wordlists[l];
		size_t i;

		for (i = 0; i < ITK_PASSPHRASE_WORDS; i++) {
			long k = t[i].bad ? -1 : find_word(wl, t[i].w);

			if (k < 0) {
				break;
			}
			idx[i] = (uint16_t)k;
		}
		if (i < ITK_PASSPHRASE_WORDS) {
			continue;
		}
		make_canon(wl, idx, canon);
		if (checksum_index(wl, canon) ==
		    idx[ITK_PASSPHRASE_DATA_WORDS]) {
			if (lang != NULL) {
				*lang = lang_of(l);
			}
			r = ITK_OK;
			goto out;
		}
		saw_checksum_fail = 1;
	}
	sodium_memzero(canon, ITK_PASSPHRASE_CANON_LEN);
	r = saw_checksum_fail ? ITK_E_CHECKSUM : ITK_E_WORD;
out:
	sodium_memzero(t, sizeof(t));
	sodium_memzero(idx, sizeof(idx));
	return r;
}

void
itk_passphrase_salt(uint8_t salt[static ITK_PASSPHRASE_SALT_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	/* The salt string is hashed without its NUL. */
	crypto_hash_sha256(h, (const uint8_t *)salt_ctx, sizeof(salt_ctx) - 1);
	memcpy(salt, h, ITK_PASSPHRASE_SALT_LEN);
}

itk_err
itk_passphrase_kdf(const uint8_t canon[static ITK_PASSPHRASE_CANON_LEN],
		   uint8_t master[static ITK_PASSPHRASE_MASTER_LEN])
{
	uint8_t salt[ITK_PASSPHRASE_SALT_LEN];

	itk_passphrase_salt(salt);
	/* crypto_pwhash fails only when it cannot allocate its memory. */
	if (crypto_pwhash(master, ITK_PASSPHRASE_MASTER_LEN,
			  (const char *)canon, ITK_PASSPHRASE_CANON_LEN, salt,
			  ITK_PASSPHRASE_OPSLIMIT, ITK_PASSPHRASE_MEMLIMIT,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(master, ITK_PASSPHRASE_MASTER_LEN);
		return ITK_E_NOMEM;
	}
	return ITK_OK;
}

itk_err
itk_identity_from_master(
    const uint8_t master[static ITK_PASSPHRASE_MASTER_LEN], itk_identity *out)
{
	uint8_t seed[crypto_box_SEEDBYTES];
	itk_err r = ITK_E_CRYPTO;

	if (crypto_kdf_derive_from_key(seed, sizeof(seed),
				       ITK_PASSPHRASE_SUBKEY_REPLY,
				       ITK_PASSPHRASE_KDF_CTX, master) != 0 ||
	    crypto_box_seed_keypair(out->reply_pk, out->reply_sk, seed) != 0 ||
	    crypto_kdf_derive_from_key(out->mailbox_id, ITK_MAILBOX_ID_LEN,
				       ITK_PASSPHRASE_SUBKEY_MAILBOX,
				       ITK_PASSPHRASE_KDF_CTX, master) != 0) {
		itk_identity_wipe(out);
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	return r;
}

itk_err
itk_passphrase_derive(const char *passphrase, itk_identity *out)
{
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
	uint8_t master[ITK_PASSPHRASE_MASTER_LEN];
	itk_err r;

	if ((r = itk_passphrase_parse(passphrase, NULL, canon)) != ITK_OK ||
	    (r = itk_passphrase_kdf(canon, master)) != ITK_OK ||
	    (r = itk_identity_from_master(master, out)) != ITK_OK) {
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(master, sizeof(master));
	return r;
}

void
itk_identity_wipe(itk_identity *id)
{
	if (id != NULL) {
		sodium_memzero(id, sizeof(*id));
	}
}

itk_err
itk_passphrase_from_indices(
    itk_lang lang, const uint16_t idx[static ITK_PASSPHRASE_DATA_WORDS],
    char *out, size_t outlen)
{
	const itk_wordlist *wl = list_of(lang);
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
	uint16_t all[ITK_PASSPHRASE_WORDS];
	size_t o = 0;
	itk_err r = ITK_E_RANGE;

	if (outlen == 0) {
		return ITK_E_RANGE;
	}
	out[0] = '\0';
	for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
		if (idx[i] >= wl->size) {
			goto out;
		}
		all[i] = idx[i];
	}
	make_canon(wl, all, canon);
	all[ITK_PASSPHRASE_DATA_WORDS] = checksum_index(wl, canon);
	for (size_t i = 0; i < ITK_PASSPHRASE_WORDS; i++) {
		const char *w = wl->words[all[i]];
		size_t wlen = strlen(w), need = wlen + (i > 0 ? 1 : 0);

		/* Room for the word, its separator and the final NUL. */
		if (outlen - o < need + 1) {
			sodium_memzero(out, o);
			out[0] = '\0';
			goto out;
		}
		if (i > 0) {
			out[o++] = ' ';
		}
		memcpy(out + o, w, wlen);
		o += wlen;
	}
	out[o] = '\0';
	r = ITK_OK;
out:
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(all, sizeof(all));
	return r;
}

itk_err
itk_passphrase_generate(itk_lang lang, char *out, size_t outlen)
{
	const itk_wordlist *wl = list_of(lang);
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
	itk_lang got = ITK_LANG_OTHER;
	itk_err r = ITK_E_INTERNAL;

	/*
	 * A passphrase that an earlier list in the parse order also accepts
	 * (every word shared and the checksum matching there too) would
	 * derive another identity: draw again.  That needs all nine words in
	 * both lists and an 11-bit checksum collision, so in practice the
	 * first draw is kept; the bound only guards against a broken RNG.
	 */
	for (int tries = 0; tries < 64; tries++) {
		for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
			idx[i] =
			    (uint16_t)randombytes_uniform((uint32_t)wl->size);
		}
		if ((r = itk_passphrase_from_indices(lang, idx, out,
						     outlen)) != ITK_OK) {
			goto out;
		}
		if ((r = itk_passphrase_parse(out, &got, canon)) != ITK_OK) {
			r = ITK_E_INTERNAL;
			goto out;
		}
		if (list_of(got) == wl) {
			r = ITK_OK;
			goto out;
		}
	}
	r = ITK_E_INTERNAL;
out:
	if (r != ITK_OK && outlen > 0) {
		sodium_memzero(out, outlen);
	}
	sodium_memzero(idx, sizeof(idx));
	sodium_memzero(canon, sizeof(canon));
	return r;
}
