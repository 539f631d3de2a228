/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the bounded reader and writer (common/buf.c) by running the input
 * as a little program against a model of what buf.h promises.
 *
 * Input: [plen u8][program: plen bytes][data: the rest].  The reader reads
 * the data; the writer is an itk_buf whose cap comes from the program.
 * Each program byte is an opcode, some followed by an operand byte.  After
 * every step the reader and writer must match the model: reads return the
 * big-endian bytes at the model's offset, a failed read consumes nothing,
 * a write past the cap fails and changes nothing.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"

#define WMAX 4096u /* largest writer cap a program can ask for */

/* The program being run, read by the harness itself (not by buf.c). */
struct prog {
	const uint8_t *p;
	size_t n, i;
};

/* Next program byte, or 0 once the program is used up. */
static uint8_t
next(struct prog *pg)
{
	return pg->i < pg->n ? pg->p[pg->i++] : 0;
}

/* What the reader and writer should hold. */
struct model {
	const uint8_t *data;
	size_t len, off;   /* reader */
	uint8_t w[WMAX];   /* writer contents */
	size_t wlen, wmax; /* writer length and cap */
};

static uint64_t
be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | p[i];
	}
	return v;
}

/* Reads an integer of width n bytes and checks it against the model. */
static void
op_int(itk_reader *r, struct model *m, size_t n)
{
	bool fits = m->len - m->off >= n;
	uint64_t got = 0;
	itk_err e;

	switch (n) {
	case 1: {
		uint8_t v = 0;
		e = itk_get_u8(r, &v);
		got = v;
		break;
	}
	case 2: {
		uint16_t v = 0;
		e = itk_get_u16(r, &v);
		got = v;
		break;
	}
	case 4: {
		uint32_t v = 0;
		e = itk_get_u32(r, &v);
		got = v;
		break;
	}
	default: {
		uint64_t v = 0;
		e = itk_get_u64(r, &v);
		got = v;
		break;
	}
	}
	FUZZ_CHECK(e == (fits ? ITK_OK : ITK_E_SHORT));
	if (fits) {
		FUZZ_CHECK(got == be(m->data + m->off, n));
		m->off += n;
	}
}

/* A length-prefixed string of width 2 or 4, refused above max. */
static void
op_string(itk_reader *r, struct model *m, size_t width, size_t max)
{
	size_t left = m->len - m->off, n = 0, l;
	const uint8_t *view = NULL;
	itk_err e, want;

	e = width == 2 ? itk_get_string16(r, max, &view, &n)
		       : itk_get_string32(r, max, &view, &n);
	if (left < width) {
		want = ITK_E_SHORT;
	} else {
		l = (size_t)be(m->data + m->off, width);
		want = l > max            ? ITK_E_TOO_BIG
		       : l > left - width ? ITK_E_SHORT
					  : ITK_OK;
		if (want == ITK_OK) {
			FUZZ_CHECK(e == ITK_OK && n == l);
			FUZZ_CHECK(view == m->data + m->off + width);
			m->off += width + l;
		}
	}
	FUZZ_CHECK(e == want);
}

/* Appends n bytes with put (or the typed put for 1, 2, 4, 8 bytes). */
static void
op_put(itk_buf *b, struct model *m, const uint8_t *src, size_t n, int how)
{
	bool fits = n <= m->wmax - m->wlen;
	uint64_t v = be(src, n < 8 ? n : 8);
	itk_err e;

	if (how == 0 || (n != 1 && n != 2 && n != 4 && n != 8)) {
		e = itk_buf_put(b, src, n);
	} else if (n == 1) {
		e = itk_buf_put_u8(b, (uint8_t)v);
	} else if (n == 2) {
		e = itk_buf_put_u16(b, (uint16_t)v);
	} else if (n == 4) {
		e = itk_buf_put_u32(b, (uint32_t)v);
	} else {
		e = itk_buf_put_u64(b, v);
	}
	FUZZ_CHECK(e == (fits ? ITK_OK : ITK_E_TOO_BIG));
	if (fits) {
		memcpy(m->w + m->wlen, src, n);
		m->wlen += n;
	}
}

/* itk_buf_printf of a number and a string, against snprintf. */
static void
op_printf(itk_buf *b, struct model *m, const uint8_t *src, size_t n,
	  unsigned num)
{
	char want[WMAX + 64];
	int wn;
	itk_err e;

	/* Stop at a NUL as %s would, so the model sees the same text. */
	const uint8_t *z = memchr(src, '\0', n);
	size_t sl = z != NULL ? (size_t)(z - src) : n;

	wn = snprintf(want, sizeof(want), "%u:%.*s", num, (int)sl,
		      (const char *)src);
	FUZZ_CHECK(wn >= 0 && (size_t)wn < sizeof(want));
	e = itk_buf_printf(b, "%u:%.*s", num, (int)sl, (const char *)src);
	if ((size_t)wn <= m->wmax - m->wlen) {
		FUZZ_CHECK(e == ITK_OK);
		memcpy(m->w + m->wlen, want, (size_t)wn);
		m->wlen += (size_t)wn;
	} else {
		FUZZ_CHECK(e == ITK_E_TOO_BIG);
	}
}

static void
check_state(const itk_reader *r, const itk_buf *b, const struct model *m)
{
	FUZZ_CHECK(itk_reader_left(r) == m->len - m->off);
	FUZZ_CHECK(itk_reader_end(r) ==
		   (m->off == m->len ? ITK_OK : ITK_E_TRAILING));
	FUZZ_CHECK(itk_buf_len(b) == m->wlen);
	FUZZ_CHECK(itk_buf_max(b) == m->wmax);
	FUZZ_CHECK(m->wlen == 0 || memcmp(itk_buf_ptr(b), m->w, m->wlen) == 0);
}

static void
run(struct prog *pg, struct model *m, itk_reader *r, itk_buf *b)
{
	uint8_t tmp[256];
	const uint8_t *view;
	size_t n;

	while (pg->i < pg->n) {
		uint8_t op = next(pg);
		switch (op % 14) {
		case 0:
			op_int(r, m, 1);
			break;
		case 1:
			op_int(r, m, 2);
			break;
		case 2:
			op_int(r, m, 4);
			break;
		case 3:
			op_int(r, m, 8);
			break;
		case 4: /* copy n bytes out */
			n = next(pg);
			if (n <= m->len - m->off) {
				FUZZ_CHECK(itk_get_bytes(r, tmp, n) == ITK_OK);
				FUZZ_CHECK(n == 0 ||
					   memcmp(tmp, m->data + m->off, n) ==
					       0);
				m->off += n;
			} else {
				FUZZ_CHECK(itk_get_bytes(r, tmp, n) ==
					   ITK_E_SHORT);
			}
			break;
		case 5: /* a view of n bytes; n up to 65535 */
			n = (size_t)next(pg) << 8;
			n |= next(pg);
			if (n <= m->len - m->off) {
				FUZZ_CHECK(itk_get_view(r, n, &view) ==
					   ITK_OK);
				FUZZ_CHECK(view == m->data + m->off);
				m->off += n;
			} else {
				FUZZ_CHECK(itk_get_view(r, n, &view) ==
					   ITK_E_SHORT);
			}
			break;
		case 6:
			op_string(r, m, 2, (size_t)next(pg) * 16u);
			break;
		case 7:
			op_string(r, m, 4, (size_t)next(pg) * 64u);
			break;
		case 8: /* huge sizes must fail cleanly, not wrap */
			FUZZ_CHECK(itk_get_view(r, SIZE_MAX, &view) ==
				       ITK_E_SHORT ||
				   m->len - m->off == SIZE_MAX);
			FUZZ_CHECK(itk_buf_put(b, tmp, SIZE_MAX) ==
				   ITK_E_TOO_BIG);
			break;
		case 9: /* put the next n unread data bytes (or fewer) */
		case 10:
			n = next(pg);
			n = n < m->len - m->off ? n : m->len - m->off;
			op_put(b, m, m->data + m->off, n, op % 14 == 10);
			break;
		case 11:
			n = (size_t)next(pg) << 4;
			n = n < m->len - m->off ? n : m->len - m->off;
			op_printf(b, m, m->data + m->off, n, next(pg));
			break;
		case 12:
			itk_buf_reset(b);
			m->wlen = 0;
			break;
		default: { /* the fixed-layout helpers round-trip */
			uint8_t s[8];
			uint64_t v = ((uint64_t)next(pg) << 56) | m->off;
			itk_store_u64(s, v);
			FUZZ_CHECK(itk_load_u64(s) == v && be(s, 8) == v);
			itk_store_u32(s, (uint32_t)v);
			FUZZ_CHECK(itk_load_u32(s) == (uint32_t)v);
			break;
		}
		}
		check_state(r, b, m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct prog pg = {0};
	itk_reader r;
	itk_buf *b;
	size_t plen;

	if (size == 0) {
		return 0;
	}
	plen = data[0];
	plen = plen < size - 1 ? plen : size - 1;
	pg.p = data + 1;
	pg.n = plen;
	memset(&m, 0, sizeof(m));
	m.data = data + 1 + plen;
	m.len = size - 1 - plen;
	m.wmax = (size_t)next(&pg) * 16u; /* 0 .. 4080 */
	FUZZ_CHECK(m.wmax <= WMAX);

	/* A NULL reader is an empty one. */
	itk_reader_init(&r, NULL, 5);
	FUZZ_CHECK(itk_reader_left(&r) == 0);

	itk_reader_init(&r, m.data, m.len);
	FUZZ_CHECK((b = itk_buf_new(m.wmax)) != NULL);
	check_state(&r, b, &m);
	run(&pg, &m, &r, b);
	itk_buf_free(b);
	FUZZ_CHECK(itk_buf_new(ITK_BUF_SIZE_MAX + 1) == NULL);
	return 0;
}
