/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the queue-key records of the vault (vault/qkeys.c), read back
 * from LMDB: message copies and case data keys.  The first input byte
 * picks the record type (even: copy, odd: case key); the rest is the
 * value.  A parsed copy is then opened with a fixed queue key: a damaged
 * record must give an error, never a crash, and never open.
 */
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "qkeys.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();
	static const uint8_t id[VAULT_ID_LEN] = {1};
	vault_copy_view cv;
	vault_qsecret s;
	itk_buf *plain;
	itk_err r;

	if (size < 1) {
		return 0;
	}
	r = (data[0] & 1) ? vault_case_key_parse(data + 1, size - 1, &cv)
			  : vault_copy_parse(data + 1, size - 1, &cv);
	if (r != ITK_OK) {
		FUZZ_CHECK(r == ITK_E_FORMAT || r == ITK_E_VERSION);
		return 0;
	}
	FUZZ_CHECK((unsigned)cv.queue < ITK_QUEUE_COUNT && cv.version > 0);
	if (data[0] & 1) {
		return 0;
	}
	FUZZ_CHECK(cv.ct_len >= 16 && cv.ct + cv.ct_len == data + size);
	memset(&s, 0, sizeof(s));
	s.queue = cv.queue;
	s.version = cv.version;
	memcpy(s.pk, k->intake_pk, 32);
	memcpy(s.sk, k->intake_sk, 32);
	FUZZ_CHECK((plain = itk_buf_new(ITK_PAD_MAX)) != NULL);
	/* Nothing the fuzzer writes was sealed to this key under this AD. */
	FUZZ_CHECK(vault_copy_open(&cv, id, &s, 1, plain) != ITK_OK);
	FUZZ_CHECK(itk_buf_len(plain) == 0);
	itk_buf_free(plain);
	return 0;
}
