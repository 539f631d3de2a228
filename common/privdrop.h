/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_PRIVDROP_H
#define ITK_PRIVDROP_H

/*
 * Least privilege for a daemon, in the fixed order OpenSSH uses
 * (sshd-session.c privsep_child_demote): chroot/chdir -> setgroups ->
 * setresgid -> setresuid -> PR_SET_NO_NEW_PRIVS; the seccomp filter
 * (sandbox.h) comes last.  The order matters: chroot and setgroups need
 * root, and once the uid is gone nothing can give it back.
 *
 * A process started as root drops to the configured user (default
 * nobody/nogroup); one started as anyone else keeps its ids and says so in
 * the log (itk_privdrop_apply logs "privdrop.skipped").
 */

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

#define ITK_PRIVDROP_DEFAULT_USER  "nobody"
#define ITK_PRIVDROP_DEFAULT_GROUP "nogroup"

typedef struct {
	bool change; /* false: not started as root, ids stay as they are */
	uid_t uid;
	gid_t gid;
	char user[64]; /* for the log */
} itk_privdrop_target;

/*
 * Hardening that needs no privilege, done first thing in main and
 * inherited across fork: the process is not dumpable (no core file, no
 * ptrace by the same uid, /proc/PID files owned by root) and RLIMIT_CORE
 * is 0.  Returns ITK_OK or ITK_E_IO.
 */
itk_err itk_privdrop_harden(void) ITK_WUR;

/*
 * Resolves user and group (NULL: the defaults; group NULL with a user
 * given: that user's primary group) into t while /etc/passwd can still be
 * read, that is before any chroot or sandbox.  When the process is not
 * root, t->change is false and the names are not looked up.  Returns
 * ITK_OK, or ITK_E_CONFIG for an unknown user or group or for user root.
 */
itk_err itk_privdrop_resolve(const char *user, const char *group,
			     itk_privdrop_target *t) ITK_WUR;

/*
 * Drops to t: chroot to chroot_dir if not NULL (then chdir "/"),
 * setgroups to the one group, setresgid, setresuid, and checks that root
 * cannot be regained.  Then, always, PR_SET_NO_NEW_PRIVS.  Call it after
 * every file, key and listening socket the process needs is open.  In a
 * threaded process glibc applies the id changes to every thread.
 * Returns ITK_OK, or ITK_E_PERM if any step fails (the caller must exit:
 * a half-dropped process must not run).
 */
itk_err itk_privdrop_apply(const itk_privdrop_target *t,
			   const char *chroot_dir) ITK_WUR;

#endif
