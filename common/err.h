/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_ERR_H
#define ITK_ERR_H

/*
 * One error enum for all of Intake.  0 is success; every other value names
 * what went wrong in words a person can act on (itk_strerror).  Values are
 * grouped by class so that a caller can tell input errors (the peer's fault,
 * counted and answered) from local failures (ours, logged and fatal).
 * Values are part of the wire contract (Error.code): never renumber.
 */
typedef enum {
	ITK_OK = 0,

	/* 1xx: malformed or unacceptable input from outside. */
	ITK_E_SHORT = 100,    /* input ended before a field did */
	ITK_E_TOO_BIG = 101,  /* input exceeds a hard size cap */
	ITK_E_FORMAT = 102,   /* bytes do not parse as the expected format */
	ITK_E_VERSION = 103,  /* unknown format or protocol version */
	ITK_E_MISSING = 104,  /* a required field is absent or empty */
	ITK_E_RANGE = 105,    /* a value is outside its allowed range */
	ITK_E_TRAILING = 106, /* bytes left over after a complete message */
	ITK_E_KEY_UNKNOWN = 107, /* no key with that key id */
	ITK_E_KEY_EXPIRED = 108, /* key exists but is outside its window */
	ITK_E_POW = 109,         /* proof of work missing or wrong */
	ITK_E_CHECKSUM = 110,    /* passphrase checksum word does not match */
	ITK_E_WORD = 111,        /* passphrase word not in any word list */

	/* 2xx: cryptographic verification failed (deliberately vague). */
	ITK_E_VERIFY = 200,     /* signature does not verify */
	ITK_E_DECRYPT = 201,    /* cannot open: wrong key or altered bytes */
	ITK_E_PASSPHRASE = 202, /* wrong passphrase or altered key file */

	/* 3xx: refused by policy or state. */
	ITK_E_PERM = 300,      /* file permissions too open, or not allowed */
	ITK_E_EXISTS = 301,    /* would overwrite something that exists */
	ITK_E_NOT_FOUND = 302, /* no such record */
	ITK_E_FULL = 303,      /* a store reached its configured size */
	ITK_E_BUSY = 304,      /* overloaded: try again later */
	ITK_E_CONFIG = 305,    /* configuration is invalid */
	ITK_E_DUPLICATE = 306, /* already stored (not a failure for callers
				  that treat it as idempotent success) */
	ITK_E_LEASE = 307,     /* lease lost or held by someone else */

	/* 4xx: local failures. */
	ITK_E_IO = 400,     /* a file or system call failed; see errno */
	ITK_E_NOMEM = 401,  /* out of memory */
	ITK_E_DB = 402,     /* the LMDB store failed */
	ITK_E_NET = 403,    /* a network operation failed */
	ITK_E_CRYPTO = 404, /* libsodium failed to initialise or misbehaved */
	ITK_E_INTERNAL = 499, /* a bug: an invariant did not hold */
} itk_err;

/* Returns a static, human-readable message for r; never NULL. */
const char *itk_strerror(itk_err r);

/* Returns a short stable token for logs and metrics ("short", "too_big"). */
const char *itk_errname(itk_err r);

#if defined(__GNUC__)
#define ITK_WUR __attribute__((warn_unused_result))
#else
#define ITK_WUR
#endif

#endif
