/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker tests' fixture, shared by test_worker_process.c and
 * test_worker_monitor.c: a real key store with one development intake key,
 * the built-in triage rules and a real LMDB vault in a temp dir, and sealed
 * deliveries made like the gateway hands them out.  Define
 * WORKER_FIXTURE_NAME (the temp dir's tag) before including.
 */
#ifndef ITK_TEST_WORKER_FIXTURE_H
#define ITK_TEST_WORKER_FIXTURE_H

struct fx {
	char dir[64];
	uint8_t intake_pk[ITK_PK_LEN];
	uint32_t key_id;
	wk_keyring *keys;
	triage_rules *rules;
	vault *v;
};

static int __attribute__((unused)) setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	itk_key_info tmpl;
	itk_secret_key *k = NULL;
	uint8_t vkey[VAULT_KEY_LEN];
	char path[256], vdir[128];
	vault_options vo = {0};
	uint64_t now = (uint64_t)time(NULL);

	assert_int_equal(itk_crypto_init(), ITK_OK);
	snprintf(f->dir, sizeof(f->dir), "/tmp/itk-%s-XXXXXX",
		 WORKER_FIXTURE_NAME);
	assert_non_null(mkdtemp(f->dir));
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.kind = ITK_KEY_INTAKE;
	tmpl.created = now;
	tmpl.not_before = now - 10;
	tmpl.not_after = now + 86400;
	snprintf(tmpl.name, sizeof(tmpl.name), "intake-test");
	assert_int_equal(itk_key_generate(&tmpl, &k), ITK_OK);
	memcpy(f->intake_pk, itk_key_public(k), ITK_PK_LEN);
	f->key_id = itk_key_id(k);
	assert_int_equal(itk_keystore_path(path, sizeof(path), f->dir,
					   ITK_KEY_INTAKE, f->key_id, NULL,
					   false),
			 ITK_OK);
	assert_int_equal(itk_key_save(k, path, NULL, NULL), ITK_OK);
	itk_key_free(k);
	assert_int_equal(wk_keyring_load(f->dir, NULL, &f->keys), ITK_OK);
	assert_int_equal(wk_keyring_count(f->keys), 1);
	assert_int_equal(triage_rules_default(&f->rules), ITK_OK);
	randombytes_buf(vkey, sizeof(vkey));
	snprintf(vdir, sizeof(vdir), "%s/vault", f->dir);
	vo.dir = vdir;
	vo.map_size = 64u << 20;
	assert_int_equal(vault_open(&vo, vkey, &f->v), ITK_OK);
	*state = f;
	return 0;
}

static int __attribute__((unused)) teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	vault_free(f->v);
	triage_rules_free(f->rules);
	wk_keyring_free(f->keys);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A delivery owning its buffers. */
struct dlv {
	Intake__V1__Delivery d;
	itk_pb_submission s;
	itk_buf *sealed;
};

static void __attribute__((unused)) dlv_init(struct dlv *x, uint32_t key_id)
{
	intake__v1__delivery__init(&x->d);
	intake__v1__submission__init(&x->s);
	x->sealed = itk_buf_new(ITK_PAD_MAX + ITK_SEAL_OVERHEAD);
	x->s.version = 1;
	x->s.intake_key_id = key_id;
	x->d.submission = &x->s;
	x->d.attempt = 1;
	x->d.accepted_at = 1700000000;
}

static void __attribute__((unused)) dlv_finish(struct dlv *x)
{
	static uint8_t id[ITK_HASH_LEN];

	x->s.sealed.data = itk_buf_mutable_ptr(x->sealed);
	x->s.sealed.len = itk_buf_len(x->sealed);
	itk_sha256(id, x->s.sealed.data, x->s.sealed.len);
	x->d.submission_id.data = malloc(ITK_HASH_LEN);
	memcpy(x->d.submission_id.data, id, ITK_HASH_LEN);
	x->d.submission_id.len = ITK_HASH_LEN;
}

static void __attribute__((unused)) dlv_free(struct dlv *x)
{
	itk_buf_free(x->sealed);
	free(x->d.submission_id.data);
}

/* Seals an inner message with the given text and mailbox byte. */
static void __attribute__((unused))
make_message(struct fx *f, struct dlv *x, const char *text, uint8_t mbox,
	     uint32_t version)
{
	itk_pb_inner in = INTAKE__V1__INNER_MESSAGE__INIT;
	uint8_t pk[ITK_PK_LEN], mb[ITK_MAILBOX_ID_LEN];
	itk_buf *plain = itk_buf_new(ITK_PAD_MAX);

	memset(pk, 0x42, sizeof(pk));
	memset(mb, mbox, sizeof(mb));
	in.version = version;
	in.text = (char *)text;
	in.form_category = INTAKE__V1__FORM_CATEGORY__FORM_NONE;
	in.reply_public_key = (ProtobufCBinaryData){ITK_PK_LEN, pk};
	in.mailbox_id = (ProtobufCBinaryData){ITK_MAILBOX_ID_LEN, mb};
	assert_int_equal(itk_wire_pack(&in.base, plain), ITK_OK);
	dlv_init(x, f->key_id);
	assert_int_equal(itk_seal(f->intake_pk, itk_buf_ptr(plain),
				  itk_buf_len(plain), x->sealed),
			 ITK_OK);
	dlv_finish(x);
	itk_buf_free(plain);
}

#endif
