/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_OP_OPKEYS_H
#define ITK_OP_OPKEYS_H

/*
 * intake-opd's key-store reader.  Started as root, intake-opd drops to an
 * unprivileged user that cannot open the key store (intake-keys makes
 * keys_dir and operators/ mode 0700), yet SIGHUP must read the operators
 * again.  So, before the service loads any secret, it forks this small
 * process, which keeps the ids it started with, holds no secret, installs
 * its own allow-list (ITK_SANDBOX_OPD_KEYS: read-only opens, directory
 * reads, its socket) and takes one request: a byte 'L' on its socket.  It
 * answers with the public headers of the operator keys
 * (itk_keystore_list: headers only, no passphrase, no secret key).  Any
 * other byte, or the service's end closing, ends it.
 *
 * The answer on the socket: u32 length, then the body op_keys_pack makes:
 *   u32 result (itk_err of the listing)
 *   u16 n + n bytes: the file at fault (at most OP_KEYS_BAD_MAX), or 0
 *   u32 count (at most ITK_KEYSTORE_ENTRIES_MAX), then count times:
 *     u8 role, u32 queues, u8 dev, u32 key_id, u64 created,
 *     u8 n + n bytes name (a valid key name), 32 bytes public key
 * big-endian (common/buf.h).  Only operator keys are sent.
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"

#define OP_KEYS_BAD_MAX    511u
#define OP_KEYS_ANSWER_MAX (64u * 1024u)

typedef struct op_keys_reader op_keys_reader;

/*
 * Forks the reader for keys_dir (a copy of the string is kept by the
 * child).  Call while the process is still single-threaded and before
 * any secret is loaded.  Returns ITK_OK, ITK_E_NOMEM or ITK_E_IO.  The
 * answer is awaited at most 10 seconds (SO_RCVTIMEO on the socket).
 */
itk_err op_keys_reader_start(const char *keys_dir,
			     op_keys_reader **out) ITK_WUR;

/* The reader's pid (for the log and the tests). */
long op_keys_reader_pid(const op_keys_reader *k);

/*
 * Asks the reader for the operator keys: up to max headers into out, their
 * number in *n.  Returns the reader's listing result (ITK_OK, or why the
 * store could not be listed, with the file at fault in bad), ITK_E_NET if
 * the reader is gone or silent, or a parse error of its answer.
 */
itk_err op_keys_reader_list(op_keys_reader *k, itk_key_info *out, size_t max,
			    size_t *n, char *bad, size_t badlen) ITK_WUR;

/* Closes the reader's socket (it exits) and reaps it; NULL is fine. */
void op_keys_reader_free(op_keys_reader *k);

/*
 * The answer's body for result, the file at fault bad (NULL: none) and
 * the operator keys among e[0..n), appended to out.  ITK_OK or the
 * writer's error.
 */
itk_err op_keys_pack(itk_err result, const char *bad,
		     const itk_keystore_entry *e, size_t n,
		     itk_buf *out) ITK_WUR;

/*
 * Parses a body made by op_keys_pack: the headers into out (at most max;
 * more is ITK_E_TOO_BIG), their number into *n, the file at fault into
 * bad (NUL-terminated, cut to badlen).  Returns the result the body
 * carries, or ITK_E_SHORT / ITK_E_TRAILING / ITK_E_FORMAT / ITK_E_TOO_BIG
 * for a malformed body (then *n = 0).
 */
itk_err op_keys_parse(const uint8_t *p, size_t len, itk_key_info *out,
		      size_t max, size_t *n, char *bad, size_t badlen) ITK_WUR;

#endif
