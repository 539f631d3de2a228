/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/sha256.c: both implementations (SHA-NI and libsodium, each
 * forced in turn) against the FIPS 180-2 examples and against libsodium's
 * crypto_hash_sha256 called directly, one-shot and incremental.  Meson
 * runs this twice: as is, and with ITK_SHA256=sodium (sha256_env_sodium).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "sha256.h"
#include "tlog.h"

static const itk_sha256_impl impls[] = {ITK_SHA256_SODIUM, ITK_SHA256_SHANI};
#define NIMPLS (sizeof(impls) / sizeof(impls[0]))

/* Forces impl; false (the caller skips it) if this CPU lacks it. */
static bool
use(itk_sha256_impl impl)
{
	itk_err r = itk_sha256_force(impl);

	if (r != ITK_OK) {
		assert_int_equal(r, ITK_E_RANGE);
		assert_int_equal(impl, ITK_SHA256_SHANI);
		assert_false(itk_sha256_shani_available());
		return false;
	}
	assert_int_equal(itk_sha256_active(), impl);
	return true;
}

static int
teardown(void **state)
{
	(void)state;
	return itk_sha256_force(ITK_SHA256_AUTO) == ITK_OK ? 0 : -1;
}

static void
hex32(uint8_t out[32], const char *hex)
{
	assert_int_equal(itk_unhex(out, 32, hex, strlen(hex)), ITK_OK);
}

static void
incremental(uint8_t out[32], const uint8_t *p, size_t len, size_t step)
{
	itk_sha256_state st;

	itk_sha256_init(&st);
	for (size_t i = 0; i < len; i += step) {
		itk_sha256_update(&st, p + i, len - i < step ? len - i : step);
	}
	itk_sha256_final(&st, out);
}

/* Runs first: the choice made at the first hash, from the environment
 * (this binary also runs with ITK_SHA256=sodium) and the CPU. */
static void
first_choice_follows_env_and_cpu(void **state)
{
	const char *e = getenv("ITK_SHA256");
	itk_sha256_impl want = ITK_SHA256_SODIUM;

	if ((e == NULL || strcmp(e, "sodium") != 0) &&
	    itk_sha256_shani_available()) {
		want = ITK_SHA256_SHANI;
	}
	assert_int_equal(itk_sha256_active(), want);
	assert_string_equal(itk_sha256_impl_name(ITK_SHA256_SHANI), "sha-ni");
	assert_string_equal(itk_sha256_impl_name(ITK_SHA256_SODIUM),
			    "libsodium");
}

/* FIPS 180-2 appendix B (and its one-million-'a' example). */
static void
fips_180_2_examples(void **state)
{
	static const char b1[] = "abc";
	static const char b2[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char b3[] =
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	const struct {
		const char *msg;
		const char *hex;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		 "7852b855"},
	    {b1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
		 "f20015ad"},
	    {b2, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
		 "19db06c1"},
	    {b3, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac4503"
		 "7afee9d1"},
	};
	uint8_t want[32], got[32], a[1000];
	itk_sha256_state st;

	memset(a, 'a', sizeof(a));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			size_t n = strlen(v[i].msg);
			hex32(want, v[i].hex);
			itk_sha256_digest(got, v[i].msg, n);
			assert_memory_equal(got, want, 32);
			itk_sha256(got, v[i].msg, n);
			assert_memory_equal(got, want, 32);
			incremental(got, (const uint8_t *)v[i].msg, n, 1);
			assert_memory_equal(got, want, 32);
		}
		/* 1,000,000 x 'a', in 1000-byte updates. */
		hex32(want, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e"
			    "046d39ccc7112cd0");
		itk_sha256_init(&st);
		for (size_t i = 0; i < 1000; i++) {
			itk_sha256_update(&st, a, sizeof(a));
		}
		itk_sha256_final(&st, got);
		assert_memory_equal(got, want, 32);
	}
}

/* Every length 0..1000 (every padding case: tails of 0..63 bytes, one or
 * two final blocks), one-shot and in steps of 1, 7, 64 and 65 bytes. */
static void
every_length_matches_libsodium(void **state)
{
	static uint8_t buf[1000];
	static const size_t steps[] = {1, 7, 63, 64, 65};
	uint8_t want[32], got[32];

	randombytes_buf(buf, sizeof(buf));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		for (size_t n = 0; n <= sizeof(buf); n++) {
			crypto_hash_sha256(want, buf, n);
			itk_sha256_digest(got, buf, n);
			assert_memory_equal(got, want, 32);
			for (size_t s = 0; s < sizeof(steps) / sizeof(*steps);
			     s++) {
				incremental(got, buf, n, steps[s]);
				assert_memory_equal(got, want, 32);
			}
		}
	}
}

/* Random lengths up to 1 MiB at random (unaligned) offsets. */
static void
random_long_inputs_match_libsodium(void **state)
{
	const size_t max = 1u << 20;
	uint8_t *buf = malloc(max + 64);
	uint8_t want[32], got[32];

	assert_non_null(buf);
	randombytes_buf(buf, max + 64);
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		for (int i = 0; i < 40; i++) {
			size_t n = randombytes_uniform((uint32_t)max + 1);
			size_t off = randombytes_uniform(64);
			size_t step = 1 + randombytes_uniform(5000);
			crypto_hash_sha256(want, buf + off, n);
			itk_sha256_digest(got, buf + off, n);
			assert_memory_equal(got, want, 32);
			incremental(got, buf + off, n, step);
			assert_memory_equal(got, want, 32);
		}
	}
	free(buf);
}

/* Two updates split at every boundary, three at every pair of
 * boundaries (each piece possibly empty). */
static void
split_at_every_boundary(void **state)
{
	static uint8_t buf[300];
	uint8_t want[32], got[32];
	itk_sha256_state st;

	randombytes_buf(buf, sizeof(buf));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		for (size_t n = 0; n <= sizeof(buf); n++) {
			crypto_hash_sha256(want, buf, n);
			for (size_t a = 0; a <= n; a++) {
				itk_sha256_init(&st);
				itk_sha256_update(&st, buf, a);
				itk_sha256_update(&st, buf + a, n - a);
				itk_sha256_final(&st, got);
				assert_memory_equal(got, want, 32);
			}
		}
		crypto_hash_sha256(want, buf, 200);
		for (size_t a = 0; a <= 200; a++) {
			for (size_t b = a; b <= 200; b++) {
				itk_sha256_init(&st);
				itk_sha256_update(&st, buf, a);
				itk_sha256_update(&st, buf + a, b - a);
				itk_sha256_update(&st, buf + b, 200 - b);
				itk_sha256_final(&st, got);
				assert_memory_equal(got, want, 32);
			}
		}
	}
}

/* A state keeps the implementation it was started with, even if the
 * choice changes under it; empty updates and a NULL empty input. */
static void
state_keeps_its_implementation(void **state)
{
	uint8_t msg[150], want[32], got[32];
	itk_sha256_state st;

	randombytes_buf(msg, sizeof(msg));
	crypto_hash_sha256(want, msg, sizeof(msg));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		itk_sha256_impl other = impls[k] == ITK_SHA256_SHANI
					    ? ITK_SHA256_SODIUM
					    : ITK_SHA256_AUTO;
		itk_sha256_init(&st);
		itk_sha256_update(&st, msg, 70);
		assert_int_equal(itk_sha256_force(other), ITK_OK);
		itk_sha256_update(&st, NULL, 0);
		itk_sha256_update(&st, msg + 70, sizeof(msg) - 70);
		itk_sha256_final(&st, got);
		assert_memory_equal(got, want, 32);
	}
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		crypto_hash_sha256(want, msg, 0);
		itk_sha256_digest(got, NULL, 0);
		assert_memory_equal(got, want, 32);
	}
}

/* The intake key id (crypto.c) is the same bytes on both paths. */
static void
key_id_same_on_both_paths(void **state)
{
	static const char ctx[] = "intake-v1 key id";
	uint8_t pk[ITK_PK_LEN], h[32], in[sizeof(ctx) + ITK_PK_LEN];

	randombytes_buf(pk, sizeof(pk));
	memcpy(in, ctx, sizeof(ctx));
	memcpy(in + sizeof(ctx), pk, sizeof(pk));
	crypto_hash_sha256(h, in, sizeof(in));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		assert_int_equal(itk_intake_key_id(pk), itk_load_u32(h));
	}
}

/* The Merkle log's hashes (vault/tlog.c), whose short leaves take a
 * one-call path: RFC 6962's H(0x00 || entry) and H(0x01 || l || r)
 * computed with libsodium, every entry length to 300 and the largest. */
static void
tlog_hashes_match_libsodium(void **state)
{
	static uint8_t in[1 + TLOG_ENTRY_MAX];
	static const size_t big[] = {1000, TLOG_ENTRY_MAX};
	uint8_t want[32], got[32], l[32], r[32];

	randombytes_buf(in, sizeof(in));
	randombytes_buf(l, sizeof(l));
	randombytes_buf(r, sizeof(r));
	for (size_t k = 0; k < NIMPLS; k++) {
		if (!use(impls[k])) {
			continue;
		}
		for (size_t n = 0; n <= 300 + 2; n++) {
			size_t len = n <= 300 ? n : big[n - 301];
			in[0] = 0x00;
			crypto_hash_sha256(want, in, 1 + len);
			tlog_leaf_hash(got, in + 1, len);
			assert_memory_equal(got, want, 32);
		}
		in[0] = 0x01;
		memcpy(in + 1, l, 32);
		memcpy(in + 33, r, 32);
		crypto_hash_sha256(want, in, 65);
		tlog_node_hash(got, l, r);
		assert_memory_equal(got, want, 32);
		tlog_node_hash(l, l, r); /* out aliases left */
		assert_memory_equal(l, want, 32);
	}
}

static void
force_refuses_unknown(void **state)
{
	itk_sha256_impl before = itk_sha256_active();

	assert_int_equal(itk_sha256_force((itk_sha256_impl)42), ITK_E_RANGE);
	assert_int_equal(itk_sha256_active(), before);
	assert_int_equal(itk_sha256_force(ITK_SHA256_AUTO), ITK_OK);
	assert_int_equal(itk_sha256_active(), itk_sha256_shani_available()
						  ? ITK_SHA256_SHANI
						  : ITK_SHA256_SODIUM);
	if (!itk_sha256_shani_available()) {
		assert_int_equal(itk_sha256_force(ITK_SHA256_SHANI),
				 ITK_E_RANGE);
		assert_int_equal(itk_sha256_active(), ITK_SHA256_SODIUM);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(first_choice_follows_env_and_cpu),
	    cmocka_unit_test_teardown(fips_180_2_examples, teardown),
	    cmocka_unit_test_teardown(every_length_matches_libsodium,
				      teardown),
	    cmocka_unit_test_teardown(random_long_inputs_match_libsodium,
				      teardown),
	    cmocka_unit_test_teardown(split_at_every_boundary, teardown),
	    cmocka_unit_test_teardown(state_keeps_its_implementation,
				      teardown),
	    cmocka_unit_test_teardown(key_id_same_on_both_paths, teardown),
	    cmocka_unit_test_teardown(tlog_hashes_match_libsodium, teardown),
	    cmocka_unit_test_teardown(force_refuses_unknown, teardown),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
