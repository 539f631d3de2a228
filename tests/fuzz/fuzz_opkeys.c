/* SPDX-License-Identifier: Apache-2.0 */
/*
 * operator/opkeys.c: op_keys_parse, the service's reading of its key
 * reader's answer (the operators' public headers).  Never more headers
 * than room; on any refusal nothing is returned; what parses packs again
 * into bytes that parse to the same headers.
 */
#include <string.h>

#include "fuzz.h"
#include "opkeys.h"

#define ROOM 8u

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static itk_key_info out[ROOM], again[ROOM];
	static itk_keystore_entry e[ROOM];
	char bad[64], bad2[64];
	size_t n = 99, n2 = 99;
	itk_buf *b = NULL;
	itk_err r;

	r = op_keys_parse(data, size, out, ROOM, &n, bad, sizeof(bad));
	FUZZ_CHECK(n <= ROOM);
	FUZZ_CHECK(strlen(bad) < sizeof(bad));
	if (r != ITK_OK) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(out[i].kind == ITK_KEY_OPERATOR);
		FUZZ_CHECK(itk_key_name_ok(out[i].name));
		memset(&e[i], 0, sizeof(e[i]));
		e[i].info = out[i];
	}
	b = itk_buf_new(OP_KEYS_ANSWER_MAX);
	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(op_keys_pack(ITK_OK, bad, e, n, b) == ITK_OK);
	FUZZ_CHECK(op_keys_parse(itk_buf_ptr(b), itk_buf_len(b), again, ROOM,
				 &n2, bad2, sizeof(bad2)) == ITK_OK);
	FUZZ_CHECK(n2 == n);
	FUZZ_CHECK(memcmp(again, out, n * sizeof(out[0])) == 0);
	FUZZ_CHECK(strcmp(bad, bad2) == 0);
	itk_buf_free(b);
	return 0;
}
