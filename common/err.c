/* SPDX-License-Identifier: Apache-2.0 */
#include "err.h"

#include <stddef.h>

/* A table, not a switch: one place to keep message and token together. */
static const struct {
	itk_err code;
	const char *name;
	const char *msg;
} itk_errs[] = {
    {ITK_OK, "ok", "success"},
    {ITK_E_SHORT, "short", "input is truncated"},
    {ITK_E_TOO_BIG, "too_big", "input is larger than the allowed maximum"},
    {ITK_E_FORMAT, "format", "input is malformed"},
    {ITK_E_VERSION, "version", "unsupported format or protocol version"},
    {ITK_E_MISSING, "missing", "a required field is missing"},
    {ITK_E_RANGE, "range", "a value is out of its allowed range"},
    {ITK_E_TRAILING, "trailing", "unexpected bytes after the end of input"},
    {ITK_E_KEY_UNKNOWN, "key_unknown", "no key with that key id"},
    {ITK_E_KEY_EXPIRED, "key_expired",
     "the key is outside its validity window"},
    {ITK_E_POW, "pow", "proof of work is missing or wrong"},
    {ITK_E_CHECKSUM, "checksum",
     "passphrase checksum does not match: a word is mistyped"},
    {ITK_E_WORD, "word", "passphrase contains a word not in the word list"},
    {ITK_E_VERIFY, "verify", "signature verification failed"},
    {ITK_E_DECRYPT, "decrypt",
     "cannot decrypt: wrong key or the data was altered"},
    {ITK_E_PASSPHRASE, "passphrase",
     "wrong passphrase, or the key file was altered"},
    {ITK_E_PERM, "perm",
     "not permitted (check that secret files are mode 0600)"},
    {ITK_E_EXISTS, "exists", "refusing to overwrite an existing file"},
    {ITK_E_NOT_FOUND, "not_found", "not found"},
    {ITK_E_FULL, "full", "storage is full: try again later"},
    {ITK_E_BUSY, "busy", "overloaded: try again later"},
    {ITK_E_CONFIG, "config", "configuration is invalid"},
    {ITK_E_DUPLICATE, "duplicate", "already stored"},
    {ITK_E_LEASE, "lease", "lease expired or held by someone else"},
    {ITK_E_IO, "io", "input/output error"},
    {ITK_E_NOMEM, "nomem", "out of memory"},
    {ITK_E_DB, "db", "database error"},
    {ITK_E_NET, "net", "network error"},
    {ITK_E_CRYPTO, "crypto", "cryptographic library failure"},
    {ITK_E_INTERNAL, "internal", "internal error (a bug)"},
};

const char *
itk_strerror(itk_err r)
{
	for (size_t i = 0; i < sizeof(itk_errs) / sizeof(itk_errs[0]); i++) {
		if (itk_errs[i].code == r) {
			return itk_errs[i].msg;
		}
	}
	return "unknown error";
}

const char *
itk_errname(itk_err r)
{
	for (size_t i = 0; i < sizeof(itk_errs) / sizeof(itk_errs[0]); i++) {
		if (itk_errs[i].code == r) {
			return itk_errs[i].name;
		}
	}
	return "unknown";
}
