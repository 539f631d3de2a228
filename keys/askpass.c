/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a key file passphrase comes from: the environment (for scripts and
 * services), a 0600 file, or the terminal with echo off (for a person at
 * the ceremony).  The passphrase only ever lives in sodium_malloc'd
 * memory, wiped when freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "keys.h"

static itk_err
secure_copy(const char *p, size_t n, char **out)
{
	char *s;

	if (n == 0) {
		return ITK_E_MISSING;
	}
	if (n >= ITK_ASKPASS_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((s = sodium_malloc(n + 1)) == NULL) {
		return ITK_E_NOMEM;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	*out = s;
	return ITK_OK;
}

/* First line of a file, without its line end. */
static itk_err
from_file(const char *file, char **out)
{
	itk_buf *b = NULL;
	const char *p;
	size_t n = 0, len;
	itk_err r;

	if ((r = itk_file_read_secret(file, ITK_ASKPASS_MAX, &b)) != ITK_OK) {
		return r;
	}
	p = (const char *)itk_buf_ptr(b);
	len = itk_buf_len(b);
	while (n < len && p[n] != '\n' && p[n] != '\0') {
		n++;
	}
	if (n > 0 && p[n - 1] == '\r') {
		n--;
	}
	r = secure_copy(p, n, out);
	itk_buf_free(b);
	return r;
}

static void
write_str(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

/* One line from the terminal with echo off; the buffer is ours to wipe. */
static itk_err
read_tty(int fd, const char *prompt, char **out)
{
	struct termios old, quiet;
	char *line = NULL;
	size_t n = 0;
	bool restore = false;
	itk_err r;

	if ((line = sodium_malloc(ITK_ASKPASS_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	write_str(fd, prompt);
	for (;;) {
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			r = ITK_E_IO;
			goto out;
		}
		if (got == 0 || c == '\n' || c == '\r') {
			break;
		}
		if (n + 1 >= ITK_ASKPASS_MAX) {
			r = ITK_E_TOO_BIG;
			goto out;
		}
		line[n++] = c;
	}
	r = secure_copy(line, n, out);
out:
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	}
	write_str(fd, "\n");
	sodium_free(line); /* wipes */
	return r;
}

static itk_err
from_tty(const char *prompt, bool confirm, char **out)
{
	char *a = NULL, *b = NULL;
	int fd;
	itk_err r;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		return ITK_E_MISSING;
	}
	if ((r = read_tty(fd, prompt, &a)) != ITK_OK) {
		goto out;
	}
	if (confirm) {
		if ((r = read_tty(fd, "Same passphrase again: ", &b)) !=
		    ITK_OK) {
			goto out;
		}
		if (strlen(a) != strlen(b) ||
		    sodium_memcmp(a, b, strlen(a)) != 0) {
			r = ITK_E_VERIFY;
			goto out;
		}
	}
	*out = a;
	a = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_askpass_free(a);
	itk_askpass_free(b);
	close(fd);
	return r;
}

itk_err
itk_askpass(const char *file, const char *prompt, bool confirm, char **out)
{
	const char *env = getenv(ITK_ASKPASS_ENV);

	if (sodium_init() < 0) {
		return ITK_E_CRYPTO;
	}
	if (env != NULL) {
		return secure_copy(env, strlen(env), out);
	}
	if (file != NULL) {
		return from_file(file, out);
	}
	return from_tty(prompt != NULL ? prompt : "Passphrase: ", confirm,
			out);
}

void
itk_askpass_free(char *p)
{
	if (p != NULL) {
		sodium_free(p);
	}
}
