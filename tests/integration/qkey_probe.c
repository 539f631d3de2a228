/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qkey_probe: plays someone who bypasses intake-opd's role and queue
 * checks (test_qkeys.py).  It opens the vault directly with the vault key
 * and tries to read one case's content with intake-opd's own service key
 * and with the grants of a given operator, and prints what opened:
 *
 *   qkey_probe VAULT_DIR VAULT_KEY SERVICE_KEY QUEUE_KEYS ORG_PUB
 *              CASE_HEX MARKER OPERATOR_KEY
 *
 * Output, one line: messages=N copies=N opened=N marker=N
 * service_as_queue=N service_as_intake=N notes_opened=N note_marker=N.
 * "marker" counts opened messages whose text holds MARKER.  (The test
 * greps data.mdb for MARKER itself.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "keys.h"
#include "ops.h"
#include "qgrants.h"
#include "qkeys.h"
#include "vault.h"

struct probe {
	vault *v;
	const itk_secret_key *svc;
	vault_qsecret *op; /* the operator's queue keys */
	size_t nop;
	const char *marker;
	int messages, copies, opened, marker_hits, svc_queue, svc_intake;
	int notes, note_marker;
};

static bool
has_marker(const uint8_t *p, size_t n, const char *m)
{
	size_t ml = strlen(m);

	for (size_t i = 0; i + ml <= n; i++) {
		if (memcmp(p + i, m, ml) == 0) {
			return true;
		}
	}
	return false;
}

static itk_err
on_message(const vault_message_view *m, void *arg)
{
	struct probe *p = arg;
	itk_buf *plain = itk_buf_new(ITK_PAD_MAX);
	vault_qsecret fake;
	itk_queue q = ITK_QUEUE_COUNT;
	uint32_t ver = 0;
	itk_err r;

	if (plain == NULL) {
		return ITK_E_NOMEM;
	}
	p->messages++;
	r = vault_ops_copy_open(p->v, m->submission_id, NULL, 0, plain, &q,
				&ver);
	if (r != ITK_E_NOT_FOUND) {
		p->copies++;
	}
	/* The operator's own keys (granted or not). */
	itk_buf_reset(plain);
	if (vault_ops_copy_open(p->v, m->submission_id, p->op, p->nop, plain,
				NULL, NULL) == ITK_OK) {
		p->opened++;
		if (has_marker(itk_buf_ptr(plain), itk_buf_len(plain),
			       p->marker)) {
			p->marker_hits++;
		}
	}
	/* intake-opd's service key, as if it were the copy's queue key. */
	memset(&fake, 0, sizeof(fake));
	fake.queue = q;
	fake.version = ver;
	memcpy(fake.pk, itk_key_public(p->svc), ITK_PK_LEN);
	memcpy(fake.sk, itk_key_secret(p->svc), ITK_SK_LEN);
	itk_buf_reset(plain);
	if (q < ITK_QUEUE_COUNT &&
	    vault_ops_copy_open(p->v, m->submission_id, &fake, 1, plain, NULL,
				NULL) == ITK_OK) {
		p->svc_queue++;
	}
	/* ... and as if it were the intake key. */
	itk_buf_reset(plain);
	if (itk_open(itk_key_public(p->svc), itk_key_secret(p->svc), m->sealed,
		     m->sealed_len, plain) == ITK_OK) {
		p->svc_intake++;
	}
	sodium_memzero(&fake, sizeof(fake));
	itk_buf_free(plain);
	return ITK_OK;
}

static itk_err
on_note(const vault_note_view *n, void *arg)
{
	struct probe *p = arg;

	if (n->sealed) {
		return ITK_OK;
	}
	p->notes++;
	if (has_marker((const uint8_t *)n->text, strlen(n->text), p->marker)) {
		p->note_marker++;
	}
	return ITK_OK;
}

/* The operator's queue keys, from its grants (as intake-op opens them). */
static itk_err
operator_keys(struct probe *p, const char *qfile, const char *org_pub,
	      const char *op_key)
{
	uint8_t org[ITK_SIGN_PK_LEN];
	itk_qgrants *g = calloc(1, sizeof(*g));
	itk_secret_key *k = NULL;
	itk_err r;

	if (g == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_org_pub_load(org_pub, org)) != ITK_OK ||
	    (r = itk_qgrants_load(qfile, org, g)) != ITK_OK ||
	    (r = itk_key_load(op_key, NULL, &k)) != ITK_OK) {
		goto out;
	}
	p->op = calloc(g->n_grants + 1, sizeof(*p->op));
	if (p->op == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->n_grants; i++) {
		const itk_qgrant *gr = &g->grants[i];
		vault_qsecret *s = &p->op[p->nop];
		if (gr->operator_key_id != itk_key_id(k)) {
			continue;
		}
		for (size_t j = 0; j < g->n_keys; j++) {
			if (g->keys[j].queue == gr->queue &&
			    g->keys[j].version == gr->version) {
				memcpy(s->pk, g->keys[j].public_key,
				       ITK_PK_LEN);
			}
		}
		s->queue = gr->queue;
		s->version = gr->version;
		if (itk_qgrant_open(gr->wrapped, itk_key_secret(k), s->pk,
				    s->sk) == ITK_OK) {
			p->nop++;
		}
	}
	r = ITK_OK;
out:
	itk_key_free(k);
	free(g);
	return r;
}

int
main(int argc, char **argv)
{
	uint8_t id[VAULT_ID_LEN];
	itk_secret_key *vk = NULL, *svc = NULL;
	vault_options vo = {0};
	struct probe p;
	int rc = 1;
	itk_err r;

	memset(&p, 0, sizeof(p));
	if (argc != 9 || itk_crypto_init() != ITK_OK ||
	    itk_unhex(id, sizeof(id), argv[6], strlen(argv[6])) != ITK_OK) {
		fprintf(stderr, "usage: see qkey_probe.c\n");
		return 2;
	}
	p.marker = argv[7];
	if ((r = itk_key_load(argv[2], NULL, &vk)) != ITK_OK ||
	    (r = itk_key_load(argv[3], NULL, &svc)) != ITK_OK ||
	    (r = operator_keys(&p, argv[4], argv[5], argv[8])) != ITK_OK) {
		fprintf(stderr, "qkey_probe: keys: %s\n", itk_errname(r));
		goto out;
	}
	p.svc = svc;
	vo.dir = argv[1];
	vo.read_only = true;
	if ((r = vault_open(&vo, itk_key_secret(vk), &p.v)) != ITK_OK ||
	    (r = vault_ops_case_messages(p.v, id, on_message, &p)) != ITK_OK ||
	    (r = vault_ops_notes(p.v, id, on_note, &p)) != ITK_OK) {
		fprintf(stderr, "qkey_probe: vault: %s\n", itk_errname(r));
		goto out;
	}
	printf("messages=%d copies=%d opened=%d marker=%d "
	       "service_as_queue=%d service_as_intake=%d notes_opened=%d "
	       "note_marker=%d\n",
	       p.messages, p.copies, p.opened, p.marker_hits, p.svc_queue,
	       p.svc_intake, p.notes, p.note_marker);
	rc = 0;
out:
	if (p.op != NULL) {
		sodium_memzero(p.op, p.nop * sizeof(*p.op));
	}
	free(p.op);
	vault_free(p.v);
	itk_key_free(vk);
	itk_key_free(svc);
	return rc;
}
