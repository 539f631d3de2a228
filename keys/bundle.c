/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <sodium.h>

#include "keys.h"

itk_err
itk_bundle_verify(const uint8_t *bundle, size_t len,
		  const uint8_t org_pk[static ITK_SIGN_PK_LEN],
		  itk_pb_key_bundle_body **out)
{
	itk_pb_key_bundle *b = NULL;
	itk_pb_key_bundle_body *body = NULL;
	itk_err r;

	if ((r = itk_wire_key_bundle_decode(bundle, len, &b)) != ITK_OK) {
		goto out;
	}
	/* Signature first: nothing of an unsigned body is believed. */
	if ((r = itk_verify(ITK_SIG_KEY_BUNDLE, org_pk, b->body.data,
			    b->body.len, b->signature.data)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_wire_key_bundle_body_decode(b->body.data, b->body.len,
						 &body)) != ITK_OK) {
		goto out;
	}
	if (sodium_memcmp(body->org_public_key.data, org_pk,
			  ITK_SIGN_PK_LEN) != 0) {
		r = ITK_E_VERIFY;
		goto out;
	}
	*out = body;
	body = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_wire_free(body);
	itk_wire_free(b);
	return r;
}

const Intake__V1__IntakeKey *
itk_bundle_current_intake_key(const itk_pb_key_bundle_body *b, uint64_t now)
{
	for (size_t i = 0; i < b->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *k = b->intake_keys[i];
		if (k->not_before <= now && now <= k->not_after) {
			return k;
		}
	}
	return NULL;
}

itk_err
itk_bundle_make(const itk_secret_key *org, const itk_key_info *intake,
		size_t n_intake,
		const uint8_t receipt_pk[static ITK_SIGN_PK_LEN],
		const uint8_t log_pk[static ITK_SIGN_PK_LEN],
		const char *origin, uint64_t serial, uint64_t issued_at,
		itk_buf *out)
{
	Intake__V1__KeyBundleBody body = INTAKE__V1__KEY_BUNDLE_BODY__INIT;
	Intake__V1__KeyBundle bundle = INTAKE__V1__KEY_BUNDLE__INIT;
	Intake__V1__IntakeKey ik[ITK_BUNDLE_KEYS_MAX];
	Intake__V1__IntakeKey *ikp[ITK_BUNDLE_KEYS_MAX];
	uint8_t ipk[ITK_BUNDLE_KEYS_MAX][ITK_PK_LEN];
	uint8_t rpk[ITK_SIGN_PK_LEN], lpk[ITK_SIGN_PK_LEN],
	    opk[ITK_SIGN_PK_LEN];
	uint8_t sig[ITK_SIG_LEN];
	char org_name[256];
	size_t olen, start = itk_buf_len(out);
	itk_buf *b = NULL;
	itk_pb_key_bundle_body *check = NULL;
	itk_err r;

	if (itk_key_kind_of(org) != ITK_KEY_ORG || n_intake == 0 ||
	    n_intake > ITK_BUNDLE_KEYS_MAX || origin == NULL) {
		return ITK_E_RANGE;
	}
	olen = strlen(origin);
	if (olen == 0 || olen >= sizeof(org_name)) {
		return ITK_E_RANGE;
	}
	/* protobuf-c wants mutable pointers: give it copies. */
	memcpy(org_name, origin, olen + 1);
	memcpy(rpk, receipt_pk, sizeof(rpk));
	memcpy(lpk, log_pk, sizeof(lpk));
	memcpy(opk, itk_key_public(org), sizeof(opk));
	for (size_t i = 0; i < n_intake; i++) {
		if (intake[i].kind != ITK_KEY_INTAKE) {
			return ITK_E_RANGE;
		}
		intake__v1__intake_key__init(&ik[i]);
		memcpy(ipk[i], intake[i].public_key, ITK_PK_LEN);
		ik[i].key_id = intake[i].key_id;
		ik[i].public_key.data = ipk[i];
		ik[i].public_key.len = ITK_PK_LEN;
		ik[i].not_before = intake[i].not_before;
		ik[i].not_after = intake[i].not_after;
		ikp[i] = &ik[i];
	}
	body.version = ITK_WIRE_VERSION;
	body.origin = org_name;
	body.issued_at = issued_at;
	body.n_intake_keys = n_intake;
	body.intake_keys = ikp;
	body.receipt_public_key.data = rpk;
	body.receipt_public_key.len = sizeof(rpk);
	body.log_public_key.data = lpk;
	body.log_public_key.len = sizeof(lpk);
	body.org_public_key.data = opk;
	body.org_public_key.len = sizeof(opk);
	body.serial = serial;

	if ((b = itk_buf_new(ITK_KEY_BUNDLE_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_wire_pack(&body.base, b)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_sign(ITK_SIG_KEY_BUNDLE, itk_key_secret(org),
			  itk_buf_ptr(b), itk_buf_len(b), sig)) != ITK_OK) {
		goto out;
	}
	bundle.body.data = itk_buf_mutable_ptr(b);
	bundle.body.len = itk_buf_len(b);
	bundle.signature.data = sig;
	bundle.signature.len = sizeof(sig);
	if ((r = itk_wire_pack(&bundle.base, out)) != ITK_OK) {
		goto out;
	}
	/* What we publish must pass the check every client makes. */
	r = itk_bundle_verify(itk_buf_ptr(out) + start,
			      itk_buf_len(out) - start, opk, &check);
out:
	itk_wire_free(check);
	itk_buf_free(b);
	return r;
}
