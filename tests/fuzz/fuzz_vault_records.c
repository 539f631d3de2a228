/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the vault's record decoders (vault/record.c), which read values
 * back from LMDB: a damaged or tampered database file must give an error,
 * never a crash.  The first input byte picks the record type; the rest is
 * the value.  Every record has one encoding: a value that decodes must
 * re-encode to exactly the same bytes (the Merkle log hashes records, so
 * two encodings of one record would be two different histories).
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "vault_impl.h"

static void
same_bytes(const itk_buf *b, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(itk_buf_len(b) == n);
	FUZZ_CHECK(n == 0 || memcmp(itk_buf_ptr(b), p, n) == 0);
}

static int
decode_err_ok(itk_err r)
{
	return r == ITK_E_FORMAT || r == ITK_E_VERSION || r == ITK_E_TOO_BIG;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	itk_buf *b;
	size_t n;
	itk_err r;

	if (size == 0) {
		return 0;
	}
	p = data + 1;
	n = size - 1;
	FUZZ_CHECK((b = itk_buf_new(ITK_BUF_SIZE_MAX)) != NULL);
	switch (data[0] % 5) {
	case 0: {
		vault_case_rec c;
		memset(&c, 0, sizeof(c));
		if ((r = vault_case_decode(p, n, &c)) == ITK_OK) {
			FUZZ_CHECK(vault_case_encode(&c, b) == ITK_OK);
			same_bytes(b, p, n);
		}
		break;
	}
	case 1: {
		vault_msg_rec m;
		memset(&m, 0, sizeof(m));
		if ((r = vault_msg_decode(p, n, &m)) == ITK_OK) {
			/* The sealed view lies inside the value. */
			FUZZ_CHECK(m.sealed_len <= n);
			FUZZ_CHECK(m.sealed_len == 0 ||
				   (m.sealed >= p &&
				    m.sealed + m.sealed_len <= p + n));
			FUZZ_CHECK(vault_msg_encode(&m, b) == ITK_OK);
			same_bytes(b, p, n);
		}
		break;
	}
	case 2: {
		vault_quar_rec q;
		memset(&q, 0, sizeof(q));
		if ((r = vault_quar_decode(p, n, &q)) == ITK_OK) {
			FUZZ_CHECK(q.sealed_len <= n);
			FUZZ_CHECK(q.sealed_len == 0 ||
				   (q.sealed >= p &&
				    q.sealed + q.sealed_len <= p + n));
			FUZZ_CHECK(vault_quar_encode(&q, b) == ITK_OK);
			same_bytes(b, p, n);
		}
		break;
	}
	case 3: {
		uint8_t id[VAULT_ID_LEN], out[VAULT_MBX_VAL_LEN];
		if ((r = vault_mbx_decode(p, n, id)) == ITK_OK) {
			vault_mbx_encode(id, out);
			FUZZ_CHECK(n == sizeof(out) && memcmp(out, p, n) == 0);
		}
		break;
	}
	default: {
		vault_counters c;
		uint8_t out[VAULT_COUNTERS_LEN];
		if ((r = vault_counters_decode(p, n, &c)) == ITK_OK) {
			vault_counters_encode(&c, out);
			FUZZ_CHECK(n == sizeof(out) && memcmp(out, p, n) == 0);
		}
		break;
	}
	}
	FUZZ_CHECK(r == ITK_OK || decode_err_ok(r));
	itk_buf_free(b);
	return 0;
}
