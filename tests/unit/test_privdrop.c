/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/privdrop.c for real, each case in a forked process: hardening
 * (not dumpable, no core), name resolution and its refusals, and, when
 * the tests run as root (CI does), the drop itself: all three uids and
 * gids, the supplementary groups, no way back to root, NO_NEW_PRIVS, a
 * chroot that hides the file system.
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privdrop.h"

/* Runs fn in a child; returns its exit code (fn returns the first check
 * that failed, 0 if none).  A signal counts as 100 + signal. */
static int
in_child(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 100 + WTERMSIG(status);
}

static int
harden_child(void)
{
	struct rlimit rl;

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) {
		return 1;
	}
	if (itk_privdrop_harden() != ITK_OK) {
		return 2;
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		return 3;
	}
	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0) {
		return 4;
	}
	/* The hard limit is 0 too: it cannot be raised again. */
	rl.rlim_cur = rl.rlim_max = 4096;
	if (setrlimit(RLIMIT_CORE, &rl) == 0 && geteuid() != 0) {
		return 5;
	}
	return 0;
}

static void
test_harden(void **state)
{
	(void)state;
	assert_int_equal(in_child(harden_child), 0);
}

static void
test_resolve_refusals(void **state)
{
	itk_privdrop_target t;

	(void)state;
	if (geteuid() != 0) {
		/* Not root: nothing is looked up, nothing will change. */
		assert_int_equal(
		    itk_privdrop_resolve("no-such-user-xq", NULL, &t), ITK_OK);
		assert_false(t.change);
		assert_int_equal(t.uid, geteuid());
		return;
	}
	assert_int_equal(itk_privdrop_resolve("no-such-user-xq", NULL, &t),
			 ITK_E_CONFIG);
	assert_int_equal(
	    itk_privdrop_resolve("nobody", "no-such-group-xq", &t),
	    ITK_E_CONFIG);
	/* Dropping to root drops nothing. */
	assert_int_equal(itk_privdrop_resolve("root", NULL, &t), ITK_E_CONFIG);
	assert_int_equal(itk_privdrop_resolve("nobody", "root", &t),
			 ITK_E_CONFIG);
	/* The defaults. */
	assert_int_equal(itk_privdrop_resolve(NULL, NULL, &t), ITK_OK);
	assert_true(t.change);
	assert_int_equal(t.uid, 65534);
	assert_int_equal(t.gid, 65534);
	assert_string_equal(t.user, "nobody");
}

static int
drop_child(void)
{
	itk_privdrop_target t;
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[8];

	if (itk_privdrop_resolve(NULL, NULL, &t) != ITK_OK) {
		return 1;
	}
	/* Start from root with extra groups, as a daemon might. */
	groups[0] = 0;
	groups[1] = 4;
	if (setgroups(2, groups) != 0) {
		return 2;
	}
	if (itk_privdrop_apply(&t, NULL) != ITK_OK) {
		return 3;
	}
	if (getresuid(&r, &e, &s) != 0 || r != 65534 || e != 65534 ||
	    s != 65534) {
		return 4;
	}
	if (getresgid(&rg, &eg, &sg) != 0 || rg != 65534 || eg != 65534 ||
	    sg != 65534) {
		return 5;
	}
	if (getgroups(8, groups) != 1 || groups[0] != 65534) {
		return 6;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 ||
	    errno != EPERM) {
		return 7;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		return 8;
	}
	/* The uid change made us dumpable; apply set it back. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		return 9;
	}
	/* A root-only file is now out of reach. */
	if (access("/etc/shadow", R_OK) == 0) {
		return 10;
	}
	return 0;
}

static void
test_drop_as_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
	}
	assert_int_equal(in_child(drop_child), 0);
}

static char chroot_dir[64];

static int
chroot_child(void)
{
	itk_privdrop_target t;
	char cwd[64];

	if (itk_privdrop_resolve(NULL, NULL, &t) != ITK_OK ||
	    itk_privdrop_apply(&t, chroot_dir) != ITK_OK) {
		return 1;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0) {
		return 2;
	}
	/* The host's files are gone; so is the way out. */
	if (access("/etc/passwd", F_OK) == 0 || access("/proc", F_OK) == 0) {
		return 3;
	}
	if (chroot("/..") == 0) {
		return 4;
	}
	return 0;
}

static void
test_chroot_as_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
	}
	snprintf(chroot_dir, sizeof(chroot_dir), "/tmp/itk-chroot-XXXXXX");
	assert_non_null(mkdtemp(chroot_dir));
	assert_int_equal(in_child(chroot_child), 0);
	assert_int_equal(rmdir(chroot_dir), 0);
}

static int
bad_chroot_child(void)
{
	itk_privdrop_target t;

	if (itk_privdrop_resolve(NULL, NULL, &t) != ITK_OK) {
		return 1;
	}
	/* A missing directory stops the drop: nothing half-done runs. */
	return itk_privdrop_apply(&t, "/nonexistent/itk-chroot") == ITK_E_PERM
		   ? 0
		   : 2;
}

static void
test_bad_chroot_refused(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
	}
	assert_int_equal(in_child(bad_chroot_child), 0);
}

static int
not_root_child(void)
{
	itk_privdrop_target t;

	/* As a user, apply changes no ids but still sets NO_NEW_PRIVS. */
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
	     setresuid(65534, 65534, 65534) != 0)) {
		return 1;
	}
	if (itk_privdrop_resolve("root", NULL, &t) != ITK_OK || t.change) {
		return 2;
	}
	if (itk_privdrop_apply(&t, "/nonexistent") != ITK_OK) {
		return 3;
	}
	if (getuid() != 65534 && geteuid() == 0) {
		return 4;
	}
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 5;
}

static void
test_not_root_skips(void **state)
{
	(void)state;
	assert_int_equal(in_child(not_root_child), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_harden),
	    cmocka_unit_test(test_resolve_refusals),
	    cmocka_unit_test(test_drop_as_root),
	    cmocka_unit_test(test_chroot_as_root),
	    cmocka_unit_test(test_bad_chroot_refused),
	    cmocka_unit_test(test_not_root_skips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
