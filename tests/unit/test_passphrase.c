/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "passphrase.h"

static const itk_lang langs[] = {ITK_LANG_EN, ITK_LANG_RU, ITK_LANG_UK};

static int
setup(void **state)
{
	(void)state;
	return itk_crypto_init() == ITK_OK ? 0 : -1;
}

/* Fixed data words: 1, 2, ... scaled over the list. */
static void
fixed_phrase(itk_lang lang, char *out, size_t outlen)
{
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
	size_t size = itk_passphrase_list_size(lang);

	for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
		idx[i] = (uint16_t)((i * 977 + 13) % size);
	}
	assert_int_equal(itk_passphrase_from_indices(lang, idx, out, outlen),
			 ITK_OK);
}

/* Splits a generated phrase (single spaces) into word pointers. */
static size_t
split(char *s, char *w[], size_t max)
{
	size_t n = 0;

	for (char *p = s; *p != '\0' && n < max;) {
		w[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL) {
			break;
		}
		*p++ = '\0';
	}
	return n;
}

static void
join(char *out, size_t outlen, char *w[], size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k =
		    snprintf(out + o, outlen - o, "%s%s", i ? " " : "", w[i]);

		assert_true(k > 0 && (size_t)k < outlen - o);
		o += (size_t)k;
	}
}

static void
word_lists_keep_their_rules(void **state)
{
	(void)state;
	for (size_t l = 0; l < 3; l++) {
		size_t size = itk_passphrase_list_size(langs[l]);

		/* A power of two, >= 1024: 8 data words carry >= 80 bits. */
		assert_true(size >= 1024 && (size & (size - 1)) == 0);
		assert_null(itk_passphrase_word(langs[l], size));
		assert_int_equal(strlen(itk_passphrase_list_sha256(langs[l])),
				 64);
		for (size_t i = 0; i < size; i++) {
			const char *w = itk_passphrase_word(langs[l], i);
			size_t len = strlen(w);

			assert_true(len >= 3 &&
				    len <= ITK_PASSPHRASE_WORD_MAX);
			assert_int_equal(
			    strspn(w, "abcdefghijklmnopqrstuvwxyz"), len);
			if (i + 1 < size) {
				const char *next =
				    itk_passphrase_word(langs[l], i + 1);

				/* Sorted, distinct, and no word is a prefix
				 * of another. */
				assert_true(strcmp(w, next) < 0);
				assert_true(strncmp(w, next, len) != 0);
			}
		}
	}
	/* ITK_LANG_OTHER falls back to English. */
	assert_string_equal(itk_passphrase_word(ITK_LANG_OTHER, 0),
			    itk_passphrase_word(ITK_LANG_EN, 0));
}

static void
salt_is_the_documented_hash(void **state)
{
	uint8_t salt[ITK_PASSPHRASE_SALT_LEN], h[32];
	const char *s = "intake-v1 passphrase salt";

	(void)state;
	itk_passphrase_salt(salt);
	crypto_hash_sha256(h, (const uint8_t *)s, strlen(s));
	assert_memory_equal(salt, h, sizeof(salt));
}

static void
generate_gives_valid_phrases_in_each_language(void **state)
{
	(void)state;
	for (size_t l = 0; l < 3; l++) {
		for (int k = 0; k < 50; k++) {
			char pp[ITK_PASSPHRASE_MAX], copy[ITK_PASSPHRASE_MAX];
			char *w[ITK_PASSPHRASE_WORDS + 1];
			uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
			itk_lang got;

			assert_int_equal(
			    itk_passphrase_generate(langs[l], pp, sizeof(pp)),
			    ITK_OK);
			assert_int_equal(itk_passphrase_parse(pp, &got, canon),
					 ITK_OK);
			assert_int_equal(got, langs[l]);
			assert_memory_equal(canon, "intake-v1 passphrase", 21);
			memcpy(copy, pp, sizeof(pp));
			assert_int_equal(
			    split(copy, w, ITK_PASSPHRASE_WORDS + 1),
			    ITK_PASSPHRASE_WORDS);
		}
	}
}

static void
generate_refuses_small_buffer(void **state)
{
	char small[20];

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(
	    itk_passphrase_generate(ITK_LANG_EN, small, sizeof(small)),
	    ITK_E_RANGE);
	assert_int_equal(small[0], '\0');
	assert_int_equal(itk_passphrase_generate(ITK_LANG_EN, small, 0),
			 ITK_E_RANGE);
}

static void
from_indices_checks_range_and_room(void **state)
{
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS] = {0};
	char pp[ITK_PASSPHRASE_MAX];
	size_t need;

	(void)state;
	idx[3] = (uint16_t)itk_passphrase_list_size(ITK_LANG_UK);
	assert_int_equal(
	    itk_passphrase_from_indices(ITK_LANG_UK, idx, pp, sizeof(pp)),
	    ITK_E_RANGE);
	idx[3] = 0;
	assert_int_equal(
	    itk_passphrase_from_indices(ITK_LANG_UK, idx, pp, sizeof(pp)),
	    ITK_OK);
	need = strlen(pp) + 1;
	assert_int_equal(
	    itk_passphrase_from_indices(ITK_LANG_UK, idx, pp, need), ITK_OK);
	assert_int_equal(
	    itk_passphrase_from_indices(ITK_LANG_UK, idx, pp, need - 1),
	    ITK_E_RANGE);
}

static void
case_and_blanks_do_not_matter(void **state)
{
	char pp[ITK_PASSPHRASE_MAX], messy[ITK_PASSPHRASE_MAX];
	uint8_t a[ITK_PASSPHRASE_CANON_LEN], b[ITK_PASSPHRASE_CANON_LEN];
	size_t o = 0;

	(void)state;
	fixed_phrase(ITK_LANG_RU, pp, sizeof(pp));
	assert_int_equal(itk_passphrase_parse(pp, NULL, a), ITK_OK);
	/* Upper case, tabs, newlines, dashes, commas, dots. */
	messy[o++] = '\t';
	for (const char *p = pp; *p != '\0'; p++) {
		if (*p == ' ') {
			messy[o] = (o % 3) ? '-' : ',';
			o++;
			messy[o++] = '\n';
			messy[o++] = ' ';
		} else {
			messy[o] = (o % 2) ? (char)(*p - 'a' + 'A') : *p;
			o++;
		}
	}
	messy[o++] = '.';
	messy[o] = '\0';
	assert_int_equal(itk_passphrase_parse(messy, NULL, b), ITK_OK);
	assert_memory_equal(a, b, sizeof(a));
}

static void
every_single_word_typo_is_caught(void **state)
{
	(void)state;
	for (size_t l = 0; l < 3; l++) {
		char pp[ITK_PASSPHRASE_MAX];
		char *w[ITK_PASSPHRASE_WORDS];
		uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
		size_t size = itk_passphrase_list_size(langs[l]);

		fixed_phrase(langs[l], pp, sizeof(pp));
		assert_int_equal(split(pp, w, ITK_PASSPHRASE_WORDS),
				 ITK_PASSPHRASE_WORDS);
		for (size_t i = 0; i < ITK_PASSPHRASE_WORDS; i++) {
			char typo[ITK_PASSPHRASE_MAX], *orig = w[i];
			size_t k = 0;

			/* Another real word: the checksum catches it. */
			while (strcmp(itk_passphrase_word(langs[l], k),
				      orig) != 0) {
				k++;
			}
			w[i] = (char *)itk_passphrase_word(langs[l],
							   (k + 1) % size);
			join(typo, sizeof(typo), w, ITK_PASSPHRASE_WORDS);
			assert_int_equal(
			    itk_passphrase_parse(typo, NULL, canon),
			    ITK_E_CHECKSUM);
			w[i] = orig;
		}
		/* Two words swapped: order matters. */
		{
			char swapped[ITK_PASSPHRASE_MAX], *t = w[0];

			w[0] = w[1];
			w[1] = t;
			join(swapped, sizeof(swapped), w,
			     ITK_PASSPHRASE_WORDS);
			assert_int_equal(
			    itk_passphrase_parse(swapped, NULL, canon),
			    ITK_E_CHECKSUM);
		}
	}
}

static void
unknown_words_are_refused(void **state)
{
	char pp[ITK_PASSPHRASE_MAX], bad[ITK_PASSPHRASE_MAX + 64];
	char *w[ITK_PASSPHRASE_WORDS];
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
	const char *subst[] = {
	    "zzzzzz",                   /* not a word */
	    "curl1",                    /* a digit */
	    "\xd0\xba\xd0\xbe\xd1\x82", /* Cyrillic UTF-8 */
	    "abcdefghijklmnop",         /* longer than any word */
	    "a\001b",                   /* control byte */
	};

	(void)state;
	fixed_phrase(ITK_LANG_EN, pp, sizeof(pp));
	assert_int_equal(split(pp, w, ITK_PASSPHRASE_WORDS),
			 ITK_PASSPHRASE_WORDS);
	for (size_t s = 0; s < sizeof(subst) / sizeof(subst[0]); s++) {
		char *orig = w[4];

		w[4] = (char *)subst[s];
		join(bad, sizeof(bad), w, ITK_PASSPHRASE_WORDS);
		assert_int_equal(itk_passphrase_parse(bad, NULL, canon),
				 ITK_E_WORD);
		w[4] = orig;
	}
	/* A word from another list mixed in (not in English). */
	{
		char *orig = w[2];
		const char *ru = "zhuk"; /* in ru.txt, not in en.txt */

		w[2] = (char *)ru;
		join(bad, sizeof(bad), w, ITK_PASSPHRASE_WORDS);
		assert_int_equal(itk_passphrase_parse(bad, NULL, canon),
				 ITK_E_WORD);
		w[2] = orig;
	}
	/* A prefix of a word is not the word. */
	{
		char *orig = w[0], prefix[ITK_PASSPHRASE_WORD_MAX + 1];

		snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(orig) - 1,
			 orig);
		w[0] = prefix;
		join(bad, sizeof(bad), w, ITK_PASSPHRASE_WORDS);
		assert_int_equal(itk_passphrase_parse(bad, NULL, canon),
				 ITK_E_WORD);
		w[0] = orig;
	}
}

static void
word_count_and_length_limits(void **state)
{
	char pp[ITK_PASSPHRASE_MAX], buf[ITK_PASSPHRASE_MAX * 2];
	char *w[ITK_PASSPHRASE_WORDS + 1];
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN];
	size_t len;

	(void)state;
	assert_int_equal(itk_passphrase_parse("", NULL, canon), ITK_E_RANGE);
	assert_int_equal(itk_passphrase_parse("  \t\n ", NULL, canon),
			 ITK_E_RANGE);
	fixed_phrase(ITK_LANG_EN, pp, sizeof(pp));
	len = strlen(pp);
	/* Exactly ITK_PASSPHRASE_MAX - 1 bytes (blanks appended): fine. */
	memcpy(buf, pp, len);
	memset(buf + len, ' ', ITK_PASSPHRASE_MAX - 1 - len);
	buf[ITK_PASSPHRASE_MAX - 1] = '\0';
	assert_int_equal(itk_passphrase_parse(buf, NULL, canon), ITK_OK);
	/* One byte more: refused before anything is looked up. */
	buf[ITK_PASSPHRASE_MAX - 1] = ' ';
	buf[ITK_PASSPHRASE_MAX] = '\0';
	assert_int_equal(itk_passphrase_parse(buf, NULL, canon),
			 ITK_E_TOO_BIG);
	/* Eight words, and ten words. */
	memcpy(buf, pp, len + 1);
	assert_int_equal(split(buf, w, ITK_PASSPHRASE_WORDS),
			 ITK_PASSPHRASE_WORDS);
	join(pp, sizeof(pp), w, ITK_PASSPHRASE_WORDS - 1);
	assert_int_equal(itk_passphrase_parse(pp, NULL, canon), ITK_E_RANGE);
	w[ITK_PASSPHRASE_WORDS] = w[0];
	join(pp, sizeof(pp), w, ITK_PASSPHRASE_WORDS + 1);
	assert_int_equal(itk_passphrase_parse(pp, NULL, canon), ITK_E_RANGE);
	/* Many words (more than the parser stores) still count as range. */
	assert_int_equal(
	    itk_passphrase_parse("a b c d e f g h i j k l m n o p q r s t u v",
				 NULL, canon),
	    ITK_E_RANGE);
}

static void
derive_is_deterministic_and_distinct(void **state)
{
	char a[ITK_PASSPHRASE_MAX], b[ITK_PASSPHRASE_MAX];
	itk_identity x, y, z;
	const uint8_t zero[sizeof(itk_identity)] = {0};
	uint8_t pk[ITK_PK_LEN];

	(void)state;
	fixed_phrase(ITK_LANG_UK, a, sizeof(a));
	assert_int_equal(itk_passphrase_generate(ITK_LANG_UK, b, sizeof(b)),
			 ITK_OK);
	assert_int_equal(itk_passphrase_derive(a, &x), ITK_OK);
	/* Upper case: the same identity. */
	for (char *p = a; *p != '\0'; p++) {
		if (*p != ' ') {
			*p = (char)(*p - 'a' + 'A');
		}
	}
	assert_int_equal(itk_passphrase_derive(a, &y), ITK_OK);
	assert_memory_equal(&x, &y, sizeof(x));
	assert_int_equal(itk_passphrase_derive(b, &z), ITK_OK);
	assert_memory_not_equal(x.reply_pk, z.reply_pk, ITK_PK_LEN);
	assert_memory_not_equal(x.mailbox_id, z.mailbox_id,
				ITK_MAILBOX_ID_LEN);
	/* The mailbox id is not the public key, and sk matches pk. */
	assert_memory_not_equal(x.reply_pk, x.mailbox_id, ITK_PK_LEN);
	crypto_scalarmult_base(pk, x.reply_sk);
	assert_memory_equal(pk, x.reply_pk, ITK_PK_LEN);
	itk_identity_wipe(&x);
	assert_memory_equal(&x, zero, sizeof(x));
	itk_identity_wipe(NULL);
	itk_identity_wipe(&y);
	itk_identity_wipe(&z);
}

static void
derive_errors_leave_no_identity(void **state)
{
	itk_identity id;
	char pp[ITK_PASSPHRASE_MAX];
	char *w[ITK_PASSPHRASE_WORDS], bad[ITK_PASSPHRASE_MAX];

	(void)state;
	fixed_phrase(ITK_LANG_EN, pp, sizeof(pp));
	assert_int_equal(split(pp, w, ITK_PASSPHRASE_WORDS),
			 ITK_PASSPHRASE_WORDS);
	w[8] = w[0];
	join(bad, sizeof(bad), w, ITK_PASSPHRASE_WORDS);
	assert_int_equal(itk_passphrase_derive(bad, &id), ITK_E_CHECKSUM);
	assert_int_equal(itk_passphrase_derive("not a passphrase", &id),
			 ITK_E_RANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(word_lists_keep_their_rules),
	    cmocka_unit_test(salt_is_the_documented_hash),
	    cmocka_unit_test(generate_gives_valid_phrases_in_each_language),
	    cmocka_unit_test(generate_refuses_small_buffer),
	    cmocka_unit_test(from_indices_checks_range_and_room),
	    cmocka_unit_test(case_and_blanks_do_not_matter),
	    cmocka_unit_test(every_single_word_typo_is_caught),
	    cmocka_unit_test(unknown_words_are_refused),
	    cmocka_unit_test(word_count_and_length_limits),
	    cmocka_unit_test(derive_is_deterministic_and_distinct),
	    cmocka_unit_test(derive_errors_leave_no_identity),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
