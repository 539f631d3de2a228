/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP tlog-tiles: export from the store, read from a directory
 * (tiles.h).
 */
#include "tiles.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "file.h"
#include "note.h"

#define TILE_FILE_MODE 0644
#define TILE_DIR_MODE  0755
/* Tile levels a tree of at most TLOG_SIZE_MAX leaves has (62 / 8). */
#define TILE_LEVELS 8u

/* --- Paths -------------------------------------------------------------- */

itk_err
tiles_path(char *out, size_t cap, int level, uint64_t n, unsigned w)
{
	unsigned groups[8]; /* 2^64 has 20 digits: 7 groups */
	size_t ng = 0, off;
	int k;

	if (level < TILES_LEVEL_ENTRIES || level > 63 || w == 0 ||
	    w > TILE_WIDTH) {
		return ITK_E_RANGE;
	}
	do {
		groups[ng++] = (unsigned)(n % 1000);
		n /= 1000;
	} while (n > 0);
	if (level == TILES_LEVEL_ENTRIES) {
		k = snprintf(out, cap, "tile/entries/");
	} else {
		k = snprintf(out, cap, "tile/%d/", level);
	}
	if (k < 0 || (size_t)k >= cap) {
		return ITK_E_TOO_BIG;
	}
	off = (size_t)k;
	/* Most significant group first; all but the last get an 'x'. */
	for (size_t i = ng; i > 0; i--) {
		k = snprintf(out + off, cap - off, i > 1 ? "x%03u/" : "%03u",
			     groups[i - 1]);
		if (k < 0 || (size_t)k >= cap - off) {
			return ITK_E_TOO_BIG;
		}
		off += (size_t)k;
	}
	if (w < TILE_WIDTH) {
		k = snprintf(out + off, cap - off, ".p/%u", w);
		if (k < 0 || (size_t)k >= cap - off) {
			return ITK_E_TOO_BIG;
		}
	}
	return ITK_OK;
}

/* dir + "/" + rel into out. */
static itk_err
join(char out[PATH_MAX], const char *dir, const char *rel)
{
	int k = snprintf(out, PATH_MAX, "%s/%s", dir, rel);

	return k < 0 || k >= PATH_MAX ? ITK_E_TOO_BIG : ITK_OK;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Writes data to dir/rel atomically, creating the parent directories. */
static itk_err
write_file(const char *dir, const char *rel, const uint8_t *data, size_t len)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *slash;
	itk_err r;

	if ((r = join(path, dir, rel)) != ITK_OK) {
		return r;
	}
	memcpy(parent, path, sizeof(parent));
	if ((slash = strrchr(parent, '/')) != NULL) {
		*slash = '\0';
		if ((r = itk_mkdir_p(parent, TILE_DIR_MODE)) != ITK_OK) {
			return r;
		}
	}
	return itk_file_write_atomic(path, data, len, TILE_FILE_MODE, 0);
}

/* --- Export ------------------------------------------------------------- */

typedef struct {
	tlog *t;
	MDB_txn *txn;
	const char *dir;
	tiles_export_stats st;
	itk_buf *data;
} export_ctx;

/* Builds hash tile (level, n) of width w from the store. */
static itk_err
build_tile(export_ctx *x, unsigned level, uint64_t n, unsigned w)
{
	uint8_t h[TLOG_HASH_LEN];
	itk_err r;

	itk_buf_reset(x->data);
	for (unsigned j = 0; j < w; j++) {
		if ((r = tlog_stored_hash(x->t, x->txn, level * TILE_HEIGHT,
					  n * TILE_WIDTH + j, h)) != ITK_OK ||
		    (r = itk_buf_put(x->data, h, sizeof(h))) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* Builds entry bundle n of width w from the store. */
static itk_err
build_bundle(export_ctx *x, uint64_t n, unsigned w)
{
	const uint8_t *e;
	size_t len;
	itk_err r;

	itk_buf_reset(x->data);
	for (unsigned j = 0; j < w; j++) {
		if ((r = tlog_entry(x->t, x->txn, n * TILE_WIDTH + j, &e,
				    &len)) != ITK_OK) {
			return r == ITK_E_NOT_FOUND ? ITK_E_FORMAT : r;
		}
		if ((r = itk_buf_put_u16(x->data, (uint16_t)len)) != ITK_OK ||
		    (r = itk_buf_put(x->data, e, len)) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* Exports every tile of one level (TILES_LEVEL_ENTRIES: bundles) for a
 * level holding count hashes (or entries). */
static itk_err
export_level(export_ctx *x, int level, uint64_t count)
{
	char rel[TILES_PATH_MAX], path[PATH_MAX];
	uint64_t ntiles = (count + TILE_WIDTH - 1) / TILE_WIDTH;
	bool entries = level == TILES_LEVEL_ENTRIES;
	itk_err r;

	for (uint64_t n = 0; n < ntiles; n++) {
		uint64_t left = count - n * TILE_WIDTH;
		unsigned w = left >= TILE_WIDTH ? TILE_WIDTH : (unsigned)left;
		if ((r = tiles_path(rel, sizeof(rel), level, n, w)) !=
			ITK_OK ||
		    (r = join(path, x->dir, rel)) != ITK_OK) {
			return r;
		}
		/* Tiles are immutable: a tile of this width once written
		 * holds these bytes forever.  Never rewrite one. */
		if (file_exists(path)) {
			if (entries) {
				x->st.bundles_skipped++;
			} else {
				x->st.tiles_skipped++;
			}
			continue;
		}
		r = entries ? build_bundle(x, n, w)
			    : build_tile(x, (unsigned)level, n, w);
		if (r != ITK_OK ||
		    (r = write_file(x->dir, rel, itk_buf_ptr(x->data),
				    itk_buf_len(x->data))) != ITK_OK) {
			return r;
		}
		if (entries) {
			x->st.bundles_written++;
		} else {
			x->st.tiles_written++;
		}
	}
	return ITK_OK;
}

itk_err
tiles_export(tlog *t, MDB_txn *txn, const char *dir, tiles_export_stats *st)
{
	export_ctx x = {.t = t, .txn = txn, .dir = dir};
	const uint8_t *p;
	size_t len;
	uint64_t have;
	note_msg msg;
	checkpoint cp;
	itk_buf *note = NULL;
	itk_err r;

	if (st != NULL) {
		memset(st, 0, sizeof(*st));
	}
	if ((r = tlog_checkpoint_load(t, txn, &p, &len)) != ITK_OK) {
		return r;
	}
	/* Copy it out: LMDB's pointer is only good until the txn ends. */
	if ((note = itk_buf_new(len)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_buf_put(note, p, len)) != ITK_OK) {
		goto out;
	}
	if (note_parse(itk_buf_ptr(note), itk_buf_len(note), &msg) != ITK_OK ||
	    checkpoint_parse(msg.text, msg.text_len, &cp) != ITK_OK) {
		r = ITK_E_FORMAT;
		goto out;
	}
	if ((r = tlog_size(t, txn, &have)) != ITK_OK) {
		goto out;
	}
	if (cp.size > have) {
		r = ITK_E_FORMAT; /* signed more than the store holds */
		goto out;
	}
	x.st.size = cp.size;
	if ((x.data = itk_buf_new(TILES_BUNDLE_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_mkdir_p(dir, TILE_DIR_MODE)) != ITK_OK) {
		goto out;
	}
	/* Level l holds the hashes of tree level 8l: size >> 8l of them. */
	for (unsigned l = 0; l < TILE_LEVELS; l++) {
		uint64_t count = cp.size >> (l * TILE_HEIGHT);
		if (count == 0) {
			break;
		}
		if ((r = export_level(&x, (int)l, count)) != ITK_OK) {
			goto out;
		}
	}
	if ((r = export_level(&x, TILES_LEVEL_ENTRIES, cp.size)) != ITK_OK) {
		goto out;
	}
	/* Last: publishing the checkpoint is what makes the tiles it needs
	 * reachable, and they are all in place by now. */
	r = write_file(dir, "checkpoint", itk_buf_ptr(note),
		       itk_buf_len(note));
out:
	if (st != NULL) {
		*st = x.st;
	}
	itk_buf_free(x.data);
	itk_buf_free(note);
	return r;
}

/* --- Reading ------------------------------------------------------------ */

typedef struct {
	bool valid;
	uint64_t n;
	unsigned w;
	uint8_t data[TILE_MAX_BYTES];
} tile_slot;

struct tiles_reader {
	char dir[PATH_MAX];
	uint64_t size;
	tile_slot cache[TILE_LEVELS]; /* the last tile read per level */
};

itk_err
tiles_reader_new(const char *dir, uint64_t size, tiles_reader **out)
{
	tiles_reader *r;
	size_t len = strlen(dir);

	*out = NULL;
	if (len == 0 || len >= PATH_MAX - TILES_PATH_MAX - 2) {
		return ITK_E_RANGE;
	}
	if (size > TLOG_SIZE_MAX) {
		return ITK_E_RANGE;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return ITK_E_NOMEM;
	}
	memcpy(r->dir, dir, len + 1);
	r->size = size;
	*out = r;
	return ITK_OK;
}

void
tiles_reader_free(tiles_reader *r)
{
	free(r);
}

/* The width tile n of a level holding count hashes has at this size. */
static unsigned
tile_width(uint64_t count, uint64_t n)
{
	uint64_t left = count - n * TILE_WIDTH;

	return left >= TILE_WIDTH ? TILE_WIDTH : (unsigned)left;
}

/* Reads dir/rel into dst, which must come out exactly want bytes long. */
static itk_err
read_exact(const tiles_reader *tr, const char *rel, uint8_t *dst, size_t want)
{
	char path[PATH_MAX];
	itk_buf *b = NULL;
	itk_err r;

	if ((r = join(path, tr->dir, rel)) != ITK_OK) {
		return r;
	}
	if ((r = itk_file_read(path, want, &b)) != ITK_OK) {
		return r == ITK_E_TOO_BIG ? ITK_E_FORMAT : r;
	}
	if (itk_buf_len(b) != want) {
		r = ITK_E_FORMAT;
	} else {
		memcpy(dst, itk_buf_ptr(b), want);
		r = ITK_OK;
	}
	itk_buf_free(b);
	return r;
}

/* Loads hash tile (level, n) at the width this size needs. */
static itk_err
load_tile(tiles_reader *tr, unsigned level, uint64_t n, tile_slot **out)
{
	tile_slot *s = &tr->cache[level];
	uint64_t count = tr->size >> (level * TILE_HEIGHT);
	char rel[TILES_PATH_MAX];
	unsigned w;
	itk_err r;

	if (n * TILE_WIDTH >= count) {
		return ITK_E_RANGE;
	}
	w = tile_width(count, n);
	if (s->valid && s->n == n && s->w == w) {
		*out = s;
		return ITK_OK;
	}
	s->valid = false;
	if ((r = tiles_path(rel, sizeof(rel), (int)level, n, w)) != ITK_OK) {
		return r;
	}
	r = read_exact(tr, rel, s->data, (size_t)w * TLOG_HASH_LEN);
	if (r == ITK_E_NOT_FOUND && w < TILE_WIDTH) {
		/* The partial tile may be gone once the full one exists;
		 * its first w hashes are the same. */
		if ((r = tiles_path(rel, sizeof(rel), (int)level, n,
				    TILE_WIDTH)) != ITK_OK) {
			return r;
		}
		r = read_exact(tr, rel, s->data, TILE_MAX_BYTES);
	}
	if (r != ITK_OK) {
		return r;
	}
	s->valid = true;
	s->n = n;
	s->w = w;
	*out = s;
	return ITK_OK;
}

itk_err
tiles_hash_fn(void *reader, unsigned level, uint64_t index,
	      uint8_t out[TLOG_HASH_LEN])
{
	tiles_reader *tr = reader;
	uint8_t tmp[TILE_WIDTH / 2][TLOG_HASH_LEN];
	unsigned tl = level / TILE_HEIGHT, up = level % TILE_HEIGHT;
	uint64_t base, n;
	size_t cnt = (size_t)1 << up, off;
	tile_slot *s;
	itk_err r;

	if (level > 62 || index >= (TLOG_SIZE_MAX >> level) ||
	    ((index + 1) << level) > tr->size) {
		return ITK_E_RANGE;
	}
	/* The subtree's hashes at tree level 8 * tl, all in one tile. */
	base = index << up;
	n = base / TILE_WIDTH;
	off = (size_t)(base % TILE_WIDTH);
	if ((r = load_tile(tr, tl, n, &s)) != ITK_OK) {
		return r;
	}
	if (off + cnt > s->w) {
		return ITK_E_INTERNAL; /* ruled out by the size check */
	}
	if (cnt == 1) {
		memcpy(out, s->data + off * TLOG_HASH_LEN, TLOG_HASH_LEN);
		return ITK_OK;
	}
	/* Hash up `up` levels inside the tile, pairwise. */
	for (size_t i = 0; i < cnt / 2; i++) {
		tlog_node_hash(tmp[i], s->data + (off + 2 * i) * TLOG_HASH_LEN,
			       s->data + (off + 2 * i + 1) * TLOG_HASH_LEN);
	}
	for (size_t m = cnt / 2; m > 1; m /= 2) {
		for (size_t i = 0; i < m / 2; i++) {
			tlog_node_hash(tmp[i], tmp[2 * i], tmp[2 * i + 1]);
		}
	}
	memcpy(out, tmp[0], TLOG_HASH_LEN);
	return ITK_OK;
}

itk_err
tiles_bundle_parse(const uint8_t *p, size_t len, unsigned w, uint64_t first,
		   itk_err (*fn)(void *arg, uint64_t index,
				 const uint8_t *entry, size_t len),
		   void *arg)
{
	itk_reader rd;
	const uint8_t *e;
	size_t elen;
	itk_err r;

	if (w == 0 || w > TILE_WIDTH) {
		return ITK_E_RANGE;
	}
	if (len > TILES_BUNDLE_MAX) {
		return ITK_E_TOO_BIG;
	}
	itk_reader_init(&rd, p, len);
	for (unsigned i = 0; i < w; i++) {
		if ((r = itk_get_string16(&rd, TLOG_ENTRY_MAX, &e, &elen)) !=
		    ITK_OK) {
			return r == ITK_E_SHORT ? ITK_E_FORMAT : r;
		}
		if (fn != NULL &&
		    (r = fn(arg, first + i, e, elen)) != ITK_OK) {
			return r;
		}
	}
	return itk_reader_end(&rd) == ITK_OK ? ITK_OK : ITK_E_FORMAT;
}

/* Passes on only the entries below a limit: a full bundle read in place
 * of a missing partial one holds entries of a larger tree too. */
typedef struct {
	uint64_t limit;
	itk_err (*fn)(void *arg, uint64_t index, const uint8_t *entry,
		      size_t len);
	void *arg;
} entry_filter;

static itk_err
filter_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	entry_filter *f = arg;

	if (index >= f->limit || f->fn == NULL) {
		return ITK_OK;
	}
	return f->fn(f->arg, index, entry, len);
}

itk_err
tiles_read_entries(tiles_reader *tr, uint64_t n,
		   itk_err (*fn)(void *arg, uint64_t index,
				 const uint8_t *entry, size_t len),
		   void *arg)
{
	char rel[TILES_PATH_MAX], path[PATH_MAX];
	entry_filter f = {.fn = fn, .arg = arg};
	itk_buf *b = NULL;
	unsigned w, file_w;
	itk_err r;

	if (n * TILE_WIDTH >= tr->size) {
		return ITK_E_RANGE;
	}
	w = file_w = tile_width(tr->size, n);
	f.limit = n * TILE_WIDTH + w;
	if ((r = tiles_path(rel, sizeof(rel), TILES_LEVEL_ENTRIES, n, w)) !=
		ITK_OK ||
	    (r = join(path, tr->dir, rel)) != ITK_OK) {
		return r;
	}
	r = itk_file_read(path, TILES_BUNDLE_MAX, &b);
	if (r == ITK_E_NOT_FOUND && w < TILE_WIDTH) {
		file_w = TILE_WIDTH;
		if ((r = tiles_path(rel, sizeof(rel), TILES_LEVEL_ENTRIES, n,
				    TILE_WIDTH)) != ITK_OK ||
		    (r = join(path, tr->dir, rel)) != ITK_OK) {
			return r;
		}
		r = itk_file_read(path, TILES_BUNDLE_MAX, &b);
	}
	if (r != ITK_OK) {
		return r == ITK_E_TOO_BIG ? ITK_E_FORMAT : r;
	}
	r = tiles_bundle_parse(itk_buf_ptr(b), itk_buf_len(b), file_w,
			       n * TILE_WIDTH, filter_entry, &f);
	itk_buf_free(b);
	return r;
}
