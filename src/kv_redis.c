/*
 * kv_redis.c: the shared store, Redis through hiredis's async API on the
 * broker's libevent loop (hiredis/adapters/libevent.h). Plugs into kv.c
 * through its table of operations.
 *
 * A pool's key is "moonbox:" ns ":" key, sent as one binary-safe argument
 * (redisAsyncCommandArgv). get is GET, set is SET with PX when there is a
 * ttl (a plain SET drops an earlier expiry), del is DEL, incr is a short
 * script so that the ttl is set exactly when the key is created, and the
 * new value comes back as Redis's own decimal string (Lua in Redis counts
 * in doubles, which would round counters past 2^53).
 *
 * The connection: CONNECTING (operations queue in hiredis), UP, or DOWN
 * (operations fail at once; a timer retries with a doubling backoff).
 * Every operation waiting for its reply is on one FIFO list, as hiredis
 * answers them; one timer watches the oldest (or the connection attempt)
 * and drops the connection when it is KV_REDIS_TIMEOUT_MS late. Dropping
 * frees the hiredis context, which answers every pending operation with
 * no reply: those get KV_ERROR, once. The process must ignore SIGPIPE
 * (hiredis writes with write(2)); moonboxd does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>
#include <sys/un.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "kv.h"

#define RKV_PREFIX	"moonbox:"
#define RKV_KEY_MAX	(sizeof RKV_PREFIX - 1 + KV_NS_MAX + 1 + KV_KEY_MAX)
#define RKV_BACKOFF_MIN	100		/* ms */
#define RKV_BACKOFF_MAX	5000

/* KEYS[1]: the key; ARGV[1]: by; ARGV[2]: ttl in ms, "0": none. */
static const char rkv_incr_script[] =
    "local new = redis.call('EXISTS', KEYS[1]) == 0\n"
    "redis.call('INCRBY', KEYS[1], ARGV[1])\n"
    "if new and ARGV[2] ~= '0' then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return redis.call('GET', KEYS[1])\n";

enum rkv_state { RKV_DOWN, RKV_CONNECTING, RKV_UP };
enum rkv_kind { RKV_GET, RKV_SET, RKV_DEL, RKV_INCR };

struct rkv;

struct rkv_op {
	TAILQ_ENTRY(rkv_op)	 entry;
	struct rkv		*r;
	enum rkv_kind		 kind;
	uint64_t		 sent;		/* monotonic ms */
	kv_cb			 cb;
	void			*arg;
};

struct rkv {
	struct event_base	*base;
	char			*address;	/* host, or a socket's path */
	int			 port;
	char			 where[128];	/* for messages */
	redisAsyncContext	*ac;		/* NULL when DOWN */
	enum rkv_state		 state;
	uint64_t		 since;		/* CONNECTING since */
	char			 why[384];	/* why DOWN */
	struct event		*retry, *watch;
	unsigned		 backoff;	/* ms before the next retry */
	TAILQ_HEAD(, rkv_op)	 pending;
	size_t			 npending;
	int			 closing;
};

static uint64_t
rkv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
rkv_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
}

static int
rkv_is_unix(const struct rkv *r)
{
	return r->address[0] == '/';
}

/* Arm the watch for the connection attempt or the oldest operation. */
static void
rkv_watch_arm(struct rkv *r)
{
	struct timeval tv;
	uint64_t start, now = rkv_now();

	if (r->state == RKV_CONNECTING)
		start = r->since;
	else if (r->state == RKV_UP && !TAILQ_EMPTY(&r->pending))
		start = TAILQ_FIRST(&r->pending)->sent;
	else {
		event_del(r->watch);
		return;
	}
	rkv_ms(&tv, start + KV_REDIS_TIMEOUT_MS > now ?
	    start + KV_REDIS_TIMEOUT_MS - now : 0);
	event_add(r->watch, &tv);
}

/* The connection is gone (hiredis frees ac, or the caller does). */
static void
rkv_down(struct rkv *r, const char *fmt, ...)
{
	struct timeval tv;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof r->why)
		snprintf(r->why + n, sizeof r->why - (size_t)n,
		    " (redis at %s)", r->where);
	r->ac = NULL;
	r->state = RKV_DOWN;
	event_del(r->watch);
	if (r->closing)
		return;
	rkv_ms(&tv, r->backoff);
	event_add(r->retry, &tv);
	r->backoff = r->backoff * 2 > RKV_BACKOFF_MAX ? RKV_BACKOFF_MAX :
	    r->backoff * 2;
}

/* Drop a live connection: every pending operation fails. */
static void
rkv_drop(struct rkv *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	rkv_down(r, "%s", why);
	if (ac != NULL)
		redisAsyncFree(ac);
}

static void
rkv_watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct rkv *r = arg;
	uint64_t now = rkv_now();

	(void)fd;
	(void)what;
	if (r->state == RKV_CONNECTING &&
	    now >= r->since + KV_REDIS_TIMEOUT_MS)
		rkv_drop(r, "no connection within 2000 ms");
	else if (r->state == RKV_UP && !TAILQ_EMPTY(&r->pending) &&
	    now >= TAILQ_FIRST(&r->pending)->sent + KV_REDIS_TIMEOUT_MS)
		rkv_drop(r, "no answer within 2000 ms");
	else
		rkv_watch_arm(r);
}

static void
rkv_on_connect(const redisAsyncContext *ac, int status)
{
	struct rkv *r = ac->data;

	if (ac != r->ac)
		return;
	if (status != REDIS_OK) {
		rkv_down(r, "%s", ac->errstr);	/* hiredis frees ac */
		return;
	}
	r->state = RKV_UP;
	r->backoff = RKV_BACKOFF_MIN;
	rkv_watch_arm(r);
}

static void
rkv_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rkv *r = ac->data;

	(void)status;
	if (ac == r->ac)
		rkv_down(r, "%s", ac->err ? ac->errstr :
		    "the connection was closed");
}

static void
rkv_connect(struct rkv *r)
{
	redisAsyncContext *ac;

	ac = rkv_is_unix(r) ? redisAsyncConnectUnix(r->address) :
	    redisAsyncConnect(r->address, r->port);
	if (ac == NULL) {
		rkv_down(r, "out of memory");
		return;
	}
	if (ac->err) {
		rkv_down(r, "%s", ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	ac->data = r;
	r->ac = ac;
	r->state = RKV_CONNECTING;
	r->since = rkv_now();
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, rkv_on_connect);
	redisAsyncSetDisconnectCallback(ac, rkv_on_disconnect);
	rkv_watch_arm(r);
}

static void
rkv_retry_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rkv_connect(arg);
}

/* An error reply: Redis out of memory is KV_FULL. */
static void
rkv_error(struct rkv_op *op, const char *msg)
{
	char buf[512];

	if (strncmp(msg, "OOM", 3) == 0 || strstr(msg, "OOM command") != NULL) {
		snprintf(buf, sizeof buf, "kv store is full: redis is out of "
		    "memory: raise its maxmemory, or delete keys (%s)", msg);
		kv_answer(op->cb, op->arg, KV_FULL, buf);
	} else if (op->kind == RKV_INCR && strstr(msg, "not an integer")) {
		kv_answer(op->cb, op->arg, KV_NOT_INTEGER, "kv: incr of a "
		    "value that is not a decimal integer");
	} else if (op->kind == RKV_INCR && strstr(msg, "overflow")) {
		kv_answer(op->cb, op->arg, KV_ERROR, "kv: incr would overflow "
		    "a 64-bit integer");
	} else {
		snprintf(buf, sizeof buf, "redis refused the operation: %s",
		    msg);
		kv_answer(op->cb, op->arg, KV_ERROR, buf);
	}
}

static void
rkv_ok(struct rkv_op *op, const redisReply *rep)
{
	struct kv_reply kr;

	memset(&kr, 0, sizeof kr);
	kr.status = KV_OK;
	if (op->kind == RKV_GET) {
		kr.value = rep->str;
		kr.len = rep->len;
	} else if (op->kind == RKV_INCR &&
	    !kv_parse_int(rep->str, rep->len, &kr.number)) {
		kv_answer(op->cb, op->arg, KV_ERROR, "kv: redis answered incr "
		    "with something other than an integer");
		return;
	}
	op->cb(op->arg, &kr);
}

/* Whether rep is the reply that op expects when it succeeds. */
static int
rkv_expected(const struct rkv_op *op, const redisReply *rep)
{
	switch (op->kind) {
	case RKV_GET:
	case RKV_INCR:
		return rep->type == REDIS_REPLY_STRING;
	case RKV_SET:
		return rep->type == REDIS_REPLY_STATUS;
	case RKV_DEL:
		return rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	}
	return 0;
}

static void
rkv_answer(struct rkv_op *op, const redisReply *rep)
{
	if (rep->type == REDIS_REPLY_ERROR)
		rkv_error(op, rep->str);
	else if (rkv_expected(op, rep))
		rkv_ok(op, rep);
	else if ((op->kind == RKV_GET && rep->type == REDIS_REPLY_NIL) ||
	    (op->kind == RKV_DEL && rep->type == REDIS_REPLY_INTEGER))
		kv_answer(op->cb, op->arg, KV_NOT_FOUND, "kv: no such key");
	else
		kv_answer(op->cb, op->arg, KV_ERROR, "kv: unexpected reply "
		    "from redis: is the address that of a Redis server?");
}

static void
rkv_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rkv_op *op = priv;
	struct rkv *r = op->r;
	char buf[512];

	TAILQ_REMOVE(&r->pending, op, entry);
	r->npending--;
	if (reply == NULL && r->closing)
		kv_answer(op->cb, op->arg, KV_ERROR, "kv store closed");
	else if (reply == NULL) {
		if (ac == r->ac)	/* hiredis is freeing it */
			rkv_down(r, "%s", ac->err ? ac->errstr :
			    "the connection was closed");
		snprintf(buf, sizeof buf, "redis unavailable: %s", r->why);
		kv_answer(op->cb, op->arg, KV_ERROR, buf);
	} else
		rkv_answer(op, reply);
	free(op);
	if (!r->closing && r->state == RKV_UP)
		rkv_watch_arm(r);
}

/* Send argv for op, or answer it at once if that cannot be done. */
static void
rkv_send(struct rkv *r, enum rkv_kind kind, int argc, const char **argv,
    const size_t *argvlen, kv_cb cb, void *arg)
{
	struct rkv_op *op;
	char buf[512];

	if (r->state == RKV_DOWN) {
		snprintf(buf, sizeof buf, "redis unavailable: %s", r->why);
		kv_answer(cb, arg, KV_ERROR, buf);
		return;
	}
	if (r->npending >= KV_REDIS_PENDING_MAX) {
		kv_answer(cb, arg, KV_ERROR, "kv: too many operations wait for "
		    "redis: it is too slow for this load");
		return;
	}
	if ((op = calloc(1, sizeof *op)) == NULL) {
		kv_answer(cb, arg, KV_ERROR, "kv: out of memory");
		return;
	}
	*op = (struct rkv_op){ .r = r, .kind = kind, .sent = rkv_now(),
	    .cb = cb, .arg = arg };
	if (redisAsyncCommandArgv(r->ac, rkv_reply, op, argc, argv,
	    argvlen) != REDIS_OK) {
		free(op);
		kv_answer(cb, arg, KV_ERROR, "redis unavailable: the "
		    "connection is closing");
		return;
	}
	TAILQ_INSERT_TAIL(&r->pending, op, entry);
	if (r->npending++ == 0)
		rkv_watch_arm(r);
}

static size_t
rkv_key(char *buf, const char *ns, const char *key, size_t klen)
{
	size_t nslen = strlen(ns), p = sizeof RKV_PREFIX - 1;

	memcpy(buf, RKV_PREFIX, p);
	memcpy(buf + p, ns, nslen);
	buf[p + nslen] = ':';
	memcpy(buf + p + nslen + 1, key, klen);
	return p + nslen + 1 + klen;
}

static void
rkv_get(void *be, const char *ns, const char *key, size_t klen, kv_cb cb,
    void *arg)
{
	char k[RKV_KEY_MAX];
	const char *argv[] = { "GET", k };
	size_t argvlen[] = { 3, rkv_key(k, ns, key, klen) };

	rkv_send(be, RKV_GET, 2, argv, argvlen, cb, arg);
}

static void
rkv_set(void *be, const char *ns, const char *key, size_t klen,
    const char *value, size_t vlen, uint64_t ttl_ms, kv_cb cb, void *arg)
{
	char k[RKV_KEY_MAX], ttl[24];
	const char *argv[] = { "SET", k, value, "PX", ttl };
	size_t argvlen[] = { 3, rkv_key(k, ns, key, klen), vlen, 2,
	    (size_t)snprintf(ttl, sizeof ttl, "%llu",
	    (unsigned long long)ttl_ms) };

	rkv_send(be, RKV_SET, ttl_ms > 0 ? 5 : 3, argv, argvlen, cb, arg);
}

static void
rkv_del(void *be, const char *ns, const char *key, size_t klen, kv_cb cb,
    void *arg)
{
	char k[RKV_KEY_MAX];
	const char *argv[] = { "DEL", k };
	size_t argvlen[] = { 3, rkv_key(k, ns, key, klen) };

	rkv_send(be, RKV_DEL, 2, argv, argvlen, cb, arg);
}

static void
rkv_incr(void *be, const char *ns, const char *key, size_t klen, int64_t by,
    uint64_t ttl_ms, kv_cb cb, void *arg)
{
	char k[RKV_KEY_MAX], n[24], ttl[24];
	const char *argv[] = { "EVAL", rkv_incr_script, "1", k, n, ttl };
	size_t argvlen[] = { 4, sizeof rkv_incr_script - 1, 1,
	    rkv_key(k, ns, key, klen),
	    (size_t)snprintf(n, sizeof n, "%lld", (long long)by),
	    (size_t)snprintf(ttl, sizeof ttl, "%llu",
	    (unsigned long long)ttl_ms) };

	rkv_send(be, RKV_INCR, 6, argv, argvlen, cb, arg);
}

static void
rkv_close(void *be)
{
	struct rkv *r = be;
	redisAsyncContext *ac = r->ac;

	r->closing = 1;
	r->ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);	/* answers what is pending */
	if (r->retry != NULL)
		event_free(r->retry);
	if (r->watch != NULL)
		event_free(r->watch);
	free(r->address);
	free(r);
}

static const struct kv_ops rkv_ops = {
	"redis", rkv_get, rkv_set, rkv_del, rkv_incr, NULL, rkv_close
};

static int
rkv_check(struct event_base *base, const char *address, int port, char *err,
    size_t len)
{
	if (base == NULL || address == NULL || *address == '\0')
		snprintf(err, len, "kv: no redis address given: give a host "
		    "and port, or a unix socket's path");
	else if (*address == '/' &&
	    strlen(address) >= sizeof ((struct sockaddr_un *)0)->sun_path)
		snprintf(err, len, "kv: the redis socket path %s is longer "
		    "than %zu bytes: use a shorter one", address,
		    sizeof ((struct sockaddr_un *)0)->sun_path - 1);
	else if (*address != '/' && (port < 1 || port > 65535))
		snprintf(err, len, "kv: redis port %d is not one: give 1 to "
		    "65535", port);
	else
		return 0;
	return -1;
}

struct kv *
kv_open_redis(struct event_base *base, const char *address, int port,
    char *err, size_t len)
{
	struct rkv *r;

	if (rkv_check(base, address, port, err, len) < 0)
		return NULL;
	if ((r = calloc(1, sizeof *r)) == NULL ||
	    (r->address = strdup(address)) == NULL ||
	    (r->retry = evtimer_new(base, rkv_retry_fire, r)) == NULL ||
	    (r->watch = evtimer_new(base, rkv_watch_fire, r)) == NULL) {
		if (r != NULL)
			rkv_close(r);
		snprintf(err, len, "kv: out of memory");
		return NULL;
	}
	r->base = base;
	r->port = port;
	if (rkv_is_unix(r))
		snprintf(r->where, sizeof r->where, "%s", address);
	else
		snprintf(r->where, sizeof r->where, "%s:%d", address, port);
	r->backoff = RKV_BACKOFF_MIN;
	TAILQ_INIT(&r->pending);
	rkv_connect(r);
	return kv_new(&rkv_ops, r, err, len);
}
