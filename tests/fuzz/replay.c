/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replay driver: the main() a fuzz target gets when it is not linked with
 * libFuzzer (gcc, or clang without -Dfuzz=enabled).  Feeds every file named
 * on the command line, or found directly inside a directory named there,
 * to LLVMFuzzerTestOneInput once.  So every build runs each target over its
 * committed corpus (seeds and regression inputs), under the build's
 * sanitizers if it has them.  Finding no input at all is a failure: a
 * missing corpus must not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "file.h"
#include "fuzz.h"

/* Larger than any cap in wire.h, so every committed input fits. */
#define REPLAY_INPUT_MAX ITK_BUF_SIZE_MAX

/* Runs one file through the target; 0 on success. */
static int
replay_file(const char *path)
{
	itk_buf *b = NULL;
	itk_err r;

	if ((r = itk_file_read(path, REPLAY_INPUT_MAX, &b)) != ITK_OK) {
		fprintf(stderr, "replay: %s: %s\n", path, itk_strerror(r));
		return -1;
	}
	/* A copy of exactly the right size, so ASan sees any overread. */
	size_t n = itk_buf_len(b);
	uint8_t *copy = malloc(n > 0 ? n : 1);
	if (copy == NULL) {
		itk_buf_free(b);
		return -1;
	}
	if (n > 0) {
		memcpy(copy, itk_buf_ptr(b), n);
	}
	itk_buf_free(b);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	(void)LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file directly inside dir, in name order. */
static int
replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue; /* ., .. and hidden files such as .gitkeep */
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			char **nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL) {
				rc = -1;
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			rc = -1;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);
		struct stat st;
		if (path == NULL) {
			rc = -1;
			break;
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = replay_file(path);
			(*count)++;
		}
		free(path);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int rc;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = replay_dir(argv[i], &count);
		} else {
			rc = replay_file(argv[i]);
			count++;
		}
		if (rc != 0) {
			return 1;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no input found\n");
		return 1;
	}
	printf("replay: %zu inputs, none crashed\n", count);
	return 0;
}
