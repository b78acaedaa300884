/*
 * broker.c: the broker process. It learns who calls from the channel a
 * call arrives on and from what the master said that worker runs (ATTACH,
 * BEGIN, END); a worker's own words name nothing. Each call is decoded
 * strictly, found in the table of capabilities (brcap.c), judged by the
 * policy and the quotas, performed on the event loop, answered, and
 * audited. A worker that breaks the protocol (garbage, a call outside an
 * invocation, a second call before the first is answered) is reported to
 * the master, which kills it; the broker stays up. Uses link.c, msg.c,
 * policy.c, quota.c, kv*.c, http.c, audit.c, secrets.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "broker.h"
#include "brk.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "mpr.h"

struct broker B;

static void
brk_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

uint64_t
brk_ms_left(const struct br_worker *w)
{
	struct timespec t;
	long long ms;

	brk_now(&t);
	ms = (long long)(w->deadline.tv_sec - t.tv_sec) * 1000 +
	    (w->deadline.tv_nsec - t.tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

static void
brk_tell_master(msgpack_sbuffer *sb)
{
	if (B.master != NULL)
		link_send(B.master, sb->data, sb->size);
}

/* Report a worker to the master and stop listening to it. */
static void
brk_violation(struct br_worker *w, const char *why)
{
	msgpack_sbuffer sb;

	log_warn("broker: worker %llu (pool %s) broke the protocol: %s",
	    (unsigned long long)w->id, w->pool, why);
	msgpack_sbuffer_init(&sb);
	msg_violation_pack(&sb, w->id, why);
	brk_tell_master(&sb);
	msgpack_sbuffer_destroy(&sb);
	w->reported = 1;
	if (w->link != NULL)
		link_close(w->link, why);
}

static void
brk_call_free(struct br_call *c)
{
	if (c->pending != NULL)
		http_cancel(c->pending);
	brcap_free(c);
	msgpack_sbuffer_destroy(&c->args);
	free(c->rec_args);
	if (c->w != NULL && c->w->call == c)
		c->w->call = NULL;
	free(c);
}

/* Answer a call (when its worker still runs that invocation), audit it,
 * and free it. value: one msgpack value, or NULL for nil. */
void
brk_reply(struct br_call *c, enum mb_kind k, const char *msg,
    const char *value, size_t len)
{
	struct br_worker *w = c->w;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	c->pending = NULL;
	audit_record(c, k, msg);
	if (w != NULL && w->call == c)
		brrec_add(c, k, msg, value, len);
	if (w != NULL && w->link != NULL && w->call == c) {
		msgpack_sbuffer_init(&sb);
		msg_cap_reply_begin(&sb, &pk, c->seq, k, msg != NULL ? msg : "");
		if (value != NULL && len > 0)
			msgpack_sbuffer_write(&sb, value, len);
		else
			msgpack_pack_nil(&pk);
		if (msg_finish(&sb) == 0)
			link_send(w->link, sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
	}
	brk_call_free(c);
}

void
brk_replyf(struct br_call *c, enum mb_kind k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	brk_reply(c, k, msg, NULL, 0);
}

const struct br_cap *
brk_find_cap(const char *cap, const char *method)
{
	for (const struct br_cap *b = brk_caps; b->cap != NULL; b++)
		if (strcmp(b->cap, cap) == 0 && strcmp(b->method, method) == 0)
			return b;
	return NULL;
}

/* The policy, then the quotas; then the work. */
static void
brk_judge(struct br_call *c)
{
	struct br_worker *w = c->w;
	struct timespec t;

	if (B.audit_broken) {
		brk_replyf(c, MB_DENIED, "%s.%s: refused: the audit log cannot "
		    "be written", c->cap->cap, c->cap->method);
		return;
	}
	if (c->cap->kind >= 0) {
		policy_decide(&B.policy, &c->cc, &c->decision);
		if (!c->decision.allowed) {
			brk_replyf(c, MB_DENIED, "%s.%s: %s", c->cap->cap,
			    c->cap->method, c->decision.why);
			return;
		}
		clock_gettime(CLOCK_REALTIME, &t);	/* windows are UTC */
		if (quota_charge(B.quotas, &B.policy, &c->cc,
		    (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000,
		    &w->quota, &c->decision) < 0) {
			brk_replyf(c, MB_DENIED, "%s.%s: %s", c->cap->cap,
			    c->cap->method, c->decision.why);
			return;
		}
	}
	c->cap->perform(c);
}

static void
brk_call(struct br_worker *w, const char *buf, size_t len)
{
	struct msg_cap_call m;
	struct br_call *c;
	struct mpr r;

	mpr_init(&r, buf, len);
	if (msg_cap_call_decode(&r, &m) < 0) {
		brk_violation(w, r.err);
		return;
	}
	if (!w->active || w->call != NULL) {
		brk_violation(w, w->active ? "a call before the last was "
		    "answered" : "a call outside an invocation");
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		brk_violation(w, "out of memory");
		return;
	}
	c->w = w;
	c->seq = m.seq;
	brk_now(&c->t0);
	msgpack_sbuffer_init(&c->args);
	brrec_keep_args(c, m.args.p, m.args.n);
	w->call = c;
	w->calls++;
	snprintf(c->inv, sizeof c->inv, "%s", w->inv);
	snprintf(c->rule, sizeof c->rule, "%s", w->rule);
	snprintf(c->pool, sizeof c->pool, "%s", w->pool);
	c->cc.rule = c->rule;
	c->cc.pool = c->pool;
	if ((c->cap = brk_find_cap(m.cap, m.method)) == NULL) {
		static const struct br_cap unknown = { "?", "?", -1, 0, 0, 0 };

		c->cap = &unknown;
		brk_replyf(c, MB_BAD_REQUEST, "%s.%s: no such capability",
		    m.cap, m.method);
		return;
	}
	if (w->calls > w->calls_limit) {
		snprintf(c->decision.why, sizeof c->decision.why, "over the "
		    "invocation's calls limit of %llu",
		    (unsigned long long)w->calls_limit);
		brk_replyf(c, MB_DENIED, "%s.%s: %s", c->cap->cap,
		    c->cap->method, c->decision.why);
		return;
	}
	mpr_init(&r, m.args.p, m.args.n);
	if (c->cap->start(c, &r, m.nargs) == 0)
		brk_judge(c);
}

static void
brk_worker_message(struct link *l, const char *buf, size_t len, void *ud)
{
	struct br_worker *w = ud;
	enum proto_type t;

	(void)l;
	if (msg_type(buf, len, &t) < 0 || t != PROTO_CAP_CALL) {
		brk_violation(w, "a message that is not a capability call");
		return;
	}
	brk_call(w, buf, len);
}

static void
brk_forget_given(struct br_worker *w)
{
	for (int i = 0; i < w->ngiven; i++) {
		explicit_bzero((char *)w->given[i], strlen(w->given[i]));
		free((char *)w->given[i]);
		free((char *)w->given_name[i]);
	}
	w->ngiven = 0;
}

/* A call whose invocation or worker is gone: a kv operation still owes an
 * answer, so it is left to free itself; anything else ends now. */
static void
brk_abandon(struct br_worker *w, const char *why)
{
	struct br_call *c = w->call;

	if (c == NULL)
		return;
	w->call = NULL;
	c->w = NULL;
	if (c->kv_busy)
		return;
	audit_record(c, MB_KILLED, why);
	brk_call_free(c);
}

static void
brk_worker_free(struct br_worker *w)
{
	brk_forget_given(w);
	brrec_forget(w);
	TAILQ_REMOVE(&B.workers, w, entry);
	free(w);
}

static void
brk_worker_closed(struct link *l, const char *why, void *ud)
{
	struct br_worker *w = ud;

	(void)l;
	w->link = NULL;
	if (strcmp(why, "end of file") != 0 && !w->reported) {
		msgpack_sbuffer sb;	/* garbage the link refused */

		log_warn("broker: worker %llu (pool %s): %s",
		    (unsigned long long)w->id, w->pool, why);
		msgpack_sbuffer_init(&sb);
		msg_violation_pack(&sb, w->id, why);
		brk_tell_master(&sb);
		msgpack_sbuffer_destroy(&sb);
	}
	brk_abandon(w, "the worker went away first");
	if (w->active) {	/* the master's END or RECORD is on its way */
		w->closed = 1;
		return;
	}
	brk_worker_free(w);
}

static const struct link_ops brk_worker_ops = {
	brk_worker_message, NULL, brk_worker_closed
};

static struct br_worker *
brk_worker(uint64_t id)
{
	struct br_worker *w;

	TAILQ_FOREACH(w, &B.workers, entry)
		if (w->id == id)
			return w;
	return NULL;
}

/* Messages from the master, each in its own small function. */

static void
brk_attach(const char *buf, size_t len, int fd)
{
	struct br_worker *w;
	struct mpr r;
	uint64_t id;
	char pool[PROTO_NAME_MAX + 1];

	mpr_init(&r, buf, len);
	if (msg_attach_decode(&r, &id, pool, sizeof pool) < 0 || fd < 0 ||
	    brk_worker(id) != NULL || (w = calloc(1, sizeof *w)) == NULL) {
		log_err("broker: a bad ATTACH from the master");
		if (fd >= 0)
			close(fd);
		return;
	}
	w->id = id;
	snprintf(w->pool, sizeof w->pool, "%s", pool);
	w->link = link_new(B.base, fd, LINK_FRAMED, PROTO_FRAME_MAX,
	    &brk_worker_ops, w);
	if (w->link == NULL) {
		close(fd);
		free(w);
		return;
	}
	TAILQ_INSERT_TAIL(&B.workers, w, entry);
}

static void
brk_begin(struct mpr *r)
{
	struct msg_br_begin b;
	struct br_worker *w;

	if (msg_br_begin_decode(r, &b) < 0 || (w = brk_worker(b.worker)) ==
	    NULL)
		return;
	w->active = 1;
	snprintf(w->inv, sizeof w->inv, "%s", b.invocation);
	snprintf(w->rule, sizeof w->rule, "%s", b.rule);
	w->calls_limit = b.calls;
	w->calls = 0;
	brk_abandon(w, "a new invocation began first");
	brk_forget_given(w);
	brrec_forget(w);
	w->record = b.record;
	quota_inv_reset(&w->quota);
	brk_now(&w->deadline);
	w->deadline.tv_sec += (time_t)(b.deadline_ms / 1000);
	w->deadline.tv_nsec += (long)(b.deadline_ms % 1000) * 1000000;
	if (w->deadline.tv_nsec >= 1000000000) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000;
	}
}

/* The invocation is over: a call still running is abandoned. */
static void
brk_finish(struct br_worker *w)
{
	w->active = 0;
	brk_abandon(w, "the invocation ended first");
	brk_forget_given(w);
	brrec_forget(w);
	if (w->closed)
		brk_worker_free(w);
}

static void
brk_end(struct mpr *r)
{
	struct br_worker *w;
	uint64_t id;
	char inv[PROTO_ID_MAX + 1];

	if (msg_br_end_decode(r, &id, inv, sizeof inv) < 0 ||
	    (w = brk_worker(id)) == NULL || strcmp(inv, w->inv) != 0)
		return;
	brk_finish(w);
}

/* A recorded invocation is over: write what was kept, then end it. */
static void
brk_record(struct mpr *r)
{
	struct msg_record m;
	struct br_worker *w;

	if (msg_record_decode(r, &m) < 0 || (w = brk_worker(m.worker)) ==
	    NULL || !w->active || strcmp(m.invocation, w->inv) != 0)
		return;
	brk_abandon(w, "the invocation ended first");
	if (w->record)
		brrec_write(w, &m);
	brk_finish(w);
}

static int brk_load(char *, size_t);

static void
brk_send_stats(void)
{
	struct msg_cap_count c[BRK_MAX_CAPS];
	msgpack_sbuffer sb;
	int n = 0;

	for (int i = 0; i < BRK_MAX_CAPS && brk_caps[i].cap != NULL; i++) {
		snprintf(c[n].cap, sizeof c[n].cap, "%s.%s", brk_caps[i].cap,
		    brk_caps[i].method);
		c[n].allowed = B.counts[i][0];
		c[n].denied = B.counts[i][1];
		c[n].refused = B.counts[i][2];
		n++;
	}
	msgpack_sbuffer_init(&sb);
	msg_stats_pack(&sb, c, n);
	brk_tell_master(&sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
brk_reload(void)
{
	msgpack_sbuffer sb;
	char err[1024];
	int ok = brk_load(err, sizeof err) == 0;

	if (ok) {
		close(B.audit_fd);
		if ((B.audit_fd = audit_open(B.set.audit, err, sizeof err)) < 0) {
			log_err("broker: %s; refusing capability calls", err);
			B.audit_broken = 1;
		}
		snprintf(err, sizeof err, "reloaded %.900s", B.set.policy);
	}
	else
		log_err("broker: reload failed, keeping the old policy: %s",
		    err);
	msgpack_sbuffer_init(&sb);
	msg_reloaded_pack(&sb, ok, err);
	brk_tell_master(&sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
brk_master_message(struct link *l, const char *buf, size_t len, void *ud)
{
	enum proto_type t;
	struct mpr r;

	(void)ud;
	mpr_init(&r, buf, len);
	if (msg_type(buf, len, &t) < 0)
		t = 0;
	switch (t) {
	case PROTO_BR_ATTACH:
		brk_attach(buf, len, link_pop_fd(l));
		break;
	case PROTO_BR_BEGIN:
		brk_begin(&r);
		break;
	case PROTO_BR_END:
		brk_end(&r);
		break;
	case PROTO_BR_RECORD:
		brk_record(&r);
		break;
	case PROTO_BR_RELOAD:
		if (msg_br_reload_decode(&r) == 0)
			brk_reload();
		break;
	case PROTO_BR_STATS_ASK:
		if (msg_stats_ask_decode(&r) == 0)
			brk_send_stats();
		break;
	default:
		log_err("broker: a message from the master out of protocol");
	}
}

static void
brk_master_closed(struct link *l, const char *why, void *ud)
{
	(void)l, (void)why, (void)ud;
	B.master = NULL;
	event_base_loopbreak(B.base);	/* the master is gone: so are we */
}

static const struct link_ops brk_master_ops = {
	brk_master_message, NULL, brk_master_closed
};

/* Read the settings, the policy and the secrets; all or nothing. */
static int
brk_load(char *err, size_t len)
{
	struct settings set;
	struct policy pol;
	struct br_secrets sec = { 0 };

	if (settings_load(B.conf, &set, err, len) < 0 ||
	    policy_load(set.policy, &pol, err, len) < 0)
		return -1;
	if (set.secrets[0] != '\0' &&
	    secrets_load(set.secrets, &sec, err, len) < 0) {
		policy_free(&pol);
		return -1;
	}
	policy_free(&B.policy);
	secrets_free(&B.secrets);
	B.set = set;
	B.policy = pol;
	B.secrets = sec;
	B.audit_broken = 0;
	log_set_level(set.log_level);
	log_configure(set.log_facility, set.log_json);
	return 0;
}

static void __attribute__((noreturn))
brk_fatal(const char *what, const char *why)
{
	log_err("broker: %s: %s", what, why);
	_exit(1);
}

static void
brk_open_stores(void)
{
	char err[1024], dir[4200];

	if (B.set.kv_redis)
		B.kv = kv_open_redis(B.base, B.set.kv_address, B.set.kv_port,
		    err, sizeof err);
	else {
		if (mkdir(B.set.state, 0700) < 0 && errno != EEXIST)
			brk_fatal(B.set.state, strerror(errno));
		snprintf(dir, sizeof dir, "%s/kv", B.set.state);
		B.kv = kv_open_lmdb(dir, B.set.kv_size, err, sizeof err);
	}
	if (B.kv == NULL)
		brk_fatal("the kv store", err);
	if ((B.http = http_engine_new(B.base, err, sizeof err)) == NULL)
		brk_fatal("http", err);
	if ((B.audit_fd = audit_open(B.set.audit, err, sizeof err)) < 0)
		brk_fatal("the audit log", err);
	if ((B.quotas = quota_book_new()) == NULL)
		brk_fatal("quotas", "out of memory");
}

void
broker_main(int chan, const char *conf, int to_stderr)
{
	char err[1024];

	log_init("moonboxd", to_stderr, LOG_LV_INFO);
	TAILQ_INIT(&B.workers);
	snprintf(B.conf, sizeof B.conf, "%s", conf);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* the master says when */
	signal(SIGINT, SIG_IGN);
	if (brk_load(err, sizeof err) < 0)
		brk_fatal("configuration", err);
	/* Two priorities: what the master says (BEGIN, END) is read before
	 * the calls of workers, which always come after it. */
	if ((B.base = event_base_new()) == NULL ||
	    event_base_priority_init(B.base, 2) < 0)
		brk_fatal("event loop", "cannot start it");
	brk_open_stores();
	B.master = link_new(B.base, chan, LINK_FRAMED, PROTO_FRAME_MAX,
	    &brk_master_ops, NULL);
	if (B.master == NULL)
		brk_fatal("master channel", "cannot watch it");
	link_accept_fds(B.master);	/* ATTACH brings a channel */
	link_set_priority(B.master, 0);
	event_base_dispatch(B.base);
	kv_close(B.kv);
	http_engine_free(B.http);
	_exit(0);
}
