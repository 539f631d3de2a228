/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-op: the operator's command.  Every subcommand is one signed
 * request to the operator service (intake-opd) and one answer sealed to
 * this operator's key.  Subcommands are rows of one table (cf. wg.c).
 *
 *   intake-op [--config FILE] [--json] COMMAND [ARGS]
 *
 * Config (key = value; default $INTAKE_OP_CONFIG): key_file (the
 * operator's .key), passphrase_file (omit for a --dev key; or
 * $INTAKE_KEYS_PASSPHRASE, or typed at the terminal), url (the service:
 * ipc:// or tls+tcp://), templates (reply templates file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "labels.h"
#include "opwire.h"
#include "wire.h"

#define EXIT_OK      0
#define EXIT_FAIL    1
#define EXIT_USAGE   2
#define EXIT_REFUSED 3
#define FIELDS_MAX   16u

typedef struct {
	const char *config, *key_file, *pass_file, *url, *templates;
	bool json, remove, color;
	const char *text, *template_name, *state, *queue, *tag, *lang;
	const char *category;
	uint64_t since, until, limit;
	Intake__V1__Field fields[FIELDS_MAX];
	Intake__V1__Field *fieldp[FIELDS_MAX];
	size_t n_fields;
	char *args[4];
	int n_args;
	itk_secret_key *key;
} opts;

typedef struct {
	const char *name;
	Intake__V1__OperatorCommand cmd;
	int nargs; /* positional arguments after the command */
	const char *usage;
} subcommand;

static const subcommand subcommands[] = {
    {"queues", INTAKE__V1__OPERATOR_COMMAND__OP_QUEUES, 0, "queues"},
    {"next", INTAKE__V1__OPERATOR_COMMAND__OP_NEXT, 1, "next QUEUE"},
    {"release", INTAKE__V1__OPERATOR_COMMAND__OP_RELEASE, 1, "release CASE"},
    {"show", INTAKE__V1__OPERATOR_COMMAND__OP_SHOW, 1, "show CASE"},
    {"reply", INTAKE__V1__OPERATOR_COMMAND__OP_REPLY, 1,
     "reply CASE [--text T | --template received|safe-surrender] "
     "(else stdin or $EDITOR)"},
    {"note", INTAKE__V1__OPERATOR_COMMAND__OP_NOTE, 1, "note CASE --text T"},
    {"tag", INTAKE__V1__OPERATOR_COMMAND__OP_TAG, 2,
     "tag CASE TAG [--remove]"},
    {"move", INTAKE__V1__OPERATOR_COMMAND__OP_MOVE, 2, "move CASE QUEUE"},
    {"escalate", INTAKE__V1__OPERATOR_COMMAND__OP_ESCALATE, 1,
     "escalate CASE"},
    {"close", INTAKE__V1__OPERATOR_COMMAND__OP_CLOSE, 2, "close CASE REASON"},
    {"history", INTAKE__V1__OPERATOR_COMMAND__OP_HISTORY, 1, "history CASE"},
    {"search", INTAKE__V1__OPERATOR_COMMAND__OP_SEARCH, 0,
     "search [--state open|closed] [--queue Q] [--tag T] [--since UNIX] "
     "[--until UNIX] [--limit N]"},
    {"phone-intake", INTAKE__V1__OPERATOR_COMMAND__OP_PHONE_INTAKE, 0,
     "phone-intake --text T [--lang ru|uk|en] "
     "[--category surrender|relative|other] [--field NAME=VALUE]..."},
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: intake-op [--config FILE] [--json] COMMAND ...\n\n");
	for (size_t i = 0; i < N_SUB; i++) {
		fprintf(f, "  %s\n", subcommands[i].usage);
	}
	fprintf(f, "\nConfig keys: key_file, passphrase_file, url, templates"
		   " ($INTAKE_OP_CONFIG).\nExit codes: 0 done, 1 failed, 2 "
		   "usage, 3 refused by the service.\n");
}

/* ------------------------------------------------------------ output */

static void
hdr(const opts *o, const char *s)
{
	if (o->color) {
		printf("\033[1m%s\033[0m\n", s);
	} else {
		printf("%s\n", s);
	}
}

static void
fmt_time(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0) {
		snprintf(out, 32, "-");
	}
}

static void
fmt_age(uint64_t t, uint64_t now, char out[32])
{
	uint64_t a = now > t ? now - t : 0;

	if (t == 0) {
		snprintf(out, 32, "-");
	} else if (a < 3600) {
		snprintf(out, 32, "%llum", (unsigned long long)(a / 60));
	} else if (a < 86400) {
		snprintf(out, 32, "%lluh", (unsigned long long)(a / 3600));
	} else {
		snprintf(out, 32, "%llud", (unsigned long long)(a / 86400));
	}
}

/* A JSON string (escaped) to stdout. */
static void
jstr(const char *s)
{
	itk_buf *b = itk_buf_new(ITK_OP_RESPONSE_BODY_MAX);

	if (b != NULL && itk_json_put_string(b, s, strlen(s)) == ITK_OK) {
		fwrite(itk_buf_ptr(b), 1, itk_buf_len(b), stdout);
	} else {
		fputs("null", stdout);
	}
	itk_buf_free(b);
}

static void
jhex(const ProtobufCBinaryData *d)
{
	char hex[2 * ITK_HASH_LEN + 1] = "";

	if (d->len == ITK_HASH_LEN) {
		itk_hex(hex, d->data, d->len);
	}
	printf("\"%s\"", hex);
}

static void
print_case_json(const Intake__V1__CaseSummary *c)
{
	printf("{\"type\":\"case\",\"case\":");
	jhex(&c->case_id);
	printf(",\"queue\":\"%s\",\"urgency\":\"%s\",\"language\":\"%s\","
	       "\"created\":%llu,\"updated\":%llu,\"messages\":%u,"
	       "\"open\":%s,\"has_contact\":%s,\"lease_holder\":",
	       c->queue, c->urgency, c->language,
	       (unsigned long long)c->created, (unsigned long long)c->updated,
	       c->messages, c->open ? "true" : "false",
	       c->has_contact ? "true" : "false");
	jstr(c->lease_holder);
	printf(",\"lease_until\":%llu,\"tags\":[",
	       (unsigned long long)c->lease_until);
	for (size_t i = 0; i < c->n_tags; i++) {
		printf(i ? "," : "");
		jstr(c->tags[i]);
	}
	printf("]}\n");
}

static void
print_cases(const opts *o, const itk_pb_op_response_body *b)
{
	uint64_t now = (uint64_t)time(NULL);

	if (o->json) {
		for (size_t i = 0; i < b->n_cases; i++) {
			print_case_json(b->cases[i]);
		}
		return;
	}
	if (b->n_cases == 0) {
		printf("no cases\n");
		return;
	}
	hdr(o, "CASE                                                          "
	       "    "
	       "QUEUE      URGENCY   LANG  AGE   MSGS  STATE   CLAIMED BY    "
	       "TAGS");
	for (size_t i = 0; i < b->n_cases; i++) {
		const Intake__V1__CaseSummary *c = b->cases[i];
		char hex[2 * ITK_HASH_LEN + 1], age[32];
		itk_hex(hex, c->case_id.data, ITK_HASH_LEN);
		fmt_age(c->created, now, age);
		printf("%-64s  %-10s %-9s %-5s %-5s %-5u %-7s %-13s ", hex,
		       c->queue, c->urgency, c->language, age, c->messages,
		       c->open ? "open" : "closed",
		       c->lease_holder[0] ? c->lease_holder : "-");
		for (size_t j = 0; j < c->n_tags; j++) {
			printf("%s%s", j ? "," : "", c->tags[j]);
		}
		printf("\n");
	}
}

static void
print_queues(const opts *o, const itk_pb_op_response_body *b)
{
	uint64_t now = (uint64_t)time(NULL);

	if (!o->json) {
		hdr(o,
		    "QUEUE      CRITICAL  HIGH  NORMAL  LOW  OLDEST  CLAIMED  "
		    "FREE");
	}
	for (size_t i = 0; i < b->n_queues; i++) {
		const Intake__V1__QueueSummary *q = b->queues[i];
		uint32_t u[4] = {0, 0, 0, 0};
		char age[32];
		for (size_t j = 0; j < q->n_by_urgency && j < 4; j++) {
			u[j] = q->by_urgency[j];
		}
		fmt_age(q->oldest, now, age);
		if (o->json) {
			printf("{\"type\":\"queue\",\"queue\":\"%s\","
			       "\"critical\":%u,\"high\":%u,\"normal\":%u,"
			       "\"low\":%u,\"oldest\":%llu,\"claimed\":%u,"
			       "\"free\":%u}\n",
			       q->queue, u[0], u[1], u[2], u[3],
			       (unsigned long long)q->oldest, q->claimed,
			       q->free);
		} else {
			printf("%-10s %-9u %-5u %-7u %-4u %-7s %-8u %u\n",
			       q->queue, u[0], u[1], u[2], u[3], age,
			       q->claimed, q->free);
		}
	}
}

static void
print_history(const opts *o, const itk_pb_op_response_body *b)
{
	if (!o->json && b->n_history > 0) {
		hdr(o,
		    "WHEN              OPERATOR        ACTION        DETAIL");
	}
	for (size_t i = 0; i < b->n_history; i++) {
		const Intake__V1__ActionEntry *e = b->history[i];
		char when[32];
		if (o->json) {
			printf("{\"type\":\"action\",\"at\":%llu,"
			       "\"operator\":",
			       (unsigned long long)e->at);
			jstr(e->operator_);
			printf(",\"action\":\"%s\",\"detail\":", e->action);
			jstr(e->detail);
			printf("}\n");
			continue;
		}
		fmt_time(e->at, when);
		printf("%-17s %-15s %-13s %s\n", when, e->operator_, e->action,
		       e->detail);
	}
}

static void
print_show(const opts *o, const itk_pb_op_response_body *b)
{
	print_cases(o, b);
	for (size_t i = 0; i < b->n_messages; i++) {
		const Intake__V1__ThreadMessage *m = b->messages[i];
		char when[32];
		if (o->json) {
			printf("{\"type\":\"message\",\"submission\":");
			jhex(&m->submission_id);
			printf(",\"accepted_at\":%llu,\"channel\":%d,"
			       "\"opened\":%s,\"text\":",
			       (unsigned long long)m->accepted_at,
			       (int)m->channel, m->opened ? "true" : "false");
			jstr(m->text);
			printf(",\"fields\":{");
			for (size_t j = 0; j < m->n_fields; j++) {
				printf(j ? "," : "");
				jstr(m->fields[j]->name);
				printf(":");
				jstr(m->fields[j]->value);
			}
			printf("}}\n");
			continue;
		}
		fmt_time(m->accepted_at, when);
		printf("\n");
		hdr(o, "--- message");
		printf("received %s  urgency %s  language %s%s\n", when,
		       m->urgency, m->language,
		       m->channel == INTAKE__V1__CHANNEL__CHANNEL_PHONE
			   ? "  (by phone)"
			   : "");
		if (!m->opened) {
			printf("(cannot be opened: its intake key is gone)\n");
			continue;
		}
		for (size_t j = 0; j < m->n_fields; j++) {
			printf("%s: %s\n", m->fields[j]->name,
			       m->fields[j]->value);
		}
		printf("%s\n", m->text);
		for (size_t j = 0; j < m->n_attachments; j++) {
			printf("[attachment %s %s, %u bytes]\n",
			       m->attachments[j]->name,
			       m->attachments[j]->media_type,
			       j < m->n_attachment_sizes
				   ? m->attachment_sizes[j]
				   : 0);
		}
	}
	for (size_t i = 0; i < b->n_notes; i++) {
		const Intake__V1__CaseNote *n = b->notes[i];
		char when[32];
		if (o->json) {
			printf("{\"type\":\"%s\",\"at\":%llu,\"author\":",
			       n->kind, (unsigned long long)n->at);
			jstr(n->author);
			printf(",\"text\":");
			jstr(n->text);
			printf("}\n");
			continue;
		}
		fmt_time(n->at, when);
		printf("\n");
		hdr(o, strcmp(n->kind, "reply") == 0 ? "--- reply sent"
						     : "--- internal note");
		printf("%s by %s\n%s\n", when, n->author, n->text);
	}
	if (!o->json) {
		printf("\n");
	}
	print_history(o, b);
}

/* ------------------------------------------------------- the request */

static itk_err
exchange(const char *url, const itk_buf *req, nng_msg **ans)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	nng_msg *m = NULL;
	itk_err r = ITK_E_NET;

	if (nng_req0_open(&s) != 0 ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 30000) != 0 ||
	    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 10000) != 0 ||
	    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ,
				ITK_OP_RESPONSE_MAX + 1024) != 0 ||
	    nng_dial(s, url, NULL, 0) != 0 ||
	    nng_msg_alloc(&m, itk_buf_len(req)) != 0) {
		goto out;
	}
	memcpy(nng_msg_body(m), itk_buf_ptr(req), itk_buf_len(req));
	if (nng_sendmsg(s, m, 0) != 0) {
		nng_msg_free(m);
		goto out;
	}
	if (nng_recvmsg(s, ans, 0) != 0) {
		goto out;
	}
	r = ITK_OK;
out:
	nng_close(s);
	return r;
}

/* Sends body and opens the answer; prints a refusal.  Exit code. */
static int
call(opts *o, itk_pb_op_request_body *body, itk_pb_op_response_body **out)
{
	const itk_key_info *ki = itk_key_info_of(o->key);
	uint8_t nonce[ITK_OP_NONCE_LEN];
	char msg[256];
	itk_buf *req = itk_buf_new(ITK_OP_REQUEST_MAX);
	nng_msg *ans = NULL;
	itk_err r;
	int rc = EXIT_FAIL;

	*out = NULL;
	if (req == NULL) {
		return EXIT_FAIL;
	}
	body->operator_ = (char *)ki->name;
	body->key_id = ki->key_id;
	if ((r = op_request_sign(itk_key_secret(o->key), body,
				 (uint64_t)time(NULL), nonce, req)) !=
	    ITK_OK) {
		fprintf(stderr, "intake-op: cannot build the request: %s\n",
			itk_strerror(r));
		goto out;
	}
	if ((r = exchange(o->url, req, &ans)) != ITK_OK) {
		fprintf(stderr, "intake-op: no answer from %s\n", o->url);
		goto out;
	}
	r = op_response_open(itk_key_secret(o->key), itk_key_public(o->key),
			     nonce, nng_msg_body(ans), nng_msg_len(ans), msg,
			     sizeof(msg), out);
	if (r == ITK_OK) {
		rc = EXIT_OK;
	} else if (msg[0] != '\0') {
		fprintf(stderr, "intake-op: refused: %s (%s)\n", msg,
			itk_errname(r));
		rc = EXIT_REFUSED;
	} else {
		fprintf(stderr, "intake-op: bad answer: %s\n",
			itk_strerror(r));
	}
out:
	if (ans != NULL) {
		nng_msg_free(ans);
	}
	itk_buf_free(req);
	return rc;
}

static bool
case_arg(const char *s, uint8_t id[ITK_HASH_LEN])
{
	return itk_unhex(id, ITK_HASH_LEN, s, strlen(s)) == ITK_OK;
}

/* ---------------------------------------------------------- templates */

/*
 * The templates file: "[NAME.LANG]" lines open a template, the lines up
 * to the next header are its text.  Picks NAME.lang, else NAME.en.
 */
static char *
template_text(const char *path, const char *name, const char *lang)
{
	char want[2][64];
	itk_buf *f = NULL;
	char *out = NULL;

	if (path == NULL || itk_file_read(path, 256 * 1024, &f) != ITK_OK) {
		return NULL;
	}
	snprintf(want[0], sizeof(want[0]), "[%s.%s]", name, lang);
	snprintf(want[1], sizeof(want[1]), "[%s.en]", name);
	for (int w = 0; w < 2 && out == NULL; w++) {
		const char *p = (const char *)itk_buf_ptr(f);
		const char *end = p + itk_buf_len(f);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (n == strlen(want[w]) &&
			    memcmp(p, want[w], n) == 0) {
				const char *s = p + n + 1, *e = s;
				while (e < end &&
				       !(*e == '[' &&
					 (e == s || e[-1] == '\n'))) {
					e++;
				}
				while (e > s &&
				       (e[-1] == '\n' || e[-1] == ' ')) {
					e--;
				}
				if (s <= e &&
				    (out = calloc(1, (size_t)(e - s) + 1)) !=
					NULL) {
					memcpy(out, s, (size_t)(e - s));
				}
				break;
			}
			p += n + 1;
		}
	}
	itk_buf_free(f);
	return out;
}

/* Reads the reply text from stdin (not a terminal) or $EDITOR. */
static char *
read_text(void)
{
	itk_buf *b = itk_buf_new(ITK_OP_TEXT_MAX + 1);
	char tmpl[] = "/tmp/intake-op-XXXXXX";
	char *out = NULL;
	int fd = -1;

	if (b == NULL) {
		return NULL;
	}
	if (!isatty(0)) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
			if (itk_buf_put(b, chunk, n) != ITK_OK) {
				goto out;
			}
		}
	} else {
		const char *ed = getenv("EDITOR");
		pid_t pid;
		int st;
		itk_buf *f = NULL;
		if ((fd = mkstemp(tmpl)) < 0) {
			goto out;
		}
		close(fd);
		if ((pid = fork()) == 0) {
			execlp(ed != NULL ? ed : "vi", ed != NULL ? ed : "vi",
			       tmpl, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0 ||
		    itk_file_read(tmpl, ITK_OP_TEXT_MAX, &f) != ITK_OK) {
			unlink(tmpl);
			goto out;
		}
		unlink(tmpl);
		if (itk_buf_put(b, itk_buf_ptr(f), itk_buf_len(f)) != ITK_OK) {
			itk_buf_free(f);
			goto out;
		}
		itk_buf_free(f);
	}
	while (itk_buf_len(b) > 0 &&
	       itk_buf_ptr(b)[itk_buf_len(b) - 1] == '\n') {
		/* drop trailing newlines */
		size_t n = itk_buf_len(b) - 1;
		itk_buf *c = itk_buf_new(ITK_OP_TEXT_MAX + 1);
		if (c == NULL || itk_buf_put(c, itk_buf_ptr(b), n) != ITK_OK) {
			itk_buf_free(c);
			goto out;
		}
		itk_buf_free(b);
		b = c;
	}
	if ((out = calloc(1, itk_buf_len(b) + 1)) != NULL) {
		memcpy(out, itk_buf_ptr(b), itk_buf_len(b));
	}
out:
	itk_buf_free(b);
	return out;
}

/* ------------------------------------------------------------ main */

static int
run(opts *o, const subcommand *sc)
{
	itk_pb_op_request_body body = INTAKE__V1__OPERATOR_REQUEST_BODY__INIT;
	itk_pb_op_response_body *resp = NULL;
	uint8_t id[ITK_HASH_LEN];
	char *owned = NULL;
	int rc;

	body.command = sc->cmd;
	if (sc->nargs >= 1 &&
	    sc->cmd != INTAKE__V1__OPERATOR_COMMAND__OP_NEXT) {
		if (!case_arg(o->args[0], id)) {
			fprintf(stderr, "intake-op: CASE is 64 hex digits\n");
			return EXIT_USAGE;
		}
		body.case_id.data = id;
		body.case_id.len = sizeof(id);
	}
	switch (sc->cmd) {
	case INTAKE__V1__OPERATOR_COMMAND__OP_NEXT:
		body.queue = o->args[0];
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_TAG:
		body.tag = o->args[1];
		body.remove = o->remove;
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_MOVE:
		body.queue = o->args[1];
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_CLOSE:
		body.text = o->args[1];
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_REPLY:
		if (o->text != NULL) {
			body.text = (char *)o->text;
		} else if (o->template_name != NULL) {
			/* The submitter's language: ask for the case first. */
			itk_pb_op_request_body sb =
			    INTAKE__V1__OPERATOR_REQUEST_BODY__INIT;
			const char *lang = "en";
			sb.command = INTAKE__V1__OPERATOR_COMMAND__OP_HISTORY;
			sb.case_id = body.case_id;
			sb.command = INTAKE__V1__OPERATOR_COMMAND__OP_SHOW;
			if ((rc = call(o, &sb, &resp)) != EXIT_OK) {
				return rc;
			}
			if (resp->n_cases > 0) {
				lang = resp->cases[0]->language;
			}
			owned = template_text(o->templates, o->template_name,
					      lang);
			itk_wire_free(resp);
			resp = NULL;
			if (owned == NULL) {
				fprintf(stderr,
					"intake-op: no template %s in %s\n",
					o->template_name,
					o->templates ? o->templates
						     : "(none)");
				return EXIT_USAGE;
			}
			body.text = owned;
		} else {
			if ((owned = read_text()) == NULL ||
			    owned[0] == '\0') {
				free(owned);
				fprintf(stderr, "intake-op: empty reply\n");
				return EXIT_USAGE;
			}
			body.text = owned;
		}
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_NOTE:
		body.text = (char *)(o->text != NULL ? o->text : "");
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_SEARCH:
		body.state = (char *)(o->state ? o->state : "");
		body.queue = (char *)(o->queue ? o->queue : "");
		body.tag = (char *)(o->tag ? o->tag : "");
		body.since = o->since;
		body.until = o->until;
		body.limit = (uint32_t)o->limit;
		break;
	case INTAKE__V1__OPERATOR_COMMAND__OP_PHONE_INTAKE:
		body.text = (char *)(o->text ? o->text : "");
		body.language = (char *)(o->lang ? o->lang : "");
		body.form_category =
		    o->category == NULL ? INTAKE__V1__FORM_CATEGORY__FORM_NONE
		    : strcmp(o->category, "surrender") == 0
			? INTAKE__V1__FORM_CATEGORY__FORM_SURRENDER
		    : strcmp(o->category, "relative") == 0
			? INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE
			: INTAKE__V1__FORM_CATEGORY__FORM_OTHER;
		body.n_fields = o->n_fields;
		body.fields = o->fieldp;
		break;
	default:
		break;
	}
	rc = call(o, &body, &resp);
	if (rc == EXIT_OK) {
		switch (sc->cmd) {
		case INTAKE__V1__OPERATOR_COMMAND__OP_QUEUES:
			print_queues(o, resp);
			break;
		case INTAKE__V1__OPERATOR_COMMAND__OP_SHOW:
			print_show(o, resp);
			break;
		case INTAKE__V1__OPERATOR_COMMAND__OP_HISTORY:
			print_history(o, resp);
			break;
		default:
			print_cases(o, resp);
			if (resp->info[0] != '\0') {
				if (o->json) {
					printf("{\"type\":\"info\",\"info\":");
					jstr(resp->info);
					printf("}\n");
				} else {
					printf("%s\n", resp->info);
				}
			}
			break;
		}
	}
	itk_wire_free(resp);
	free(owned);
	return rc;
}

static int
load(opts *o)
{
	itk_config *c = NULL;
	itk_key_info ki;
	char err[256], *pass = NULL;
	const char *path = o->config ? o->config : getenv("INTAKE_OP_CONFIG");
	itk_err r;

	if (path != NULL) {
		if (itk_config_load(path, &c, err, sizeof(err)) != ITK_OK) {
			fprintf(stderr, "intake-op: %s\n", err);
			return EXIT_USAGE;
		}
		/* Strings live as long as the config; it is never freed
		 * before exit. */
		if (o->key_file == NULL)
			o->key_file = itk_config_str(c, "key_file", NULL);
		if (o->pass_file == NULL)
			o->pass_file =
			    itk_config_str(c, "passphrase_file", NULL);
		if (o->url == NULL)
			o->url = itk_config_str(c, "url", NULL);
		if (o->templates == NULL)
			o->templates = itk_config_str(c, "templates", NULL);
	}
	if (o->key_file == NULL || o->url == NULL) {
		fprintf(stderr, "intake-op: needs key_file and url (config "
				"or --key/--url)\n");
		return EXIT_USAGE;
	}
	if ((r = itk_key_info_load(o->key_file, &ki)) != ITK_OK) {
		fprintf(stderr, "intake-op: %s: %s\n", o->key_file,
			itk_strerror(r));
		return EXIT_FAIL;
	}
	if (!ki.dev && (r = itk_askpass(o->pass_file, "Key passphrase: ",
					false, &pass)) != ITK_OK) {
		fprintf(stderr, "intake-op: passphrase: %s\n",
			itk_strerror(r));
		return EXIT_FAIL;
	}
	r = itk_key_load(o->key_file, pass, &o->key);
	itk_askpass_free(pass);
	if (r != ITK_OK || itk_key_kind_of(o->key) != ITK_KEY_OPERATOR) {
		fprintf(stderr,
			"intake-op: %s: not a usable operator key "
			"(%s)\n",
			o->key_file, itk_strerror(r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	return itk_parse_u64(s, 0, UINT64_MAX, v) == ITK_OK;
}

int
main(int argc, char **argv)
{
	opts o;
	const subcommand *sc = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	if (itk_crypto_init() != ITK_OK) {
		return EXIT_FAIL;
	}
	o.color = isatty(1) && getenv("NO_COLOR") == NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
#define OPT(name) (strcmp(a, name) == 0 && v != NULL && (i++, true))
		if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--remove") == 0) {
			o.remove = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (OPT("--config")) {
			o.config = v;
		} else if (OPT("--key")) {
			o.key_file = v;
		} else if (OPT("--passphrase-file")) {
			o.pass_file = v;
		} else if (OPT("--url")) {
			o.url = v;
		} else if (OPT("--templates")) {
			o.templates = v;
		} else if (OPT("--text")) {
			o.text = v;
		} else if (OPT("--template")) {
			o.template_name = v;
		} else if (OPT("--state")) {
			o.state = v;
		} else if (OPT("--queue")) {
			o.queue = v;
		} else if (OPT("--tag")) {
			o.tag = v;
		} else if (OPT("--lang")) {
			o.lang = v;
		} else if (OPT("--category")) {
			o.category = v;
		} else if (OPT("--since")) {
			ok = parse_u64(v, &o.since);
		} else if (OPT("--until")) {
			ok = parse_u64(v, &o.until);
		} else if (OPT("--limit")) {
			ok = parse_u64(v, &o.limit) && o.limit <= 1000;
		} else if (OPT("--field")) {
			char *eq = strchr(argv[i], '=');
			ok = eq != NULL && o.n_fields < FIELDS_MAX;
			if (ok) {
				Intake__V1__Field *f = &o.fields[o.n_fields];
				intake__v1__field__init(f);
				*eq = '\0';
				f->name = argv[i];
				f->value = eq + 1;
				o.fieldp[o.n_fields++] = f;
			}
		} else if (a[0] == '-') {
			ok = false;
		} else if (sc == NULL) {
			for (size_t j = 0; j < N_SUB; j++) {
				if (strcmp(a, subcommands[j].name) == 0) {
					sc = &subcommands[j];
				}
			}
			ok = sc != NULL;
		} else if (o.n_args < 4) {
			o.args[o.n_args++] = argv[i];
		} else {
			ok = false;
		}
#undef OPT
		if (!ok) {
			fprintf(stderr, "intake-op: bad argument '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (sc == NULL || o.n_args != sc->nargs) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((rc = load(&o)) != EXIT_OK) {
		return rc;
	}
	rc = run(&o, sc);
	itk_key_free(o.key);
	return rc;
}
