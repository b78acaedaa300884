/*
 * tester_run.c: the parent's side of `moonbox test`: one contained worker
 * process per test file (as root: dropped to nobody in an empty
 * directory, as `moonbox run` does), --jobs of them at a time, each on a
 * socketpair. It answers a worker's requests for rule sources (read here,
 * by the trusted parent, from the rules directory), tells it which tests
 * to run once it has listed them (--filter), takes its results and
 * coverage, and holds each test's deadline: a worker silent past it (stuck
 * inside C, where no hook fires) is killed, its test failed, and a new
 * worker runs the rest of the file. Uses tester_work.c, tester_msg.c,
 * chan.c, runner.c (address space).
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

#include <lauxlib.h>
#include <lualib.h>

#include "chan.h"
#include "contain.h"
#include "mpr.h"
#include "msg.h"
#include "runner.h"
#include "tester.h"

#define TR_WORKER_USER	"nobody"
#define TR_FRAME_MS	10000	/* a frame that started must end by then */

struct tr_job {
	struct tst_file	*f;
	pid_t		 pid;
	int		 fd;
	int		 listed;	/* this worker sent its list */
	long		 current;	/* the test running, or -1 */
	size_t		*todo;		/* tests still to run, in order */
	size_t		 ntodo;
	long long	 deadline;	/* ms; the worker is killed past it */
	long long	 begun;		/* ms: when the current test began */
	int		 done;		/* it said DONE */
	const char	*lost;		/* why it is gone, when it is */
	char		 dir[64];	/* its empty directory, as root */
};

struct tr_rule {
	const char	*dir;		/* the rules directory */
	char		*name;
	char		*src;		/* NULL: no such rule */
	size_t		 len;
};

static struct tr {
	const struct tst_opts	*o;
	struct tst_covset	*cov;
	struct tr_rule		*rules;
	size_t			 nrules;
	lua_State		*filter;	/* runs --filter as a pattern */
	msgpack_sbuffer		 out;
	char			 late[160];	/* why a late worker was lost */
} R;

static long long
tr_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
tr_arm(struct tr_job *j)
{
	j->deadline = tr_now() + (long long)(R.o->test_timeout_us / 1000) +
	    TST_GRACE_MS;
}

/* --- which tests: --filter ----------------------------------------------- */

/* A test is selected when the filter is a substring of its full name, or
 * matches it as a Lua pattern (a pattern in error matches nothing more). */
static int
tr_selected(const char *name)
{
	lua_State *L = R.filter;
	int hit;

	if (R.o->filter == NULL || strstr(name, R.o->filter) != NULL)
		return 1;
	if (L == NULL)
		return 0;
	lua_settop(L, 0);
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "find");
	lua_pushstring(L, name);
	lua_pushstring(L, R.o->filter);
	hit = lua_pcall(L, 2, 1, 0) == LUA_OK && !lua_isnil(L, -1);
	lua_settop(L, 0);
	return hit;
}

/* --- rules, read here for the workers ------------------------------------ */

static const struct tr_rule *
tr_rule(const char *dir, const char *name)
{
	struct tr_rule *v, r = { dir, NULL, NULL, 0 };
	char err[512], *path;

	for (size_t i = 0; i < R.nrules; i++)
		if (strcmp(R.rules[i].name, name) == 0 &&
		    strcmp(R.rules[i].dir, dir) == 0)
			return &R.rules[i];
	if ((v = realloc(R.rules, (R.nrules + 1) * sizeof *v)) == NULL)
		return NULL;
	R.rules = v;
	if ((r.name = strdup(name)) == NULL)
		return NULL;
	if (policy_rule_name_ok(name, strlen(name)) &&
	    (path = tst_rule_path(dir, name)) != NULL) {
		r.src = tst_read(path, TST_MAX_SOURCE, &r.len, err, sizeof err);
		free(path);
	}
	v[R.nrules] = r;
	return &v[R.nrules++];
}

/* --- workers ------------------------------------------------------------- */

/* As root a worker drops to an unprivileged user in an empty directory. */
static int
tr_identity(struct tr_job *j, struct contain_config *c)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(TR_WORKER_USER)) == NULL) {
		j->lost = "running as root needs the user nobody to run tests "
		    "as";
		return -1;
	}
	snprintf(j->dir, sizeof j->dir, "/tmp/moonbox-test-XXXXXX");
	if (mkdtemp(j->dir) == NULL) {
		j->dir[0] = '\0';
		j->lost = "cannot make an empty directory for the worker";
		return -1;
	}
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->empty_dir = j->dir;
	return 0;
}

/* The most memory an invocation gets: from the options or a pool. */
static size_t
tr_rule_memory(void)
{
	size_t m = R.o->limits.memory;

	for (int i = 0; i < R.o->policy.npools; i++)
		if (R.o->policy.pools[i].limits.memory > m)
			m = R.o->policy.pools[i].limits.memory;
	return m;
}

static int
tr_spawn(struct tr_job *j)
{
	struct contain_config cc = { 0 };
	struct lim_config lc;
	int sv[2];

	lc = R.o->limits;
	lc.memory = tr_rule_memory() + R.o->test_memory;
	cc.address_space = runner_address_space(&lc);
	cc.cpu_seconds = TST_WORKER_CPU_S;
	if (tr_identity(j, &cc) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		j->lost = "cannot make a socketpair for the worker";
		return -1;
	}
	fflush(NULL);
	if ((j->pid = fork()) < 0) {
		close(sv[0]), close(sv[1]);
		j->lost = "cannot fork a worker";
		return -1;
	}
	if (j->pid == 0) {
		close(sv[0]);
		cc.keep_fds = &sv[1];
		cc.nkeep = 1;
		tw_main(R.o, j->f, &cc, sv[1]);
	}
	close(sv[1]);
	j->fd = sv[0];
	j->listed = 0;
	j->current = -1;
	j->done = 0;
	tr_arm(j);
	return 0;
}

static void
tr_send(struct tr_job *j)
{
	if (chan_send(j->fd, R.out.data, R.out.size) < 0 && j->lost == NULL)
		j->lost = "the worker's channel broke";
}

/* A test's outcome without a word from the worker: where (or "") and
 * why. */
static void
tr_fail_test(struct tst_test *t, const char *where, const char *why)
{
	char *msg;

	if (t->done)
		return;
	if (asprintf(&msg, "%s%s%s", where, *where != '\0' ? ": " : "",
	    why) < 0)
		msg = NULL;
	t->status = TST_FAIL;
	t->message = msg;
	t->done = 1;
}

static void
tr_drop_todo(struct tr_job *j, size_t index)
{
	for (size_t i = 0; i < j->ntodo; i++)
		if (j->todo[i] == index) {
			memmove(&j->todo[i], &j->todo[i + 1],
			    (j->ntodo - i - 1) * sizeof *j->todo);
			j->ntodo--;
			return;
		}
}

/* --- the worker's messages ----------------------------------------------- */

/* A first list: the file's tests, the filter, what to run. */
static int
tr_take_list(struct tr_job *j, struct tst_test *t, size_t n)
{
	struct tst_file *f = j->f;

	f->tests = t;
	f->ntests = n;
	f->listed = 1;
	free(j->todo);
	if ((j->todo = calloc(n + 1, sizeof *j->todo)) == NULL)
		return -1;
	j->ntodo = 0;
	for (size_t i = 0; i < n; i++) {
		t[i].selected = tr_selected(t[i].name);
		if (t[i].selected && t[i].skip) {
			t[i].status = TST_SKIP;
			t[i].done = 1;
		} else if (t[i].selected)
			j->todo[j->ntodo++] = i;
	}
	return 0;
}

/* A later worker for the same file must list the same tests. */
static int
tr_same_list(const struct tst_file *f, const struct tst_test *t, size_t n)
{
	if (n != f->ntests)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, f->tests[i].name) != 0)
			return 0;
	return 1;
}

static int
tr_on_list(struct tr_job *j, struct mpr *r)
{
	struct tst_test *t;
	size_t n;
	int same;

	if (tmsg_list_decode(r, &t, &n) < 0) {
		for (size_t i = 0; i < n; i++)
			tst_test_free(&t[i]);
		free(t);
		return -1;
	}
	if (!j->f->listed) {
		if (tr_take_list(j, t, n) < 0)
			return -1;
	} else {
		same = tr_same_list(j->f, t, n);
		for (size_t i = 0; i < n; i++)
			tst_test_free(&t[i]);
		free(t);
		if (!same) {
			j->lost = "the file lists other tests when it loads again";
			return 0;
		}
	}
	j->listed = 1;
	tmsg_run_pack(&R.out, j->todo, j->ntodo);
	tr_send(j);
	tr_arm(j);
	return 0;
}

static int
tr_on_load_error(struct tr_job *j, struct mpr *r)
{
	char *why;

	if (j->listed || tmsg_load_error_decode(r, &why) < 0)
		return -1;
	if (!j->f->listed) {
		free(j->f->load_error);
		j->f->load_error = why;
	} else {
		for (size_t i = 0; i < j->ntodo; i++)
			tr_fail_test(&j->f->tests[j->todo[i]], "", why);
		j->ntodo = 0;
		free(why);
	}
	j->done = 1;
	return 0;
}

static int
tr_in_todo(const struct tr_job *j, size_t index)
{
	for (size_t i = 0; i < j->ntodo; i++)
		if (j->todo[i] == index)
			return 1;
	return 0;
}

static int
tr_on_begin(struct tr_job *j, struct mpr *r)
{
	size_t index;

	if (!j->listed || j->current >= 0 || tmsg_begin_decode(r, &index) < 0 ||
	    !tr_in_todo(j, index))
		return -1;
	j->current = (long)index;
	tr_arm(j);
	j->begun = tr_now();
	return 0;
}

static int
tr_on_result(struct tr_job *j, struct mpr *r)
{
	struct tst_test res = { 0 }, *t;
	size_t index;

	if (j->current < 0 || tmsg_result_decode(r, &index, &res) < 0 ||
	    index != (size_t)j->current) {
		tst_test_free(&res);
		return -1;
	}
	t = &j->f->tests[index];
	t->status = res.status;
	t->message = res.message;
	t->duration_us = res.duration_us;
	t->usage = res.usage;
	t->log = res.log;
	t->nlog = res.nlog;
	t->done = 1;
	tr_drop_todo(j, index);
	j->current = -1;
	tr_arm(j);
	return 0;
}

static int
tr_on_need_rule(struct tr_job *j, struct mpr *r)
{
	char name[PROTO_NAME_MAX + 1];
	const struct tr_rule *rule;

	if (tmsg_need_rule_decode(r, name, sizeof name) < 0)
		return -1;
	rule = tr_rule(j->f->rules_dir, name);
	tmsg_rule_pack(&R.out, name, rule != NULL ? rule->src : NULL,
	    rule != NULL ? rule->len : 0);
	tr_send(j);
	return 0;
}

/* Whether the parent gave a worker this rule's source. */
static int
tr_served(const char *dir, const char *name)
{
	for (size_t i = 0; i < R.nrules; i++)
		if (strcmp(R.rules[i].name, name) == 0 &&
		    strcmp(R.rules[i].dir, dir) == 0)
			return R.rules[i].src != NULL;
	return 0;
}

/* Counts for a rule the worker was given; no other file is reported. */
static int
tr_on_coverage(struct tr_job *j, struct mpr *r)
{
	char name[PROTO_NAME_MAX + 1], *path;
	unsigned char *active;
	uint64_t *hits;
	size_t n;

	if (tmsg_coverage_decode(r, name, sizeof name, &hits, &active, &n) < 0 ||
	    !tr_served(j->f->rules_dir, name) ||
	    (path = tst_rule_path(j->f->rules_dir, name)) == NULL) {
		free(hits), free(active);
		return -1;
	}
	tcov_merge(R.cov, name, path, hits, active, n);
	free(path), free(hits), free(active);
	return 0;
}

static int
tr_on_done(struct tr_job *j, struct mpr *r)
{
	if (!j->listed || j->current >= 0 || tmsg_done_decode(r) < 0)
		return -1;
	j->done = 1;
	return 0;
}

static const struct {
	enum tst_msg	 type;
	int		(*handle)(struct tr_job *, struct mpr *);
} tr_dispatch[] = {
	{ TST_MSG_LIST,		tr_on_list },
	{ TST_MSG_LOAD_ERROR,	tr_on_load_error },
	{ TST_MSG_BEGIN,	tr_on_begin },
	{ TST_MSG_RESULT,	tr_on_result },
	{ TST_MSG_NEED_RULE,	tr_on_need_rule },
	{ TST_MSG_COVERAGE,	tr_on_coverage },
	{ TST_MSG_DONE,		tr_on_done },
};

/* One frame from a worker; a frame out of protocol loses the worker. */
static void
tr_read(struct tr_job *j)
{
	enum proto_type t;
	struct mpr r;
	char *buf;
	size_t len, i;
	int st = chan_recv(j->fd, &buf, &len, TR_FRAME_MS);

	if (st <= 0) {
		if (j->lost == NULL)
			j->lost = st == 0 ? "" : "the worker's channel broke";
		return;
	}
	if (msg_type(buf, len, &t) < 0)
		i = sizeof tr_dispatch / sizeof tr_dispatch[0];
	else
		for (i = 0; i < sizeof tr_dispatch / sizeof tr_dispatch[0]; i++)
			if ((int)tr_dispatch[i].type == (int)t)
				break;
	mpr_init(&r, buf, len);
	if ((i == sizeof tr_dispatch / sizeof tr_dispatch[0] ||
	    tr_dispatch[i].handle(j, &r) < 0) && j->lost == NULL)
		j->lost = "the worker broke the protocol";
	free(buf);
}

/* --- a worker's end ------------------------------------------------------ */

/* How it ended: "" when it exited by itself with 0. */
static const char *
tr_reap(struct tr_job *j, int kill_it, char *buf, size_t len)
{
	int st = 0;

	if (kill_it)
		kill(j->pid, SIGKILL);
	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	j->pid = -1;
	close(j->fd);
	j->fd = -1;
	if (j->dir[0] != '\0')
		rmdir(j->dir);
	j->dir[0] = '\0';
	if (kill_it)
		buf[0] = '\0';		/* the caller knows why */
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "its worker was killed by signal %d (%s)",
		    WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (WEXITSTATUS(st) != 0)
		snprintf(buf, len, "its worker exited with status %d",
		    WEXITSTATUS(st));
	else
		buf[0] = '\0';
	return buf;
}

/* The worker is gone before its work was done: fail what it was on. */
static void
tr_lost(struct tr_job *j, const char *how)
{
	char why[512];
	struct tst_file *f = j->f;

	snprintf(why, sizeof why, "%s%s%s", j->lost != NULL ? j->lost : "",
	    j->lost != NULL && *j->lost != '\0' && *how != '\0' ? "; " : "",
	    how);
	if (why[0] == '\0')
		snprintf(why, sizeof why, "its worker ended before the end");
	R.cov->incomplete = 1;
	if (!f->listed) {
		free(f->load_error);
		if (asprintf(&f->load_error, "%s: the file could not be loaded: "
		    "%s", f->path, why) < 0)
			f->load_error = NULL;
		j->ntodo = 0;
	} else if (j->current >= 0) {
		struct tst_test *t = &f->tests[j->current];
		char at[4200];

		snprintf(at, sizeof at, "%s:%u", f->path, t->line);
		tr_fail_test(t, at, why);
		t->duration_us = (uint64_t)(tr_now() - j->begun) * 1000;
		tr_drop_todo(j, (size_t)j->current);
	} else {
		for (size_t i = 0; i < j->ntodo; i++)
			tr_fail_test(&f->tests[j->todo[i]], "", why);
		j->ntodo = 0;
	}
}

/* End a worker; 1 if another must take over the rest of its file. */
static int
tr_finish(struct tr_job *j, int kill_it)
{
	char how[300];

	tr_reap(j, kill_it || !j->done, how, sizeof how);
	if (j->done && j->lost == NULL)
		return 0;	/* it said all it had to say */
	tr_lost(j, how);
	j->lost = NULL;
	return j->ntodo > 0;
}

/* --- the loop ------------------------------------------------------------ */

static int
tr_start(struct tr_job *j)
{
	if (tr_spawn(j) == 0)
		return 0;
	if (j->dir[0] != '\0')
		rmdir(j->dir);
	j->dir[0] = '\0';
	if (!j->f->listed) {
		if (asprintf(&j->f->load_error, "%s: %s", j->f->path,
		    j->lost) < 0)
			j->f->load_error = NULL;
	} else
		for (size_t i = 0; i < j->ntodo; i++)
			tr_fail_test(&j->f->tests[j->todo[i]], "", j->lost);
	j->ntodo = 0;
	j->f->done = 1;
	return -1;
}

/* Wait for any worker, handle what it said or that it is late. */
static void
tr_step(struct tr_job *jobs, size_t n)
{
	struct pollfd pfd[n];
	long long now = tr_now(), soonest = now + 60000;

	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = jobs[i].f != NULL ? jobs[i].fd : -1;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
		if (jobs[i].f != NULL && jobs[i].deadline < soonest)
			soonest = jobs[i].deadline;
	}
	if (poll(pfd, n, soonest > now ? (int)(soonest - now) : 0) < 0 &&
	    errno != EINTR)
		return;
	now = tr_now();
	for (size_t i = 0; i < n; i++) {
		struct tr_job *j = &jobs[i];
		int late;

		if (j->f == NULL)
			continue;
		if (pfd[i].revents != 0 && !j->done)
			tr_read(j);
		late = !j->done && j->lost == NULL && now >= j->deadline;
		if (late)
			j->lost = R.late;
		if (!j->done && j->lost == NULL)
			continue;
		if (tr_finish(j, late) && tr_start(j) == 0)
			continue;
		j->f->done = 1;
		j->f = NULL;
	}
}

void
tst_run(const struct tst_opts *o, struct tst_file *files, size_t nfiles,
    struct tst_covset *cov)
{
	size_t njobs = o->jobs > 0 ? o->jobs : 1, next = 0, active;
	struct tr_job *jobs = calloc(njobs, sizeof *jobs);

	memset(&R, 0, sizeof R);
	R.o = o;
	R.cov = cov;
	msgpack_sbuffer_init(&R.out);
	snprintf(R.late, sizeof R.late, "the test ran past its deadline of "
	    "%llu ms inside a library function, where no hook fires, and its "
	    "worker was killed", (unsigned long long)(o->test_timeout_us / 1000));
	if (o->filter != NULL && (R.filter = luaL_newstate()) != NULL)
		luaL_requiref(R.filter, "string", luaopen_string, 1);
	for (;;) {
		active = 0;
		for (size_t i = 0; i < njobs && jobs != NULL; i++) {
			while (jobs[i].f == NULL && next < nfiles) {
				free(jobs[i].todo);
				memset(&jobs[i], 0, sizeof jobs[i]);
				jobs[i].f = &files[next++];
				if (tr_start(&jobs[i]) < 0)
					jobs[i].f = NULL;
			}
			active += jobs[i].f != NULL;
		}
		if (active == 0)
			break;
		tr_step(jobs, njobs);
	}
	for (size_t i = 0; i < njobs && jobs != NULL; i++)
		free(jobs[i].todo);
	free(jobs);
	for (size_t i = 0; i < R.nrules; i++)
		free(R.rules[i].name), free(R.rules[i].src);
	free(R.rules);
	if (R.filter != NULL)
		lua_close(R.filter);
	msgpack_sbuffer_destroy(&R.out);
}
