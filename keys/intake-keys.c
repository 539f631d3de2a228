/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-keys: the key ceremony.  One subcommand per step, as a table (the
 * way wg.c does it); each says what it needs in --help.  Formats and the
 * ceremony itself: docs/keys.md.
 *
 * Exit codes: 0 done; 1 failed (the message says why and what to do);
 * 2 usage error; 3 refused (would overwrite a key, or retire without
 * --force).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "file.h"
#include "itk_config.h"
#include "keys.h"
#include "log.h"
#include "qgrants.h"

#define EXIT_OK      0
#define EXIT_FAIL    1
#define EXIT_USAGE   2
#define EXIT_REFUSED 3

#define DAY                 86400u
#define DEFAULT_INTAKE_DAYS 30u
#define DEFAULT_GRACE_DAYS  30u
#define DEV_INTAKE_DAYS     365u
#define DEV_ORIGIN          "intake.dev/log"
#define PASSPHRASE_MIN      12u
#define STORE_ENV           "INTAKE_KEYS_DIR"

enum {
	O_DIR = 1u << 0,
	O_PASSFILE = 1u << 1,
	O_DEV = 1u << 2,
	O_KDF = 1u << 3,
	O_DAYS = 1u << 4,
	O_NOT_BEFORE = 1u << 5,
	O_ROLE = 1u << 6,
	O_QUEUES = 1u << 7,
	O_ORIGIN = 1u << 8,
	O_OUT = 1u << 9,
	O_GRACE = 1u << 10,
	O_FORCE = 1u << 11,
	O_ORG_PUB = 1u << 12,
};

typedef struct {
	unsigned seen;
	const char *dir;
	const char *passphrase_file;
	bool dev;
	bool force;
	itk_kdf_params kdf;
	uint64_t days;
	uint64_t not_before;
	uint64_t grace_days;
	itk_role role;
	uint32_t queues;
	const char *origin;
	const char *out;
	const char *org_pub;
	const char *arg; /* the positional argument, if the command has one */
	uint64_t now;
	char *pass;        /* obtained once, when first needed */
	bool pass_checked; /* it opened a key already: no need to confirm */
} opts;

typedef struct {
	const char *name;
	int (*fn)(opts *o);
	unsigned allowed;
	const char *arg_name; /* NULL: no positional argument */
	const char *usage;
	const char *help;
} command;

static const char *progname = "intake-keys";

/* ---------------------------------------------------------- messages */

static void
fail(const char *what, itk_err r, const char *hint)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, itk_strerror(r));
	if (hint != NULL) {
		fprintf(stderr, "  %s\n", hint);
	}
}

static void
dev_banner(void)
{
	fprintf(stderr, "\n"
			"*****************************************************"
			"************\n"
			"* WARNING: DEVELOPMENT KEYS, NO PASSPHRASE, NOT "
			"SECURE.         *\n"
			"* Anyone who can read these files can open every "
			"submission.    *\n"
			"* Never use them for a real deployment or real "
			"people's words.  *\n"
			"*****************************************************"
			"************\n"
			"\n");
}

static void
fmt_time(uint64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		int n = snprintf(out, 32, "%llu", (unsigned long long)t);
		(void)n;
	}
}

static int
exit_for(itk_err r)
{
	return r == ITK_E_EXISTS ? EXIT_REFUSED : EXIT_FAIL;
}

/* -------------------------------------------------------- the store */

static itk_err
path_of(const opts *o, char *out, size_t outlen, itk_key_kind kind,
	uint32_t key_id, const char *name, bool pub)
{
	return itk_keystore_path(out, outlen, o->dir, kind, key_id, name, pub);
}

static itk_err
store_path(const opts *o, const char *file, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", o->dir, file);

	return n < 0 || (size_t)n >= outlen ? ITK_E_TOO_BIG : ITK_OK;
}

typedef struct {
	char origin[256];
	uint64_t serial;
} store_state;

static itk_err
state_load(const opts *o, store_state *st)
{
	char path[4096], err[256];
	itk_config *c = NULL;
	const char *origin;
	itk_err r;

	memset(st, 0, sizeof(*st));
	if ((r = store_path(o, ITK_KEYSTORE_STATE, path, sizeof(path))) !=
	    ITK_OK) {
		return r;
	}
	if ((r = itk_config_load(path, &c, err, sizeof(err))) != ITK_OK) {
		if (r != ITK_E_NOT_FOUND) {
			fprintf(stderr, "%s: %s: %s\n", progname, path, err);
		}
		return r;
	}
	origin = itk_config_str(c, "origin", "");
	if (strlen(origin) >= sizeof(st->origin)) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	memcpy(st->origin, origin, strlen(origin) + 1);
	if ((r = itk_config_u64(c, "serial", 0, 0, UINT64_MAX - 1, &st->serial,
				err, sizeof(err))) != ITK_OK ||
	    (r = itk_config_check_unused(c, err, sizeof(err))) != ITK_OK) {
		fprintf(stderr, "%s: %s: %s\n", progname, path, err);
		goto out;
	}
out:
	itk_config_free(c);
	return r;
}

static itk_err
state_save(const opts *o, const store_state *st)
{
	char path[4096], text[512];
	int n;
	itk_err r;

	if ((r = store_path(o, ITK_KEYSTORE_STATE, path, sizeof(path))) !=
	    ITK_OK) {
		return r;
	}
	n = snprintf(text, sizeof(text),
		     "# intake-keys state; written by intake-keys, see "
		     "docs/keys.md\norigin = %s\nserial = %llu\n",
		     st->origin, (unsigned long long)st->serial);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		return ITK_E_TOO_BIG;
	}
	return itk_file_write_atomic(path, text, (size_t)n, 0600, 0);
}

/* A store made with dev-init (or init --dev) makes dev keys throughout. */
static bool
store_is_dev(const opts *o)
{
	char path[4096];
	itk_key_info info;

	if (path_of(o, path, sizeof(path), ITK_KEY_ORG, 0, NULL, false) !=
	    ITK_OK) {
		return false;
	}
	return itk_key_info_load(path, &info) == ITK_OK && info.dev;
}

/* --------------------------------------------------------- passphrase */

static itk_err
get_pass(opts *o, bool for_new_key)
{
	itk_err r;

	if (o->pass != NULL) {
		return ITK_OK;
	}
	r = itk_askpass(o->passphrase_file,
			for_new_key ? "New key passphrase: "
				    : "Key store passphrase: ",
			for_new_key, &o->pass);
	switch (r) {
	case ITK_OK:
		break;
	case ITK_E_MISSING:
		fail("no passphrase", r,
		     "set " ITK_ASKPASS_ENV ", give --passphrase-file FILE "
		     "(mode 0600), or run on a terminal; for an insecure "
		     "development key only, --dev");
		return r;
	case ITK_E_VERIFY:
		fprintf(stderr,
			"%s: the two passphrases differ; nothing was made: "
			"try again\n",
			progname);
		return r;
	case ITK_E_PERM:
		fail("passphrase file", r,
		     "chmod 600 the passphrase file: no one else may read it");
		return r;
	default:
		fail("passphrase", r, NULL);
		return r;
	}
	if (for_new_key && strlen(o->pass) < PASSPHRASE_MIN) {
		fprintf(stderr,
			"%s: passphrase too short: use at least %u "
			"characters (several random words are best)\n",
			progname, PASSPHRASE_MIN);
		itk_askpass_free(o->pass);
		o->pass = NULL;
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

/* Loads a key of the store, asking for the passphrase only if needed. */
static itk_err
load_key(opts *o, const char *path, itk_secret_key **out)
{
	itk_key_info info;
	itk_err r;

	if ((r = itk_key_info_load(path, &info)) != ITK_OK) {
		goto fail;
	}
	if (!info.dev && (r = get_pass(o, false)) != ITK_OK) {
		return r;
	}
	if ((r = itk_key_load(path, info.dev ? NULL : o->pass, out)) !=
	    ITK_OK) {
		goto fail;
	}
	if (!info.dev) {
		o->pass_checked = true;
	}
	return ITK_OK;
fail:
	switch (r) {
	case ITK_E_NOT_FOUND:
		fail(path, r,
		     "is this the right --dir? 'intake-keys list' "
		     "shows what the store holds");
		break;
	case ITK_E_PERM:
		fail(path, r,
		     "secret key files must be mode 0600: chmod 600 it, and "
		     "find out who could have read it");
		break;
	case ITK_E_PASSPHRASE:
		fail(path, r,
		     "wrong passphrase, or the file was altered or damaged: "
		     "restore it from the offline copy");
		break;
	default:
		fail(path, r, "the file is damaged or not a key file");
		break;
	}
	return r;
}

/* ---------------------------------------------------------- new keys */

static void
print_key(const char *verb, const itk_key_info *in)
{
	char fp[ITK_FINGERPRINT_LEN], a[32], b[32];

	itk_key_fingerprint(in->kind, in->public_key, fp);
	printf("%s %s key %08x  fingerprint %s", verb,
	       itk_key_kind_name(in->kind), in->key_id, fp);
	if (in->kind == ITK_KEY_INTAKE) {
		fmt_time(in->not_before, a);
		fmt_time(in->not_after, b);
		printf("  valid %s .. %s", a, b);
	}
	if (in->kind == ITK_KEY_OPERATOR) {
		printf("  name %s role %s", in->name, itk_role_name(in->role));
	}
	if (in->kind == ITK_KEY_QUEUE) {
		printf("  queue key %s", in->name);
	}
	printf("%s\n", in->dev ? "  [DEV: NO PASSPHRASE]" : "");
}

/*
 * Makes and saves one key (and its .pub, but for the vault key, which has
 * no public half).  dev: no passphrase.
 */
static itk_err
make_key(opts *o, const itk_key_info *tmpl, bool dev, itk_key_info *made)
{
	char path[4096];
	itk_secret_key *k = NULL;
	itk_err r;

	if ((r = path_of(o, path, sizeof(path), tmpl->kind, 0, tmpl->name,
			 false)) != ITK_OK) {
		goto out;
	}
	/* Checked before the passphrase is asked for, to save the typing;
	 * itk_key_save checks again, atomically. */
	if (tmpl->kind != ITK_KEY_INTAKE && access(path, F_OK) == 0) {
		r = ITK_E_EXISTS;
		fail(path, r,
		     "a key of this kind exists: it is never overwritten. To "
		     "replace it, move it away first (and keep a copy until "
		     "nothing needs it)");
		goto out;
	}
	if (!dev && (r = get_pass(o, !o->pass_checked)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_key_generate(tmpl, &k)) != ITK_OK) {
		fail("making the key", r, NULL);
		goto out;
	}
	if ((r = path_of(o, path, sizeof(path), tmpl->kind, itk_key_id(k),
			 tmpl->name, false)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_key_save(k, path, dev ? NULL : o->pass, &o->kdf)) !=
	    ITK_OK) {
		fail(path, r,
		     r == ITK_E_EXISTS ? "refusing to overwrite a key" : NULL);
		goto out;
	}
	*made = *itk_key_info_of(k);
	made->dev = dev;
	if (tmpl->kind != ITK_KEY_VAULT) {
		if ((r = path_of(o, path, sizeof(path), tmpl->kind,
				 itk_key_id(k), tmpl->name, true)) != ITK_OK ||
		    (r = itk_key_save_public(made, path)) != ITK_OK) {
			fail(path, r, NULL);
			goto out;
		}
	}
	print_key("made", made);
	r = ITK_OK;
out:
	itk_key_free(k);
	return r;
}

static void
tmpl_init(itk_key_info *t, itk_key_kind kind, uint64_t now)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->created = now;
}

static bool
new_keys_dev(opts *o)
{
	bool dev = o->dev || store_is_dev(o);

	if (dev) {
		dev_banner();
	}
	return dev;
}

static itk_err
ensure_dir(const opts *o)
{
	struct stat st;
	itk_err r;

	if ((r = itk_mkdir_p(o->dir, 0700)) != ITK_OK) {
		fail(o->dir, r, "cannot create the key store directory");
		return r;
	}
	if (stat(o->dir, &st) == 0 && (st.st_mode & 077) != 0) {
		fprintf(stderr,
			"%s: warning: %s is open to other users (mode %03o); "
			"chmod 700 it\n",
			progname, o->dir, (unsigned)(st.st_mode & 0777));
	}
	return ITK_OK;
}

static itk_err
new_intake(opts *o, bool dev, uint64_t not_before, uint64_t days,
	   itk_key_info *made)
{
	itk_key_info t;

	tmpl_init(&t, ITK_KEY_INTAKE, o->now);
	t.not_before = not_before;
	t.not_after = not_before + days * DAY - 1;
	return make_key(o, &t, dev, made);
}

static int
cmd_init(opts *o)
{
	store_state st;
	itk_key_info t, made;
	bool dev = o->dev;
	itk_err r;

	if (o->origin == NULL) {
		fprintf(stderr,
			"%s: init needs --origin NAME: this deployment's "
			"name, e.g. intake.example.org/log (it names the "
			"log and appears in every bundle and receipt)\n",
			progname);
		return EXIT_USAGE;
	}
	if (strlen(o->origin) >= sizeof(st.origin)) {
		fprintf(stderr, "%s: --origin is too long\n", progname);
		return EXIT_USAGE;
	}
	if (dev) {
		dev_banner();
	}
	if ((r = ensure_dir(o)) != ITK_OK) {
		return EXIT_FAIL;
	}
	tmpl_init(&t, ITK_KEY_ORG, o->now);
	if ((r = make_key(o, &t, dev, &made)) != ITK_OK) {
		return exit_for(r);
	}
	memset(&st, 0, sizeof(st));
	memcpy(st.origin, o->origin, strlen(o->origin) + 1);
	if ((r = state_save(o, &st)) != ITK_OK) {
		fail("writing the store state", r, NULL);
		return EXIT_FAIL;
	}
	printf("\nThe organisation key signs every key bundle.  Keep org.key "
	       "offline; publish org.pub\nand read its fingerprint aloud to "
	       "whoever pins it in clients.\n");
	return EXIT_OK;
}

static int
cmd_new_intake(opts *o)
{
	itk_key_info made;
	uint64_t nb = (o->seen & O_NOT_BEFORE) ? o->not_before : o->now;
	itk_err r;

	if ((r = ensure_dir(o)) != ITK_OK) {
		return EXIT_FAIL;
	}
	r = new_intake(o, new_keys_dev(o), nb, o->days, &made);
	if (r != ITK_OK) {
		return exit_for(r);
	}
	printf("Run 'intake-keys bundle' to publish it.\n");
	return EXIT_OK;
}

static int
new_single(opts *o, itk_key_kind kind)
{
	itk_key_info t, made;
	itk_err r;

	if ((r = ensure_dir(o)) != ITK_OK) {
		return EXIT_FAIL;
	}
	tmpl_init(&t, kind, o->now);
	r = make_key(o, &t, new_keys_dev(o), &made);
	return r == ITK_OK ? EXIT_OK : exit_for(r);
}

static int
cmd_new_receipt(opts *o)
{
	return new_single(o, ITK_KEY_RECEIPT);
}

static int
cmd_new_log(opts *o)
{
	return new_single(o, ITK_KEY_LOG);
}

static int
cmd_new_vault(opts *o)
{
	return new_single(o, ITK_KEY_VAULT);
}

static int
cmd_new_operator(opts *o)
{
	itk_key_info t, made;
	char opdir[4096];
	itk_err r;

	if (!itk_key_name_ok(o->arg)) {
		fprintf(stderr,
			"%s: bad operator name '%s': use 1..%u of A-Z a-z "
			"0-9 . _ - (not starting with '.')\n",
			progname, o->arg, ITK_KEY_NAME_MAX);
		return EXIT_USAGE;
	}
	if (!(o->seen & O_ROLE)) {
		fprintf(stderr,
			"%s: new-operator needs --role "
			"triage|supervisor|phone|admin\n",
			progname);
		return EXIT_USAGE;
	}
	if ((r = ensure_dir(o)) != ITK_OK ||
	    (r = store_path(o, ITK_KEYSTORE_OPERATORS, opdir,
			    sizeof(opdir))) != ITK_OK ||
	    (r = itk_mkdir_p(opdir, 0700)) != ITK_OK) {
		fail("operators directory", r, NULL);
		return EXIT_FAIL;
	}
	tmpl_init(&t, ITK_KEY_OPERATOR, o->now);
	t.role = o->role;
	t.queues = (o->seen & O_QUEUES) ? o->queues : ITK_KEY_QUEUES_ALL;
	memcpy(t.name, o->arg, strlen(o->arg) + 1);
	r = make_key(o, &t, new_keys_dev(o), &made);
	return r == ITK_OK ? EXIT_OK : exit_for(r);
}

/* ----------------------------------------------------------- bundle */

static itk_keystore_entry *
list_store(const opts *o, size_t *n)
{
	itk_keystore_entry *e;
	char bad[4096];
	itk_err r;

	if ((e = calloc(ITK_KEYSTORE_ENTRIES_MAX, sizeof(*e))) == NULL) {
		fail("listing the store", ITK_E_NOMEM, NULL);
		return NULL;
	}
	r = itk_keystore_list(o->dir, e, ITK_KEYSTORE_ENTRIES_MAX, n, bad,
			      sizeof(bad));
	if (r != ITK_OK) {
		fail(bad[0] != '\0' ? bad : o->dir, r,
		     r == ITK_E_PERM
			 ? "secret key files must be mode 0600: chmod 600 it"
		     : r == ITK_E_NOT_FOUND
			 ? "no such key store: check --dir or " STORE_ENV
			 : "move the damaged or misnamed file out of the "
			   "store and restore it from a copy");
		free(e);
		return NULL;
	}
	return e;
}

static const itk_keystore_entry *
find_kind(const itk_keystore_entry *e, size_t n, itk_key_kind kind)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].info.kind == kind) {
			return &e[i];
		}
	}
	return NULL;
}

/* Writes the bundle for the store as it is now, signed by org. */
static int
make_bundle(opts *o, const itk_secret_key *org)
{
	itk_keystore_entry *e = NULL;
	itk_key_info intake[ITK_BUNDLE_KEYS_MAX];
	const itk_keystore_entry *rc, *lg;
	store_state st;
	char path[4096];
	size_t n = 0, ni = 0;
	itk_buf *b = NULL;
	bool current = false;
	int rc_exit = EXIT_FAIL;
	itk_err r;

	if ((r = state_load(o, &st)) != ITK_OK && r != ITK_E_NOT_FOUND) {
		goto out;
	}
	if (o->origin != NULL) {
		if (strlen(o->origin) >= sizeof(st.origin)) {
			fprintf(stderr, "%s: --origin is too long\n",
				progname);
			goto out;
		}
		memcpy(st.origin, o->origin, strlen(o->origin) + 1);
	}
	if (st.origin[0] == '\0') {
		fprintf(stderr, "%s: no origin: give --origin NAME\n",
			progname);
		rc_exit = EXIT_USAGE;
		goto out;
	}
	if ((e = list_store(o, &n)) == NULL) {
		goto out;
	}
	/* Current and previous: every intake key whose window has not
	 * ended, newest first (a pending one too: clients pick by window). */
	for (size_t i = 0; i < n && ni < ITK_BUNDLE_KEYS_MAX; i++) {
		if (e[i].info.kind == ITK_KEY_INTAKE &&
		    e[i].info.not_after >= o->now) {
			intake[ni++] = e[i].info;
			current = current || e[i].info.not_before <= o->now;
		}
	}
	rc = find_kind(e, n, ITK_KEY_RECEIPT);
	lg = find_kind(e, n, ITK_KEY_LOG);
	if (ni == 0) {
		fprintf(stderr,
			"%s: no intake key is valid now or later: run "
			"'intake-keys new-intake' or 'intake-keys rotate'\n",
			progname);
		goto out;
	}
	if (rc == NULL || lg == NULL) {
		fprintf(stderr,
			"%s: the store has no %s key: run "
			"'intake-keys new-%s'\n",
			progname, rc == NULL ? "receipt" : "log",
			rc == NULL ? "receipt" : "log");
		goto out;
	}
	if ((b = itk_buf_new(ITK_KEY_BUNDLE_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		fail("bundle", r, NULL);
		goto out;
	}
	st.serial++;
	if ((r = itk_bundle_make(org, intake, ni, rc->info.public_key,
				 lg->info.public_key, st.origin, st.serial,
				 o->now, b)) != ITK_OK) {
		fail("making the bundle", r, NULL);
		goto out;
	}
	if (o->out != NULL) {
		int w = snprintf(path, sizeof(path), "%s", o->out);
		if (w < 0 || (size_t)w >= sizeof(path)) {
			goto out;
		}
	} else if (store_path(o, ITK_KEYSTORE_BUNDLE, path, sizeof(path)) !=
		   ITK_OK) {
		goto out;
	}
	if ((r = itk_file_write_atomic(path, itk_buf_ptr(b), itk_buf_len(b),
				       0644, 0)) != ITK_OK) {
		fail(path, r, NULL);
		goto out;
	}
	/* The serial is spent once a bundle carrying it exists. */
	if ((r = state_save(o, &st)) != ITK_OK) {
		fail("writing the store state", r,
		     "the next bundle may repeat this serial: fix the "
		     "state file before publishing another");
		goto out;
	}
	printf("wrote %s: serial %llu, origin %s, %zu intake key%s:", path,
	       (unsigned long long)st.serial, st.origin, ni,
	       ni == 1 ? "" : "s");
	for (size_t i = 0; i < ni; i++) {
		printf(" %08x", intake[i].key_id);
	}
	printf("\n");
	if (!current) {
		fprintf(stderr,
			"%s: warning: no listed intake key is valid yet: "
			"clients cannot submit until one is\n",
			progname);
	}
	if (itk_key_is_dev(org)) {
		dev_banner();
	}
	rc_exit = EXIT_OK;
out:
	itk_buf_free(b);
	free(e);
	return rc_exit;
}

static int
with_org(opts *o, itk_secret_key **org)
{
	char path[4096];

	if (path_of(o, path, sizeof(path), ITK_KEY_ORG, 0, NULL, false) !=
	    ITK_OK) {
		return EXIT_FAIL;
	}
	return load_key(o, path, org) == ITK_OK ? EXIT_OK : EXIT_FAIL;
}

static int
cmd_bundle(opts *o)
{
	itk_secret_key *org = NULL;
	int rc;

	if ((rc = with_org(o, &org)) == EXIT_OK) {
		rc = make_bundle(o, org);
	}
	itk_key_free(org);
	return rc;
}

static int
cmd_rotate(opts *o)
{
	itk_secret_key *org = NULL;
	itk_key_info made;
	int rc;
	itk_err r;

	/* The org key first: its passphrase, once checked, also protects
	 * the new intake key, and nothing is made if it is wrong. */
	if ((rc = with_org(o, &org)) != EXIT_OK) {
		goto out;
	}
	r = new_intake(o, itk_key_is_dev(org) || o->dev, o->now, o->days,
		       &made);
	if (r != ITK_OK) {
		rc = exit_for(r);
		goto out;
	}
	rc = make_bundle(o, org);
out:
	itk_key_free(org);
	return rc;
}

/* ----------------------------------------------------------- retire */

static int
cmd_retire(opts *o)
{
	itk_keystore_entry *e = NULL;
	char path[4096], a[32];
	size_t n = 0, due = 0, done = 0;
	uint64_t grace = o->grace_days * DAY;
	int rc = EXIT_FAIL;
	itk_err r;

	if ((e = list_store(o, &n)) == NULL) {
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		const itk_key_info *in = &e[i].info;
		if (in->kind != ITK_KEY_INTAKE ||
		    in->not_after + grace >= o->now) {
			continue;
		}
		due++;
		fmt_time(in->not_after, a);
		printf("%s intake key %08x (window ended %s)\n",
		       o->force ? "destroying" : "due for retirement:",
		       in->key_id, a);
		if (!o->force) {
			continue;
		}
		if (e[i].has_secret) {
			if ((r = path_of(o, path, sizeof(path), ITK_KEY_INTAKE,
					 in->key_id, NULL, false)) != ITK_OK ||
			    (r = itk_key_destroy_file(path)) != ITK_OK) {
				fail(path, r,
				     "could not destroy the key file");
				goto out;
			}
		}
		if (e[i].has_public) {
			if ((r = path_of(o, path, sizeof(path), ITK_KEY_INTAKE,
					 in->key_id, NULL, true)) != ITK_OK) {
				goto out;
			}
			if (unlink(path) != 0) {
				fail(path, ITK_E_IO, strerror(errno));
				goto out;
			}
		}
		done++;
	}
	if (due == 0) {
		printf("nothing to retire: no intake key's window ended more "
		       "than %llu days ago\n",
		       (unsigned long long)o->grace_days);
		rc = EXIT_OK;
	} else if (!o->force) {
		fprintf(stderr,
			"%s: refusing to destroy %zu key%s without --force.\n"
			"  Destroyed keys can never open anything sealed to "
			"them again.  Run with\n"
			"  --force only once the vault no longer needs them "
			"(every case sealed to\n"
			"  them has been opened and stored under the vault "
			"key) and no copy of the\n"
			"  store elsewhere (backups, workers) still holds "
			"them.\n",
			progname, due, due == 1 ? "" : "s");
		rc = EXIT_REFUSED;
	} else {
		printf("destroyed %zu intake key%s; remove them from every "
		       "other copy of the store too\n",
		       done, done == 1 ? "" : "s");
		rc = EXIT_OK;
	}
out:
	free(e);
	return rc;
}

/* ------------------------------------------------------------- list */

static void
queue_list(uint32_t q, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < ITK_QUEUE_COUNT; i++) {
		if (q & (1u << i)) {
			int w = snprintf(out + o, outlen - o, "%s%s",
					 o > 0 ? "," : "",
					 itk_queue_name((itk_queue)i));
			if (w < 0 || (size_t)w >= outlen - o) {
				return;
			}
			o += (size_t)w;
		}
	}
}

static const char *
intake_status(const itk_key_info *in, uint64_t now, bool *first_valid)
{
	if (in->not_before > now) {
		return "pending";
	}
	if (in->not_after < now) {
		return "expired";
	}
	if (*first_valid) {
		*first_valid = false;
		return "current";
	}
	return "previous";
}

static int
cmd_list(opts *o)
{
	itk_keystore_entry *e;
	size_t n = 0;
	bool first_valid = true, any_dev = false;

	if ((e = list_store(o, &n)) == NULL) {
		return EXIT_FAIL;
	}
	printf("key store %s: %zu key%s\n", o->dir, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const itk_key_info *in = &e[i].info;
		char fp[ITK_FINGERPRINT_LEN], a[32], b[32], q[64];
		itk_key_fingerprint(in->kind, in->public_key, fp);
		printf("%-8s %08x  %s  %-8s", itk_key_kind_name(in->kind),
		       in->key_id, fp,
		       e[i].has_secret ? (e[i].has_public ? "key+pub" : "key")
				       : "pub");
		if (in->kind == ITK_KEY_INTAKE) {
			fmt_time(in->not_before, a);
			fmt_time(in->not_after, b);
			printf("  %s .. %s  %s", a, b,
			       intake_status(in, o->now, &first_valid));
		} else if (in->kind == ITK_KEY_OPERATOR) {
			queue_list(in->queues, q, sizeof(q));
			printf("  %s  role=%s  queues=%s", in->name,
			       itk_role_name(in->role), q);
		} else if (in->kind == ITK_KEY_QUEUE) {
			printf("  %s", in->name);
		}
		printf("%s\n", in->dev ? "  DEV-NO-PASSPHRASE" : "");
		any_dev = any_dev || in->dev;
	}
	if (any_dev) {
		dev_banner();
	}
	free(e);
	return EXIT_OK;
}

/* ----------------------------------------------------------- verify */

static int
cmd_verify(opts *o)
{
	uint8_t org_pk[32];
	itk_buf *b = NULL;
	itk_pb_key_bundle_body *body = NULL;
	char fp[ITK_FINGERPRINT_LEN], a[32], c[32];
	bool first_valid = true;
	int rc = EXIT_FAIL;
	itk_err r;

	if (o->org_pub == NULL) {
		fprintf(stderr,
			"%s: verify needs --org-pub FILE: the organisation "
			"public key you pinned (org.pub, or its 64 hex "
			"digits)\n",
			progname);
		return EXIT_USAGE;
	}
	if ((r = itk_org_pub_load(o->org_pub, org_pk)) != ITK_OK) {
		fail(o->org_pub, r,
		     "not an organisation public key: give org.pub or 64 hex "
		     "digits");
		goto out;
	}
	if ((r = itk_file_read(o->arg, ITK_KEY_BUNDLE_MAX, &b)) != ITK_OK) {
		fail(o->arg, r, NULL);
		goto out;
	}
	if ((r = itk_bundle_verify(itk_buf_ptr(b), itk_buf_len(b), org_pk,
				   &body)) != ITK_OK) {
		fail(o->arg, r,
		     r == ITK_E_VERIFY
			 ? "this bundle was NOT signed by that organisation "
			   "key: do not publish or use it"
			 : "not a valid key bundle");
		goto out;
	}
	itk_key_fingerprint(ITK_KEY_ORG, org_pk, fp);
	printf("bundle OK: signed by organisation key %s\n", fp);
	printf("origin   %s\nserial   %llu\n", body->origin,
	       (unsigned long long)body->serial);
	fmt_time(body->issued_at, a);
	printf("issued   %s\n", a);
	for (size_t i = 0; i < body->n_intake_keys; i++) {
		const Intake__V1__IntakeKey *k = body->intake_keys[i];
		itk_key_info in = {.kind = ITK_KEY_INTAKE,
				   .not_before = k->not_before,
				   .not_after = k->not_after};
		itk_key_fingerprint(ITK_KEY_INTAKE, k->public_key.data, fp);
		fmt_time(k->not_before, a);
		fmt_time(k->not_after, c);
		printf("intake   %08x  %s  %s .. %s  %s\n", k->key_id, fp, a,
		       c, intake_status(&in, o->now, &first_valid));
	}
	itk_key_fingerprint(ITK_KEY_RECEIPT, body->receipt_public_key.data,
			    fp);
	printf("receipt  %s\n", fp);
	itk_key_fingerprint(ITK_KEY_LOG, body->log_public_key.data, fp);
	printf("log      %s\n", fp);
	if (first_valid) {
		fprintf(stderr,
			"%s: warning: no intake key in this bundle is valid "
			"now\n",
			progname);
	}
	rc = EXIT_OK;
out:
	itk_wire_free(body);
	itk_buf_free(b);
	return rc;
}

/* ------------------------------------------------------- queue keys */

static int
cmd_new_service(opts *o)
{
	return new_single(o, ITK_KEY_SERVICE);
}

/* The highest version of queue q in the store (0 if none). */
static uint32_t
queue_version_max(const itk_keystore_entry *e, size_t n, itk_queue q)
{
	uint32_t best = 0, v;
	itk_queue eq;

	for (size_t i = 0; i < n; i++) {
		if (e[i].info.kind == ITK_KEY_QUEUE &&
		    itk_queue_key_parse(e[i].info.name, &eq, &v) == ITK_OK &&
		    eq == q && v > best) {
			best = v;
		}
	}
	return best;
}

/* Makes version v+1 of queue q (v the newest in the store). */
static itk_err
new_queue_key(opts *o, itk_queue q, bool dev)
{
	itk_keystore_entry *e;
	itk_key_info t, made;
	size_t n = 0;
	uint32_t v;
	itk_err r;

	if ((e = list_store(o, &n)) == NULL) {
		return ITK_E_IO;
	}
	v = queue_version_max(e, n, q) + 1u;
	free(e);
	tmpl_init(&t, ITK_KEY_QUEUE, o->now);
	t.queues = 1u << q;
	if ((r = itk_queue_key_name(q, v, t.name)) != ITK_OK) {
		fail("queue key version", r, NULL);
		return r;
	}
	return make_key(o, &t, dev, &made);
}

static int
cmd_new_queue_key(opts *o)
{
	int q = itk_queue_from_name(o->arg);
	itk_err r;

	if (q < 0) {
		fprintf(stderr,
			"%s: unknown queue '%s': surrender, captivity, "
			"casualty or other\n",
			progname, o->arg);
		return EXIT_USAGE;
	}
	if ((r = ensure_dir(o)) != ITK_OK) {
		return EXIT_FAIL;
	}
	r = new_queue_key(o, (itk_queue)q, new_keys_dev(o));
	if (r == ITK_OK) {
		fprintf(stderr,
			"%s: now run 'intake-keys queue-keys' to grant it to "
			"the queue's operators, and restart intake-opd\n",
			progname);
	}
	return r == ITK_OK ? EXIT_OK : exit_for(r);
}

/* Sorting grants into the file's order. */
static int
grant_cmp(const void *pa, const void *pb)
{
	const itk_qgrant *a = pa, *b = pb;

	if (a->queue != b->queue) {
		return a->queue < b->queue ? -1 : 1;
	}
	if (a->version != b->version) {
		return a->version < b->version ? -1 : 1;
	}
	return a->operator_key_id < b->operator_key_id   ? -1
	       : a->operator_key_id > b->operator_key_id ? 1
							 : 0;
}

static int
key_cmp(const void *pa, const void *pb)
{
	const itk_qkey *a = pa, *b = pb;

	if (a->queue != b->queue) {
		return a->queue < b->queue ? -1 : 1;
	}
	return a->version < b->version ? -1 : a->version > b->version ? 1 : 0;
}

/*
 * Writes the signed queue-keys file: the service public key, every queue
 * key version in the store, and for each version one grant per operator
 * whose key allows that queue.  A grant is what lets an operator read a
 * queue: an operator whose queues no longer include q gets no grant in
 * the new file (revocation: rotate q with new-queue-key first).
 */
static itk_err
write_queue_keys(opts *o, const itk_secret_key *org)
{
	itk_keystore_entry *e = NULL;
	itk_qgrants *g = NULL;
	itk_secret_key *qk = NULL;
	const itk_keystore_entry *svc;
	itk_buf *b = NULL;
	char path[4096];
	size_t n = 0;
	itk_err r = ITK_E_NOMEM;

	if ((e = list_store(o, &n)) == NULL) {
		return ITK_E_IO;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (b = itk_buf_new(ITK_QGRANTS_FILE_MAX)) == NULL) {
		goto out;
	}
	if ((svc = find_kind(e, n, ITK_KEY_SERVICE)) == NULL) {
		r = ITK_E_NOT_FOUND;
		fail("service key", r,
		     "make intake-opd's key first: intake-keys new-service");
		goto out;
	}
	g->issued_at = o->now;
	memcpy(g->service_pk, svc->info.public_key, ITK_PK_LEN);
	for (size_t i = 0; i < n; i++) {
		const itk_key_info *in = &e[i].info;
		itk_qkey *k;
		if (in->kind != ITK_KEY_QUEUE) {
			continue;
		}
		if (g->n_keys >= ITK_QGRANTS_KEYS_MAX) {
			r = ITK_E_FULL;
			fail("queue keys", r, "retire old queue key versions");
			goto out;
		}
		k = &g->keys[g->n_keys++];
		if ((r = itk_queue_key_parse(in->name, &k->queue,
					     &k->version)) != ITK_OK) {
			goto out;
		}
		memcpy(k->public_key, in->public_key, ITK_PK_LEN);
		if ((r = path_of(o, path, sizeof(path), ITK_KEY_QUEUE, 0,
				 in->name, false)) != ITK_OK ||
		    (r = load_key(o, path, &qk)) != ITK_OK) {
			goto out;
		}
		for (size_t j = 0; j < n; j++) {
			const itk_key_info *op = &e[j].info;
			itk_qgrant *gr;
			if (op->kind != ITK_KEY_OPERATOR ||
			    op->role == ITK_ROLE_NONE ||
			    (op->queues & (1u << k->queue)) == 0) {
				continue;
			}
			if (g->n_grants >= ITK_QGRANTS_GRANTS_MAX) {
				r = ITK_E_FULL;
				fail("grants", r, NULL);
				goto out;
			}
			gr = &g->grants[g->n_grants++];
			gr->queue = k->queue;
			gr->version = k->version;
			gr->operator_key_id = op->key_id;
			if ((r = itk_qgrant_seal(itk_key_secret(qk),
						 op->public_key,
						 gr->wrapped)) != ITK_OK) {
				fail(op->name, r, "not a valid operator key");
				goto out;
			}
		}
		itk_key_free(qk);
		qk = NULL;
	}
	qsort(g->keys, g->n_keys, sizeof(g->keys[0]), key_cmp);
	qsort(g->grants, g->n_grants, sizeof(g->grants[0]), grant_cmp);
	if ((r = itk_qgrants_encode(g, itk_key_secret(org), b)) != ITK_OK) {
		fail("queue-keys file", r, NULL);
		goto out;
	}
	if (o->out != NULL) {
		int m = snprintf(path, sizeof(path), "%s", o->out);
		r = m < 0 || (size_t)m >= sizeof(path) ? ITK_E_TOO_BIG
						       : ITK_OK;
	} else {
		r = store_path(o, ITK_QGRANTS_FILE, path, sizeof(path));
	}
	if (r != ITK_OK ||
	    (r = itk_file_write_atomic(path, itk_buf_ptr(b), itk_buf_len(b),
				       0644, 0)) != ITK_OK) {
		fail(path, r, NULL);
		goto out;
	}
	printf("wrote %s: %zu queue key version%s, %zu grant%s\n", path,
	       g->n_keys, g->n_keys == 1 ? "" : "s", g->n_grants,
	       g->n_grants == 1 ? "" : "s");
	r = ITK_OK;
out:
	itk_key_free(qk);
	free(g);
	itk_buf_free(b);
	free(e);
	return r;
}

static int
cmd_queue_keys(opts *o)
{
	itk_secret_key *org = NULL;
	itk_err r = ITK_E_IO;
	int rc;

	if ((rc = with_org(o, &org)) == EXIT_OK) {
		r = write_queue_keys(o, org);
		rc = r == ITK_OK ? EXIT_OK : exit_for(r);
	}
	itk_key_free(org);
	return rc;
}

/* ---------------------------------------------------------- dev-init */

static int
cmd_dev_init(opts *o)
{
	static const struct {
		const char *name;
		itk_role role;
	} ops[] = {{"dev-admin", ITK_ROLE_ADMIN},
		   {"dev-triage", ITK_ROLE_TRIAGE},
		   {"dev-supervisor", ITK_ROLE_SUPERVISOR},
		   {"dev-phone", ITK_ROLE_PHONE}};
	static const itk_key_kind singles[] = {ITK_KEY_ORG, ITK_KEY_RECEIPT,
					       ITK_KEY_LOG, ITK_KEY_VAULT,
					       ITK_KEY_SERVICE};
	itk_secret_key *org = NULL;
	itk_key_info t, made;
	store_state st;
	char path[4096];
	int rc = EXIT_FAIL;
	itk_err r;

	o->dir = o->arg;
	dev_banner();
	if (path_of(o, path, sizeof(path), ITK_KEY_ORG, 0, NULL, false) ==
		ITK_OK &&
	    access(path, F_OK) == 0) {
		fprintf(stderr,
			"%s: %s already holds a key store; nothing changed "
			"(remove the directory to start again)\n",
			progname, o->dir);
		return EXIT_REFUSED;
	}
	if (ensure_dir(o) != ITK_OK ||
	    store_path(o, ITK_KEYSTORE_OPERATORS, path, sizeof(path)) !=
		ITK_OK ||
	    itk_mkdir_p(path, 0700) != ITK_OK) {
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		tmpl_init(&t, singles[i], o->now);
		if ((r = make_key(o, &t, true, &made)) != ITK_OK) {
			return exit_for(r);
		}
	}
	/* Valid from an hour ago, so a clock a little behind still works. */
	if ((r = new_intake(o, true, o->now - 3600, DEV_INTAKE_DAYS, &made)) !=
	    ITK_OK) {
		return exit_for(r);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		tmpl_init(&t, ITK_KEY_OPERATOR, o->now);
		t.role = ops[i].role;
		t.queues = ITK_KEY_QUEUES_ALL;
		memcpy(t.name, ops[i].name, strlen(ops[i].name) + 1);
		if ((r = make_key(o, &t, true, &made)) != ITK_OK) {
			return exit_for(r);
		}
	}
	memset(&st, 0, sizeof(st));
	{
		const char *origin =
		    o->origin != NULL ? o->origin : DEV_ORIGIN;
		if (strlen(origin) >= sizeof(st.origin)) {
			return EXIT_USAGE;
		}
		memcpy(st.origin, origin, strlen(origin) + 1);
	}
	if ((r = state_save(o, &st)) != ITK_OK) {
		fail("writing the store state", r, NULL);
		return EXIT_FAIL;
	}
	for (unsigned q = 0; q < ITK_QUEUE_COUNT; q++) {
		if ((r = new_queue_key(o, (itk_queue)q, true)) != ITK_OK) {
			return exit_for(r);
		}
	}
	if (with_org(o, &org) == EXIT_OK) {
		rc = make_bundle(o, org);
		if (rc == EXIT_OK) {
			r = write_queue_keys(o, org);
			rc = r == ITK_OK ? EXIT_OK : exit_for(r);
		}
	}
	itk_key_free(org);
	if (rc == EXIT_OK) {
		fprintf(stderr,
			"%s: development key store ready in %s: INSECURE, "
			"for development and tests only\n",
			progname, o->dir);
	}
	return rc;
}

/* ---------------------------------------------------------- commands */

static const command commands[] = {
    {"init", cmd_init, O_DIR | O_PASSFILE | O_DEV | O_KDF | O_ORIGIN, NULL,
     "init --origin NAME [--dir DIR] [--kdf COST] [--dev]",
     "Make a new key store with its organisation key (org.key, org.pub).\n"
     "Do this on an offline machine.  NAME is the deployment's name, e.g.\n"
     "intake.example.org/log."},
    {"new-intake", cmd_new_intake,
     O_DIR | O_PASSFILE | O_DEV | O_KDF | O_DAYS | O_NOT_BEFORE, NULL,
     "new-intake [--days N] [--not-before WHEN] [--dir DIR]",
     "Make an intake key (X25519) valid for N days (default 30) from\n"
     "WHEN (Unix seconds or YYYY-MM-DD, UTC; default now)."},
    {"new-receipt", cmd_new_receipt, O_DIR | O_PASSFILE | O_DEV | O_KDF, NULL,
     "new-receipt [--dir DIR]",
     "Make the gateway's receipt signing key (Ed25519)."},
    {"new-log", cmd_new_log, O_DIR | O_PASSFILE | O_DEV | O_KDF, NULL,
     "new-log [--dir DIR]",
     "Make the vault log's checkpoint signing key (Ed25519)."},
    {"new-vault", cmd_new_vault, O_DIR | O_PASSFILE | O_DEV | O_KDF, NULL,
     "new-vault [--dir DIR]",
     "Make the vault key (32 random bytes) that encrypts contact data."},
    {"new-operator", cmd_new_operator,
     O_DIR | O_PASSFILE | O_DEV | O_KDF | O_ROLE | O_QUEUES, "NAME",
     "new-operator NAME --role triage|supervisor|phone|admin "
     "[--queues Q,Q]",
     "Make an operator's signing key (Ed25519) in operators/NAME.key.\n"
     "Queues: surrender,captivity,casualty,other (default all)."},
    {"new-service", cmd_new_service, O_DIR | O_PASSFILE | O_DEV | O_KDF, NULL,
     "new-service [--dir DIR]",
     "Make intake-opd's service key (X25519, service.key): operators seal\n"
     "a queue key to it for the length of one request."},
    {"new-queue-key", cmd_new_queue_key, O_DIR | O_PASSFILE | O_DEV | O_KDF,
     "QUEUE", "new-queue-key QUEUE [--dir DIR]",
     "Make the next version of QUEUE's key (X25519, queue-QUEUE-V.key).\n"
     "The first version creates the queue key; a later one rotates it\n"
     "(revocation): new cases are sealed to the newest version."},
    {"queue-keys", cmd_queue_keys, O_DIR | O_PASSFILE | O_OUT, NULL,
     "queue-keys [--dir DIR] [--out FILE]",
     "Sign the queue-keys file (default DIR/queue-keys.bin): the service\n"
     "key, every queue key version, and one grant (the queue secret key\n"
     "sealed to the operator) per operator per queue its key allows."},
    {"bundle", cmd_bundle, O_DIR | O_PASSFILE | O_ORIGIN | O_OUT, NULL,
     "bundle [--dir DIR] [--out FILE] [--origin NAME]",
     "Sign a new key bundle (default DIR/bundle.pb) with the organisation\n"
     "key: every intake key whose window has not ended (newest first),\n"
     "the receipt and log keys, the origin, and the next serial."},
    {"rotate", cmd_rotate,
     O_DIR | O_PASSFILE | O_DEV | O_KDF | O_DAYS | O_ORIGIN | O_OUT, NULL,
     "rotate [--days N] [--dir DIR]",
     "Make a new intake key valid from now for N days (default 30) and\n"
     "sign a new bundle.  The previous key stays listed until its window\n"
     "ends.  The new key gets the organisation key's passphrase."},
    {"retire", cmd_retire, O_DIR | O_GRACE | O_FORCE, NULL,
     "retire [--grace-days N] [--force] [--dir DIR]",
     "Destroy (overwrite, then unlink) intake keys whose window ended more\n"
     "than N days ago (default 30).  Without --force it only lists them\n"
     "and exits 3: give --force once the vault no longer needs them."},
    {"list", cmd_list, O_DIR, NULL, "list [--dir DIR]",
     "Show every key: kind, key id, fingerprint (read it aloud to compare),\n"
     "files, intake windows and status, operator roles.  No passphrase."},
    {"verify", cmd_verify, O_ORG_PUB, "BUNDLE", "verify BUNDLE --org-pub FILE",
     "Check a bundle against the pinned organisation key (org.pub or 64\n"
     "hex digits) and print what it lists."},
    {"dev-init", cmd_dev_init, O_ORIGIN, "DIR", "dev-init DIR [--origin NAME]",
     "Make a whole DEVELOPMENT store in DIR in one go: org, intake (valid\n"
     "a year), receipt, log, vault, service, one key per queue, operators\n"
     "dev-admin, dev-triage, dev-supervisor, dev-phone, bundle.pb and\n"
     "queue-keys.bin.  No passphrases: INSECURE.\n"
     "Exits 3 if DIR already holds a store."},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [options]\n\n"
		"The Intake key ceremony.  Commands:\n",
		progname);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fprintf(f, "  %s\n", commands[i].usage);
	}
	fprintf(
	    f,
	    "\nCommon options:\n"
	    "  --dir DIR              the key store (or " STORE_ENV ")\n"
	    "  --passphrase-file FILE first line is the passphrase (file "
	    "mode 0600);\n"
	    "                         or set " ITK_ASKPASS_ENV
	    ", or type it when asked\n"
	    "  --kdf COST             interactive | moderate (default) | "
	    "sensitive\n"
	    "  --dev                  no passphrase: INSECURE, development "
	    "only\n"
	    "  -h, --help             this text; '%s COMMAND --help' for "
	    "one command\n\n"
	    "Exit codes: 0 done, 1 failed, 2 usage error, 3 refused.\n"
	    "Formats and the ceremony step by step: docs/keys.md.\n",
	    progname);
}

static void
usage_one(FILE *f, const command *c)
{
	fprintf(f, "Usage: %s %s\n\n%s\n", progname, c->usage, c->help);
	if (c->allowed & O_DIR) {
		fprintf(f, "\nThe store is --dir DIR or $" STORE_ENV ".\n");
	}
	if (c->allowed & O_PASSFILE) {
		fprintf(f, "Passphrase: $" ITK_ASKPASS_ENV
			   ", --passphrase-file FILE, or the terminal.\n");
	}
}

static itk_err
parse_when(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *end;
	time_t t;

	if (itk_parse_u64(s, 0, UINT64_MAX / 2, out) == ITK_OK) {
		return ITK_OK;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0') {
		return ITK_E_FORMAT;
	}
	if ((t = timegm(&tm)) < 0) {
		return ITK_E_RANGE;
	}
	*out = (uint64_t)t;
	return ITK_OK;
}

static itk_err
parse_queues(const char *s, uint32_t *out)
{
	char item[64];
	size_t n = 0;
	uint32_t q = 0;

	for (const char *p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			int v;
			item[n] = '\0';
			if ((v = itk_queue_from_name(item)) < 0) {
				return ITK_E_FORMAT;
			}
			q |= 1u << v;
			n = 0;
			if (*p == '\0') {
				break;
			}
			continue;
		}
		if (n + 1 >= sizeof(item)) {
			return ITK_E_FORMAT;
		}
		item[n++] = *p;
	}
	*out = q;
	return q != 0 ? ITK_OK : ITK_E_FORMAT;
}

static int
parse_opts(const command *c, int argc, char **argv, opts *o)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, O_DIR},
	    {"passphrase-file", required_argument, NULL, O_PASSFILE},
	    {"dev", no_argument, NULL, O_DEV},
	    {"kdf", required_argument, NULL, O_KDF},
	    {"days", required_argument, NULL, O_DAYS},
	    {"not-before", required_argument, NULL, O_NOT_BEFORE},
	    {"role", required_argument, NULL, O_ROLE},
	    {"queues", required_argument, NULL, O_QUEUES},
	    {"origin", required_argument, NULL, O_ORIGIN},
	    {"out", required_argument, NULL, O_OUT},
	    {"grace-days", required_argument, NULL, O_GRACE},
	    {"force", no_argument, NULL, O_FORCE},
	    {"org-pub", required_argument, NULL, O_ORG_PUB},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, idx;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (ch == 'h') {
			usage_one(stdout, c);
			return -1;
		}
		if (ch == '?' || ch == ':') {
			fprintf(stderr,
				"%s %s: unknown option or missing "
				"value: %s\n",
				progname, c->name, argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (((unsigned)ch & c->allowed) == 0) {
			fprintf(stderr,
				"%s %s: option --%s does not apply "
				"to this command\n",
				progname, c->name, longopts[idx].name);
			return EXIT_USAGE;
		}
		o->seen |= (unsigned)ch;
		switch (ch) {
		case O_DIR:
			o->dir = optarg;
			break;
		case O_PASSFILE:
			o->passphrase_file = optarg;
			break;
		case O_DEV:
			o->dev = true;
			break;
		case O_FORCE:
			o->force = true;
			break;
		case O_KDF:
			if (strcmp(optarg, "interactive") == 0) {
				o->kdf = itk_kdf_interactive;
			} else if (strcmp(optarg, "moderate") == 0) {
				o->kdf = itk_kdf_moderate;
			} else if (strcmp(optarg, "sensitive") == 0) {
				o->kdf = itk_kdf_sensitive;
			} else {
				fprintf(stderr,
					"%s: --kdf: interactive, "
					"moderate or sensitive\n",
					progname);
				return EXIT_USAGE;
			}
			break;
		case O_DAYS:
			if (itk_parse_u64(optarg, 1, 3650, &o->days) !=
			    ITK_OK) {
				fprintf(stderr,
					"%s: --days: a whole number "
					"from 1 to 3650\n",
					progname);
				return EXIT_USAGE;
			}
			break;
		case O_GRACE:
			if (itk_parse_u64(optarg, 0, 3650, &o->grace_days) !=
			    ITK_OK) {
				fprintf(stderr,
					"%s: --grace-days: a whole "
					"number from 0 to 3650\n",
					progname);
				return EXIT_USAGE;
			}
			break;
		case O_NOT_BEFORE:
			if (parse_when(optarg, &o->not_before) != ITK_OK) {
				fprintf(stderr,
					"%s: --not-before: Unix "
					"seconds or YYYY-MM-DD\n",
					progname);
				return EXIT_USAGE;
			}
			break;
		case O_ROLE: {
			int role = itk_role_from_name(optarg);
			if (role < 0) {
				fprintf(stderr,
					"%s: --role: triage, "
					"supervisor, phone or admin\n",
					progname);
				return EXIT_USAGE;
			}
			o->role = (itk_role)role;
			break;
		}
		case O_QUEUES:
			if (parse_queues(optarg, &o->queues) != ITK_OK) {
				fprintf(stderr,
					"%s: --queues: a comma list "
					"of surrender, captivity, "
					"casualty, other\n",
					progname);
				return EXIT_USAGE;
			}
			break;
		case O_ORIGIN:
			o->origin = optarg;
			break;
		case O_OUT:
			o->out = optarg;
			break;
		case O_ORG_PUB:
			o->org_pub = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (c->arg_name != NULL) {
		if (argc - optind != 1) {
			fprintf(stderr, "%s %s: needs exactly one %s\n",
				progname, c->name, c->arg_name);
			return EXIT_USAGE;
		}
		o->arg = argv[optind];
	} else if (argc != optind) {
		fprintf(stderr, "%s %s: unexpected argument '%s'\n", progname,
			c->name, argv[optind]);
		return EXIT_USAGE;
	}
	if ((c->allowed & O_DIR) && o->dir == NULL) {
		o->dir = getenv(STORE_ENV);
		if (o->dir == NULL || o->dir[0] == '\0') {
			fprintf(stderr,
				"%s %s: which key store? give --dir DIR or "
				"set " STORE_ENV "\n",
				progname, c->name);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	const command *c = NULL;
	opts o;
	int rc;

	itk_log_init("intake-keys");
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2) {
			for (size_t i = 0; i < N_COMMANDS; i++) {
				if (strcmp(argv[2], commands[i].name) == 0) {
					usage_one(stdout, &commands[i]);
					return EXIT_OK;
				}
			}
		}
		usage_all(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("intake-keys %s\n", ITK_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			c = &commands[i];
		}
	}
	if (c == NULL) {
		fprintf(stderr, "%s: unknown command '%s'\n\n", progname,
			argv[1]);
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (itk_crypto_init() != ITK_OK) {
		fail("libsodium", ITK_E_CRYPTO, NULL);
		return EXIT_FAIL;
	}
	memset(&o, 0, sizeof(o));
	o.kdf = itk_kdf_moderate;
	o.days = DEFAULT_INTAKE_DAYS;
	o.grace_days = DEFAULT_GRACE_DAYS;
	o.now = (uint64_t)time(NULL);
	rc = parse_opts(c, argc - 1, argv + 1, &o);
	if (rc == -1) {
		return EXIT_OK; /* --help */
	}
	if (rc == EXIT_OK) {
		rc = c->fn(&o);
	}
	itk_askpass_free(o.pass);
	return rc;
}
