/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-submit: the reference client.  Fetches and verifies the key
 * bundle, seals a message, posts it, prints the receipt and the
 * passphrase; later fetches and opens the staff's replies with that
 * passphrase.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chat.h"
#include "client.h"
#include "config.h"
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
	const char *chat_url;
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
	       "  chat      print replies as they arrive (chat WebSocket);\n"
	       "            each stdin line is sent as a follow-up\n"
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
	       "  --chat-url URL         chat WebSocket (default: --url with\n"
	       "                         ws(s):// and path /v1/chat)\n"
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

/* ------------------------------------------------------------- chat */

#define CHAT_LINE_MAX 4096u
#define CHAT_WAITS    16u  /* follow-ups awaiting their receipt */
#define CHAT_SEEN     256u /* reply ids remembered (a reply may come twice) */
#define CHAT_PING_MS  20000u
#define CHAT_DRAIN_MS 10000u /* after stdin ends: wait for the answers */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct chat_wait {
	uint32_t seq;
	uint8_t sub_id[ITK_HASH_LEN];
	itk_buf *sub; /* for a fall-back over HTTP (proof of work) */
};

struct chat {
	const struct opts *o;
	itk_client *c;
	itk_chat *ch;
	const itk_identity *id;
	pthread_mutex_t mtx; /* guards everything below */
	uint32_t seq;
	struct chat_wait waits[CHAT_WAITS];
	size_t n_waits;
	int stdin_done;
	uint8_t thread[ITK_HASH_LEN];
	int has_thread;
	uint8_t seen[CHAT_SEEN][ITK_HASH_LEN];
	size_t n_seen;
};

/* Reads follow-ups from stdin, one per line, and submits each. */
static void *
chat_stdin(void *arg)
{
	struct chat *st = arg;
	char line[CHAT_LINE_MAX];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		itk_client_message m = {0};
		struct chat_wait w = {0};
		uint8_t thread[ITK_HASH_LEN];
		size_t n = strlen(line);
		int has_thread;
		itk_err r;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
			line[--n] = '\0';
		}
		if (n == 0) {
			continue;
		}
		pthread_mutex_lock(&st->mtx);
		has_thread = st->has_thread;
		memcpy(thread, st->thread, sizeof(thread));
		w.seq = ++st->seq;
		pthread_mutex_unlock(&st->mtx);
		m.channel = INTAKE__V1__CHANNEL__CHANNEL_CHAT;
		m.form_category = INTAKE__V1__FORM_CATEGORY__FORM_NONE;
		m.language = st->o->lang;
		m.text = line;
		m.thread_id = has_thread ? thread : NULL;
		if ((w.sub = itk_buf_new(ITK_SUBMISSION_MAX)) == NULL ||
		    (r = itk_client_seal(st->c, st->id, &m, w.sub,
					 w.sub_id)) != ITK_OK) {
			fprintf(stderr, "intake-submit: seal failed\n");
			itk_buf_free(w.sub);
			continue;
		}
		sodium_memzero(line, sizeof(line));
		pthread_mutex_lock(&st->mtx);
		if (st->n_waits == CHAT_WAITS) {
			pthread_mutex_unlock(&st->mtx);
			fprintf(stderr, "intake-submit: too many unanswered "
					"follow-ups\n");
			itk_buf_free(w.sub);
			continue;
		}
		st->waits[st->n_waits++] = w;
		pthread_mutex_unlock(&st->mtx);
		if (itk_chat_submit(st->ch, w.seq, itk_buf_ptr(w.sub),
				    itk_buf_len(w.sub)) != ITK_OK) {
			fprintf(stderr, "intake-submit: chat: send failed\n");
			break;
		}
	}
	pthread_mutex_lock(&st->mtx);
	st->stdin_done = 1;
	pthread_mutex_unlock(&st->mtx);
	return NULL;
}

/* Takes the follow-up answered by seq off the list; 0 if none. */
static int
chat_take_wait(struct chat *st, uint32_t seq, struct chat_wait *out)
{
	int found = 0;

	pthread_mutex_lock(&st->mtx);
	for (size_t i = 0; i < st->n_waits; i++) {
		if (st->waits[i].seq == seq) {
			*out = st->waits[i];
			st->waits[i] = st->waits[--st->n_waits];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&st->mtx);
	return found;
}

static void
chat_print_receipt(const itk_client_receipt *rc)
{
	char idhex[2 * ITK_HASH_LEN + 1];

	itk_hex(idhex, rc->submission_id, ITK_HASH_LEN);
	printf("submission_id=%s\naccepted_at=%llu\n\n", idhex,
	       (unsigned long long)rc->accepted_at);
}

static void
chat_receipt(struct chat *st, const itk_pb_chat_server *f)
{
	struct chat_wait w;
	itk_client_receipt rc;

	if (!chat_take_wait(st, f->seq, &w)) {
		printf("error=unexpected_receipt\n\n");
		return;
	}
	if (itk_client_check_receipt(st->c, f->receipt.data, f->receipt.len,
				     w.sub_id, &rc) != ITK_OK) {
		printf("error=bad_receipt\n\n");
	} else {
		chat_print_receipt(&rc);
	}
	itk_buf_free(w.sub);
}

static void
chat_error(struct chat *st, const itk_pb_chat_server *f)
{
	itk_pb_error *e = NULL;
	struct chat_wait w;
	int mine = chat_take_wait(st, f->seq, &w);

	if (itk_wire_error_decode(f->error.data, f->error.len, &e) != ITK_OK) {
		printf("error=undecodable seq=%u\n\n", f->seq);
	} else if (mine && e->code == ITK_E_POW) {
		/* The gateway wants proof of work now: the HTTP path solves
		 * a challenge (itk_client_post); the receipt is the same. */
		itk_client_receipt rc;
		int status = 0;
		if (itk_client_post(st->c, itk_buf_ptr(w.sub),
				    itk_buf_len(w.sub), w.sub_id, &rc,
				    &status) == ITK_OK) {
			chat_print_receipt(&rc);
		} else {
			printf("error=pow seq=%u\n\n", f->seq);
		}
	} else {
		printf("error=%s seq=%u\nmessage=%s\n\n",
		       e->name != NULL ? e->name : "", f->seq,
		       e->message != NULL ? e->message : "");
	}
	itk_wire_free(e);
	if (mine) {
		itk_buf_free(w.sub);
	}
}

/* Opens a pushed Reply: the reply key opens it, or it is not ours. */
static void
chat_reply(struct chat *st, const itk_pb_chat_server *f)
{
	char idhex[2 * ITK_HASH_LEN + 1];
	itk_pb_mailbox_page *page = NULL;
	itk_pb_reply_body *body = NULL;
	itk_buf *wrap = NULL, *plain = NULL;
	const itk_pb_reply *rp;
	size_t n = f->reply.len;
	uint8_t hdr[12];
	size_t hl = 0;

	/* A Reply decodes through the MailboxPage decoder (its checks of
	 * every Reply): field 2, length-delimited, then the bytes. */
	hdr[hl++] = 0x12;
	do {
		hdr[hl++] = (uint8_t)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
		n >>= 7;
	} while (n > 0);
	if ((wrap = itk_buf_new(ITK_MAILBOX_PAGE_MAX)) == NULL ||
	    (plain = itk_buf_new(ITK_PAD_MAX)) == NULL ||
	    itk_buf_put(wrap, hdr, hl) != ITK_OK ||
	    itk_buf_put(wrap, f->reply.data, f->reply.len) != ITK_OK ||
	    itk_wire_mailbox_page_decode(itk_buf_ptr(wrap), itk_buf_len(wrap),
					 &page) != ITK_OK ||
	    page->n_replies != 1) {
		printf("error=bad_reply\n\n");
		goto out;
	}
	rp = page->replies[0];
	pthread_mutex_lock(&st->mtx);
	for (size_t i = 0; i < st->n_seen && i < CHAT_SEEN; i++) {
		if (memcmp(st->seen[i], rp->reply_id.data, ITK_HASH_LEN) ==
		    0) {
			pthread_mutex_unlock(&st->mtx);
			goto out; /* sent twice: stored and pushed */
		}
	}
	memcpy(st->seen[st->n_seen++ % CHAT_SEEN], rp->reply_id.data,
	       ITK_HASH_LEN);
	pthread_mutex_unlock(&st->mtx);
	if (itk_open(st->id->reply_pk, st->id->reply_sk, rp->sealed.data,
		     rp->sealed.len, plain) != ITK_OK ||
	    itk_wire_reply_body_decode(itk_buf_ptr(plain), itk_buf_len(plain),
				       &body) != ITK_OK) {
		printf("error=unreadable_reply\n\n");
		goto out;
	}
	if (body->case_ref.len == ITK_HASH_LEN) {
		pthread_mutex_lock(&st->mtx);
		memcpy(st->thread, body->case_ref.data, ITK_HASH_LEN);
		st->has_thread = 1;
		pthread_mutex_unlock(&st->mtx);
	}
	itk_hex(idhex, rp->reply_id.data, ITK_HASH_LEN);
	printf("reply_id=%s\nsent_at=%llu\ntext=%s\n\n", idhex,
	       (unsigned long long)body->sent_at,
	       body->text != NULL ? body->text : "");
out:
	itk_wire_free(body);
	itk_wire_free(page);
	itk_buf_free(plain);
	itk_buf_free(wrap);
}

static int
cmd_chat(const struct opts *o)
{
	char pass[ITK_PASSPHRASE_MAX];
	char url[512];
	itk_identity id;
	struct chat st;
	pthread_t thr;
	int started = 0, rc = 1;
	uint64_t last_ping, drain_from = 0, ping_ms = CHAT_PING_MS;
	itk_err r;

	memset(&st, 0, sizeof(st));
	sodium_memzero(&id, sizeof(id));
	if (pthread_mutex_init(&st.mtx, NULL) != 0) {
		return fail("chat", ITK_E_NOMEM);
	}
	st.o = o;
	st.id = &id;
	if ((r = load_passphrase(o, pass)) != ITK_OK || pass[0] == '\0') {
		fprintf(stderr, "intake-submit: chat needs the passphrase "
				"(--passphrase-file or INTAKE_PASSPHRASE)\n");
		rc = 2;
		goto out;
	}
	if ((r = itk_passphrase_derive(pass, &id)) != ITK_OK) {
		rc = fail("passphrase", r);
		goto out;
	}
	if (o->chat_url != NULL) {
		if (strlen(o->chat_url) >= sizeof(url)) {
			rc = fail("--chat-url", ITK_E_TOO_BIG);
			goto out;
		}
		memcpy(url, o->chat_url, strlen(o->chat_url) + 1);
	} else {
		/* http://h:p -> ws://h:p/v1/chat, https -> wss */
		int w = snprintf(
		    url, sizeof(url), "ws%s/v1/chat",
		    o->url + (strncmp(o->url, "https", 5) == 0 ? 5 : 4));
		if (strncmp(o->url, "http", 4) != 0 || w <= 0 ||
		    (size_t)w >= sizeof(url)) {
			rc = fail("--url", ITK_E_CONFIG);
			goto out;
		}
	}
	if ((r = connect_verified(o, &st.c)) != ITK_OK) {
		rc = fail("key bundle", r);
		goto out;
	}
	if ((r = itk_chat_open(url, o->ca, &st.ch)) != ITK_OK) {
		rc = fail("chat", r);
		goto out;
	}
	if ((r = itk_chat_subscribe(st.ch, ++st.seq, id.mailbox_id)) !=
	    ITK_OK) {
		rc = fail("chat", r);
		goto out;
	}
	if (pthread_create(&thr, NULL, chat_stdin, &st) != 0) {
		rc = fail("chat", ITK_E_NOMEM);
		goto out;
	}
	started = 1;
	last_ping = now_ms();
	/* A test knob: the ping interval must be below the gateway's
	 * chat_idle_ms, which tests make short. */
	if (getenv("INTAKE_CHAT_PING_MS") != NULL &&
	    itk_parse_u64(getenv("INTAKE_CHAT_PING_MS"), 100u, 3600000u,
			  &ping_ms) != ITK_OK) {
		ping_ms = CHAT_PING_MS;
	}
	for (;;) {
		itk_pb_chat_server *f = NULL;
		int done;
		size_t waiting;

		r = itk_chat_recv(st.ch, 500, &f);
		if (r == ITK_E_NET) {
			printf("closed=1\n");
			fflush(stdout);
			rc = 1;
			break;
		}
		if (r == ITK_OK) {
			switch (f->kind_case) {
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND_RECEIPT:
				chat_receipt(&st, f);
				break;
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND_ERROR:
				chat_error(&st, f);
				break;
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY:
				chat_reply(&st, f);
				break;
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND_SUBSCRIBED:
				printf("subscribed=1\n\n");
				break;
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND_PONG:
			case INTAKE__V1__CHAT_SERVER_FRAME__KIND__NOT_SET:
			default:
				break;
			}
			itk_wire_free(f);
			fflush(stdout);
		} else if (r != ITK_E_BUSY) {
			printf("error=bad_frame\n\n");
			fflush(stdout);
		}
		pthread_mutex_lock(&st.mtx);
		done = st.stdin_done;
		waiting = st.n_waits;
		pthread_mutex_unlock(&st.mtx);
		if (done && drain_from == 0) {
			drain_from = now_ms();
		}
		if (done &&
		    (waiting == 0 || now_ms() - drain_from > CHAT_DRAIN_MS)) {
			rc = waiting == 0 ? 0 : 1;
			break;
		}
		if (now_ms() - last_ping > ping_ms) {
			last_ping = now_ms();
			if (itk_chat_ping(st.ch, ++st.seq) != ITK_OK) {
				printf("closed=1\n");
				rc = 1;
				break;
			}
		}
	}
out:
	if (started) {
		/* stdin may still block: the thread ends with the process
		 * if it is not done; the connection goes first. */
		pthread_mutex_lock(&st.mtx);
		if (st.stdin_done) {
			pthread_mutex_unlock(&st.mtx);
			pthread_join(thr, NULL);
		} else {
			pthread_mutex_unlock(&st.mtx);
			pthread_detach(thr);
			sodium_memzero(pass, sizeof(pass));
			fflush(stdout);
			_exit(rc);
		}
	}
	for (size_t i = 0; i < st.n_waits; i++) {
		itk_buf_free(st.waits[i].sub);
	}
	sodium_memzero(pass, sizeof(pass));
	itk_identity_wipe(&id);
	itk_chat_free(st.ch);
	itk_client_free(st.c);
	pthread_mutex_destroy(&st.mtx);
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
	    {"chat-url", required_argument, NULL, 'W'},
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
		case 'W':
			o.chat_url = optarg;
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
	if (strcmp(cmd, "chat") == 0) {
		return cmd_chat(&o);
	}
	if (strcmp(cmd, "proof") == 0) {
		return cmd_proof(&o);
	}
	fprintf(stderr, "intake-submit: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
