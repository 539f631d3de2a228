/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small command-line face of the C constructions, so another language's
 * test (tests/interop/test_interop.py) can drive them.  Hex in, hex out;
 * data comes on stdin (whitespace around it ignored), keys as arguments.
 *
 *   open SK                 sealed -> plaintext (pk derived from sk)
 *   seal PK                 plaintext -> sealed
 *   sign CTX SEED           message -> signature (CTX: key-bundle, receipt,
 *                           operator-request, case-export)
 *   verify CTX PK SIG       message -> exit 0 if valid
 *   derive                  passphrase text -> "reply_pk mailbox_id"
 *   decode TYPE             encoding -> re-encoding after the capped
 *                           decoder (TYPE: Submission, KeyBundleBody,
 *                           KeyBundle, ReceiptBody, Receipt, InnerMessage)
 *   keyid PK                -> key id (8 hex digits)
 *
 * On failure: exit 1 and the error's token (itk_errname) on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "passphrase.h"
#include "wire.h"

#define IN_MAX (8u * 1024u * 1024u)

/* Reads all of stdin into a new buffer, trimming surrounding blanks. */
static itk_err
read_stdin(itk_buf **out)
{
	itk_buf *b = itk_buf_new(IN_MAX);
	uint8_t chunk[65536];
	size_t n;
	itk_err r = ITK_OK;

	if (b == NULL) {
		return ITK_E_NOMEM;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if ((r = itk_buf_put(b, chunk, n)) != ITK_OK) {
			itk_buf_free(b);
			return r;
		}
	}
	*out = b;
	return ITK_OK;
}

static void
trim(const uint8_t **p, size_t *n)
{
	while (*n > 0 &&
	       (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\n' ||
			  (*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\t')) {
		(*n)--;
	}
}

/* stdin as hex -> bytes in a new buffer. */
static itk_err
stdin_hex(itk_buf **out)
{
	itk_buf *in = NULL, *b = NULL;
	const uint8_t *p;
	uint8_t *dst;
	size_t n;
	itk_err r;

	if ((r = read_stdin(&in)) != ITK_OK) {
		return r;
	}
	p = itk_buf_ptr(in);
	n = itk_buf_len(in);
	trim(&p, &n);
	if (n % 2 != 0) {
		r = ITK_E_FORMAT;
		goto out;
	}
	if ((b = itk_buf_new(IN_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_buf_reserve(b, n / 2, &dst)) != ITK_OK ||
	    (n > 0 &&
	     (r = itk_unhex(dst, n / 2, (const char *)p, n)) != ITK_OK)) {
		goto out;
	}
	*out = b;
	b = NULL; /* transferred */
out:
	itk_buf_free(b);
	itk_buf_free(in);
	return r;
}

static itk_err
arg_hex(const char *s, uint8_t *out, size_t n)
{
	return itk_unhex(out, n, s, strlen(s));
}

static void
print_hex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (h == NULL) {
		return;
	}
	itk_hex(h, p, n);
	printf("%s\n", h);
	free(h);
}

static int
ctx_named(const char *name, itk_sig_ctx *ctx)
{
	for (int c = 0; c < ITK_SIG_CTX_COUNT; c++) {
		const char *full = itk_sig_context((itk_sig_ctx)c);

		/* Accept "receipt" for "intake-v1 receipt". */
		if (strcmp(full, name) == 0 ||
		    (strncmp(full, "intake-v1 ", 10) == 0 &&
		     strcmp(full + 10, name) == 0)) {
			*ctx = (itk_sig_ctx)c;
			return 0;
		}
	}
	return -1;
}

static itk_err
cmd_open(int argc, char **argv)
{
	uint8_t sk[ITK_SK_LEN], pk[ITK_PK_LEN];
	itk_buf *in = NULL, *out = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r;

	if (argc != 3 || out == NULL) {
		r = ITK_E_MISSING;
		goto out;
	}
	if ((r = arg_hex(argv[2], sk, sizeof(sk))) != ITK_OK ||
	    (r = stdin_hex(&in)) != ITK_OK) {
		goto out;
	}
	crypto_scalarmult_base(pk, sk);
	if ((r = itk_open(pk, sk, itk_buf_ptr(in), itk_buf_len(in), out)) !=
	    ITK_OK) {
		goto out;
	}
	print_hex(itk_buf_ptr(out), itk_buf_len(out));
out:
	sodium_memzero(sk, sizeof(sk));
	itk_buf_free(in);
	itk_buf_free(out);
	return r;
}

static itk_err
cmd_seal(int argc, char **argv)
{
	uint8_t pk[ITK_PK_LEN];
	itk_buf *in = NULL, *out = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r;

	if (argc != 3 || out == NULL) {
		r = ITK_E_MISSING;
		goto out;
	}
	if ((r = arg_hex(argv[2], pk, sizeof(pk))) != ITK_OK ||
	    (r = stdin_hex(&in)) != ITK_OK ||
	    (r = itk_seal(pk, itk_buf_ptr(in), itk_buf_len(in), out)) !=
		ITK_OK) {
		goto out;
	}
	print_hex(itk_buf_ptr(out), itk_buf_len(out));
out:
	itk_buf_free(in);
	itk_buf_free(out);
	return r;
}

static itk_err
cmd_sign(int argc, char **argv)
{
	uint8_t seed[32], pk[32], sk[64], sig[ITK_SIG_LEN];
	itk_buf *in = NULL;
	itk_sig_ctx ctx;
	itk_err r;

	if (argc != 4 || ctx_named(argv[2], &ctx) != 0) {
		r = ITK_E_MISSING;
		goto out;
	}
	if ((r = arg_hex(argv[3], seed, sizeof(seed))) != ITK_OK ||
	    (r = stdin_hex(&in)) != ITK_OK) {
		goto out;
	}
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	if ((r = itk_sign(ctx, sk, itk_buf_ptr(in), itk_buf_len(in), sig)) !=
	    ITK_OK) {
		goto out;
	}
	print_hex(sig, sizeof(sig));
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	itk_buf_free(in);
	return r;
}

static itk_err
cmd_verify(int argc, char **argv)
{
	uint8_t pk[32], sig[ITK_SIG_LEN];
	itk_buf *in = NULL;
	itk_sig_ctx ctx;
	itk_err r;

	if (argc != 5 || ctx_named(argv[2], &ctx) != 0) {
		return ITK_E_MISSING;
	}
	if ((r = arg_hex(argv[3], pk, sizeof(pk))) != ITK_OK ||
	    (r = arg_hex(argv[4], sig, sizeof(sig))) != ITK_OK ||
	    (r = stdin_hex(&in)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_verify(ctx, pk, itk_buf_ptr(in), itk_buf_len(in), sig)) ==
	    ITK_OK) {
		printf("ok\n");
	}
out:
	itk_buf_free(in);
	return r;
}

static itk_err
cmd_derive(void)
{
	itk_buf *in = NULL;
	char text[ITK_PASSPHRASE_MAX];
	const uint8_t *p;
	size_t n;
	itk_identity id;
	itk_err r;

	if ((r = read_stdin(&in)) != ITK_OK) {
		return r;
	}
	p = itk_buf_ptr(in);
	n = itk_buf_len(in);
	trim(&p, &n);
	if (n >= sizeof(text)) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	memcpy(text, p, n);
	text[n] = '\0';
	if ((r = itk_passphrase_derive(text, &id)) != ITK_OK) {
		goto out;
	}
	{
		char a[2 * ITK_PK_LEN + 1], b[2 * ITK_MAILBOX_ID_LEN + 1];

		itk_hex(a, id.reply_pk, ITK_PK_LEN);
		itk_hex(b, id.mailbox_id, ITK_MAILBOX_ID_LEN);
		printf("%s %s\n", a, b);
	}
	itk_identity_wipe(&id);
out:
	sodium_memzero(text, sizeof(text));
	itk_buf_free(in);
	return r;
}

static itk_err
cmd_decode(int argc, char **argv)
{
	itk_buf *in = NULL, *out = itk_buf_new(ITK_BUF_SIZE_MAX);
	const char *t = argc == 3 ? argv[2] : "";
	void *m = NULL;
	const uint8_t *p;
	size_t n;
	itk_err r;

	if (out == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = stdin_hex(&in)) != ITK_OK) {
		goto out;
	}
	p = itk_buf_ptr(in);
	n = itk_buf_len(in);
	if (strcmp(t, "Submission") == 0) {
		r = itk_wire_submission_decode(p, n, (itk_pb_submission **)&m);
	} else if (strcmp(t, "KeyBundleBody") == 0) {
		r = itk_wire_key_bundle_body_decode(
		    p, n, (itk_pb_key_bundle_body **)&m);
	} else if (strcmp(t, "KeyBundle") == 0) {
		r = itk_wire_key_bundle_decode(p, n, (itk_pb_key_bundle **)&m);
	} else if (strcmp(t, "ReceiptBody") == 0) {
		r = itk_wire_receipt_body_decode(p, n,
						 (itk_pb_receipt_body **)&m);
	} else if (strcmp(t, "Receipt") == 0) {
		r = itk_wire_receipt_decode(p, n, (itk_pb_receipt **)&m);
	} else if (strcmp(t, "InnerMessage") == 0) {
		r = itk_wire_inner_decode(p, n, (itk_pb_inner **)&m);
	} else {
		r = ITK_E_MISSING;
	}
	if (r != ITK_OK) {
		goto out;
	}
	if ((r = itk_wire_pack((const ProtobufCMessage *)m, out)) != ITK_OK) {
		goto out;
	}
	print_hex(itk_buf_ptr(out), itk_buf_len(out));
out:
	itk_wire_free(m);
	itk_buf_free(in);
	itk_buf_free(out);
	return r;
}

static itk_err
cmd_keyid(int argc, char **argv)
{
	uint8_t pk[ITK_PK_LEN];
	itk_err r;

	if (argc != 3) {
		return ITK_E_MISSING;
	}
	if ((r = arg_hex(argv[2], pk, sizeof(pk))) != ITK_OK) {
		return r;
	}
	printf("%08x\n", (unsigned)itk_intake_key_id(pk));
	return ITK_OK;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	itk_err r;

	if (itk_crypto_init() != ITK_OK) {
		return 2;
	}
	if (strcmp(cmd, "open") == 0) {
		r = cmd_open(argc, argv);
	} else if (strcmp(cmd, "seal") == 0) {
		r = cmd_seal(argc, argv);
	} else if (strcmp(cmd, "sign") == 0) {
		r = cmd_sign(argc, argv);
	} else if (strcmp(cmd, "verify") == 0) {
		r = cmd_verify(argc, argv);
	} else if (strcmp(cmd, "derive") == 0) {
		r = cmd_derive();
	} else if (strcmp(cmd, "decode") == 0) {
		r = cmd_decode(argc, argv);
	} else if (strcmp(cmd, "keyid") == 0) {
		r = cmd_keyid(argc, argv);
	} else {
		fprintf(stderr, "usage: itk_vector_tool open|seal|sign|verify|"
				"derive|decode|keyid ...\n");
		return 2;
	}
	if (r != ITK_OK) {
		fprintf(stderr, "%s\n", itk_errname(r));
		return 1;
	}
	return 0;
}
