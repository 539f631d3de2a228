/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator service's request handling (operator/opd.c) and the vault's
 * operator records (vault/ops.c), against a real key store, the built-in
 * triage rules and a real LMDB vault in a temp dir.  Every refusal is
 * checked to change nothing: neither the Merkle log (every stored change
 * is a leaf) nor the replay cache grows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "file.h"
#include "keyring.h"
#include "keys.h"
#include "opd.h"
#include "ops.h"
#include "opwire.h"
#include "qgrants.h"
#include "qkeys.h"
#include "triage.h"
#include "vault.h"
#include "vault_log.h"
#include "wire.h"

enum { TRI, TRI2, CAPT, SUP, SUP2, SUP3, PHONE, ADM, N_OPS };

#define Q(q) (1u << (q))

static const struct {
	const char *name;
	itk_role role;
	uint32_t queues;
} op_defs[N_OPS] = {
    [TRI] = {"tri", ITK_ROLE_TRIAGE,
	     Q(ITK_QUEUE_SURRENDER) | Q(ITK_QUEUE_CAPTIVITY)},
    [TRI2] = {"tri2", ITK_ROLE_TRIAGE,
	      Q(ITK_QUEUE_SURRENDER) | Q(ITK_QUEUE_CAPTIVITY)},
    [CAPT] = {"capt", ITK_ROLE_TRIAGE, Q(ITK_QUEUE_CAPTIVITY)},
    [SUP] = {"sup", ITK_ROLE_SUPERVISOR, ITK_KEY_QUEUES_ALL},
    [SUP2] = {"sup2", ITK_ROLE_SUPERVISOR, ITK_KEY_QUEUES_ALL},
    [SUP3] = {"sup3", ITK_ROLE_SUPERVISOR, Q(ITK_QUEUE_CAPTIVITY)},
    [PHONE] = {"phone", ITK_ROLE_PHONE, ITK_KEY_QUEUES_ALL},
    [ADM] = {"adm", ITK_ROLE_ADMIN, ITK_KEY_QUEUES_ALL},
};

#define SKEW  120u
#define LEASE 900u

struct fx {
	char dir[64];
	wk_keyring *ring;
	triage_rules *rules;
	vault *v;
	opd *s;
	itk_secret_key *ops[N_OPS];
	uint64_t now;
	uint8_t surr[VAULT_ID_LEN];  /* surrender, critical */
	uint8_t capt[VAULT_ID_LEN];  /* captivity, normal, older */
	uint8_t capt2[VAULT_ID_LEN]; /* captivity, normal, newer */
	uint8_t other[VAULT_ID_LEN]; /* other, low */
};

/* A stored case with random "sealed" bytes (never opened here). */
static void
add_case(struct fx *f, itk_queue q, itk_urgency u, uint64_t at,
	 uint8_t id[VAULT_ID_LEN])
{
	uint8_t sealed[200];
	vault_message m;
	vault_result res;

	randombytes_buf(sealed, sizeof(sealed));
	memset(&m, 0, sizeof(m));
	itk_sha256(m.submission_id, sealed, sizeof(sealed));
	m.intake_key_id = 1;
	m.accepted_at = at;
	m.sealed = sealed;
	m.sealed_len = sizeof(sealed);
	m.queue = q;
	m.urgency = u;
	m.language = ITK_LANG_EN;
	m.channel = 1;
	assert_int_equal(vault_commit(f->v, &m, 1, NULL, 0, &res), ITK_OK);
	assert_int_equal(res.outcome, VAULT_STORED_NEW_CASE);
	memcpy(id, res.case_id, VAULT_ID_LEN);
}

static void
save_intake_key(struct fx *f)
{
	itk_key_info tmpl;
	itk_secret_key *k = NULL;
	char path[256];

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.kind = ITK_KEY_INTAKE;
	tmpl.created = f->now;
	tmpl.not_before = f->now - 10;
	tmpl.not_after = f->now + 86400;
	snprintf(tmpl.name, sizeof(tmpl.name), "intake-test");
	assert_int_equal(itk_key_generate(&tmpl, &k), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), f->dir,
					   ITK_KEY_INTAKE, itk_key_id(k), NULL,
					   false),
			 ITK_OK);
	assert_int_equal(itk_key_save(k, path, NULL, NULL), ITK_OK);
	itk_key_free(k);
}

static void
save_operators(struct fx *f)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/operators", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < N_OPS; i++) {
		itk_key_info tmpl, info;
		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.kind = ITK_KEY_OPERATOR;
		tmpl.created = f->now;
		tmpl.role = op_defs[i].role;
		tmpl.queues = op_defs[i].queues;
		snprintf(tmpl.name, sizeof(tmpl.name), "%s", op_defs[i].name);
		assert_int_equal(itk_key_generate(&tmpl, &f->ops[i]), ITK_OK);
		info = *itk_key_info_of(f->ops[i]);
		info.dev = true;
		assert_int_equal(itk_keystore_path(path, sizeof(path), f->dir,
						   ITK_KEY_OPERATOR, 0,
						   op_defs[i].name, true),
				 ITK_OK);
		assert_int_equal(itk_key_save_public(&info, path), ITK_OK);
	}
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t vkey[VAULT_KEY_LEN];
	char vdir[128];
	vault_options vo = {0};
	opd_options oo = {0};

	assert_non_null(f);
	assert_int_equal(itk_crypto_init(), ITK_OK);
	f->now = (uint64_t)time(NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/itk-opd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	save_intake_key(f);
	save_operators(f);
	assert_int_equal(wk_keyring_load(f->dir, NULL, &f->ring), ITK_OK);
	assert_int_equal(triage_rules_default(&f->rules), ITK_OK);
	randombytes_buf(vkey, sizeof(vkey));
	snprintf(vdir, sizeof(vdir), "%s/vault", f->dir);
	vo.dir = vdir;
	vo.map_size = 64u << 20;
	assert_int_equal(vault_open(&vo, vkey, &f->v), ITK_OK);
	sodium_memzero(vkey, sizeof(vkey));
	oo.keys_dir = f->dir;
	oo.v = f->v;
	oo.ring = f->ring;
	oo.rules = f->rules;
	oo.lease_seconds = LEASE;
	oo.skew_seconds = SKEW;
	assert_int_equal(opd_new(&oo, &f->s), ITK_OK);
	assert_int_equal(opd_operator_count(f->s), N_OPS);
	add_case(f, ITK_QUEUE_SURRENDER, ITK_URGENCY_CRITICAL, f->now - 600,
		 f->surr);
	add_case(f, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, f->now - 500,
		 f->capt);
	add_case(f, ITK_QUEUE_CAPTIVITY, ITK_URGENCY_NORMAL, f->now - 400,
		 f->capt2);
	add_case(f, ITK_QUEUE_OTHER, ITK_URGENCY_LOW, f->now - 300, f->other);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	opd_free(f->s);
	vault_free(f->v);
	triage_rules_free(f->rules);
	wk_keyring_free(f->ring);
	for (int i = 0; i < N_OPS; i++) {
		itk_key_free(f->ops[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ------------------------------------------------------- requests */

/* How a test request departs from an honest one. */
typedef struct {
	int64_t dt;          /* request time - now */
	itk_sig_ctx ctx;     /* signing context (default operator) */
	uint32_t key_id_xor; /* breaks the key id */
	const char *name;    /* operator name instead of the key's */
	bool flip_sig;       /* one bit of the signature */
	bool flip_body;      /* one bit of the signed body */
	int signer;          /* -1: the operator's own key */
} bend;

static const bend honest = {0, ITK_SIG_OPERATOR, 0, NULL, false, false, -1};

/* Builds a signed OperatorRequest for body (whose command and arguments
 * the caller set) from operator who, appended to out. */
static void build_n(struct fx *f, int who, itk_pb_op_request_body *body,
		    const bend *b, itk_buf *out,
		    uint8_t nonce_out[ITK_OP_NONCE_LEN]);

static void
build(struct fx *f, int who, itk_pb_op_request_body *body, const bend *b,
      itk_buf *out)
{
	uint8_t nonce[ITK_OP_NONCE_LEN];

	build_n(f, who, body, b, out, nonce);
}

static void
build_n(struct fx *f, int who, itk_pb_op_request_body *body, const bend *b,
	itk_buf *out, uint8_t nonce_out[ITK_OP_NONCE_LEN])
{
	const itk_key_info *ki = itk_key_info_of(f->ops[who]);
	itk_pb_op_request env = INTAKE__V1__OPERATOR_REQUEST__INIT;
	uint8_t nonce[ITK_OP_NONCE_LEN], sig[ITK_SIG_LEN];
	itk_buf *p = itk_buf_new(ITK_OP_REQUEST_MAX);
	int signer = b->signer >= 0 ? b->signer : who;

	assert_non_null(p);
	randombytes_buf(nonce, sizeof(nonce));
	body->version = ITK_WIRE_VERSION;
	body->operator_ = (char *)(b->name != NULL ? b->name : ki->name);
	body->key_id = ki->key_id ^ b->key_id_xor;
	body->nonce.data = nonce;
	body->nonce.len = sizeof(nonce);
	body->time = (uint64_t)((int64_t)f->now + b->dt);
	assert_int_equal(itk_wire_pack(&body->base, p), ITK_OK);
	assert_int_equal(itk_sign(b->ctx, itk_key_secret(f->ops[signer]),
				  itk_buf_ptr(p), itk_buf_len(p), sig),
			 ITK_OK);
	if (b->flip_sig) {
		sig[17] ^= 0x04;
	}
	if (b->flip_body) {
		itk_buf_mutable_ptr(p)[itk_buf_len(p) - 1] ^= 0x01;
	}
	env.body.data = itk_buf_mutable_ptr(p);
	env.body.len = itk_buf_len(p);
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	itk_buf_reset(out);
	assert_int_equal(itk_wire_pack(&env.base, out), ITK_OK);
	memcpy(nonce_out, nonce, ITK_OP_NONCE_LEN);
	itk_buf_free(p);
}

/* An honest request whose answer is opened as the operator would: *resp
 * is the caller's (itk_wire_free) when ITK_OK. */
static itk_err
send_open(struct fx *f, int who, itk_pb_op_request_body *body,
	  itk_pb_op_response_body **resp)
{
	itk_buf *req = itk_buf_new(ITK_OP_REQUEST_MAX);
	itk_buf *ans = itk_buf_new(ITK_OP_RESPONSE_MAX);
	uint8_t nonce[ITK_OP_NONCE_LEN];
	char msg[256];
	itk_err r, w;

	assert_non_null(req);
	assert_non_null(ans);
	*resp = NULL;
	build_n(f, who, body, &honest, req, nonce);
	r = opd_handle(f->s, itk_buf_ptr(req), itk_buf_len(req), f->now, ans);
	w = op_response_open(
	    itk_key_secret(f->ops[who]), itk_key_public(f->ops[who]), nonce,
	    itk_buf_ptr(ans), itk_buf_len(ans), msg, sizeof(msg), resp);
	assert_int_equal(w, r);
	itk_buf_free(ans);
	itk_buf_free(req);
	return r;
}

/* Sends req to the service at f->now; the answer is checked to be a
 * refusal carrying the same code when the request was refused. */
static itk_err
send_raw(struct fx *f, int who, const itk_buf *req)
{
	itk_buf *ans = itk_buf_new(ITK_OP_RESPONSE_MAX);
	itk_pb_op_response *resp = NULL;
	itk_err r;

	assert_non_null(ans);
	r = opd_handle(f->s, itk_buf_ptr(req), itk_buf_len(req), f->now, ans);
	assert_int_equal(itk_wire_op_response_decode(itk_buf_ptr(ans),
						     itk_buf_len(ans), &resp),
			 ITK_OK);
	if (r != ITK_OK) {
		assert_non_null(resp->error);
		assert_int_equal(resp->sealed.len, 0);
	} else {
		assert_null(resp->error);
		assert_true(resp->sealed.len > 0);
	}
	(void)who;
	itk_wire_free(resp);
	itk_buf_free(ans);
	return r;
}

static itk_err
send_bent(struct fx *f, int who, itk_pb_op_request_body *body, const bend *b)
{
	itk_buf *req = itk_buf_new(ITK_OP_REQUEST_MAX);
	itk_err r;

	assert_non_null(req);
	build(f, who, body, b, req);
	r = send_raw(f, who, req);
	itk_buf_free(req);
	return r;
}

static itk_err
send(struct fx *f, int who, itk_pb_op_request_body *body)
{
	return send_bent(f, who, body, &honest);
}

static itk_pb_op_request_body
cmd(Intake__V1__OperatorCommand c, const uint8_t *case_id, const char *queue)
{
	itk_pb_op_request_body b = INTAKE__V1__OPERATOR_REQUEST_BODY__INIT;

	b.command = c;
	if (case_id != NULL) {
		b.case_id.data = (uint8_t *)case_id;
		b.case_id.len = VAULT_ID_LEN;
	}
	if (queue != NULL) {
		b.queue = (char *)queue;
	}
	return b;
}

#define C(x) INTAKE__V1__OPERATOR_COMMAND__OP_##x

/* What a refusal must leave alone. */
typedef struct {
	uint64_t log;
	size_t nonces;
} snap;

static snap
take(struct fx *f)
{
	snap s;

	assert_int_equal(vault_log_size(f->v, &s.log), ITK_OK);
	assert_int_equal(vault_ops_nonce_count(f->v, &s.nonces), ITK_OK);
	return s;
}

static void
unchanged(struct fx *f, snap before)
{
	snap now = take(f);

	assert_int_equal(now.log, before.log);
	assert_int_equal(now.nonces, before.nonces);
}

/* A refused request of each kind, each checked to change nothing. */
static void
refused(struct fx *f, int who, itk_pb_op_request_body body, const bend *b,
	itk_err want)
{
	snap s = take(f);

	assert_int_equal(send_bent(f, who, &body, b), want);
	unchanged(f, s);
}

/* ------------------------------------------------- authentication */

static void
test_honest_request_changes(void **state)
{
	struct fx *f = *state;
	snap s = take(f);
	itk_pb_op_request_body b = cmd(C(QUEUES), NULL, NULL);

	assert_int_equal(send(f, TRI, &b), ITK_OK);
	/* An accepted request records its nonce and its action (a leaf). */
	assert_int_equal(take(f).nonces, s.nonces + 1);
	assert_true(take(f).log > s.log);
}

static void
test_bad_signature(void **state)
{
	struct fx *f = *state;
	bend b = honest;

	b.flip_sig = true;
	refused(f, TRI, cmd(C(QUEUES), NULL, NULL), &b, ITK_E_VERIFY);
	b = honest;
	b.flip_body = true;
	refused(f, TRI, cmd(C(NEXT), NULL, "surrender"), &b, ITK_E_VERIFY);
}

static void
test_signature_with_other_context(void **state)
{
	struct fx *f = *state;
	static const itk_sig_ctx others[] = {ITK_SIG_KEY_BUNDLE,
					     ITK_SIG_RECEIPT, ITK_SIG_EXPORT};

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		bend b = honest;
		b.ctx = others[i];
		refused(f, TRI, cmd(C(NEXT), NULL, "surrender"), &b,
			ITK_E_VERIFY);
	}
	/* Signed by another operator's key under the right name. */
	{
		bend b = honest;
		b.signer = TRI2;
		refused(f, TRI, cmd(C(NEXT), NULL, "surrender"), &b,
			ITK_E_VERIFY);
	}
}

static void
test_replayed_nonce(void **state)
{
	struct fx *f = *state;
	itk_buf *req = itk_buf_new(ITK_OP_REQUEST_MAX);
	itk_pb_op_request_body b = cmd(C(NEXT), NULL, "captivity");
	snap s;

	assert_non_null(req);
	build(f, TRI, &b, &honest, req);
	assert_int_equal(send_raw(f, TRI, req), ITK_OK);
	s = take(f);
	/* The very same bytes again: refused, and no second case claimed. */
	assert_int_equal(send_raw(f, TRI, req), ITK_E_DUPLICATE);
	unchanged(f, s);
	assert_int_equal(send_raw(f, TRI, req), ITK_E_DUPLICATE);
	unchanged(f, s);
	itk_buf_free(req);
}

static void
test_stale_and_future_time(void **state)
{
	struct fx *f = *state;
	bend b = honest;

	b.dt = -(int64_t)SKEW - 1;
	refused(f, TRI, cmd(C(NEXT), NULL, "surrender"), &b, ITK_E_RANGE);
	b.dt = (int64_t)SKEW + 1;
	refused(f, TRI, cmd(C(NEXT), NULL, "surrender"), &b, ITK_E_RANGE);
	b.dt = -(int64_t)86400 * 365;
	refused(f, TRI, cmd(C(QUEUES), NULL, NULL), &b, ITK_E_RANGE);
	/* At the edges of the window it is accepted. */
	b.dt = -(int64_t)SKEW;
	{
		itk_pb_op_request_body q = cmd(C(QUEUES), NULL, NULL);
		assert_int_equal(send_bent(f, TRI, &q, &b), ITK_OK);
	}
	b.dt = (int64_t)SKEW;
	{
		itk_pb_op_request_body q = cmd(C(QUEUES), NULL, NULL);
		assert_int_equal(send_bent(f, TRI, &q, &b), ITK_OK);
	}
}

static void
test_unknown_operator_and_key_id(void **state)
{
	struct fx *f = *state;
	bend b = honest;

	b.name = "mallory";
	refused(f, TRI, cmd(C(QUEUES), NULL, NULL), &b, ITK_E_KEY_UNKNOWN);
	/* Another operator's name with this key's signature. */
	b.name = "sup";
	refused(f, TRI, cmd(C(QUEUES), NULL, NULL), &b, ITK_E_KEY_UNKNOWN);
	b = honest;
	b.key_id_xor = 1;
	refused(f, TRI, cmd(C(QUEUES), NULL, NULL), &b, ITK_E_KEY_UNKNOWN);
}

static void
test_malformed_bytes(void **state)
{
	struct fx *f = *state;
	itk_buf *req = itk_buf_new(ITK_OP_REQUEST_MAX);
	itk_buf *cut = itk_buf_new(ITK_OP_REQUEST_MAX);
	itk_pb_op_request_body b = cmd(C(NEXT), NULL, "surrender");
	snap s = take(f);

	assert_non_null(req);
	assert_non_null(cut);
	build(f, TRI, &b, &honest, req);
	/* Every truncation is refused. */
	for (size_t n = 0; n < itk_buf_len(req); n += 7) {
		itk_buf_reset(cut);
		assert_int_equal(itk_buf_put(cut, itk_buf_ptr(req), n),
				 ITK_OK);
		assert_int_not_equal(send_raw(f, TRI, cut), ITK_OK);
	}
	/* Every single bit flip is refused. */
	for (size_t i = 0; i < itk_buf_len(req); i += 3) {
		itk_buf_reset(cut);
		assert_int_equal(
		    itk_buf_put(cut, itk_buf_ptr(req), itk_buf_len(req)),
		    ITK_OK);
		itk_buf_mutable_ptr(cut)[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(send_raw(f, TRI, cut), ITK_OK);
	}
	unchanged(f, s);
	itk_buf_free(cut);
	itk_buf_free(req);
}

/* --------------------------------------------------- authorisation */

static void
test_role_not_allowed(void **state)
{
	struct fx *f = *state;

	refused(f, PHONE, cmd(C(NEXT), NULL, "surrender"), &honest,
		ITK_E_PERM);
	refused(f, PHONE, cmd(C(SHOW), f->surr, NULL), &honest, ITK_E_PERM);
	refused(f, ADM, cmd(C(SHOW), f->surr, NULL), &honest, ITK_E_PERM);
	refused(f, ADM, cmd(C(REPLY), f->surr, NULL), &honest, ITK_E_PERM);
	refused(f, TRI, cmd(C(PHONE_INTAKE), NULL, NULL), &honest, ITK_E_PERM);
	refused(f, TRI, cmd(C(UNSPECIFIED), NULL, NULL), &honest, ITK_E_RANGE);
}

static void
test_queue_not_granted(void **state)
{
	struct fx *f = *state;

	refused(f, CAPT, cmd(C(NEXT), NULL, "surrender"), &honest, ITK_E_PERM);
	refused(f, TRI, cmd(C(NEXT), NULL, "other"), &honest, ITK_E_PERM);
	refused(f, TRI, cmd(C(NEXT), NULL, "nonsense"), &honest, ITK_E_RANGE);
	/* Moving a case into a queue one may not work. */
	refused(f, TRI, cmd(C(MOVE), f->capt, "other"), &honest, ITK_E_PERM);
}

static void
test_case_in_another_queue(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(NOTE), f->surr, NULL);

	b.text = "looked at it";
	refused(f, CAPT, b, &honest, ITK_E_PERM);
	refused(f, CAPT, cmd(C(SHOW), f->surr, NULL), &honest, ITK_E_PERM);
	refused(f, CAPT, cmd(C(HISTORY), f->surr, NULL), &honest, ITK_E_PERM);
	refused(f, CAPT, cmd(C(CLOSE), f->surr, NULL), &honest, ITK_E_PERM);
	/* A case that does not exist. */
	{
		uint8_t nope[VAULT_ID_LEN];
		randombytes_buf(nope, sizeof(nope));
		refused(f, TRI, cmd(C(SHOW), nope, NULL), &honest,
			ITK_E_NOT_FOUND);
	}
}

static void
test_case_leased_by_someone_else(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(NEXT), NULL, "surrender");
	itk_pb_op_request_body n;
	vault_lease l;

	assert_int_equal(send(f, TRI, &b), ITK_OK);
	assert_int_equal(vault_ops_lease(f->v, f->surr, f->now, &l), ITK_OK);
	assert_string_equal(l.holder, "tri");
	n = cmd(C(NOTE), f->surr, NULL);
	n.text = "mine now";
	refused(f, TRI2, n, &honest, ITK_E_LEASE);
	refused(f, TRI2, cmd(C(RELEASE), f->surr, NULL), &honest, ITK_E_LEASE);
	refused(f, TRI2, cmd(C(ESCALATE), f->surr, NULL), &honest,
		ITK_E_LEASE);
	/* Nobody else gets it from the queue. */
	refused(f, TRI2, cmd(C(NEXT), NULL, "surrender"), &honest,
		ITK_E_NOT_FOUND);
	/* Reading is not working: show is allowed. */
	b = cmd(C(SHOW), f->surr, NULL);
	assert_int_equal(send(f, TRI2, &b), ITK_OK);
	/* The holder may, and a supervisor may. */
	assert_int_equal(send(f, TRI, &n), ITK_OK);
	b = cmd(C(RELEASE), f->surr, NULL);
	assert_int_equal(send(f, SUP, &b), ITK_OK);
	assert_int_equal(vault_ops_lease(f->v, f->surr, f->now, &l),
			 ITK_E_NOT_FOUND);
}

struct phone_find {
	struct fx *f;
	uint8_t id[VAULT_ID_LEN];
	int found;
};

static itk_err
find_new_case(const vault_case_view *c, void *arg)
{
	struct phone_find *p = arg;
	const struct fx *f = p->f;

	if (memcmp(c->case_id, f->surr, VAULT_ID_LEN) != 0 &&
	    memcmp(c->case_id, f->capt, VAULT_ID_LEN) != 0 &&
	    memcmp(c->case_id, f->capt2, VAULT_ID_LEN) != 0 &&
	    memcmp(c->case_id, f->other, VAULT_ID_LEN) != 0) {
		memcpy(p->id, c->case_id, VAULT_ID_LEN);
		p->found++;
	}
	return ITK_OK;
}

static itk_err
count_cases(const vault_case_view *c, void *arg)
{
	(void)c;
	(*(size_t *)arg)++;
	return ITK_OK;
}

static itk_err
count_phone(const vault_action_view *a, void *arg)
{
	size_t *n = arg;

	if (a->action == VAULT_ACT_PHONE_INTAKE &&
	    strcmp(a->actor, "phone") == 0) {
		n[0]++;
	}
	n[1]++;
	return ITK_OK;
}

static void
test_phone_intake_one_transaction(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(PHONE_INTAKE), NULL, NULL);
	vault_search vs = {
	    .state = 1, .queue = -1, .queues = ITK_KEY_QUEUES_ALL};
	struct phone_find pf = {.f = f};
	vault_stats before, after;
	uint64_t log0, log1;
	size_t n[2] = {0, 0};
	snap s;

	assert_int_equal(vault_get_stats(f->v, &before), ITK_OK);
	assert_int_equal(vault_log_size(f->v, &log0), ITK_OK);
	b.text = "The mother called: her son was taken prisoner, alive?";
	b.language = "en";
	b.form_category = INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE;
	assert_int_equal(send(f, PHONE, &b), ITK_OK);
	assert_int_equal(vault_get_stats(f->v, &after), ITK_OK);
	assert_int_equal(after.cases, before.cases + 1);
	assert_int_equal(after.messages, before.messages + 1);
	/* case, message, action: leaves of the one commit */
	assert_int_equal(vault_log_size(f->v, &log1), ITK_OK);
	assert_true(log1 >= log0 + 3);
	assert_int_equal(vault_ops_search(f->v, &vs, find_new_case, &pf),
			 ITK_OK);
	assert_int_equal(pf.found, 1);
	assert_int_equal(vault_ops_history(f->v, pf.id, count_phone, n),
			 ITK_OK);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 1);
	/* With no current intake key the call is refused before anything
	 * is stored: no case, no action. */
	f->now += 2 * 86400;
	s = take(f);
	assert_int_equal(send(f, PHONE, &b), ITK_E_KEY_EXPIRED);
	unchanged(f, s);
	f->now -= 2 * 86400;
	assert_int_equal(vault_get_stats(f->v, &before), ITK_OK);
	assert_int_equal(before.cases, after.cases);
}

/* ---------------------------------------------- vault operator records */

static const vault_actor actor_a = {11, "alice"};
static const vault_actor actor_b = {22, "bob"};

static void
test_vault_leases(void **state)
{
	struct fx *f = *state;
	vault_case_view c1, c2, c3;
	vault_lease l;
	vault_op *o = NULL;
	uint64_t t = f->now;

	/* Claim: oldest first among equals; a claimed case is skipped. */
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_a, t, t + 60, &c1),
	    ITK_OK);
	assert_memory_equal(c1.case_id, f->capt, VAULT_ID_LEN);
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_b, t, t + 60, &c2),
	    ITK_OK);
	assert_memory_equal(c2.case_id, f->capt2, VAULT_ID_LEN);
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_b, t, t + 60, &c3),
	    ITK_E_NOT_FOUND);
	/* until <= now and bad queues are refused */
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_OTHER, &actor_b, t, t, &c3),
	    ITK_E_RANGE);
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_COUNT, &actor_b, t, t + 1, &c3),
	    ITK_E_RANGE);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_lease(f->v, f->capt, t, &l), ITK_OK);
	assert_string_equal(l.holder, "alice");
	assert_int_equal(l.key_id, 11);
	assert_int_equal(l.until, t + 60);
	/* Expiry: at until the lease is gone and the case is claimable. */
	assert_int_equal(vault_ops_lease(f->v, f->capt, t + 60, &l),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_b,
					t + 59, t + 120, &c3),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_b,
					t + 60, t + 120, &c3),
			 ITK_OK);
	assert_memory_equal(c3.case_id, f->capt, VAULT_ID_LEN);
	/* Release: the case is free at once; releasing twice is NOT_FOUND */
	assert_int_equal(vault_op_release(o, f->capt2), ITK_OK);
	assert_int_equal(vault_op_release(o, f->capt2), ITK_E_NOT_FOUND);
	assert_int_equal(vault_op_lease_get(o, f->capt2, t, &l),
			 ITK_E_NOT_FOUND);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_lease(f->v, f->capt, t + 61, &l), ITK_OK);
	assert_string_equal(l.holder, "bob");
	/* An aborted claim leaves nothing. */
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(
	    vault_op_claim(o, ITK_QUEUE_CAPTIVITY, &actor_a, t, t + 60, &c1),
	    ITK_OK);
	vault_op_abort(o);
	assert_int_equal(vault_ops_lease(f->v, f->capt2, t, &l),
			 ITK_E_NOT_FOUND);
}

static void
test_lease_steal_refused(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(NEXT), NULL, "captivity");
	vault_lease l;

	/* tri holds capt; tri2 takes the next one; a second pull by tri2
	 * finds nothing: no case is handed out twice. */
	assert_int_equal(send(f, TRI, &b), ITK_OK);
	assert_int_equal(send(f, TRI2, &b), ITK_OK);
	refused(f, TRI2, cmd(C(NEXT), NULL, "captivity"), &honest,
		ITK_E_NOT_FOUND);
	assert_int_equal(vault_ops_lease(f->v, f->capt, f->now, &l), ITK_OK);
	assert_string_equal(l.holder, "tri");
	assert_int_equal(vault_ops_lease(f->v, f->capt2, f->now, &l), ITK_OK);
	assert_string_equal(l.holder, "tri2");
	/* A lease expires: tri2 may then work tri's case. */
	f->now += LEASE;
	b = cmd(C(ESCALATE), f->capt, NULL);
	assert_int_equal(send(f, TRI2, &b), ITK_OK);
	f->now -= LEASE;
}

struct acts {
	size_t n;
	vault_action what[8];
	char detail[8][VAULT_DETAIL_MAX + 1];
};

static itk_err
collect_action(const vault_action_view *a, void *arg)
{
	struct acts *x = arg;

	if (x->n < 8) {
		x->what[x->n] = a->action;
		snprintf(x->detail[x->n], sizeof(x->detail[0]), "%s",
			 a->detail);
	}
	x->n++;
	return ITK_OK;
}

static void
test_vault_actions(void **state)
{
	struct fx *f = *state;
	struct acts x = {0};
	char big[VAULT_DETAIL_MAX + 2];
	vault_op *o = NULL;

	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(
	    vault_op_record(o, f->surr, 1, &actor_a, VAULT_ACT_SHOW, NULL),
	    ITK_OK);
	assert_int_equal(vault_op_record(o, f->surr, 2, &actor_b,
					 VAULT_ACT_CLOSE, "duplicate"),
			 ITK_OK);
	assert_int_equal(
	    vault_op_record(o, f->capt, 3, &actor_b, VAULT_ACT_SHOW, NULL),
	    ITK_OK);
	assert_int_equal(
	    vault_op_record(o, NULL, 4, &actor_b, VAULT_ACT_QUEUES, NULL),
	    ITK_OK);
	/* Bad actions, actors and details are refused. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    vault_op_record(o, f->surr, 5, &actor_b, VAULT_ACT_SHOW, big),
	    ITK_E_RANGE);
	assert_int_equal(
	    vault_op_record(o, f->surr, 5, &actor_b, VAULT_ACT_COUNT, NULL),
	    ITK_E_RANGE);
	assert_int_equal(
	    vault_op_record(o, f->surr, 5, &actor_b, (vault_action)0, NULL),
	    ITK_E_RANGE);
	{
		vault_actor nameless = {1, ""};
		assert_int_equal(vault_op_record(o, f->surr, 5, &nameless,
						 VAULT_ACT_SHOW, NULL),
				 ITK_E_RANGE);
	}
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_history(f->v, f->surr, collect_action, &x),
			 ITK_OK);
	assert_int_equal(x.n, 2);
	assert_int_equal(x.what[0], VAULT_ACT_SHOW);
	assert_int_equal(x.what[1], VAULT_ACT_CLOSE);
	assert_string_equal(x.detail[1], "duplicate");
	assert_string_equal(vault_action_name(VAULT_ACT_CLOSE), "close");
	assert_string_equal(vault_action_name(VAULT_ACT_COUNT), "?");
}

struct notes {
	size_t n;
	char text[4][64];
	vault_note_kind kind[4];
};

static itk_err
collect_note(const vault_note_view *nv, void *arg)
{
	struct notes *x = arg;

	if (x->n < 4) {
		snprintf(x->text[x->n], sizeof(x->text[0]), "%s", nv->text);
		x->kind[x->n] = nv->kind;
	}
	x->n++;
	return ITK_OK;
}

/* Whether the bytes of s occur anywhere in the vault's LMDB file (read
 * in chunks that overlap by the length of s). */
static bool
in_vault_file(struct fx *f, const char *s)
{
	static uint8_t chunk[1u << 20];
	char path[160];
	size_t n = strlen(s), have = 0, got;
	bool hit = false;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/vault/data.mdb", f->dir);
	assert_non_null(fp = fopen(path, "rb"));
	while (!hit &&
	       (got = fread(chunk + have, 1, sizeof(chunk) - have, fp)) > 0) {
		have += got;
		for (size_t i = 0; i + n <= have && !hit; i++) {
			hit = memcmp(chunk + i, s, n) == 0;
		}
		if (have >= n) {
			memmove(chunk, chunk + have - (n - 1), n - 1);
			have = n - 1;
		}
	}
	fclose(fp);
	return hit;
}

static void
test_vault_notes_encrypted(void **state)
{
	struct fx *f = *state;
	static const char marker[] = "MARKER-7f3a9c-note-plaintext";
	struct notes x = {0};
	vault_op *o = NULL;

	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(vault_op_note(o, f->surr, 10, &actor_a,
				       VAULT_NOTE_INTERNAL, marker),
			 ITK_OK);
	assert_int_equal(vault_op_note(o, f->surr, 11, &actor_b,
				       VAULT_NOTE_REPLY, "reply text"),
			 ITK_OK);
	/* empty, unknown kind, missing case */
	assert_int_equal(
	    vault_op_note(o, f->surr, 12, &actor_b, VAULT_NOTE_INTERNAL, ""),
	    ITK_E_RANGE);
	assert_int_equal(
	    vault_op_note(o, f->surr, 12, &actor_b, (vault_note_kind)7, "x"),
	    ITK_E_RANGE);
	{
		uint8_t nope[VAULT_ID_LEN] = {1};
		assert_int_equal(vault_op_note(o, nope, 12, &actor_b,
					       VAULT_NOTE_INTERNAL, "x"),
				 ITK_E_NOT_FOUND);
	}
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_notes(f->v, f->surr, collect_note, &x),
			 ITK_OK);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.text[0], marker);
	assert_int_equal(x.kind[0], VAULT_NOTE_INTERNAL);
	assert_string_equal(x.text[1], "reply text");
	assert_int_equal(x.kind[1], VAULT_NOTE_REPLY);
	/* The marker is nowhere in the LMDB file; the actor's name is (the
	 * control: the grep does find what is stored in the clear). */
	assert_false(in_vault_file(f, marker));
	assert_true(in_vault_file(f, "alice"));
	/* Notes of another case: none. */
	x.n = 0;
	assert_int_equal(vault_ops_notes(f->v, f->capt, collect_note, &x),
			 ITK_OK);
	assert_int_equal(x.n, 0);
}

struct tags {
	size_t n;
	char tag[4][VAULT_TAG_MAX + 1];
};

static itk_err
collect_tag(const char *tag, void *arg)
{
	struct tags *x = arg;

	if (x->n < 4) {
		snprintf(x->tag[x->n], sizeof(x->tag[0]), "%s", tag);
	}
	x->n++;
	return ITK_OK;
}

static void
test_vault_tags(void **state)
{
	struct fx *f = *state;
	struct tags x = {0};
	vault_op *o = NULL;
	uint64_t l0, l1;

	assert_true(vault_tag_ok("needs-callback_2"));
	assert_false(vault_tag_ok(""));
	assert_false(vault_tag_ok("Upper"));
	assert_false(vault_tag_ok("with space"));
	assert_false(vault_tag_ok("0123456789012345678901234567890123"));
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "zulu", true), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "alpha", true), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "bad tag", true),
			 ITK_E_FORMAT);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	/* Adding twice and removing a missing tag change nothing. */
	assert_int_equal(vault_log_size(f->v, &l0), ITK_OK);
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "zulu", true), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "never", false), ITK_OK);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_log_size(f->v, &l1), ITK_OK);
	assert_int_equal(l0, l1);
	assert_int_equal(vault_ops_tags(f->v, f->surr, collect_tag, &x),
			 ITK_OK);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.tag[0], "alpha");
	assert_string_equal(x.tag[1], "zulu");
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(vault_op_tag(o, f->surr, "alpha", false), ITK_OK);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	x.n = 0;
	assert_int_equal(vault_ops_tags(f->v, f->surr, collect_tag, &x),
			 ITK_OK);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.tag[0], "zulu");
	/* Search by tag finds exactly the tagged case. */
	{
		vault_search vs = {.state = -1,
				   .queue = -1,
				   .queues = ITK_KEY_QUEUES_ALL,
				   .tag = "zulu"};
		size_t n = 0;
		assert_int_equal(vault_ops_search(f->v, &vs, count_cases, &n),
				 ITK_OK);
		assert_int_equal(n, 1);
	}
}

struct outbox {
	size_t n;
	uint8_t id[4][VAULT_ID_LEN];
};

static itk_err
collect_outbox(const vault_outbox_view *ov, void *arg)
{
	struct outbox *x = arg;

	if (x->n < 4) {
		memcpy(x->id[x->n], ov->reply_id, VAULT_ID_LEN);
	}
	x->n++;
	return ITK_OK;
}

static void
test_vault_outbox(void **state)
{
	struct fx *f = *state;
	uint8_t sealed[3][512 + ITK_SEAL_OVERHEAD], id[3][VAULT_ID_LEN];
	struct outbox x = {0};
	struct acts a = {0};
	vault_op *o = NULL;
	uint64_t l0, l1;

	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	for (int i = 0; i < 3; i++) {
		randombytes_buf(sealed[i], sizeof(sealed[i]));
		itk_sha256(id[i], sealed[i], sizeof(sealed[i]));
		assert_int_equal(vault_op_outbox_put(o, f->surr, id[i], 100,
						     sealed[i],
						     sizeof(sealed[i])),
				 ITK_OK);
	}
	/* A reply id that is not the hash of its bytes, and a second put of
	 * the same reply, are refused. */
	assert_int_equal(vault_op_outbox_put(o, f->surr, id[0], 100, sealed[1],
					     sizeof(sealed[1])),
			 ITK_E_INTERNAL);
	assert_int_not_equal(vault_op_outbox_put(o, f->surr, id[0], 100,
						 sealed[0], sizeof(sealed[0])),
			     ITK_OK);
	vault_op_abort(o);
	assert_int_equal(vault_outbox_pending(f->v, 10, collect_outbox, &x),
			 ITK_OK);
	assert_int_equal(x.n, 0); /* the abort took the puts with it */
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vault_op_outbox_put(o, f->surr, id[i], 100,
						     sealed[i],
						     sizeof(sealed[i])),
				 ITK_OK);
	}
	assert_int_equal(vault_op_commit(o), ITK_OK);
	/* Drain at most max. */
	assert_int_equal(vault_outbox_pending(f->v, 2, collect_outbox, &x),
			 ITK_OK);
	assert_int_equal(x.n, 2);
	x.n = 0;
	assert_int_equal(vault_outbox_pending(f->v, 10, collect_outbox, &x),
			 ITK_OK);
	assert_int_equal(x.n, 3);
	/* Mark two sent; then again (a crash between answer and mark). */
	assert_int_equal(vault_outbox_sent(f->v, (const uint8_t(*)[32])id, 2,
					   &actor_a, 200),
			 ITK_OK);
	assert_int_equal(vault_log_size(f->v, &l0), ITK_OK);
	assert_int_equal(vault_outbox_sent(f->v, (const uint8_t(*)[32])id, 2,
					   &actor_a, 201),
			 ITK_OK);
	assert_int_equal(vault_log_size(f->v, &l1), ITK_OK);
	assert_int_equal(l0, l1);
	x.n = 0;
	assert_int_equal(vault_outbox_pending(f->v, 10, collect_outbox, &x),
			 ITK_OK);
	assert_int_equal(x.n, 1);
	assert_memory_equal(x.id[0], id[2], VAULT_ID_LEN);
	/* Exactly two reply_sent actions. */
	assert_int_equal(vault_ops_history(f->v, f->surr, collect_action, &a),
			 ITK_OK);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.what[0], VAULT_ACT_REPLY_SENT);
	assert_int_equal(a.what[1], VAULT_ACT_REPLY_SENT);
}

static void
test_vault_nonce_cache_bounded(void **state)
{
	struct fx *f = *state;
	uint8_t nonce[ITK_OP_NONCE_LEN];
	size_t n = 0, peak = 0;
	vault_op *o = NULL;

	/* 1000 requests, one a second, window 50 s: the cache never holds
	 * much more than a window's worth. */
	for (uint64_t t = 1000; t < 2000; t++) {
		randombytes_buf(nonce, sizeof(nonce));
		assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
		assert_int_equal(
		    vault_op_nonce(o, t, 7, nonce, sizeof(nonce), t - 50),
		    ITK_OK);
		assert_int_equal(vault_op_commit(o), ITK_OK);
		assert_int_equal(vault_ops_nonce_count(f->v, &n), ITK_OK);
		if (n > peak) {
			peak = n;
		}
	}
	assert_true(peak <= 51);
	assert_true(n >= 50);
	/* A replay inside the window is caught; the same nonce under another
	 * key id or time is a different request. */
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(
	    vault_op_nonce(o, 1999, 7, nonce, sizeof(nonce), 1950),
	    ITK_E_DUPLICATE);
	assert_int_equal(
	    vault_op_nonce(o, 1999, 8, nonce, sizeof(nonce), 1950), ITK_OK);
	assert_int_equal(vault_op_nonce(o, 1999, 7, nonce, 0, 1950),
			 ITK_E_RANGE);
	assert_int_equal(
	    vault_op_nonce(o, 1999, 7, nonce, VAULT_NONCE_MAX + 1, 1950),
	    ITK_E_RANGE);
	vault_op_abort(o);
	/* A long idle time is purged a bounded amount per request. */
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(vault_op_begin(f->v, &o), ITK_OK);
	assert_int_equal(
	    vault_op_nonce(o, 99999, 7, nonce, sizeof(nonce), 99000), ITK_OK);
	assert_int_equal(vault_op_commit(o), ITK_OK);
	assert_int_equal(vault_ops_nonce_count(f->v, &n), ITK_OK);
	assert_int_equal(n, 1);
}

/* ------------------------------------------------- two-person rule */

static itk_pb_op_request_body
bulk(Intake__V1__OperatorCommand c, uint8_t (*ids)[VAULT_ID_LEN], size_t n,
     ProtobufCBinaryData *store)
{
	itk_pb_op_request_body b = cmd(c, NULL, NULL);

	for (size_t i = 0; i < n; i++) {
		store[i].data = ids[i];
		store[i].len = VAULT_ID_LEN;
	}
	b.case_ids = store;
	b.n_case_ids = n;
	return b;
}

/* Requests a bulk close of capt and capt2 by who; the approval id. */
static void
request_close(struct fx *f, int who, uint8_t id[VAULT_APPROVAL_ID_LEN])
{
	uint8_t ids[2][VAULT_ID_LEN];
	ProtobufCBinaryData store[2];
	itk_pb_op_request_body b;
	itk_pb_op_response_body *resp = NULL;

	memcpy(ids[0], f->capt, VAULT_ID_LEN);
	memcpy(ids[1], f->capt2, VAULT_ID_LEN);
	b = bulk(C(BULK_CLOSE), ids, 2, store);
	b.text = "duplicate";
	assert_int_equal(send_open(f, who, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_approvals, 1);
	assert_int_equal(resp->approvals[0]->n_case_ids, 2);
	assert_string_equal(resp->approvals[0]->requested_by,
			    op_defs[who].name);
	assert_int_equal(resp->approvals[0]->expires, f->now + 3600);
	memcpy(id, resp->approvals[0]->approval_id.data,
	       VAULT_APPROVAL_ID_LEN);
	itk_wire_free(resp);
}

static bool
is_open(struct fx *f, const uint8_t *id)
{
	vault_case_view cv;

	assert_int_equal(vault_get_case(f->v, id, &cv), ITK_OK);
	return cv.open;
}

static itk_pb_op_request_body
approve(const uint8_t id[VAULT_APPROVAL_ID_LEN])
{
	itk_pb_op_request_body b = cmd(C(APPROVE), NULL, NULL);

	b.approval_id.data = (uint8_t *)id;
	b.approval_id.len = VAULT_APPROVAL_ID_LEN;
	return b;
}

static size_t
pending_count(struct fx *f, int who)
{
	itk_pb_op_request_body b = cmd(C(PENDING), NULL, NULL);
	itk_pb_op_response_body *resp = NULL;
	size_t n;

	assert_int_equal(send_open(f, who, &b, &resp), ITK_OK);
	n = resp->n_approvals;
	itk_wire_free(resp);
	return n;
}

static void
test_two_person_bulk_close(void **state)
{
	struct fx *f = *state;
	uint8_t id[VAULT_APPROVAL_ID_LEN];
	itk_pb_op_request_body b;
	itk_pb_op_response_body *resp = NULL;
	struct acts a = {0};

	request_close(f, SUP, id);
	/* Nothing ran yet. */
	assert_true(is_open(f, f->capt));
	assert_true(is_open(f, f->capt2));
	assert_int_equal(pending_count(f, SUP2), 1);
	/* Not by the requester, not by a triage operator. */
	refused(f, SUP, approve(id), &honest, ITK_E_PERM);
	refused(f, TRI, approve(id), &honest, ITK_E_PERM);
	refused(f, ADM, cmd(C(PENDING), NULL, NULL), &honest, ITK_E_PERM);
	assert_true(is_open(f, f->capt));
	/* A second supervisor: it runs, both cases close. */
	b = approve(id);
	assert_int_equal(send_open(f, SUP2, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_cases, 2);
	assert_false(resp->cases[0]->open);
	itk_wire_free(resp);
	assert_false(is_open(f, f->capt));
	assert_false(is_open(f, f->capt2));
	assert_true(is_open(f, f->surr));
	/* Once only. */
	refused(f, SUP2, approve(id), &honest, ITK_E_NOT_FOUND);
	refused(f, SUP, approve(id), &honest, ITK_E_NOT_FOUND);
	assert_int_equal(pending_count(f, SUP), 0);
	/* History: requested by sup, closed by sup approved by sup2. */
	assert_int_equal(vault_ops_history(f->v, f->capt, collect_action, &a),
			 ITK_OK);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.what[0], VAULT_ACT_APPROVAL_REQUEST);
	assert_int_equal(a.what[1], VAULT_ACT_CLOSE);
	assert_non_null(strstr(a.detail[1], "duplicate approved-by=sup2"));
	assert_int_equal(a.what[2], VAULT_ACT_APPROVE);
}

static void
test_two_person_bulk_move(void **state)
{
	struct fx *f = *state;
	uint8_t ids[2][VAULT_ID_LEN], id[VAULT_APPROVAL_ID_LEN];
	ProtobufCBinaryData store[2];
	itk_pb_op_request_body b;
	itk_pb_op_response_body *resp = NULL;
	vault_case_view cv;

	memcpy(ids[0], f->capt, VAULT_ID_LEN);
	memcpy(ids[1], f->other, VAULT_ID_LEN);
	b = bulk(C(BULK_MOVE), ids, 2, store);
	b.queue = "surrender";
	assert_int_equal(send_open(f, SUP2, &b, &resp), ITK_OK);
	memcpy(id, resp->approvals[0]->approval_id.data, sizeof(id));
	itk_wire_free(resp);
	assert_int_equal(vault_get_case(f->v, f->other, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_OTHER);
	b = approve(id);
	assert_int_equal(send(f, SUP, &b), ITK_OK);
	assert_int_equal(vault_get_case(f->v, f->other, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_SURRENDER);
	assert_int_equal(vault_get_case(f->v, f->capt, &cv), ITK_OK);
	assert_int_equal(cv.queue, ITK_QUEUE_SURRENDER);
	/* A triage operator may not even ask. */
	b = bulk(C(BULK_MOVE), ids, 2, store);
	b.queue = "captivity";
	refused(f, TRI, b, &honest, ITK_E_PERM);
}

static void
test_two_person_expires(void **state)
{
	struct fx *f = *state;
	uint8_t id[VAULT_APPROVAL_ID_LEN], id2[VAULT_APPROVAL_ID_LEN];

	request_close(f, SUP, id);
	f->now += 3600;
	refused(f, SUP2, approve(id), &honest, ITK_E_KEY_EXPIRED);
	assert_true(is_open(f, f->capt));
	assert_int_equal(pending_count(f, SUP2), 0);
	/* A later request purges the dead one; it stays unusable. */
	request_close(f, SUP2, id2);
	refused(f, SUP, approve(id), &honest, ITK_E_NOT_FOUND);
	assert_int_equal(pending_count(f, SUP), 1);
	f->now -= 3600;
}

static void
test_two_person_bad_requests(void **state)
{
	struct fx *f = *state;
	uint8_t ids[1][VAULT_ID_LEN], nope[VAULT_APPROVAL_ID_LEN];
	ProtobufCBinaryData store[1];
	itk_pb_op_request_body b;

	/* no reason, too long a reason, no cases, an unknown case */
	memcpy(ids[0], f->capt, VAULT_ID_LEN);
	b = bulk(C(BULK_CLOSE), ids, 1, store);
	refused(f, SUP, b, &honest, ITK_E_RANGE);
	b.text =
	    "0123456789012345678901234567890123456789012345678901234567890"
	    "12345";
	refused(f, SUP, b, &honest, ITK_E_RANGE);
	b = bulk(C(BULK_CLOSE), ids, 0, store);
	b.text = "duplicate";
	refused(f, SUP, b, &honest, ITK_E_MISSING);
	randombytes_buf(ids[0], VAULT_ID_LEN);
	b = bulk(C(BULK_CLOSE), ids, 1, store);
	b.text = "duplicate";
	refused(f, SUP, b, &honest, ITK_E_NOT_FOUND);
	/* export without a recipient; by a triage operator */
	b = cmd(C(EXPORT), f->surr, NULL);
	refused(f, SUP, b, &honest, ITK_E_MISSING);
	refused(f, TRI, b, &honest, ITK_E_PERM);
	/* approve: no id, an unknown id */
	refused(f, SUP, cmd(C(APPROVE), NULL, NULL), &honest, ITK_E_MISSING);
	randombytes_buf(nope, sizeof(nope));
	refused(f, SUP, approve(nope), &honest, ITK_E_NOT_FOUND);
	assert_int_equal(pending_count(f, SUP), 0);
}

/* A recipient outside the organisation: an operator-kind key pair that no
 * service knows; its X25519 form receives the export. */
struct recipient {
	itk_secret_key *k;
	uint8_t pk[ITK_PK_LEN], sk[ITK_SK_LEN];
};

static void
recipient_new(struct fx *f, struct recipient *r)
{
	itk_key_info tmpl;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.kind = ITK_KEY_OPERATOR;
	tmpl.created = f->now;
	tmpl.role = ITK_ROLE_ADMIN;
	tmpl.queues = ITK_KEY_QUEUES_ALL;
	snprintf(tmpl.name, sizeof(tmpl.name), "ngo-handover");
	assert_int_equal(itk_key_generate(&tmpl, &r->k), ITK_OK);
	assert_int_equal(itk_sign_pk_to_box_pk(itk_key_public(r->k), r->pk),
			 ITK_OK);
	assert_int_equal(itk_sign_sk_to_box_sk(itk_key_secret(r->k), r->sk),
			 ITK_OK);
}

static void
test_export_round_trip(void **state)
{
	struct fx *f = *state;
	static const char marker[] = "EXPORT-MARKER-5b1e: the caller's words";
	itk_pb_op_request_body b = cmd(C(PHONE_INTAKE), NULL, NULL);
	itk_pb_op_response_body *resp = NULL;
	itk_pb_case_export_header *h = NULL;
	itk_pb_case_export_body *eb = NULL;
	struct recipient rc, other;
	uint8_t case_id[VAULT_ID_LEN], id[VAULT_APPROVAL_ID_LEN];
	itk_buf *file = itk_buf_new(ITK_EXPORT_MAX);
	struct acts a = {0};
	snap s;

	assert_non_null(file);
	recipient_new(f, &rc);
	recipient_new(f, &other);
	b.text = (char *)marker;
	b.language = "uk";
	assert_int_equal(send_open(f, PHONE, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_cases, 1);
	memcpy(case_id, resp->cases[0]->case_id.data, VAULT_ID_LEN);
	itk_wire_free(resp);
	/* sup asks; sup itself cannot approve. */
	b = cmd(C(EXPORT), case_id, NULL);
	b.recipient_pk.data = rc.pk;
	b.recipient_pk.len = ITK_PK_LEN;
	b.recipient = "ngo-handover";
	assert_int_equal(send_open(f, SUP, &b, &resp), ITK_OK);
	assert_null(resp->export);
	memcpy(id, resp->approvals[0]->approval_id.data, sizeof(id));
	itk_wire_free(resp);
	refused(f, SUP, approve(id), &honest, ITK_E_PERM);
	/* sup2 approves and receives the sealed case, to sign. */
	s = take(f);
	b = approve(id);
	assert_int_equal(send_open(f, SUP2, &b, &resp), ITK_OK);
	assert_true(take(f).log > s.log);
	assert_non_null(resp->export);
	assert_string_equal(resp->export->requested_by, "sup");
	assert_string_equal(resp->export->approved_by, "sup2");
	assert_memory_equal(resp->export->recipient_pk.data, rc.pk,
			    ITK_PK_LEN);
	assert_int_equal(op_export_sign(itk_key_secret(f->ops[SUP2]),
					itk_key_public(f->ops[SUP2]), "sup2",
					resp->export, file),
			 ITK_OK);
	itk_wire_free(resp);
	/* The recipient reads it. */
	assert_int_equal(op_export_open(itk_buf_ptr(file), itk_buf_len(file),
					rc.pk, rc.sk,
					itk_key_public(f->ops[SUP2]), &h, &eb),
			 ITK_OK);
	assert_memory_equal(h->case_id.data, case_id, VAULT_ID_LEN);
	assert_string_equal(h->signer, "sup2");
	assert_int_equal(eb->n_messages, 1);
	assert_true(eb->messages[0]->opened);
	assert_string_equal(eb->messages[0]->text, marker);
	assert_string_equal(eb->summary->language, "uk");
	assert_true(eb->n_history >= 2); /* phone-intake, request-approval */
	itk_wire_free(h);
	itk_wire_free(eb);
	/* Another recipient, another signer expected, a flipped bit: no. */
	assert_int_equal(op_export_open(itk_buf_ptr(file), itk_buf_len(file),
					other.pk, other.sk, NULL, &h, &eb),
			 ITK_E_KEY_UNKNOWN);
	assert_int_equal(op_export_open(itk_buf_ptr(file), itk_buf_len(file),
					rc.pk, rc.sk,
					itk_key_public(f->ops[SUP]), &h, &eb),
			 ITK_E_VERIFY);
	for (size_t i = 0; i < itk_buf_len(file); i += 5) {
		itk_buf_mutable_ptr(file)[i] ^= 0x20;
		assert_int_not_equal(op_export_open(itk_buf_ptr(file),
						    itk_buf_len(file), rc.pk,
						    rc.sk, NULL, &h, &eb),
				     ITK_OK);
		itk_buf_mutable_ptr(file)[i] ^= 0x20;
	}
	assert_null(h);
	assert_null(eb);
	/* Signed under another context: refused. */
	{
		itk_pb_case_export *ce = NULL;
		uint8_t sig[ITK_SIG_LEN];
		itk_buf *forged = itk_buf_new(ITK_EXPORT_MAX);
		itk_pb_case_export cf = INTAKE__V1__CASE_EXPORT__INIT;
		assert_int_equal(itk_wire_case_export_decode(itk_buf_ptr(file),
							     itk_buf_len(file),
							     &ce),
				 ITK_OK);
		assert_int_equal(
		    itk_sign(ITK_SIG_OPERATOR, itk_key_secret(f->ops[SUP2]),
			     ce->header.data, ce->header.len, sig),
		    ITK_OK);
		cf.header = ce->header;
		cf.signature.data = sig;
		cf.signature.len = sizeof(sig);
		assert_int_equal(itk_wire_pack(&cf.base, forged), ITK_OK);
		assert_int_equal(op_export_open(itk_buf_ptr(forged),
						itk_buf_len(forged), rc.pk,
						rc.sk, NULL, &h, &eb),
				 ITK_E_VERIFY);
		itk_buf_free(forged);
		itk_wire_free(ce);
	}
	/* Recorded: export by sup, approved by sup2; plaintext not stored. */
	assert_int_equal(vault_ops_history(f->v, case_id, collect_action, &a),
			 ITK_OK);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.what[1], VAULT_ACT_APPROVAL_REQUEST);
	assert_int_equal(a.what[2], VAULT_ACT_EXPORT);
	assert_non_null(
	    strstr(a.detail[2], "to ngo-handover approved-by=sup2"));
	assert_int_equal(a.what[3], VAULT_ACT_APPROVE);
	assert_false(in_vault_file(f, "EXPORT-MARKER"));
	sodium_memzero(rc.sk, sizeof(rc.sk));
	sodium_memzero(other.sk, sizeof(other.sk));
	itk_key_free(rc.k);
	itk_key_free(other.k);
	itk_buf_free(file);
}

static void
test_two_person_approver_needs_the_queues(void **state)
{
	struct fx *f = *state;
	uint8_t ids[2][VAULT_ID_LEN], id[VAULT_APPROVAL_ID_LEN];
	ProtobufCBinaryData store[2];
	itk_pb_op_request_body b;
	itk_pb_op_response_body *resp = NULL;

	/* sup asks to close a captivity and a surrender case; sup3 works
	 * captivity only: it may not approve, and nothing closes. */
	memcpy(ids[0], f->capt, VAULT_ID_LEN);
	memcpy(ids[1], f->surr, VAULT_ID_LEN);
	b = bulk(C(BULK_CLOSE), ids, 2, store);
	b.text = "duplicate";
	assert_int_equal(send_open(f, SUP, &b, &resp), ITK_OK);
	memcpy(id, resp->approvals[0]->approval_id.data, sizeof(id));
	itk_wire_free(resp);
	refused(f, SUP3, approve(id), &honest, ITK_E_PERM);
	assert_true(is_open(f, f->capt));
	assert_true(is_open(f, f->surr));
	/* Nor may sup3 ask for what it cannot work. */
	refused(f, SUP3, b, &honest, ITK_E_PERM);
	/* The refused approval is still there for a rightful approver. */
	b = approve(id);
	assert_int_equal(send(f, SUP2, &b), ITK_OK);
	assert_false(is_open(f, f->capt));
	assert_false(is_open(f, f->surr));
}

/* The requester's key is gone (revoked) before the approval: a service
 * restarted without it refuses to run the request. */
static void
test_two_person_requester_revoked(void **state)
{
	struct fx *f = *state;
	uint8_t id[VAULT_APPROVAL_ID_LEN];
	opd_options oo = {0};
	opd *s2 = NULL, *s1 = f->s;
	char path[256];
	snap sn;

	request_close(f, SUP, id);
	assert_int_equal(itk_keystore_path(path, sizeof(path), f->dir,
					   ITK_KEY_OPERATOR, 0, "sup", true),
			 ITK_OK);
	assert_int_equal(unlink(path), 0);
	oo.keys_dir = f->dir;
	oo.v = f->v;
	oo.ring = f->ring;
	oo.rules = f->rules;
	assert_int_equal(opd_new(&oo, &s2), ITK_OK);
	assert_int_equal(opd_operator_count(s2), N_OPS - 1);
	f->s = s2;
	sn = take(f);
	{
		itk_pb_op_request_body b = approve(id);
		assert_int_equal(send(f, SUP2, &b), ITK_E_KEY_UNKNOWN);
	}
	unchanged(f, sn);
	assert_true(is_open(f, f->capt));
	f->s = s1;
	opd_free(s2);
}

/* ------------------------------------------------------- queue keys */

/* The queue keys of the fixture (setup_qk): surrender and captivity,
 * version 1; the service key; a case whose only readable form is its
 * copy (the service holds no intake key). */
static struct {
	uint8_t qpk[2][ITK_PK_LEN], qsk[2][ITK_SK_LEN];
	uint8_t svc_pk[ITK_PK_LEN];
	uint8_t case_id[VAULT_ID_LEN];
} qk;

static void
qk_save(struct fx *f, itk_key_kind kind, itk_secret_key **out)
{
	itk_key_info t, info;
	char path[256];

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.created = f->now;
	assert_int_equal(itk_key_generate(&t, out), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), f->dir, kind, 0,
					   NULL, false),
			 ITK_OK);
	assert_int_equal(itk_key_save(*out, path, NULL, NULL), ITK_OK);
	info = *itk_key_info_of(*out);
	info.dev = true;
	assert_int_equal(
	    itk_keystore_path(path, sizeof(path), f->dir, kind, 0, NULL, true),
	    ITK_OK);
	assert_int_equal(itk_key_save_public(&info, path), ITK_OK);
}

static int
setup_qk(void **state)
{
	itk_secret_key *org = NULL, *svc = NULL;
	itk_qgrants *g = calloc(1, sizeof(*g));
	itk_buf *b = itk_buf_new(ITK_QGRANTS_FILE_MAX);
	itk_pb_inner in = INTAKE__V1__INNER_MESSAGE__INIT;
	uint8_t sealed[300], mk[VAULT_MK_LEN], nonce[VAULT_COPY_NONCE];
	itk_buf *plain = itk_buf_new(4096), *ct = itk_buf_new(4096);
	vault_message m;
	vault_result res;
	opd_options oo = {0};
	char path[256];
	struct fx *f;

	assert_int_equal(setup(state), 0);
	f = *state;
	assert_non_null(g);
	assert_non_null(b);
	qk_save(f, ITK_KEY_ORG, &org);
	qk_save(f, ITK_KEY_SERVICE, &svc);
	memcpy(qk.svc_pk, itk_key_public(svc), ITK_PK_LEN);
	memcpy(g->service_pk, qk.svc_pk, ITK_PK_LEN);
	for (int q = 0; q < 2; q++) {
		assert_int_equal(itk_box_keypair(qk.qpk[q], qk.qsk[q]),
				 ITK_OK);
		g->keys[q].queue = (itk_queue)q;
		g->keys[q].version = 1;
		memcpy(g->keys[q].public_key, qk.qpk[q], ITK_PK_LEN);
	}
	g->n_keys = 2;
	assert_int_equal(itk_qgrants_encode(g, itk_key_secret(org), b),
			 ITK_OK);
	snprintf(path, sizeof(path), "%s/%s", f->dir, ITK_QGRANTS_FILE);
	assert_int_equal(itk_file_write_atomic(path, itk_buf_ptr(b),
					       itk_buf_len(b), 0644, 0),
			 ITK_OK);
	/* The service again, without intake keys: copies only. */
	opd_free(f->s);
	oo.keys_dir = f->dir;
	oo.v = f->v;
	oo.rules = f->rules;
	oo.lease_seconds = LEASE;
	oo.skew_seconds = SKEW;
	assert_int_equal(opd_new(&oo, &f->s), ITK_OK);
	{
		vault_qkey cur;
		assert_int_equal(
		    vault_qkey_current(f->v, ITK_QUEUE_SURRENDER, &cur),
		    ITK_OK);
		assert_memory_equal(cur.pk, qk.qpk[0], ITK_PK_LEN);
	}
	/* A surrender case with its copy. */
	in.version = ITK_WIRE_VERSION;
	in.channel = INTAKE__V1__CHANNEL__CHANNEL_PHONE; /* no contact */
	in.text = "surrender at the old mill at 6";
	assert_int_equal(itk_wire_pack(&in.base, plain), ITK_OK);
	randombytes_buf(sealed, sizeof(sealed));
	memset(&m, 0, sizeof(m));
	itk_sha256(m.submission_id, sealed, sizeof(sealed));
	m.sealed = sealed;
	m.sealed_len = sizeof(sealed);
	m.queue = ITK_QUEUE_SURRENDER;
	m.urgency = ITK_URGENCY_HIGH;
	m.language = ITK_LANG_EN;
	m.accepted_at = f->now - 100;
	assert_int_equal(vault_copy_seal(m.submission_id, itk_buf_ptr(plain),
					 itk_buf_len(plain), mk, nonce, ct),
			 ITK_OK);
	m.copy_key = mk;
	m.copy_nonce = nonce;
	m.copy_ct = itk_buf_ptr(ct);
	m.copy_ct_len = itk_buf_len(ct);
	assert_int_equal(vault_commit(f->v, &m, 1, NULL, 0, &res), ITK_OK);
	memcpy(qk.case_id, res.case_id, VAULT_ID_LEN);
	sodium_memzero(mk, sizeof(mk));
	itk_key_free(org);
	itk_key_free(svc);
	itk_buf_free(plain);
	itk_buf_free(ct);
	itk_buf_free(b);
	free(g);
	return 0;
}

/* One queue key in transit: qsk sealed to to_pk, labelled (q, v). */
typedef struct {
	Intake__V1__QueueKeyInTransit k[2];
	Intake__V1__QueueKeyInTransit *p[2];
	uint8_t sealed[2][ITK_WRAP_LEN];
} transit;

static void
with_key(itk_pb_op_request_body *b, transit *t, size_t i, const char *queue,
	 uint32_t version, const uint8_t qsk[ITK_SK_LEN],
	 const uint8_t to_pk[ITK_PK_LEN])
{
	assert_int_equal(itk_wrap_key(to_pk, qsk, t->sealed[i]), ITK_OK);
	intake__v1__queue_key_in_transit__init(&t->k[i]);
	t->k[i].queue = (char *)queue;
	t->k[i].version = version;
	t->k[i].sealed.data = t->sealed[i];
	t->k[i].sealed.len = ITK_WRAP_LEN;
	t->p[i] = &t->k[i];
	b->queue_keys = t->p;
	b->n_queue_keys = i + 1;
}

static void
test_qkeys_show_opens_the_copy(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(SHOW), qk.case_id, NULL);
	itk_pb_op_response_body *resp = NULL;
	transit t;

	/* Without the queue key nothing opens: the service has no intake
	 * key. */
	assert_int_equal(send_open(f, TRI, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_messages, 1);
	assert_false(resp->messages[0]->opened);
	itk_wire_free(resp);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	assert_int_equal(send_open(f, TRI, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_messages, 1);
	assert_true(resp->messages[0]->opened);
	assert_string_equal(resp->messages[0]->text,
			    "surrender at the old mill at 6");
	itk_wire_free(resp);
	/* Another queue's key opens nothing either. */
	with_key(&b, &t, 0, "captivity", 1, qk.qsk[1], qk.svc_pk);
	assert_int_equal(send_open(f, TRI, &b, &resp), ITK_OK);
	assert_false(resp->messages[0]->opened);
	itk_wire_free(resp);
}

static void
test_qkeys_bad_keys_refused(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b;
	uint8_t other_pk[ITK_PK_LEN], other_sk[ITK_SK_LEN];
	transit t;

	assert_int_equal(itk_box_keypair(other_pk, other_sk), ITK_OK);
	/* Sealed to another key than the service's. */
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], other_pk);
	refused(f, TRI, b, &honest, ITK_E_DECRYPT);
	/* A version the vault does not know. */
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 2, qk.qsk[0], qk.svc_pk);
	refused(f, TRI, b, &honest, ITK_E_KEY_UNKNOWN);
	/* The captivity secret labelled surrender: not that key's half. */
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[1], qk.svc_pk);
	refused(f, TRI, b, &honest, ITK_E_DECRYPT);
	/* One good key and one bad: the whole request is refused. */
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	with_key(&b, &t, 1, "captivity", 1, other_sk, qk.svc_pk);
	refused(f, TRI, b, &honest, ITK_E_DECRYPT);
	/* A key for a queue the operator does not work. */
	b = cmd(C(QUEUES), NULL, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	refused(f, CAPT, b, &honest, ITK_E_PERM);
	/* An unknown queue name. */
	b = cmd(C(QUEUES), NULL, NULL);
	with_key(&b, &t, 0, "nowhere", 1, qk.qsk[0], qk.svc_pk);
	refused(f, TRI, b, &honest, ITK_E_PERM);
	/* Never on a request that is stored until approved. */
	b = cmd(C(EXPORT), qk.case_id, NULL);
	b.recipient_pk.data = other_pk;
	b.recipient_pk.len = sizeof(other_pk);
	b.recipient = "ngo";
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	refused(f, SUP, b, &honest, ITK_E_RANGE);
	/* A truncated seal does not even decode. */
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	t.k[0].sealed.len = ITK_WRAP_LEN - 1;
	refused(f, TRI, b, &honest, ITK_E_RANGE);
	sodium_memzero(other_sk, sizeof(other_sk));
}

static itk_err
note_sealed(const vault_note_view *n, void *arg)
{
	int *count = arg;

	assert_true(n->sealed);
	(*count)++;
	return ITK_OK;
}

static void
test_qkeys_notes_under_the_case_key(void **state)
{
	struct fx *f = *state;
	itk_pb_op_request_body b = cmd(C(NOTE), qk.case_id, NULL);
	itk_pb_op_response_body *resp = NULL;
	transit t;
	int sealed = 0;

	b.text = "the caller is the mill's owner";
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	assert_int_equal(send(f, TRI, &b), ITK_OK);
	/* The vault key alone: listed, not readable. */
	assert_int_equal(
	    vault_ops_notes(f->v, qk.case_id, note_sealed, &sealed), ITK_OK);
	assert_int_equal(sealed, 1);
	b = cmd(C(SHOW), qk.case_id, NULL);
	with_key(&b, &t, 0, "surrender", 1, qk.qsk[0], qk.svc_pk);
	assert_int_equal(send_open(f, TRI, &b, &resp), ITK_OK);
	assert_int_equal(resp->n_notes, 1);
	assert_string_equal(resp->notes[0]->text,
			    "the caller is the mill's owner");
	itk_wire_free(resp);
	/* A note without the queue key, on a service without intake keys:
	 * refused, the case key cannot be opened (nothing stored). */
	b = cmd(C(NOTE), qk.case_id, NULL);
	b.text = "second";
	refused(f, TRI, b, &honest, ITK_E_KEY_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_honest_request_changes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_signature_with_other_context,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replayed_nonce, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stale_and_future_time, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_operator_and_key_id,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_bytes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_role_not_allowed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue_not_granted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_case_in_another_queue, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_case_leased_by_someone_else,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_phone_intake_one_transaction,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vault_leases, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lease_steal_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vault_actions, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vault_notes_encrypted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vault_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vault_outbox, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vault_nonce_cache_bounded,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_bulk_close, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_bulk_move, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_expires, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_bad_requests,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_round_trip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_two_person_approver_needs_the_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_requester_revoked,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_qkeys_show_opens_the_copy,
					    setup_qk, teardown),
	    cmocka_unit_test_setup_teardown(test_qkeys_bad_keys_refused,
					    setup_qk, teardown),
	    cmocka_unit_test_setup_teardown(
		test_qkeys_notes_under_the_case_key, setup_qk, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
