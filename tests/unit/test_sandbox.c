/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp allow-lists of common/sandbox.c, installed for real: for
 * each kind of process (gateway, worker child, worker monitor) a forked
 * process installs exactly the filter the daemon installs after start-up
 * and then makes a forbidden system call; it must die of SIGSYS.  The
 * same process making only allowed calls must live and exit normally, and
 * a thread started before the filter is filtered too (TSYNC).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

/* As in sandbox.c: sanitizer builds allow the runtime's extra calls. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER 1
#endif
#endif
#ifndef SANITIZER
#define SANITIZER 0
#endif

typedef void (*action_fn)(void);

/* Forbidden everywhere. */
static void
do_execve(void)
{
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {NULL};

	(void)execve("/bin/true", argv, envp);
}

static void
do_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

/* The file every attacker reads first; the child and monitor may open
 * nothing after start-up. */
static void
do_open_shadow(void)
{
	(void)syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY);
}

/* The gateway may read web_root, never write or create. */
static void
do_open_write(void)
{
	(void)syscall(SYS_openat, AT_FDCWD, "/tmp/itk-sandbox-test",
		      O_WRONLY | O_CREAT, 0600);
}

/* A new outbound connection from a compromised monitor. */
static void
do_socket_inet(void)
{
	(void)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

/* A local socket: the gateway only ever accepts on its listeners. */
static void
do_socket_unix(void)
{
	(void)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}

/* Raw packets: not even the child, which may make inet sockets. */
static void
do_socket_packet(void)
{
	(void)syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
}

/* New executable memory: shellcode's first need. */
static void
do_mmap_exec(void)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* A new process (not a thread). */
static void
do_fork(void)
{
	(void)syscall(SYS_fork);
}

/* Signalling a process other than the monitor's child. */
static void
do_kill_init(void)
{
	(void)syscall(SYS_kill, 1, 0);
}

static void
do_setuid(void)
{
	(void)syscall(SYS_setuid, 0);
}

/* Allowed in every kind: memory, time, randomness, stderr. */
static void
do_allowed(void)
{
	void *p = malloc(1u << 20); /* mmap */
	uint8_t r[16];

	if (p == NULL) {
		_exit(3);
	}
	memset(p, 1, 1u << 20);
	free(p);
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		_exit(4);
	}
	(void)getpid();
	if (write(STDERR_FILENO, "", 0) != 0) {
		_exit(5);
	}
}

/*
 * Forks; the child installs kind's filter (child pid 0 for the
 * monitor's kill rule: its "child" is a pid that does not exist), runs
 * act and exits 0.  Returns the wait status.
 */
static int
run_sandboxed(itk_sandbox_kind kind, action_fn act)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		itk_sandbox_params p = {.child = 0x7ffffff0};
		if (itk_sandbox_apply(kind, &p) != ITK_OK) {
			_exit(2);
		}
		act();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
expect_sigsys(itk_sandbox_kind kind, action_fn act, const char *what)
{
	int st = run_sandboxed(kind, act);

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
		fail_msg("%s in %s: not killed by SIGSYS (status %#x)", what,
			 itk_sandbox_kind_name(kind), st);
	}
}

static void
expect_alive(itk_sandbox_kind kind, action_fn act, const char *what)
{
	int st = run_sandboxed(kind, act);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fail_msg("%s in %s: did not exit 0 (status %#x)", what,
			 itk_sandbox_kind_name(kind), st);
	}
}

static void
skip_without_seccomp(void)
{
	if (!itk_sandbox_available()) {
		skip();
	}
}

static void
test_allowed_calls_live(void **state)
{
	(void)state;
	skip_without_seccomp();
	for (int k = 0; k < ITK_SANDBOX_KINDS; k++) {
		expect_alive((itk_sandbox_kind)k, do_allowed, "allowed calls");
	}
}

static void
test_execve_kills_every_kind(void **state)
{
	(void)state;
	skip_without_seccomp();
	for (int k = 0; k < ITK_SANDBOX_KINDS; k++) {
		expect_sigsys((itk_sandbox_kind)k, do_execve, "execve");
		expect_sigsys((itk_sandbox_kind)k, do_mmap_exec,
			      "mmap PROT_EXEC");
		expect_sigsys((itk_sandbox_kind)k, do_socket_packet,
			      "socket AF_PACKET");
		expect_sigsys((itk_sandbox_kind)k, do_setuid, "setuid");
	}
}

/* Calls the sanitizer runtimes need are allowed in those builds only. */
static void
test_ptrace_and_fork_kill(void **state)
{
	(void)state;
	skip_without_seccomp();
	if (SANITIZER) {
		skip();
	}
	for (int k = 0; k < ITK_SANDBOX_KINDS; k++) {
		expect_sigsys((itk_sandbox_kind)k, do_ptrace, "ptrace");
		expect_sigsys((itk_sandbox_kind)k, do_fork, "fork");
		expect_sigsys((itk_sandbox_kind)k, do_kill_init, "kill(1)");
	}
}

static void
test_files(void **state)
{
	(void)state;
	skip_without_seccomp();
	/* Every kind: no file is created or written. */
	for (int k = 0; k < ITK_SANDBOX_KINDS; k++) {
		expect_sigsys((itk_sandbox_kind)k, do_open_write,
			      "openat O_WRONLY|O_CREAT");
	}
	/* The worker's processes open nothing at all. */
	if (!SANITIZER) {
		expect_sigsys(ITK_SANDBOX_WORKER_CHILD, do_open_shadow,
			      "openat /etc/shadow");
		expect_sigsys(ITK_SANDBOX_WORKER_MONITOR, do_open_shadow,
			      "openat /etc/shadow");
		/* Nor do intake-opd and intake-logd after start-up. */
		expect_sigsys(ITK_SANDBOX_OPD, do_open_shadow,
			      "openat /etc/shadow");
		expect_sigsys(ITK_SANDBOX_LOGD, do_open_shadow,
			      "openat /etc/shadow");
	}
}

static void
test_sockets(void **state)
{
	(void)state;
	skip_without_seccomp();
	/* The child dials the link; the gateway accepts, and connects only
	 * to its own nng listener on loopback (gateway/front.c), over inet;
	 * the monitor has no network at all. */
	expect_sigsys(ITK_SANDBOX_GATEWAY, do_socket_unix, "socket AF_UNIX");
	expect_sigsys(ITK_SANDBOX_WORKER_MONITOR, do_socket_unix,
		      "socket AF_UNIX");
	expect_sigsys(ITK_SANDBOX_WORKER_MONITOR, do_socket_inet,
		      "socket AF_INET");
	expect_alive(ITK_SANDBOX_WORKER_CHILD, do_socket_inet,
		     "socket AF_INET");
	/* intake-opd's key reader has no network at all; opd and logd
	 * re-dial the link as the child does. */
	expect_sigsys(ITK_SANDBOX_OPD_KEYS, do_socket_unix, "socket AF_UNIX");
	expect_sigsys(ITK_SANDBOX_OPD_KEYS, do_socket_inet, "socket AF_INET");
	expect_alive(ITK_SANDBOX_OPD, do_socket_inet, "socket AF_INET");
	expect_alive(ITK_SANDBOX_LOGD, do_socket_unix, "socket AF_UNIX");
}

/* A thread that exists before the filter (nng's) is filtered too. */
static int tsync_pipe[2];

static void *
late_exec(void *arg)
{
	char c;

	(void)arg;
	if (read(tsync_pipe[0], &c, 1) == 1) {
		do_execve();
	}
	return NULL;
}

static void
test_tsync_older_thread(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	skip_without_seccomp();
	assert_int_equal(pipe(tsync_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, late_exec, NULL) != 0 ||
		    itk_sandbox_apply(ITK_SANDBOX_GATEWAY, NULL) != ITK_OK ||
		    write(tsync_pipe[1], "x", 1) != 1) {
			_exit(2);
		}
		(void)pthread_join(t, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	close(tsync_pipe[0]);
	close(tsync_pipe[1]);
}

/* Every entry has a reason; the counts are what describe lists. */
static void
test_lists_have_reasons(void **state)
{
	(void)state;
	for (int k = 0; k < ITK_SANDBOX_KINDS; k++) {
		size_t n = itk_sandbox_rule_count((itk_sandbox_kind)k), i;
		const char *name, *why;

		assert_true(n > 20);
		for (i = 0;
		     itk_sandbox_describe((itk_sandbox_kind)k, i, &name, &why);
		     i++) {
			assert_true(strlen(name) > 0);
			assert_true(strlen(why) > 8);
			assert_true(strcmp(name, "execve") != 0);
		}
		assert_int_equal(i, n);
	}
	assert_string_equal(itk_sandbox_kind_name(ITK_SANDBOX_KINDS), "?");
	assert_int_equal(itk_sandbox_apply(ITK_SANDBOX_KINDS, NULL),
			 itk_sandbox_available() ? ITK_E_INTERNAL : ITK_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed_calls_live),
	    cmocka_unit_test(test_execve_kills_every_kind),
	    cmocka_unit_test(test_ptrace_and_fork_kill),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_sockets),
	    cmocka_unit_test(test_tsync_older_thread),
	    cmocka_unit_test(test_lists_have_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
