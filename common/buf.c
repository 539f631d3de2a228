/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct itk_buf {
	uint8_t *d;
	size_t len;
	size_t alloc;
	size_t max;
};

void
itk_reader_init(itk_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p == NULL ? 0 : len;
	r->off = 0;
}

size_t
itk_reader_left(const itk_reader *r)
{
	return r->len - r->off;
}

itk_err
itk_reader_end(const itk_reader *r)
{
	return itk_reader_left(r) == 0 ? ITK_OK : ITK_E_TRAILING;
}

itk_err
itk_get_view(itk_reader *r, size_t n, const uint8_t **view)
{
	/* Compare against what is left, never add to the offset first. */
	if (n > itk_reader_left(r)) {
		return ITK_E_SHORT;
	}
	*view = r->p + r->off;
	r->off += n;
	return ITK_OK;
}

itk_err
itk_get_bytes(itk_reader *r, void *out, size_t n)
{
	const uint8_t *v;
	itk_err e;

	if ((e = itk_get_view(r, n, &v)) != ITK_OK) {
		return e;
	}
	if (n > 0) {
		memcpy(out, v, n);
	}
	return ITK_OK;
}

itk_err
itk_get_u8(itk_reader *r, uint8_t *v)
{
	return itk_get_bytes(r, v, 1);
}

itk_err
itk_get_u16(itk_reader *r, uint16_t *v)
{
	const uint8_t *p;
	itk_err e;

	if ((e = itk_get_view(r, 2, &p)) != ITK_OK) {
		return e;
	}
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return ITK_OK;
}

itk_err
itk_get_u32(itk_reader *r, uint32_t *v)
{
	const uint8_t *p;
	itk_err e;

	if ((e = itk_get_view(r, 4, &p)) != ITK_OK) {
		return e;
	}
	*v = itk_load_u32(p);
	return ITK_OK;
}

itk_err
itk_get_u64(itk_reader *r, uint64_t *v)
{
	const uint8_t *p;
	itk_err e;

	if ((e = itk_get_view(r, 8, &p)) != ITK_OK) {
		return e;
	}
	*v = itk_load_u64(p);
	return ITK_OK;
}

static itk_err
get_string(itk_reader *r, size_t width, size_t max, const uint8_t **view,
	   size_t *n)
{
	itk_reader save = *r;
	uint16_t l16 = 0;
	uint32_t l32 = 0;
	size_t len;
	itk_err e;

	e = width == 2 ? itk_get_u16(r, &l16) : itk_get_u32(r, &l32);
	if (e != ITK_OK) {
		return e;
	}
	len = width == 2 ? l16 : l32;
	if (len > max) {
		*r = save;
		return ITK_E_TOO_BIG;
	}
	if ((e = itk_get_view(r, len, view)) != ITK_OK) {
		*r = save;
		return e;
	}
	*n = len;
	return ITK_OK;
}

itk_err
itk_get_string16(itk_reader *r, size_t max, const uint8_t **view, size_t *n)
{
	return get_string(r, 2, max, view, n);
}

itk_err
itk_get_string32(itk_reader *r, size_t max, const uint8_t **view, size_t *n)
{
	return get_string(r, 4, max, view, n);
}

itk_buf *
itk_buf_new(size_t max)
{
	itk_buf *b;

	if (max > ITK_BUF_SIZE_MAX) {
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		return NULL;
	}
	b->max = max;
	return b;
}

void
itk_buf_free(itk_buf *b)
{
	if (b == NULL) {
		return;
	}
	if (b->d != NULL) {
		sodium_memzero(b->d, b->alloc);
		free(b->d);
	}
	sodium_memzero(b, sizeof(*b));
	free(b);
}

void
itk_buf_reset(itk_buf *b)
{
	if (b->d != NULL) {
		sodium_memzero(b->d, b->len);
	}
	b->len = 0;
}

/*
 * An empty buffer may have no allocation; its pointer is still valid (for
 * zero bytes), so memcpy(dst, itk_buf_ptr(b), 0) is never UB.
 */
static uint8_t buf_empty[1];

const uint8_t *
itk_buf_ptr(const itk_buf *b)
{
	return b->d != NULL ? b->d : buf_empty;
}

uint8_t *
itk_buf_mutable_ptr(itk_buf *b)
{
	return b->d != NULL ? b->d : buf_empty;
}

size_t
itk_buf_len(const itk_buf *b)
{
	return b->len;
}

size_t
itk_buf_max(const itk_buf *b)
{
	return b->max;
}

itk_err
itk_buf_reserve(itk_buf *b, size_t n, uint8_t **out)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (n > b->max || b->len > b->max - n) {
		return ITK_E_TOO_BIG;
	}
	need = b->len + n;
	/* Allocate even for n == 0: NULL + 0 below is undefined (UBSan,
	 * found by fuzz_wire_mailbox_page packing an empty message). */
	if (need > b->alloc || b->d == NULL) {
		nalloc = b->alloc < 256 ? 256 : b->alloc;
		while (nalloc < need) {
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		}
		/*
		 * Not realloc: the old block may hold secrets and realloc
		 * would free it unwiped.
		 */
		if ((nd = malloc(nalloc)) == NULL) {
			return ITK_E_NOMEM;
		}
		if (b->d != NULL) {
			memcpy(nd, b->d, b->len);
			sodium_memzero(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	*out = b->d + b->len;
	b->len += n;
	return ITK_OK;
}

itk_err
itk_buf_put(itk_buf *b, const void *p, size_t n)
{
	uint8_t *dst;
	itk_err e;

	if ((e = itk_buf_reserve(b, n, &dst)) != ITK_OK) {
		return e;
	}
	if (n > 0) {
		memcpy(dst, p, n);
	}
	return ITK_OK;
}

itk_err
itk_buf_put_u8(itk_buf *b, uint8_t v)
{
	return itk_buf_put(b, &v, 1);
}

itk_err
itk_buf_put_u16(itk_buf *b, uint16_t v)
{
	uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return itk_buf_put(b, p, 2);
}

itk_err
itk_buf_put_u32(itk_buf *b, uint32_t v)
{
	uint8_t p[4];

	itk_store_u32(p, v);
	return itk_buf_put(b, p, 4);
}

itk_err
itk_buf_put_u64(itk_buf *b, uint64_t v)
{
	uint8_t p[8];

	itk_store_u64(p, v);
	return itk_buf_put(b, p, 8);
}

itk_err
itk_buf_put_str(itk_buf *b, const char *s)
{
	return itk_buf_put(b, s, strlen(s));
}

itk_err
itk_buf_printf(itk_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;
	char *big = NULL;
	itk_err e;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return ITK_E_FORMAT;
	}
	if ((size_t)n < sizeof(small)) {
		return itk_buf_put(b, small, (size_t)n);
	}
	if ((size_t)n > b->max) {
		return ITK_E_TOO_BIG;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		return ITK_E_NOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e = itk_buf_put(b, big, (size_t)n);
	sodium_memzero(big, (size_t)n + 1);
	free(big);
	return e;
}

void
itk_store_u32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void
itk_store_u64(uint8_t out[8], uint64_t v)
{
	itk_store_u32(out, (uint32_t)(v >> 32));
	itk_store_u32(out + 4, (uint32_t)v);
}

uint32_t
itk_load_u32(const uint8_t in[4])
{
	return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) |
	       ((uint32_t)in[2] << 8) | (uint32_t)in[3];
}

uint64_t
itk_load_u64(const uint8_t in[8])
{
	return ((uint64_t)itk_load_u32(in) << 32) | itk_load_u32(in + 4);
}
