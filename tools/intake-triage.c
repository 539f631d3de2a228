/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-triage [--rules FILE] [--explain]
 *
 * Reads JSON lines on stdin, each an object with "text" (string) and
 * optionally "form_category" (string), and writes each back on stdout with
 * "queue", "urgency" and "language" set by triage_classify: exactly the
 * worker's code and, without --rules, the worker's built-in rules.  Other
 * members are kept in order; earlier queue/urgency/language members are
 * replaced.  --explain adds "signals": the rule signals that fired.
 *
 * A bad line gets an error on stderr naming its number; the other lines
 * are still processed, and the exit status is 1 at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "triage.h"

#define OUT_MAX (ITK_JSON_LINE_MAX + 4096u)
#define WHY_MAX 4096u

static void
usage(FILE *f)
{
	fprintf(f, "usage: intake-triage [--rules FILE] [--explain]\n"
		   "Reads JSON lines ({\"text\": ..., \"form_category\": "
		   "...}) on stdin and writes\n"
		   "them back with \"queue\", \"urgency\" and \"language\" "
		   "added.\n");
}

/* Reads one line (without '\n') into b; *over is set past the cap. */
static int
read_line(FILE *in, itk_buf *b, int *over)
{
	int c, any = 0;
	char ch;

	itk_buf_reset(b);
	*over = 0;
	while ((c = getc(in)) != EOF) {
		any = 1;
		if (c == '\n') {
			return 1;
		}
		ch = (char)c;
		if (!*over && itk_buf_put(b, &ch, 1) != ITK_OK) {
			*over = 1;
		}
	}
	return any;
}

static int
is_blank(const itk_buf *b)
{
	const uint8_t *p = itk_buf_ptr(b);

	for (size_t i = 0; i < itk_buf_len(b); i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			return 0;
		}
	}
	return 1;
}

static int
is_ours(const itk_json_member *m)
{
	static const char *const ours[] = {"queue", "urgency", "language",
					   "signals"};

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		if (m->key_len == strlen(ours[i]) &&
		    memcmp(m->key, ours[i], m->key_len) == 0) {
			return 1;
		}
	}
	return 0;
}

static itk_err
put_field(itk_buf *o, const char *key, const char *val)
{
	itk_err r;

	r = itk_buf_put_u8(o, ',');
	if (r == ITK_OK) {
		r = itk_json_put_string(o, key, strlen(key));
	}
	if (r == ITK_OK) {
		r = itk_buf_put_u8(o, ':');
	}
	if (r == ITK_OK) {
		r = itk_json_put_string(o, val, strlen(val));
	}
	return r;
}

/* Classifies one parsed line and writes the output object into o. */
static itk_err
triage_line(const triage_rules *rules, const itk_json_obj *obj, int explain,
	    itk_buf *o, const char **why_err)
{
	const itk_json_member *text = itk_json_obj_get(obj, "text");
	const itk_json_member *form = itk_json_obj_get(obj, "form_category");
	triage_result res;
	char why[WHY_MAX];
	itk_err r;
	int first = 1;

	if (text == NULL || text->type != ITK_JSON_STRING) {
		*why_err = "no string member \"text\"";
		return ITK_E_MISSING;
	}
	if (form != NULL && form->type != ITK_JSON_STRING &&
	    form->type != ITK_JSON_NULL) {
		*why_err = "\"form_category\" is not a string";
		return ITK_E_FORMAT;
	}
	r = triage_classify_explain(
	    rules, text->str, text->str_len,
	    form != NULL && form->type == ITK_JSON_STRING ? form->str : NULL,
	    &res, why, sizeof(why));
	if (r != ITK_OK) {
		*why_err = itk_strerror(r);
		return r;
	}
	itk_buf_reset(o);
	r = itk_buf_put_u8(o, '{');
	for (size_t i = 0; r == ITK_OK && i < itk_json_obj_count(obj); i++) {
		const itk_json_member *m = itk_json_obj_at(obj, i);

		if (is_ours(m)) {
			continue;
		}
		if (!first) {
			r = itk_buf_put_u8(o, ',');
		}
		first = 0;
		if (r == ITK_OK) {
			r = itk_json_put_string(o, m->key, m->key_len);
		}
		if (r == ITK_OK) {
			r = itk_buf_put_u8(o, ':');
		}
		if (r == ITK_OK) {
			r = itk_buf_put(o, m->raw, m->raw_len);
		}
	}
	/* "text" is always kept, so the fields below follow a member. */
	if (r == ITK_OK) {
		r = put_field(o, "queue", itk_queue_name(res.queue));
	}
	if (r == ITK_OK) {
		r = put_field(o, "urgency", itk_urgency_name(res.urgency));
	}
	if (r == ITK_OK) {
		r = put_field(o, "language", itk_lang_name(res.language));
	}
	if (r == ITK_OK && explain) {
		r = put_field(o, "signals", why);
	}
	if (r == ITK_OK) {
		r = itk_buf_put_str(o, "}\n");
	}
	if (r != ITK_OK) {
		*why_err = itk_strerror(r);
	}
	return r;
}

int
main(int argc, char **argv)
{
	const char *rules_path = NULL;
	triage_rules *rules = NULL;
	itk_buf *line = NULL, *o = NULL;
	char err[512];
	int explain = 0, bad = 0, more, over;
	unsigned long lineno = 0;
	itk_err r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
			rules_path = argv[++i];
		} else if (strcmp(argv[i], "--explain") == 0) {
			explain = 1;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (rules_path != NULL) {
		r = triage_rules_load(rules_path, &rules, err, sizeof(err));
	} else {
		err[0] = '\0';
		r = triage_rules_default(&rules);
	}
	if (r != ITK_OK) {
		fprintf(stderr, "intake-triage: rules %s: %s\n",
			rules_path != NULL ? rules_path : "(built in)",
			err[0] != '\0' ? err : itk_strerror(r));
		return 2;
	}
	line = itk_buf_new(ITK_JSON_LINE_MAX);
	o = itk_buf_new(OUT_MAX);
	if (line == NULL || o == NULL) {
		fprintf(stderr, "intake-triage: out of memory\n");
		bad = 1;
		goto out;
	}
	while ((more = read_line(stdin, line, &over)) != 0) {
		itk_json_obj *obj = NULL;
		const char *why = NULL;
		size_t off = 0;

		lineno++;
		if (over) {
			fprintf(stderr,
				"intake-triage: line %lu: longer "
				"than %u bytes\n",
				lineno, ITK_JSON_LINE_MAX);
			bad = 1;
			continue;
		}
		if (is_blank(line)) {
			continue;
		}
		r = itk_json_obj_parse((const char *)itk_buf_ptr(line),
				       itk_buf_len(line), &obj, &off);
		if (r != ITK_OK) {
			fprintf(stderr,
				"intake-triage: line %lu: not a JSON "
				"object (%s at byte %zu)\n",
				lineno, itk_strerror(r), off);
			bad = 1;
			continue;
		}
		r = triage_line(rules, obj, explain, o, &why);
		itk_json_obj_free(obj);
		if (r != ITK_OK) {
			fprintf(stderr, "intake-triage: line %lu: %s\n",
				lineno, why);
			bad = 1;
			continue;
		}
		if (fwrite(itk_buf_ptr(o), 1, itk_buf_len(o), stdout) !=
		    itk_buf_len(o)) {
			fprintf(stderr, "intake-triage: write failed\n");
			bad = 1;
			goto out;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, "intake-triage: read failed\n");
		bad = 1;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "intake-triage: write failed\n");
		bad = 1;
	}
out:
	itk_buf_free(line);
	itk_buf_free(o);
	triage_rules_free(rules);
	return bad ? 1 : 0;
}
