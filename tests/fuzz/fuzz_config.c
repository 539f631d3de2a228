/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_config_parse and its getters (common/config.c) against a
 * second, deliberately naive reading of the format in config.h: both must
 * agree on whether a text is valid, and on every key's value.  A reader
 * that disagrees with the documented format is a bug even if it does not
 * crash (a limit silently read as something else).
 */
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

/* One "key = value" line as the reference reading sees it. */
struct ref_entry {
	const char *key, *value;
	size_t klen, vlen;
};

static bool
blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.';
}

/*
 * The format of config.h, read line by line.  Returns false if the text
 * is invalid; else fills e[0..*n).
 */
static bool
ref_parse(const char *t, size_t len, struct ref_entry *e, size_t *n)
{
	size_t start = 0;

	*n = 0;
	if (len > ITK_CONFIG_SIZE_MAX) {
		return false;
	}
	while (start < len) {
		const char *nl = memchr(t + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - t) : len;
		const char *s = t + start, *eq;
		size_t l = end - start, ks = 0, ke, vs;

		start = end + 1;
		if (l > ITK_CONFIG_LINE_MAX) {
			return false;
		}
		/* Trailing blanks and a CR (CRLF files) are not content. */
		while (l > 0 && (blank(s[l - 1]) || s[l - 1] == '\r')) {
			l--;
		}
		while (ks < l && blank(s[ks])) {
			ks++;
		}
		if (ks == l || s[ks] == '#') {
			continue;
		}
		if (memchr(s + ks, '\0', l - ks) != NULL ||
		    (eq = memchr(s + ks, '=', l - ks)) == NULL) {
			return false;
		}
		ke = (size_t)(eq - s);
		vs = ke + 1;
		while (ke > ks && blank(s[ke - 1])) {
			ke--;
		}
		while (vs < l && blank(s[vs])) {
			vs++;
		}
		if (ke == ks || *n == ITK_CONFIG_KEYS_MAX) {
			return false;
		}
		for (size_t i = ks; i < ke; i++) {
			if (!key_char(s[i])) {
				return false;
			}
		}
		for (size_t i = 0; i < *n; i++) {
			if (e[i].klen == ke - ks &&
			    memcmp(e[i].key, s + ks, ke - ks) == 0) {
				return false; /* duplicate */
			}
		}
		e[*n] = (struct ref_entry){s + ks, s + vs, ke - ks, l - vs};
		(*n)++;
	}
	return true;
}

/* Strict decimal: digits only, at least one, no overflow. */
static bool
ref_u64(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (s[i] < '0' || s[i] > '9' || *v > (UINT64_MAX - d) / 10) {
			return false;
		}
		*v = *v * 10 + d;
	}
	return true;
}

static bool
value_is(const struct ref_entry *e, const char *w)
{
	return e->vlen == strlen(w) && memcmp(e->value, w, e->vlen) == 0;
}

/* Reads entry e through the getter chosen by i and checks the result. */
static void
check_entry(itk_config *c, const struct ref_entry *e, size_t i)
{
	char key[ITK_CONFIG_LINE_MAX + 1], err[256] = "";
	uint64_t u, ru;
	bool b, ref_ok;
	itk_err r;

	memcpy(key, e->key, e->klen);
	key[e->klen] = '\0';
	switch (i % 3) {
	case 0: {
		const char *v = itk_config_str(c, key, NULL);
		FUZZ_CHECK(v != NULL && strlen(v) == e->vlen);
		FUZZ_CHECK(memcmp(v, e->value, e->vlen) == 0);
		break;
	}
	case 1:
		ref_ok = ref_u64(e->value, e->vlen, &ru);
		r = itk_config_u64(c, key, 7, 0, UINT64_MAX, &u, err,
				   sizeof(err));
		FUZZ_CHECK((r == ITK_OK) == ref_ok);
		FUZZ_CHECK(r == ITK_OK ? u == ru
				       : r == ITK_E_CONFIG && err[0] != '\0');
		break;
	default:
		ref_ok = value_is(e, "true") || value_is(e, "yes") ||
			 value_is(e, "1") || value_is(e, "false") ||
			 value_is(e, "no") || value_is(e, "0");
		r = itk_config_bool(c, key, false, &b, err, sizeof(err));
		FUZZ_CHECK((r == ITK_OK) == ref_ok);
		FUZZ_CHECK(r != ITK_OK ||
			   b == (value_is(e, "true") || value_is(e, "yes") ||
				 value_is(e, "1")));
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_entry ref[ITK_CONFIG_KEYS_MAX];
	const char *text = (const char *)data;
	itk_config *c = NULL;
	char err[256];
	size_t n = 0;
	bool ref_ok;
	itk_err r;

	memset(err, 'x', sizeof(err));
	ref_ok = ref_parse(text, size, ref, &n);
	r = itk_config_parse(text, size, &c, err, sizeof(err));
	if (r != ITK_OK) {
		FUZZ_CHECK(!ref_ok);
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(r == ITK_E_CONFIG || r == ITK_E_TOO_BIG ||
			   r == ITK_E_NOMEM);
		/* The message names the problem and is a C string. */
		FUZZ_CHECK(r == ITK_E_NOMEM ||
			   memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(r == ITK_E_NOMEM || err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(ref_ok);
	FUZZ_CHECK(c != NULL);
	/* Before any getter ran, every key is unused (if there is one). */
	r = itk_config_check_unused(c, err, sizeof(err));
	FUZZ_CHECK(n == 0 ? r == ITK_OK : r == ITK_E_CONFIG);
	for (size_t i = 0; i < n; i++) {
		check_entry(c, &ref[i], i);
	}
	/* A key that cannot be in the file gives the default. */
	FUZZ_CHECK(itk_config_str(c, "NOT-A-KEY", NULL) == NULL);
	FUZZ_CHECK(itk_config_check_unused(c, err, sizeof(err)) == ITK_OK);
	itk_config_free(c);
	return 0;
}
