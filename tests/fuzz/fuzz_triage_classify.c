/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes triage_classify (worker/triage.c) with the built-in rules over
 * arbitrary message bytes: never a crash, always ITK_OK (or ITK_E_TOO_BIG
 * past the size cap), labels in range, and the same answer twice.
 */
#include <string.h>

#include "fuzz.h"
#include "triage.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static triage_rules *r;
	triage_result a, b;
	itk_err rc;

	if (r == NULL) {
		FUZZ_CHECK(triage_rules_default(&r) == ITK_OK);
	}
	rc = triage_classify(r, (const char *)data, size, NULL, &a);
	if (rc != ITK_OK) {
		FUZZ_CHECK(rc == ITK_E_TOO_BIG && size > 64u * 1024u);
		return 0;
	}
	FUZZ_CHECK((unsigned)a.queue < ITK_QUEUE_COUNT);
	FUZZ_CHECK((unsigned)a.urgency < ITK_URGENCY_COUNT);
	FUZZ_CHECK((unsigned)a.language < ITK_LANG_COUNT);
	FUZZ_CHECK(triage_classify(r, (const char *)data, size, "surrender",
				   &b) == ITK_OK);
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	return 0;
}
