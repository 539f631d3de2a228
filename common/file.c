/* SPDX-License-Identifier: Apache-2.0 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static itk_err
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			return ITK_E_IO;
		}
		p += w;
		len -= (size_t)w;
	}
	return ITK_OK;
}

static itk_err
fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd;
	itk_err r = ITK_E_IO;

	if (strlen(path) >= sizeof(copy)) {
		return ITK_E_TOO_BIG;
	}
	memcpy(copy, path, strlen(path) + 1);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		return ITK_E_IO;
	}
	if (fsync(fd) == 0) {
		r = ITK_OK;
	}
	close(fd);
	return r;
}

itk_err
itk_file_write_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, int excl)
{
	char tmp[PATH_MAX];
	int fd = -1, n;
	itk_err r = ITK_E_IO;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		return ITK_E_TOO_BIG;
	}
	if (excl && access(path, F_OK) == 0) {
		return ITK_E_EXISTS;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		return ITK_E_IO;
	}
	if (fchmod(fd, mode) != 0) {
		goto out;
	}
	if ((r = write_all(fd, data, len)) != ITK_OK) {
		goto out;
	}
	r = ITK_E_IO;
	if (fsync(fd) != 0) {
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link() fails if path appeared meanwhile: no overwrite. */
		if (link(tmp, path) != 0) {
			r = errno == EEXIST ? ITK_E_EXISTS : ITK_E_IO;
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		goto out;
	}
	tmp[0] = '\0'; /* consumed */
	r = fsync_dir_of(path);
out:
	if (fd >= 0) {
		close(fd);
	}
	if (tmp[0] != '\0') {
		unlink(tmp);
	}
	return r;
}

static itk_err
read_fd(int fd, size_t max, itk_buf **out)
{
	itk_buf *b = NULL;
	uint8_t chunk[8192];
	itk_err r = ITK_E_IO;

	if ((b = itk_buf_new(max)) == NULL) {
		return ITK_E_NOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			r = ITK_E_IO;
			goto out;
		}
		if (n == 0) {
			break;
		}
		if ((r = itk_buf_put(b, chunk, (size_t)n)) != ITK_OK) {
			goto out;
		}
	}
	*out = b;
	b = NULL; /* transferred */
	r = ITK_OK;
out:
	explicit_bzero(chunk, sizeof(chunk));
	itk_buf_free(b);
	return r;
}

static itk_err
read_file(const char *path, size_t max, int secret, itk_buf **out)
{
	struct stat st;
	int fd;
	itk_err r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		return errno == ENOENT ? ITK_E_NOT_FOUND : ITK_E_IO;
	}
	if (fstat(fd, &st) != 0) {
		r = ITK_E_IO;
		goto out;
	}
	if (secret && (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
		r = ITK_E_PERM;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	r = read_fd(fd, max, out);
out:
	close(fd);
	return r;
}

itk_err
itk_file_read(const char *path, size_t max, itk_buf **out)
{
	return read_file(path, max, 0, out);
}

itk_err
itk_file_read_secret(const char *path, size_t max, itk_buf **out)
{
	return read_file(path, max, 1, out);
}

itk_err
itk_mkdir_p(const char *dir, mode_t mode)
{
	char p[PATH_MAX];
	size_t len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(p)) {
		return ITK_E_RANGE;
	}
	memcpy(p, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0') {
			continue;
		}
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			return ITK_E_IO;
		}
		p[i] = c;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		return ITK_E_IO;
	}
	return ITK_OK;
}
