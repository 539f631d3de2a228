/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
reader_reads_big_endian(void **state)
{
	const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
			      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	itk_reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	itk_reader_init(&r, in, sizeof(in));
	assert_int_equal(itk_get_u8(&r, &u8), ITK_OK);
	assert_int_equal(u8, 0x01);
	assert_int_equal(itk_get_u16(&r, &u16), ITK_OK);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(itk_get_u32(&r, &u32), ITK_OK);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(itk_get_u64(&r, &u64), ITK_OK);
	assert_true(u64 == 0x08090a0b0c0d0e0fULL);
	assert_int_equal(itk_reader_end(&r), ITK_OK);
}

static void
reader_short_consumes_nothing(void **state)
{
	const uint8_t in[] = {0xaa, 0xbb, 0xcc};
	itk_reader r;
	uint32_t u32 = 7;
	uint8_t u8;

	itk_reader_init(&r, in, sizeof(in));
	assert_int_equal(itk_get_u32(&r, &u32), ITK_E_SHORT);
	assert_int_equal(u32, 7);
	assert_int_equal(itk_reader_left(&r), 3);
	assert_int_equal(itk_get_u8(&r, &u8), ITK_OK);
	assert_int_equal(u8, 0xaa);
	assert_int_equal(itk_reader_end(&r), ITK_E_TRAILING);
}

static void
reader_length_prefix_is_capped(void **state)
{
	/* Claims 0xffff bytes but holds 2: must fail, consume nothing. */
	const uint8_t lie[] = {0xff, 0xff, 'h', 'i'};
	const uint8_t ok[] = {0x00, 0x02, 'h', 'i'};
	const uint8_t big[] = {0x00, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5};
	const uint8_t *v;
	size_t n;
	itk_reader r;

	itk_reader_init(&r, lie, sizeof(lie));
	assert_int_equal(itk_get_string16(&r, 100000, &v, &n), ITK_E_SHORT);
	assert_int_equal(itk_reader_left(&r), sizeof(lie));

	itk_reader_init(&r, ok, sizeof(ok));
	assert_int_equal(itk_get_string16(&r, 1, &v, &n), ITK_E_TOO_BIG);
	assert_int_equal(itk_reader_left(&r), sizeof(ok));
	assert_int_equal(itk_get_string16(&r, 2, &v, &n), ITK_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "hi", 2);

	itk_reader_init(&r, big, sizeof(big));
	assert_int_equal(itk_get_string32(&r, 4, &v, &n), ITK_E_TOO_BIG);
	assert_int_equal(itk_get_string32(&r, 5, &v, &n), ITK_OK);
	assert_int_equal(itk_reader_end(&r), ITK_OK);
}

static void
reader_huge_length_does_not_wrap(void **state)
{
	const uint8_t in[] = {1, 2, 3};
	const uint8_t *v = NULL;
	itk_reader r;

	itk_reader_init(&r, in, sizeof(in));
	assert_int_equal(itk_get_view(&r, SIZE_MAX, &v), ITK_E_SHORT);
	assert_null(v);
	assert_int_equal(itk_get_view(&r, 3, &v), ITK_OK);
	assert_int_equal(itk_get_view(&r, 1, &v), ITK_E_SHORT);
}

static void
writer_respects_max(void **state)
{
	itk_buf *b = itk_buf_new(10);

	assert_non_null(b);
	assert_int_equal(itk_buf_put(b, "0123456789", 10), ITK_OK);
	assert_int_equal(itk_buf_put_u8(b, 1), ITK_E_TOO_BIG);
	assert_int_equal(itk_buf_len(b), 10);
	itk_buf_reset(b);
	assert_int_equal(itk_buf_len(b), 0);
	assert_int_equal(itk_buf_put_u64(b, 0x0102030405060708ULL), ITK_OK);
	assert_int_equal(itk_buf_put_u32(b, 1), ITK_E_TOO_BIG);
	assert_int_equal(itk_buf_ptr(b)[0], 1);
	assert_int_equal(itk_buf_ptr(b)[7], 8);
	assert_int_equal(itk_buf_printf(b, "%s", "abc"), ITK_E_TOO_BIG);
	assert_int_equal(itk_buf_printf(b, "%d", 42), ITK_OK);
	assert_memory_equal(itk_buf_ptr(b) + 8, "42", 2);
	itk_buf_free(b);
	itk_buf_free(NULL);
	assert_null(itk_buf_new(ITK_BUF_SIZE_MAX + 1));
}

static void
writer_grows_and_round_trips(void **state)
{
	itk_buf *b = itk_buf_new(1 << 20);
	itk_reader r;
	uint32_t v;

	for (uint32_t i = 0; i < 10000; i++) {
		assert_int_equal(itk_buf_put_u32(b, i), ITK_OK);
	}
	itk_reader_init(&r, itk_buf_ptr(b), itk_buf_len(b));
	for (uint32_t i = 0; i < 10000; i++) {
		assert_int_equal(itk_get_u32(&r, &v), ITK_OK);
		assert_int_equal(v, i);
	}
	assert_int_equal(itk_reader_end(&r), ITK_OK);
	itk_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reader_reads_big_endian),
	    cmocka_unit_test(reader_short_consumes_nothing),
	    cmocka_unit_test(reader_length_prefix_is_capped),
	    cmocka_unit_test(reader_huge_length_does_not_wrap),
	    cmocka_unit_test(writer_respects_max),
	    cmocka_unit_test(writer_grows_and_round_trips),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
