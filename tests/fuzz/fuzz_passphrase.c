/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_passphrase_parse (common/passphrase.c): the text a frightened
 * person types on a phone, in any of three word lists.  It must never
 * crash, fail only with the documented errors, and when it accepts a text
 * the canonical bytes must be well formed and must name the same identity
 * as the passphrase rebuilt from them (in lower and in upper case).
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "labels.h"
#include "passphrase.h"

/* "intake-v1 passphrase" 0x00: the canonical encoding's prefix. */
static const char canon_prefix[] = "intake-v1 passphrase";

static void
check_canon(const uint8_t *canon, itk_lang lang, uint16_t idx[])
{
	size_t size = itk_passphrase_list_size(lang);
	size_t pl = sizeof(canon_prefix); /* with the NUL separator */

	FUZZ_CHECK(memcmp(canon, canon_prefix, pl) == 0);
	FUZZ_CHECK(memcmp(canon + pl, itk_lang_name(lang), 2) == 0);
	FUZZ_CHECK(canon[pl + 2] == ITK_PASSPHRASE_DATA_WORDS);
	FUZZ_CHECK(pl + 3 + 2 * ITK_PASSPHRASE_DATA_WORDS ==
		   ITK_PASSPHRASE_CANON_LEN);
	for (size_t i = 0; i < ITK_PASSPHRASE_DATA_WORDS; i++) {
		idx[i] = (uint16_t)((canon[pl + 3 + 2 * i] << 8) |
				    canon[pl + 4 + 2 * i]);
		FUZZ_CHECK(idx[i] < size);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t canon[ITK_PASSPHRASE_CANON_LEN],
	    canon2[ITK_PASSPHRASE_CANON_LEN];
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS];
	char text[4 * ITK_PASSPHRASE_MAX], again[ITK_PASSPHRASE_MAX];
	itk_lang lang = ITK_LANG_COUNT, lang2 = ITK_LANG_COUNT;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	itk_err r;

	(void)fuzz_keys(); /* libsodium up */
	memcpy(text, data, n);
	text[n] = '\0';
	r = itk_passphrase_parse(text, &lang, canon);
	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_WORD || r == ITK_E_CHECKSUM ||
			   r == ITK_E_RANGE || r == ITK_E_TOO_BIG);
		return 0;
	}
	FUZZ_CHECK(strlen(text) < ITK_PASSPHRASE_MAX);
	FUZZ_CHECK(lang == ITK_LANG_RU || lang == ITK_LANG_UK ||
		   lang == ITK_LANG_EN);
	check_canon(canon, lang, idx);

	/* The passphrase rebuilt from the indices is the same identity. */
	FUZZ_CHECK(itk_passphrase_from_indices(lang, idx, again,
					       sizeof(again)) == ITK_OK);
	FUZZ_CHECK(itk_passphrase_parse(again, &lang2, canon2) == ITK_OK);
	FUZZ_CHECK(lang2 == lang);
	FUZZ_CHECK(memcmp(canon, canon2, sizeof(canon)) == 0);
	/* Case does not matter. */
	for (char *p = again; *p != '\0'; p++) {
		*p = (char)toupper((unsigned char)*p);
	}
	FUZZ_CHECK(itk_passphrase_parse(again, &lang2, canon2) == ITK_OK);
	FUZZ_CHECK(memcmp(canon, canon2, sizeof(canon)) == 0);
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(canon2, sizeof(canon2));
	return 0;
}
