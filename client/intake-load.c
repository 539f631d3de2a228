/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intake-load: the load generator used by the integration tests and by
 * bench/.  Seals its whole corpus before the clock starts (sealing is not
 * what we measure), then posts it from N concurrent clients, each with a
 * keep-alive connection, resending a submission until it is acknowledged
 * (a resend of the same sealed bytes must get the same receipt).  Every
 * acknowledgement is appended to --acked-log as soon as it is verified,
 * so a crash test knows exactly what was acknowledged.
 *
 * Corpus: one message per line, "FORM<TAB>TEXT" (FORM: surrender,
 * relative, other, none); submission i uses line i modulo the corpus.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "keys.h"
#include "config.h"
#include "file.h"

#define LINES_MAX 100000u

struct sealed_sub {
	uint8_t *bytes;
	size_t len;
	uint8_t id[ITK_HASH_LEN];
	size_t line;
	uint64_t latency_ns;
	int acked;
};

struct load {
	const char *url;
	const char *ca;
	uint8_t org_pk[ITK_SIGN_PK_LEN];
	char **lines;
	size_t n_lines;
	size_t count;
	size_t clients;
	size_t pad_to;
	uint64_t deadline_ns;
	double rate; /* per second in total; 0 = as fast as possible */
	struct sealed_sub *subs;
	FILE *acked_log;
	pthread_mutex_t log_mu;
	atomic_size_t next;
	atomic_size_t acked;
	atomic_size_t retries;
	atomic_size_t refused_final;
	uint64_t start_ns;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
form_of(const char *s, size_t n)
{
	if (n == 9 && memcmp(s, "surrender", 9) == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_SURRENDER;
	}
	if (n == 8 && memcmp(s, "relative", 8) == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_RELATIVE;
	}
	if (n == 5 && memcmp(s, "other", 5) == 0) {
		return INTAKE__V1__FORM_CATEGORY__FORM_OTHER;
	}
	return INTAKE__V1__FORM_CATEGORY__FORM_NONE;
}

static itk_err
load_corpus(struct load *L, const char *path)
{
	itk_buf *b = NULL;
	const char *p, *end;
	itk_err r;

	if ((r = itk_file_read(path, 64u << 20, &b)) != ITK_OK) {
		return r;
	}
	if ((L->lines = calloc(LINES_MAX, sizeof(char *))) == NULL) {
		itk_buf_free(b);
		return ITK_E_NOMEM;
	}
	p = (const char *)itk_buf_ptr(b);
	end = p + itk_buf_len(b);
	while (p < end && L->n_lines < LINES_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && (L->lines[L->n_lines] = strndup(p, n)) != NULL) {
			L->n_lines++;
		}
		p += n + 1;
	}
	itk_buf_free(b);
	return L->n_lines > 0 ? ITK_OK : ITK_E_MISSING;
}

/* Seals submission i for a fresh random identity (no passphrase KDF: the
 * generator measures the gateway, not Argon2id). */
static itk_err
seal_one(itk_client *c, struct load *L, size_t i, itk_buf *out, char *textbuf,
	 size_t textmax)
{
	const char *line = L->lines[i % L->n_lines];
	const char *tab = strchr(line, '\t');
	itk_client_message m = {0};
	itk_identity id;
	size_t tl;
	itk_err r;

	randombytes_buf(id.reply_pk, sizeof(id.reply_pk));
	randombytes_buf(id.reply_sk, sizeof(id.reply_sk));
	randombytes_buf(id.mailbox_id, sizeof(id.mailbox_id));
	m.channel = INTAKE__V1__CHANNEL__CHANNEL_CLIENT;
	m.form_category =
	    (uint32_t)(tab != NULL ? form_of(line, (size_t)(tab - line)) : 0);
	m.language = "ru";
	tl = strlen(tab != NULL ? tab + 1 : line);
	if (tl >= textmax) {
		tl = textmax - 1;
	}
	memcpy(textbuf, tab != NULL ? tab + 1 : line, tl);
	/* Pad the text with blanks to reach the requested size class. */
	while (tl < L->pad_to && tl < textmax - 1) {
		textbuf[tl++] = ' ';
	}
	textbuf[tl] = '\0';
	m.text = textbuf;
	r = itk_client_seal(c, &id, &m, out, L->subs[i].id);
	itk_identity_wipe(&id);
	return r;
}

static void
log_ack(struct load *L, const struct sealed_sub *s)
{
	char hex[2 * ITK_HASH_LEN + 1];

	if (L->acked_log == NULL) {
		return;
	}
	itk_hex(hex, s->id, ITK_HASH_LEN);
	pthread_mutex_lock(&L->log_mu);
	fprintf(L->acked_log, "%s\t%zu\n", hex, s->line);
	fflush(L->acked_log);
	pthread_mutex_unlock(&L->log_mu);
}

static void *
client_thread(void *arg)
{
	struct load *L = arg;
	itk_client *c = NULL;
	size_t i;

	if (itk_client_new(L->url, L->org_pk, L->ca, &c) != ITK_OK) {
		return NULL;
	}
	while ((i = atomic_fetch_add(&L->next, 1)) < L->count) {
		struct sealed_sub *s = &L->subs[i];
		uint64_t t0, pause_us = 20000;

		if (L->rate > 0) {
			/* Open loop: submission i is due at i / rate. */
			uint64_t due = L->start_ns +
				       (uint64_t)((double)i / L->rate * 1e9);
			uint64_t n = now_ns();
			if (due > n) {
				struct timespec ts = {
				    (time_t)((due - n) / 1000000000u),
				    (long)((due - n) % 1000000000u)};
				nanosleep(&ts, NULL);
			}
		}
		t0 = now_ns();
		if (L->rate > 0) {
			/* Open loop: latency counts from when the submission
			 * was due, so a client held up by a slow answer does
			 * not hide the wait (coordinated omission). */
			t0 = L->start_ns +
			     (uint64_t)((double)i / L->rate * 1e9);
		}
		for (;;) {
			itk_client_receipt rc;
			int status = 0;
			itk_err r;

			if (c == NULL || itk_client_bundle(c) == NULL) {
				if (c == NULL &&
				    itk_client_new(L->url, L->org_pk, L->ca,
						   &c) != ITK_OK) {
					break;
				}
				r = itk_client_fetch_keys(c);
			} else {
				r = itk_client_post(c, s->bytes, s->len, s->id,
						    &rc, &status);
			}
			if (r == ITK_OK && status == 200) {
				s->latency_ns = now_ns() - t0;
				s->acked = 1;
				atomic_fetch_add(&L->acked, 1);
				log_ack(L, s);
				break;
			}
			if (r == ITK_OK) {
				continue; /* keys fetched; now post */
			}
			/* Only transient refusals are retried. */
			if (r != ITK_E_NET && r != ITK_E_FULL &&
			    r != ITK_E_BUSY) {
				fprintf(stderr,
					"intake-load: submission %zu refused: "
					"HTTP %d %s\n",
					i, status, itk_strerror(r));
				atomic_fetch_add(&L->refused_final, 1);
				break;
			}
			if (now_ns() > L->deadline_ns) {
				atomic_fetch_add(&L->refused_final, 1);
				break;
			}
			atomic_fetch_add(&L->retries, 1);
			/* Back off, as a phone would, before resending. */
			usleep((useconds_t)pause_us);
			pause_us = pause_us < 500000 ? pause_us * 2 : pause_us;
		}
	}
	itk_client_free(c);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: intake-load --url URL --org-pub FILE --corpus FILE\n"
		"         [--ca FILE] (for an https:// gateway)\n"
		"         [--count N] [--clients N] [--pad BYTES] "
		"[--rate PER_S]\n"
		"         [--acked-log FILE] [--deadline SECONDS]\n"
		"Prints key=value results (acked, failed, rate, latency "
		"percentiles).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"org-pub", required_argument, NULL, 'o'},
	    {"ca", required_argument, NULL, 'C'},
	    {"corpus", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"clients", required_argument, NULL, 'k'},
	    {"pad", required_argument, NULL, 'p'},
	    {"rate", required_argument, NULL, 'r'},
	    {"acked-log", required_argument, NULL, 'a'},
	    {"deadline", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct load L = {0};
	const char *org = NULL, *corpus = NULL, *acked = NULL;
	uint64_t count = 100, clients = 4, pad = 0, deadline = 120;
	pthread_t *th = NULL;
	itk_client *c = NULL;
	itk_buf *b = NULL;
	char *text = NULL;
	uint64_t *lat = NULL, elapsed;
	struct timespec start_rt;
	size_t nlat = 0;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			L.url = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		case 'C':
			L.ca = optarg;
			break;
		case 'c':
			corpus = optarg;
			break;
		case 'n':
			if (itk_parse_u64(optarg, 1, 10000000, &count) !=
			    ITK_OK) {
				usage(stderr);
				return 2;
			}
			break;
		case 'k':
			if (itk_parse_u64(optarg, 1, 1024, &clients) !=
			    ITK_OK) {
				usage(stderr);
				return 2;
			}
			break;
		case 'p':
			if (itk_parse_u64(optarg, 0, 500000, &pad) != ITK_OK) {
				usage(stderr);
				return 2;
			}
			break;
		case 'r':
			L.rate = strtod(optarg, NULL);
			break;
		case 'a':
			acked = optarg;
			break;
		case 'd':
			if (itk_parse_u64(optarg, 1, 86400, &deadline) !=
			    ITK_OK) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (L.url == NULL || org == NULL || corpus == NULL) {
		usage(stderr);
		return 2;
	}
	if (itk_crypto_init() != ITK_OK ||
	    itk_org_pub_load(org, L.org_pk) != ITK_OK ||
	    load_corpus(&L, corpus) != ITK_OK) {
		fprintf(stderr, "intake-load: cannot read keys or corpus\n");
		return 2;
	}
	L.count = count;
	L.clients = clients;
	L.pad_to = pad;
	pthread_mutex_init(&L.log_mu, NULL);
	if (acked != NULL && (L.acked_log = fopen(acked, "a")) == NULL) {
		fprintf(stderr, "intake-load: %s: %s\n", acked,
			strerror(errno));
		return 2;
	}
	if ((L.subs = calloc(count, sizeof(*L.subs))) == NULL ||
	    (th = calloc(clients, sizeof(*th))) == NULL ||
	    (text = malloc(pad + 65536)) == NULL ||
	    (b = itk_buf_new(ITK_SUBMISSION_MAX)) == NULL) {
		goto out;
	}
	/* Seal everything first, with keys fetched once (retrying while
	 * the stack starts). */
	if (itk_client_new(L.url, L.org_pk, L.ca, &c) != ITK_OK) {
		goto out;
	}
	for (int tries = 0; itk_client_fetch_keys(c) != ITK_OK; tries++) {
		if (tries == 100) {
			fprintf(stderr, "intake-load: no key bundle\n");
			goto out;
		}
		usleep(100000);
	}
	for (size_t i = 0; i < count; i++) {
		itk_buf_reset(b);
		if (seal_one(c, &L, i, b, text, pad + 65536) != ITK_OK ||
		    (L.subs[i].bytes = malloc(itk_buf_len(b))) == NULL) {
			fprintf(stderr, "intake-load: sealing failed\n");
			goto out;
		}
		memcpy(L.subs[i].bytes, itk_buf_ptr(b), itk_buf_len(b));
		L.subs[i].len = itk_buf_len(b);
		L.subs[i].line = i % L.n_lines;
	}
	L.start_ns = now_ns();
	/* Wall-clock start, for a caller that times what follows the
	 * acknowledgements (bench/run waits for the vault). */
	if (clock_gettime(CLOCK_REALTIME, &start_rt) != 0) {
		goto out;
	}
	L.deadline_ns = L.start_ns + deadline * 1000000000u;
	for (size_t t = 0; t < clients; t++) {
		if (pthread_create(&th[t], NULL, client_thread, &L) != 0) {
			goto out;
		}
	}
	for (size_t t = 0; t < clients; t++) {
		pthread_join(th[t], NULL);
	}
	elapsed = now_ns() - L.start_ns;
	if ((lat = calloc(count, sizeof(*lat))) == NULL) {
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		if (L.subs[i].acked) {
			lat[nlat++] = L.subs[i].latency_ns;
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("submitted=%llu\nacked=%zu\nfailed=%zu\nretries=%zu\n"
	       "seconds=%.3f\nrate=%.1f\nstart_realtime=%lld.%09ld\n",
	       (unsigned long long)count, atomic_load(&L.acked),
	       atomic_load(&L.refused_final), atomic_load(&L.retries),
	       (double)elapsed / 1e9,
	       (double)atomic_load(&L.acked) / ((double)elapsed / 1e9),
	       (long long)start_rt.tv_sec, (long)start_rt.tv_nsec);
	if (nlat > 0) {
		printf("p50_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\n",
		       (double)lat[nlat / 2] / 1e6,
		       (double)lat[(nlat * 99) / 100] / 1e6,
		       (double)lat[(nlat * 999) / 1000] / 1e6);
	}
	rc = atomic_load(&L.acked) == count ? 0 : 1;
out:
	itk_client_free(c);
	itk_buf_free(b);
	if (L.subs != NULL) {
		for (size_t i = 0; i < count; i++) {
			free(L.subs[i].bytes);
		}
	}
	free(L.subs);
	free(lat);
	free(th);
	free(text);
	if (L.acked_log != NULL) {
		fclose(L.acked_log);
	}
	for (size_t i = 0; i < L.n_lines; i++) {
		free(L.lines[i]);
	}
	free(L.lines);
	return rc;
}
