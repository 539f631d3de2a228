/* SPDX-License-Identifier: Apache-2.0 */
#include "opkeys.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

#define REQ_LIST 'L'

struct op_keys_reader {
	int fd;    /* the service's end of the socketpair */
	pid_t pid; /* the reader */
};

/* ------------------------------------------------------------- wire */

itk_err
op_keys_pack(itk_err result, const char *bad, const itk_keystore_entry *e,
	     size_t n, itk_buf *out)
{
	size_t badlen = bad != NULL ? strlen(bad) : 0, count = 0;
	itk_err r;

	if (badlen > OP_KEYS_BAD_MAX) {
		badlen = OP_KEYS_BAD_MAX; /* only for the log */
	}
	for (size_t i = 0; i < n; i++) {
		count += e[i].info.kind == ITK_KEY_OPERATOR ? 1u : 0u;
	}
	if ((r = itk_buf_put_u32(out, (uint32_t)result)) != ITK_OK ||
	    (r = itk_buf_put_u16(out, (uint16_t)badlen)) != ITK_OK ||
	    (r = itk_buf_put(out, bad, badlen)) != ITK_OK ||
	    (r = itk_buf_put_u32(out, (uint32_t)count)) != ITK_OK) {
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		const itk_key_info *k = &e[i].info;
		size_t nl = strnlen(k->name, sizeof(k->name));

		if (k->kind != ITK_KEY_OPERATOR) {
			continue;
		}
		if ((r = itk_buf_put_u8(out, (uint8_t)k->role)) != ITK_OK ||
		    (r = itk_buf_put_u32(out, k->queues)) != ITK_OK ||
		    (r = itk_buf_put_u8(out, k->dev ? 1u : 0u)) != ITK_OK ||
		    (r = itk_buf_put_u32(out, k->key_id)) != ITK_OK ||
		    (r = itk_buf_put_u64(out, k->created)) != ITK_OK ||
		    (r = itk_buf_put_u8(out, (uint8_t)nl)) != ITK_OK ||
		    (r = itk_buf_put(out, k->name, nl)) != ITK_OK ||
		    (r = itk_buf_put(out, k->public_key,
				     sizeof(k->public_key))) != ITK_OK) {
			return r;
		}
	}
	return ITK_OK;
}

/* One operator header, as op_keys_pack wrote it. */
static itk_err
parse_one(itk_reader *rd, itk_key_info *k)
{
	const uint8_t *name = NULL;
	uint8_t role = 0, dev = 0, nl = 0;
	itk_err r;

	memset(k, 0, sizeof(*k));
	k->kind = ITK_KEY_OPERATOR;
	if ((r = itk_get_u8(rd, &role)) != ITK_OK ||
	    (r = itk_get_u32(rd, &k->queues)) != ITK_OK ||
	    (r = itk_get_u8(rd, &dev)) != ITK_OK ||
	    (r = itk_get_u32(rd, &k->key_id)) != ITK_OK ||
	    (r = itk_get_u64(rd, &k->created)) != ITK_OK ||
	    (r = itk_get_u8(rd, &nl)) != ITK_OK) {
		return r;
	}
	if (role > ITK_ROLE_ADMIN || dev > 1 || nl == 0 ||
	    nl > ITK_KEY_NAME_MAX) {
		return ITK_E_FORMAT;
	}
	if ((r = itk_get_view(rd, nl, &name)) != ITK_OK ||
	    (r = itk_get_bytes(rd, k->public_key, sizeof(k->public_key))) !=
		ITK_OK) {
		return r;
	}
	/* A NUL inside would make the name shorter than its length says:
	 * one header, two readings. */
	if (memchr(name, '\0', nl) != NULL) {
		return ITK_E_FORMAT;
	}
	memcpy(k->name, name, nl);
	k->name[nl] = '\0';
	k->role = (itk_role)role;
	k->dev = dev != 0;
	/* The reader lists only names the key store accepts. */
	return itk_key_name_ok(k->name) ? ITK_OK : ITK_E_FORMAT;
}

itk_err
op_keys_parse(const uint8_t *p, size_t len, itk_key_info *out, size_t max,
	      size_t *n, char *bad, size_t badlen)
{
	itk_reader rd;
	const uint8_t *b = NULL;
	uint32_t result = 0, count = 0;
	uint16_t bl = 0;
	itk_err r;

	*n = 0;
	if (badlen > 0) {
		bad[0] = '\0';
	}
	itk_reader_init(&rd, p, len);
	if ((r = itk_get_u32(&rd, &result)) != ITK_OK ||
	    (r = itk_get_u16(&rd, &bl)) != ITK_OK) {
		return r;
	}
	if (bl > OP_KEYS_BAD_MAX) {
		return ITK_E_TOO_BIG;
	}
	if ((r = itk_get_view(&rd, bl, &b)) != ITK_OK ||
	    (r = itk_get_u32(&rd, &count)) != ITK_OK) {
		return r;
	}
	if (count > max || count > ITK_KEYSTORE_ENTRIES_MAX) {
		return ITK_E_TOO_BIG;
	}
	for (size_t i = 0; i < count; i++) {
		if ((r = parse_one(&rd, &out[i])) != ITK_OK) {
			return r;
		}
	}
	if ((r = itk_reader_end(&rd)) != ITK_OK) {
		return r;
	}
	/* A result this build does not know is a malformed answer. */
	if (result != ITK_OK &&
	    strcmp(itk_errname((itk_err)result), "unknown") == 0) {
		return ITK_E_FORMAT;
	}
	if (badlen > 0) {
		size_t k = bl < badlen - 1 ? bl : badlen - 1;
		for (size_t i = 0; i < k; i++) {
			/* For a log line: printable ASCII only. */
			bad[i] =
			    b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
		}
		bad[k] = '\0';
	}
	*n = count;
	return (itk_err)result;
}

/* ------------------------------------------------------------ reader */

static bool
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return false; /* EOF, error or SO_RCVTIMEO */
		}
		p += got;
		n -= (size_t)got;
	}
	return true;
}

/* One answer: the listing, packed and framed. */
static itk_err
answer(int fd, const char *keys_dir)
{
	itk_keystore_entry *e = NULL;
	itk_buf *b = NULL;
	char bad[OP_KEYS_BAD_MAX + 1] = "";
	uint8_t len[4];
	size_t n = 0;
	itk_err r = ITK_E_NOMEM, lr;

	if ((e = calloc(ITK_KEYSTORE_ENTRIES_MAX, sizeof(*e))) == NULL ||
	    (b = itk_buf_new(OP_KEYS_ANSWER_MAX)) == NULL) {
		goto out;
	}
	lr = itk_keystore_list(keys_dir, e, ITK_KEYSTORE_ENTRIES_MAX, &n, bad,
			       sizeof(bad));
	if (lr != ITK_OK) {
		n = 0;
	}
	if ((r = op_keys_pack(lr, bad, e, n, b)) != ITK_OK) {
		goto out;
	}
	itk_store_u32(len, (uint32_t)itk_buf_len(b));
	r = write_all(fd, len, sizeof(len)) &&
		    write_all(fd, itk_buf_ptr(b), itk_buf_len(b))
		? ITK_OK
		: ITK_E_IO;
out:
	itk_buf_free(b);
	free(e);
	return r;
}

/*
 * The reader's life: named, dies with the service, sandboxed, then one
 * answer per request until the service's end closes.  Never returns.
 */
static void
reader_main(int fd, const char *keys_dir, pid_t service)
{
	int rc = 1;

	itk_log_init("opd-keys");
	(void)prctl(PR_SET_NAME, "intake-opd-keys", 0, 0, 0);
	/* A seccomp filter needs NO_NEW_PRIVS without CAP_SYS_ADMIN; it
	 * is wanted anyway. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != service ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    itk_sandbox_apply(ITK_SANDBOX_OPD_KEYS, NULL) != ITK_OK) {
		itk_log_error("opd_keys.start_failed", "errno=%d", errno);
		_exit(1);
	}
	for (;;) {
		uint8_t req = 0;
		ssize_t got = read(fd, &req, 1);

		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got == 0) {
			rc = 0; /* the service closed its end */
			break;
		}
		if (got < 0 || req != REQ_LIST) {
			itk_log_error("opd_keys.bad_request", "got=%zd", got);
			break;
		}
		if (answer(fd, keys_dir) != ITK_OK) {
			break;
		}
	}
	(void)close(fd);
	_exit(rc);
}

itk_err
op_keys_reader_start(const char *keys_dir, op_keys_reader **out)
{
	op_keys_reader *k = NULL;
	struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
	int sv[2] = {-1, -1};
	pid_t self = getpid(), pid;
	itk_err r = ITK_E_IO;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		return ITK_E_NOMEM;
	}
	k->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		goto out;
	}
	fflush(stderr);
	if ((pid = fork()) < 0) {
		goto out;
	}
	if (pid == 0) {
		(void)close(sv[0]);
		reader_main(sv[1], keys_dir, self);
	}
	(void)close(sv[1]);
	sv[1] = -1;
	k->fd = sv[0];
	sv[0] = -1; /* transferred */
	k->pid = pid;
	*out = k;
	k = NULL; /* transferred */
	r = ITK_OK;
out:
	if (sv[0] >= 0) {
		(void)close(sv[0]);
	}
	if (sv[1] >= 0) {
		(void)close(sv[1]);
	}
	free(k);
	return r;
}

long
op_keys_reader_pid(const op_keys_reader *k)
{
	return k != NULL ? (long)k->pid : -1;
}

itk_err
op_keys_reader_list(op_keys_reader *k, itk_key_info *out, size_t max,
		    size_t *n, char *bad, size_t badlen)
{
	const uint8_t req = REQ_LIST;
	uint8_t len[4], *body = NULL;
	itk_reader rd;
	uint32_t blen = 0;
	itk_err r = ITK_E_NET;

	*n = 0;
	if (badlen > 0) {
		bad[0] = '\0';
	}
	if (k->fd < 0) {
		return ITK_E_NET; /* broken earlier */
	}
	if (!write_all(k->fd, &req, 1) || !read_all(k->fd, len, sizeof(len))) {
		goto out;
	}
	itk_reader_init(&rd, len, sizeof(len));
	if (itk_get_u32(&rd, &blen) != ITK_OK || blen > OP_KEYS_ANSWER_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if ((body = malloc(blen > 0 ? blen : 1)) == NULL) {
		r = ITK_E_NOMEM;
		goto out;
	}
	if (!read_all(k->fd, body, blen)) {
		goto out;
	}
	r = op_keys_parse(body, blen, out, max, n, bad, badlen);
out:
	if (r == ITK_E_NET || r == ITK_E_TOO_BIG) {
		/* Half an answer may still come: the stream is out of step
		 * for good, so no later request may read it. */
		(void)close(k->fd);
		k->fd = -1;
	}
	free(body);
	return r;
}

void
op_keys_reader_free(op_keys_reader *k)
{
	int status = 0;

	if (k == NULL) {
		return;
	}
	if (k->fd >= 0) {
		(void)close(k->fd); /* the reader reads EOF and exits */
	}
	while (k->pid > 0 && waitpid(k->pid, &status, 0) < 0 &&
	       errno == EINTR) {
	}
	free(k);
}
