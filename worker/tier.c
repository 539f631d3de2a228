/* SPDX-License-Identifier: Apache-2.0 */
#include "tier.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"

/* "path: reason" into err, reason moved out of the way first (the two
 * may be the same buffer). */
static void
prefix_path(char *err, size_t errlen, const char *path)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s", err);
	snprintf(err, errlen, "%s: %s", path, reason);
}

static void
read_common(itk_config *c, wk_tier_config *t)
{
	t->link_url = itk_config_str(c, "link_url", NULL);
	t->keys_dir = itk_config_str(c, "keys_dir", NULL);
	t->keys_passphrase_file =
	    itk_config_str(c, "keys_passphrase_file", NULL);
	t->vault_dir = itk_config_str(c, "vault_dir", NULL);
	t->vault_key = itk_config_str(c, "vault_key", NULL);
	t->user = itk_config_str(c, "user", NULL);
	t->group = itk_config_str(c, "group", NULL);
	t->link_tls.url = t->link_url;
	t->link_tls.cert = itk_config_str(c, "link_tls_cert", NULL);
	t->link_tls.key = itk_config_str(c, "link_tls_key", NULL);
	t->link_tls.ca = itk_config_str(c, "link_tls_ca", NULL);
	t->link_tls.server_name =
	    itk_config_str(c, "link_tls_server_name", NULL);
}

itk_err
wk_tier_config_load(const char *path, const wk_tier_spec *spec,
		    wk_tier_config *t, itk_config **cfgp, char *err,
		    size_t errlen)
{
	itk_config *c = NULL;
	bool extra_missing;
	itk_err r;

	*cfgp = NULL;
	memset(t, 0, sizeof(*t));
	if ((r = itk_config_load(path, &c, err, errlen)) != ITK_OK) {
		return r; /* the loader's message names the file */
	}
	read_common(c, t);
	if ((spec->own != NULL &&
	     (r = spec->own(c, spec->arg, err, errlen)) != ITK_OK) ||
	    (r = itk_config_u64(c, "vault_map_size", 4ull << 30, 1ull << 20,
				1ull << 40, &t->map_size, err, errlen)) !=
		ITK_OK ||
	    (r = itk_config_check_unused(c, err, errlen)) != ITK_OK) {
		prefix_path(err, errlen, path);
		goto out;
	}
	extra_missing =
	    spec->required != NULL &&
	    (spec->required_value == NULL || *spec->required_value == NULL);
	if (extra_missing || t->link_url == NULL || t->keys_dir == NULL ||
	    t->vault_dir == NULL || t->vault_key == NULL) {
		snprintf(err, errlen,
			 "%s: %s%slink_url, keys_dir, vault_dir and vault_key "
			 "are required",
			 path, spec->required != NULL ? spec->required : "",
			 spec->required != NULL ? ", " : "");
		r = ITK_E_CONFIG;
		goto out;
	}
	if (itk_link_tls_check(&t->link_tls, true, err, errlen) != ITK_OK ||
	    (spec->check != NULL &&
	     spec->check(spec->arg, t, err, errlen) != ITK_OK)) {
		prefix_path(err, errlen, path);
		r = ITK_E_CONFIG;
		goto out;
	}
	*cfgp = c;
	c = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_config_free(c);
	return r;
}

itk_err
wk_tier_parse_mode(const char *s, unsigned *mode)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (n >= 4 || s[n] < '0' || s[n] > '7') {
			return ITK_E_CONFIG;
		}
		v = v * 8u + (unsigned)(s[n] - '0');
	}
	if (n == 0 || (v & ~0770u) != 0) {
		return ITK_E_CONFIG;
	}
	*mode = v;
	return ITK_OK;
}

int
wk_tier_begin(int argc, char **argv, const char *proc, void (*usage)(FILE *f),
	      const wk_tier_spec *spec, wk_tier_config *t, itk_config **cfgp,
	      itk_privdrop_target *target)
{
	char err[512] = "";

	*cfgp = NULL;
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		usage(stderr);
		return 2;
	}
	itk_log_init(proc);
	if (itk_crypto_init() != ITK_OK) {
		itk_log_error("start.failed", "what=libsodium");
		return 1;
	}
	if (wk_tier_config_load(argv[2], spec, t, cfgp, err, sizeof(err)) !=
	    ITK_OK) {
		fprintf(stderr, "intake-%s: %s\n", proc, err);
		return 2;
	}
	/* No core, no ptrace; the ids resolved while /etc/passwd is
	 * readable (docs/privsep.md). */
	if (wk_tier_harden(t, target) != ITK_OK) {
		itk_config_free(*cfgp);
		*cfgp = NULL;
		return 2;
	}
	return -1;
}

itk_err
wk_daemon_passphrase(const char *file, char **out)
{
	*out = NULL;
	if (file == NULL && getenv(ITK_ASKPASS_ENV) == NULL) {
		return ITK_OK;
	}
	return itk_askpass(file, NULL, false, out);
}

itk_err
wk_vault_open_keyed(const char *dir, uint64_t map_size, const char *key_file,
		    const char *passphrase, vault **out)
{
	itk_secret_key *vk = NULL;
	vault_options vo = {.dir = dir, .map_size = map_size};
	itk_err r;

	if ((r = itk_key_load(key_file, passphrase, &vk)) != ITK_OK) {
		return r;
	}
	if (itk_key_kind_of(vk) != ITK_KEY_VAULT) {
		r = ITK_E_CONFIG;
		goto out;
	}
	r = vault_open(&vo, itk_key_secret(vk), out);
out:
	itk_key_free(vk); /* wipes */
	return r;
}

itk_err
wk_tier_link_new(const wk_tier_config *t, wk_link **out, char *err,
		 size_t errlen)
{
	itk_link_tls *tls = NULL;
	itk_err r;

	*out = NULL;
	if (errlen > 0) {
		err[0] = '\0';
	}
	if ((r = itk_link_tls_load(&t->link_tls, true, &tls, err, errlen)) !=
	    ITK_OK) {
		return r;
	}
	r = wk_link_new_tls(t->link_url, tls, out);
	itk_link_tls_free(tls); /* wipes; nng holds the parsed copy */
	return r;
}

itk_err
wk_tier_harden(const wk_tier_config *t, itk_privdrop_target *target)
{
	itk_err r;

	if ((r = itk_privdrop_harden()) != ITK_OK) {
		return r;
	}
	return itk_privdrop_resolve(t->user, t->group, target);
}

itk_err
wk_tier_lock_down(const itk_privdrop_target *target, itk_sandbox_kind kind,
		  const itk_sandbox_params *p)
{
	itk_err r;

	if ((r = itk_privdrop_apply(target, NULL)) != ITK_OK) {
		return r;
	}
	/*
	 * glibc's malloc reads /sys/devices/system/cpu/online (openat, which
	 * the filter kills) the first time a thread needs a ninth arena, as
	 * nng's threads may: a fixed cap, the default's value computed now,
	 * means glibc never asks (as the worker's child, docs/privsep.md).
	 * A sanitizer's allocator refuses mallopt and has no such read.
	 */
	if (mallopt(M_ARENA_MAX, 8 * get_nprocs()) != 1) {
		itk_log_info("malloc.arena_cap", "applied=0");
	}
	return itk_sandbox_apply(kind, p);
}
