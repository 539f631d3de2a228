/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "gw_static.h"
#include "log.h"

/* The submitter page's files with our headers (gw_static.h). */

#define PATH_CAP 1024u

static const struct {
	const char *name, *value;
} headers[] = {
    /* The page's own CSP is a meta tag; a meta tag cannot forbid
     * framing, so this one adds only that (policies intersect). */
    {"Content-Security-Policy", "frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    /* Nothing of the page stays on the device. */
    {"Cache-Control", "no-store"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

static const struct {
	const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".wasm", "application/wasm"},
};

static const char *
type_of(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(path + n - e, types[i].ext) == 0) {
			return types[i].type;
		}
	}
	return "application/octet-stream";
}

itk_err
gw_static_path(const char *root, const char *uri, char *out, size_t cap,
	       const char **ctype)
{
	size_t rl = strlen(root), ul;
	const char *q;
	bool index;

	if (uri[0] != '/') {
		return ITK_E_FORMAT;
	}
	/* The query string names nothing on disk. */
	ul = (q = strchr(uri, '?')) != NULL ? (size_t)(q - uri) : strlen(uri);
	for (size_t i = 0; i < ul; i++) {
		char ch = uri[i];
		if (ch == '%' || ch == '\\' || (unsigned char)ch < 0x20 ||
		    ch == 0x7f) {
			return ITK_E_FORMAT;
		}
		/* Each component: non-empty, not starting with '.'. */
		if (ch == '/' && i + 1 < ul &&
		    (uri[i + 1] == '/' || uri[i + 1] == '.')) {
			return ITK_E_FORMAT;
		}
	}
	index = uri[ul - 1] == '/';
	if (rl + ul + (index ? strlen("index.html") : 0) + 1 > cap) {
		return ITK_E_TOO_BIG;
	}
	memcpy(out, root, rl);
	memcpy(out + rl, uri, ul);
	out[rl + ul] = '\0';
	if (index) {
		memcpy(out + rl + ul, "index.html", strlen("index.html") + 1);
	}
	*ctype = type_of(out);
	return ITK_OK;
}

/* Reads a regular file of at most GW_STATIC_MAX bytes; *out is malloc'd. */
static itk_err
read_regular(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t n = 0;
	int fd;
	itk_err r = ITK_E_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		return errno == ENOENT || errno == ENOTDIR ? ITK_E_NOT_FOUND
							   : ITK_E_IO;
	}
	if (fstat(fd, &st) != 0) {
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ITK_E_NOT_FOUND;
		goto out;
	}
	if ((uint64_t)st.st_size > GW_STATIC_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, p + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			goto out; /* shrank under us, or failed */
		}
		n += (size_t)k;
	}
	*out = p;
	p = NULL; /* transferred */
	*len = n;
	r = ITK_OK;
out:
	free(p);
	close(fd);
	return r;
}

/*
 * The whole web root is read into memory when the server is set up, before
 * the gateway drops its privileges: the unprivileged gateway then needs no
 * filesystem access for the page (its files may live where the daemon's
 * user cannot read, e.g. under /root), and a file changed on disk later is
 * not served until a restart.  Caps: STATIC_FILES_MAX files, STATIC_TOTAL_MAX
 * bytes, STATIC_DEPTH_MAX directory levels; hidden names are skipped.
 */
#define STATIC_FILES_MAX 1024u
#define STATIC_TOTAL_MAX (64u * 1024u * 1024u)
#define STATIC_DEPTH_MAX 8

struct static_file {
	char
	    *path; /* root + "/" + relative path, as gw_static_path forms it */
	uint8_t *body;
	size_t len;
};

struct static_tree {
	char *root;
	struct static_file f[STATIC_FILES_MAX];
	size_t n;
	size_t total;
};

static itk_err
load_dir(struct static_tree *t, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	itk_err r = ITK_OK;

	if (depth > STATIC_DEPTH_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((d = opendir(dir)) == NULL) {
		return ITK_E_IO;
	}
	while (r == ITK_OK && (e = readdir(d)) != NULL) {
		char path[PATH_CAP];
		struct stat st;
		int n;

		if (e->d_name[0] == '.') {
			continue;
		}
		n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			r = ITK_E_TOO_BIG;
			break;
		}
		if (stat(path, &st) != 0) {
			continue; /* a dangling link names nothing */
		}
		if (S_ISDIR(st.st_mode)) {
			r = load_dir(t, path, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			continue;
		}
		if (t->n == STATIC_FILES_MAX) {
			r = ITK_E_TOO_BIG;
			break;
		}
		if ((r = read_regular(path, &t->f[t->n].body,
				      &t->f[t->n].len)) != ITK_OK) {
			break;
		}
		t->total += t->f[t->n].len;
		if ((t->f[t->n].path = strdup(path)) == NULL) {
			free(t->f[t->n].body);
			r = ITK_E_NOMEM;
			break;
		}
		t->n++;
		if (t->total > STATIC_TOTAL_MAX) {
			r = ITK_E_TOO_BIG;
		}
	}
	closedir(d);
	return r;
}

static const struct static_file *
find_file(const struct static_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->f[i].path, path) == 0) {
			return &t->f[i];
		}
	}
	return NULL;
}

static void
static_cb(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const struct static_tree *tree = nng_http_handler_get_data(hd);
	const struct static_file *file = NULL;
	const char *uri = nng_http_req_get_uri(req), *ctype = NULL;
	char path[PATH_CAP];
	nng_http_res *res = NULL;
	uint16_t status = 200;
	int rv;
	itk_err r;

	r = uri == NULL
		? ITK_E_FORMAT
		: gw_static_path(tree->root, uri, path, sizeof(path), &ctype);
	if (r != ITK_OK) {
		status = r == ITK_E_TOO_BIG ? 414 : 400;
	} else if ((file = find_file(tree, path)) == NULL) {
		status = 404;
	}
	if ((rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_res_set_status(res, status)) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if ((rv = nng_http_res_set_header(res, headers[i].name,
						  headers[i].value)) != 0) {
			goto fail;
		}
	}
	if (status == 200) {
		if ((rv = nng_http_res_set_header(res, "Content-Type",
						  ctype)) != 0 ||
		    (rv = nng_http_res_copy_data(res, file->body,
						 file->len)) != 0) {
			goto fail;
		}
	} else if ((rv = nng_http_res_set_header(res, "Content-Type",
						 "text/plain")) != 0 ||
		   (rv = nng_http_res_copy_data(res, "not found\n", 10)) !=
		       0) {
		goto fail;
	}
	gw_metrics_request(GW_EP_WEB, status);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	return;
fail:
	if (res != NULL) {
		nng_http_res_free(res);
	}
	gw_metrics_request(GW_EP_WEB, 500);
	nng_aio_finish(aio, rv);
}

static void
tree_free(void *arg)
{
	struct static_tree *t = arg;

	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].path);
		free(t->f[i].body);
	}
	free(t->root);
	free(t);
}

itk_err
gw_static_add(nng_http_server *srv, const char *root)
{
	nng_http_handler *hd = NULL;
	struct static_tree *t = NULL;
	int rv;
	itk_err r;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->root = strdup(root)) == NULL) {
		tree_free(t);
		return ITK_E_NOMEM;
	}
	if ((r = load_dir(t, root, 0)) != ITK_OK) {
		itk_log_error("http.web_root", "err=%s files=%zu",
			      itk_errname(r), t->n);
		tree_free(t);
		return ITK_E_CONFIG;
	}
	/* A plain tree: the API's more specific paths win. */
	if ((rv = nng_http_handler_alloc(&hd, "/", static_cb)) != 0 ||
	    (rv = nng_http_handler_set_method(hd, "GET")) != 0 ||
	    (rv = nng_http_handler_set_tree(hd)) != 0 ||
	    (rv = nng_http_handler_set_data(hd, t, tree_free)) != 0) {
		itk_log_error("http.web_root", "err=\"%s\"", nng_strerror(rv));
		if (hd != NULL) {
			nng_http_handler_free(hd);
		}
		tree_free(t);
		return ITK_E_CONFIG;
	}
	t = NULL; /* transferred to the handler */
	if ((rv = nng_http_server_add_handler(srv, hd)) != 0) {
		itk_log_error("http.web_root", "err=\"%s\"", nng_strerror(rv));
		nng_http_handler_free(hd); /* frees the tree too */
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}
