/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
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

static void
static_cb(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *root = nng_http_handler_get_data(hd);
	const char *uri = nng_http_req_get_uri(req), *ctype = NULL;
	char path[PATH_CAP];
	uint8_t *body = NULL;
	size_t len = 0;
	nng_http_res *res = NULL;
	uint16_t status = 200;
	int rv;
	itk_err r;

	r = uri == NULL
		? ITK_E_FORMAT
		: gw_static_path(root, uri, path, sizeof(path), &ctype);
	if (r != ITK_OK) {
		status = r == ITK_E_TOO_BIG ? 414 : 400;
	} else if ((r = read_regular(path, &body, &len)) != ITK_OK) {
		status = r == ITK_E_NOT_FOUND ? 404 : 500;
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
		    (rv = nng_http_res_copy_data(res, body, len)) != 0) {
			goto fail;
		}
	} else if ((rv = nng_http_res_set_header(res, "Content-Type",
						 "text/plain")) != 0 ||
		   (rv = nng_http_res_copy_data(res, "not found\n", 10)) !=
		       0) {
		goto fail;
	}
	free(body);
	gw_metrics_request(GW_EP_WEB, status);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	return;
fail:
	free(body);
	if (res != NULL) {
		nng_http_res_free(res);
	}
	gw_metrics_request(GW_EP_WEB, 500);
	nng_aio_finish(aio, rv);
}

itk_err
gw_static_add(nng_http_server *srv, const char *root)
{
	nng_http_handler *hd = NULL;
	int rv;

	/* A plain tree: the API's more specific paths win. */
	if ((rv = nng_http_handler_alloc(&hd, "/", static_cb)) != 0 ||
	    (rv = nng_http_handler_set_method(hd, "GET")) != 0 ||
	    (rv = nng_http_handler_set_tree(hd)) != 0 ||
	    (rv = nng_http_handler_set_data(hd, (void *)root, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(srv, hd)) != 0) {
		itk_log_error("http.web_root", "err=\"%s\"", nng_strerror(rv));
		if (hd != NULL) {
			nng_http_handler_free(hd);
		}
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}
