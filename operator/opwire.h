/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_OPWIRE_H
#define ITK_OPWIRE_H

/*
 * The operator protocol as both ends use it (docs/operations.md,
 * proto/intake.proto "operator <-> operator service"):
 *
 *   request  = OperatorRequest{body, sig}, sig = Ed25519 by the operator
 *              key over "intake-v1 operator-request" 0x00 || body
 *   response = OperatorResponse{nonce, sealed, error}, sealed =
 *              crypto_box_seal(pad(OperatorResponseBody)) to the X25519
 *              key derived from the operator's Ed25519 public key
 *              (crypto_sign_ed25519_pk_to_curve25519)
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "wire.h"

/*
 * Fills body's version, nonce (fresh random, copied to nonce_out) and
 * time, then packs and signs it with the operator's Ed25519 secret key;
 * the OperatorRequest is appended to out.  body->operator_ and key_id
 * are the caller's.
 */
itk_err op_request_sign(const uint8_t sk[static ITK_SIGN_SK_LEN],
			itk_pb_op_request_body *body, uint64_t now,
			uint8_t nonce_out[static ITK_OP_NONCE_LEN],
			itk_buf *out) ITK_WUR;

/*
 * Seals resp (its version and request_nonce are set here) to the
 * operator with Ed25519 public key op_pk, appending an OperatorResponse
 * to out.
 */
itk_err op_response_seal(const uint8_t op_pk[static ITK_SIGN_PK_LEN],
			 const uint8_t nonce[static ITK_OP_NONCE_LEN],
			 itk_pb_op_response_body *resp, itk_buf *out) ITK_WUR;
/* A refusal: OperatorResponse{error} in the clear (no case data). */
itk_err op_response_error(const uint8_t *nonce, itk_err code,
			  const char *message, itk_buf *out) ITK_WUR;

/*
 * Reads an answer: a refusal is returned as its code (ITK_E_PERM, ...),
 * with its message copied to msg (msglen bytes, NUL-terminated) if msg is
 * not NULL; otherwise the sealed body is opened with the operator's key
 * and must answer nonce (ITK_E_VERIFY if not).  On ITK_OK *out is the
 * caller's (itk_wire_free).
 */
itk_err op_response_open(const uint8_t sk[static ITK_SIGN_SK_LEN],
			 const uint8_t pk[static ITK_SIGN_PK_LEN],
			 const uint8_t nonce[static ITK_OP_NONCE_LEN],
			 const uint8_t *p, size_t len, char *msg,
			 size_t msglen, itk_pb_op_response_body **out) ITK_WUR;

/*
 * Case export files (docs/operations.md "export"): CaseExport{header,
 * signature}, signature = Ed25519 over "intake-v1 case-export" 0x00 ||
 * header.  op_export_sign signs hdr with signer and signer_pk set to
 * (name, pk) (hdr itself is left as it is) and appends the file's bytes
 * to out.
 */
itk_err op_export_sign(const uint8_t sk[static ITK_SIGN_SK_LEN],
		       const uint8_t pk[static ITK_SIGN_PK_LEN],
		       const char *name, const itk_pb_case_export_header *hdr,
		       itk_buf *out) ITK_WUR;

/*
 * Reads an export file: decodes it under its caps, checks the signature
 * against the signer key it names (and, if want_signer is not NULL, that
 * this key is want_signer: ITK_E_VERIFY otherwise), checks that it was
 * sealed to rpk (ITK_E_KEY_UNKNOWN otherwise), opens the body with (rpk,
 * rsk) and checks that it names the header's case.  On ITK_OK *hdr and
 * *body are the caller's (itk_wire_free; the body holds plaintext: it is
 * the caller's to show and forget).
 */
itk_err op_export_open(const uint8_t *p, size_t len,
		       const uint8_t rpk[static ITK_PK_LEN],
		       const uint8_t rsk[static ITK_SK_LEN],
		       const uint8_t *want_signer,
		       itk_pb_case_export_header **hdr,
		       itk_pb_case_export_body **body) ITK_WUR;

#endif
