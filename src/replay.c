/*
 * replay.c: a recording run again (replay.h). The parent answers the
 * worker's capability calls from the recording (runner_run_served): call n
 * of the rule must be call n of the recording, same capability, method and
 * arguments once the recording's secrets are redacted from them; it then
 * gets the recorded reply, with the secrets whose values were given put
 * back. The first call that differs, or that the recording does not have,
 * is an error for the rule and a difference of the replay; so are recorded
 * calls the rule did not make. Uses runner.c, record.c, msg.c, sandbox.c
 * (the seed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpr.h"
#include "msg.h"
#include "replay.h"
#include "runner.h"
#include "sandbox.h"

/* The module a rule names for a capability of the wire. */
static const char *
replay_module(const char *cap)
{
	return strcmp(cap, "secret") == 0 ? "secrets" : cap;
}

/* A value's text, cut at REPLAY_TEXT_MAX bytes between characters. */
static char *
replay_text(const json_t *j)
{
	char *t = j != NULL ? rec_value_text(j) : strdup("(absent)");
	size_t n;

	if (t == NULL || (n = strlen(t)) <= REPLAY_TEXT_MAX)
		return t;
	n = REPLAY_TEXT_MAX;
	while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
		n--;
	memcpy(t + n, "\xe2\x80\xa6", 4);	/* … */
	return t;
}

char *
replay_call_text(const char *cap, const char *method, const json_t *args)
{
	char *inner = replay_text(args), *out;
	size_t n;

	if (inner == NULL)
		return NULL;
	n = strlen(inner);
	if (n >= 2 && inner[0] == '[' && inner[n - 1] == ']') {
		inner[n - 1] = '\0';		/* [a, b] as (a, b) */
		memmove(inner, inner + 1, n - 1);
	}
	if (asprintf(&out, "%s.%s(%s)", replay_module(cap), method, inner) < 0)
		out = NULL;
	free(inner);
	return out;
}

int
replay_init(struct replay *r, const struct recording *rec,
    const struct rec_secrets *given)
{
	size_t i;
	json_t *name;

	memset(r, 0, sizeof *r);
	r->rec = rec;
	for (int k = 0; given != NULL && k < given->n; k++)
		json_array_foreach(rec->redacted, i, name)
			if (strcmp(json_string_value(name),
			    given->v[k].name) == 0 &&
			    rec_secrets_add(&r->secrets, given->v[k].name,
			    given->v[k].value, given->v[k].len) < 0)
				return -1;
	return 0;
}

void
replay_free(struct replay *r)
{
	for (int i = 0; i < r->ndiffs; i++) {
		free(r->diffs[i].text);
		json_decref(r->diffs[i].recorded);
		json_decref(r->diffs[i].now);
	}
	rec_secrets_free(&r->secrets);
	memset(r, 0, sizeof *r);
}

/* --- serving the calls -------------------------------------------------- */

/* A reply body (no frame header), malloc'ed. */
static char *
replay_reply(uint64_t seq, enum mb_kind kind, const char *message,
    const json_t *value, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *body = NULL;

	msgpack_sbuffer_init(&sb);
	msg_cap_reply_begin(&sb, &pk, seq, kind, message);
	if (rec_value_pack(value != NULL ? value : json_null(), &pk) == 0 &&
	    msg_finish(&sb) == 0 &&
	    (body = malloc(sb.size - PROTO_FRAME_HEADER)) != NULL) {
		*len = sb.size - PROTO_FRAME_HEADER;
		memcpy(body, sb.data + PROTO_FRAME_HEADER, *len);
	}
	msgpack_sbuffer_destroy(&sb);
	return body;
}

/* Why call n (from 1) of the rule is not the recording's, or NULL. */
static char *
replay_mismatch(const struct replay *r, const struct msg_cap_call *c,
    const json_t *args)
{
	const struct recording *rec = r->rec;
	const struct rec_call *want;
	char *now = replay_call_text(c->cap, c->method, args), *was, *why;
	size_t n = r->made;

	if (now == NULL)
		return strdup("out of memory");
	if (n > rec->ncalls) {
		if (asprintf(&why, "call %zu was not recorded (the recording "
		    "has %zu): now %s", n, rec->ncalls, now) < 0)
			why = NULL;
		free(now);
		return why;
	}
	want = &rec->calls[n - 1];
	if (strcmp(want->cap, c->cap) == 0 &&
	    strcmp(want->method, c->method) == 0 &&
	    rec_value_equal(want->args, args)) {
		free(now);
		return NULL;
	}
	was = replay_call_text(want->cap, want->method, want->args);
	if (was == NULL || asprintf(&why, "call %zu differs: recorded %s, "
	    "now %s", n, was, now) < 0)
		why = NULL;
	free(was);
	free(now);
	return why;
}

/* What the rule's call raises when it is not the recording's. */
static const char *
replay_why(struct replay *r)
{
	static char msg[sizeof r->mismatch + 16];

	snprintf(msg, sizeof msg, "replay: %s", r->mismatch);
	return msg;
}

/* The handler of runner_run_served: one PROTO_CAP_CALL body in, its
 * PROTO_CAP_REPLY body out. */
static char *
replay_serve(void *ud, const char *body, size_t len, size_t *rlen)
{
	struct replay *r = ud;
	struct msg_cap_call c;
	const struct rec_call *rc;
	struct mpr m;
	json_t *args, *value;
	char *why, *reply;

	mpr_init(&m, body, len);
	if (msg_cap_call_decode(&m, &c) < 0 ||
	    (args = rec_args(c.args.p, c.args.n)) == NULL)
		return NULL;
	r->made++;
	if (rec_secrets_apply(&r->secrets, REC_REDACT, &args) < 0) {
		json_decref(args);
		return NULL;
	}
	if (r->diverged) {
		json_decref(args);
		return replay_reply(c.seq, MB_INTERNAL, "replay: the rule left "
		    "the recording at an earlier call", NULL, rlen);
	}
	if ((why = replay_mismatch(r, &c, args)) != NULL) {
		json_decref(args);
		r->diverged = 1;
		snprintf(r->mismatch, sizeof r->mismatch, "%s", why);
		free(why);
		return replay_reply(c.seq, MB_INTERNAL, replay_why(r), NULL,
		    rlen);
	}
	json_decref(args);
	rc = &r->rec->calls[r->made - 1];
	value = json_incref(rc->reply_value);
	if (rec_secrets_apply(&r->secrets, REC_REVEAL, &value) < 0) {
		json_decref(value);
		return NULL;
	}
	reply = replay_reply(c.seq, rc->reply_kind, rc->reply_message, value,
	    rlen);
	json_decref(value);
	return reply;
}

/* --- running --------------------------------------------------------------- */

void
replay_run(struct replay *r, const char *source, size_t srclen,
    struct inv_outcome *o)
{
	static const int64_t no_seed[2] = { 0, 0 };
	const struct recording *rec = r->rec;
	struct inv_request req = { 0 };
	msgpack_sbuffer in;
	msgpack_packer pk;
	json_t *input = json_incref(rec->input);

	msgpack_sbuffer_init(&in);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	if (rec_secrets_apply(&r->secrets, REC_REVEAL, &input) < 0 ||
	    rec_value_pack(input, &pk) < 0) {
		inv_fail(o, MB_INTERNAL, "out of memory");
		json_decref(input);
		msgpack_sbuffer_destroy(&in);
		return;
	}
	req.rule = rec->rule;
	req.source = source != NULL ? source : rec->source;
	req.source_len = source != NULL ? srclen : rec->srclen;
	req.input = json_is_null(input) ? NULL : in.data;
	req.input_len = in.size;
	req.id = rec->invocation;
	req.limits = rec->limits;
	sbx_fix_seed(rec->has_seed ? rec->seed : no_seed);
	runner_run_served(&req, o, replay_serve, r);
	sbx_fix_seed(NULL);
	json_decref(input);
	msgpack_sbuffer_destroy(&in);
}

/* --- comparing -------------------------------------------------------------- */

static void
replay_diff(struct replay *r, const char *what, json_t *was, json_t *now,
    const char *fmt, ...)
{
	struct replay_diff *d;
	va_list ap;

	if (r->ndiffs >= REPLAY_MAX_DIFFS) {
		r->more++;
		json_decref(was), json_decref(now);
		return;
	}
	d = &r->diffs[r->ndiffs++];
	d->what = what;
	d->recorded = was;
	d->now = now;
	va_start(ap, fmt);
	if (vasprintf(&d->text, fmt, ap) < 0)
		d->text = NULL;
	va_end(ap);
}

/* "recorded X, now Y" for two values at a path. */
static void
replay_diff_values(struct replay *r, const char *what, const char *path,
    const json_t *was, const json_t *now)
{
	char *a = replay_text(was), *b = replay_text(now);

	replay_diff(r, what, was != NULL ? json_incref((json_t *)was) : NULL,
	    now != NULL ? json_incref((json_t *)now) : NULL,
	    "%s: recorded %s, now %s", path, a != NULL ? a : "?",
	    b != NULL ? b : "?");
	free(a), free(b);
}

static void replay_walk(struct replay *, const char *, const char *,
    const json_t *, const json_t *);

/* A tagged value ({"$map": ...}) is compared whole. */
static int
replay_is_tag(const json_t *j)
{
	void *it = json_object_iter((json_t *)j);

	return json_object_size(j) == 1 && json_object_iter_key(it)[0] == '$';
}

/* A member's path: .name for identifiers, ["other"] else. */
static void
replay_key_path(char *out, size_t len, const char *path, const char *key)
{
	int ident = key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9');

	for (const char *k = key; ident && *k != '\0'; k++)
		ident = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		    (*k >= '0' && *k <= '9') || *k == '_';
	if (ident)
		snprintf(out, len, "%s.%s", path, key);
	else {
		json_t *k = json_string(key);
		char *t = k != NULL ? rec_value_text(k) : NULL;

		snprintf(out, len, "%s[%s]", path, t != NULL ? t : "?");
		free(t);
		json_decref(k);
	}
}

static void
replay_walk_object(struct replay *r, const char *what, const char *path,
    const json_t *was, const json_t *now)
{
	char sub[512];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)was, key, v) {
		replay_key_path(sub, sizeof sub, path, key);
		replay_walk(r, what, sub, v, json_object_get(now, key));
	}
	json_object_foreach((json_t *)now, key, v) {
		if (json_object_get(was, key) != NULL)
			continue;
		replay_key_path(sub, sizeof sub, path, key);
		replay_walk(r, what, sub, NULL, v);
	}
}

/* Where two values differ, path by path (objects and arrays are walked;
 * anything else is compared whole). */
static void
replay_walk(struct replay *r, const char *what, const char *path,
    const json_t *was, const json_t *now)
{
	char sub[512];
	size_t n;

	if (was != NULL && now != NULL && rec_value_equal(was, now))
		return;
	if (json_is_object(was) && json_is_object(now) &&
	    !replay_is_tag(was) && !replay_is_tag(now)) {
		replay_walk_object(r, what, path, was, now);
		return;
	}
	if (!json_is_array(was) || !json_is_array(now)) {
		replay_diff_values(r, what, path, was, now);
		return;
	}
	n = json_array_size(was) > json_array_size(now) ?
	    json_array_size(was) : json_array_size(now);
	for (size_t i = 0; i < n; i++) {
		snprintf(sub, sizeof sub, "%s[%zu]", path, i + 1);
		replay_walk(r, what, sub, json_array_get(was, i),
		    json_array_get(now, i));
	}
}

/* The outcome's parts as the recording holds them, redacted alike. */
static struct recording *
replay_now(struct replay *r, const struct inv_outcome *o)
{
	struct recording *now = rec_new(r->rec->rule, "", 0, NULL, 0, NULL,
	    "", "");
	int st = now != NULL ? 0 : -1;

	for (int i = 0; st == 0 && i < r->secrets.n; i++)
		st = rec_redact(now, r->secrets.v[i].name,
		    r->secrets.v[i].value);
	if (st == 0)
		st = rec_set_outcome(now, o);
	if (st < 0) {
		rec_free(now);
		return NULL;
	}
	return now;
}

static void
replay_compare_calls(struct replay *r)
{
	const struct recording *rec = r->rec;
	char *first;

	if (r->diverged) {
		replay_diff(r, "calls", NULL, NULL, "%s", r->mismatch);
		return;
	}
	if (r->made >= rec->ncalls)
		return;
	first = replay_call_text(rec->calls[r->made].cap,
	    rec->calls[r->made].method, rec->calls[r->made].args);
	if (r->made + 1 == rec->ncalls)
		replay_diff(r, "calls", NULL, NULL, "call %zu of the recording "
		    "was not made: %s", r->made + 1, first ? first : "?");
	else
		replay_diff(r, "calls", NULL, NULL, "calls %zu to %zu of the "
		    "recording were not made, the first: %s", r->made + 1,
		    rec->ncalls, first ? first : "?");
	free(first);
}

static void
replay_compare_outcome(struct replay *r, const struct rec_outcome *was,
    const struct rec_outcome *now)
{
	if (was->kind != now->kind)
		replay_diff(r, "kind", json_string(kind_name(was->kind)),
		    json_string(kind_name(now->kind)), "kind: recorded %s, "
		    "now %s", kind_name(was->kind), kind_name(now->kind));
	if (strcmp(was->message, now->message) != 0) {
		json_t *a = rec_text(was->message), *b = rec_text(now->message);

		replay_diff_values(r, "message", "message", a, b);
		json_decref(a), json_decref(b);
	}
	replay_walk(r, "value", "value", was->value, now->value);
	replay_walk(r, "log", "log", was->log, now->log);
	if (was->log_dropped != now->log_dropped)
		replay_diff(r, "log", json_integer(was->log_dropped),
		    json_integer(now->log_dropped), "log lines dropped over "
		    "the log limit: recorded %u, now %u", was->log_dropped,
		    now->log_dropped);
}

int
replay_compare(struct replay *r, const struct inv_outcome *o)
{
	struct recording *now;

	replay_compare_calls(r);
	if ((now = replay_now(r, o)) == NULL) {
		replay_diff(r, "internal", NULL, NULL, "out of memory while "
		    "comparing the outcomes");
		return r->ndiffs + r->more;
	}
	replay_compare_outcome(r, &r->rec->outcome, &now->outcome);
	rec_free(now);
	return r->ndiffs + r->more;
}
