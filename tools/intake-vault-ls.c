/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-vault-ls: lists what a vault holds, without any key: one line per
 * stored message (ids, labels, sizes; never content), then totals.  Opens
 * the vault read-only, so it is safe beside running workers and on an
 * mdb_copy backup.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "vault.h"

static itk_err
print_message(const vault_message_view *m, void *arg)
{
	char sid[2 * VAULT_ID_LEN + 1], cid[2 * VAULT_ID_LEN + 1];

	(void)arg;
	itk_hex(sid, m->submission_id, VAULT_ID_LEN);
	itk_hex(cid, m->case_id, VAULT_ID_LEN);
	printf("message %s case=%s queue=%s urgency=%s language=%s "
	       "accepted_at=%llu bytes=%zu\n",
	       sid, cid, itk_queue_name(m->queue),
	       itk_urgency_name(m->urgency), itk_lang_name(m->language),
	       (unsigned long long)m->accepted_at, m->sealed_len);
	return ITK_OK;
}

int
main(int argc, char **argv)
{
	vault_options vo = {.read_only = true};
	vault_stats st;
	vault *v = NULL;
	int totals_only = 0, rc = 1;
	itk_err r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: intake-vault-ls [--totals] VAULT_DIR\n"
		       "Lists stored messages (ids and triage labels, never "
		       "content) and totals.\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--totals") == 0) {
		totals_only = 1;
		vo.dir = argv[2];
	} else if (argc == 2) {
		vo.dir = argv[1];
	} else {
		fprintf(stderr,
			"usage: intake-vault-ls [--totals] VAULT_DIR\n");
		return 2;
	}
	if (itk_crypto_init() != ITK_OK) {
		return 1;
	}
	if ((r = vault_open(&vo, NULL, &v)) != ITK_OK) {
		fprintf(stderr, "intake-vault-ls: %s: %s\n", vo.dir,
			itk_strerror(r));
		return 1;
	}
	if (!totals_only &&
	    (r = vault_foreach_message(v, print_message, NULL)) != ITK_OK) {
		fprintf(stderr, "intake-vault-ls: %s\n", itk_strerror(r));
		goto out;
	}
	if ((r = vault_get_stats(v, &st)) != ITK_OK) {
		fprintf(stderr, "intake-vault-ls: %s\n", itk_strerror(r));
		goto out;
	}
	printf("totals cases=%llu messages=%llu quarantined=%llu",
	       (unsigned long long)st.cases, (unsigned long long)st.messages,
	       (unsigned long long)st.quarantined);
	for (int q = 0; q < ITK_QUEUE_COUNT; q++) {
		printf(" open_%s=%llu", itk_queue_name((itk_queue)q),
		       (unsigned long long)st.open_by_queue[q]);
	}
	printf("\n");
	rc = 0;
out:
	vault_free(v);
	return rc;
}
