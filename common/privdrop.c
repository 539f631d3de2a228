/* SPDX-License-Identifier: Apache-2.0 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

itk_err
itk_privdrop_harden(void)
{
	struct rlimit rl = {0, 0};

	/*
	 * Not dumpable: a crash leaves no core with keys or plaintext in
	 * it, a process of the same uid cannot ptrace us or read
	 * /proc/PID/mem, and /proc/PID files belong to root.  The kernel
	 * resets this flag when the uid changes, so itk_privdrop_apply sets
	 * it again.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &rl) != 0) {
		itk_log_error("privdrop.harden", "errno=%d", errno);
		return ITK_E_IO;
	}
	return ITK_OK;
}

/* getpwnam_r/getgrnam_r with a heap buffer: the name service may need
 * more than any fixed size. */
static itk_err
lookup(const char *user, const char *group, itk_privdrop_target *t)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	long n = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = n > 0 ? (size_t)n : 16384u;
	char *buf = NULL;
	itk_err r = ITK_E_CONFIG;

	if ((buf = malloc(len)) == NULL) {
		return ITK_E_NOMEM;
	}
	if (getpwnam_r(user, &pw, buf, len, &pwp) != 0 || pwp == NULL) {
		itk_log_error("privdrop.user", "user=%s msg=\"no such user\"",
			      user);
		goto out;
	}
	t->uid = pw.pw_uid;
	t->gid = pw.pw_gid;
	if (group != NULL) {
		if (getgrnam_r(group, &gr, buf, len, &grp) != 0 ||
		    grp == NULL) {
			itk_log_error("privdrop.group",
				      "group=%s msg=\"no such group\"", group);
			goto out;
		}
		t->gid = gr.gr_gid;
	}
	/* Dropping to root, or to root's group, would drop nothing. */
	if (t->uid == 0 || t->gid == 0) {
		itk_log_error("privdrop.user",
			      "user=%s msg=\"refusing uid or gid 0\"", user);
		goto out;
	}
	snprintf(t->user, sizeof(t->user), "%s", user);
	r = ITK_OK;
out:
	free(buf);
	return r;
}

itk_err
itk_privdrop_resolve(const char *user, const char *group,
		     itk_privdrop_target *t)
{
	memset(t, 0, sizeof(*t));
	if (geteuid() != 0) {
		t->change = false;
		t->uid = geteuid();
		t->gid = getegid();
		snprintf(t->user, sizeof(t->user), "uid%lu",
			 (unsigned long)t->uid);
		return ITK_OK;
	}
	t->change = true;
	if (user == NULL) {
		user = ITK_PRIVDROP_DEFAULT_USER;
		if (group == NULL) {
			group = ITK_PRIVDROP_DEFAULT_GROUP;
		}
	}
	return lookup(user, group, t);
}

/* The ids are what we asked for, in all three slots, and root is gone
 * for good. */
static bool
dropped(const itk_privdrop_target *t)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
		return false;
	}
	if (ru != t->uid || eu != t->uid || su != t->uid || rg != t->gid ||
	    eg != t->gid || sg != t->gid) {
		return false;
	}
	/* As OpenSSH's permanently_set_uid: it must not be possible. */
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
		return false;
	}
	return true;
}

itk_err
itk_privdrop_apply(const itk_privdrop_target *t, const char *chroot_dir)
{
	if (!t->change) {
		itk_log_info("privdrop.skipped",
			     "uid=%lu msg=\"not started as root: ids, groups "
			     "and root directory unchanged\"",
			     (unsigned long)t->uid);
	} else {
		if (chroot_dir != NULL &&
		    (chroot(chroot_dir) != 0 || chdir("/") != 0)) {
			itk_log_error("privdrop.chroot", "dir=%s errno=%d",
				      chroot_dir, errno);
			return ITK_E_PERM;
		}
		if (setgroups(1, &t->gid) != 0 ||
		    setresgid(t->gid, t->gid, t->gid) != 0 ||
		    setresuid(t->uid, t->uid, t->uid) != 0 || !dropped(t)) {
			itk_log_error("privdrop.ids", "user=%s errno=%d",
				      t->user, errno);
			return ITK_E_PERM;
		}
		itk_log_info("privdrop.done",
			     "user=%s uid=%lu gid=%lu chroot=%s", t->user,
			     (unsigned long)t->uid, (unsigned long)t->gid,
			     chroot_dir != NULL ? chroot_dir : "-");
	}
	/*
	 * Changing the uid made the process dumpable again (the kernel
	 * resets the flag on a credential change): set it back.  No new
	 * privileges: no setuid binary or file capability can raise us, and
	 * the seccomp filter may be installed without CAP_SYS_ADMIN.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		itk_log_error("privdrop.prctl", "errno=%d", errno);
		return ITK_E_PERM;
	}
	return ITK_OK;
}
