/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_POW_H
#define GW_POW_H

/*
 * gateway/pow.c: proof of work under load.  The gateway issues stateless
 * challenges (MACed with a per-process secret, so issuing stores nothing),
 * asks for a solution only while it is loaded, and remembers solved
 * challenges in a bounded set until they expire (single use).  The puzzle
 * itself is common/pow.h; the exact bytes are in docs/protocol.md.
 *
 * Load is the largest of a few fractions the other modules report
 * (gw_pow_set_load): requests in flight, the commit queue, open
 * connections.  Below trigger_permille no work is asked (unless
 * min_difficulty > 0); above it the difficulty rises linearly from
 * base_difficulty to max_difficulty at full load.  It rises at once and
 * falls back by two bits per hold_ms once the load has passed.
 * Thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pow.h"

typedef enum {
	GW_LOAD_INFLIGHT = 0, /* HTTP requests being handled */
	GW_LOAD_QUEUE,        /* submissions waiting for the committer */
	GW_LOAD_CONNS,        /* open client connections (front.c) */
	GW_LOAD_COUNT,
} gw_load_source;

typedef struct {
	unsigned min_difficulty;  /* asked even when calm; 0 = none */
	unsigned base_difficulty; /* first step once loaded */
	unsigned max_difficulty; /* at full load (<= ITK_POW_DIFFICULTY_MAX) */
	unsigned trigger_permille; /* load at which work is asked (1..1000) */
	uint32_t ttl_s;            /* challenge lifetime */
	uint32_t hold_ms;          /* time before each step down */
	size_t max_used;           /* solved challenges remembered at once */
} gw_pow_opts;

/* Why a proof was refused (what the answer says; metrics count all). */
typedef enum {
	GW_POW_OK = 0,
	GW_POW_MISSING,   /* work asked, none sent: 429 */
	GW_POW_WEAK,      /* solved at a difficulty now too low: 429 */
	GW_POW_MALFORMED, /* challenge bytes or solution length: 403 */
	GW_POW_FOREIGN,   /* mac does not verify (not ours): 403 */
	GW_POW_EXPIRED,   /* past expires_at: 403 */
	GW_POW_WRONG,     /* solution does not meet the difficulty: 403 */
	GW_POW_REUSED,    /* challenge already used: 403 */
	GW_POW_FULL,      /* too many challenges in use: 429 */
	GW_POW_VERDICT_COUNT,
} gw_pow_verdict;

typedef struct gw_pow gw_pow;

/*
 * key: 32-byte MAC key, or NULL for a random one (one gateway process).
 * Returns ITK_OK and *out (free with gw_pow_free), ITK_E_CONFIG for
 * inconsistent opts, ITK_E_NOMEM.
 */
itk_err gw_pow_new(const gw_pow_opts *o, const uint8_t *key,
		   gw_pow **out) ITK_WUR;
/* Wipes the key; NULL ok. */
void gw_pow_free(gw_pow *p);

/* Reports one load source as num out of den (den 0 = source unused). */
void gw_pow_set_load(gw_pow *p, gw_load_source src, size_t num, size_t den);

/* The difficulty required now (0 = none), updating the hysteresis. */
unsigned gw_pow_difficulty(gw_pow *p, uint64_t now_ms);

/* Writes a fresh challenge at the current difficulty. */
void gw_pow_issue(gw_pow *p, uint64_t now_s, uint64_t now_ms,
		  uint8_t out[static ITK_POW_CHALLENGE_LEN]);

/*
 * Checks Submission.pow (challenge and solution, either may be NULL/0)
 * for submission id, against the difficulty required now.  A good proof
 * is remembered until its challenge expires.  Returns the verdict;
 * *required gets the difficulty a new challenge would carry.
 */
gw_pow_verdict gw_pow_check(gw_pow *p, const uint8_t *challenge, size_t clen,
			    const uint8_t *solution, size_t slen,
			    const uint8_t id[static ITK_HASH_LEN],
			    uint64_t now_s, uint64_t now_ms,
			    unsigned *required);

/* HTTP status and message for a refusal verdict. */
unsigned gw_pow_status(gw_pow_verdict v);
const char *gw_pow_message(gw_pow_verdict v);

/* Counters for metrics: verdicts so far, challenges issued. */
uint64_t gw_pow_count(const gw_pow *p, gw_pow_verdict v);
uint64_t gw_pow_issued(const gw_pow *p);

#endif
