/*
 * job.c: the invoke method and the life of one invocation in the master:
 * the request is checked (rule name, input, options), routed to its pool,
 * and answered exactly once, with the rule's value or a typed error, the
 * usage figures and the log. Uses rpc.c and pool.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "conv.h"
#include "utf8.h"
#include "log.h"
#include "master.h"
#include "rpc.h"

static unsigned jobs_open;

unsigned
master_jobs_open(void)
{
	return jobs_open;
}

static void
job_new_id(char *id, size_t len)
{
	static uint64_t counter;
	unsigned char r[8];

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		uint64_t c = ++counter;

		memcpy(r, &c, sizeof r);
	}
	for (size_t i = 0; i < sizeof r && 2 * i + 2 < len; i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
}

struct job *
job_new(void)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	job_new_id(j->id, sizeof j->id);
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	jobs_open++;
	return j;
}

void
job_free(struct job *j)
{
	if (j->client != NULL)
		rpc_job_closed(j->client, j);
	if (j->timer != NULL)
		event_free(j->timer);
	if (j->gen != NULL)
		gen_release(j->gen);
	free(j->input);
	free(j);
	jobs_open--;
	master_jobs_changed();
}

static uint64_t
job_elapsed_us(const struct job *j)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)((t.tv_sec - j->t0.tv_sec) * 1000000 +
	    (t.tv_nsec - j->t0.tv_nsec) / 1000);
}

static void
job_count(struct job *j, enum mb_kind k)
{
	stats_outcome(stats_rule(j->rule), j->pool != NULL ? j->pool->stats :
	    NULL, k, job_elapsed_us(j));
}

static void
pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	rpc_pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void
pack_kv_ms(msgpack_packer *pk, const char *k, double ms)
{
	rpc_pack_str(pk, k);
	msgpack_pack_double(pk, ms);
}

/* usage: {instructions, memory, cpu_ms, wall_ms, queue_ms, log_dropped} */
static void
job_pack_usage(msgpack_packer *pk, const struct job *j,
    const struct msg_result *m)
{
	msgpack_pack_map(pk, 6);
	rpc_pack_str(pk, "instructions");
	if (m != NULL && m->counted)
		msgpack_pack_uint64(pk, m->instructions);
	else
		msgpack_pack_nil(pk);
	pack_kv_uint(pk, "memory", m != NULL ? m->memory : 0);
	pack_kv_ms(pk, "cpu_ms", m != NULL ? (double)m->cpu_us / 1000 : 0);
	pack_kv_ms(pk, "wall_ms", m != NULL ? (double)m->wall_us / 1000 : 0);
	pack_kv_ms(pk, "queue_ms", j->queue_ms);
	pack_kv_uint(pk, "log_dropped", m != NULL ? m->log_dropped : 0);
}

/* A log line as a string: bytes that are not UTF-8 become '?'. */
static void
job_pack_line(msgpack_packer *pk, const char *s, size_t n)
{
	char *copy;

	if (utf8_valid(s, n) || (copy = malloc(n ? n : 1)) == NULL) {
		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		copy[i] = (s[i] & 0x80) ? '?' : s[i];
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, copy, n);
	free(copy);
}

static void
job_pack_log(msgpack_packer *pk, const struct msg_result *m)
{
	struct mpr r;
	const char *s;
	size_t n;
	uint32_t count = 0;

	if (m == NULL) {
		msgpack_pack_array(pk, 0);
		return;
	}
	mpr_init(&r, m->log.p, m->log.n);
	mpr_array(&r, &count);	/* validated by msg_result_decode */
	msgpack_pack_array(pk, count);
	for (uint32_t i = 0; i < count; i++) {
		if (mpr_bytes(&r, &s, &n) < 0)
			s = "", n = 0;
		job_pack_line(pk, s, n);
	}
}

static void
job_pack_tail(msgpack_packer *pk, const struct job *j,
    const struct msg_result *m)
{
	rpc_pack_str(pk, "id");
	rpc_pack_str(pk, j->id);
	rpc_pack_str(pk, "usage");
	job_pack_usage(pk, j, m);
	rpc_pack_str(pk, "log");
	job_pack_log(pk, m);
}

/* Answer the client, count, log, free. */
static void
job_reply(struct job *j, enum mb_kind k, const char *msg, size_t len,
    const struct msg_result *m)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	job_count(j, k);
	if (k != MB_OK)
		log_debug("invocation %s rule %s pool %s: %s: %.*s", j->id,
		    j->rule, j->pool != NULL ? j->pool->conf->name : "-",
		    kind_name(k), (int)len, msg);
	if (j->client != NULL && k == MB_OK) {
		rpc_result_begin(&sb, &pk, j->msgid);
		msgpack_pack_map(&pk, 4);
		rpc_pack_str(&pk, "value");
		msgpack_sbuffer_write(&sb, m->result.p, m->result.n);
		job_pack_tail(&pk, j, m);
		rpc_result_end(j->client, &sb);
	} else if (j->client != NULL) {
		rpc_error_begin(&sb, &pk, j->msgid, k, msg, len, 3);
		job_pack_tail(&pk, j, m);
		rpc_error_end(j->client, &sb);
	}
	job_free(j);
}

/* A deadline the worker saw shortened by the wait in the queue is told
 * as the client gave it. */
void
job_done(struct job *j, const struct msg_result *m)
{
	char msg[256];

	if (m->kind == MB_TIMEOUT && j->queue_ms >= 1) {
		snprintf(msg, sizeof msg, "deadline of %llu ms passed (%.0f ms "
		    "of it waiting for a worker)", (unsigned long long)
		    ((j->limits.timeout_us + 500) / 1000), j->queue_ms);
		job_reply(j, m->kind, msg, strlen(msg), m);
		return;
	}
	job_reply(j, m->kind, m->message.p, m->message.n, m);
}

void
job_fail(struct job *j, enum mb_kind k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	job_reply(j, k, msg, strlen(msg), NULL);
}

/* options: {deadline = ms, memory = bytes, instructions = n, output =
 * bytes, log = bytes}, each only lowering what the pool allows. */
static int
job_options(struct mpr *r, struct lim_config *l, char *err, size_t len)
{
	static const char *const names[] = {
		"deadline", "memory", "instructions", "output", "log"
	};
	uint32_t n;

	if (mpr_is_nil(r))
		return 0;
	if (mpr_map(r, &n) < 0)
		return snprintf(err, len, "options must be a map"), -1;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn, which;
		uint64_t v;

		if (mpr_str(r, &k, &kn) < 0)
			return snprintf(err, len, "option names are strings"), -1;
		for (which = 0; which < 5; which++)
			if (strlen(names[which]) == kn &&
			    memcmp(names[which], k, kn) == 0)
				break;
		if (which == 5)
			return snprintf(err, len, "unknown option '%.*s'",
			    (int)(kn > 32 ? 32 : kn), k), -1;
		if (mpr_uint(r, &v) < 0)
			return snprintf(err, len, "option %s must be a "
			    "non-negative integer", names[which]), -1;
		switch (which) {
		case 0:
			if (v == 0)
				return snprintf(err, len, "deadline must be at "
				    "least 1 ms"), -1;
			if (v * 1000 < l->timeout_us)
				l->timeout_us = v * 1000;
			break;
		case 1:
			if (v > 0 && v < l->memory)
				l->memory = (size_t)v;
			break;
		case 2:
			if (v > 0 && (l->instructions == 0 ||
			    v < l->instructions))
				l->instructions = v;
			break;
		case 3:
			if (v == 0)
				return snprintf(err, len, "output must be at least "
				    "1 byte"), -1;
			if (v < l->output)
				l->output = (size_t)v;
			break;
		default:
			if (v < l->log)
				l->log = (size_t)v;
		}
	}
	return 0;
}

/* The input value, copied; NULL for nil. */
static int
job_input(struct job *j, struct mpr *r, char *err, size_t len)
{
	const char *p;
	size_t n;

	if (mpr_raw(r, MPR_MAX_DEPTH, &p, &n) < 0) {
		snprintf(err, len, "input: %s", strcmp(r->err,
		    "nesting is too deep") == 0 ? "nesting is deeper than 64 "
		    "levels" : r->err);
		return -1;
	}
	if (n == 1 && (unsigned char)p[0] == 0xc0)
		return 0;
	if ((j->input = malloc(n)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	memcpy(j->input, p, n);
	j->input_len = n;
	return 0;
}

/* The rule: a valid name that the current generation knows and runs. */
static const struct rule *
job_rule(struct rpc_call *call, struct mpr *r)
{
	const struct rule *rule;
	const char *name;
	size_t n;
	char msg[PROTO_NAME_MAX + 128];

	if (mpr_str(r, &name, &n) < 0 || !policy_rule_name_ok(name, n)) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST, "the rule "
		    "name must be a string of path segments of letters, digits, "
		    "'_', '-' and '.'");
		return NULL;
	}
	snprintf(msg, sizeof msg, "%.*s", (int)n, name);
	if ((rule = ruleset_find(&M.cur->rules, msg)) == NULL) {
		M.stats.not_found++;
		snprintf(msg, sizeof msg, "no rule named %.*s", (int)n, name);
		rpc_error(call->client, call->msgid, MB_NOT_FOUND, msg);
		return NULL;
	}
	if (rule->pool == NULL) {
		snprintf(msg, sizeof msg, "no pool of the policy runs rule %s",
		    rule->name);
		rpc_error(call->client, call->msgid, MB_DENIED, msg);
		return NULL;
	}
	return rule;
}

/* invoke [rule, input] or [rule, input, options] */
void
method_invoke(struct rpc_call *call)
{
	const struct rule *rule;
	struct pool *pool;
	struct job *j;
	char err[256];

	if (call->nparams < 2 || call->nparams > 3) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST,
		    "invoke takes [rule, input] or [rule, input, options]");
		return;
	}
	if ((rule = job_rule(call, call->params)) == NULL)
		return;
	pool = &M.cur->pools[rule->pool - M.cur->policy.pools];
	if ((j = job_new()) == NULL) {
		rpc_error(call->client, call->msgid, MB_INTERNAL, "out of memory");
		return;
	}
	snprintf(j->rule, sizeof j->rule, "%s", rule->name);
	j->limits = pool->conf->limits;
	j->msgid = call->msgid;
	if (job_input(j, call->params, err, sizeof err) < 0 ||
	    (call->nparams == 3 && job_options(call->params, &j->limits, err,
	    sizeof err) < 0) || (mpr_end(call->params) < 0 &&
	    snprintf(err, sizeof err, "bytes left over after the request")) ) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST, err);
		job_free(j);
		return;
	}
	j->gen = M.cur;
	M.cur->refs++;
	j->client = call->client;
	rpc_job_open(call->client, j);
	if (M.draining) {
		j->pool = pool;
		job_fail(j, MB_OVERLOADED, "moonboxd is shutting down; retry "
		    "on another instance");
		return;
	}
	pool_submit(pool, j);
}
