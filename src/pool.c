/*
 * pool.c: the master's workers. Each pool keeps between its minimum and
 * maximum of workers, forked by the spawner ahead of demand; invocations go
 * to an idle worker or wait in a bounded queue; every invocation in flight
 * has a deadline past which its worker is killed and replaced. Workers that
 * die unasked are replaced with a backoff when it keeps happening, and the
 * rule that was running is counted. Messages from workers go through one
 * table with the states they are permitted in; anything else is fatal for
 * the worker. Uses link.c, msg.c, chan.c and the job functions of rpc.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "chan.h"
#include "log.h"
#include "master.h"
#include "mpr.h"
#include "runner.h"

#define POOL_CRASH_WINDOW_MS	10000	/* crashes closer than this add up */
#define POOL_BACKOFF_FREE	2	/* crashes in a row before backoff */
#define POOL_BACKOFF_MIN_MS	10
#define POOL_BACKOFF_MAX_MS	5000
#define POOL_ORPHANS		64

static const char *const worker_state_names[] = {
	"spawning", "starting", "idle", "busy", "retiring", "dying"
};

/* Children reaped before the spawner told us their pid. */
static struct { pid_t pid; int status; } orphans[POOL_ORPHANS];
static unsigned norphans;

static void pool_dispatch(struct worker *, struct job *);
static void pool_crashed(struct pool *);
static void worker_gone(struct worker *, int);

static double
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

static struct timespec
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static struct timeval
tv_us(uint64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	return tv;
}

static int
state_is_live(enum worker_state s)
{
	return s == WS_SPAWNING || s == WS_STARTING || s == WS_IDLE ||
	    s == WS_BUSY;
}

static void
worker_set_state(struct worker *w, enum worker_state s)
{
	struct pool *p = w->pool;

	p->nlive += state_is_live(s) - state_is_live(w->state);
	p->nbusy += (s == WS_BUSY) - (w->state == WS_BUSY);
	w->state = s;
	if (s == WS_IDLE)
		w->idle_since = now();
}

unsigned
pool_count(const struct pool *p, enum worker_state s)
{
	const struct worker *w;
	unsigned n = 0;

	TAILQ_FOREACH(w, &p->workers, in_pool)
		n += w->state == s;
	return n;
}

void
pool_init(struct pool *p, struct gen *g, const struct pool_conf *c)
{
	memset(p, 0, sizeof *p);
	p->gen = g;
	p->conf = c;
	TAILQ_INIT(&p->workers);
	TAILQ_INIT(&p->queue);
	p->stats = stats_pool(c->name);
}

static void
worker_free(struct worker *w)
{
	struct pool *p = w->pool;

	worker_set_state(w, WS_DYING);
	if (w->deadline != NULL)
		event_free(w->deadline);
	TAILQ_REMOVE(&p->workers, w, in_pool);
	TAILQ_REMOVE(&M.all, w, in_all);
	free(w);
	gen_release(p->gen);
}

/* Kill now if the pid is known; otherwise as soon as it is. */
static void
worker_kill(struct worker *w)
{
	w->killed = 1;
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	if (w->state != WS_DYING)
		worker_set_state(w, WS_DYING);
}

/* Ask a worker to leave: it exits at end of file on its channel. */
static void
worker_retire(struct worker *w)
{
	w->killed = 1;		/* not a crash when it goes */
	worker_set_state(w, WS_RETIRING);
	w->pool->stats->retired++;
	if (w->link != NULL)
		link_close(w->link, "retired");
}

static void
worker_violation(struct worker *w, const char *what)
{
	log_warn("worker %llu (pool %s, pid %d) broke the protocol: %s; "
	    "killed", (unsigned long long)w->id, w->pool->conf->name,
	    (int)w->pid, what);
	pool_crashed(w->pool);
	worker_kill(w);
	if (w->link != NULL)
		link_close(w->link, what);
}

/* Give an idle worker the next queued job; a job that fails before it
 * reaches the worker leaves it idle for the one after. */
static void
pool_feed(struct worker *w)
{
	struct pool *p = w->pool;

	while (w->state == WS_IDLE && !TAILQ_EMPTY(&p->queue)) {
		struct job *j = TAILQ_FIRST(&p->queue);

		TAILQ_REMOVE(&p->queue, j, in_queue);
		p->nqueue--;
		pool_dispatch(w, j);
	}
}

/* Messages from a worker, each permitted in some states only. */

static void
wk_ready(struct worker *w, const char *buf, size_t len)
{
	(void)buf, (void)len;
	w->ready = 1;
	w->pool->crash_streak = 0;
	worker_set_state(w, WS_IDLE);
	pool_feed(w);
	if (w->state == WS_IDLE && w->pool->gen->retired)
		worker_retire(w);
}

static void
wk_failed(struct worker *w, const char *buf, size_t len)
{
	struct msg_span why;
	struct mpr r;

	mpr_init(&r, buf, len);
	if (msg_failed_decode(&r, &why) < 0) {
		worker_violation(w, r.err);
		return;
	}
	log_err("worker %llu of pool %s could not start: %.*s",
	    (unsigned long long)w->id, w->pool->conf->name, (int)why.n, why.p);
	w->pool->stats->spawn_failures++;
	pool_crashed(w->pool);
	worker_kill(w);
}

/* After a result: back to work, or out if it is due for recycling. */
static void
worker_next(struct worker *w)
{
	struct pool *p = w->pool;

	if (p->gen->retired || w->retire || (p->conf->recycle > 0 &&
	    w->invocations >= p->conf->recycle)) {
		if (!p->gen->retired)
			p->stats->recycled++;
		worker_retire(w);
		pool_maintain(p);
		return;
	}
	worker_set_state(w, WS_IDLE);
	pool_feed(w);
}

static void
wk_result(struct worker *w, const char *buf, size_t len)
{
	struct msg_result m;
	struct job *j = w->job;
	struct mpr r;

	mpr_init(&r, buf, len);
	if (msg_result_decode(&r, &m) < 0) {
		worker_violation(w, r.err);
		return;
	}
	if (strcmp(m.id, j->id) != 0) {
		worker_violation(w, "a result for another invocation");
		return;
	}
	evtimer_del(w->deadline);
	w->job = NULL;
	w->invocations++;
	bridge_finish(w, j, buf, len, m.kind, "");
	job_done(j, &m);
	worker_next(w);
}

#define ST(s)	(1u << (s))

static const struct {
	enum proto_type	 type;
	unsigned	 states;
	void		(*handle)(struct worker *, const char *, size_t);
} wk_dispatch[] = {
	{ PROTO_WK_READY,	ST(WS_SPAWNING) | ST(WS_STARTING),	wk_ready },
	{ PROTO_WK_FAILED,	ST(WS_SPAWNING) | ST(WS_STARTING),	wk_failed },
	{ PROTO_WK_RESULT,	ST(WS_BUSY),				wk_result },
};

static void
worker_on_message(struct link *l, const char *buf, size_t len, void *ud)
{
	struct worker *w = ud;
	enum proto_type t;

	(void)l;
	if (msg_type(buf, len, &t) < 0) {
		worker_violation(w, "a message that is not one");
		return;
	}
	for (size_t i = 0; i < sizeof wk_dispatch / sizeof wk_dispatch[0];
	    i++) {
		if (wk_dispatch[i].type != t)
			continue;
		if (!(wk_dispatch[i].states & ST(w->state)))
			break;
		wk_dispatch[i].handle(w, buf, len);
		return;
	}
	if (w->state != WS_DYING && w->state != WS_RETIRING)
		worker_violation(w, "a message not permitted now");
}

/* The channel is gone: the worker is dead or as good as; reaping it
 * finishes the story. */
static void
worker_on_closed(struct link *l, const char *why, void *ud)
{
	struct worker *w = ud;

	(void)l;
	w->link = NULL;
	if (w->state == WS_RETIRING || w->state == WS_DYING)
		return;
	log_debug("worker %llu of pool %s: channel closed: %s",
	    (unsigned long long)w->id, w->pool->conf->name, why);
	w->killed = 0;		/* it went by itself: a crash, once reaped */
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	worker_set_state(w, WS_DYING);
	pool_maintain(w->pool);
}

static const struct link_ops worker_link_ops = {
	worker_on_message, NULL, worker_on_closed
};

static void
worker_on_deadline(evutil_socket_t fd, short what, void *ud)
{
	struct worker *w = ud;
	struct job *j = w->job;
	struct rule_stats *rs = stats_rule(j->rule);

	(void)fd, (void)what;
	w->job = NULL;
	bridge_finish(w, j, NULL, 0, MB_TIMEOUT, "the rule ran past its "
	    "deadline and its worker was killed");
	worker_kill(w);
	w->pool->stats->kills++;
	w->pool->stats->restarts++;
	if (rs != NULL)
		rs->kills++;
	log_inv(LOG_LV_WARN, j->id, j->rule, w->pool->conf->name, "ran past "
	    "its deadline inside a library function: worker %llu killed",
	    (unsigned long long)w->id);
	job_fail(j, MB_TIMEOUT, "deadline of %llu ms passed while the rule ran "
	    "inside a library function; its worker was killed",
	    (unsigned long long)(j->limits.timeout_us / 1000));
	pool_maintain(w->pool);
}

static int
worker_send_spawn(struct worker *w, const int *theirs)
{
	const struct pool_conf *c = w->pool->conf;
	struct msg_spawn m = { 0 };
	msgpack_sbuffer sb;
	int r;

	m.worker = w->id;
	snprintf(m.pool, sizeof m.pool, "%s", c->name);
	m.uid = M.worker_uid;
	m.gid = M.worker_gid;
	snprintf(m.chroot, sizeof m.chroot, "%s", M.chroot);
	m.address_space = c->address_space > 0 ? c->address_space :
	    runner_address_space(&c->limits);
	m.cpu_seconds = c->worker_cpu_s;
	msgpack_sbuffer_init(&sb);
	msg_spawn_pack(&sb, &m);
	r = M.spawner == NULL ? -1 : chan_send_fds(link_fd(M.spawner), sb.data,
	    sb.size, theirs, 2, MSG_DONTWAIT);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

/* Two channels for a new worker: to us, and to the broker (whose end goes
 * to the broker now; if it cannot take it, the worker's capability calls
 * fail until it is replaced). The spawner gets the worker's ends. */
static int
worker_channels(struct worker *w, int *mine, int *theirs)
{
	int sv[2], bv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bv) < 0) {
		close(sv[0]), close(sv[1]);
		return -1;
	}
	if (bridge_attach(w, bv[0]) < 0)
		log_warn("worker %llu of pool %s starts without a broker: %s",
		    (unsigned long long)w->id, w->pool->conf->name,
		    strerror(errno));
	close(bv[0]);
	*mine = sv[0];
	theirs[0] = sv[1];
	theirs[1] = bv[1];
	return 0;
}

static int
worker_spawn(struct pool *p)
{
	struct worker *w = calloc(1, sizeof *w);
	int mine = -1, theirs[2] = { -1, -1 };

	if (w == NULL)
		return -1;
	w->id = ++M.next_worker;
	w->pool = p;
	w->state = WS_DYING;	/* not live until spawning */
	if (worker_channels(w, &mine, theirs) < 0) {
		free(w);
		return -1;
	}
	w->deadline = evtimer_new(M.base, worker_on_deadline, w);
	w->link = link_new(M.base, mine, LINK_FRAMED, PROTO_FRAME_MAX,
	    &worker_link_ops, w);
	if (w->deadline == NULL || w->link == NULL ||
	    worker_send_spawn(w, theirs) < 0) {
		log_err("cannot start a worker for pool %s: %s", p->conf->name,
		    strerror(errno));
		if (w->link != NULL)
			link_close(w->link, "spawn failed");
		else
			close(mine);
		close(theirs[0]), close(theirs[1]);
		if (w->deadline != NULL)
			event_free(w->deadline);
		free(w);
		p->stats->spawn_failures++;
		return -1;
	}
	close(theirs[0]), close(theirs[1]);
	p->gen->refs++;
	TAILQ_INSERT_TAIL(&p->workers, w, in_pool);
	TAILQ_INSERT_TAIL(&M.all, w, in_all);
	worker_set_state(w, WS_SPAWNING);
	p->stats->spawned++;
	return 0;
}

static struct worker *
worker_by_id(uint64_t id)
{
	struct worker *w;

	TAILQ_FOREACH(w, &M.all, in_all)
		if (w->id == id)
			return w;
	return NULL;
}

static struct worker *
worker_by_pid(pid_t pid)
{
	struct worker *w;

	TAILQ_FOREACH(w, &M.all, in_all)
		if (w->pid == pid)
			return w;
	return NULL;
}

static int
orphan_take(pid_t pid, int *status)
{
	for (unsigned i = 0; i < norphans; i++) {
		if (orphans[i].pid == pid) {
			*status = orphans[i].status;
			orphans[i] = orphans[--norphans];
			return 1;
		}
	}
	return 0;
}

static void
sp_spawned(const char *buf, size_t len)
{
	uint64_t id, pid;
	struct worker *w;
	struct mpr r;
	int status;

	mpr_init(&r, buf, len);
	if (msg_spawned_decode(&r, &id, &pid) < 0) {
		log_err("spawner: bad message: %s", r.err);
		return;
	}
	if ((w = worker_by_id(id)) == NULL)
		return;
	w->pid = (pid_t)pid;
	if (w->state == WS_SPAWNING)
		worker_set_state(w, WS_STARTING);
	if (w->state == WS_DYING || w->state == WS_RETIRING)
		kill(w->pid, w->state == WS_DYING ? SIGKILL : SIGTERM);
	if (orphan_take(w->pid, &status))
		worker_gone(w, status);
}

static void
sp_failed(const char *buf, size_t len)
{
	struct msg_span why;
	struct worker *w;
	struct mpr r;
	uint64_t id;

	mpr_init(&r, buf, len);
	if (msg_spawn_failed_decode(&r, &id, &why) < 0)
		return;
	if ((w = worker_by_id(id)) == NULL)
		return;
	log_err("cannot fork a worker for pool %s: %.*s", w->pool->conf->name,
	    (int)why.n, why.p);
	w->pool->stats->spawn_failures++;
	worker_gone(w, 0);
}

void
pool_spawner_message(const char *buf, size_t len)
{
	enum proto_type t;

	if (msg_type(buf, len, &t) < 0)
		return;
	if (t == PROTO_SP_SPAWNED)
		sp_spawned(buf, len);
	else if (t == PROTO_SP_FAILED)
		sp_failed(buf, len);
	else
		log_err("spawner: unexpected message type %d", (int)t);
}

static void
pool_describe_status(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

/* A crash: count it, and back off when they come in a row. */
static void
pool_crashed(struct pool *p)
{
	struct timespec t = now();
	unsigned extra;
	uint64_t ms;

	p->stats->crashes++;
	if (p->crash_streak > 0 && ms_between(&p->last_crash, &t) <
	    POOL_CRASH_WINDOW_MS)
		p->crash_streak++;
	else
		p->crash_streak = 1;
	p->last_crash = t;
	if (p->crash_streak <= POOL_BACKOFF_FREE)
		return;
	extra = p->crash_streak - POOL_BACKOFF_FREE - 1;
	ms = extra >= 10 ? POOL_BACKOFF_MAX_MS :
	    (uint64_t)POOL_BACKOFF_MIN_MS << extra;
	if (ms > POOL_BACKOFF_MAX_MS)
		ms = POOL_BACKOFF_MAX_MS;
	p->backoff_until = t;
	p->backoff_until.tv_sec += (time_t)(ms / 1000);
	p->backoff_until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (p->backoff_until.tv_nsec >= 1000000000) {
		p->backoff_until.tv_sec++;
		p->backoff_until.tv_nsec -= 1000000000;
	}
	log_warn("pool %s: %u workers died in a row; next start in %llu ms",
	    p->conf->name, p->crash_streak, (unsigned long long)ms);
}

/* The worker's process is gone (reaped, or never forked). */
static void
worker_gone(struct worker *w, int status)
{
	struct pool *p = w->pool;
	struct job *j = w->job;
	char how[96];
	int expected = w->killed || (WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 && w->state == WS_IDLE);

	pool_describe_status(status, how, sizeof how);
	if (w->state != WS_DYING)
		worker_set_state(w, WS_DYING);
	if (w->link != NULL)
		link_close(w->link, "reaped");
	w->job = NULL;
	if (j != NULL) {
		struct rule_stats *rs = stats_rule(j->rule);

		if (rs != NULL)
			rs->kills++;
		bridge_finish(w, j, NULL, 0, MB_KILLED, "the worker running "
		    "the rule died");
		log_inv(LOG_LV_WARN, j->id, j->rule, p->conf->name, "the rule "
		    "took its worker down: %s", how);
		job_fail(j, MB_KILLED, "the worker running the rule was %s",
		    how);
	}
	if (!expected || j != NULL)
		p->stats->restarts++;
	if (!expected) {
		if (j == NULL)
			log_warn("worker %llu of pool %s %s",
			    (unsigned long long)w->id, p->conf->name, how);
		pool_crashed(p);
	}
	pool_maintain(p);
	worker_free(w);		/* last: it may free a retired generation */
}

void
pool_reap(pid_t pid, int status)
{
	struct worker *w = worker_by_pid(pid);

	if (w != NULL) {
		worker_gone(w, status);
		return;
	}
	if (norphans == POOL_ORPHANS)
		memmove(orphans, orphans + 1, --norphans * sizeof orphans[0]);
	orphans[norphans].pid = pid;
	orphans[norphans].status = status;
	norphans++;
}

/* Send a job to an idle worker, with what is left of its deadline. */
static void
pool_dispatch(struct worker *w, struct job *j)
{
	const struct rule *rule = ruleset_find(&j->gen->rules, j->rule);
	struct inv_request req = { 0 };
	struct timespec t = now();
	double waited = ms_between(&j->t0, &t);
	uint64_t left_us, spent_us = (uint64_t)(waited * 1000);
	msgpack_sbuffer sb;

	j->queued = 0;
	if (j->timer != NULL)
		evtimer_del(j->timer);
	j->queue_ms = waited;
	if (rule == NULL) {
		job_fail(j, MB_NOT_FOUND, "rule %s is gone", j->rule);
		return;
	}
	if (spent_us >= j->limits.timeout_us) {
		job_fail(j, MB_TIMEOUT, "deadline of %llu ms passed while the "
		    "invocation waited for a worker", (unsigned long long)
		    (j->limits.timeout_us / 1000));
		return;
	}
	left_us = j->limits.timeout_us - spent_us;
	req.id = j->id;
	req.rule = j->rule;
	req.source = rule->source;
	req.source_len = rule->len;
	req.input = j->input;
	req.input_len = j->input_len;
	req.limits = j->limits;
	req.limits.timeout_us = left_us;
	msgpack_sbuffer_init(&sb);
	bridge_begin(w, j, left_us);
	if (msg_invoke_pack(&sb, &req) < 0 || link_send(w->link, sb.data,
	    sb.size) < 0) {
		bridge_end(w, j);
		msgpack_sbuffer_destroy(&sb);
		job_fail(j, MB_INTERNAL, "cannot send the invocation to a "
		    "worker");
		return;
	}
	msgpack_sbuffer_destroy(&sb);
	w->job = j;
	worker_set_state(w, WS_BUSY);
	{
		struct timeval tv = tv_us(left_us + w->pool->conf->grace_us);

		evtimer_add(w->deadline, &tv);
	}
}

static void
job_on_queue_deadline(evutil_socket_t fd, short what, void *ud)
{
	struct job *j = ud;
	struct pool *p = j->pool;

	(void)fd, (void)what;
	TAILQ_REMOVE(&p->queue, j, in_queue);
	p->nqueue--;
	j->queued = 0;
	job_fail(j, MB_TIMEOUT, "deadline of %llu ms passed while the "
	    "invocation waited for a worker of pool %s",
	    (unsigned long long)(j->limits.timeout_us / 1000), p->conf->name);
}

static struct worker *
pool_idle_worker(struct pool *p)
{
	struct worker *w;

	TAILQ_FOREACH(w, &p->workers, in_pool)
		if (w->state == WS_IDLE)
			return w;
	return NULL;
}

void
pool_submit(struct pool *p, struct job *j)
{
	struct worker *w = pool_idle_worker(p);
	struct timespec t = now();
	uint64_t spent_us = (uint64_t)(ms_between(&j->t0, &t) * 1000);
	struct timeval tv;

	j->pool = p;
	if (w != NULL) {
		pool_dispatch(w, j);
		return;
	}
	/* It may wait for a worker that is starting or can still be started,
	 * whatever the queue's length; past those, only queue places. */
	if (p->nqueue >= p->conf->queue + (p->conf->max_workers - p->nbusy)) {
		job_fail(j, MB_OVERLOADED, "pool %s is at capacity (%u workers "
		    "busy, %u invocations waiting); retry later",
		    p->conf->name, p->nbusy, p->nqueue);
		return;
	}
	if (j->timer == NULL &&
	    (j->timer = evtimer_new(M.base, job_on_queue_deadline, j)) == NULL) {
		job_fail(j, MB_INTERNAL, "out of memory");
		return;
	}
	TAILQ_INSERT_TAIL(&p->queue, j, in_queue);
	j->queued = 1;
	if (++p->nqueue > p->stats->queue_peak)
		p->stats->queue_peak = p->nqueue;
	tv = tv_us(spent_us < j->limits.timeout_us ?
	    j->limits.timeout_us - spent_us : 0);
	evtimer_add(j->timer, &tv);
	pool_maintain(p);
}

/* Take a job out of its pool's queue (its client went away, or a reload
 * moves it). */
void
pool_unqueue(struct job *j)
{
	if (!j->queued)
		return;
	TAILQ_REMOVE(&j->pool->queue, j, in_queue);
	j->pool->nqueue--;
	j->queued = 0;
	evtimer_del(j->timer);
}

static void
pool_on_respawn(evutil_socket_t fd, short what, void *ud)
{
	(void)fd, (void)what;
	pool_maintain(ud);
}

/* Start workers up to what the pool needs: its minimum, or as many as
 * there is work for, up to its maximum; later if in backoff. */
void
pool_maintain(struct pool *p)
{
	unsigned target = p->nbusy + p->nqueue;
	struct timespec t = now();

	if (p->gen->retired || M.draining)
		return;
	if (target < p->conf->min_workers)
		target = p->conf->min_workers;
	if (target > p->conf->max_workers)
		target = p->conf->max_workers;
	if (p->nlive >= target)
		return;
	if (ms_between(&t, &p->backoff_until) > 0) {
		struct timeval tv = tv_us((uint64_t)(ms_between(&t,
		    &p->backoff_until) * 1000) + 1);

		if (p->respawn == NULL)
			p->respawn = evtimer_new(M.base, pool_on_respawn, p);
		if (p->respawn != NULL && !evtimer_pending(p->respawn, NULL))
			evtimer_add(p->respawn, &tv);
		return;
	}
	while (p->nlive < target)
		if (worker_spawn(p) < 0) {
			pool_crashed(p);
			break;
		}
}

/* Retire every idle worker (a retired generation's). */
void
pool_retire_idle(struct pool *p)
{
	struct worker *w, *next;

	TAILQ_FOREACH_SAFE(w, &p->workers, in_pool, next)
		if (w->state == WS_IDLE || w->state == WS_STARTING ||
		    w->state == WS_SPAWNING)
			worker_retire(w);
}

/* Once a second: extra workers idle for long enough retire. */
void
pool_tick(void)
{
	struct timespec t = now();

	for (int i = 0; M.cur != NULL && i < M.cur->npools; i++) {
		struct pool *p = &M.cur->pools[i];
		struct worker *w, *next;

		TAILQ_FOREACH_SAFE(w, &p->workers, in_pool, next) {
			if (p->nlive <= p->conf->min_workers)
				break;
			if (w->state == WS_IDLE && ms_between(&w->idle_since,
			    &t) * 1000 >= (double)p->conf->idle_us)
				worker_retire(w);
		}
		pool_maintain(p);
	}
}

void
pool_kill_all(void)
{
	struct worker *w;

	TAILQ_FOREACH(w, &M.all, in_all)
		if (w->pid > 0)
			kill(w->pid, SIGKILL);
}

const char *
pool_worker_state_name(enum worker_state s)
{
	return worker_state_names[s];
}

void
pool_free(struct pool *p)
{
	if (p->respawn != NULL)
		event_free(p->respawn);
	p->respawn = NULL;
}

/* Retire a worker now if it is not running anything, else after. */
void
pool_retire_worker(struct worker *w)
{
	if (w->state == WS_BUSY)
		w->retire = 1;
	else if (state_is_live(w->state))
		worker_retire(w);
}

/* The broker says this worker broke its protocol. */
void
pool_violation(uint64_t id, const char *why, size_t len)
{
	struct worker *w = worker_by_id(id);
	char msg[256];

	snprintf(msg, sizeof msg, "on its broker channel: %.*s", (int)len, why);
	if (w != NULL && w->state != WS_DYING)
		worker_violation(w, msg);
}
