/* SPDX-License-Identifier: Apache-2.0 */
/*
 * triage-bench: CPU time of triage_classify (the worker's built-in rules)
 * per message, on one thread.  Messages are built from a JSON-lines
 * corpus (the "text" members, e.g. tests/triage/examples.jsonl) by
 * joining texts with newlines up to 1 KiB and 16 KiB (cut on a UTF-8
 * boundary), 64 different messages per size, and the corpus messages
 * themselves.  A measurement, not a test:
 *
 *   triage-bench CORPUS.jsonl [SECONDS]   (per size; default 1)
 *
 * Prints key=value lines: triage_<size>_us (thread CPU per message) and
 * triage_<size>_msgs (messages classified), size one of corpus, 1k, 16k.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "json.h"
#include "triage.h"

#define CORPUS_MAX (16u * 1024u * 1024u)
#define TEXTS_MAX  4096u
#define BUILT      64u
#define SIZE_1K    1024u
#define SIZE_16K   16384u

typedef struct {
	char *p;
	size_t n;
} text;

/* Keeps the calls from being dropped. */
static volatile unsigned sink;

static double
clock_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads the "text" members of the corpus; returns the count. */
static size_t
load_corpus(const char *path, text *out)
{
	itk_buf *data = NULL;
	const char *p;
	size_t len, pos = 0, n = 0;

	if (itk_file_read(path, CORPUS_MAX, &data) != ITK_OK) {
		return 0;
	}
	p = (const char *)itk_buf_ptr(data);
	len = itk_buf_len(data);
	while (pos < len && n < TEXTS_MAX) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - (p + pos)) : len - pos;
		itk_json_obj *o = NULL;
		const itk_json_member *m;

		if (ll > 0 &&
		    itk_json_obj_parse(p + pos, ll, &o, NULL) == ITK_OK) {
			m = itk_json_obj_get(o, "text");
			if (m != NULL && m->str != NULL) {
				out[n].p = malloc(m->str_len + 1);
				if (out[n].p != NULL) {
					memcpy(out[n].p, m->str, m->str_len);
					out[n].n = m->str_len;
					n++;
				}
			}
		}
		itk_json_obj_free(o);
		pos += ll + 1;
	}
	itk_buf_free(data);
	return n;
}

/* Joins texts from `first` on, newline-separated, up to size bytes. */
static text
build(const text *t, size_t nt, size_t first, size_t size)
{
	text m = {malloc(size), 0};

	if (m.p == NULL) {
		return m;
	}
	for (size_t i = first; m.n < size; i++) {
		const text *s = &t[i % nt];
		size_t k = s->n < size - m.n ? s->n : size - m.n;

		memcpy(m.p + m.n, s->p, k);
		m.n += k;
		if (m.n < size) {
			m.p[m.n++] = '\n';
		}
	}
	/* Cut back to a UTF-8 boundary. */
	while (m.n > 0 && ((unsigned char)m.p[m.n - 1] & 0xc0) == 0x80) {
		m.n--;
	}
	if (m.n > 0 && ((unsigned char)m.p[m.n - 1] & 0x80) != 0) {
		m.n--;
	}
	return m;
}

/* Classifies msgs round robin for `seconds` of thread CPU. */
static int
run(const triage_rules *r, const char *name, const text *msgs, size_t n,
    double seconds)
{
	uint64_t count = 0;
	double t0 = clock_s(), dt;

	do {
		for (size_t i = 0; i < n; i++) {
			triage_result res;

			if (triage_classify(r, msgs[i].p, msgs[i].n, NULL,
					    &res) != ITK_OK) {
				return -1;
			}
			sink += (unsigned)res.queue + (unsigned)res.urgency +
				(unsigned)res.language;
		}
		count += n;
		dt = clock_s() - t0;
	} while (dt < seconds);
	printf("triage_%s_us=%.2f\ntriage_%s_msgs=%llu\n", name,
	       dt * 1e6 / (double)count, name, (unsigned long long)count);
	return 0;
}

int
main(int argc, char **argv)
{
	static text corpus[TEXTS_MAX];
	text k1[BUILT] = {{0}}, k16[BUILT] = {{0}};
	triage_rules *r = NULL;
	uint64_t s = 1;
	size_t nt;
	int rc = 1;

	if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr,
			"usage: triage-bench CORPUS.jsonl [SECONDS]\n");
		return 2;
	}
	if (argc == 3 && itk_parse_u64(argv[2], 1, 3600, &s) != ITK_OK) {
		fprintf(stderr, "triage-bench: bad SECONDS\n");
		return 2;
	}
	nt = load_corpus(argv[1], corpus);
	if (nt == 0) {
		fprintf(stderr, "triage-bench: no texts in %s\n", argv[1]);
		return 1;
	}
	if (triage_rules_default(&r) != ITK_OK) {
		fprintf(stderr, "triage-bench: built-in rules failed\n");
		return 1;
	}
	for (size_t i = 0; i < BUILT; i++) {
		k1[i] = build(corpus, nt, i * 3, SIZE_1K);
		k16[i] = build(corpus, nt, i * 7, SIZE_16K);
		if (k1[i].p == NULL || k16[i].p == NULL) {
			fprintf(stderr, "triage-bench: out of memory\n");
			goto out;
		}
	}
	if (run(r, "corpus", corpus, nt, (double)s) != 0 ||
	    run(r, "1k", k1, BUILT, (double)s) != 0 ||
	    run(r, "16k", k16, BUILT, (double)s) != 0) {
		fprintf(stderr, "triage-bench: classify failed\n");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < BUILT; i++) {
		free(k1[i].p);
		free(k16[i].p);
	}
	for (size_t i = 0; i < nt; i++) {
		free(corpus[i].p);
	}
	triage_rules_free(r);
	return rc;
}
