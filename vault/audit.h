/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_AUDIT_H
#define ITK_AUDIT_H

/*
 * The auditor's check of a vault (docs/audit.md section 7): read-only,
 * without any vault key, over the vault directory or a copy of it made
 * with mdb_copy.  In one LMDB read snapshot:
 *
 *  - the latest signed checkpoint stored in the vault verifies against the
 *    log key, and so does any newer checkpoint the auditor saw elsewhere;
 *  - the leaves (entries) rebuild, with a streaming hasher, the roots those
 *    checkpoints sign, and the stored hash tree agrees with them;
 *  - every leaf parses; the latest leaf of every record names a record
 *    that exists with exactly that SHA-256 (or is gone if the leaf says it
 *    was deleted), and every record of a logged database has a leaf.
 *
 * Every finding is reported with what and where; the walk goes on after
 * one, so an auditor sees all of them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "note.h"
#include "tlog.h"

/* What kind of finding (stable: --json prints these names). */
typedef enum {
	AUDIT_NO_LOG = 1,       /* the vault has no log */
	AUDIT_NO_CHECKPOINT,    /* nothing signed yet */
	AUDIT_BAD_SIGNATURE,    /* a checkpoint does not verify */
	AUDIT_TRUNCATED,        /* fewer leaves than a checkpoint signs */
	AUDIT_ROOT_MISMATCH,    /* leaves do not rebuild a signed root */
	AUDIT_STORE_MISMATCH,   /* stored hash tree differs from the leaves */
	AUDIT_BAD_LEAF,         /* a leaf does not parse */
	AUDIT_RECORD_ALTERED,   /* record differs from its latest leaf */
	AUDIT_RECORD_MISSING,   /* a leaf's record is not there */
	AUDIT_RECORD_UNLOGGED,  /* a record without any leaf */
	AUDIT_RECORD_UNDELETED, /* present though its leaf deleted it */
	AUDIT_DAMAGED,          /* the LMDB store itself does not read */
} audit_finding;

/* "truncated", "root-mismatch", ... */
const char *audit_finding_name(audit_finding f);

typedef struct {
	uint64_t leaves;          /* in the vault's log */
	uint64_t checkpoint_size; /* the vault's latest checkpoint */
	uint8_t checkpoint_root[TLOG_HASH_LEN];
	uint64_t seen_size; /* the newer checkpoint given, if any */
	uint64_t records;   /* records checked against leaves */
	uint64_t keys;      /* distinct (database, key) in the leaves */
	uint64_t findings;
	double seconds;
} audit_report;

typedef struct {
	/* Called for every finding; message names what and where. */
	void (*finding)(void *arg, audit_finding f, const char *message);
	/* Called now and then during the walk (may be NULL). */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
	/* A checkpoint seen elsewhere (gateway, state file), or NULL: the
	 * vault must not have fewer leaves (a rollback) and must rebuild
	 * its root. */
	const uint8_t *seen;
	size_t seen_len;
	/* 0: hash on two threads when the machine has two CPUs or more
	 * (docs/audit.md, "Measured"); 1: on the calling thread only. */
	unsigned threads;
} audit_opts;

/*
 * Verifies the vault in dir against log_key (type 0x01, the bundle's).
 * ITK_OK: the checks ran (rep->findings says how many failed: 0 = the
 * vault verifies).  Other errors: the checks could not run (dir is not a
 * vault, I/O); a finding of kind AUDIT_DAMAGED is reported too.
 */
itk_err audit_verify(const char *dir, const note_verifier *log_key,
		     const audit_opts *o, audit_report *rep) ITK_WUR;

#endif
