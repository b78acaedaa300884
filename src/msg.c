/*
 * msg.c: packing and strict decoding of the internal messages (proto.h).
 * Each message has a pack function and a decode function side by side; a
 * decoder reads the array header, the type, every field in order and then
 * insists that nothing is left over. Uses msgpack-c to pack and mpr.c to
 * read.
 */
#include <string.h>

#include "conv.h"
#include "limit.h"
#include "mpr.h"
#include "msg.h"

void
msg_begin(msgpack_sbuffer *sb, msgpack_packer *pk, enum proto_type t,
    int nfields)
{
	static const char zero[PROTO_FRAME_HEADER];

	msgpack_sbuffer_clear(sb);
	msgpack_sbuffer_write(sb, zero, sizeof zero);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, (size_t)nfields + 1);
	msgpack_pack_int(pk, (int)t);
}

/* Patch the length in; -1 if the frame is over the cap or was packed
 * short of memory (msgpack-c's buffer skips a write it cannot make and
 * takes the next): the frame is then emptied, so that no one sends it. */
int
msg_finish(msgpack_sbuffer *sb)
{
	size_t n;

	if (sb->data == NULL || sb->size < PROTO_FRAME_HEADER) {
		msgpack_sbuffer_clear(sb);
		return -1;
	}
	n = sb->size - PROTO_FRAME_HEADER;
	if (n > PROTO_FRAME_MAX ||
	    !mpr_whole(sb->data + PROTO_FRAME_HEADER, n)) {
		msgpack_sbuffer_clear(sb);
		return -1;
	}
	sb->data[0] = (char)(n >> 24);
	sb->data[1] = (char)(n >> 16);
	sb->data[2] = (char)(n >> 8);
	sb->data[3] = (char)n;
	return 0;
}

int
msg_type(const char *buf, size_t len, enum proto_type *t)
{
	struct mpr r;
	uint32_t n;
	int64_t v;

	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || n == 0 || mpr_int(&r, &v) < 0)
		return -1;
	*t = (enum proto_type)v;
	return 0;
}

int
msg_fail(struct mpr *r, const char *what)
{
	r->err = what;
	return -1;
}

/* The array header with exactly nfields after the type, and the type. */
int
msg_open(struct mpr *r, int t, uint32_t nfields)
{
	uint32_t n;
	int64_t v;

	if (mpr_array(r, &n) < 0 || mpr_int(r, &v) < 0)
		return -1;
	if (v != (int64_t)t)
		return msg_fail(r, "message of another type");
	if (n != nfields + 1)
		return msg_fail(r, "message has the wrong number of fields");
	return 0;
}

/* A string field into buf: shorter than cap, no NUL inside. */
static int
msg_cstr(struct mpr *r, char *buf, size_t cap)
{
	const char *s;
	size_t n;

	if (mpr_str(r, &s, &n) < 0)
		return -1;
	if (n >= cap || memchr(s, '\0', n) != NULL)
		return msg_fail(r, "string field too long or holds a NUL");
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int
msg_bytes(struct mpr *r, struct msg_span *sp)
{
	return mpr_bytes(r, &sp->p, &sp->n);
}

void
msg_pack_bytes(msgpack_packer *pk, const char *s, size_t n, int bin)
{
	if (bin) {
		msgpack_pack_bin(pk, n);
		msgpack_pack_bin_body(pk, s, n);
	} else {
		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, s, n);
	}
}

void
msg_pack_cstr(msgpack_packer *pk, const char *s)
{
	msg_pack_bytes(pk, s != NULL ? s : "", s != NULL ? strlen(s) : 0, 0);
}

/* INVOKE */

int
msg_invoke_pack(msgpack_sbuffer *sb, const struct inv_request *req)
{
	const struct lim_config *l = &req->limits;
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_WK_INVOKE, 5);
	msg_pack_cstr(&pk, req->id);
	msg_pack_cstr(&pk, req->rule);
	msg_pack_bytes(&pk, req->source, req->source_len, 0);
	msg_pack_bytes(&pk, req->input != NULL ? req->input : "",
	    req->input != NULL ? req->input_len : 0, 1);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint64(&pk, l->memory);
	msgpack_pack_uint64(&pk, l->instructions);
	msgpack_pack_uint64(&pk, l->timeout_us);
	msgpack_pack_uint64(&pk, l->output);
	msgpack_pack_uint64(&pk, l->log);
	msgpack_pack_uint64(&pk, l->calls);
	return msg_finish(sb);
}

static int
msg_limits_decode(struct mpr *r, struct lim_config *l)
{
	uint64_t v[6];
	uint32_t n;

	if (mpr_array(r, &n) < 0)
		return -1;
	if (n != 6)
		return msg_fail(r, "limits have the wrong number of fields");
	for (int i = 0; i < 6; i++)
		if (mpr_uint(r, &v[i]) < 0)
			return -1;
	if (v[0] == 0 || v[0] > SIZE_MAX / 4 || v[2] == 0 ||
	    v[3] > SIZE_MAX / 4 || v[4] > SIZE_MAX / 4)
		return msg_fail(r, "limits out of range");
	l->memory = (size_t)v[0];
	l->instructions = v[1];
	l->timeout_us = v[2];
	l->output = (size_t)v[3];
	l->log = (size_t)v[4];
	l->calls = v[5];
	return 0;
}

int
msg_invoke_decode(struct mpr *r, struct msg_invoke *m)
{
	if (msg_open(r, PROTO_WK_INVOKE, 5) < 0 ||
	    msg_cstr(r, m->id, sizeof m->id) < 0 ||
	    msg_cstr(r, m->rule, sizeof m->rule) < 0 ||
	    msg_bytes(r, &m->source) < 0 ||
	    msg_bytes(r, &m->input) < 0 ||
	    msg_limits_decode(r, &m->limits) < 0)
		return -1;
	return mpr_end(r);
}

/* The request a decoded INVOKE stands for; chunk holds "@rule". */
void
msg_invoke_request(const struct msg_invoke *m, struct inv_request *req,
    char *chunk, size_t len)
{
	snprintf(chunk, len, "@%s.lua", m->rule);
	memset(req, 0, sizeof *req);
	req->rule = m->rule;
	req->chunkname = chunk;
	req->source = m->source.p;
	req->source_len = m->source.n;
	req->input = m->input.n > 0 ? m->input.p : NULL;
	req->input_len = m->input.n;
	req->id = m->id;
	req->limits = m->limits;
}

/* Milliseconds as whole microseconds, saturated: a double out of uint64's
 * range (a decoded 2^64-1 us comes back rounded up) must not be cast. */
static uint64_t
msg_ms_to_us(double ms)
{
	double us = ms * 1000;

	if (!(us > 0))
		return 0;
	if (us >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)us;
}

/* RESULT */

int
msg_result_pack(msgpack_sbuffer *sb, const char *id,
    const struct inv_outcome *o)
{
	struct lim m = { .log = o->log };
	msgpack_packer pk;
	const char *s;
	size_t at = 0, n;

	msg_begin(sb, &pk, PROTO_WK_RESULT, 7);
	msg_pack_cstr(&pk, id);
	msg_pack_cstr(&pk, kind_name(o->kind));
	msg_pack_cstr(&pk, o->message);
	if (o->kind == MB_OK)
		msg_pack_bytes(&pk, o->result.data, o->result.size, 1);
	else
		msg_pack_bytes(&pk, "", 0, 1);
	msgpack_pack_array(&pk, 6);
	if (o->counted)
		msgpack_pack_uint64(&pk, o->instructions);
	else
		msgpack_pack_nil(&pk);
	msgpack_pack_uint64(&pk, o->memory);
	msgpack_pack_uint64(&pk, msg_ms_to_us(o->cpu_ms));
	msgpack_pack_uint64(&pk, msg_ms_to_us(o->wall_ms));
	msgpack_pack_uint64(&pk, o->calls);
	msgpack_pack_uint64(&pk, o->log.dropped);
	msgpack_pack_array(&pk, o->log.lines);
	while (lim_log_next(&m, &at, &s, &n))
		msg_pack_bytes(&pk, s, n, 1);
	if (o->has_seed) {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_int64(&pk, o->seed[0]);
		msgpack_pack_int64(&pk, o->seed[1]);
	} else
		msgpack_pack_nil(&pk);
	return msg_finish(sb);
}

static int
msg_usage_decode(struct mpr *r, struct msg_result *m)
{
	uint32_t n;

	if (mpr_array(r, &n) < 0)
		return -1;
	if (n != 6)
		return msg_fail(r, "usage has the wrong number of fields");
	m->counted = !mpr_is_nil(r);
	if ((m->counted && mpr_uint(r, &m->instructions) < 0) ||
	    mpr_uint(r, &m->memory) < 0 || mpr_uint(r, &m->cpu_us) < 0 ||
	    mpr_uint(r, &m->wall_us) < 0 || mpr_uint(r, &m->calls) < 0 ||
	    mpr_uint(r, &m->log_dropped) < 0)
		return -1;
	return 0;
}

static int
msg_log_decode(struct mpr *r, struct msg_result *m)
{
	const unsigned char *start = r->p;
	struct msg_span line;

	if (mpr_array(r, &m->log_lines) < 0)
		return -1;
	for (uint32_t i = 0; i < m->log_lines; i++)
		if (msg_bytes(r, &line) < 0)
			return -1;
	m->log.p = (const char *)start;
	m->log.n = (size_t)(r->p - start);
	return 0;
}

static int
msg_seed_decode(struct mpr *r, struct msg_result *m)
{
	uint32_t n;

	if (mpr_is_nil(r))
		return 0;
	if (mpr_array(r, &n) < 0 || n != 2 || mpr_int(r, &m->seed[0]) < 0 ||
	    mpr_int(r, &m->seed[1]) < 0)
		return r->err != NULL ? -1 : msg_fail(r, "seed is two integers");
	m->has_seed = 1;
	return 0;
}

/* The result must be exactly one value we could have packed ourselves. */
static int
msg_result_value(struct mpr *r, const struct msg_result *m)
{
	struct conv_error err;

	if (m->kind != MB_OK)
		return m->result.n == 0 ? 0 :
		    msg_fail(r, "a failed invocation carries a result");
	if (conv_check(m->result.p, m->result.n, &err) < 0)
		return msg_fail(r, "the result is not one valid value");
	return 0;
}

int
msg_result_decode(struct mpr *r, struct msg_result *m)
{
	char kind[32];

	memset(m, 0, sizeof *m);
	if (msg_open(r, PROTO_WK_RESULT, 7) < 0 ||
	    msg_cstr(r, m->id, sizeof m->id) < 0 ||
	    msg_cstr(r, kind, sizeof kind) < 0)
		return -1;
	if (kind_from_name(kind, &m->kind) < 0)
		return msg_fail(r, "unknown error kind");
	if (mpr_str(r, &m->message.p, &m->message.n) < 0 ||
	    msg_bytes(r, &m->result) < 0 || msg_result_value(r, m) < 0 ||
	    msg_usage_decode(r, m) < 0 || msg_log_decode(r, m) < 0 ||
	    msg_seed_decode(r, m) < 0)
		return -1;
	return mpr_end(r);
}

/* Fill an outcome from a decoded RESULT (for moonbox run). */
void
msg_result_outcome(const struct msg_result *m, struct inv_outcome *o)
{
	struct lim lm;
	struct mpr r;
	struct msg_span line;
	uint32_t n;

	o->kind = m->kind;
	snprintf(o->message, sizeof o->message, "%.*s",
	    (int)(m->message.n < sizeof o->message ? m->message.n :
	    sizeof o->message - 1), m->message.p);
	msgpack_sbuffer_clear(&o->result);
	if (m->kind == MB_OK)
		msgpack_sbuffer_write(&o->result, m->result.p, m->result.n);
	o->counted = m->counted;
	o->instructions = m->instructions;
	o->calls = m->calls;
	o->has_seed = m->has_seed;
	memcpy(o->seed, m->seed, sizeof o->seed);
	o->memory = (size_t)m->memory;
	o->cpu_ms = (double)m->cpu_us / 1000;
	o->wall_ms = (double)m->wall_us / 1000;
	memset(&lm, 0, sizeof lm);
	lm.cfg.log = SIZE_MAX;
	mpr_init(&r, m->log.p, m->log.n);
	if (mpr_array(&r, &n) == 0)
		for (uint32_t i = 0; i < n && msg_bytes(&r, &line) == 0; i++)
			lim_log_append(&lm, line.p, line.n);
	lm.log.dropped += (unsigned)m->log_dropped;
	o->log = lm.log;
}

/* READY, FAILED */

void
msg_ready_pack(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_WK_READY, 0);
	msg_finish(sb);
}

void
msg_failed_pack(msgpack_sbuffer *sb, const char *why)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_WK_FAILED, 1);
	msg_pack_cstr(&pk, why);
	msg_finish(sb);
}

int
msg_failed_decode(struct mpr *r, struct msg_span *why)
{
	if (msg_open(r, PROTO_WK_FAILED, 1) < 0 ||
	    mpr_str(r, &why->p, &why->n) < 0)
		return -1;
	return mpr_end(r);
}

/* SPAWN, SPAWNED, SPAWN FAILED */

void
msg_spawn_pack(msgpack_sbuffer *sb, const struct msg_spawn *s)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_SP_SPAWN, 7);
	msgpack_pack_uint64(&pk, s->worker);
	msg_pack_cstr(&pk, s->pool);
	msgpack_pack_uint64(&pk, s->uid);
	msgpack_pack_uint64(&pk, s->gid);
	msg_pack_cstr(&pk, s->chroot);
	msgpack_pack_uint64(&pk, s->address_space);
	msgpack_pack_uint64(&pk, s->cpu_seconds);
	msg_finish(sb);
}

int
msg_spawn_decode(struct mpr *r, struct msg_spawn *s)
{
	if (msg_open(r, PROTO_SP_SPAWN, 7) < 0 ||
	    mpr_uint(r, &s->worker) < 0 ||
	    msg_cstr(r, s->pool, sizeof s->pool) < 0 ||
	    mpr_uint(r, &s->uid) < 0 || mpr_uint(r, &s->gid) < 0 ||
	    msg_cstr(r, s->chroot, sizeof s->chroot) < 0 ||
	    mpr_uint(r, &s->address_space) < 0 ||
	    mpr_uint(r, &s->cpu_seconds) < 0)
		return -1;
	if (s->uid > UINT32_MAX || s->gid > UINT32_MAX)
		return msg_fail(r, "uid or gid out of range");
	return mpr_end(r);
}

void
msg_spawned_pack(msgpack_sbuffer *sb, uint64_t worker, uint64_t pid)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_SP_SPAWNED, 2);
	msgpack_pack_uint64(&pk, worker);
	msgpack_pack_uint64(&pk, pid);
	msg_finish(sb);
}

int
msg_spawned_decode(struct mpr *r, uint64_t *worker, uint64_t *pid)
{
	if (msg_open(r, PROTO_SP_SPAWNED, 2) < 0 ||
	    mpr_uint(r, worker) < 0 || mpr_uint(r, pid) < 0)
		return -1;
	if (*pid == 0 || *pid > INT32_MAX)
		return msg_fail(r, "pid out of range");
	return mpr_end(r);
}

void
msg_spawn_failed_pack(msgpack_sbuffer *sb, uint64_t worker, const char *why)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_SP_FAILED, 2);
	msgpack_pack_uint64(&pk, worker);
	msg_pack_cstr(&pk, why);
	msg_finish(sb);
}

int
msg_spawn_failed_decode(struct mpr *r, uint64_t *worker, struct msg_span *why)
{
	if (msg_open(r, PROTO_SP_FAILED, 2) < 0 || mpr_uint(r, worker) < 0 ||
	    mpr_str(r, &why->p, &why->n) < 0)
		return -1;
	return mpr_end(r);
}

/* ATTACH, BEGIN, END, RELOAD (master -> broker) */

void
msg_attach_pack(msgpack_sbuffer *sb, uint64_t worker, const char *pool)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_ATTACH, 2);
	msgpack_pack_uint64(&pk, worker);
	msg_pack_cstr(&pk, pool);
	msg_finish(sb);
}

int
msg_attach_decode(struct mpr *r, uint64_t *worker, char *pool, size_t len)
{
	if (msg_open(r, PROTO_BR_ATTACH, 2) < 0 || mpr_uint(r, worker) < 0 ||
	    msg_cstr(r, pool, len) < 0)
		return -1;
	return mpr_end(r);
}

void
msg_br_begin_pack(msgpack_sbuffer *sb, const struct msg_br_begin *b)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_BEGIN, 6);
	msgpack_pack_uint64(&pk, b->worker);
	msg_pack_cstr(&pk, b->invocation);
	msg_pack_cstr(&pk, b->rule);
	msgpack_pack_uint64(&pk, b->calls);
	msgpack_pack_uint64(&pk, b->deadline_ms);
	if (b->record)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msg_finish(sb);
}

int
msg_br_begin_decode(struct mpr *r, struct msg_br_begin *b)
{
	if (msg_open(r, PROTO_BR_BEGIN, 6) < 0 ||
	    mpr_uint(r, &b->worker) < 0 ||
	    msg_cstr(r, b->invocation, sizeof b->invocation) < 0 ||
	    msg_cstr(r, b->rule, sizeof b->rule) < 0 ||
	    mpr_uint(r, &b->calls) < 0 || mpr_uint(r, &b->deadline_ms) < 0 ||
	    mpr_bool(r, &b->record) < 0)
		return -1;
	return mpr_end(r);
}

void
msg_br_end_pack(msgpack_sbuffer *sb, uint64_t worker, const char *inv)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_END, 2);
	msgpack_pack_uint64(&pk, worker);
	msg_pack_cstr(&pk, inv);
	msg_finish(sb);
}

int
msg_br_end_decode(struct mpr *r, uint64_t *worker, char *inv, size_t len)
{
	if (msg_open(r, PROTO_BR_END, 2) < 0 || mpr_uint(r, worker) < 0 ||
	    msg_cstr(r, inv, len) < 0)
		return -1;
	return mpr_end(r);
}

void
msg_br_reload_pack(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_RELOAD, 0);
	msg_finish(sb);
}

int
msg_br_reload_decode(struct mpr *r)
{
	if (msg_open(r, PROTO_BR_RELOAD, 0) < 0)
		return -1;
	return mpr_end(r);
}

/* VIOLATION, RELOADED (broker -> master) */

void
msg_violation_pack(msgpack_sbuffer *sb, uint64_t worker, const char *why)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_VIOLATION, 2);
	msgpack_pack_uint64(&pk, worker);
	msg_pack_cstr(&pk, why);
	msg_finish(sb);
}

int
msg_violation_decode(struct mpr *r, uint64_t *worker, struct msg_span *why)
{
	if (msg_open(r, PROTO_BR_VIOLATION, 2) < 0 || mpr_uint(r, worker) < 0 ||
	    mpr_str(r, &why->p, &why->n) < 0)
		return -1;
	return mpr_end(r);
}

void
msg_reloaded_pack(msgpack_sbuffer *sb, int ok, const char *why)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_RELOADED, 2);
	if (ok)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msg_pack_cstr(&pk, why);
	msg_finish(sb);
}

int
msg_reloaded_decode(struct mpr *r, int *ok, struct msg_span *why)
{
	if (msg_open(r, PROTO_BR_RELOADED, 2) < 0 || mpr_bool(r, ok) < 0 ||
	    mpr_str(r, &why->p, &why->n) < 0)
		return -1;
	return mpr_end(r);
}

/* CAP_CALL (worker -> broker), CAP_REPLY (broker -> worker): the caller
 * packs the arguments or the value between begin and msg_finish. */

void
msg_cap_call_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t seq,
    const char *cap, const char *method, uint32_t nargs)
{
	msg_begin(sb, pk, PROTO_CAP_CALL, 4);
	msgpack_pack_uint64(pk, seq);
	msg_pack_cstr(pk, cap);
	msg_pack_cstr(pk, method);
	msgpack_pack_array(pk, nargs);
}

int
msg_cap_call_decode(struct mpr *r, struct msg_cap_call *c)
{
	if (msg_open(r, PROTO_CAP_CALL, 4) < 0 || mpr_uint(r, &c->seq) < 0 ||
	    msg_cstr(r, c->cap, sizeof c->cap) < 0 ||
	    msg_cstr(r, c->method, sizeof c->method) < 0)
		return -1;
	if (mpr_array(r, &c->nargs) < 0)
		return -1;
	c->args.p = (const char *)r->p;
	for (uint32_t i = 0; i < c->nargs; i++)
		if (mpr_skip(r, MPR_MAX_DEPTH) < 0)
			return -1;
	c->args.n = (size_t)(r->p - (const unsigned char *)c->args.p);
	return mpr_end(r);
}

void
msg_cap_reply_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t seq,
    enum mb_kind kind, const char *message)
{
	msg_begin(sb, pk, PROTO_CAP_REPLY, 4);
	msgpack_pack_uint64(pk, seq);
	msg_pack_cstr(pk, kind_name(kind));
	msg_pack_cstr(pk, message);
}

int
msg_cap_reply_decode(struct mpr *r, struct msg_cap_reply *c)
{
	char kind[32];

	if (msg_open(r, PROTO_CAP_REPLY, 4) < 0 || mpr_uint(r, &c->seq) < 0 ||
	    msg_cstr(r, kind, sizeof kind) < 0)
		return -1;
	if (kind_from_name(kind, &c->kind) < 0)
		return msg_fail(r, "unknown error kind");
	if (mpr_str(r, &c->message.p, &c->message.n) < 0 ||
	    mpr_raw(r, MPR_MAX_DEPTH, &c->value.p, &c->value.n) < 0)
		return -1;
	return mpr_end(r);
}

/* STATS_ASK (master -> broker), STATS (broker -> master) */

void
msg_stats_ask_pack(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_STATS_ASK, 0);
	msg_finish(sb);
}

int
msg_stats_ask_decode(struct mpr *r)
{
	if (msg_open(r, PROTO_BR_STATS_ASK, 0) < 0)
		return -1;
	return mpr_end(r);
}

void
msg_stats_pack(msgpack_sbuffer *sb, const struct msg_cap_count *c, int n)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_STATS, 1);
	msgpack_pack_array(&pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 4);
		msg_pack_cstr(&pk, c[i].cap);
		msgpack_pack_uint64(&pk, c[i].allowed);
		msgpack_pack_uint64(&pk, c[i].denied);
		msgpack_pack_uint64(&pk, c[i].refused);
	}
	msg_finish(sb);
}

int
msg_stats_decode(struct mpr *r, struct msg_cap_count *c, int max, int *n)
{
	uint32_t k, f;

	if (msg_open(r, PROTO_BR_STATS, 1) < 0 || mpr_array(r, &k) < 0)
		return -1;
	if (k > (uint32_t)max)
		return msg_fail(r, "too many capabilities");
	for (uint32_t i = 0; i < k; i++)
		if (mpr_array(r, &f) < 0 || f != 4 ||
		    msg_cstr(r, c[i].cap, sizeof c[i].cap) < 0 ||
		    mpr_uint(r, &c[i].allowed) < 0 ||
		    mpr_uint(r, &c[i].denied) < 0 ||
		    mpr_uint(r, &c[i].refused) < 0)
			return r->err != NULL ? -1 : msg_fail(r, "bad counts");
	*n = (int)k;
	return mpr_end(r);
}

/* RECORD (master -> broker) */

static void
msg_pack_limits(msgpack_packer *pk, const struct lim_config *l)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint64(pk, l->memory);
	msgpack_pack_uint64(pk, l->instructions);
	msgpack_pack_uint64(pk, l->timeout_us);
	msgpack_pack_uint64(pk, l->output);
	msgpack_pack_uint64(pk, l->log);
	msgpack_pack_uint64(pk, l->calls);
}

int
msg_record_pack(msgpack_sbuffer *sb, const struct msg_record *m)
{
	msgpack_packer pk;

	msg_begin(sb, &pk, PROTO_BR_RECORD, 9);
	msgpack_pack_uint64(&pk, m->worker);
	msg_pack_cstr(&pk, m->invocation);
	msg_pack_cstr(&pk, m->rule);
	msg_pack_bytes(&pk, m->source.p, m->source.n, 1);
	msg_pack_bytes(&pk, m->input.n > 0 ? m->input.p : "", m->input.n, 1);
	msg_pack_limits(&pk, &m->limits);
	msg_pack_bytes(&pk, m->result.n > 0 ? m->result.p : "", m->result.n, 1);
	msg_pack_cstr(&pk, kind_name(m->kind));
	msg_pack_bytes(&pk, m->message.p, m->message.n, 0);
	return msg_finish(sb);
}

int
msg_record_decode(struct mpr *r, struct msg_record *m)
{
	char kind[32];

	memset(m, 0, sizeof *m);
	if (msg_open(r, PROTO_BR_RECORD, 9) < 0 ||
	    mpr_uint(r, &m->worker) < 0 ||
	    msg_cstr(r, m->invocation, sizeof m->invocation) < 0 ||
	    msg_cstr(r, m->rule, sizeof m->rule) < 0 ||
	    msg_bytes(r, &m->source) < 0 || msg_bytes(r, &m->input) < 0 ||
	    msg_limits_decode(r, &m->limits) < 0 ||
	    msg_bytes(r, &m->result) < 0 || msg_cstr(r, kind, sizeof kind) < 0)
		return -1;
	if (kind_from_name(kind, &m->kind) < 0)
		return msg_fail(r, "unknown error kind");
	if (mpr_str(r, &m->message.p, &m->message.n) < 0)
		return -1;
	return mpr_end(r);
}
