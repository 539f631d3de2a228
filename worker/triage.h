/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_TRIAGE_H
#define ITK_TRIAGE_H

/*
 * Triage: queue, urgency and language of one message, from its text, using
 * a rules file the staff can read and edit (format in docs/triage.md).  The
 * worker and the intake-triage command call exactly this code.
 */

#include <stddef.h>

#include "err.h"
#include "labels.h"

typedef struct triage_rules triage_rules;

/* Parses a rules file held in memory; err names the line on failure. */
itk_err triage_rules_parse(const char *text, size_t len, triage_rules **out,
			   char *err, size_t errlen) ITK_WUR;
/* Reads and parses a rules file (capped size). */
itk_err triage_rules_load(const char *path, triage_rules **out, char *err,
			  size_t errlen) ITK_WUR;
/* The rules compiled into the binary (worker/rules/triage.rules). */
itk_err triage_rules_default(triage_rules **out) ITK_WUR;
void triage_rules_free(triage_rules *r);

typedef struct {
	itk_queue queue;
	itk_urgency urgency;
	itk_lang language;
} triage_result;

/*
 * Classifies text (UTF-8, len bytes; invalid UTF-8 is tolerated).
 * form_category ("surrender", "relative", "other", "none" or NULL) is a
 * hint only.  Never fails on any input but for ITK_E_TOO_BIG.
 */
itk_err triage_classify(const triage_rules *r, const char *text, size_t len,
			const char *form_category, triage_result *out) ITK_WUR;

/*
 * Like triage_classify, and also writes into why (NUL-terminated, cut to
 * whylen) the names of the signals that fired, space-separated: for staff
 * tuning the rules (intake-triage --explain).
 */
itk_err triage_classify_explain(const triage_rules *r, const char *text,
				size_t len, const char *form_category,
				triage_result *out, char *why,
				size_t whylen) ITK_WUR;

#endif
