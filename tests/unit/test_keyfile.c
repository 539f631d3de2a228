/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key files, public key files, the key store and bundles (keys/).  Every
 * malformed input must give a specific error, never ITK_OK and never a
 * crash: truncated at every length, every single bit flipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "file.h"
#include "keys.h"

/* The cheapest Argon2id cost the format accepts: tests open keys
 * thousands of times.  Real files use itk_kdf_moderate. */
static const itk_kdf_params fast = {ITK_KDF_OPS_MIN, ITK_KDF_MEM_MIN_KIB};
static const char pass[] = "correct horse battery staple";

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/itk-test-keyfile-XXXXXX");
	if (mkdtemp(dir) == NULL || itk_crypto_init() != ITK_OK) {
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void
tmpl_for(itk_key_info *t, itk_key_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->created = 1700000000u;
	if (kind == ITK_KEY_INTAKE) {
		t->not_before = 1700000000u;
		t->not_after = 1700000000u + 30u * 86400u;
	}
	if (kind == ITK_KEY_OPERATOR) {
		t->role = ITK_ROLE_SUPERVISOR;
		t->queues =
		    (1u << ITK_QUEUE_SURRENDER) | (1u << ITK_QUEUE_CASUALTY);
		memcpy(t->name, "alice.b-2", 10);
	}
}

static itk_secret_key *
gen(itk_key_kind kind)
{
	itk_key_info t;
	itk_secret_key *k = NULL;

	tmpl_for(&t, kind);
	assert_int_equal(itk_key_generate(&t, &k), ITK_OK);
	return k;
}

static itk_buf *
encode(const itk_secret_key *k, const char *pp)
{
	itk_buf *b = itk_buf_new(ITK_KEY_FILE_MAX);

	assert_non_null(b);
	assert_int_equal(itk_key_encode(k, pp, &fast, b), ITK_OK);
	return b;
}

static void
assert_same_key(const itk_secret_key *a, const itk_secret_key *b)
{
	const itk_key_info *x = itk_key_info_of(a), *y = itk_key_info_of(b);

	assert_int_equal(itk_key_kind_of(a), itk_key_kind_of(b));
	assert_int_equal(itk_key_secret_len(a), itk_key_secret_len(b));
	assert_memory_equal(itk_key_secret(a), itk_key_secret(b),
			    itk_key_secret_len(a));
	assert_memory_equal(itk_key_public(a), itk_key_public(b), 32);
	assert_int_equal(itk_key_id(a), itk_key_id(b));
	assert_int_equal(x->created, y->created);
	assert_int_equal(itk_key_not_before(a), itk_key_not_before(b));
	assert_int_equal(itk_key_not_after(a), itk_key_not_after(b));
	assert_string_equal(itk_key_role(a), itk_key_role(b));
	assert_int_equal(itk_key_queues(a), itk_key_queues(b));
	assert_string_equal(itk_key_name(a), itk_key_name(b));
}

static void
round_trip_every_kind(void **state)
{
	(void)state;
	for (int kind = ITK_KEY_ORG; kind <= ITK_KEY_VAULT; kind++) {
		for (int dev = 0; dev <= 1; dev++) {
			itk_secret_key *k = gen((itk_key_kind)kind),
				       *k2 = NULL;
			itk_buf *b = encode(k, dev ? NULL : pass);

			assert_int_equal(
			    itk_key_decode(itk_buf_ptr(b), itk_buf_len(b),
					   dev ? NULL : pass, &k2),
			    ITK_OK);
			assert_same_key(k, k2);
			assert_int_equal(itk_key_is_dev(k2), dev);
			assert_int_equal(itk_key_secret_len(k2),
					 kind == ITK_KEY_INTAKE ||
						 kind == ITK_KEY_VAULT
					     ? 32
					     : 64);
			itk_key_free(k2);
			itk_buf_free(b);
			itk_key_free(k);
		}
	}
}

static void
keys_work_as_keys(void **state)
{
	itk_secret_key *org = gen(ITK_KEY_ORG), *in = gen(ITK_KEY_INTAKE);
	uint8_t sig[ITK_SIG_LEN];
	itk_buf *sealed = itk_buf_new(4096), *plain = itk_buf_new(4096);

	(void)state;
	/* A signing key signs, an intake key opens what is sealed to it. */
	assert_int_equal(itk_sign(ITK_SIG_KEY_BUNDLE, itk_key_secret(org),
				  (const uint8_t *)"m", 1, sig),
			 ITK_OK);
	assert_int_equal(itk_verify(ITK_SIG_KEY_BUNDLE, itk_key_public(org),
				    (const uint8_t *)"m", 1, sig),
			 ITK_OK);
	assert_int_equal(
	    itk_seal(itk_key_public(in), (const uint8_t *)"hello", 5, sealed),
	    ITK_OK);
	assert_int_equal(itk_open(itk_key_public(in), itk_key_secret(in),
				  itk_buf_ptr(sealed), itk_buf_len(sealed),
				  plain),
			 ITK_OK);
	assert_memory_equal(itk_buf_ptr(plain), "hello", 5);
	assert_int_equal(itk_key_id(in),
			 itk_intake_key_id(itk_key_public(in)));
	itk_buf_free(sealed);
	itk_buf_free(plain);
	itk_key_free(org);
	itk_key_free(in);
}

static void
wrong_or_missing_passphrase(void **state)
{
	itk_secret_key *k = gen(ITK_KEY_INTAKE), *k2 = NULL;
	itk_buf *b = encode(k, pass);

	(void)state;
	assert_int_equal(itk_key_decode(itk_buf_ptr(b), itk_buf_len(b),
					"correct horse battery stapler", &k2),
			 ITK_E_PASSPHRASE);
	assert_int_equal(
	    itk_key_decode(itk_buf_ptr(b), itk_buf_len(b), NULL, &k2),
	    ITK_E_PASSPHRASE);
	assert_int_equal(
	    itk_key_decode(itk_buf_ptr(b), itk_buf_len(b), "", &k2),
	    ITK_E_PASSPHRASE);
	assert_null(k2);
	/* An empty passphrase is refused when writing too. */
	itk_buf_reset(b);
	assert_int_equal(itk_key_encode(k, "", &fast, b), ITK_E_RANGE);
	itk_buf_free(b);
	itk_key_free(k);
}

static bool
is_specific_error(itk_err r)
{
	switch (r) {
	case ITK_E_SHORT:
	case ITK_E_TOO_BIG:
	case ITK_E_FORMAT:
	case ITK_E_VERSION:
	case ITK_E_RANGE:
	case ITK_E_TRAILING:
	case ITK_E_PASSPHRASE:
		return true;
	default:
		return false;
	}
}

static void
flip_every_bit(const char *pp)
{
	itk_secret_key *k = gen(ITK_KEY_OPERATOR), *k2 = NULL;
	itk_buf *b = encode(k, pp);
	size_t len = itk_buf_len(b);
	uint8_t *p = itk_buf_mutable_ptr(b);

	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			itk_err r;
			p[i] ^= (uint8_t)(1u << bit);
			r = itk_key_decode(p, len, pp, &k2);
			p[i] ^= (uint8_t)(1u << bit);
			if (!is_specific_error(r)) {
				fail_msg("byte %zu bit %u: got %d", i, bit,
					 (int)r);
			}
			assert_null(k2);
			if (i < 7) {
				assert_int_equal(r, ITK_E_FORMAT);
			} else if (i == 7) {
				assert_int_equal(r, ITK_E_VERSION);
			} else if (i >= len - 16 - 64) {
				/* Ciphertext and tag: only the AEAD can
				 * tell, and it says one thing. */
				assert_int_equal(r, ITK_E_PASSPHRASE);
			}
		}
	}
	/* Unflipped it still opens: the loop restored every bit. */
	assert_int_equal(itk_key_decode(p, len, pp, &k2), ITK_OK);
	itk_key_free(k2);
	itk_buf_free(b);
	itk_key_free(k);
}

static void
bit_flip_encrypted(void **state)
{
	(void)state;
	flip_every_bit(pass);
}

static void
bit_flip_dev(void **state)
{
	(void)state;
	flip_every_bit(NULL);
}

static void
header_fields_are_authenticated(void **state)
{
	itk_secret_key *k = gen(ITK_KEY_INTAKE), *k2 = NULL;
	itk_buf *b = encode(k, pass);
	uint8_t *p = itk_buf_mutable_ptr(b);

	(void)state;
	/* not_after is bytes 36..43: push the window a day later.  The
	 * header stays self-consistent, so only the AEAD can catch it. */
	itk_store_u64(p + 36, itk_key_not_after(k) + 86400u);
	assert_int_equal(itk_key_decode(p, itk_buf_len(b), pass, &k2),
			 ITK_E_PASSPHRASE);
	itk_buf_free(b);
	itk_key_free(k);
}

static void
truncated_at_every_length(void **state)
{
	(void)state;
	for (int dev = 0; dev <= 1; dev++) {
		itk_secret_key *k = gen(ITK_KEY_INTAKE), *k2 = NULL;
		itk_buf *b = encode(k, dev ? NULL : pass);

		for (size_t n = 0; n < itk_buf_len(b); n++) {
			assert_int_equal(itk_key_decode(itk_buf_ptr(b), n,
							dev ? NULL : pass,
							&k2),
					 ITK_E_SHORT);
		}
		itk_buf_free(b);
		itk_key_free(k);
	}
}

static void
wrong_magic_version_trailing_too_big(void **state)
{
	itk_secret_key *k = gen(ITK_KEY_LOG), *k2 = NULL;
	itk_buf *b = encode(k, NULL);
	size_t len = itk_buf_len(b);
	uint8_t big[ITK_KEY_FILE_MAX + 1], *p = itk_buf_mutable_ptr(b);
	itk_key_info info;

	(void)state;
	p[7] = 2;
	assert_int_equal(itk_key_decode(p, len, NULL, &k2), ITK_E_VERSION);
	p[7] = 1;
	memcpy(p, "ITK-PUB", 7); /* a public file is not a secret file */
	assert_int_equal(itk_key_decode(p, len, NULL, &k2), ITK_E_FORMAT);
	memcpy(p, "ITK-KEY", 7);
	/* One byte more than a complete file. */
	memset(big, 0, sizeof(big));
	memcpy(big, p, len);
	assert_int_equal(itk_key_decode(big, len + 1, NULL, &k2),
			 ITK_E_TRAILING);
	assert_int_equal(itk_key_decode(big, sizeof(big), NULL, &k2),
			 ITK_E_TOO_BIG);
	assert_int_equal(itk_key_public_decode(big, sizeof(big), &info),
			 ITK_E_TOO_BIG);
	assert_null(k2);
	itk_buf_free(b);
	itk_key_free(k);
}

static void
file_too_big_on_disk(void **state)
{
	char path[128];
	uint8_t big[ITK_KEY_FILE_MAX + 100];
	itk_secret_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.key", dir);
	memset(big, 'A', sizeof(big));
	assert_int_equal(
	    itk_file_write_atomic(path, big, sizeof(big), 0600, 0), ITK_OK);
	assert_int_equal(itk_key_load(path, pass, &k), ITK_E_TOO_BIG);
	assert_null(k);
}

static void
save_load_and_permissions(void **state)
{
	char path[128];
	itk_secret_key *k = gen(ITK_KEY_RECEIPT), *k2 = NULL;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/receipt.key", dir);
	assert_int_equal(itk_key_save(k, path, pass, &fast), ITK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Never overwritten. */
	assert_int_equal(itk_key_save(k, path, pass, &fast), ITK_E_EXISTS);
	assert_int_equal(itk_key_load(path, pass, &k2), ITK_OK);
	assert_same_key(k, k2);
	itk_key_free(k2);
	k2 = NULL;
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(itk_key_load(path, pass, &k2), ITK_E_PERM);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(itk_key_load(path, pass, &k2), ITK_E_PERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(itk_key_load(path, "nope nope nope", &k2),
			 ITK_E_PASSPHRASE);
	assert_null(k2);
	snprintf(path, sizeof(path), "%s/absent.key", dir);
	assert_int_equal(itk_key_load(path, pass, &k2), ITK_E_NOT_FOUND);
	itk_key_free(k);
}

static void
public_file_round_trip_and_damage(void **state)
{
	itk_secret_key *k = gen(ITK_KEY_OPERATOR);
	itk_buf *b = itk_buf_new(ITK_KEY_FILE_MAX);
	itk_key_info in;
	uint8_t *p;
	size_t len;

	(void)state;
	assert_int_equal(itk_key_public_encode(itk_key_info_of(k), b), ITK_OK);
	p = itk_buf_mutable_ptr(b);
	len = itk_buf_len(b);
	assert_int_equal(itk_key_public_decode(p, len, &in), ITK_OK);
	assert_memory_equal(in.public_key, itk_key_public(k), 32);
	assert_string_equal(in.name, itk_key_name(k));
	assert_int_equal(in.role, ITK_ROLE_SUPERVISOR);
	for (size_t n = 0; n < len; n++) {
		assert_int_equal(itk_key_public_decode(p, n, &in),
				 ITK_E_SHORT);
	}
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			itk_err r;
			p[i] ^= (uint8_t)(1u << bit);
			r = itk_key_public_decode(p, len, &in);
			p[i] ^= (uint8_t)(1u << bit);
			if (!is_specific_error(r) || r == ITK_E_PASSPHRASE) {
				fail_msg("pub byte %zu bit %u: got %d", i, bit,
					 (int)r);
			}
		}
	}
	itk_buf_free(b);
	itk_key_free(k);
}

static void
generate_refuses_bad_templates(void **state)
{
	itk_key_info t;
	itk_secret_key *k = NULL;

	(void)state;
	tmpl_for(&t, ITK_KEY_INTAKE);
	t.not_after = t.not_before - 1;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	tmpl_for(&t, ITK_KEY_OPERATOR);
	t.role = ITK_ROLE_NONE;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	tmpl_for(&t, ITK_KEY_OPERATOR);
	t.queues = 1u << ITK_QUEUE_COUNT;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	tmpl_for(&t, ITK_KEY_OPERATOR);
	memcpy(t.name, "../evil", 8);
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_FORMAT);
	tmpl_for(&t, ITK_KEY_ORG);
	t.role = ITK_ROLE_ADMIN;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	tmpl_for(&t, ITK_KEY_LOG);
	t.not_after = 5;
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	tmpl_for(&t, (itk_key_kind)(ITK_KEY_QUEUE + 1));
	assert_int_equal(itk_key_generate(&t, &k), ITK_E_RANGE);
	assert_null(k);
	assert_false(itk_key_name_ok(""));
	assert_false(itk_key_name_ok(".hidden"));
	assert_false(itk_key_name_ok("a/b"));
	assert_true(itk_key_name_ok("dev-admin"));
}

static void
fingerprint_shape(void **state)
{
	itk_secret_key *k = gen(ITK_KEY_ORG);
	char a[ITK_FINGERPRINT_LEN], b[ITK_FINGERPRINT_LEN];

	(void)state;
	itk_key_fingerprint(ITK_KEY_ORG, itk_key_public(k), a);
	itk_key_fingerprint(ITK_KEY_ORG, itk_key_public(k), b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), ITK_FINGERPRINT_LEN - 1);
	for (size_t i = 0; i < strlen(a); i++) {
		if (i % 5 == 4) {
			assert_int_equal(a[i], ' ');
		} else {
			assert_non_null(strchr("0123456789abcdef", a[i]));
		}
	}
	/* The kind is part of it: the same bytes as another kind differ. */
	itk_key_fingerprint(ITK_KEY_LOG, itk_key_public(k), b);
	assert_string_not_equal(a, b);
	itk_key_free(k);
}

/* ----------------------------------------------------------- store */

static void
save_intake(const char *d, uint64_t nb, uint32_t *id)
{
	itk_key_info t;
	itk_secret_key *k = NULL;
	char path[256];

	tmpl_for(&t, ITK_KEY_INTAKE);
	t.not_before = nb;
	t.not_after = nb + 86400u;
	assert_int_equal(itk_key_generate(&t, &k), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), d,
					   ITK_KEY_INTAKE, itk_key_id(k), NULL,
					   false),
			 ITK_OK);
	assert_int_equal(itk_key_save(k, path, pass, &fast), ITK_OK);
	*id = itk_key_id(k);
	itk_key_free(k);
}

static void
keystore_load_intake(void **state)
{
	char d[128], path[256], other[256];
	itk_secret_key *keys[4] = {NULL};
	itk_keystore_entry e[8];
	uint32_t id[3];
	size_t n = 99;
	itk_buf *b = NULL;

	(void)state;
	snprintf(d, sizeof(d), "%s/store", dir);
	assert_int_equal(itk_mkdir_p(d, 0700), ITK_OK);
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 4, &n),
			 ITK_E_NOT_FOUND);
	assert_int_equal(n, 0);
	save_intake(d, 1000, &id[0]);
	save_intake(d, 3000, &id[1]);
	save_intake(d, 2000, &id[2]);
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 4, &n),
			 ITK_OK);
	assert_int_equal(n, 3);
	/* Newest first. */
	assert_int_equal(itk_key_id(keys[0]), id[1]);
	assert_int_equal(itk_key_id(keys[1]), id[2]);
	assert_int_equal(itk_key_id(keys[2]), id[0]);
	for (size_t i = 0; i < n; i++) {
		itk_key_free(keys[i]);
		keys[i] = NULL;
	}
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 2, &n),
			 ITK_E_FULL);
	assert_int_equal(n, 0);
	assert_null(keys[0]);
	assert_int_equal(
	    itk_keystore_load_intake(d, "wrong wrong wrong", keys, 4, &n),
	    ITK_E_PASSPHRASE);
	assert_null(keys[0]);
	assert_int_equal(itk_keystore_list(d, e, 8, &n, NULL, 0), ITK_OK);
	assert_int_equal(n, 3);
	assert_true(e[0].has_secret);
	assert_false(e[0].has_public);

	/* A key file under another key's name is refused. */
	assert_int_equal(itk_keystore_path(path, sizeof(path), d,
					   ITK_KEY_INTAKE, id[0], NULL, false),
			 ITK_OK);
	assert_int_equal(itk_keystore_path(other, sizeof(other), d,
					   ITK_KEY_INTAKE, 0x12345678u, NULL,
					   false),
			 ITK_OK);
	assert_int_equal(itk_file_read_secret(path, ITK_KEY_FILE_MAX, &b),
			 ITK_OK);
	assert_int_equal(itk_file_write_atomic(other, itk_buf_ptr(b),
					       itk_buf_len(b), 0600, 1),
			 ITK_OK);
	itk_buf_free(b);
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 8, &n),
			 ITK_E_FORMAT);
	assert_int_equal(unlink(other), 0);
	/* An open mode anywhere in the store is refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 8, &n),
			 ITK_E_PERM);
	assert_int_equal(chmod(path, 0600), 0);
	/* Destroyed for good. */
	assert_int_equal(itk_key_destroy_file(path), ITK_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(itk_keystore_load_intake(d, pass, keys, 8, &n),
			 ITK_OK);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		itk_key_free(keys[i]);
	}
}

static void
keystore_single_keys(void **state)
{
	char d[128], path[256];
	itk_secret_key *k = gen(ITK_KEY_VAULT), *op = gen(ITK_KEY_OPERATOR);
	itk_secret_key *k2 = NULL;
	itk_key_info info;

	(void)state;
	snprintf(d, sizeof(d), "%s/single", dir);
	assert_int_equal(itk_mkdir_p(d, 0700), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), d,
					   ITK_KEY_VAULT, 0, NULL, false),
			 ITK_OK);
	assert_int_equal(itk_key_save(k, path, NULL, NULL), ITK_OK);
	assert_int_equal(itk_keystore_load_key(d, ITK_KEY_VAULT, NULL, &k2),
			 ITK_OK);
	assert_true(itk_key_is_dev(k2));
	assert_memory_equal(itk_key_secret(k2), itk_key_secret(k), 32);
	itk_key_free(k2);
	k2 = NULL;
	assert_int_equal(itk_keystore_load_key(d, ITK_KEY_LOG, NULL, &k2),
			 ITK_E_NOT_FOUND);
	assert_int_equal(itk_keystore_load_key(d, ITK_KEY_INTAKE, NULL, &k2),
			 ITK_E_RANGE);
	/* Operators live in operators/<name>.key. */
	snprintf(path, sizeof(path), "%s/operators", d);
	assert_int_equal(itk_mkdir_p(path, 0700), ITK_OK);
	assert_int_equal(itk_keystore_path(path, sizeof(path), d,
					   ITK_KEY_OPERATOR, 0,
					   itk_key_name(op), false),
			 ITK_OK);
	assert_int_equal(itk_key_save(op, path, pass, &fast), ITK_OK);
	assert_int_equal(itk_key_info_load(path, &info), ITK_OK);
	assert_int_equal(info.kind, ITK_KEY_OPERATOR);
	assert_false(info.dev);
	assert_int_equal(
	    itk_keystore_load_operator(d, itk_key_name(op), pass, &k2),
	    ITK_OK);
	assert_string_equal(itk_key_role(k2), "supervisor");
	itk_key_free(k2);
	assert_int_equal(itk_keystore_load_operator(d, "../x", pass, &k2),
			 ITK_E_FORMAT);
	itk_key_free(op);
	itk_key_free(k);
}

/* ---------------------------------------------------------- bundle */

typedef struct {
	itk_secret_key *org, *receipt, *log, *in[2];
	itk_buf *bundle;
} bundle_fx;

static void
bundle_fx_make(bundle_fx *f)
{
	itk_key_info in[2];
	itk_key_info t;

	f->org = gen(ITK_KEY_ORG);
	f->receipt = gen(ITK_KEY_RECEIPT);
	f->log = gen(ITK_KEY_LOG);
	for (int i = 0; i < 2; i++) {
		tmpl_for(&t, ITK_KEY_INTAKE);
		t.not_before = 1000u + (1u - (unsigned)i) * 1000u;
		t.not_after = t.not_before + 5000u;
		assert_int_equal(itk_key_generate(&t, &f->in[i]), ITK_OK);
		in[i] = *itk_key_info_of(f->in[i]);
	}
	f->bundle = itk_buf_new(ITK_KEY_BUNDLE_MAX);
	assert_int_equal(
	    itk_bundle_make(f->org, in, 2, itk_key_public(f->receipt),
			    itk_key_public(f->log), "intake.test/log", 7, 4242,
			    f->bundle),
	    ITK_OK);
}

static void
bundle_fx_free(bundle_fx *f)
{
	itk_key_free(f->org);
	itk_key_free(f->receipt);
	itk_key_free(f->log);
	itk_key_free(f->in[0]);
	itk_key_free(f->in[1]);
	itk_buf_free(f->bundle);
}

static void
bundle_made_and_verified(void **state)
{
	bundle_fx f;
	itk_pb_key_bundle_body *body = NULL;
	const Intake__V1__IntakeKey *cur;
	itk_key_info one;
	itk_buf *b;

	(void)state;
	bundle_fx_make(&f);
	assert_int_equal(itk_bundle_verify(itk_buf_ptr(f.bundle),
					   itk_buf_len(f.bundle),
					   itk_key_public(f.org), &body),
			 ITK_OK);
	assert_string_equal(body->origin, "intake.test/log");
	assert_int_equal(body->serial, 7);
	assert_int_equal(body->issued_at, 4242);
	assert_int_equal(body->n_intake_keys, 2);
	assert_int_equal(body->intake_keys[0]->key_id, itk_key_id(f.in[0]));
	assert_memory_equal(body->receipt_public_key.data,
			    itk_key_public(f.receipt), 32);
	assert_memory_equal(body->log_public_key.data, itk_key_public(f.log),
			    32);
	/* At 2500 both windows hold: the first listed (newest) is current. */
	cur = itk_bundle_current_intake_key(body, 2500);
	assert_non_null(cur);
	assert_int_equal(cur->key_id, itk_key_id(f.in[0]));
	/* At 1500 only the older one does. */
	cur = itk_bundle_current_intake_key(body, 1500);
	assert_non_null(cur);
	assert_int_equal(cur->key_id, itk_key_id(f.in[1]));
	assert_null(itk_bundle_current_intake_key(body, 999));
	itk_wire_free(body);

	/* Refusals: not an org key, no intake key, a non-intake entry. */
	b = itk_buf_new(ITK_KEY_BUNDLE_MAX);
	one = *itk_key_info_of(f.in[0]);
	assert_int_equal(itk_bundle_make(f.log, &one, 1,
					 itk_key_public(f.receipt),
					 itk_key_public(f.log), "o", 1, 1, b),
			 ITK_E_RANGE);
	assert_int_equal(itk_bundle_make(f.org, &one, 0,
					 itk_key_public(f.receipt),
					 itk_key_public(f.log), "o", 1, 1, b),
			 ITK_E_RANGE);
	one = *itk_key_info_of(f.log);
	assert_int_equal(itk_bundle_make(f.org, &one, 1,
					 itk_key_public(f.receipt),
					 itk_key_public(f.log), "o", 1, 1, b),
			 ITK_E_RANGE);
	itk_buf_free(b);
	bundle_fx_free(&f);
}

static void
bundle_wrong_org_and_bit_flips(void **state)
{
	bundle_fx f;
	itk_pb_key_bundle *outer = NULL;
	itk_pb_key_bundle_body *body = NULL;
	itk_secret_key *other = gen(ITK_KEY_ORG);
	uint8_t *p;
	size_t len, body_off, body_end;

	(void)state;
	bundle_fx_make(&f);
	p = itk_buf_mutable_ptr(f.bundle);
	len = itk_buf_len(f.bundle);
	assert_int_equal(
	    itk_bundle_verify(p, len, itk_key_public(other), &body),
	    ITK_E_VERIFY);
	assert_null(body);
	/* Where the signed body sits inside the outer message. */
	assert_int_equal(itk_wire_key_bundle_decode(p, len, &outer), ITK_OK);
	body_off = (size_t)(outer->body.data - p);
	body_end = body_off + outer->body.len;
	itk_wire_free(outer);
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			itk_err r;
			p[i] ^= (uint8_t)(1u << bit);
			r = itk_bundle_verify(p, len, itk_key_public(f.org),
					      &body);
			p[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(r, ITK_OK);
			assert_null(body);
			/* Inside the body or the signature: the signature
			 * is what fails. */
			if ((i >= body_off && i < body_end) ||
			    i >= len - ITK_SIG_LEN) {
				assert_int_equal(r, ITK_E_VERIFY);
			}
		}
	}
	for (size_t n = 0; n < len; n++) {
		assert_int_not_equal(
		    itk_bundle_verify(p, n, itk_key_public(f.org), &body),
		    ITK_OK);
	}
	itk_key_free(other);
	bundle_fx_free(&f);
}

static void
org_pub_pin(void **state)
{
	itk_secret_key *org = gen(ITK_KEY_ORG), *log = gen(ITK_KEY_LOG);
	char path[128], hex[2 * 32 + 2];
	uint8_t pk[32];
	itk_key_info info;

	(void)state;
	snprintf(path, sizeof(path), "%s/org.pub", dir);
	info = *itk_key_info_of(org);
	assert_int_equal(itk_key_save_public(&info, path), ITK_OK);
	assert_int_equal(itk_org_pub_load(path, pk), ITK_OK);
	assert_memory_equal(pk, itk_key_public(org), 32);
	/* The same key as 64 hex digits and a newline. */
	itk_hex(hex, itk_key_public(org), 32);
	hex[64] = '\n';
	snprintf(path, sizeof(path), "%s/org.hex", dir);
	assert_int_equal(itk_file_write_atomic(path, hex, 65, 0644, 0),
			 ITK_OK);
	memset(pk, 0, sizeof(pk));
	assert_int_equal(itk_org_pub_load(path, pk), ITK_OK);
	assert_memory_equal(pk, itk_key_public(org), 32);
	/* Another kind of key is not an organisation key. */
	snprintf(path, sizeof(path), "%s/log.pub", dir);
	info = *itk_key_info_of(log);
	assert_int_equal(itk_key_save_public(&info, path), ITK_OK);
	assert_int_equal(itk_org_pub_load(path, pk), ITK_E_RANGE);
	snprintf(path, sizeof(path), "%s/junk", dir);
	assert_int_equal(itk_file_write_atomic(path, "not a key", 9, 0644, 0),
			 ITK_OK);
	assert_int_not_equal(itk_org_pub_load(path, pk), ITK_OK);
	itk_key_free(org);
	itk_key_free(log);
}

/* --------------------------------------------------------- askpass */

static void
askpass_env_and_file(void **state)
{
	char path[128], *pp = NULL;

	(void)state;
	assert_int_equal(setenv(ITK_ASKPASS_ENV, "from the environment", 1),
			 0);
	assert_int_equal(itk_askpass(NULL, NULL, false, &pp), ITK_OK);
	assert_string_equal(pp, "from the environment");
	itk_askpass_free(pp);
	pp = NULL;
	assert_int_equal(unsetenv(ITK_ASKPASS_ENV), 0);

	snprintf(path, sizeof(path), "%s/pass", dir);
	assert_int_equal(
	    itk_file_write_atomic(path, "first line\r\nsecond\n", 19, 0600, 0),
	    ITK_OK);
	assert_int_equal(itk_askpass(path, NULL, false, &pp), ITK_OK);
	assert_string_equal(pp, "first line");
	itk_askpass_free(pp);
	pp = NULL;
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(itk_askpass(path, NULL, false, &pp), ITK_E_PERM);
	assert_int_equal(itk_file_write_atomic(path, "\n", 1, 0600, 0),
			 ITK_OK);
	assert_int_equal(itk_askpass(path, NULL, false, &pp), ITK_E_MISSING);
	assert_null(pp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip_every_kind),
	    cmocka_unit_test(keys_work_as_keys),
	    cmocka_unit_test(wrong_or_missing_passphrase),
	    cmocka_unit_test(bit_flip_encrypted),
	    cmocka_unit_test(bit_flip_dev),
	    cmocka_unit_test(header_fields_are_authenticated),
	    cmocka_unit_test(truncated_at_every_length),
	    cmocka_unit_test(wrong_magic_version_trailing_too_big),
	    cmocka_unit_test(file_too_big_on_disk),
	    cmocka_unit_test(save_load_and_permissions),
	    cmocka_unit_test(public_file_round_trip_and_damage),
	    cmocka_unit_test(generate_refuses_bad_templates),
	    cmocka_unit_test(fingerprint_shape),
	    cmocka_unit_test(keystore_load_intake),
	    cmocka_unit_test(keystore_single_keys),
	    cmocka_unit_test(bundle_made_and_verified),
	    cmocka_unit_test(bundle_wrong_org_and_bit_flips),
	    cmocka_unit_test(org_pub_pin),
	    cmocka_unit_test(askpass_env_and_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
