/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "file.h"
#include "keys.h"

itk_err
itk_org_pub_load(const char *path, uint8_t pk[static ITK_SIGN_PK_LEN])
{
	itk_key_info info;
	itk_buf *b = NULL;
	const char *h;
	size_t n;
	itk_err r;

	/* A .pub file made by intake-keys says what kind of key it holds. */
	if (itk_key_info_load(path, &info) == ITK_OK) {
		if (info.kind != ITK_KEY_ORG) {
			return ITK_E_RANGE;
		}
		memcpy(pk, info.public_key, ITK_SIGN_PK_LEN);
		return ITK_OK;
	}
	/* Otherwise the key as 64 hex digits, as people pin it by hand. */
	if ((r = itk_file_read(path, 256, &b)) != ITK_OK) {
		return r;
	}
	h = (const char *)itk_buf_ptr(b);
	n = itk_buf_len(b);
	while (n > 0 &&
	       (h[n - 1] == '\n' || h[n - 1] == '\r' || h[n - 1] == ' ')) {
		n--;
	}
	r = itk_unhex(pk, ITK_SIGN_PK_LEN, h, n);
	itk_buf_free(b);
	return r;
}
