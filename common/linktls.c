/* SPDX-License-Identifier: Apache-2.0 */
#include "linktls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "buf.h"
#include "file.h"
#include "log.h"

/* A certificate chain or a key far beyond this is not a link credential. */
#define PEM_MAX (256u * 1024u)

struct itk_link_tls {
	char *cert, *key, *ca, *server_name;
	bool dialer;
};

static bool
is_tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp", 7) == 0;
}

/* The file as a NUL-terminated string (mbedTLS wants one for PEM). */
static itk_err
read_pem(const char *path, bool secret, char **out)
{
	itk_buf *b = NULL;
	char *s = NULL;
	itk_err r;

	r = secret ? itk_file_read_secret(path, PEM_MAX, &b)
		   : itk_file_read(path, PEM_MAX, &b);
	if (r != ITK_OK) {
		goto out;
	}
	if (memchr(itk_buf_ptr(b), '\0', itk_buf_len(b)) != NULL) {
		r = ITK_E_FORMAT; /* PEM is text */
		goto out;
	}
	if ((s = malloc(itk_buf_len(b) + 1)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	memcpy(s, itk_buf_ptr(b), itk_buf_len(b));
	s[itk_buf_len(b)] = '\0';
	*out = s;
	r = ITK_OK;
out:
	itk_buf_free(b); /* wipes */
	return r;
}

itk_err
itk_link_tls_check(const itk_link_tls_files *f, bool dialer, char *err,
		   size_t errlen)
{
	if (!is_tls_url(f->url)) {
		if (f->cert != NULL || f->key != NULL || f->ca != NULL ||
		    f->server_name != NULL) {
			snprintf(err, errlen,
				 "link_tls_* keys need a "
				 "tls+tcp:// link URL");
			return ITK_E_CONFIG;
		}
		return ITK_OK;
	}
	if (f->cert == NULL || f->key == NULL || f->ca == NULL ||
	    (dialer && f->server_name == NULL)) {
		snprintf(
		    err, errlen,
		    "a tls+tcp:// link needs link_tls_cert, link_tls_key, "
		    "link_tls_ca%s",
		    dialer ? " and link_tls_server_name" : "");
		return ITK_E_CONFIG;
	}
	if (!dialer && f->server_name != NULL) {
		snprintf(err, errlen,
			 "link_tls_server_name is for the "
			 "dialling side only");
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

itk_err
itk_link_tls_load(const itk_link_tls_files *f, bool dialer, itk_link_tls **out,
		  char *err, size_t errlen)
{
	itk_link_tls *t = NULL;
	const char *what = NULL;
	itk_err r;

	*out = NULL;
	if ((r = itk_link_tls_check(f, dialer, err, errlen)) != ITK_OK ||
	    !is_tls_url(f->url)) {
		return r;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		return ITK_E_NOMEM;
	}
	t->dialer = dialer;
	if ((r = read_pem(f->cert, false, &t->cert)) != ITK_OK) {
		what = f->cert;
	} else if ((r = read_pem(f->key, true, &t->key)) != ITK_OK) {
		what = f->key;
	} else if ((r = read_pem(f->ca, false, &t->ca)) != ITK_OK) {
		what = f->ca;
	}
	if (r != ITK_OK) {
		snprintf(err, errlen, "%s: %s", what, itk_strerror(r));
		goto out;
	}
	if (dialer && (t->server_name = strdup(f->server_name)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	*out = t;
	t = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_link_tls_free(t);
	return r;
}

void
itk_link_tls_free(itk_link_tls *t)
{
	if (t == NULL) {
		return;
	}
	if (t->key != NULL) {
		sodium_memzero(t->key, strlen(t->key));
	}
	free(t->key);
	free(t->cert);
	free(t->ca);
	free(t->server_name);
	free(t);
}

/* The configuration both ends share: own certificate, the CA, and a peer
 * certificate required. *out is freed by the caller (nng refcount). */
static itk_err
make_config(const itk_link_tls *t, nng_tls_config **out)
{
	nng_tls_config *c = NULL;
	int rv;

	if ((rv = nng_tls_config_alloc(&c, t->dialer ? NNG_TLS_MODE_CLIENT
						     : NNG_TLS_MODE_SERVER)) !=
		0 ||
	    (rv = nng_tls_config_own_cert(c, t->cert, t->key, NULL)) != 0 ||
	    (rv = nng_tls_config_ca_chain(c, t->ca, NULL)) != 0 ||
	    (rv = nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED)) !=
		0 ||
	    (t->dialer &&
	     (rv = nng_tls_config_server_name(c, t->server_name)) != 0)) {
		itk_log_error("link.tls", "err=\"%s\"", nng_strerror(rv));
		if (c != NULL) {
			nng_tls_config_free(c);
		}
		return ITK_E_CONFIG;
	}
	*out = c;
	return ITK_OK;
}

itk_err
itk_link_tls_set_dialer(const itk_link_tls *t, nng_dialer d)
{
	nng_tls_config *c = NULL;
	itk_err r;
	int rv;

	if (!t->dialer) {
		return ITK_E_CONFIG;
	}
	if ((r = make_config(t, &c)) != ITK_OK) {
		return r;
	}
	rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, c);
	nng_tls_config_free(c); /* the dialer holds its own reference */
	return rv == 0 ? ITK_OK : ITK_E_CONFIG;
}

itk_err
itk_link_tls_set_listener(const itk_link_tls *t, nng_listener l)
{
	nng_tls_config *c = NULL;
	itk_err r;
	int rv;

	if (t->dialer) {
		return ITK_E_CONFIG;
	}
	if ((r = make_config(t, &c)) != ITK_OK) {
		return r;
	}
	rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, c);
	nng_tls_config_free(c); /* the listener holds its own reference */
	return rv == 0 ? ITK_OK : ITK_E_CONFIG;
}
