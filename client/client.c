/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "file.h"
#include "keys.h"
#include "pow.h"

/* Answers larger than this are refused before they are parsed. */
#define CLIENT_RESPONSE_MAX ITK_MAILBOX_PAGE_MAX
#define CLIENT_POW_TRIES    3 /* fresh challenges per submission */
#define CLIENT_TIMEOUT_MS   30000

struct itk_client {
	nng_url *url;
	nng_http_client *http;
	nng_http_conn *conn; /* kept alive between requests */
	nng_aio *aio;
	uint8_t org_pk[ITK_SIGN_PK_LEN];
	uint8_t *bundle_bytes;
	size_t bundle_len;
	itk_pb_key_bundle_body *bundle;
};

/* Verifies the gateway's certificate against ca_file and its name. */
static itk_err
client_tls(itk_client *c, const char *ca_file)
{
	nng_tls_config *cfg = NULL;
	itk_err r = ITK_E_CONFIG;

	if (ca_file == NULL) {
		return ITK_E_CONFIG;
	}
	if (nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) != 0) {
		return ITK_E_NOMEM;
	}
	if (nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED) != 0 ||
	    nng_tls_config_ca_file(cfg, ca_file) != 0 ||
	    nng_tls_config_server_name(cfg, c->url->u_hostname) != 0 ||
	    nng_http_client_set_tls(c->http, cfg) != 0) {
		goto out;
	}
	r = ITK_OK;
out:
	nng_tls_config_free(cfg); /* the client holds its own reference */
	return r;
}

itk_err
itk_client_new(const char *base_url,
	       const uint8_t org_pk[static ITK_SIGN_PK_LEN],
	       const char *ca_file, itk_client **out)
{
	itk_client *c = NULL;
	int https;
	itk_err r = ITK_E_NET;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return ITK_E_NOMEM;
	}
	memcpy(c->org_pk, org_pk, ITK_SIGN_PK_LEN);
	if (nng_url_parse(&c->url, base_url) != 0) {
		r = ITK_E_CONFIG;
		goto out;
	}
	https = strcmp(c->url->u_scheme, "https") == 0;
	if (!https && strcmp(c->url->u_scheme, "http") != 0) {
		r = ITK_E_CONFIG;
		goto out;
	}
	if (nng_http_client_alloc(&c->http, c->url) != 0 ||
	    nng_aio_alloc(&c->aio, NULL, NULL) != 0) {
		goto out;
	}
	if (https && (r = client_tls(c, ca_file)) != ITK_OK) {
		goto out;
	}
	nng_aio_set_timeout(c->aio, CLIENT_TIMEOUT_MS);
	*out = c;
	c = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_client_free(c);
	return r;
}

void
itk_client_free(itk_client *c)
{
	if (c == NULL) {
		return;
	}
	if (c->conn != NULL) {
		nng_http_conn_close(c->conn);
	}
	if (c->aio != NULL) {
		nng_aio_free(c->aio);
	}
	if (c->http != NULL) {
		nng_http_client_free(c->http);
	}
	if (c->url != NULL) {
		nng_url_free(c->url);
	}
	free(c->bundle_bytes);
	itk_wire_free(c->bundle);
	free(c);
}

static itk_err
connect_conn(itk_client *c)
{
	if (c->conn != NULL) {
		return ITK_OK;
	}
	nng_http_client_connect(c->http, c->aio);
	nng_aio_wait(c->aio);
	if (nng_aio_result(c->aio) != 0) {
		return ITK_E_NET;
	}
	c->conn = nng_aio_get_output(c->aio, 0);
	return ITK_OK;
}

/* One request/response on the kept-alive connection. */
static itk_err
transact_once(itk_client *c, nng_http_req *req, nng_http_res *res)
{
	itk_err r;

	if ((r = connect_conn(c)) != ITK_OK) {
		return r;
	}
	nng_http_conn_transact(c->conn, req, res, c->aio);
	nng_aio_wait(c->aio);
	if (nng_aio_result(c->aio) != 0) {
		nng_http_conn_close(c->conn);
		c->conn = NULL;
		return ITK_E_NET;
	}
	return ITK_OK;
}

itk_err
itk_client_http(itk_client *c, const char *method, const char *path,
		const uint8_t *body, size_t len, int *status, itk_buf *resp)
{
	nng_http_req *req = NULL;
	nng_http_res *res = NULL;
	void *data;
	size_t dlen;
	const char *conn_hdr;
	itk_err r = ITK_E_NET;

	*status = 0;
	if (nng_http_req_alloc(&req, c->url) != 0 ||
	    nng_http_res_alloc(&res) != 0) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if (nng_http_req_set_method(req, method) != 0 ||
	    nng_http_req_set_uri(req, path) != 0) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if (body != NULL &&
	    (nng_http_req_set_header(req, "Content-Type",
				     "application/x-protobuf") != 0 ||
	     nng_http_req_set_data(req, body, len) != 0)) {
		r = ITK_E_NOMEM;
		goto out;
	}
	r = transact_once(c, req, res);
	if (r == ITK_E_NET) {
		/* The server may have closed an idle keep-alive connection:
		 * one retry on a fresh connection.  Submissions are
		 * idempotent by id, so a resend is safe. */
		nng_http_res_reset(res);
		r = transact_once(c, req, res);
	}
	if (r != ITK_OK) {
		goto out;
	}
	*status = nng_http_res_get_status(res);
	nng_http_res_get_data(res, &data, &dlen);
	if (dlen > CLIENT_RESPONSE_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if (resp != NULL && dlen > 0 &&
	    (r = itk_buf_put(resp, data, dlen)) != ITK_OK) {
		goto out;
	}
	conn_hdr = nng_http_res_get_header(res, "Connection");
	if (conn_hdr != NULL && strcasecmp(conn_hdr, "close") == 0) {
		nng_http_conn_close(c->conn);
		c->conn = NULL;
	}
	r = ITK_OK;
out:
	if (req != NULL) {
		nng_http_req_free(req);
	}
	if (res != NULL) {
		nng_http_res_free(res);
	}
	return r;
}

/* Maps a gateway's intake.v1.Error body to our error code. */
static itk_err
error_from_body(const itk_buf *b)
{
	itk_pb_error *e = NULL;
	itk_err r = ITK_E_NET;

	if (itk_wire_error_decode(itk_buf_ptr(b), itk_buf_len(b), &e) ==
	    ITK_OK) {
		r = (itk_err)e->code;
		itk_wire_free(e);
	}
	return r;
}

itk_err
itk_client_fetch_keys(itk_client *c)
{
	itk_buf *b = NULL;
	itk_pb_key_bundle_body *body = NULL;
	int status;
	itk_err r;

	if ((b = itk_buf_new(ITK_KEY_BUNDLE_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_client_http(c, "GET", "/v1/keys", NULL, 0, &status, b)) !=
	    ITK_OK) {
		goto out;
	}
	if (status != 200) {
		r = error_from_body(b);
		goto out;
	}
	if ((r = itk_bundle_verify(itk_buf_ptr(b), itk_buf_len(b), c->org_pk,
				   &body)) != ITK_OK) {
		goto out;
	}
	free(c->bundle_bytes);
	itk_wire_free(c->bundle);
	c->bundle_len = itk_buf_len(b);
	if ((c->bundle_bytes = malloc(c->bundle_len)) == NULL) {
		c->bundle = NULL;
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(c->bundle_bytes, itk_buf_ptr(b), c->bundle_len);
	c->bundle = body;
	body = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_wire_free(body);
	itk_buf_free(b);
	return r;
}

const itk_pb_key_bundle_body *
itk_client_bundle(const itk_client *c)
{
	return c->bundle;
}

itk_err
itk_client_seal(itk_client *c, const itk_identity *id,
		const itk_client_message *m, itk_buf *out,
		uint8_t sub_id[static ITK_HASH_LEN])
{
	itk_pb_inner inner = INTAKE__V1__INNER_MESSAGE__INIT;
	itk_pb_submission sub = INTAKE__V1__SUBMISSION__INIT;
	Intake__V1__Field *fields = NULL, **fieldp = NULL;
	const Intake__V1__IntakeKey *key;
	itk_buf *plain = NULL, *sealed = NULL;
	itk_err r = ITK_E_INTERNAL;

	if (c->bundle == NULL) {
		return ITK_E_MISSING;
	}
	if ((key = itk_bundle_current_intake_key(
		 c->bundle, (uint64_t)time(NULL))) == NULL) {
		return ITK_E_KEY_EXPIRED;
	}
	if (m->n_fields > 64) {
		return ITK_E_TOO_BIG;
	}
	if (m->n_fields > 0 &&
	    ((fields = calloc(m->n_fields, sizeof(*fields))) == NULL ||
	     (fieldp = calloc(m->n_fields, sizeof(*fieldp))) == NULL)) {
		r = ITK_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < m->n_fields; i++) {
		intake__v1__field__init(&fields[i]);
		fields[i].name = (char *)m->field_names[i];
		fields[i].value = (char *)m->field_values[i];
		fieldp[i] = &fields[i];
	}
	inner.version = ITK_WIRE_VERSION;
	inner.channel = (Intake__V1__Channel)m->channel;
	inner.form_category = (Intake__V1__FormCategory)m->form_category;
	inner.language = (char *)(m->language != NULL ? m->language : "");
	inner.text = (char *)(m->text != NULL ? m->text : "");
	inner.n_fields = m->n_fields;
	inner.fields = fieldp;
	inner.reply_public_key.data = (uint8_t *)id->reply_pk;
	inner.reply_public_key.len = ITK_PK_LEN;
	inner.mailbox_id.data = (uint8_t *)id->mailbox_id;
	inner.mailbox_id.len = ITK_MAILBOX_ID_LEN;
	if (m->thread_id != NULL) {
		inner.thread_id.data = (uint8_t *)m->thread_id;
		inner.thread_id.len = ITK_HASH_LEN;
	}
	/* written_at stays 0: the device clock would leak a time zone. */
	if ((plain = itk_buf_new(ITK_PAD_MAX)) == NULL ||
	    (sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_wire_pack(&inner.base, plain)) != ITK_OK ||
	    (r = itk_seal(key->public_key.data, itk_buf_ptr(plain),
			  itk_buf_len(plain), sealed)) != ITK_OK) {
		goto out;
	}
	sub.version = ITK_WIRE_VERSION;
	sub.intake_key_id = key->key_id;
	sub.sealed.data = itk_buf_mutable_ptr(sealed);
	sub.sealed.len = itk_buf_len(sealed);
	if ((r = itk_wire_pack(&sub.base, out)) != ITK_OK) {
		goto out;
	}
	itk_sha256(sub_id, itk_buf_ptr(sealed), itk_buf_len(sealed));
	r = ITK_OK;
out:
	itk_buf_free(plain); /* wipes the plaintext */
	itk_buf_free(sealed);
	free(fields);
	free(fieldp);
	return r;
}

static itk_err
check_receipt(itk_client *c, const itk_buf *b,
	      const uint8_t sub_id[static ITK_HASH_LEN],
	      itk_client_receipt *rcpt)
{
	itk_pb_receipt *rc = NULL;
	itk_pb_receipt_body *body = NULL;
	itk_err r;

	if ((r = itk_wire_receipt_decode(itk_buf_ptr(b), itk_buf_len(b),
					 &rc)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_verify(ITK_SIG_RECEIPT,
			    c->bundle->receipt_public_key.data, rc->body.data,
			    rc->body.len, rc->signature.data)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_wire_receipt_body_decode(rc->body.data, rc->body.len,
					      &body)) != ITK_OK) {
		goto out;
	}
	if (sodium_memcmp(body->submission_id.data, sub_id, ITK_HASH_LEN) !=
		0 ||
	    rc->body.len > sizeof(rcpt->body)) {
		r = ITK_E_VERIFY;
		goto out;
	}
	memcpy(rcpt->submission_id, sub_id, ITK_HASH_LEN);
	rcpt->accepted_at = body->accepted_at;
	rcpt->intake_key_id = body->intake_key_id;
	memcpy(rcpt->signature, rc->signature.data, ITK_SIG_LEN);
	memcpy(rcpt->body, rc->body.data, rc->body.len);
	rcpt->body_len = rc->body.len;
	r = ITK_OK;
out:
	itk_wire_free(body);
	itk_wire_free(rc);
	return r;
}

itk_err
itk_client_check_receipt(itk_client *c, const uint8_t *receipt, size_t len,
			 const uint8_t sub_id[static ITK_HASH_LEN],
			 itk_client_receipt *rcpt)
{
	itk_buf *b = itk_buf_new(ITK_RECEIPT_MAX);
	itk_err r = ITK_E_NOMEM;

	if (c->bundle == NULL) {
		r = ITK_E_MISSING;
	} else if (b != NULL && (r = itk_buf_put(b, receipt, len)) == ITK_OK) {
		r = check_receipt(c, b, sub_id, rcpt);
	}
	itk_buf_free(b);
	return r;
}

/*
 * The gateway asked for proof of work (Error "pow"): fetch a challenge,
 * solve it for this submission and re-pack the Submission with it into
 * out.  The puzzle is common/pow.h.
 */
static itk_err
add_pow(itk_client *c, const uint8_t *submission, size_t len,
	const uint8_t sub_id[static ITK_HASH_LEN], itk_buf *out)
{
	Intake__V1__ProofOfWork pw = INTAKE__V1__PROOF_OF_WORK__INIT;
	itk_pb_submission *sub = NULL;
	itk_buf *ch = NULL;
	uint8_t sol[ITK_POW_SOLUTION_LEN];
	uint64_t tries;
	int status;
	itk_err r;

	if ((ch = itk_buf_new(ITK_POW_CHALLENGE_LEN + ITK_ERROR_MAX)) ==
	    NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_client_http(c, "GET", "/v1/challenge", NULL, 0, &status,
				 ch)) != ITK_OK) {
		goto out;
	}
	if (status != 200 || itk_buf_len(ch) != ITK_POW_CHALLENGE_LEN) {
		r = ITK_E_POW;
		goto out;
	}
	if ((r = itk_pow_solve(itk_buf_ptr(ch), itk_buf_len(ch), sub_id, sol,
			       0, &tries)) != ITK_OK ||
	    (r = itk_wire_submission_decode(submission, len, &sub)) !=
		ITK_OK) {
		goto out;
	}
	pw.challenge.data = (uint8_t *)itk_buf_ptr(ch);
	pw.challenge.len = itk_buf_len(ch);
	pw.solution.data = sol;
	pw.solution.len = sizeof(sol);
	sub->pow = &pw;
	r = itk_wire_pack(&sub->base, out);
	sub->pow = NULL; /* ours, on the stack */
out:
	itk_wire_free(sub);
	itk_buf_free(ch);
	return r;
}

itk_err
itk_client_post(itk_client *c, const uint8_t *submission, size_t len,
		const uint8_t sub_id[static ITK_HASH_LEN],
		itk_client_receipt *rcpt, int *http_status)
{
	itk_buf *b = NULL, *withpow = NULL;
	const uint8_t *body = submission;
	size_t blen = len;
	itk_err r;

	*http_status = 0;
	if (c->bundle == NULL) {
		return ITK_E_MISSING;
	}
	if ((b = itk_buf_new(ITK_RECEIPT_MAX + ITK_ERROR_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	/* A "pow" refusal is answered by solving a fresh challenge; the
	 * difficulty can rise between tries, hence a few. */
	for (int attempt = 0;; attempt++) {
		itk_buf_reset(b);
		if ((r = itk_client_http(c, "POST", "/v1/submissions", body,
					 blen, http_status, b)) != ITK_OK) {
			goto out;
		}
		if (*http_status == 200) {
			break;
		}
		r = error_from_body(b);
		if (r != ITK_E_POW || attempt >= CLIENT_POW_TRIES) {
			goto out;
		}
		itk_buf_free(withpow);
		if ((withpow = itk_buf_new(ITK_SUBMISSION_MAX)) == NULL) {
			r = ITK_E_NOMEM;
			goto out;
		}
		if ((r = add_pow(c, submission, len, sub_id, withpow)) !=
		    ITK_OK) {
			goto out;
		}
		body = itk_buf_ptr(withpow);
		blen = itk_buf_len(withpow);
	}
	r = check_receipt(c, b, sub_id, rcpt);
out:
	itk_buf_free(withpow);
	itk_buf_free(b);
	return r;
}

itk_err
itk_client_replies(itk_client *c, const itk_identity *id,
		   itk_err (*fn)(const itk_client_reply *r, void *arg),
		   void *arg, size_t *bad)
{
	char path[16 + 2 * ITK_MAILBOX_ID_LEN + 1];
	char hex[2 * ITK_MAILBOX_ID_LEN + 1];
	itk_buf *b = NULL, *plain = NULL;
	itk_pb_mailbox_page *page = NULL;
	int status;
	itk_err r;

	*bad = 0;
	itk_hex(hex, id->mailbox_id, ITK_MAILBOX_ID_LEN);
	snprintf(path, sizeof(path), "/v1/mailbox/%s", hex);
	if ((b = itk_buf_new(CLIENT_RESPONSE_MAX)) == NULL ||
	    (plain = itk_buf_new(ITK_PAD_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_client_http(c, "GET", path, NULL, 0, &status, b)) !=
	    ITK_OK) {
		goto out;
	}
	if (status != 200) {
		r = error_from_body(b);
		goto out;
	}
	if ((r = itk_wire_mailbox_page_decode(itk_buf_ptr(b), itk_buf_len(b),
					      &page)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < page->n_replies; i++) {
		const itk_pb_reply *rp = page->replies[i];
		itk_pb_reply_body *body = NULL;
		itk_client_reply out_reply;

		itk_buf_reset(plain);
		if (itk_open(id->reply_pk, id->reply_sk, rp->sealed.data,
			     rp->sealed.len, plain) != ITK_OK ||
		    itk_wire_reply_body_decode(itk_buf_ptr(plain),
					       itk_buf_len(plain),
					       &body) != ITK_OK) {
			(*bad)++;
			continue;
		}
		memcpy(out_reply.reply_id, rp->reply_id.data, ITK_HASH_LEN);
		out_reply.posted_at = rp->posted_at;
		out_reply.sent_at = body->sent_at;
		out_reply.text = body->text != NULL ? body->text : "";
		r = fn(&out_reply, arg);
		itk_wire_free(body);
		if (r != ITK_OK) {
			goto out;
		}
	}
	r = ITK_OK;
out:
	itk_wire_free(page);
	itk_buf_free(plain);
	itk_buf_free(b);
	return r;
}
