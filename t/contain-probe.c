/*
 * contain-probe.c: a test-only program, never reachable from Lua. It runs a
 * worker's containment (contain.c) and then tries one forbidden thing, named
 * by argv[1], from C. Exit 0: the attempt failed; exit 1: it succeeded
 * (containment is broken); death by SIGSYS: the filter killed it.
 * "lua" runs rules after containment, to show the filter lets the sandbox
 * work; "none" does nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "contain.h"
#include "invoke.h"
#include "limit.h"
#include "sandbox.h"

static int channel = -1;
static pid_t parent;

static int
attempt(const char *op)
{
	static char *const argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000001) };

	if (strcmp(op, "open") == 0)
		return open("/etc/passwd", O_RDONLY) >= 0;
	if (strcmp(op, "openat") == 0)
		return openat(AT_FDCWD, "/etc/passwd", O_RDONLY) >= 0;
	if (strcmp(op, "creat") == 0)
		return open("probe-file", O_WRONLY | O_CREAT, 0600) >= 0;
	if (strcmp(op, "socket") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) >= 0;
	if (strcmp(op, "connect") == 0)
		return connect(channel, (struct sockaddr *)&sin, sizeof sin) == 0;
	if (strcmp(op, "fork") == 0)
		return fork() >= 0;
	if (strcmp(op, "clone") == 0)
		return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) >= 0;
	if (strcmp(op, "execve") == 0)
		return execve(argv[0], argv, NULL) == 0;
	if (strcmp(op, "ptrace") == 0)
		return ptrace(PTRACE_ATTACH, parent, NULL, NULL) == 0;
	if (strcmp(op, "kill") == 0)
		return kill(parent, SIGKILL) == 0;
	if (strcmp(op, "mmap-exec") == 0)
		return mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
	if (strcmp(op, "mprotect-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p != MAP_FAILED && mprotect(p, 4096, PROT_EXEC) == 0;
	}
	if (strcmp(op, "setuid-root") == 0)
		return geteuid() != 0 && setuid(0) == 0;
	if (strcmp(op, "none") == 0)
		return 0;
	fprintf(stderr, "contain-probe: unknown attempt %s\n", op);
	exit(2);
}

/* Rules still run, timers fire, and fresh sandboxes are made. */
static int
run_rules(void)
{
	static const char *const rules[] = {
	    "return function(e) return crypto.sha256(json.encode(e)) .. "
	    "re.match('ab', '{%a+}') end",
	    "return function() while true do end end",
	};
	static const enum mb_kind expect[] = { MB_OK, MB_TIMEOUT };

	for (int i = 0; i < 2; i++) {
		struct inv_sandbox sb;
		struct inv_outcome o;
		struct inv_request r = { .rule = "probe", .chunkname = "@probe",
		    .source = rules[i], .source_len = strlen(rules[i]) };

		lim_defaults(&r.limits);
		r.limits.timeout_us = 50000;
		inv_outcome_init(&o);
		if (inv_prepare(&sb) < 0)
			return 1;
		inv_run(&sb, &r, &o);
		inv_discard(&sb);
		if (o.kind != expect[i]) {
			char line[512];
			int n = snprintf(line, sizeof line, "rule %d: %s: %s\n",
			    i, kind_name(o.kind), o.message);
			(void)!write(channel, line, (size_t)n);
			return 1;
		}
		inv_outcome_free(&o);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct contain_config c = { 0 };
	char err[512], dir[] = "/tmp/moonbox-probe-XXXXXX";
	int sv[2];
	struct passwd *pw;

	if (argc != 2) {
		fprintf(stderr, "usage: contain-probe ATTEMPT\n");
		return 2;
	}
	parent = getppid();
	if (sbx_init() < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 2;
	channel = sv[0];
	c.keep_fds = &channel;
	c.nkeep = 1;
	c.address_space = 0;	/* sanitizers reserve terabytes */
	c.cpu_seconds = 10;
	if (geteuid() == 0) {
		if ((pw = getpwnam("nobody")) == NULL || mkdtemp(dir) == NULL)
			return 2;
		c.uid = pw->pw_uid;
		c.gid = pw->pw_gid;
		c.empty_dir = dir;
	}
	if (contain(&c, err, sizeof err) < 0) {
		fprintf(stderr, "contain-probe: %s\n", err);
		return 2;
	}
	if (strcmp(argv[1], "lua") == 0)
		_exit(run_rules());
	_exit(attempt(argv[1]));
}
