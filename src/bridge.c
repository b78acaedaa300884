/*
 * bridge.c: the master's side of the broker protocol. The master tells the
 * broker about each worker (its channel travels with PROTO_BR_ATTACH) and
 * which invocation it runs (BEGIN before the worker gets it, END once it is
 * answered), so the broker knows who calls without believing the worker.
 * If the broker dies it is started again, and every worker is retired:
 * their broker channels died with it, and new workers get new ones. Uses
 * link.c, chan.c, msg.c and pool.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "broker.h"
#include "chan.h"
#include "log.h"
#include "master.h"
#include "mpr.h"

#define BRIDGE_RESTARTS		5	/* in a minute, before giving up */

static struct {
	int	 restarts;
	time_t	 window;
} bridge;

static void
bridge_on_message(struct link *l, const char *buf, size_t len, void *ud)
{
	struct msg_span why;
	enum proto_type t;
	struct mpr r;
	uint64_t worker;
	int ok;

	(void)l, (void)ud;
	mpr_init(&r, buf, len);
	if (msg_type(buf, len, &t) < 0)
		t = 0;
	if (t == PROTO_BR_VIOLATION && msg_violation_decode(&r, &worker,
	    &why) == 0)
		pool_violation(worker, why.p, why.n);
	else if (t == PROTO_BR_STATS) {
		if (msg_stats_decode(&r, M.caps, MASTER_MAX_CAPS, &M.ncaps) < 0)
			M.ncaps = 0;
	} else if (t == PROTO_BR_RELOADED && msg_reloaded_decode(&r, &ok,
	    &why) == 0) {
		if (ok)
			log_info("broker: %.*s", (int)why.n, why.p);
		else
			log_err("broker kept its old policy: %.*s", (int)why.n,
			    why.p);
	} else
		log_err("broker: a message out of protocol: %s",
		    r.err != NULL ? r.err : "unknown type");
}

static void bridge_on_closed(struct link *, const char *, void *);

static const struct link_ops bridge_ops = {
	bridge_on_message, NULL, bridge_on_closed
};

int
bridge_start(void)
{
	char *argv[] = { "moonboxd", BROKER_ARG, M.conf_path,
	    M.foreground ? "stderr" : "syslog", NULL };
	int fd = master_exec_self(argv, &M.broker_pid);

	if (fd < 0)
		return -1;
	M.broker = link_new(M.base, fd, LINK_FRAMED, PROTO_FRAME_MAX,
	    &bridge_ops, NULL);
	return M.broker != NULL ? 0 : -1;
}

/* Every worker holds a channel to the dead broker: replace them all. */
static void
bridge_retire_workers(void)
{
	struct worker *w, *next;

	TAILQ_FOREACH_SAFE(w, &M.all, in_all, next)
		pool_retire_worker(w);
	for (int i = 0; i < M.cur->npools; i++)
		pool_maintain(&M.cur->pools[i]);
}

static void
bridge_on_closed(struct link *l, const char *why, void *ud)
{
	time_t t = time(NULL);

	(void)l, (void)ud;
	M.broker = NULL;
	if (M.draining)
		return;
	log_err("the broker is gone (%s); starting another", why);
	if (t - bridge.window > 60) {
		bridge.window = t;
		bridge.restarts = 0;
	}
	if (++bridge.restarts > BRIDGE_RESTARTS || bridge_start() < 0) {
		log_err("cannot keep a broker running; capability calls fail "
		    "until the next reload");
		return;
	}
	bridge_retire_workers();
}

/* Hand the broker its end of a new worker's channel. Only when nothing is
 * queued on the link: a frame sent directly must not cut into another. */
int
bridge_attach(struct worker *w, int fd)
{
	msgpack_sbuffer sb;
	int r;

	if (M.broker == NULL || link_pending(M.broker) > 0) {
		errno = EAGAIN;
		return -1;
	}
	msgpack_sbuffer_init(&sb);
	msg_attach_pack(&sb, w->id, w->pool->conf->name);
	r = chan_send_fds(link_fd(M.broker), sb.data, sb.size, &fd, 1,
	    MSG_DONTWAIT);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

/* left_us: what is left of the invocation's deadline. */
void
bridge_begin(struct worker *w, const struct job *j, uint64_t left_us)
{
	struct msg_br_begin b = { .worker = w->id, .calls = j->limits.calls,
	    .deadline_ms = (left_us + 999) / 1000, .record = j->record };
	msgpack_sbuffer sb;

	if (M.broker == NULL)
		return;
	snprintf(b.invocation, sizeof b.invocation, "%s", j->id);
	snprintf(b.rule, sizeof b.rule, "%s", j->rule);
	msgpack_sbuffer_init(&sb);
	msg_br_begin_pack(&sb, &b);
	link_send(M.broker, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* A recorded invocation ends with what the broker needs to write it:
 * the rule, its input, its limits and the worker's RESULT (or, when no
 * worker answered, the outcome the master gave). */
static void
bridge_record(struct worker *w, const struct job *j, const char *result,
    size_t len, enum mb_kind k, const char *msg)
{
	const struct rule *r = ruleset_find(&j->gen->rules, j->rule);
	struct msg_record m = { .worker = w->id, .limits = j->limits,
	    .kind = k };
	msgpack_sbuffer sb;

	snprintf(m.invocation, sizeof m.invocation, "%s", j->id);
	snprintf(m.rule, sizeof m.rule, "%s", j->rule);
	m.source.p = r != NULL ? r->source : "";
	m.source.n = r != NULL ? r->len : 0;
	m.input.p = j->input;
	m.input.n = j->input_len;
	m.result.p = result;
	m.result.n = len;
	m.message.p = msg;
	m.message.n = strlen(msg);
	msgpack_sbuffer_init(&sb);
	if (msg_record_pack(&sb, &m) == 0)
		link_send(M.broker, sb.data, sb.size);
	else
		log_warn("invocation %s: too large to record", j->id);
	msgpack_sbuffer_destroy(&sb);
}

/* The invocation is over; result is the worker's RESULT body, or NULL
 * with what the master answered instead. */
void
bridge_finish(struct worker *w, const struct job *j, const char *result,
    size_t len, enum mb_kind k, const char *msg)
{
	if (M.broker == NULL)
		return;
	if (j->record) {
		bridge_record(w, j, result, result != NULL ? len : 0, k, msg);
		return;
	}
	bridge_end(w, j);
}

void
bridge_end(struct worker *w, const struct job *j)
{
	msgpack_sbuffer sb;

	if (M.broker == NULL)
		return;
	msgpack_sbuffer_init(&sb);
	msg_br_end_pack(&sb, w->id, j->id);
	link_send(M.broker, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* Ask for the broker's counts; the answer comes to the metrics later. */
void
bridge_stats(void)
{
	msgpack_sbuffer sb;

	if (M.broker == NULL)
		return;
	msgpack_sbuffer_init(&sb);
	msg_stats_ask_pack(&sb);
	link_send(M.broker, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

void
bridge_reload(void)
{
	msgpack_sbuffer sb;

	if (M.broker == NULL) {
		if (bridge_start() == 0)
			bridge_retire_workers();
		return;
	}
	msgpack_sbuffer_init(&sb);
	msg_br_reload_pack(&sb);
	link_send(M.broker, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}
