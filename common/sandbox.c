/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "itk_config.h"
#include "log.h"

#if ITK_HAVE_SECCOMP
#include <sched.h>
#include <seccomp.h>
#endif

/*
 * Sanitizer runtimes make system calls of their own: LeakSanitizer stops
 * the world at exit with a tracer (clone without CLONE_THREAD, ptrace,
 * wait4, prctl to become dumpable for it, /proc/self/task), ASan reads
 * /proc/self/maps and uses an alternate signal stack.  Those are allowed
 * only in builds made with a sanitizer, detected here at compile time;
 * release builds never see them.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ITK_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||    \
    __has_feature(memory_sanitizer)
#define ITK_SANITIZER 1
#endif
#endif
#ifndef ITK_SANITIZER
#define ITK_SANITIZER 0
#endif

#define GW  (1u << ITK_SANDBOX_GATEWAY)
#define WC  (1u << ITK_SANDBOX_WORKER_CHILD)
#define WM  (1u << ITK_SANDBOX_WORKER_MONITOR)
#define OP  (1u << ITK_SANDBOX_OPD)
#define OK_ (1u << ITK_SANDBOX_OPD_KEYS)
#define LD  (1u << ITK_SANDBOX_LOGD)
#define ALL (GW | WC | WM | OP | OK_ | LD)
/* The daemons that dial the gateway link and run nng threads. */
#define NET (WC | OP | LD)
/* The daemons that write an LMDB environment. */
#define DB  (GW | WM | OP | LD)
#define SAN (1u << 8) /* sanitizer builds only */

/* Argument conditions a rule may carry. */
typedef enum {
	C_ANY,        /* any arguments */
	C_THREAD,     /* clone: CLONE_THREAD set (threads, not processes) */
	C_NOEXEC,     /* mmap/mprotect: PROT_EXEC clear (arg 2) */
	C_RDONLY,     /* openat: read-only, no O_CREAT (arg 2) */
	C_RDONLY1,    /* open: the same on arg 1 */
	C_SELF,       /* tgkill: our own thread group (arg 0) */
	C_CHILD,      /* kill: the monitor's child only (arg 0) */
	C_FD_FLAGS,   /* fcntl: F_GETFL/F_SETFL/F_GETFD/F_SETFD */
	C_FD_LOCKS,   /* fcntl: F_GETLK/F_SETLK/F_SETLKW and OFD forms */
	C_SET_NAME,   /* prctl: PR_SET_NAME only */
	C_AF_UNIX,    /* socket: AF_UNIX */
	C_AF_INET,    /* socket: AF_INET and AF_INET6 */
	C_AF_NETLINK, /* socket: AF_NETLINK */
} cond;

struct rule {
	const char *name; /* resolved by libseccomp for this arch */
	unsigned kinds;
	cond c;
	int err;         /* 0: allow; else fail with this errno */
	const char *why; /* the reason, also printed in docs/privsep.md */
};

/* Default deny: nothing below means the process dies with SIGSYS. */
static const struct rule rules[] = {
    /* Memory. */
    {"brk", ALL, C_ANY, 0, "malloc grows the heap"},
    {"mmap", ALL, C_NOEXEC, 0,
     "malloc of large blocks, sodium_malloc, thread stacks; never "
     "executable"},
    {"munmap", ALL, C_ANY, 0, "free of large blocks, sodium_free"},
    {"mremap", ALL, C_ANY, 0, "realloc of large blocks"},
    {"mprotect", ALL, C_NOEXEC, 0,
     "glibc arenas, sodium_malloc guard pages; never executable"},
    {"madvise", ALL, C_ANY, 0,
     "glibc returns freed memory; sodium_malloc MADV_DONTDUMP"},
    {"mlock", ALL, C_ANY, 0, "sodium_malloc locks secret buffers"},
    {"munlock", ALL, C_ANY, 0, "sodium_free unlocks them"},
    {"getrandom", ALL, C_ANY, 0,
     "libsodium randombytes (nonces, keys), nng ids, malloc"},
    /* Threads and synchronisation. */
    {"futex", ALL, C_ANY, 0,
     "mutexes and condition variables (nng, LMDB robust mutexes)"},
    {"clone", GW | NET, C_THREAD, 0,
     "nng may start threads; CLONE_THREAD only, never a process"},
    {"clone3", GW | NET, C_ANY, ENOSYS,
     "flags cannot be inspected: ENOSYS makes glibc fall back to clone"},
    {"set_robust_list", GW | NET, C_ANY, 0, "every new thread (glibc)"},
    {"rseq", GW | NET, C_ANY, 0, "every new thread (glibc)"},
    {"prctl", GW | NET, C_SET_NAME, 0, "nng names its threads"},
    {"sched_yield", ALL, C_ANY, 0, "glibc and nng spin briefly"},
    {"exit", ALL, C_ANY, 0, "a thread ends"},
    {"exit_group", ALL, C_ANY, 0, "the process ends"},
    /* Time. */
    {"clock_gettime", ALL, C_ANY, 0, "when the vDSO cannot answer"},
    {"gettimeofday", ALL, C_ANY, 0, "when the vDSO cannot answer"},
    {"clock_nanosleep", ALL, C_ANY, 0, "nng timers, short retries"},
    {"nanosleep", ALL, C_ANY, 0, "nng timers, short retries"},
    /* Process and signals. */
    {"getpid", ALL, C_ANY, 0, "glibc, LMDB, log lines"},
    {"gettid", ALL, C_ANY, 0, "glibc, nng thread ids"},
    {"getuid", ALL, C_ANY, 0, "glibc checks"},
    {"geteuid", ALL, C_ANY, 0, "glibc checks"},
    {"rt_sigprocmask", ALL, C_ANY, 0, "signal masks around waits"},
    {"rt_sigreturn", ALL, C_ANY, 0, "return from a signal handler"},
    {"restart_syscall", ALL, C_ANY, 0, "a call interrupted by a signal"},
    {"rt_sigtimedwait", GW | WC | LD, C_ANY, 0,
     "a thread takes SIGTERM with sigwait()"},
    {"tgkill", ALL, C_SELF, 0, "abort() signals itself; own pid only"},
    {"kill", WM, C_CHILD, 0, "forward SIGTERM to the child; its pid only"},
    {"wait4", WM | OP, C_ANY, 0,
     "reap the child (monitor), the key reader (opd) at exit"},
    /* I/O on descriptors opened before the sandbox. */
    {"read", ALL, C_ANY, 0, "sockets, eventfd, monitor socket"},
    {"write", ALL, C_ANY, 0, "sockets, eventfd, log lines on stderr"},
    {"readv", ALL, C_ANY, 0, "nng framing"},
    {"writev", ALL, C_ANY, 0, "nng framing; LMDB writes pages"},
    {"close", ALL, C_ANY, 0, "connections end"},
    {"fcntl", GW | NET | OK_, C_FD_FLAGS, 0,
     "nng makes new sockets non-blocking and close-on-exec"},
    /* LMDB (gateway spool, worker vault). */
    {"pread64", DB, C_ANY, 0, "LMDB reads the meta pages"},
    {"pwrite64", DB, C_ANY, 0, "LMDB writes pages and meta pages"},
    {"pwritev", DB, C_ANY, 0, "LMDB writes runs of pages"},
    {"lseek", DB | OK_, C_ANY, 0,
     "LMDB positions writev; the key reader reads files"},
    {"fdatasync", DB, C_ANY, 0, "LMDB commit: data then meta page"},
    {"msync", DB, C_ANY, 0,
     "LMDB commit with a writable map: data then meta page"},
    {"ftruncate", DB, C_ANY, 0,
     "LMDB with a writable map sizes the file to a map another process "
     "grew"},
    {"fsync", DB, C_ANY, 0, "LMDB commit on some file systems"},
    {"fcntl", DB, C_FD_LOCKS, 0, "LMDB reader-table locks"},
    {"fstat", DB | OK_, C_ANY, 0,
     "LMDB checks the file size; the key reader, its files"},
    {"newfstatat", GW | OK_, C_ANY, 0,
     "fstat(); web_root files are looked up (gateway)"},
    /* Network (nng). */
    {"epoll_wait", GW | NET, C_ANY, 0, "nng's poller"},
    {"epoll_pwait", GW | NET, C_ANY, 0, "nng's poller"},
    {"epoll_ctl", GW | NET, C_ANY, 0, "nng registers connections"},
    {"accept", GW | OP, C_ANY, 0,
     "HTTP and link connections; operators (opd)"},
    {"accept4", GW | OP, C_ANY, 0,
     "HTTP and link connections; operators (opd)"},
    {"socket", NET, C_AF_UNIX, 0, "nng re-dials an ipc:// link"},
    {"socket", NET, C_AF_INET, 0, "nng re-dials a tcp:// link"},
    {"socket", GW, C_AF_INET, 0,
     "gateway/front.c relays each client to nng on 127.0.0.1"},
    {"socket", NET | GW, C_AF_NETLINK, 0,
     "getaddrinfo(AI_ADDRCONFIG) asks the kernel for addresses "
     "(gateway: nng's WebSocket listener, each chat handshake)"},
    {"connect", NET, C_ANY, 0, "nng re-dials the link"},
    {"connect", GW, C_ANY, 0, "gateway/front.c: to nng on 127.0.0.1"},
    {"bind", NET | GW, C_ANY, 0, "getaddrinfo's netlink socket"},
    {"getsockopt", GW | NET, C_ANY, 0, "SO_ERROR, SO_PEERCRED (nng)"},
    {"setsockopt", GW | NET, C_ANY, 0, "TCP_NODELAY, keep-alive (nng)"},
    {"getsockname", GW | NET, C_ANY, 0, "nng and netlink addresses"},
    {"getpeername", GW | NET, C_ANY, 0, "nng pipe addresses"},
    {"shutdown", GW | NET, C_ANY, 0, "nng closes connections"},
    {"sendmsg", GW | NET, C_ANY, 0, "nng sends"},
    {"recvmsg", GW | NET, C_ANY, 0, "nng receives; netlink answers"},
    {"sendto", GW | NET, C_ANY, 0, "send(); netlink request"},
    {"recvfrom", GW | NET, C_ANY, 0, "recv() on sockets"},
    /* Files: the gateway serves web_root read-only; nothing else. */
    {"openat", GW, C_RDONLY, 0, "web_root files, read-only"},
    {"getdents64", GW, C_ANY, 0, "web_root directory index"},
    {"openat", OK_, C_RDONLY, 0,
     "the key reader: keys_dir and operators/ headers, read-only"},
    {"getdents64", OK_, C_ANY, 0, "the key reader lists operators/"},
    {"unlink", GW | OP, C_ANY, EACCES,
     "nng removes its ipc socket file at close: refused, harmless "
     "(the next start replaces a stale file)"},
    /* Sanitizer runtimes only (see the top of this file). */
    {"clone", SAN | ALL, C_ANY, 0, "LeakSanitizer's tracer; symbolizer"},
    {"ptrace", SAN | ALL, C_ANY, 0, "LeakSanitizer stops the world"},
    {"prctl", SAN | ALL, C_ANY, 0, "LeakSanitizer: PR_SET_DUMPABLE"},
    {"openat", SAN | ALL, C_RDONLY, 0, "/proc/self/maps, /proc/self/task"},
    {"open", SAN | ALL, C_RDONLY1, 0, "the same, by the runtime's own open"},
    {"getdents64", SAN | ALL, C_ANY, 0, "/proc/self/task"},
    {"getdents", SAN | ALL, C_ANY, 0, "/proc/self/task (runtime's own)"},
    {"newfstatat", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"stat", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"lstat", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"fstat", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"access", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"readlink", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"readlinkat", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"getppid", SAN | ALL, C_ANY, 0, "LeakSanitizer's tracer"},
    {"sigaltstack", SAN | ALL, C_ANY, 0, "ASan's signal stack"},
    {"rt_sigaction", SAN | ALL, C_ANY, 0, "sanitizer handlers"},
    {"sched_getaffinity", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
    {"kill", SAN | ALL, C_ANY, 0, "LeakSanitizer's tracer"},
    {"tgkill", SAN | ALL, C_ANY, 0, "LeakSanitizer's tracer"},
    {"wait4", SAN | ALL, C_ANY, 0, "LeakSanitizer's tracer"},
    {"fork", SAN | ALL, C_ANY, 0,
     "a report forks llvm-symbolizer (whose execve is still refused)"},
    {"pipe", SAN | ALL, C_ANY, 0, "symbolizer pipes"},
    {"prlimit64", SAN | ALL, C_ANY, 0, "before starting the symbolizer"},
    {"ioctl", SAN | ALL, C_ANY, 0, "isatty() for a coloured report"},
    {"pipe2", SAN | ALL, C_ANY, 0, "symbolizer pipes"},
    {"dup2", SAN | ALL, C_ANY, 0, "symbolizer pipes"},
    {"lseek", SAN | ALL, C_ANY, 0, "sanitizer runtime"},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

static bool
in_kind(const struct rule *ru, itk_sandbox_kind kind)
{
	if ((ru->kinds & (1u << kind)) == 0) {
		return false;
	}
	return (ru->kinds & SAN) == 0 || ITK_SANITIZER;
}

bool
itk_sandbox_available(void)
{
	return ITK_HAVE_SECCOMP != 0;
}

const char *
itk_sandbox_kind_name(itk_sandbox_kind kind)
{
	switch (kind) {
	case ITK_SANDBOX_GATEWAY:
		return "gateway";
	case ITK_SANDBOX_WORKER_CHILD:
		return "worker-child";
	case ITK_SANDBOX_WORKER_MONITOR:
		return "worker-monitor";
	case ITK_SANDBOX_OPD:
		return "opd";
	case ITK_SANDBOX_OPD_KEYS:
		return "opd-keys";
	case ITK_SANDBOX_LOGD:
		return "logd";
	case ITK_SANDBOX_KINDS:
	default:
		return "?";
	}
}

size_t
itk_sandbox_rule_count(itk_sandbox_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < NRULES; i++) {
		n += in_kind(&rules[i], kind) ? 1u : 0u;
	}
	return n;
}

#if ITK_HAVE_SECCOMP
/* libseccomp's SCMP_A0..A5 macros leave datum_b out when it is unused,
 * which clang's -Wmissing-field-initializers reports: spell it out. */
static struct scmp_arg_cmp
cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = {arg, op, a, b};

	return c;
}

/* Adds one rule; libseccomp copies everything, nothing to free. */
static int
add(scmp_filter_ctx ctx, const struct rule *ru, const itk_sandbox_params *p)
{
	uint32_t act =
	    ru->err != 0 ? SCMP_ACT_ERRNO((uint32_t)ru->err) : SCMP_ACT_ALLOW;
	int nr = seccomp_syscall_resolve_name(ru->name);
	int rc = 0;

	if (nr == __NR_SCMP_ERROR) {
		return 0; /* not a call on this architecture */
	}
	switch (ru->c) {
	case C_ANY:
		return seccomp_rule_add(ctx, act, nr, 0);
	case C_THREAD:
		return seccomp_rule_add(
		    ctx, act, nr, 1,
		    cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case C_NOEXEC:
		return seccomp_rule_add(
		    ctx, act, nr, 1, cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case C_RDONLY:
	case C_RDONLY1:
		return seccomp_rule_add(
		    ctx, act, nr, 1,
		    cmp(ru->c == C_RDONLY ? 2 : 1, SCMP_CMP_MASKED_EQ,
			O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, 0));
	case C_SELF:
		return seccomp_rule_add(ctx, act, nr, 1,
					cmp(0, SCMP_CMP_EQ, getpid(), 0));
	case C_CHILD:
		if (p == NULL || p->child <= 0) {
			return 0; /* no child: nobody to signal */
		}
		return seccomp_rule_add(ctx, act, nr, 1,
					cmp(0, SCMP_CMP_EQ, p->child, 0));
	case C_FD_FLAGS: {
		static const int cmds[] = {F_GETFL, F_SETFL, F_GETFD, F_SETFD};
		for (size_t i = 0; rc == 0 && i < 4; i++) {
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      cmp(1, SCMP_CMP_EQ, cmds[i], 0));
		}
		return rc;
	}
	case C_FD_LOCKS: {
		static const int cmds[] = {F_GETLK,     F_SETLK,
					   F_SETLKW,    F_OFD_GETLK,
					   F_OFD_SETLK, F_OFD_SETLKW};
		for (size_t i = 0; rc == 0 && i < 6; i++) {
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      cmp(1, SCMP_CMP_EQ, cmds[i], 0));
		}
		return rc;
	}
	case C_SET_NAME:
		return seccomp_rule_add(ctx, act, nr, 1,
					cmp(0, SCMP_CMP_EQ, PR_SET_NAME, 0));
	case C_AF_UNIX:
		return seccomp_rule_add(ctx, act, nr, 1,
					cmp(0, SCMP_CMP_EQ, AF_UNIX, 0));
	case C_AF_INET:
		rc = seccomp_rule_add(ctx, act, nr, 1,
				      cmp(0, SCMP_CMP_EQ, AF_INET, 0));
		return rc != 0 ? rc
			       : seccomp_rule_add(
				     ctx, act, nr, 1,
				     cmp(0, SCMP_CMP_EQ, AF_INET6, 0));
	case C_AF_NETLINK:
		return seccomp_rule_add(ctx, act, nr, 1,
					cmp(0, SCMP_CMP_EQ, AF_NETLINK, 0));
	default:
		return -EINVAL;
	}
}
#endif

itk_err
itk_sandbox_apply(itk_sandbox_kind kind, const itk_sandbox_params *p)
{
#if ITK_HAVE_SECCOMP
	scmp_filter_ctx ctx = NULL;
	itk_err r = ITK_E_INTERNAL;
	int rc;

	if ((unsigned)kind >= ITK_SANDBOX_KINDS) {
		return ITK_E_INTERNAL;
	}
	/* strftime (log lines) calls tzset, which reads /etc/localtime the
	 * first time: do that now, while files may still be opened. */
	tzset();
	/* Default deny: the whole process dies, not just the thread, so a
	 * half-working process never lingers. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		goto out;
	}
	/* Every thread, including the nng threads already running; the
	 * kernel sets NO_NEW_PRIVS on each. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		itk_log_error("sandbox.tsync", "rc=%d", rc);
		goto out;
	}
	for (size_t i = 0; i < NRULES; i++) {
		if (!in_kind(&rules[i], kind)) {
			continue;
		}
		if ((rc = add(ctx, &rules[i], p)) != 0) {
			itk_log_error("sandbox.rule", "call=%s rc=%d",
				      rules[i].name, rc);
			goto out;
		}
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		itk_log_error("sandbox.load", "kind=%s rc=%d",
			      itk_sandbox_kind_name(kind), rc);
		goto out;
	}
	itk_log_info("sandbox.on", "kind=%s rules=%zu sanitizer=%d",
		     itk_sandbox_kind_name(kind), itk_sandbox_rule_count(kind),
		     ITK_SANITIZER);
	r = ITK_OK;
out:
	seccomp_release(ctx);
	return r;
#else
	(void)p;
	itk_log_warn("sandbox.unavailable",
		     "kind=%s msg=\"built without libseccomp: no system-call "
		     "filter\"",
		     itk_sandbox_kind_name(kind));
	return ITK_OK;
#endif
}

bool
itk_sandbox_describe(itk_sandbox_kind kind, size_t i, const char **name,
		     const char **why)
{
	size_t k = 0;

	for (size_t j = 0; j < NRULES; j++) {
		if (!in_kind(&rules[j], kind)) {
			continue;
		}
		if (k++ == i) {
			*name = rules[j].name;
			*why = rules[j].why;
			return true;
		}
	}
	return false;
}
