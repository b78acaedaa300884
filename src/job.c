/*
 * job.c: the life of one invocation in the master, whichever front end
 * asked for it: the request (invreq.h) is routed to its rule's pool and
 * answered exactly once, through its front end's sink, with the rule's
 * value or a typed error, the usage figures and the log. The answer is
 * packed here as msgpack; a front end sends it as it is or converts it.
 * Uses pool.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "conv.h"
#include "utf8.h"
#include "log.h"
#include "invreq.h"
#include "master.h"

static unsigned jobs_open;

unsigned
master_jobs_open(void)
{
	return jobs_open;
}

static void
job_new_id(char *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static unsigned char pool[4096];
	static size_t left;
	static uint64_t counter;
	unsigned char r[8];

	if (left < sizeof r)
		left = getrandom(pool, sizeof pool, GRND_NONBLOCK) ==
		    (ssize_t)sizeof pool ? sizeof pool : 0;
	if (left >= sizeof r) {
		left -= sizeof r;
		memcpy(r, pool + left, sizeof r);
	} else {
		uint64_t c = ++counter;

		memcpy(r, &c, sizeof r);
	}
	for (size_t i = 0; i < sizeof r && 2 * i + 2 < len; i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
		id[2 * i + 2] = '\0';
	}
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
	if (j->sink != NULL && j->sink->closed != NULL)
		j->sink->closed(j);
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
	/* Per-rule figures only for rules that exist: names a client makes
	 * up must not grow the table. */
	stats_outcome(j->pool != NULL ? stats_rule(j->rule) : NULL,
	    j->pool != NULL ? j->pool->stats : NULL, k, job_elapsed_us(j));
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void
pack_kv_ms(msgpack_packer *pk, const char *k, double ms)
{
	pack_str(pk, k);
	msgpack_pack_double(pk, ms);
}

/* usage: {instructions, memory, cpu_ms, wall_ms, queue_ms, calls,
 * log_dropped} */
static void
job_pack_usage(msgpack_packer *pk, const struct job *j,
    const struct msg_result *m)
{
	msgpack_pack_map(pk, 7);
	pack_str(pk, "instructions");
	if (m != NULL && m->counted)
		msgpack_pack_uint64(pk, m->instructions);
	else
		msgpack_pack_nil(pk);
	pack_kv_uint(pk, "memory", m != NULL ? m->memory : 0);
	pack_kv_ms(pk, "cpu_ms", m != NULL ? (double)m->cpu_us / 1000 : 0);
	pack_kv_ms(pk, "wall_ms", m != NULL ? (double)m->wall_us / 1000 : 0);
	pack_kv_ms(pk, "queue_ms", j->queue_ms);
	pack_kv_uint(pk, "calls", m != NULL ? m->calls : 0);
	pack_kv_uint(pk, "log_dropped", m != NULL ? m->log_dropped : 0);
}

/* Text for a client (a log line, a message) as a string: bytes that are
 * not UTF-8 become '?'. A worker's words and a rule's errors may be any
 * bytes; a msgpack str must not be. */
void
job_pack_text(msgpack_packer *pk, const char *s, size_t n)
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
		job_pack_text(pk, s, n);
	}
}

static void
job_pack_tail(msgpack_packer *pk, const struct job *j,
    const struct msg_result *m)
{
	pack_str(pk, "id");
	pack_str(pk, j->id);
	pack_str(pk, "usage");
	job_pack_usage(pk, j, m);
	pack_str(pk, "log");
	job_pack_log(pk, m);
}

/* {value, id, usage, log}: the value is the worker's, checked already. */
void
job_pack_result(msgpack_sbuffer *sb, const struct job *j,
    const struct msg_result *m)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	pack_str(&pk, "value");
	msgpack_sbuffer_write(sb, m->result.p, m->result.n);
	job_pack_tail(&pk, j, m);
}

/* {kind, message, id, usage, log}; m is NULL when no worker answered. */
void
job_pack_error(msgpack_sbuffer *sb, const struct job *j, enum mb_kind k,
    const char *msg, size_t len, const struct msg_result *m)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	pack_str(&pk, "kind");
	pack_str(&pk, kind_name(k));
	pack_str(&pk, "message");
	job_pack_text(&pk, msg, len);
	job_pack_tail(&pk, j, m);
}

/* Count, log, answer through the sink, free. */
static void
job_reply(struct job *j, enum mb_kind k, const char *msg, size_t len,
    const struct msg_result *m)
{
	job_count(j, k);
	if (k != MB_OK)
		log_inv(LOG_LV_DEBUG, j->id, j->rule, j->pool != NULL ?
		    j->pool->conf->name : NULL, "%s: %.*s", kind_name(k),
		    (int)len, msg);
	if (j->sink != NULL)
		j->sink->reply(j, k, msg, len, m);
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

/* Whether this invocation falls in the configured sample to record. */
static int
job_sampled(void)
{
	uint32_t r;

	if (M.cur->set.record_sample <= 0)
		return 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		return 0;
	return (double)r / 4294967296.0 < M.cur->set.record_sample;
}

/*
 * Start an invocation of what q asks, answered through sink (ud, aux and
 * tag are the sink's: its client and msgid, say). Answered at once when the
 * rule does not exist, no pool runs it, or the daemon is draining. -1
 * only when out of memory, with nothing answered.
 */
int
job_submit(const struct invreq *q, const struct job_sink *sink, void *ud,
    void *aux, uint32_t tag)
{
	const struct rule *rule = ruleset_find(&M.cur->rules, q->rule);
	struct job *j = job_new();

	if (j == NULL)
		return -1;
	j->sink = sink;
	j->sink_ud = ud;
	j->sink_aux = aux;
	j->msgid = tag;
	snprintf(j->rule, sizeof j->rule, "%s", q->rule);
	if (sink->opened != NULL)
		sink->opened(j);
	if (rule == NULL) {
		M.stats.not_found++;
		job_fail(j, MB_NOT_FOUND, "no rule named %s", q->rule);
		return 0;
	}
	if (rule->pool == NULL) {
		job_fail(j, MB_DENIED, "no pool of the policy runs rule %s",
		    rule->name);
		return 0;
	}
	j->pool = &M.cur->pools[rule->pool - M.cur->policy.pools];
	j->limits = j->pool->conf->limits;
	invopts_apply(&q->opts, &j->limits);
	j->record = invopts_record(&q->opts) || job_sampled();
	if (q->input != NULL && (j->input = malloc(q->input_len)) == NULL) {
		job_fail(j, MB_INTERNAL, "out of memory");
		return 0;
	}
	if (q->input != NULL)
		memcpy(j->input, q->input, q->input_len);
	j->input_len = q->input != NULL ? q->input_len : 0;
	j->gen = M.cur;
	M.cur->refs++;
	if (M.draining) {
		job_fail(j, MB_OVERLOADED, "moonboxd is shutting down; retry "
		    "on another instance");
		return 0;
	}
	pool_submit(j->pool, j);	/* may answer at once: overloaded */
	return 0;
}
