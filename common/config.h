/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_CONFIG_H
#define ITK_CONFIG_H

/*
 * Strict per-process configuration: one "key = value" per line, '#' starts
 * a comment line, blank lines are fine.  Keys are [a-z0-9_.]+; a value runs
 * to the end of the line with surrounding blanks removed.  A duplicate key,
 * a malformed line, or a key that the process never asks for (a typo) is an
 * error that names the line: a mistyped limit must not silently fall back
 * to its default.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ITK_CONFIG_SIZE_MAX (64u * 1024u)
#define ITK_CONFIG_KEYS_MAX 256u
#define ITK_CONFIG_LINE_MAX 1024u

typedef struct itk_config itk_config;

/*
 * Parses text (len bytes, need not be NUL-terminated).  On failure returns
 * ITK_E_CONFIG (or ITK_E_TOO_BIG/ITK_E_NOMEM) and writes a message naming
 * the line to err.
 */
itk_err itk_config_parse(const char *text, size_t len, itk_config **out,
			 char *err, size_t errlen) ITK_WUR;
/* Reads and parses a file, capped at ITK_CONFIG_SIZE_MAX. */
itk_err itk_config_load(const char *path, itk_config **out, char *err,
			size_t errlen) ITK_WUR;
/* An empty configuration (every getter returns its default). */
itk_config *itk_config_new_empty(void);
void itk_config_free(itk_config *c);

/* Returns the value of key, or def if absent.  Marks key as used. */
const char *itk_config_str(itk_config *c, const char *key, const char *def);
/* Parses key as a decimal in [min, max]; absent gives def. */
itk_err itk_config_u64(itk_config *c, const char *key, uint64_t def,
		       uint64_t min, uint64_t max, uint64_t *out, char *err,
		       size_t errlen) ITK_WUR;
/* "true"/"false"/"yes"/"no"/"1"/"0"; absent gives def. */
itk_err itk_config_bool(itk_config *c, const char *key, bool def, bool *out,
			char *err, size_t errlen) ITK_WUR;
/*
 * After all getters ran: ITK_E_CONFIG naming the first key that no getter
 * asked for.
 */
itk_err itk_config_check_unused(const itk_config *c, char *err,
				size_t errlen) ITK_WUR;

/* Strict decimal parse of s into [min, max]; no sign, no blanks. */
itk_err itk_parse_u64(const char *s, uint64_t min, uint64_t max,
		      uint64_t *out) ITK_WUR;

#endif
