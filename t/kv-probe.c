/*
 * kv-probe.c: the kv store's Redis backend through kv.h on a libevent
 * loop, against a redis-server of its own, printing TAP (t/kv-redis.t
 * runs it). The contract the LMDB store keeps too (kvtest.h), how keys
 * and expiries look in Redis, Redis out of memory, then the server
 * stopped, killed and started again: operations fail fast with KV_ERROR
 * and the store reconnects. Usage: kv-probe REDIS-SERVER DIR. Uses tap.h,
 * kvtest.h, hiredis's synchronous API to look at and configure the server.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "kv.h"
#include "tap.h"
#include "kvtest.h"

static struct event_base *base;
static const char *server, *dir;
static char sock[256];
static int tcp_port;
static pid_t redis_pid;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until *calls reaches want or ms pass. */
static int
wait_calls(int *calls, int want, uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	struct timeval tv = { 0, 5000 };

	while (*calls < want && now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return *calls >= want;
}

static void
spin(uint64_t ms)
{
	int never = 0;

	wait_calls(&never, 1, ms);
}

static enum kv_status
done(void)
{
	if (!wait_calls(&R.calls, 1, 5000))
		snprintf(R.msg, sizeof R.msg, "(no answer)");
	return R.calls == 1 ? R.st : (enum kv_status)-1;
}

/* A synchronous command on a fresh connection; NULL if none. */
static redisReply *
admin(const char *fmt, ...)
{
	redisContext *c = redisConnectUnix(sock);
	redisReply *rep = NULL;
	va_list ap;

	if (c != NULL && !c->err) {
		va_start(ap, fmt);
		rep = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	redisFree(c);
	return rep;
}

static long long
admin_int(const char *fmt, const char *key, size_t klen)
{
	redisReply *rep = admin(fmt, key, klen);
	long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer :
	    -999;

	freeReplyObject(rep);
	return v;
}

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
redis_exec(void)
{
	char port[16], log[300];
	int fd;

	snprintf(port, sizeof port, "%d", tcp_port);
	snprintf(log, sizeof log, "%s/redis.log", dir);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execl(server, server, "--port", port, "--bind", "127.0.0.1",
	    "--unixsocket", sock, "--unixsocketperm", "700", "--save", "",
	    "--appendonly", "no", "--daemonize", "no", "--dir", dir,
	    (char *)NULL);
	_exit(127);
}

/* Start redis-server and wait until it answers PING. */
static int
redis_start(void)
{
	redisReply *rep;

	fflush(stdout);
	if ((redis_pid = fork()) == 0)
		redis_exec();
	for (int i = 0; i < 500; i++) {
		if ((rep = admin("PING")) != NULL) {
			freeReplyObject(rep);
			return 0;
		}
		if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
			redis_pid = 0;
			return -1;
		}
		kvt_sleep_ms(10);
	}
	return -1;
}

/* Signal the server, never the process group when there is none. */
static void
redis_signal(int sig)
{
	if (redis_pid > 0)
		kill(redis_pid, sig);
}

static void
redis_kill(void)
{
	if (redis_pid > 0) {
		redis_signal(SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
}

/* The server's log, as TAP comments, when it would not start. */
static void
redis_log(void)
{
	char line[512], log[300];
	FILE *f;

	snprintf(log, sizeof log, "%s/redis.log", dir);
	if ((f = fopen(log, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		diag("%.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

static void
test_open_arguments(void)
{
	char err[512] = "", path[200];
	struct kv *kv;

	memset(path, 'p', sizeof path);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	ok(kv_open_redis(NULL, sock, 0, err, sizeof err) == NULL &&
	    kv_open_redis(base, "", 0, err, sizeof err) == NULL &&
	    kv_open_redis(base, NULL, 0, err, sizeof err) == NULL &&
	    strstr(err, "no redis address"),
	    "opening without a loop or an address is refused");
	ok(kv_open_redis(base, "127.0.0.1", 0, err, sizeof err) == NULL &&
	    kv_open_redis(base, "127.0.0.1", 65536, err, sizeof err) ==
	    NULL && strstr(err, "1 to 65535"),
	    "a port outside 1-65535 is refused");
	ok(kv_open_redis(base, path, 0, err, sizeof err) == NULL &&
	    strstr(err, "longer than"),
	    "a socket path too long for a unix address is refused");
	kv = kv_open_redis(base, "/nonexistent/r.sock", 0, err, sizeof err);
	res_reset(&R);
	if (kv != NULL)
		kv_get(kv, "p", S("k"), res_cb, &R);
	ok(kv != NULL && R.calls == 1 && R.st == KV_ERROR &&
	    strstr(R.msg, "redis unavailable") &&
	    strstr(R.msg, "/nonexistent/r.sock"),
	    "with no server at the socket, an operation fails at once saying "
	    "redis is unavailable, and where");
	diag("%s", R.msg);
	kv_close(kv);
}

/* What the contract cannot see: how keys and expiries look in Redis, and
 * that wrong arguments never reach it. After kvt_test_round_trips. */
static void
test_redis_keys(struct kv *kv)
{
	redisReply *rep;

	rep = admin("GET %b", "moonbox:p:k\0one", sizeof "moonbox:p:k\0one");
	ok(rep && rep->type == REDIS_REPLY_STRING &&
	    strcmp(rep->str, "with nul") == 0,
	    "in Redis the key is moonbox:<pool>:<key>, every byte of it");
	freeReplyObject(rep);
	ok(kvt_get(kv, "p", "", 0) == KV_ERROR && strstr(R.msg, "empty key") &&
	    SET(kv, "a:b", "k", "v", 0) == KV_ERROR,
	    "wrong arguments are refused before Redis sees them");
}

/* Called by kvt_test_ttl between setting the keys and their expiry. */
static void
redis_ttls(struct kv *kv)
{
	(void)kv;
	ok(admin_int("PTTL %b", S("moonbox:t:cleared")) == -1 &&
	    admin_int("PTTL %b", S("moonbox:t:kept")) == -1,
	    "in Redis, set with ttl 0 and incr of an existing key leave no "
	    "expiry");
	ok(admin_int("PTTL %b", S("moonbox:t:born")) > 0 &&
	    admin_int("PTTL %b", S("moonbox:t:born")) <= 200,
	    "in Redis, incr gives the key it creates its ttl");
}

static void
test_oom(struct kv *kv)
{
	redisReply *rep;
	int full;

	SET(kv, "m", "before", "there", 0);
	freeReplyObject(admin("CONFIG SET maxmemory 1"));
	full = SET(kv, "m", "k", "v", 0) == KV_FULL &&
	    strstr(R.msg, "maxmemory") != NULL;
	diag("%s", R.msg);
	full &= kvt_incr(kv, "m", S("n"), 1, 0) == KV_FULL;
	ok(full, "redis out of memory is KV_FULL, for set and incr, saying "
	    "to raise maxmemory");
	ok(kvt_holds(kv, "m", S("before"), S("there")),
	    "while redis is out of memory, reads still work");
	rep = admin("CONFIG SET maxmemory 0");
	ok(rep != NULL && SET(kv, "m", "k", "v", 0) == KV_OK,
	    "once redis has memory again, writes work");
	freeReplyObject(rep);
}

static void
test_tcp(void)
{
	char err[512];
	struct kv *kv;
	int closed = free_port();
	uint64_t t0;

	kv = kv_open_redis(base, "127.0.0.1", tcp_port, err, sizeof err);
	ok(kv != NULL && SET(kv, "p", "tcp", "yes", 0) == KV_OK &&
	    kvt_holds(kv, "p", S("tcp"), S("yes")),
	    "a host and port work as the socket does");
	kv_close(kv);
	kv = kv_open_redis(base, "127.0.0.1", closed, err, sizeof err);
	t0 = now_ms();
	ok(kv != NULL && SET(kv, "p", "k", "v", 0) == KV_ERROR &&
	    strstr(R.msg, "redis unavailable") && now_ms() - t0 < 1000,
	    "a port nobody listens on fails the operation quickly");
	diag("%s", R.msg);
	kv_close(kv);
}

static void
test_close(void)
{
	struct res r[3] = { { 0 } };
	char err[512];
	struct kv *kv;
	int once = 1;
	long before;

	kv = kv_open_redis(base, sock, 0, err, sizeof err);
	SET(kv, "p", "c", "v", 0);
	for (int i = 0; i < 3; i++) {
		res_reset(&r[i]);
		kv_get(kv, "p", S("c"), res_cb, &r[i]);
	}
	kv_close(kv);
	for (int i = 0; i < 3; i++)
		once &= r[i].calls == 1 && r[i].st == KV_ERROR &&
		    strstr(r[i].msg, "closed") != NULL;
	ok(once, "closing answers every pending operation once with KV_ERROR, "
	    "before it returns");
	before = kvt_answers;
	spin(100);
	ok(kvt_answers == before, "no callback runs after the store is closed");
	for (int i = 0; i < 3; i++)
		res_reset(&r[i]);
	kvt_ops -= 3;
}

static void
count_cb(void *arg, const struct kv_reply *r)
{
	(void)r;
	kvt_answers++;
	++*(int *)arg;
}

static void
test_backlog(struct kv *kv)
{
	char err[64];
	int n = 0;

	for (int i = 0; i < KV_REDIS_PENDING_MAX; i++)
		kv_get(kv, "p", S("k"), count_cb, &n);
	kvt_ops += KV_REDIS_PENDING_MAX;
	res_reset(&R);
	kv_get(kv, "p", S("k"), res_cb, &R);
	ok(R.calls == 1 && R.st == KV_ERROR && strstr(R.msg, "too many") &&
	    n == 0, "past KV_REDIS_PENDING_MAX waiting operations, another "
	    "fails at once instead of queueing");
	ok(wait_calls(&n, KV_REDIS_PENDING_MAX, 10000) &&
	    SET(kv, "p", "k", "v", 0) == KV_OK,
	    "the waiting operations are all answered, and the store goes on");
	ok(kv_sweep(kv, 0, err, sizeof err) == 0,
	    "sweeping a Redis store is left to Redis: nothing to do");
}

static void
test_server_closes(struct kv *kv)
{
	redisReply *rep = admin("CLIENT KILL TYPE normal");
	int killed, back = 0;

	killed = rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer >= 1;
	freeReplyObject(rep);
	for (int i = 0; i < 60 && !back; i++) {
		back = SET(kv, "p", "after", "kill", 0) == KV_OK;
		if (!back)
			spin(50);
	}
	ok(killed && back && kvt_holds(kv, "p", S("after"), S("kill")),
	    "when redis closes the connection, the store reconnects by itself");
}

static int
reconnects(struct kv *kv, const char *what)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 100; i++) {
		if (SET(kv, "p", "back", what, 0) == KV_OK) {
			diag("back after %llu ms",
			    (unsigned long long)(now_ms() - t0));
			return kvt_holds(kv, "p", S("back"), S(what));
		}
		spin(50);
	}
	return 0;
}

static void
test_killed(struct kv *kv)
{
	struct res inflight = { 0 };
	uint64_t t0;

	redis_signal(SIGSTOP);
	res_reset(&inflight);
	kv_get(kv, "p", S("back"), res_cb, &inflight);
	spin(50);
	redis_kill();
	t0 = now_ms();
	wait_calls(&inflight.calls, 1, 1500);
	ok(inflight.calls == 1 && inflight.st == KV_ERROR &&
	    strstr(inflight.msg, "redis unavailable") && now_ms() - t0 < 1000,
	    "an operation in flight when redis dies fails with KV_ERROR");
	diag("%s", inflight.msg);
	res_reset(&inflight);
	kvt_ops--;
	spin(20);
	res_reset(&R);
	t0 = now_ms();
	kv_get(kv, "p", S("k"), res_cb, &R);
	ok(R.calls == 1 && R.st == KV_ERROR &&
	    strstr(R.msg, "redis unavailable") && now_ms() - t0 < 50,
	    "while redis is down, an operation fails at once (before kv_get "
	    "returns) saying redis is unavailable");
	ok(kvt_incr(kv, "p", S("n"), 1, 0) == KV_ERROR &&
	    SET(kv, "p", "k", "v", 0) == KV_ERROR &&
	    kvt_del(kv, "p", S("k")) == KV_ERROR,
	    "while redis is down, every kind of operation fails");
	spin(300);
	ok(redis_start() == 0 && reconnects(kv, "after restart"),
	    "once redis is back, operations work again without reopening the "
	    "store");
}

static void
test_stopped(struct kv *kv)
{
	uint64_t t0, took;

	redis_signal(SIGSTOP);
	t0 = now_ms();
	took = kvt_get(kv, "p", S("back")) == KV_ERROR ? now_ms() - t0 : 0;
	diag("%s after %llu ms", R.msg, (unsigned long long)took);
	ok(took >= KV_REDIS_TIMEOUT_MS - 100 &&
	    took < KV_REDIS_TIMEOUT_MS + 1000 && strstr(R.msg, "no answer"),
	    "an operation redis does not answer fails after "
	    "KV_REDIS_TIMEOUT_MS, never hangs");
	redis_signal(SIGCONT);
	ok(reconnects(kv, "after stop"),
	    "once a stopped redis runs again, operations work again");
}

int
main(int argc, char **argv)
{
	char err[512];
	struct kv *kv;

	if (argc != 3) {
		fprintf(stderr, "usage: kv-probe redis-server dir\n");
		return 2;
	}
	server = argv[1];
	dir = argv[2];
	signal(SIGPIPE, SIG_IGN);
	kvt_wait = done;
	snprintf(sock, sizeof sock, "%s/r.sock", dir);
	tcp_port = free_port();
	base = event_base_new();
	if (!ok(base != NULL && redis_start() == 0,
	    "a private redis-server starts on a unix socket")) {
		redis_log();
		redis_kill();
		return done_testing();
	}
	test_open_arguments();
	kv = kv_open_redis(base, sock, 0, err, sizeof err);
	if (!ok(kv != NULL, "a store opens on the socket"))
		diag("%s", err);
	if (kv != NULL) {
		kvt_test_round_trips(kv);
		test_redis_keys(kv);
		kvt_test_namespaces(kv);
		kvt_test_incr(kv);
		kvt_test_ttl(kv, redis_ttls);
		test_oom(kv);
		test_backlog(kv);
		test_server_closes(kv);
		test_killed(kv);
		test_stopped(kv);
	}
	test_tcp();
	test_close();
	kv_close(kv);
	spin(20);
	ok(kvt_answers == kvt_ops, "every operation answered exactly once (%ld of "
	    "%ld)", kvt_answers, kvt_ops);
	res_reset(&R);
	redis_kill();
	event_base_free(base);
	return done_testing();
}
