/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key store: one directory, one file per key, names fixed by kind
 * (docs/keys.md, "Key store").  A file's name must agree with its header
 * (kind, key id, operator name), so a key copied under the wrong name is
 * refused rather than used in the wrong role.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "keys.h"

#define INTAKE_PREFIX "intake-"
#define QUEUE_PREFIX  "queue-"

itk_err
itk_keystore_path(char *out, size_t outlen, const char *dir, itk_key_kind kind,
		  uint32_t key_id, const char *name, bool pub)
{
	const char *ext = pub ? "pub" : "key";
	int n;

	switch (kind) {
	case ITK_KEY_ORG:
	case ITK_KEY_RECEIPT:
	case ITK_KEY_LOG:
	case ITK_KEY_VAULT:
	case ITK_KEY_SERVICE:
		n = snprintf(out, outlen, "%s/%s.%s", dir,
			     itk_key_kind_name(kind), ext);
		break;
	case ITK_KEY_QUEUE: {
		itk_queue q;
		uint32_t v;
		if (name == NULL ||
		    itk_queue_key_parse(name, &q, &v) != ITK_OK) {
			return ITK_E_FORMAT;
		}
		n = snprintf(out, outlen, "%s/" QUEUE_PREFIX "%s.%s", dir,
			     name, ext);
		break;
	}
	case ITK_KEY_INTAKE:
		n = snprintf(out, outlen, "%s/" INTAKE_PREFIX "%08x.%s", dir,
			     key_id, ext);
		break;
	case ITK_KEY_OPERATOR:
		if (name == NULL || !itk_key_name_ok(name)) {
			return ITK_E_FORMAT;
		}
		n = snprintf(out, outlen, "%s/%s/%s.%s", dir,
			     ITK_KEYSTORE_OPERATORS, name, ext);
		break;
	default:
		return ITK_E_RANGE;
	}
	if (n < 0 || (size_t)n >= outlen) {
		return ITK_E_TOO_BIG;
	}
	return ITK_OK;
}

itk_err
itk_keystore_load_key(const char *dir, itk_key_kind kind,
		      const char *passphrase, itk_secret_key **out)
{
	char path[4096];
	itk_secret_key *k = NULL;
	itk_err r;

	if (kind == ITK_KEY_INTAKE || kind == ITK_KEY_OPERATOR ||
	    kind == ITK_KEY_QUEUE) {
		return ITK_E_RANGE;
	}
	if ((r = itk_keystore_path(path, sizeof(path), dir, kind, 0, NULL,
				   false)) != ITK_OK) {
		return r;
	}
	if ((r = itk_key_load(path, passphrase, &k)) != ITK_OK) {
		return r;
	}
	if (itk_key_kind_of(k) != kind) {
		itk_key_free(k);
		return ITK_E_FORMAT;
	}
	*out = k;
	return ITK_OK;
}

itk_err
itk_keystore_load_operator(const char *dir, const char *name,
			   const char *passphrase, itk_secret_key **out)
{
	char path[4096];
	itk_secret_key *k = NULL;
	itk_err r;

	if ((r = itk_keystore_path(path, sizeof(path), dir, ITK_KEY_OPERATOR,
				   0, name, false)) != ITK_OK) {
		return r;
	}
	if ((r = itk_key_load(path, passphrase, &k)) != ITK_OK) {
		return r;
	}
	if (itk_key_kind_of(k) != ITK_KEY_OPERATOR ||
	    strcmp(itk_key_name(k), name) != 0) {
		itk_key_free(k);
		return ITK_E_FORMAT;
	}
	*out = k;
	return ITK_OK;
}

itk_err
itk_keystore_read_bundle(const char *dir, itk_buf **out)
{
	char path[4096];
	int n =
	    snprintf(path, sizeof(path), "%s/%s", dir, ITK_KEYSTORE_BUNDLE);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	return itk_file_read(path, ITK_KEY_BUNDLE_MAX, out);
}

/* ------------------------------------------------------------ list */

static bool
has_suffix(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n <= m || strcmp(s + n - m, suffix) != 0) {
		return false;
	}
	*stem = n - m;
	return true;
}

/*
 * What a file name in the store says about its key: kind, and key id or
 * operator name.  False for files that are not keys (bundle.pb, state,
 * temp files), which the store ignores.
 */
static bool
parse_name(const char *fname, bool in_operators, itk_key_kind *kind,
	   uint32_t *key_id, char name[ITK_KEY_NAME_MAX + 1], bool *pub)
{
	size_t stem;
	uint8_t id[4];

	if (has_suffix(fname, ".key", &stem)) {
		*pub = false;
	} else if (has_suffix(fname, ".pub", &stem)) {
		*pub = true;
	} else {
		return false;
	}
	*key_id = 0;
	name[0] = '\0';
	if (in_operators) {
		if (stem == 0 || stem > ITK_KEY_NAME_MAX) {
			return false;
		}
		memcpy(name, fname, stem);
		name[stem] = '\0';
		*kind = ITK_KEY_OPERATOR;
		return itk_key_name_ok(name);
	}
	if (stem == strlen(INTAKE_PREFIX) + 8 &&
	    strncmp(fname, INTAKE_PREFIX, strlen(INTAKE_PREFIX)) == 0) {
		const char *hex = fname + strlen(INTAKE_PREFIX);
		/* Lower-case only, as itk_keystore_path writes it. */
		for (size_t i = 0; i < 8; i++) {
			if (hex[i] >= 'A' && hex[i] <= 'F') {
				return false;
			}
		}
		if (itk_unhex(id, sizeof(id), hex, 8) != ITK_OK) {
			return false;
		}
		*key_id = itk_load_u32(id);
		*kind = ITK_KEY_INTAKE;
		return true;
	}
	if (stem > strlen(QUEUE_PREFIX) &&
	    strncmp(fname, QUEUE_PREFIX, strlen(QUEUE_PREFIX)) == 0 &&
	    stem - strlen(QUEUE_PREFIX) <= ITK_KEY_NAME_MAX) {
		itk_queue q;
		uint32_t v;
		memcpy(name, fname + strlen(QUEUE_PREFIX),
		       stem - strlen(QUEUE_PREFIX));
		name[stem - strlen(QUEUE_PREFIX)] = '\0';
		*kind = ITK_KEY_QUEUE;
		return itk_queue_key_parse(name, &q, &v) == ITK_OK;
	}
	for (int k = ITK_KEY_ORG; k <= ITK_KEY_SERVICE; k++) {
		const char *kn = itk_key_kind_name((itk_key_kind)k);
		if (k == ITK_KEY_INTAKE || k == ITK_KEY_OPERATOR) {
			continue;
		}
		if (stem == strlen(kn) && strncmp(fname, kn, stem) == 0) {
			*kind = (itk_key_kind)k;
			return true;
		}
	}
	return false;
}

static bool
info_same(const itk_key_info *a, const itk_key_info *b)
{
	return a->kind == b->kind && a->dev == b->dev &&
	       a->key_id == b->key_id && a->created == b->created &&
	       a->not_before == b->not_before &&
	       a->not_after == b->not_after && a->role == b->role &&
	       a->queues == b->queues && strcmp(a->name, b->name) == 0 &&
	       sodium_memcmp(a->public_key, b->public_key, 32) == 0;
}

typedef struct {
	itk_keystore_entry *e;
	size_t max;
	size_t n;
	char *bad;
	size_t badlen;
} list_ctx;

static void
note_bad(list_ctx *c, const char *path)
{
	if (c->bad != NULL && c->badlen > 0) {
		int n = snprintf(c->bad, c->badlen, "%s", path);
		(void)n; /* a cut-off path in a message is acceptable */
	}
}

static itk_err
add_file(list_ctx *c, const char *dir, const char *fname, bool in_operators)
{
	char path[4096], name[ITK_KEY_NAME_MAX + 1];
	itk_key_kind kind;
	uint32_t key_id;
	itk_key_info info;
	bool pub;
	int n;
	itk_err r;

	if (!parse_name(fname, in_operators, &kind, &key_id, name, &pub)) {
		return ITK_OK;
	}
	n = snprintf(path, sizeof(path), "%s/%s%s", dir,
		     in_operators ? ITK_KEYSTORE_OPERATORS "/" : "", fname);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return ITK_E_TOO_BIG;
	}
	if ((r = itk_key_info_load(path, &info)) != ITK_OK) {
		note_bad(c, path);
		return r;
	}
	/* The name must tell the truth about the key inside. */
	if (info.kind != kind ||
	    (kind == ITK_KEY_INTAKE && info.key_id != key_id) ||
	    ((kind == ITK_KEY_OPERATOR || kind == ITK_KEY_QUEUE) &&
	     strcmp(info.name, name) != 0)) {
		note_bad(c, path);
		return ITK_E_FORMAT;
	}
	for (size_t i = 0; i < c->n; i++) {
		itk_keystore_entry *e = &c->e[i];
		if (e->info.kind != kind || e->info.key_id != info.key_id ||
		    strcmp(e->info.name, info.name) != 0) {
			continue;
		}
		if (!info_same(&e->info, &info)) {
			note_bad(c, path);
			return ITK_E_FORMAT;
		}
		if (pub) {
			e->has_public = true;
		} else {
			e->has_secret = true;
		}
		return ITK_OK;
	}
	if (c->n >= c->max) {
		return ITK_E_FULL;
	}
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
	c->e[c->n].info = info;
	c->e[c->n].has_public = pub;
	c->e[c->n].has_secret = !pub;
	c->n++;
	return ITK_OK;
}

static itk_err
scan_dir(list_ctx *c, const char *dir, bool in_operators)
{
	char sub[4096];
	const char *path = dir;
	struct dirent *de;
	DIR *d;
	itk_err r = ITK_OK;

	if (in_operators) {
		int n = snprintf(sub, sizeof(sub), "%s/%s", dir,
				 ITK_KEYSTORE_OPERATORS);
		if (n < 0 || (size_t)n >= sizeof(sub)) {
			return ITK_E_TOO_BIG;
		}
		path = sub;
	}
	if ((d = opendir(path)) == NULL) {
		if (in_operators && errno == ENOENT) {
			return ITK_OK; /* a store need not have operators */
		}
		note_bad(c, path);
		return errno == ENOENT ? ITK_E_NOT_FOUND : ITK_E_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		if ((r = add_file(c, dir, de->d_name, in_operators)) !=
		    ITK_OK) {
			break;
		}
	}
	closedir(d);
	return r;
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const itk_keystore_entry *a = pa, *b = pb;
	int c;

	if (a->info.kind != b->info.kind) {
		return a->info.kind < b->info.kind ? -1 : 1;
	}
	if (a->info.not_before != b->info.not_before) {
		return a->info.not_before > b->info.not_before ? -1 : 1;
	}
	if ((c = strcmp(a->info.name, b->info.name)) != 0) {
		return c;
	}
	if (a->info.key_id != b->info.key_id) {
		return a->info.key_id < b->info.key_id ? -1 : 1;
	}
	return 0;
}

itk_err
itk_keystore_list(const char *dir, itk_keystore_entry *out, size_t max,
		  size_t *n, char *bad, size_t badlen)
{
	list_ctx c = {out, max, 0, bad, badlen};
	itk_err r;

	if (bad != NULL && badlen > 0) {
		bad[0] = '\0';
	}
	if ((r = scan_dir(&c, dir, false)) != ITK_OK ||
	    (r = scan_dir(&c, dir, true)) != ITK_OK) {
		return r;
	}
	if (c.n > 1) {
		qsort(out, c.n, sizeof(*out), entry_cmp);
	}
	*n = c.n;
	return ITK_OK;
}

itk_err
itk_keystore_load_intake(const char *dir, const char *passphrase,
			 itk_secret_key **keys, size_t max, size_t *n)
{
	itk_keystore_entry *e = NULL;
	size_t ne = 0, got = 0;
	char path[4096];
	itk_err r;

	if ((e = calloc(ITK_KEYSTORE_ENTRIES_MAX, sizeof(*e))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_keystore_list(dir, e, ITK_KEYSTORE_ENTRIES_MAX, &ne, NULL,
				   0)) != ITK_OK) {
		goto out;
	}
	/* Sorted newest first already (entry_cmp). */
	for (size_t i = 0; i < ne; i++) {
		if (e[i].info.kind != ITK_KEY_INTAKE || !e[i].has_secret) {
			continue;
		}
		if (got >= max) {
			r = ITK_E_FULL;
			goto out;
		}
		if ((r = itk_keystore_path(path, sizeof(path), dir,
					   ITK_KEY_INTAKE, e[i].info.key_id,
					   NULL, false)) != ITK_OK ||
		    (r = itk_key_load(path, passphrase, &keys[got])) !=
			ITK_OK) {
			goto out;
		}
		got++;
		/* The header may only be trusted now that it opened. */
		if (!info_same(itk_key_info_of(keys[got - 1]), &e[i].info)) {
			r = ITK_E_FORMAT;
			goto out;
		}
	}
	r = got == 0 ? ITK_E_NOT_FOUND : ITK_OK;
out:
	if (r != ITK_OK) {
		for (size_t i = 0; i < got; i++) {
			itk_key_free(keys[i]);
			keys[i] = NULL;
		}
		got = 0;
	}
	*n = got;
	free(e);
	return r;
}

static itk_err
overwrite(int fd, size_t size, bool random)
{
	uint8_t chunk[4096];
	size_t done = 0;
	itk_err r = ITK_OK;

	if (lseek(fd, 0, SEEK_SET) != 0) {
		return ITK_E_IO;
	}
	memset(chunk, 0, sizeof(chunk));
	while (done < size) {
		size_t n =
		    size - done < sizeof(chunk) ? size - done : sizeof(chunk);
		ssize_t w;
		if (random) {
			randombytes_buf(chunk, n);
		}
		w = write(fd, chunk, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			r = ITK_E_IO;
			break;
		}
		done += (size_t)w;
	}
	if (r == ITK_OK && fsync(fd) != 0) {
		r = ITK_E_IO;
	}
	sodium_memzero(chunk, sizeof(chunk));
	return r;
}

itk_err
itk_key_destroy_file(const char *path)
{
	char copy[4096];
	struct stat st;
	int fd = -1, dfd = -1;
	size_t len = strlen(path);
	itk_err r = ITK_E_IO;

	if (len >= sizeof(copy)) {
		return ITK_E_TOO_BIG;
	}
	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		return errno == ENOENT ? ITK_E_NOT_FOUND : ITK_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		goto out;
	}
	if ((r = overwrite(fd, (size_t)st.st_size, true)) != ITK_OK ||
	    (r = overwrite(fd, (size_t)st.st_size, false)) != ITK_OK) {
		goto out;
	}
	close(fd);
	fd = -1;
	r = ITK_E_IO;
	if (unlink(path) != 0) {
		goto out;
	}
	memcpy(copy, path, len + 1);
	if ((dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		0 ||
	    fsync(dfd) != 0) {
		goto out;
	}
	r = ITK_OK;
out:
	if (fd >= 0) {
		close(fd);
	}
	if (dfd >= 0) {
		close(dfd);
	}
	return r;
}
