/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_BUF_H
#define ITK_BUF_H

/*
 * Bounded byte reader and writer.  Every untrusted byte in Intake (HTTP
 * bodies, nng frames, files, monitor messages) is read through itk_reader,
 * which fails with ITK_E_SHORT instead of reading past the end, and never
 * consumes anything on failure.  itk_buf grows up to a hard maximum fixed
 * at creation and fails with ITK_E_TOO_BIG beyond it.
 *
 * Integers are big-endian (network order), as in the C2SP formats.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Largest buffer anything in Intake may allocate (64 MiB). */
#define ITK_BUF_SIZE_MAX (64u * 1024u * 1024u)

/* A read cursor over caller-owned memory; embed it, no _free needed. */
typedef struct {
	const uint8_t *p;
	size_t len;
	size_t off;
} itk_reader;

void itk_reader_init(itk_reader *r, const void *p, size_t len);
/* Bytes not yet read. */
size_t itk_reader_left(const itk_reader *r);
/* ITK_OK if everything was read, else ITK_E_TRAILING. */
itk_err itk_reader_end(const itk_reader *r) ITK_WUR;

itk_err itk_get_u8(itk_reader *r, uint8_t *v) ITK_WUR;
itk_err itk_get_u16(itk_reader *r, uint16_t *v) ITK_WUR;
itk_err itk_get_u32(itk_reader *r, uint32_t *v) ITK_WUR;
itk_err itk_get_u64(itk_reader *r, uint64_t *v) ITK_WUR;
/* Copies exactly n bytes into out. */
itk_err itk_get_bytes(itk_reader *r, void *out, size_t n) ITK_WUR;
/*
 * Points *view at the next n bytes inside the reader's memory (no copy) and
 * consumes them.  The view lives as long as the reader's memory does.
 */
itk_err itk_get_view(itk_reader *r, size_t n, const uint8_t **view) ITK_WUR;
/*
 * Reads a u16/u32 big-endian length, refuses it if above max, then returns
 * a view of that many bytes.  Nothing is consumed on failure.
 */
itk_err itk_get_string16(itk_reader *r, size_t max, const uint8_t **view,
			 size_t *n) ITK_WUR;
itk_err itk_get_string32(itk_reader *r, size_t max, const uint8_t **view,
			 size_t *n) ITK_WUR;

/* A growable, capped byte buffer.  Opaque; wiped when freed. */
typedef struct itk_buf itk_buf;

/* Returns a new empty buffer that may grow to max bytes, or NULL. */
itk_buf *itk_buf_new(size_t max);
/* Wipes and frees b; NULL is fine. */
void itk_buf_free(itk_buf *b);
/* Empties b, wiping what it held; the allocation is kept. */
void itk_buf_reset(itk_buf *b);
/* The bytes held; never NULL, even for an empty buffer. */
const uint8_t *itk_buf_ptr(const itk_buf *b);
uint8_t *itk_buf_mutable_ptr(itk_buf *b);
size_t itk_buf_len(const itk_buf *b);
size_t itk_buf_max(const itk_buf *b);

itk_err itk_buf_put(itk_buf *b, const void *p, size_t n) ITK_WUR;
itk_err itk_buf_put_u8(itk_buf *b, uint8_t v) ITK_WUR;
itk_err itk_buf_put_u16(itk_buf *b, uint16_t v) ITK_WUR;
itk_err itk_buf_put_u32(itk_buf *b, uint32_t v) ITK_WUR;
itk_err itk_buf_put_u64(itk_buf *b, uint64_t v) ITK_WUR;
itk_err itk_buf_put_str(itk_buf *b, const char *s) ITK_WUR;
/* Reserves n bytes at the end and returns a pointer to them in *out. */
itk_err itk_buf_reserve(itk_buf *b, size_t n, uint8_t **out) ITK_WUR;
/* printf-style append; fails with ITK_E_TOO_BIG past the cap. */
itk_err itk_buf_printf(itk_buf *b, const char *fmt, ...) ITK_WUR
    __attribute__((format(printf, 2, 3)));

/* Big-endian helpers over raw memory for fixed-size layouts. */
void itk_store_u32(uint8_t out[4], uint32_t v);
void itk_store_u64(uint8_t out[8], uint64_t v);
uint32_t itk_load_u32(const uint8_t in[4]);
uint64_t itk_load_u64(const uint8_t in[8]);

#endif
