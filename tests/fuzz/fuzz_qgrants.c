/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes itk_qgrants_decode (keys/qgrants.c): the signed queue-keys file
 * intake-opd and intake-op read, pinned to the fixed test organisation key
 * of fuzz.h.  The first input byte picks a mode:
 *
 *   0  the rest is a whole file, verified as is;
 *   1  the rest is a file without its signature, signed here, so that the
 *      fuzzer reaches the checks behind the signature: whatever decodes
 *      must re-encode to exactly the same bytes (one encoding per file).
 */
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "qgrants.h"

static itk_qgrants g;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();
	uint8_t sig[ITK_SIG_LEN];
	uint8_t *signed_copy;
	itk_buf *re;
	itk_err r;

	if (size < 1) {
		return 0;
	}
	if (data[0] == 0 || size - 1 > ITK_QGRANTS_FILE_MAX) {
		r = itk_qgrants_decode(data + 1, size - 1, k->org_pk, &g);
		FUZZ_CHECK(r != ITK_OK || g.n_keys <= ITK_QGRANTS_KEYS_MAX);
		return 0;
	}
	if ((signed_copy = malloc(size - 1 + ITK_SIG_LEN)) == NULL) {
		return 0;
	}
	memcpy(signed_copy, data + 1, size - 1);
	FUZZ_CHECK(itk_sign(ITK_SIG_QUEUE_KEYS, k->org_sk, data + 1, size - 1,
			    sig) == ITK_OK);
	memcpy(signed_copy + size - 1, sig, ITK_SIG_LEN);
	r = itk_qgrants_decode(signed_copy, size - 1 + ITK_SIG_LEN, k->org_pk,
			       &g);
	if (r == ITK_OK) {
		FUZZ_CHECK((re = itk_buf_new(ITK_QGRANTS_FILE_MAX)) != NULL);
		FUZZ_CHECK(itk_qgrants_encode(&g, k->org_sk, re) == ITK_OK);
		FUZZ_CHECK(itk_buf_len(re) == size - 1 + ITK_SIG_LEN);
		FUZZ_CHECK(memcmp(itk_buf_ptr(re), signed_copy, size - 1) ==
			   0);
		/* Never under another pinned key. */
		FUZZ_CHECK(itk_qgrants_decode(signed_copy,
					      size - 1 + ITK_SIG_LEN,
					      k->log_pk, &g) == ITK_E_VERIFY);
		itk_buf_free(re);
	} else {
		FUZZ_CHECK(g.n_keys == 0 && g.n_grants == 0);
	}
	free(signed_copy);
	return 0;
}
