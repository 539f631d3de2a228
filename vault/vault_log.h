/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_VAULT_LOG_H
#define ITK_VAULT_LOG_H

/*
 * The vault's Merkle log as the worker tier uses it: its size, signing
 * checkpoints, and building the tiles a checkpoint needs so that they can
 * be pushed to the gateway.  Every vault change appends its leaf
 * (leaf.h) inside the change's own transaction (vault.c); this API only
 * reads the log and signs.  docs/audit.md.
 */

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "note.h"
#include "tiles.h"
#include "vault.h"

/* The number of leaves; ITK_E_NOT_FOUND if the vault has no log. */
itk_err vault_log_size(vault *v, uint64_t *size) ITK_WUR;

/* Appends the bytes of leaf index to out; ITK_E_NOT_FOUND past the end. */
itk_err vault_log_entry(vault *v, uint64_t index, itk_buf *out) ITK_WUR;

/*
 * Signs a checkpoint for the log's current size with s (the log key,
 * type 0x01) in a write transaction and appends the signed note to out;
 * *size (may be NULL) is its tree size.  Safe from several processes at
 * once: LMDB serialises the transactions and checkpoint_sign never signs
 * two roots for one size (a second signer of the same size gets the
 * stored note back).  Errors as checkpoint_sign's.
 */
itk_err vault_log_sign(vault *v, const note_signer *s, itk_buf *out,
		       uint64_t *size) ITK_WUR;

/* Appends the latest signed checkpoint; ITK_E_NOT_FOUND if none. */
itk_err vault_log_latest(vault *v, itk_buf *out) ITK_WUR;

/*
 * Appends the bytes of tile (level, n) of width w (1..256) to out, read
 * from the store: level TILES_LEVEL_ENTRIES is an entry bundle, else a
 * hash tile of tree level 8 * level.  ITK_E_NOT_FOUND if the log does not
 * hold it yet.
 */
itk_err vault_log_tile(vault *v, int level, uint64_t n, unsigned w,
		       itk_buf *out) ITK_WUR;

/*
 * Calls fn for every tile (hash tiles by level, then entry bundles) that
 * the tree of size new_size needs and the tree of size old_size did not
 * (a tile whose width grew counts as new), in publication order.  old_size
 * 0 lists every tile of new_size.  Stops at fn's first error.  Pure.
 */
itk_err vault_log_tiles_between(uint64_t old_size, uint64_t new_size,
				itk_err (*fn)(void *arg, int level, uint64_t n,
					      unsigned w),
				void *arg) ITK_WUR;

/* tiles_export in a read transaction (an auditor's or test's mirror). */
itk_err vault_log_export(vault *v, const char *dir,
			 tiles_export_stats *st) ITK_WUR;

#endif
