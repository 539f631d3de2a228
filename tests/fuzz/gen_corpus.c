/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpora of the fuzz targets: valid messages of every
 * wire type, signed and sealed with the FIXED TEST KEYS of fuzz.h (public,
 * not secret, used nowhere else), plus a few near-misses.  Run it by hand
 * when the schema changes and commit the result:
 *
 *   build/tests/fuzz/fuzz-gen-corpus tests/fuzz/corpus
 *
 * Every random byte comes from a ChaCha20 stream under a fixed, public
 * seed (det_* below), so the keys made here are test keys like those of
 * fuzz.h and the corpus is the same on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "file.h"
#include "fuzz.h"
#include "keys.h"
#include "labels.h"
#include "leaf.h"
#include "note.h"
#include "passphrase.h"
#include "proof.h"
#include "tlog.h"
#include "vault_impl.h"
#include "wire.h"

static const char *corpus_root;

/* ------------------------------------------- deterministic randomness */

static const uint8_t det_key[32] = "FUZZ CORPUS RNG - NOT SECRET!!";
static uint64_t det_ctr;

static void
det_buf(void *const buf, const size_t size)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	itk_store_u64(nonce, det_ctr++);
	crypto_stream_chacha20(buf, size, nonce, det_key);
}

static uint32_t
det_random(void)
{
	uint8_t b[4];

	det_buf(b, sizeof(b));
	return itk_load_u32(b);
}

static const char *
det_name(void)
{
	return "fuzz-corpus-deterministic";
}

static struct randombytes_implementation det_rng = {
    .implementation_name = det_name,
    .random = det_random,
    .buf = det_buf,
};

#define BIN(p, n) ((ProtobufCBinaryData){(n), (uint8_t *)(p)})

/* Writes corpus/<target>/seed-<name>; exits on failure (a tool). */
static void
put(const char *target, const char *name, const void *p, size_t n)
{
	char dir[4096], path[4096];
	int a, b;

	a = snprintf(dir, sizeof(dir), "%s/%s", corpus_root, target);
	b = snprintf(path, sizeof(path), "%s/%s/seed-%s", corpus_root, target,
		     name);
	FUZZ_CHECK(a > 0 && (size_t)a < sizeof(dir));
	FUZZ_CHECK(b > 0 && (size_t)b < sizeof(path));
	FUZZ_CHECK(itk_mkdir_p(dir, 0755) == ITK_OK);
	FUZZ_CHECK(itk_file_write_atomic(path, p, n, 0644, 0) == ITK_OK);
}

/* Writes mode byte || p (the targets that take a mode first). */
static void
put_mode(const char *target, const char *name, uint8_t mode, const void *p,
	 size_t n)
{
	uint8_t *d = malloc(n + 1);

	FUZZ_CHECK(d != NULL);
	d[0] = mode;
	if (n > 0) {
		memcpy(d + 1, p, n);
	}
	put(target, name, d, n + 1);
	free(d);
}

/* Serializes m into a new buffer (caller frees). */
static itk_buf *
pack(const ProtobufCMessage *m)
{
	itk_buf *b = itk_buf_new(ITK_BUF_SIZE_MAX);

	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(itk_wire_pack(m, b) == ITK_OK);
	return b;
}

static void
put_msg(const char *target, const char *name, const ProtobufCMessage *m)
{
	itk_buf *b = pack(m);

	put(target, name, itk_buf_ptr(b), itk_buf_len(b));
	itk_buf_free(b);
}

/* Seals msg to pk with itk_seal; caller frees. */
static itk_buf *
seal(const uint8_t *pk, const itk_buf *msg)
{
	itk_buf *b = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD);

	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(itk_seal(pk, itk_buf_ptr(msg), itk_buf_len(msg), b) ==
		   ITK_OK);
	return b;
}

static const uint8_t mailbox[ITK_MAILBOX_ID_LEN] =
    "fuzz test mailbox id, not real!";
static const uint8_t thread[ITK_HASH_LEN] = "fuzz test thread id, not real!!";

static void
gen_wire(const struct fuzz_keys *k)
{
	uint32_t kid = itk_intake_key_id(k->intake_pk);
	uint8_t sub_id[ITK_HASH_LEN], reply_id[ITK_HASH_LEN], sig[ITK_SIG_LEN];

	/* InnerMessage: what a frightened person types on a phone. */
	Intake__V1__Field f1 = INTAKE__V1__FIELD__INIT;
	Intake__V1__Field f2 = INTAKE__V1__FIELD__INIT;
	Intake__V1__Field *fields[] = {&f1, &f2};
	Intake__V1__Attachment at = INTAKE__V1__ATTACHMENT__INIT;
	Intake__V1__Attachment *ats[] = {&at};
	itk_pb_inner in = INTAKE__V1__INNER_MESSAGE__INIT;
	f1.name = "where";
	f1.value = "near the bridge, north bank";
	f2.name = "unit";
	f2.value = "3";
	at.media_type = "image/jpeg";
	static const char jpeg[] = "\xff\xd8\xff\xe0 not really a jpeg";
	at.data = BIN(jpeg, sizeof(jpeg) - 1);
	at.name = "photo.jpg";
	in.version = ITK_WIRE_VERSION;
	in.channel = INTAKE__V1__CHANNEL__CHANNEL_WEB;
	in.form_category = INTAKE__V1__FORM_CATEGORY__FORM_SURRENDER;
	in.language = "uk";
	in.text = "I want to surrender. Two of us, no weapons.";
	in.n_fields = 2;
	in.fields = fields;
	in.reply_public_key = BIN(k->reply_pk, ITK_PK_LEN);
	in.mailbox_id = BIN(mailbox, sizeof(mailbox));
	in.n_attachments = 1;
	in.attachments = ats;
	in.written_at = 1790000000;
	put_msg("wire_inner", "surrender", &in.base);
	in.thread_id = BIN(thread, sizeof(thread));
	in.form_category = INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE;
	in.n_attachments = 0;
	put_msg("wire_inner", "followup", &in.base);
	in.version = 2;
	put_msg("wire_inner", "bad-version", &in.base);
	in.version = ITK_WIRE_VERSION;
	in.thread_id = BIN(thread, 31);
	put_msg("wire_inner", "short-thread", &in.base);
	in.thread_id = BIN(NULL, 0);

	/* Submission sealed to the test intake key. */
	itk_buf *inner = pack(&in.base);
	itk_buf *sealed = seal(k->intake_pk, inner);
	Intake__V1__ProofOfWork pow = INTAKE__V1__PROOF_OF_WORK__INIT;
	itk_pb_submission sub = INTAKE__V1__SUBMISSION__INIT;
	pow.challenge = BIN("fuzz-challenge-0001", 19);
	pow.solution = BIN("\x00\x00\x01\x02", 4);
	sub.version = ITK_WIRE_VERSION;
	sub.intake_key_id = kid;
	sub.sealed = BIN(itk_buf_ptr(sealed), itk_buf_len(sealed));
	put_msg("wire_submission", "plain", &sub.base);
	sub.pow = &pow;
	put_msg("wire_submission", "pow", &sub.base);
	sub.sealed.len -= 1;
	put_msg("wire_submission", "bad-length", &sub.base);
	sub.sealed.len += 1;
	itk_sha256(sub_id, sub.sealed.data, sub.sealed.len);

	/* The same sealed box for fuzz_open (mode 0). */
	put_mode("open", "sealed", 0, itk_buf_ptr(sealed),
		 itk_buf_len(sealed));

	/* KeyBundleBody and KeyBundle signed by the test org key. */
	Intake__V1__IntakeKey ik1 = INTAKE__V1__INTAKE_KEY__INIT;
	Intake__V1__IntakeKey ik2 = INTAKE__V1__INTAKE_KEY__INIT;
	Intake__V1__IntakeKey *iks[] = {&ik1, &ik2};
	itk_pb_key_bundle_body kb = INTAKE__V1__KEY_BUNDLE_BODY__INIT;
	ik1.key_id = kid;
	ik1.public_key = BIN(k->intake_pk, ITK_PK_LEN);
	ik1.not_before = 1780000000;
	ik1.not_after = 1800000000;
	ik2.key_id = itk_intake_key_id(k->reply_pk); /* a "previous" key */
	ik2.public_key = BIN(k->reply_pk, ITK_PK_LEN);
	ik2.not_before = 1760000000;
	ik2.not_after = 1781000000;
	kb.version = ITK_WIRE_VERSION;
	kb.origin = "fuzz.test/log";
	kb.issued_at = 1785000000;
	kb.n_intake_keys = 2;
	kb.intake_keys = iks;
	kb.receipt_public_key = BIN(k->receipt_pk, ITK_SIGN_PK_LEN);
	kb.log_public_key = BIN(k->log_pk, ITK_SIGN_PK_LEN);
	kb.org_public_key = BIN(k->org_pk, ITK_SIGN_PK_LEN);
	kb.serial = 7;
	put_msg("wire_key_bundle_body", "two-keys", &kb.base);
	itk_buf *body = pack(&kb.base);
	FUZZ_CHECK(itk_sign(ITK_SIG_KEY_BUNDLE, k->org_sk, itk_buf_ptr(body),
			    itk_buf_len(body), sig) == ITK_OK);
	itk_pb_key_bundle bun = INTAKE__V1__KEY_BUNDLE__INIT;
	bun.body = BIN(itk_buf_ptr(body), itk_buf_len(body));
	bun.signature = BIN(sig, sizeof(sig));
	put_msg("wire_key_bundle", "signed", &bun.base);
	itk_buf *bunb = pack(&bun.base);
	put_mode("bundle_verify", "signed", 0, itk_buf_ptr(bunb),
		 itk_buf_len(bunb));
	put_mode("bundle_verify", "body", 1, itk_buf_ptr(body),
		 itk_buf_len(body));
	itk_buf_free(bunb);
	ik1.key_id ^= 1;
	put_msg("wire_key_bundle_body", "bad-key-id", &kb.base);
	ik1.key_id ^= 1;
	kb.org_public_key = BIN(k->receipt_pk, ITK_SIGN_PK_LEN);
	put_msg("wire_key_bundle_body", "other-org", &kb.base);
	itk_buf *other = pack(&kb.base);
	put_mode("bundle_verify", "other-org", 1, itk_buf_ptr(other),
		 itk_buf_len(other));
	itk_buf_free(other);
	kb.org_public_key = BIN(k->org_pk, ITK_SIGN_PK_LEN);
	kb.n_intake_keys = 1;
	put_msg("wire_key_bundle_body", "one-key", &kb.base);

	/* ReceiptBody and Receipt signed by the test receipt key. */
	itk_pb_receipt_body rb = INTAKE__V1__RECEIPT_BODY__INIT;
	rb.version = ITK_WIRE_VERSION;
	rb.submission_id = BIN(sub_id, sizeof(sub_id));
	rb.accepted_at = 1785003600;
	rb.intake_key_id = kid;
	rb.origin = "fuzz.test/log";
	put_msg("wire_receipt_body", "valid", &rb.base);
	itk_buf *rbb = pack(&rb.base);
	FUZZ_CHECK(itk_sign(ITK_SIG_RECEIPT, k->receipt_sk, itk_buf_ptr(rbb),
			    itk_buf_len(rbb), sig) == ITK_OK);
	itk_pb_receipt rc = INTAKE__V1__RECEIPT__INIT;
	rc.body = BIN(itk_buf_ptr(rbb), itk_buf_len(rbb));
	rc.signature = BIN(sig, sizeof(sig));
	put_msg("wire_receipt", "signed", &rc.base);
	itk_buf_free(rbb);

	/* ReplyBody, sealed into a Reply to the test reply key. */
	itk_pb_reply_body reb = INTAKE__V1__REPLY_BODY__INIT;
	reb.version = ITK_WIRE_VERSION;
	reb.text = "Received. Stay where you are; we will answer here.";
	reb.sent_at = 1785007200;
	reb.case_ref = BIN("CASE-0001", 9);
	reb.from = "staff";
	put_msg("wire_reply_body", "valid", &reb.base);
	itk_buf *rebb = pack(&reb.base);
	itk_buf *rsealed = seal(k->reply_pk, rebb);
	itk_sha256(reply_id, itk_buf_ptr(rsealed), itk_buf_len(rsealed));
	itk_pb_reply rep = INTAKE__V1__REPLY__INIT;
	itk_pb_reply *reps[] = {&rep, &rep};
	rep.reply_id = BIN(reply_id, sizeof(reply_id));
	rep.mailbox_id = BIN(mailbox, sizeof(mailbox));
	rep.sealed = BIN(itk_buf_ptr(rsealed), itk_buf_len(rsealed));
	rep.posted_at = 1785007201;

	itk_pb_mailbox_page mp = INTAKE__V1__MAILBOX_PAGE__INIT;
	mp.mailbox_id = BIN(mailbox, sizeof(mailbox));
	put_msg("wire_mailbox_page", "empty", &mp.base);
	mp.n_replies = 2;
	mp.replies = reps;
	mp.next_cursor = BIN("cursor-2", 8);
	put_msg("wire_mailbox_page", "two", &mp.base);

	/* Error. */
	itk_pb_error er = INTAKE__V1__ERROR__INIT;
	er.code = ITK_E_TOO_BIG;
	er.name = "too_big";
	er.message = "input exceeds a hard size cap";
	put_msg("wire_error", "too-big", &er.base);
	er.code = ITK_E_BUSY;
	er.name = "busy";
	er.message = "overloaded: try again later";
	er.retry_after = 30;
	put_msg("wire_error", "busy", &er.base);

	/* WorkerRequest: acks and replies to post. */
	ProtobufCBinaryData acks[] = {BIN(sub_id, sizeof(sub_id)),
				      BIN(reply_id, sizeof(reply_id))};
	itk_pb_worker_request wr = INTAKE__V1__WORKER_REQUEST__INIT;
	wr.version = ITK_WIRE_VERSION;
	wr.worker_id = "worker-1";
	wr.max_deliveries = 8;
	wr.wait_ms = 25000;
	put_msg("wire_worker_request", "poll", &wr.base);
	wr.n_acks = 2;
	wr.acks = acks;
	wr.n_replies = 1;
	wr.replies = reps;
	put_msg("wire_worker_request", "acks-replies", &wr.base);

	/* GatewayResponse: two deliveries of the submission. */
	Intake__V1__Delivery d1 = INTAKE__V1__DELIVERY__INIT;
	Intake__V1__Delivery *ds[] = {&d1, &d1};
	itk_pb_gateway_response gr = INTAKE__V1__GATEWAY_RESPONSE__INIT;
	d1.submission_id = BIN(sub_id, sizeof(sub_id));
	d1.submission = &sub;
	d1.accepted_at = 1785003600;
	d1.attempt = 1;
	gr.version = ITK_WIRE_VERSION;
	gr.n_deliveries = 2;
	gr.deliveries = ds;
	gr.acked = 2;
	gr.replies_stored = 1;
	put_msg("wire_gateway_response", "deliveries", &gr.base);
	gr.n_deliveries = 0;
	er.code = ITK_E_BUSY;
	gr.error = &er;
	put_msg("wire_gateway_response", "refused", &gr.base);

	itk_buf_free(rsealed);
	itk_buf_free(rebb);
	itk_buf_free(body);
	itk_buf_free(sealed);
	itk_buf_free(inner);
}

static void
gen_keys(void)
{
	static const itk_kdf_params cheap = {1, 8}; /* the minimum cost */
	static const struct {
		const char *name;
		itk_key_kind kind;
	} kinds[] = {
	    {"org", ITK_KEY_ORG},         {"intake", ITK_KEY_INTAKE},
	    {"receipt", ITK_KEY_RECEIPT}, {"operator", ITK_KEY_OPERATOR},
	    {"vault", ITK_KEY_VAULT},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		itk_key_info t;
		itk_secret_key *k = NULL;
		itk_buf *b = itk_buf_new(ITK_KEY_FILE_MAX);
		char name[64];

		FUZZ_CHECK(b != NULL);
		memset(&t, 0, sizeof(t));
		t.kind = kinds[i].kind;
		t.created = 1785000000;
		if (t.kind == ITK_KEY_INTAKE) {
			t.not_before = 1785000000;
			t.not_after = 1800000000;
		}
		if (t.kind == ITK_KEY_OPERATOR) {
			t.role = ITK_ROLE_TRIAGE;
			t.queues = ITK_KEY_QUEUES_ALL;
		}
		snprintf(t.name, sizeof(t.name), "FUZZ-TEST-NOT-SECRET-%s",
			 kinds[i].name);
		FUZZ_CHECK(itk_key_generate(&t, &k) == ITK_OK);

		/* Mode 0: a --dev file, and an encrypted one (which must
		 * stop at the missing passphrase). */
		FUZZ_CHECK(itk_key_encode(k, NULL, NULL, b) == ITK_OK);
		snprintf(name, sizeof(name), "dev-%s", kinds[i].name);
		put_mode("key_file", name, 0, itk_buf_ptr(b), itk_buf_len(b));
		itk_buf_reset(b);
		if (t.kind == ITK_KEY_INTAKE) {
			FUZZ_CHECK(itk_key_encode(k, "fuzz", &cheap, b) ==
				   ITK_OK);
			put_mode("key_file", "encrypted-intake", 0,
				 itk_buf_ptr(b), itk_buf_len(b));
			itk_buf_reset(b);
		}
		/* Mode 1: a .pub; mode 2: the same without its checksum. */
		FUZZ_CHECK(itk_key_public_encode(itk_key_info_of(k), b) ==
			   ITK_OK);
		snprintf(name, sizeof(name), "pub-%s", kinds[i].name);
		put_mode("key_file", name, 1, itk_buf_ptr(b), itk_buf_len(b));
		snprintf(name, sizeof(name), "pub-nosum-%s", kinds[i].name);
		put_mode("key_file", name, 2, itk_buf_ptr(b),
			 itk_buf_len(b) - 32);
		itk_buf_free(b);
		itk_key_free(k);
	}
}

static void
gen_passphrase(void)
{
	static const struct {
		const char *name;
		itk_lang lang;
	} langs[] = {
	    {"en", ITK_LANG_EN}, {"ru", ITK_LANG_RU}, {"uk", ITK_LANG_UK}};
	uint16_t idx[ITK_PASSPHRASE_DATA_WORDS] = {0,   1,   2,   3,
						   500, 600, 700, 1023};
	char text[ITK_PASSPHRASE_MAX], name[64];

	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		FUZZ_CHECK(itk_passphrase_from_indices(langs[i].lang, idx,
						       text, sizeof(text)) ==
			   ITK_OK);
		snprintf(name, sizeof(name), "valid-%s", langs[i].name);
		put("passphrase", name, text, strlen(text));
		/* Typed differently: upper case, '-' and ',' separators. */
		for (char *p = text; *p != '\0'; p++) {
			*p = *p == ' ' ? (p[1] == 'a' ? ',' : '-')
			     : (*p >= 'a' && *p <= 'z') ? (char)(*p - 32)
							: *p;
		}
		snprintf(name, sizeof(name), "typed-%s", langs[i].name);
		put("passphrase", name, text, strlen(text));
	}
	/* Two words swapped: the checksum word catches it. */
	FUZZ_CHECK(itk_passphrase_from_indices(ITK_LANG_EN, idx, text,
					       sizeof(text)) == ITK_OK);
	char *sp1 = strchr(text, ' '), *sp2 = strchr(sp1 + 1, ' ');
	char swapped[ITK_PASSPHRASE_MAX];
	int n = snprintf(swapped, sizeof(swapped), "%.*s %.*s%s",
			 (int)(sp2 - sp1 - 1), sp1 + 1, (int)(sp1 - text),
			 text, sp2);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(swapped));
	put("passphrase", "swapped", swapped, strlen(swapped));
	put("passphrase", "short", "abandon ability able", 20);
}

static void
gen_vault(void)
{
	vault_case_rec c;
	vault_msg_rec m;
	vault_quar_rec q;
	vault_counters cn;
	uint8_t out[VAULT_COUNTERS_LEN], id[VAULT_ID_LEN];
	itk_buf *b = itk_buf_new(ITK_BUF_SIZE_MAX);
	static const uint8_t sealed[] = "not really sealed: a test value";

	FUZZ_CHECK(b != NULL);
	memset(&c, 0, sizeof(c));
	memset(id, 0x11, sizeof(id));
	c.queue = 1;
	c.urgency = 2;
	c.language = ITK_LANG_UK;
	c.flags = VAULT_CASE_OPEN;
	c.created = 1785000000;
	c.updated = 1785003600;
	c.message_count = 3;
	FUZZ_CHECK(vault_case_encode(&c, b) == ITK_OK);
	put_mode("vault_records", "case", 0, itk_buf_ptr(b), itk_buf_len(b));
	itk_buf_reset(b);
	c.flags |= VAULT_CASE_HAS_CONTACT;
	memset(c.contact, 0xc0, sizeof(c.contact));
	FUZZ_CHECK(vault_case_encode(&c, b) == ITK_OK);
	put_mode("vault_records", "case-contact", 0, itk_buf_ptr(b),
		 itk_buf_len(b));
	itk_buf_reset(b);

	memset(&m, 0, sizeof(m));
	memcpy(m.case_id, id, sizeof(id));
	m.accepted_at = 1785000000;
	m.intake_key_id = 0x01020304;
	m.queue = 1;
	m.channel = 1;
	m.sealed = sealed;
	m.sealed_len = sizeof(sealed) - 1;
	FUZZ_CHECK(vault_msg_encode(&m, b) == ITK_OK);
	put_mode("vault_records", "message", 1, itk_buf_ptr(b),
		 itk_buf_len(b));
	itk_buf_reset(b);

	memset(&q, 0, sizeof(q));
	q.reason = 2;
	q.accepted_at = 1785000000;
	q.intake_key_id = 0x01020304;
	q.sealed = sealed;
	q.sealed_len = sizeof(sealed) - 1;
	FUZZ_CHECK(vault_quar_encode(&q, b) == ITK_OK);
	put_mode("vault_records", "quarantine", 2, itk_buf_ptr(b),
		 itk_buf_len(b));

	uint8_t mbx[VAULT_MBX_VAL_LEN];
	vault_mbx_encode(id, mbx);
	put_mode("vault_records", "mailbox", 3, mbx, sizeof(mbx));

	memset(&cn, 0, sizeof(cn));
	cn.cases = 5;
	cn.messages = 9;
	cn.quarantined = 1;
	cn.open_by_queue[0] = 2;
	vault_counters_encode(&cn, out);
	put_mode("vault_records", "counters", 4, out, sizeof(out));
	itk_buf_free(b);
}

static void
gen_note(const struct fuzz_keys *k)
{
	note_signer *log = NULL, *wit = NULL;
	itk_buf *body = itk_buf_new(CHECKPOINT_MAX);
	itk_buf *note = itk_buf_new(2 * NOTE_MAX);
	itk_buf *vkey = itk_buf_new(4096);
	uint8_t root[TLOG_HASH_LEN];

	FUZZ_CHECK(body != NULL && note != NULL && vkey != NULL);
	FUZZ_CHECK(note_signer_new("fuzz.test/log", NOTE_TYPE_ED25519,
				   k->log_sk, &log) == ITK_OK);
	FUZZ_CHECK(note_signer_new("fuzz.test/witness", NOTE_TYPE_COSIG,
				   k->org_sk, &wit) == ITK_OK);
	memset(root, 0x5a, sizeof(root));
	FUZZ_CHECK(checkpoint_body("fuzz.test/log", 1234, root, body) ==
		   ITK_OK);
	put_mode("note", "checkpoint-body", 2, itk_buf_ptr(body),
		 itk_buf_len(body));
	put_mode("note", "sign-checkpoint", 3, itk_buf_ptr(body),
		 itk_buf_len(body));
	FUZZ_CHECK(note_sign(log, itk_buf_ptr(body), itk_buf_len(body),
			     note) == ITK_OK);
	put_mode("note", "signed-checkpoint", 0, itk_buf_ptr(note),
		 itk_buf_len(note));
	FUZZ_CHECK(note_cosign_line(wit, itk_buf_ptr(body), itk_buf_len(body),
				    1785000000, note) == ITK_OK);
	put_mode("note", "cosigned-checkpoint", 0, itk_buf_ptr(note),
		 itk_buf_len(note));
	FUZZ_CHECK(note_verifier_format(note_signer_verifier(log), vkey) ==
		   ITK_OK);
	put_mode("note", "vkey-log", 1, itk_buf_ptr(vkey), itk_buf_len(vkey));
	itk_buf_reset(vkey);
	FUZZ_CHECK(note_verifier_format(note_signer_verifier(wit), vkey) ==
		   ITK_OK);
	put_mode("note", "vkey-witness", 1, itk_buf_ptr(vkey),
		 itk_buf_len(vkey));
	note_signer_free(wit);
	note_signer_free(log);
	itk_buf_free(vkey);
	itk_buf_free(note);
	itk_buf_free(body);
}

/* A message leaf, and a whole proof for it in a one-leaf log. */
static void
gen_proof(const struct fuzz_keys *k)
{
	static const uint8_t id[32] = "fuzz test submission id, public";
	uint8_t leafb[VAULT_LEAF_MAX], root[TLOG_HASH_LEN];
	vault_leaf l;
	size_t n = 0;
	note_signer *log = NULL;
	itk_buf *body = itk_buf_new(CHECKPOINT_MAX);
	itk_buf *note = itk_buf_new(2 * CHECKPOINT_MAX);
	itk_buf *proof = itk_buf_new(ITK_BUF_SIZE_MAX);

	FUZZ_CHECK(body != NULL && note != NULL && proof != NULL);
	memset(&l, 0, sizeof(l));
	l.kind = VAULT_LEAF_MESSAGE;
	l.time = vault_leaf_time(1785000000);
	l.db = "messages";
	l.db_len = 8;
	l.key = id;
	l.key_len = sizeof(id);
	memset(l.value_hash, 0x77, sizeof(l.value_hash));
	FUZZ_CHECK(vault_leaf_encode(&l, leafb, sizeof(leafb), &n) == ITK_OK);
	put_mode("proof", "leaf", 2, leafb, n);
	put_mode("proof", "signed-leaf", 1, leafb, n);

	FUZZ_CHECK(note_signer_new("fuzz.test/log", NOTE_TYPE_ED25519,
				   k->log_sk, &log) == ITK_OK);
	tlog_leaf_hash(root, leafb, n);
	FUZZ_CHECK(checkpoint_body("fuzz.test/log", 1, root, body) == ITK_OK);
	FUZZ_CHECK(note_sign(log, itk_buf_ptr(body), itk_buf_len(body),
			     note) == ITK_OK);
	FUZZ_CHECK(itk_buf_put(proof, ITK_PROOF_MAGIC, ITK_PROOF_MAGIC_LEN) ==
		       ITK_OK &&
		   itk_buf_put_u64(proof, 0) == ITK_OK &&
		   itk_buf_put_u16(proof, (uint16_t)n) == ITK_OK &&
		   itk_buf_put(proof, leafb, n) == ITK_OK &&
		   itk_buf_put_u8(proof, 0) == ITK_OK &&
		   itk_buf_put_u32(proof, (uint32_t)itk_buf_len(note)) ==
		       ITK_OK &&
		   itk_buf_put(proof, itk_buf_ptr(note), itk_buf_len(note)) ==
		       ITK_OK);
	put_mode("proof", "proof", 0, itk_buf_ptr(proof), itk_buf_len(proof));
	note_signer_free(log);
	itk_buf_free(proof);
	itk_buf_free(note);
	itk_buf_free(body);
}

static void
gen_json(void)
{
	static const char *const lines[][2] = {
	    {"message", "{\"id\":\"c0ffee\",\"queue\":\"surrender\","
			"\"urgency\":2,\"text\":\"\\u0412\\u0430\\n\","
			"\"tags\":[\"a\",{\"b\":null}],\"ok\":true}"},
	    {"escapes", "{\"k\\\"\\\\\":\"\\ud83d\\ude00 \\t\\/\","
			"\"n\":-1.5e+3}\r\n"},
	    {"duplicate", "{\"a\":1,\"a\":2}"},
	    {"empty", " {} "},
	    {"trailing-comma", "{\"a\":1,}"},
	    {"lone-surrogate", "{\"a\":\"\\ud800\"}"},
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		put("json", lines[i][0], lines[i][1], strlen(lines[i][1]));
	}
}

static void
gen_open(void)
{
	static uint8_t padded[512];

	/* Mode 1: valid padding, then padding with no 0x80 marker. */
	memcpy(padded, "hello\x80", 6);
	put_mode("open", "padded", 1, padded, sizeof(padded));
	memcpy(padded, "hello\x81", 6);
	put_mode("open", "bad-padding", 1, padded, sizeof(padded));
	/* Mode 2: a message to seal and open, and one past the largest
	 * bucket is covered by the unit tests (too slow to seed here). */
	put_mode("open", "roundtrip", 2, "a short message", 15);
	put_mode("open", "empty", 2, "", 0);
}

static void
gen_config(void)
{
	static const char *const texts[][2] = {
	    {"gateway", "# gateway\nlisten = 127.0.0.1:8080\n"
			"spool_dir = /var/spool/intake\n"
			"max_body = 1052672\ntls = yes\nworkers.max = 4\n"},
	    {"crlf", "a = 1\r\nb=true\r\n  # comment\r\n\r\nc =  x y \t\r\n"},
	    {"duplicate", "a = 1\na = 2\n"},
	    {"bad-key", "Listen = x\n"},
	    {"no-equals", "listen\n"},
	    {"empty-value", "a =\nb = 0\nc = no\n"},
	    {"nul", "a = 1\n# \0 in a comment is fine\nb = 2\n"},
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i][1]);
		if (strcmp(texts[i][0], "nul") == 0) {
			n = sizeof(
				"a = 1\n# \0 in a comment is fine\nb = 2\n") -
			    1;
		}
		put("config", texts[i][0], texts[i][1], n);
	}
}

static void
gen_buf(void)
{
	/* [plen][program][data]; opcodes as in fuzz_buf.c. */
	static const uint8_t every_op[] = {
	    31,
	    /* program: wmax=64*16, then each opcode with its operands */
	    64, 0, 1, 2, 3, 4, 5, 5, 0, 9, 6, 1, 7, 1, 8, 9, 4, 10, 2, 11, 1,
	    65, 12, 13, 200, 0, 0, 0, 0, 0,
	    /* data */
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x00, 0x03,
	    'a', 'b', 'c', 0x00, 0x00, 0x00, 0x02, 'h', 'i', 'x', 'y', 'z'};
	static const uint8_t strings[] = {
	    6,   1,   6,   0,   7,    0,    6,    1,    0x00, 0x05, 'h',
	    'e', 'l', 'l', 'o', 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 'x'};
	static const uint8_t small_cap[] = {9, 0,  9,   3,   10,  3,  11,
					    1, 42, 'a', 'b', 'c', 'd'};

	put("buf", "every-op", every_op, sizeof(every_op));
	put("buf", "strings", strings, sizeof(strings));
	put("buf", "small-cap", small_cap, sizeof(small_cap));
}

int
main(int argc, char **argv)
{
	const struct fuzz_keys *k;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	corpus_root = argv[1];
	/* Before libsodium starts: every random byte from the fixed seed. */
	FUZZ_CHECK(randombytes_set_implementation(&det_rng) == 0);
	k = fuzz_keys();
	gen_wire(k);
	gen_keys();
	gen_passphrase();
	gen_vault();
	gen_note(k);
	gen_proof(k);
	gen_json();
	gen_open();
	gen_config();
	gen_buf();
	printf("seeds written under %s\n", corpus_root);
	return 0;
}
