/* SPDX-License-Identifier: Apache-2.0 */
/* The operator protocol's signing and sealing (opwire.h). */
#include "opwire.h"

#include <string.h>

#include <sodium.h>

itk_err
op_request_sign(const uint8_t sk[static ITK_SIGN_SK_LEN],
		itk_pb_op_request_body *body, uint64_t now,
		uint8_t nonce_out[static ITK_OP_NONCE_LEN], itk_buf *out)
{
	itk_pb_op_request env = INTAKE__V1__OPERATOR_REQUEST__INIT;
	uint8_t sig[ITK_SIG_LEN];
	itk_buf *b = NULL;
	itk_err r;

	randombytes_buf(nonce_out, ITK_OP_NONCE_LEN);
	body->version = ITK_WIRE_VERSION;
	body->nonce.data = nonce_out;
	body->nonce.len = ITK_OP_NONCE_LEN;
	body->time = now;
	if ((b = itk_buf_new(ITK_OP_REQUEST_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_wire_pack(&body->base, b)) != ITK_OK ||
	    (r = itk_sign(ITK_SIG_OPERATOR, sk, itk_buf_ptr(b), itk_buf_len(b),
			  sig)) != ITK_OK) {
		goto out;
	}
	env.body.data = (uint8_t *)itk_buf_ptr(b);
	env.body.len = itk_buf_len(b);
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	r = itk_wire_pack(&env.base, out);
out:
	itk_buf_free(b);
	return r;
}

itk_err
op_response_seal(const uint8_t op_pk[static ITK_SIGN_PK_LEN],
		 const uint8_t nonce[static ITK_OP_NONCE_LEN],
		 itk_pb_op_response_body *resp, itk_buf *out)
{
	itk_pb_op_response env = INTAKE__V1__OPERATOR_RESPONSE__INIT;
	uint8_t xpk[ITK_PK_LEN];
	itk_buf *plain = NULL, *sealed = NULL;
	itk_err r;

	resp->version = ITK_WIRE_VERSION;
	resp->request_nonce.data = (uint8_t *)nonce;
	resp->request_nonce.len = ITK_OP_NONCE_LEN;
	if ((r = itk_sign_pk_to_box_pk(op_pk, xpk)) != ITK_OK) {
		return r;
	}
	if ((plain = itk_buf_new(ITK_OP_RESPONSE_BODY_MAX)) == NULL ||
	    (sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	/* The plaintext buffer is wiped by itk_buf_free. */
	if ((r = itk_wire_pack(&resp->base, plain)) != ITK_OK ||
	    (r = itk_seal(xpk, itk_buf_ptr(plain), itk_buf_len(plain),
			  sealed)) != ITK_OK) {
		goto out;
	}
	env.version = ITK_WIRE_VERSION;
	env.request_nonce = resp->request_nonce;
	env.sealed.data = (uint8_t *)itk_buf_ptr(sealed);
	env.sealed.len = itk_buf_len(sealed);
	r = itk_wire_pack(&env.base, out);
out:
	itk_buf_free(sealed);
	itk_buf_free(plain);
	return r;
}

itk_err
op_response_error(const uint8_t *nonce, itk_err code, const char *message,
		  itk_buf *out)
{
	itk_pb_op_response env = INTAKE__V1__OPERATOR_RESPONSE__INIT;
	itk_pb_error e = INTAKE__V1__ERROR__INIT;

	e.code = (uint32_t)code;
	e.name = (char *)itk_errname(code);
	e.message = (char *)(message != NULL ? message : itk_strerror(code));
	env.version = ITK_WIRE_VERSION;
	if (nonce != NULL) {
		env.request_nonce.data = (uint8_t *)nonce;
		env.request_nonce.len = ITK_OP_NONCE_LEN;
	}
	env.error = &e;
	return itk_wire_pack(&env.base, out);
}

itk_err
op_response_open(const uint8_t sk[static ITK_SIGN_SK_LEN],
		 const uint8_t pk[static ITK_SIGN_PK_LEN],
		 const uint8_t nonce[static ITK_OP_NONCE_LEN],
		 const uint8_t *p, size_t len, char *msg, size_t msglen,
		 itk_pb_op_response_body **out)
{
	itk_pb_op_response *env = NULL;
	itk_pb_op_response_body *body = NULL;
	uint8_t xsk[ITK_SK_LEN], xpk[ITK_PK_LEN];
	itk_buf *plain = NULL;
	itk_err r;

	*out = NULL;
	if (msg != NULL && msglen > 0) {
		msg[0] = '\0';
	}
	if ((r = itk_wire_op_response_decode(p, len, &env)) != ITK_OK) {
		goto out;
	}
	if (env->error != NULL) {
		if (msg != NULL && msglen > 0 && env->error->message != NULL) {
			size_t n = strlen(env->error->message);
			n = n < msglen - 1 ? n : msglen - 1;
			memcpy(msg, env->error->message, n);
			msg[n] = '\0';
		}
		r = (itk_err)env->error->code;
		goto out;
	}
	if ((r = itk_sign_pk_to_box_pk(pk, xpk)) != ITK_OK ||
	    (r = itk_sign_sk_to_box_sk(sk, xsk)) != ITK_OK) {
		goto out;
	}
	if ((plain = itk_buf_new(ITK_OP_RESPONSE_BODY_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_open(xpk, xsk, env->sealed.data, env->sealed.len,
			  plain)) != ITK_OK ||
	    (r = itk_wire_op_response_body_decode(
		 itk_buf_ptr(plain), itk_buf_len(plain), &body)) != ITK_OK) {
		goto out;
	}
	/* The sealed body names the request it answers: an old answer
	 * replayed to us does not pass for this one. */
	if (body->request_nonce.len != ITK_OP_NONCE_LEN ||
	    sodium_memcmp(body->request_nonce.data, nonce, ITK_OP_NONCE_LEN) !=
		0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	*out = body;
	body = NULL; /* transferred */
out:
	sodium_memzero(xsk, sizeof(xsk));
	itk_wire_free(body);
	itk_buf_free(plain);
	itk_wire_free(env);
	return r;
}

itk_err
op_export_sign(const uint8_t sk[static ITK_SIGN_SK_LEN],
	       const uint8_t pk[static ITK_SIGN_PK_LEN], const char *name,
	       const itk_pb_case_export_header *hdr, itk_buf *out)
{
	itk_pb_case_export file = INTAKE__V1__CASE_EXPORT__INIT;
	itk_pb_case_export_header signed_hdr = *hdr; /* hdr stays as is */
	uint8_t sig[ITK_SIG_LEN];
	itk_buf *h = NULL;
	itk_err r;

	signed_hdr.signer = (char *)name;
	signed_hdr.signer_pk.data = (uint8_t *)pk;
	signed_hdr.signer_pk.len = ITK_SIGN_PK_LEN;
	if ((h = itk_buf_new(ITK_EXPORT_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_wire_pack(&signed_hdr.base, h)) != ITK_OK ||
	    (r = itk_sign(ITK_SIG_EXPORT, sk, itk_buf_ptr(h), itk_buf_len(h),
			  sig)) != ITK_OK) {
		goto out;
	}
	file.header.data = (uint8_t *)itk_buf_ptr(h);
	file.header.len = itk_buf_len(h);
	file.signature.data = sig;
	file.signature.len = sizeof(sig);
	r = itk_wire_pack(&file.base, out);
out:
	itk_buf_free(h);
	return r;
}

itk_err
op_export_open(const uint8_t *p, size_t len,
	       const uint8_t rpk[static ITK_PK_LEN],
	       const uint8_t rsk[static ITK_SK_LEN],
	       const uint8_t *want_signer, itk_pb_case_export_header **hdr,
	       itk_pb_case_export_body **body)
{
	itk_pb_case_export *file = NULL;
	itk_pb_case_export_header *h = NULL;
	itk_pb_case_export_body *b = NULL;
	itk_buf *plain = NULL;
	itk_err r;

	*hdr = NULL;
	*body = NULL;
	if ((r = itk_wire_case_export_decode(p, len, &file)) != ITK_OK ||
	    (r = itk_wire_case_export_header_decode(
		 file->header.data, file->header.len, &h)) != ITK_OK) {
		goto out;
	}
	/* The signature first: nothing of an unsigned file is believed. */
	if ((r = itk_verify(ITK_SIG_EXPORT, h->signer_pk.data,
			    file->header.data, file->header.len,
			    file->signature.data)) != ITK_OK) {
		goto out;
	}
	if (want_signer != NULL &&
	    sodium_memcmp(want_signer, h->signer_pk.data, ITK_SIGN_PK_LEN) !=
		0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	if (sodium_memcmp(rpk, h->recipient_pk.data, ITK_PK_LEN) != 0) {
		r = ITK_E_KEY_UNKNOWN;
		goto out;
	}
	if ((plain = itk_buf_new(ITK_EXPORT_PLAIN_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_open(rpk, rsk, h->sealed.data, h->sealed.len, plain)) !=
		ITK_OK ||
	    (r = itk_wire_case_export_body_decode(
		 itk_buf_ptr(plain), itk_buf_len(plain), &b)) != ITK_OK) {
		goto out;
	}
	if (sodium_memcmp(b->case_id.data, h->case_id.data, ITK_HASH_LEN) !=
	    0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	*hdr = h;
	*body = b;
	h = NULL; /* transferred */
	b = NULL;
out:
	itk_wire_free(b);
	itk_wire_free(h);
	itk_wire_free(file);
	itk_buf_free(plain); /* wipes */
	return r;
}
