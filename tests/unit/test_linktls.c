/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/linktls: which configurations are refused, how the files are
 * read, and that a bad or mismatched PEM never becomes an nng TLS
 * configuration.  The handshake itself (a peer from another CA refused)
 * is stack_netns.  Certificates are made here with openssl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "file.h"
#include "linktls.h"

static char dir[64];
static char ca[128], crt[128], key[128], key2[128];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int
setup(void **state)
{
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
			 "-nodes";

	snprintf(dir, sizeof(dir), "/tmp/itk-test-linktls-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(crt, sizeof(crt), "%s/a.crt", dir);
	snprintf(key, sizeof(key), "%s/a.key", dir);
	snprintf(key2, sizeof(key2), "%s/b.key", dir);
	/* A CA, a leaf it signed, and an unrelated key. */
	if (sh("cd %s && openssl req -x509 -new %s -keyout ca.key -out ca.crt "
	       "-days 2 -subj /CN=ca >/dev/null 2>&1 && "
	       "openssl req -new %s -keyout a.key -out a.csr -subj /CN=a "
	       ">/dev/null 2>&1 && openssl x509 -req -in a.csr -CA ca.crt "
	       "-CAkey ca.key -CAcreateserial -days 2 -out a.crt "
	       ">/dev/null 2>&1 && openssl genpkey -algorithm ec -pkeyopt "
	       "ec_paramgen_curve:prime256v1 -out b.key >/dev/null 2>&1 && "
	       "chmod 600 a.key b.key",
	       dir, ec, ec) != 0) {
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	return sh("rm -rf %s", dir);
}

static itk_err
check(const char *url, const char *c, const char *k, const char *a,
      const char *sn, bool dialer)
{
	itk_link_tls_files f = {url, c, k, a, sn};
	char err[256] = "";
	itk_err r = itk_link_tls_check(&f, dialer, err, sizeof(err));

	/* Every refusal says why. */
	assert_true(r == ITK_OK || err[0] != '\0');
	return r;
}

static void
config_combinations(void **state)
{
	const char *tls = "tls+tcp://10.0.0.1:9100";

	/* No TLS: fine without keys, refused with any stray one. */
	assert_int_equal(
	    check("tcp://1.2.3.4:1", NULL, NULL, NULL, NULL, true), ITK_OK);
	assert_int_equal(check("ipc:///x", NULL, NULL, NULL, NULL, false),
			 ITK_OK);
	assert_int_equal(check("tcp://1.2.3.4:1", crt, NULL, NULL, NULL, true),
			 ITK_E_CONFIG);
	assert_int_equal(check("ipc:///x", NULL, NULL, ca, NULL, false),
			 ITK_E_CONFIG);
	assert_int_equal(
	    check("tcp://1.2.3.4:1", NULL, NULL, NULL, "gw", true),
	    ITK_E_CONFIG);
	/* TLS: all three files; the dialler also the server name; the
	 * listener none. */
	assert_int_equal(check(tls, crt, key, ca, "gw", true), ITK_OK);
	assert_int_equal(check(tls, crt, key, ca, NULL, false), ITK_OK);
	assert_int_equal(check(tls, crt, key, ca, NULL, true), ITK_E_CONFIG);
	assert_int_equal(check(tls, crt, key, ca, "gw", false), ITK_E_CONFIG);
	assert_int_equal(check(tls, NULL, key, ca, "gw", true), ITK_E_CONFIG);
	assert_int_equal(check(tls, crt, NULL, ca, "gw", true), ITK_E_CONFIG);
	assert_int_equal(check(tls, crt, key, NULL, "gw", true), ITK_E_CONFIG);
	assert_int_equal(
	    check("tls+tcp6://[::1]:1", crt, key, NULL, NULL, false),
	    ITK_E_CONFIG);
}

static itk_err
load(const char *c, const char *k, const char *a, bool dialer,
     itk_link_tls **t)
{
	itk_link_tls_files f = {"tls+tcp://127.0.0.1:1", c, k, a,
				dialer ? "gw" : NULL};
	char err[256] = "";

	return itk_link_tls_load(&f, dialer, t, err, sizeof(err));
}

static void
load_reads_files(void **state)
{
	itk_link_tls *t = (itk_link_tls *)1;
	itk_link_tls_files plain = {"tcp://127.0.0.1:1", NULL, NULL, NULL,
				    NULL};
	char path[160], err[256] = "";

	/* Without TLS: nothing read, *out NULL. */
	assert_int_equal(itk_link_tls_load(&plain, true, &t, err, sizeof(err)),
			 ITK_OK);
	assert_null(t);
	assert_int_equal(load(crt, key, ca, false, &t), ITK_OK);
	assert_non_null(t);
	itk_link_tls_free(t);
	/* A missing file, a key others may read, a key given as the CA. */
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	assert_int_not_equal(load(path, key, ca, false, &t), ITK_OK);
	assert_null(t);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(load(crt, key, ca, false, &t), ITK_E_PERM);
	assert_null(t);
	assert_int_equal(chmod(key, 0600), 0);
	/* A NUL inside is no PEM. */
	snprintf(path, sizeof(path), "%s/nul.pem", dir);
	assert_int_equal(
	    itk_file_write_atomic(path, "-----BEGIN\0x", 12, 0600, 0), ITK_OK);
	assert_int_equal(load(path, key, ca, false, &t), ITK_E_FORMAT);
	assert_null(t);
}

/* Loads (c, k, a) and sets it on a fresh tls+tcp endpoint: the result. */
static itk_err
apply(const char *c, const char *k, const char *a, bool dialer)
{
	itk_link_tls *t = NULL;
	nng_socket s;
	itk_err r;

	assert_int_equal(load(c, k, a, dialer, &t), ITK_OK);
	if (dialer) {
		nng_dialer d;
		assert_int_equal(nng_req0_open(&s), 0);
		assert_int_equal(
		    nng_dialer_create(&d, s, "tls+tcp://127.0.0.1:1"), 0);
		r = itk_link_tls_set_dialer(t, d);
		/* The wrong kind of endpoint is refused too. */
		{
			nng_listener l;
			assert_int_equal(nng_listener_create(
					     &l, s, "tls+tcp://127.0.0.1:0"),
					 0);
			assert_int_equal(itk_link_tls_set_listener(t, l),
					 ITK_E_CONFIG);
		}
	} else {
		nng_listener l;
		assert_int_equal(nng_rep0_open(&s), 0);
		assert_int_equal(
		    nng_listener_create(&l, s, "tls+tcp://127.0.0.1:0"), 0);
		r = itk_link_tls_set_listener(t, l);
	}
	nng_close(s);
	itk_link_tls_free(t);
	return r;
}

static void
nng_config_from_pem(void **state)
{
	char bad[160];
	itk_buf *b = NULL;
	uint8_t *p;

	assert_int_equal(apply(crt, key, ca, false), ITK_OK);
	assert_int_equal(apply(crt, key, ca, true), ITK_OK);
	/* A key where the certificate belongs.  (A valid key that is not the
	 * certificate's passes here: mbedTLS does not pair them; the handshake
	 * fails instead.) */
	assert_int_equal(apply(key2, key, ca, false), ITK_E_CONFIG);
	assert_int_equal(apply(key2, key, ca, true), ITK_E_CONFIG);
	/* Not PEM at all, as certificate and as CA. */
	snprintf(bad, sizeof(bad), "%s/junk.pem", dir);
	assert_int_equal(itk_file_write_atomic(bad, "junk\n", 5, 0600, 0),
			 ITK_OK);
	assert_int_equal(apply(bad, key, ca, false), ITK_E_CONFIG);
	assert_int_equal(apply(crt, key, bad, true), ITK_E_CONFIG);
	/* The certificate with one base64 character changed mid-body. */
	assert_int_equal(itk_file_read(crt, 65536, &b), ITK_OK);
	p = itk_buf_mutable_ptr(b);
	p[itk_buf_len(b) / 2] = p[itk_buf_len(b) / 2] == 'A' ? 'B' : 'A';
	snprintf(bad, sizeof(bad), "%s/flipped.pem", dir);
	assert_int_equal(
	    itk_file_write_atomic(bad, p, itk_buf_len(b), 0600, 0), ITK_OK);
	itk_buf_free(b);
	assert_int_equal(apply(bad, key, ca, false), ITK_E_CONFIG);
	/* Truncated: the first half of the file. */
	assert_int_equal(itk_file_read(crt, 65536, &b), ITK_OK);
	snprintf(bad, sizeof(bad), "%s/short.pem", dir);
	assert_int_equal(itk_file_write_atomic(bad, itk_buf_ptr(b),
					       itk_buf_len(b) / 2, 0600, 0),
			 ITK_OK);
	itk_buf_free(b);
	assert_int_equal(apply(bad, key, ca, false), ITK_E_CONFIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_combinations),
	    cmocka_unit_test(load_reads_files),
	    cmocka_unit_test(nng_config_from_pem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
