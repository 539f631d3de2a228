/* SPDX-License-Identifier: Apache-2.0 */
#include "tier.h"

#include <stdbool.h>
#include <stdlib.h>

#include "keys.h"

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
