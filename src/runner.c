/*
 * runner.c: one invocation in a fresh, contained worker process, for
 * `moonbox run` and the tests: the same worker code as the daemon's, behind
 * the same protocol. The parent holds the deadline: a worker that runs past
 * it plus a grace period (stuck inside C, where no hook fires) is killed
 * and the invocation reported as a timeout. With a handler, the parent
 * also stands in for the broker: the worker's capability calls come to it
 * on a second channel (moonbox replay). Uses worker.c, chan.c, msg.c.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "config.h"
#include "chan.h"
#include "mpr.h"
#include "msg.h"
#include "runner.h"
#include "worker.h"

#define RUNNER_READY_MS		10000	/* a worker must be up by then */
#define RUNNER_WORKER_USER	"nobody"

struct runner {
	pid_t		 pid;
	int		 chan;
	int		 broker;	/* calls served here; -1: none */
	modcap_handler	 serve;
	void		*ud;
	char		 chroot[RUNNER_DIR_MAX];
	struct timespec	 t0;
};

static double
runner_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* As root a contained child drops to an unprivileged user in an empty
 * directory; dir (RUNNER_DIR_MAX bytes) gets its path, "" when none. */
int
runner_drop_config(struct contain_config *c, char *dir, char *err,
    size_t errlen)
{
	struct passwd *pw;

	dir[0] = '\0';
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(RUNNER_WORKER_USER)) == NULL) {
		snprintf(err, errlen, "running as root needs the user %s to "
		    "run rules as", RUNNER_WORKER_USER);
		return -1;
	}
	snprintf(dir, RUNNER_DIR_MAX, "/tmp/moonbox-run-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "cannot make an empty directory for "
		    "the worker: %s", strerror(errno));
		dir[0] = '\0';
		return -1;
	}
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->empty_dir = dir;
	return 0;
}

static int
runner_identity(struct runner *rn, struct contain_config *c,
    struct inv_outcome *o)
{
	char err[256];

	if (runner_drop_config(c, rn->chroot, err, sizeof err) == 0)
		return 0;
	inv_fail(o, MB_INTERNAL, "%s", err);
	return -1;
}

/* When calls are served here, the worker's broker channel. */
static int
runner_broker_pair(struct runner *rn, int bv[2], struct inv_outcome *o)
{
	if (rn->serve == NULL)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bv) < 0) {
		inv_fail(o, MB_INTERNAL, "socketpair: %s", strerror(errno));
		bv[0] = bv[1] = -1;
		return -1;
	}
	return 0;
}

static int
runner_spawn(struct runner *rn, const struct lim_config *l,
    struct inv_outcome *o)
{
	struct worker_config wc = { .broker = -1 };
	int sv[2], bv[2] = { -1, -1 };

	wc.contain.address_space = runner_address_space(l);
	wc.contain.cpu_seconds = (unsigned)(l->timeout_us / 1000000) + 2;
	if (runner_identity(rn, &wc.contain, o) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		inv_fail(o, MB_INTERNAL, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (runner_broker_pair(rn, bv, o) < 0) {
		close(sv[0]), close(sv[1]);
		return -1;
	}
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &rn->t0);
	if ((rn->pid = fork()) < 0) {
		inv_fail(o, MB_INTERNAL, "fork: %s", strerror(errno));
		close(sv[0]), close(sv[1]);
		if (bv[0] >= 0)
			close(bv[0]), close(bv[1]);
		return -1;
	}
	if (rn->pid == 0) {
		int keep[2] = { sv[1], bv[1] };

		close(sv[0]);
		if (bv[0] >= 0)
			close(bv[0]);
		wc.chan = sv[1];
		wc.broker = bv[1];
		wc.contain.keep_fds = keep;
		wc.contain.nkeep = bv[1] >= 0 ? 2 : 1;
		worker_main(&wc);
	}
	close(sv[1]);
	rn->chan = sv[0];
	if (bv[0] >= 0)
		close(bv[1]);
	rn->broker = bv[0];
	return 0;
}

/* RLIMIT_AS for a worker: its Lua memory and room for the process itself.
 * Sanitizer runtimes reserve terabytes of address space: none then. */
size_t
runner_address_space(const struct lim_config *l)
{
#ifdef MB_SANITIZERS
	(void)l;
	return 0;
#else
	return l->memory + RUNNER_AS_SLACK;
#endif
}

/* How the worker ended, once its channel closed or it was killed. */
static void
runner_reap(struct runner *rn, int killed, const struct lim_config *l,
    struct inv_outcome *o)
{
	int st = 0;

	if (killed)
		kill(rn->pid, SIGKILL);
	while (waitpid(rn->pid, &st, 0) < 0 && errno == EINTR)
		;
	rn->pid = -1;
	o->wall_ms = runner_ms_since(&rn->t0);
	if (killed)
		inv_fail(o, MB_TIMEOUT, "deadline of %llu ms passed while the "
		    "rule ran inside a library function; its worker was killed",
		    (unsigned long long)(l->timeout_us / 1000));
	else if (WIFSIGNALED(st))
		inv_fail(o, MB_KILLED, "the worker running the rule was killed "
		    "by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (o->kind == MB_OK)
		inv_fail(o, MB_INTERNAL, "the worker ended with status %d "
		    "before answering", WEXITSTATUS(st));
}

/* Wait for one frame; its type and a reader over it. */
static int
runner_recv(struct runner *rn, int timeout_ms, char **buf, size_t *len,
    enum proto_type *t)
{
	int r = chan_recv(rn->chan, buf, len, timeout_ms);

	if (r <= 0)
		return r == 0 ? 0 : (errno == ETIMEDOUT ? -2 : -1);
	if (msg_type(*buf, *len, t) < 0) {
		free(*buf);
		return -1;
	}
	return 1;
}

static void
runner_broker_close(struct runner *rn)
{
	if (rn->broker >= 0)
		close(rn->broker);
	rn->broker = -1;
}

/* One capability call from the worker, answered by the handler; a call
 * out of protocol, or no answer, closes the channel (to the worker: the
 * broker is not available). */
static void
runner_serve(struct runner *rn)
{
	enum proto_type t;
	char *frame, *reply, *out;
	size_t len, rlen;

	if (chan_recv(rn->broker, &frame, &len, RUNNER_READY_MS) != 1) {
		runner_broker_close(rn);
		return;
	}
	reply = msg_type(frame, len, &t) == 0 && t == PROTO_CAP_CALL ?
	    rn->serve(rn->ud, frame, len, &rlen) : NULL;
	free(frame);
	if (reply == NULL || rlen > PROTO_FRAME_MAX ||
	    (out = malloc(rlen + PROTO_FRAME_HEADER)) == NULL) {
		free(reply);
		runner_broker_close(rn);
		return;
	}
	out[0] = (char)(rlen >> 24), out[1] = (char)(rlen >> 16);
	out[2] = (char)(rlen >> 8), out[3] = (char)rlen;
	memcpy(out + PROTO_FRAME_HEADER, reply, rlen);
	if (chan_send(rn->broker, out, rlen + PROTO_FRAME_HEADER) < 0)
		runner_broker_close(rn);
	free(reply);
	free(out);
}

/* As runner_recv, serving capability calls while it waits. */
static int
runner_await(struct runner *rn, int timeout_ms, char **buf, size_t *len,
    enum proto_type *t)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p[2] = {
			{ rn->chan, POLLIN, 0 }, { rn->broker, POLLIN, 0 }
		};
		int left = timeout_ms - (int)runner_ms_since(&t0), r;

		if (left <= 0)
			return -2;
		if (rn->broker < 0)
			return runner_recv(rn, left, buf, len, t);
		if ((r = poll(p, 2, left)) < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (p[0].revents != 0)
			return runner_recv(rn, left, buf, len, t);
		runner_serve(rn);
	}
}

/* 1 when the worker is ready, 0 when it is gone, -1 when it failed. */
static int
runner_wait_ready(struct runner *rn, struct inv_outcome *o)
{
	struct msg_span why;
	enum proto_type t;
	struct mpr r;
	char *buf;
	size_t len;
	int st = runner_recv(rn, RUNNER_READY_MS, &buf, &len, &t);

	if (st == 0)
		return 0;
	if (st == 1 && t == PROTO_WK_READY) {
		free(buf);
		return 1;
	}
	if (st == 1 && t == PROTO_WK_FAILED) {
		mpr_init(&r, buf, len);
		if (msg_failed_decode(&r, &why) == 0)
			inv_fail(o, MB_INTERNAL, "worker containment failed: "
			    "%.*s", (int)why.n, why.p);
	}
	if (st == 1)
		free(buf);
	if (o->kind == MB_OK)
		inv_fail(o, MB_INTERNAL, "the worker did not start");
	return -1;
}

/* Send the invocation and wait for its result until deadline + grace. */
static int
runner_exchange(struct runner *rn, const struct inv_request *req,
    struct inv_outcome *o)
{
	msgpack_sbuffer sb;
	struct msg_result m;
	enum proto_type t;
	struct mpr r;
	char *buf;
	size_t len;
	int st, wait_ms;

	msgpack_sbuffer_init(&sb);
	if (msg_invoke_pack(&sb, req) < 0) {
		msgpack_sbuffer_destroy(&sb);
		inv_fail(o, MB_BAD_REQUEST, "the rule and its input are larger "
		    "than one message of %u bytes", PROTO_FRAME_MAX);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &rn->t0);
	st = chan_send(rn->chan, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	if (st < 0)
		return 0;	/* the worker is gone: reaping says why */
	wait_ms = (int)(req->limits.timeout_us / 1000) + RUNNER_GRACE_MS;
	if ((st = runner_await(rn, wait_ms, &buf, &len, &t)) != 1)
		return st == -2 ? -2 : 0;
	mpr_init(&r, buf, len);
	if (t != PROTO_WK_RESULT || msg_result_decode(&r, &m) < 0 ||
	    strcmp(m.id, req->id != NULL ? req->id : "") != 0) {
		free(buf);
		inv_fail(o, MB_INTERNAL, "the worker answered out of protocol");
		return -1;
	}
	msg_result_outcome(&m, o);
	free(buf);
	return 1;
}

void
runner_run(const struct inv_request *req, struct inv_outcome *o)
{
	runner_run_served(req, o, NULL, NULL);
}

void
runner_run_served(const struct inv_request *req, struct inv_outcome *o,
    modcap_handler serve, void *ud)
{
	struct runner rn = { .pid = -1, .chan = -1, .broker = -1,
	    .serve = serve, .ud = ud };
	int st = -1;

	o->kind = MB_OK;
	if (runner_spawn(&rn, &req->limits, o) == 0 &&
	    (st = runner_wait_ready(&rn, o)) == 1)
		st = runner_exchange(&rn, req, o);
	if (rn.chan >= 0)
		close(rn.chan);		/* the worker exits at end of file */
	runner_broker_close(&rn);
	if (rn.pid > 0) {
		if (st == 1 || st == -1) {
			kill(rn.pid, SIGKILL);
			waitpid(rn.pid, NULL, 0);
		} else
			runner_reap(&rn, st == -2, &req->limits, o);
	}
	if (rn.chroot[0] != '\0')
		rmdir(rn.chroot);
}
