/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_LABELS_H
#define ITK_LABELS_H

/*
 * Triage labels shared by the worker, the vault and the operator tools.
 * Values are stored in the vault: never renumber.  Definitions in
 * docs/triage.md (after ../shared/data/triage/README.md).
 */

typedef enum {
	ITK_QUEUE_SURRENDER = 0,
	ITK_QUEUE_CAPTIVITY = 1,
	ITK_QUEUE_CASUALTY = 2,
	ITK_QUEUE_OTHER = 3,
	ITK_QUEUE_COUNT
} itk_queue;

/* Lower value = more urgent, so queues sort ascending. */
typedef enum {
	ITK_URGENCY_CRITICAL = 0,
	ITK_URGENCY_HIGH = 1,
	ITK_URGENCY_NORMAL = 2,
	ITK_URGENCY_LOW = 3,
	ITK_URGENCY_COUNT
} itk_urgency;

typedef enum {
	ITK_LANG_RU = 0,
	ITK_LANG_UK = 1,
	ITK_LANG_EN = 2,
	ITK_LANG_OTHER = 3,
	ITK_LANG_COUNT
} itk_lang;

/* Names as in the labelling guide: "surrender", "critical", "ru", ... */
const char *itk_queue_name(itk_queue q);
const char *itk_urgency_name(itk_urgency u);
const char *itk_lang_name(itk_lang l);
/* Reverse lookups; return -1 for an unknown name. */
int itk_queue_from_name(const char *s);
int itk_urgency_from_name(const char *s);
int itk_lang_from_name(const char *s);

#endif
