/*
 * brcap.c: what each capability does in the broker, one row of brk_caps
 * each: start() reads the call's arguments strictly and describes the call
 * for the policy and the audit log; perform() does it (kv through kv.h,
 * http through http.h, secrets from the secrets file, log to the daemon's
 * log, time from the clock) and answers. Uses broker.c, kv*.c, http.c,
 * url.c, conv.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brk.h"
#include "conv.h"
#include "http.h"
#include "jsonmp.h"
#include "kv.h"
#include "log.h"
#include "mpr.h"
#include "url.h"

#define BRCAP_MAX_HEADERS	64
#define BRCAP_MAX_BODY		(1u << 20)

/* A call's arguments were not what the capability takes. */
static int
bad_args(struct br_call *c, const char *what)
{
	brk_replyf(c, MB_BAD_REQUEST, "%s.%s: %s", c->cap->cap, c->cap->method,
	    what);
	return 1;
}

/* kv */

/* The key, and for the audit log {key, bytes}. */
static int
kv_key(struct br_call *c, struct mpr *r)
{
	const char *k;
	size_t n;

	if (mpr_bytes(r, &k, &n) < 0)
		return bad_args(c, "the key must be a string");
	if (n == 0 || n > KV_KEY_MAX)
		return bad_args(c, "a key is 1 to 255 bytes");
	memcpy(c->key, k, n);
	c->key[n] = '\0';
	c->cc.cap = CAP_KV;
	c->cc.key = c->key;
	c->cc.keylen = n;
	c->cc.write = c->cap->write;
	return 0;
}

struct kv_args {
	const char	*value;		/* set: one msgpack value */
	size_t		 len;
	int64_t		 by;
	uint64_t	 ttl_ms;
};

static int
kv_ttl(struct br_call *c, struct mpr *r, uint64_t *ttl)
{
	*ttl = 0;
	if (mpr_is_nil(r))
		return 0;
	if (mpr_uint(r, ttl) < 0)
		return bad_args(c, "the ttl is a whole number of milliseconds");
	return 0;
}

static void
kv_audit(struct br_call *c, size_t bytes)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msg_pack_cstr(&pk, "key");
	msg_pack_bytes(&pk, c->key, c->cc.keylen, 0);
	msg_pack_cstr(&pk, "bytes");
	msgpack_pack_uint64(&pk, bytes);
}

/* The pending kv operation's arguments, kept until it is performed. */
struct kv_call {
	struct kv_args	 a;
	char		*copy;	/* set: the value */
};

/*
 * How values are stored: an integer as the decimal text that kv.incr (and
 * Redis's INCRBY) reads and writes, anything else as its msgpack value.
 * The two never meet: a msgpack value that is one digit is an integer
 * (48 to 57), always stored as text, and text of two or more bytes is not
 * one msgpack value.
 */
static size_t
kv_int_text(const char *v, size_t n, char *buf, size_t len)
{
	struct mpr r;
	int64_t i;

	mpr_init(&r, v, n);
	if (mpr_int(&r, &i) < 0 || mpr_end(&r) < 0)
		return 0;
	return (size_t)snprintf(buf, len, "%" PRId64, i);
}

/* The reply of kv.get: one msgpack value, from what is stored. */
static int
kv_stored_value(const char *v, size_t n, msgpack_packer *pk,
    msgpack_sbuffer *sb)
{
	struct conv_error ce;
	int64_t i;

	if (kv_parse_int(v, n, &i)) {
		msgpack_pack_int64(pk, i);
		return 0;
	}
	if (conv_check(v, n, &ce) < 0)
		return -1;
	msgpack_sbuffer_write(sb, v, n);
	return 0;
}

static int
kv_start(struct br_call *c, struct mpr *r, uint32_t nargs)
{
	const char *m = c->cap->method;
	struct kv_call *k = calloc(1, sizeof *k);
	int64_t by = 1;
	size_t n;

	if (k == NULL)
		return bad_args(c, "out of memory");
	c->pending_kv = k;
	if (nargs < 1 || kv_key(c, r) != 0)
		return nargs < 1 ? bad_args(c, "a key is needed") : 1;
	if (strcmp(m, "set") == 0) {
		if (nargs != 3 || mpr_raw(r, MPR_MAX_DEPTH, &k->a.value,
		    &k->a.len) < 0 || kv_ttl(c, r, &k->a.ttl_ms) != 0)
			return bad_args(c, "set takes a key, a value and a ttl");
		if (k->a.len > KV_VALUE_MAX)
			return bad_args(c, "a value is at most 1 MiB");
		if ((k->copy = malloc(k->a.len > 24 ? k->a.len : 24)) == NULL)
			return bad_args(c, "out of memory");
		if ((n = kv_int_text(k->a.value, k->a.len, k->copy, 24)) > 0)
			k->a.len = n;
		else
			memcpy(k->copy, k->a.value, k->a.len);
		k->a.value = k->copy;
	} else if (strcmp(m, "incr") == 0) {
		if (nargs != 3 || mpr_int(r, &by) < 0 ||
		    kv_ttl(c, r, &k->a.ttl_ms) != 0)
			return bad_args(c, "incr takes a key, an integer and a "
			    "ttl");
	} else if (nargs != 1)
		return bad_args(c, "takes one key");
	k->a.by = by;
	kv_audit(c, k->a.len);
	return 0;
}

/* The answer of the store, whenever it comes. */
static void
kv_done(void *ud, const struct kv_reply *rep)
{
	struct br_call *c = ud;
	const char *m = c->cap->method;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	c->kv_busy = 0;
	if (rep->status == KV_NOT_FOUND && strcmp(m, "get") == 0) {
		brk_reply(c, MB_OK, "", NULL, 0);
		return;
	}
	if (rep->status != KV_OK && !(rep->status == KV_NOT_FOUND &&
	    strcmp(m, "del") == 0)) {
		brk_replyf(c, rep->status == KV_NOT_INTEGER ? MB_RUNTIME :
		    MB_INTERNAL, "kv.%s: %s", m, rep->message != NULL ?
		    rep->message : "the store failed");
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (strcmp(m, "get") == 0) {
		c->bytes_in = rep->len;
		if (kv_stored_value(rep->value, rep->len, &pk, &sb) < 0) {
			msgpack_sbuffer_destroy(&sb);
			brk_replyf(c, MB_INTERNAL, "kv.get: the stored value is "
			    "not one moonbox wrote");
			return;
		}
	} else if (strcmp(m, "incr") == 0)
		msgpack_pack_int64(&pk, rep->number);
	else if (strcmp(m, "del") == 0) {
		if (rep->status == KV_OK)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
	} else
		msgpack_pack_nil(&pk);
	brk_reply(c, MB_OK, "", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
kv_perform(struct br_call *c)
{
	struct kv_call *k = c->pending_kv;
	const char *m = c->cap->method, *ns = c->cc.pool;

	c->kv_busy = 1;
	c->bytes_out = k->a.len;
	if (strcmp(m, "get") == 0)
		kv_get(B.kv, ns, c->key, c->cc.keylen, kv_done, c);
	else if (strcmp(m, "set") == 0)
		kv_set(B.kv, ns, c->key, c->cc.keylen, k->a.value, k->a.len,
		    k->a.ttl_ms, kv_done, c);
	else if (strcmp(m, "del") == 0)
		kv_del(B.kv, ns, c->key, c->cc.keylen, kv_done, c);
	else
		kv_incr(B.kv, ns, c->key, c->cc.keylen, k->a.by, k->a.ttl_ms,
		    kv_done, c);
}

void
brcap_free(struct br_call *c)
{
	struct kv_call *k = c->pending_kv;
	struct http_header *h = c->headers;

	if (k != NULL)
		free(k->copy);
	free(k);
	for (size_t i = 0; h != NULL && i < c->nheaders; i++) {
		free((char *)h[i].name);
		free((char *)h[i].value);
	}
	free(h);
	free(c->body);
}

/* http */

static int
http_copy_str(struct br_call *c, struct mpr *r, const char *what,
    char **out, size_t max)
{
	const char *s;
	size_t n;
	char msg[80];

	if (mpr_bytes(r, &s, &n) < 0 || n > max || memchr(s, 0, n) != NULL) {
		snprintf(msg, sizeof msg, "%s must be a string of at most %zu "
		    "bytes", what, max);
		return bad_args(c, msg);
	}
	if ((*out = strndup(s, n)) == NULL)
		return bad_args(c, "out of memory");
	return 0;
}

static int
http_headers(struct br_call *c, struct mpr *r)
{
	uint32_t n;

	if (mpr_map(r, &n) < 0 || n > BRCAP_MAX_HEADERS)
		return bad_args(c, "headers must be a map of at most 64");
	if ((c->headers = calloc(n + 1, sizeof *c->headers)) == NULL)
		return bad_args(c, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		char *name, *value;

		if (http_copy_str(c, r, "a header name", &name, 256) != 0)
			return 1;
		if (http_copy_str(c, r, "a header value", &value, 8192) != 0) {
			free(name);
			return 1;
		}
		c->headers[i].name = name;
		c->headers[i].value = value;
		c->nheaders = i + 1;
	}
	return 0;
}

/* The one argument: {method, url, headers, body, timeout}. */
static int
http_fields(struct br_call *c, struct mpr *r)
{
	uint32_t n;
	char *s;

	if (mpr_map(r, &n) < 0)
		return bad_args(c, "takes one table");
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;

		if (mpr_str(r, &k, &kn) < 0)
			return bad_args(c, "field names are strings");
		if (kn == 6 && memcmp(k, "method", 6) == 0) {
			if (http_copy_str(c, r, "method", &s, 16) != 0)
				return 1;
			snprintf(c->method, sizeof c->method, "%s", s);
			free(s);
		} else if (kn == 3 && memcmp(k, "url", 3) == 0) {
			if (http_copy_str(c, r, "url", &s, 2047) != 0)
				return 1;
			snprintf(c->raw_url, sizeof c->raw_url, "%s", s);
			free(s);
		} else if (kn == 7 && memcmp(k, "headers", 7) == 0) {
			if (http_headers(c, r) != 0)
				return 1;
		} else if (kn == 4 && memcmp(k, "body", 4) == 0) {
			const char *b;

			if (mpr_bytes(r, &b, &c->bodylen) < 0 ||
			    c->bodylen > BRCAP_MAX_BODY)
				return bad_args(c, "body is a string of at most "
				    "1 MiB");
			if ((c->body = malloc(c->bodylen + 1)) == NULL)
				return bad_args(c, "out of memory");
			memcpy(c->body, b, c->bodylen);
		} else if (kn == 7 && memcmp(k, "timeout", 7) == 0) {
			if (mpr_uint(r, &c->timeout_ms) < 0)
				return bad_args(c, "timeout is a whole number of "
				    "milliseconds");
		} else if (mpr_skip(r, MPR_MAX_DEPTH) < 0)
			return bad_args(c, "a field cannot be read");
	}
	return 0;
}

static void
http_audit(struct br_call *c)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msg_pack_cstr(&pk, "method");
	msg_pack_cstr(&pk, c->method);
	msg_pack_cstr(&pk, "url");
	msg_pack_cstr(&pk, c->url[0] != '\0' ? c->url : c->raw_url);
	msg_pack_cstr(&pk, "headers");
	msgpack_pack_array(&pk, c->nheaders);
	for (size_t i = 0; i < c->nheaders; i++)
		msg_pack_cstr(&pk, c->headers[i].name);
	msg_pack_cstr(&pk, "body_bytes");
	msgpack_pack_uint64(&pk, c->bodylen);
}

static int
http_start_call(struct br_call *c, struct mpr *r, uint32_t nargs)
{
	struct url u;
	char err[256];

	if (nargs != 1)
		return bad_args(c, "takes one table");
	snprintf(c->method, sizeof c->method, "GET");
	if (http_fields(c, r) != 0)
		return 1;
	if (c->raw_url[0] == '\0')
		return bad_args(c, "url is required");
	if (url_parse(c->raw_url, &u, err, sizeof err) < 0) {
		http_audit(c);
		return bad_args(c, err);
	}
	if (strlen(u.normalized) >= sizeof c->url) {
		url_free(&u);
		return bad_args(c, "the URL is too long once normalized");
	}
	snprintf(c->url, sizeof c->url, "%s", u.normalized);
	url_free(&u);
	c->cc.cap = CAP_HTTP;
	c->cc.method = c->method;
	c->cc.url = c->url;
	http_audit(c);
	return 0;
}

/* A redirect is judged as a call of its own to the new URL. */
static int
http_redirect_ok(void *ud, const char *method, const char *url,
    int *allow_private)
{
	struct br_call *c = ud;
	struct cap_call cc = c->cc;
	struct cap_decision d;

	cc.method = method;
	cc.url = url;
	policy_decide(&B.policy, &cc, &d);
	*allow_private = d.allow_private;
	return d.allowed;
}

static const struct {
	enum http_error	 error;
	enum mb_kind	 kind;
} http_kinds[] = {
	{ HTTP_DENIED,		MB_DENIED },
	{ HTTP_BAD_REQUEST,	MB_BAD_REQUEST },
	{ HTTP_TIMEOUT,		MB_TIMEOUT },
	{ HTTP_TOO_LARGE,	MB_RUNTIME },
	{ HTTP_FAILED,		MB_RUNTIME },
};

static void
http_done(void *ud, const struct http_response *resp)
{
	struct br_call *c = ud;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	c->pending = NULL;
	c->bytes_out = resp->bytes_sent;
	c->bytes_in = resp->bytes_received;
	if (resp->error != HTTP_OK) {
		enum mb_kind k = MB_RUNTIME;

		for (size_t i = 0; i < sizeof http_kinds / sizeof http_kinds[0];
		    i++)
			if (http_kinds[i].error == resp->error)
				k = http_kinds[i].kind;
		brk_replyf(c, k, "http.request %s %s: %s", c->method, c->url,
		    resp->message);
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msg_pack_cstr(&pk, "status");
	msgpack_pack_int64(&pk, resp->status);
	msg_pack_cstr(&pk, "headers");
	msgpack_pack_map(&pk, resp->nheaders);
	for (size_t i = 0; i < resp->nheaders; i++) {
		msg_pack_cstr(&pk, resp->headers[i].name);
		msg_pack_cstr(&pk, resp->headers[i].value);
	}
	msg_pack_cstr(&pk, "body");
	msgpack_pack_bin(&pk, resp->bodylen);
	msgpack_pack_bin_body(&pk, resp->body, resp->bodylen);
	brk_reply(c, MB_OK, "", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
http_perform(struct br_call *c)
{
	struct http_request req = { 0 };
	uint64_t left = brk_ms_left(c->w), cap = B.set.http_timeout_us / 1000;

	req.method = c->method;
	req.url = c->url;
	req.headers = c->headers;
	req.nheaders = c->nheaders;
	req.body = c->body;
	req.bodylen = c->bodylen;
	req.timeout_ms = c->timeout_ms > 0 && c->timeout_ms < cap ?
	    c->timeout_ms : cap;
	if (left < req.timeout_ms)
		req.timeout_ms = left > 0 ? left : 1;
	req.max_response = B.set.http_max_response;
	req.allow_private = c->decision.allow_private;
	req.max_redirects = 5;
	req.redirect_ok = http_redirect_ok;
	req.ud = c;
	if ((c->pending = http_start(B.http, &req, http_done, c)) == NULL)
		brk_replyf(c, MB_INTERNAL, "http.request: out of memory");
}

/* secrets */

static int
secret_start(struct br_call *c, struct mpr *r, uint32_t nargs)
{
	const char *s;
	size_t n;
	msgpack_packer pk;

	if (nargs != 1 || mpr_str(r, &s, &n) < 0 || n == 0 ||
	    n >= sizeof c->key)
		return bad_args(c, "takes the secret's name");
	memcpy(c->key, s, n);
	c->key[n] = '\0';
	c->cc.cap = CAP_SECRET;
	c->cc.secret = c->key;
	msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msg_pack_cstr(&pk, "name");
	msg_pack_cstr(&pk, c->key);
	return 0;
}

static void
secret_perform(struct br_call *c)
{
	const char *v = secrets_find(&B.secrets, c->key);
	struct br_worker *w = c->w;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (v == NULL) {
		brk_replyf(c, MB_INTERNAL, "secrets.get: %s is granted but not "
		    "defined in the secrets file", c->key);
		return;
	}
	/* A value given out must be known, to be redacted wherever it goes:
	 * one that cannot be tracked is not given. */
	for (int i = 0; i < w->ngiven; i++)
		if (strcmp(w->given_name[i], c->key) == 0 &&
		    strcmp(w->given[i], v) == 0)
			goto give;
	if (w->ngiven == BRK_MAX_SECRETS_GIVEN) {
		brk_replyf(c, MB_DENIED, "secrets.get: more than %d secrets in "
		    "one invocation", BRK_MAX_SECRETS_GIVEN);
		return;
	}
	if ((w->given[w->ngiven] = strdup(v)) == NULL ||
	    (w->given_name[w->ngiven] = strdup(c->key)) == NULL) {
		free((char *)w->given[w->ngiven]);
		brk_replyf(c, MB_INTERNAL, "secrets.get: out of memory");
		return;
	}
	w->ngiven++;
give:
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_cstr(&pk, v);
	brk_reply(c, MB_OK, "", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* log */

static int
log_start(struct br_call *c, struct mpr *r, uint32_t nargs)
{
	const char *s;
	size_t n;
	msgpack_packer pk;

	if (nargs != 2 || mpr_bytes(r, &s, &n) < 0)
		return bad_args(c, "takes a message and fields");
	if (n > 4096)
		n = 4096;
	if ((c->body = strndup(s, n)) == NULL)
		return bad_args(c, "out of memory");
	c->bodylen = n;
	if (!mpr_is_nil(r)) {
		const char *f;
		size_t fn;

		if (mpr_raw(r, MPR_MAX_DEPTH, &f, &fn) < 0)
			return bad_args(c, "fields cannot be read");
		if ((c->fields = jmp_to_json(f, fn, NULL, 0)) == NULL)
			return bad_args(c, "fields must convert to JSON");
	}
	c->cc.cap = CAP_LOG;
	msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msg_pack_cstr(&pk, "level");
	msg_pack_cstr(&pk, c->cap->method);
	msg_pack_cstr(&pk, "bytes");
	msgpack_pack_uint64(&pk, n);
	return 0;
}

static void
log_perform(struct br_call *c)
{
	static const struct { const char *name; enum log_level level; } lv[] = {
		{ "debug", LOG_LV_DEBUG }, { "info", LOG_LV_INFO },
		{ "warn", LOG_LV_WARN }, { "error", LOG_LV_ERR },
	};
	enum log_level level = LOG_LV_INFO;
	struct br_worker *w = c->w;

	for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++)
		if (strcmp(lv[i].name, c->cap->method) == 0)
			level = lv[i].level;
	for (int i = 0; i < w->ngiven; i++)	/* no secret in the log */
		if (strstr(c->body, w->given[i]) != NULL ||
		    (c->fields != NULL && strstr(c->fields, w->given[i]))) {
			snprintf(c->body, c->bodylen + 1, "%.*s", (int)c->bodylen,
			    "(redacted: the line held a secret)");
			free(c->fields);
			c->fields = NULL;
			break;
		}
	log_inv(level, w->inv, w->rule, w->pool, "%s%s%s", c->body,
	    c->fields != NULL ? " " : "", c->fields != NULL ? c->fields : "");
	brk_reply(c, MB_OK, "", NULL, 0);
}

/* time */

static int
time_start(struct br_call *c, struct mpr *r, uint32_t nargs)
{
	(void)r;
	if (nargs != 0)
		return bad_args(c, "takes no arguments");
	return 0;
}

static void
time_perform(struct br_call *c)
{
	struct timespec t;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	clock_gettime(CLOCK_REALTIME, &t);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_double(&pk, (double)t.tv_sec + t.tv_nsec / 1e9);
	brk_reply(c, MB_OK, "", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

const struct br_cap brk_caps[] = {
	{ "kv",		"get",		CAP_KV,		0, kv_start,	kv_perform },
	{ "kv",		"set",		CAP_KV,		1, kv_start,	kv_perform },
	{ "kv",		"del",		CAP_KV,		1, kv_start,	kv_perform },
	{ "kv",		"incr",		CAP_KV,		1, kv_start,	kv_perform },
	{ "http",	"request",	CAP_HTTP,	0, http_start_call, http_perform },
	{ "secret",	"get",		CAP_SECRET,	0, secret_start, secret_perform },
	{ "log",	"debug",	CAP_LOG,	0, log_start,	log_perform },
	{ "log",	"info",		CAP_LOG,	0, log_start,	log_perform },
	{ "log",	"warn",		CAP_LOG,	0, log_start,	log_perform },
	{ "log",	"error",	CAP_LOG,	0, log_start,	log_perform },
	{ "time",	"now",		-1,		0, time_start,	time_perform },
	{ NULL,		NULL,		0,		0, NULL,	NULL }
};
