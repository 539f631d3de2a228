/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's copy of the vault log (gateway/logpub.c, gw_log.h):
 * pushed files are checked (paths, sizes, never rewritten), a checkpoint
 * is published only when signed by the log key, not older, not a fork,
 * rebuilt from the tiles held and consistent with the one before; proofs
 * for submitters; cosignatures; the index survives a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "gw_log.h"
#include "note.h"
#include "proof.h"
#include "tiles.h"
#include "vault.h"
#include "vault_log.h"

#define ORIGIN "test.example/log"

static char dir[64], vdir[96], gdir[96];
static note_signer *signer, *other;
static uint8_t ids[8][32];

static note_signer *
make_signer(uint8_t seedbyte, const char *name, uint8_t type)
{
	uint8_t seed[32], pk[32], sk[64];
	note_signer *s = NULL;

	memset(seed, seedbyte, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_int_equal(note_signer_new(name, type, sk, &s), ITK_OK);
	sodium_memzero(sk, sizeof(sk));
	return s;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/itk-test-gwlog-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(vdir, sizeof(vdir), "%s/v", dir);
	snprintf(gdir, sizeof(gdir), "%s/g", dir);
	signer = make_signer(3, ORIGIN, NOTE_TYPE_ED25519);
	/* Same name, another key: a forger without the log key. */
	other = make_signer(4, ORIGIN, NOTE_TYPE_ED25519);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	note_signer_free(signer);
	note_signer_free(other);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* A vault with n new messages (2 leaves each) more. */
static void
add_messages(vault *v, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		uint8_t sealed[64] = {0};
		vault_message m = {0};
		snprintf((char *)sealed, sizeof(sealed), "sealed %d", i);
		m.sealed = sealed;
		m.sealed_len = sizeof(sealed);
		itk_sha256(m.submission_id, sealed, sizeof(sealed));
		if (i < 8) {
			memcpy(ids[i], m.submission_id, 32);
		}
		assert_int_equal(vault_commit(v, &m, 1, NULL, 0, NULL),
				 ITK_OK);
	}
}

struct push {
	vault *v;
	gw_log *g;
	int skip_last; /* leave out the last tile */
	size_t n, total;
};

static itk_err
count_tile(void *arg, int level, uint64_t n, unsigned w)
{
	(void)level;
	(void)n;
	(void)w;
	((struct push *)arg)->total++;
	return ITK_OK;
}

static itk_err
push_tile(void *arg, int level, uint64_t n, unsigned w)
{
	struct push *p = arg;
	char path[TILES_PATH_MAX];
	itk_buf *b = itk_buf_new(TILES_BUNDLE_MAX);
	itk_err r;

	if (p->skip_last && p->n + 1 == p->total) {
		p->n++;
		itk_buf_free(b);
		return ITK_OK;
	}
	assert_int_equal(tiles_path(path, sizeof(path), level, n, w), ITK_OK);
	assert_int_equal(vault_log_tile(p->v, level, n, w, b), ITK_OK);
	r = gw_log_store(p->g, path, itk_buf_ptr(b), itk_buf_len(b));
	itk_buf_free(b);
	p->n++;
	return r;
}

/* Pushes the tiles (old, new] as intake-logd does. */
static void
push_tiles(vault *v, gw_log *g, uint64_t old, uint64_t new_size, int skip_last)
{
	struct push p = {.v = v, .g = g, .skip_last = skip_last};

	assert_int_equal(
	    vault_log_tiles_between(old, new_size, count_tile, &p), ITK_OK);
	assert_int_equal(vault_log_tiles_between(old, new_size, push_tile, &p),
			 ITK_OK);
}

static itk_buf *
sign_now(vault *v, uint64_t *size)
{
	itk_buf *b = itk_buf_new(CHECKPOINT_MAX);

	assert_int_equal(vault_log_sign(v, signer, b, size), ITK_OK);
	return b;
}

static itk_buf *
forge(note_signer *s, uint64_t size)
{
	uint8_t root[32];
	itk_buf *body = itk_buf_new(1024), *b = itk_buf_new(CHECKPOINT_MAX);

	randombytes_buf(root, sizeof(root));
	assert_int_equal(checkpoint_body(ORIGIN, size, root, body), ITK_OK);
	assert_int_equal(note_sign(s, itk_buf_ptr(body), itk_buf_len(body), b),
			 ITK_OK);
	itk_buf_free(body);
	return b;
}

static gw_log *
open_gw(void)
{
	gw_log *g = NULL;

	assert_int_equal(
	    gw_log_open(gdir, ORIGIN, note_signer_verifier(signer)->pk, &g),
	    ITK_OK);
	return g;
}

static void
paths_and_sizes_refused(void **state)
{
	static const char *bad[] = {
	    "../checkpoint",       "tile/0/1",         "tile/0/001.p/0",
	    "tile/0/001.p/256",    "tile/0/001.p/010", "tile/0/x000/001",
	    "tile/0/001/",         "tile/64/000",      "tile/00/000",
	    "tile/entries/x1/000", "checkpoint2",      "tile/0/000.q/1",
	    "tile/data/000",       "/tile/0/000",      "tile/0/-01",
	};
	uint8_t h[TILE_MAX_BYTES] = {0};
	gw_log *g = open_gw();
	itk_buf *out = NULL;
	const char *ct;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(gw_log_store(g, bad[i], h, 32), ITK_E_FORMAT);
		assert_int_equal(gw_log_get(g, bad[i], &out, &ct),
				 ITK_E_NOT_FOUND);
	}
	/* A hash tile of width W is exactly W hashes. */
	assert_int_equal(gw_log_store(g, "tile/0/000.p/2", h, 63),
			 ITK_E_FORMAT);
	assert_int_equal(gw_log_store(g, "tile/0/000.p/2", h, 96),
			 ITK_E_FORMAT);
	assert_int_equal(gw_log_store(g, "tile/0/000.p/2", h, 64), ITK_OK);
	/* Never rewritten with other bytes; the same bytes are fine. */
	h[0] = 1;
	assert_int_equal(gw_log_store(g, "tile/0/000.p/2", h, 64),
			 ITK_E_EXISTS);
	h[0] = 0;
	assert_int_equal(gw_log_store(g, "tile/0/000.p/2", h, 64), ITK_OK);
	/* A bundle must hold exactly W entries. */
	{
		uint8_t bd[] = {0, 1, 'a', 0, 2, 'b', 'c'};
		assert_int_equal(
		    gw_log_store(g, "tile/entries/000.p/3", bd, sizeof(bd)),
		    ITK_E_FORMAT);
		assert_int_equal(gw_log_store(g, "tile/entries/000.p/2", bd,
					      sizeof(bd) - 1),
				 ITK_E_FORMAT);
		assert_int_equal(
		    gw_log_store(g, "tile/entries/000.p/2", bd, sizeof(bd)),
		    ITK_OK);
	}
	assert_int_equal(gw_log_store(g, "tile/0/001", h, GW_LOG_FILE_MAX + 1),
			 ITK_E_TOO_BIG);
	/* Nothing published. */
	assert_int_equal(gw_log_size(g), 0);
	assert_int_equal(gw_log_get(g, "checkpoint", &out, &ct),
			 ITK_E_NOT_FOUND);
	gw_log_free(g);
}

static void
publish_verify_and_refuse(void **state)
{
	vault_options vo = {.dir = vdir};
	uint8_t key[VAULT_KEY_LEN];
	vault *v = NULL;
	gw_log *g = open_gw();
	itk_buf *cp1, *cp2, *bad, *out = NULL, *pf;
	uint64_t s1, s2;
	const char *ct;
	itk_proof_info pi;
	itk_pb_key_bundle_body bundle = INTAKE__V1__KEY_BUNDLE_BODY__INIT;

	(void)state;
	memset(key, 7, sizeof(key));
	assert_int_equal(vault_open(&vo, key, &v), ITK_OK);
	add_messages(v, 0, 150); /* 300 leaves: a full tile and more */
	cp1 = sign_now(v, &s1);
	assert_int_equal(s1, 300);
	/* Before its tiles: refused, nothing published. */
	push_tiles(v, g, 0, s1, 1);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(cp1), itk_buf_len(cp1)),
	    ITK_E_NOT_FOUND);
	assert_int_equal(gw_log_size(g), 0);
	push_tiles(v, g, 0, s1, 0);
	/* Signed by another key under the same name: refused. */
	bad = forge(other, s1);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(bad), itk_buf_len(bad)),
	    ITK_E_VERIFY);
	itk_buf_free(bad);
	/* The log key's signature on a root the tiles do not give. */
	bad = forge(signer, s1);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(bad), itk_buf_len(bad)),
	    ITK_E_VERIFY);
	itk_buf_free(bad);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(cp1), itk_buf_len(cp1)),
	    ITK_OK);
	assert_int_equal(gw_log_size(g), 300);
	assert_int_equal(gw_log_get(g, "checkpoint", &out, &ct), ITK_OK);
	assert_int_equal(itk_buf_len(out), itk_buf_len(cp1));
	itk_buf_free(out);
	/* Same size, other root, log key: a fork, refused. */
	bad = forge(signer, s1);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(bad), itk_buf_len(bad)),
	    ITK_E_VERIFY);
	itk_buf_free(bad);
	/* Grow; publish; the old checkpoint is then refused as older. */
	add_messages(v, 150, 10);
	cp2 = sign_now(v, &s2);
	push_tiles(v, g, s1, s2, 0);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(cp2), itk_buf_len(cp2)),
	    ITK_OK);
	assert_int_equal(gw_log_size(g), 320);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(cp1), itk_buf_len(cp1)),
	    ITK_E_RANGE);
	/* A proof for a submitter, checked as intake-submit checks it. */
	bundle.origin = ORIGIN;
	bundle.log_public_key.data =
	    (uint8_t *)(uintptr_t)note_signer_verifier(signer)->pk;
	bundle.log_public_key.len = 32;
	pf = itk_buf_new(GW_PROOF_MAX + CHECKPOINT_MAX);
	assert_int_equal(gw_log_proof(g, ids[3], pf), ITK_OK);
	assert_int_equal(itk_proof_verify(itk_buf_ptr(pf), itk_buf_len(pf),
					  &bundle, ids[3], &pi),
			 ITK_OK);
	assert_int_equal(pi.leaf_index, 7); /* case, message per id */
	assert_int_equal(pi.tree_size, 320);
	/* ...and not for another id. */
	assert_int_equal(itk_proof_verify(itk_buf_ptr(pf), itk_buf_len(pf),
					  &bundle, ids[4], &pi),
			 ITK_E_VERIFY);
	{
		uint8_t unknown[32] = {0};
		itk_buf_reset(pf);
		assert_int_equal(gw_log_proof(g, unknown, pf),
				 ITK_E_NOT_FOUND);
	}
	/* After a restart: the same size, the index rebuilt. */
	gw_log_free(g);
	g = open_gw();
	assert_int_equal(gw_log_size(g), 320);
	itk_buf_reset(pf);
	assert_int_equal(gw_log_proof(g, ids[0], pf), ITK_OK);
	assert_int_equal(itk_proof_verify(itk_buf_ptr(pf), itk_buf_len(pf),
					  &bundle, ids[0], &pi),
			 ITK_OK);
	itk_buf_free(pf);
	itk_buf_free(cp1);
	itk_buf_free(cp2);
	gw_log_free(g);
	vault_free(v);
}

static void
cosignatures(void **state)
{
	vault_options vo = {.dir = vdir};
	uint8_t key[VAULT_KEY_LEN];
	note_signer *w = make_signer(9, "witness.example/w", NOTE_TYPE_COSIG);
	vault *v = NULL;
	gw_log *g = open_gw();
	itk_buf *cp, *cs = itk_buf_new(CHECKPOINT_MAX + 1024), *out = NULL;
	note_msg msg;
	size_t added = 0;
	const char *ct;
	uint64_t s;

	(void)state;
	memset(key, 7, sizeof(key));
	assert_int_equal(vault_open(&vo, key, &v), ITK_OK);
	add_messages(v, 0, 3);
	cp = sign_now(v, &s);
	push_tiles(v, g, 0, s, 0);
	assert_int_equal(
	    gw_log_store(g, "checkpoint", itk_buf_ptr(cp), itk_buf_len(cp)),
	    ITK_OK);
	assert_int_equal(note_parse(itk_buf_ptr(cp), itk_buf_len(cp), &msg),
			 ITK_OK);
	assert_int_equal(itk_buf_put(cs, itk_buf_ptr(cp), itk_buf_len(cp)),
			 ITK_OK);
	assert_int_equal(
	    note_cosign_line(w, msg.text, msg.text_len, 1700000000u, cs),
	    ITK_OK);
	assert_int_equal(
	    gw_log_cosign(g, itk_buf_ptr(cs), itk_buf_len(cs), &added),
	    ITK_OK);
	assert_int_equal(added, 1);
	/* The same line again: kept once. */
	assert_int_equal(
	    gw_log_cosign(g, itk_buf_ptr(cs), itk_buf_len(cs), &added),
	    ITK_OK);
	assert_int_equal(added, 0);
	/* Served with the checkpoint, and the log signature still checks. */
	assert_int_equal(gw_log_get(g, "checkpoint", &out, &ct), ITK_OK);
	assert_int_equal(itk_buf_len(out), itk_buf_len(cs));
	{
		checkpoint c;
		note_verifier wv = *note_signer_verifier(w);
		uint64_t ts = 0;
		assert_int_equal(
		    checkpoint_open(itk_buf_ptr(out), itk_buf_len(out),
				    note_signer_verifier(signer), &c, &msg),
		    ITK_OK);
		assert_int_equal(note_verify_cosignature(&msg, &wv, &ts),
				 ITK_OK);
		assert_int_equal(ts, 1700000000u);
	}
	itk_buf_free(out);
	/* A cosignature of another text is refused. */
	{
		itk_buf *f = forge(signer, 99);
		assert_int_equal(
		    gw_log_cosign(g, itk_buf_ptr(f), itk_buf_len(f), &added),
		    ITK_E_RANGE);
		itk_buf_free(f);
	}
	assert_int_not_equal(
	    gw_log_cosign(g, (const uint8_t *)"junk\n", 5, &added), ITK_OK);
	itk_buf_free(cp);
	itk_buf_free(cs);
	note_signer_free(w);
	gw_log_free(g);
	vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(paths_and_sizes_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(publish_verify_and_refuse, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(cosignatures, setup, teardown),
	};

	if (sodium_init() < 0 || itk_crypto_init() != ITK_OK) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
