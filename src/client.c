/*
 * client.c: libmoonbox (moonbox.h). Requests are packed with msgpack-c;
 * answers are cut from the stream with mpr.c's scanner and read strictly;
 * JSON conversions are jsonmp.c's (jansson).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <msgpack.h>

#include "jsonmp.h"
#include "moonbox.h"
#include "mpr.h"

#define MB_MAX_RESPONSE	(64u << 20)

struct mb_client {
	int		 fd;
	uint32_t	 next_msgid;
	char		*in;
	size_t		 inlen, incap;
	struct mpr_scan	 scan;
	char		 err[256];
};

static int
mb_fail(struct mb_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
mb_error(const struct mb_client *c)
{
	return c->err;
}

static int mb_roundtrip(struct mb_client *, const char *, const void *, size_t,
    struct mb_result *, int);

static int
mb_connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* "HOST:PORT", an IPv6 address in brackets: "[::1]:7600". */
static int
mb_connect_tcp(const char *hostport)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM }, *ai, *a;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t n;
	int fd = -1, one = 1;

	if (colon == NULL || (n = (size_t)(colon - hostport)) == 0 ||
	    n >= sizeof host) {
		errno = EINVAL;
		return -1;
	}
	memcpy(host, hostport, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
		    a->ai_protocol)) < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

struct mb_client *
mb_connect(const char *where)
{
	struct mb_client *c;
	int fd = strncmp(where, "tcp:", 4) == 0 ? mb_connect_tcp(where + 4) :
	    mb_connect_unix(where);

	if (fd < 0)
		return NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->next_msgid = 1;
	mpr_scan_init(&c->scan);
	return c;
}

/* Present the listener's token: auth [token]. 0 when accepted. */
int
mb_auth(struct mb_client *c, const char *token)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct mb_result r;
	int st;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str(&pk, strlen(token));
	msgpack_pack_str_body(&pk, token, strlen(token));
	st = mb_roundtrip(c, "auth", sb.data, sb.size, &r, 0);
	msgpack_sbuffer_destroy(&sb);
	if (st < 0)
		return -1;
	if (!r.ok)
		st = mb_fail(c, "%s: %s", r.kind, r.message != NULL ?
		    r.message : "refused");
	mb_result_free(&r);
	return st;
}

void
mb_close(struct mb_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->in);
	free(c);
}

void
mb_result_free(struct mb_result *r)
{
	free(r->message);
	free(r->value_json);
	free(r->id);
	for (size_t i = 0; i < r->nlog; i++)
		free(r->log[i]);
	free(r->log);
	free(r->raw);
	memset(r, 0, sizeof *r);
}

static int
mb_write_all(struct mb_client *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return mb_fail(c, "cannot send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
mb_send(struct mb_client *c, const char *method, const void *params,
    size_t len, uint32_t *msgid)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = strlen(method);
	int r;

	*msgid = c->next_msgid++;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, *msgid);
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, method, n);
	msgpack_sbuffer_write(&sb, params, len);
	r = mb_write_all(c, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

/* The next whole response in c->in: its length, reading as needed. */
static int
mb_read_response(struct mb_client *c, size_t *len)
{
	for (;;) {
		int r = mpr_scan(&c->scan, c->in, c->inlen, MPR_MAX_DEPTH, len);
		ssize_t got;

		if (r > 0) {
			mpr_scan_init(&c->scan);
			return 0;
		}
		if (r < 0)
			return mb_fail(c, "bad response: %s", c->scan.err);
		if (c->inlen == c->incap) {
			size_t cap = c->incap ? c->incap * 2 : 65536;
			char *p;

			if (cap > MB_MAX_RESPONSE)
				return mb_fail(c, "response too large");
			if ((p = realloc(c->in, cap)) == NULL)
				return mb_fail(c, "out of memory");
			c->in = p;
			c->incap = cap;
		}
		got = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return mb_fail(c, got == 0 ? "the daemon closed the "
			    "connection" : "cannot receive: %s", strerror(errno));
		c->inlen += (size_t)got;
	}
}

static char *
mb_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int
mb_key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(k, want, n) == 0;
}

static void
mb_read_usage(struct mpr *r, struct mb_usage *u)
{
	struct mpr_item it;
	uint32_t n;

	if (mpr_map(r, &n) < 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;

		if (mpr_str(r, &k, &kn) < 0 || mpr_next(r, &it) < 0)
			return;
		double d = it.type == MPR_FLOAT ? it.v.f : it.type == MPR_INT ?
		    (double)it.v.i : 0;
		uint64_t v = it.type == MPR_INT && it.v.i > 0 ?
		    (uint64_t)it.v.i : 0;

		if (mb_key_is(k, kn, "instructions")) {
			u->counted = it.type == MPR_INT;
			u->instructions = v;
		} else if (mb_key_is(k, kn, "memory"))
			u->memory = v;
		else if (mb_key_is(k, kn, "cpu_ms"))
			u->cpu_ms = d;
		else if (mb_key_is(k, kn, "wall_ms"))
			u->wall_ms = d;
		else if (mb_key_is(k, kn, "queue_ms"))
			u->queue_ms = d;
		else if (mb_key_is(k, kn, "calls"))
			u->calls = v;
		else if (mb_key_is(k, kn, "log_dropped"))
			u->log_dropped = v;
	}
}

static void
mb_read_log(struct mpr *r, struct mb_result *res)
{
	uint32_t n;
	const char *s;
	size_t len;

	if (mpr_array(r, &n) < 0 || (res->log = calloc(n + 1,
	    sizeof *res->log)) == NULL)
		return;
	for (uint32_t i = 0; i < n && mpr_bytes(r, &s, &len) == 0; i++)
		if ((res->log[i] = mb_strndup(s, len)) != NULL)
			res->nlog = i + 1;
}

/* A map with some of: value, id, usage, log, kind, message. Other keys are
 * skipped, so the daemon may add more. */
static int
mb_read_fields(struct mpr *r, struct mb_result *res)
{
	uint32_t n;

	if (mpr_map(r, &n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		size_t kn, sn;

		if (mpr_str(r, &k, &kn) < 0)
			return -1;
		if (mb_key_is(k, kn, "value")) {
			if (mpr_raw(r, MPR_MAX_DEPTH, &s, &sn) < 0)
				return -1;
			res->value_json = jmp_to_json(s, sn, NULL, 0);
		} else if (mb_key_is(k, kn, "usage"))
			mb_read_usage(r, &res->usage);
		else if (mb_key_is(k, kn, "log"))
			mb_read_log(r, res);
		else if ((mb_key_is(k, kn, "id") || mb_key_is(k, kn, "message") ||
		    mb_key_is(k, kn, "kind")) && mpr_str(r, &s, &sn) == 0) {
			if (k[0] == 'i')
				res->id = mb_strndup(s, sn);
			else if (k[0] == 'm')
				res->message = mb_strndup(s, sn);
			else
				snprintf(res->kind, sizeof res->kind, "%.*s",
				    (int)(sn < 31 ? sn : 31), s);
		} else if (mpr_skip(r, MPR_MAX_DEPTH) < 0)
			return -1;
	}
	return 0;
}

/* Whether a result is invoke's {value, id, usage, log}: a map with a
 * "value" key. Anything else is handed over whole as value_json. */
static int
mb_is_invoke_result(const struct mpr *at)
{
	struct mpr r = *at;
	uint32_t n;

	if (mpr_map(&r, &n) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;

		if (mpr_str(&r, &k, &kn) < 0)
			return 0;
		if (mb_key_is(k, kn, "value"))
			return 1;
		if (mpr_skip(&r, MPR_MAX_DEPTH) < 0)
			return 0;
	}
	return 0;
}

/* [1, msgid, error, result] into res. */
static int
mb_parse(struct mb_client *c, const char *buf, size_t len, uint32_t *msgid,
    struct mb_result *res, int invoke)
{
	struct mpr r, peek;
	const char *s;
	size_t sn;
	uint32_t n;
	uint64_t id;
	int64_t type;

	memset(res, 0, sizeof *res);
	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || n != 4 || mpr_int(&r, &type) < 0 ||
	    type != 1 || mpr_uint(&r, &id) < 0 || id > UINT32_MAX)
		return mb_fail(c, "bad response: not [1, msgid, error, result]");
	*msgid = (uint32_t)id;
	if (!mpr_is_nil(&r)) {
		if (mb_read_fields(&r, res) < 0 || mpr_skip(&r, MPR_MAX_DEPTH) < 0)
			return mb_fail(c, "bad response: %s", r.err);
		return 0;
	}
	res->ok = 1;
	peek = r;
	if (invoke && mb_is_invoke_result(&peek) && mb_read_fields(&peek, res) ==
	    0)
		return 0;
	if (mpr_raw(&r, MPR_MAX_DEPTH, &s, &sn) < 0)
		return mb_fail(c, "bad response: %s", r.err);
	res->value_json = jmp_to_json(s, sn, NULL, 0);
	return 0;
}

static int
mb_recv_any(struct mb_client *c, uint32_t *msgid, struct mb_result *res,
    int invoke)
{
	size_t len;
	int r;

	if (mb_read_response(c, &len) < 0)
		return -1;
	r = mb_parse(c, c->in, len, msgid, res, invoke);
	if (r < 0)
		mb_result_free(res);
	if (r == 0 && (res->raw = malloc(len)) != NULL) {
		memcpy(res->raw, c->in, len);
		res->raw_len = len;
	}
	memmove(c->in, c->in + len, c->inlen - len);
	c->inlen -= len;
	return r;
}

int
mb_recv(struct mb_client *c, uint32_t *msgid, struct mb_result *res)
{
	return mb_recv_any(c, msgid, res, 1);
}

/* Send, then wait for the answer with this msgid (others are dropped). */
static int
mb_roundtrip(struct mb_client *c, const char *method, const void *params,
    size_t len, struct mb_result *res, int invoke)
{
	uint32_t want, got;

	if (mb_send(c, method, params, len, &want) < 0)
		return -1;
	for (;;) {
		if (mb_recv_any(c, &got, res, invoke) < 0)
			return -1;
		if (got == want)
			return 0;
		mb_result_free(res);
	}
}

static void
mb_pack_options(msgpack_packer *pk, const struct mb_options *o)
{
	const struct { const char *name; uint64_t v; } f[] = {
		{ "deadline", o->deadline_ms }, { "memory", o->memory },
		{ "instructions", o->instructions }, { "output", o->output },
		{ "log", o->log }, { "calls", o->calls },
	};
	const size_t nf = sizeof f / sizeof f[0];
	unsigned n = o->record != 0;

	for (size_t i = 0; i < nf; i++)
		n += f[i].v > 0;
	msgpack_pack_map(pk, n);
	if (o->record) {
		msgpack_pack_str(pk, 6);
		msgpack_pack_str_body(pk, "record", 6);
		msgpack_pack_true(pk);
	}
	for (size_t i = 0; i < nf; i++) {
		if (f[i].v == 0)
			continue;
		msgpack_pack_str(pk, strlen(f[i].name));
		msgpack_pack_str_body(pk, f[i].name, strlen(f[i].name));
		msgpack_pack_uint64(pk, f[i].v);
	}
}

int
mb_invoke_msgpack(struct mb_client *c, const char *rule, const void *input,
    size_t len, const struct mb_options *o, struct mb_result *res)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int r;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, o != NULL ? 3 : 2);
	msgpack_pack_str(&pk, strlen(rule));
	msgpack_pack_str_body(&pk, rule, strlen(rule));
	if (input == NULL || len == 0)
		msgpack_pack_nil(&pk);
	else
		msgpack_sbuffer_write(&sb, input, len);
	if (o != NULL)
		mb_pack_options(&pk, o);
	r = mb_roundtrip(c, "invoke", sb.data, sb.size, res, 1);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

int
mb_invoke(struct mb_client *c, const char *rule, const char *json,
    const struct mb_options *o, struct mb_result *res)
{
	msgpack_sbuffer sb;
	char err[256];
	int r;

	msgpack_sbuffer_init(&sb);
	if (json != NULL && jmp_from_json(json, strlen(json), &sb, err,
	    sizeof err) < 0) {
		msgpack_sbuffer_destroy(&sb);
		return mb_fail(c, "input is not valid JSON: %s", err);
	}
	r = mb_invoke_msgpack(c, rule, sb.data, sb.size, o, res);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

int
mb_call(struct mb_client *c, const char *method, const char *params_json,
    struct mb_result *res)
{
	msgpack_sbuffer sb;
	char err[256];
	int r;

	msgpack_sbuffer_init(&sb);
	if (jmp_from_json(params_json != NULL ? params_json : "[]",
	    strlen(params_json != NULL ? params_json : "[]"), &sb, err,
	    sizeof err) < 0) {
		msgpack_sbuffer_destroy(&sb);
		return mb_fail(c, "params are not valid JSON: %s", err);
	}
	if (sb.size == 0 || ((unsigned char)sb.data[0] & 0xf0) != 0x90) {
		if (sb.size == 0 || ((unsigned char)sb.data[0] != 0xdc &&
		    (unsigned char)sb.data[0] != 0xdd)) {
			msgpack_sbuffer_destroy(&sb);
			return mb_fail(c, "params must be a JSON array");
		}
	}
	r = mb_roundtrip(c, method, sb.data, sb.size, res, 0);
	msgpack_sbuffer_destroy(&sb);
	return r;
}
