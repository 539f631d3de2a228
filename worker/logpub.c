/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints and pushing the published log to the gateway (logpub.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "checkpoint.h"
#include "keys.h"
#include "log.h"
#include "logpub.h"
#include "note.h"
#include "tiles.h"
#include "vault_log.h"

#define FILES_MAX      256u /* per request, as the gateway takes */
#define BACKOFF_MAX_MS (5u * 60u * 1000u)

struct wk_logpub {
	vault *v;
	note_signer *signer;
	uint64_t interval_ms;
	uint64_t next_sign_ms;
	uint64_t hold_until_ms; /* back-off after a refused push */
	uint64_t backoff_ms;
	uint64_t signed_size; /* of note */
	itk_buf *note;        /* the latest checkpoint we hold */
	bool gw_known;
	uint64_t gw_size; /* what the gateway says it publishes */
	/* Progress through the tiles of (skip_from, skip_to]. */
	uint64_t skip_from, skip_to;
	size_t skip;
	/* The files attached to the request in flight. */
	size_t attached;
	bool attached_cp;
	itk_buf *data;
	char paths[FILES_MAX][TILES_PATH_MAX];
	Intake__V1__LogFile files[FILES_MAX];
	Intake__V1__LogFile *fileps[FILES_MAX];
	size_t nfiles;
	size_t offs[FILES_MAX];
	size_t seen; /* tiles enumerated in this fill */
	itk_err err;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The origin from the key store's bundle (our own store: trusted). */
static itk_err
bundle_origin(const char *keys_dir, const uint8_t log_pk[32], char *out,
	      size_t cap)
{
	itk_pb_key_bundle *kb = NULL;
	itk_pb_key_bundle_body *body = NULL;
	itk_buf *b = NULL;
	itk_err r;

	if ((r = itk_keystore_read_bundle(keys_dir, &b)) != ITK_OK ||
	    (r = itk_wire_key_bundle_decode(itk_buf_ptr(b), itk_buf_len(b),
					    &kb)) != ITK_OK ||
	    (r = itk_wire_key_bundle_body_decode(kb->body.data, kb->body.len,
						 &body)) != ITK_OK) {
		goto out;
	}
	if (body->log_public_key.len != 32 ||
	    memcmp(body->log_public_key.data, log_pk, 32) != 0) {
		r = ITK_E_CONFIG; /* the bundle publishes another log key */
		goto out;
	}
	if (strlen(body->origin) >= cap) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	memcpy(out, body->origin, strlen(body->origin) + 1);
out:
	itk_wire_free(body);
	itk_wire_free(kb);
	itk_buf_free(b);
	return r;
}

itk_err
wk_logpub_new(vault *v, const char *keys_dir, const char *passphrase,
	      const char *origin, uint64_t interval_ms, wk_logpub **out)
{
	char name[NOTE_NAME_MAX + 1];
	itk_secret_key *lk = NULL;
	wk_logpub *p = NULL;
	uint64_t size = 0;
	itk_err r;

	*out = NULL;
	if ((r = itk_keystore_load_key(keys_dir, ITK_KEY_LOG, passphrase,
				       &lk)) != ITK_OK) {
		return r;
	}
	if (origin != NULL) {
		if (strlen(origin) >= sizeof(name)) {
			r = ITK_E_CONFIG;
			goto out;
		}
		memcpy(name, origin, strlen(origin) + 1);
	} else if ((r = bundle_origin(keys_dir, itk_key_public(lk), name,
				      sizeof(name))) != ITK_OK) {
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	p->v = v;
	p->interval_ms = interval_ms;
	if ((p->note = itk_buf_new(CHECKPOINT_MAX)) == NULL ||
	    (p->data = itk_buf_new(WK_LOGPUB_BYTES + CHECKPOINT_MAX +
				   TILES_BUNDLE_MAX)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if ((r = note_signer_new(name, NOTE_TYPE_ED25519, itk_key_secret(lk),
				 &p->signer)) != ITK_OK) {
		goto out;
	}
	/* A restarted worker pushes what it signed before. */
	r = vault_log_latest(v, p->note);
	if (r == ITK_OK) {
		note_msg m;
		checkpoint cp;
		if (note_parse(itk_buf_ptr(p->note), itk_buf_len(p->note),
			       &m) == ITK_OK &&
		    checkpoint_parse(m.text, m.text_len, &cp) == ITK_OK) {
			size = cp.size;
		}
	} else if (r != ITK_E_NOT_FOUND) {
		goto out;
	}
	p->signed_size = size;
	*out = p;
	p = NULL;
	r = ITK_OK;
out:
	wk_logpub_free(p);
	itk_key_free(lk);
	return r;
}

void
wk_logpub_free(wk_logpub *p)
{
	if (p == NULL) {
		return;
	}
	note_signer_free(p->signer);
	itk_buf_free(p->note);
	itk_buf_free(p->data);
	free(p);
}

static void
maybe_sign(wk_logpub *p, uint64_t now)
{
	uint64_t size = 0, signed_size = 0;
	itk_err r;

	if (now < p->next_sign_ms) {
		return;
	}
	p->next_sign_ms = now + p->interval_ms;
	if ((r = vault_log_size(p->v, &size)) != ITK_OK) {
		itk_log_warn("log.size", "err=%s", itk_errname(r));
		return;
	}
	if (size <= p->signed_size) {
		return;
	}
	itk_buf_reset(p->note);
	r = vault_log_sign(p->v, p->signer, p->note, &signed_size);
	if (r != ITK_OK) {
		/* ITK_E_EXISTS / ITK_E_VERIFY / ITK_E_RANGE: the store
		 * disagrees with what was signed: never sign over it. */
		itk_log_error("log.sign_refused", "size=%llu err=%s",
			      (unsigned long long)size, itk_errname(r));
		itk_buf_reset(p->note);
		p->signed_size = 0;
		return;
	}
	p->signed_size = signed_size;
	itk_log_info("log.checkpoint", "size=%llu",
		     (unsigned long long)signed_size);
}

static itk_err
attach(wk_logpub *p, const char *path, size_t start)
{
	size_t i = p->nfiles;
	size_t plen = strlen(path);

	if (plen >= TILES_PATH_MAX) {
		return ITK_E_TOO_BIG;
	}
	memcpy(p->paths[i], path, plen + 1);
	p->offs[i] = start;
	p->nfiles++;
	return ITK_OK;
}

static itk_err
add_tile(void *arg, int level, uint64_t n, unsigned w)
{
	wk_logpub *p = arg;
	char path[TILES_PATH_MAX];
	size_t start = itk_buf_len(p->data);
	itk_err r;

	if (p->seen++ < p->skip) {
		return ITK_OK; /* sent and answered before */
	}
	/* Full: stop here; the rest (and the checkpoint) go next time. */
	if (p->nfiles + 1 >= FILES_MAX ||
	    (p->nfiles > 0 && start >= WK_LOGPUB_BYTES)) {
		return ITK_E_FULL;
	}
	if ((r = tiles_path(path, sizeof(path), level, n, w)) != ITK_OK ||
	    (r = vault_log_tile(p->v, level, n, w, p->data)) != ITK_OK) {
		return r;
	}
	if ((r = attach(p, path, start)) != ITK_OK) {
		return r;
	}
	p->attached++;
	return ITK_OK;
}

void
wk_logpub_fill(wk_logpub *p, itk_pb_worker_request *req)
{
	uint64_t now = now_ms();
	itk_err r;

	p->nfiles = p->attached = 0;
	p->attached_cp = false;
	itk_buf_reset(p->data);
	maybe_sign(p, now);
	if (!p->gw_known || p->signed_size <= p->gw_size ||
	    now < p->hold_until_ms) {
		return;
	}
	if (p->skip_from != p->gw_size || p->skip_to != p->signed_size) {
		p->skip_from = p->gw_size;
		p->skip_to = p->signed_size;
		p->skip = 0;
	}
	p->seen = 0;
	r = vault_log_tiles_between(p->gw_size, p->signed_size, add_tile, p);
	if (r == ITK_OK) {
		size_t start = itk_buf_len(p->data);
		if (itk_buf_put(p->data, itk_buf_ptr(p->note),
				itk_buf_len(p->note)) == ITK_OK &&
		    attach(p, "checkpoint", start) == ITK_OK) {
			p->attached_cp = true;
		}
	} else if (r != ITK_E_FULL) {
		itk_log_warn("log.push", "err=%s", itk_errname(r));
		p->nfiles = p->attached = 0;
		return;
	}
	/* Views into data: only now that it no longer grows. */
	for (size_t i = 0; i < p->nfiles; i++) {
		size_t end =
		    i + 1 < p->nfiles ? p->offs[i + 1] : itk_buf_len(p->data);
		intake__v1__log_file__init(&p->files[i]);
		p->files[i].path = p->paths[i];
		p->files[i].data.data =
		    (uint8_t *)(uintptr_t)(itk_buf_ptr(p->data) + p->offs[i]);
		p->files[i].data.len = end - p->offs[i];
		p->fileps[i] = &p->files[i];
	}
	req->n_log_files = p->nfiles;
	req->log_files = p->nfiles > 0 ? p->fileps : NULL;
}

void
wk_logpub_answer(wk_logpub *p, const itk_pb_gateway_response *resp)
{
	uint64_t now = now_ms();

	if (resp == NULL || resp->error != NULL) {
		return; /* nothing known: the same files go again */
	}
	if (p->gw_known && resp->log_size == p->gw_size) {
		p->skip += p->attached;
		if (p->attached_cp) {
			/* A checkpoint the gateway did not publish (it
			 * logged why): start over, after a pause. */
			p->skip = 0;
			p->backoff_ms = p->backoff_ms == 0 ? p->interval_ms
							   : p->backoff_ms * 2;
			if (p->backoff_ms > BACKOFF_MAX_MS) {
				p->backoff_ms = BACKOFF_MAX_MS;
			}
			p->hold_until_ms = now + p->backoff_ms;
		}
	} else if (resp->log_size > p->gw_size || !p->gw_known) {
		p->backoff_ms = 0;
	}
	p->gw_known = true;
	p->gw_size = resp->log_size;
	p->attached = 0;
	p->attached_cp = false;
}
