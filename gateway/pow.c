/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gw_pow.h"

/*
 * Issuing and checking proof-of-work challenges; see gw_pow.h.  The MAC
 * key never leaves this file.  The single-use set is an open-addressing
 * table of challenge nonces (random, chosen by us and covered by the MAC,
 * so a submitter cannot aim them at one slot), rebuilt without its
 * expired entries when it fills up.
 */

#define STEP_DOWN_BITS 2u
#define FUTURE_SLACK_S 5u /* issued_at ahead of our clock: not ours */
#define WEAK_SLACK     2u /* bits a challenge may lag the load by */

struct used {
	uint8_t nonce[ITK_POW_NONCE_LEN];
	uint64_t expires_at; /* 0 = empty slot */
};

struct gw_pow {
	gw_pow_opts o;
	uint8_t key[crypto_generichash_KEYBYTES];
	atomic_size_t num[GW_LOAD_COUNT], den[GW_LOAD_COUNT];
	atomic_ullong verdicts[GW_POW_VERDICT_COUNT];
	atomic_ullong issued;

	pthread_mutex_t mtx; /* guards everything below */
	unsigned current;
	uint64_t changed_ms;
	struct used *set;
	size_t cap, count; /* cap: a power of two >= 2 * max_used */
};

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xffu);
		v >>= 8;
	}
}

itk_err
gw_pow_new(const gw_pow_opts *o, const uint8_t *key, gw_pow **out)
{
	gw_pow *p;
	size_t cap = 16;

	if (o->max_difficulty > ITK_POW_DIFFICULTY_MAX ||
	    o->base_difficulty > o->max_difficulty ||
	    o->min_difficulty > o->max_difficulty ||
	    o->trigger_permille == 0 || o->trigger_permille > 1000 ||
	    o->ttl_s == 0 || o->max_used == 0 || o->max_used > (1u << 24)) {
		return ITK_E_CONFIG;
	}
	while (cap < 2 * o->max_used) {
		cap <<= 1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((p->set = calloc(cap, sizeof(*p->set))) == NULL ||
	    pthread_mutex_init(&p->mtx, NULL) != 0) {
		free(p->set);
		free(p);
		return ITK_E_NOMEM;
	}
	p->o = *o;
	p->cap = cap;
	p->current = o->min_difficulty;
	if (key != NULL) {
		memcpy(p->key, key, sizeof(p->key));
	} else {
		randombytes_buf(p->key, sizeof(p->key));
	}
	for (size_t i = 0; i < GW_LOAD_COUNT; i++) {
		atomic_init(&p->num[i], 0);
		atomic_init(&p->den[i], 0);
	}
	for (size_t i = 0; i < GW_POW_VERDICT_COUNT; i++) {
		atomic_init(&p->verdicts[i], 0);
	}
	atomic_init(&p->issued, 0);
	*out = p;
	return ITK_OK;
}

void
gw_pow_free(gw_pow *p)
{
	if (p == NULL) {
		return;
	}
	sodium_memzero(p->key, sizeof(p->key));
	pthread_mutex_destroy(&p->mtx);
	free(p->set);
	free(p);
}

void
gw_pow_set_load(gw_pow *p, gw_load_source src, size_t num, size_t den)
{
	if (p == NULL || (unsigned)src >= GW_LOAD_COUNT) {
		return;
	}
	atomic_store(&p->num[src], num);
	atomic_store(&p->den[src], den);
}

/* Largest load fraction, in permille (capped at 1000). */
static unsigned
load_permille(gw_pow *p)
{
	unsigned best = 0;

	for (size_t i = 0; i < GW_LOAD_COUNT; i++) {
		size_t n = atomic_load(&p->num[i]);
		size_t d = atomic_load(&p->den[i]);
		unsigned v;
		if (d == 0) {
			continue;
		}
		v = n >= d ? 1000u : (unsigned)((uint64_t)n * 1000u / d);
		best = v > best ? v : best;
	}
	return best;
}

static unsigned
target_of(const gw_pow_opts *o, unsigned load)
{
	unsigned t;

	if (load < o->trigger_permille) {
		return o->min_difficulty;
	}
	if (o->trigger_permille >= 1000) {
		t = o->max_difficulty;
	} else {
		t = o->base_difficulty +
		    (unsigned)((uint64_t)(load - o->trigger_permille) *
			       (o->max_difficulty - o->base_difficulty) /
			       (1000u - o->trigger_permille));
	}
	return t > o->min_difficulty ? t : o->min_difficulty;
}

/* Call with mtx held. */
static unsigned
difficulty_locked(gw_pow *p, uint64_t now_ms)
{
	unsigned t = target_of(&p->o, load_permille(p));

	if (t >= p->current) {
		/* Rising (or holding): at once, and the hold restarts. */
		if (t > p->current || p->current > p->o.min_difficulty) {
			p->changed_ms = now_ms;
		}
		p->current = t;
	} else if (now_ms - p->changed_ms >= p->o.hold_ms) {
		/* Load has passed: step down, but not below the target. */
		unsigned d = p->current >= STEP_DOWN_BITS
				 ? p->current - STEP_DOWN_BITS
				 : 0;
		if (d < p->o.base_difficulty) {
			d = 0;
		}
		p->current = d > t ? d : t;
		p->changed_ms = now_ms;
	}
	return p->current;
}

unsigned
gw_pow_difficulty(gw_pow *p, uint64_t now_ms)
{
	unsigned d;

	pthread_mutex_lock(&p->mtx);
	d = difficulty_locked(p, now_ms);
	pthread_mutex_unlock(&p->mtx);
	return d;
}

static void
mac(const gw_pow *p, const uint8_t *signed_part,
    uint8_t out[static ITK_POW_MAC_LEN])
{
	crypto_generichash_state st;

	(void)crypto_generichash_init(&st, p->key, sizeof(p->key),
				      ITK_POW_MAC_LEN);
	(void)crypto_generichash_update(&st,
					(const uint8_t *)ITK_POW_MAC_LABEL,
					sizeof(ITK_POW_MAC_LABEL));
	(void)crypto_generichash_update(&st, signed_part, ITK_POW_SIGNED_LEN);
	(void)crypto_generichash_final(&st, out, ITK_POW_MAC_LEN);
	sodium_memzero(&st, sizeof(st));
}

void
gw_pow_issue(gw_pow *p, uint64_t now_s, uint64_t now_ms,
	     uint8_t out[static ITK_POW_CHALLENGE_LEN])
{
	unsigned d = gw_pow_difficulty(p, now_ms);

	/* version | difficulty | issued_at | expires_at | nonce | mac */
	out[0] = ITK_POW_VERSION;
	out[1] = (uint8_t)d;
	put_be64(out + 2, now_s);
	put_be64(out + 10, now_s + p->o.ttl_s);
	randombytes_buf(out + 18, ITK_POW_NONCE_LEN);
	mac(p, out, out + ITK_POW_SIGNED_LEN);
	atomic_fetch_add(&p->issued, 1);
}

static size_t
slot_of(const gw_pow *p, const uint8_t *nonce)
{
	uint64_t h = 0;

	memcpy(&h, nonce, sizeof(h));
	return (size_t)h & (p->cap - 1);
}

/* Rebuilds the set without expired entries.  Call with mtx held. */
static void
sweep_locked(gw_pow *p, uint64_t now_s)
{
	struct used *old = p->set, *nw;

	if ((nw = calloc(p->cap, sizeof(*nw))) == NULL) {
		return; /* stays full: refusals say so */
	}
	p->set = nw;
	p->count = 0;
	for (size_t i = 0; i < p->cap; i++) {
		size_t j;
		if (old[i].expires_at == 0 || old[i].expires_at < now_s) {
			continue;
		}
		for (j = slot_of(p, old[i].nonce); nw[j].expires_at != 0;
		     j = (j + 1) & (p->cap - 1)) {
		}
		nw[j] = old[i];
		p->count++;
	}
	free(old);
}

/* Remembers nonce until expires_at.  Call with mtx held. */
static gw_pow_verdict
remember_locked(gw_pow *p, const itk_pow_challenge *c, uint64_t now_s)
{
	size_t j;

	for (j = slot_of(p, c->nonce); p->set[j].expires_at != 0;
	     j = (j + 1) & (p->cap - 1)) {
		if (memcmp(p->set[j].nonce, c->nonce, ITK_POW_NONCE_LEN) ==
		    0) {
			return GW_POW_REUSED;
		}
	}
	if (p->count >= p->o.max_used) {
		sweep_locked(p, now_s);
		if (p->count >= p->o.max_used) {
			return GW_POW_FULL;
		}
		for (j = slot_of(p, c->nonce); p->set[j].expires_at != 0;
		     j = (j + 1) & (p->cap - 1)) {
		}
	}
	memcpy(p->set[j].nonce, c->nonce, ITK_POW_NONCE_LEN);
	/* +1: an entry is kept through its whole expiry second. */
	p->set[j].expires_at = c->expires_at + 1;
	p->count++;
	return GW_POW_OK;
}

static gw_pow_verdict
check(gw_pow *p, const uint8_t *challenge, size_t clen,
      const uint8_t *solution, size_t slen,
      const uint8_t id[static ITK_HASH_LEN], uint64_t now_s, uint64_t now_ms,
      unsigned *required)
{
	itk_pow_challenge c;
	uint8_t want[ITK_POW_MAC_LEN];
	gw_pow_verdict v;
	unsigned d;

	pthread_mutex_lock(&p->mtx);
	d = difficulty_locked(p, now_ms);
	pthread_mutex_unlock(&p->mtx);
	*required = d;
	if (clen == 0 && slen == 0) {
		return d == 0 ? GW_POW_OK : GW_POW_MISSING;
	}
	/* A proof that was sent is checked even when none is required:
	 * it is then either right or refused, never silently ignored. */
	if (itk_pow_challenge_parse(challenge, clen, &c) != ITK_OK ||
	    slen != ITK_POW_SOLUTION_LEN) {
		return GW_POW_MALFORMED;
	}
	mac(p, challenge, want);
	if (sodium_memcmp(want, c.mac, sizeof(want)) != 0 ||
	    c.issued_at > now_s + FUTURE_SLACK_S) {
		return GW_POW_FOREIGN;
	}
	if (now_s > c.expires_at) {
		return GW_POW_EXPIRED;
	}
	if (c.difficulty + WEAK_SLACK < d) {
		return GW_POW_WEAK;
	}
	if (!itk_pow_verify(challenge, id, solution, c.difficulty)) {
		return GW_POW_WRONG;
	}
	pthread_mutex_lock(&p->mtx);
	v = remember_locked(p, &c, now_s);
	pthread_mutex_unlock(&p->mtx);
	return v;
}

gw_pow_verdict
gw_pow_check(gw_pow *p, const uint8_t *challenge, size_t clen,
	     const uint8_t *solution, size_t slen,
	     const uint8_t id[static ITK_HASH_LEN], uint64_t now_s,
	     uint64_t now_ms, unsigned *required)
{
	gw_pow_verdict v = check(p, challenge, clen, solution, slen, id, now_s,
				 now_ms, required);

	atomic_fetch_add(&p->verdicts[v], 1);
	return v;
}

unsigned
gw_pow_status(gw_pow_verdict v)
{
	switch (v) {
	case GW_POW_OK:
		return 200;
	case GW_POW_MISSING:
	case GW_POW_WEAK:
	case GW_POW_FULL:
		return 429;
	case GW_POW_MALFORMED:
	case GW_POW_FOREIGN:
	case GW_POW_EXPIRED:
	case GW_POW_WRONG:
	case GW_POW_REUSED:
	case GW_POW_VERDICT_COUNT:
	default:
		return 403;
	}
}

const char *
gw_pow_message(gw_pow_verdict v)
{
	switch (v) {
	case GW_POW_OK:
		return "ok";
	case GW_POW_MISSING:
		return "proof of work required: GET /v1/challenge";
	case GW_POW_WEAK:
		return "proof of work too weak for the current load: "
		       "GET /v1/challenge";
	case GW_POW_MALFORMED:
		return "proof of work malformed";
	case GW_POW_FOREIGN:
		return "challenge not issued by this gateway";
	case GW_POW_EXPIRED:
		return "challenge expired: GET /v1/challenge";
	case GW_POW_WRONG:
		return "proof of work does not solve the challenge";
	case GW_POW_REUSED:
		return "challenge already used: GET /v1/challenge";
	case GW_POW_FULL:
		return "too many challenges in use: try again later";
	case GW_POW_VERDICT_COUNT:
	default:
		return "proof of work refused";
	}
}

uint64_t
gw_pow_count(const gw_pow *p, gw_pow_verdict v)
{
	if (p == NULL || (unsigned)v >= GW_POW_VERDICT_COUNT) {
		return 0;
	}
	return atomic_load(&((gw_pow *)p)->verdicts[v]);
}

uint64_t
gw_pow_issued(const gw_pow *p)
{
	return p == NULL ? 0 : atomic_load(&((gw_pow *)p)->issued);
}
