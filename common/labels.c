/* SPDX-License-Identifier: Apache-2.0 */
#include "labels.h"

#include <string.h>

static const char *const queue_names[ITK_QUEUE_COUNT] = {
    "surrender", "captivity", "casualty", "other"};
static const char *const urgency_names[ITK_URGENCY_COUNT] = {
    "critical", "high", "normal", "low"};
static const char *const lang_names[ITK_LANG_COUNT] = {"ru", "uk", "en",
						       "other"};

static const char *
name_of(const char *const *names, unsigned n, unsigned v)
{
	return v < n ? names[v] : "?";
}

static int
index_of(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; s != NULL && i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			return (int)i;
		}
	}
	return -1;
}

const char *
itk_queue_name(itk_queue q)
{
	return name_of(queue_names, ITK_QUEUE_COUNT, (unsigned)q);
}

const char *
itk_urgency_name(itk_urgency u)
{
	return name_of(urgency_names, ITK_URGENCY_COUNT, (unsigned)u);
}

const char *
itk_lang_name(itk_lang l)
{
	return name_of(lang_names, ITK_LANG_COUNT, (unsigned)l);
}

int
itk_queue_from_name(const char *s)
{
	return index_of(queue_names, ITK_QUEUE_COUNT, s);
}

int
itk_urgency_from_name(const char *s)
{
	return index_of(urgency_names, ITK_URGENCY_COUNT, s);
}

int
itk_lang_from_name(const char *s)
{
	return index_of(lang_names, ITK_LANG_COUNT, s);
}
