/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_TIER_H
#define ITK_WORKER_TIER_H

/*
 * Start-up steps shared by the worker tier's daemons (intake-worker,
 * intake-logd, intake-opd): the key files' passphrase and the vault opened
 * with its key file.
 */

#include <stdint.h>

#include "err.h"
#include "vault.h"

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

#endif
