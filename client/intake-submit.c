/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-submit: the reference client.  Fetches and verifies the key
 * bundle, seals a message, posts it, prints the receipt and the
 * passphrase; later fetches and opens the staff's replies with that
 * passphrase.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "proof.h"
#include "keys.h"
#include "file.h"
#include "itk_config.h"

#define TEXT_MAX (256u * 1024u)

struct opts {
	const char *url;
	const char *org_pub;
	const char *ca;
	const char *passphrase_file;
	const char *category;
	const char *lang;
	const char *text;
	const char *thread;
	const char *id; /* proof: the submission id */
	const char *fields[32];
	size_t n_fields;
	int quiet;
};

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: intake-submit COMMAND [options]\n"
	       "\n"
	       "commands:\n"
	       "  send      seal and submit a message (text from --text or "
	       "stdin)\n"
	       "  replies   fetch and open the replies for a passphrase\n"
	       "  keys      fetch, verify and print the key bundle\n"
	       "  proof     fetch and verify the log's inclusion proof for a"
	       "\n            receipt (--id HEX; exit 3: not published yet)\n"
	       "\n"
	       "options:\n"
	       "  --url URL              gateway, e.g. http://127.0.0.1:8080\n"
	       "  --org-pub FILE         pinned organisation public key\n"
	       "  --ca FILE              CA certificate(s) for an https:// "
	       "gateway\n"
	       "  --passphrase-file F    use this passphrase (send: follow-up;"
	       "\n"
	       "                         replies: required); without it send"
	       "\n"
	       "                         makes a new one and prints it once\n"
	       "  --category C           surrender | relative | other | none\n"
	       "  --lang L               ru | uk | en (page language)\n"
	       "  --text TEXT            the message (default: read stdin)\n"
	       "  --field NAME=VALUE     a form field (repeatable)\n"
	       "  --thread HEX           case id to follow up\n"
	       "  --id HEX               proof: the receipt's submission id\n"
	       "  --quiet                print only key=value lines\n"
	       "  --help                 this text\n"
	       "environment: INTAKE_PASSPHRASE may hold the passphrase.\n");
}

static int
category_value(const char *s)
{
	if (s == NULL || strcmp(s, "none") == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_NONE;
	}
	if (strcmp(s, "surrender") == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_SURRENDER;
	}
	if (strcmp(s, "relative") == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE;
	}
	if (strcmp(s, "other") == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_OTHER;
	}
	return -1;
}

/* Reads the passphrase from the file or the environment; "" if none. */
static itk_err
load_passphrase(const struct opts *o, char out[ITK_PASSPHRASE_MAX])
{
	const char *env = getenv("INTAKE_PASSPHRASE");
	itk_buf *b = NULL;
	size_t n;
	itk_err r;

	out[0] = '\0';
	if (o->passphrase_file == NULL) {
		if (env != NULL && strlen(env) < ITK_PASSPHRASE_MAX) {
			memcpy(out, env, strlen(env) + 1);
		}
		return ITK_OK;
	}
	if ((r = itk_file_read(o->passphrase_file, ITK_PASSPHRASE_MAX - 1,
			       &b)) != ITK_OK) {
		return r;
	}
	n = itk_buf_len(b);
	memcpy(out, itk_buf_ptr(b), n);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) {
		out[--n] = '\0';
	}
	itk_buf_free(b);
	return ITK_OK;
}

static itk_err
read_stdin_text(itk_buf *b)
{
	char chunk[4096];
	size_t n;
	itk_err r;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if ((r = itk_buf_put(b, chunk, n)) != ITK_OK) {
			return r;
		}
	}
	return ferror(stdin) ? ITK_E_IO : itk_buf_put_u8(b, 0);
}

static int
fail(const char *what, itk_err r)
{
	fprintf(stderr, "intake-submit: %s: %s\n", what, itk_strerror(r));
	return 1;
}

static itk_err
connect_verified(const struct opts *o, itk_client **c)
{
	uint8_t org_pk[ITK_SIGN_PK_LEN];
	itk_err r;

	if ((r = itk_org_pub_load(o->org_pub, org_pk)) != ITK_OK) {
		fprintf(stderr, "intake-submit: %s: ", o->org_pub);
		return r;
	}
	if ((r = itk_client_new(o->url, org_pk, o->ca, c)) != ITK_OK) {
		return r;
	}
	if ((r = itk_client_fetch_keys(*c)) != ITK_OK) {
		itk_client_free(*c);
		*c = NULL;
	}
	return r;
}

static int
cmd_send(const struct opts *o)
{
	char pass[ITK_PASSPHRASE_MAX];
	char idhex[2 * ITK_HASH_LEN + 1];
	const char *names[32], *values[32];
	char fieldbuf[32][256];
	uint8_t sub_id[ITK_HASH_LEN], thread[ITK_HASH_LEN];
	itk_identity id;
	itk_client *c = NULL;
	itk_buf *text = NULL, *sub = NULL;
	itk_client_receipt rcpt;
	itk_client_message m = {0};
	int status = 0, cat, generated = 0, rc = 1;
	itk_err r;

	sodium_memzero(&id, sizeof(id));
	if ((cat = category_value(o->category)) < 0) {
		fprintf(stderr, "intake-submit: unknown --category\n");
		return 2;
	}
	if ((r = load_passphrase(o, pass)) != ITK_OK) {
		rc = fail("passphrase", r);
		goto out;
	}
	if (pass[0] == '\0') {
		int l = o->lang == NULL ? ITK_LANG_EN
					: itk_lang_from_name(o->lang);
		if ((r = itk_passphrase_generate(
			 l < 0 ? ITK_LANG_EN : (itk_lang)l, pass,
			 sizeof(pass))) != ITK_OK) {
			rc = fail("passphrase", r);
			goto out;
		}
		generated = 1;
	}
	if ((r = itk_passphrase_derive(pass, &id)) != ITK_OK) {
		rc = fail("passphrase", r);
		goto out;
	}
	for (size_t i = 0; i < o->n_fields; i++) {
		const char *eq = strchr(o->fields[i], '=');
		size_t kl;
		if (eq == NULL || (kl = (size_t)(eq - o->fields[i])) == 0 ||
		    kl >= sizeof(fieldbuf[i])) {
			fprintf(stderr, "intake-submit: --field NAME=VALUE\n");
			rc = 2;
			goto out;
		}
		memcpy(fieldbuf[i], o->fields[i], kl);
		fieldbuf[i][kl] = '\0';
		names[i] = fieldbuf[i];
		values[i] = eq + 1;
	}
	if ((text = itk_buf_new(TEXT_MAX)) == NULL ||
	    (sub = itk_buf_new(ITK_SUBMISSION_MAX)) == NULL) {
		rc = fail("memory", ITK_E_NOMEM);
		goto out;
	}
	if (o->text != NULL) {
		r = itk_buf_put(text, o->text, strlen(o->text) + 1);
	} else {
		r = read_stdin_text(text);
	}
	if (r != ITK_OK) {
		rc = fail("text", r);
		goto out;
	}
	if (o->thread != NULL && itk_unhex(thread, sizeof(thread), o->thread,
					   strlen(o->thread)) != ITK_OK) {
		fprintf(stderr, "intake-submit: --thread: 64 hex digits\n");
		rc = 2;
		goto out;
	}
	if ((r = connect_verified(o, &c)) != ITK_OK) {
		rc = fail("key bundle", r);
		goto out;
	}
	m.channel = INTAKE__V1__CHANNEL__CHANNEL_CLIENT;
	m.form_category = (uint32_t)cat;
	m.language = o->lang;
	m.text = (const char *)itk_buf_ptr(text);
	m.field_names = names;
	m.field_values = values;
	m.n_fields = o->n_fields;
	m.thread_id = o->thread != NULL ? thread : NULL;
	if ((r = itk_client_seal(c, &id, &m, sub, sub_id)) != ITK_OK) {
		rc = fail("seal", r);
		goto out;
	}
	if ((r = itk_client_post(c, itk_buf_ptr(sub), itk_buf_len(sub), sub_id,
				 &rcpt, &status)) != ITK_OK) {
		fprintf(stderr, "intake-submit: submit: HTTP %d: %s\n", status,
			itk_strerror(r));
		rc = 1;
		goto out;
	}
	itk_hex(idhex, rcpt.submission_id, ITK_HASH_LEN);
	if (!o->quiet) {
		printf("Your message was received and stored.\n");
	}
	printf("submission_id=%s\naccepted_at=%llu\nintake_key_id=%08x\n",
	       idhex, (unsigned long long)rcpt.accepted_at,
	       rcpt.intake_key_id);
	if (generated) {
		if (!o->quiet) {
			printf("Write down your passphrase. It is shown once; "
			       "it is the only way to read replies.\n");
		}
		printf("passphrase=%s\n", pass);
	}
	fflush(stdout);
	rc = 0;
out:
	sodium_memzero(pass, sizeof(pass));
	itk_identity_wipe(&id);
	itk_buf_free(text);
	itk_buf_free(sub);
	itk_client_free(c);
	return rc;
}

static itk_err
print_reply(const itk_client_reply *rp, void *arg)
{
	char idhex[2 * ITK_HASH_LEN + 1];

	(*(size_t *)arg)++;
	itk_hex(idhex, rp->reply_id, ITK_HASH_LEN);
	printf("reply_id=%s\nsent_at=%llu\ntext=%s\n\n", idhex,
	       (unsigned long long)rp->sent_at, rp->text);
	return ITK_OK;
}

static int
cmd_replies(const struct opts *o)
{
	char pass[ITK_PASSPHRASE_MAX];
	itk_identity id;
	itk_client *c = NULL;
	size_t bad = 0, good = 0;
	int rc = 1;
	itk_err r;

	sodium_memzero(&id, sizeof(id));
	if ((r = load_passphrase(o, pass)) != ITK_OK || pass[0] == '\0') {
		fprintf(stderr, "intake-submit: replies needs the passphrase "
				"(--passphrase-file or INTAKE_PASSPHRASE)\n");
		rc = 2;
		goto out;
	}
	if ((r = itk_passphrase_derive(pass, &id)) != ITK_OK) {
		rc = fail("passphrase", r);
		goto out;
	}
	if ((r = connect_verified(o, &c)) != ITK_OK) {
		rc = fail("key bundle", r);
		goto out;
	}
	if ((r = itk_client_replies(c, &id, print_reply, &good, &bad)) !=
	    ITK_OK) {
		rc = fail("mailbox", r);
		goto out;
	}
	printf("replies=%zu\nunreadable=%zu\n", good, bad);
	rc = 0;
out:
	sodium_memzero(pass, sizeof(pass));
	itk_identity_wipe(&id);
	itk_client_free(c);
	return rc;
}

static int
cmd_keys(const struct opts *o)
{
	const itk_pb_key_bundle_body *b;
	itk_client *c = NULL;
	itk_err r;

	if ((r = connect_verified(o, &c)) != ITK_OK) {
		return fail("key bundle", r);
	}
	b = itk_client_bundle(c);
	printf("origin=%s\nserial=%llu\n", b->origin,
	       (unsigned long long)b->serial);
	for (size_t i = 0; i < b->n_intake_keys; i++) {
		printf("intake_key=%08x not_before=%llu not_after=%llu\n",
		       b->intake_keys[i]->key_id,
		       (unsigned long long)b->intake_keys[i]->not_before,
		       (unsigned long long)b->intake_keys[i]->not_after);
	}
	itk_client_free(c);
	return 0;
}

/*
 * The receipt's proof: GET /v1/proof/<id>, verified against the log key
 * of the bundle that verified against the pinned organisation key
 * (client/proof.h).  Exit 0 verified, 1 failed, 3 not published yet.
 */
static int
cmd_proof(const struct opts *o)
{
	uint8_t id[ITK_HASH_LEN];
	char path[16 + 2 * ITK_HASH_LEN], hex[2 * ITK_HASH_LEN + 1];
	itk_proof_info pi;
	itk_client *c = NULL;
	itk_buf *b = NULL;
	int status = 0, rc = 1;
	itk_err r;

	if (o->id == NULL ||
	    itk_unhex(id, sizeof(id), o->id, strlen(o->id)) != ITK_OK) {
		fprintf(stderr, "intake-submit: --id: 64 hex digits\n");
		return 2;
	}
	if ((r = connect_verified(o, &c)) != ITK_OK) {
		return fail("key bundle", r);
	}
	itk_hex(hex, id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/proof/%s", hex);
	if ((b = itk_buf_new(1024u * 1024u)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = itk_client_http(c, "GET", path, NULL, 0, &status, b)) !=
	    ITK_OK) {
		fail("proof", r);
		goto out;
	}
	if (status == 404) {
		fprintf(stderr, "intake-submit: not in the published log yet "
				"(try again after the next checkpoint)\n");
		rc = 3;
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "intake-submit: proof: HTTP %d\n", status);
		goto out;
	}
	r = itk_proof_verify(itk_buf_ptr(b), itk_buf_len(b),
			     itk_client_bundle(c), id, &pi);
	if (r != ITK_OK) {
		fail("the proof does NOT verify", r);
		goto out;
	}
	itk_hex(hex, pi.root, sizeof(pi.root));
	printf("verified=1\nleaf_index=%llu\ntree_size=%llu\nroot=%s\n",
	       (unsigned long long)pi.leaf_index,
	       (unsigned long long)pi.tree_size, hex);
	rc = 0;
out:
	itk_buf_free(b);
	itk_client_free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"org-pub", required_argument, NULL, 'o'},
	    {"ca", required_argument, NULL, 'C'},
	    {"passphrase-file", required_argument, NULL, 'p'},
	    {"category", required_argument, NULL, 'c'},
	    {"lang", required_argument, NULL, 'l'},
	    {"text", required_argument, NULL, 't'},
	    {"field", required_argument, NULL, 'f'},
	    {"thread", required_argument, NULL, 'T'},
	    {"id", required_argument, NULL, 'I'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	const char *cmd;
	int ch;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o.url = optarg;
			break;
		case 'o':
			o.org_pub = optarg;
			break;
		case 'C':
			o.ca = optarg;
			break;
		case 'p':
			o.passphrase_file = optarg;
			break;
		case 'c':
			o.category = optarg;
			break;
		case 'l':
			o.lang = optarg;
			break;
		case 't':
			o.text = optarg;
			break;
		case 'f':
			if (o.n_fields == 32) {
				fprintf(stderr, "intake-submit: too many "
						"--field\n");
				return 2;
			}
			o.fields[o.n_fields++] = optarg;
			break;
		case 'T':
			o.thread = optarg;
			break;
		case 'I':
			o.id = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.url == NULL || o.org_pub == NULL) {
		fprintf(stderr, "intake-submit: --url and --org-pub are "
				"required\n");
		return 2;
	}
	if (itk_crypto_init() != ITK_OK) {
		return fail("libsodium", ITK_E_CRYPTO);
	}
	if (strcmp(cmd, "send") == 0) {
		return cmd_send(&o);
	}
	if (strcmp(cmd, "replies") == 0) {
		return cmd_replies(&o);
	}
	if (strcmp(cmd, "keys") == 0) {
		return cmd_keys(&o);
	}
	if (strcmp(cmd, "proof") == 0) {
		return cmd_proof(&o);
	}
	fprintf(stderr, "intake-submit: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
