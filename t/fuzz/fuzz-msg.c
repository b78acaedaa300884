/*
 * fuzz-msg.c: frame bodies as a worker, the spawner, the broker or the
 * master could send them, through every decoder of msg.c. Whatever a
 * decoder accepts must survive its mirror: packed again, it decodes again
 * to the same fields, and packing that gives the same bytes (a fixpoint),
 * so the pairs of proto.h agree on every field.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "invoke.h"
#include "limit.h"
#include "mpr.h"
#include "msg.h"

/* The body of a frame that a pack function made. */
static void
fuzz_body(const msgpack_sbuffer *sb, struct mpr *r)
{
	FUZZ_ASSERT(sb->size > PROTO_FRAME_HEADER, "a packed frame is empty");
	mpr_init(r, sb->data + PROTO_FRAME_HEADER,
	    sb->size - PROTO_FRAME_HEADER);
}

static void
fuzz_same_frames(const msgpack_sbuffer *a, const msgpack_sbuffer *b,
    const char *what)
{
	FUZZ_ASSERT(a->size == b->size && memcmp(a->data, b->data,
	    a->size) == 0, "%s: packing a decoded message again differs",
	    what);
}

/* A span as a C string, as the pack functions take them. */
static char *
fuzz_cstr(const struct msg_span *s)
{
	char *p = malloc(s->n + 1);

	if (p == NULL)
		abort();
	memcpy(p, s->p, s->n);
	p[s->n] = '\0';
	return p;
}

static void
fuzz_invoke(const char *buf, size_t len)
{
	struct msg_invoke m, m2;
	struct inv_request req;
	msgpack_sbuffer a, b;
	char chunk[PROTO_NAME_MAX + 8];
	struct mpr r;

	mpr_init(&r, buf, len);
	memset(&m, 0, sizeof m);
	if (msg_invoke_decode(&r, &m) < 0)
		return;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	msg_invoke_request(&m, &req, chunk, sizeof chunk);
	FUZZ_ASSERT(msg_invoke_pack(&a, &req) == 0, "invoke: repack");
	fuzz_body(&a, &r);
	memset(&m2, 0, sizeof m2);
	FUZZ_ASSERT(msg_invoke_decode(&r, &m2) == 0, "invoke: %s", r.err);
	FUZZ_ASSERT(strcmp(m.id, m2.id) == 0 && strcmp(m.rule, m2.rule) == 0,
	    "invoke: id, rule");
	FUZZ_ASSERT(m.source.n == m2.source.n && memcmp(m.source.p,
	    m2.source.p, m.source.n) == 0, "invoke: source");
	FUZZ_ASSERT(m.input.n == m2.input.n && memcmp(m.input.p, m2.input.p,
	    m.input.n) == 0, "invoke: input");
	FUZZ_ASSERT(memcmp(&m.limits, &m2.limits, sizeof m.limits) == 0,
	    "invoke: limits");
	msg_invoke_request(&m2, &req, chunk, sizeof chunk);
	FUZZ_ASSERT(msg_invoke_pack(&b, &req) == 0, "invoke: repack");
	fuzz_same_frames(&a, &b, "invoke");
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

/* RESULT through msg_result_outcome, as moonbox run takes it, and back. */
static void
fuzz_result_repack(const struct msg_result *m, msgpack_sbuffer *sb)
{
	struct inv_outcome o;
	struct lim lm;

	memset(&o, 0, sizeof o);
	msgpack_sbuffer_init(&o.result);
	msg_result_outcome(m, &o);
	/* The usage figures travel as µs and come back as ms. */
	FUZZ_ASSERT(msg_result_pack(sb, m->id, &o) == 0, "result: repack");
	msgpack_sbuffer_destroy(&o.result);
	memset(&lm, 0, sizeof lm);
	lm.log = o.log;
	lim_log_free(&lm);
}

static void
fuzz_result(const char *buf, size_t len)
{
	struct msg_result m, m2, m3;
	msgpack_sbuffer a, b, c;
	struct mpr r;

	mpr_init(&r, buf, len);
	if (msg_result_decode(&r, &m) < 0)
		return;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	msgpack_sbuffer_init(&c);
	fuzz_result_repack(&m, &a);
	fuzz_body(&a, &r);
	FUZZ_ASSERT(msg_result_decode(&r, &m2) == 0, "result: %s", r.err);
	FUZZ_ASSERT(strcmp(m.id, m2.id) == 0 && m.kind == m2.kind,
	    "result: id, kind");
	FUZZ_ASSERT(m.result.n == m2.result.n && memcmp(m.result.p,
	    m2.result.p, m.result.n) == 0, "result: value");
	FUZZ_ASSERT(m.counted == m2.counted && (!m.counted ||
	    m.instructions == m2.instructions) && m.memory == m2.memory &&
	    m.calls == m2.calls, "result: usage");
	FUZZ_ASSERT(m2.message.n <= m.message.n && memcmp(m.message.p,
	    m2.message.p, m2.message.n) == 0, "result: message");
	FUZZ_ASSERT(m.log_lines == m2.log_lines, "result: %u log lines, then "
	    "%u", m.log_lines, m2.log_lines);
	/* Times go from µs to ms and back: equal from the second packing. */
	fuzz_result_repack(&m2, &b);
	fuzz_body(&b, &r);
	FUZZ_ASSERT(msg_result_decode(&r, &m3) == 0, "result: %s", r.err);
	fuzz_result_repack(&m3, &c);
	fuzz_same_frames(&b, &c, "result");
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	msgpack_sbuffer_destroy(&c);
}

static void
fuzz_failed(const char *buf, size_t len)
{
	struct msg_span why, why2;
	msgpack_sbuffer a, b;
	struct mpr r;
	char *s;

	mpr_init(&r, buf, len);
	if (msg_failed_decode(&r, &why) < 0)
		return;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	s = fuzz_cstr(&why);
	msg_failed_pack(&a, s);
	fuzz_body(&a, &r);
	FUZZ_ASSERT(msg_failed_decode(&r, &why2) == 0, "failed: %s", r.err);
	FUZZ_ASSERT(why2.n == strlen(s) && memcmp(why2.p, s, why2.n) == 0,
	    "failed: message");
	msg_failed_pack(&b, s);
	fuzz_same_frames(&a, &b, "failed");
	free(s);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

static void
fuzz_spawn(const char *buf, size_t len)
{
	struct msg_spawn m, m2;
	msgpack_sbuffer a;
	struct mpr r;

	mpr_init(&r, buf, len);
	memset(&m, 0, sizeof m);
	if (msg_spawn_decode(&r, &m) < 0)
		return;
	msgpack_sbuffer_init(&a);
	msg_spawn_pack(&a, &m);
	fuzz_body(&a, &r);
	memset(&m2, 0, sizeof m2);
	FUZZ_ASSERT(msg_spawn_decode(&r, &m2) == 0, "spawn: %s", r.err);
	FUZZ_ASSERT(memcmp(&m, &m2, sizeof m) == 0, "spawn: fields");
	msgpack_sbuffer_destroy(&a);
}

/* The messages of two scalar fields, a number and a string or two numbers. */
static void
fuzz_pairs(const char *buf, size_t len)
{
	uint64_t w, w2, pid, pid2;
	struct msg_span why, why2;
	char name[PROTO_NAME_MAX + 1], name2[PROTO_NAME_MAX + 1];
	msgpack_sbuffer a;
	struct mpr r;
	char *s;
	int ok, ok2;

	msgpack_sbuffer_init(&a);
	mpr_init(&r, buf, len);
	if (msg_spawned_decode(&r, &w, &pid) == 0) {
		msg_spawned_pack(&a, w, pid);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_spawned_decode(&r, &w2, &pid2) == 0 &&
		    w == w2 && pid == pid2, "spawned");
	}
	mpr_init(&r, buf, len);
	if (msg_spawn_failed_decode(&r, &w, &why) == 0) {
		s = fuzz_cstr(&why);
		msg_spawn_failed_pack(&a, w, s);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_spawn_failed_decode(&r, &w2, &why2) == 0 &&
		    w == w2 && why2.n == strlen(s), "spawn failed");
		free(s);
	}
	mpr_init(&r, buf, len);
	if (msg_attach_decode(&r, &w, name, sizeof name) == 0) {
		msg_attach_pack(&a, w, name);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_attach_decode(&r, &w2, name2, sizeof name2) == 0
		    && w == w2 && strcmp(name, name2) == 0, "attach");
	}
	mpr_init(&r, buf, len);
	if (msg_br_end_decode(&r, &w, name, PROTO_ID_MAX + 1) == 0) {
		msg_br_end_pack(&a, w, name);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_br_end_decode(&r, &w2, name2, PROTO_ID_MAX + 1)
		    == 0 && w == w2 && strcmp(name, name2) == 0, "end");
	}
	mpr_init(&r, buf, len);
	if (msg_violation_decode(&r, &w, &why) == 0) {
		s = fuzz_cstr(&why);
		msg_violation_pack(&a, w, s);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_violation_decode(&r, &w2, &why2) == 0 &&
		    w == w2 && why2.n == strlen(s), "violation");
		free(s);
	}
	mpr_init(&r, buf, len);
	if (msg_reloaded_decode(&r, &ok, &why) == 0) {
		s = fuzz_cstr(&why);
		msg_reloaded_pack(&a, ok, s);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_reloaded_decode(&r, &ok2, &why2) == 0 &&
		    !ok == !ok2 && why2.n == strlen(s), "reloaded");
		free(s);
	}
	mpr_init(&r, buf, len);
	if (msg_br_reload_decode(&r) == 0) {
		msg_br_reload_pack(&a);
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_br_reload_decode(&r) == 0, "reload");
	}
	msgpack_sbuffer_destroy(&a);
}

static void
fuzz_br_begin(const char *buf, size_t len)
{
	struct msg_br_begin b, b2;
	msgpack_sbuffer a;
	struct mpr r;

	mpr_init(&r, buf, len);
	memset(&b, 0, sizeof b);
	if (msg_br_begin_decode(&r, &b) < 0)
		return;
	msgpack_sbuffer_init(&a);
	msg_br_begin_pack(&a, &b);
	fuzz_body(&a, &r);
	memset(&b2, 0, sizeof b2);
	FUZZ_ASSERT(msg_br_begin_decode(&r, &b2) == 0, "begin: %s", r.err);
	FUZZ_ASSERT(memcmp(&b, &b2, sizeof b) == 0, "begin: fields");
	msgpack_sbuffer_destroy(&a);
}

/* CAP_CALL and CAP_REPLY: the caller writes the arguments or the value
 * between begin and msg_finish. */
static void
fuzz_cap(const char *buf, size_t len)
{
	struct msg_cap_call c, c2;
	struct msg_cap_reply p, p2;
	msgpack_sbuffer a;
	msgpack_packer pk;
	struct mpr r;
	char *s;

	msgpack_sbuffer_init(&a);
	mpr_init(&r, buf, len);
	memset(&c, 0, sizeof c);
	if (msg_cap_call_decode(&r, &c) == 0) {
		msg_cap_call_begin(&a, &pk, c.seq, c.cap, c.method, c.nargs);
		msgpack_sbuffer_write(&a, c.args.p, c.args.n);
		FUZZ_ASSERT(msg_finish(&a) == 0, "call: finish");
		fuzz_body(&a, &r);
		memset(&c2, 0, sizeof c2);
		FUZZ_ASSERT(msg_cap_call_decode(&r, &c2) == 0, "call: %s",
		    r.err);
		FUZZ_ASSERT(c.seq == c2.seq && strcmp(c.cap, c2.cap) == 0 &&
		    strcmp(c.method, c2.method) == 0 && c.nargs == c2.nargs &&
		    c.args.n == c2.args.n && memcmp(c.args.p, c2.args.p,
		    c.args.n) == 0, "call: fields");
	}
	mpr_init(&r, buf, len);
	if (msg_cap_reply_decode(&r, &p) == 0) {
		s = fuzz_cstr(&p.message);
		msg_cap_reply_begin(&a, &pk, p.seq, p.kind, s);
		msgpack_sbuffer_write(&a, p.value.p, p.value.n);
		FUZZ_ASSERT(msg_finish(&a) == 0, "reply: finish");
		fuzz_body(&a, &r);
		FUZZ_ASSERT(msg_cap_reply_decode(&r, &p2) == 0, "reply: %s",
		    r.err);
		FUZZ_ASSERT(p.seq == p2.seq && p.kind == p2.kind &&
		    p2.message.n == strlen(s) && p.value.n == p2.value.n &&
		    memcmp(p.value.p, p2.value.p, p.value.n) == 0,
		    "reply: fields");
		free(s);
	}
	msgpack_sbuffer_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	enum proto_type t;

	(void)msg_type(buf, size, &t);
	fuzz_invoke(buf, size);
	fuzz_result(buf, size);
	fuzz_failed(buf, size);
	fuzz_spawn(buf, size);
	fuzz_pairs(buf, size);
	fuzz_br_begin(buf, size);
	fuzz_cap(buf, size);
	return 0;
}
