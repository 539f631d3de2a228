/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 with the x86 SHA extensions, or libsodium's (sha256.h).
 *
 * The SHA-NI block function follows Intel's reference ("Intel SHA
 * Extensions", Gulley et al., 2013): the eight state words live in two
 * registers as ABEF and CDGH, sha256rnds2 does two rounds, sha256msg1/2
 * extend the message schedule four words at a time.  Only the functions
 * marked SHANI_TARGET are compiled for those instructions, and they run
 * only after CPUID says the CPU has them.
 */
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#define SHANI_TARGET __attribute__((target("sha,sse4.1")))
#else
#define HAVE_SHANI 0
#endif

/* 0 = not chosen yet, else an itk_sha256_impl. */
static int active_impl;

/* Clears a buffer that held message bytes; the barrier keeps the
 * compiler from dropping a store to memory that dies right after. */
static inline void
wipe(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static inline void
store_be32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

static inline void
store_be64(uint8_t *p, uint64_t x)
{
	store_be32(p, (uint32_t)(x >> 32));
	store_be32(p + 4, (uint32_t)x);
}

/* FIPS 180-4 5.3.3: the initial hash value. */
static const uint32_t sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if HAVE_SHANI
/* FIPS 180-4 4.2.2: the round constants, four per 128-bit load. */
static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Hashes n 64-byte blocks at p into the state h (a..h, host order). */
SHANI_TARGET static void
shani_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	/* Big-endian words: byte-swap each 32-bit lane. */
	const __m128i bswap =
	    _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i s0, s1, t, abef, cdgh, m, w[4];

	t = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
	s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
	t = _mm_shuffle_epi32(t, 0xB1);    /* CDAB */
	s1 = _mm_shuffle_epi32(s1, 0x1B);  /* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);    /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0); /* CDGH */
	for (; n > 0; n--, p += ITK_SHA256_BLOCK) {
		abef = s0;
		cdgh = s1;
		/* Group g: rounds 4g..4g+3 with W[4g..4g+3] in w[g % 4]. */
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g < 4) {
				m = _mm_loadu_si128(
				    (const __m128i *)(const void *)(p +
								    16 * g));
				w[g] = _mm_shuffle_epi8(m, bswap);
			} else {
				/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15])
				 * + W[t-16]: msg1 adds s0, alignr brings
				 * W[t-7], msg2 adds s1. */
				m = _mm_sha256msg1_epu32(w[g & 3],
							 w[(g + 1) & 3]);
				m = _mm_add_epi32(
				    m, _mm_alignr_epi8(w[(g + 3) & 3],
						       w[(g + 2) & 3], 4));
				w[g & 3] =
				    _mm_sha256msg2_epu32(m, w[(g + 3) & 3]);
			}
			m = _mm_add_epi32(
			    w[g & 3],
			    _mm_load_si128(
				(const __m128i *)(const void
						      *)&sha256_k[4 * g]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, m);
			m = _mm_shuffle_epi32(m, 0x0E);
			s0 = _mm_sha256rnds2_epu32(s0, s1, m);
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);  /* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0); /* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);    /* HGFE */
	_mm_storeu_si128((__m128i *)(void *)&h[0], s0);
	_mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}

static bool
cpu_has_shani(void)
{
	unsigned a, b, c, d;

	/* Leaf 1 ECX: SSSE3 (bit 9), SSE4.1 (bit 19); leaf 7 EBX: SHA
	 * (bit 29). */
	if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & (1u << 9)) == 0 ||
	    (c & (1u << 19)) == 0) {
		return false;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
		return false;
	}
	return (b & (1u << 29)) != 0;
}
#else
static void
shani_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	/* Never chosen: itk_sha256_shani_available() is false. */
	(void)h;
	(void)p;
	(void)n;
	abort();
}

static bool
cpu_has_shani(void)
{
	return false;
}
#endif

/* The longest tail shani_finish pads into its two blocks (the 0x80 byte
 * and the 8-byte length take the rest). */
#define TAIL_MAX (2 * ITK_SHA256_BLOCK - 9)

/* FIPS 180-4 5.1.1: pads the tail (tlen <= TAIL_MAX bytes) of a message
 * of total bytes, hashes the last block or two in one call, writes the
 * digest. */
static void
shani_finish(uint32_t h[8], uint64_t total, const uint8_t *tail, size_t tlen,
	     uint8_t out[ITK_SHA256_LEN])
{
	uint8_t b[2 * ITK_SHA256_BLOCK];
	size_t nb = tlen < ITK_SHA256_BLOCK - 8 ? 1 : 2;

	if (tlen > 0) {
		memcpy(b, tail, tlen);
	}
	b[tlen] = 0x80;
	memset(b + tlen + 1, 0, nb * ITK_SHA256_BLOCK - 8 - tlen - 1);
	store_be64(b + nb * ITK_SHA256_BLOCK - 8, total << 3);
	shani_blocks(h, b, nb);
	for (size_t i = 0; i < 8; i++) {
		store_be32(out + 4 * i, h[i]);
	}
	wipe(b, sizeof(b));
}

bool
itk_sha256_shani_available(void)
{
	static int cached; /* 0 unknown, 1 no, 2 yes */
	int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (c == 0) {
		c = cpu_has_shani() ? 2 : 1;
		__atomic_store_n(&cached, c, __ATOMIC_RELAXED);
	}
	return c == 2;
}

static itk_sha256_impl
best_impl(void)
{
	return itk_sha256_shani_available() ? ITK_SHA256_SHANI
					    : ITK_SHA256_SODIUM;
}

itk_sha256_impl
itk_sha256_active(void)
{
	int a = __atomic_load_n(&active_impl, __ATOMIC_RELAXED);

	if (a == 0) {
		/* Any thread may get here first; they all pick the same. */
		const char *e = getenv("ITK_SHA256");
		a = e != NULL && strcmp(e, "sodium") == 0
			? (int)ITK_SHA256_SODIUM
			: (int)best_impl();
		__atomic_store_n(&active_impl, a, __ATOMIC_RELAXED);
	}
	return (itk_sha256_impl)a;
}

const char *
itk_sha256_impl_name(itk_sha256_impl impl)
{
	switch (impl) {
	case ITK_SHA256_SHANI:
		return "sha-ni";
	case ITK_SHA256_SODIUM:
		return "libsodium";
	case ITK_SHA256_AUTO:
		return "auto";
	default:
		return "unknown";
	}
}

itk_err
itk_sha256_force(itk_sha256_impl impl)
{
	switch (impl) {
	case ITK_SHA256_AUTO:
		impl = best_impl();
		break;
	case ITK_SHA256_SHANI:
		if (!itk_sha256_shani_available()) {
			return ITK_E_RANGE;
		}
		break;
	case ITK_SHA256_SODIUM:
		break;
	default:
		return ITK_E_RANGE;
	}
	__atomic_store_n(&active_impl, (int)impl, __ATOMIC_RELAXED);
	return ITK_OK;
}

void
itk_sha256_init(itk_sha256_state *st)
{
	st->impl = itk_sha256_active();
	if (st->impl == ITK_SHA256_SHANI) {
		memcpy(st->u.ni.h, sha256_iv, sizeof(sha256_iv));
		st->u.ni.len = 0;
	} else {
		crypto_hash_sha256_init(&st->u.sodium);
	}
}

void
itk_sha256_update(itk_sha256_state *st, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t fill, take;

	if (len == 0) {
		return;
	}
	if (st->impl != ITK_SHA256_SHANI) {
		crypto_hash_sha256_update(&st->u.sodium, p, len);
		return;
	}
	fill = (size_t)(st->u.ni.len % ITK_SHA256_BLOCK);
	st->u.ni.len += len;
	if (fill > 0) {
		/* Top up the partial block first. */
		take = ITK_SHA256_BLOCK - fill;
		if (take > len) {
			take = len;
		}
		memcpy(st->u.ni.buf + fill, p, take);
		p += take;
		len -= take;
		if (fill + take < ITK_SHA256_BLOCK) {
			return;
		}
		shani_blocks(st->u.ni.h, st->u.ni.buf, 1);
	}
	if (len >= ITK_SHA256_BLOCK) {
		/* Whole blocks straight from the caller's bytes. */
		shani_blocks(st->u.ni.h, p, len / ITK_SHA256_BLOCK);
		p += len - len % ITK_SHA256_BLOCK;
		len %= ITK_SHA256_BLOCK;
	}
	if (len > 0) {
		memcpy(st->u.ni.buf, p, len);
	}
}

void
itk_sha256_final(itk_sha256_state *st, uint8_t out[ITK_SHA256_LEN])
{
	if (st->impl == ITK_SHA256_SHANI) {
		shani_finish(st->u.ni.h, st->u.ni.len, st->u.ni.buf,
			     (size_t)(st->u.ni.len % ITK_SHA256_BLOCK), out);
	} else {
		crypto_hash_sha256_final(&st->u.sodium, out);
	}
	wipe(st, sizeof(*st));
}

void
itk_sha256_digest(uint8_t out[ITK_SHA256_LEN], const void *data, size_t len)
{
	static const uint8_t empty[1];
	const uint8_t *p = len > 0 ? data : empty;
	uint32_t h[8];
	size_t whole = len / ITK_SHA256_BLOCK;

	if (itk_sha256_active() != ITK_SHA256_SHANI) {
		crypto_hash_sha256(out, p, len);
		return;
	}
	memcpy(h, sha256_iv, sizeof(h));
	if (len <= TAIL_MAX) {
		/* Short inputs (Merkle nodes, leaves, ids): padded and
		 * hashed in one call. */
		shani_finish(h, len, p, len, out);
	} else {
		shani_blocks(h, p, whole);
		shani_finish(h, len, p + whole * ITK_SHA256_BLOCK,
			     len % ITK_SHA256_BLOCK, out);
	}
	wipe(h, sizeof(h));
}
