/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_tamper: what an attacker with the LMDB file could do, for the
 * audit tests (test_audit.py).  Works on a COPY of a vault.
 *
 *   vault_tamper DIR flip DB          flip a byte in the first record's value
 *   vault_tamper DIR delete DB        delete the first record
 *   vault_tamper DIR swap DB          swap the values of the first two records
 *   vault_tamper DIR truncate N       drop the last N leaves (entries and
 *                                     hashes, consistently)
 *   vault_tamper sign LOGKEY ORIGIN SIZE   print a checkpoint for SIZE with
 *                                     a made-up root, signed by the log key
 *                                     (a fork, as a stolen key would make)
 *
 * Prints the key (hex) it touched.  Exit 0 done, 1 failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "buf.h"
#include "checkpoint.h"
#include "crypto.h"
#include "keys.h"
#include "note.h"
#include "tlog.h"

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "vault_tamper: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

static void
print_key(const MDB_val *k)
{
	char hex[2 * 64 + 1];
	size_t n = k->mv_size > 64 ? 64 : k->mv_size;

	itk_hex(hex, k->mv_data, n);
	printf("%s\n", hex);
}

static int
sign(int argc, char **argv)
{
	uint8_t root[32];
	itk_secret_key *k = NULL;
	note_signer *s = NULL;
	itk_buf *body = itk_buf_new(1024), *out = itk_buf_new(4096);
	int rc = 1;

	if (argc != 5 || body == NULL || out == NULL) {
		goto out;
	}
	randombytes_buf(root, sizeof(root));
	if (itk_key_load(argv[2], NULL, &k) != ITK_OK ||
	    note_signer_new(argv[3], NOTE_TYPE_ED25519, itk_key_secret(k),
			    &s) != ITK_OK ||
	    checkpoint_body(argv[3], strtoull(argv[4], NULL, 10), root,
			    body) != ITK_OK ||
	    note_sign(s, itk_buf_ptr(body), itk_buf_len(body), out) !=
		ITK_OK) {
		goto out;
	}
	fwrite(itk_buf_ptr(out), 1, itk_buf_len(out), stdout);
	rc = 0;
out:
	note_signer_free(s);
	itk_key_free(k);
	itk_buf_free(body);
	itk_buf_free(out);
	return rc;
}

static int
truncate_log(MDB_txn *t, uint64_t drop)
{
	MDB_dbi hash, entry;
	MDB_cursor *c;
	MDB_val k, d;
	uint64_t n = 0, keep_h;
	uint8_t kb[8];
	int rc;

	if ((rc = mdb_dbi_open(t, TLOG_DB_HASH, 0, &hash)) != 0 ||
	    (rc = mdb_dbi_open(t, TLOG_DB_ENTRY, 0, &entry)) != 0) {
		return fail("log databases", rc);
	}
	{
		MDB_stat st;
		if ((rc = mdb_stat(t, entry, &st)) != 0) {
			return fail("stat", rc);
		}
		n = st.ms_entries;
	}
	if (drop > n) {
		drop = n;
	}
	n -= drop;
	/* The hashes of the first n leaves are the first 2n - popcount(n)
	 * stored hashes: drop the rest, so the store stays consistent. */
	keep_h = 2 * n - (uint64_t)__builtin_popcountll(n);
	itk_store_u64(kb, keep_h);
	k.mv_data = kb;
	k.mv_size = 8;
	if ((rc = mdb_cursor_open(t, hash, &c)) != 0) {
		return fail("cursor", rc);
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			return fail("del hash", rc);
		}
	}
	mdb_cursor_close(c);
	itk_store_u64(kb, n);
	k.mv_data = kb;
	k.mv_size = 8;
	if ((rc = mdb_cursor_open(t, entry, &c)) != 0) {
		return fail("cursor", rc);
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			return fail("del entry", rc);
		}
	}
	mdb_cursor_close(c);
	printf("%llu\n", (unsigned long long)n);
	return 0;
}

int
main(int argc, char **argv)
{
	MDB_env *env = NULL;
	MDB_txn *t = NULL;
	MDB_dbi dbi;
	MDB_cursor *c = NULL;
	MDB_val k, d, k2, d2;
	const char *op;
	int rc;

	if (sodium_init() < 0 || itk_crypto_init() != ITK_OK) {
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "sign") == 0) {
		return sign(argc, argv);
	}
	if (argc != 4) {
		fprintf(stderr, "usage: see the comment in vault_tamper.c\n");
		return 2;
	}
	op = argv[2];
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 64)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &t)) != 0) {
		return fail(argv[1], rc);
	}
	if (strcmp(op, "truncate") == 0) {
		rc = truncate_log(t, strtoull(argv[3], NULL, 10));
		goto commit;
	}
	if ((rc = mdb_dbi_open(t, argv[3], 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(t, dbi, &c)) != 0 ||
	    (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST)) != 0) {
		return fail(argv[3], rc);
	}
	print_key(&k);
	if (strcmp(op, "flip") == 0) {
		uint8_t *copy = malloc(d.mv_size);
		if (copy == NULL) {
			return 1;
		}
		memcpy(copy, d.mv_data, d.mv_size);
		copy[d.mv_size - 1] ^= 0x01; /* the last byte: sealed bytes */
		d.mv_data = copy;
		rc = mdb_cursor_put(c, &k, &d, MDB_CURRENT);
		free(copy);
	} else if (strcmp(op, "delete") == 0) {
		rc = mdb_cursor_del(c, 0);
	} else if (strcmp(op, "swap") == 0) {
		uint8_t *a, *b;
		uint8_t ka[512], kb2[512];
		size_t la, lb, kla, klb;
		if ((rc = mdb_cursor_get(c, &k2, &d2, MDB_NEXT)) != 0) {
			return fail("second record", rc);
		}
		print_key(&k2);
		la = d.mv_size;
		lb = d2.mv_size;
		kla = k.mv_size;
		klb = k2.mv_size;
		if (kla > sizeof(ka) || klb > sizeof(kb2) ||
		    (a = malloc(la)) == NULL || (b = malloc(lb)) == NULL) {
			return 1;
		}
		memcpy(a, d.mv_data, la);
		memcpy(b, d2.mv_data, lb);
		memcpy(ka, k.mv_data, kla);
		memcpy(kb2, k2.mv_data, klb);
		mdb_cursor_close(c);
		c = NULL;
		k.mv_data = ka;
		k.mv_size = kla;
		d.mv_data = b;
		d.mv_size = lb;
		k2.mv_data = kb2;
		k2.mv_size = klb;
		d2.mv_data = a;
		d2.mv_size = la;
		if ((rc = mdb_put(t, dbi, &k, &d, 0)) == 0) {
			rc = mdb_put(t, dbi, &k2, &d2, 0);
		}
		free(a);
		free(b);
	} else {
		fprintf(stderr, "vault_tamper: unknown operation %s\n", op);
		return 2;
	}
	if (rc != 0) {
		return fail(op, rc);
	}
commit:
	if (c != NULL) {
		mdb_cursor_close(c);
	}
	if (rc != 0) {
		mdb_txn_abort(t);
		mdb_env_close(env);
		return 1;
	}
	if ((rc = mdb_txn_commit(t)) != 0) {
		return fail("commit", rc);
	}
	mdb_env_close(env);
	return 0;
}
