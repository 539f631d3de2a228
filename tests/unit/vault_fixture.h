/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault tests' fixture, shared by test_vault.c and test_vault_log.c:
 * a temp dir per test with the vault in dir/v under a fixed key, and test
 * messages with fake "sealed" bytes (the vault stores them as given).
 * Define VAULT_FIXTURE_NAME (the temp dir's tag) before including.
 */
#ifndef ITK_TEST_VAULT_FIXTURE_H
#define ITK_TEST_VAULT_FIXTURE_H

static char dir[64];
static char vdir[96];
static uint8_t key[VAULT_KEY_LEN];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/itk-test-%s-XXXXXX",
		 VAULT_FIXTURE_NAME);
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(vdir, sizeof(vdir), "%s/v", dir);
	memset(key, 0x5a, sizeof(key));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* The test's vault, opened with map_size (0: the default); the caller
 * closes it with vault_close. */
static vault *
open_vault(uint64_t map_size)
{
	vault_options o = {.dir = vdir, .map_size = map_size};
	vault *v = NULL;

	assert_int_equal(vault_open(&o, key, &v), ITK_OK);
	assert_non_null(v);
	return v;
}

typedef struct {
	uint8_t sealed[128];
	uint8_t mailbox[32];
	uint8_t reply_pk[32];
	uint8_t thread[32];
	vault_message m;
} tmsg;

/* Message number seed in queue q with urgency u, accepted at at; mbx < 0:
 * no contact data, else mailbox and reply key number mbx. */
static void
tmsg_init(tmsg *t, int seed, itk_queue q, itk_urgency u, int mbx, uint64_t at)
{
	memset(t, 0, sizeof(*t));
	snprintf((char *)t->sealed, sizeof(t->sealed),
		 "SEALEDMARKER message %d", seed);
	t->m.sealed = t->sealed;
	t->m.sealed_len = sizeof(t->sealed);
	itk_sha256(t->m.submission_id, t->sealed, sizeof(t->sealed));
	t->m.intake_key_id = 7;
	t->m.accepted_at = at;
	t->m.queue = q;
	t->m.urgency = u;
	t->m.language = ITK_LANG_UK;
	t->m.channel = 1;
	if (mbx >= 0) {
		snprintf((char *)t->mailbox, sizeof(t->mailbox), "mailbox %d",
			 mbx);
		snprintf((char *)t->reply_pk, sizeof(t->reply_pk), "pk %d",
			 mbx);
		t->m.mailbox_id = t->mailbox;
		t->m.reply_pk = t->reply_pk;
	}
}

#endif
