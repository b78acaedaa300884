/*
 * contain.c: the containment steps of a worker, in order, as one table.
 * Modelled on nsjail's contain.cc and OpenSSH's sandbox-seccomp-filter.c.
 * Uses libseccomp.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <seccomp.h>

#include "contain.h"

typedef int (*contain_fn)(const struct contain_config *, char *, size_t);

static int
contain_fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s: %s", what, strerror(errno));
	return -1;
}

static int
contain_kept(const struct contain_config *c, int fd)
{
	for (int i = 0; i < c->nkeep; i++)
		if (c->keep_fds[i] == fd)
			return 1;
	return 0;
}

/* Close every descriptor but the channels (which must be below 1024). */
static int
contain_close_fds(const struct contain_config *c, char *err, size_t len)
{
	unsigned from = 0;

	for (int fd = 0; fd < 1024; fd++) {
		if (!contain_kept(c, fd))
			continue;
		if ((unsigned)fd > from &&
		    close_range(from, (unsigned)fd - 1, 0) < 0)
			return contain_fail(err, len, "close_range");
		from = (unsigned)fd + 1;
	}
	if (close_range(from, ~0U, 0) < 0)
		return contain_fail(err, len, "close_range");
	return 0;
}

static int
contain_clear_env(const struct contain_config *c, char *err, size_t len)
{
	(void)c;
	if (clearenv() != 0)
		return contain_fail(err, len, "clearenv");
	return 0;
}

static int
contain_rlimits(const struct contain_config *c, char *err, size_t len)
{
	int maxfd = -1;

	for (int i = 0; i < c->nkeep; i++)
		if (c->keep_fds[i] > maxfd)
			maxfd = c->keep_fds[i];
	const struct { int res; rlim_t soft, hard; int set; } lims[] = {
		{ RLIMIT_AS, c->address_space, c->address_space,
		    c->address_space > 0 },
		{ RLIMIT_CPU, c->cpu_seconds, c->cpu_seconds + 1,
		    c->cpu_seconds > 0 },
		{ RLIMIT_NOFILE, (rlim_t)maxfd + 1, (rlim_t)maxfd + 1, 1 },
		{ RLIMIT_NPROC, 0, 0, 1 },
		{ RLIMIT_FSIZE, 0, 0, 1 },
		{ RLIMIT_CORE, 0, 0, 1 },
	};

	for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
		struct rlimit rl = { lims[i].soft, lims[i].hard };

		if (lims[i].set && setrlimit(lims[i].res, &rl) < 0)
			return contain_fail(err, len, "setrlimit");
	}
	return 0;
}

/* As root: chroot to an empty directory, then become the configured user
 * for good. */
static int
contain_drop_root(const struct contain_config *c, char *err, size_t len)
{
	if (geteuid() != 0)
		return 0;
	if (c->empty_dir == NULL || c->uid == 0) {
		errno = EINVAL;
		return contain_fail(err, len, "running as root needs a user "
		    "and an empty directory to drop to");
	}
	if (chroot(c->empty_dir) < 0 || chdir("/") < 0)
		return contain_fail(err, len, "chroot");
	if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	    setresuid(c->uid, c->uid, c->uid) < 0)
		return contain_fail(err, len, "dropping to the worker user");
	if (setuid(0) == 0) {
		errno = EPERM;
		return contain_fail(err, len, "root could be regained");
	}
	return 0;
}

static int
contain_no_new_privs(const struct contain_config *c, char *err, size_t len)
{
	(void)c;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return contain_fail(err, len, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

/* What the worker's loop needs, and nothing else: its channels, memory,
 * its timer, and leaving. */
static const int contain_allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(setitimer), SCMP_SYS(getitimer), SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getrandom), SCMP_SYS(sigaltstack), SCMP_SYS(poll),
};

static int
contain_seccomp(const struct contain_config *c, char *err, size_t len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	(void)c;
	if (ctx == NULL) {
		errno = ENOMEM;
		return contain_fail(err, len, "seccomp_init");
	}
	for (size_t i = 0; r == 0 && i < sizeof contain_allowed /
	    sizeof contain_allowed[0]; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, contain_allowed[i], 0);
	/* send(2) on a channel, never to an address. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
		    SCMP_A4(SCMP_CMP_EQ, 0));
	/* Memory, but never executable: no shellcode after a C-level bug. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0) {
		errno = -r;
		return contain_fail(err, len, "seccomp");
	}
	return 0;
}

static const struct {
	const char	*name;
	contain_fn	 fn;
} contain_steps[] = {
	{ "close every descriptor but the channels",	contain_close_fds },
	{ "empty the environment",			contain_clear_env },
	{ "set resource limits",			contain_rlimits },
	{ "drop root",					contain_drop_root },
	{ "forbid new privileges",			contain_no_new_privs },
	{ "install the seccomp filter",			contain_seccomp },
};

int
contain(const struct contain_config *c, char *err, size_t len)
{
	char why[256];

	for (size_t i = 0; i < sizeof contain_steps / sizeof contain_steps[0];
	    i++) {
		if (contain_steps[i].fn(c, why, sizeof why) < 0) {
			snprintf(err, len, "%s: %s", contain_steps[i].name, why);
			return -1;
		}
	}
	return 0;
}
