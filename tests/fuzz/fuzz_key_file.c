/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the key file readers of keys/keyfile.c.  The first input byte
 * picks a mode; the rest is the file:
 *
 *   0  a secret key file, itk_key_decode with no passphrase (a --dev file
 *      opens; an encrypted one must stop at ITK_E_PASSPHRASE before any
 *      Argon2id work).  An opened key re-encodes and decodes to the same
 *      header and secret.
 *   1  a public key file (.pub), itk_key_public_decode as is.
 *   2  a .pub without its checksum: the harness appends SHA-256 of the
 *      bytes (the documented checksum, docs/keys.md), so the fuzzer gets
 *      past it to the header checks.  An accepted .pub re-encodes to
 *      exactly the same bytes (one encoding per key).
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "keys.h"

static int
decode_err_ok(itk_err r)
{
	return r == ITK_E_SHORT || r == ITK_E_TOO_BIG || r == ITK_E_FORMAT ||
	       r == ITK_E_VERSION || r == ITK_E_RANGE || r == ITK_E_TRAILING ||
	       r == ITK_E_PASSPHRASE || r == ITK_E_NOMEM;
}

/* Field by field: a struct compare would also compare padding. */
static void
same_info(const itk_key_info *a, const itk_key_info *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->dev == b->dev);
	FUZZ_CHECK(a->key_id == b->key_id && a->created == b->created);
	FUZZ_CHECK(a->not_before == b->not_before);
	FUZZ_CHECK(a->not_after == b->not_after);
	FUZZ_CHECK(a->role == b->role && a->queues == b->queues);
	FUZZ_CHECK(strcmp(a->name, b->name) == 0);
	FUZZ_CHECK(memcmp(a->public_key, b->public_key, 32) == 0);
}

static void
mode_secret(const uint8_t *p, size_t n)
{
	itk_secret_key *k = NULL, *k2 = NULL;
	itk_buf *b;
	itk_err r = itk_key_decode(p, n, NULL, &k);

	if (r != ITK_OK) {
		FUZZ_CHECK(decode_err_ok(r) && k == NULL);
		return;
	}
	/* Without a passphrase only a --dev file can open. */
	FUZZ_CHECK(itk_key_info_of(k)->dev);
	FUZZ_CHECK((b = itk_buf_new(ITK_KEY_FILE_MAX)) != NULL);
	FUZZ_CHECK(itk_key_encode(k, NULL, NULL, b) == ITK_OK);
	FUZZ_CHECK(itk_key_decode(itk_buf_ptr(b), itk_buf_len(b), NULL, &k2) ==
		   ITK_OK);
	same_info(itk_key_info_of(k), itk_key_info_of(k2));
	FUZZ_CHECK(itk_key_secret_len(k) == itk_key_secret_len(k2));
	FUZZ_CHECK(sodium_memcmp(itk_key_secret(k), itk_key_secret(k2),
				 itk_key_secret_len(k)) == 0);
	itk_key_free(k2);
	itk_key_free(k);
	itk_buf_free(b);
}

static void
mode_public(const uint8_t *p, size_t n)
{
	itk_key_info info;
	itk_buf *b;
	itk_err r = itk_key_public_decode(p, n, &info);

	if (r != ITK_OK) {
		FUZZ_CHECK(decode_err_ok(r) && r != ITK_E_PASSPHRASE);
		return;
	}
	FUZZ_CHECK(itk_key_name_ok(info.name));
	FUZZ_CHECK((b = itk_buf_new(ITK_KEY_FILE_MAX)) != NULL);
	FUZZ_CHECK(itk_key_public_encode(&info, b) == ITK_OK);
	FUZZ_CHECK(itk_buf_len(b) == n);
	FUZZ_CHECK(memcmp(itk_buf_ptr(b), p, n) == 0);
	itk_buf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *file;

	(void)fuzz_keys(); /* libsodium up */
	if (size == 0) {
		return 0;
	}
	switch (data[0] % 3) {
	case 0:
		mode_secret(data + 1, size - 1);
		break;
	case 1:
		mode_public(data + 1, size - 1);
		break;
	default:
		FUZZ_CHECK((file = malloc(size - 1 + 32)) != NULL);
		memcpy(file, data + 1, size - 1);
		crypto_hash_sha256(file + size - 1, data + 1, size - 1);
		mode_public(file, size - 1 + 32);
		free(file);
		break;
	}
	return 0;
}
