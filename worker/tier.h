/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_TIER_H
#define ITK_WORKER_TIER_H

/*
 * Start-up steps shared by the worker tier's daemons (intake-worker,
 * intake-logd, intake-opd): the configuration keys they all read, the key
 * files' passphrase, the vault opened with its key file, the link to the
 * gateway, and the privilege drop.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "link.h"
#include "linktls.h"
#include "privdrop.h"
#include "sandbox.h"
#include "vault.h"

/*
 * The keys every daemon of the tier reads.  The strings point into the
 * itk_config they were read from: keep it until they are no longer used.
 */
typedef struct {
	const char *link_url;             /* required */
	const char *keys_dir;             /* required */
	const char *keys_passphrase_file; /* NULL: --dev keys or the env */
	const char *vault_dir;            /* required */
	const char *vault_key;            /* required */
	const char *user, *group;    /* started as root: ids to drop to (NULL:
				      * nobody/nogroup, privdrop.h) */
	itk_link_tls_files link_tls; /* link_tls_*; .url = link_url */
	uint64_t map_size;           /* vault_map_size, default 4 GiB */
} wk_tier_config;

/* What a daemon adds to the common keys. */
typedef struct {
	/*
	 * Reads the daemon's own keys from c (every getter marks its key as
	 * used; a key nobody asks for is an error).  Returns ITK_OK, or an
	 * error with a message in err.  NULL: the daemon has none.
	 */
	itk_err (*own)(itk_config *c, void *arg, char *err, size_t errlen);
	void *arg;
	/*
	 * One key of the daemon's own that is required too (intake-opd:
	 * "listen"), named first in the "are required" message, and where
	 * own() stored its value.  NULL: none.
	 */
	const char *required;
	const char *const *required_value;
	/*
	 * After everything above passed: checks that need several keys
	 * together.  Returns ITK_OK, or ITK_E_CONFIG with the reason in
	 * err.  NULL: none.
	 */
	itk_err (*check)(void *arg, const wk_tier_config *t, char *err,
			 size_t errlen);
} wk_tier_spec;

/*
 * The start of each daemon's main, "intake-PROC --config FILE": "--help"
 * prints usage to stdout, any other command line prints it to stderr;
 * the log is named proc; libsodium is initialised; the config is loaded
 * (wk_tier_config_load, its message printed as "intake-PROC: message");
 * then wk_tier_harden.  Returns -1 to go on, with *t, *cfgp (free with
 * itk_config_free) and *target set; or the exit status: 0 after --help,
 * 2 for a wrong command line or config, 1 if libsodium or the hardening
 * fails.
 */
int wk_tier_begin(int argc, char **argv, const char *proc,
		  void (*usage)(FILE *f), const wk_tier_spec *spec,
		  wk_tier_config *t, itk_config **cfgp,
		  itk_privdrop_target *target) ITK_WUR;

/*
 * Loads the config file path strictly (config.h): the common keys, then
 * spec's own keys, then vault_map_size; then every key must have been
 * asked for, the required keys set and the link_tls_* keys fit link_url
 * (linktls.h, dialler).  On success *cfgp holds the strings t points to
 * (free with itk_config_free).  On failure returns ITK_E_CONFIG (or the
 * loader's error) with the message for "PROGRAM: message" in err: the
 * loader's own, or "path: reason", the reason naming the line or key.
 */
itk_err wk_tier_config_load(const char *path, const wk_tier_spec *spec,
			    wk_tier_config *t, itk_config **cfgp, char *err,
			    size_t errlen) ITK_WUR;

/*
 * Parses s as an octal mode for a socket file that only its owner and
 * group may use ("0660", "660", "0600"): 1 to 4 octal digits, no bit
 * outside 0770 (nothing for others, no setuid, setgid or sticky bit).
 * Returns ITK_OK with *mode set, or ITK_E_CONFIG (*mode unchanged).
 */
itk_err wk_tier_parse_mode(const char *s, unsigned *mode) ITK_WUR;

/*
 * The key files' passphrase from file or the INTAKE_KEYS_PASSPHRASE
 * variable; *out = NULL (and ITK_OK) when there is neither: a development
 * store.  A daemon never prompts.  Free with itk_askpass_free.
 */
itk_err wk_daemon_passphrase(const char *file, char **out) ITK_WUR;

/*
 * Loads the vault key file (kind vault; another kind is ITK_E_CONFIG) and
 * opens the vault in dir with it.  The key copy is wiped before return.
 */
itk_err wk_vault_open_keyed(const char *dir, uint64_t map_size,
			    const char *key_file, const char *passphrase,
			    vault **out) ITK_WUR;

/*
 * Reads t's link TLS files (itk_link_tls_load, dialler) and makes the link
 * to t->link_url with them; the copies read are wiped before return (nng
 * keeps its parsed configuration).  Returns ITK_OK; ITK_E_CONFIG with the
 * reason in err for the TLS files; else wk_link_new_tls's error, err
 * empty.  The caller frees *out with wk_link_free.
 */
itk_err wk_tier_link_new(const wk_tier_config *t, wk_link **out, char *err,
			 size_t errlen) ITK_WUR;

/*
 * First thing after the config: itk_privdrop_harden (no core, not
 * dumpable), then the ids t->user/t->group name resolved into target
 * while /etc/passwd can be read (itk_privdrop_resolve).  Returns ITK_OK,
 * or ITK_E_IO / ITK_E_CONFIG (the caller exits 2).
 */
itk_err wk_tier_harden(const wk_tier_config *t,
		       itk_privdrop_target *target) ITK_WUR;

/*
 * After every file, key, vault and socket the daemon needs is open:
 * itk_privdrop_apply(target, no chroot), then itk_sandbox_apply(kind).
 * Returns ITK_OK, or the failing step's error (the caller must exit).
 */
itk_err wk_tier_lock_down(const itk_privdrop_target *target,
			  itk_sandbox_kind kind,
			  const itk_sandbox_params *p) ITK_WUR;

#endif
