/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_TILES_H
#define ITK_TILES_H

/*
 * The log published as C2SP tlog-tiles (height 8, SHA-256):
 *
 *   checkpoint                      the latest signed checkpoint
 *   tile/<L>/<N>[.p/<W>]            W (256 if full) hashes of tree level
 *                                   8L, 32 bytes each, concatenated
 *   tile/entries/<N>[.p/<W>]        W entries, each u16 BE length || bytes
 *
 * <N> in 3-digit groups, all but the last prefixed with 'x'
 * (1234067 -> x001/x234/067).  A directory written here can be served
 * as-is by any static HTTP server; docs/audit.md.
 *
 * tiles_export writes from the store; tiles_reader reads a directory (an
 * auditor's mirror) as a tlog_hash_fn, so the proofs and roots of tlog.h
 * can be computed from tiles.  Bytes read from tiles are untrusted until
 * the root computed from them equals a verified checkpoint's root.
 */

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "tlog.h"

#define TILE_HEIGHT         8u
#define TILE_WIDTH          256u
#define TILE_MAX_BYTES      (TILE_WIDTH * TLOG_HASH_LEN)
#define TILES_LEVEL_ENTRIES (-1) /* the "entries" pseudo-level */
#define TILES_PATH_MAX      96u
/* Largest entry bundle: 256 entries of TLOG_ENTRY_MAX bytes plus sizes. */
#define TILES_BUNDLE_MAX (TILE_WIDTH * (2u + TLOG_ENTRY_MAX))

/*
 * Writes the relative path of tile (level, n) of width w (1..256, 256 =
 * full, no ".p/" suffix) into out (cap bytes, NUL-terminated); level
 * TILES_LEVEL_ENTRIES names an entry bundle.  ITK_E_RANGE for a level
 * outside -1..63 or w outside 1..256, ITK_E_TOO_BIG if cap is too small.
 */
itk_err tiles_path(char *out, size_t cap, int level, uint64_t n,
		   unsigned w) ITK_WUR;

typedef struct {
	uint64_t size;          /* tree size exported (the checkpoint's) */
	uint64_t tiles_written; /* hash tiles written */
	uint64_t tiles_skipped; /* already present, left alone */
	uint64_t bundles_written;
	uint64_t bundles_skipped;
} tiles_export_stats;

/*
 * Exports the log as of its latest stored checkpoint into dir (created if
 * needed): every hash tile and entry bundle that checkpoint needs, then
 * the checkpoint file itself, last, so a reader never sees a checkpoint
 * whose tiles are missing.  Every file is written atomically (temp file,
 * fsync, rename); a tile or bundle already present is not rewritten (they
 * are immutable), which makes the export idempotent and incremental.
 * Runs in the caller's read (or write) txn.  st may be NULL.
 * ITK_E_NOT_FOUND: nothing signed yet.
 */
itk_err tiles_export(tlog *t, MDB_txn *txn, const char *dir,
		     tiles_export_stats *st) ITK_WUR;

typedef struct tiles_reader tiles_reader;

/* A reader over the tiles in dir for a tree of size leaves (from a
 * verified checkpoint).  Freed with tiles_reader_free. */
itk_err tiles_reader_new(const char *dir, uint64_t size,
			 tiles_reader **out) ITK_WUR;
void tiles_reader_free(tiles_reader *r);

/*
 * A tlog_hash_fn (arg: a tiles_reader): the hash of the complete subtree
 * (level, index), read from the tile that holds it and hashed up inside
 * it.  Reads the partial tile the size calls for, or the full tile if the
 * partial one is gone (tlog-tiles allows deleting it).  ITK_E_NOT_FOUND:
 * a tile is missing; ITK_E_FORMAT: a tile has the wrong length;
 * ITK_E_RANGE: the subtree is not complete at this size.
 */
itk_err tiles_hash_fn(void *reader, unsigned level, uint64_t index,
		      uint8_t out[TLOG_HASH_LEN]) ITK_WUR;

/*
 * Reads entry bundle n for the reader's size and calls fn for each entry
 * (index = leaf index) in order; stops at fn's first error.  The bundle
 * must hold exactly the expected number of entries (ITK_E_FORMAT).
 */
itk_err tiles_read_entries(tiles_reader *r, uint64_t n,
			   itk_err (*fn)(void *arg, uint64_t index,
					 const uint8_t *entry, size_t len),
			   void *arg) ITK_WUR;

/*
 * Parses an entry bundle of exactly w entries (strict: no short entry, no
 * trailing bytes), calling fn(arg, first + i, ...) for each.  A clean
 * entry point for fuzzing.
 */
itk_err tiles_bundle_parse(const uint8_t *p, size_t len, unsigned w,
			   uint64_t first,
			   itk_err (*fn)(void *arg, uint64_t index,
					 const uint8_t *entry, size_t len),
			   void *arg) ITK_WUR;

#endif
