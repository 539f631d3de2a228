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
 * ipc:// or tls+tcp://), templates (reply templates file),
 * queue_keys_file and org_public_key_file (the signed queue-keys file
 * with this operator's grants, and the key it is signed with; default
 * queue-keys.bin and org.pub of the key store the operator key is in).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "labels.h"
#include "opwire.h"
#include "qgrants.h"
#include "wire.h"

#define EXIT_OK      0
#define EXIT_FAIL    1
#define EXIT_USAGE   2
#define EXIT_REFUSED 3
#define FIELDS_MAX   16u
#define ARGS_MAX     (2 + ITK_OP_BULK_MAX)

typedef struct {
	const char *config, *key_file, *pass_file, *url, *templates;
	const char *queue_keys, *org_pub; /* the signed queue-keys file */
	bool json, remove, color;
	const char *text, *template_name, *state, *queue, *tag, *lang;
	const char *category;
	uint64_t since, until, limit;
	Intake__V1__Field fields[FIELDS_MAX];
	Intake__V1__Field *fieldp[FIELDS_MAX];
	size_t n_fields;
	const char *to, *out, *signer_pub;
	bool help;
	char *args[ARGS_MAX];
	int n_args;
	itk_secret_key *key;
} opts;

typedef struct {
	const char *name;
	Intake__V1__OperatorCommand cmd; /* OP_UNSPECIFIED: local only */
	int min_args, max_args; /* positional arguments after the command */
	const char *usage;
	const char *help; /* one paragraph, for COMMAND --help */
} subcommand;

#define OPC(x) INTAKE__V1__OPERATOR_COMMAND__OP_##x

static const subcommand subcommands[] = {
    {"queues", OPC(QUEUES), 0, 0, "queues",
     "Per queue of yours: open cases by urgency, age of the oldest, "
     "claimed and free."},
    {"next", OPC(NEXT), 1, 1, "next QUEUE",
     "Claims the most urgent, oldest free case of QUEUE (surrender, "
     "captivity, casualty, other) for the service's lease time."},
    {"release", OPC(RELEASE), 1, 1, "release CASE",
     "Gives a claimed case back to its queue (supervisors: anyone's)."},
    {"show", OPC(SHOW), 1, 1, "show CASE",
     "The whole thread, decrypted, with notes, replies sent and history."},
    {"reply", OPC(REPLY), 1, 1,
     "reply CASE [--text T | --template received|safe-surrender]",
     "Seals a reply to the submitter's reply key and queues it for their "
     "mailbox.  Text from --text, a template in the case's language, "
     "standard input, or $EDITOR."},
    {"note", OPC(NOTE), 1, 1, "note CASE --text T",
     "An internal note, encrypted in the vault, never sent."},
    {"tag", OPC(TAG), 2, 2, "tag CASE TAG [--remove]",
     "Adds (or removes) a tag: 1..32 of a-z 0-9 _ -."},
    {"move", OPC(MOVE), 2, 2, "move CASE QUEUE",
     "Moves an open case to another of your queues."},
    {"escalate", OPC(ESCALATE), 1, 1, "escalate CASE",
     "Sets the case's urgency to critical."},
    {"close", OPC(CLOSE), 2, 2, "close CASE REASON",
     "Closes a case; REASON is a short code stored in the clear "
     "(surrendered, duplicate, answered): never case content."},
    {"history", OPC(HISTORY), 1, 1, "history CASE",
     "Who did what to the case, and when."},
    {"search", OPC(SEARCH), 0, 0,
     "search [--state open|closed] [--queue Q] [--tag T] [--since UNIX] "
     "[--until UNIX] [--limit N]",
     "Finds cases by metadata only; there is no search by content."},
    {"phone-intake", OPC(PHONE_INTAKE), 0, 0,
     "phone-intake --text T [--lang ru|uk|en] "
     "[--category surrender|relative|other] [--field NAME=VALUE]...",
     "Enters a call as a case: sealed to the intake key, triaged and "
     "stored like a web case."},
    {"export", OPC(EXPORT), 1, 1, "export CASE --to RECIPIENT.pub",
     "Supervisors: asks to hand a case over, sealed to the recipient's key "
     "(a .pub from intake-keys, operator or intake kind).  Two-person "
     "rule: nothing leaves until another supervisor approves; prints the "
     "approval id."},
    {"bulk-close", OPC(BULK_CLOSE), 2, ARGS_MAX - 1,
     "bulk-close REASON CASE...",
     "Supervisors: asks to close up to 256 cases; runs when another "
     "supervisor approves."},
    {"bulk-move", OPC(BULK_MOVE), 2, ARGS_MAX - 1, "bulk-move QUEUE CASE...",
     "Supervisors: asks to move up to 256 cases; runs when another "
     "supervisor approves."},
    {"pending", OPC(PENDING), 0, 0, "pending",
     "Supervisors: the requests waiting for a second supervisor."},
    {"approve", OPC(APPROVE), 1, 1, "approve ID [--out FILE]",
     "Supervisors: approves another supervisor's request, which runs now. "
     "For an export, writes the file signed by your key (--out, default "
     "case-<id>.itx, mode 0600)."},
    {"open-export", OPC(UNSPECIFIED), 1, 1,
     "open-export FILE --key RECIPIENT.key [--signer-pub SIGNER.pub]",
     "Reads an export file with the recipient's secret key (no service "
     "needed): checks the signature (and that the signer is SIGNER.pub), "
     "then shows the case."},
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage: intake-op [--config FILE] [--key FILE] [--url URL] "
		   "[--json] COMMAND ...\n\n");
	for (size_t i = 0; i < N_SUB; i++) {
		fprintf(f, "  %s\n", subcommands[i].usage);
	}
	fprintf(f, "\nintake-op COMMAND --help says more.\nConfig keys: "
		   "key_file, passphrase_file, url, templates, "
		   "queue_keys_file (--queue-keys),\norg_public_key_file "
		   "(--org-pub) ($INTAKE_OP_CONFIG).\nExit codes: 0 done, 1 "
		   "failed, 2 "
		   "usage, 3 refused by the service.\n");
}

static void
usage_one(FILE *f, const subcommand *sc)
{
	fprintf(f, "usage: intake-op [--config FILE] [--json] %s\n\n%s\n",
		sc->usage, sc->help);
}

/* ------------------------------------------------------------ output */

/*
 * Aligned tables: cells are collected, then each column is as wide as its
 * widest cell (in characters: UTF-8 continuation bytes do not count).
 * Bold headers and red critical rows only on a terminal (o->color).
 */
typedef struct {
	size_t ncol, n, cap;
	char **cell; /* row-major, n cells */
	bool *alert; /* per row */
} table;

static void
tbl_init(table *t, size_t ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
}

static void tbl_cell(table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tbl_cell(table *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **nc = realloc(t->cell, cap * sizeof(*nc));
		bool *na;
		if (nc == NULL) {
			return;
		}
		t->cell = nc;
		if ((na = realloc(t->alert, (cap / t->ncol + 1) *
						sizeof(*na))) == NULL) {
			return;
		}
		t->alert = na;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((t->cell[t->n] = strdup(buf)) == NULL) {
		return;
	}
	if (t->n % t->ncol == 0) {
		t->alert[t->n / t->ncol] = false;
	}
	t->n++;
}

/* Marks the row being filled (or just filled) as an alert. */
static void
tbl_alert(table *t)
{
	if (t->n > 0) {
		t->alert[(t->n - 1) / t->ncol] = true;
	}
}

static size_t
u8len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		n += ((unsigned char)*s & 0xC0u) != 0x80u;
	}
	return n;
}

static void
tbl_row(const opts *o, const table *t, const char *const *cells,
	const size_t *w, const char *on)
{
	if (o->color && on != NULL) {
		fputs(on, stdout);
	}
	for (size_t c = 0; c < t->ncol; c++) {
		fputs(cells[c], stdout);
		if (c + 1 < t->ncol) {
			for (size_t k = u8len(cells[c]); k < w[c] + 2; k++) {
				putchar(' ');
			}
		}
	}
	if (o->color && on != NULL) {
		fputs("\033[0m", stdout);
	}
	putchar('\n');
}

static void
tbl_print(const opts *o, const table *t, const char *const *head)
{
	size_t w[16] = {0};

	if (t->ncol > 16) {
		return;
	}
	for (size_t c = 0; c < t->ncol; c++) {
		w[c] = u8len(head[c]);
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t l = u8len(t->cell[i]);
		if (l > w[i % t->ncol]) {
			w[i % t->ncol] = l;
		}
	}
	tbl_row(o, t, head, w, "\033[1m");
	for (size_t r = 0; r * t->ncol < t->n; r++) {
		tbl_row(o, t, (const char *const *)t->cell + r * t->ncol, w,
			t->alert[r] ? "\033[31m" : NULL);
	}
}

static void
tbl_free(table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->cell[i]);
	}
	free(t->cell);
	free(t->alert);
	memset(t, 0, sizeof(*t));
}

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
	{
		static const char *const head[] = {
		    "CASE", "QUEUE", "URGENCY",    "LANG", "AGE",
		    "MSGS", "STATE", "CLAIMED BY", "TAGS"};
		table t;
		tbl_init(&t, 9);
		for (size_t i = 0; i < b->n_cases; i++) {
			const Intake__V1__CaseSummary *c = b->cases[i];
			char hex[2 * ITK_HASH_LEN + 1], age[32], tags[256];
			size_t at = 0;
			itk_hex(hex, c->case_id.data, ITK_HASH_LEN);
			fmt_age(c->created, now, age);
			tags[0] = '\0';
			for (size_t j = 0; j < c->n_tags && at < sizeof(tags);
			     j++) {
				int k =
				    snprintf(tags + at, sizeof(tags) - at,
					     "%s%s", j ? "," : "", c->tags[j]);
				at += k > 0 ? (size_t)k : 0;
			}
			tbl_cell(&t, "%s", hex);
			tbl_cell(&t, "%s", c->queue);
			tbl_cell(&t, "%s", c->urgency);
			tbl_cell(&t, "%s", c->language);
			tbl_cell(&t, "%s", age);
			tbl_cell(&t, "%u", c->messages);
			tbl_cell(&t, "%s", c->open ? "open" : "closed");
			tbl_cell(&t, "%s",
				 c->lease_holder[0] ? c->lease_holder : "-");
			tbl_cell(&t, "%s", tags[0] ? tags : "-");
			if (strcmp(c->urgency, "critical") == 0 && c->open) {
				tbl_alert(&t);
			}
		}
		tbl_print(o, &t, head);
		tbl_free(&t);
	}
}

static void
print_queues(const opts *o, const itk_pb_op_response_body *b)
{
	static const char *const head[] = {"QUEUE",   "CRITICAL", "HIGH",
					   "NORMAL",  "LOW",      "OLDEST",
					   "CLAIMED", "FREE"};
	uint64_t now = (uint64_t)time(NULL);
	table t;

	tbl_init(&t, 8);
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
			continue;
		}
		tbl_cell(&t, "%s", q->queue);
		tbl_cell(&t, "%u", u[0]);
		tbl_cell(&t, "%u", u[1]);
		tbl_cell(&t, "%u", u[2]);
		tbl_cell(&t, "%u", u[3]);
		tbl_cell(&t, "%s", age);
		tbl_cell(&t, "%u", q->claimed);
		tbl_cell(&t, "%u", q->free);
		if (u[0] > 0) {
			tbl_alert(&t);
		}
	}
	if (!o->json) {
		tbl_print(o, &t, head);
	}
	tbl_free(&t);
}

static void
print_history(const opts *o, const itk_pb_op_response_body *b)
{
	static const char *const head[] = {"WHEN", "OPERATOR", "ACTION",
					   "DETAIL"};
	table t;

	tbl_init(&t, 4);
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
		tbl_cell(&t, "%s", when);
		tbl_cell(&t, "%s", e->operator_);
		tbl_cell(&t, "%s", e->action);
		tbl_cell(&t, "%s", e->detail);
	}
	if (!o->json && b->n_history > 0) {
		tbl_print(o, &t, head);
	}
	tbl_free(&t);
}

static const char *
command_word(Intake__V1__OperatorCommand cmd)
{
	for (size_t i = 0; i < N_SUB; i++) {
		if (subcommands[i].cmd == cmd) {
			return subcommands[i].name;
		}
	}
	return "?";
}

static void
print_approvals(const opts *o, const itk_pb_op_response_body *b)
{
	static const char *const head[] = {
	    "APPROVAL", "REQUESTED BY", "COMMAND", "CASES", "EXPIRES", "WHAT"};
	uint64_t now = (uint64_t)time(NULL);
	table t;

	if (!o->json && b->n_approvals == 0) {
		printf("no requests waiting\n");
		return;
	}
	tbl_init(&t, 6);
	for (size_t i = 0; i < b->n_approvals; i++) {
		const Intake__V1__Approval *a = b->approvals[i];
		char id[2 * ITK_OP_APPROVAL_ID_LEN + 1], left[32];
		itk_hex(id, a->approval_id.data, ITK_OP_APPROVAL_ID_LEN);
		if (o->json) {
			printf("{\"type\":\"approval\",\"approval\":\"%s\","
			       "\"requested_by\":",
			       id);
			jstr(a->requested_by);
			printf(",\"command\":\"%s\",\"requested_at\":%llu,"
			       "\"expires\":%llu,\"detail\":",
			       command_word(a->command),
			       (unsigned long long)a->requested_at,
			       (unsigned long long)a->expires);
			jstr(a->detail);
			printf(",\"cases\":[");
			for (size_t j = 0; j < a->n_case_ids; j++) {
				printf(j ? "," : "");
				jhex(&a->case_ids[j]);
			}
			printf("]}\n");
			continue;
		}
		snprintf(
		    left, sizeof(left), "in %llum",
		    (unsigned long long)(a->expires > now
					     ? (a->expires - now + 59) / 60
					     : 0));
		tbl_cell(&t, "%s", id);
		tbl_cell(&t, "%s", a->requested_by);
		tbl_cell(&t, "%s", command_word(a->command));
		tbl_cell(&t, "%zu", a->n_case_ids);
		tbl_cell(&t, "%s", left);
		tbl_cell(&t, "%s", a->detail);
	}
	if (!o->json) {
		tbl_print(o, &t, head);
	}
	tbl_free(&t);
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

/* The queue keys a request carries (docs/vault.md), wiped after use. */
typedef struct {
	Intake__V1__QueueKeyInTransit k[ITK_OP_QUEUE_KEYS_MAX];
	Intake__V1__QueueKeyInTransit *p[ITK_OP_QUEUE_KEYS_MAX];
	uint8_t sealed[ITK_OP_QUEUE_KEYS_MAX][ITK_OP_QUEUE_KEY_LEN];
} req_keys;

/* path, or `file` next to the key store the operator key is in
 * (STORE/operators/NAME.key -> STORE/file), if that exists. */
static bool
store_file(const opts *o, const char *path, const char *file, char *out,
	   size_t len)
{
	const char *slash;
	int n;

	if (path != NULL) {
		n = snprintf(out, len, "%s", path);
		return n > 0 && (size_t)n < len;
	}
	if ((slash = strstr(o->key_file, "/" ITK_KEYSTORE_OPERATORS "/")) ==
	    NULL) {
		return false;
	}
	n = snprintf(out, len, "%.*s/%s", (int)(slash - o->key_file),
		     o->key_file, file);
	return n > 0 && (size_t)n < len && access(out, R_OK) == 0;
}

/*
 * Opens the operator's grants in the queue-keys file and seals each
 * queue secret to the service key, for this request only.  No file: no
 * keys (a service without queue keys).  A file that does not verify is
 * an error: the keys would come from somebody else.
 */
static int
add_queue_keys(opts *o, itk_pb_op_request_body *body, req_keys *rk)
{
	const itk_key_info *ki = itk_key_info_of(o->key);
	char qpath[4096], opath[4096];
	uint8_t org[ITK_SIGN_PK_LEN], qsk[ITK_SK_LEN];
	itk_qgrants *g = NULL;
	size_t n = 0;
	int rc = EXIT_FAIL;
	itk_err r;

	if (!store_file(o, o->queue_keys, ITK_QGRANTS_FILE, qpath,
			sizeof(qpath))) {
		return EXIT_OK;
	}
	if (!store_file(o, o->org_pub, "org.pub", opath, sizeof(opath)) ||
	    (r = itk_org_pub_load(opath, org)) != ITK_OK) {
		fprintf(stderr, "intake-op: the queue-keys file needs the "
				"organisation key: --org-pub FILE\n");
		return EXIT_FAIL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		return EXIT_FAIL;
	}
	if ((r = itk_qgrants_load(qpath, org, g)) != ITK_OK) {
		fprintf(stderr, "intake-op: %s: %s\n", qpath, itk_strerror(r));
		goto out;
	}
	/* Newest versions first: an older one only opens copies that were
	 * not re-wrapped after a rotation. */
	for (size_t i = g->n_grants; i-- > 0 && n < ITK_OP_QUEUE_KEYS_MAX;) {
		const itk_qgrant *gr = &g->grants[i];
		const itk_qkey *qk = NULL;
		if (gr->operator_key_id != ki->key_id ||
		    (ki->queues & (1u << gr->queue)) == 0) {
			continue;
		}
		for (size_t j = 0; j < g->n_keys; j++) {
			if (g->keys[j].queue == gr->queue &&
			    g->keys[j].version == gr->version) {
				qk = &g->keys[j];
			}
		}
		if (qk == NULL ||
		    itk_qgrant_open(gr->wrapped, itk_key_secret(o->key),
				    qk->public_key, qsk) != ITK_OK) {
			fprintf(stderr,
				"intake-op: the grant of %s-%u does not open "
				"with this key\n",
				itk_queue_name(gr->queue), gr->version);
			goto out;
		}
		r = itk_wrap_key(g->service_pk, qsk, rk->sealed[n]);
		sodium_memzero(qsk, sizeof(qsk));
		if (r != ITK_OK) {
			goto out;
		}
		intake__v1__queue_key_in_transit__init(&rk->k[n]);
		rk->k[n].queue = (char *)itk_queue_name(gr->queue);
		rk->k[n].version = gr->version;
		rk->k[n].sealed.data = rk->sealed[n];
		rk->k[n].sealed.len = ITK_OP_QUEUE_KEY_LEN;
		rk->p[n] = &rk->k[n];
		n++;
	}
	body->queue_keys = rk->p;
	body->n_queue_keys = n;
	rc = EXIT_OK;
out:
	free(g);
	return rc;
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
	req_keys rk;
	itk_err r;
	int rc = EXIT_FAIL;

	*out = NULL;
	memset(&rk, 0, sizeof(rk));
	if (req == NULL) {
		return EXIT_FAIL;
	}
	body->operator_ = (char *)ki->name;
	body->key_id = ki->key_id;
	/* Two-person requests are stored until approved: never with keys
	 * (the approver's request carries them). */
	if (body->command != INTAKE__V1__OPERATOR_COMMAND__OP_EXPORT &&
	    body->command != INTAKE__V1__OPERATOR_COMMAND__OP_BULK_CLOSE &&
	    body->command != INTAKE__V1__OPERATOR_COMMAND__OP_BULK_MOVE &&
	    (rc = add_queue_keys(o, body, &rk)) != EXIT_OK) {
		goto out;
	}
	rc = EXIT_FAIL;
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
	itk_buf_free(req); /* wipes the sealed queue keys too */
	sodium_memzero(&rk, sizeof(rk));
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

/*
 * A recipient's public key file (.pub, or the public header of a .key):
 * an operator key (Ed25519, converted to X25519 as the service does for
 * answers) or an intake-kind key (X25519).  pk receives the X25519 key.
 */
static itk_err
recipient_load(const char *path, itk_key_info *ri, uint8_t pk[ITK_PK_LEN])
{
	itk_err r;

	if ((r = itk_key_info_load(path, ri)) != ITK_OK) {
		return r;
	}
	switch (ri->kind) {
	case ITK_KEY_OPERATOR:
		return itk_sign_pk_to_box_pk(ri->public_key, pk);
	case ITK_KEY_INTAKE:
		memcpy(pk, ri->public_key, ITK_PK_LEN);
		return ITK_OK;
	default:
		return ITK_E_RANGE;
	}
}

/* Approve of an export: sign the header with this operator's key and
 * write the file (0600, never over an existing file). */
static int
write_export(const opts *o, const Intake__V1__CaseExportHeader *h)
{
	const itk_key_info *ki = itk_key_info_of(o->key);
	char path[128], hex[2 * ITK_HASH_LEN + 1];
	const char *out = o->out;
	itk_buf *file = itk_buf_new(ITK_EXPORT_MAX);
	itk_err r;
	int rc = EXIT_FAIL;

	if (file == NULL) {
		return EXIT_FAIL;
	}
	itk_hex(hex, h->case_id.data, ITK_HASH_LEN);
	if (out == NULL) {
		snprintf(path, sizeof(path), "case-%.16s.itx", hex);
		out = path;
	}
	if ((r = op_export_sign(itk_key_secret(o->key), itk_key_public(o->key),
				ki->name, h, file)) != ITK_OK ||
	    (r = itk_file_write_atomic(out, itk_buf_ptr(file),
				       itk_buf_len(file), 0600, 1)) !=
		ITK_OK) {
		fprintf(stderr, "intake-op: cannot write %s: %s\n", out,
			itk_strerror(r));
		goto done;
	}
	if (o->json) {
		printf("{\"type\":\"export\",\"file\":");
		jstr(out);
		printf(",\"case\":\"%s\",\"recipient\":", hex);
		jstr(h->recipient);
		printf(",\"bytes\":%zu}\n", itk_buf_len(file));
	} else {
		printf("export of %.16s... for %s written to %s (%zu bytes), "
		       "signed by %s\n",
		       hex, h->recipient, out, itk_buf_len(file), ki->name);
	}
	rc = EXIT_OK;
done:
	itk_buf_free(file);
	return rc;
}

/* open-export: no service; the recipient's key opens the file. */
static int
open_export(const opts *o)
{
	itk_pb_case_export_header *h = NULL;
	itk_pb_case_export_body *b = NULL;
	itk_pb_op_response_body view =
	    INTAKE__V1__OPERATOR_RESPONSE_BODY__INIT;
	uint8_t xpk[ITK_PK_LEN], xsk[ITK_SK_LEN], want[ITK_SIGN_PK_LEN];
	char fp[ITK_FINGERPRINT_LEN], when[32];
	itk_buf *file = NULL;
	itk_key_info si;
	itk_err r;
	int rc = EXIT_FAIL;

	if (o->signer_pub != NULL) {
		if ((r = itk_key_info_load(o->signer_pub, &si)) != ITK_OK ||
		    si.kind != ITK_KEY_OPERATOR) {
			fprintf(stderr, "intake-op: %s: not an operator key\n",
				o->signer_pub);
			return EXIT_FAIL;
		}
		memcpy(want, si.public_key, sizeof(want));
	}
	if (itk_key_kind_of(o->key) == ITK_KEY_INTAKE) {
		memcpy(xpk, itk_key_public(o->key), ITK_PK_LEN);
		memcpy(xsk, itk_key_secret(o->key), ITK_SK_LEN);
		r = ITK_OK;
	} else if ((r = itk_sign_pk_to_box_pk(itk_key_public(o->key), xpk)) ==
		   ITK_OK) {
		r = itk_sign_sk_to_box_sk(itk_key_secret(o->key), xsk);
	}
	if (r != ITK_OK ||
	    (r = itk_file_read(o->args[0], ITK_EXPORT_MAX, &file)) != ITK_OK) {
		fprintf(stderr, "intake-op: %s: %s\n", o->args[0],
			itk_strerror(r));
		goto out;
	}
	r = op_export_open(itk_buf_ptr(file), itk_buf_len(file), xpk, xsk,
			   o->signer_pub != NULL ? want : NULL, &h, &b);
	if (r != ITK_OK) {
		fprintf(stderr, "intake-op: %s: %s\n", o->args[0],
			r == ITK_E_KEY_UNKNOWN ? "not sealed to this key"
			: r == ITK_E_VERIFY
			    ? "bad signature, or not signed by --signer-pub"
			    : itk_strerror(r));
		rc = EXIT_REFUSED;
		goto out;
	}
	itk_key_fingerprint(ITK_KEY_OPERATOR, h->signer_pk.data, fp);
	fmt_time(h->exported_at, when);
	if (o->json) {
		printf("{\"type\":\"export\",\"exported_at\":%llu,"
		       "\"requested_by\":",
		       (unsigned long long)h->exported_at);
		jstr(h->requested_by);
		printf(",\"approved_by\":");
		jstr(h->approved_by);
		printf(",\"signer\":");
		jstr(h->signer);
		printf(",\"signer_fingerprint\":\"%s\"}\n", fp);
	} else {
		printf("exported %s, requested by %s, approved by %s\n"
		       "signed by %s, fingerprint %s%s\n\n",
		       when, h->requested_by, h->approved_by, h->signer, fp,
		       o->signer_pub != NULL
			   ? " (matches --signer-pub)"
			   : " (compare it aloud with the sender's)");
	}
	/* Shown exactly as show shows a case. */
	view.cases = &b->summary;
	view.n_cases = 1;
	view.messages = b->messages;
	view.n_messages = b->n_messages;
	view.notes = b->notes;
	view.n_notes = b->n_notes;
	view.history = b->history;
	view.n_history = b->n_history;
	print_show(o, &view);
	rc = EXIT_OK;
out:
	sodium_memzero(xsk, sizeof(xsk));
	itk_wire_free(b); /* protobuf-c does not wipe: docs */
	itk_wire_free(h);
	itk_buf_free(file);
	return rc;
}

static int
run(opts *o, const subcommand *sc)
{
	itk_pb_op_request_body body = INTAKE__V1__OPERATOR_REQUEST_BODY__INIT;
	itk_pb_op_response_body *resp = NULL;
	static uint8_t ids[ITK_OP_BULK_MAX][ITK_HASH_LEN];
	static ProtobufCBinaryData idv[ITK_OP_BULK_MAX];
	uint8_t id[ITK_HASH_LEN], appr[ITK_OP_APPROVAL_ID_LEN];
	uint8_t rpk[ITK_PK_LEN];
	char *owned = NULL;
	bool bulk = sc->cmd == OPC(BULK_CLOSE) || sc->cmd == OPC(BULK_MOVE);
	int rc;

	body.command = sc->cmd;
	if (sc->min_args >= 1 && sc->cmd != OPC(NEXT) &&
	    sc->cmd != OPC(APPROVE) && !bulk) {
		if (!case_arg(o->args[0], id)) {
			fprintf(stderr, "intake-op: CASE is 64 hex digits\n");
			return EXIT_USAGE;
		}
		body.case_id.data = id;
		body.case_id.len = sizeof(id);
	}
	if (bulk) {
		/* args[0] is the reason or queue; the rest are cases. */
		for (int i = 1; i < o->n_args; i++) {
			if (!case_arg(o->args[i], ids[i - 1])) {
				fprintf(stderr,
					"intake-op: CASE is 64 hex "
					"digits: %s\n",
					o->args[i]);
				return EXIT_USAGE;
			}
			idv[i - 1].data = ids[i - 1];
			idv[i - 1].len = ITK_HASH_LEN;
		}
		body.case_ids = idv;
		body.n_case_ids = (size_t)o->n_args - 1;
	}
	switch (sc->cmd) {
	case OPC(BULK_CLOSE):
		body.text = o->args[0];
		break;
	case OPC(BULK_MOVE):
		body.queue = o->args[0];
		break;
	case OPC(APPROVE):
		if (itk_unhex(appr, sizeof(appr), o->args[0],
			      strlen(o->args[0])) != ITK_OK) {
			fprintf(stderr, "intake-op: ID is 32 hex digits\n");
			return EXIT_USAGE;
		}
		body.approval_id.data = appr;
		body.approval_id.len = sizeof(appr);
		break;
	case OPC(EXPORT): {
		itk_key_info ri;
		itk_err r;
		if (o->to == NULL) {
			fprintf(stderr, "intake-op: export needs --to "
					"RECIPIENT.pub\n");
			return EXIT_USAGE;
		}
		if ((r = recipient_load(o->to, &ri, rpk)) != ITK_OK) {
			fprintf(stderr, "intake-op: %s: %s\n", o->to,
				itk_strerror(r));
			return EXIT_FAIL;
		}
		body.recipient_pk.data = rpk;
		body.recipient_pk.len = sizeof(rpk);
		if ((owned = strdup(ri.name)) == NULL) {
			return EXIT_FAIL;
		}
		body.recipient = owned;
		break;
	}
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
		case OPC(PENDING):
		case OPC(EXPORT):
		case OPC(BULK_CLOSE):
		case OPC(BULK_MOVE):
			print_approvals(o, resp);
			if (!o->json && resp->n_approvals > 0) {
				printf("waiting for a second supervisor: "
				       "intake-op approve %s\n",
				       resp->info);
			}
			break;
		case OPC(APPROVE):
			print_cases(o, resp);
			if (resp->export != NULL) {
				rc = write_export(o, resp->export);
			}
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

/* Loads the key (and, unless local, needs the url).  local: open-export,
 * where the key may also be an intake-kind (X25519) recipient key. */
static int
load(opts *o, bool local)
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
		if (o->queue_keys == NULL)
			o->queue_keys =
			    itk_config_str(c, "queue_keys_file", NULL);
		if (o->org_pub == NULL)
			o->org_pub =
			    itk_config_str(c, "org_public_key_file", NULL);
	}
	if (o->key_file == NULL || (o->url == NULL && !local)) {
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
	if (r != ITK_OK ||
	    (itk_key_kind_of(o->key) != ITK_KEY_OPERATOR &&
	     !(local && itk_key_kind_of(o->key) == ITK_KEY_INTAKE))) {
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
			o.help = true;
		} else if (OPT("--to")) {
			o.to = v;
		} else if (OPT("--out")) {
			o.out = v;
		} else if (OPT("--signer-pub")) {
			o.signer_pub = v;
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
		} else if (OPT("--queue-keys")) {
			o.queue_keys = v;
		} else if (OPT("--org-pub")) {
			o.org_pub = v;
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
		} else if (o.n_args < (int)ARGS_MAX) {
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
	if (o.help) {
		if (sc != NULL) {
			usage_one(stdout, sc);
		} else {
			usage(stdout);
		}
		return EXIT_OK;
	}
	if (sc == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.n_args < sc->min_args || o.n_args > sc->max_args) {
		usage_one(stderr, sc);
		return EXIT_USAGE;
	}
	if ((rc = load(&o, sc->cmd == OPC(UNSPECIFIED))) != EXIT_OK) {
		return rc;
	}
	rc = sc->cmd == OPC(UNSPECIFIED) ? open_export(&o) : run(&o, sc);
	itk_key_free(o.key);
	return rc;
}
