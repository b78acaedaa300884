/*
 * tester_mock.c: the capability calls of a rule under test, served in the
 * worker (modcap_set_handler) where the daemon's broker would serve them.
 * Each call is read as the broker reads it (an http URL normalized as it
 * would be requested), judged by the policy and charged to its quotas as
 * the broker does it (policy_decide and quota_charge, with the rule's name
 * and its pool, on the test's clock), then served from the test's mocks: http responses by method and URL
 * glob, a kv store the test seeds and reads, secrets, and a clock that
 * stands still. Every call but log lines is recorded in order for the
 * test's assertions. What the test must hear of becomes one of its
 * failures: a call no mock answers, a call the policy denies, a mock never
 * used. The mocks are plain data copied into C: nothing of the test's state
 * is reachable from the rule's. Also the C half of mock.* and policy.* of
 * the test API. Uses msg.c, mpr.c, conv.c, policy.c, quota.c, url.c,
 * tester_work.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cap.h"
#include "conv.h"
#include "kv.h"
#include "mod.h"
#include "mpr.h"
#include "msg.h"
#include "quota.h"
#include "tester.h"
#include "url.h"

#define TM_DEFAULT_CLOCK	1700000000.0	/* 2023-11-14 22:13:20 UTC */
#define TM_WHERE_MAX		512
#define TM_BYTES_MAX		(64u << 20)	/* kv values and mock bodies of
						 * a test, held outside Lua */

struct tm_http {
	char		*method;	/* NULL: any */
	char		*url;		/* a glob: '*' matches any run */
	int64_t		 status;
	char		*headers;	/* one msgpack map */
	size_t		 hlen;
	char		*body;
	size_t		 blen;
	enum mb_kind	 error;		/* MB_OK: a response */
	char		*message;
	uint64_t	 times;		/* 0: any number */
	int		 optional;
	uint64_t	 used;
	char		*where;
};

struct tm_kv {
	char		*key, *val;	/* val: one msgpack value */
	size_t		 klen, vlen;
	double		 expires;	/* clock seconds; 0: never */
};

struct tm_secret {
	char		*name, *value;
};

static struct tmock {
	const struct policy	*policy;	/* rules blocks decide */
	struct tm_http		*http;
	size_t			 nhttp;
	struct tm_kv		*kv;
	size_t			 nkv;
	struct tm_secret	*sec;
	size_t			 nsec;
	size_t			 bytes;		/* kv values, http bodies */
	double			 clock;
	int			 ignore_policy;
	struct quota_book	*quotas;	/* the test's windows */
	struct quota_inv	 inv;		/* the invocation's counts */
	char			*expect_denial;	/* where it was asked */
	uint64_t		 denied;
	/* The invocation in progress. */
	int			 active;
	const char		*rule, *pool;
	char			 where[TM_WHERE_MAX];
	msgpack_sbuffer		 calls;
	uint32_t		 ncalls;
} M;

/* One call, read from its arguments. */
struct tm_call {
	const struct tm_cap	*cap;
	struct cap_call		 cc;
	char			 desc[2300];	/* "http GET https://..." */
	/* kv */
	const char		*key;
	size_t			 klen;
	const char		*value;		/* set: one msgpack value */
	size_t			 vlen;
	int64_t			 by;
	uint64_t		 ttl_ms;
	int			 has_ttl;
	/* http */
	char			 method[24];
	char			 url[2048];
	const char		*headers;	/* one msgpack map, or NULL */
	size_t			 hlen;
	const char		*body;
	size_t			 blen;
	/* secrets */
	char			 name[PROTO_NAME_MAX + 1];
};

/* The reply being built: kind, message, and the value's msgpack. */
struct tm_reply {
	enum mb_kind		 kind;
	char			 message[512];
	msgpack_sbuffer		 value;		/* empty: nil */
	msgpack_packer		 pk;
};

struct tm_cap {
	const char	*cap, *method;	/* on the wire */
	const char	*call;		/* as the rule wrote it */
	int		 kind;		/* enum cap_kind; -1: not judged */
	int		 write;
	int		 recorded;
	int		(*parse)(struct tm_call *, struct mpr *, uint32_t,
			    struct tm_reply *);
	void		(*serve)(struct tm_call *, struct tm_reply *);
};

static void
tm_replyf(struct tm_reply *r, enum mb_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
tm_replyf(struct tm_reply *r, enum mb_kind k, const char *fmt, ...)
{
	va_list ap;

	r->kind = k;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

static int
tm_bad(struct tm_call *c, struct tm_reply *r, const char *what)
{
	tm_replyf(r, MB_BAD_REQUEST, "%s.%s: %s", c->cap->cap, c->cap->method,
	    what);
	return -1;
}

/* --- kv ------------------------------------------------------------------ */

static struct tm_kv *
tm_kv_find(const char *key, size_t klen)
{
	for (size_t i = 0; i < M.nkv; i++) {
		struct tm_kv *e = &M.kv[i];

		if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
			if (e->expires > 0 && M.clock >= e->expires)
				return NULL;
			return e;
		}
	}
	return NULL;
}

static void
tm_kv_drop(const char *key, size_t klen)
{
	for (size_t i = 0; i < M.nkv; i++) {
		struct tm_kv *e = &M.kv[i];

		if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
			M.bytes -= e->klen + e->vlen;
			free(e->key);
			free(e->val);
			M.kv[i] = M.kv[--M.nkv];
			return;
		}
	}
}

/* Store a value (replacing any, expired or not); -1 if out of memory or
 * past what a test's store holds. */
static int
tm_kv_put(const char *key, size_t klen, const char *val, size_t vlen,
    double expires)
{
	struct tm_kv *v, e = { 0 };

	tm_kv_drop(key, klen);
	if (M.bytes + klen + vlen > TM_BYTES_MAX)
		return -1;
	if ((v = realloc(M.kv, (M.nkv + 1) * sizeof *v)) == NULL)
		return -1;
	M.kv = v;
	e.key = malloc(klen + 1);
	e.val = malloc(vlen + 1);
	if (e.key == NULL || e.val == NULL) {
		free(e.key), free(e.val);
		return -1;
	}
	memcpy(e.key, key, klen);
	memcpy(e.val, val, vlen);
	e.klen = klen;
	e.vlen = vlen;
	e.expires = expires;
	M.kv[M.nkv++] = e;
	M.bytes += klen + vlen;
	return 0;
}

static double
tm_expiry(uint64_t ttl_ms)
{
	return ttl_ms > 0 ? M.clock + (double)ttl_ms / 1000 : 0;
}

static int
tm_kv_ttl(struct tm_call *c, struct mpr *a, struct tm_reply *r)
{
	c->ttl_ms = 0;
	if (mpr_is_nil(a))
		return 0;
	c->has_ttl = 1;
	if (mpr_uint(a, &c->ttl_ms) < 0 || c->ttl_ms > KV_TTL_MAX)
		return tm_bad(c, r, "the ttl is a whole number of milliseconds");
	return 0;
}

static int
tm_kv_parse(struct tm_call *c, struct mpr *a, uint32_t nargs,
    struct tm_reply *r)
{
	const char *m = c->cap->method;

	if (nargs < 1 || mpr_bytes(a, &c->key, &c->klen) < 0)
		return tm_bad(c, r, "the key must be a string");
	if (c->klen == 0 || c->klen > KV_KEY_MAX)
		return tm_bad(c, r, "a key is 1 to 255 bytes");
	c->by = 1;
	if (strcmp(m, "set") == 0) {
		if (nargs != 3 || mpr_raw(a, MPR_MAX_DEPTH, &c->value,
		    &c->vlen) < 0 || tm_kv_ttl(c, a, r) < 0)
			return r->kind != MB_OK ? -1 :
			    tm_bad(c, r, "set takes a key, a value and a ttl");
		if (c->vlen > KV_VALUE_MAX)
			return tm_bad(c, r, "a value is at most 1 MiB");
	} else if (strcmp(m, "incr") == 0) {
		if (nargs != 3 || mpr_int(a, &c->by) < 0 ||
		    tm_kv_ttl(c, a, r) < 0)
			return r->kind != MB_OK ? -1 : tm_bad(c, r,
			    "incr takes a key, an integer and a ttl");
	} else if (nargs != 1)
		return tm_bad(c, r, "takes one key");
	c->cc.cap = CAP_KV;
	c->cc.key = c->key;
	c->cc.keylen = c->klen;
	c->cc.write = c->cap->write;
	snprintf(c->desc, sizeof c->desc, "kv.%s %.*s", m, (int)c->klen,
	    c->key);
	return 0;
}

/* The stored integer of an incr, or 0 if the value is not one. */
static int
tm_kv_int(const struct tm_kv *e, int64_t *v)
{
	struct mpr r;

	mpr_init(&r, e->val, e->vlen);
	return mpr_int(&r, v) == 0 && mpr_end(&r) == 0;
}

static void
tm_kv_incr(struct tm_call *c, struct tm_reply *r)
{
	struct tm_kv *e = tm_kv_find(c->key, c->klen);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int64_t v = 0;
	double expires = e != NULL ? e->expires : tm_expiry(c->ttl_ms);

	if (e != NULL && !tm_kv_int(e, &v)) {
		tm_replyf(r, MB_RUNTIME, "kv.incr: the value of %.*s is not an "
		    "integer", (int)c->klen, c->key);
		return;
	}
	if ((c->by > 0 && v > INT64_MAX - c->by) ||
	    (c->by < 0 && v < INT64_MIN - c->by)) {
		tm_replyf(r, MB_INTERNAL, "kv.incr: kv: incr would overflow a "
		    "64-bit integer");
		return;
	}
	v += c->by;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_int64(&pk, v);
	if (tm_kv_put(c->key, c->klen, sb.data, sb.size, expires) < 0)
		tm_replyf(r, MB_INTERNAL, "kv.incr: kv: the store is full (a "
		    "test's holds 64M)");
	else
		msgpack_pack_int64(&r->pk, v);
	msgpack_sbuffer_destroy(&sb);
}

static void
tm_kv_serve(struct tm_call *c, struct tm_reply *r)
{
	const char *m = c->cap->method;
	struct tm_kv *e = tm_kv_find(c->key, c->klen);

	if (strcmp(m, "get") == 0) {
		if (e != NULL)
			msgpack_sbuffer_write(&r->value, e->val, e->vlen);
	} else if (strcmp(m, "set") == 0) {
		if (tm_kv_put(c->key, c->klen, c->value, c->vlen,
		    tm_expiry(c->ttl_ms)) < 0)
			tm_replyf(r, MB_INTERNAL, "kv.set: kv: the store is full "
			    "(a test's holds 64M)");
	} else if (strcmp(m, "del") == 0) {
		if (e != NULL)
			msgpack_pack_true(&r->pk);
		else
			msgpack_pack_false(&r->pk);
		tm_kv_drop(c->key, c->klen);
	} else
		tm_kv_incr(c, r);
}

/* --- http ---------------------------------------------------------------- */

/* '*' matches any run of bytes, '/' included; the rest is literal. */
static int
tm_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static int
tm_http_field(struct tm_call *c, struct mpr *a, const char *k, size_t kn,
    struct tm_reply *r)
{
	const char *s;
	size_t n;

	if (kn == 6 && memcmp(k, "method", 6) == 0) {
		if (mpr_bytes(a, &s, &n) < 0 || n >= sizeof c->method ||
		    memchr(s, 0, n) != NULL)
			return tm_bad(c, r, "method must be a string of at most "
			    "16 bytes");
		snprintf(c->method, sizeof c->method, "%.*s", (int)n, s);
	} else if (kn == 3 && memcmp(k, "url", 3) == 0) {
		if (mpr_bytes(a, &s, &n) < 0 || n >= sizeof c->url ||
		    memchr(s, 0, n) != NULL)
			return tm_bad(c, r, "url must be a string of at most "
			    "2047 bytes");
		snprintf(c->url, sizeof c->url, "%.*s", (int)n, s);
	} else if (kn == 7 && memcmp(k, "headers", 7) == 0) {
		if (mpr_raw(a, 2, &c->headers, &c->hlen) < 0)
			return tm_bad(c, r, "headers must be a map");
	} else if (kn == 4 && memcmp(k, "body", 4) == 0) {
		if (mpr_bytes(a, &c->body, &c->blen) < 0)
			return tm_bad(c, r, "body is a string");
	} else if (mpr_skip(a, MPR_MAX_DEPTH) < 0)
		return tm_bad(c, r, "a field cannot be read");
	return 0;
}

/* The URL as the broker would request it. */
static int
tm_http_url(struct tm_call *c, struct tm_reply *r)
{
	static struct url u;
	char err[256];

	if (url_parse(c->url, &u, err, sizeof err) < 0)
		return tm_bad(c, r, err);
	if (strlen(u.normalized) >= sizeof c->url) {
		url_free(&u);
		return tm_bad(c, r, "the URL is too long once normalized");
	}
	snprintf(c->url, sizeof c->url, "%s", u.normalized);
	url_free(&u);
	return 0;
}

static int
tm_http_parse(struct tm_call *c, struct mpr *a, uint32_t nargs,
    struct tm_reply *r)
{
	uint32_t n;

	snprintf(c->method, sizeof c->method, "GET");
	if (nargs != 1 || mpr_map(a, &n) < 0)
		return tm_bad(c, r, "takes one table");
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;

		if (mpr_str(a, &k, &kn) < 0)
			return tm_bad(c, r, "field names are strings");
		if (tm_http_field(c, a, k, kn, r) < 0)
			return -1;
	}
	if (c->url[0] == '\0')
		return tm_bad(c, r, "url is required");
	if (tm_http_url(c, r) < 0)
		return -1;
	c->cc.cap = CAP_HTTP;
	c->cc.method = c->method;
	c->cc.url = c->url;
	snprintf(c->desc, sizeof c->desc, "http %s %s", c->method, c->url);
	return 0;
}

static struct tm_http *
tm_http_find(const struct tm_call *c)
{
	for (size_t i = 0; i < M.nhttp; i++) {
		struct tm_http *h = &M.http[i];

		if (h->times > 0 && h->used >= h->times)
			continue;
		if ((h->method == NULL || strcmp(h->method, c->method) == 0) &&
		    tm_glob(h->url, c->url))
			return h;
	}
	return NULL;
}

static void
tm_http_serve(struct tm_call *c, struct tm_reply *r)
{
	struct tm_http *h = tm_http_find(c);
	msgpack_packer *pk = &r->pk;

	if (h == NULL) {
		tw_failure(M.where, "no mock answers http %s %s (rule %s); add "
		    "mock.http{ method = \"%s\", url = \"%s\", ... }",
		    c->method, c->url, M.rule, c->method, c->url);
		tm_replyf(r, MB_INTERNAL, "http.request %s %s: no mock answers "
		    "this call in the test", c->method, c->url);
		return;
	}
	h->used++;
	if (h->error != MB_OK) {
		tm_replyf(r, h->error, "http.request %s %s: %s", c->method,
		    c->url, h->message != NULL ? h->message : "failed (mock)");
		return;
	}
	msgpack_pack_map(pk, 3);
	msgpack_pack_str(pk, 6);
	msgpack_pack_str_body(pk, "status", 6);
	msgpack_pack_int64(pk, h->status);
	msgpack_pack_str(pk, 7);
	msgpack_pack_str_body(pk, "headers", 7);
	if (h->headers != NULL)
		msgpack_sbuffer_write(&r->value, h->headers, h->hlen);
	else
		msgpack_pack_map(pk, 0);
	msgpack_pack_str(pk, 4);
	msgpack_pack_str_body(pk, "body", 4);
	msgpack_pack_bin(pk, h->blen);
	msgpack_pack_bin_body(pk, h->body, h->blen);
}

/* --- secrets, log, time -------------------------------------------------- */

static int
tm_secret_parse(struct tm_call *c, struct mpr *a, uint32_t nargs,
    struct tm_reply *r)
{
	const char *s;
	size_t n;

	if (nargs != 1 || mpr_str(a, &s, &n) < 0 || n == 0 ||
	    n >= sizeof c->name || memchr(s, 0, n) != NULL)
		return tm_bad(c, r, "takes the secret's name");
	memcpy(c->name, s, n);
	c->name[n] = '\0';
	c->cc.cap = CAP_SECRET;
	c->cc.secret = c->name;
	snprintf(c->desc, sizeof c->desc, "secrets.get %s", c->name);
	return 0;
}

static void
tm_secret_serve(struct tm_call *c, struct tm_reply *r)
{
	for (size_t i = 0; i < M.nsec; i++)
		if (strcmp(M.sec[i].name, c->name) == 0) {
			size_t n = strlen(M.sec[i].value);

			msgpack_pack_str(&r->pk, n);
			msgpack_pack_str_body(&r->pk, M.sec[i].value, n);
			return;
		}
	tw_failure(M.where, "no mock gives the secret %s (rule %s); add "
	    "mock.secrets{ %s = \"...\" }", c->name, M.rule, c->name);
	tm_replyf(r, MB_INTERNAL, "secrets.get: no mock gives %s in the test",
	    c->name);
}

static int
tm_log_parse(struct tm_call *c, struct mpr *a, uint32_t nargs,
    struct tm_reply *r)
{
	if (nargs != 2 || mpr_skip(a, 0) < 0 || mpr_skip(a, MPR_MAX_DEPTH) < 0)
		return tm_bad(c, r, "takes a message and fields");
	c->cc.cap = CAP_LOG;
	snprintf(c->desc, sizeof c->desc, "log.%s", c->cap->method);
	return 0;
}

static void
tm_log_serve(struct tm_call *c, struct tm_reply *r)
{
	(void)c, (void)r;	/* the invocation's log has the line */
}

static int
tm_time_parse(struct tm_call *c, struct mpr *a, uint32_t nargs,
    struct tm_reply *r)
{
	(void)a;
	if (nargs != 0)
		return tm_bad(c, r, "takes no arguments");
	snprintf(c->desc, sizeof c->desc, "time.now");
	return 0;
}

static void
tm_time_serve(struct tm_call *c, struct tm_reply *r)
{
	(void)c;
	msgpack_pack_double(&r->pk, M.clock);
}

static const struct tm_cap tm_caps[] = {
	{ "kv", "get", "kv.get", CAP_KV, 0, 1, tm_kv_parse, tm_kv_serve },
	{ "kv", "set", "kv.set", CAP_KV, 1, 1, tm_kv_parse, tm_kv_serve },
	{ "kv", "del", "kv.del", CAP_KV, 1, 1, tm_kv_parse, tm_kv_serve },
	{ "kv", "incr", "kv.incr", CAP_KV, 1, 1, tm_kv_parse, tm_kv_serve },
	{ "http", "request", "http.request", CAP_HTTP, 0, 1, tm_http_parse,
	    tm_http_serve },
	{ "secret", "get", "secrets.get", CAP_SECRET, 0, 1, tm_secret_parse,
	    tm_secret_serve },
	{ "log", "debug", "log.debug", CAP_LOG, 0, 0, tm_log_parse,
	    tm_log_serve },
	{ "log", "info", "log.info", CAP_LOG, 0, 0, tm_log_parse,
	    tm_log_serve },
	{ "log", "warn", "log.warn", CAP_LOG, 0, 0, tm_log_parse,
	    tm_log_serve },
	{ "log", "error", "log.error", CAP_LOG, 0, 0, tm_log_parse,
	    tm_log_serve },
	{ "time", "now", "time.now", -1, 0, 1, tm_time_parse, tm_time_serve },
};

static const struct tm_cap *
tm_find_cap(const char *cap, const char *method)
{
	for (size_t i = 0; i < sizeof tm_caps / sizeof tm_caps[0]; i++)
		if (strcmp(tm_caps[i].cap, cap) == 0 &&
		    strcmp(tm_caps[i].method, method) == 0)
			return &tm_caps[i];
	return NULL;
}

/* --- the handler --------------------------------------------------------- */

/* The fields a call record has besides call and error. */
static size_t
tm_record_fields(const struct tm_call *c, msgpack_packer *pk)
{
	size_t n = 0;

	if (c->cap->kind == CAP_KV) {
		msg_pack_cstr(pk, "key");
		msg_pack_bytes(pk, c->key, c->klen, 0);
		n++;
		if (c->value != NULL) {
			msg_pack_cstr(pk, "value");
			msgpack_sbuffer_write(pk->data, c->value, c->vlen);
			n++;
		}
		if (strcmp(c->cap->method, "incr") == 0) {
			msg_pack_cstr(pk, "by");
			msgpack_pack_int64(pk, c->by);
			n++;
		}
		if (c->has_ttl) {
			msg_pack_cstr(pk, "ttl");
			msgpack_pack_uint64(pk, c->ttl_ms);
			n++;
		}
	} else if (c->cap->kind == CAP_HTTP) {
		msg_pack_cstr(pk, "method");
		msg_pack_cstr(pk, c->method);
		msg_pack_cstr(pk, "url");
		msg_pack_cstr(pk, c->url);
		msg_pack_cstr(pk, "headers");
		if (c->headers != NULL)
			msgpack_sbuffer_write(pk->data, c->headers, c->hlen);
		else
			msgpack_pack_map(pk, 0);
		n += 3;
		if (c->body != NULL) {
			msg_pack_cstr(pk, "body");
			msg_pack_bytes(pk, c->body, c->blen, 0);
			n++;
		}
	} else if (c->cap->kind == CAP_SECRET) {
		msg_pack_cstr(pk, "name");
		msg_pack_cstr(pk, c->name);
		n++;
	}
	return n;
}

/* Append {call = ..., fields..., error = {kind, message}} to the calls. */
static void
tm_record(const struct tm_call *c, const struct tm_reply *r)
{
	msgpack_sbuffer fields;
	msgpack_packer pk, out;
	size_t n;

	if (!c->cap->recorded)
		return;
	msgpack_sbuffer_init(&fields);
	msgpack_packer_init(&pk, &fields, msgpack_sbuffer_write);
	msgpack_packer_init(&out, &M.calls, msgpack_sbuffer_write);
	n = tm_record_fields(c, &pk);
	msgpack_pack_map(&out, n + 1 + (r->kind != MB_OK));
	msg_pack_cstr(&out, "call");
	msg_pack_cstr(&out, c->cap->call);
	if (fields.size > 0)
		msgpack_sbuffer_write(&M.calls, fields.data, fields.size);
	if (r->kind != MB_OK) {
		msg_pack_cstr(&out, "error");
		msgpack_pack_map(&out, 2);
		msg_pack_cstr(&out, "kind");
		msg_pack_cstr(&out, kind_name(r->kind));
		msg_pack_cstr(&out, "message");
		msg_pack_cstr(&out, r->message);
	}
	msgpack_sbuffer_destroy(&fields);
	M.ncalls++;
}

/* The policy's word on a call, then its quotas, as the broker asks. */
static int
tm_judge(struct tm_call *c, struct tm_reply *r)
{
	struct cap_decision d;

	if (c->cap->kind < 0 || M.ignore_policy)
		return 0;
	c->cc.rule = M.rule;
	c->cc.pool = M.pool;
	memset(&d, 0, sizeof d);
	policy_decide(M.policy, &c->cc, &d);
	if (d.allowed && (M.quotas == NULL || quota_charge(M.quotas, M.policy,
	    &c->cc, (uint64_t)(M.clock * 1e6), &M.inv, &d) == 0))
		return 0;
	M.denied++;
	if (M.expect_denial == NULL)
		tw_failure(M.where, "the policy denies %s to rule %s: %s; grant "
		    "it in the policy, or say policy.expect_denial() if the "
		    "test means it", c->desc, M.rule, d.why);
	tm_replyf(r, MB_DENIED, "%s.%s: %s", c->cap->cap, c->cap->method,
	    d.why);
	return -1;
}

/* The reply frame's body, malloc'ed, as modcap_set_handler wants it. */
static char *
tm_reply_body(uint64_t seq, struct tm_reply *r, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *body = NULL;

	msgpack_sbuffer_init(&sb);
	msg_cap_reply_begin(&sb, &pk, seq, r->kind, r->message);
	if (r->kind == MB_OK && r->value.size > 0)
		msgpack_sbuffer_write(&sb, r->value.data, r->value.size);
	else
		msgpack_pack_nil(&pk);
	if (msg_finish(&sb) == 0 &&
	    (body = malloc(sb.size - PROTO_FRAME_HEADER)) != NULL) {
		*len = sb.size - PROTO_FRAME_HEADER;
		memcpy(body, sb.data + PROTO_FRAME_HEADER, *len);
	}
	msgpack_sbuffer_destroy(&sb);
	return body;
}

static void
tm_dispatch(const struct msg_cap_call *m, struct tm_reply *r)
{
	struct tm_call c;
	struct mpr a;

	memset(&c, 0, sizeof c);
	if (!M.active) {
		tm_replyf(r, MB_INTERNAL, "capability calls are for rules; a "
		    "test gives a rule its world with mock.*");
		return;
	}
	if ((c.cap = tm_find_cap(m->cap, m->method)) == NULL) {
		tm_replyf(r, MB_BAD_REQUEST, "%s.%s: no such capability",
		    m->cap, m->method);
		return;
	}
	mpr_init(&a, m->args.p, m->args.n);
	if (c.cap->parse(&c, &a, m->nargs, r) < 0)
		return;
	if (tm_judge(&c, r) == 0)
		c.cap->serve(&c, r);
	tm_record(&c, r);
}

static char *
tm_handle(void *ud, const char *body, size_t len, size_t *outlen)
{
	struct msg_cap_call m;
	struct tm_reply r;
	struct mpr rd;
	char *out;

	(void)ud;
	mpr_init(&rd, body, len);
	if (msg_cap_call_decode(&rd, &m) < 0)
		return NULL;
	memset(&r, 0, sizeof r);
	msgpack_sbuffer_init(&r.value);
	msgpack_packer_init(&r.pk, &r.value, msgpack_sbuffer_write);
	tm_dispatch(&m, &r);
	out = tm_reply_body(m.seq, &r, outlen);
	msgpack_sbuffer_destroy(&r.value);
	return out;
}

/* --- the life of the mocks ----------------------------------------------- */

void
tm_init(const struct policy *p)
{
	M.policy = p;
	M.clock = TM_DEFAULT_CLOCK;
	msgpack_sbuffer_init(&M.calls);
	modcap_set_handler(tm_handle, NULL);
}

/* A new test: no mocks, the store empty, the clock back at its start. */
void
tm_reset(void)
{
	for (size_t i = 0; i < M.nhttp; i++) {
		struct tm_http *h = &M.http[i];

		free(h->method), free(h->url), free(h->headers);
		free(h->body), free(h->message), free(h->where);
	}
	for (size_t i = 0; i < M.nkv; i++)
		free(M.kv[i].key), free(M.kv[i].val);
	for (size_t i = 0; i < M.nsec; i++)
		free(M.sec[i].name), free(M.sec[i].value);
	free(M.http), free(M.kv), free(M.sec), free(M.expect_denial);
	M.http = NULL, M.kv = NULL, M.sec = NULL, M.expect_denial = NULL;
	M.nhttp = M.nkv = M.nsec = M.bytes = 0;
	M.clock = TM_DEFAULT_CLOCK;
	M.ignore_policy = 0;
	M.denied = 0;
	if (M.quotas != NULL)
		quota_book_free(M.quotas);
	M.quotas = quota_book_new();
	M.active = 0;
	msgpack_sbuffer_clear(&M.calls);
}

/* A rule's invocation starts: its calls are judged for rule and pool, and
 * failures point at where, the test's line that invoked it. */
void
tm_begin(const char *rule, const char *pool, const char *where)
{
	M.active = 1;
	M.rule = rule;
	M.pool = pool;
	quota_inv_reset(&M.inv);
	snprintf(M.where, sizeof M.where, "%s", where);
	msgpack_sbuffer_clear(&M.calls);
	M.ncalls = 0;
}

/* It ended: its calls as one msgpack array into sb. */
void
tm_end(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	M.active = 0;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, M.ncalls);
	if (M.calls.size > 0)
		msgpack_sbuffer_write(sb, M.calls.data, M.calls.size);
	msgpack_sbuffer_clear(&M.calls);
}

/* At the end of a test: mocks it declared but did not use. */
void
tm_check(void)
{
	for (size_t i = 0; i < M.nhttp; i++) {
		const struct tm_http *h = &M.http[i];

		if (h->optional || (h->times == 0 ? h->used > 0 :
		    h->used >= h->times))
			continue;
		if (h->times > 0 && h->used > 0)
			tw_failure(h->where, "mock.http for %s %s was called %llu "
			    "of its %llu times", h->method ? h->method : "any "
			    "method to", h->url, (unsigned long long)h->used,
			    (unsigned long long)h->times);
		else
			tw_failure(h->where, "mock.http for %s %s was never "
			    "called; drop it, or give it optional = true",
			    h->method ? h->method : "any method to", h->url);
	}
	if (M.expect_denial != NULL && M.denied == 0)
		tw_failure(M.expect_denial, "policy.expect_denial(): no call "
		    "was denied");
}

/* --- mock.* and policy.* of the test API (tester_work.c's T table) ------- */

/* A string field of the spec at 1, copied; NULL when absent. */
static char *
tm_l_str(lua_State *L, const char *field, size_t max, size_t *len)
{
	const char *s;
	char *copy;
	size_t n;

	lua_getfield(L, 1, field);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		tw_error(L, "mock.http: %s must be a string", field);
	s = lua_tolstring(L, -1, &n);
	if (n > max || (len == NULL && memchr(s, '\0', n) != NULL))
		tw_error(L, "mock.http: %s is too long or holds a NUL", field);
	if ((copy = malloc(n + 1)) == NULL)
		tw_error(L, "mock.http: out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (len != NULL)
		*len = n;
	lua_pop(L, 1);
	return copy;
}

static int64_t
tm_l_int(lua_State *L, const char *field, int64_t dflt, int64_t min,
    int64_t max)
{
	int isnum;
	lua_Integer v;

	lua_getfield(L, 1, field);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return dflt;
	}
	v = lua_tointegerx(L, -1, &isnum);
	if (!isnum || v < min || v > max)
		tw_error(L, "mock.http: %s must be a whole number from %lld to "
		    "%lld", field, (long long)min, (long long)max);
	lua_pop(L, 1);
	return v;
}

/* The headers of the spec as one msgpack map of strings. */
static void
tm_l_headers(lua_State *L, struct tm_http *h)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint32_t n = 0;

	lua_getfield(L, 1, "headers");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		tw_error(L, "mock.http: headers must be a table of strings");
	for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1))
		if (lua_type(L, -1) != LUA_TSTRING ||
		    lua_type(L, -2) != LUA_TSTRING || ++n > 64)
			tw_error(L, "mock.http: headers must be at most 64 "
			    "strings named by strings");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) {
		size_t kn, vn;
		const char *k = lua_tolstring(L, -2, &kn);
		const char *v = lua_tolstring(L, -1, &vn);

		msgpack_pack_str(&pk, kn);	/* lower case, as the engine */
		for (size_t i = 0; i < kn; i++) {
			char c = k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i];

			msgpack_pack_str_body(&pk, &c, 1);
		}
		msg_pack_bytes(&pk, v, vn, 0);
	}
	lua_pop(L, 1);
	h->headers = sb.data;	/* the buffer is ours now */
	h->hlen = sb.size;
}

static struct tm_http *
tm_l_new_http(lua_State *L)
{
	struct tm_http *v;

	if (M.nhttp >= 1000)
		tw_error(L, "mock.http: at most 1000 mocks in a test");
	if ((v = realloc(M.http, (M.nhttp + 1) * sizeof *v)) == NULL)
		tw_error(L, "mock.http: out of memory");
	M.http = v;
	memset(&v[M.nhttp], 0, sizeof *v);
	return &v[M.nhttp++];
}

/* T.mock_http{method, url, status, headers, body, error, message, times,
 * optional}: test.lua has turned json into body. */
static int
tm_l_http(lua_State *L)
{
	char where[TM_WHERE_MAX], *kind;
	struct tm_http *h;

	luaL_checktype(L, 1, LUA_TTABLE);
	tw_where(L, where, sizeof where);
	h = tm_l_new_http(L);
	h->where = strdup(where);
	h->method = tm_l_str(L, "method", 16, NULL);
	if ((h->url = tm_l_str(L, "url", 2047, NULL)) == NULL)
		tw_error(L, "mock.http: url is required: a URL, '*' matching "
		    "any run of characters");
	h->status = tm_l_int(L, "status", 200, 100, 599);
	h->body = tm_l_str(L, "body", KV_VALUE_MAX, &h->blen);
	if (h->body != NULL && M.bytes + h->blen > TM_BYTES_MAX)
		tw_error(L, "mock.http: the mocks of a test hold at most 64M");
	M.bytes += h->blen;
	h->message = tm_l_str(L, "message", 400, NULL);
	h->times = (uint64_t)tm_l_int(L, "times", 0, 1, 1000000);
	lua_getfield(L, 1, "optional");
	h->optional = lua_toboolean(L, -1);
	lua_pop(L, 1);
	tm_l_headers(L, h);
	if ((kind = tm_l_str(L, "error", 32, NULL)) != NULL) {
		int bad = kind_from_name(kind, &h->error) < 0 ||
		    h->error == MB_OK;

		free(kind);
		if (bad)
			tw_error(L, "mock.http: error must be an error kind: "
			    "timeout, runtime, denied, ...");
	}
	return 0;
}

/* A kv key argument at idx. */
static const char *
tm_l_key(lua_State *L, int idx, size_t *n)
{
	const char *k = luaL_checklstring(L, idx, n);

	if (*n == 0 || *n > KV_KEY_MAX)
		tw_error(L, "mock.kv: a key is 1 to %u bytes", KV_KEY_MAX);
	return k;
}

/* T.kv_set(key, value, ttl_ms): into the store, as kv.set would. */
static int
tm_l_kv_set(lua_State *L)
{
	struct conv_error ce;
	msgpack_sbuffer sb;
	size_t kn;
	const char *k = tm_l_key(L, 1, &kn);
	lua_Integer ttl = luaL_optinteger(L, 3, 0);
	int st;

	if (ttl < 0 || (uint64_t)ttl > KV_TTL_MAX)
		tw_error(L, "mock.kv: the ttl is a whole number of milliseconds");
	msgpack_sbuffer_init(&sb);
	if (conv_pack(L, 2, "value", KV_VALUE_MAX, &sb, &ce) < 0) {
		msgpack_sbuffer_destroy(&sb);
		tw_error(L, "mock.kv: %s: %s", ce.path, ce.what);
	}
	st = tm_kv_put(k, kn, sb.data, sb.size, tm_expiry((uint64_t)ttl));
	msgpack_sbuffer_destroy(&sb);
	if (st < 0)
		tw_error(L, "mock.kv: the store of a test holds at most 64M");
	return 0;
}

/* T.kv_get(key): what the store holds now (nil if missing or expired). */
static int
tm_l_kv_get(lua_State *L)
{
	struct conv_error ce;
	size_t kn;
	const char *k = tm_l_key(L, 1, &kn);
	struct tm_kv *e = tm_kv_find(k, kn);

	if (e == NULL)
		lua_pushnil(L);
	else if (conv_push(L, e->val, e->vlen, &ce) < 0)
		tw_error(L, "mock.kv.get: %s", ce.what);
	return 1;
}

/* T.secret(name, value) */
static int
tm_l_secret(lua_State *L)
{
	size_t nn, vn;
	const char *name = luaL_checklstring(L, 1, &nn);
	const char *value = luaL_checklstring(L, 2, &vn);
	struct tm_secret *v;

	if (nn == 0 || nn > PROTO_NAME_MAX || memchr(name, 0, nn) != NULL ||
	    memchr(value, 0, vn) != NULL)
		tw_error(L, "mock.secrets: names and values are strings "
		    "without NUL bytes");
	for (size_t i = 0; i < M.nsec; i++)
		if (strcmp(M.sec[i].name, name) == 0) {
			char *copy = strdup(value);

			if (copy == NULL)
				tw_error(L, "mock.secrets: out of memory");
			free(M.sec[i].value);
			M.sec[i].value = copy;
			return 0;
		}
	if ((v = realloc(M.sec, (M.nsec + 1) * sizeof *v)) == NULL)
		tw_error(L, "mock.secrets: out of memory");
	M.sec = v;
	v[M.nsec].name = strdup(name);
	v[M.nsec].value = strdup(value);
	if (v[M.nsec].name == NULL || v[M.nsec].value == NULL)
		tw_error(L, "mock.secrets: out of memory");
	M.nsec++;
	return 0;
}

/* T.clock([seconds]): set the clock if given; its time. */
static int
tm_l_clock(lua_State *L)
{
	if (!lua_isnoneornil(L, 1)) {
		lua_Number t = luaL_checknumber(L, 1);

		if (!isfinite(t) || t < 0 || t > 1e12)
			tw_error(L, "mock.time: a time in seconds since 1970");
		M.clock = t;
	}
	lua_pushnumber(L, M.clock);
	return 1;
}

/* T.advance(seconds) */
static int
tm_l_advance(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);

	if (!isfinite(s) || s < 0 || M.clock + s > 1e12)
		tw_error(L, "mock.time.advance: a number of seconds, not "
		    "negative: the clock does not go back");
	M.clock += s;
	lua_pushnumber(L, M.clock);
	return 1;
}

static int
tm_l_ignore(lua_State *L)
{
	(void)L;
	M.ignore_policy = 1;
	return 0;
}

static int
tm_l_expect_denial(lua_State *L)
{
	char where[TM_WHERE_MAX];

	tw_where(L, where, sizeof where);
	free(M.expect_denial);
	if ((M.expect_denial = strdup(where)) == NULL)
		tw_error(L, "policy.expect_denial: out of memory");
	return 0;
}

static const luaL_Reg tm_funcs[] = {
	{ "mock_http",		tm_l_http },
	{ "kv_set",		tm_l_kv_set },
	{ "kv_get",		tm_l_kv_get },
	{ "secret",		tm_l_secret },
	{ "clock",		tm_l_clock },
	{ "advance",		tm_l_advance },
	{ "policy_ignore",	tm_l_ignore },
	{ "expect_denial",	tm_l_expect_denial },
	{ NULL,			NULL }
};

/* Add the functions to the table at idx. */
void
tm_install(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);
	luaL_setfuncs(L, tm_funcs, 0);
	lua_pop(L, 1);
}
