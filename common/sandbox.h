/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_SANDBOX_H
#define ITK_SANDBOX_H

/*
 * A seccomp allow-list per kind of process, default deny: a system call
 * that is not on its list kills the whole process with SIGSYS
 * (SCMP_ACT_KILL_PROCESS).  The lists, with a reason for each call, are in
 * sandbox.c and docs/privsep.md; they were found with strace under the
 * integration tests (scripts/syscall-census.py).
 *
 * Install last, after itk_privdrop_apply (which sets NO_NEW_PRIVS), when
 * every file, key and listening socket is open.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

typedef enum {
	/* intake-gateway after start-up: HTTP and link sockets, spool. */
	ITK_SANDBOX_GATEWAY = 0,
	/* intake-worker's unprivileged child: nng link, monitor socket. */
	ITK_SANDBOX_WORKER_CHILD = 1,
	/* intake-worker's monitor: intake keys, vault, monitor socket. */
	ITK_SANDBOX_WORKER_MONITOR = 2,
	/* intake-opd: its listener, the gateway link, the vault. */
	ITK_SANDBOX_OPD = 3,
	/* intake-opd's key-store reader: read-only files, its socket. */
	ITK_SANDBOX_OPD_KEYS = 4,
	/* intake-logd: the gateway link, the vault. */
	ITK_SANDBOX_LOGD = 5,
	ITK_SANDBOX_KINDS = 6,
} itk_sandbox_kind;

typedef struct {
	/* Worker monitor: the child it may signal (kill(2) is allowed for
	 * that pid only).  0 for the other kinds (intake-opd reaps its key
	 * reader but never signals it). */
	pid_t child;
} itk_sandbox_params;

/* True when built with libseccomp (meson option 'seccomp'). */
bool itk_sandbox_available(void);

/* "gateway", "worker-child", "worker-monitor", "opd", "opd-keys", "logd";
 * "?" for anything else. */
const char *itk_sandbox_kind_name(itk_sandbox_kind kind);

/*
 * Installs kind's filter on every thread of the process (TSYNC: the
 * gateway's nng threads exist already).  Returns ITK_OK; ITK_E_INTERNAL
 * if libseccomp or the kernel refuses (the caller must exit).  Built
 * without libseccomp: logs "sandbox.unavailable" and returns ITK_OK, so
 * that a build without the library still runs, with privdrop only.
 */
itk_err itk_sandbox_apply(itk_sandbox_kind kind,
			  const itk_sandbox_params *p) ITK_WUR;

/*
 * How many entries kind's allow-list has in this build (a system call
 * allowed under several argument conditions counts once per condition).
 * Sanitizer builds allow more (see sandbox.c).
 */
size_t itk_sandbox_rule_count(itk_sandbox_kind kind);

/*
 * The i-th entry of kind's allow-list in this build: its system call and
 * the reason it is allowed (static strings, not to be freed).  Returns
 * false past the end.  docs/privsep.md prints these.
 */
bool itk_sandbox_describe(itk_sandbox_kind kind, size_t i, const char **name,
			  const char **why);

#endif
