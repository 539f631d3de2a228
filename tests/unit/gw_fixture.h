/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway tests' fixture, shared by test_gw_submit.c and
 * test_gw_front.c: a temp dir, a receipt key saved and loaded back as the
 * gateway loads it, one intake key valid from 100 s ago to 100 s ahead, a
 * spool and a gw_submit over them.  Include after gw.h and cmocka.h.
 */
#ifndef ITK_TEST_GW_FIXTURE_H
#define ITK_TEST_GW_FIXTURE_H

#include "keygen.h"

static char dir[64];
static itk_secret_key *rk, *ik;
static gw_receipt_key *grk;
static gw_spool *spool;
static gw_submit *sub;
static gw_intake_key keys[1];

/* Makes all of the above in /tmp/itk-test-<tag>-XXXXXX, the submit side
 * taking bodies of up to max_body bytes.  0, or -1 on any failure (a
 * cmocka set-up's answer); gw_fixture_close frees it either way. */
static int
gw_fixture_open(const char *tag, size_t max_body)
{
	char path[128];
	uint64_t now = (uint64_t)time(NULL);
	gw_spool_opts so = {
	    .max_bytes = 1024u * 1024u,
	    .lease_ms = 1000,
	    .seen_retention = 3600,
	    .mailbox_retention = 3600,
	};
	gw_submit_opts o;

	snprintf(dir, sizeof(dir), "/tmp/itk-test-%s-XXXXXX", tag);
	if (itk_crypto_init() != ITK_OK || mkdtemp(dir) == NULL) {
		return -1;
	}
	rk = gen(ITK_KEY_RECEIPT, "receipt", 0, 0);
	ik = gen(ITK_KEY_INTAKE, "intake", now - 100, now + 100);
	snprintf(path, sizeof(path), "%s/receipt.key", dir);
	if (itk_key_save(rk, path, NULL, NULL) != ITK_OK ||
	    gw_receipt_key_load(path, NULL, itk_key_public(rk), &grk) !=
		ITK_OK) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/spool", dir);
	if (gw_spool_open(path, &so, &spool) != ITK_OK) {
		return -1;
	}
	keys[0].key_id = itk_key_id(ik);
	keys[0].not_before = now - 100;
	keys[0].not_after = now + 100;
	memset(&o, 0, sizeof(o));
	o.spool = spool;
	o.receipt_key = grk;
	o.origin = "unit.test";
	o.granularity = 60;
	o.max_body = max_body;
	o.keys = keys;
	o.n_keys = 1;
	return gw_submit_new(&o, &sub) == ITK_OK ? 0 : -1;
}

/* Frees what gw_fixture_open made and removes the temp dir; 0 when the
 * removal succeeded. */
static int
gw_fixture_close(void)
{
	char cmd[128];

	gw_submit_free(sub);
	sub = NULL;
	gw_spool_free(spool);
	spool = NULL;
	gw_receipt_key_free(grk);
	grk = NULL;
	itk_key_free(rk);
	rk = NULL;
	itk_key_free(ik);
	ik = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

#endif
