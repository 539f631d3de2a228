/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"

static char dir[64];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/itk-test-file-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void
atomic_write_and_read_back(void **state)
{
	char path[128];
	itk_buf *b = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(itk_file_write_atomic(path, "hello", 5, 0600, 1),
			 ITK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(itk_file_write_atomic(path, "other", 5, 0600, 1),
			 ITK_E_EXISTS);
	assert_int_equal(itk_file_read(path, 100, &b), ITK_OK);
	assert_memory_equal(itk_buf_ptr(b), "hello", 5);
	itk_buf_free(b);
	assert_int_equal(itk_file_write_atomic(path, "bye", 3, 0600, 0),
			 ITK_OK);
	assert_int_equal(itk_file_read(path, 100, &b), ITK_OK);
	assert_int_equal(itk_buf_len(b), 3);
	itk_buf_free(b);
	assert_int_equal(itk_file_read(path, 2, &b), ITK_E_TOO_BIG);
}

static void
secret_read_refuses_open_modes(void **state)
{
	char path[128];
	itk_buf *b = NULL;

	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(itk_file_write_atomic(path, "k", 1, 0644, 0), ITK_OK);
	assert_int_equal(itk_file_read_secret(path, 100, &b), ITK_E_PERM);
	assert_null(b);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(itk_file_read_secret(path, 100, &b), ITK_OK);
	itk_buf_free(b);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(itk_file_read_secret(path, 100, &b), ITK_E_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(atomic_write_and_read_back),
	    cmocka_unit_test(secret_read_refuses_open_modes),
	};
	return cmocka_run_group_tests_name("file", tests, setup, teardown);
}
