/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-audit: the auditor's tool.  Needs no secret of the organisation:
 * the log's verifier key (from the organisation-signed key bundle) and
 * either a copy of the vault or the published log (a directory or the
 * gateway's /log/ over HTTP).  docs/audit.md section 7.
 *
 * Exit codes: 0 verified, 1 verification failed (each finding printed),
 * 2 usage, 3 could not check (I/O, network, bad arguments' files).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "checkpoint.h"
#include "client.h"
#include "crypto.h"
#include "file.h"
#include "keys.h"
#include "leaf.h"
#include "note.h"
#include "tiles.h"
#include "tlog.h"
#include "vault_log.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define EXIT_ERR   3

#define WITNESS_MAGIC "intake-witness-key v1\n"
#define FILE_MAX      (1024u * 1024u)

typedef struct {
	const char *log_pub, *origin, *checkpoint, *state, *tiles;
	const char *witness_key, *name, *out, *bundle, *org_pub, *ca;
	const char *mirror, *id, *index, *from;
	bool json, progress, post;
	const char *args[2];
	size_t nargs;
} opts;

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: intake-audit COMMAND [options]\n"
	    "\n"
	    "  verify VAULT_DIR --log-pub F [--checkpoint NOTE] [--progress]\n"
	    "      every record matches its leaf, the leaves rebuild the "
	    "signed\n"
	    "      roots, every signature verifies (read-only; an mdb_copy "
	    "works)\n"
	    "  check-tiles URL|DIR --log-pub F [--state FILE]\n"
	    "      the published checkpoint verifies, the tiles rebuild its "
	    "root,\n"
	    "      every entry matches its tile; with --state, consistent "
	    "with\n"
	    "      the checkpoint seen last (then remembered)\n"
	    "  consistency OLD NEW --log-pub F [--tiles URL|DIR]\n"
	    "      NEW extends OLD (two roots for one size: a fork)\n"
	    "  cosign URL|DIR --log-pub F --witness-key F [--post] [--state "
	    "FILE]\n"
	    "      check-tiles, then a tlog-cosignature/v1 of the checkpoint;"
	    "\n"
	    "      --post sends it to the gateway (POST /log/cosignatures)\n"
	    "  prove URL|DIR --log-pub F (--id HEX | --index N | --from M)\n"
	    "      after check-tiles: an inclusion proof (incl N hashes...) or"
	    "\n      a consistency proof from size M (cons M root hashes...)\n"
	    "  keygen --name NAME --out F     a witness (cosigning) key\n"
	    "  vkey --bundle F --org-pub F    the log verifier key of a "
	    "bundle\n"
	    "\n"
	    "  --log-pub F   the log's verifier key (name+id+key, as vkey "
	    "prints)\n"
	    "  --json        one JSON object on stdout\n"
	    "  --ca F        CA certificate for https URLs\n"
	    "  --mirror DIR  keep the tiles fetched over HTTP in DIR\n"
	    "exit: 0 verified, 1 failed, 2 usage, 3 could not check\n");
}

/* --- output ----------------------------------------------------------- */

static size_t nfindings;

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
		} else if (ch < 0x20) {
			printf("\\u%04x", ch);
		} else {
			putchar(ch);
		}
	}
	putchar('"');
}

static void
report(const opts *o, const char *kind, const char *msg)
{
	if (o->json) {
		printf("%s{\"kind\":", nfindings > 0 ? "," : "");
		json_str(kind);
		printf(",\"message\":");
		json_str(msg);
		printf("}");
	} else {
		printf("FAIL %s: %s\n", kind, msg);
	}
	nfindings++;
}

static void
json_open(const opts *o, const char *cmd)
{
	if (o->json) {
		printf("{\"command\":\"%s\",\"findings\":[", cmd);
	}
}

/* --- keys ------------------------------------------------------------- */

static itk_err
load_log_key(const opts *o, note_verifier *v)
{
	itk_buf *b = NULL;
	itk_key_info info;
	size_t n;
	itk_err r;

	if (o->log_pub == NULL) {
		fprintf(stderr, "intake-audit: --log-pub is required\n");
		return ITK_E_CONFIG;
	}
	if ((r = itk_file_read(o->log_pub, FILE_MAX, &b)) != ITK_OK) {
		fprintf(stderr, "intake-audit: %s: %s\n", o->log_pub,
			itk_strerror(r));
		return r;
	}
	n = itk_buf_len(b);
	while (n > 0 && (itk_buf_ptr(b)[n - 1] == '\n' ||
			 itk_buf_ptr(b)[n - 1] == '\r')) {
		n--;
	}
	r = note_verifier_parse((const char *)itk_buf_ptr(b), n, v);
	if (r != ITK_OK && o->origin != NULL &&
	    itk_key_public_decode(itk_buf_ptr(b), itk_buf_len(b), &info) ==
		ITK_OK &&
	    info.kind == ITK_KEY_LOG) {
		r = note_verifier_init(v, o->origin, strlen(o->origin),
				       NOTE_TYPE_ED25519, info.public_key);
	}
	if (r == ITK_OK && v->type != NOTE_TYPE_ED25519) {
		r = ITK_E_FORMAT;
	}
	if (r != ITK_OK) {
		fprintf(
		    stderr,
		    "intake-audit: %s: not a log verifier key "
		    "(name+hhhhhhhh+base64; or a log .pub with --origin)\n",
		    o->log_pub);
	}
	itk_buf_free(b);
	return r;
}

/* --- tile sources: a directory, or HTTP mirrored into a temp dir ------ */

typedef struct {
	const opts *o;
	bool http;
	char base[1024]; /* URL without the trailing /log/ */
	char dir[1024];  /* the tiles directory (the mirror for HTTP) */
	bool tmp;
	itk_client *cl;
} source;

static void
rm_rf(const char *dir)
{
	char cmd[1200];

	/* Our own mkdtemp directory: a fixed pattern, no user input. */
	if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) <
	    (int)sizeof(cmd)) {
		(void)system(cmd);
	}
}

static void
source_free(source *s)
{
	if (s->tmp) {
		rm_rf(s->dir);
	}
	itk_client_free(s->cl);
}

static itk_err
source_open(const opts *o, const char *where, source *s)
{
	static const uint8_t no_org[ITK_SIGN_PK_LEN];
	size_t n;

	memset(s, 0, sizeof(*s));
	s->o = o;
	if (strncmp(where, "http://", 7) != 0 &&
	    strncmp(where, "https://", 8) != 0) {
		if (strlen(where) >= sizeof(s->dir)) {
			return ITK_E_TOO_BIG;
		}
		memcpy(s->dir, where, strlen(where) + 1);
		return ITK_OK;
	}
	s->http = true;
	n = strlen(where);
	if (n >= sizeof(s->base)) {
		return ITK_E_TOO_BIG;
	}
	memcpy(s->base, where, n + 1);
	while (n > 0 && s->base[n - 1] == '/') {
		s->base[--n] = '\0';
	}
	if (n >= 4 && strcmp(s->base + n - 4, "/log") == 0) {
		s->base[n - 4] = '\0';
	}
	if (o->mirror != NULL) {
		/* The auditor's own mirror: kept. */
		if (strlen(o->mirror) >= sizeof(s->dir) ||
		    itk_mkdir_p(o->mirror, 0700) != ITK_OK) {
			return ITK_E_IO;
		}
		memcpy(s->dir, o->mirror, strlen(o->mirror) + 1);
	} else {
		memcpy(s->dir, "/tmp/intake-audit-XXXXXX", 25);
		if (mkdtemp(s->dir) == NULL) {
			return ITK_E_IO;
		}
		s->tmp = true;
	}
	/* The organisation key is not used: tiles need no bundle. */
	return itk_client_new(s->base, no_org, o->ca, &s->cl);
}

/* GET /log/<rel>: *status and body. */
static itk_err
http_get(source *s, const char *rel, int *status, itk_buf *out)
{
	char path[256];

	if (snprintf(path, sizeof(path), "/log/%s", rel) >=
	    (int)sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	itk_buf_reset(out);
	return itk_client_http(s->cl, "GET", path, NULL, 0, status, out);
}

/* The published checkpoint into out. */
static itk_err
fetch_checkpoint(source *s, itk_buf *out)
{
	char path[1100];
	itk_buf *b = NULL;
	int status = 0;
	itk_err r;

	if (s->http) {
		r = http_get(s, "checkpoint", &status, out);
		if (r == ITK_OK && status != 200) {
			r = status == 404 ? ITK_E_NOT_FOUND : ITK_E_NET;
		}
		return r;
	}
	if (snprintf(path, sizeof(path), "%s/checkpoint", s->dir) >=
	    (int)sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	if ((r = itk_file_read(path, CHECKPOINT_MAX, &b)) != ITK_OK) {
		return r;
	}
	r = itk_buf_put(out, itk_buf_ptr(b), itk_buf_len(b));
	itk_buf_free(b);
	return r;
}

static itk_err
mirror_one(void *arg, int level, uint64_t n, unsigned w)
{
	source *s = arg;
	char rel[TILES_PATH_MAX], path[1200], *slash;
	itk_buf *b = itk_buf_new(TILES_BUNDLE_MAX);
	int status = 0;
	itk_err r;

	if (b == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = tiles_path(rel, sizeof(rel), level, n, w)) != ITK_OK ||
	    (r = http_get(s, rel, &status, b)) != ITK_OK) {
		goto out;
	}
	if (status == 404 && w < TILE_WIDTH) {
		/* The partial tile may be gone once the full one exists. */
		if ((r = tiles_path(rel, sizeof(rel), level, n, TILE_WIDTH)) !=
			ITK_OK ||
		    (r = http_get(s, rel, &status, b)) != ITK_OK) {
			goto out;
		}
	}
	if (status != 200) {
		r = status == 404 ? ITK_E_NOT_FOUND : ITK_E_NET;
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, rel) >=
	    (int)sizeof(path)) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	r = itk_mkdir_p(path, 0700);
	*slash = '/';
	if (r == ITK_OK) {
		r = itk_file_write_atomic(path, itk_buf_ptr(b), itk_buf_len(b),
					  0600, 0);
	}
out:
	itk_buf_free(b);
	return r;
}

/* The checkpoint into the mirror, after its tiles (a mirror is itself
 * a tlog-tiles directory). */
static itk_err
save_checkpoint(source *s, const itk_buf *note)
{
	char path[1100];

	if (snprintf(path, sizeof(path), "%s/checkpoint", s->dir) >=
	    (int)sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	return itk_file_write_atomic(path, itk_buf_ptr(note),
				     itk_buf_len(note), 0600, 0);
}

/* Mirrors every tile and bundle of the tree of size (HTTP only). */
static itk_err
mirror(source *s, uint64_t size)
{
	if (!s->http) {
		return ITK_OK;
	}
	return vault_log_tiles_between(0, size, mirror_one, s);
}

/* --- check-tiles ----------------------------------------------------- */

struct entry_check {
	const opts *o;
	tiles_reader *tr;
	uint64_t checked, bad;
};

static itk_err
check_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct entry_check *ec = arg;
	uint8_t lh[32], th[32];
	char msg[160];
	vault_leaf l;
	itk_err r;

	tlog_leaf_hash(lh, entry, len);
	if ((r = tiles_hash_fn(ec->tr, 0, index, th)) != ITK_OK) {
		return r;
	}
	if (sodium_memcmp(lh, th, 32) != 0) {
		snprintf(msg, sizeof(msg),
			 "entry #%llu does not match its hash in the level-0 "
			 "tile",
			 (unsigned long long)index);
		report(ec->o, "entry-mismatch", msg);
		ec->bad++;
	} else if (vault_leaf_decode(entry, len, &l) != ITK_OK) {
		snprintf(msg, sizeof(msg), "entry #%llu is not a vault leaf",
			 (unsigned long long)index);
		report(ec->o, "bad-leaf", msg);
		ec->bad++;
	}
	ec->checked++;
	return ITK_OK;
}

/*
 * Verifies a source's checkpoint and tiles; *cp and note are the
 * checkpoint.  Returns EXIT_*.
 */
static int
check_source(const opts *o, source *s, const note_verifier *key,
	     checkpoint *cp, itk_buf *note, uint64_t *entries)
{
	uint8_t root[32];
	char msg[600];
	struct entry_check ec = {.o = o};
	tiles_reader *tr = NULL;
	int rc = EXIT_ERR;
	itk_err r;

	if ((r = fetch_checkpoint(s, note)) != ITK_OK) {
		fprintf(stderr, "intake-audit: checkpoint: %s\n",
			itk_strerror(r));
		return EXIT_ERR;
	}
	if ((r = checkpoint_open(itk_buf_ptr(note), itk_buf_len(note), key, cp,
				 NULL)) != ITK_OK) {
		snprintf(msg, sizeof(msg),
			 "the checkpoint does not verify against %s: %s",
			 key->name, itk_strerror(r));
		report(o, "bad-signature", msg);
		return EXIT_FAIL;
	}
	if ((r = mirror(s, cp->size)) != ITK_OK ||
	    (s->http && o->mirror != NULL &&
	     (r = save_checkpoint(s, note)) != ITK_OK)) {
		snprintf(msg, sizeof(msg), "a tile the checkpoint needs: %s",
			 itk_strerror(r));
		report(o, "missing-tile", msg);
		return EXIT_FAIL;
	}
	if ((r = tiles_reader_new(s->dir, cp->size, &tr)) != ITK_OK) {
		return EXIT_ERR;
	}
	r = tlog_tree_hash_from(tiles_hash_fn, tr, cp->size, root);
	if (r != ITK_OK) {
		snprintf(msg, sizeof(msg), "the tiles do not give a root: %s",
			 itk_strerror(r));
		report(o, "bad-tiles", msg);
		rc = EXIT_FAIL;
		goto out;
	}
	if (sodium_memcmp(root, cp->root, 32) != 0) {
		snprintf(msg, sizeof(msg),
			 "the tiles rebuild another root than the checkpoint "
			 "signs (size %llu)",
			 (unsigned long long)cp->size);
		report(o, "root-mismatch", msg);
		rc = EXIT_FAIL;
		goto out;
	}
	ec.tr = tr;
	for (uint64_t n = 0; n * TILE_WIDTH < cp->size; n++) {
		if ((r = tiles_read_entries(tr, n, check_entry, &ec)) !=
		    ITK_OK) {
			snprintf(msg, sizeof(msg), "entry bundle %llu: %s",
				 (unsigned long long)n, itk_strerror(r));
			report(o, "bad-bundle", msg);
			rc = EXIT_FAIL;
			goto out;
		}
	}
	*entries = ec.checked;
	rc = ec.bad > 0 ? EXIT_FAIL : EXIT_OK;
out:
	tiles_reader_free(tr);
	return rc;
}

/* Consistency of old with new over the tiles in dir (new's size).
 * Returns EXIT_*; reports what fails. */
static int
check_consistent(const opts *o, const char *dir, const checkpoint *old,
		 const checkpoint *new_cp)
{
	char msg[600];
	tiles_reader *tr = NULL;
	tlog_proof pf;
	itk_err r;

	if (old->size > new_cp->size) {
		snprintf(msg, sizeof(msg),
			 "the log shrank: %llu leaves signed before, %llu now",
			 (unsigned long long)old->size,
			 (unsigned long long)new_cp->size);
		report(o, "shrank", msg);
		return EXIT_FAIL;
	}
	if (old->size == new_cp->size) {
		if (sodium_memcmp(old->root, new_cp->root, 32) != 0) {
			snprintf(
			    msg, sizeof(msg),
			    "FORK: the log key signed two different roots "
			    "for size %llu (keep both notes as proof)",
			    (unsigned long long)old->size);
			report(o, "fork", msg);
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	if (dir == NULL) {
		fprintf(stderr, "intake-audit: --tiles is needed to prove "
				"consistency between two sizes\n");
		return EXIT_USAGE;
	}
	if ((r = tiles_reader_new(dir, new_cp->size, &tr)) != ITK_OK) {
		return EXIT_ERR;
	}
	r = tlog_prove_consistency_from(tiles_hash_fn, tr, old->size,
					new_cp->size, &pf);
	if (r == ITK_OK) {
		r = tlog_verify_consistency(old->size, new_cp->size, old->root,
					    new_cp->root, pf.h[0], pf.n);
	}
	tiles_reader_free(tr);
	if (r != ITK_OK) {
		snprintf(msg, sizeof(msg),
			 "the checkpoint of size %llu is not consistent with "
			 "the one of size %llu seen before: %s",
			 (unsigned long long)new_cp->size,
			 (unsigned long long)old->size, itk_strerror(r));
		report(o, "inconsistent", msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* With --state: the checkpoint seen last must be extended by this one,
 * which then replaces it. */
static int
check_state(const opts *o, const source *s, const note_verifier *key,
	    const checkpoint *cp, const itk_buf *note)
{
	itk_buf *b = NULL;
	checkpoint old;
	char msg[600];
	int rc;
	itk_err r;

	if (o->state == NULL) {
		return EXIT_OK;
	}
	r = itk_file_read(o->state, CHECKPOINT_MAX, &b);
	if (r == ITK_OK) {
		if ((r = checkpoint_open(itk_buf_ptr(b), itk_buf_len(b), key,
					 &old, NULL)) != ITK_OK) {
			snprintf(
			    msg, sizeof(msg),
			    "the state file's checkpoint does not verify: "
			    "%s",
			    itk_strerror(r));
			report(o, "bad-state", msg);
			itk_buf_free(b);
			return EXIT_FAIL;
		}
		itk_buf_free(b);
		if ((rc = check_consistent(o, s->dir, &old, cp)) != EXIT_OK) {
			return rc;
		}
	} else if (r != ITK_E_NOT_FOUND && r != ITK_E_IO) {
		return EXIT_ERR;
	}
	if (itk_file_write_atomic(o->state, itk_buf_ptr(note),
				  itk_buf_len(note), 0600, 0) != ITK_OK) {
		fprintf(stderr, "intake-audit: cannot write %s\n", o->state);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

static void
print_cp(const opts *o, const checkpoint *cp, uint64_t entries, int rc)
{
	char hex[65];

	itk_hex(hex, cp->root, 32);
	if (o->json) {
		printf("],\"ok\":%s,\"size\":%llu,\"root\":\"%s\","
		       "\"entries\":%llu}\n",
		       rc == EXIT_OK ? "true" : "false",
		       (unsigned long long)cp->size, hex,
		       (unsigned long long)entries);
	} else if (rc == EXIT_OK) {
		printf("ok checkpoint size=%llu root=%s entries=%llu\n",
		       (unsigned long long)cp->size, hex,
		       (unsigned long long)entries);
	}
}

static int
cmd_check_tiles(const opts *o)
{
	note_verifier key;
	checkpoint cp;
	source s;
	itk_buf *note = itk_buf_new(CHECKPOINT_MAX);
	uint64_t entries = 0;
	int rc = EXIT_ERR;

	memset(&cp, 0, sizeof(cp));
	if (note == NULL || o->nargs != 1) {
		itk_buf_free(note);
		return o->nargs != 1 ? EXIT_USAGE : EXIT_ERR;
	}
	if (load_log_key(o, &key) != ITK_OK) {
		itk_buf_free(note);
		return EXIT_ERR;
	}
	if (source_open(o, o->args[0], &s) != ITK_OK) {
		fprintf(stderr, "intake-audit: cannot use %s\n", o->args[0]);
		itk_buf_free(note);
		return EXIT_ERR;
	}
	json_open(o, "check-tiles");
	rc = check_source(o, &s, &key, &cp, note, &entries);
	if (rc == EXIT_OK) {
		rc = check_state(o, &s, &key, &cp, note);
	}
	print_cp(o, &cp, entries, rc);
	source_free(&s);
	itk_buf_free(note);
	return rc;
}

/* --- consistency ------------------------------------------------------ */

static int
read_cp(const opts *o, const char *path, const note_verifier *key,
	checkpoint *cp)
{
	itk_buf *b = NULL;
	char msg[600];
	itk_err r;

	if ((r = itk_file_read(path, CHECKPOINT_MAX, &b)) != ITK_OK) {
		fprintf(stderr, "intake-audit: %s: %s\n", path,
			itk_strerror(r));
		return EXIT_ERR;
	}
	r = checkpoint_open(itk_buf_ptr(b), itk_buf_len(b), key, cp, NULL);
	itk_buf_free(b);
	if (r != ITK_OK) {
		snprintf(msg, sizeof(msg), "%s does not verify: %s", path,
			 itk_strerror(r));
		report(o, "bad-signature", msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_consistency(const opts *o)
{
	note_verifier key;
	checkpoint a, b;
	source s;
	itk_buf *note = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	if (o->nargs != 2) {
		return EXIT_USAGE;
	}
	if (load_log_key(o, &key) != ITK_OK) {
		return EXIT_ERR;
	}
	json_open(o, "consistency");
	if ((rc = read_cp(o, o->args[0], &key, &a)) != EXIT_OK ||
	    (rc = read_cp(o, o->args[1], &key, &b)) != EXIT_OK) {
		goto out;
	}
	if (o->tiles != NULL && a.size < b.size) {
		checkpoint pub;
		if (source_open(o, o->tiles, &s) != ITK_OK ||
		    (note = itk_buf_new(CHECKPOINT_MAX)) == NULL ||
		    fetch_checkpoint(&s, note) != ITK_OK ||
		    checkpoint_open(itk_buf_ptr(note), itk_buf_len(note), &key,
				    &pub, NULL) != ITK_OK ||
		    pub.size < b.size || mirror(&s, pub.size) != ITK_OK) {
			fprintf(stderr,
				"intake-audit: %s: no usable tiles for "
				"size %llu\n",
				o->tiles, (unsigned long long)b.size);
			rc = EXIT_ERR;
			goto out;
		}
	}
	rc = check_consistent(o, o->tiles != NULL ? s.dir : NULL, &a, &b);
out:
	if (o->json) {
		printf("],\"ok\":%s,\"old_size\":%llu,\"new_size\":%llu}\n",
		       rc == EXIT_OK ? "true" : "false",
		       (unsigned long long)a.size, (unsigned long long)b.size);
	} else if (rc == EXIT_OK) {
		printf("ok consistent old_size=%llu new_size=%llu\n",
		       (unsigned long long)a.size, (unsigned long long)b.size);
	}
	source_free(&s);
	itk_buf_free(note);
	return rc;
}

/* --- verify ----------------------------------------------------------- */

static void
on_finding(void *arg, audit_finding f, const char *msg)
{
	report(arg, audit_finding_name(f), msg);
}

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	fprintf(stderr, "\rverify: %llu/%llu leaves (%3u%%)",
		(unsigned long long)done, (unsigned long long)total,
		total == 0 ? 100u : (unsigned)(done * 100u / total));
	if (done == total) {
		fputc('\n', stderr);
	}
}

static int
cmd_verify(const opts *o)
{
	note_verifier key;
	audit_opts ao = {.finding = on_finding, .arg = (void *)(uintptr_t)o};
	audit_report rep;
	itk_buf *seen = NULL;
	char hex[65];
	int rc;
	itk_err r;

	if (o->nargs != 1) {
		return EXIT_USAGE;
	}
	if (load_log_key(o, &key) != ITK_OK) {
		return EXIT_ERR;
	}
	if (o->checkpoint != NULL) {
		if ((r = itk_file_read(o->checkpoint, CHECKPOINT_MAX,
				       &seen)) != ITK_OK) {
			fprintf(stderr, "intake-audit: %s: %s\n",
				o->checkpoint, itk_strerror(r));
			return EXIT_ERR;
		}
		ao.seen = itk_buf_ptr(seen);
		ao.seen_len = itk_buf_len(seen);
	}
	if (o->progress || (!o->json && isatty(2))) {
		ao.progress = on_progress;
	}
	json_open(o, "verify");
	r = audit_verify(o->args[0], &key, &ao, &rep);
	rc = r != ITK_OK ? EXIT_ERR : (rep.findings > 0 ? EXIT_FAIL : EXIT_OK);
	itk_hex(hex, rep.checkpoint_root, 32);
	if (o->json) {
		printf("],\"ok\":%s,\"leaves\":%llu,\"checkpoint_size\":%llu,"
		       "\"root\":\"%s\",\"records\":%llu,\"keys\":%llu,"
		       "\"seconds\":%.3f}\n",
		       rc == EXIT_OK ? "true" : "false",
		       (unsigned long long)rep.leaves,
		       (unsigned long long)rep.checkpoint_size, hex,
		       (unsigned long long)rep.records,
		       (unsigned long long)rep.keys, rep.seconds);
	} else {
		printf("%s leaves=%llu checkpoint_size=%llu root=%s "
		       "records=%llu findings=%llu seconds=%.3f\n",
		       rc == EXIT_OK ? "ok" : "FAILED",
		       (unsigned long long)rep.leaves,
		       (unsigned long long)rep.checkpoint_size, hex,
		       (unsigned long long)rep.records,
		       (unsigned long long)rep.findings, rep.seconds);
	}
	itk_buf_free(seen);
	return rc;
}

/* --- witnesses -------------------------------------------------------- */

static int
cmd_keygen(const opts *o)
{
	uint8_t pk[32], sk[64];
	char
	    b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	note_verifier v;
	itk_buf *b = itk_buf_new(1024), *vk = itk_buf_new(1024);
	int rc = EXIT_ERR;

	if (o->name == NULL || o->out == NULL || b == NULL || vk == NULL) {
		rc = b == NULL || vk == NULL ? EXIT_ERR : EXIT_USAGE;
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(b64, sizeof(b64), sk, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	if (note_verifier_init(&v, o->name, strlen(o->name), NOTE_TYPE_COSIG,
			       pk) != ITK_OK) {
		fprintf(stderr, "intake-audit: bad witness name\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (itk_buf_printf(b, "%s%s\n%s\n", WITNESS_MAGIC, o->name, b64) !=
		ITK_OK ||
	    itk_file_write_atomic(o->out, itk_buf_ptr(b), itk_buf_len(b), 0600,
				  1) != ITK_OK ||
	    note_verifier_format(&v, vk) != ITK_OK ||
	    itk_buf_put_u8(vk, 0) != ITK_OK) {
		fprintf(stderr, "intake-audit: cannot write %s\n", o->out);
		goto out;
	}
	printf("%s\n", (const char *)itk_buf_ptr(vk));
	rc = EXIT_OK;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(b64, sizeof(b64));
	itk_buf_free(b);
	itk_buf_free(vk);
	return rc;
}

static itk_err
load_witness(const char *path, note_signer **out)
{
	uint8_t seed[32], pk[32], sk[64];
	const char *p, *nl, *nl2;
	char name[NOTE_NAME_MAX + 1];
	itk_buf *b = NULL;
	size_t n = 0, ml = strlen(WITNESS_MAGIC);
	itk_err r = ITK_E_FORMAT;

	if ((r = itk_file_read_secret(path, 4096, &b)) != ITK_OK) {
		return r;
	}
	r = ITK_E_FORMAT;
	p = (const char *)itk_buf_ptr(b);
	if (itk_buf_len(b) < ml || memcmp(p, WITNESS_MAGIC, ml) != 0) {
		goto out;
	}
	p += ml;
	nl = memchr(p, '\n', itk_buf_len(b) - ml);
	if (nl == NULL || nl == p || (size_t)(nl - p) > NOTE_NAME_MAX) {
		goto out;
	}
	memcpy(name, p, (size_t)(nl - p));
	name[nl - p] = '\0';
	nl2 = memchr(nl + 1, '\n',
		     itk_buf_len(b) -
			 (size_t)(nl + 1 - (const char *)itk_buf_ptr(b)));
	if (nl2 == NULL ||
	    sodium_base642bin(seed, sizeof(seed), nl + 1,
			      (size_t)(nl2 - nl - 1), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 32) {
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	r = note_signer_new(name, NOTE_TYPE_COSIG, sk, out);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	itk_buf_free(b);
	return r;
}

static int
cmd_cosign(const opts *o)
{
	note_verifier key;
	note_signer *w = NULL;
	note_msg msg;
	checkpoint cp;
	source s;
	itk_buf *note = itk_buf_new(CHECKPOINT_MAX);
	itk_buf *out = itk_buf_new(CHECKPOINT_MAX + 1024);
	itk_buf *resp = itk_buf_new(4096);
	uint64_t entries = 0;
	int rc = EXIT_ERR, status = 0;

	memset(&s, 0, sizeof(s));
	memset(&cp, 0, sizeof(cp));
	if (o->nargs != 1 || o->witness_key == NULL) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (note == NULL || out == NULL || resp == NULL ||
	    load_log_key(o, &key) != ITK_OK) {
		goto out;
	}
	if (load_witness(o->witness_key, &w) != ITK_OK) {
		fprintf(stderr, "intake-audit: %s: not a witness key\n",
			o->witness_key);
		goto out;
	}
	if (source_open(o, o->args[0], &s) != ITK_OK) {
		goto out;
	}
	json_open(o, "cosign");
	/* Only what was verified gets cosigned. */
	if ((rc = check_source(o, &s, &key, &cp, note, &entries)) != EXIT_OK ||
	    (rc = check_state(o, &s, &key, &cp, note)) != EXIT_OK) {
		goto done;
	}
	rc = EXIT_ERR;
	if (note_parse(itk_buf_ptr(note), itk_buf_len(note), &msg) != ITK_OK ||
	    itk_buf_put(out, msg.text, msg.text_len) != ITK_OK ||
	    itk_buf_put_u8(out, '\n') != ITK_OK) {
		goto done;
	}
	/* The log's own signature line, then ours. */
	for (size_t i = 0; i < msg.nsigs; i++) {
		const note_sig *g = &msg.sigs[i];
		if (g->name_len == key.name_len &&
		    memcmp(g->name, key.name, g->name_len) == 0 &&
		    g->key_id == key.key_id &&
		    itk_buf_printf(out, "\xe2\x80\x94 %.*s %.*s\n",
				   (int)g->name_len, g->name, (int)g->b64_len,
				   g->b64) != ITK_OK) {
			goto done;
		}
	}
	if (note_cosign_line(w, msg.text, msg.text_len, (uint64_t)time(NULL),
			     out) != ITK_OK) {
		goto done;
	}
	if (o->post) {
		if (!s.http ||
		    itk_client_http(s.cl, "POST", "/log/cosignatures",
				    itk_buf_ptr(out), itk_buf_len(out),
				    &status, resp) != ITK_OK ||
		    status != 200) {
			fprintf(stderr,
				"intake-audit: posting the cosignature "
				"failed (HTTP %d)\n",
				status);
			goto done;
		}
	}
	rc = EXIT_OK;
done:
	if (o->json) {
		printf("],\"ok\":%s,\"size\":%llu,\"posted\":%s}\n",
		       rc == EXIT_OK ? "true" : "false",
		       (unsigned long long)cp.size,
		       rc == EXIT_OK && o->post ? "true" : "false");
	} else if (rc == EXIT_OK) {
		fwrite(itk_buf_ptr(out), 1, itk_buf_len(out), stdout);
	}
out:
	source_free(&s);
	note_signer_free(w);
	itk_buf_free(note);
	itk_buf_free(out);
	itk_buf_free(resp);
	return rc;
}

static int
cmd_vkey(const opts *o)
{
	uint8_t org[ITK_SIGN_PK_LEN];
	itk_pb_key_bundle_body *body = NULL;
	note_verifier v;
	itk_buf *b = NULL, *vk = itk_buf_new(1024);
	int rc = EXIT_ERR;

	if (o->bundle == NULL || o->org_pub == NULL || vk == NULL) {
		rc = vk == NULL ? EXIT_ERR : EXIT_USAGE;
		goto out;
	}
	if (itk_org_pub_load(o->org_pub, org) != ITK_OK ||
	    itk_file_read(o->bundle, ITK_KEY_BUNDLE_MAX, &b) != ITK_OK ||
	    itk_bundle_verify(itk_buf_ptr(b), itk_buf_len(b), org, &body) !=
		ITK_OK ||
	    body->log_public_key.len != 32 ||
	    note_verifier_init(&v, body->origin, strlen(body->origin),
			       NOTE_TYPE_ED25519,
			       body->log_public_key.data) != ITK_OK ||
	    note_verifier_format(&v, vk) != ITK_OK ||
	    itk_buf_put_u8(vk, 0) != ITK_OK) {
		fprintf(stderr, "intake-audit: the bundle does not verify "
				"against the organisation key\n");
		rc = EXIT_FAIL;
		goto out;
	}
	printf("%s\n", (const char *)itk_buf_ptr(vk));
	rc = EXIT_OK;
out:
	itk_wire_free(body);
	itk_buf_free(b);
	itk_buf_free(vk);
	return rc;
}

/* --- prove ------------------------------------------------------------ */

struct find_id {
	uint8_t id[32];
	uint64_t index;
	bool found;
};

static itk_err
match_id(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct find_id *f = arg;
	vault_leaf l;

	if (!f->found && vault_leaf_decode(entry, len, &l) == ITK_OK &&
	    l.kind == VAULT_LEAF_MESSAGE && l.key_len == 32 &&
	    memcmp(l.key, f->id, 32) == 0) {
		f->index = index;
		f->found = true;
	}
	return ITK_OK;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;

	if (s == NULL || *s < '0' || *s > '9') {
		return false;
	}
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && end != NULL && *end == '\0';
}

static void
print_hashes(const tlog_proof *pf)
{
	char
	    b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	for (size_t i = 0; i < pf->n; i++) {
		sodium_bin2base64(b64, sizeof(b64), pf->h[i], 32,
				  sodium_base64_VARIANT_ORIGINAL);
		printf(" %s", b64);
	}
	printf("\n");
}

/*
 * Proofs from verified tiles, in the line format of proofs.txt of the Go
 * interoperability check: "incl N h..." or "cons M root_M h...".
 */
static int
cmd_prove(const opts *o)
{
	char
	    b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t root_m[32];
	struct find_id f = {0};
	note_verifier key;
	tiles_reader *tr = NULL;
	tlog_proof pf;
	checkpoint cp;
	source s;
	itk_buf *note = itk_buf_new(CHECKPOINT_MAX);
	uint64_t entries = 0, m = 0;
	int rc = EXIT_ERR;

	memset(&s, 0, sizeof(s));
	if (note == NULL || o->nargs != 1 ||
	    (o->id == NULL) + (o->index == NULL) + (o->from == NULL) != 2) {
		rc = note == NULL ? EXIT_ERR : EXIT_USAGE;
		goto out;
	}
	if (o->id != NULL &&
	    itk_unhex(f.id, sizeof(f.id), o->id, strlen(o->id)) != ITK_OK) {
		rc = EXIT_USAGE;
		goto out;
	}
	if ((o->index != NULL && !parse_u64(o->index, &f.index)) ||
	    (o->from != NULL && !parse_u64(o->from, &m))) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (load_log_key(o, &key) != ITK_OK ||
	    source_open(o, o->args[0], &s) != ITK_OK) {
		goto out;
	}
	/* Only verified tiles prove anything. */
	if ((rc = check_source(o, &s, &key, &cp, note, &entries)) != EXIT_OK) {
		goto out;
	}
	rc = EXIT_ERR;
	if (tiles_reader_new(s.dir, cp.size, &tr) != ITK_OK) {
		goto out;
	}
	if (o->id != NULL) {
		for (uint64_t n = 0; !f.found && n * TILE_WIDTH < cp.size;
		     n++) {
			if (tiles_read_entries(tr, n, match_id, &f) !=
			    ITK_OK) {
				goto out;
			}
		}
		if (!f.found) {
			fprintf(stderr,
				"intake-audit: %s is not in the log of "
				"size %llu\n",
				o->id, (unsigned long long)cp.size);
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (o->from != NULL) {
		if (m == 0 || m > cp.size ||
		    tlog_tree_hash_from(tiles_hash_fn, tr, m, root_m) !=
			ITK_OK ||
		    tlog_prove_consistency_from(tiles_hash_fn, tr, m, cp.size,
						&pf) != ITK_OK) {
			rc = EXIT_USAGE;
			goto out;
		}
		sodium_bin2base64(b64, sizeof(b64), root_m, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		printf("cons %llu %s", (unsigned long long)m, b64);
	} else {
		if (f.index >= cp.size ||
		    tlog_prove_inclusion_from(tiles_hash_fn, tr, f.index,
					      cp.size, &pf) != ITK_OK) {
			rc = EXIT_USAGE;
			goto out;
		}
		printf("incl %llu", (unsigned long long)f.index);
	}
	print_hashes(&pf);
	rc = EXIT_OK;
out:
	tiles_reader_free(tr);
	source_free(&s);
	itk_buf_free(note);
	return rc;
}

/* --- main ------------------------------------------------------------- */

static int
parse(int argc, char **argv, opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} with_arg[] = {
	    {"--log-pub", offsetof(opts, log_pub)},
	    {"--origin", offsetof(opts, origin)},
	    {"--checkpoint", offsetof(opts, checkpoint)},
	    {"--state", offsetof(opts, state)},
	    {"--tiles", offsetof(opts, tiles)},
	    {"--witness-key", offsetof(opts, witness_key)},
	    {"--name", offsetof(opts, name)},
	    {"--out", offsetof(opts, out)},
	    {"--bundle", offsetof(opts, bundle)},
	    {"--org-pub", offsetof(opts, org_pub)},
	    {"--ca", offsetof(opts, ca)},
	    {"--mirror", offsetof(opts, mirror)},
	    {"--id", offsetof(opts, id)},
	    {"--index", offsetof(opts, index)},
	    {"--from", offsetof(opts, from)},
	};

	for (int i = 2; i < argc; i++) {
		bool done = false;
		if (strcmp(argv[i], "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(argv[i], "--progress") == 0) {
			o->progress = true;
			continue;
		}
		if (strcmp(argv[i], "--post") == 0) {
			o->post = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(with_arg) / sizeof(*with_arg);
		     k++) {
			if (strcmp(argv[i], with_arg[k].flag) == 0) {
				if (i + 1 >= argc) {
					return -1;
				}
				*(const char **)((char *)o + with_arg[k].off) =
				    argv[++i];
				done = true;
				break;
			}
		}
		if (done) {
			continue;
		}
		if (argv[i][0] == '-' || o->nargs >= 2) {
			return -1;
		}
		o->args[o->nargs++] = argv[i];
	}
	return 0;
}

int
main(int argc, char **argv)
{
	opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (sodium_init() < 0 || itk_crypto_init() != ITK_OK) {
		return EXIT_ERR;
	}
	if (parse(argc, argv, &o) != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "verify") == 0) {
		rc = cmd_verify(&o);
	} else if (strcmp(argv[1], "check-tiles") == 0) {
		rc = cmd_check_tiles(&o);
	} else if (strcmp(argv[1], "consistency") == 0) {
		rc = cmd_consistency(&o);
	} else if (strcmp(argv[1], "cosign") == 0) {
		rc = cmd_cosign(&o);
	} else if (strcmp(argv[1], "prove") == 0) {
		rc = cmd_prove(&o);
	} else if (strcmp(argv[1], "keygen") == 0) {
		rc = cmd_keygen(&o);
	} else if (strcmp(argv[1], "vkey") == 0) {
		rc = cmd_vkey(&o);
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_USAGE) {
		usage(stderr);
	}
	return rc;
}
