/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP tlog-tiles: paths, the exported layout for the spec's examples,
 * idempotent incremental export, reading a tiles directory back as a hash
 * source, and tampered, truncated and missing tiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>

#include "buf.h"
#include "checkpoint.h"
#include "file.h"
#include "note.h"
#include "tiles.h"
#include "tlog_test_env.h"

#define H TLOG_HASH_LEN

typedef struct {
	test_env e;
	note_signer *s;
	char out[128]; /* the export directory */
} tl_state;

static int
setup(void **state)
{
	static tl_state c;
	uint8_t pk[32], sk[NOTE_SK_LEN];

	if (test_env_open(&c.e, "tiles") != 0) {
		return -1;
	}
	if (crypto_sign_keypair(pk, sk) != 0 ||
	    note_signer_new("log.example/tiles", NOTE_TYPE_ED25519, sk,
			    &c.s) != ITK_OK) {
		return -1;
	}
	sodium_memzero(sk, sizeof(sk));
	snprintf(c.out, sizeof(c.out), "%s/pub", c.e.dir);
	*state = &c;
	return 0;
}

static int
teardown(void **state)
{
	tl_state *c = *state;

	note_signer_free(c->s);
	c->s = NULL;
	test_env_close(&c->e);
	return 0;
}

/* Grows the log to n, signs, and exports; returns the export stats. */
static tiles_export_stats
grow_sign_export(tl_state *c, uint64_t from, uint64_t n)
{
	MDB_txn *txn = NULL;
	itk_buf *b = itk_buf_new(CHECKPOINT_MAX);
	tiles_export_stats st;

	assert_int_equal(test_env_append(&c->e, from, n), 0);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, 0, &txn), 0);
	assert_int_equal(checkpoint_sign(c->e.t, txn, c->s, b), ITK_OK);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tiles_export(c->e.t, txn, c->out, &st), ITK_OK);
	mdb_txn_abort(txn);
	itk_buf_free(b);
	assert_int_equal(st.size, n);
	return st;
}

/* Size of out/rel, or -1 if absent. */
static long long
fsize(const tl_state *c, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->out, rel);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static ino_t
finode(const tl_state *c, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->out, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void
paths(void **state)
{
	static const struct {
		int level;
		uint64_t n;
		unsigned w;
		const char *want;
	} v[] = {
	    {0, 0, 256, "tile/0/000"},
	    {0, 1234067, 256, "tile/0/x001/x234/067"},
	    {1, 5, 17, "tile/1/005.p/17"},
	    {3, 1000, 256, "tile/3/x001/000"},
	    {63, 999, 1, "tile/63/999.p/1"},
	    {TILES_LEVEL_ENTRIES, 1000, 256, "tile/entries/x001/000"},
	    {TILES_LEVEL_ENTRIES, 0, 112, "tile/entries/000.p/112"},
	    {0, UINT64_MAX, 255,
	     "tile/0/x018/x446/x744/x073/x709/x551/615.p/255"},
	};
	char out[TILES_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(
		    tiles_path(out, sizeof(out), v[i].level, v[i].n, v[i].w),
		    ITK_OK);
		assert_string_equal(out, v[i].want);
	}
	assert_int_equal(tiles_path(out, sizeof(out), 64, 0, 256),
			 ITK_E_RANGE);
	assert_int_equal(tiles_path(out, sizeof(out), -2, 0, 256),
			 ITK_E_RANGE);
	assert_int_equal(tiles_path(out, sizeof(out), 0, 0, 0), ITK_E_RANGE);
	assert_int_equal(tiles_path(out, sizeof(out), 0, 0, 257), ITK_E_RANGE);
	assert_int_equal(tiles_path(out, 12, 0, 1234067, 256), ITK_E_TOO_BIG);
}

static void
layout_for_spec_examples(void **state)
{
	tl_state *c = *state;
	tiles_export_stats st;

	/* "a tree of size 256 will be represented by a full level 0 tile
	 * and a partial level 1 tile of width 1" (tlog-tiles). */
	st = grow_sign_export(c, 0, 256);
	assert_int_equal(fsize(c, "tile/0/000"), 8192);
	assert_int_equal(fsize(c, "tile/1/000.p/1"), 32);
	assert_int_equal(fsize(c, "tile/0/000.p/255"), -1);
	assert_true(fsize(c, "tile/entries/000") > 256 * 2);
	assert_true(fsize(c, "checkpoint") > 0);
	assert_int_equal(st.tiles_written, 2);
	assert_int_equal(st.bundles_written, 1);
	/* 600: two full level 0 tiles, a partial of 88, level 1 of 2. */
	st = grow_sign_export(c, 256, 600);
	assert_int_equal(fsize(c, "tile/0/001"), 8192);
	assert_int_equal(fsize(c, "tile/0/002.p/88"), 88 * 32);
	assert_int_equal(fsize(c, "tile/1/000.p/2"), 64);
	assert_int_equal(fsize(c, "tile/entries/002.p/88") > 0, 1);
	/* Only the new ones were written; the full tile 0 was skipped. */
	assert_int_equal(st.tiles_written, 3);
	assert_int_equal(st.tiles_skipped, 1);
	assert_int_equal(st.bundles_written, 2);
	assert_int_equal(st.bundles_skipped, 1);
}

static void
export_is_idempotent(void **state)
{
	tl_state *c = *state;
	tiles_export_stats st;
	MDB_txn *txn = NULL;
	ino_t full, part;

	(void)grow_sign_export(c, 0, 300);
	full = finode(c, "tile/0/000");
	part = finode(c, "tile/0/001.p/44");
	/* Exporting again writes nothing but the checkpoint. */
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tiles_export(c->e.t, txn, c->out, &st), ITK_OK);
	mdb_txn_abort(txn);
	assert_int_equal(st.tiles_written, 0);
	assert_int_equal(st.bundles_written, 0);
	assert_int_equal(st.tiles_skipped, 3);
	/* Growing never rewrites a full tile (same inode: no rename). */
	(void)grow_sign_export(c, 300, 520);
	assert_true(finode(c, "tile/0/000") == full);
	assert_true(finode(c, "tile/0/001.p/44") == part);
	assert_int_equal(fsize(c, "tile/0/001"), 8192);
}

static itk_err
count_entry(void *arg, uint64_t index, const uint8_t *e, size_t len)
{
	(void)index;
	(void)e;
	(void)len;
	(*(unsigned *)arg)++;
	return ITK_OK;
}

static void
partial_tile_falls_back_to_full(void **state)
{
	tl_state *c = *state;
	tiles_reader *tr = NULL;
	MDB_txn *txn = NULL;
	uint8_t a[H], b[H];
	char path[512];
	unsigned count = 0;

	(void)grow_sign_export(c, 0, 300);
	(void)grow_sign_export(c, 300, 600);
	/* tlog-tiles lets a log delete a partial tile once the full one is
	 * out; a reader at the old size uses the full tile's prefix. */
	snprintf(path, sizeof(path), "%s/tile/0/001.p/44", c->out);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/tile/entries/001.p/44", c->out);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(tiles_reader_new(c->out, 300, &tr), ITK_OK);
	assert_int_equal(tlog_tree_hash_from(tiles_hash_fn, tr, 300, a),
			 ITK_OK);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_root(c->e.t, txn, 300, b), ITK_OK);
	mdb_txn_abort(txn);
	assert_memory_equal(a, b, H);
	assert_int_equal(tiles_read_entries(tr, 1, count_entry, &count),
			 ITK_OK);
	assert_int_equal(count, 44);
	tiles_reader_free(tr);
}

/* Collects entries read back from bundles. */
typedef struct {
	uint64_t next;
	unsigned mismatches;
} entry_check;

static itk_err
check_entry(void *arg, uint64_t index, const uint8_t *e, size_t len)
{
	entry_check *ec = arg;
	uint8_t buf[64];
	size_t want = test_entry(index, buf, sizeof(buf));

	if (index != ec->next || len != want || memcmp(e, buf, len) != 0) {
		ec->mismatches++;
	}
	ec->next++;
	return ITK_OK;
}

static void
reader_matches_store(void **state)
{
	tl_state *c = *state;
	const uint64_t n = 1093; /* partial tiles at levels 0 and 1 */
	tiles_reader *tr = NULL;
	MDB_txn *txn = NULL;
	uint8_t a[H], b[H];
	tlog_proof p, q;
	entry_check ec = {0};

	(void)grow_sign_export(c, 0, n);
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_tree_hash_from(tiles_hash_fn, tr, n, a), ITK_OK);
	assert_int_equal(tlog_root(c->e.t, txn, n, b), ITK_OK);
	assert_memory_equal(a, b, H);
	for (uint64_t i = 0; i < n; i += 53) {
		assert_int_equal(
		    tlog_prove_inclusion_from(tiles_hash_fn, tr, i, n, &p),
		    ITK_OK);
		assert_int_equal(tlog_prove_inclusion(c->e.t, txn, i, n, &q),
				 ITK_OK);
		assert_int_equal(p.n, q.n);
		assert_memory_equal(p.h, q.h, p.n * H);
	}
	for (uint64_t i = 0; i * TILE_WIDTH < n; i++) {
		assert_int_equal(tiles_read_entries(tr, i, check_entry, &ec),
				 ITK_OK);
	}
	assert_int_equal(ec.next, n);
	assert_int_equal(ec.mismatches, 0);
	mdb_txn_abort(txn);
	tiles_reader_free(tr);
}

/* Rewrites out/rel with data (len bytes). */
static void
put_file(tl_state *c, const char *rel, const uint8_t *data, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", c->out, rel);
	assert_int_equal(itk_file_write_atomic(path, data, len, 0644, 0),
			 ITK_OK);
}

static itk_buf *
get_file(tl_state *c, const char *rel)
{
	char path[512];
	itk_buf *b = NULL;

	snprintf(path, sizeof(path), "%s/%s", c->out, rel);
	assert_int_equal(itk_file_read(path, TILES_BUNDLE_MAX, &b), ITK_OK);
	return b;
}

static void
tampered_tiles_detected(void **state)
{
	tl_state *c = *state;
	const uint64_t n = 600;
	tiles_reader *tr = NULL;
	MDB_txn *txn = NULL;
	uint8_t root[H], got[H], leaf[H], buf[64];
	tlog_proof p;
	itk_buf *orig;
	char rel[512];

	(void)grow_sign_export(c, 0, n);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tlog_root(c->e.t, txn, n, root), ITK_OK);
	mdb_txn_abort(txn);
	orig = get_file(c, "tile/0/001");

	/* One bit flipped in a full level 0 tile: the root (built from the
	 * level 1 tile) is untouched, but the inclusion proof of the leaf
	 * next to the flipped one no longer verifies. */
	itk_buf *bad = itk_buf_new(TILE_MAX_BYTES + 1);
	assert_int_equal(
	    itk_buf_put(bad, itk_buf_ptr(orig), itk_buf_len(orig)), ITK_OK);
	itk_buf_mutable_ptr(bad)[5 * H + 3] ^= 0x10; /* leaf 261 */
	put_file(c, "tile/0/001", itk_buf_ptr(bad), itk_buf_len(bad));
	tlog_leaf_hash(leaf, buf, test_entry(260, buf, sizeof(buf)));
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(
	    tlog_prove_inclusion_from(tiles_hash_fn, tr, 260, n, &p), ITK_OK);
	assert_int_equal(
	    tlog_verify_inclusion(leaf, 260, n, p.h[0], p.n, root),
	    ITK_E_VERIFY);
	tiles_reader_free(tr);
	tr = NULL;
	/* One bit flipped in the level 1 tile: the root differs. */
	itk_buf *l1 = get_file(c, "tile/1/000.p/2");
	itk_buf_mutable_ptr(l1)[40] ^= 0x01;
	put_file(c, "tile/1/000.p/2", itk_buf_ptr(l1), itk_buf_len(l1));
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(tlog_tree_hash_from(tiles_hash_fn, tr, n, got),
			 ITK_OK);
	assert_memory_not_equal(got, root, H);
	tiles_reader_free(tr);
	tr = NULL;
	itk_buf_mutable_ptr(l1)[40] ^= 0x01;
	put_file(c, "tile/1/000.p/2", itk_buf_ptr(l1), itk_buf_len(l1));
	itk_buf_free(l1);

	/* Truncated tile: a format error, not a wrong answer. */
	put_file(c, "tile/0/001", itk_buf_ptr(orig), itk_buf_len(orig) - 1);
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(
	    tlog_prove_inclusion_from(tiles_hash_fn, tr, 260, n, &p),
	    ITK_E_FORMAT);
	tiles_reader_free(tr);
	tr = NULL;
	/* Over-long tile. */
	assert_int_equal(itk_buf_put_u8(bad, 0), ITK_OK);
	put_file(c, "tile/0/001", itk_buf_ptr(bad), itk_buf_len(bad));
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(
	    tlog_prove_inclusion_from(tiles_hash_fn, tr, 260, n, &p),
	    ITK_E_FORMAT);
	tiles_reader_free(tr);
	tr = NULL;
	/* Missing tile. */
	snprintf(rel, sizeof(rel), "%s/tile/0/001", c->out);
	assert_int_equal(unlink(rel), 0);
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(
	    tlog_prove_inclusion_from(tiles_hash_fn, tr, 260, n, &p),
	    ITK_E_NOT_FOUND);
	tiles_reader_free(tr);
	tr = NULL;
	/* Restored, everything agrees again. */
	put_file(c, "tile/0/001", itk_buf_ptr(orig), itk_buf_len(orig));
	assert_int_equal(tiles_reader_new(c->out, n, &tr), ITK_OK);
	assert_int_equal(tlog_tree_hash_from(tiles_hash_fn, tr, n, got),
			 ITK_OK);
	assert_memory_equal(got, root, H);
	assert_int_equal(
	    tlog_prove_inclusion_from(tiles_hash_fn, tr, 260, n, &p), ITK_OK);
	assert_int_equal(
	    tlog_verify_inclusion(leaf, 260, n, p.h[0], p.n, root), ITK_OK);
	/* A subtree past the size is out of range. */
	assert_int_equal(tiles_hash_fn(tr, 0, n, got), ITK_E_RANGE);
	assert_int_equal(tiles_hash_fn(tr, 10, 0, got), ITK_E_RANGE);
	tiles_reader_free(tr);
	itk_buf_free(bad);
	itk_buf_free(orig);
}

static void
bundle_parse_strict(void **state)
{
	/* Two entries: "ab" and "". */
	static const uint8_t ok[] = {0, 2, 'a', 'b', 0, 0};
	static const uint8_t short_len[] = {0, 2, 'a', 'b', 0};
	static const uint8_t short_body[] = {0, 3, 'a', 'b', 0, 0};
	static const uint8_t trailing[] = {0, 2, 'a', 'b', 0, 0, 7};
	unsigned count = 0;

	(void)state;
	assert_int_equal(
	    tiles_bundle_parse(ok, sizeof(ok), 2, 0, count_entry, &count),
	    ITK_OK);
	assert_int_equal(count, 2);
	assert_int_equal(
	    tiles_bundle_parse(ok, sizeof(ok), 3, 0, count_entry, &count),
	    ITK_E_FORMAT);
	assert_int_equal(
	    tiles_bundle_parse(ok, sizeof(ok), 1, 0, count_entry, &count),
	    ITK_E_FORMAT);
	assert_int_equal(
	    tiles_bundle_parse(short_len, sizeof(short_len), 2, 0, NULL, NULL),
	    ITK_E_FORMAT);
	assert_int_equal(tiles_bundle_parse(short_body, sizeof(short_body), 2,
					    0, NULL, NULL),
			 ITK_E_FORMAT);
	assert_int_equal(
	    tiles_bundle_parse(trailing, sizeof(trailing), 2, 0, NULL, NULL),
	    ITK_E_FORMAT);
	assert_int_equal(tiles_bundle_parse(ok, sizeof(ok), 0, 0, NULL, NULL),
			 ITK_E_RANGE);
	assert_int_equal(
	    tiles_bundle_parse(ok, sizeof(ok), 257, 0, NULL, NULL),
	    ITK_E_RANGE);
}

static void
export_needs_a_checkpoint(void **state)
{
	tl_state *c = *state;
	MDB_txn *txn = NULL;
	tiles_export_stats st;

	assert_int_equal(test_env_append(&c->e, 0, 3), 0);
	assert_int_equal(mdb_txn_begin(c->e.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(tiles_export(c->e.t, txn, c->out, &st),
			 ITK_E_NOT_FOUND);
	mdb_txn_abort(txn);
	assert_int_equal(fsize(c, "checkpoint"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paths),
	    cmocka_unit_test_setup_teardown(layout_for_spec_examples, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(export_is_idempotent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(reader_matches_store, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(tampered_tiles_detected, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(partial_tile_falls_back_to_full,
					    setup, teardown),
	    cmocka_unit_test(bundle_parse_strict),
	    cmocka_unit_test_setup_teardown(export_needs_a_checkpoint, setup,
					    teardown),
	};
	if (itk_crypto_init() != ITK_OK) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
