/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

struct entry {
	char *key;
	char *value;
	unsigned line;
	bool used;
};

struct itk_config {
	struct entry e[ITK_CONFIG_KEYS_MAX];
	size_t n;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

itk_config *
itk_config_new_empty(void)
{
	return calloc(1, sizeof(itk_config));
}

void
itk_config_free(itk_config *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].value);
	}
	free(c);
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
valid_key(const char *k, size_t n)
{
	if (n == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = k[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.')) {
			return false;
		}
	}
	return true;
}

static struct entry *
find(const itk_config *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].key, key) == 0) {
			return (struct entry *)&c->e[i];
		}
	}
	return NULL;
}

/* Parses one line [s, s+n); adds an entry unless blank or comment. */
static itk_err
parse_line(itk_config *c, const char *s, size_t n, unsigned lineno, char *err,
	   size_t errlen)
{
	size_t ks, ke, vs, ve, eq;
	struct entry *e;

	while (n > 0 && (is_blank(s[n - 1]) || s[n - 1] == '\r')) {
		n--;
	}
	ks = 0;
	while (ks < n && is_blank(s[ks])) {
		ks++;
	}
	if (ks == n || s[ks] == '#') {
		return ITK_OK;
	}
	for (size_t i = ks; i < n; i++) {
		if (s[i] == '\0') {
			seterr(err, errlen, "line %u: NUL byte", lineno);
			return ITK_E_CONFIG;
		}
	}
	for (eq = ks; eq < n && s[eq] != '='; eq++) {
	}
	if (eq == n) {
		seterr(err, errlen, "line %u: expected 'key = value'", lineno);
		return ITK_E_CONFIG;
	}
	ke = eq;
	while (ke > ks && is_blank(s[ke - 1])) {
		ke--;
	}
	vs = eq + 1;
	while (vs < n && is_blank(s[vs])) {
		vs++;
	}
	ve = n;
	if (!valid_key(s + ks, ke - ks)) {
		seterr(err, errlen,
		       "line %u: key must be lower-case letters, digits, "
		       "'_' or '.'",
		       lineno);
		return ITK_E_CONFIG;
	}
	if (c->n == ITK_CONFIG_KEYS_MAX) {
		seterr(err, errlen, "line %u: more than %u keys", lineno,
		       ITK_CONFIG_KEYS_MAX);
		return ITK_E_TOO_BIG;
	}
	e = &c->e[c->n];
	e->key = strndup(s + ks, ke - ks);
	e->value = strndup(s + vs, ve - vs);
	e->line = lineno;
	e->used = false;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return ITK_E_NOMEM;
	}
	if (find(c, e->key) != NULL) {
		seterr(err, errlen, "line %u: duplicate key '%s'", lineno,
		       e->key);
		free(e->key);
		free(e->value);
		return ITK_E_CONFIG;
	}
	c->n++;
	return ITK_OK;
}

itk_err
itk_config_parse(const char *text, size_t len, itk_config **out, char *err,
		 size_t errlen)
{
	itk_config *c = NULL;
	size_t start = 0;
	unsigned lineno = 1;
	itk_err r = ITK_E_INTERNAL;

	if (len > ITK_CONFIG_SIZE_MAX) {
		seterr(err, errlen, "configuration larger than %u bytes",
		       ITK_CONFIG_SIZE_MAX);
		return ITK_E_TOO_BIG;
	}
	if ((c = itk_config_new_empty()) == NULL) {
		return ITK_E_NOMEM;
	}
	while (start < len) {
		size_t end = start;
		while (end < len && text[end] != '\n') {
			end++;
		}
		if (end - start > ITK_CONFIG_LINE_MAX) {
			seterr(err, errlen, "line %u: longer than %u bytes",
			       lineno, ITK_CONFIG_LINE_MAX);
			r = ITK_E_TOO_BIG;
			goto out;
		}
		r = parse_line(c, text + start, end - start, lineno, err,
			       errlen);
		if (r != ITK_OK) {
			goto out;
		}
		start = end + 1;
		lineno++;
	}
	*out = c;
	c = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_config_free(c);
	return r;
}

itk_err
itk_config_load(const char *path, itk_config **out, char *err, size_t errlen)
{
	itk_buf *b = NULL;
	itk_err r;

	if ((r = itk_file_read(path, ITK_CONFIG_SIZE_MAX, &b)) != ITK_OK) {
		seterr(err, errlen, "%s: %s", path, itk_strerror(r));
		return r;
	}
	r = itk_config_parse((const char *)itk_buf_ptr(b), itk_buf_len(b), out,
			     err, errlen);
	itk_buf_free(b);
	return r;
}

const char *
itk_config_str(itk_config *c, const char *key, const char *def)
{
	struct entry *e = find(c, key);

	if (e == NULL) {
		return def;
	}
	e->used = true;
	return e->value;
}

itk_err
itk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0') {
		return ITK_E_FORMAT;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return ITK_E_FORMAT;
		}
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
			return ITK_E_RANGE;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max) {
		return ITK_E_RANGE;
	}
	*out = v;
	return ITK_OK;
}

itk_err
itk_config_u64(itk_config *c, const char *key, uint64_t def, uint64_t min,
	       uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	struct entry *e = find(c, key);
	itk_err r;

	if (e == NULL) {
		*out = def;
		return ITK_OK;
	}
	e->used = true;
	if ((r = itk_parse_u64(e->value, min, max, out)) != ITK_OK) {
		seterr(err, errlen,
		       "line %u: %s must be a whole number from %llu to %llu",
		       e->line, key, (unsigned long long)min,
		       (unsigned long long)max);
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

itk_err
itk_config_bool(itk_config *c, const char *key, bool def, bool *out, char *err,
		size_t errlen)
{
	struct entry *e = find(c, key);

	if (e == NULL) {
		*out = def;
		return ITK_OK;
	}
	e->used = true;
	if (strcmp(e->value, "true") == 0 || strcmp(e->value, "yes") == 0 ||
	    strcmp(e->value, "1") == 0) {
		*out = true;
	} else if (strcmp(e->value, "false") == 0 ||
		   strcmp(e->value, "no") == 0 || strcmp(e->value, "0") == 0) {
		*out = false;
	} else {
		seterr(err, errlen, "line %u: %s must be true or false",
		       e->line, key);
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

itk_err
itk_config_check_unused(const itk_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		if (!c->e[i].used) {
			seterr(err, errlen, "line %u: unknown key '%s'",
			       c->e[i].line, c->e[i].key);
			return ITK_E_CONFIG;
		}
	}
	return ITK_OK;
}
