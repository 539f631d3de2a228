/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes triage_rules_parse (worker/triage.c), the parser of the rules
 * file staff edit.  Never a crash; a failure is a documented error with a
 * message naming a line; rules that parse then classify a few fixed
 * messages into labels in range.
 */
#include <string.h>

#include "fuzz.h"
#include "triage.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const texts[] = {
	    "", "хочу сдаться под Бахмутом завтра в 4:00",
	    "Мій син Коваль Денис Петрович, 1999 р.н., у полоні",
	    "my brother was killed near Bakhmut 48.01 37.55"};
	triage_rules *r = NULL;
	char err[256];
	itk_err rc;

	rc =
	    triage_rules_parse((const char *)data, size, &r, err, sizeof(err));
	if (rc != ITK_OK) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(rc == ITK_E_FORMAT || rc == ITK_E_TOO_BIG ||
			   rc == ITK_E_NOMEM);
		FUZZ_CHECK(rc != ITK_E_FORMAT ||
			   strncmp(err, "line ", 5) == 0);
		return 0;
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		triage_result res;

		FUZZ_CHECK(triage_classify(r, texts[i], strlen(texts[i]), NULL,
					   &res) == ITK_OK);
		FUZZ_CHECK((unsigned)res.queue < ITK_QUEUE_COUNT);
		FUZZ_CHECK((unsigned)res.urgency < ITK_URGENCY_COUNT);
		FUZZ_CHECK((unsigned)res.language < ITK_LANG_COUNT);
	}
	triage_rules_free(r);
	return 0;
}
