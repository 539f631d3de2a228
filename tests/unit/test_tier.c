/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker/tier: the configuration every daemon of the worker tier shares
 * (intake-worker, intake-logd, intake-opd read it through
 * wk_tier_config_load), its strictness and its messages, the daemons'
 * command line, and the socket file mode parser of intake-opd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tier.h"

static char dir[64];
static char path[128];

static void
write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/itk-tier-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/d.conf", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(path);
	(void)rmdir(dir);
	return 0;
}

#define BASE                                                                  \
	"link_url = ipc:///run/intake/link.ipc\n"                             \
	"keys_dir = /etc/intake/keys\n"                                       \
	"vault_dir = /var/lib/intake/vault\n"                                 \
	"vault_key = /etc/intake/keys/vault.key\n"

/* A daemon's own keys, as the daemons write them. */
struct own {
	const char *listen;
	char listen_copy[64]; /* listen outlives the config freed by load */
	uint64_t n;
	int calls;
	bool fail_check;
};

static itk_err
read_own(itk_config *c, void *arg, char *err, size_t errlen)
{
	struct own *o = arg;

	o->calls++;
	o->listen = itk_config_str(c, "listen", NULL);
	snprintf(o->listen_copy, sizeof(o->listen_copy), "%s",
		 o->listen != NULL ? o->listen : "");
	return itk_config_u64(c, "batch_max", 64, 1, 1024, &o->n, err, errlen);
}

static itk_err
check_own(void *arg, const wk_tier_config *t, char *err, size_t errlen)
{
	const struct own *o = arg;

	(void)t;
	if (o->fail_check) {
		snprintf(err, errlen, "these two keys disagree");
		return ITK_E_CONFIG;
	}
	return ITK_OK;
}

/* Loads path with the test's own keys; err holds the message. */
static itk_err
load(struct own *o, const char *required, wk_tier_config *t, char *err,
     size_t errlen)
{
	wk_tier_spec spec = {.own = read_own,
			     .arg = o,
			     .required = required,
			     .required_value = &o->listen,
			     .check = check_own};
	itk_config *c = NULL;
	itk_err r = wk_tier_config_load(path, &spec, t, &c, err, errlen);

	/* Either a config and ITK_OK, or neither. */
	assert_int_equal(r == ITK_OK, c != NULL);
	itk_config_free(c);
	return r;
}

static void
test_common_keys(void **state)
{
	struct own o = {0};
	wk_tier_config t;
	char err[512] = "";
	itk_config *c = NULL;
	wk_tier_spec spec = {.own = read_own, .arg = &o};

	(void)state;
	write_conf(BASE "keys_passphrase_file = /etc/intake/pass\n"
			"user = intake\ngroup = intake\n"
			"vault_map_size = 1048576\nbatch_max = 7\n");
	assert_int_equal(
	    wk_tier_config_load(path, &spec, &t, &c, err, sizeof(err)),
	    ITK_OK);
	assert_string_equal(t.link_url, "ipc:///run/intake/link.ipc");
	assert_string_equal(t.link_tls.url, t.link_url);
	assert_null(t.link_tls.cert);
	assert_string_equal(t.keys_dir, "/etc/intake/keys");
	assert_string_equal(t.keys_passphrase_file, "/etc/intake/pass");
	assert_string_equal(t.vault_dir, "/var/lib/intake/vault");
	assert_string_equal(t.vault_key, "/etc/intake/keys/vault.key");
	assert_string_equal(t.user, "intake");
	assert_string_equal(t.group, "intake");
	assert_int_equal(t.map_size, 1048576);
	assert_int_equal(o.n, 7);
	assert_int_equal(o.calls, 1);
	itk_config_free(c);

	/* Defaults. */
	write_conf(BASE);
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_OK);
	assert_int_equal(t.map_size, 4ull << 30);
	assert_null(t.user);
	assert_null(t.keys_passphrase_file);
	assert_int_equal(o.n, 64);
}

static void
test_unknown_key_names_line(void **state)
{
	struct own o = {0};
	wk_tier_config t;
	char err[512] = "", want[256];

	(void)state;
	/* A typo of a common key and a key of another daemon. */
	write_conf(BASE "vault_map_sise = 1048576\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	snprintf(want, sizeof(want),
		 "%s: line 5: unknown key 'vault_map_sise'", path);
	assert_string_equal(err, want);
	write_conf(BASE "child_chroot = /var/empty\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	snprintf(want, sizeof(want), "%s: line 5: unknown key 'child_chroot'",
		 path);
	assert_string_equal(err, want);
}

static void
test_required(void **state)
{
	struct own o = {0};
	wk_tier_config t;
	char err[512] = "", want[256];

	(void)state;
	/* Each required key missing in turn. */
	for (size_t i = 0; i < 4; i++) {
		char text[512];
		const char *lines[] = {"link_url = ipc:///l\n",
				       "keys_dir = /k\n", "vault_dir = /v\n",
				       "vault_key = /vk\n"};
		snprintf(text, sizeof(text), "%s%s%s", lines[(i + 1) % 4],
			 lines[(i + 2) % 4], lines[(i + 3) % 4]);
		write_conf(text);
		assert_int_equal(load(&o, NULL, &t, err, sizeof(err)),
				 ITK_E_CONFIG);
		snprintf(want, sizeof(want),
			 "%s: link_url, keys_dir, vault_dir and vault_key "
			 "are required",
			 path);
		assert_string_equal(err, want);
	}
	/* A daemon's own required key is named first (intake-opd). */
	write_conf(BASE);
	assert_int_equal(load(&o, "listen", &t, err, sizeof(err)),
			 ITK_E_CONFIG);
	snprintf(want, sizeof(want),
		 "%s: listen, link_url, keys_dir, vault_dir and vault_key "
		 "are required",
		 path);
	assert_string_equal(err, want);
	write_conf(BASE "listen = ipc:///run/intake/op.ipc\n");
	assert_int_equal(load(&o, "listen", &t, err, sizeof(err)), ITK_OK);
	assert_string_equal(o.listen_copy, "ipc:///run/intake/op.ipc");
}

static void
test_values_and_checks(void **state)
{
	struct own o = {0};
	wk_tier_config t;
	char err[512] = "";

	(void)state;
	/* vault_map_size below its minimum, a daemon's own value out of
	 * range: the message starts with the file. */
	write_conf(BASE "vault_map_size = 4096\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, "vault_map_size"));
	write_conf(BASE "batch_max = 0\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_non_null(strstr(err, "batch_max"));
	/* link_tls_* must fit link_url. */
	write_conf(BASE "link_tls_cert = /c.pem\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, "tls+tcp://"));
	write_conf("link_url = tls+tcp://10.0.0.1:7000\nkeys_dir = /k\n"
		   "vault_dir = /v\nvault_key = /vk\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	/* The daemon's own check comes last, with the same prefix. */
	write_conf(BASE);
	o.fail_check = true;
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, ": these two keys disagree"));
	o.fail_check = false;
	/* A malformed line and a duplicate key name their line. */
	write_conf(BASE "this is not a line\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_non_null(strstr(err, "line 5"));
	write_conf(BASE "keys_dir = /other\n");
	assert_int_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_E_CONFIG);
	assert_non_null(strstr(err, "line 5"));
	/* A missing file: the loader's message, which names it. */
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(load(&o, NULL, &t, err, sizeof(err)), ITK_OK);
	assert_non_null(strstr(err, path));
}

static void
test_parse_mode(void **state)
{
	static const struct {
		const char *s;
		unsigned want; /* 0 with ok false: refused */
		bool ok;
	} cases[] = {
	    {"0660", 0660, true}, {"660", 0660, true}, {"0600", 0600, true},
	    {"0770", 0770, true}, {"0", 0, true},      {"0666", 0, false},
	    {"0661", 0, false},   {"0664", 0, false},  {"4770", 0, false},
	    {"1770", 0, false},   {"0860", 0, false},  {"", 0, false},
	    {"00660", 0, false},  {"+660", 0, false},  {"660 ", 0, false},
	    {"0x1b0", 0, false},  {"-660", 0, false},  {"0777", 0, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned m = 01234;
		itk_err r = wk_tier_parse_mode(cases[i].s, &m);
		if (cases[i].ok) {
			assert_int_equal(r, ITK_OK);
			assert_int_equal(m, cases[i].want);
		} else {
			assert_int_equal(r, ITK_E_CONFIG);
			assert_int_equal(m, 01234); /* untouched */
		}
	}
}

static int usage_calls;

static void
usage(FILE *f)
{
	(void)f;
	usage_calls++;
}

static void
test_begin_command_line(void **state)
{
	struct own o = {0};
	wk_tier_spec spec = {.own = read_own, .arg = &o};
	wk_tier_config t;
	itk_privdrop_target pt;
	itk_config *c = NULL;
	char *help[] = {"intake-x", "--help", NULL};
	char *none[] = {"intake-x", NULL};
	char *wrong[] = {"intake-x", "--conf", "x", NULL};
	char *good[] = {"intake-x", "--config", path, NULL};

	(void)state;
	usage_calls = 0;
	assert_int_equal(
	    wk_tier_begin(2, help, "x", usage, &spec, &t, &c, &pt), 0);
	assert_int_equal(
	    wk_tier_begin(1, none, "x", usage, &spec, &t, &c, &pt), 2);
	assert_int_equal(
	    wk_tier_begin(3, wrong, "x", usage, &spec, &t, &c, &pt), 2);
	assert_int_equal(usage_calls, 3);
	assert_null(c);
	/* A bad config: exit status 2, nothing to free. */
	write_conf("keys_dir = /k\n");
	assert_int_equal(
	    wk_tier_begin(3, good, "x", usage, &spec, &t, &c, &pt), 2);
	assert_null(c);
	/* A good one: go on (-1), the config kept, the ids resolved. */
	write_conf(BASE);
	assert_int_equal(
	    wk_tier_begin(3, good, "x", usage, &spec, &t, &c, &pt), -1);
	assert_non_null(c);
	assert_string_equal(t.vault_dir, "/var/lib/intake/vault");
	assert_int_equal(pt.change, geteuid() == 0);
	assert_int_equal(usage_calls, 3);
	itk_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_common_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key_names_line, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_required, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values_and_checks, setup,
					    teardown),
	    cmocka_unit_test(test_parse_mode),
	    cmocka_unit_test_setup_teardown(test_begin_command_line, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
